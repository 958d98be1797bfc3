/* The per-core floating-point limit of each instruction set, measured rather than assumed.
 *
 * The loops are the kernel tables' fma_peak (kernels/<name>/fma_peak_<name>.c, compiled with
 * the variant's flags; the plan times the same loop, src/core/plan_measure.c): `rounds` rounds
 * of independent multiply-add chains, bound by throughput, not latency. Run one only when
 * fma_peak_supported says so. */
#ifndef MLP_BENCH_FMA_PEAK_H
#define MLP_BENCH_FMA_PEAK_H

/* Whether this CPU runs the ISA named like a kernel variant ("scalar", "avx2", "avx512",
 * "neon"); when not, *reason says why ("not compiled into this binary" included). */
int fma_peak_supported(const char *isa, const char **reason);

/* Peak FLOP/s of one core for the ISA: best of several short runs, measured once and cached.
 * 0 when the ISA is not supported. */
double fma_peak_flops(const char *isa);

/* The highest fma_peak_flops over the float ISAs this CPU supports (the machine's FP32 peak,
 * used for the OpenBLAS rows; the BF16 loops, names ending in _bf16, are left out); *isa (if
 * non-NULL) receives which ISA. */
double fma_peak_best_flops(const char **isa);

/* Registers fma_peak/<isa>/... benchmarks, one per loop built. */
void bench_register_fma_peak(void);

#endif
