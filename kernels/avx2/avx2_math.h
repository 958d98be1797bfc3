/* Vector exp, sigmoid, tanh and the activation helpers shared by the AVX2+FMA kernels (the GEMM
 * epilogue and the elementwise functions use the same code, so a fused and an unfused layer
 * give bitwise the same activations). Include only from files compiled with -mavx2 -mfma.
 *
 * The approximations are the same operations as kernels/avx512/avx512_math.h, lane for lane,
 * so the two variants agree bitwise on activations. Error bounds:
 * kernels/activation_error_bounds.h.
 */
#ifndef MLP_AVX2_MATH_H
#define MLP_AVX2_MATH_H

#include <immintrin.h>

#include "mlp/kernels.h"

/* Lanes [0, count) as a maskload/maskstore mask: all ones where lane < count (any count). */
static inline __m256i lanes_mask_avx2(long count) {
    int clamped = count <= 0 ? 0 : count >= 8 ? 8 : (int)count;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(clamped),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The first `count` floats at `source` (lanes >= count read as 0). A full vector is a plain
 * load: AMD cores run vmaskmovps slowly even with an all-ones mask (a B panel copy through it
 * took 12% of a 784 -> 600 GEMM), so only ragged tails pay for the mask. */
static inline __attribute__((always_inline)) __m256 load_lanes_avx2(const float *source,
                                                                    long count) {
    return count >= 8 ? _mm256_loadu_ps(source)
                      : _mm256_maskload_ps(source, lanes_mask_avx2(count));
}

/* Stores the first `count` (1 or more) floats of v with plain stores: all 8, or 4 + 2 + 1
 * pieces of them (AMD cores microcode vmaskmovps stores: about a dozen cycles each). */
static inline __attribute__((always_inline)) void store_lanes_avx2(float *destination,
                                                                   __m256 v, long count) {
    if (count >= 8) {
        _mm256_storeu_ps(destination, v);
        return;
    }
    __m128 part = _mm256_castps256_ps128(v);
    if (count & 4) {
        _mm_storeu_ps(destination, part);
        destination += 4;
        part = _mm256_extractf128_ps(v, 1);
    }
    if (count & 2) {
        _mm_storel_pi((__m64 *)destination, part);
        destination += 2;
        part = _mm_movehl_ps(part, part);
    }
    if (count & 1) _mm_store_ss(destination, part);
}

/* exp(x) = 2^n · e^r with n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2];
 * e^r = 1 + r + r^2 P(r) (Cephes expf minimax, degree 7 in all), 2^n built in the exponent bits.
 * x is clamped to [-87.34, 88], so the result stays a normal finite float for any finite input.
 * Relative error <= MLP_EXP_MAX_REL_ERROR (about 2 ulp) inside the clamp range. */
static inline __m256 exp_avx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* 2^n: n + 127 in the exponent field; n is in [-126, 127] after the clamp */
    __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
}

/* sigmoid(x) = 1 / (1 + e^-x), with an exact division; saturates to 0 and 1 without NaN. */
static inline __m256 sigmoid_avx2(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 exp_minus_x = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, exp_minus_x));
}

/* tanh(x): for |x| < 0.625 the odd polynomial x + x^3 P(x^2) (P fitted for relative error,
 * about 1.3 ulp); above, 1 - 2 / (e^{2|x|} + 1) with |x| clamped to 9 (tanh(9) rounds to 1),
 * then the sign of x. */
static inline __m256 tanh_avx2(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 sign_bit = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    __m256 ax = _mm256_andnot_ps(sign_bit, x);
    __m256 u = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-0.005705174989998341f);
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(0.020639248192310333f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-0.0537397600710392f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(0.13331443071365356f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-0.3333328068256378f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, u), p, x);
    __m256 e = exp_avx2(_mm256_add_ps(_mm256_min_ps(ax, _mm256_set1_ps(9.0f)),
                                        _mm256_min_ps(ax, _mm256_set1_ps(9.0f))));
    __m256 large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    /* copy the sign of x onto the large-|x| branch */
    large = _mm256_or_ps(large, _mm256_and_ps(x, sign_bit));
    __m256 is_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm256_blendv_ps(large, small, is_small);
}

/* f(z) for the forward pass; relu(z) = max(z, 0) maps NaN and -0 to +0 like the reference. */
static inline __m256 activation_forward_avx2(mlp_activation activation, __m256 z) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: return _mm256_max_ps(z, _mm256_setzero_ps());
    case MLP_ACTIVATION_SIGMOID: return sigmoid_avx2(z);
    case MLP_ACTIVATION_TANH: return tanh_avx2(z);
    case MLP_ACTIVATION_NONE: break;
    }
    return z;
}

/* g ⊙ f'(z), with f'(z) written from the forward output y: relu y > 0, sigmoid y (1 - y),
 * tanh 1 - y^2. The same roundings as the scalar reference (no fused multiply-add). */
static inline __m256 activation_backward_avx2(mlp_activation activation, __m256 y, __m256 g) {
    __m256 one = _mm256_set1_ps(1.0f);
    switch (activation) {
    case MLP_ACTIVATION_RELU:
        return _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ), g);
    case MLP_ACTIVATION_SIGMOID: return _mm256_mul_ps(g, _mm256_mul_ps(y, _mm256_sub_ps(one, y)));
    case MLP_ACTIVATION_TANH: return _mm256_mul_ps(g, _mm256_sub_ps(one, _mm256_mul_ps(y, y)));
    case MLP_ACTIVATION_NONE: break;
    }
    return g;
}

#endif
