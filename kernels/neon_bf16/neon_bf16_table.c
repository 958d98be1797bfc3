/* The NEON BF16 variant: neon's table (the same functions, so the same bits in FP32) plus
 * gemm_bf16 on BFDOT. It sits before neon in kernels/variants.def, so `auto` keeps choosing
 * neon for FP32 and mlp_kernels_best_for(MLP_PRECISION_BF16) finds this one. */
#include "gemm_driver.h"
#include "neon_bf16/neon_bf16_kernels.h"

/* the BF16 driver's blocking must fit in the workspace the table advertises (neon's) */
_Static_assert(GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_NEON_BF16_KC, GEMM_NEON_BF16_MC,
                                            GEMM_NEON_BF16_NC,
                                            GEMM_NEON_MAX_VECTORS * GEMM_NEON_W) <=
                   GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_NEON_KC, GEMM_NEON_MC, GEMM_NEON_NC,
                                                GEMM_NEON_MAX_VECTORS * GEMM_NEON_W),
               "the BF16 blocking needs more workspace than gemm_workspace_floats");

const mlp_kernel_table kernel_table_neon_bf16 = {
    .name = "neon_bf16",
    .gemm_workspace_floats = GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_NEON_KC, GEMM_NEON_MC, GEMM_NEON_NC,
                                                          GEMM_NEON_MAX_VECTORS * GEMM_NEON_W),
    .gemm = gemm_neon,
    .gemm_bf16 = gemm_neon_bf16,
    .bf16_dot = MLP_BF16_DOT_BFDOT,
    .bias_add = bias_add_neon,
    .bias_gradient = bias_gradient_neon,
    .relu_forward = relu_forward_neon,
    .sigmoid_forward = sigmoid_forward_neon,
    .tanh_forward = tanh_forward_neon,
    .relu_backward = relu_backward_neon,
    .sigmoid_backward = sigmoid_backward_neon,
    .tanh_backward = tanh_backward_neon,
    .softmax_cross_entropy = softmax_cross_entropy_neon,
    .sgd_update = sgd_update_neon,
    .optimizer_update = optimizer_update_neon,
    .bias_gradient_update = bias_gradient_update_neon,
    .scale_bytes = scale_bytes_neon,
    .gemm_driver = &gemm_neon_driver,
    .fma_peak = fma_peak_neon_bf16_run,
    .fma_peak_loop = fma_peak_neon_bf16_loop,
};
