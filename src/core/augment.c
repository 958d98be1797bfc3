/* On-the-fly augmentation of training images: the options, the per-example transform (affine
 * about the centre plus an elastic field, bilinear resampling), the augmented batch gather and a
 * figure of examples (see include/mlp/augment.h). */
#include "mlp/augment.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/team_barrier.h"
#include "mlp/image.h"
#include "mlp/rng.h"

/* Separates the augmentation keys from every other use of the seed (dropout's, for one). */
#define AUGMENT_DOMAIN 0x6175676d656e7431ULL /* "augment1" */
/* The counters of the draws under an example's key. */
enum { DRAW_SHIFT_X, DRAW_SHIFT_Y, DRAW_ROTATE, DRAW_SCALE, DRAW_ELASTIC };

/* ---- the options ---- */

/* A finite number filling exactly [text, end_of_value). */
static int parse_number(const char *text, size_t length, float *value) {
    char buffer[64];
    if (length == 0 || length >= sizeof buffer) return -1;
    memcpy(buffer, text, length);
    buffer[length] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buffer, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v) || fabs(v) > 1e6) return -1;
    *value = (float)v;
    return 0;
}

int mlp_augment_check(const mlp_augment_options *o, mlp_error *error) {
    if (!(o->shift_pixels >= 0.0f && o->shift_pixels <= 1e6f))
        return mlp_error_set(error, "--augment: shift=%g must be a non-negative number of pixels", o->shift_pixels);
    if (!(o->rotate_degrees >= 0.0f && o->rotate_degrees <= 180.0f))
        return mlp_error_set(error, "--augment: rotate=%g must be in [0, 180] degrees", o->rotate_degrees);
    if (!(o->scale_fraction >= 0.0f && o->scale_fraction < 1.0f))
        return mlp_error_set(error, "--augment: scale=%g must be in [0, 1)", o->scale_fraction);
    if (!(o->elastic_alpha >= 0.0f && o->elastic_alpha <= 1e6f && o->elastic_sigma >= 0.0f &&
          o->elastic_sigma <= 1e6f))
        return mlp_error_set(error, "--augment: elastic=%g:%g must be non-negative", o->elastic_alpha, o->elastic_sigma);
    if (o->elastic_alpha > 0.0f && o->elastic_sigma <= 0.0f)
        return mlp_error_set(error, "--augment: elastic=%g:%g needs a sigma above 0", o->elastic_alpha, o->elastic_sigma);
    return 0;
}

int mlp_augment_parse(const char *text, mlp_augment_options *o, mlp_error *error) {
    memset(o, 0, sizeof *o);
    if (strcmp(text, "none") == 0 || strcmp(text, "off") == 0) return 0;
    static const char *const keys[] = {"shift", "rotate", "scale", "elastic"};
    int given[4] = {0, 0, 0, 0};
    const char *at = text;
    for (;;) {
        size_t length = strcspn(at, ",");
        const char *equals = memchr(at, '=', length);
        if (!equals)
            return mlp_error_set(error, "--augment %s: expected KEY=VALUE,... with keys shift, rotate, scale, "
                             "elastic (e.g. shift=2,rotate=10,scale=0.1,elastic=34:4)", text);
        size_t key_length = (size_t)(equals - at), value_length = length - key_length - 1;
        const char *value = equals + 1;
        int key = -1;
        for (int k = 0; k < 4; k++)
            if (strlen(keys[k]) == key_length && strncmp(at, keys[k], key_length) == 0) key = k;
        if (key < 0)
            return mlp_error_set(error, "--augment %s: unknown key '%.*s' (shift, rotate, scale, elastic)", text,
                             (int)key_length, at);
        if (given[key]++) return mlp_error_set(error, "--augment %s: %s given twice", text, keys[key]);
        int bad;
        if (key == 3) { /* elastic=ALPHA:SIGMA */
            const char *colon = memchr(value, ':', value_length);
            bad = !colon || parse_number(value, (size_t)(colon - value), &o->elastic_alpha) != 0 ||
                  parse_number(colon + 1, value_length - (size_t)(colon - value) - 1, &o->elastic_sigma) != 0;
            if (bad) return mlp_error_set(error, "--augment %s: elastic takes ALPHA:SIGMA (e.g. elastic=34:4)", text);
        } else {
            float *target = key == 0 ? &o->shift_pixels : key == 1 ? &o->rotate_degrees : &o->scale_fraction;
            if (parse_number(value, value_length, target) != 0)
                return mlp_error_set(error, "--augment %s: %s takes a number", text, keys[key]);
        }
        if (at[length] == '\0') break;
        at += length + 1;
    }
    return mlp_augment_check(o, error);
}

