/* Double-precision oracle for the kernel tests: the same math as include/mlp/kernels.h, computed
 * in double from the float inputs, so every variant (scalar included) is judged against values
 * whose own rounding error is negligible next to float's. */
#ifndef MLP_KERNEL_REFERENCE_H
#define MLP_KERNEL_REFERENCE_H

#include "mlp/kernels.h"

/* op(A)(i, p) and op(B)(p, j) of a gemm_problem, read exactly as the contract describes
 * (the u8 path multiplies by a_scale in double). */
double reference_a_element(const mlp_gemm_problem *problem, int i, int p);
double reference_b_element(const mlp_gemm_problem *problem, int p, int j);

/* product[i*n + j] = sum_p op(A)(i,p) op(B)(p,j) (before any epilogue) and
 * magnitude[i*n + j] = sum_p |op(A)(i,p)| |op(B)(p,j)|, the scale of float's rounding error. */
void reference_gemm(const mlp_gemm_problem *problem, double *product, double *magnitude);

double reference_activation(mlp_activation activation, double z);
/* f'(z) written in terms of y = f(z), as the backward epilogue uses it. */
double reference_activation_derivative(mlp_activation activation, double y);
/* max |f'|: how much an error in z can grow through f. */
double reference_activation_lipschitz(mlp_activation activation);

/* Softmax of one row of logits and the cross-entropy of `label`: p[j] and *loss = -log p[label]. */
void reference_softmax_cross_entropy_row(int classes, const float *logits, int label, double *p,
                                         double *loss);

#endif
