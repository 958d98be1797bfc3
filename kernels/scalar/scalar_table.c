/* The scalar reference variant: runs everywhere, defines the results the others must match. */
#include "kernels_internal.h"

const mlp_kernel_table kernel_table_scalar = {
    .name = "scalar",
    .gemm_workspace_floats = 0,
    .gemm = gemm_scalar,
    .gemm_bf16 = gemm_bf16_scalar, /* the reference; never chosen for training by "auto" */
    .bias_add = bias_add_scalar,
    .bias_gradient = bias_gradient_scalar,
    .relu_forward = relu_forward_scalar,
    .sigmoid_forward = sigmoid_forward_scalar,
    .tanh_forward = tanh_forward_scalar,
    .relu_backward = relu_backward_scalar,
    .sigmoid_backward = sigmoid_backward_scalar,
    .tanh_backward = tanh_backward_scalar,
    .softmax_cross_entropy = softmax_cross_entropy_scalar,
    .sgd_update = sgd_update_scalar,
    .optimizer_update = optimizer_update_scalar,
    .bias_gradient_update = bias_gradient_update_scalar,
    .scale_bytes = scale_bytes_scalar,
    .fma_peak = fma_peak_scalar_run,
    .fma_peak_loop = fma_peak_scalar_loop,
};
