/* The safetensors reader (trainer import --format safetensors). Whatever it accepts must be an
 * MLP that serialises and parses back to the same parameters, bit for bit. */
#include <string.h>

#include "fuzz_target.h"

#include "mlp/interop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mlp_model model, again;
    mlp_error error;
    interop_import_options options = {.activation = MLP_ACTIVATION_NONE, .output = -1};
    if (interop_safetensors_deserialize(&model, data, size, "fuzz.safetensors", &options, &error) != 0) {
        /* also without metadata's help: a given activation takes another path */
        options.activation = MLP_ACTIVATION_RELU;
        if (interop_safetensors_deserialize(&model, data, size, "fuzz.safetensors", &options, &error) != 0) {
            fuzz_sink += (uint8_t)error.message[0];
            return 0;
        }
    }
    uint8_t *bytes;
    size_t length;
    if (interop_safetensors_serialize(&model, &bytes, &length, &error) != 0) abort();
    if (interop_safetensors_deserialize(&again, bytes, length, "again", &options, &error) != 0) abort();
    if (again.parameter_count != model.parameter_count ||
        memcmp(again.parameters, model.parameters, model.parameter_count * sizeof(float)) != 0)
        abort(); /* not a faithful round trip */
    free(bytes);
    model_free(&again);
    model_free(&model);
    return 0;
}
