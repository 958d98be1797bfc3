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
    AVX512_FP32_TABLE_ENTRIES
    .gemm_bf16 = gemm_avx512_bf16,
    .fma_peak = fma_peak_avx512_bf16_run,
    .fma_peak_loop = fma_peak_avx512_bf16_loop,
};
