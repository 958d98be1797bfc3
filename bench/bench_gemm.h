/* GEMM benchmarks of every compiled kernel variant and the OpenBLAS reference (bench_gemm.c). */
#ifndef MLP_BENCH_GEMM_H
#define MLP_BENCH_GEMM_H

void bench_register_gemm(void);

#endif
