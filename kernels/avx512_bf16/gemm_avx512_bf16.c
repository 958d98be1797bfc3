/* AVX-512 BF16 GEMM (table->gemm_bf16): the shared blocking driver (kernels/gemm_driver.h),
 * always packing both operands, converting them to BF16 while packing (VCVTNE2PS2BF16: round to
 * nearest even, denormals to zero, exactly mlp_bf16_round), around an 8 × 48 register tile of
 * VDPBF16PS.
 *
 * Packed layout: a "pair" is one dword holding two BF16 values of consecutive k, element p in
 * the low 16 bits and p + 1 in the high 16 bits (p even), which is what VDPBF16PS multiplies
 * lane by lane. An odd depth ends with a pair whose high half is +0.
 *   A: MR-row panels, pair q of row r at panel[q * MR + r] (rows past the edge of C are 0)
 *   B: NR-column panels (NR = vectors · 16), pair q of column c at panel[q * NR + c] (columns
 *      past the edge are 0)
 * The driver's strides then count pairs: tile->a_k_stride = MR and tile->b_k_stride = NR
 * dwords per pair, tile->k is still the depth in elements of k.
 *
 * Arithmetic (the contract of gemm_bf16 in include/mlp/kernels.h, gemm_bf16_scalar): every
 * element of C is one accumulator lane that starts at 0 and takes one VDPBF16PS per pair, in
 * increasing k: s = (s + A(i,p+1)·B(p+1,j)) + A(i,p)·B(p,j). The driver's k slices have depths
 * that are multiples of 8 (gemm_slice_depth), so a pair never straddles two slices, and a
 * slice's partial sums go through C (or the workspace, for a parameter update) as floats and
 * come back exactly: the chain is the same for any M, N, tile or slicing (partition
 * independence). The epilogue on the last slice is avx512's own (avx512/avx512_epilogue.h),
 * so it gives bitwise what the FP32 GEMM's epilogue gives on the same sums.
 *
 * Why every operand is packed (the FP32 GEMM reads plain operands in place): the conversion
 * has to happen somewhere, and a packed pair is what the instruction reads; a packed panel is
 * half the bytes of the float one. */
#include "avx512_bf16/avx512_bf16_kernels.h"

#include <immintrin.h>
#include <stdint.h>

#include "avx512/avx512_epilogue.h"
#include "avx512/avx512_math.h"
#include "gemm_driver.h"

enum {
    BF16_MR = 8,
    BF16_W = 16,
    BF16_MAX_VECTORS = 3,
    BF16_BLOCK_DEPTH = 32, /* k elements converted per row by one pair of loads */
};

/* A packed pair, read and written through a type that may alias the float workspace. */
typedef uint32_t __attribute__((may_alias)) bf16_pair;

/* ---------------------------------------------------------------- micro-kernels */

/* One MR × (vectors·16) tile over one k slice; vectors is a constant in each caller, so the
 * loops unroll and the 8 · vectors accumulators stay in registers (24 of the 32 zmm at 8 × 48,
 * plus 3 for the B pairs; the A pairs are broadcast from memory by VDPBF16PS itself). */
static inline __attribute__((always_inline)) void gemm_avx512_bf16_tile(const gemm_tile *t,
                                                                        const int vectors) {
    __m512 acc[BF16_MR][BF16_MAX_VECTORS];
    __mmask16 column_mask[BF16_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) column_mask[v] = lanes_mask_avx512(t->cols - BF16_W * v);

    /* sums start at 0, or continue from the previous k slice's partial sums */
#pragma GCC unroll 8
    for (int r = 0; r < BF16_MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            acc[r][v] = t->continue_sums && r < t->rows
                            ? _mm512_maskz_loadu_ps(column_mask[v], t->c + r * t->ldc + BF16_W * v)
                            : _mm512_setzero_ps();

    /* a parameter update reads its W tile after the last pair: fetch it during the k loop */
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
#pragma GCC unroll 8
        for (int r = 0; r < BF16_MR; r++)
#pragma GCC unroll 4
            for (int v = 0; v < vectors; v++)
                if (r < t->rows) __builtin_prefetch(t->w + r * t->ldw + BF16_W * v, 1, 3);
    }

    /* acc[r][v] += the pair q of row r · the pairs q of the v-th 16 columns, q increasing */
    const bf16_pair *a = (const bf16_pair *)t->a;
    const bf16_pair *b = (const bf16_pair *)t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride, b_k_stride = t->b_k_stride;
    const int pairs = (t->k + 1) / 2;
    for (int q = 0; q < pairs; q++) {
        __m512bh b_pairs[BF16_MAX_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            b_pairs[v] = (__m512bh)_mm512_loadu_si512((const void *)(b + BF16_W * v));
#pragma GCC unroll 8
        for (int r = 0; r < BF16_MR; r++) {
            const __m512bh a_pair = (__m512bh)_mm512_set1_epi32((int)a[r]);
#pragma GCC unroll 4
            for (int v = 0; v < vectors; v++)
                acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a_pair, b_pairs[v]);
        }
        a += a_k_stride;
        b += b_k_stride;
    }

    /* epilogue on the last slice (avx512's), masked stores of the rows and columns inside C */
    __m512 bias[BF16_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) bias[v] = load_bias_avx512(t, BF16_W * v, column_mask[v]);
#pragma GCC unroll 8
    for (int r = 0; r < BF16_MR; r++) {
        if (r >= t->rows) break;
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            store_sums_avx512(t, r, BF16_W * v, column_mask[v], acc[r][v], bias[v]);
    }
}

