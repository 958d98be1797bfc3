/* The AVX-512 GEMM epilogue on one row of a tile's sums, shared by the FP32 micro-kernels
 * (gemm_avx512.c) and the BF16 ones (kernels/avx512_bf16/), so both variants apply bias +
 * activation, the activation derivative and the parameter update with the same instructions:
 * a BF16 GEMM's epilogue is bitwise the FP32 one's on the same sums. Include only from files
 * compiled with (at least) the avx512 variant's flags. */
#ifndef MLP_AVX512_EPILOGUE_H
#define MLP_AVX512_EPILOGUE_H

#include <immintrin.h>

#include "avx512/avx512_math.h"
#include "avx512/optimizer_avx512.h"
#include "gemm_driver.h"

/* bias[column .. column + 15] under the column mask (zeros when there is no bias). */
static inline __m512 load_bias_avx512(const gemm_tile *t, int column, __mmask16 column_mask) {
    return t->bias ? _mm512_maskz_loadu_ps(column_mask, t->bias + column) : _mm512_setzero_ps();
}

/* The parameter update epilogue on `lanes` parameters at w (the gradient in registers), their
 * moments at m and v (NULL where the rule has none): the rule of t->update, with the
 * operations of the unfused kernel (SGD: sgd_update_avx512's multiply, then subtract; the
 * optimizer rules: optimizer_lanes_avx512, optimizer_update_avx512's own code). */
static inline __attribute__((always_inline)) void update_parameters_avx512(const gemm_tile *t,
                                                                           float *w, float *m,
                                                                           float *v,
                                                                           __mmask16 lanes,
                                                                           __m512 gradient) {
    switch (t->update->rule) {
    case MLP_GEMM_UPDATE_SGD: {
        __m512 step = _mm512_mul_ps(_mm512_set1_ps(t->update->learning_rate), gradient);
        _mm512_mask_storeu_ps(w, lanes, _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, w), step));
        break;
    }
    case MLP_GEMM_UPDATE_OPTIMIZER:
        _mm512_mask_storeu_ps(w, lanes,
                              optimizer_lanes_avx512(&t->update->step, lanes,
                                                     _mm512_maskz_loadu_ps(lanes, w), gradient, m, v));
        break;
    default: break; /* unknown rule (include/mlp/kernels.h) */
    }
}

/* Row r, columns column .. column + 15 of the tile: on the last slice the epilogue,
 * act(sums + bias) or sums ⊙ act'(Y), then a masked store of the columns inside C; or the
 * parameter update of W's row r. */
static inline __attribute__((always_inline)) void store_sums_avx512(const gemm_tile *t, int r,
                                                                    int column,
                                                                    __mmask16 column_mask,
                                                                    __m512 sums, __m512 bias) {
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
        update_parameters_avx512(t, t->w + r * t->ldw + column, gemm_tile_state(t, 0, r, column),
                                 gemm_tile_state(t, 1, r, column), column_mask, sums);
        return;
    }
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_BIAS_ACTIVATION)
        sums = activation_forward_avx512(t->activation, _mm512_add_ps(sums, bias));
    else if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE)
        sums = activation_backward_avx512(
            t->activation, _mm512_maskz_loadu_ps(column_mask, t->y + r * t->ldy + column), sums);
    _mm512_mask_storeu_ps(t->c + r * t->ldc + column, column_mask, sums);
}

#endif
