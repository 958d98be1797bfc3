/* The AVX-512 BF16 variant: avx512's table (the same functions, so the same bits in FP32) plus
 * gemm_bf16 on VDPBF16PS. It sits before avx512 in kernels/variants.def, so `auto` keeps
 * choosing avx512 for FP32 and mlp_kernels_best_for(MLP_PRECISION_BF16) finds this one. */
#include "avx512_bf16/avx512_bf16_kernels.h"
#include "gemm_driver.h"

/* the BF16 driver's blocking must fit in the workspace the table advertises (avx512's) */
_Static_assert(GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_AVX512_BF16_KC, GEMM_AVX512_BF16_MC,
                                            GEMM_AVX512_BF16_NC,
                                            GEMM_AVX512_MAX_VECTORS * GEMM_AVX512_W) <=
                   GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_AVX512_KC, GEMM_AVX512_MC, GEMM_AVX512_NC,
                                                GEMM_AVX512_MAX_VECTORS * GEMM_AVX512_W),
               "the BF16 blocking needs more workspace than gemm_workspace_floats");

const mlp_kernel_table kernel_table_avx512_bf16 = {
    .name = "avx512_bf16",
    .gemm_workspace_floats = GEMM_DRIVER_WORKSPACE_FLOATS(GEMM_AVX512_KC, GEMM_AVX512_MC, GEMM_AVX512_NC,
                                                          GEMM_AVX512_MAX_VECTORS * GEMM_AVX512_W),
    .gemm = gemm_avx512,
    .gemm_bf16 = gemm_avx512_bf16,
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
    .fma_peak = fma_peak_avx512_bf16_run,
    .fma_peak_loop = fma_peak_avx512_bf16_loop,
};
