/* Reading a picture for `trainer predict`: any PNG (libpng's simplified API converts every colour
 * type and bit depth to 8-bit grey), resampled to the network's input size. */
#ifndef MLP_IMAGE_H
#define MLP_IMAGE_H

#include <stdint.h>

#include "mlp/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MLP_IMAGE_MAX_PIXELS (64u * 1024u * 1024u) /* refuse larger pictures before decoding */

/* Decodes a PNG from memory to grey (row-major, width × height); *pixels is malloc'ed. */
int mlp_image_decode_png_gray(const uint8_t *bytes, size_t size, const char *name, uint8_t **pixels,
                          int *width, int *height, mlp_error *error);

/* Resamples a grey picture to out_width × out_height by averaging a 4×4 grid of bilinear samples
 * per output pixel (an area filter when shrinking, bilinear when enlarging). */
void mlp_image_resample_gray(const uint8_t *pixels, int width, int height, uint8_t *out, int out_width,
                         int out_height);

/* Reads a PNG file and produces out_width × out_height grey pixels; with invert, 255 - v (MNIST
 * digits are white on black; scans are usually black on white). */
int mlp_image_load_png_for_input(const char *path, int out_width, int out_height, int invert,
                             uint8_t *out, mlp_error *error);

/* Writes width × height grey pixels (row-major) as an 8-bit grey PNG, atomically. */
int mlp_image_write_png_gray(const char *path, const uint8_t *pixels, int width, int height,
                         mlp_error *error);

#ifdef __cplusplus
}
#endif
#endif
