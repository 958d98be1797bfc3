/* The NEON (AArch64 Advanced SIMD) kernel variant: declarations shared by its files and its
 * table. Advanced SIMD is part of the AArch64 baseline, so these files need no extra flags. */
#ifndef MLP_NEON_KERNELS_H
#define MLP_NEON_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels_internal.h"

/* GEMM blocking (floats): KC deep slices, MC-row A blocks, NC-column B blocks (KC × NC of B is
 * 384 KiB, for a 512 KiB - 1 MiB L2). KC is a constant: the k order never depends on M or N. */
#define GEMM_NEON_KC 256
#define GEMM_NEON_MC 128
#define GEMM_NEON_NC 384
#define GEMM_NEON_PACK_B_MIN_ROWS 64
/* Register tile: MR rows × up to MAX_VECTORS vectors of W floats (8 × 12: 24 accumulators,
 * 2 registers of A, 3 of B, 29 of the 32 vector registers). */
#define GEMM_NEON_MR 8
#define GEMM_NEON_W 4
#define GEMM_NEON_MAX_VECTORS 3
/* The GEMM driver (blocking, micro-kernels by name, run_plan), for the table. */
struct gemm_driver;
extern const struct gemm_driver gemm_neon_driver;

void gemm_neon(const mlp_gemm_problem *problem);
void bias_add_neon(float *c, int m, int n, int ldc, const float *bias);
void bias_gradient_neon(const float *dz, int m, int n, int ld, float *bias_gradient);
void bias_gradient_update_neon(const float *dz, int m, int n, int ld, float *bias,
                               float learning_rate);
void scale_bytes_neon(const uint8_t *x, float *y, size_t count, float scale);
void relu_forward_neon(const float *x, float *y, size_t count);
void sigmoid_forward_neon(const float *x, float *y, size_t count);
void tanh_forward_neon(const float *x, float *y, size_t count);
void relu_backward_neon(const float *y, const float *dy, float *dx, size_t count);
void sigmoid_backward_neon(const float *y, const float *dy, float *dx, size_t count);
void tanh_backward_neon(const float *y, const float *dy, float *dx, size_t count);
void softmax_cross_entropy_neon(int rows, int classes, const float *logits, int ld_logits,
                                const uint8_t *labels, float *probabilities,
                                int ld_probabilities, float *row_loss, float *logit_gradient,
                                int ld_gradient, float gradient_scale);
void sgd_update_neon(float *params, const float *gradients, size_t count, float learning_rate);
void optimizer_update_neon(const mlp_optimizer_step *step, float *params, const float *gradients,
                          float *moment1, float *moment2, size_t count);

/* The NEON FP32 entries of a kernel table (everything but name, gemm_bf16 and the
 * peak loops), shared by kernel_table_neon and kernel_table_neon_bf16: the BF16 variant runs
 * exactly neon's FP32 functions. */
#define NEON_FP32_TABLE_ENTRIES \
    .gemm_workspace_floats = GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_NEON_KC, GEMM_NEON_MC, GEMM_NEON_NC, \
                                                          GEMM_NEON_MAX_VECTORS * GEMM_NEON_W), \
    .gemm = gemm_neon, \
    .bias_add = bias_add_neon, \
    .bias_gradient = bias_gradient_neon, \
    .relu_forward = relu_forward_neon, \
    .sigmoid_forward = sigmoid_forward_neon, \
    .tanh_forward = tanh_forward_neon, \
    .relu_backward = relu_backward_neon, \
    .sigmoid_backward = sigmoid_backward_neon, \
    .tanh_backward = tanh_backward_neon, \
    .softmax_cross_entropy = softmax_cross_entropy_neon, \
    .sgd_update = sgd_update_neon, \
    .optimizer_update = optimizer_update_neon, \
    .bias_gradient_update = bias_gradient_update_neon, \
    .scale_bytes = scale_bytes_neon, \
    .gemm_driver = &gemm_neon_driver,

#endif