int mlp_augment_active(const mlp_augment_options *o) {
    return o->shift_pixels > 0.0f || o->rotate_degrees > 0.0f || o->scale_fraction > 0.0f ||
           o->elastic_alpha > 0.0f;
}

int mlp_augment_check_images(int rows, int cols, const char *source, mlp_error *error) {
    if (rows >= 2 && cols >= 2 && rows <= MLP_AUGMENT_MAX_SIDE && cols <= MLP_AUGMENT_MAX_SIDE) return 0;
    return mlp_error_set(error, "--augment needs pictures of 2..%d rows and columns, but %s has %d x %d (a CSV "
                     "loads as 28 x 28 only with 784 pixel columns)", MLP_AUGMENT_MAX_SIDE, source ? source : "the data",
                     rows, cols);
}

void mlp_augment_format(const mlp_augment_options *o, char *text, size_t size) {
    if (size == 0) return;
    text[0] = '\0';
    if (!mlp_augment_active(o)) {
        snprintf(text, size, "off");
        return;
    }
    size_t used = 0;
#define APPEND(...)                                                                          \
    do {                                                                                     \
        if (used < size) used += (size_t)snprintf(text + used, size - used, __VA_ARGS__);     \
    } while (0)
    if (o->shift_pixels > 0.0f) APPEND("%sshift=%g", used ? "," : "", o->shift_pixels);
    if (o->rotate_degrees > 0.0f) APPEND("%srotate=%g", used ? "," : "", o->rotate_degrees);
    if (o->scale_fraction > 0.0f) APPEND("%sscale=%g", used ? "," : "", o->scale_fraction);
    if (o->elastic_alpha > 0.0f) APPEND("%selastic=%g:%g", used ? "," : "", o->elastic_alpha, o->elastic_sigma);
#undef APPEND
}

/* ---- the transform ---- */

/* sin, cos and exp from plain IEEE double arithmetic in a fixed order, not libm: glibc picks
 * other code paths on other CPUs (__sincos_fma, ...), and an augmentation must be the same bytes
 * on every machine of a data-parallel job. Accurate to a few units of 1e-16, far below the float
 * the results are rounded to. */

/* sin x and cos x for |x| <= π: Taylor series to x^31 (remainder below 1e-18). */
static void series_sin_cos(double x, double *sine, double *cosine) {
    double x2 = x * x, s = x, c = 1.0, term_s = x, term_c = 1.0;
    for (int n = 1; n <= 15; n++) {
        term_s *= -x2 / ((2.0 * n) * (2.0 * n + 1.0));
        term_c *= -x2 / ((2.0 * n - 1.0) * (2.0 * n));
        s += term_s;
        c += term_c;
    }
    *sine = s;
    *cosine = c;
}

/* e^-a for a >= 0: e^-(a / 2^m) by its Taylor series with a / 2^m <= 1/2, squared m times. */
static double series_exp_negative(double a) {
    int m = 0;
    while (a > 0.5 && m < 60) {
        a *= 0.5;
        m++;
    }
    double sum = 1.0, term = 1.0;
    for (int n = 1; n <= 20; n++) {
        term *= -a / n;
        sum += term;
    }
    for (int i = 0; i < m; i++) sum *= sum;
    return sum;
}

int mlp_augment_plan_create(mlp_augment_plan *plan, const mlp_augment_options *options, uint64_t seed, int rows,
                        int cols, mlp_error *error) {
    memset(plan, 0, sizeof *plan);
    if (mlp_augment_check(options, error) != 0 || mlp_augment_check_images(rows, cols, NULL, error) != 0) return -1;
    plan->options = *options;
    plan->seed = seed;
    plan->rows = rows;
    plan->cols = cols;
    if (options->elastic_alpha > 0.0f) {
        /* A normalised Gaussian truncated at 3 sigma, no wider than the picture. */
        double sigma = options->elastic_sigma;
        int radius = (int)ceil(3.0 * sigma), side = rows > cols ? rows : cols;
        if (radius < 1) radius = 1;
        if (radius > side) radius = side;
        plan->radius = radius;
        plan->kernel = malloc((size_t)(2 * radius + 1) * sizeof *plan->kernel);
        if (!plan->kernel) return mlp_error_set(error, "--augment: out of memory");
        double sum = 0.0, taps[2 * MLP_AUGMENT_MAX_SIDE + 1];
        for (int t = -radius; t <= radius; t++)
            sum += taps[t + radius] = series_exp_negative(0.5 * t * t / (sigma * sigma));
        for (int t = 0; t <= 2 * radius; t++) plan->kernel[t] = (float)(taps[t] / sum);
    }
    return 0;
}

