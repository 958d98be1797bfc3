#define _POSIX_C_SOURCE 200809L /* mkdtemp */
/* Training on real MNIST subsets (skipped when data/mnist is absent). One program, three tests,
 * picked by argv[1]:
 *   subset  (training_subset)    the first 2,000 training images, 784,128,64,10, 10 epochs,
 *                                batch 32, lr 0.1: accuracy on the 10,000 test images
 *                                >= SUBSET_MIN_ACCURACY (measured 0.9053 with avx512).
 *   golden  (golden_trajectory)  scalar kernels, seed 42: the batch costs of the first two epochs
 *                                on 1,000 images are bitwise the same in two runs (1 and 2
 *                                threads), within 1e-5 relative of tests/golden/batch_costs_scalar.txt,
 *                                and the first costs are near ln(10).
 *                                Regenerate the file (after an intended change of the numerics):
 *                                MLP_REGENERATE_GOLDEN=1 ctest -R golden_trajectory
 *   threads (threads_bitwise)    3,000 images (512 below the best variant), 784,128,64,10, 1 epoch, batch
 *                                64, with 1, 2, 3 and 7 threads: the saved model files are
 *                                identical byte for byte, for every kernel variant the CPU runs.
 *   fused   (training_fused)     the owner-computes step with the fused update against the unfused
 *                                step (network.fused_update = 0), every variant the CPU runs, plain
 *                                SGD and, in turn, two of momentum, Nesterov, Adam and AdamW (weight
 *                                decay 5e-4; each optimizer at least twice per variant; the second
 *                                with dropout 0.3 on every hidden layer), five
 *                                networks (split and one-owner layers, odd widths, a batch deeper
 *                                than one k slice), 1 and 2 threads (threads_bitwise covers 3 and
 *                                7 with the same step): the parameters and every batch cost
 *                                bitwise the same. Under qemu it joins the slow tests
 *                                scripts/test_neon.sh leaves out (kernels_neon checks the fused
 *                                kernels themselves).
 * Usage: test_training subset|golden|threads|fused MNIST_DIR [GOLDEN_FILE] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlp/data.h"
#include "core/file_util.h"
#include "mlp/model.h"
#include "mlp/train.h"
#include "test_util.h"

#define SUBSET_MIN_ACCURACY 0.87
#define GOLDEN_RELATIVE_TOLERANCE 1e-5
#define GOLDEN_MAX_COSTS 4096

typedef struct training_run {
    const mlp_kernel_table *kernels;
    const char *layers;
    int train_count; /* the first train_count images of the dataset */
    int epochs, batch, threads;
    float learning_rate;
    uint64_t seed;
    int unfused; /* 1: the unfused step (network.fused_update = 0) */
    mlp_optimizer optimizer;  /* 0: plain SGD; else with weight_decay (recipe.h)            */
    float weight_decay;
    float dropout;            /* p on every hidden layer (0: none)                          */
} training_run;

/* Trains a fresh He-initialised model as described; the batch costs of every epoch are
 * appended to costs (when non-NULL, room for epochs × batches). Returns 0 or -1. */
static int train_model(const training_run *run, const mlp_dataset *data, mlp_model *model,
                       float *costs, int *cost_count) {
    mlp_error error;
    int sizes[MLP_MAX_LAYERS + 1], size_count;
    CHECK(mlp_model_parse_layers(run->layers, sizes, &size_count, &error) == 0, "%s", error.message);
    CHECK(mlp_model_create(model, sizes, size_count, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX, &error) == 0,
          "%s", error.message);
    mlp_model_init_he(model, run->seed);
    int *indices = malloc((size_t)run->train_count * sizeof *indices);
    for (int i = 0; i < run->train_count; i++) indices[i] = i;
    mlp_train_options options = {.batch = run->batch, .learning_rate = run->learning_rate,
                             .epochs = run->epochs, .seed = run->seed, .threads = run->threads};
    mlp_recipe_init(&options.recipe);
    options.recipe.optimizer.kind = run->optimizer;
    options.recipe.optimizer.weight_decay = run->weight_decay;
    for (int l = 0; l + 2 < size_count; l++) options.recipe.dropout.hidden[l] = run->dropout;
    mlp_trainer t;
    if (mlp_trainer_init(&t, model, run->kernels, data, indices, run->train_count, NULL, 0, &options,
                     &error) != 0) {
        CHECK(0, "trainer_init: %s", error.message);
        free(indices);
        return -1;
    }
    if (run->unfused) t.network.fused_update = 0;
    if (cost_count) *cost_count = 0;
    for (int epoch = 1; epoch <= run->epochs; epoch++) {
        mlp_epoch_metrics metrics;
        CHECK(mlp_trainer_run_epoch(&t, epoch, 0, &metrics) == 0, "epoch %d stopped early", epoch);
        CHECK(isfinite(metrics.train_cost), "epoch %d: cost %g", epoch, metrics.train_cost);
        if (costs) {
            memcpy(costs + *cost_count, t.batch_costs, (size_t)t.batches_per_epoch * sizeof *costs);
            *cost_count += t.batches_per_epoch;
        }
    }
    mlp_trainer_free(&t);
    free(indices);
    return 0;
}

