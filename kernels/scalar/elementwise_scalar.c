/* Reference elementwise kernels: bias, activations forward and backward, SGD update. */
#include <math.h>

#include "kernels_internal.h"

void bias_add_scalar(float *c, int m, int n, int ldc, const float *bias) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] += bias[j];
}

/* db[j] = sum_i dz[i][j], rows added in increasing i. */
void bias_gradient_scalar(const float *dz, int m, int n, int ld, float *bias_gradient) {
    for (int j = 0; j < n; j++) bias_gradient[j] = 0.0f;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) bias_gradient[j] += dz[(size_t)i * ld + j];
}

/* b[j] -= learning_rate * (sum_i dz[i][j]): bias_gradient_scalar's sums, sgd_update_scalar's
 * step, in one pass. */
void bias_gradient_update_scalar(const float *dz, int m, int n, int ld, float *bias,
                                 float learning_rate) {
    for (int j = 0; j < n; j++) {
        float sum = 0.0f;
        for (int i = 0; i < m; i++) sum += dz[(size_t)i * ld + j];
        bias[j] -= learning_rate * sum;
    }
}

void scale_bytes_scalar(const uint8_t *x, float *y, size_t count, float scale) {
    for (size_t i = 0; i < count; i++) y[i] = (float)x[i] * scale;
}

void relu_forward_scalar(const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* sigmoid(x) = 1 / (1 + e^-x); saturates cleanly to 0 and 1 for large |x|. */
void sigmoid_forward_scalar(const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void tanh_forward_scalar(const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = tanhf(x[i]);
}

/* relu'(z) = 1 where the output was positive, else 0. */
void relu_backward_scalar(const float *y, const float *dy, float *dx, size_t count) {
    for (size_t i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* sigmoid'(z) = y (1 - y). */
void sigmoid_backward_scalar(const float *y, const float *dy, float *dx, size_t count) {
    for (size_t i = 0; i < count; i++) dx[i] = dy[i] * (y[i] * (1.0f - y[i]));
}

/* tanh'(z) = 1 - y^2. */
void tanh_backward_scalar(const float *y, const float *dy, float *dx, size_t count) {
    for (size_t i = 0; i < count; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void sgd_update_scalar(float *params, const float *gradients, size_t count, float learning_rate) {
    for (size_t i = 0; i < count; i++) params[i] -= learning_rate * gradients[i];
}
