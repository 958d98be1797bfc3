/* AVX-512 peak: 12 independent chains of zmm fused multiply-adds (16 floats, 2 flops per lane).
 * Built with -mavx512f -mfma; the table's fma_peak, run only where the variant runs. On cores that split
 * a zmm operation into two 256-bit halves (Zen 4) this equals the AVX2 peak: measuring shows it. */
#include "kernels_internal.h"

#include <immintrin.h>

#define AVX512_CHAINS 12

static volatile float fma_peak_avx512_sink;

const char fma_peak_avx512_loop[] = "zmm_fma_12chains";

double fma_peak_avx512_run(long rounds) {
    const __m512 multiplier = _mm512_set1_ps(mlp_fma_peak_multiplier),
                 addend = _mm512_set1_ps(mlp_fma_peak_addend);
    __m512 x[AVX512_CHAINS];
    for (int c = 0; c < AVX512_CHAINS; c++) x[c] = _mm512_set1_ps(1.0f + (float)c * 1e-3f);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 12
        for (int c = 0; c < AVX512_CHAINS; c++) x[c] = _mm512_fmadd_ps(x[c], multiplier, addend);
    }
    __m512 sum = x[0];
    for (int c = 1; c < AVX512_CHAINS; c++) sum = _mm512_add_ps(sum, x[c]);
    fma_peak_avx512_sink = _mm512_reduce_add_ps(sum);
    return 2.0 * 16 * AVX512_CHAINS * (double)rounds;
}
