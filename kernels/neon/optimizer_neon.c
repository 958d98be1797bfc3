/* The optimizer update (include/mlp/kernels.h, optimizer_step), 4 floats per step through
 * optimizer_lanes_neon (the same function as the GEMM's fused update). Tails through
 * neon_math.h's partial loads and stores. */
#include "neon/neon_kernels.h"
#include "neon/optimizer_neon.h"

void optimizer_update_neon(const mlp_optimizer_step *step, float *params, const float *gradients,
                           float *moment1, float *moment2, size_t count) {
    const mlp_optimizer_step constants = *step; /* a local copy: the stores cannot alias it */
    for (size_t i = 0; i < count; i += 4) {
        long left = (long)(count - i < 4 ? count - i : 4);
        float32x4_t w = optimizer_lanes_neon(&constants, left, load_lanes_neon(params + i, left, 0.0f),
                                             load_lanes_neon(gradients + i, left, 0.0f),
                                             moment1 ? moment1 + i : NULL, moment2 ? moment2 + i : NULL);
        store_lanes_neon(params + i, w, left);
    }
}
