/* --precision fp32|bf16: the arithmetic of a run's GEMMs, and the kernel variant that does it.
 *
 * FP32 is table->gemm. BF16 is table->gemm_bf16 for every GEMM of training and evaluation
 * (forward, weight gradient, input gradient, the fused update): the operands are rounded to
 * BF16 while packed and their products summed in float; master weights, the optimizer, biases,
 * activations, softmax and the loss stay float (include/mlp/kernels.h has the contract, and
 * docs/bf16.md what it changes). There is no emulated BF16: a CPU without BF16 dot products
 * gets an error, except that `--kernel scalar --precision bf16` runs the scalar reference
 * (slow, exact; for tests and valgrind). */
#ifndef MLP_PRECISION_H
#define MLP_PRECISION_H

#include <stddef.h>

#include "mlp/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "fp32", "bf16" (the --precision values; "unknown" for anything else). */
const char *mlp_precision_name(mlp_precision precision);
/* The precision named `text`; 0, or -1 when it is neither "fp32" nor "bf16". */
int mlp_precision_parse(const char *text, mlp_precision *precision);

/* The kernel variant for `name` (--kernel: NULL, "" or "auto" for MLP_KERNEL, else the best) at
 * `precision`. FP32: mlp_kernels_select. BF16: "auto" is mlp_kernels_best_for(BF16), never the
 * scalar reference; a named variant (or MLP_KERNEL's) must have a gemm_bf16. NULL with a one-line
 * reason in error ("--precision bf16: ...") when there is none. */
const mlp_kernel_table *mlp_kernels_select_for(const char *name, mlp_precision precision,
                                               char *error, size_t error_size);

/* The table's GEMM for `precision` (gemm or gemm_bf16; NULL when the variant has none). */
static inline void (*mlp_kernels_gemm_for(const mlp_kernel_table *table,
                                          mlp_precision precision))(const mlp_gemm_problem *) {
    return precision == MLP_PRECISION_BF16 ? table->gemm_bf16 : table->gemm;
}

#ifdef __cplusplus
}
#endif
#endif
