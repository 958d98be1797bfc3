/* The rest of the machine in the bench JSON context (bench_main.c records the CPU model, the ISA
 * features kernels.h detects, the compiler, the commit and the measured FMA peaks): CPUID
 * family/model/stepping, the ISA extensions the kernels do not use yet, the cache sizes (with a
 * flag on the L3 that VMs misreport), the default kernel variant and the thread plan. */
#ifndef MLP_BENCH_CONTEXT_H
#define MLP_BENCH_CONTEXT_H

#ifdef __cplusplus
extern "C" {
#endif

void bench_add_machine_context(void);

#ifdef __cplusplus
}
#endif
#endif
