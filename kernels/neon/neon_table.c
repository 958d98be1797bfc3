/* The NEON variant (AArch64 Advanced SIMD): 4 floats per register. */
#include "neon/neon_kernels.h"
#include "gemm_driver.h"

const mlp_kernel_table kernel_table_neon = {
    .name = "neon",
    NEON_FP32_TABLE_ENTRIES
    .fma_peak = fma_peak_neon_run,
    .fma_peak_loop = fma_peak_neon_loop,
};
