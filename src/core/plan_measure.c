/* Measuring the machine facts of a plan at start, in a few milliseconds: the cache sizes
 * (hwloc), the kernel variant's per-core FMA peak (its table's fma_peak loop) and one barrier of
 * the OpenMP team training will use. See include/mlp/plan.h. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime, CLOCK_THREAD_CPUTIME_ID */
#include "mlp/plan.h"

#include <omp.h>
#include <stdlib.h>
#include <time.h>

#include "core/affinity.h"
#include "core/team_barrier.h"
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

/* Microseconds per barrier with a handoff, in a team of `threads`: each thread writes its own
 * HANDOFF_FLOATS block, the team waits at the step's barrier (src/core/team_barrier.h), and
 * each thread reads the block of the next thread: what a layer step split over the team adds to
 * its flops (the barrier after it, and the activations written by one core read by another),
 * so the split threshold is derived from it (mlp_plan_derive_split_flops). The block is 16 KiB,
 * half of the 64 x 128 activations of the default network at batch 64; the remote read is what
 * tells the two states of a 2-vCPU VM apart (vCPUs near each other or far apart, docs/threads.md).
 * The median over up to HANDOFF_BATCHES batches of HANDOFF_ROUNDS rounds each (the master's wall
 * clock; a batch in which the VM preempted a thread does not move the median), after warm-up
 * rounds that start the team's threads; the master stops the batches when
 * BARRIER_BUDGET_SECONDS are spent. Each thread is bound to its own core meanwhile
 * (mlp_affinity_thread_spread): a one-thread run is bound to one core before its plan is made,
 * and the pair it measures for later runs inherited that binding (both threads on one core: a
 * "barrier" of a time slice, 4000 us, and 0.4 s spent measuring it). */
enum { HANDOFF_BATCHES = 15, HANDOFF_ROUNDS = 32, HANDOFF_FLOATS = 4096 };
static double measure_barrier_us(int threads) {
    if (threads < 2) return 0.0;
    double batch_seconds[HANDOFF_BATCHES];
    int batches = 0, stop = 0;
    float *blocks = mlp_aligned_calloc((size_t)threads * HANDOFF_FLOATS, sizeof(float));
    if (!blocks) return 0.0;
    mlp_team_barrier *barrier = mlp_team_barrier_create(); /* NULL: the OpenMP barrier */
    volatile float sink = 0.0f;
    const double begin = mlp_wall_seconds();
#pragma omp parallel num_threads(threads)
    {
        const int thread = omp_get_thread_num(), team = omp_get_num_threads();
        affinity_saved_mask own_mask;
        mlp_affinity_thread_spread(thread, &own_mask);
        float *own = blocks + (size_t)thread * HANDOFF_FLOATS;
        const float *next = blocks + (size_t)((thread + 1) % team) * HANDOFF_FLOATS;
        float sum = 0.0f;
        /* batch -1 is the warm-up */
        for (int batch = -1; batch < HANDOFF_BATCHES && !stop; batch++) {
            const double start = mlp_wall_seconds();
            for (int round = 0; round < HANDOFF_ROUNDS; round++) {
                for (int i = 0; i < HANDOFF_FLOATS; i += 16) own[i] = (float)(round + i);
                mlp_team_barrier_wait(barrier);
                for (int i = 0; i < HANDOFF_FLOATS; i += 16) sum += next[i]; /* one per line */
                mlp_team_barrier_wait(barrier); /* read before it is written again */
            }
            if (thread == 0 && batch >= 0) {
                const double now = mlp_wall_seconds();
                batch_seconds[batches++] = now - start;
                stop = now - begin > BARRIER_BUDGET_SECONDS;
            }
            mlp_team_barrier_wait(barrier); /* every thread reads the master's decision */
        }
#pragma omp atomic
        sink += sum;
        /* the master back where the run bound it; the others stay on their own cores, where a
         * team of this size runs anyway (and where their idle spinning disturbs no one) */
        if (thread == 0) mlp_affinity_thread_restore(&own_mask);
    }
    mlp_team_barrier_free(barrier);
    mlp_aligned_free(blocks);
    if (batches == 0) return 0.0;
    qsort(batch_seconds, (size_t)batches, sizeof batch_seconds[0], compare_doubles);
    return batch_seconds[batches / 2] / HANDOFF_ROUNDS * 1e6;
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
