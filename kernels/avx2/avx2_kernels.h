/* The AVX2+FMA kernel variant: declarations shared by its files and its table. */
#ifndef MLP_AVX2_KERNELS_H
#define MLP_AVX2_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels_internal.h"

/* GEMM blocking (floats): k slices of at most KC (K split evenly: 784 = 2 × 392), MC-row
 * packed A blocks, NC-column packed B blocks. The slicing never changes the bits (partial sums
 * round-trip through C exactly). KC = 512 keeps every MLP GEMM in one or two slices (each
 * extra slice re-loads and re-stores C): measured best of 128-1024 here, for both variants,
 * although a KC × NR B panel then streams from L2 rather than sitting in the 32 KiB L1.
 * MC × KC (512 KiB) fits the 1 MiB L2; the KC × NC B block (2 MiB) is the only big buffer.
 * Plain B is read in place (no packing) below PACK_B_MIN_ROWS rows of C unless its rows alias
 * (a 4 KiB stride, gemm_rows_alias): packing B is a pass over memory that the tiles cannot
 * overlap, and below 512 rows the tiles read B's rows in place as fast or faster. Against the
 * earlier threshold of 64: forward 784 -> 128 at batch 64 86 GFLOP/s packed, 111 in place;
 * 784 -> 600 at batch 256 104 and 107; the 512 square gains from packing. */
#define GEMM_AVX2_KC 512
#define GEMM_AVX2_MC 256
#define GEMM_AVX2_NC 1024
#define GEMM_AVX2_PACK_B_MIN_ROWS 512
/* Transposed float A (the weight gradient's Xᵀ) is packed when N >= 512: the weight gradients
 * of 784 -> 600 and 1024 -> 1024 at batch 256 gain 4-7%; at N = 64 or 128 the copy costs
 * more (128 -> 64: 105 against 88 GFLOP/s in place). The AVX-512 tile gains nothing. */
#define GEMM_AVX2_PACK_TRANSPOSED_A_MIN_COLUMNS 512
/* Register tile: MR rows × up to MAX_VECTORS vectors of W floats. */
#define GEMM_AVX2_MR 4
#define GEMM_AVX2_W 8
#define GEMM_AVX2_MAX_VECTORS 3
/* The GEMM driver (blocking, micro-kernels by name, run_plan), for the table. */
struct gemm_driver;
extern const struct gemm_driver gemm_avx2_driver;

void gemm_avx2(const mlp_gemm_problem *problem);
void bias_add_avx2(float *c, int m, int n, int ldc, const float *bias);
void bias_gradient_avx2(const float *dz, int m, int n, int ld, float *bias_gradient);
void bias_gradient_update_avx2(const float *dz, int m, int n, int ld, float *bias,
                               float learning_rate);
void scale_bytes_avx2(const uint8_t *x, float *y, size_t count, float scale);
void relu_forward_avx2(const float *x, float *y, size_t count);
void sigmoid_forward_avx2(const float *x, float *y, size_t count);
void tanh_forward_avx2(const float *x, float *y, size_t count);
void relu_backward_avx2(const float *y, const float *dy, float *dx, size_t count);
void sigmoid_backward_avx2(const float *y, const float *dy, float *dx, size_t count);
void tanh_backward_avx2(const float *y, const float *dy, float *dx, size_t count);
void softmax_cross_entropy_avx2(int rows, int classes, const float *logits, int ld_logits,
                                  const uint8_t *labels, float *probabilities,
                                  int ld_probabilities, float *row_loss, float *logit_gradient,
                                  int ld_gradient, float gradient_scale);
void sgd_update_avx2(float *params, const float *gradients, size_t count, float learning_rate);
void optimizer_update_avx2(const mlp_optimizer_step *step, float *params, const float *gradients,
                          float *moment1, float *moment2, size_t count);

#endif
