/* Reading back the figures in tests: the size of a PNG and how many of its pixels are near a
 * colour (libpng's simplified API, any PNG as 8-bit RGB). */
#ifndef MLP_TEST_PLOT_PNG_H
#define MLP_TEST_PLOT_PNG_H

#include <png.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_png {
    int width, height;
    unsigned char *rgb; /* width × height × 3, or NULL when the file did not decode */
} test_png;

static inline test_png test_png_read(const char *path) {
    test_png result = {0, 0, NULL};
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) return result;
    image.format = PNG_FORMAT_RGB;
    unsigned char *rgb = malloc(PNG_IMAGE_SIZE(image));
    if (!rgb || !png_image_finish_read(&image, NULL, rgb, 0, NULL)) {
        free(rgb);
        png_image_free(&image);
        return result;
    }
    result.width = (int)image.width;
    result.height = (int)image.height;
    result.rgb = rgb;
    return result;
}

/* Pixels within `tolerance` (per channel) of the colour (r, g, b). */
static inline long test_png_count_near(const test_png *png, int r, int g, int b, int tolerance) {
    long count = 0;
    for (long i = 0; png->rgb && i < (long)png->width * png->height; i++) {
        const unsigned char *p = png->rgb + 3 * i;
        if (abs(p[0] - r) <= tolerance && abs(p[1] - g) <= tolerance && abs(p[2] - b) <= tolerance)
            count++;
    }
    return count;
}

#endif
