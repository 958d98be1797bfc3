/* The NumPy .npz reader (trainer import --format npz): the zip archive (libzip) and the .npy
 * headers inside it. Whatever it accepts must serialise and parse back to the same parameters. */
#include "fuzz_interop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mlp_model model;
    mlp_error error;
    mlp_interop_import_options options = {.activation = MLP_ACTIVATION_TANH, .output = -1};
    if (mlp_interop_npz_deserialize(&model, data, size, "fuzz.npz", &options, &error) != 0) {
        fuzz_sink += (uint8_t)error.message[0];
        return 0;
    }
    fuzz_interop_round_trip(&model, mlp_interop_npz_serialize, mlp_interop_npz_deserialize, &options);
    return 0;
}
