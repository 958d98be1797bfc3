/* Dropout and augmentation (include/mlp/dropout.h, augment.h):
 *   options     --dropout / --augment specs: accepted forms and one-line errors
 *   masks       the drop rate is p; masks are pure functions of their key; a rank's rows
 *               (first_row > 0) get the same masks, activations and deltas as those rows of the
 *               whole batch
 *   gradient    backpropagation with a fixed mask against central finite differences (as
 *               tests/test_gradient.c), every activation, the scalar kernels and the best ones
 *   augment     the identity leaves bytes alone; a shift of exactly 1 pixel moves every pixel by
 *               one; rotations by 90 and 180 degrees are exact; the same (seed, epoch, example)
 *               gives the same bytes, another epoch or seed others; the augmented gather is the
 *               same for 1, 2 and 3 threads; the figure's PNG has the promised size
 *   training    one epoch with dropout and augmentation: byte-identical models for 1, 2 and 3
 *               threads, and a run stopped after its first batch and continued by a fresh trainer
 *               ends with the model of the uninterrupted run
 * MNIST (argv[1]) when present, else synthetic images.
 * Usage: test_regular [MNIST_DIR] */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlp/augment.h"
#include "mlp/dropout.h"
#include "mlp/model.h"
#include "mlp/network.h"
#include "mlp/rng.h"
#include "mlp/train.h"
#include "test_plot_png.h"
#include "test_util.h"

/* ---- options ---- */

static void test_options(void) {
    mlp_error error;
    mlp_dropout_options d;
    int count;
    CHECK(mlp_dropout_parse("0.2", &d, &count, &error) == 0 && count == 1 && d.hidden[0] == 0.2f &&
              d.hidden[MLP_MAX_LAYERS - 1] == 0.2f, "--dropout 0.2: every layer");
    CHECK(mlp_dropout_parse("0.2,0,0.5", &d, &count, &error) == 0 && count == 3 && d.hidden[1] == 0.0f &&
              d.hidden[2] == 0.5f && d.hidden[3] == 0.0f, "--dropout 0.2,0,0.5");
    const char *bad_dropout[] = {"", "1", "-0.1", "0.2,", "abc", "0.2,,0.3", "nan", "0.5x"};
    for (size_t i = 0; i < sizeof bad_dropout / sizeof bad_dropout[0]; i++)
        CHECK(mlp_dropout_parse(bad_dropout[i], &d, &count, &error) != 0 && strstr(error.message, "--dropout"),
              "--dropout '%s' accepted", bad_dropout[i]);
    CHECK(mlp_dropout_parse("0.3", &d, &count, &error) == 0 && mlp_dropout_fit(&d, 2, &error) == 0 && d.hidden[1] == 0.3f &&
              d.hidden[2] == 0.0f, "dropout_fit keeps the hidden layers' entries only");
    char text[128];
    mlp_dropout_format(&d, 2, text, sizeof text);
    CHECK(strcmp(text, "0.3,0.3") == 0, "dropout_format: %s", text);

    mlp_augment_options a;
    CHECK(mlp_augment_parse("shift=2,rotate=10,scale=0.1,elastic=34:4", &a, &error) == 0 && a.shift_pixels == 2.0f &&
              a.rotate_degrees == 10.0f && a.scale_fraction == 0.1f && a.elastic_alpha == 34.0f &&
              a.elastic_sigma == 4.0f, "the full spec: %s", error.message);
    mlp_augment_format(&a, text, sizeof text);
    CHECK(strcmp(text, "shift=2,rotate=10,scale=0.1,elastic=34:4") == 0, "augment_format: %s", text);
    CHECK(mlp_augment_parse("elastic=8:3,shift=1.5", &a, &error) == 0 && a.shift_pixels == 1.5f && a.rotate_degrees == 0.0f,
          "a subset in another order");
    CHECK(mlp_augment_parse("none", &a, &error) == 0 && !mlp_augment_active(&a), "none");
    const char *bad_augment[] = {"", "shift", "shift=", "shift=x", "shift=-1", "rotate=181", "scale=1",
                                 "elastic=34", "elastic=34:0", "elastic=-1:4", "zoom=2", "shift=1,shift=2",
                                 "shift=1,", "shift=inf"};
    for (size_t i = 0; i < sizeof bad_augment / sizeof bad_augment[0]; i++)
        CHECK(mlp_augment_parse(bad_augment[i], &a, &error) != 0 && strstr(error.message, "--augment") &&
                  !strchr(error.message, '\n'), "--augment '%s' accepted", bad_augment[i]);
    CHECK(mlp_augment_check_images(1, 100, "x.csv", &error) != 0 && strstr(error.message, "x.csv"),
          "a 1 x 100 picture is refused");
    CHECK(mlp_augment_check_images(28, 28, "mnist", &error) == 0 && mlp_augment_check_images(16, 20, "other", &error) == 0,
          "28 x 28 and 16 x 20 are accepted");
}

