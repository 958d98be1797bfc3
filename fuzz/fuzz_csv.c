/* The CSV reader (plain and gzip): the input is the file. */
#include "fuzz_target.h"

#include "mlp/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_scratch_file("csv", data, size);
    mlp_dataset set;
    mlp_error error;
    if (mlp_dataset_load_csv(path, &set, &error) == 0) {
        if (set.count < 1 || set.features < 1 || set.rows * set.cols != set.features) abort();
        for (int i = 0; i < set.count; i++) {
            if (set.labels[i] >= MLP_CLASSES) abort();
            fuzz_sink += set.pixels[(size_t)i * set.features + set.features - 1];
        }
        mlp_dataset_free(&set);
    } else {
        fuzz_sink += error.message[0];
    }
    fuzz_remove_scratch_file(path);
    return 0;
}
