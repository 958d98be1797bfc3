/* NEON GEMM: the shared blocking/packing driver (kernels/gemm_driver.h) around an 8 × 12
 * register tile. Each step over k loads one column of 8 A values (two registers) and 12 B
 * values (three registers) and issues 24 independent vfmaq_laneq_f32: accumulator (r, v) +=
 * B(p, 4v..4v+3) · A(r, p), the A value taken from a lane, so no broadcasts are needed.
 * Narrow N (the 10 logits) uses the 8 × 4 and 8 × 8 tiles instead of padding to 12 columns. */
#include "gemm_driver.h"
#include "neon/neon_epilogue.h"
#include "neon/neon_kernels.h"
#include "neon/neon_math.h"
#include "neon/optimizer_neon.h"

enum { NEON_MR = GEMM_NEON_MR, NEON_W = GEMM_NEON_W, NEON_MAX_VECTORS = GEMM_NEON_MAX_VECTORS };

/* Column p of the tile's A: rows 0-3 in *low, 4-7 in *high. Full tiles of packed panels and
 * transposed A are contiguous; otherwise (plain A read in place, or a ragged last tile) each
 * row is loaded at its own offset into a lane. */
static inline void load_a_column_neon(const float *a, int contiguous, const ptrdiff_t *offset,
                                      float32x4_t *low, float32x4_t *high) {
    if (contiguous) {
        *low = vld1q_f32(a);
        *high = vld1q_f32(a + 4);
        return;
    }
    float32x4_t l = vdupq_n_f32(0.0f), h = vdupq_n_f32(0.0f);
    l = vld1q_lane_f32(a + offset[0], l, 0);
    l = vld1q_lane_f32(a + offset[1], l, 1);
    l = vld1q_lane_f32(a + offset[2], l, 2);
    l = vld1q_lane_f32(a + offset[3], l, 3);
    h = vld1q_lane_f32(a + offset[4], h, 0);
    h = vld1q_lane_f32(a + offset[5], h, 1);
    h = vld1q_lane_f32(a + offset[6], h, 2);
    h = vld1q_lane_f32(a + offset[7], h, 3);
    *low = l;
    *high = h;
}

/* acc[row][v] += b[v] · a_vector[lane] for every vector v of the tile. */
#define FMA_ROW(row, a_vector, lane)                                                   \
    do {                                                                               \
        _Pragma("GCC unroll 4") for (int v = 0; v < vectors; v++) acc[row][v] =         \
            vfmaq_laneq_f32(acc[row][v], b_vector[v], a_vector, lane);                 \
    } while (0)

/* acc[r][v] += A(r, p) · B(p, v-th 4 columns) over the tile's k slice, p increasing: one FMA
 * per p per element. `vectors` and `contiguous` are constants in each caller, so the loops
 * unroll completely, the accumulators stay in registers and the A load is branch-free. */
static inline __attribute__((always_inline)) void accumulate_slice_neon(
    const gemm_tile *t, const int vectors, const int contiguous, const ptrdiff_t *a_offset,
    float32x4_t acc[NEON_MR][NEON_MAX_VECTORS]) {
    const float *a = t->a, *b = t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride;
    const ptrdiff_t b_k_stride = t->b_k_stride;
    for (int p = 0; p < t->k; p++) {
        float32x4_t b_vector[NEON_MAX_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++) b_vector[v] = vld1q_f32(b + NEON_W * v);
        float32x4_t a_low, a_high;
        load_a_column_neon(a, contiguous, a_offset, &a_low, &a_high);
        FMA_ROW(0, a_low, 0);
        FMA_ROW(1, a_low, 1);
        FMA_ROW(2, a_low, 2);
        FMA_ROW(3, a_low, 3);
        FMA_ROW(4, a_high, 0);
        FMA_ROW(5, a_high, 1);
        FMA_ROW(6, a_high, 2);
        FMA_ROW(7, a_high, 3);
        a += a_k_stride;
        b += b_k_stride;
    }
}