/* ---- masks ---- */

static void test_masks(void) {
    const float ps[] = {0.1f, 0.5f, 0.8f};
    for (size_t i = 0; i < 3; i++) {
        uint64_t threshold = mlp_dropout_threshold(ps[i]);
        long dropped = 0, total = 0;
        for (int row = 0; row < 200; row++) {
            uint64_t key = mlp_dropout_row_key(42, 1, 3, 0, row);
            for (int unit = 0; unit < 1000; unit++, total++) dropped += !mlp_dropout_keep(key, unit, threshold);
        }
        double rate = (double)dropped / total;
        CHECK(fabs(rate - ps[i]) < 0.005, "p = %g: dropped %.4f of %ld units", ps[i], rate, total);
    }
    /* Keys differ in every coordinate and are pure. */
    uint64_t base = mlp_dropout_row_key(42, 2, 7, 1, 5);
    CHECK(base == mlp_dropout_row_key(42, 2, 7, 1, 5), "the key is a pure function");
    CHECK(base != mlp_dropout_row_key(43, 2, 7, 1, 5) && base != mlp_dropout_row_key(42, 3, 7, 1, 5) &&
              base != mlp_dropout_row_key(42, 2, 8, 1, 5) && base != mlp_dropout_row_key(42, 2, 7, 2, 5) &&
              base != mlp_dropout_row_key(42, 2, 7, 1, 6), "every coordinate changes the key");
    CHECK(mlp_dropout_threshold(0.0f) == 0, "p = 0 drops nothing");
}

/* A model with non-zero biases, random pixels and targets. */
static void make_case(mlp_model *model, const int *sizes, int size_count, mlp_activation activation,
                      uint64_t seed, uint8_t *pixels, uint8_t *targets, int rows) {
    mlp_error error;
    CHECK(mlp_model_create(model, sizes, size_count, activation, MLP_OUTPUT_SOFTMAX, &error) == 0, "%s", error.message);
    mlp_model_init_he(model, seed);
    mlp_rng_state rng;
    mlp_rng_seed(&rng, seed + 1000);
    for (int l = 0; l < model->layer_count; l++)
        for (int j = 0; j < model->sizes[l + 1]; j++) mlp_model_biases(model, l)[j] = (float)(0.1 * mlp_rng_normal(&rng));
    for (int i = 0; i < rows * sizes[0]; i++) pixels[i] = (uint8_t)mlp_rng_below(&rng, 256);
    for (int i = 0; i < rows; i++) targets[i] = (uint8_t)mlp_rng_below(&rng, (uint64_t)sizes[size_count - 1]);
}

/* A rank's share of a batch: rows [first, n) computed alone (first_row = first) get the same
 * masked activations and the same deltas as those rows of the whole batch. */
