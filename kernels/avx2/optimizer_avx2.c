/* The optimizer update (include/mlp/kernels.h, optimizer_step), 8 floats per step: the scalar
 * reference's operations in its order, each rounded once (no FMA), so the bits equal scalar's.
 * Tails go through the masked loads and piecewise stores of avx2_math.h. */
#include "avx2/avx2_kernels.h"
#include "avx2/avx2_math.h"

void optimizer_update_avx2(const mlp_optimizer_step *step, float *params, const float *gradients,
                           float *moment1, float *moment2, size_t count) {
    const __m256 lr = _mm256_set1_ps(step->learning_rate), lambda = _mm256_set1_ps(step->weight_decay),
                 mu = _mm256_set1_ps(step->momentum), b1 = _mm256_set1_ps(step->beta1),
                 b2 = _mm256_set1_ps(step->beta2), c1 = _mm256_set1_ps(step->one_minus_beta1),
                 c2 = _mm256_set1_ps(step->one_minus_beta2), eps = _mm256_set1_ps(step->eps),
                 size = _mm256_set1_ps(step->step_size), bc2 = _mm256_set1_ps(step->bias_correction2_sqrt),
                 decay = _mm256_set1_ps(step->decay);
    const mlp_optimizer_rule rule = step->rule;
    for (size_t i = 0; i < count; i += 8) {
        long left = (long)(count - i < 8 ? count - i : 8);
        __m256 w = load_lanes_avx2(params + i, left);
        __m256 g = _mm256_add_ps(load_lanes_avx2(gradients + i, left), _mm256_mul_ps(lambda, w));
        if (rule == MLP_OPTIMIZER_RULE_SGD) {
            w = _mm256_sub_ps(w, _mm256_mul_ps(lr, g));
        } else if (rule == MLP_OPTIMIZER_RULE_MOMENTUM || rule == MLP_OPTIMIZER_RULE_NESTEROV) {
            __m256 m = _mm256_add_ps(_mm256_mul_ps(mu, load_lanes_avx2(moment1 + i, left)), g);
            store_lanes_avx2(moment1 + i, m, left);
            __m256 d = rule == MLP_OPTIMIZER_RULE_NESTEROV ? _mm256_add_ps(g, _mm256_mul_ps(mu, m)) : m;
            w = _mm256_sub_ps(w, _mm256_mul_ps(lr, d));
        } else {
            __m256 m = _mm256_add_ps(_mm256_mul_ps(b1, load_lanes_avx2(moment1 + i, left)),
                                     _mm256_mul_ps(c1, g));
            __m256 v = _mm256_add_ps(_mm256_mul_ps(b2, load_lanes_avx2(moment2 + i, left)),
                                     _mm256_mul_ps(_mm256_mul_ps(c2, g), g));
            store_lanes_avx2(moment1 + i, m, left);
            store_lanes_avx2(moment2 + i, v, left);
            __m256 denominator = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(v), bc2), eps);
            w = _mm256_sub_ps(_mm256_mul_ps(w, decay), _mm256_mul_ps(size, _mm256_div_ps(m, denominator)));
        }
        store_lanes_avx2(params + i, w, left);
    }
}
