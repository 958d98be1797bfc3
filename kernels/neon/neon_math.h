/* Vector exp, sigmoid, tanh, partial loads/stores and the activation helpers shared by the NEON
 * (AArch64 Advanced SIMD) kernels. The GEMM epilogue and the elementwise functions use the same
 * code, so a fused and an unfused layer give bitwise the same activations.
 *
 * The approximations are the same operations, lane for lane, as kernels/avx2/avx2_math.h
 * (Cephes expf polynomial, the odd tanh polynomial below 0.625), so their error bounds are the
 * ones in kernels/activation_error_bounds.h. */
#ifndef MLP_NEON_MATH_H
#define MLP_NEON_MATH_H

#include <arm_neon.h>
#include <string.h>

#include "mlp/kernels.h"

/* The first `count` floats at p (count may be below 4; the other lanes get `fill`). Never reads
 * past p + count. */
static inline float32x4_t load_lanes_neon(const float *p, long count, float fill) {
    if (count >= 4) return vld1q_f32(p);
    float lanes[4] = {fill, fill, fill, fill};
    if (count > 0) memcpy(lanes, p, (size_t)count * sizeof(float));
    return vld1q_f32(lanes);
}

/* Stores the first `count` lanes of v at p (all four when count >= 4). */
static inline void store_lanes_neon(float *p, float32x4_t v, long count) {
    if (count >= 4) {
        vst1q_f32(p, v);
        return;
    }
    float lanes[4];
    vst1q_f32(lanes, v);
    if (count > 0) memcpy(p, lanes, (size_t)count * sizeof(float));
}

/* exp(x) = 2^n · e^r with n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2] (ln2 split in
 * two for an exact product); e^r = 1 + r + r^2 P(r) (Cephes expf minimax); 2^n built in the
 * exponent bits. x is clamped to [-87.34, 88], so any finite input gives a normal finite float. */
static inline float32x4_t exp_neon(float32x4_t x) {
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.33654f)), vdupq_n_f32(88.0f));
    float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    /* 2^n: n + 127 in the exponent field; n is in [-126, 127] after the clamp */
    int32x4_t biased = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
    return vmulq_f32(p, vreinterpretq_f32_s32(vshlq_n_s32(biased, 23)));
}

/* sigmoid(x) = 1 / (1 + e^-x), with an exact division; saturates to 0 and 1 without NaN. */
static inline float32x4_t sigmoid_neon(float32x4_t x) {
    float32x4_t one = vdupq_n_f32(1.0f);
    return vdivq_f32(one, vaddq_f32(one, exp_neon(vnegq_f32(x))));
}

/* tanh(x): for |x| < 0.625 the odd polynomial x + x^3 P(x^2); above, 1 - 2 / (e^{2|x|} + 1)
 * with |x| clamped to 9 (tanh(9) rounds to 1), then the sign of x. */
static inline float32x4_t tanh_neon(float32x4_t x) {
    float32x4_t one = vdupq_n_f32(1.0f);
    float32x4_t ax = vabsq_f32(x);
    float32x4_t u = vmulq_f32(x, x);
    float32x4_t p = vdupq_n_f32(-0.005705174989998341f);
    p = vfmaq_f32(vdupq_n_f32(0.020639248192310333f), p, u);
    p = vfmaq_f32(vdupq_n_f32(-0.0537397600710392f), p, u);
    p = vfmaq_f32(vdupq_n_f32(0.13331443071365356f), p, u);
    p = vfmaq_f32(vdupq_n_f32(-0.3333328068256378f), p, u);
    float32x4_t small = vfmaq_f32(x, vmulq_f32(x, u), p);
    float32x4_t clamped = vminq_f32(ax, vdupq_n_f32(9.0f));
    float32x4_t e = exp_neon(vaddq_f32(clamped, clamped));
    float32x4_t large = vsubq_f32(one, vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(e, one)));
    /* copy the sign of x onto the large-|x| branch */
    uint32x4_t sign_bit = vdupq_n_u32(0x80000000u);
    large = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(large),
                                            vandq_u32(vreinterpretq_u32_f32(x), sign_bit)));
    return vbslq_f32(vcltq_f32(ax, vdupq_n_f32(0.625f)), small, large);
}

/* relu(z) = z where z > 0, else +0 (NaN and -0 give +0, like the scalar reference). */
static inline float32x4_t relu_neon(float32x4_t z) {
    return vbslq_f32(vcgtq_f32(z, vdupq_n_f32(0.0f)), z, vdupq_n_f32(0.0f));
}

/* f(z) for the forward pass. */
static inline float32x4_t activation_forward_neon(mlp_activation activation, float32x4_t z) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: return relu_neon(z);
    case MLP_ACTIVATION_SIGMOID: return sigmoid_neon(z);
    case MLP_ACTIVATION_TANH: return tanh_neon(z);
    case MLP_ACTIVATION_NONE: break;
    }
    return z;
}

/* dz ⊙ f'(from y = f(z)): relu' = [y > 0], sigmoid' = y (1 - y), tanh' = 1 - y^2; the products
 * round exactly as the scalar reference's dy * (y * (1 - y)) and dy * (1 - y * y). */
static inline float32x4_t activation_backward_neon(mlp_activation activation, float32x4_t y,
                                                   float32x4_t dz) {
    float32x4_t one = vdupq_n_f32(1.0f);
    switch (activation) {
    case MLP_ACTIVATION_RELU: return vbslq_f32(vcgtq_f32(y, vdupq_n_f32(0.0f)), dz, vdupq_n_f32(0.0f));
    case MLP_ACTIVATION_SIGMOID: return vmulq_f32(dz, vmulq_f32(y, vsubq_f32(one, y)));
    case MLP_ACTIVATION_TANH: return vmulq_f32(dz, vsubq_f32(one, vmulq_f32(y, y)));
    case MLP_ACTIVATION_NONE: break;
    }
    return dz;
}

#endif