static void test_rank_rows(const mlp_kernel_table *kernels) {
    enum { N = 16, FIRST = 5 };
    const int sizes[] = {12, 9, 7, 10};
    mlp_model model;
    uint8_t pixels[N * 12], targets[N];
    make_case(&model, sizes, 4, MLP_ACTIVATION_TANH, 7, pixels, targets, N);
    mlp_dropout_options options = {.hidden = {0.4f, 0.3f}};
    mlp_network whole, part;
    mlp_error error;
    CHECK(mlp_network_create(&whole, &model, kernels, N, 1, &error) == 0 && mlp_network_create(&part, &model, kernels, N, 1, &error) == 0,
          "%s", error.message);
    CHECK(mlp_network_dropout_enable(&whole, &options, 99, &error) == 0 && mlp_network_dropout_enable(&part, &options, 99, &error) == 0,
          "%s", error.message);
    mlp_network_dropout_begin_batch(&whole, 4, 11, 0);
    mlp_network_dropout_begin_batch(&part, 4, 11, FIRST);
    mlp_network_forward(&whole, pixels, N);
    mlp_network_row_costs(&whole, targets, N, N, 1);
    mlp_network_backward(&whole, pixels, N);
    mlp_network_forward(&part, pixels + FIRST * 12, N - FIRST);
    mlp_network_row_costs(&part, targets + FIRST, N - FIRST, N, 1);
    mlp_network_backward(&part, pixels + FIRST * 12, N - FIRST);
    for (int l = 1; l < model.layer_count; l++) {
        size_t offset = (size_t)FIRST * sizes[l], count = (size_t)(N - FIRST) * sizes[l];
        CHECK(memcmp(whole.activations[l] + offset, part.activations[l], count * sizeof(float)) == 0,
              "%s: layer %d activations of rows %d.. differ when computed alone", kernels->name, l, FIRST);
        CHECK(memcmp(whole.deltas[l] + offset, part.deltas[l], count * sizeof(float)) == 0,
              "%s: layer %d deltas of rows %d.. differ when computed alone", kernels->name, l, FIRST);
    }
    /* The zeros are exactly the units dropout_keep drops (tanh is 0 only at 0). */
    int same = 1;
    for (int row = 0; row < N; row++) {
        uint64_t key = mlp_dropout_row_key(99, 4, 11, 0, row);
        for (int j = 0; j < sizes[1]; j++)
            same &= (whole.activations[1][row * sizes[1] + j] == 0.0f) == !mlp_dropout_keep(key, j, mlp_dropout_threshold(0.4f));
    }
    CHECK(same, "%s: the forward pass's mask is not dropout_keep's", kernels->name);
    /* Dropout changed something: with training off the activations differ. */
    float saved = whole.activations[1][0];
    long zeros = 0;
    for (int i = 0; i < N * sizes[1]; i++) zeros += whole.activations[1][i] == 0.0f;
    CHECK(zeros > 0, "tanh outputs with p = 0.4: no unit dropped");
    mlp_network_dropout_end(&whole);
    mlp_network_forward(&whole, pixels, N);
    long zeros_off = 0;
    for (int i = 0; i < N * sizes[1]; i++) zeros_off += whole.activations[1][i] == 0.0f;
    CHECK(zeros_off < zeros, "evaluation drops units too (%ld zeros, %ld in training)", zeros_off, zeros);
    (void)saved;
    mlp_network_free(&whole);
    mlp_network_free(&part);
    mlp_model_free(&model);
}

/* ---- gradient with a fixed mask ---- */

#define BATCH 7
#define TOLERANCE 2e-2
#define FLOOR 1e-3

static double batch_cost(mlp_network *network, const uint8_t *pixels, const uint8_t *targets) {
    mlp_network_forward(network, pixels, BATCH);
    return mlp_network_loss(network, targets, BATCH, 0);
}

/* The kink pattern of ReLU: which hidden outputs are above 0 (dropped ones are 0). */
static void active_pattern(const mlp_network *network, uint8_t *pattern) {
    size_t at = 0;
    for (int l = 1; l < network->model->layer_count; l++)
        for (size_t i = 0; i < (size_t)BATCH * network->model->sizes[l]; i++) pattern[at++] = network->activations[l][i] > 0.0f;
}

