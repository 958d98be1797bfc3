/* The NEON GEMM epilogue on one row of a tile's sums, shared by the FP32 micro-kernels
 * (gemm_neon.c) and the BF16 ones (kernels/neon_bf16/), so both variants apply bias +
 * activation, the activation derivative and the parameter update with the same instructions:
 * a BF16 GEMM's epilogue is bitwise the FP32 one's on the same sums. Advanced SIMD only (the
 * AArch64 baseline): any AArch64 file may include it. */
#ifndef MLP_NEON_EPILOGUE_H
#define MLP_NEON_EPILOGUE_H

#include <arm_neon.h>

#include "gemm_driver.h"
#include "neon/neon_math.h"
#include "neon/optimizer_neon.h"

/* bias[column .. column + 3], `lanes` of them (zeros past them, and when there is no bias). */
static inline float32x4_t load_bias_neon(const gemm_tile *t, int column, long lanes) {
    return t->bias ? load_lanes_neon(t->bias + column, lanes, 0.0f) : vdupq_n_f32(0.0f);
}

/* The parameter update epilogue on `lanes` parameters at w (the gradient in registers), their
 * moments at m and v (NULL where the rule has none): the rule of t->update, with the
 * operations of the unfused kernel (SGD: sgd_update_neon's multiply, then subtract; the
 * optimizer rules: optimizer_lanes_neon, optimizer_update_neon's own code). */
static inline __attribute__((always_inline)) void update_parameters_neon(const gemm_tile *t,
                                                                         float *w, float *m, float *v,
                                                                         long lanes,
                                                                         float32x4_t gradient) {
    switch (t->update->rule) {
    case MLP_GEMM_UPDATE_SGD: {
        float32x4_t step = vmulq_f32(vdupq_n_f32(t->update->learning_rate), gradient);
        store_lanes_neon(w, vsubq_f32(load_lanes_neon(w, lanes, 0.0f), step), lanes);
        break;
    }
    case MLP_GEMM_UPDATE_OPTIMIZER:
        store_lanes_neon(w,
                         optimizer_lanes_neon(&t->update->step, lanes, load_lanes_neon(w, lanes, 0.0f),
                                              gradient, m, v),
                         lanes);
        break;
    default: break; /* unknown rule (include/mlp/kernels.h) */
    }
}

/* Row r, columns column .. column + 3 of the tile (`lanes` of them inside C): on the last
 * slice the epilogue, act(sums + bias) or sums ⊙ act'(Y), then a store of the lanes inside C;
 * or the parameter update of W's row r. */
static inline __attribute__((always_inline)) void store_sums_neon(const gemm_tile *t, int r,
                                                                  int column, long lanes,
                                                                  float32x4_t sums,
                                                                  float32x4_t bias) {
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
        update_parameters_neon(t, t->w + r * t->ldw + column, gemm_tile_state(t, 0, r, column),
                               gemm_tile_state(t, 1, r, column), lanes, sums);
        return;
    }
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_BIAS_ACTIVATION)
        sums = activation_forward_neon(t->activation, vaddq_f32(sums, bias));
    else if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE)
        sums = activation_backward_neon(
            t->activation, load_lanes_neon(t->y + r * t->ldy + column, lanes, 0.0f), sums);
    store_lanes_neon(t->c + r * t->ldc + column, sums, lanes);
}

#endif
