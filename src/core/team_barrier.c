/* A counter-and-generation barrier for the training team (see team_barrier.h). */
#define _GNU_SOURCE /* sched_yield */
#include "core/team_barrier.h"

#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/affinity.h"
#include "core/timeline.h"
#include "mlp/common.h"

/* Spins (each with a CPU pause) before a waiting thread starts yielding its core: about
 * 0.3 ms on Zen 5, longer than any wait between two layer steps of a training step. A team with
 * more threads than available cores yields at once: the thread it waits for may need its core;
 * so does every team under OMP_WAIT_POLICY=passive (valgrind runs one thread at a time). */
#define SPINS_BEFORE_YIELD 20000

struct mlp_team_barrier {
    _Alignas(64) atomic_int arrived;    /* threads at the current barrier                  */
    _Alignas(64) atomic_int generation; /* barriers completed; waiters watch it change      */
    int cores;                          /* available cores (mlp_affinity_available_cores)   */
    int passive;                        /* OMP_WAIT_POLICY=passive: never spin              */
};

mlp_team_barrier *mlp_team_barrier_create(void) {
    const char *openmp = getenv("MLP_OPENMP_BARRIER");
    if (openmp && strcmp(openmp, "1") == 0) return NULL;
    mlp_team_barrier *barrier = mlp_aligned_calloc(1, sizeof *barrier);
    if (!barrier) return NULL;
    atomic_init(&barrier->arrived, 0);
    atomic_init(&barrier->generation, 0);
    barrier->cores = mlp_affinity_available_cores();
    const char *policy = getenv("OMP_WAIT_POLICY");
    barrier->passive = policy && strcasecmp(policy, "passive") == 0;
    return barrier;
}

void mlp_team_barrier_free(mlp_team_barrier *barrier) { mlp_aligned_free(barrier); }

static inline void cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void wait_for_team(mlp_team_barrier *barrier, int threads) {
    if (!barrier) {
#pragma omp barrier
        return;
    }
    /* read before arriving: the generation cannot move until this thread has arrived */
    const int generation = atomic_load_explicit(&barrier->generation, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&barrier->arrived, 1, memory_order_acq_rel) == threads - 1) {
        /* the last one: every other thread's writes are visible here (the counter's release
         * sequence); reset, then release them all */
        atomic_store_explicit(&barrier->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&barrier->generation, generation + 1, memory_order_release);
        return;
    }
    const long spin_limit = threads <= barrier->cores && !barrier->passive ? SPINS_BEFORE_YIELD : 0;
    for (long spins = 0;
         atomic_load_explicit(&barrier->generation, memory_order_acquire) == generation; spins++) {
        if (spins < spin_limit)
            cpu_pause();
        else
            sched_yield();
    }
}

void mlp_team_barrier_wait(mlp_team_barrier *barrier) {
    const int threads = omp_get_num_threads();
    if (threads == 1) return;
    mlp_timeline_mark(MLP_TIMELINE_BARRIER_ARRIVE, 0, 0);
    wait_for_team(barrier, threads);
    mlp_timeline_mark(MLP_TIMELINE_BARRIER_LEAVE, 0, 0);
}