static int is_real_parameter(const mlp_model *model, size_t index) {
    for (int l = 0; l < model->layer_count; l++) {
        size_t weights = (size_t)model->sizes[l] * model->sizes[l + 1];
        if (index >= model->weight_offset[l] && index < model->weight_offset[l] + weights) return 1;
        if (index >= model->bias_offset[l] && index < model->bias_offset[l] + (size_t)model->sizes[l + 1]) return 1;
    }
    return 0;
}

static double check_dropout_gradient(const mlp_kernel_table *kernels, mlp_activation activation, uint64_t seed) {
    const int sizes[] = {12, 9, 8, 10};
    mlp_model model;
    uint8_t pixels[BATCH * 12], targets[BATCH];
    make_case(&model, sizes, 4, activation, seed, pixels, targets, BATCH);
    mlp_network network;
    mlp_error error;
    mlp_dropout_options options = {.hidden = {0.3f, 0.5f}};
    CHECK(mlp_network_create(&network, &model, kernels, BATCH, 1, &error) == 0, "%s", error.message);
    CHECK(mlp_network_dropout_enable(&network, &options, seed, &error) == 0, "%s", error.message);
    mlp_network_dropout_begin_batch(&network, 2, 3, 0); /* the fixed mask */
    mlp_network_forward(&network, pixels, BATCH);
    mlp_network_loss(&network, targets, BATCH, 1);
    mlp_network_backward(&network, pixels, BATCH);
    float *analytic = malloc(model.parameter_count * sizeof *analytic);
    memcpy(analytic, network.gradients, model.parameter_count * sizeof *analytic);
    size_t units = (size_t)BATCH * (sizes[1] + sizes[2]);
    uint8_t *base = malloc(units), *pattern = malloc(units);
    batch_cost(&network, pixels, targets);
    active_pattern(&network, base);
    double worst = 0.0;
    size_t checked = 0, skipped = 0, failed = 0, zero_gradients = 0;
    const float steps[] = {1e-2f, 1e-3f};
    for (size_t i = 0; i < model.parameter_count; i++) {
        if (!is_real_parameter(&model, i)) continue;
        double numeric = 0.0;
        int kink = 1;
        for (int s = 0; s < 2 && kink; s++) {
            float saved = model.parameters[i], plus = saved + steps[s], minus = saved - steps[s];
            model.parameters[i] = plus;
            double cost_plus = batch_cost(&network, pixels, targets);
            active_pattern(&network, pattern);
            kink = memcmp(pattern, base, units) != 0;
            model.parameters[i] = minus;
            double cost_minus = batch_cost(&network, pixels, targets);
            active_pattern(&network, pattern);
            kink |= memcmp(pattern, base, units) != 0;
            model.parameters[i] = saved;
            if (activation != MLP_ACTIVATION_RELU) kink = 0;
            numeric = (cost_plus - cost_minus) / ((double)plus - (double)minus);
        }
        if (kink) {
            skipped++;
            continue;
        }
        double a = analytic[i], relative = fabs(a - numeric) / fmax(fabs(a) + fabs(numeric), FLOOR);
        if (relative > TOLERANCE && ++failed <= 5)
            CHECK(0, "%s %s: parameter %zu analytic %.6g numeric %.6g (error %.3g)", kernels->name,
                  mlp_model_activation_name(activation), i, a, numeric, relative);
        if (relative > worst) worst = relative;
        zero_gradients += a == 0.0;
        checked++;
    }
    CHECK(skipped <= 0.05 * (checked + skipped), "%s %s: %zu of %zu skipped at kinks", kernels->name,
          mlp_model_activation_name(activation), skipped, checked + skipped);
    /* The dropped units' incoming weights have exactly zero gradient in every row where they are
     * dropped; a unit dropped in all 7 rows has a whole zero column: some zeros must appear. */
    printf("  dropout gradient %-6s %-7s: %zu parameters checked, %zu skipped (ReLU kink), %zu exactly 0, worst error %.2e\n",
           kernels->name, mlp_model_activation_name(activation), checked, skipped, zero_gradients, worst);
    free(analytic);
    free(base);
    free(pattern);
    mlp_network_free(&network);
    mlp_model_free(&model);
    return worst;
}

