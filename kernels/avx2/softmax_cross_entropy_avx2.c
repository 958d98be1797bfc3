/* AVX2 fused softmax + cross-entropy: each row's classes in 8-lane chunks (10 classes = one full
 * and one partial vector: a masked load, plain 4 + 2 + 1 stores), the rows in the passes of
 * softmax_passes.h. Same
 * formulas as the scalar reference: m = max z, s = sum exp(z - m), loss = log s - (z_y - m),
 * p = exp(z - m - log s). */
#include <math.h>

#include "avx2/avx2_kernels.h"
#include "avx2/avx2_math.h"
#include "softmax_passes.h"

static inline float horizontal_max_avx2(__m256 v) {
    __m128 half = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_max_ps(half, _mm_movehl_ps(half, half));
    half = _mm_max_ss(half, _mm_movehdup_ps(half));
    return _mm_cvtss_f32(half);
}

static inline float horizontal_sum_avx2(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    return _mm_cvtss_f32(half);
}

/* max_j z[j], masked lanes read as -inf */
static float row_max_avx2(const float *z, int classes) {
    __m256 minus_infinity = _mm256_set1_ps(-INFINITY);
    __m256 max = minus_infinity;
    for (int j = 0; j < classes; j += 8) {
        __m256i mask = lanes_mask_avx2(classes - j);
        __m256 chunk = _mm256_blendv_ps(minus_infinity, load_lanes_avx2(z + j, classes - j),
                                        _mm256_castsi256_ps(mask));
        max = _mm256_max_ps(max, chunk);
    }
    return horizontal_max_avx2(max);
}

/* sum_j exp(z[j] - max), masked lanes contribute 0 */
static float row_exp_sum_avx2(const float *z, int classes, float max) {
    __m256 sum = _mm256_setzero_ps();
    for (int j = 0; j < classes; j += 8) {
        __m256i mask = lanes_mask_avx2(classes - j);
        __m256 shifted = _mm256_sub_ps(load_lanes_avx2(z + j, classes - j), _mm256_set1_ps(max));
        sum = _mm256_add_ps(sum, _mm256_and_ps(exp_avx2(shifted), _mm256_castsi256_ps(mask)));
    }
    return horizontal_sum_avx2(sum);
}

/* p = exp(z - max - log_sum) and the gradient (p - onehot(label)) * scale */
static void row_outputs_avx2(const float *z, int classes, float max, float log_sum, int label,
                             float *p_row, float *dz, float gradient_scale) {
    for (int j = 0; j < classes; j += 8) {
        __m256 shifted = _mm256_sub_ps(load_lanes_avx2(z + j, classes - j), _mm256_set1_ps(max));
        __m256 p = exp_avx2(_mm256_sub_ps(shifted, _mm256_set1_ps(log_sum)));
        if (dz) {
            __m256i index = _mm256_add_epi32(_mm256_set1_epi32(j), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            __m256 is_label = _mm256_castsi256_ps(_mm256_cmpeq_epi32(index, _mm256_set1_epi32(label)));
            __m256 target = _mm256_and_ps(is_label, _mm256_set1_ps(1.0f));
            store_lanes_avx2(dz + j, _mm256_mul_ps(_mm256_sub_ps(p, target), _mm256_set1_ps(gradient_scale)),
                             classes - j);
        }
        /* written after the chunk's logits were read: probabilities may alias the logits */
        if (p_row) store_lanes_avx2(p_row + j, p, classes - j);
    }
}

void softmax_cross_entropy_avx2(int rows, int classes, const float *logits, int ld_logits,
                                const uint8_t *labels, float *probabilities, int ld_probabilities,
                                float *row_loss, float *logit_gradient, int ld_gradient,
                                float gradient_scale) {
    softmax_cross_entropy_passes(rows, classes, logits, ld_logits, labels, probabilities,
                                 ld_probabilities, row_loss, logit_gradient, ld_gradient,
                                 gradient_scale, row_max_avx2, row_exp_sum_avx2, row_outputs_avx2);
}
