/* The real data, when scripts/fetch_data.sh has fetched it: MNIST train and t10k load with
 * the official counts, 28x28 images and a plausible label histogram. Fashion-MNIST (.gz, linked
 * from the Debian package) is checked the same way when present. Skips when MNIST is absent. */
#include <stdio.h>
#include <string.h>

#include "mlp/common.h"
#include "mlp/data.h"
#include "test_util.h"

#if !defined(MLP_MNIST_DIR) || !defined(MLP_FASHION_MNIST_DIR)
#error "MLP_MNIST_DIR and MLP_FASHION_MNIST_DIR must name the data/mnist and data/fashion-mnist folders"
#endif

/* Loads <folder>/<prefix>-* and checks count, image size, pixel range and that every class
 * holds between 5% and 15% of the examples. */
static void check_set(const char *folder, const char *prefix, int expected_count) {
    mlp_dataset data;
    mlp_error error = {{0}};
    double start = mlp_wall_seconds();
    int status = mlp_dataset_load_idx_folder(folder, prefix, &data, &error);
    CHECK(status == 0, "load %s/%s: %s", folder, prefix, error.message);
    if (status != 0) return;
    printf("%s/%s: %d images of %dx%d in %.3f s\n", folder, prefix, data.count, data.rows,
           data.cols, mlp_wall_seconds() - start);
    CHECK(data.count == expected_count, "%s %s: %d images, expected %d", folder, prefix,
          data.count, expected_count);
    CHECK(data.rows == 28 && data.cols == 28 && data.features == 784, "%s %s: %dx%d", folder,
          prefix, data.rows, data.cols);

    int histogram[MLP_CLASSES] = {0};
    for (int i = 0; i < data.count; i++) histogram[data.labels[i]]++;
    for (int c = 0; c < MLP_CLASSES; c++) {
        double share = (double)histogram[c] / data.count;
        CHECK(share >= 0.05 && share <= 0.15, "%s %s: class %d holds %.1f%%", folder, prefix, c,
              100.0 * share);
    }
    /* real images use the whole range: some black, some white pixels */
    int black = 0, white = 0;
    for (size_t i = 0; i < (size_t)data.count * (size_t)data.features; i++) {
        black += data.pixels[i] == 0;
        white += data.pixels[i] == 255;
    }
    CHECK(black > 0 && white > 0, "%s %s: %d black, %d white pixels", folder, prefix, black,
          white);
    mlp_dataset_free(&data);
}

int main(void) {
    const char *mnist = MLP_MNIST_DIR;
    if (!mlp_dataset_idx_folder_has(mnist, "train") || !mlp_dataset_idx_folder_has(mnist, "t10k"))
        TEST_SKIP("MNIST not fetched (run scripts/fetch_data.sh)");
    check_set(mnist, "train", 60000);
    check_set(mnist, "t10k", 10000);

    const char *fashion = MLP_FASHION_MNIST_DIR;
    if (mlp_dataset_idx_folder_has(fashion, "train") && mlp_dataset_idx_folder_has(fashion, "t10k")) {
        check_set(fashion, "train", 60000);
        check_set(fashion, "t10k", 10000);
    } else {
        printf("note: %s absent, Fashion-MNIST not checked\n", fashion);
    }
    return test_exit_code();
}