/* ---- augmentation ---- */

static void random_image(uint8_t *image, int pixels, uint64_t seed) {
    mlp_rng_state rng;
    mlp_rng_seed(&rng, seed);
    for (int i = 0; i < pixels; i++) image[i] = (uint8_t)mlp_rng_below(&rng, 256);
}

static void test_augment_transforms(void) {
    enum { S = 28 };
    mlp_error error;
    uint8_t in[S * S], out[S * S], other[S * S];
    random_image(in, S * S, 5);
    mlp_augment_plan plan;
    mlp_augment_options none = {0};
    CHECK(mlp_augment_plan_create(&plan, &none, 42, S, S, &error) == 0, "%s", error.message);
    mlp_augment_example(&plan, 3, 17, in, out);
    CHECK(memcmp(in, out, sizeof in) == 0, "the identity changed the image");

    mlp_augment_transform shift = {.shift_x = 1.0f, .scale = 1.0f};
    mlp_augment_apply(&plan, &shift, in, out);
    int moved = 1;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) moved &= out[y * S + x] == (x == 0 ? 0 : in[y * S + x - 1]);
    CHECK(moved, "shift_x = 1 does not move every pixel one to the right");
    shift = (mlp_augment_transform){.shift_y = -1.0f, .scale = 1.0f};
    mlp_augment_apply(&plan, &shift, in, out);
    moved = 1;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) moved &= out[y * S + x] == (y == S - 1 ? 0 : in[(y + 1) * S + x]);
    CHECK(moved, "shift_y = -1 does not move every pixel one up");

    mlp_augment_transform turn = {.degrees = 90.0f, .scale = 1.0f};
    mlp_augment_apply(&plan, &turn, in, out);
    int exact = 1;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) exact &= out[y * S + x] == in[(S - 1 - x) * S + y]; /* the top goes right */
    CHECK(exact, "a 90-degree turn is not the exact clockwise rotation");
    turn.degrees = 180.0f;
    mlp_augment_apply(&plan, &turn, in, out);
    exact = 1;
    for (int i = 0; i < S * S; i++) exact &= out[i] == in[S * S - 1 - i];
    CHECK(exact, "a 180-degree turn is not the exact point reflection");
    /* A full turn (sin 2π ≠ 0 in float) gives the translation's bytes. */
    for (int k = 0; k < 8; k++) {
        float tx = 0.37f * (float)k - 1.3f, ty = 0.9f - 0.23f * (float)k;
        mlp_augment_transform moved_only = {.shift_x = tx, .shift_y = ty, .scale = 1.0f};
        mlp_augment_transform full_turn = {.shift_x = tx, .shift_y = ty, .degrees = 360.0f, .scale = 1.0f};
        mlp_augment_apply(&plan, &moved_only, in, out);
        mlp_augment_apply(&plan, &full_turn, in, other);
        CHECK(memcmp(out, other, sizeof out) == 0, "shift (%g, %g): a full turn changes the translated picture",
              tx, ty);
    }
    mlp_augment_plan_free(&plan);

    mlp_augment_options all = {.shift_pixels = 2, .rotate_degrees = 10, .scale_fraction = 0.1f,
                               .elastic_alpha = 34, .elastic_sigma = 4};
    CHECK(mlp_augment_plan_create(&plan, &all, 42, S, S, &error) == 0, "%s", error.message);
    mlp_augment_example(&plan, 2, 1234, in, out);
    mlp_augment_example(&plan, 2, 1234, in, other);
    CHECK(memcmp(out, other, sizeof out) == 0, "the same (seed, epoch, example) gave other bytes");
    CHECK(memcmp(out, in, sizeof out) != 0, "the full spec left the image alone");
    mlp_augment_example(&plan, 3, 1234, in, other);
    CHECK(memcmp(out, other, sizeof out) != 0, "another epoch gave the same bytes");
    mlp_augment_example(&plan, 2, 1235, in, other);
    CHECK(memcmp(out, other, sizeof out) != 0, "another example index gave the same bytes");
    mlp_augment_plan_free(&plan);
    CHECK(mlp_augment_plan_create(&plan, &all, 43, S, S, &error) == 0, "%s", error.message);
    mlp_augment_example(&plan, 2, 1234, in, other);
    CHECK(memcmp(out, other, sizeof out) != 0, "another seed gave the same bytes");
    mlp_augment_plan_free(&plan);

    /* The elastic field alone moves pixels by about a pixel, not across the picture: a centred
     * bright square keeps most of its brightness near the centre. */
    mlp_augment_options elastic = {.elastic_alpha = 34, .elastic_sigma = 4};
    CHECK(mlp_augment_plan_create(&plan, &elastic, 42, S, S, &error) == 0, "%s", error.message);
    memset(in, 0, sizeof in);
    for (int y = 9; y < 19; y++)
        for (int x = 9; x < 19; x++) in[y * S + x] = 255;
    long before = 0, after = 0;
    for (int e = 0; e < 20; e++) {
        mlp_augment_example(&plan, 1, e, in, out);
        for (int y = 6; y < 22; y++)
            for (int x = 6; x < 22; x++) after += out[y * S + x];
        before += 100 * 255;
    }
    CHECK(after > 0.8 * before && after < 1.2 * before, "elastic 34:4 moved the square's mass: %ld of %ld",
          after, before);
    mlp_augment_plan_free(&plan);
}

