/* AVX2+FMA GEMM: the shared blocking/packing driver (kernels/gemm_driver.h) around a 4 × 24
 * register tile: 4 rows of A broadcast, 3 ymm vectors (24 columns) of B, 12 accumulators
 * (16 ymm registers in all), so each step over k issues 12 independent FMAs for 7 loads.
 * MR = 4 divides every batch and layer width of the MLPs; narrow N (the 10 logits) uses the
 * 4 × 8 and 4 × 16 tiles instead of padding to 24 columns. */
#include "avx2/avx2_kernels.h"
#include "avx2/avx2_math.h"
#include "avx2/avx2_pack.h"
#include "gemm_driver.h"

enum { AVX2_MR = GEMM_AVX2_MR, AVX2_W = GEMM_AVX2_W, AVX2_MAX_VECTORS = GEMM_AVX2_MAX_VECTORS };

/* One tile_rows × (vectors·8) tile over one k slice (tile_rows = MR, or 2·MR for the tall
 * narrow tile); tile_rows, vectors and full (all tile_rows rows inside C) are constants in
 * each caller, so the loops below unroll completely and the accumulators live in registers. */
static inline __attribute__((always_inline)) void
gemm_avx2_tile(const gemm_tile *t, const int tile_rows, const int vectors, const int full) {
    __m256 acc[2 * AVX2_MR][AVX2_MAX_VECTORS];
    __m256i column_mask[AVX2_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) column_mask[v] = lanes_mask_avx2(t->cols - AVX2_W * v);

    /* sums start at 0, or continue from the previous k slice's partial sums in C */
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++)
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            acc[r][v] = t->continue_sums && r < t->rows
                            ? _mm256_maskload_ps(t->c + r * t->ldc + AVX2_W * v, column_mask[v])
                            : _mm256_setzero_ps();

    /* Row r of A starts at a_base[r / MR] + a_offset[r]. A full tile uses two base pointers
     * (rows MR.. of a tall tile from the second) so the offsets repeat and stay in registers;
     * in a partial tile, rows past the edge of C re-read the last row (computed, not stored). */
    const float *a_base[2] = {t->a, t->a};
    ptrdiff_t a_offset[2 * AVX2_MR];
    if (full) a_base[1] = t->a + AVX2_MR * t->a_row_stride;
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++)
        a_offset[r] = full ? (r % AVX2_MR) * t->a_row_stride
                           : (r < t->rows ? r : t->rows - 1) * t->a_row_stride;

    /* acc[r][v] += A(r, p) · B(p, v-th 8 columns), p increasing: one FMA per p per element */
    const float *b = t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride;

    const ptrdiff_t b_k_stride = t->b_k_stride;
    for (int p = 0; p < t->k; p++) {
        __m256 b_vector[AVX2_MAX_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++) b_vector[v] = _mm256_loadu_ps(b + AVX2_W * v);
#pragma GCC unroll 16
        for (int r = 0; r < tile_rows; r++) {
            __m256 a_broadcast = _mm256_broadcast_ss(a_base[r / AVX2_MR] + a_offset[r]);
#pragma GCC unroll 4
            for (int v = 0; v < vectors; v++)
                acc[r][v] = _mm256_fmadd_ps(a_broadcast, b_vector[v], acc[r][v]);
        }
        a_base[0] += a_k_stride;
        a_base[1] += a_k_stride;
        b += b_k_stride;
    }

    /* epilogue on the last slice, then masked stores of the rows and columns inside C */
    __m256 bias[AVX2_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++)
        bias[v] = t->bias ? _mm256_maskload_ps(t->bias + AVX2_W * v, column_mask[v])
                          : _mm256_setzero_ps();
    const int bias_activation = t->finish && t->epilogue == GEMM_EPILOGUE_BIAS_ACTIVATION;
    const int derivative = t->finish && t->epilogue == GEMM_EPILOGUE_ACTIVATION_DERIVATIVE;
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++) {
        if (r >= t->rows) break;
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++) {
            __m256 z = acc[r][v];
            if (bias_activation)
                z = activation_forward_avx2(t->activation, _mm256_add_ps(z, bias[v]));
            else if (derivative)
                z = activation_backward_avx2(
                    t->activation,
                    _mm256_maskload_ps(t->y + r * t->ldy + AVX2_W * v, column_mask[v]), z);
            _mm256_maskstore_ps(t->c + r * t->ldc + AVX2_W * v, column_mask[v], z);
        }
    }
}

