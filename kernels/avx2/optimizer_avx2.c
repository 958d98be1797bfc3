/* The optimizer update (include/mlp/kernels.h, optimizer_step), 8 floats per step through
 * optimizer_lanes_avx2 (the same function as the GEMM's fused update). Tails go through the
 * masked loads and piecewise stores of avx2_math.h. */
#include "avx2/avx2_kernels.h"
#include "avx2/optimizer_avx2.h"

void optimizer_update_avx2(const mlp_optimizer_step *step, float *params, const float *gradients,
                           float *moment1, float *moment2, size_t count) {
    const mlp_optimizer_step constants = *step; /* a local copy: the stores cannot alias it */
    for (size_t i = 0; i < count; i += 8) {
        long left = (long)(count - i < 8 ? count - i : 8);
        __m256 w = optimizer_lanes_avx2(&constants, left, load_lanes_avx2(params + i, left),
                                        load_lanes_avx2(gradients + i, left),
                                        moment1 ? moment1 + i : NULL, moment2 ? moment2 + i : NULL);
        store_lanes_avx2(params + i, w, left);
    }
}
