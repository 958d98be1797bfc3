/* AVX512_BF16 peak: 12 independent chains of zmm VDPBF16PS (16 float lanes, each 2 BF16
 * multiply-adds per instruction: 4 flops per lane). Built with the avx512_bf16 variant's flags;
 * the table's fma_peak, run only where the variant runs. bench's BF16 GEMM rows (gemm_bf16/...) divide
 * by this peak. x += 2·(1e-6·1) per step keeps every chain near 1: no overflow, no denormals. */
#include "kernels_internal.h"

#include <immintrin.h>

#define AVX512_BF16_CHAINS 12

static volatile float fma_peak_avx512_bf16_sink;

const char fma_peak_avx512_bf16_loop[] = "zmm_vdpbf16ps_12chains";

double fma_peak_avx512_bf16_run(long rounds) {
    const __m512 multiplier = _mm512_set1_ps(mlp_fma_peak_multiplier);
    const __m512 addend = _mm512_set1_ps(mlp_fma_peak_addend);
    /* a = (1e-6, 1e-6) pairs, b = (0.999999, 0.999999) pairs, as BF16 */
    const __m512bh a = _mm512_cvtne2ps_pbh(addend, addend);
    const __m512bh b = _mm512_cvtne2ps_pbh(multiplier, multiplier);
    __m512 x[AVX512_BF16_CHAINS];
    for (int c = 0; c < AVX512_BF16_CHAINS; c++) x[c] = _mm512_set1_ps(1.0f + (float)c * 1e-3f);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 12
        for (int c = 0; c < AVX512_BF16_CHAINS; c++) x[c] = _mm512_dpbf16_ps(x[c], a, b);
    }
    __m512 sum = x[0];
    for (int c = 1; c < AVX512_BF16_CHAINS; c++) sum = _mm512_add_ps(sum, x[c]);
    fma_peak_avx512_bf16_sink = _mm512_reduce_add_ps(sum);
    return 4.0 * 16 * AVX512_BF16_CHAINS * (double)rounds;
}
