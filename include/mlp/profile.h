/* `trainer --profile`: time per layer and per kernel of the training step.
 * Off by default: the network then makes no clock calls at all. On, the master thread reads the
 * clock around every layer step, and a barrier closes each timed step so that the time is that of
 * the slowest thread (the bias and weight gradients, which normally share a phase, get one each). */
#ifndef MLP_PROFILE_H
#define MLP_PROFILE_H

#include <stdio.h>

#include "mlp/kernels.h"
#include "mlp/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mlp_profile_kernel {
    MLP_PROFILE_FORWARD_GEMM,    /* Z = A·W + b, act(Z) fused                     */
    MLP_PROFILE_WEIGHT_GRADIENT, /* dW = Aᵀ·dZ                                     */
    MLP_PROFILE_BIAS_GRADIENT,   /* db = Σ dZ                                      */
    MLP_PROFILE_INPUT_GRADIENT,  /* dA = dZ·Wᵀ ⊙ act'                              */
    MLP_PROFILE_SOFTMAX,         /* softmax + cross-entropy (output layer)         */
    MLP_PROFILE_UPDATE,          /* SGD over all parameters (reported on layer 0)  */
    MLP_PROFILE_WEIGHT_GRADIENT_UPDATE, /* W -= lr·Aᵀ·dZ in one GEMM (owner computes); GFLOP/s
                                       count the GEMM's 2·in·out·batch only     */
    MLP_PROFILE_BIAS_GRADIENT_UPDATE,   /* b -= lr·Σ dZ in one pass                 */
    MLP_PROFILE_GATHER,          /* the trainer's copy of the batch's rows, outside the step
                                (reported on layer 0)                         */
    MLP_PROFILE_KERNEL_COUNT
} mlp_profile_kernel;

typedef struct mlp_profile_entry {
    long calls;
    double seconds;
    double flops;
} mlp_profile_entry;

typedef struct mlp_network_profile {
    mlp_profile_entry entries[MLP_MAX_LAYERS][MLP_PROFILE_KERNEL_COUNT];
    /* The GEMMs' precision: in BF16 the GEMM rows are named after table->gemm_bf16
     * ("forward_gemm_bf16", "weight_gradient_bf16+sgd", ...). */
    mlp_precision precision;
} mlp_network_profile;

const char *mlp_profile_kernel_name(mlp_profile_kernel kernel);
/* The row's name at a precision: the kernel's name, its GEMM marked "_bf16" in BF16. */
const char *mlp_profile_kernel_name_at(mlp_profile_kernel kernel, mlp_precision precision);

/* The table: one row per layer and kernel with calls, total seconds, share of all profiled time,
 * GFLOP/s and the variant. */
void mlp_profile_print(const mlp_network_profile *profile, const mlp_model *model, const char *variant,
                   FILE *out);
/* The same rows as a JSON array (no trailing newline), for summary.json. */
void mlp_profile_write_json(const mlp_network_profile *profile, const mlp_model *model,
                        const char *variant, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
