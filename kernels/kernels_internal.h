/* Declarations shared by the kernel variants and the dispatch table; not a public header. */
#ifndef MLP_KERNELS_INTERNAL_H
#define MLP_KERNELS_INTERNAL_H

#include "mlp/kernels.h"

/* One table per instruction set, defined in kernels/<isa>/<isa>_table.c. */
extern const kernel_table kernel_table_scalar;
#ifdef MLP_HAVE_AVX2
extern const kernel_table kernel_table_avx2;
#endif
#ifdef MLP_HAVE_AVX512
extern const kernel_table kernel_table_avx512;
#endif
#ifdef MLP_HAVE_NEON
extern const kernel_table kernel_table_neon;
#endif

/* Scalar reference kernels (kernels/scalar/). The SIMD variants may call the cheap ones
 * (bias_gradient tails and the like) where that keeps their results identical. */
void gemm_scalar(const gemm_problem *problem);
void bias_add_scalar(float *c, int m, int n, int ldc, const float *bias);
void bias_gradient_scalar(const float *dz, int m, int n, int ld, float *bias_gradient);
void relu_forward_scalar(const float *x, float *y, size_t count);
void sigmoid_forward_scalar(const float *x, float *y, size_t count);
void tanh_forward_scalar(const float *x, float *y, size_t count);
void relu_backward_scalar(const float *y, const float *dy, float *dx, size_t count);
void sigmoid_backward_scalar(const float *y, const float *dy, float *dx, size_t count);
void tanh_backward_scalar(const float *y, const float *dy, float *dx, size_t count);
void softmax_cross_entropy_scalar(int rows, int classes, const float *logits, int ld_logits,
                                  const uint8_t *labels, float *probabilities,
                                  int ld_probabilities, float *row_loss, float *logit_gradient,
                                  int ld_gradient, float gradient_scale);
void sgd_update_scalar(float *params, const float *gradients, size_t count, float learning_rate);

#endif