/* A data set: MNIST's first `count` training images, or synthetic ones (noise plus a bright band
 * whose row is the label). */
static int load_data(const char *mnist_dir, int count, mlp_dataset *data) {
    mlp_error error;
    if (mnist_dir && mlp_dataset_idx_folder_has(mnist_dir, "train") &&
        mlp_dataset_load_idx_folder(mnist_dir, "train", data, &error) == 0) {
        if (data->count > count) data->count = count;
        return 1;
    }
    *data = (mlp_dataset){.count = count, .rows = 28, .cols = 28, .features = 784};
    data->pixels = malloc((size_t)count * 784);
    data->labels = malloc((size_t)count);
    mlp_rng_state rng;
    mlp_rng_seed(&rng, 9);
    for (int i = 0; i < count; i++) {
        int label = (int)mlp_rng_below(&rng, 10);
        data->labels[i] = (uint8_t)label;
        for (int p = 0; p < 784; p++)
            data->pixels[(size_t)i * 784 + p] = (uint8_t)(mlp_rng_below(&rng, 96) + (p / 28 / 3 == label ? 150 : 0));
    }
    return 0;
}

static void test_augment_gather(const mlp_dataset *data) {
    const int sizes[] = {784, 16, 10};
    mlp_model model;
    mlp_error error;
    CHECK(mlp_model_create(&model, sizes, 3, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX, &error) == 0, "%s", error.message);
    mlp_augment_options all = {.shift_pixels = 2, .rotate_degrees = 10, .scale_fraction = 0.1f,
                               .elastic_alpha = 34, .elastic_sigma = 4};
    mlp_augment_plan plan;
    CHECK(mlp_augment_plan_create(&plan, &all, 42, 28, 28, &error) == 0, "%s", error.message);
    enum { N = 61 };
    int indices[200];
    for (int i = 0; i < 200; i++) indices[i] = (i * 37) % data->count;
    uint8_t *reference = malloc((size_t)N * 784);
    for (int threads = 1; threads <= 3; threads++) {
        mlp_network network;
        CHECK(mlp_network_create(&network, &model, mlp_kernels_find("scalar"), N, threads, &error) == 0, "%s", error.message);
#pragma omp parallel num_threads(threads)
        mlp_augment_gather_batch(&plan, 5, &network, data, indices, 100, N);
        if (threads == 1) memcpy(reference, network.input_pixels, (size_t)N * 784);
        else CHECK(memcmp(reference, network.input_pixels, (size_t)N * 784) == 0,
                   "the augmented batch differs with %d threads", threads);
        /* Row i is example indices[100 + i] augmented alone. */
        uint8_t alone[784];
        mlp_augment_example(&plan, 5, indices[100 + 7], data->pixels + (size_t)indices[100 + 7] * 784, alone);
        CHECK(memcmp(alone, network.input_pixels + 7 * 784, 784) == 0 &&
                  network.input_targets[7] == data->labels[indices[107]], "row 7 is not its example augmented");
        mlp_network_free(&network);
    }
    free(reference);

    /* The figure. */
    char folder[] = "/tmp/mlp_test_regular_XXXXXX";
    if (mkdtemp(folder)) {
        char path[256];
        snprintf(path, sizeof path, "%s/grid.png", folder);
        CHECK(mlp_augment_grid_png(path, &plan, data, 5, 6, 3, &error) == 0, "%s", error.message);
        int width, height;
        mlp_augment_grid_size(&plan, 5, 6, 3, &width, &height);
        test_png png = test_png_read(path);
        CHECK(png.rgb && png.width == width && png.height == height, "grid.png is %d x %d, expected %d x %d",
              png.width, png.height, width, height);
        CHECK(width == 6 + 7 * (28 * 3 + 6) + 12 && height == 6 + 5 * (28 * 3 + 6), "the grid's layout changed");
        free(png.rgb);
        unlink(path);
        rmdir(folder);
    }
    mlp_augment_plan_free(&plan);
    mlp_model_free(&model);
}

