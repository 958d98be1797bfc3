/* OpenBLAS as the reference row of the GEMM benchmarks: the same gemm_problem, run through
 * cblas_sgemm on one thread. Only built when OpenBLAS is found (MLP_BENCH_HAVE_OPENBLAS). */
#ifndef MLP_BENCH_REFERENCE_BLAS_H
#define MLP_BENCH_REFERENCE_BLAS_H

#include "mlp/kernels.h"

/* One thread, once at startup. */
void reference_blas_init(void);
/* The core type OpenBLAS picked at load time ("Haswell", "Cooperlake", ...): it follows
 * OPENBLAS_CORETYPE when that is set. */
const char *reference_blas_core(void);
/* OpenBLAS's build description ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY ..."). */
const char *reference_blas_config(void);
/* C = op(A)·op(B) for a problem with float A and no epilogue (what sgemm computes). */
void reference_blas_gemm(const mlp_gemm_problem *problem);

#endif
