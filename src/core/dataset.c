/* Dataset plumbing around the readers: finding an IDX pair in a folder, the seeded
 * train/validation split, and gathering rows into a batch. */
#define _POSIX_C_SOURCE 200809L
#include "mlp/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlp/rng.h"

#define IDX_PATH_MAX 4096

static int is_regular_file(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

/* Finds <folder>/<prefix>-<kind>, preferring the raw file over <...>.gz. Fills path with the
 * one found and returns 1, or returns 0 with path naming the raw candidate. */
static int idx_find(const char *folder, const char *prefix, const char *kind, char *path,
                    size_t size) {
    snprintf(path, size, "%s/%s-%s.gz", folder, prefix, kind);
    int has_gz = is_regular_file(path);
    snprintf(path, size, "%s/%s-%s", folder, prefix, kind);
    if (is_regular_file(path)) return 1;
    if (!has_gz) return 0;
    snprintf(path, size, "%s/%s-%s.gz", folder, prefix, kind);
    return 1;
}

int mlp_dataset_idx_folder_has(const char *folder, const char *prefix) {
    char path[IDX_PATH_MAX];
    return idx_find(folder, prefix, "images-idx3-ubyte", path, sizeof path) &&
           idx_find(folder, prefix, "labels-idx1-ubyte", path, sizeof path);
}

int mlp_dataset_load_idx_folder(const char *folder, const char *prefix, mlp_dataset *out,
                            mlp_error *error) {
    memset(out, 0, sizeof *out);
    if (strlen(folder) + strlen(prefix) + 32 > IDX_PATH_MAX)
        return mlp_error_set(error, "%s: path too long", folder);
    char images[IDX_PATH_MAX], labels[IDX_PATH_MAX];
    if (!idx_find(folder, prefix, "images-idx3-ubyte", images, sizeof images))
        return mlp_error_set(error, "%s: no %s images (looked for %s and %s.gz)", folder, prefix,
                         images, images);
    if (!idx_find(folder, prefix, "labels-idx1-ubyte", labels, sizeof labels))
        return mlp_error_set(error, "%s: no %s labels (looked for %s and %s.gz)", folder, prefix,
                         labels, labels);
    return mlp_dataset_load_idx(images, labels, out, error);
}

void mlp_dataset_free(mlp_dataset *dataset) {
    if (!dataset) return;
    free(dataset->pixels);
    free(dataset->labels);
    memset(dataset, 0, sizeof *dataset);
}

int mlp_dataset_split(int count, double validation_fraction, uint64_t seed, int **train_indices,
                  int *train_count, int **validation_indices, int *validation_count,
                  mlp_error *error) {
    *train_indices = *validation_indices = NULL;
    *train_count = *validation_count = 0;
    if (!(validation_fraction >= 0.0 && validation_fraction < 1.0)) /* also rejects NaN */
        return mlp_error_set(error, "validation fraction %g is outside [0, 1)", validation_fraction);
    if (count < 1) return mlp_error_set(error, "cannot split %d examples", count);
    int validation = (int)floor((double)count * validation_fraction + 0.5);
    int train = count - validation;
    if (train < 1)
        return mlp_error_set(error, "validation fraction %g of %d examples leaves none for training",
                         validation_fraction, count);

    /* a seeded random permutation of 0..count-1: validation first, training after */
    int *order = malloc((size_t)count * sizeof *order);
    int *train_part = malloc((size_t)train * sizeof *train_part);
    int *validation_part = malloc((size_t)(validation > 0 ? validation : 1) * sizeof(int));
    if (!order || !train_part || !validation_part) {
        free(order);
        free(train_part);
        free(validation_part);
        return mlp_error_set(error, "out of memory splitting %d examples", count);
    }
    for (int i = 0; i < count; i++) order[i] = i;
    mlp_rng_state rng;
    mlp_rng_seed(&rng, seed);
    mlp_rng_shuffle(&rng, order, count);
    memcpy(validation_part, order, (size_t)validation * sizeof *order);
    memcpy(train_part, order + validation, (size_t)train * sizeof *order);
    free(order);

    *train_indices = train_part;
    *train_count = train;
    *validation_indices = validation_part;
    *validation_count = validation;
    return 0;
}

void mlp_dataset_gather(const mlp_dataset *dataset, const int *indices, int n, uint8_t *batch_pixels,
                    uint8_t *batch_labels) {
    size_t row_bytes = (size_t)dataset->features;
    for (int i = 0; i < n; i++) {
        size_t row = (size_t)indices[i];
        memcpy(batch_pixels + (size_t)i * row_bytes, dataset->pixels + row * row_bytes, row_bytes);
        batch_labels[i] = dataset->labels[row];
    }
}
