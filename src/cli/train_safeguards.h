/* Process-level safeguards of a training run (src/train_safeguards.c). */
#ifndef MLP_TRAIN_SAFEGUARDS_H
#define MLP_TRAIN_SAFEGUARDS_H

#include <signal.h>

#include "mlp/common.h"

/* Set by SIGINT/SIGTERM (to the signal's number); the trainer stops after the current batch. */
extern volatile sig_atomic_t train_stop_signal;

/* One-shot handlers for SIGINT and SIGTERM: a second Ctrl-C kills the process the usual way. */
void install_stop_handlers(void);

/* A run in `folder` that a signal interrupted (MLP_RUN_INTERRUPTED, `where` from the run): rank 0
 * says where it stopped and how to continue, every rank leaves the MPI job, and the process exits
 * 128 + the signal's number. The one exit path of train and sweep for interruptions. */
void exit_interrupted(const char *folder, const mlp_error *where);

/* --trap-fp: unmasks invalid, divide-by-zero and overflow in the calling thread and in every
 * thread of an OpenMP team of `threads`; a trap prints which exception it was and dies by SIGFPE. */
void enable_fp_traps(int threads);

/* Whether the option was on the command line (as "--name VALUE" or "--name=VALUE"). */
int option_given(int argc, char **argv, int first, const char *name);

/* Parameters + gradients (+ the best model for --patience) and the activation buffers of a
 * batch, checked against the parameter limit and the machine's memory before allocating. */
int check_training_fits_memory(const char *layers, const int *sizes, int count, int batch,
                               int keep_best, mlp_error *error);

#endif