void mlp_augment_plan_free(mlp_augment_plan *plan) {
    free(plan->kernel);
    plan->kernel = NULL;
}

int mlp_augment_plan_new(mlp_augment_plan **plan, const mlp_augment_options *options, uint64_t seed, int rows, int cols,
                     mlp_error *error) {
    *plan = NULL;
    if (!mlp_augment_active(options)) return 0;
    mlp_augment_plan *p = malloc(sizeof *p);
    if (!p) return mlp_error_set(error, "--augment: out of memory");
    if (mlp_augment_plan_create(p, options, seed, rows, cols, error) != 0) {
        mlp_augment_plan_delete(p);
        return -1;
    }
    *plan = p;
    return 0;
}

void mlp_augment_plan_delete(mlp_augment_plan *plan) {
    if (!plan) return;
    mlp_augment_plan_free(plan);
    free(plan);
}

/* The draw's uniform in [-1, 1). */
static float symmetric_draw(uint64_t key, int counter) {
    return 2.0f * mlp_rng_unit_float(mlp_rng_counter(key, (uint64_t)counter)) - 1.0f;
}

void mlp_augment_draw(const mlp_augment_plan *plan, int epoch, int example, mlp_augment_transform *t) {
    const mlp_augment_options *o = &plan->options;
    uint64_t key = mlp_rng_key(mlp_rng_key(plan->seed ^ AUGMENT_DOMAIN, (uint64_t)(int64_t)epoch), (uint64_t)example);
    *t = (mlp_augment_transform){
        .shift_x = o->shift_pixels * symmetric_draw(key, DRAW_SHIFT_X),
        .shift_y = o->shift_pixels * symmetric_draw(key, DRAW_SHIFT_Y),
        .degrees = o->rotate_degrees * symmetric_draw(key, DRAW_ROTATE),
        .scale = 1.0f + o->scale_fraction * symmetric_draw(key, DRAW_SCALE),
        .elastic_alpha = o->elastic_alpha,
        .key = key,
    };
    /* Parts that are off are exactly the identity (no -0 shift, no 1 - 0·u scale rounding). */
    if (o->shift_pixels == 0.0f) t->shift_x = t->shift_y = 0.0f;
    if (o->rotate_degrees == 0.0f) t->degrees = 0.0f;
    if (o->scale_fraction == 0.0f) t->scale = 1.0f;
}

/* One elastic displacement field: uniform draws from counter `first` on, smoothed by the plan's
 * Gaussian along rows then along columns (zero outside the picture), scaled by alpha. Each output
 * sums its taps in order t = -radius..radius; the loops run over x innermost, so the compiler
 * vectorises them across pixels (the sums themselves stay in that order). */
static void elastic_field(const mlp_augment_plan *plan, uint64_t key, int first, float alpha, float *field) {
    enum { SIDE = MLP_AUGMENT_MAX_SIDE, PADDED = 3 * MLP_AUGMENT_MAX_SIDE };
    int rows = plan->rows, cols = plan->cols, radius = plan->radius, width = cols + 2 * radius;
    const float *kernel = plan->kernel; /* tap t at kernel[t + radius] */
    /* raw: rows × width, the draws in the middle columns and zeros around them;
     * smooth: (rows + 2·radius) × cols, the row pass in the middle rows and zeros around. */
    float raw[SIDE * PADDED], smooth[PADDED * SIDE];
    for (int y = 0; y < rows; y++) {
        float *line = raw + y * width;
        for (int x = 0; x < radius; x++) line[x] = line[radius + cols + x] = 0.0f;
        for (int x = 0; x < cols; x++) line[radius + x] = symmetric_draw(key, first + y * cols + x);
    }
    memset(smooth, 0, (size_t)radius * cols * sizeof *smooth);
    memset(smooth + (size_t)(radius + rows) * cols, 0, (size_t)radius * cols * sizeof *smooth);
    for (int y = 0; y < rows; y++) {
        float *restrict out = smooth + (size_t)(radius + y) * cols;
        const float *restrict line = raw + y * width;
        for (int x = 0; x < cols; x++) out[x] = 0.0f;
        for (int t = 0; t <= 2 * radius; t++)
            for (int x = 0; x < cols; x++) out[x] += kernel[t] * line[x + t];
    }
    for (int y = 0; y < rows; y++) {
        float *restrict out = field + y * cols;
        for (int x = 0; x < cols; x++) out[x] = 0.0f;
        for (int t = 0; t <= 2 * radius; t++) {
            const float *restrict line = smooth + (size_t)(y + t) * cols;
            for (int x = 0; x < cols; x++) out[x] += kernel[t] * line[x];
        }
        for (int x = 0; x < cols; x++) out[x] *= alpha;
    }
}

