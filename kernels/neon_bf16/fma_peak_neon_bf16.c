/* NEON BF16 peak: 16 independent chains of 128-bit BFDOT (4 float lanes, each 2 BF16
 * multiply-adds per instruction: 4 flops per lane). Built with the neon_bf16 variant's flags;
 * the table's fma_peak, run only where the variant runs. bench's BF16 GEMM rows (gemm_bf16/...) divide by
 * this peak. x += 2·(1e-6·1) per step keeps every chain far from overflow and denormals. */
#include "kernels_internal.h"

#include <arm_neon.h>

#define NEON_BF16_CHAINS 16

static volatile float fma_peak_neon_bf16_sink;

const char fma_peak_neon_bf16_loop[] = "q_bfdot_16chains";

double fma_peak_neon_bf16_run(long rounds) {
    /* a = (1e-6, 1e-6) pairs, b = (0.999999, 0.999999) pairs, as BF16 */
    const float32x4_t multiplier = vdupq_n_f32(mlp_fma_peak_multiplier),
                      addend = vdupq_n_f32(mlp_fma_peak_addend);
    const bfloat16x8_t a = vcvtq_high_bf16_f32(vcvtq_low_bf16_f32(addend), addend);
    const bfloat16x8_t b = vcvtq_high_bf16_f32(vcvtq_low_bf16_f32(multiplier), multiplier);
    float32x4_t x[NEON_BF16_CHAINS];
    for (int c = 0; c < NEON_BF16_CHAINS; c++) x[c] = vdupq_n_f32(1.0f + (float)c * 1e-3f);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 16
        for (int c = 0; c < NEON_BF16_CHAINS; c++) x[c] = vbfdotq_f32(x[c], a, b);
    }
    float32x4_t sum = x[0];
    for (int c = 1; c < NEON_BF16_CHAINS; c++) sum = vaddq_f32(sum, x[c]);
    fma_peak_neon_bf16_sink = vaddvq_f32(sum);
    return 4.0 * 4 * NEON_BF16_CHAINS * (double)rounds;
}
