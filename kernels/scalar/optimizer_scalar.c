/* Reference optimizer update (include/mlp/kernels.h, optimizer_step): the roundings every
 * variant reproduces. The build compiles with -ffp-contract=off, so no product is fused. */
#include <math.h>

#include "kernels_internal.h"

void optimizer_update_scalar(const mlp_optimizer_step *step, float *params, const float *gradients,
                             float *moment1, float *moment2, size_t count) {
    const float lr = step->learning_rate, lambda = step->weight_decay, mu = step->momentum;
    switch (step->rule) {
    case MLP_OPTIMIZER_RULE_SGD:
        for (size_t i = 0; i < count; i++) {
            float g = gradients[i] + lambda * params[i];
            params[i] = params[i] - lr * g;
        }
        break;
    case MLP_OPTIMIZER_RULE_MOMENTUM:
        for (size_t i = 0; i < count; i++) {
            float g = gradients[i] + lambda * params[i];
            float m = mu * moment1[i] + g;
            moment1[i] = m;
            params[i] = params[i] - lr * m;
        }
        break;
    case MLP_OPTIMIZER_RULE_NESTEROV:
        for (size_t i = 0; i < count; i++) {
            float g = gradients[i] + lambda * params[i];
            float m = mu * moment1[i] + g;
            moment1[i] = m;
            params[i] = params[i] - lr * (g + mu * m);
        }
        break;
    case MLP_OPTIMIZER_RULE_ADAM:
    case MLP_OPTIMIZER_RULE_ADAMW: {
        const float b1 = step->beta1, b2 = step->beta2, c1 = step->one_minus_beta1,
                    c2 = step->one_minus_beta2, eps = step->eps, size = step->step_size,
                    bc2 = step->bias_correction2_sqrt, decay = step->decay;
        for (size_t i = 0; i < count; i++) {
            float g = gradients[i] + lambda * params[i];
            float m = b1 * moment1[i] + c1 * g;
            float v = b2 * moment2[i] + (c2 * g) * g;
            moment1[i] = m;
            moment2[i] = v;
            float denominator = sqrtf(v) / bc2 + eps;
            params[i] = params[i] * decay - size * (m / denominator);
        }
        break;
    }
    }
}
