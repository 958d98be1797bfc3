/* Writes the seed corpora: fuzz/corpus/<target>/ (small valid and nearly valid inputs of every
 * form the loaders accept). Run once after a format change:
 *   build/fuzz/make_fuzz_seeds fuzz/corpus                                                    */
#define _POSIX_C_SOURCE 200809L
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "mlp/checkpoint.h"
#include "core/file_util.h"
#include "mlp/model.h"
#include "mlp/optimizer.h"

static const char *root;

static void write_seed(const char *target, const char *name, const void *bytes, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(bytes, 1, size, file) != size || fclose(file) != 0) {
        fprintf(stderr, "%s: cannot write\n", path);
        exit(1);
    }
}

/* gzip-compresses in memory (the loaders read .gz through zlib). */
static size_t gzip_bytes(const uint8_t *in, size_t size, uint8_t *out, size_t capacity) {
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)capacity;
    deflate(&z, Z_FINISH);
    size_t produced = z.total_out;
    deflateEnd(&z);
    return produced;
}

/* u16 split, IDX images (count × rows × cols), IDX labels. */
static size_t idx_pair(uint8_t *out, int count, int rows, int cols, int label_count, int gzip) {
    uint8_t images[256], labels[64];
    size_t n_images = 0, n_labels = 0;
    const uint8_t image_header[4] = {0, 0, 8, 3}, label_header[4] = {0, 0, 8, 1};
    memcpy(images, image_header, 4);
    uint32_t dims[3] = {(uint32_t)count, (uint32_t)rows, (uint32_t)cols};
    for (int d = 0; d < 3; d++)
        for (int b = 0; b < 4; b++) images[4 + 4 * d + b] = (uint8_t)(dims[d] >> (24 - 8 * b));
    n_images = 16;
    for (int i = 0; i < count * rows * cols; i++) images[n_images++] = (uint8_t)(i * 37);
    memcpy(labels, label_header, 4);
    for (int b = 0; b < 4; b++) labels[4 + b] = (uint8_t)((uint32_t)label_count >> (24 - 8 * b));
    n_labels = 8;
    for (int i = 0; i < label_count; i++) labels[n_labels++] = (uint8_t)(i % 10);
    uint8_t packed_images[512], packed_labels[256];
    const uint8_t *a = images, *b = labels;
    if (gzip) {
        n_images = gzip_bytes(images, n_images, packed_images, sizeof packed_images);
        n_labels = gzip_bytes(labels, n_labels, packed_labels, sizeof packed_labels);
        a = packed_images;
        b = packed_labels;
    }
    out[0] = (uint8_t)n_images;
    out[1] = (uint8_t)(n_images >> 8);
    memcpy(out + 2, a, n_images);
    memcpy(out + 2 + n_images, b, n_labels);
    return 2 + n_images + n_labels;
}

static void idx_seeds(void) {
    uint8_t buffer[1024];
    write_seed("idx", "raw_2x2x3", buffer, idx_pair(buffer, 2, 2, 3, 2, 0));
    write_seed("idx", "gzip_3x2x2", buffer, idx_pair(buffer, 3, 2, 2, 3, 1));
    write_seed("idx", "count_mismatch", buffer, idx_pair(buffer, 2, 2, 2, 3, 0));
    write_seed("idx", "mnist_shape_1", buffer, idx_pair(buffer, 0, 28, 28, 0, 0));
}

static void csv_seeds(void) {
    const char *plain = "label,pixel0,pixel1,pixel2,pixel3\n1,0,255,3,4\n9,10,20,30,40\n";
    const char *windows = "\xEF\xBB\xBFlabel,a,b\r\n0,1,2\r\n\r\n7, 8 ,9";
    const char *bad = "label,p0,p1\n3,256,1\n11,0,0\n";
    write_seed("csv", "plain.csv", plain, strlen(plain));
    write_seed("csv", "bom_crlf.csv", windows, strlen(windows));
    write_seed("csv", "out_of_range.csv", bad, strlen(bad));
    uint8_t packed[512];
    write_seed("csv", "plain.csv.gz", packed, gzip_bytes((const uint8_t *)plain, strlen(plain), packed, sizeof packed));
}

