/* The AVX-512 variant (F+BW+VL+DQ, FMA): 16 floats per register. */
#include "avx512/avx512_kernels.h"
#include "gemm_driver.h"

const mlp_kernel_table kernel_table_avx512 = {
    .name = "avx512",
    AVX512_FP32_TABLE_ENTRIES
    .fma_peak = fma_peak_avx512_run,
    .fma_peak_loop = fma_peak_avx512_loop,
};
