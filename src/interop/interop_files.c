/* Export and import through files: serialise then write atomically; read whole then parse. */
#include <stdlib.h>
#include <string.h>

#include "interop_layers.h"
#include "core/file_util.h"

int mlp_interop_save(const mlp_model *model, mlp_interop_format format, mlp_interop_onnx_input onnx_input,
                 const char *path, mlp_error *error) {
    uint8_t *bytes = NULL;
    size_t size = 0;
    int status;
    switch (format) {
    case MLP_INTEROP_ONNX: status = mlp_interop_onnx_serialize(model, onnx_input, &bytes, &size, error); break;
    case MLP_INTEROP_SAFETENSORS: status = mlp_interop_safetensors_serialize(model, &bytes, &size, error); break;
    case MLP_INTEROP_NPZ: status = mlp_interop_npz_serialize(model, &bytes, &size, error); break;
    default: return mlp_error_set(error, "%s: unknown export format %d", path, (int)format);
    }
    if (status != 0) return -1;
    status = mlp_file_write_atomic(path, bytes, size, error);
    free(bytes);
    return status;
}

/* Largest file a reader takes: the parameter limit in float32 plus room for headers. */
#define INTEROP_MAX_FILE_SIZE (MLP_MAX_PARAMETERS * 4 + ((size_t)64 << 20))

int mlp_interop_load(mlp_model *model, mlp_interop_format format, const char *path,
                 const mlp_interop_import_options *options, mlp_error *error) {
    memset(model, 0, sizeof *model);
    if (format != MLP_INTEROP_SAFETENSORS && format != MLP_INTEROP_NPZ)
        return mlp_error_set(error, "%s: %s files cannot be imported (safetensors or npz)", path,
                         mlp_interop_format_name(format));
    uint8_t *bytes;
    size_t size;
    if (mlp_file_read_all(path, INTEROP_MAX_FILE_SIZE, &bytes, &size, error) != 0) return -1;
    int status = format == MLP_INTEROP_SAFETENSORS
                     ? mlp_interop_safetensors_deserialize(model, bytes, size, path, options, error)
                     : mlp_interop_npz_deserialize(model, bytes, size, path, options, error);
    free(bytes);
    return status;
}
