/* The per-core floating-point limit of each instruction set, measured rather than assumed.
 *
 * Each fma_peak_<isa>_run executes `rounds` rounds of independent multiply-add chains (enough
 * chains to cover the FMA latency times the number of FMA pipes, so the loop is bound by
 * throughput, not latency) and returns the floating-point operations it did (2 per lane per
 * multiply-add). The <isa> files are compiled with that ISA's flags; call them only when
 * fma_peak_supported says so. */
#ifndef MLP_BENCH_FMA_PEAK_H
#define MLP_BENCH_FMA_PEAK_H

/* x = x*multiplier + addend leaves every starting value near 1 unchanged in float arithmetic
 * (no drift, no denormals); they are volatile so no compiler can prove that and drop the loop. */
extern volatile float fma_peak_multiplier; /* 0.999999f */
extern volatile float fma_peak_addend;     /* 1e-6f     */

double fma_peak_scalar_run(long rounds); /* mulss + addss: what the -ffp-contract=off scalar
                                            reference kernel can issue                     */
#ifdef MLP_BENCH_HAVE_AVX2
double fma_peak_avx2_run(long rounds);   /* vfmadd on ymm */
#endif
#ifdef MLP_BENCH_HAVE_AVX512
double fma_peak_avx512_run(long rounds); /* vfmadd on zmm */
#endif
#ifdef MLP_BENCH_HAVE_NEON
double fma_peak_neon_run(long rounds);   /* fmla on 128-bit q registers */
#endif

/* Whether this CPU runs the ISA named like a kernel variant ("scalar", "avx2", "avx512",
 * "neon"); when not, *reason says why ("not compiled into this binary" included). */
int fma_peak_supported(const char *isa, const char **reason);

/* Peak FLOP/s of one core for the ISA: best of several short runs, measured once and cached.
 * 0 when the ISA is not supported. */
double fma_peak_flops(const char *isa);

/* The highest fma_peak_flops over the ISAs this CPU supports (the machine's peak, used for
 * the OpenBLAS rows); *isa (if non-NULL) receives which ISA. */
double fma_peak_best_flops(const char **isa);

/* Registers fma_peak/<isa>/... benchmarks, one per compiled ISA. */
void bench_register_fma_peak(void);

#endif
