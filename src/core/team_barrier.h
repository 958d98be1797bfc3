/* The barrier of a training team: what every `#pragma omp barrier` of the step, the epoch loop
 * and evaluation was, without libgomp's system call.
 *
 * libgomp's barrier (gcc 12) ends with futex_wake on the barrier word whoever waits: one system
 * call per barrier even in a team of one, about 1.1 µs in these VMs (paravirtualised syscalls),
 * against a 784,128,64,10 step of 150-200 µs at batch 64 with a dozen barriers. This one is a
 * counter and a generation on their own cache lines: arriving threads add to the counter, the
 * last resets it and publishes the next generation (release), the others spin on the generation
 * (acquire), with a pause in the loop and, after a while, sched_yield so a team with more threads
 * than cores (--oversubscribe) still progresses. Every write before the barrier by any thread
 * happens before every read after it, as with the OpenMP barrier. A team of one returns at once.
 *
 * MLP_OPENMP_BARRIER=1 in the environment makes mlp_team_barrier_create return NULL, and a NULL
 * barrier is the OpenMP one (for measuring the difference). */
#ifndef MLP_INTERNAL_TEAM_BARRIER_H
#define MLP_INTERNAL_TEAM_BARRIER_H

typedef struct mlp_team_barrier mlp_team_barrier;

/* A barrier for teams of any size (one team at a time), or NULL: out of memory, or
 * MLP_OPENMP_BARRIER=1. */
mlp_team_barrier *mlp_team_barrier_create(void);
void mlp_team_barrier_free(mlp_team_barrier *barrier);

/* Collective: every thread of the calling OpenMP team; NULL: `#pragma omp barrier`. */
void mlp_team_barrier_wait(mlp_team_barrier *barrier);

#endif