/* One output row's sampling positions p = q + δ, with the offset δ kept apart from the pixel q:
 * its whole part moves the integer pixel, its fraction weighs the neighbours (both exact), so a
 * whole-pixel shift copies pixels and a translation weighs every pixel alike. Elementwise over x
 * (the compiler vectorises it); the blend and the rounding likewise. */
typedef struct sample_row {
    int whole_x[MLP_AUGMENT_MAX_SIDE], whole_y[MLP_AUGMENT_MAX_SIDE]; /* ⌊δ⌋                        */
    float ax[MLP_AUGMENT_MAX_SIDE], ay[MLP_AUGMENT_MAX_SIDE];           /* δ - ⌊δ⌋, in [0, 1)          */
    float p00[MLP_AUGMENT_MAX_SIDE], p10[MLP_AUGMENT_MAX_SIDE], p01[MLP_AUGMENT_MAX_SIDE], p11[MLP_AUGMENT_MAX_SIDE];
} sample_row;

void mlp_augment_apply(const mlp_augment_plan *plan, const mlp_augment_transform *t, const uint8_t *in, uint8_t *out) {
    enum { SIDE = MLP_AUGMENT_MAX_SIDE, PADDED = MLP_AUGMENT_MAX_SIDE + 2 };
    int rows = plan->rows, cols = plan->cols, pixels = rows * cols, width = cols + 2;
    float dx[SIDE * SIDE], dy[SIDE * SIDE], padded[PADDED * PADDED];
    static const float zeros[SIDE] = {0};
    int elastic = t->elastic_alpha > 0.0f && plan->kernel;
    if (elastic) {
        elastic_field(plan, t->key, DRAW_ELASTIC, t->elastic_alpha, dx);
        elastic_field(plan, t->key, DRAW_ELASTIC + pixels, t->elastic_alpha, dy);
    }
    /* The input as floats inside a border of zeros: pixel (x, y) at padded[(y + 1)·width + x + 1]. */
    memset(padded, 0, (size_t)(rows + 2) * width * sizeof *padded);
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) padded[(y + 1) * width + x + 1] = in[y * cols + x];
    /* p = c + M (q + α d(q) - c - t), M = R(-θ) / s = [[cos, sin], [-sin, cos]] / s, as the offset
     *   δ = p - q = (M - I)(q - c) + M (α d(q) - t). */
    double radians = (double)t->degrees * 3.14159265358979323846 / 180.0, sin_radians, cos_radians;
    series_sin_cos(radians, &sin_radians, &cos_radians);
    float inverse_scale = 1.0f / t->scale;
    float m00 = (float)cos_radians * inverse_scale, m01 = (float)sin_radians * inverse_scale;
    float m10 = -m01, m11 = m00, a00 = m00 - 1.0f, a11 = m11 - 1.0f;
    float cx = 0.5f * (float)(cols - 1), cy = 0.5f * (float)(rows - 1), tx = t->shift_x, ty = t->shift_y;
    sample_row r;
    for (int y = 0; y < rows; y++) {
        const float *ex = elastic ? dx + y * cols : zeros, *ey = elastic ? dy + y * cols : zeros;
        float ry = (float)y - cy;
        for (int x = 0; x < cols; x++) {
            float rx = (float)x - cx, ux = ex[x] - tx, uy = ey[x] - ty;
            float ox = (a00 * rx + m01 * ry) + (m00 * ux + m01 * uy);
            float oy = (m10 * rx + a11 * ry) + (m10 * ux + m11 * uy);
            /* Beyond ±16384 pixels every neighbour is outside the picture: clamp for the int. */
            ox = ox < -16384.0f ? -16384.0f : ox > 16384.0f ? 16384.0f : ox;
            oy = oy < -16384.0f ? -16384.0f : oy > 16384.0f ? 16384.0f : oy;
            int wx = (int)ox, wy = (int)oy; /* floor: truncation, one less for negative fractions */
            wx -= ox < (float)wx;
            wy -= oy < (float)wy;
            r.whole_x[x] = wx;
            r.whole_y[x] = wy;
            r.ax[x] = ox - (float)wx;
            r.ay[x] = oy - (float)wy;
        }
        /* The four neighbours: columns x0, x0 + 1 of rows y0, y0 + 1 (0 beyond the picture). */
        for (int x = 0; x < cols; x++) {
            int x0 = x + r.whole_x[x], y0 = y + r.whole_y[x];
            if (x0 >= -1 && x0 < cols && y0 >= -1 && y0 < rows) {
                const float *p = padded + (y0 + 1) * width + x0 + 1;
                r.p00[x] = p[0];
                r.p10[x] = p[1];
                r.p01[x] = p[width];
                r.p11[x] = p[width + 1];
            } else {
                r.p00[x] = r.p10[x] = r.p01[x] = r.p11[x] = 0.0f;
            }
        }
        uint8_t *line = out + y * cols;
        for (int x = 0; x < cols; x++) {
            float ax = r.ax[x], ay = r.ay[x];
            float v = (1.0f - ay) * ((1.0f - ax) * r.p00[x] + ax * r.p10[x]) +
                      ay * ((1.0f - ax) * r.p01[x] + ax * r.p11[x]) + 0.5f;
            line[x] = (uint8_t)(int)(v <= 0.0f ? 0.0f : v >= 255.0f ? 255.0f : v); /* nearest */
        }
    }
}

