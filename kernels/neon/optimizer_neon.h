/* One vector of the optimizer update (include/mlp/kernels.h, optimizer_step) for NEON: the
 * scalar reference's operations in its order, each rounded once (vmulq then vaddq, never
 * vfmaq), so the bits equal scalar's. Shared by optimizer_update_neon (a stored gradient) and
 * the GEMM's parameter update epilogue (the gradient in registers), so the fused step is
 * bitwise the unfused one. */
#ifndef MLP_OPTIMIZER_NEON_H
#define MLP_OPTIMIZER_NEON_H

#include "neon/neon_math.h"

/* The rule of `step` on the first `lanes` lanes of w (the parameters) and gradient: reads and
 * writes the moments at moment1 (m) and moment2 (v), those lanes only (lanes past them read as
 * 0; NULL where the rule has none), returns the new parameters (lanes past `lanes`: don't
 * care). Callers in a loop pass a local copy of the step, so its broadcasts stay out of it. */
static inline __attribute__((always_inline)) float32x4_t
optimizer_lanes_neon(const mlp_optimizer_step *step, long lanes, float32x4_t w, float32x4_t gradient,
                     float *moment1, float *moment2) {
    const mlp_optimizer_rule rule = step->rule;
    float32x4_t g = vaddq_f32(gradient, vmulq_f32(vdupq_n_f32(step->weight_decay), w));
    if (rule == MLP_OPTIMIZER_RULE_SGD) return vsubq_f32(w, vmulq_f32(vdupq_n_f32(step->learning_rate), g));
    if (rule == MLP_OPTIMIZER_RULE_MOMENTUM || rule == MLP_OPTIMIZER_RULE_NESTEROV) {
        const float32x4_t mu = vdupq_n_f32(step->momentum);
        float32x4_t m = vaddq_f32(vmulq_f32(mu, load_lanes_neon(moment1, lanes, 0.0f)), g);
        store_lanes_neon(moment1, m, lanes);
        float32x4_t d = rule == MLP_OPTIMIZER_RULE_NESTEROV ? vaddq_f32(g, vmulq_f32(mu, m)) : m;
        return vsubq_f32(w, vmulq_f32(vdupq_n_f32(step->learning_rate), d));
    }
    float32x4_t m = vaddq_f32(vmulq_f32(vdupq_n_f32(step->beta1), load_lanes_neon(moment1, lanes, 0.0f)),
                              vmulq_f32(vdupq_n_f32(step->one_minus_beta1), g));
    float32x4_t v = vaddq_f32(vmulq_f32(vdupq_n_f32(step->beta2), load_lanes_neon(moment2, lanes, 0.0f)),
                              vmulq_f32(vmulq_f32(vdupq_n_f32(step->one_minus_beta2), g), g));
    store_lanes_neon(moment1, m, lanes);
    store_lanes_neon(moment2, v, lanes);
    float32x4_t denominator =
        vaddq_f32(vdivq_f32(vsqrtq_f32(v), vdupq_n_f32(step->bias_correction2_sqrt)), vdupq_n_f32(step->eps));
    return vsubq_f32(vmulq_f32(w, vdupq_n_f32(step->decay)),
                     vmulq_f32(vdupq_n_f32(step->step_size), vdivq_f32(m, denominator)));
}

#endif
