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

/* Per variant of kernels/variants.def that has a loop (bench/fma_peak_<name>.c; CMake defines
 * MLP_BENCH_FMA_PEAK_<name> 1 for those it builds, 0 for the others):
 *   fma_peak_<name>_run   the loop (scalar: mulss + addss, what the -ffp-contract=off scalar
 *                         reference can issue; avx2/avx512: vfmadd on ymm/zmm; neon: fmla on
 *                         128-bit q registers; avx512_bf16: vdpbf16ps on zmm; neon_bf16:
 *                         bfdot on q registers)
 *   fma_peak_<name>_loop  its description, the last part of the benchmark's name */
#define MLP_KERNEL_VARIANT(name, arch, required, flags) \
    double fma_peak_##name##_run(long rounds);          \
    extern const char fma_peak_##name##_loop[];
#include "variants.def"

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
