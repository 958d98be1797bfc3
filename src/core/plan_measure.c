/* Measuring the machine facts of a plan at start, in a few milliseconds: the cache sizes
 * (hwloc), the kernel variant's per-core FMA peak (its table's fma_peak loop) and one barrier of
 * the OpenMP team training will use. See include/mlp/plan.h. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime, CLOCK_THREAD_CPUTIME_ID */
#include "mlp/plan.h"

#include <omp.h>
#include <stdlib.h>
#include <time.h>

#include "core/affinity.h"
#include "gemm_driver.h"

/* CPU time of the calling thread: unlike the wall clock it does not count the time the thread
 * spends preempted on a busy machine. */
static double thread_cpu_seconds(void) {
    struct timespec now;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0) return mlp_wall_seconds();
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/* Measuring stops at these wall-clock budgets whatever it has gathered by then: on a busy
 * machine a preempted thread can stretch a barrier from a microsecond to a time slice, and the
 * start of a run must stay fast (the issue: well under 0.5 s). */
#define FMA_PEAK_BUDGET_SECONDS 0.02
#define BARRIER_BUDGET_SECONDS 0.03

/* GFLOP/s of one core in the variant's FMA loop: the round count doubled until a call takes
 * 0.25 ms, then the best of up to 8 such calls (the best is the closest to the physical limit on
 * a shared machine). About 3 ms; bench's fma_peak measures longer, to the same loop. */
static double measure_fma_peak(const mlp_kernel_table *kernels) {
    if (!kernels->fma_peak) return 0.0;
    const double begin = mlp_wall_seconds();
    long rounds = 256;
    double start = thread_cpu_seconds();
    kernels->fma_peak(rounds);
    while (thread_cpu_seconds() - start < 0.25e-3 && rounds < (1L << 30)) {
        rounds *= 2;
        start = thread_cpu_seconds();
        kernels->fma_peak(rounds);
    }
    double best = 0.0;
    for (int trial = 0; trial < 8; trial++) {
        start = thread_cpu_seconds();
        double flops = kernels->fma_peak(rounds);
        double seconds = thread_cpu_seconds() - start;
        if (seconds > 0.0 && flops / seconds > best) best = flops / seconds;
        if (mlp_wall_seconds() - begin > FMA_PEAK_BUDGET_SECONDS) break;
    }
    return best * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Microseconds per barrier of a team of `threads`: the median over up to BARRIER_BATCHES batches
 * of BARRIER_ROUNDS barriers each (the master's wall clock; a batch in which the VM preempted a
 * thread does not move the median), after a warm-up that starts the team's threads; the master
 * stops the batches when BARRIER_BUDGET_SECONDS are spent. */
enum { BARRIER_BATCHES = 15, BARRIER_ROUNDS = 64 };
static double measure_barrier_us(int threads) {
    if (threads < 2) return 0.0;
    double batch_seconds[BARRIER_BATCHES];
    int batches = 0, stop = 0;
    const double begin = mlp_wall_seconds();
#pragma omp parallel num_threads(threads)
    {
        for (int warm = 0; warm < 32; warm++) {
#pragma omp barrier
        }
        for (int batch = 0; batch < BARRIER_BATCHES; batch++) {
            double start = mlp_wall_seconds();
            for (int round = 0; round < BARRIER_ROUNDS; round++) {
#pragma omp barrier
            }
            if (omp_get_thread_num() == 0) {
                double now = mlp_wall_seconds();
                batch_seconds[batches++] = now - start;
                stop = now - begin > BARRIER_BUDGET_SECONDS;
            }
#pragma omp barrier
            if (stop) break; /* every thread reads the master's decision after the barrier */
        }
    }
    qsort(batch_seconds, (size_t)batches, sizeof batch_seconds[0], compare_doubles);
    return batch_seconds[batches / 2] / BARRIER_ROUNDS * 1e6;
}

void mlp_plan_measure(mlp_plan *plan, const mlp_kernel_table *kernels, int threads) {
    double start = mlp_wall_seconds();
    mlp_plan_defaults(plan, kernels);
    mlp_machine_facts *m = &plan->machine;
    mlp_affinity_cache_sizes(&m->l1d_bytes, &m->l2_bytes, &m->l3_bytes);
    m->fma_peak_gflops = measure_fma_peak(kernels);
    /* a plan may serve later runs with more threads: a one-thread run still measures a pair */
    m->barrier_threads = threads > 1 ? threads : (mlp_affinity_available_cores() > 1 ? 2 : 1);
    m->barrier_us = measure_barrier_us(m->barrier_threads);

    const gemm_driver *d = kernels->gemm_driver;
    if (d) {
        const int tile_rows = d->tall_micro_kernels[0] ? 2 * d->mr : d->mr;
        plan->blocking = mlp_plan_derive_blocking(m->l2_bytes, m->l3_bytes, tile_rows,
                                                  d->max_vectors * d->width, plan->blocking);
    }
    plan->min_flops_per_thread = mlp_plan_derive_split_flops(m->fma_peak_gflops, m->barrier_us);
    plan->source = MLP_PLAN_MEASURED;
    plan->measure_seconds = mlp_wall_seconds() - start;
}
