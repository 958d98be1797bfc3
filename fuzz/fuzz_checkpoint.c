/* The checkpoint parser, like fuzz_model.c: as is, then with the outer CRC-32 fixed; whatever is
 * accepted must serialise back to the same bytes (an older version: to a current-version file
 * that parses and serialises back to itself). */
#include <string.h>
#include <zlib.h>

#include "fuzz_target.h"

#include "mlp/checkpoint.h"
#include "core/file_util.h"

static void parse_and_check(const uint8_t *data, size_t size) {
    static mlp_checkpoint c; /* 12 KiB of paths */
    mlp_error error;
    if (mlp_checkpoint_deserialize(&c, data, size, "fuzz.mlpc", &error) != 0) {
        fuzz_sink += error.message[0];
        return;
    }
    uint8_t *again;
    size_t again_size;
    if (mlp_checkpoint_serialize(&c, &again, &again_size, &error) != 0) abort();
    mlp_checkpoint_free(&c);
    if (get_u32_le(data + 8) != MLP_CHECKPOINT_FORMAT_VERSION) { /* upgraded: a fixed point from here */
        if (mlp_checkpoint_deserialize(&c, again, again_size, "upgraded.mlpc", &error) != 0) abort();
        uint8_t *third;
        size_t third_size;
        if (mlp_checkpoint_serialize(&c, &third, &third_size, &error) != 0) abort();
        mlp_checkpoint_free(&c);
        if (third_size != again_size || memcmp(third, again, again_size) != 0) abort();
        free(third);
    } else if (again_size != size || memcmp(again, data, size) != 0) {
        abort();
    }
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_as_is_and_with_crc_fixed(data, size, parse_and_check);
    return 0;
}
