/* Export and import through files: serialise then write atomically; read whole then parse. */
#include <stdlib.h>
#include <string.h>

#include "interop_layers.h"
#include "core/file_util.h"

int interop_save(const mlp_model *model, interop_format format, interop_onnx_input onnx_input,
                 const char *path, mlp_error *error) {
    uint8_t *bytes = NULL;
    size_t size = 0;
    int status;
    switch (format) {
    case INTEROP_ONNX: status = interop_onnx_serialize(model, onnx_input, &bytes, &size, error); break;
    case INTEROP_SAFETENSORS: status = interop_safetensors_serialize(model, &bytes, &size, error); break;
    case INTEROP_NPZ: status = interop_npz_serialize(model, &bytes, &size, error); break;
    default: return error_set(error, "%s: unknown export format %d", path, (int)format);
    }
    if (status != 0) return -1;
    status = file_write_atomic(path, bytes, size, error);
    free(bytes);
    return status;
}

/* Largest file a reader takes: the parameter limit in float32 plus room for headers. */
#define INTEROP_MAX_FILE_SIZE (MLP_MAX_PARAMETERS * 4 + ((size_t)64 << 20))

int interop_load(mlp_model *model, interop_format format, const char *path,
                 const interop_import_options *options, mlp_error *error) {
    memset(model, 0, sizeof *model);
    if (format != INTEROP_SAFETENSORS && format != INTEROP_NPZ)
        return error_set(error, "%s: %s files cannot be imported (safetensors or npz)", path,
                         interop_format_name(format));
    uint8_t *bytes;
    size_t size;
    if (file_read_all(path, INTEROP_MAX_FILE_SIZE, &bytes, &size, error) != 0) return -1;
    int status = format == INTEROP_SAFETENSORS
                     ? interop_safetensors_deserialize(model, bytes, size, path, options, error)
                     : interop_npz_deserialize(model, bytes, size, path, options, error);
    free(bytes);
    return status;
}
