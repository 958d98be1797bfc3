/* Inside the interop library: the tensors a reader found, checked and assembled into a model by
 * one function, so the safetensors and npz readers give the same errors for the same mistakes. */
#ifndef MLP_INTEROP_LAYERS_H
#define MLP_INTEROP_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "mlp/interop.h"

#define INTEROP_MAX_RANK 8 /* readers reject more dimensions before the layer checks */

/* One float32 tensor as a reader found it, not yet checked against the MLP's shape. */
typedef struct interop_tensor {
    int present;
    char name[48];                   /* as in the file: "layers.0.weight", "W0"           */
    int rank;
    uint64_t shape[INTEROP_MAX_RANK];
    const uint8_t *data;             /* little-endian float32, product(shape) elements      */
    int column_major;                /* npy fortran_order: element (i, j) at j * rows + i   */
} interop_tensor;

typedef struct interop_layer_set {
    const char *file;                 /* for the messages                                  */
    int weights_out_in;               /* 1: weights [out, in] (PyTorch), 0: [in, out] (NumPy) */
    const char *weight_name;          /* printf format of a weight's name: "W%d"           */
    const char *bias_name;            /* and of a bias's: "b%d"                            */
    int layer_count;                  /* 1 + the highest layer index seen                  */
    interop_tensor weight[MLP_MAX_LAYERS];
    interop_tensor bias[MLP_MAX_LAYERS];
} interop_layer_set;

/* Checks the set is an MLP (every layer 0..layer_count-1 has a rank-2 weight and a rank-1 bias,
 * consecutive sizes match, sizes within MLP_MAX_WIDTH, every value finite), that `declared`
 * (metadata "784,128,10", or NULL) agrees, then creates *model and copies the parameters in
 * (transposing [out, in] weights). */
int mlp_interop_layers_build(const interop_layer_set *set, const char *declared_layers,
                         mlp_activation activation, mlp_output output, mlp_model *model,
                         mlp_error *error);

/* The activation and output a model gets: options first, then the file's (NULL when it says
 * nothing), checked for disagreement. */
int mlp_interop_resolve_kind(const char *file, const mlp_interop_import_options *options,
                         const char *file_activation, const char *file_output, int hidden_layers,
                         mlp_activation *activation, mlp_output *output, mlp_error *error);

/* "784,128,64,10" for the model (metadata and messages). */
void mlp_interop_layers_text(const mlp_model *model, char *text, size_t size);

/* Parses a layer index: decimal digits without a leading zero (but "0"), below MLP_MAX_LAYERS.
 * Returns the index, or -1. */
int mlp_interop_parse_layer_index(const char *digits, size_t length);

static inline uint32_t interop_float_bits(float value) {
    union { float f; uint32_t u; } pun = {.f = value};
    return pun.u;
}
static inline float interop_bits_float(uint32_t bits) {
    union { uint32_t u; float f; } pun = {.u = bits};
    return pun.f;
}

#endif
