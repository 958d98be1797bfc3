/* The safetensors reader (trainer import --format safetensors). Whatever it accepts must be an
 * MLP that serialises and parses back to the same parameters, bit for bit. */
#include "fuzz_interop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mlp_model model;
    mlp_error error;
    mlp_interop_import_options options = {.activation = MLP_ACTIVATION_NONE, .output = -1};
    if (mlp_interop_safetensors_deserialize(&model, data, size, "fuzz.safetensors", &options, &error) != 0) {
        /* also without metadata's help: a given activation takes another path */
        options.activation = MLP_ACTIVATION_RELU;
        if (mlp_interop_safetensors_deserialize(&model, data, size, "fuzz.safetensors", &options, &error) != 0) {
            fuzz_sink += (uint8_t)error.message[0];
            return 0;
        }
    }
    fuzz_interop_round_trip(&model, mlp_interop_safetensors_serialize, mlp_interop_safetensors_deserialize, &options);
    return 0;
}