void gemm_avx512_bf16_micro_8x16(const gemm_tile *tile) { gemm_avx512_bf16_tile(tile, 1); }
void gemm_avx512_bf16_micro_8x32(const gemm_tile *tile) { gemm_avx512_bf16_tile(tile, 2); }
void gemm_avx512_bf16_micro_8x48(const gemm_tile *tile) { gemm_avx512_bf16_tile(tile, 3); }

/* ---------------------------------------------------------------- packing */

/* Word order that interleaves two converted vectors: VCVTNE2PS2BF16(x1, x0) holds x0's 16
 * BF16 values in words 0..15 and x1's in words 16..31; this permutation makes dword i the pair
 * (x0[i], x1[i]). */
static inline __m512i interleave_words_index(void) {
    return _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                            22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
}

/* The pairs (x[2i], x[2i+1]), i = 0..15, of 32 consecutive k of a row of floats, `count` of
 * them present (<= 0: none; the rest read as 0). Consecutive floats are already in pair order:
 * one conversion of the two halves, no permutation. */
static inline __m512i pairs_of_floats(const float *source, int count) {
    __m512 low = _mm512_maskz_loadu_ps(lanes_mask_avx512(count), source);
    __m512 high = _mm512_maskz_loadu_ps(lanes_mask_avx512(count - 16), source + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(high, low);
}

/* Mask of lanes [0, count) of 32 (count may be <= 0 or >= 32). */
static inline __mmask32 lanes_mask32(int count) {
    if (count <= 0) return 0;
    if (count >= 32) return 0xffffffffu;
    return (__mmask32)((1u << count) - 1u);
}

/* The same for 32 consecutive uint8 A elements, each (float)byte · scale (one rounded
 * multiply, as the FP32 GEMM and gemm_bf16_scalar compute it) before the conversion. */
static inline __m512i pairs_of_bytes(const uint8_t *source, int count, __m512 scale) {
    __m256i bytes = _mm256_maskz_loadu_epi8(lanes_mask32(count), source);
    __m512 low = _mm512_mul_ps(
        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm256_castsi256_si128(bytes))), scale);
    __m512 high = _mm512_mul_ps(
        _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm256_extracti128_si256(bytes, 1))), scale);
    return (__m512i)_mm512_cvtne2ps_pbh(high, low);
}

/* Transposes 8 rows of 16 pairs (row[x]: pairs q = 0..15 of row x) and stores pair q of the 8
 * rows, 8 dwords, at destination + q * stride, for q < pairs. Unpacks of dwords and qwords
 * gather 4 rows of one q per 128-bit lane; two-source qword permutes then join rows 0-3 and
 * 4-7 of q into one 256-bit half. */
