/* NEON elementwise kernels: bias, activations forward and backward, SGD update.
 * 4 floats per step; the tail goes through the same vector code on a partial load and store
 * (no scalar tail), so every element gets the same arithmetic wherever it sits. Bias, ReLU, the
 * backward products and SGD round exactly as the scalar reference (no fused multiply-add). */
#include "neon/neon_kernels.h"
#include "neon/neon_math.h"

/* Floats left from index i, capped at one vector. */
static inline long lanes_left(size_t count, size_t i) {
    return count - i < 4 ? (long)(count - i) : 4;
}

void bias_add_neon(float *c, int m, int n, int ldc, const float *bias) {
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * ldc;
        for (int j = 0; j < n; j += 4) {
            long lanes = lanes_left((size_t)n, (size_t)j);
            float32x4_t sum = vaddq_f32(load_lanes_neon(row + j, lanes, 0.0f),
                                        load_lanes_neon(bias + j, lanes, 0.0f));
            store_lanes_neon(row + j, sum, lanes);
        }
    }
}

/* db[j] = sum_i dz[i][j], rows added in increasing i (4 columns per register). */
void bias_gradient_neon(const float *dz, int m, int n, int ld, float *bias_gradient) {
    for (int j = 0; j < n; j += 4) {
        long lanes = lanes_left((size_t)n, (size_t)j);
        float32x4_t sum = vdupq_n_f32(0.0f);
        for (int i = 0; i < m; i++)
            sum = vaddq_f32(sum, load_lanes_neon(dz + (size_t)i * ld + j, lanes, 0.0f));
        store_lanes_neon(bias_gradient + j, sum, lanes);
    }
}

/* bias[j] -= learning_rate * (sum_i dz[i][j]): bias_gradient_neon's sums and
 * sgd_update_neon's step in one pass (bitwise the two calls). */
void bias_gradient_update_neon(const float *dz, int m, int n, int ld, float *bias,
                               float learning_rate) {
    const float32x4_t rate = vdupq_n_f32(learning_rate);
    for (int j = 0; j < n; j += 4) {
        long lanes = lanes_left((size_t)n, (size_t)j);
        float32x4_t sum = vdupq_n_f32(0.0f);
        for (int i = 0; i < m; i++)
            sum = vaddq_f32(sum, load_lanes_neon(dz + (size_t)i * ld + j, lanes, 0.0f));
        float32x4_t step = vmulq_f32(rate, sum);
        store_lanes_neon(bias + j, vsubq_f32(load_lanes_neon(bias + j, lanes, 0.0f), step), lanes);
    }
}

/* 8 bytes at a time: widened to u32, converted exactly, one multiply; the tail scalar. */
void scale_bytes_neon(const uint8_t *x, float *y, size_t count, float scale) {
    const float32x4_t factor = vdupq_n_f32(scale);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        uint16x8_t halves = vmovl_u8(vld1_u8(x + i));
        vst1q_f32(y + i, vmulq_f32(vcvtq_f32_u32(vmovl_u16(vget_low_u16(halves))), factor));
        vst1q_f32(y + i + 4, vmulq_f32(vcvtq_f32_u32(vmovl_u16(vget_high_u16(halves))), factor));
    }
    scale_bytes_scalar(x + i, y + i, count - i, scale);
}

/* y = f(x) for one activation; x and y may alias. */
static inline void activation_forward_loop(mlp_activation activation, const float *x, float *y,
                                           size_t count) {
    for (size_t i = 0; i < count; i += 4) {
        long lanes = lanes_left(count, i);
        store_lanes_neon(y + i, activation_forward_neon(activation, load_lanes_neon(x + i, lanes, 0.0f)),
                         lanes);
    }
}

/* dx = dy ⊙ f'(from y); dx may alias dy. */
static inline void activation_backward_loop(mlp_activation activation, const float *y,
                                            const float *dy, float *dx, size_t count) {
    for (size_t i = 0; i < count; i += 4) {
        long lanes = lanes_left(count, i);
        float32x4_t product = activation_backward_neon(
            activation, load_lanes_neon(y + i, lanes, 0.0f), load_lanes_neon(dy + i, lanes, 0.0f));
        store_lanes_neon(dx + i, product, lanes);
    }
}

void relu_forward_neon(const float *x, float *y, size_t count) {
    activation_forward_loop(MLP_ACTIVATION_RELU, x, y, count);
}

void sigmoid_forward_neon(const float *x, float *y, size_t count) {
    activation_forward_loop(MLP_ACTIVATION_SIGMOID, x, y, count);
}

void tanh_forward_neon(const float *x, float *y, size_t count) {
    activation_forward_loop(MLP_ACTIVATION_TANH, x, y, count);
}

void relu_backward_neon(const float *y, const float *dy, float *dx, size_t count) {
    activation_backward_loop(MLP_ACTIVATION_RELU, y, dy, dx, count);
}

void sigmoid_backward_neon(const float *y, const float *dy, float *dx, size_t count) {
    activation_backward_loop(MLP_ACTIVATION_SIGMOID, y, dy, dx, count);
}

void tanh_backward_neon(const float *y, const float *dy, float *dx, size_t count) {
    activation_backward_loop(MLP_ACTIVATION_TANH, y, dy, dx, count);
}

/* params -= learning_rate · gradients, product rounded then difference rounded (no FMA). */
void sgd_update_neon(float *params, const float *gradients, size_t count, float learning_rate) {
    float32x4_t rate = vdupq_n_f32(learning_rate);
    for (size_t i = 0; i < count; i += 4) {
        long lanes = lanes_left(count, i);
        float32x4_t step = vmulq_f32(rate, load_lanes_neon(gradients + i, lanes, 0.0f));
        store_lanes_neon(params + i, vsubq_f32(load_lanes_neon(params + i, lanes, 0.0f), step),
                         lanes);
    }
}
