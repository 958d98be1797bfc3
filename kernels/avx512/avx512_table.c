/* The AVX-512 variant (F+BW+VL+DQ, FMA): 16 floats per register. */
#include "avx512/avx512_kernels.h"
#include "gemm_driver.h"

const mlp_kernel_table kernel_table_avx512 = {
    .name = "avx512",
    .gemm_workspace_floats = GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_AVX512_KC, GEMM_AVX512_MC, GEMM_AVX512_NC,
                                                          GEMM_AVX512_MAX_VECTORS * GEMM_AVX512_W),
    .gemm = gemm_avx512,
    .bias_add = bias_add_avx512,
    .bias_gradient = bias_gradient_avx512,
    .relu_forward = relu_forward_avx512,
    .sigmoid_forward = sigmoid_forward_avx512,
    .tanh_forward = tanh_forward_avx512,
    .relu_backward = relu_backward_avx512,
    .sigmoid_backward = sigmoid_backward_avx512,
    .tanh_backward = tanh_backward_avx512,
    .softmax_cross_entropy = softmax_cross_entropy_avx512,
    .sgd_update = sgd_update_avx512,
    .optimizer_update = optimizer_update_avx512,
    .bias_gradient_update = bias_gradient_update_avx512,
    .scale_bytes = scale_bytes_avx512,
    .gemm_driver = &gemm_avx512_driver,
    .fma_peak = fma_peak_avx512_run,
    .fma_peak_loop = fma_peak_avx512_loop,
};
