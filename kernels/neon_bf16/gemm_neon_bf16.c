/* NEON BF16 GEMM (table->gemm_bf16, FEAT_BF16): the shared blocking driver
 * (kernels/gemm_driver.h), always packing both operands, converting them to BF16 while packing,
 * around an 8 × 12 register tile of BFDOT (vbfdotq_laneq_f32).
 *
 * Conversion: BFCVTN (vcvt_bf16_f32, vcvtq_low/high_bf16_f32) after replacing denormals by
 * signed zeros, which is exactly mlp_bf16_round. BFCVTN alone is not: it honours FPCR.FZ, which
 * Linux leaves at 0, so it rounds a denormal float to a BF16 denormal, or up to ±FLT_MIN
 * (0x807fffff gives -FLT_MIN, a normal number that BFDOT then multiplies), where
 * mlp_bf16_round gives ±0. It rounds to nearest even (FPCR.RMode's default), quiets NaNs
 * keeping the sign and the upper payload, and rounds past FLT_MAX's BF16 to infinity, as
 * mlp_bf16_round does (checked under qemu on 4 million values; tests/test_kernels.c checks it
 * on every run where the CPU has BF16).
 *
 * Packed layout (as avx512_bf16's): a "pair" is one 32-bit word holding two BF16 values of
 * consecutive k, element p in the low 16 bits and p + 1 in the high 16 bits (p even), which is
 * what BFDOT multiplies lane by lane. An odd depth ends with a pair whose high half is +0.
 *   A: MR-row panels, pair q of row r at panel[q * MR + r] (rows past the edge of C are 0)
 *   B: NR-column panels (NR = vectors · 4), pair q of column c at panel[q * NR + c] (columns
 *      past the edge are 0)
 * The driver's strides then count pairs: tile->a_k_stride = MR and tile->b_k_stride = NR words
 * per pair; tile->k is still the depth in elements of k.
 *
 * Arithmetic (the contract of gemm_bf16 with table->bf16_dot = MLP_BF16_DOT_BFDOT,
 * include/mlp/kernels.h; the reference gemm_bf16_scalar_bfdot): every element of C is one
 * accumulator lane that starts at 0 and takes one BFDOT per pair, in increasing k:
 * s = s + (A(i,p)·B(p,j) + A(i,p+1)·B(p+1,j)), Arm's BFDotAdd with FPCR.EBF = 0 (each product
 * and both additions rounded to odd, denormals flushed; see gemm_scalar.c). The driver's k
 * slices have depths that are multiples of 8 (gemm_slice_depth), so a pair never straddles two
 * slices, and a slice's partial sums go through C (or the workspace, for a parameter update) as
 * floats and come back exactly: the chain is the same for any M, N, tile or slicing. The
 * epilogue on the last slice is neon's own (neon/neon_epilogue.h), so it gives bitwise what
 * the FP32 GEMM's epilogue gives on the same sums. */
#include <arm_neon.h>
#include <stdint.h>

#include "gemm_driver.h"
#include "neon/neon_epilogue.h"
#include "neon/neon_math.h"
#include "neon_bf16/neon_bf16_kernels.h"

enum {
    BF16_MR = 8,
    BF16_W = 4,
    BF16_MAX_VECTORS = 3,
    BF16_BLOCK_DEPTH = 8, /* k elements of a row converted by one pair of loads */
};

/* A packed pair, read and written through a type that may alias the float workspace. */
typedef uint32_t __attribute__((may_alias)) bf16_pair;

/* ---------------------------------------------------------------- micro-kernels */

/* acc[row][v] += the pair of `row` (lane `lane` of a_pairs) · the pairs of the v-th 4 columns */
#define BFDOT_ROW(row, a_pairs, lane)                                                   \
    do {                                                                                \
        _Pragma("GCC unroll 4") for (int v = 0; v < vectors; v++) acc[row][v] =          \
            vbfdotq_laneq_f32(acc[row][v], b_pairs[v], a_pairs, lane);                  \
    } while (0)

/* One MR × (vectors·4) tile over one k slice; vectors is a constant in each caller, so the
 * loops unroll and the 8 · vectors accumulators stay in registers (24 at 8 × 12, plus 3 for
 * the B pairs and 2 for the 8 rows' A pairs, each BFDOT taking its row's pair from a lane). */
static inline __attribute__((always_inline)) void gemm_neon_bf16_tile(const gemm_tile *t,
                                                                      const int vectors) {
    float32x4_t acc[BF16_MR][BF16_MAX_VECTORS];
    long columns_left[BF16_MAX_VECTORS]; /* columns of C inside vector v */
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) columns_left[v] = (long)t->cols - BF16_W * v;

    /* sums start at 0, or continue from the previous k slice's partial sums */
