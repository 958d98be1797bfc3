/* Vector exp, sigmoid, tanh and the activation helpers shared by the AVX-512 kernels (the GEMM
 * epilogue and the elementwise functions use the same code, so a fused and an unfused layer
 * give bitwise the same activations). Include only from files compiled with the AVX-512 flags.
 *
 * The approximations are the same operations as kernels/avx2/avx2_math.h, lane for lane, so the
 * two variants agree bitwise on activations. Error bounds: kernels/activation_error_bounds.h.
 */
#ifndef MLP_AVX512_MATH_H
#define MLP_AVX512_MATH_H

#include <immintrin.h>

#include "mlp/kernels.h"

/* Lanes [0, count) of a 16-lane mask (count may be <= 0 or >= 16). */
static inline __mmask16 lanes_mask_avx512(long count) {
    if (count <= 0) return 0;
    if (count >= 16) return 0xffff;
    return (__mmask16)((1u << count) - 1u);
}

/* exp(x) = 2^n · e^r with n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2];
 * e^r = 1 + r + r^2 P(r) (Cephes expf minimax, degree 7 in all), 2^n built in the exponent bits.
 * x is clamped to [-87.34, 88], so the result stays a normal finite float for any finite input.
 * Relative error <= MLP_EXP_MAX_REL_ERROR (about 2 ulp) inside the clamp range. */
static inline __m512 exp_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    /* 2^n: n + 127 in the exponent field; n is in [-126, 127] after the clamp */
    __m512i biased = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(biased, 23)));
}

/* sigmoid(x) = 1 / (1 + e^-x), with an exact division; saturates to 0 and 1 without NaN. */
static inline __m512 sigmoid_avx512(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 exp_minus_x = exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(one, _mm512_add_ps(one, exp_minus_x));
}

/* tanh(x): for |x| < 0.625 the odd polynomial x + x^3 P(x^2) (P fitted for relative error,
 * about 1.3 ulp); above, 1 - 2 / (e^{2|x|} + 1) with |x| clamped to 9 (tanh(9) rounds to 1),
 * then the sign of x. */
static inline __m512 tanh_avx512(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 ax = _mm512_abs_ps(x);
    __m512 u = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-0.005705174989998341f);
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(0.020639248192310333f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(-0.0537397600710392f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(0.13331443071365356f));
    p = _mm512_fmadd_ps(p, u, _mm512_set1_ps(-0.3333328068256378f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(x, u), p, x);
    __m512 e = exp_avx512(_mm512_add_ps(_mm512_min_ps(ax, _mm512_set1_ps(9.0f)),
                                        _mm512_min_ps(ax, _mm512_set1_ps(9.0f))));
    __m512 large = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
    /* copy the sign of x onto the large-|x| branch */
    __m512 sign = _mm512_and_ps(x, _mm512_castsi512_ps(_mm512_set1_epi32((int)0x80000000u)));
    large = _mm512_or_ps(large, sign);
    __mmask16 is_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(is_small, large, small);
}

/* f(z) for the forward pass; relu(z) = max(z, 0) maps NaN and -0 to +0 like the reference. */
static inline __m512 activation_forward_avx512(mlp_activation activation, __m512 z) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: return _mm512_max_ps(z, _mm512_setzero_ps());
    case MLP_ACTIVATION_SIGMOID: return sigmoid_avx512(z);
    case MLP_ACTIVATION_TANH: return tanh_avx512(z);
    case MLP_ACTIVATION_NONE: break;
    }
    return z;
}

/* g ⊙ f'(z), with f'(z) written from the forward output y: relu y > 0, sigmoid y (1 - y),
 * tanh 1 - y^2. The same roundings as the scalar reference (no fused multiply-add). */
static inline __m512 activation_backward_avx512(mlp_activation activation, __m512 y, __m512 g) {
    __m512 one = _mm512_set1_ps(1.0f);
    switch (activation) {
    case MLP_ACTIVATION_RELU:
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), g);
    case MLP_ACTIVATION_SIGMOID: return _mm512_mul_ps(g, _mm512_mul_ps(y, _mm512_sub_ps(one, y)));
    case MLP_ACTIVATION_TANH: return _mm512_mul_ps(g, _mm512_sub_ps(one, _mm512_mul_ps(y, y)));
    case MLP_ACTIVATION_NONE: break;
    }
    return g;
}

#endif
