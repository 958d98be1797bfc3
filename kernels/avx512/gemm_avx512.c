/* AVX-512 GEMM: the shared blocking/packing driver (kernels/gemm_driver.h) around an 8 × 48
 * register tile: 8 rows of A broadcast, 3 zmm vectors (48 columns) of B, 24 accumulators, so
 * each step over k issues 24 independent FMAs (enough to cover the 4-cycle FMA latency on two
 * pipes) for 11 loads. MR = 8 divides every batch and layer width of the MLPs; narrow N (the
 * 10 logits) uses the 8 × 16 and 8 × 32 tiles instead of padding to 48 columns. */
#include "avx512/avx512_kernels.h"
#include "avx512/avx512_math.h"
#include "gemm_driver.h"

enum { AVX512_MR = GEMM_AVX512_MR, AVX512_W = GEMM_AVX512_W, AVX512_MAX_VECTORS = GEMM_AVX512_MAX_VECTORS };

/* One MR × (vectors·16) tile over one k slice; `vectors` is a constant in each caller, so the
 * loops below unroll completely and the accumulators live in registers. */
static inline __attribute__((always_inline)) void gemm_avx512_tile(const gemm_tile *t,
                                                                   const int vectors) {
    __m512 acc[AVX512_MR][AVX512_MAX_VECTORS];
    __mmask16 column_mask[AVX512_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) column_mask[v] = lanes_mask_avx512(t->cols - AVX512_W * v);

    /* sums start at 0, or continue from the previous k slice's partial sums in C */
#pragma GCC unroll 8
    for (int r = 0; r < AVX512_MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            acc[r][v] = t->continue_sums && r < t->rows
                            ? _mm512_maskz_loadu_ps(column_mask[v],
                                                    t->c + r * t->ldc + AVX512_W * v)
                            : _mm512_setzero_ps();

    /* acc[r][v] += A(r, p) · B(p, v-th 16 columns), p increasing: one FMA per p per element */
    const float *a = t->a, *b = t->b;
    const ptrdiff_t a_row_stride = t->a_row_stride, a_k_stride = t->a_k_stride;
    const ptrdiff_t b_k_stride = t->b_k_stride;
    for (int p = 0; p < t->k; p++) {
        __m512 b_vector[AVX512_MAX_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++) b_vector[v] = _mm512_loadu_ps(b + AVX512_W * v);
#pragma GCC unroll 8
        for (int r = 0; r < AVX512_MR; r++) {
            __m512 a_broadcast = _mm512_set1_ps(a[r * a_row_stride]);
#pragma GCC unroll 4
            for (int v = 0; v < vectors; v++)
                acc[r][v] = _mm512_fmadd_ps(a_broadcast, b_vector[v], acc[r][v]);
        }
        a += a_k_stride;
        b += b_k_stride;
    }

    /* epilogue on the last slice, then masked stores of the rows and columns inside C */
    __m512 bias[AVX512_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++)
        bias[v] = t->bias ? _mm512_maskz_loadu_ps(column_mask[v], t->bias + AVX512_W * v)
                          : _mm512_setzero_ps();
    const int bias_activation = t->finish && t->epilogue == GEMM_EPILOGUE_BIAS_ACTIVATION;
    const int derivative = t->finish && t->epilogue == GEMM_EPILOGUE_ACTIVATION_DERIVATIVE;
#pragma GCC unroll 8
    for (int r = 0; r < AVX512_MR; r++) {
        if (r >= t->rows) break;
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++) {
            __m512 z = acc[r][v];
            if (bias_activation)
                z = activation_forward_avx512(t->activation, _mm512_add_ps(z, bias[v]));
            else if (derivative)
                z = activation_backward_avx512(
                    t->activation,
                    _mm512_maskz_loadu_ps(column_mask[v], t->y + r * t->ldy + AVX512_W * v), z);
            _mm512_mask_storeu_ps(t->c + r * t->ldc + AVX512_W * v, column_mask[v], z);
        }
    }
}

void gemm_avx512_micro_8x16(const gemm_tile *tile) { gemm_avx512_tile(tile, 1); }
void gemm_avx512_micro_8x32(const gemm_tile *tile) { gemm_avx512_tile(tile, 2); }
void gemm_avx512_micro_8x48(const gemm_tile *tile) { gemm_avx512_tile(tile, 3); }

static const gemm_driver gemm_avx512_driver = {
    .mr = AVX512_MR,
    .width = AVX512_W,
    .max_vectors = AVX512_MAX_VECTORS,
    .kc = GEMM_AVX512_KC,
    .mc = GEMM_AVX512_MC,
    .nc = GEMM_AVX512_NC,
    .micro_kernels = {gemm_avx512_micro_8x16, gemm_avx512_micro_8x32, gemm_avx512_micro_8x48},
    .pack_b_min_rows = GEMM_AVX512_PACK_B_MIN_ROWS,
};

size_t gemm_avx512_workspace_floats(void) {
    return gemm_driver_workspace_floats(&gemm_avx512_driver);
}

void gemm_avx512(const gemm_problem *problem) { gemm_driver_run(problem, &gemm_avx512_driver); }
