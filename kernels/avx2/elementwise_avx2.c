/* AVX2 elementwise kernels: bias, activations forward and backward, SGD update.
 * 8 floats per step; the tail is the same vector code on a partial vector (a masked load, and
 * plain 4 + 2 + 1 stores: load_lanes_avx2 / store_lanes_avx2; no scalar tail), so every
 * element goes through the same arithmetic. Bias, ReLU, the backward
 * formulas and SGD use the reference's exact operations and match it bitwise. */
#include "avx2/avx2_kernels.h"
#include "avx2/avx2_math.h"

/* Lanes left from i in a count-long array (8 or fewer matter). */
static inline long lanes_left_avx2(size_t count, size_t i) {
    return (long)(count - i < 8 ? count - i : 8);
}

/* c[i][j] += bias[j] */
void bias_add_avx2(float *c, int m, int n, int ldc, const float *bias) {
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * ldc;
        for (int j = 0; j < n; j += 8) {
            __m256 sum =
                _mm256_add_ps(load_lanes_avx2(row + j, n - j), load_lanes_avx2(bias + j, n - j));
            store_lanes_avx2(row + j, sum, n - j);
        }
    }
}

/* db[j] = sum_i dz[i][j], rows added in increasing i (the reference's order). */
void bias_gradient_avx2(const float *dz, int m, int n, int ld, float *bias_gradient) {
    for (int j = 0; j < n; j += 8) {
        __m256 sum = _mm256_setzero_ps();
        for (int i = 0; i < m; i++)
            sum = _mm256_add_ps(sum, load_lanes_avx2(dz + (size_t)i * ld + j, n - j));
        store_lanes_avx2(bias_gradient + j, sum, n - j);
    }
}

/* bias[j] -= learning_rate * (sum_i dz[i][j]): bias_gradient_avx2's sums and
 * sgd_update_avx2's step in one pass (bitwise the two calls). */
void bias_gradient_update_avx2(const float *dz, int m, int n, int ld, float *bias,
                               float learning_rate) {
    const __m256 rate = _mm256_set1_ps(learning_rate);
    for (int j = 0; j < n; j += 8) {
        __m256 sum = _mm256_setzero_ps();
        for (int i = 0; i < m; i++)
            sum = _mm256_add_ps(sum, load_lanes_avx2(dz + (size_t)i * ld + j, n - j));
        __m256 step = _mm256_mul_ps(rate, sum);
        store_lanes_avx2(bias + j, _mm256_sub_ps(load_lanes_avx2(bias + j, n - j), step), n - j);
    }
}

/* 8 bytes at a time: widened to int32, converted exactly, one multiply; the tail scalar. */
void scale_bytes_avx2(const uint8_t *x, float *y, size_t count, float scale) {
    const __m256 factor = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i bytes = _mm_loadl_epi64((const __m128i *)(x + i));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)),
                                              factor));
    }
    scale_bytes_scalar(x + i, y + i, count - i, scale);
}

/* y = f(x) for one activation; x and y may alias. */
static void activation_forward_loop_avx2(mlp_activation activation, const float *x, float *y,
                                         size_t count) {
    for (size_t i = 0; i < count; i += 8) {
        long left = lanes_left_avx2(count, i);
        __m256 value = activation_forward_avx2(activation, load_lanes_avx2(x + i, left));
        store_lanes_avx2(y + i, value, left);
    }
}

/* dx = dy ⊙ f'(from y); dx may alias dy. */
static void activation_backward_loop_avx2(mlp_activation activation, const float *y,
                                          const float *dy, float *dx, size_t count) {
    for (size_t i = 0; i < count; i += 8) {
        long left = lanes_left_avx2(count, i);
        __m256 value = activation_backward_avx2(activation, load_lanes_avx2(y + i, left),
                                                load_lanes_avx2(dy + i, left));
        store_lanes_avx2(dx + i, value, left);
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
        long left = lanes_left_avx2(count, i);
        __m256 step = _mm256_mul_ps(rate, load_lanes_avx2(gradients + i, left));
        store_lanes_avx2(params + i, _mm256_sub_ps(load_lanes_avx2(params + i, left), step), left);
    }
}
