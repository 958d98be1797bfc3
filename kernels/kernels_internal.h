/* Declarations shared by the kernel variants and the dispatch table; not a public header. */
#ifndef MLP_KERNELS_INTERNAL_H
#define MLP_KERNELS_INTERNAL_H

#include "mlp/kernels.h"

/* MLP_KERNEL_IF_BUILT(arch, tokens...): the tokens where the variants of `arch` (a field of
 * kernels/variants.def: any, x86_64, aarch64) are built, nothing elsewhere. The same test as
 * kernels/CMakeLists.txt's choice of sources. */
#define MLP_KERNEL_ARCH_any 1
#if defined(__x86_64__)
#define MLP_KERNEL_ARCH_x86_64 1
#else
#define MLP_KERNEL_ARCH_x86_64 0
#endif
#if defined(__aarch64__)
#define MLP_KERNEL_ARCH_aarch64 1
#else
#define MLP_KERNEL_ARCH_aarch64 0
#endif
#define MLP_KERNEL_IF_0(...)
#define MLP_KERNEL_IF_1(...) __VA_ARGS__
#define MLP_KERNEL_IF_(flag, ...) MLP_KERNEL_IF_##flag(__VA_ARGS__)
#define MLP_KERNEL_IF(flag, ...) MLP_KERNEL_IF_(flag, __VA_ARGS__)
#define MLP_KERNEL_IF_BUILT(arch, ...) MLP_KERNEL_IF(MLP_KERNEL_ARCH_##arch, __VA_ARGS__)
/* MLP_KERNEL_BUILT_OR(arch, yes, no): yes where the variants of `arch` are built, else no. */
#define MLP_KERNEL_SELECT_0(yes, no) no
#define MLP_KERNEL_SELECT_1(yes, no) yes
#define MLP_KERNEL_SELECT_(flag, yes, no) MLP_KERNEL_SELECT_##flag(yes, no)
#define MLP_KERNEL_SELECT(flag, yes, no) MLP_KERNEL_SELECT_(flag, yes, no)
#define MLP_KERNEL_BUILT_OR(arch, yes, no) MLP_KERNEL_SELECT(MLP_KERNEL_ARCH_##arch, yes, no)

/* One table per variant, defined in kernels/<name>/<name>_table.c. */
#define MLP_KERNEL_VARIANT(name, arch, required, flags) extern const mlp_kernel_table kernel_table_##name;
#include "variants.def"

/* The FMA-peak loops, kernels/<name>/fma_peak_<name>.c (the table's fma_peak, fma_peak_loop).
 * x = x*multiplier + addend leaves every starting value near 1 unchanged in float arithmetic
 * (no drift, no denormals); they are volatile so no compiler can prove that and drop the loop. */
extern volatile float mlp_fma_peak_multiplier; /* 0.999999f (dispatch.c) */
extern volatile float mlp_fma_peak_addend;     /* 1e-6f                  */
#define MLP_KERNEL_VARIANT(name, arch, required, flags) \
    double fma_peak_##name##_run(long rounds);          \
    extern const char fma_peak_##name##_loop[];
#include "variants.def"

/* Scalar reference kernels (kernels/scalar/). The SIMD variants may call the cheap ones
 * (bias_gradient tails and the like) where that keeps their results identical. */
void gemm_scalar(const mlp_gemm_problem *problem);
void gemm_bf16_scalar(const mlp_gemm_problem *problem); /* the BF16 reference: VDPBF16PS */
void gemm_bf16_scalar_bfdot(const mlp_gemm_problem *problem); /* the BF16 reference: BFDOT */
/* One BFDOT step (Arm's BFDotAdd, FPCR.EBF = 0) on one lane: sum + (a0·b0 + a1·b1) rounded to
 * odd, flushed (gemm_scalar.c); the operands are BF16 values as floats. */
float bf16_bfdot_step_scalar(float sum, float a0, float b0, float a1, float b1);
void bias_add_scalar(float *c, int m, int n, int ldc, const float *bias);
void bias_gradient_scalar(const float *dz, int m, int n, int ld, float *bias_gradient);
void bias_gradient_update_scalar(const float *dz, int m, int n, int ld, float *bias,
                                 float learning_rate);
void scale_bytes_scalar(const uint8_t *x, float *y, size_t count, float scale);
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
void optimizer_update_scalar(const mlp_optimizer_step *step, float *params, const float *gradients,
                             float *moment1, float *moment2, size_t count);

#endif
