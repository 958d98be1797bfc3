/* Scalar peak: 14 independent chains of x = x*m + a. The project compiles C with
 * -ffp-contract=off, so each step is one multiply and one add (2 flops), as in the scalar
 * reference kernel. This file is built with -fno-tree-vectorize -fno-tree-slp-vectorize so the
 * compiler keeps the chains scalar. */
#include "kernels_internal.h"

#define SCALAR_CHAINS 14

static volatile float fma_peak_scalar_sink;

const char fma_peak_scalar_loop[] = "mul_add_14chains";

double fma_peak_scalar_run(long rounds) {
    const float multiplier = mlp_fma_peak_multiplier, addend = mlp_fma_peak_addend;
    float x[SCALAR_CHAINS];
    for (int c = 0; c < SCALAR_CHAINS; c++) x[c] = 1.0f + (float)c * 1e-3f;
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 14
        for (int c = 0; c < SCALAR_CHAINS; c++) x[c] = x[c] * multiplier + addend;
    }
    float sum = 0.0f;
    for (int c = 0; c < SCALAR_CHAINS; c++) sum += x[c];
    fma_peak_scalar_sink = sum;
    return 2.0 * SCALAR_CHAINS * (double)rounds;
}