/* ---- training ---- */

typedef struct regular_run {
    int threads;
    int stop_after_first_batch; /* then a fresh trainer continues the epoch */
} regular_run;

static int stop_flag;

/* One or two epochs of 784,128,64,10 with dropout 0.2,0.3 and the full augmentation on the first
 * `count` images; the model's parameters into *params (malloc'ed). */
static void train(const mlp_dataset *data, int count, int epochs, const regular_run *run, float **params, size_t *size) {
    const int sizes[] = {784, 128, 64, 10};
    mlp_error error;
    mlp_model model;
    CHECK(mlp_model_create(&model, sizes, 4, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX, &error) == 0, "%s", error.message);
    mlp_model_init_he(&model, 42);
    int *indices = malloc((size_t)count * sizeof *indices);
    for (int i = 0; i < count; i++) indices[i] = i;
    mlp_train_options options = {.batch = 64, .learning_rate = 0.1f, .epochs = epochs, .seed = 42, .threads = run->threads};
    options.recipe.dropout = (mlp_dropout_options){.hidden = {0.2f, 0.3f}};
    options.recipe.augment = (mlp_augment_options){.shift_pixels = 2, .rotate_degrees = 10, .scale_fraction = 0.1f,
                                                   .elastic_alpha = 34, .elastic_sigma = 4};
    mlp_trainer t;
    CHECK(mlp_trainer_init(&t, &model, mlp_kernels_best(), data, indices, count, NULL, 0, &options, &error) == 0, "%s",
          error.message);
    CHECK(t.augment != NULL && t.network.dropout != NULL, "the trainer has no augmentation or dropout");
    mlp_epoch_metrics metrics;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        if (epoch == 1 && run->stop_after_first_batch) {
            /* Stop after batch 1, then continue in a fresh trainer from the saved position. */
            stop_flag = 1;
            t.stop_requested = (volatile sig_atomic_t *)&stop_flag;
            CHECK(mlp_trainer_run_epoch(&t, 1, 0, &metrics) == 1 && t.stopped_at_batch == 1, "the epoch did not stop");
            double partial_sum = t.partial_cost_sum;
            int partial_examples = t.partial_examples;
            mlp_trainer_free(&t);
            mlp_model copy;
            CHECK(mlp_model_create(&copy, sizes, 4, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX, &error) == 0, "%s", error.message);
            memcpy(copy.parameters, model.parameters, model.parameter_count * sizeof(float));
            mlp_model_free(&model);
            model = copy;
            CHECK(mlp_trainer_init(&t, &model, mlp_kernels_best(), data, indices, count, NULL, 0, &options, &error) == 0, "%s",
                  error.message);
            t.partial_cost_sum = partial_sum;
            t.partial_examples = partial_examples;
            CHECK(mlp_trainer_run_epoch(&t, 1, 1, &metrics) == 0, "the continued epoch stopped");
            continue;
        }
        CHECK(mlp_trainer_run_epoch(&t, epoch, 0, &metrics) == 0 && isfinite(metrics.train_cost), "epoch %d", epoch);
    }
    *size = model.parameter_count * sizeof(float);
    *params = malloc(*size);
    memcpy(*params, model.parameters, *size);
    mlp_trainer_free(&t);
    mlp_model_free(&model);
    free(indices);
}

