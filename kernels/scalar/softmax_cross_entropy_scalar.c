/* Reference fused softmax + categorical cross-entropy.
 * With m = max_j z_j and s = sum_j exp(z_j - m):  p_j = exp(z_j - m) / s  and
 * loss = -log p_y = log(s) - (z_y - m). s >= 1 (the maximum contributes exp(0)), so the log
 * never sees 0 and no exp overflows. */
#include <math.h>

#include "kernels_internal.h"

void softmax_cross_entropy_scalar(int rows, int classes, const float *logits, int ld_logits,
                                  const uint8_t *labels, float *probabilities,
                                  int ld_probabilities, float *row_loss, float *logit_gradient,
                                  int ld_gradient, float gradient_scale) {
    for (int i = 0; i < rows; i++) {
        const float *z = logits + (size_t)i * ld_logits;
        float max = z[0];
        for (int j = 1; j < classes; j++) max = z[j] > max ? z[j] : max;
        float sum = 0.0f;
        for (int j = 0; j < classes; j++) sum += expf(z[j] - max);
        float log_sum = logf(sum);
        int label = labels ? labels[i] : 0;
        if (row_loss) row_loss[i] = log_sum - (z[label] - max);
        if (logit_gradient) {
            float *dz = logit_gradient + (size_t)i * ld_gradient;
            for (int j = 0; j < classes; j++) {
                float p = expf(z[j] - max - log_sum);
                dz[j] = (p - (j == label ? 1.0f : 0.0f)) * gradient_scale;
            }
        }
        /* Written last: probabilities may alias the logits. */
        if (probabilities) {
            float *p = probabilities + (size_t)i * ld_probabilities;
            for (int j = 0; j < classes; j++) p[j] = expf(z[j] - max - log_sum);
        }
    }
}
