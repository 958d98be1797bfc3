/* The PNG path of `trainer predict`: decode to grey, resample to 28x28. */
#include "fuzz_target.h"

#include "mlp/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *pixels;
    int width, height;
    mlp_error error;
    if (mlp_image_decode_png_gray(data, size, "fuzz.png", &pixels, &width, &height, &error) != 0) {
        fuzz_sink += error.message[0];
        return 0;
    }
    if (width < 1 || height < 1) abort();
    uint8_t out[28 * 28];
    mlp_image_resample_gray(pixels, width, height, out, 28, 28);
    for (int i = 0; i < 28 * 28; i++) fuzz_sink += out[i];
    free(pixels);
    return 0;
}
