/* AVX2+FMA GEMM: the shared blocking/packing driver (kernels/gemm_driver.h) around a 4 × 24
 * register tile: 4 rows of A broadcast, 3 ymm vectors (24 columns) of B, 12 accumulators
 * (16 ymm registers in all), so each step over k issues 12 independent FMAs for 7 loads.
 * MR = 4 divides every batch and layer width of the MLPs; narrow N (the 10 logits) uses the
 * 4 × 8 and 4 × 16 tiles instead of padding to 24 columns. */
#include "avx2/avx2_kernels.h"
#include "avx2/avx2_math.h"
#include "gemm_driver.h"

enum { AVX2_MR = GEMM_AVX2_MR, AVX2_W = GEMM_AVX2_W, AVX2_MAX_VECTORS = GEMM_AVX2_MAX_VECTORS };

/* One tile_rows × (vectors·8) tile over one k slice (tile_rows = MR, or 2·MR for the tall
 * narrow tile); both are constants in each caller, so the loops below unroll completely and
 * the accumulators live in registers. */
static inline __attribute__((always_inline)) void gemm_avx2_tile(const gemm_tile *t,
                                                                 const int tile_rows,
                                                                 const int vectors) {
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

    /* rows past the edge of C re-read the last row (computed, never stored) */
    ptrdiff_t a_offset[2 * AVX2_MR];
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++)
        a_offset[r] = (r < t->rows ? r : t->rows - 1) * t->a_row_stride;

    /* acc[r][v] += A(r, p) · B(p, v-th 8 columns), p increasing: one FMA per p per element */
    const float *a = t->a, *b = t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride;
    const ptrdiff_t b_k_stride = t->b_k_stride;
    for (int p = 0; p < t->k; p++) {
        __m256 b_vector[AVX2_MAX_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++) b_vector[v] = _mm256_loadu_ps(b + AVX2_W * v);
#pragma GCC unroll 16
        for (int r = 0; r < tile_rows; r++) {
            __m256 a_broadcast = _mm256_broadcast_ss(a + a_offset[r]);
#pragma GCC unroll 4
            for (int v = 0; v < vectors; v++)
                acc[r][v] = _mm256_fmadd_ps(a_broadcast, b_vector[v], acc[r][v]);
        }
        a += a_k_stride;
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

void gemm_avx2_micro_4x8(const gemm_tile *tile) { gemm_avx2_tile(tile, AVX2_MR, 1); }
void gemm_avx2_micro_4x16(const gemm_tile *tile) { gemm_avx2_tile(tile, AVX2_MR, 2); }
void gemm_avx2_micro_4x24(const gemm_tile *tile) { gemm_avx2_tile(tile, AVX2_MR, 3); }
/* the tall narrow tile: 8 accumulators instead of 4 */
void gemm_avx2_micro_8x8(const gemm_tile *tile) { gemm_avx2_tile(tile, 2 * AVX2_MR, 1); }

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
};

size_t gemm_avx2_workspace_floats(void) { return gemm_driver_workspace_floats(&gemm_avx2_driver); }

void gemm_avx2(const gemm_problem *problem) { gemm_driver_run(problem, &gemm_avx2_driver); }