static inline __attribute__((always_inline)) void store_pairs_transposed_8x16(const __m512i row[8],
                                                                             bf16_pair *destination,
                                                                             ptrdiff_t stride,
                                                                             int pairs) {
    __m512i t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) { /* lane L: rows i, i+1 of q = 4L, 4L+1 (lo) / 4L+2, 4L+3 (hi) */
        t[i] = _mm512_unpacklo_epi32(row[i], row[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(row[i], row[i + 1]);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 8; h += 4) { /* u[h + j], lane L: rows h .. h+3 of q = 4L + j */
        u[h + 0] = _mm512_unpacklo_epi64(t[h], t[h + 2]);
        u[h + 1] = _mm512_unpackhi_epi64(t[h], t[h + 2]);
        u[h + 2] = _mm512_unpacklo_epi64(t[h + 1], t[h + 3]);
        u[h + 3] = _mm512_unpackhi_epi64(t[h + 1], t[h + 3]);
    }
    const __m512i low_lanes = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
    const __m512i high_lanes = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        /* q = j | 4 + j, and q = 8 + j | 12 + j: rows 0-3 from u[j], rows 4-7 from u[4 + j] */
        __m512i first = _mm512_permutex2var_epi64(u[j], low_lanes, u[4 + j]);
        __m512i second = _mm512_permutex2var_epi64(u[j], high_lanes, u[4 + j]);
        const int q[4] = {j, 4 + j, 8 + j, 12 + j};
        const __m256i half[4] = {_mm512_castsi512_si256(first), _mm512_extracti64x4_epi64(first, 1),
                                 _mm512_castsi512_si256(second),
                                 _mm512_extracti64x4_epi64(second, 1)};
#pragma GCC unroll 4
        for (int s = 0; s < 4; s++)
            if (q[s] < pairs) _mm256_storeu_si256((__m256i *)(destination + q[s] * stride), half[s]);
    }
}

/* An A panel: rows [i0, i0 + rows) of op(A), depths [p0, p0 + kb), as MR-row pairs
 * panel[q * MR + r]; rows >= `rows` and the odd depth's missing element are 0. */
static void gemm_avx512_bf16_pack_a(const mlp_gemm_problem *g, int i0, int rows, int p0, int kb,
                                    int mr, float *panel_floats) {
    (void)mr; /* BF16_MR */
    bf16_pair *panel = (bf16_pair *)panel_floats;
    const size_t lda = (size_t)g->lda;
    const int pairs = (kb + 1) / 2;
    if (g->a_transposed) {
        /* op(A)(i, p) = a[p * lda + i]: each depth is a run of `rows` elements. Two pairs at a
         * time: depths p, p+2 (low, high half) and p+1, p+3 converted together, then their
         * words interleaved into pairs q and q + 1, 16 contiguous dwords of the panel. */
        const __m512i interleave = interleave_words_index();
        const __mmask16 row_mask = lanes_mask_avx512(rows);
        const __m256 scale = _mm256_set1_ps(g->a_scale);
        for (int q = 0; q < pairs; q += 2) {
            __m256 depth[4];
#pragma GCC unroll 4
            for (int d = 0; d < 4; d++) {
                const int p = 2 * q + d;
                if (p >= kb) {
                    depth[d] = _mm256_setzero_ps();
                    continue;
                }
                const size_t source = (size_t)(p0 + p) * lda + (size_t)i0;
                if (g->a_u8)
                    depth[d] = _mm256_mul_ps(
                        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(
                            _mm_maskz_loadu_epi8((__mmask16)row_mask, g->a_u8 + source))),
                        scale);
                else
                    depth[d] = _mm256_maskz_loadu_ps((__mmask8)row_mask, g->a + source);
            }
            __m512 even = _mm512_insertf32x8(_mm512_castps256_ps512(depth[0]), depth[2], 1);
            __m512 odd = _mm512_insertf32x8(_mm512_castps256_ps512(depth[1]), depth[3], 1);
            __m512i words = _mm512_permutexvar_epi16(interleave,
                                                     (__m512i)_mm512_cvtne2ps_pbh(odd, even));
            if (q + 1 < pairs)
                _mm512_storeu_si512((void *)(panel + (size_t)q * BF16_MR), words);
            else
                _mm256_storeu_si256((__m256i *)(panel + (size_t)q * BF16_MR),
                                    _mm512_castsi512_si256(words));
        }
        return;
    }
    /* op(A)(i, p) = a[i * lda + p]: each row is a run in p, already in pair order; 32 depths of
     * the 8 rows converted, then transposed into 16 pairs of the panel */
    const __m512 scale = _mm512_set1_ps(g->a_scale);
    for (int p = 0; p < kb; p += BF16_BLOCK_DEPTH) {
        __m512i row[BF16_MR];
#pragma GCC unroll 8
        for (int r = 0; r < BF16_MR; r++) {
            const size_t source = (size_t)(i0 + r) * lda + (size_t)(p0 + p);
            if (r >= rows)
                row[r] = _mm512_setzero_si512();
            else if (g->a_u8)
                row[r] = pairs_of_bytes(g->a_u8 + source, kb - p, scale);
            else
                row[r] = pairs_of_floats(g->a + source, kb - p);
        }
        store_pairs_transposed_8x16(row, panel + (size_t)(p / 2) * BF16_MR, BF16_MR,
                                    pairs - p / 2);
    }
}

