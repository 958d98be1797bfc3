/* AVX-512 fused softmax + cross-entropy: each row's classes in 16-lane chunks under a lane mask
 * (10 classes = one masked vector), the rows in the passes of softmax_passes.h. Same formulas
 * as the scalar reference: m = max z, s = sum exp(z - m), loss = log s - (z_y - m),
 * p = exp(z - m - log s). */
#include <math.h>

#include "avx512/avx512_kernels.h"
#include "avx512/avx512_math.h"
#include "softmax_passes.h"

/* max_j z[j], masked lanes read as -inf */
static float row_max_avx512(const float *z, int classes) {
    __m512 max = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < classes; j += 16)
        max = _mm512_max_ps(max, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY),
                                                      lanes_mask_avx512(classes - j), z + j));
    return _mm512_reduce_max_ps(max);
}

/* sum_j exp(z[j] - max), masked lanes contribute 0 */
static float row_exp_sum_avx512(const float *z, int classes, float max) {
    __m512 sum = _mm512_setzero_ps();
    for (int j = 0; j < classes; j += 16) {
        __mmask16 mask = lanes_mask_avx512(classes - j);
        __m512 shifted = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, z + j), _mm512_set1_ps(max));
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(mask, exp_avx512(shifted)));
    }
    return _mm512_reduce_add_ps(sum);
}

/* p = exp(z - max - log_sum) and the gradient (p - onehot(label)) * scale */
static void row_outputs_avx512(const float *z, int classes, float max, float log_sum, int label,
                               float *p_row, float *dz, float gradient_scale) {
    for (int j = 0; j < classes; j += 16) {
        __mmask16 mask = lanes_mask_avx512(classes - j);
        __m512 shifted = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, z + j), _mm512_set1_ps(max));
        __m512 p = exp_avx512(_mm512_sub_ps(shifted, _mm512_set1_ps(log_sum)));
        if (dz) {
            __m512i index = _mm512_add_epi32(_mm512_set1_epi32(j),
                                             _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                               11, 12, 13, 14, 15));
            __mmask16 is_label = _mm512_cmpeq_epi32_mask(index, _mm512_set1_epi32(label));
            __m512 target = _mm512_maskz_mov_ps(is_label, _mm512_set1_ps(1.0f));
            _mm512_mask_storeu_ps(dz + j, mask,
                                  _mm512_mul_ps(_mm512_sub_ps(p, target), _mm512_set1_ps(gradient_scale)));
        }
        /* written after the chunk's logits were read: probabilities may alias the logits */
        if (p_row) _mm512_mask_storeu_ps(p_row + j, mask, p);
    }
}

void softmax_cross_entropy_avx512(int rows, int classes, const float *logits, int ld_logits,
                                  const uint8_t *labels, float *probabilities,
                                  int ld_probabilities, float *row_loss, float *logit_gradient,
                                  int ld_gradient, float gradient_scale) {
    softmax_cross_entropy_passes(rows, classes, logits, ld_logits, labels, probabilities,
                                 ld_probabilities, row_loss, logit_gradient, ld_gradient,
                                 gradient_scale, row_max_avx512, row_exp_sum_avx512,
                                 row_outputs_avx512);
}
