/* The model file parser. The input is parsed as it is, then again with its last four bytes
 * replaced by the right CRC-32 (so mutations reach the fields behind the checksum). Whatever is
 * accepted must serialise back to the same bytes. */
#include <string.h>
#include <zlib.h>

#include "fuzz_target.h"

#include "core/file_util.h"
#include "mlp/model.h"

static void parse_and_check(const uint8_t *data, size_t size) {
    mlp_model model;
    mlp_error error;
    if (mlp_model_deserialize(&model, data, size, "fuzz.mlp", &error) != 0) {
        fuzz_sink += error.message[0];
        return;
    }
    uint8_t *again;
    size_t again_size;
    if (mlp_model_serialize(&model, &again, &again_size, &error) != 0) abort();
    if (again_size != size || memcmp(again, data, size) != 0) abort(); /* not a faithful round trip */
    free(again);
    mlp_model_free(&model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_as_is_and_with_crc_fixed(data, size, parse_and_check);
    return 0;
}
