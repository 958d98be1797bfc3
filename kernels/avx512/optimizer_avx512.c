/* The optimizer update (include/mlp/kernels.h, optimizer_step), 16 floats per step through
 * optimizer_lanes_avx512 (the same function as the GEMM's fused update). The tail is the same
 * code under a lane mask; masked-off lanes compute nothing that is stored. */
#include "avx512/avx512_kernels.h"
#include "avx512/optimizer_avx512.h"

void optimizer_update_avx512(const mlp_optimizer_step *step, float *params, const float *gradients,
                             float *moment1, float *moment2, size_t count) {
    const mlp_optimizer_step constants = *step; /* a local copy: the stores cannot alias it */
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 k = lanes_mask_avx512((long)(count - i < 16 ? count - i : 16));
        __m512 w = optimizer_lanes_avx512(&constants, k, _mm512_maskz_loadu_ps(k, params + i),
                                          _mm512_maskz_loadu_ps(k, gradients + i),
                                          moment1 ? moment1 + i : NULL, moment2 ? moment2 + i : NULL);
        _mm512_mask_storeu_ps(params + i, k, w);
    }
}
