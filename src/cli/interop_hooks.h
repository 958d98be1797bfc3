/* What the interop work added to existing commands, kept out of their files (src/cli/interop_hooks.c):
 *   eval --write-probabilities FILE   every test image's output probabilities
 *   train --init-model FILE           start from a saved (e.g. imported) model instead of He init
 *   train --write-order FILE          the training indices of every epoch, in the order trained */
#ifndef MLP_INTEROP_HOOKS_H
#define MLP_INTEROP_HOOKS_H

#include "mlp/data.h"
#include "mlp/model.h"
#include "mlp/network.h"
#include "mlp/train.h"

/* Runs the model over every example of data in order and writes the output probabilities,
 * data->count rows of `outputs` little-endian float32 values (row i = example i), atomically.
 * The same forward pass as evaluate (bitwise: kernels are split-independent). */
int eval_write_probabilities(mlp_network *network, const mlp_dataset *data, const char *path,
                             mlp_error *error);

/* --init-model: loads the model and takes the training shape from it. A --layers or
 * --activation given on the command line that differs from the model's is a usage error.
 * Returns 0, or the exit code (CLI_EXIT_USAGE / CLI_EXIT_RUNTIME) with the message in error. */
int train_load_init_model(const char *path, int argc, char **argv, int first, const char *layers,
                          const char *activation_name, mlp_model *model, int *sizes, int *count,
                          mlp_activation *activation, mlp_error *error);

/* --write-order: epochs rows of train_count little-endian int32 training-set indices (row e =
 * epoch e + 1, trainer_epoch_order), written atomically before training starts. */
int train_write_order(const mlp_trainer *trainer, int epochs, const char *path, mlp_error *error);

#endif
