/* PNG input for prediction. */
#include "mlp/image.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_util.h"

int mlp_image_decode_png_gray(const uint8_t *bytes, size_t size, const char *name, uint8_t **pixels,
                          int *width, int *height, mlp_error *error) {
    *pixels = NULL;
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes, size))
        return mlp_error_set(error, "%s: not a readable PNG (%s)", name, image.message);
    if (image.width == 0 || image.height == 0 ||
        (uint64_t)image.width * image.height > MLP_IMAGE_MAX_PIXELS) {
        png_image_free(&image);
        return mlp_error_set(error, "%s: PNG of %ux%u pixels is empty or too large", name, image.width,
                         image.height);
    }
    image.format = PNG_FORMAT_GRAY;
    uint8_t *buffer = malloc(PNG_IMAGE_SIZE(image));
    if (!buffer) {
        png_image_free(&image);
        return mlp_error_set(error, "%s: out of memory decoding the PNG", name);
    }
    /* Transparent pixels are composed over black, MNIST's background. */
    png_color background = {0, 0, 0};
    if (!png_image_finish_read(&image, &background, buffer, 0, NULL)) {
        free(buffer);
        mlp_error_set(error, "%s: damaged PNG (%s)", name, image.message);
        png_image_free(&image);
        return -1;
    }
    *pixels = buffer;
    *width = (int)image.width;
    *height = (int)image.height;
    return 0;
}

/* Bilinear sample at continuous coordinates (x, y), pixel centres at integer + 0.5. */
static float bilinear(const uint8_t *p, int width, int height, float x, float y) {
    x -= 0.5f;
    y -= 0.5f;
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x > width - 1) x = (float)(width - 1);
    if (y > height - 1) y = (float)(height - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < width ? x0 + 1 : x0, y1 = y0 + 1 < height ? y0 + 1 : y0;
    float fx = x - x0, fy = y - y0;
    float top = p[(size_t)y0 * width + x0] * (1 - fx) + p[(size_t)y0 * width + x1] * fx;
    float bottom = p[(size_t)y1 * width + x0] * (1 - fx) + p[(size_t)y1 * width + x1] * fx;
    return top * (1 - fy) + bottom * fy;
}

void mlp_image_resample_gray(const uint8_t *pixels, int width, int height, uint8_t *out, int out_width,
                         int out_height) {
    const int grid = 4;
    float scale_x = (float)width / out_width, scale_y = (float)height / out_height;
    for (int oy = 0; oy < out_height; oy++)
        for (int ox = 0; ox < out_width; ox++) {
            float sum = 0.0f;
            for (int sy = 0; sy < grid; sy++)
                for (int sx = 0; sx < grid; sx++)
                    sum += bilinear(pixels, width, height, (ox + (sx + 0.5f) / grid) * scale_x,
                                    (oy + (sy + 0.5f) / grid) * scale_y);
            float v = sum / (grid * grid) + 0.5f;
            out[(size_t)oy * out_width + ox] = (uint8_t)(v > 255.0f ? 255.0f : v);
        }
}

int mlp_image_load_png_for_input(const char *path, int out_width, int out_height, int invert,
                             uint8_t *out, mlp_error *error) {
    uint8_t *bytes, *pixels;
    size_t size;
    int width, height;
    if (mlp_file_read_all(path, 256u << 20, &bytes, &size, error) != 0) return -1;
    int status = mlp_image_decode_png_gray(bytes, size, path, &pixels, &width, &height, error);
    free(bytes);
    if (status != 0) return -1;
    mlp_image_resample_gray(pixels, width, height, out, out_width, out_height);
    free(pixels);
    if (invert)
        for (int i = 0; i < out_width * out_height; i++) out[i] = (uint8_t)(255 - out[i]);
    return 0;
}

int mlp_image_write_png_gray(const char *path, const uint8_t *pixels, int width, int height,
                         mlp_error *error) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_GRAY;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, width, NULL))
        return mlp_error_set(error, "%s: cannot encode the PNG (%s)", path, image.message);
    void *bytes = malloc(size);
    if (!bytes) return mlp_error_set(error, "%s: out of memory encoding the PNG", path);
    int status = -1;
    if (!png_image_write_to_memory(&image, bytes, &size, 0, pixels, width, NULL))
        mlp_error_set(error, "%s: cannot encode the PNG (%s)", path, image.message);
    else
        status = mlp_file_write_atomic(path, bytes, size, error);
    free(bytes);
    return status;
}
