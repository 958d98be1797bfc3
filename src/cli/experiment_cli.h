/* Helpers the experiment subcommands (sweep, binary, weights, plot) share. */
#ifndef MLP_EXPERIMENT_CLI_H
#define MLP_EXPERIMENT_CLI_H

#include <stddef.h>

#include "mlp/common.h"

/* The picture shape of an input layer of `features` pixels: 28 × 28 for MNIST, the square when
 * features is one, else a single row. */
void experiment_image_shape(int features, int *rows, int *cols);

#endif
