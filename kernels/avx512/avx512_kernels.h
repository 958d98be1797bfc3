/* The AVX-512 (F+BW+VL+DQ) kernel variant: declarations shared by its files and its table. */
#ifndef MLP_AVX512_KERNELS_H
#define MLP_AVX512_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels_internal.h"

/* GEMM blocking (floats): k slices of at most KC (K split evenly: 784 = 2 × 392), MC-row
 * packed A blocks, NC-column packed B blocks. The slicing never changes the bits (partial sums
 * round-trip through C exactly). KC = 512 keeps every MLP GEMM in one or two slices (each
 * extra slice re-loads and re-stores C): measured best of 128-1024 here, for both variants,
 * although a KC × NR B panel then streams from L2 rather than sitting in the 32 KiB L1. MC ×
 * KC (512 KiB) fits the 1 MiB L2; the KC × NC B block (2 MiB) is the only big buffer. Plain B
 * is read in place (no packing) below PACK_B_MIN_ROWS rows of C unless its rows alias (a 4 KiB
 * stride, gemm_rows_alias): packing is a pass over memory the tiles cannot overlap, and the
 * 8 × 48 tile reads B's rows in place as fast or faster at every size measured (M up to 1024;
 * forward 784 -> 600 at batch 256: 100 GFLOP/s packed, 112 in place). */
#define GEMM_AVX512_KC 512
#define GEMM_AVX512_MC 256
#define GEMM_AVX512_NC 1024
#define GEMM_AVX512_PACK_B_MIN_ROWS 2048
/* Register tile: MR rows × up to MAX_VECTORS vectors of W floats. */
#define GEMM_AVX512_MR 8
#define GEMM_AVX512_W 16
#define GEMM_AVX512_MAX_VECTORS 3
/* The GEMM driver (blocking, micro-kernels by name, run_plan), for the table. */
struct gemm_driver;
extern const struct gemm_driver gemm_avx512_driver;

void gemm_avx512(const mlp_gemm_problem *problem);
void bias_add_avx512(float *c, int m, int n, int ldc, const float *bias);
void bias_gradient_avx512(const float *dz, int m, int n, int ld, float *bias_gradient);
void bias_gradient_update_avx512(const float *dz, int m, int n, int ld, float *bias,
                                 float learning_rate);
void scale_bytes_avx512(const uint8_t *x, float *y, size_t count, float scale);
void relu_forward_avx512(const float *x, float *y, size_t count);
void sigmoid_forward_avx512(const float *x, float *y, size_t count);
void tanh_forward_avx512(const float *x, float *y, size_t count);
void relu_backward_avx512(const float *y, const float *dy, float *dx, size_t count);
void sigmoid_backward_avx512(const float *y, const float *dy, float *dx, size_t count);
void tanh_backward_avx512(const float *y, const float *dy, float *dx, size_t count);
void softmax_cross_entropy_avx512(int rows, int classes, const float *logits, int ld_logits,
                                  const uint8_t *labels, float *probabilities,
                                  int ld_probabilities, float *row_loss, float *logit_gradient,
                                  int ld_gradient, float gradient_scale);
void sgd_update_avx512(float *params, const float *gradients, size_t count, float learning_rate);
void optimizer_update_avx512(const mlp_optimizer_step *step, float *params, const float *gradients,
                          float *moment1, float *moment2, size_t count);

/* The AVX-512 FP32 entries of a kernel table (everything but name, gemm_bf16 and the
 * peak loops), shared by kernel_table_avx512 and kernel_table_avx512_bf16: the BF16 variant runs
 * exactly avx512's FP32 functions. */
#define AVX512_FP32_TABLE_ENTRIES \
    .gemm_workspace_floats = GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_AVX512_KC, GEMM_AVX512_MC, GEMM_AVX512_NC, \
                                                          GEMM_AVX512_MAX_VECTORS * GEMM_AVX512_W), \
    .gemm = gemm_avx512, \
    .bias_add = bias_add_avx512, \
    .bias_gradient = bias_gradient_avx512, \
    .relu_forward = relu_forward_avx512, \
    .sigmoid_forward = sigmoid_forward_avx512, \
    .tanh_forward = tanh_forward_avx512, \
    .relu_backward = relu_backward_avx512, \
    .sigmoid_backward = sigmoid_backward_avx512, \
    .tanh_backward = tanh_backward_avx512, \
    .softmax_cross_entropy = softmax_cross_entropy_avx512, \
    .sgd_update = sgd_update_avx512, \
    .optimizer_update = optimizer_update_avx512, \
    .bias_gradient_update = bias_gradient_update_avx512, \
    .scale_bytes = scale_bytes_avx512, \
    .gemm_driver = &gemm_avx512_driver,

#endif
