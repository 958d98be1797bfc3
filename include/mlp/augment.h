/* On-the-fly augmentation of training images (the recipe's mlp_augment_options,
 * include/mlp/recipe.h): each training example is transformed while its batch is gathered, by the
 * thread that copies its row, from the data set's own pixels (no stored copy of the data set).
 *
 * The transform of example e in epoch t is a pure function of (seed, t, e), e the example's index
 * in the data set:
 *   key = mlp_rng_key(mlp_rng_key(seed ^ AUGMENT_DOMAIN, t), e);  draw i = mlp_rng_counter(key, i)
 *   draws 0..3: shift x and y uniform in [-shift, shift] pixels, rotation uniform in
 *   [-rotate, rotate] degrees, scale uniform in [1 - scale, 1 + scale];
 *   draws 4.. : the elastic displacement fields (x then y), uniform in [-1, 1) per pixel
 * so the batch is the same for any thread count, any MPI rank count and after a resume.
 *
 * The image (rows × cols, y down, pixel centres at integers, centre c = ((cols-1)/2, (rows-1)/2))
 * is resampled: output pixel q reads the input at
 *   p = c + R(-θ) · (q + α·d(q) - c - t) / s        (bilinear; 0 outside the image)
 * i.e. scaled by s and rotated by θ about the centre, then moved by t; d is the elastic field
 * (Simard, Steinkraus & Platt 2003): the uniform draws convolved with a normalised Gaussian of
 * standard deviation σ (radius ⌈3σ⌉, zero outside the image), scaled by α. Values are rounded
 * to the nearest uint8. The identity (all zero) leaves an image as it is, byte for byte. */
#ifndef MLP_AUGMENT_H
#define MLP_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "mlp/common.h"
#include "mlp/data.h"
#include "mlp/network.h"
#include "mlp/recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Images up to this many rows and columns (the elastic fields live on the thread's stack). */
#define MLP_AUGMENT_MAX_SIDE 64

/* ---- the options ---- */

/* "shift=2,rotate=10,scale=0.1,elastic=34:4" (pixels, degrees, fraction, alpha:sigma; any subset,
 * any order; "none" or "off": nothing). One-line errors name --augment: an unknown key, a
 * missing or non-numeric value, a negative one, rotate > 180, scale >= 1, elastic without :sigma
 * or with sigma <= 0. */
int mlp_augment_parse(const char *text, mlp_augment_options *options, mlp_error *error);
/* Whether the options change any image. */
int mlp_augment_active(const mlp_augment_options *options);
/* The same checks as augment_parse, for options that come from elsewhere (a run's recipe). */
int mlp_augment_check(const mlp_augment_options *options, mlp_error *error);
/* Whether images of rows × cols can be augmented (2..AUGMENT_MAX_SIDE each); else a one-line
 * error naming `source` (a CSV of another size loads as one row of pixels). */
int mlp_augment_check_images(int rows, int cols, const char *source, mlp_error *error);
/* "shift=2,rotate=10,scale=0.1,elastic=34:4" (only the active parts), or "off". */
void mlp_augment_format(const mlp_augment_options *options, char *text, size_t size);

/* ---- the transform ---- */

typedef struct mlp_augment_plan {
    mlp_augment_options options;
    uint64_t seed;
    int rows, cols;
    int radius;    /* the Gaussian's half width ⌈3σ⌉ (0 without elastic)           */
    float *kernel; /* its 2·radius + 1 taps, summing to 1 (computed once)           */
} mlp_augment_plan;

/* The plan for images of rows × cols (checked) under this seed. */
int mlp_augment_plan_create(mlp_augment_plan *plan, const mlp_augment_options *options, uint64_t seed,
                        int rows, int cols, mlp_error *error);
void mlp_augment_plan_free(mlp_augment_plan *plan);
/* The same on the heap, for a training run: *plan NULL when the options change nothing. */
int mlp_augment_plan_new(mlp_augment_plan **plan, const mlp_augment_options *options, uint64_t seed, int rows,
                     int cols, mlp_error *error);
void mlp_augment_plan_delete(mlp_augment_plan *plan);

/* One example's transform. */
typedef struct mlp_augment_transform {
    float shift_x, shift_y; /* t, pixels: the picture moves right and down by these */
    float degrees;          /* θ; positive turns clockwise as displayed (y down)    */
    float scale;            /* s                                                    */
    float elastic_alpha;    /* α (0: no elastic field)                              */
    uint64_t key;           /* the elastic field's draws                            */
} mlp_augment_transform;

/* The transform of example `example` in epoch `epoch`. */
void mlp_augment_draw(const mlp_augment_plan *plan, int epoch, int example, mlp_augment_transform *transform);
/* out = the transform of in (both rows × cols). */
void mlp_augment_apply(const mlp_augment_plan *plan, const mlp_augment_transform *transform, const uint8_t *in,
                   uint8_t *out);
/* augment_draw then augment_apply. */
void mlp_augment_example(const mlp_augment_plan *plan, int epoch, int example, const uint8_t *in,
                     uint8_t *out);

/* Collective: copies the examples indices[first .. first+n-1] (indices NULL: first .. first+n-1)
 * of data into the network's input buffers, each augmented for `epoch`, each thread its share of
 * rows (the rows train.c's gather gives it); ends with a barrier. */
void mlp_augment_gather_batch(const mlp_augment_plan *plan, int epoch, mlp_network *network,
                          const mlp_dataset *data, const int *indices, int first, int n);

/* A PNG of `count` examples (the data set's first ones) in rows: the original, a gap, then
 * their transforms in epochs 1..columns, each pixel drawn as zoom × zoom. */
int mlp_augment_grid_png(const char *path, const mlp_augment_plan *plan, const mlp_dataset *data,
                     int count, int columns, int zoom, mlp_error *error);
/* Its size in pixels. */
void mlp_augment_grid_size(const mlp_augment_plan *plan, int count, int columns, int zoom, int *width,
                       int *height);

#ifdef __cplusplus
}
#endif
#endif
