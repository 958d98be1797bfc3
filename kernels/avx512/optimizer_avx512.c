/* The optimizer update (include/mlp/kernels.h, optimizer_step), 16 floats per step: the scalar
 * reference's operations in its order, each rounded once (no FMA), so the bits equal scalar's.
 * The tail is the same code under a lane mask; masked-off lanes compute nothing. */
#include "avx512/avx512_kernels.h"
#include "avx512/avx512_math.h"

void optimizer_update_avx512(const mlp_optimizer_step *step, float *params, const float *gradients,
                             float *moment1, float *moment2, size_t count) {
    const __m512 lr = _mm512_set1_ps(step->learning_rate), lambda = _mm512_set1_ps(step->weight_decay),
                 mu = _mm512_set1_ps(step->momentum), b1 = _mm512_set1_ps(step->beta1),
                 b2 = _mm512_set1_ps(step->beta2), c1 = _mm512_set1_ps(step->one_minus_beta1),
                 c2 = _mm512_set1_ps(step->one_minus_beta2), eps = _mm512_set1_ps(step->eps),
                 size = _mm512_set1_ps(step->step_size), bc2 = _mm512_set1_ps(step->bias_correction2_sqrt),
                 decay = _mm512_set1_ps(step->decay);
    const mlp_optimizer_rule rule = step->rule;
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 k = lanes_mask_avx512((long)(count - i < 16 ? count - i : 16));
        __m512 w = _mm512_maskz_loadu_ps(k, params + i);
        __m512 g = _mm512_add_ps(_mm512_maskz_loadu_ps(k, gradients + i), _mm512_mul_ps(lambda, w));
        if (rule == MLP_OPTIMIZER_RULE_SGD) {
            w = _mm512_sub_ps(w, _mm512_mul_ps(lr, g));
        } else if (rule == MLP_OPTIMIZER_RULE_MOMENTUM || rule == MLP_OPTIMIZER_RULE_NESTEROV) {
            __m512 m = _mm512_add_ps(_mm512_mul_ps(mu, _mm512_maskz_loadu_ps(k, moment1 + i)), g);
            _mm512_mask_storeu_ps(moment1 + i, k, m);
            __m512 d = rule == MLP_OPTIMIZER_RULE_NESTEROV ? _mm512_add_ps(g, _mm512_mul_ps(mu, m)) : m;
            w = _mm512_sub_ps(w, _mm512_mul_ps(lr, d));
        } else {
            __m512 m = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_maskz_loadu_ps(k, moment1 + i)),
                                     _mm512_mul_ps(c1, g));
            __m512 v = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_maskz_loadu_ps(k, moment2 + i)),
                                     _mm512_mul_ps(_mm512_mul_ps(c2, g), g));
            _mm512_mask_storeu_ps(moment1 + i, k, m);
            _mm512_mask_storeu_ps(moment2 + i, k, v);
            __m512 denominator = _mm512_add_ps(_mm512_maskz_div_ps(k, _mm512_sqrt_ps(v), bc2), eps);
            w = _mm512_sub_ps(_mm512_mul_ps(w, decay),
                              _mm512_mul_ps(size, _mm512_maskz_div_ps(k, m, denominator)));
        }
        _mm512_mask_storeu_ps(params + i, k, w);
    }
}
