/* Models that leave and enter: ONNX (export only), safetensors and NumPy .npz (both ways).
 *
 *   ONNX         a graph of Gemm (+ Relu/Sigmoid/Tanh) per layer ending in Softmax (or Sigmoid for
 *                a one-unit sigmoid output); input "pixels" float32 [N, inputs] scaled to 0..1,
 *                or uint8 [N, inputs] with Cast + Mul(1/255) inside the graph; output
 *                "probabilities" float32 [N, outputs]. IR version 8, opset 13. Encoded with
 *                protobuf-c from libonnx-dev's onnx.proto.
 *   safetensors  "layers.{l}.weight" float32 [out, in] (PyTorch nn.Linear's orientation: the
 *                transpose of the model's W_l) and "layers.{l}.bias" [out]; __metadata__ holds
 *                format "mlptrain", layers "784,128,64,10", activation, output.
 *   npz          a zip of NumPy .npy files "W{l}.npy" float32 [in, out] (the model's own
 *                orientation, the study's NumPy code's) and "b{l}.npy" [out]; stored, not
 *                compressed, with fixed timestamps so the same model gives the same bytes.
 *
 * Readers take files written by other programs (PyTorch, numpy.savez) and accept exactly an MLP
 * of this shape: float32 tensors, weights of rank 2, biases of rank 1, consecutive sizes that
 * match, every layer with both, finite values, nothing else. Errors are one line naming the file
 * and the tensor ("m.npz: W1 has 64 rows but W0 has 128 columns"). Export then import gives the
 * same parameters bit for bit. */
#ifndef MLP_INTEROP_H
#define MLP_INTEROP_H

#include <stddef.h>
#include <stdint.h>

#include "mlp/common.h"
#include "mlp/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mlp_interop_format {
    MLP_INTEROP_ONNX = 0,
    MLP_INTEROP_SAFETENSORS = 1,
    MLP_INTEROP_NPZ = 2,
} mlp_interop_format;

/* "onnx", "safetensors", "npz"; interop_parse_format returns -1 for anything else. */
const char *mlp_interop_format_name(mlp_interop_format format);
int mlp_interop_parse_format(const char *text, mlp_interop_format *format);

typedef enum mlp_interop_onnx_input {
    MLP_INTEROP_ONNX_INPUT_FLOAT = 0, /* float32 pixels already scaled to 0..1           */
    MLP_INTEROP_ONNX_INPUT_UINT8 = 1, /* uint8 pixels 0..255: Cast + Mul(1/255) in the graph */
} mlp_interop_onnx_input;

/* What an imported file may not say. */
typedef struct mlp_interop_import_options {
    /* The hidden activation. MLP_ACTIVATION_NONE: the file's (safetensors __metadata__); an
     * error when it has none and the model has hidden layers. Given and different from the
     * file's: an error. */
    mlp_activation activation;
    /* -1: the file's __metadata__ output, else softmax. */
    int output;
} mlp_interop_import_options;

/* Serialisers: a malloc'ed buffer in *bytes (free with free()). */
int mlp_interop_onnx_serialize(const mlp_model *model, mlp_interop_onnx_input input, uint8_t **bytes,
                           size_t *size, mlp_error *error);
int mlp_interop_safetensors_serialize(const mlp_model *model, uint8_t **bytes, size_t *size,
                                  mlp_error *error);
int mlp_interop_npz_serialize(const mlp_model *model, uint8_t **bytes, size_t *size, mlp_error *error);

/* Parsers: `name` (the file name) starts every error message. On success *model is created
 * (model_free it); on failure nothing is left allocated. */
int mlp_interop_safetensors_deserialize(mlp_model *model, const uint8_t *bytes, size_t size,
                                    const char *name, const mlp_interop_import_options *options,
                                    mlp_error *error);
int mlp_interop_npz_deserialize(mlp_model *model, const uint8_t *bytes, size_t size, const char *name,
                            const mlp_interop_import_options *options, mlp_error *error);

/* Serialise and write atomically (file_write_atomic: temporary file, fsync, rename). onnx_input
 * matters only for INTEROP_ONNX. */
int mlp_interop_save(const mlp_model *model, mlp_interop_format format, mlp_interop_onnx_input onnx_input,
                 const char *path, mlp_error *error);
/* Read and parse a safetensors or npz file (ONNX is not read back). */
int mlp_interop_load(mlp_model *model, mlp_interop_format format, const char *path,
                 const mlp_interop_import_options *options, mlp_error *error);

#ifdef __cplusplus
}
#endif
#endif
