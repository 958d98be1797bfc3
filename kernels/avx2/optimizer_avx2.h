/* One vector of the optimizer update (include/mlp/kernels.h, optimizer_step) for AVX2: the
 * scalar reference's operations in its order, each rounded once (no FMA), so the bits equal
 * scalar's. Shared by optimizer_update_avx2 (a stored gradient) and the GEMM's parameter
 * update epilogue (the gradient in registers), so the fused step is bitwise the unfused one. */
#ifndef MLP_OPTIMIZER_AVX2_H
#define MLP_OPTIMIZER_AVX2_H

#include "avx2/avx2_math.h"

/* The rule of `step` on the first `lanes` lanes of w (the parameters) and gradient: reads and
 * writes the moments at moment1 (m) and moment2 (v), those lanes only (lanes past them read as
 * 0; NULL where the rule has none), returns the new parameters (lanes past `lanes`: don't
 * care). Callers in a loop pass a local copy of the step, so its broadcasts stay out of it. */
static inline __attribute__((always_inline)) __m256
optimizer_lanes_avx2(const mlp_optimizer_step *step, long lanes, __m256 w, __m256 gradient,
                     float *moment1, float *moment2) {
    const mlp_optimizer_rule rule = step->rule;
    __m256 g = _mm256_add_ps(gradient, _mm256_mul_ps(_mm256_set1_ps(step->weight_decay), w));
    if (rule == MLP_OPTIMIZER_RULE_SGD) return _mm256_sub_ps(w, _mm256_mul_ps(_mm256_set1_ps(step->learning_rate), g));
    if (rule == MLP_OPTIMIZER_RULE_MOMENTUM || rule == MLP_OPTIMIZER_RULE_NESTEROV) {
        const __m256 mu = _mm256_set1_ps(step->momentum);
        __m256 m = _mm256_add_ps(_mm256_mul_ps(mu, load_lanes_avx2(moment1, lanes)), g);
        store_lanes_avx2(moment1, m, lanes);
        __m256 d = rule == MLP_OPTIMIZER_RULE_NESTEROV ? _mm256_add_ps(g, _mm256_mul_ps(mu, m)) : m;
        return _mm256_sub_ps(w, _mm256_mul_ps(_mm256_set1_ps(step->learning_rate), d));
    }
    __m256 m = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(step->beta1), load_lanes_avx2(moment1, lanes)),
                             _mm256_mul_ps(_mm256_set1_ps(step->one_minus_beta1), g));
    __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(step->beta2), load_lanes_avx2(moment2, lanes)),
                             _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(step->one_minus_beta2), g), g));
    store_lanes_avx2(moment1, m, lanes);
    store_lanes_avx2(moment2, v, lanes);
    __m256 denominator = _mm256_add_ps(
        _mm256_div_ps(_mm256_sqrt_ps(v), _mm256_set1_ps(step->bias_correction2_sqrt)),
        _mm256_set1_ps(step->eps));
    return _mm256_sub_ps(_mm256_mul_ps(w, _mm256_set1_ps(step->decay)),
                         _mm256_mul_ps(_mm256_set1_ps(step->step_size), _mm256_div_ps(m, denominator)));
}

#endif
