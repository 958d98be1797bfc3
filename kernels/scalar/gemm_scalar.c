/* Reference GEMM: plain loops, one float accumulator per output element, k increasing.
 * Every SIMD variant is tested against this (and this against a double-precision oracle). */
#include "kernels_internal.h"

#include <math.h>

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
 * gradient is stored. SGD: W - (learning_rate · P), as sgd_update_scalar; the optimizer
 * rules: optimizer_update_scalar itself on the one element (elementwise, so the same bits as
 * over a whole stored gradient). */
static void gemm_scalar_parameter_update(const mlp_gemm_problem *g) {
    const mlp_gemm_update *u = &g->update;
    if (u->rule != MLP_GEMM_UPDATE_SGD && u->rule != MLP_GEMM_UPDATE_OPTIMIZER) return;
    for (int i = 0; i < g->m; i++) {
        float *w_row = g->c + (size_t)i * g->ldc;
        for (int j = 0; j < g->n; j++) {
            float sum = 0.0f;
            for (int p = 0; p < g->k; p++) sum += a_element(g, i, p) * b_element(g, p, j);
            if (u->rule == MLP_GEMM_UPDATE_SGD) {
                w_row[j] -= u->learning_rate * sum;
                continue;
            }
            float *state[2];
            for (int s = 0; s < 2; s++)
                state[s] = u->state[s] ? u->state[s] + (size_t)i * u->ld_state[s] + j : NULL;
            optimizer_update_scalar(&u->step, w_row + j, &sum, state[0], state[1], 1);
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
