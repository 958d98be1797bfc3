/* The checkpoint parser, like fuzz_model.c: as is, then with the outer CRC-32 fixed; whatever is
 * accepted must serialise back to the same bytes. */
#include <string.h>
#include <zlib.h>

#include "fuzz_target.h"

#include "mlp/checkpoint.h"
#include "mlp/file_util.h"

static void parse_and_check(const uint8_t *data, size_t size) {
    static checkpoint c; /* 12 KiB of paths */
    mlp_error error;
    if (checkpoint_deserialize(&c, data, size, "fuzz.mlpc", &error) != 0) {
        fuzz_sink += error.message[0];
        return;
    }
    uint8_t *again;
    size_t again_size;
    if (checkpoint_serialize(&c, &again, &again_size, &error) != 0) abort();
    if (again_size != size || memcmp(again, data, size) != 0) abort();
    free(again);
    checkpoint_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_as_is_and_with_crc_fixed(data, size, parse_and_check);
    return 0;
}