/* Full tiles (the common case) and edge tiles get separately compiled loops. */
static inline __attribute__((always_inline)) void
gemm_avx2_tile_full_or_edge(const gemm_tile *t, const int tile_rows, const int vectors) {
    if (t->rows == tile_rows)
        gemm_avx2_tile(t, tile_rows, vectors, 1);
    else
        gemm_avx2_tile(t, tile_rows, vectors, 0);
}

void gemm_avx2_micro_4x8(const gemm_tile *tile) { gemm_avx2_tile_full_or_edge(tile, AVX2_MR, 1); }
void gemm_avx2_micro_4x16(const gemm_tile *tile) { gemm_avx2_tile_full_or_edge(tile, AVX2_MR, 2); }
void gemm_avx2_micro_4x24(const gemm_tile *tile) { gemm_avx2_tile_full_or_edge(tile, AVX2_MR, 3); }
/* the tall narrow tile: 8 accumulators instead of 4 */
void gemm_avx2_micro_8x8(const gemm_tile *tile) { gemm_avx2_tile_full_or_edge(tile, 2 * AVX2_MR, 1); }

/* Packs a transposed-B panel (B(p, j) = b[j * ldb + p]) 8 columns × 8 depths at a time:
 * 8 stored rows in, one register transpose, 8 panel rows out; missing columns are zero. */
static void gemm_avx2_pack_b_transposed(const gemm_problem *g, int p0, int kb, int j0, int cols,
                                        int width, float *panel) {
    for (int c = 0; c < width; c += AVX2_W)
        for (int p = 0; p < kb; p += 8) {
            __m256i depth_mask = lanes_mask_avx2(kb - p);
            __m256 block[8];
#pragma GCC unroll 16
            for (int i = 0; i < 8; i++)
                block[i] = c + i < cols ? _mm256_maskload_ps(g->b + (size_t)(j0 + c + i) * g->ldb +
                                                                 (size_t)(p0 + p),
                                                             depth_mask)
                                        : _mm256_setzero_ps();
            transpose_8x8_avx2(block);
#pragma GCC unroll 16
            for (int i = 0; i < 8; i++)
                if (p + i < kb) _mm256_storeu_ps(panel + (size_t)(p + i) * width + c, block[i]);
        }
}

/* A panels of MR = 4 rows (uint8 A: the first layer's pixels, scaled while packing). */
static void gemm_avx2_pack_a(const gemm_problem *g, int i0, int rows, int p0, int kb, int mr,
                             float *panel) {
    pack_a_panel_avx2(g, i0, rows, p0, kb, mr, panel);
}

/* B panels: transposed B through the register transpose, plain B one masked vector copy per
 * 8 columns (columns past `cols` written as zeros). */
static void gemm_avx2_pack_b(const gemm_problem *g, int p0, int kb, int j0, int cols, int width,
                             float *panel) {
    if (g->b_transposed) {
        gemm_avx2_pack_b_transposed(g, p0, kb, j0, cols, width, panel);
        return;
    }
    for (int p = 0; p < kb; p++) {
        const float *source = g->b + (size_t)(p0 + p) * g->ldb + (size_t)j0;
        float *destination = panel + (size_t)p * width;
        for (int c = 0; c < width; c += AVX2_W) {
                __m256i mask = lanes_mask_avx2(cols - c);
                _mm256_storeu_ps(destination + c, _mm256_maskload_ps(source + c, mask));
        }
    }
}

static const gemm_driver gemm_avx2_driver = {
    .mr = AVX2_MR,
    .width = AVX2_W,
    .max_vectors = AVX2_MAX_VECTORS,
    .kc = GEMM_AVX2_KC,
    .mc = GEMM_AVX2_MC,
    .nc = GEMM_AVX2_NC,
    .micro_kernels = {gemm_avx2_micro_4x8, gemm_avx2_micro_4x16, gemm_avx2_micro_4x24},
    .tall_micro_kernels = {gemm_avx2_micro_8x8, NULL, NULL},
    .pack_b_min_rows = GEMM_AVX2_PACK_B_MIN_ROWS,
    .masked_b_loads = 0,
    .pack_b_panel = gemm_avx2_pack_b,
    .pack_a_panel = gemm_avx2_pack_a,
};

void gemm_avx2(const gemm_problem *problem) { gemm_driver_run(problem, &gemm_avx2_driver); }
