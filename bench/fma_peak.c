/* Which FMA-peak loops exist, whether this CPU runs them, their cached peak, and the
 * fma_peak/<isa>/... benchmarks. Compiled for the baseline ISA: it only calls the ISA files
 * after checking support. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime, CLOCK_THREAD_CPUTIME_ID */
#include "fma_peak.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench_shim.h"
#include "mlp/common.h"
#include "mlp/kernels.h"

typedef struct fma_peak_isa {
    const char *name;        /* as the kernel variant: "scalar", "avx2", ... */
    const char *description; /* the loop, for the benchmark's name          */
    double (*run)(long rounds);
    double cached_flops;     /* 0 until measured */
} fma_peak_isa;

/* One per variant built into this binary: its table's loop (kernels/<name>/fma_peak_<name>.c). */
enum { ISA_MAX = 16 };
static fma_peak_isa isas[ISA_MAX];
static int isa_count = -1;

static void list_isas(void) {
    if (isa_count >= 0) return;
    int count;
    const mlp_kernel_variant *variants = mlp_kernels_variants(&count);
    isa_count = 0;
    for (int i = 0; i < count && isa_count < ISA_MAX; i++)
        if (variants[i].table && variants[i].table->fma_peak)
            isas[isa_count++] = (fma_peak_isa){variants[i].name, variants[i].table->fma_peak_loop,
                                               variants[i].table->fma_peak, 0.0};
}

static fma_peak_isa *find_isa(const char *name) {
    list_isas();
    for (int i = 0; i < isa_count; i++)
        if (strcmp(isas[i].name, name) == 0) return &isas[i];
    return NULL;
}

int fma_peak_supported(const char *isa, const char **reason) {
    if (find_isa(isa) == NULL) {
        if (reason) *reason = "no FMA-peak loop for this ISA in this binary";
        return 0;
    }
    /* the CPU must have what the variant of the same name requires (its loop uses no more) */
    int count;
    const mlp_kernel_variant *variants = mlp_kernels_variants(&count);
    for (int i = 0; i < count; i++)
        if (strcmp(variants[i].name, isa) == 0)
            return mlp_kernels_cpu_supports(variants[i].required_cpu_features, reason);
    if (reason) *reason = "not a kernel variant";
    return 0;
}

/* CPU time of the calling thread: unlike the wall clock it does not count time the thread
 * spends preempted by other processes on a busy machine (and Google Benchmark's default rates
 * divide by CPU time too). */
static double thread_cpu_seconds(void) {
    struct timespec now;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0) return mlp_wall_seconds();
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/* FLOP/s of one timed call of `rounds` rounds. */
static double measure_once(const fma_peak_isa *isa, long rounds) {
    double start = thread_cpu_seconds();
    double flops = isa->run(rounds);
    return flops / (thread_cpu_seconds() - start);
}

double fma_peak_flops(const char *name) {
    fma_peak_isa *isa = find_isa(name);
    if (isa == NULL || !fma_peak_supported(name, NULL)) return 0.0;
    if (isa->cached_flops > 0.0) return isa->cached_flops;
    /* Grow the round count until one call takes >= 1 ms, then keep the best of 15 calls of
     * ~4 ms: the best is the closest to the physical limit on a shared, noisy machine. */
    long rounds = 1024;
    double start = thread_cpu_seconds();
    isa->run(rounds);
    while (thread_cpu_seconds() - start < 1e-3) {
        rounds *= 2;
        start = thread_cpu_seconds();
        isa->run(rounds);
    }
    rounds *= 4;
    double best = 0.0;
    for (int trial = 0; trial < 15; trial++) {
        double flops = measure_once(isa, rounds);
        if (flops > best) best = flops;
    }
    isa->cached_flops = best;
    return best;
}

double fma_peak_best_flops(const char **best_isa) {
    double best = 0.0;
    list_isas();
    for (int i = 0; i < isa_count; i++) {
        /* a float peak: avx512_bf16's loop multiplies BF16 (its rows are BF16 GEMMs only) */
        const size_t length = strlen(isas[i].name);
        if (length >= 5 && strcmp(isas[i].name + length - 5, "_bf16") == 0) continue;
        double flops = fma_peak_flops(isas[i].name);
        if (flops > best) {
            best = flops;
            if (best_isa) *best_isa = isas[i].name;
        }
    }
    return best;
}

static void bench_fma_peak(bench_state *state, void *argument) {
    const fma_peak_isa *isa = argument;
    const char *reason;
    if (!fma_peak_supported(isa->name, &reason)) {
        bench_skip(state, reason);
        return;
    }
    const long rounds = 100000; /* ~0.1-1 ms per iteration, loop overhead negligible */
    double flops = 0.0;
    while (bench_keep_running(state)) flops += isa->run(rounds);
    bench_set_counter(state, "FLOP/s", flops, BENCH_RATE);
}

void bench_register_fma_peak(void) {
    list_isas();
    for (int i = 0; i < isa_count; i++) {
        char name[96];
        snprintf(name, sizeof name, "fma_peak/%s/%s", isas[i].name, isas[i].description);
        bench_time_unit_set(bench_register(name, bench_fma_peak, &isas[i]), BENCH_MICROSECOND);
    }
}
