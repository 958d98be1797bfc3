/* AVX-512 elementwise kernels: bias, activations forward and backward, SGD update.
 * 16 floats per step; the tail is the same vector code under a lane mask (no scalar tail), so
 * every element goes through the same arithmetic. Bias, ReLU, the backward formulas and SGD use
 * the reference's exact operations and match it bitwise. */
#include "avx512/avx512_kernels.h"
#include "avx512/avx512_math.h"

/* c[i][j] += bias[j] */
void bias_add_avx512(float *c, int m, int n, int ldc, const float *bias) {
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * ldc;
        for (int j = 0; j < n; j += 16) {
            __mmask16 mask = lanes_mask_avx512(n - j);
            __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, row + j),
                                       _mm512_maskz_loadu_ps(mask, bias + j));
            _mm512_mask_storeu_ps(row + j, mask, sum);
        }
    }
}

/* db[j] = sum_i dz[i][j], rows added in increasing i (the reference's order). */
void bias_gradient_avx512(const float *dz, int m, int n, int ld, float *bias_gradient) {
    for (int j = 0; j < n; j += 16) {
        __mmask16 mask = lanes_mask_avx512(n - j);
        __m512 sum = _mm512_setzero_ps();
        for (int i = 0; i < m; i++)
            sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(mask, dz + (size_t)i * ld + j));
        _mm512_mask_storeu_ps(bias_gradient + j, mask, sum);
    }
}

/* bias[j] -= learning_rate * (sum_i dz[i][j]): bias_gradient_avx512's sums and
 * sgd_update_avx512's step in one pass (bitwise the two calls). */
void bias_gradient_update_avx512(const float *dz, int m, int n, int ld, float *bias,
                                 float learning_rate) {
    const __m512 rate = _mm512_set1_ps(learning_rate);
    for (int j = 0; j < n; j += 16) {
        __mmask16 mask = lanes_mask_avx512(n - j);
        __m512 sum = _mm512_setzero_ps();
        for (int i = 0; i < m; i++)
            sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(mask, dz + (size_t)i * ld + j));
        __m512 step = _mm512_mul_ps(rate, sum);
        _mm512_mask_storeu_ps(bias + j, mask,
                              _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, bias + j), step));
    }
}

/* 16 bytes at a time: widened to int32, converted exactly, one multiply; the tail scalar. */
void scale_bytes_avx512(const uint8_t *x, float *y, size_t count, float scale) {
    const __m512 factor = _mm512_set1_ps(scale);
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(x + i));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)),
                                              factor));
    }
    scale_bytes_scalar(x + i, y + i, count - i, scale);
}

/* y = f(x) for one activation; x and y may alias. */
static void activation_forward_loop_avx512(mlp_activation activation, const float *x, float *y,
                                           size_t count) {
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 mask = lanes_mask_avx512((long)(count - i < 16 ? count - i : 16));
        __m512 value = activation_forward_avx512(activation, _mm512_maskz_loadu_ps(mask, x + i));
        _mm512_mask_storeu_ps(y + i, mask, value);
    }
}

/* dx = dy ⊙ f'(from y); dx may alias dy. */
static void activation_backward_loop_avx512(mlp_activation activation, const float *y,
                                            const float *dy, float *dx, size_t count) {
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 mask = lanes_mask_avx512((long)(count - i < 16 ? count - i : 16));
        __m512 value = activation_backward_avx512(activation, _mm512_maskz_loadu_ps(mask, y + i),
                                                  _mm512_maskz_loadu_ps(mask, dy + i));
        _mm512_mask_storeu_ps(dx + i, mask, value);
    }
}

void relu_forward_avx512(const float *x, float *y, size_t count) {
    activation_forward_loop_avx512(MLP_ACTIVATION_RELU, x, y, count);
}

void sigmoid_forward_avx512(const float *x, float *y, size_t count) {
    activation_forward_loop_avx512(MLP_ACTIVATION_SIGMOID, x, y, count);
}

void tanh_forward_avx512(const float *x, float *y, size_t count) {
    activation_forward_loop_avx512(MLP_ACTIVATION_TANH, x, y, count);
}

void relu_backward_avx512(const float *y, const float *dy, float *dx, size_t count) {
    activation_backward_loop_avx512(MLP_ACTIVATION_RELU, y, dy, dx, count);
}

void sigmoid_backward_avx512(const float *y, const float *dy, float *dx, size_t count) {
    activation_backward_loop_avx512(MLP_ACTIVATION_SIGMOID, y, dy, dx, count);
}

void tanh_backward_avx512(const float *y, const float *dy, float *dx, size_t count) {
    activation_backward_loop_avx512(MLP_ACTIVATION_TANH, y, dy, dx, count);
}

/* params -= learning_rate * gradients (multiply, then subtract: the reference's rounding). */
void sgd_update_avx512(float *params, const float *gradients, size_t count, float learning_rate) {
    __m512 rate = _mm512_set1_ps(learning_rate);
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 mask = lanes_mask_avx512((long)(count - i < 16 ? count - i : 16));
        __m512 step = _mm512_mul_ps(rate, _mm512_maskz_loadu_ps(mask, gradients + i));
        _mm512_mask_storeu_ps(params + i, mask,
                              _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, params + i), step));
    }
}
