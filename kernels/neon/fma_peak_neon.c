/* NEON peak: 16 independent chains of 128-bit fmla (4 floats, 2 flops per lane); 16 chains
 * cover 4 FMA pipes of latency 4 (the widest current Arm cores). NEON is baseline on AArch64. */
#include "kernels_internal.h"

#include <arm_neon.h>

#define NEON_CHAINS 16

static volatile float fma_peak_neon_sink;

const char fma_peak_neon_loop[] = "q_fmla_16chains";

double fma_peak_neon_run(long rounds) {
    const float32x4_t multiplier = vdupq_n_f32(mlp_fma_peak_multiplier),
                 addend = vdupq_n_f32(mlp_fma_peak_addend);
    float32x4_t x[NEON_CHAINS];
    for (int c = 0; c < NEON_CHAINS; c++) x[c] = vdupq_n_f32(1.0f + (float)c * 1e-3f);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 16
        for (int c = 0; c < NEON_CHAINS; c++) x[c] = vfmaq_f32(addend, x[c], multiplier);
    }
    float32x4_t sum = x[0];
    for (int c = 1; c < NEON_CHAINS; c++) sum = vaddq_f32(sum, x[c]);
    fma_peak_neon_sink = vaddvq_f32(sum);
    return 2.0 * 4 * NEON_CHAINS * (double)rounds;
}
