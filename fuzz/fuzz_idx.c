/* The IDX reader (raw and gzip). Input: u16 little-endian split point, then the images file's
 * bytes up to the split and the labels file's bytes after it. */
#include "fuzz_target.h"

#include "mlp/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t split = ((size_t)data[0] | (size_t)data[1] << 8) % (size - 1);
    const char *images = fuzz_scratch_file("images", data + 2, split);
    const char *labels = fuzz_scratch_file("labels", data + 2 + split, size - 2 - split);
    mlp_dataset set;
    mlp_error error;
    if (mlp_dataset_load_idx(images, labels, &set, &error) == 0) {
        /* a loaded set is consistent: every label is a class, every pixel readable */
        for (int i = 0; i < set.count; i++) {
            if (set.labels[i] >= MLP_CLASSES) abort();
            fuzz_sink += set.pixels[(size_t)i * set.features + set.features - 1];
        }
        mlp_dataset_free(&set);
    } else {
        fuzz_sink += error.message[0];
    }
    fuzz_remove_scratch_file(images);
    fuzz_remove_scratch_file(labels);
    return 0;
}
