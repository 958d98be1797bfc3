/* Reference GEMM: plain loops, one float accumulator per output element, k increasing.
 * Every SIMD variant is tested against this (and this against a double-precision oracle). */
#include "kernels_internal.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* op(A)(i, p): the uint8 path scales each byte, as the first layer's packing does. */
static inline float a_element(const mlp_gemm_problem *g, int i, int p) {
    size_t index = g->a_transposed ? (size_t)p * g->lda + i : (size_t)i * g->lda + p;
    return g->a_u8 ? (float)g->a_u8[index] * g->a_scale : g->a[index];
}

static inline float b_element(const mlp_gemm_problem *g, int p, int j) {
    return g->b_transposed ? g->b[(size_t)j * g->ldb + p] : g->b[(size_t)p * g->ldb + j];
}

static float activate(mlp_activation activation, float z) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: return z > 0.0f ? z : 0.0f;
    case MLP_ACTIVATION_SIGMOID: return 1.0f / (1.0f + expf(-z));
    case MLP_ACTIVATION_TANH: return tanhf(z);
    case MLP_ACTIVATION_NONE: break;
    }
    return z;
}

/* f'(z) written in terms of the forward output y = f(z). */
static float activation_derivative(mlp_activation activation, float y) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case MLP_ACTIVATION_SIGMOID: return y * (1.0f - y);
    case MLP_ACTIVATION_TANH: return 1.0f - y * y;
    case MLP_ACTIVATION_NONE: break;
    }
    return 1.0f;
}

/* The parameter update of W(i,j) at w by its gradient element: SGD, W - (learning_rate · P),
 * as sgd_update_scalar; the optimizer rules: optimizer_update_scalar itself on the one element
 * with its moments (elementwise, so the same bits as over a whole stored gradient). */
static void update_parameter(const mlp_gemm_update *u, int i, int j, float *w, float gradient) {
    if (u->rule == MLP_GEMM_UPDATE_SGD) {
        *w -= u->learning_rate * gradient;
    } else if (u->rule == MLP_GEMM_UPDATE_OPTIMIZER) {
        float *state[2];
        for (int s = 0; s < 2; s++)
            state[s] = u->state[s] ? u->state[s] + (size_t)i * u->ld_state[s] + j : NULL;
        optimizer_update_scalar(&u->step, w, &gradient, state[0], state[1], 1);
    } /* an unknown rule leaves W as it is (include/mlp/kernels.h) */
}

/* The parameter update epilogue: C holds W, and each gradient element is summed on its own
 * (the same products in the same order as the loops below) and applied at once, so no
 * gradient is stored. */
static void gemm_scalar_parameter_update(const mlp_gemm_problem *g) {
    for (int i = 0; i < g->m; i++) {
        float *w_row = g->c + (size_t)i * g->ldc;
        for (int j = 0; j < g->n; j++) {
            float sum = 0.0f;
            for (int p = 0; p < g->k; p++) sum += a_element(g, i, p) * b_element(g, p, j);
            update_parameter(&g->update, i, j, w_row + j, sum);
        }
    }
}

void gemm_scalar(const mlp_gemm_problem *g) {
    if (g->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
        gemm_scalar_parameter_update(g);
        return;
    }
    for (int i = 0; i < g->m; i++) {
        float *c_row = g->c + (size_t)i * g->ldc;
        /* c[i][j] = sum of A(i,p) * B(p,j) for p = 0, 1, ..., k-1, one float accumulator:
         * both loop orders below add the same products in the same order; a part of a GEMM
         * cut along k (accumulate) continues the sums in C. */
        if (g->b_transposed) { /* B's column j is contiguous: a dot product per element */
            for (int j = 0; j < g->n; j++) {
                const float *b_column = g->b + (size_t)j * g->ldb;
                float sum = g->accumulate ? c_row[j] : 0.0f;
                for (int p = 0; p < g->k; p++) sum += a_element(g, i, p) * b_column[p];
                c_row[j] = sum;
            }
        } else { /* B's row p is contiguous: sweep it for every p */
            for (int j = 0; j < g->n && !g->accumulate; j++) c_row[j] = 0.0f;
            for (int p = 0; p < g->k; p++) {
                float a = a_element(g, i, p);
                for (int j = 0; j < g->n; j++) c_row[j] += a * b_element(g, p, j);
            }
        }
        if (g->partial) continue; /* more k to come: the plain sums */
        if (g->epilogue == MLP_GEMM_EPILOGUE_BIAS_ACTIVATION) {
            for (int j = 0; j < g->n; j++)
                c_row[j] = activate(g->activation, c_row[j] + (g->bias ? g->bias[j] : 0.0f));
        } else if (g->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE) {
            const float *y = g->activation_output + (size_t)i * g->ld_activation_output;
            for (int j = 0; j < g->n; j++)
                c_row[j] *= activation_derivative(g->activation, y[j]);
        }
    }
}

