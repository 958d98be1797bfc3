/* Reference GEMM: plain loops, one float accumulator per output element, k increasing.
 * Every SIMD variant is tested against this (and this against a double-precision oracle). */
#include "kernels_internal.h"

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

/* The parameter update epilogue: C holds W, and each gradient element is summed on its own
 * (the same products in the same order as the loops below) and applied at once, so no
 * gradient is stored. SGD: W - (learning_rate · P), as sgd_update_scalar. */
static void gemm_scalar_parameter_update(const mlp_gemm_problem *g) {
    if (g->update.rule != MLP_GEMM_UPDATE_SGD) return; /* no other rule yet */
    for (int i = 0; i < g->m; i++) {
        float *w_row = g->c + (size_t)i * g->ldc;
        for (int j = 0; j < g->n; j++) {
            float sum = 0.0f;
            for (int p = 0; p < g->k; p++) sum += a_element(g, i, p) * b_element(g, p, j);
            w_row[j] -= g->update.learning_rate * sum;
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
         * both loop orders below add the same products in the same order. */
        if (g->b_transposed) { /* B's column j is contiguous: a dot product per element */
            for (int j = 0; j < g->n; j++) {
                const float *b_column = g->b + (size_t)j * g->ldb;
                float sum = 0.0f;
                for (int p = 0; p < g->k; p++) sum += a_element(g, i, p) * b_column[p];
                c_row[j] = sum;
            }
        } else { /* B's row p is contiguous: sweep it for every p */
            for (int j = 0; j < g->n; j++) c_row[j] = 0.0f;
            for (int p = 0; p < g->k; p++) {
                float a = a_element(g, i, p);
                for (int j = 0; j < g->n; j++) c_row[j] += a * b_element(g, p, j);
            }
        }
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

/* Σ_p op(A)(i,p)·op(B)(p,j) over BF16 operands, in VDPBF16PS's pairs; an odd K's last pair
 * has a zero second element (the packing pads with zeros), whose +0 product is still added. */
static float bf16_dot(const mlp_gemm_problem *g, int i, int j) {
    float s = 0.0f;
    for (int p = 0; p < g->k; p += 2) {
        float odd_a = 0.0f, odd_b = 0.0f;
        if (p + 1 < g->k) {
            odd_a = mlp_bf16_round(a_element(g, i, p + 1));
            odd_b = mlp_bf16_round(b_element(g, p + 1, j));
        }
        s = flush_denormal(fmaf(odd_a, odd_b, s));
        s = flush_denormal(
            fmaf(mlp_bf16_round(a_element(g, i, p)), mlp_bf16_round(b_element(g, p, j)), s));
    }
    return s;
}

void gemm_bf16_scalar(const mlp_gemm_problem *g) {
    for (int i = 0; i < g->m; i++) {
        float *c_row = g->c + (size_t)i * g->ldc;
        for (int j = 0; j < g->n; j++) {
            float sum = bf16_dot(g, i, j);
            switch (g->epilogue) {
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
                if (g->update.rule == MLP_GEMM_UPDATE_SGD) c_row[j] -= g->update.learning_rate * sum;
                break;
            }
        }
    }
}