void mlp_augment_example(const mlp_augment_plan *plan, int epoch, int example, const uint8_t *in, uint8_t *out) {
    mlp_augment_transform t;
    mlp_augment_draw(plan, epoch, example, &t);
    mlp_augment_apply(plan, &t, in, out);
}

void mlp_augment_gather_batch(const mlp_augment_plan *plan, int epoch, mlp_network *network, const mlp_dataset *data,
                          const int *indices, int first, int n) {
    int begin, end, features = data->features;
    mlp_parallel_range(n, 8, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    for (int i = begin; i < end; i++) {
        int example = indices ? indices[first + i] : first + i;
        mlp_augment_example(plan, epoch, example, data->pixels + (size_t)example * features,
                        network->input_pixels + (size_t)i * features);
        network->input_targets[i] = data->labels[example];
    }
    mlp_team_barrier_wait(network->barrier);
}

/* ---- the figure ---- */

/* Layout: a gap of 2·zoom around cells of rows·zoom × cols·zoom, three gaps after the originals. */
static int grid_gap(int zoom) { return 2 * zoom; }
static int grid_column_x(const mlp_augment_plan *plan, int column, int zoom) {
    int gap = grid_gap(zoom);
    return gap + column * (plan->cols * zoom + gap) + (column > 0 ? 2 * gap : 0);
}

void mlp_augment_grid_size(const mlp_augment_plan *plan, int count, int columns, int zoom, int *width, int *height) {
    *width = grid_column_x(plan, columns + 1, zoom);
    *height = grid_gap(zoom) + count * (plan->rows * zoom + grid_gap(zoom));
}

int mlp_augment_grid_png(const char *path, const mlp_augment_plan *plan, const mlp_dataset *data, int count, int columns,
                     int zoom, mlp_error *error) {
    if (data->rows != plan->rows || data->cols != plan->cols || count < 1 || count > data->count || columns < 1 ||
        zoom < 1)
        return mlp_error_set(error, "%s: %d examples of %d x %d in %d columns cannot be drawn from %d of %d x %d", path,
                         count, plan->rows, plan->cols, columns, data->count, data->rows, data->cols);
    int width, height;
    mlp_augment_grid_size(plan, count, columns, zoom, &width, &height);
    uint8_t *canvas = malloc((size_t)width * height), *picture = malloc((size_t)data->features);
    if (!canvas || !picture) {
        free(canvas);
        free(picture);
        return mlp_error_set(error, "%s: out of memory for a %d x %d figure", path, width, height);
    }
    memset(canvas, 128, (size_t)width * height); /* mid grey between black-background digits */
    for (int e = 0; e < count; e++) {
        const uint8_t *original = data->pixels + (size_t)e * data->features;
        int top = grid_gap(zoom) + e * (plan->rows * zoom + grid_gap(zoom));
        for (int column = 0; column <= columns; column++) {
            if (column == 0) memcpy(picture, original, (size_t)data->features);
            else mlp_augment_example(plan, column, e, original, picture); /* column c: epoch c */
            int left = grid_column_x(plan, column, zoom);
            for (int y = 0; y < plan->rows * zoom; y++)
                for (int x = 0; x < plan->cols * zoom; x++)
                    canvas[(size_t)(top + y) * width + left + x] = picture[(y / zoom) * plan->cols + x / zoom];
        }
    }
    int status = mlp_image_write_png_gray(path, canvas, width, height, error);
    free(canvas);
    free(picture);
    return status;
}
