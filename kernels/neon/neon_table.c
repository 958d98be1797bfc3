/* The NEON variant (AArch64 Advanced SIMD): 4 floats per register. */
#include "neon/neon_kernels.h"
#include "gemm_driver.h"

const mlp_kernel_table kernel_table_neon = {
    .name = "neon",
    .gemm_workspace_floats = GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_NEON_KC, GEMM_NEON_MC, GEMM_NEON_NC,
                                                          GEMM_NEON_MAX_VECTORS * GEMM_NEON_W),
    .gemm = gemm_neon,
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
    .fma_peak = fma_peak_neon_run,
    .fma_peak_loop = fma_peak_neon_loop,
};