/* ---- training_subset ---- */

static void test_subset(const mlp_dataset *train, const char *mnist_dir) {
    mlp_dataset test;
    mlp_error error;
    if (mlp_dataset_load_idx_folder(mnist_dir, "t10k", &test, &error) != 0)
        TEST_SKIP("no MNIST test set: %s", error.message);
    training_run run = {.kernels = mlp_kernels_best(), .layers = "784,128,64,10", .train_count = 2000,
                        .epochs = 10, .batch = 32, .threads = 2, .learning_rate = 0.1f, .seed = 42};
    mlp_model model;
    if (train_model(&run, train, &model, NULL, NULL) == 0) {
        mlp_network network;
        CHECK(mlp_network_create(&network, &model, run.kernels, 256, run.threads, &error) == 0, "%s",
              error.message);
        mlp_evaluation result;
        mlp_evaluate(&network, &test, NULL, test.count, &result);
        printf("%s, %d images, %d epochs: test accuracy %.4f, cost %.4f on %d images\n", run.layers,
               run.train_count, run.epochs, result.accuracy, result.cost, result.count);
        CHECK(result.accuracy >= SUBSET_MIN_ACCURACY, "test accuracy %.4f < %.2f", result.accuracy,
              SUBSET_MIN_ACCURACY);
        CHECK(result.cost < 0.6, "test cost %.4f after training (ln 10 = 2.30 untrained)", result.cost);
        mlp_network_free(&network);
        mlp_model_free(&model);
    }
    mlp_dataset_free(&test);
}

/* ---- golden_trajectory ---- */

static int read_golden(const char *path, float *costs, int *count) {
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    char line[256];
    *count = 0;
    while (fgets(line, sizeof line, file) && *count < GOLDEN_MAX_COSTS)
        if (line[0] != '#' && line[0] != '\n') costs[(*count)++] = strtof(line, NULL);
    fclose(file);
    return 0;
}

static void write_golden(const char *path, const training_run *run, const float *costs, int count) {
    FILE *file = fopen(path, "w");
    CHECK(file != NULL, "%s: cannot write", path);
    if (!file) return;
    fprintf(file, "# Batch costs of the first %d epochs: scalar kernels, %s relu, the first %d MNIST\n"
                  "# training images, batch %d, lr %g, seed %llu. Written by test_training golden with\n"
                  "# MLP_REGENERATE_GOLDEN=1 (ctest -R golden_trajectory).\n",
            run->epochs, run->layers, run->train_count, run->batch, (double)run->learning_rate,
            (unsigned long long)run->seed);
    for (int i = 0; i < count; i++) fprintf(file, "%.9g\n", (double)costs[i]);
    CHECK(fclose(file) == 0, "%s: write failed", path);
    printf("wrote %d costs to %s\n", count, path);
}

static void test_golden(const mlp_dataset *train, const char *golden_path) {
    training_run run = {.kernels = mlp_kernels_find("scalar"), .layers = "784,64,10", .train_count = 1000,
                        .epochs = 2, .batch = 50, .threads = 1, .learning_rate = 0.1f, .seed = 42};
    static float first[GOLDEN_MAX_COSTS], second[GOLDEN_MAX_COSTS], golden[GOLDEN_MAX_COSTS];
    int first_count = 0, second_count = 0, golden_count = 0;
    mlp_model model;
    if (train_model(&run, train, &model, first, &first_count) == 0) mlp_model_free(&model);
    run.threads = 2;
    if (train_model(&run, train, &model, second, &second_count) == 0) mlp_model_free(&model);
    CHECK(first_count == 40 && second_count == first_count, "%d and %d batch costs, expected 40",
          first_count, second_count);
    CHECK(memcmp(first, second, (size_t)first_count * sizeof *first) == 0,
          "the batch costs differ between two runs (1 and 2 threads)");
    /* He-initialised softmax over 10 classes starts near the uniform guess: cost ln 10. */
    for (int i = 0; i < 3 && i < first_count; i++)
        CHECK(fabs(first[i] - log(10.0)) < 0.5, "batch %d cost %.4f is not near ln 10 = 2.3026", i,
              (double)first[i]);
    CHECK(first[first_count - 1] < first[0] - 1.0, "the cost did not fall: %.4f -> %.4f",
          (double)first[0], (double)first[first_count - 1]);

    const char *regenerate = getenv("MLP_REGENERATE_GOLDEN");
    if (regenerate && strcmp(regenerate, "1") == 0) {
        write_golden(golden_path, &run, first, first_count);
        return;
    }
    CHECK(read_golden(golden_path, golden, &golden_count) == 0, "%s: cannot read", golden_path);
    CHECK(golden_count == first_count, "%s has %d costs, the run %d", golden_path, golden_count,
          first_count);
    int mismatches = 0;
    for (int i = 0; i < first_count && i < golden_count; i++) {
        double relative = fabs((double)first[i] - golden[i]) / fabs((double)golden[i]);
        if (relative > GOLDEN_RELATIVE_TOLERANCE && mismatches++ < 5)
            CHECK(0, "batch %d: cost %.9g, golden %.9g (relative difference %.2e)", i,
                  (double)first[i], (double)golden[i], relative);
    }
    CHECK(mismatches == 0, "%d of %d costs differ from %s by more than %.0e relative (to regenerate "
          "after an intended change: MLP_REGENERATE_GOLDEN=1 ctest -R golden_trajectory)",
          mismatches, first_count, golden_path, GOLDEN_RELATIVE_TOLERANCE);
    if (mismatches == 0)
        printf("%d batch costs: bitwise equal in two runs, within %.0e of the golden file; first %.4f, last %.4f\n",
               first_count, GOLDEN_RELATIVE_TOLERANCE, (double)first[0], (double)first[first_count - 1]);
}

