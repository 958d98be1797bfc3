/* Double-precision oracle for the kernel tests (see kernel_reference.h). */
#include "kernel_reference.h"

#include <math.h>
#include <stdlib.h>

double reference_a_element(const mlp_gemm_problem *g, int i, int p) {
    size_t index = g->a_transposed ? (size_t)p * g->lda + i : (size_t)i * g->lda + p;
    return g->a_u8 ? (double)g->a_u8[index] * (double)g->a_scale : (double)g->a[index];
}

double reference_b_element(const mlp_gemm_problem *g, int p, int j) {
    return g->b_transposed ? (double)g->b[(size_t)j * g->ldb + p]
                           : (double)g->b[(size_t)p * g->ldb + j];
}

void reference_gemm(const mlp_gemm_problem *g, double *product, double *magnitude) {
    /* Row i of op(A) is gathered once, then each column j is a dot product over p. */
    double *a_row = malloc((size_t)(g->k > 0 ? g->k : 1) * sizeof *a_row);
    double *b_col = malloc((size_t)(g->k > 0 ? g->k : 1) * (size_t)(g->n > 0 ? g->n : 1) *
                           sizeof *b_col);
    if (!a_row || !b_col) abort();
    for (int j = 0; j < g->n; j++)
        for (int p = 0; p < g->k; p++) b_col[(size_t)j * g->k + p] = reference_b_element(g, p, j);
    for (int i = 0; i < g->m; i++) {
        for (int p = 0; p < g->k; p++) a_row[p] = reference_a_element(g, i, p);
        for (int j = 0; j < g->n; j++) {
            const double *b = b_col + (size_t)j * g->k;
            double sum = 0.0, sum_abs = 0.0;
            for (int p = 0; p < g->k; p++) {
                sum += a_row[p] * b[p];
                sum_abs += fabs(a_row[p] * b[p]);
            }
            product[(size_t)i * g->n + j] = sum;
            magnitude[(size_t)i * g->n + j] = sum_abs;
        }
    }
    free(a_row);
    free(b_col);
}

double reference_activation(mlp_activation activation, double z) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: return z > 0.0 ? z : 0.0;
    case MLP_ACTIVATION_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case MLP_ACTIVATION_TANH: return tanh(z);
    case MLP_ACTIVATION_NONE: break;
    }
    return z;
}

double reference_activation_derivative(mlp_activation activation, double y) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: return y > 0.0 ? 1.0 : 0.0;
    case MLP_ACTIVATION_SIGMOID: return y * (1.0 - y);
    case MLP_ACTIVATION_TANH: return 1.0 - y * y;
    case MLP_ACTIVATION_NONE: break;
    }
    return 1.0;
}

double reference_activation_lipschitz(mlp_activation activation) {
    return activation == MLP_ACTIVATION_SIGMOID ? 0.25 : 1.0;
}

void reference_softmax_cross_entropy_row(int classes, const float *logits, int label, double *p,
                                         double *loss) {
    double max = logits[0];
    for (int j = 1; j < classes; j++)
        if (logits[j] > max) max = logits[j];
    double sum = 0.0;
    for (int j = 0; j < classes; j++) sum += exp((double)logits[j] - max);
    for (int j = 0; j < classes; j++) p[j] = exp((double)logits[j] - max) / sum;
    *loss = log(sum) - ((double)logits[label] - max);
}
