/* One vector of the optimizer update (include/mlp/kernels.h, optimizer_step) for AVX-512: the
 * scalar reference's operations in its order, each rounded once (no FMA), so the bits equal
 * scalar's. Shared by optimizer_update_avx512 (a stored gradient) and the GEMM's parameter
 * update epilogue (the gradient in registers), so the fused step is bitwise the unfused one. */
#ifndef MLP_OPTIMIZER_AVX512_H
#define MLP_OPTIMIZER_AVX512_H

#include "avx512/avx512_math.h"

/* The rule of `step` on the lanes k of w (the parameters) and gradient: reads and writes the
 * moments at moment1 (m) and moment2 (v) under k (NULL where the rule has none), returns the
 * new parameters (lanes outside k: don't care). Masked-off lanes never divide. Callers in a
 * loop pass a local copy of the step, so its broadcasts stay out of the loop. */
static inline __attribute__((always_inline)) __m512
optimizer_lanes_avx512(const mlp_optimizer_step *step, __mmask16 k, __m512 w, __m512 gradient,
                       float *moment1, float *moment2) {
    const mlp_optimizer_rule rule = step->rule;
    __m512 g = _mm512_add_ps(gradient, _mm512_mul_ps(_mm512_set1_ps(step->weight_decay), w));
    if (rule == MLP_OPTIMIZER_RULE_SGD) return _mm512_sub_ps(w, _mm512_mul_ps(_mm512_set1_ps(step->learning_rate), g));
    if (rule == MLP_OPTIMIZER_RULE_MOMENTUM || rule == MLP_OPTIMIZER_RULE_NESTEROV) {
        const __m512 mu = _mm512_set1_ps(step->momentum);
        __m512 m = _mm512_add_ps(_mm512_mul_ps(mu, _mm512_maskz_loadu_ps(k, moment1)), g);
        _mm512_mask_storeu_ps(moment1, k, m);
        __m512 d = rule == MLP_OPTIMIZER_RULE_NESTEROV ? _mm512_add_ps(g, _mm512_mul_ps(mu, m)) : m;
        return _mm512_sub_ps(w, _mm512_mul_ps(_mm512_set1_ps(step->learning_rate), d));
    }
    __m512 m = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(step->beta1), _mm512_maskz_loadu_ps(k, moment1)),
                             _mm512_mul_ps(_mm512_set1_ps(step->one_minus_beta1), g));
    __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(step->beta2), _mm512_maskz_loadu_ps(k, moment2)),
                             _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(step->one_minus_beta2), g), g));
    _mm512_mask_storeu_ps(moment1, k, m);
    _mm512_mask_storeu_ps(moment2, k, v);
    __m512 denominator = _mm512_add_ps(
        _mm512_maskz_div_ps(k, _mm512_sqrt_ps(v), _mm512_set1_ps(step->bias_correction2_sqrt)),
        _mm512_set1_ps(step->eps));
    return _mm512_sub_ps(_mm512_mul_ps(w, _mm512_set1_ps(step->decay)),
                         _mm512_mul_ps(_mm512_set1_ps(step->step_size), _mm512_maskz_div_ps(k, m, denominator)));
}

#endif