/* ---- threads_bitwise ---- */

static int read_file_bytes(const char *path, uint8_t **bytes, size_t *size) {
    mlp_error error;
    int status = mlp_file_read_all(path, (size_t)1 << 28, bytes, size, &error);
    CHECK(status == 0, "%s", error.message);
    return status;
}

static void test_threads(const mlp_dataset *train) {
    char folder[] = "/tmp/mlp_threads_XXXXXX";
    if (!mkdtemp(folder)) TEST_SKIP("cannot create a temporary folder under /tmp");
    /* Every variant this CPU runs (scalar, avx2, avx512 on x86-64 with AVX-512). */
    int compiled_count, variant_count = 0;
    const mlp_kernel_table *const *compiled = mlp_kernels_compiled(&compiled_count);
    const mlp_kernel_table *variants[8];
    for (int i = 0; i < compiled_count && variant_count < 8; i++)
        if (mlp_kernels_supported(compiled[i], NULL)) variants[variant_count++] = compiled[i];
    const int thread_counts[] = {1, 2, 3, 7};
    char path[4200];
    for (int v = 0; v < variant_count; v++) {
        uint8_t *reference = NULL;
        size_t reference_size = 0;
        double start = mlp_wall_seconds();
        for (int t = 0; t < 4; t++) {
            /* The 3,000 images for the best variant; 512 (8 batches) for the others, to
             * keep the test fast under the sanitizers (scalar takes 19 s under TSan with 1,024). */
            int images = variants[v] == mlp_kernels_best() ? 3000 : 512;
            training_run run = {.kernels = variants[v], .layers = "784,128,64,10", .train_count = images,
                                .epochs = 1, .batch = 64, .threads = thread_counts[t],
                                .learning_rate = 0.1f, .seed = 42};
            mlp_model model;
            mlp_error error;
            if (train_model(&run, train, &model, NULL, NULL) != 0) continue;
            snprintf(path, sizeof path, "%s/%s-%d.mlp", folder, variants[v]->name, run.threads);
            CHECK(mlp_model_save(&model, path, &error) == 0, "%s", error.message);
            mlp_model_free(&model);
            uint8_t *bytes;
            size_t size;
            if (read_file_bytes(path, &bytes, &size) != 0) continue;
            unlink(path);
            if (!reference) {
                reference = bytes;
                reference_size = size;
                continue;
            }
            CHECK(size == reference_size && memcmp(bytes, reference, size) == 0,
                  "%s: the model trained with %d threads differs from the one with 1 thread",
                  variants[v]->name, run.threads);
            free(bytes);
        }
        printf("%s: models trained with 1, 2, 3 and 7 threads compared byte for byte (%.1f s)\n",
               variants[v]->name, mlp_wall_seconds() - start);
        free(reference);
    }
    rmdir(folder);
}

/* ---- training_fused ---- */

