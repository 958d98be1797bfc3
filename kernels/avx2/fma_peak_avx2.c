/* AVX2 peak: 12 independent chains of ymm fused multiply-adds (8 floats, 2 flops per lane).
 * Built with -mavx2 -mfma; the table's fma_peak, run only where the variant runs. */
#include "kernels_internal.h"

#include <immintrin.h>

#define AVX2_CHAINS 12

static volatile float fma_peak_avx2_sink;

const char fma_peak_avx2_loop[] = "ymm_fma_12chains";

double fma_peak_avx2_run(long rounds) {
    const __m256 multiplier = _mm256_set1_ps(mlp_fma_peak_multiplier),
                 addend = _mm256_set1_ps(mlp_fma_peak_addend);
    __m256 x[AVX2_CHAINS];
    for (int c = 0; c < AVX2_CHAINS; c++) x[c] = _mm256_set1_ps(1.0f + (float)c * 1e-3f);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 12
        for (int c = 0; c < AVX2_CHAINS; c++) x[c] = _mm256_fmadd_ps(x[c], multiplier, addend);
    }
    __m256 sum = x[0];
    for (int c = 1; c < AVX2_CHAINS; c++) sum = _mm256_add_ps(sum, x[c]);
    fma_peak_avx2_sink = _mm256_cvtss_f32(sum);
    return 2.0 * 8 * AVX2_CHAINS * (double)rounds;
}