static void model_and_checkpoint_seeds(void) {
    mlp_model model, sigmoid;
    mlp_error error;
    const int sizes[] = {4, 3, 10}, binary[] = {5, 2, 1};
    if (mlp_model_create(&model, sizes, 3, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX, &error) != 0 ||
        mlp_model_create(&sigmoid, binary, 3, MLP_ACTIVATION_TANH, MLP_OUTPUT_SIGMOID, &error) != 0) {
        fprintf(stderr, "%s\n", error.message);
        exit(1);
    }
    mlp_model_init_he(&model, 1);
    mlp_model_init_he(&sigmoid, 2);
    uint8_t *bytes;
    size_t size;
    mlp_model_serialize(&model, &bytes, &size, &error);
    write_seed("model", "softmax_4_3_10.mlp", bytes, size);
    free(bytes);
    mlp_model_serialize(&sigmoid, &bytes, &size, &error);
    write_seed("model", "sigmoid_5_2_1.mlp", bytes, size);
    free(bytes);

    static mlp_checkpoint c;
    memset(&c, 0, sizeof c);
    snprintf(c.kernel, sizeof c.kernel, "scalar");
    snprintf(c.data_dir, sizeof c.data_dir, "data/mnist");
    c.data_count = 100;
    c.data_features = 4;
    c.batch = 8;
    c.learning_rate = 0.1f;
    c.seed = 42;
    c.validation_split = 0.2f;
    c.epochs = 3;
    c.patience = 1;
    c.checkpoint_every = 1;
    c.gradient_shards = 1;
    c.epoch = 2;
    c.first_batch = 2;
    c.partial_cost_sum = 30.0;
    c.partial_examples = 16;
    float costs[2] = {2.0f, 1.5f};
    c.batch_cost_count = 2;
    c.batch_costs = costs;
    mlp_epoch_metrics history[1];
    memset(history, 0, sizeof history);
    history[0].epoch = 1;
    history[0].train_cost = 1.7;
    history[0].validation.count = 20;
    history[0].validation.cost = 1.6;
    c.history_count = 1;
    c.history = history;
    c.best_epoch = 1;
    c.best_cost = 1.6;
    c.model = model;
    c.best_model = model;
    /* Version 2: Adam with its two moment arrays, a one-cycle schedule with a plateau, dropout
     * and augmentation set; version 3: the mid-epoch seed in bf16 (v1_*.mlpc and v2_*.mlpc are
     * the older versions' seeds, which still load, as fp32). */
    c.precision = MLP_PRECISION_BF16;
    mlp_recipe_init(&c.recipe);
    c.recipe.optimizer.kind = MLP_OPTIMIZER_ADAM;
    c.recipe.optimizer.weight_decay = 1e-4f;
    c.recipe.schedule.kind = MLP_LR_ONECYCLE;
    c.recipe.schedule.plateau = 2;
    c.recipe.dropout.hidden[0] = 0.25f;
    c.recipe.augment.shift_pixels = 2.0f;
    history[0].learning_rate = 0.05;
    c.optimizer_step = 14;
    mlp_plateau_init(&c.plateau);
    c.plateau.best_cost = 1.6;
    float m[64], v[64];
    for (int i = 0; i < 64; i++) {
        m[i] = 0.01f * (float)(i - 30);
        v[i] = 1e-4f * (float)i;
    }
    c.moment_arrays = 2;
    c.moment_count = model.parameter_count;
    c.moment1 = m;
    c.moment2 = v;
    mlp_checkpoint_serialize(&c, &bytes, &size, &error);
    write_seed("checkpoint", "mid_epoch.mlpc", bytes, size);
    free(bytes);
    memset(&c.best_model, 0, sizeof c.best_model);
    c.first_batch = 0;
    c.batch_cost_count = 0;
    c.best_epoch = 0;
    c.patience = 0;
    c.precision = MLP_PRECISION_FP32;
    c.recipe.optimizer.kind = MLP_OPTIMIZER_NESTEROV; /* one moment array */
    c.recipe.schedule.kind = MLP_LR_STEP;
    c.recipe.schedule.step_epochs = 1;
    c.moment_arrays = 1;
    c.moment2 = NULL;
    mlp_checkpoint_serialize(&c, &bytes, &size, &error);
    write_seed("checkpoint", "epoch_end.mlpc", bytes, size);
    free(bytes);
    mlp_model_free(&model);
    mlp_model_free(&sigmoid);
}

static void png_seed(const char *name, int format, int width, int height) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = (png_uint_32)format;
    size_t size = PNG_IMAGE_SIZE(image);
    uint8_t *pixels = malloc(size);
    for (size_t i = 0; i < size; i++) pixels[i] = (uint8_t)(i * 29 + 7);
    png_alloc_size_t length = 0;
    png_image_write_to_memory(&image, NULL, &length, 0, pixels, 0, NULL);
    uint8_t *bytes = malloc(length);
    if (!png_image_write_to_memory(&image, bytes, &length, 0, pixels, 0, NULL)) {
        fprintf(stderr, "png %s: %s\n", name, image.message);
        exit(1);
    }
    write_seed("png", name, bytes, length);
    free(bytes);
    free(pixels);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_fuzz_seeds CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    idx_seeds();
    csv_seeds();
    model_and_checkpoint_seeds();
    png_seed("gray_3x2.png", PNG_FORMAT_GRAY, 3, 2);
    png_seed("rgb_4x4.png", PNG_FORMAT_RGB, 4, 4);
    png_seed("rgba_2x5.png", PNG_FORMAT_RGBA, 2, 5);
    png_seed("gray16_3x3.png", PNG_FORMAT_LINEAR_Y, 3, 3);
    return 0;
}
