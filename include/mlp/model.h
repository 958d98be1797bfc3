/* A multilayer perceptron: its shape, its parameters in one contiguous buffer, He initialisation,
 * and the versioned model file. */
#ifndef MLP_MODEL_H
#define MLP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mlp/common.h"
#include "mlp/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MLP_MAX_LAYERS 32           /* weight layers */
#define MLP_MAX_WIDTH (1 << 20)     /* units in one layer */
#define MLP_MAX_PARAMETERS ((size_t)1 << 30) /* 4 GiB of float32: refuse anything larger */

typedef enum mlp_output {
    MLP_OUTPUT_SOFTMAX = 0,  /* softmax + categorical cross-entropy over the classes      */
    MLP_OUTPUT_SIGMOID = 1,  /* one sigmoid unit + binary cross-entropy (the "is it a 3?") */
} mlp_output;

typedef struct mlp_model {
    int layer_count;                  /* weight layers; sizes has layer_count + 1 entries */
    int sizes[MLP_MAX_LAYERS + 1];    /* units per layer, input first                    */
    mlp_activation hidden_activation; /* applied after every layer but the last          */
    mlp_output output;
    size_t parameter_count;
    /* Layer l's weights W_l [sizes[l] × sizes[l+1]] (row p = input unit p) then its biases
     * b_l [sizes[l+1]], for l = 0, 1, ...: all in one 64-byte aligned buffer. */
    float *parameters;
    size_t weight_offset[MLP_MAX_LAYERS];
    size_t bias_offset[MLP_MAX_LAYERS];
} mlp_model;

/* Parses "784,128,64,10" into sizes; one-line error on an empty field, a non-number, a size < 1
 * or > MLP_MAX_WIDTH, fewer than two sizes or more than MLP_MAX_LAYERS + 1. */
int mlp_model_parse_layers(const char *text, int *sizes, int *count, mlp_error *error);
int mlp_model_parse_activation(const char *text, mlp_activation *activation, mlp_error *error);
const char *mlp_model_activation_name(mlp_activation activation);

/* Allocates parameters (zeroed) for the given shape; checks the parameter count for overflow and
 * against MLP_MAX_PARAMETERS before allocating. */
int mlp_model_create(mlp_model *model, const int *sizes, int count, mlp_activation hidden_activation,
                 mlp_output output, mlp_error *error);
void mlp_model_free(mlp_model *model);

/* He initialisation: W ~ N(0, 2 / fan_in), biases 0, drawn layer by layer, row by row, from
 * rng_normal seeded with `seed`. */
void mlp_model_init_he(mlp_model *model, uint64_t seed);

static inline float *mlp_model_weights(const mlp_model *model, int layer) {
    return model->parameters + model->weight_offset[layer];
}
static inline float *mlp_model_biases(const mlp_model *model, int layer) {
    return model->parameters + model->bias_offset[layer];
}

/* The model file (format version 1, all integers little-endian):
 *   8 bytes  magic "MLPMODEL"
 *   u32      format version (1)
 *   u32      number of sizes S (= layers + 1)
 *   u32      hidden activation (0 none, 1 relu, 2 sigmoid, 3 tanh)
 *   u32      output (0 softmax, 1 sigmoid)
 *   u32 × S  layer sizes
 *   u64      parameter count P
 *   f32 × P  parameters, in the order of mlp_model.parameters
 *   u32      CRC-32 (zlib) of every byte before it
 * Written to a temporary file beside the target, fsynced, renamed over it, directory fsynced:
 * a crash or a failed run never leaves a half-written model in place of a good one. */
#define MLP_MODEL_FORMAT_VERSION 1u
int mlp_model_save(const mlp_model *model, const char *path, mlp_error *error);
/* Loads and checks magic, version, sizes, parameter count, length and checksum; one-line errors
 * naming the file ("model.mlp: checksum mismatch (file damaged)"). */
int mlp_model_load(mlp_model *model, const char *path, mlp_error *error);

/* Serialises into / parses from a memory buffer (used by model_save/model_load, checkpoints and
 * the fuzzer). model_serialize returns a malloc'ed buffer. */
int mlp_model_serialize(const mlp_model *model, uint8_t **bytes, size_t *size, mlp_error *error);
int mlp_model_deserialize(mlp_model *model, const uint8_t *bytes, size_t size, const char *name,
                      mlp_error *error);

#ifdef __cplusplus
}
#endif
#endif
