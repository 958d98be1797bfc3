/* Datasets: MNIST-style IDX files (raw or .gz) and Kaggle-style CSV, the seeded split, batches.
 * Pixels stay uint8 in memory (60,000 images = 47 MB); the first layer's GEMM scales them by
 * 1/255 while packing. */
#ifndef MLP_DATA_H
#define MLP_DATA_H

#include <stdint.h>

#include "mlp/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MLP_CLASSES 10 /* digits 0..9; labels outside are rejected */

typedef struct mlp_dataset {
    int count;         /* number of images                        */
    int rows, cols;    /* image size (28×28 for MNIST; CSV: 28×28 when 784 columns, else 1×n) */
    int features;      /* rows * cols                             */
    uint8_t *pixels;   /* count × features, row-major, 0..255     */
    uint8_t *labels;   /* count, each < MLP_CLASSES               */
} mlp_dataset;

/* IDX: images (magic 2051, 3 dimensions) and labels (magic 2049, 1 dimension), big-endian
 * headers, each raw or gzip (zlib reads both). Validates the magic, the dimensions, equal counts,
 * a complete payload (no more, no less), and rejects absurd headers before allocating. */
int mlp_dataset_load_idx(const char *images_path, const char *labels_path, mlp_dataset *out,
                     mlp_error *error);

/* CSV: a header row, then `label,pixel0,...,pixelN-1` per line. Errors name the file, the line
 * and the column: not a number, outside 0..255, wrong number of columns, label outside 0..9. */
int mlp_dataset_load_csv(const char *path, mlp_dataset *out, mlp_error *error);

/* A folder holding <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte, each optionally
 * with .gz; prefix is "train" or "t10k". */
int mlp_dataset_load_idx_folder(const char *folder, const char *prefix, mlp_dataset *out,
                            mlp_error *error);
/* Whether that folder holds the pair (either form); used to decide if a test set exists. */
int mlp_dataset_idx_folder_has(const char *folder, const char *prefix);

void mlp_dataset_free(mlp_dataset *dataset);

/* The seeded split: a random permutation of 0..count-1 (rng seeded with `seed`), of which the
 * first round(count * validation_fraction) indices are validation and the rest training.
 * Both arrays are malloc'ed; free them with free(). */
int mlp_dataset_split(int count, double validation_fraction, uint64_t seed, int **train_indices,
                  int *train_count, int **validation_indices, int *validation_count,
                  mlp_error *error);

/* Copies the rows named by indices[0..n-1] into batch_pixels (n × features) and their labels
 * into batch_labels. */
void mlp_dataset_gather(const mlp_dataset *dataset, const int *indices, int n, uint8_t *batch_pixels,
                    uint8_t *batch_labels);

#ifdef __cplusplus
}
#endif
#endif