static void test_fused(const mlp_dataset *train) {
    int compiled_count, variant_count = 0;
    const mlp_kernel_table *const *compiled = mlp_kernels_compiled(&compiled_count);
    const mlp_kernel_table *variants[8];
    for (int i = 0; i < compiled_count && variant_count < 8; i++)
        if (mlp_kernels_supported(compiled[i], NULL)) variants[variant_count++] = compiled[i];
    /* layers, batch, images: the default network (both hidden layers split over 2 threads, the
     * logits layer one owner), odd widths, one wide layer behind a narrow one, a batch of 600
     * (the fused GEMM's K over two slices on x86, three on NEON), a single layer */
    static const struct { const char *layers; int batch, images; } networks[] = {
        {"784,128,64,10", 64, 1024}, {"784,37,19,10", 50, 600}, {"784,300,100,10", 100, 800},
        {"784,40,600,10", 600, 1200}, {"784,10", 33, 400},
    };
    const int thread_counts[] = {1, 2};
    for (int v = 0; v < variant_count; v++) {
        double start = mlp_wall_seconds();
        int compared = 0;
        for (size_t w = 0; w < sizeof networks / sizeof networks[0]; w++)
            for (int t = 0; t < 2; t++) {
                /* the slow scalar variant: the first two networks only */
                if (variants[v] == mlp_kernels_find("scalar") && w > 1) continue;
                /* plain SGD, then two of the optimizers (with weight decay), in turn */
                static const mlp_optimizer optimizers[] = {MLP_OPTIMIZER_SGD, MLP_OPTIMIZER_MOMENTUM,
                                                           MLP_OPTIMIZER_NESTEROV, MLP_OPTIMIZER_ADAM,
                                                           MLP_OPTIMIZER_ADAMW};
                for (int o = 0; o < 3; o++) {
                    mlp_optimizer optimizer = o == 0 ? MLP_OPTIMIZER_SGD : optimizers[(2 * (2 * w + t) + o - 1) % 5];
                    int adam = optimizer >= MLP_OPTIMIZER_ADAM;
                    training_run run = {.kernels = variants[v], .layers = networks[w].layers,
                                        .train_count = networks[w].images, .epochs = 1,
                                        .batch = networks[w].batch, .threads = thread_counts[t],
                                        .learning_rate = adam ? 0.002f : o ? 0.05f : 0.1f, .seed = 7,
                                        .optimizer = optimizer, .weight_decay = o ? 5e-4f : 0.0f,
                                        .dropout = o == 2 ? 0.3f : 0.0f};
                    char name[64];
                    snprintf(name, sizeof name, "%s%s", o ? mlp_optimizer_name(optimizer) : "plain sgd",
                             run.dropout > 0.0f ? " + dropout 0.3" : "");
                    float costs[2][64];
                    int counts[2];
                    mlp_model models[2];
                    int failed = 0;
                    for (int unfused = 0; unfused < 2; unfused++) {
                        run.unfused = unfused;
                        failed |= train_model(&run, train, &models[unfused], costs[unfused],
                                              &counts[unfused]) != 0;
                    }
                    if (failed) continue;
                    CHECK(models[0].parameter_count == models[1].parameter_count &&
                              memcmp(models[0].parameters, models[1].parameters,
                                     models[0].parameter_count * sizeof(float)) == 0,
                          "%s %s %s batch %d, %d threads: fused and unfused steps give different "
                          "parameters", variants[v]->name, name, run.layers, run.batch, run.threads);
                    CHECK(counts[0] == counts[1] &&
                              memcmp(costs[0], costs[1], (size_t)counts[0] * sizeof(float)) == 0,
                          "%s %s %s batch %d, %d threads: fused and unfused batch costs differ",
                          variants[v]->name, name, run.layers, run.batch, run.threads);
                    mlp_model_free(&models[0]);
                    mlp_model_free(&models[1]);
                    compared++;
                }
            }
        printf("%s: %d trainings fused == unfused, byte for byte (%.1f s)\n", variants[v]->name,
               compared, mlp_wall_seconds() - start);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_training subset|golden|threads|fused MNIST_DIR [GOLDEN_FILE]\n");
        return 2;
    }
    const char *mode = argv[1], *mnist_dir = argv[2];
    mlp_dataset train;
    mlp_error error;
    if (!mlp_dataset_idx_folder_has(mnist_dir, "train"))
        TEST_SKIP("no MNIST training set in %s (run scripts/fetch_data.sh)", mnist_dir);
    if (mlp_dataset_load_idx_folder(mnist_dir, "train", &train, &error) != 0) {
        CHECK(0, "%s", error.message);
        return test_exit_code();
    }
    if (strcmp(mode, "subset") == 0) test_subset(&train, mnist_dir);
    else if (strcmp(mode, "golden") == 0 && argc >= 4) test_golden(&train, argv[3]);
    else if (strcmp(mode, "threads") == 0) test_threads(&train);
    else if (strcmp(mode, "fused") == 0) test_fused(&train);
    else CHECK(0, "unknown mode '%s' (or the golden file is missing from the arguments)", mode);
    mlp_dataset_free(&train);
    return test_exit_code();
}