/* ---- BF16 reference (table->gemm_bf16) ----
 * What VDPBF16PS computes, element by element (checked against the instruction on Zen 5):
 * the operands rounded to BF16 (denormals already flushed to signed zero by the rounding),
 * and within a pair of k the odd element first, each step a fused multiply-add (the exact
 * product added to the sum with one rounding to nearest even) whose result is flushed to
 * signed zero when denormal: s = ftz(fma(A(i,p),B(p,j), ftz(fma(A(i,p+1),B(p+1,j), s)))).
 * A product is not flushed on its own: a denormal product still moves a sum (0 + -2^-134 is
 * -2^-134, flushed to -0; 2^-126 - 2^-127 is 2^-127, flushed to +0), which a separate
 * multiply, flush and add would not reproduce. fmaf is correctly rounded in C99 (a libm call
 * where the baseline ISA has no FMA instruction). */

static inline float flush_denormal(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & 0x7f800000u) == 0) bits &= 0x80000000u;
    memcpy(&x, &bits, sizeof bits);
    return x;
}

/* ---- BFDOT's arithmetic (table->bf16_dot = MLP_BF16_DOT_BFDOT: neon_bf16) ----
 * Arm's BFDOT (FEAT_BF16) with FPCR.EBF = 0 (always so without FEAT_EBF16; Linux starts every
 * process with FPCR = 0) adds to each float lane the dot product of a pair of BF16 values,
 * Arm's pseudocode function BFDotAdd (Arm ARM DDI 0487, "BFDOT (vector)", "BFDotAdd"):
 *   sum + (a0·b0 + a1·b1), BFMul and BFAdd each rounded to odd
 * where round to odd is the exact result truncated toward zero with its last significand bit
 * set when inexact, a result beyond the float range (|exact| >= 2^128) is infinity, inputs and
 * results below FLT_MIN in magnitude are flushed to signed zero (as FPCR.FZ = 1; tininess
 * before rounding), NaN results are the default NaN, and FPCR's rounding mode is ignored. So,
 * unlike VDPBF16PS, a denormal product is flushed before it is added, the two products are
 * summed before the accumulator, and the three roundings are to odd rather than nearest even.
 * QEMU implements exactly this (target/arm/vec_helper.c, bfdotadd(): float32_mul twice,
 * float32_add twice, float_round_to_odd_inf, flush_to_zero and flush_inputs_to_zero,
 * tininess before rounding, default NaN), and the functions below match QEMU 7.2's BFDOT bit
 * for bit on 2 million random and edge-case steps (tests/test_kernels.c repeats that check
 * against the instruction wherever the CPU has BF16).
 *
 * With FEAT_EBF16 and FPCR.EBF = 1 the products are fused and FPCR's rounding applies: a
 * different arithmetic, not modelled here (no process of ours sets FPCR.EBF).
 *
 * The emulation needs float arithmetic that rounds to nearest even with no excess precision
 * (FLT_EVAL_METHOD 0, no contraction: the build passes -ffp-contract=off). */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "the BFDOT reference needs float arithmetic without excess precision"
#endif

