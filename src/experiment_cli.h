/* Helpers the experiment subcommands (sweep, binary, weights, plot) share. */
#ifndef MLP_EXPERIMENT_CLI_H
#define MLP_EXPERIMENT_CLI_H

#include <stddef.h>

#include "mlp/common.h"

/* The output folder: `out` (created with its parents) when given, else a fresh
 * runs/YYYYmmdd-HHMMSS (with -2, -3, ... when taken). path receives it. */
int experiment_output_folder(const char *out, char *path, size_t size, mlp_error *error);

/* The picture shape of an input layer of `features` pixels: 28 × 28 for MNIST, the square when
 * features is one, else a single row. */
void experiment_image_shape(int features, int *rows, int *cols);

#endif