/* One MR × (vectors·4) tile over one k slice; `vectors` is a constant in each caller. */
static inline __attribute__((always_inline)) void gemm_neon_tile(const gemm_tile *t,
                                                                 const int vectors) {
    float32x4_t acc[NEON_MR][NEON_MAX_VECTORS];
    long columns_left[NEON_MAX_VECTORS]; /* columns of C inside vector v */
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) columns_left[v] = (long)t->cols - NEON_W * v;

    /* sums start at 0, or continue from the previous k slice's partial sums in C */
#pragma GCC unroll 8
    for (int r = 0; r < NEON_MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            acc[r][v] = t->continue_sums && r < t->rows
                            ? load_lanes_neon(t->c + r * t->ldc + NEON_W * v, columns_left[v], 0.0f)
                            : vdupq_n_f32(0.0f);

    /* a parameter update reads its W tile after the last FMA: fetch it during the k loop */
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
        for (int r = 0; r < t->rows; r++) {
            __builtin_prefetch(t->w + r * t->ldw, 1, 3);
            __builtin_prefetch(t->w + r * t->ldw + t->cols - 1, 1, 3);
        }
        gemm_tile_prefetch_state(t);
    }

    /* rows past the edge of C re-read the last row (computed, never stored), as the driver's
     * contract asks: they may not exist in A */
    ptrdiff_t a_offset[NEON_MR];
#pragma GCC unroll 8
    for (int r = 0; r < NEON_MR; r++)
        a_offset[r] = (ptrdiff_t)(r < t->rows ? r : t->rows - 1) * t->a_row_stride;
    if (t->a_row_stride == 1 && t->rows == NEON_MR)
        accumulate_slice_neon(t, vectors, 1, a_offset, acc);
    else
        accumulate_slice_neon(t, vectors, 0, a_offset, acc);

    /* epilogue on the last slice (neon_epilogue.h, shared with neon_bf16), then stores of the
     * rows and columns inside C */
    float32x4_t bias[NEON_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) bias[v] = load_bias_neon(t, NEON_W * v, columns_left[v]);
#pragma GCC unroll 8
    for (int r = 0; r < NEON_MR; r++) {
        if (r >= t->rows) break;
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            store_sums_neon(t, r, NEON_W * v, columns_left[v], acc[r][v], bias[v]);
    }
}

static void gemm_neon_micro_8x4(const gemm_tile *tile) { gemm_neon_tile(tile, 1); }
static void gemm_neon_micro_8x8(const gemm_tile *tile) { gemm_neon_tile(tile, 2); }
static void gemm_neon_micro_8x12(const gemm_tile *tile) { gemm_neon_tile(tile, 3); }

GEMM_DRIVER_ENTRY_POINTS(neon)

/* Every micro-kernel by name (the tests call each directly). */
static const gemm_micro_kernel_info gemm_neon_micro_kernels[] = {
    GEMM_MICRO_KERNEL(gemm_neon_micro_8x4, GEMM_MICRO_TILE, 8, 4),
    GEMM_MICRO_KERNEL(gemm_neon_micro_8x8, GEMM_MICRO_TILE, 8, 8),
    GEMM_MICRO_KERNEL(gemm_neon_micro_8x12, GEMM_MICRO_TILE, 8, 12),
};

const gemm_driver gemm_neon_driver = {
    .mr = NEON_MR,
    .width = NEON_W,
    .max_vectors = NEON_MAX_VECTORS,
    .kc = GEMM_NEON_KC,
    .mc = GEMM_NEON_MC,
    .nc = GEMM_NEON_NC,
    .micro_kernels = {gemm_neon_micro_8x4, gemm_neon_micro_8x8, gemm_neon_micro_8x12},
    .pack_b_min_rows = GEMM_NEON_PACK_B_MIN_ROWS,
    GEMM_DRIVER_NAMED(neon),
};
