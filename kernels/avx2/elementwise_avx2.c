/* AVX2 elementwise kernels: bias, activations forward and backward, SGD update.
 * 8 floats per step; the tail is the same vector code under a lane mask (maskload/maskstore,
 * no scalar tail), so every element goes through the same arithmetic. Bias, ReLU, the backward
 * formulas and SGD use the reference's exact operations and match it bitwise. */
#include "avx2/avx2_kernels.h"
#include "avx2/avx2_math.h"

/* Lanes left from i in a count-long array, as a mask for the step at i. */
static inline __m256i tail_mask_avx2(size_t count, size_t i) {
    return lanes_mask_avx2((long)(count - i < 8 ? count - i : 8));
}

/* c[i][j] += bias[j] */
void bias_add_avx2(float *c, int m, int n, int ldc, const float *bias) {
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * ldc;
        for (int j = 0; j < n; j += 8) {
            __m256i mask = lanes_mask_avx2(n - j);
            __m256 sum = _mm256_add_ps(_mm256_maskload_ps(row + j, mask),
                                       _mm256_maskload_ps(bias + j, mask));
            _mm256_maskstore_ps(row + j, mask, sum);
        }
    }
}

/* db[j] = sum_i dz[i][j], rows added in increasing i (the reference's order). */
void bias_gradient_avx2(const float *dz, int m, int n, int ld, float *bias_gradient) {
    for (int j = 0; j < n; j += 8) {
        __m256i mask = lanes_mask_avx2(n - j);
        __m256 sum = _mm256_setzero_ps();
        for (int i = 0; i < m; i++)
            sum = _mm256_add_ps(sum, _mm256_maskload_ps(dz + (size_t)i * ld + j, mask));
        _mm256_maskstore_ps(bias_gradient + j, mask, sum);
    }
}

/* y = f(x) for one activation; x and y may alias. */
static void activation_forward_loop_avx2(mlp_activation activation, const float *x, float *y,
                                         size_t count) {
    for (size_t i = 0; i < count; i += 8) {
        __m256i mask = tail_mask_avx2(count, i);
        __m256 value = activation_forward_avx2(activation, _mm256_maskload_ps(x + i, mask));
        _mm256_maskstore_ps(y + i, mask, value);
    }
}

/* dx = dy ⊙ f'(from y); dx may alias dy. */
static void activation_backward_loop_avx2(mlp_activation activation, const float *y,
                                          const float *dy, float *dx, size_t count) {
    for (size_t i = 0; i < count; i += 8) {
        __m256i mask = tail_mask_avx2(count, i);
        __m256 value = activation_backward_avx2(activation, _mm256_maskload_ps(y + i, mask),
                                                _mm256_maskload_ps(dy + i, mask));
        _mm256_maskstore_ps(dx + i, mask, value);
    }
}

void relu_forward_avx2(const float *x, float *y, size_t count) {
    activation_forward_loop_avx2(MLP_ACTIVATION_RELU, x, y, count);
}

void sigmoid_forward_avx2(const float *x, float *y, size_t count) {
    activation_forward_loop_avx2(MLP_ACTIVATION_SIGMOID, x, y, count);
}

void tanh_forward_avx2(const float *x, float *y, size_t count) {
    activation_forward_loop_avx2(MLP_ACTIVATION_TANH, x, y, count);
}

void relu_backward_avx2(const float *y, const float *dy, float *dx, size_t count) {
    activation_backward_loop_avx2(MLP_ACTIVATION_RELU, y, dy, dx, count);
}

void sigmoid_backward_avx2(const float *y, const float *dy, float *dx, size_t count) {
    activation_backward_loop_avx2(MLP_ACTIVATION_SIGMOID, y, dy, dx, count);
}

void tanh_backward_avx2(const float *y, const float *dy, float *dx, size_t count) {
    activation_backward_loop_avx2(MLP_ACTIVATION_TANH, y, dy, dx, count);
}

/* params -= learning_rate * gradients (multiply, then subtract: the reference's rounding). */
void sgd_update_avx2(float *params, const float *gradients, size_t count, float learning_rate) {
    __m256 rate = _mm256_set1_ps(learning_rate);
    for (size_t i = 0; i < count; i += 8) {
        __m256i mask = tail_mask_avx2(count, i);
        __m256 step = _mm256_mul_ps(rate, _mm256_maskload_ps(gradients + i, mask));
        _mm256_maskstore_ps(params + i, mask,
                            _mm256_sub_ps(_mm256_maskload_ps(params + i, mask), step));
    }
}
