/* Writes MNIST test image INDEX as two PNGs for the predict test: 28×28 grey, and 56×56 RGB
 * (each pixel doubled, grey copied to the three channels), with libpng's simplified API.
 * Prints the image's label on stdout.
 * Usage: write_digit_png MNIST_DIR INDEX GREY.png RGB.png   (exit 77 when the data is absent) */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp/data.h"

static int write_png(const char *path, const uint8_t *pixels, int width, int height, int format,
                     int channels) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = (png_uint_32)format;
    if (!png_image_write_to_file(&image, path, 0, pixels, width * channels, NULL)) {
        fprintf(stderr, "write_digit_png: %s: %s\n", path, image.message);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: write_digit_png MNIST_DIR INDEX GREY.png RGB.png\n");
        return 2;
    }
    mlp_dataset test;
    mlp_error error;
    if (mlp_dataset_load_idx_folder(argv[1], "t10k", &test, &error) != 0) {
        printf("SKIPPED: %s\n", error.message);
        return 77;
    }
    int index = atoi(argv[2]);
    if (index < 0 || index >= test.count || test.rows != 28 || test.cols != 28) {
        fprintf(stderr, "write_digit_png: no 28x28 image %d in %s\n", index, argv[1]);
        return 1;
    }
    const uint8_t *grey = test.pixels + (size_t)index * test.features;
    uint8_t rgb[56 * 56 * 3];
    for (int y = 0; y < 56; y++)
        for (int x = 0; x < 56; x++)
            for (int c = 0; c < 3; c++) rgb[(y * 56 + x) * 3 + c] = grey[(y / 2) * 28 + x / 2];
    int status = write_png(argv[3], grey, 28, 28, PNG_FORMAT_GRAY, 1) ||
                 write_png(argv[4], rgb, 56, 56, PNG_FORMAT_RGB, 3);
    if (status == 0) printf("%d\n", test.labels[index]);
    mlp_dataset_free(&test);
    return status ? 1 : 0;
}
