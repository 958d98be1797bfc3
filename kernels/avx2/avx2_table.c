/* The AVX2+FMA variant: 8 floats per register. */
#include "avx2/avx2_kernels.h"
#include "gemm_driver.h"

const mlp_kernel_table kernel_table_avx2 = {
    .name = "avx2",
    .gemm_workspace_floats = GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_AVX2_KC, GEMM_AVX2_MC, GEMM_AVX2_NC,
                                                          GEMM_AVX2_MAX_VECTORS * GEMM_AVX2_W),
    .gemm = gemm_avx2,
    .bias_add = bias_add_avx2,
    .bias_gradient = bias_gradient_avx2,
    .relu_forward = relu_forward_avx2,
    .sigmoid_forward = sigmoid_forward_avx2,
    .tanh_forward = tanh_forward_avx2,
    .relu_backward = relu_backward_avx2,
    .sigmoid_backward = sigmoid_backward_avx2,
    .tanh_backward = tanh_backward_avx2,
    .softmax_cross_entropy = softmax_cross_entropy_avx2,
    .sgd_update = sgd_update_avx2,
    .optimizer_update = optimizer_update_avx2,
    .bias_gradient_update = bias_gradient_update_avx2,
    .scale_bytes = scale_bytes_avx2,
    .gemm_driver = &gemm_avx2_driver,
    .fma_peak = fma_peak_avx2_run,
    .fma_peak_loop = fma_peak_avx2_loop,
};