/* A B panel: columns [j0, j0 + cols) of op(B), depths [p0, p0 + kb), as `width`-column pairs
 * panel[q * width + c]; columns >= `cols` and the odd depth's missing element are 0. */
static void gemm_avx512_bf16_pack_b(const mlp_gemm_problem *g, int p0, int kb, int j0, int cols,
                                    int width, float *panel_floats) {
    bf16_pair *panel = (bf16_pair *)panel_floats;
    const size_t ldb = (size_t)g->ldb;
    const int pairs = (kb + 1) / 2;
    if (g->b_transposed) {
        /* op(B)(p, j) = b[j * ldb + p]: each column is a run in p, already in pair order; 32
         * depths of 8 columns converted, then transposed into 16 pairs of those columns */
        for (int c = 0; c < width; c += 8)
            for (int p = 0; p < kb; p += BF16_BLOCK_DEPTH) {
                __m512i column[8];
#pragma GCC unroll 8
                for (int x = 0; x < 8; x++)
                    column[x] = c + x < cols
                                    ? pairs_of_floats(g->b + (size_t)(j0 + c + x) * ldb +
                                                          (size_t)(p0 + p),
                                                      kb - p)
                                    : _mm512_setzero_si512();
                store_pairs_transposed_8x16(column, panel + (size_t)(p / 2) * width + c, width,
                                            pairs - p / 2);
            }
        return;
    }
    /* op(B)(p, j) = b[p * ldb + j]: rows p and p + 1 converted together, their words
     * interleaved into pairs, 16 columns at a time */
    const __m512i interleave = interleave_words_index();
    for (int q = 0; q < pairs; q++) {
        const int p = 2 * q;
        const float *even = g->b + (size_t)(p0 + p) * ldb + (size_t)j0;
        const int has_odd = p + 1 < kb;
        const float *odd = has_odd ? even + ldb : even;
        bf16_pair *destination = panel + (size_t)q * width;
        gemm_prefetch_b_row_ahead(g, p0, p, kb, j0, cols);
        gemm_prefetch_b_row_ahead(g, p0, p + 1, kb, j0, cols);
        for (int c = 0; c < width; c += BF16_W) {
            const __mmask16 mask = lanes_mask_avx512(cols - c);
            __m512 x0 = _mm512_maskz_loadu_ps(mask, even + c);
            __m512 x1 = has_odd ? _mm512_maskz_loadu_ps(mask, odd + c) : _mm512_setzero_ps();
            _mm512_storeu_si512((void *)(destination + c),
                                _mm512_permutexvar_epi16(interleave,
                                                         (__m512i)_mm512_cvtne2ps_pbh(x1, x0)));
        }
    }
}

/* ---------------------------------------------------------------- the driver */

static const gemm_driver gemm_avx512_bf16_driver = {
    .mr = BF16_MR,
    .width = BF16_W,
    .max_vectors = BF16_MAX_VECTORS,
    .kc = GEMM_AVX512_BF16_KC,
    .mc = GEMM_AVX512_BF16_MC,
    .nc = GEMM_AVX512_BF16_NC,
    .micro_kernels = {gemm_avx512_bf16_micro_8x16, gemm_avx512_bf16_micro_8x32,
                      gemm_avx512_bf16_micro_8x48},
    .pack_b_panel = gemm_avx512_bf16_pack_b,
    .pack_a_panel = gemm_avx512_bf16_pack_a,
};

/* C = epilogue(op(A) · op(B)) with BF16 operands: the tiles path with both operands packed
 * (the only plan: the conversion happens in the packing). */
void gemm_avx512_bf16(const mlp_gemm_problem *problem) {
    gemm_driver_run_packed(problem, &gemm_avx512_bf16_driver);
}
