/* The optimizer update (include/mlp/kernels.h, optimizer_step), 4 floats per step: the scalar
 * reference's operations in its order, each rounded once (vmulq then vaddq, never vfmaq), so the
 * bits equal scalar's. Tails through neon_math.h's partial loads and stores. */
#include "neon/neon_kernels.h"
#include "neon/neon_math.h"

void optimizer_update_neon(const mlp_optimizer_step *step, float *params, const float *gradients,
                           float *moment1, float *moment2, size_t count) {
    const float32x4_t lr = vdupq_n_f32(step->learning_rate), lambda = vdupq_n_f32(step->weight_decay),
                      mu = vdupq_n_f32(step->momentum), b1 = vdupq_n_f32(step->beta1),
                      b2 = vdupq_n_f32(step->beta2), c1 = vdupq_n_f32(step->one_minus_beta1),
                      c2 = vdupq_n_f32(step->one_minus_beta2), eps = vdupq_n_f32(step->eps),
                      size = vdupq_n_f32(step->step_size), bc2 = vdupq_n_f32(step->bias_correction2_sqrt),
                      decay = vdupq_n_f32(step->decay);
    const mlp_optimizer_rule rule = step->rule;
    for (size_t i = 0; i < count; i += 4) {
        long left = (long)(count - i < 4 ? count - i : 4);
        float32x4_t w = load_lanes_neon(params + i, left, 0.0f);
        float32x4_t g = vaddq_f32(load_lanes_neon(gradients + i, left, 0.0f), vmulq_f32(lambda, w));
        if (rule == MLP_OPTIMIZER_RULE_SGD) {
            w = vsubq_f32(w, vmulq_f32(lr, g));
        } else if (rule == MLP_OPTIMIZER_RULE_MOMENTUM || rule == MLP_OPTIMIZER_RULE_NESTEROV) {
            float32x4_t m = vaddq_f32(vmulq_f32(mu, load_lanes_neon(moment1 + i, left, 0.0f)), g);
            store_lanes_neon(moment1 + i, m, left);
            float32x4_t d = rule == MLP_OPTIMIZER_RULE_NESTEROV ? vaddq_f32(g, vmulq_f32(mu, m)) : m;
            w = vsubq_f32(w, vmulq_f32(lr, d));
        } else {
            float32x4_t m = vaddq_f32(vmulq_f32(b1, load_lanes_neon(moment1 + i, left, 0.0f)),
                                      vmulq_f32(c1, g));
            float32x4_t v = vaddq_f32(vmulq_f32(b2, load_lanes_neon(moment2 + i, left, 0.0f)),
                                      vmulq_f32(vmulq_f32(c2, g), g));
            store_lanes_neon(moment1 + i, m, left);
            store_lanes_neon(moment2 + i, v, left);
            float32x4_t denominator = vaddq_f32(vdivq_f32(vsqrtq_f32(v), bc2), eps);
            w = vsubq_f32(vmulq_f32(w, decay), vmulq_f32(size, vdivq_f32(m, denominator)));
        }
        store_lanes_neon(params + i, w, left);
    }
}