#pragma GCC unroll 8
    for (int r = 0; r < BF16_MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            acc[r][v] = t->continue_sums && r < t->rows
                            ? load_lanes_neon(t->c + r * t->ldc + BF16_W * v, columns_left[v], 0.0f)
                            : vdupq_n_f32(0.0f);

    /* a parameter update reads its W tile after the last pair: fetch it during the k loop */
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE)
        for (int r = 0; r < t->rows; r++) {
            __builtin_prefetch(t->w + r * t->ldw, 1, 3);
            __builtin_prefetch(t->w + r * t->ldw + t->cols - 1, 1, 3);
        }

    /* acc[r][v] += pair q of row r · pairs q of the v-th 4 columns, q increasing */
    const bf16_pair *a = (const bf16_pair *)t->a;
    const bf16_pair *b = (const bf16_pair *)t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride, b_k_stride = t->b_k_stride;
    const int pairs = (t->k + 1) / 2;
    for (int q = 0; q < pairs; q++) {
        bfloat16x8_t b_pairs[BF16_MAX_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            b_pairs[v] = vreinterpretq_bf16_u32(vld1q_u32((const uint32_t *)(b + BF16_W * v)));
        const bfloat16x8_t a_low = vreinterpretq_bf16_u32(vld1q_u32((const uint32_t *)a));
        const bfloat16x8_t a_high = vreinterpretq_bf16_u32(vld1q_u32((const uint32_t *)(a + 4)));
        BFDOT_ROW(0, a_low, 0);
        BFDOT_ROW(1, a_low, 1);
        BFDOT_ROW(2, a_low, 2);
        BFDOT_ROW(3, a_low, 3);
        BFDOT_ROW(4, a_high, 0);
        BFDOT_ROW(5, a_high, 1);
        BFDOT_ROW(6, a_high, 2);
        BFDOT_ROW(7, a_high, 3);
        a += a_k_stride;
        b += b_k_stride;
    }

    /* epilogue on the last slice (neon's, neon/neon_epilogue.h), stores of the rows and
     * columns inside C */
    float32x4_t bias[BF16_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) bias[v] = load_bias_neon(t, BF16_W * v, columns_left[v]);
#pragma GCC unroll 8
    for (int r = 0; r < BF16_MR; r++) {
        if (r >= t->rows) break;
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            store_sums_neon(t, r, BF16_W * v, columns_left[v], acc[r][v], bias[v]);
    }
}

void gemm_neon_bf16_micro_8x4(const gemm_tile *tile) { gemm_neon_bf16_tile(tile, 1); }
void gemm_neon_bf16_micro_8x8(const gemm_tile *tile) { gemm_neon_bf16_tile(tile, 2); }
void gemm_neon_bf16_micro_8x12(const gemm_tile *tile) { gemm_neon_bf16_tile(tile, 3); }

/* ---------------------------------------------------------------- conversion */

/* x with its denormals replaced by signed zeros (what mlp_bf16_round does to them, and what
 * BFCVTN does not do with FPCR.FZ = 0). */
static inline float32x4_t flush_denormals_neon(float32x4_t x) {
    const uint32x4_t bits = vreinterpretq_u32_f32(x);
    const uint32x4_t tiny = vceqzq_u32(vandq_u32(bits, vdupq_n_u32(0x7f800000u)));
    return vreinterpretq_f32_u32(vbicq_u32(bits, vandq_u32(tiny, vdupq_n_u32(0x7fffffffu))));
}

/* 8 consecutive k of one row (low: k 0-3, high: 4-7) as 4 pairs: (low[0], low[1]),
 * (low[2], low[3]), (high[0], high[1]), (high[2], high[3]). Consecutive floats are already in
 * pair order. */
static inline uint32x4_t pairs_of_run(float32x4_t low, float32x4_t high) {
    return vreinterpretq_u32_bf16(vcvtq_high_bf16_f32(
        vcvtq_low_bf16_f32(flush_denormals_neon(low)), flush_denormals_neon(high)));
}

/* 4 rows (or columns) at depths p (even) and p + 1 as their 4 pairs (even[i], odd[i]). */
static inline uint32x4_t pairs_of_depths(float32x4_t even, float32x4_t odd) {
    const uint16x4_t e = vreinterpret_u16_bf16(vcvt_bf16_f32(flush_denormals_neon(even)));
    const uint16x4_t o = vreinterpret_u16_bf16(vcvt_bf16_f32(flush_denormals_neon(odd)));
    return vreinterpretq_u32_u16(vcombine_u16(vzip1_u16(e, o), vzip2_u16(e, o)));
}

