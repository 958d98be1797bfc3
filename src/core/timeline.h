/* The step timeline (MLP_TIMELINE=FILE): every training thread's own clock readings at the
 * start of each step, at each timed phase's start and end (the --profile phases: a layer's
 * forward GEMM, input gradient, weight gradient and update, bias, softmax) and on arriving at
 * and leaving each barrier, written to FILE as CSV (temporary file, fsync, rename) when the
 * trainer is freed. Unlike --profile, which closes every phase with a barrier and books the
 * slowest thread, it adds no barrier: it shows what each thread does and how long it waits for
 * the other (docs/threads.md, "The step timeline"; scripts/step_timeline.py summarises a
 * file). A clock reading costs about 30 ns; with MLP_TIMELINE unset a mark is one test of a
 * global flag. */
#ifndef MLP_CORE_TIMELINE_H
#define MLP_CORE_TIMELINE_H

#include "mlp/profile.h"

typedef enum mlp_timeline_event {
    MLP_TIMELINE_STEP,          /* a training step begins (the trainer's loop)   */
    MLP_TIMELINE_PHASE_START,   /* a timed phase begins                          */
    MLP_TIMELINE_PHASE_END,     /* ... ends: its layer and kernel                */
    MLP_TIMELINE_BARRIER_ARRIVE,
    MLP_TIMELINE_BARRIER_LEAVE,
} mlp_timeline_event;

extern int mlp_timeline_recording; /* 1 between timeline_start and timeline_finish */

/* Starts recording the steps of `owner` (the trainer) for teams of up to `threads` threads when
 * MLP_TIMELINE names a file. One recording per process: the first trainer's (a sweep's later
 * trainers, and the ranks of an MPI run after the first on a machine, would write the same
 * file). */
void mlp_timeline_start(const void *owner, int threads);
/* When `owner` is the one recording: writes the file (a one-line warning on stderr when it
 * cannot) and stops recording. */
void mlp_timeline_finish(const void *owner);

void mlp_timeline_record(mlp_timeline_event event, int layer, mlp_profile_kernel kernel);

/* The calling thread's event (layer, kernel: of a phase's end; else unused), when recording. */
static inline void mlp_timeline_mark(mlp_timeline_event event, int layer, mlp_profile_kernel kernel) {
    if (mlp_timeline_recording) mlp_timeline_record(event, layer, kernel);
}

#endif