static void test_training(const mlp_dataset *data, int count) {
    double start = mlp_wall_seconds();
    float *reference, *params;
    size_t reference_size, size;
    regular_run one = {.threads = 1};
    train(data, count, 2, &one, &reference, &reference_size);
    for (int threads = 2; threads <= 3; threads++) {
        regular_run run = {.threads = threads};
        train(data, count, 2, &run, &params, &size);
        CHECK(size == reference_size && memcmp(params, reference, size) == 0,
              "dropout + augmentation: the model after 2 epochs with %d threads differs from 1 thread's", threads);
        free(params);
    }
    regular_run resumed = {.threads = 2, .stop_after_first_batch = 1};
    train(data, count, 2, &resumed, &params, &size);
    CHECK(size == reference_size && memcmp(params, reference, size) == 0,
          "dropout + augmentation: stopped after batch 1 and continued by a fresh trainer, the model differs");
    free(params);
    free(reference);
    printf("training with dropout 0.2,0.3 and shift=2,rotate=10,scale=0.1,elastic=34:4 on %d images: 1, 2, 3 threads "
           "and a continued run byte-identical (%.1f s)\n", count, mlp_wall_seconds() - start);
}

int main(int argc, char **argv) {
    test_options();
    test_masks();
    int compiled_count, variant_count = 0;
    const mlp_kernel_table *const *compiled = mlp_kernels_compiled(&compiled_count);
    const mlp_kernel_table *variants[8];
    for (int i = 0; i < compiled_count && variant_count < 8; i++)
        if (mlp_kernels_supported(compiled[i], NULL)) variants[variant_count++] = compiled[i];
    const mlp_activation activations[] = {MLP_ACTIVATION_RELU, MLP_ACTIVATION_SIGMOID, MLP_ACTIVATION_TANH};
    double worst = 0.0;
    for (int v = 0; v < variant_count; v++) {
        if (variants[v] != mlp_kernels_find("scalar") && variants[v] != mlp_kernels_best()) continue;
        test_rank_rows(variants[v]);
        for (int a = 0; a < 3; a++) {
            double error = check_dropout_gradient(variants[v], activations[a], 11 + (uint64_t)a);
            if (error > worst) worst = error;
        }
    }
    printf("dropout gradient check: worst relative error %.2e (tolerance %.0e)\n", worst, TOLERANCE);
    test_augment_transforms();
    mlp_dataset data;
    int mnist = load_data(argc > 1 ? argv[1] : NULL, 3000, &data);
    printf("data: %s\n", mnist ? "MNIST's first 3000 training images" : "3000 synthetic images (no MNIST)");
    test_augment_gather(&data);
    test_training(&data, mnist ? 3000 : 1000);
    mlp_dataset_free(&data);
    return test_exit_code();
}