/* The first `count` bytes at p (count may be <= 0 or below 4; the other lanes are 0) as
 * floats, each (float)byte · scale (one rounded multiply, as the FP32 GEMM and the reference
 * compute it). Never reads past p + count. */
static inline float32x4_t load_scaled_bytes_neon(const uint8_t *p, long count, float32x4_t scale) {
    uint8_t lanes[8] = {0};
    for (long i = 0; i < count && i < 4; i++) lanes[i] = p[i];
    const uint16x8_t wide = vmovl_u8(vld1_u8(lanes));
    return vmulq_f32(vcvtq_f32_u32(vmovl_u16(vget_low_u16(wide))), scale);
}

/* Floats of op(A) or op(B) from `source`, a run of `count` (<= 0: none) elements, or bytes
 * scaled (a_u8 non-NULL, then source_bytes is used) */
static inline float32x4_t load_run_neon(const float *source, const uint8_t *source_bytes,
                                        long count, float32x4_t scale) {
    if (count <= 0) return vdupq_n_f32(0.0f);
    if (source_bytes) return load_scaled_bytes_neon(source_bytes, count, scale);
    return load_lanes_neon(source, count, 0.0f);
}

/* Transposes 4 vectors of 4 pairs (v[x]: pairs q .. q + 3 of row or column x) and stores pair
 * q + j of the 4, 4 words, at destination + j * stride, for j < pairs. */
static inline void store_pairs_transposed_4x4(const uint32x4_t v[4], bf16_pair *destination,
                                              ptrdiff_t stride, int pairs) {
    const uint32x4_t t0 = vtrn1q_u32(v[0], v[1]), t1 = vtrn2q_u32(v[0], v[1]);
    const uint32x4_t t2 = vtrn1q_u32(v[2], v[3]), t3 = vtrn2q_u32(v[2], v[3]);
    const uint32x4_t column[4] = {
        vreinterpretq_u32_u64(vtrn1q_u64(vreinterpretq_u64_u32(t0), vreinterpretq_u64_u32(t2))),
        vreinterpretq_u32_u64(vtrn1q_u64(vreinterpretq_u64_u32(t1), vreinterpretq_u64_u32(t3))),
        vreinterpretq_u32_u64(vtrn2q_u64(vreinterpretq_u64_u32(t0), vreinterpretq_u64_u32(t2))),
        vreinterpretq_u32_u64(vtrn2q_u64(vreinterpretq_u64_u32(t1), vreinterpretq_u64_u32(t3)))};
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
        if (j < pairs) vst1q_u32((uint32_t *)(destination + j * stride), column[j]);
}

/* ---------------------------------------------------------------- packing */

/* An A panel: rows [i0, i0 + rows) of op(A), depths [p0, p0 + kb), as MR-row pairs
 * panel[q * MR + r]; rows >= `rows` and the odd depth's missing element are 0. */
static void gemm_neon_bf16_pack_a(const mlp_gemm_problem *g, int i0, int rows, int p0, int kb,
                                  int mr, float *panel_floats) {
    (void)mr; /* BF16_MR */
    bf16_pair *panel = (bf16_pair *)panel_floats;
    const size_t lda = (size_t)g->lda;
    const int pairs = (kb + 1) / 2;
    const float32x4_t scale = vdupq_n_f32(g->a_scale);
    if (g->a_transposed) {
        /* op(A)(i, p) = a[p * lda + i]: each depth is a run of `rows` elements; depths p and
         * p + 1 of 4 rows converted and interleaved into the 4 rows' pairs */
        for (int q = 0; q < pairs; q++) {
            const int p = 2 * q;
#pragma GCC unroll 2
            for (int h = 0; h < BF16_MR; h += 4) {
                const size_t even = (size_t)(p0 + p) * lda + (size_t)(i0 + h);
                const size_t odd = even + lda;
                const long count = rows - h;
                const float32x4_t x0 =
                    load_run_neon(g->a_u8 ? NULL : g->a + even, g->a_u8 ? g->a_u8 + even : NULL,
                                  count, scale);
                const float32x4_t x1 =
                    p + 1 < kb ? load_run_neon(g->a_u8 ? NULL : g->a + odd,
                                               g->a_u8 ? g->a_u8 + odd : NULL, count, scale)
                               : vdupq_n_f32(0.0f);
                vst1q_u32((uint32_t *)(panel + (size_t)q * BF16_MR + h), pairs_of_depths(x0, x1));
            }
        }
        return;
    }
    /* op(A)(i, p) = a[i * lda + p]: each row is a run in p, already in pair order; 8 depths of
     * the 8 rows converted, then transposed (4 × 4 pairs twice) into 4 pairs of the panel */
    for (int p = 0; p < kb; p += BF16_BLOCK_DEPTH) {
        const long count = kb - p;
#pragma GCC unroll 2
        for (int h = 0; h < BF16_MR; h += 4) {
            uint32x4_t row[4];
#pragma GCC unroll 4
            for (int x = 0; x < 4; x++) {
                const int r = h + x;
                if (r >= rows) {
                    row[x] = vdupq_n_u32(0);
                    continue;
                }
                const size_t source = (size_t)(i0 + r) * lda + (size_t)(p0 + p);
                const float *f = g->a_u8 ? NULL : g->a + source;
                const uint8_t *bytes = g->a_u8 ? g->a_u8 + source : NULL;
                row[x] = pairs_of_run(load_run_neon(f, bytes, count, scale),
                                      load_run_neon(f ? f + 4 : NULL, bytes ? bytes + 4 : NULL,
                                                    count - 4, scale));
            }
            store_pairs_transposed_4x4(row, panel + (size_t)(p / 2) * BF16_MR + h, BF16_MR,
                                       pairs - p / 2);
        }
    }
}

