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
    NEON_FP32_TABLE_ENTRIES
    .gemm_bf16 = gemm_neon_bf16,
    .bf16_dot = MLP_BF16_DOT_BFDOT,
    .fma_peak = fma_peak_neon_bf16_run,
    .fma_peak_loop = fma_peak_neon_bf16_loop,
};