static inline uint32_t float_bits(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

static inline float float_from_bits(uint32_t bits) {
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static const uint32_t default_nan_bits = 0x7fc00000u;

/* BFMul: a·b rounded to odd, flushed. The exact product of two BF16 values has at most 16
 * significant bits, so the float product (rounded to nearest) is that exact product whenever
 * it is a normal float; it is infinite exactly when the exact product is >= 2^128 (no 16-bit
 * significand lies between FLT_MAX's neighbourhood and 2^128), and below FLT_MIN exactly when
 * the exact one is (a product of exponent -127 is exact as a denormal). */
static inline float bfdot_multiply(float a, float b) {
    const float product = flush_denormal(a * b);
    return product != product ? float_from_bits(default_nan_bits) : product;
}

/* BFAdd: x + y rounded to odd, flushed. TwoSum gives the exact sum as s + e (s rounded to
 * nearest); a sum below FLT_MIN is exact (and flushed); otherwise truncating s + e toward zero
 * is s, or s one step toward zero when e points that way, and round to odd sets its last bit.
 * Only |x + y| in [FLT_MAX + half an ulp, 2^128) rounds to infinity to nearest but to FLT_MAX
 * to odd. */
static inline float bfdot_add(float x, float y) {
    const float s = x + y;
    if (s != s) return float_from_bits(default_nan_bits);
    if (isinf(s)) {
        if (isinf(x) || isinf(y)) return s;
        /* both finite: to reach 2^128 - 2^103 both are >= 2^103, so the exact sum is a
         * multiple of 2^80 below 2^129, which a double holds */
        return fabs((double)x + (double)y) >= 0x1p128 ? s : copysignf(FLT_MAX, s);
    }
    if ((float_bits(s) & 0x7f800000u) == 0) return flush_denormal(s);
    const float y_part = s - x;
    const float error = (x - (s - y_part)) + (y - y_part);
    if (error == 0.0f) return s;
    uint32_t bits = float_bits(s);
    if ((error < 0.0f) != (s < 0.0f)) bits -= 1; /* |exact| < |s|: one step toward zero */
    return float_from_bits(bits | 1u);
}

float bf16_bfdot_step_scalar(float sum, float a0, float b0, float a1, float b1) {
    const float products = bfdot_add(bfdot_multiply(flush_denormal(a0), flush_denormal(b0)),
                                     bfdot_multiply(flush_denormal(a1), flush_denormal(b1)));
    return bfdot_add(flush_denormal(sum), products);
}

/* Σ_p op(A)(i,p)·op(B)(p,j) over BF16 operands, in VDPBF16PS's pairs (or BFDOT's steps when
 * bfdot); an odd K's last pair has a zero second element (the packing pads with zeros), whose
 * +0 product is still added. */
static float bf16_dot(const mlp_gemm_problem *g, int i, int j, int bfdot) {
    float s = g->accumulate ? g->c[(size_t)i * g->ldc + j] : 0.0f; /* a part continues C's sums */
    for (int p = 0; p < g->k; p += 2) {
        float odd_a = 0.0f, odd_b = 0.0f;
        if (p + 1 < g->k) {
            odd_a = mlp_bf16_round(a_element(g, i, p + 1));
            odd_b = mlp_bf16_round(b_element(g, p + 1, j));
        }
        const float even_a = mlp_bf16_round(a_element(g, i, p));
        const float even_b = mlp_bf16_round(b_element(g, p, j));
        if (bfdot) {
            s = bf16_bfdot_step_scalar(s, even_a, even_b, odd_a, odd_b);
        } else {
            s = flush_denormal(fmaf(odd_a, odd_b, s));
            s = flush_denormal(fmaf(even_a, even_b, s));
        }
    }
    return s;
}

static void gemm_bf16_reference(const mlp_gemm_problem *g, int bfdot) {
    for (int i = 0; i < g->m; i++) {
        float *c_row = g->c + (size_t)i * g->ldc;
        for (int j = 0; j < g->n; j++) {
            float sum = bf16_dot(g, i, j, bfdot);
            switch (g->partial ? MLP_GEMM_EPILOGUE_NONE : g->epilogue) {
            case MLP_GEMM_EPILOGUE_NONE: c_row[j] = sum; break;
            case MLP_GEMM_EPILOGUE_BIAS_ACTIVATION:
                c_row[j] = activate(g->activation, sum + (g->bias ? g->bias[j] : 0.0f));
                break;
            case MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE:
                c_row[j] = sum * activation_derivative(
                                     g->activation,
                                     g->activation_output[(size_t)i * g->ld_activation_output + j]);
                break;
            case MLP_GEMM_EPILOGUE_PARAMETER_UPDATE: /* C holds W */
                update_parameter(&g->update, i, j, c_row + j, sum);
                break;
            }
        }
    }
}

void gemm_bf16_scalar(const mlp_gemm_problem *g) { gemm_bf16_reference(g, 0); }

void gemm_bf16_scalar_bfdot(const mlp_gemm_problem *g) { gemm_bf16_reference(g, 1); }
