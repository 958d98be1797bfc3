/* The NumPy .npz reader (trainer import --format npz): the zip archive (libzip) and the .npy
 * headers inside it. Whatever it accepts must serialise and parse back to the same parameters. */
#include <string.h>

#include "fuzz_target.h"

#include "mlp/interop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mlp_model model, again;
    mlp_error error;
    interop_import_options options = {.activation = MLP_ACTIVATION_TANH, .output = -1};
    if (interop_npz_deserialize(&model, data, size, "fuzz.npz", &options, &error) != 0) {
        fuzz_sink += (uint8_t)error.message[0];
        return 0;
    }
    uint8_t *bytes;
    size_t length;
    if (interop_npz_serialize(&model, &bytes, &length, &error) != 0) abort();
    if (interop_npz_deserialize(&again, bytes, length, "again", &options, &error) != 0) abort();
    if (again.parameter_count != model.parameter_count ||
        memcmp(again.parameters, model.parameters, model.parameter_count * sizeof(float)) != 0)
        abort(); /* not a faithful round trip */
    free(bytes);
    model_free(&again);
    model_free(&model);
    return 0;
}