/* A B panel: columns [j0, j0 + cols) of op(B), depths [p0, p0 + kb), as `width`-column pairs
 * panel[q * width + c]; columns >= `cols` and the odd depth's missing element are 0. */
static void gemm_neon_bf16_pack_b(const mlp_gemm_problem *g, int p0, int kb, int j0, int cols,
                                  int width, float *panel_floats) {
    bf16_pair *panel = (bf16_pair *)panel_floats;
    const size_t ldb = (size_t)g->ldb;
    const int pairs = (kb + 1) / 2;
    if (g->b_transposed) {
        /* op(B)(p, j) = b[j * ldb + p]: each column is a run in p, already in pair order; 8
         * depths of 4 columns converted, then transposed into 4 pairs of those columns */
        for (int c = 0; c < width; c += 4)
            for (int p = 0; p < kb; p += BF16_BLOCK_DEPTH) {
                const long count = kb - p;
                uint32x4_t column[4];
#pragma GCC unroll 4
                for (int x = 0; x < 4; x++) {
                    if (c + x >= cols) {
                        column[x] = vdupq_n_u32(0);
                        continue;
                    }
                    const float *source = g->b + (size_t)(j0 + c + x) * ldb + (size_t)(p0 + p);
                    column[x] = pairs_of_run(
                        count > 0 ? load_lanes_neon(source, count, 0.0f) : vdupq_n_f32(0.0f),
                        count > 4 ? load_lanes_neon(source + 4, count - 4, 0.0f)
                                  : vdupq_n_f32(0.0f));
                }
                store_pairs_transposed_4x4(column, panel + (size_t)(p / 2) * width + c, width,
                                           pairs - p / 2);
            }
        return;
    }
    /* op(B)(p, j) = b[p * ldb + j]: rows p and p + 1 converted and interleaved into pairs, 4
     * columns at a time */
    for (int q = 0; q < pairs; q++) {
        const int p = 2 * q;
        const float *even = g->b + (size_t)(p0 + p) * ldb + (size_t)j0;
        const int has_odd = p + 1 < kb;
        const float *odd = has_odd ? even + ldb : even;
        bf16_pair *destination = panel + (size_t)q * width;
        for (int c = 0; c < width; c += BF16_W) {
            const long count = cols - c;
            const float32x4_t x0 =
                count > 0 ? load_lanes_neon(even + c, count, 0.0f) : vdupq_n_f32(0.0f);
            const float32x4_t x1 = has_odd && count > 0 ? load_lanes_neon(odd + c, count, 0.0f)
                                                        : vdupq_n_f32(0.0f);
            vst1q_u32((uint32_t *)(destination + c), pairs_of_depths(x0, x1));
        }
    }
}

/* ---------------------------------------------------------------- the driver */

static const gemm_driver gemm_neon_bf16_driver = {
    .mr = BF16_MR,
    .width = BF16_W,
    .max_vectors = BF16_MAX_VECTORS,
    .kc = GEMM_NEON_BF16_KC,
    .mc = GEMM_NEON_BF16_MC,
    .nc = GEMM_NEON_BF16_NC,
    .micro_kernels = {gemm_neon_bf16_micro_8x4, gemm_neon_bf16_micro_8x8,
                      gemm_neon_bf16_micro_8x12},
    .pack_b_panel = gemm_neon_bf16_pack_b,
    .pack_a_panel = gemm_neon_bf16_pack_a,
};

/* C = epilogue(op(A) · op(B)) with BF16 operands: the tiles path with both operands packed
 * (the only plan: the conversion happens in the packing). */
void gemm_neon_bf16(const mlp_gemm_problem *problem) {
    gemm_driver_run_packed(problem, &gemm_neon_bf16_driver);
}
