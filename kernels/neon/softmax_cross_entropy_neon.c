/* NEON fused softmax + cross-entropy: each row's classes in 4-lane chunks (the last one
 * partial), the rows in the passes of softmax_passes.h. Same formulas as the scalar reference: m = max z, s = sum exp(z - m),
 * loss = log s - (z_y - m), p = exp(z - m - log s). */
#include <math.h>

#include "neon/neon_kernels.h"
#include "neon/neon_math.h"
#include "softmax_passes.h"

static inline long classes_left(int classes, int j) { return classes - j < 4 ? classes - j : 4; }

/* max_j z[j]; lanes past the row read as -inf */
static float row_max_neon(const float *z, int classes) {
    float32x4_t max = vdupq_n_f32(-INFINITY);
    for (int j = 0; j < classes; j += 4)
        max = vmaxq_f32(max, load_lanes_neon(z + j, classes_left(classes, j), -INFINITY));
    return vmaxvq_f32(max);
}

/* Lanes j..j+3 that lie inside the row, as an all-ones mask. */
static inline uint32x4_t lanes_inside(int classes, int j) {
    static const uint32_t lane_index[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(lane_index), vdupq_n_u32((uint32_t)classes_left(classes, j)));
}

/* sum_j exp(z[j] - max); lanes past the row contribute 0 */
static float row_exp_sum_neon(const float *z, int classes, float max) {
    float32x4_t sum = vdupq_n_f32(0.0f);
    for (int j = 0; j < classes; j += 4) {
        float32x4_t shifted =
            vsubq_f32(load_lanes_neon(z + j, classes_left(classes, j), 0.0f), vdupq_n_f32(max));
        float32x4_t e = exp_neon(shifted);
        sum = vaddq_f32(sum, vbslq_f32(lanes_inside(classes, j), e, vdupq_n_f32(0.0f)));
    }
    return vaddvq_f32(sum);
}

/* p = exp(z - max - log_sum) and the gradient (p - onehot(label)) * scale */
static void row_outputs_neon(const float *z, int classes, float max, float log_sum, int label,
                             float *p_row, float *dz, float gradient_scale) {
    static const int32_t lane_index[4] = {0, 1, 2, 3};
    for (int j = 0; j < classes; j += 4) {
        long lanes = classes_left(classes, j);
        float32x4_t shifted = vsubq_f32(load_lanes_neon(z + j, lanes, 0.0f), vdupq_n_f32(max));
        float32x4_t p = exp_neon(vsubq_f32(shifted, vdupq_n_f32(log_sum)));
        if (dz) {
            int32x4_t index = vaddq_s32(vdupq_n_s32(j), vld1q_s32(lane_index));
            float32x4_t target = vbslq_f32(vceqq_s32(index, vdupq_n_s32(label)), vdupq_n_f32(1.0f),
                                           vdupq_n_f32(0.0f));
            store_lanes_neon(dz + j, vmulq_f32(vsubq_f32(p, target), vdupq_n_f32(gradient_scale)), lanes);
        }
        /* written after the chunk's logits were read: probabilities may alias the logits */
        if (p_row) store_lanes_neon(p_row + j, p, lanes);
    }
}

void softmax_cross_entropy_neon(int rows, int classes, const float *logits, int ld_logits,
                                const uint8_t *labels, float *probabilities, int ld_probabilities,
                                float *row_loss, float *logit_gradient, int ld_gradient,
                                float gradient_scale) {
    softmax_cross_entropy_passes(rows, classes, logits, ld_logits, labels, probabilities,
                                 ld_probabilities, row_loss, logit_gradient, ld_gradient,
                                 gradient_scale, row_max_neon, row_exp_sum_neon, row_outputs_neon);
}
