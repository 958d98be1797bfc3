#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv */
/* The measured plan (include/mlp/plan.h). One program, three tests, picked by argv[1]:
 *   bitwise (plan_bitwise)  a short training run on synthetic data (784,96,40,10 and a batch of
 *                           600, deeper than one k slice) gives the same model bytes with every
 *                           plan: the defaults, the measured plan, tiny blockings (KC 7, MC = MR,
 *                           NC = NR), a mid-size one, a split threshold of 1 flop (every layer
 *                           split) and one that splits nothing, with 1, 2 and 3 threads, plain SGD
 *                           (the owner-computes step) and Adam (the unfused step), for every
 *                           kernel variant the CPU runs.
 *   file    (plan_file)     measure, write, read back: the same plan; mlp_plan_resolve writes a
 *                           missing file (--plan and MLP_PLAN), reads an existing one, measures
 *                           instead of using a file made for another variant and leaves it as
 *                           it was; malformed files are refused with a one-line error naming
 *                           the file and the problem.
 *   derive  (plan_derive)   the pure decisions: blocking from given cache sizes (Zen 4 and Zen 5,
 *                           both 1 MiB L2; a 256 KiB L2; unknown and bogus sizes), the driver's
 *                           rounding of a requested blocking, the split threshold.
 * No timing is checked anywhere. Writes only under a fresh mkdtemp folder in /tmp.
 * Usage: test_plan bitwise|file|derive */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gemm_driver.h"
#include "mlp/model.h"
#include "mlp/plan.h"
#include "mlp/train.h"
#include "test_util.h"

/* ---- plan_bitwise ---- */

enum { EXAMPLES = 1200, FEATURES = 784 };

/* Pixels and labels from a fixed hash: a dataset every machine builds the same. */
static void synthetic_dataset(mlp_dataset *data) {
    data->count = EXAMPLES;
    data->rows = data->cols = 28;
    data->features = FEATURES;
    data->pixels = malloc((size_t)EXAMPLES * FEATURES);
    data->labels = malloc(EXAMPLES);
    uint32_t state = 12345;
    for (size_t i = 0; i < (size_t)EXAMPLES * FEATURES; i++) {
        state = state * 1664525u + 1013904223u;
        data->pixels[i] = (uint8_t)(state >> 24);
    }
    for (int i = 0; i < EXAMPLES; i++) data->labels[i] = (uint8_t)(data->pixels[(size_t)i * FEATURES + 400] % 10);
}

/* Trains 784,96,40,10 for one epoch from seed 7 with the plan (NULL: none) and returns the
 * serialized model (malloc'ed; NULL on failure). */
static uint8_t *train_bytes(const mlp_dataset *data, const mlp_kernel_table *kernels,
                            const mlp_plan *plan, int threads, int batch, mlp_optimizer optimizer,
                            size_t *size) {
    mlp_error error;
    const int sizes[] = {784, 96, 40, 10};
    mlp_model model;
    CHECK(mlp_model_create(&model, sizes, 4, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX, &error) == 0, "%s",
          error.message);
    mlp_model_init_he(&model, 7);
    int *indices = malloc(EXAMPLES * sizeof *indices);
    for (int i = 0; i < EXAMPLES; i++) indices[i] = i;
    mlp_train_options options = {.batch = batch, .learning_rate = 0.05f, .epochs = 1, .seed = 7,
                                 .threads = threads, .plan = plan};
    options.recipe.optimizer = (mlp_optimizer_options){.kind = optimizer, .momentum = 0.9f,
                                                       .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    uint8_t *bytes = NULL;
    mlp_trainer trainer;
    if (mlp_trainer_init(&trainer, &model, kernels, data, indices, EXAMPLES, NULL, 0, &options, &error) != 0) {
        CHECK(0, "trainer_init: %s", error.message);
    } else {
        mlp_epoch_metrics metrics;
        CHECK(mlp_trainer_run_epoch(&trainer, 1, 0, &metrics) == 0, "the epoch stopped early");
        CHECK(mlp_model_serialize(&model, &bytes, size, &error) == 0, "%s", error.message);
        mlp_trainer_free(&trainer);
    }
    free(indices);
    mlp_model_free(&model);
    return bytes;
}

static void test_bitwise(void) {
    mlp_dataset data;
    synthetic_dataset(&data);
    int count, variants_run = 0;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    for (int v = 0; v < count; v++) {
        const mlp_kernel_table *kernels = tables[v];
        if (!mlp_kernels_supported(kernels, NULL)) continue;
        variants_run++;
        const gemm_driver *d = kernels->gemm_driver;
        const int mr = d ? d->mr : 1, nr = d ? d->max_vectors * d->width : 1;
        mlp_plan plans[6];
        const char *names[6] = {"defaults", "measured", "tiny (KC 7, run as 8; MC = MR, NC = NR)",
                                "KC 128, MC 64, NC 96", "split every layer", "split nothing"};
        mlp_plan_defaults(&plans[0], kernels);
        mlp_plan_measure(&plans[1], kernels, 2);
        for (int p = 2; p < 6; p++) mlp_plan_defaults(&plans[p], kernels);
        plans[2].blocking = (mlp_gemm_blocking){7, mr, nr};
        plans[3].blocking = (mlp_gemm_blocking){128, 64, 96};
        plans[4].blocking = (mlp_gemm_blocking){16, 2 * mr, 2 * nr};
        plans[4].min_flops_per_thread = 1;
        plans[5].min_flops_per_thread = 1L << 40;
        const struct { int batch; mlp_optimizer optimizer; const char *name; } runs[] = {
            {64, MLP_OPTIMIZER_SGD, "sgd, batch 64"},
            {600, MLP_OPTIMIZER_SGD, "sgd, batch 600"},
            {64, MLP_OPTIMIZER_ADAM, "adam, batch 64"},
        };
        for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
            size_t reference_size = 0;
            uint8_t *reference = train_bytes(&data, kernels, NULL, 1, runs[r].batch, runs[r].optimizer,
                                             &reference_size);
            if (!reference) continue;
            for (int p = 0; p < 6; p++)
                for (int threads = 1; threads <= 3; threads++) {
                    size_t size = 0;
                    uint8_t *bytes = train_bytes(&data, kernels, &plans[p], threads, runs[r].batch,
                                                 runs[r].optimizer, &size);
                    CHECK(bytes && size == reference_size && memcmp(bytes, reference, size) == 0,
                          "%s, %s, plan %s, %d threads: the model bytes differ from the plan-less "
                          "one-thread run", kernels->name, runs[r].name, names[p], threads);
                    free(bytes);
                }
            free(reference);
        }
        printf("%s: 6 plans x 3 thread counts x 3 recipes, the same model bytes\n", kernels->name);
    }
    CHECK(variants_run > 0, "no kernel variant runs here");
    free(data.pixels);
    free(data.labels);
}

/* ---- plan_file ---- */

static char folder[] = "/tmp/mlp_test_plan_XXXXXX";

static void write_text(const char *path, const char *text) {
    FILE *file = fopen(path, "w");
    CHECK(file != NULL, "%s: cannot write", path);
    if (!file) return;
    fputs(text, file);
    fclose(file);
}

static char *read_text(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) return NULL;
    static char text[8192];
    size_t length = fread(text, 1, sizeof text - 1, file);
    text[length] = '\0';
    fclose(file);
    return text;
}

static int same_decisions(const mlp_plan *a, const mlp_plan *b) {
    return strcmp(a->variant, b->variant) == 0 && strcmp(a->machine.cpu_model, b->machine.cpu_model) == 0 &&
           a->machine.l1d_bytes == b->machine.l1d_bytes && a->machine.l2_bytes == b->machine.l2_bytes &&
           a->machine.l3_bytes == b->machine.l3_bytes &&
           a->machine.barrier_threads == b->machine.barrier_threads && a->blocking.kc == b->blocking.kc &&
           a->blocking.mc == b->blocking.mc && a->blocking.nc == b->blocking.nc &&
           a->min_flops_per_thread == b->min_flops_per_thread;
}

/* A malformed file is refused, the error naming the file and containing `problem`. */
static void check_refused(const char *name, const char *text, const char *problem) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    write_text(path, text);
    mlp_plan plan;
    mlp_error error = {{0}};
    CHECK(mlp_plan_read(path, &plan, &error) == -1, "%s: accepted", name);
    CHECK(strstr(error.message, path) && strstr(error.message, problem) && !strchr(error.message, '\n'),
          "%s: the error '%s' should name the file and say '%s' on one line", name, error.message, problem);
    CHECK(mlp_plan_resolve(path, mlp_kernels_best(), 1, &plan, &error) == -1, "%s: resolve accepted it", name);
}

static void test_file(void) {
    CHECK(mkdtemp(folder) != NULL, "mkdtemp failed");
    const mlp_kernel_table *kernels = mlp_kernels_best();
    mlp_error error = {{0}};
    char path[256], text[4096];

    /* round trip */
    mlp_plan measured, back;
    mlp_plan_measure(&measured, kernels, 2);
    CHECK(measured.source == MLP_PLAN_MEASURED && measured.measure_seconds > 0.0, "not measured");
    snprintf(path, sizeof path, "%s/round_trip.plan", folder);
    CHECK(mlp_plan_write(path, &measured, &error) == 0, "%s", error.message);
    CHECK(mlp_plan_read(path, &back, &error) == 0, "%s", error.message);
    CHECK(same_decisions(&measured, &back) && back.source == MLP_PLAN_READ && strcmp(back.file, path) == 0,
          "the plan read back differs from the one written");

    /* resolve: a missing file is measured and written, then read and used as it is (pinned) */
    snprintf(path, sizeof path, "%s/wisdom.plan", folder);
    mlp_plan first, second;
    CHECK(mlp_plan_resolve(path, kernels, 1, &first, &error) == 0, "%s", error.message);
    CHECK(first.source == MLP_PLAN_WRITTEN && access(path, F_OK) == 0, "the missing file was not written");
    char *written = read_text(path);
    CHECK(written && strstr(written, "format=1\n") && strstr(written, "kc="), "not a plan file: %s",
          written ? written : "(none)");
    /* pin a blocking by editing the file */
    snprintf(text, sizeof text, "%s", written ? written : "");
    char *kc = strstr(text, "\nkc=");
    if (kc) {
        char *end = strchr(kc + 1, '\n');
        char edited[4096];
        snprintf(edited, sizeof edited, "%.*s\nkc=7%s", (int)(kc - text), text, end);
        write_text(path, edited);
    }
    CHECK(mlp_plan_resolve(path, kernels, 1, &second, &error) == 0, "%s", error.message);
    CHECK(second.source == MLP_PLAN_READ && second.blocking.kc == 7, "the edited plan was not used (kc %d)",
          second.blocking.kc);

    /* MLP_PLAN: the same, from the environment */
    snprintf(path, sizeof path, "%s/from_env.plan", folder);
    setenv("MLP_PLAN", path, 1);
    CHECK(mlp_plan_resolve(NULL, kernels, 1, &second, &error) == 0, "%s", error.message);
    CHECK(second.source == MLP_PLAN_WRITTEN && access(path, F_OK) == 0, "MLP_PLAN: not written");
    unsetenv("MLP_PLAN");
    CHECK(mlp_plan_resolve(NULL, kernels, 1, &second, &error) == 0 && second.source == MLP_PLAN_MEASURED &&
              second.file[0] == '\0',
          "no file: measured, nothing written");

    /* a file for another variant: measured instead, the file left as it was */
    mlp_plan other = measured;
    snprintf(other.variant, sizeof other.variant, "%s", strcmp(kernels->name, "scalar") ? "scalar" : "avx2");
    snprintf(path, sizeof path, "%s/other_variant.plan", folder);
    CHECK(mlp_plan_write(path, &other, &error) == 0, "%s", error.message);
    snprintf(text, sizeof text, "%s", read_text(path) ? read_text(path) : "");
    CHECK(mlp_plan_resolve(path, kernels, 1, &second, &error) == 0, "%s", error.message);
    CHECK(second.source == MLP_PLAN_MEASURED && strcmp(second.variant, kernels->name) == 0,
          "a plan for another variant was used");
    CHECK(read_text(path) && strcmp(read_text(path), text) == 0, "the other variant's file was changed");

    /* malformed files */
    const char *good_fields = "cpu_model=x\nvariant=avx2\nl1d_bytes=1\nl2_bytes=2\nl3_bytes=3\n"
                              "fma_peak_gflops=1.5\nbarrier_us=1\nbarrier_threads=2\nkc=8\nmc=8\nnc=8\n"
                              "min_flops_per_thread=100\n";
    snprintf(text, sizeof text, "format=1\n%s", good_fields);
    snprintf(path, sizeof path, "%s/good.plan", folder);
    write_text(path, text);
    CHECK(mlp_plan_read(path, &back, &error) == 0 && back.blocking.kc == 8 && back.machine.fma_peak_gflops == 1.5,
          "a complete file was refused: %s", error.message);
    check_refused("no_format.plan", good_fields, "no format=1 line");
    snprintf(text, sizeof text, "format=2\n%s", good_fields);
    check_refused("format.plan", text, "format 2");
    snprintf(text, sizeof text, "format=1\n%skc=9\n", good_fields);
    check_refused("twice.plan", text, "kc given twice");
    snprintf(text, sizeof text, "format=1\n%scolour=blue\n", good_fields);
    check_refused("unknown.plan", text, "unknown key 'colour'");
    snprintf(text, sizeof text, "format=1\n%s", strstr(good_fields, "variant="));
    check_refused("missing.plan", text, "cpu_model is missing");
    check_refused("not_number.plan", "format=1\nkc=12x\n", "kc = '12x' is not a whole number");
    check_refused("fraction.plan", "format=1\nmc=1.5\n", "mc = '1.5' is not a whole number");
    check_refused("negative.plan", "format=1\nnc=-4\n", "nc = -4 is outside");
    check_refused("zero_flops.plan", "format=1\nmin_flops_per_thread=0\n", "outside");
    check_refused("no_equals.plan", "format=1\nkc 12\n", "line 2: expected key=value");
    char binary[] = "format=1\n\0kc=1\n";
    snprintf(path, sizeof path, "%s/binary.plan", folder);
    FILE *file = fopen(path, "wb");
    if (file) {
        fwrite(binary, 1, sizeof binary - 1, file);
        fclose(file);
    }
    CHECK(mlp_plan_read(path, &back, &error) == -1 && strstr(error.message, "not text"), "binary: %s",
          error.message);
    /* an unreadable path: a directory */
    CHECK(mlp_plan_read(folder, &back, &error) == -1 && strstr(error.message, folder), "directory: %s",
          error.message);
    /* a file that cannot be written: the folder does not exist */
    snprintf(path, sizeof path, "%s/no/such/folder.plan", folder);
    CHECK(mlp_plan_resolve(path, kernels, 1, &second, &error) == -1 && strstr(error.message, "folder.plan"),
          "unwritable: %s", error.message);

    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", folder);
    CHECK(system(command) == 0, "cannot remove %s", folder);
}

/* ---- plan_derive ---- */

static void check_blocking(const char *what, mlp_gemm_blocking got, int kc, int mc, int nc) {
    CHECK(got.kc == kc && got.mc == mc && got.nc == nc, "%s: KC %d MC %d NC %d, expected %d %d %d", what,
          got.kc, got.mc, got.nc, kc, mc, nc);
}

static void test_derive(void) {
    const long KiB = 1024, MiB = 1024 * 1024;
    /* the AVX-512 driver's geometry: 8 × 48 tiles, 16-row tall tiles; its constants */
    const mlp_gemm_blocking avx512 = {512, 256, 1024};
    /* Zen 4 (32 KiB L1d, 1 MiB L2, 32 MiB L3) and Zen 5 (48 KiB L1d, the same L2): the B panel
     * in a quarter of L2 allows KC = 256 KiB / 192 B = 1365 -> the constant 512, the A block in
     * half of L2 MC = 512 KiB / 2 KiB = 256, the B block in half of L3 NC = 8192 -> 1024: the
     * constants, which the measurements on Zen 5 favour (plan.c). L1d does not enter. */
    check_blocking("Zen 4", mlp_plan_derive_blocking(1 * MiB, 32 * MiB, 16, 48, avx512), 512, 256, 1024);
    check_blocking("Zen 5", mlp_plan_derive_blocking(1 * MiB, 32 * MiB, 16, 48, avx512), 512, 256, 1024);
    /* 256 KiB L2, 8 MiB L3: KC = 64 KiB / 192 B = 341 -> 336; MC = 128 KiB / 1344 B = 97 -> 96;
     * NC = 4 MiB / 1344 B = 3120 -> the constant 1024 */
    check_blocking("256 KiB L2", mlp_plan_derive_blocking(256 * KiB, 8 * MiB, 16, 48, avx512), 336, 96, 1024);
    /* AVX2 geometry (4 × 24, 8-row tall tiles) on 512 KiB L2 and 2 MiB L3: KC 1365 -> 512,
     * MC = 256 KiB / 2 KiB = 128, NC = 1 MiB / 2 KiB = 512 -> 504 (21 × 24) */
    check_blocking("512 KiB L2, 2 MiB L3", mlp_plan_derive_blocking(512 * KiB, 2 * MiB, 8, 24, avx512), 512,
                   128, 504);
    /* unknown caches and a VM's bogus L3: the constants */
    check_blocking("unknown", mlp_plan_derive_blocking(0, 0, 16, 48, avx512), 512, 256, 1024);
    check_blocking("bogus L3", mlp_plan_derive_blocking(256 * KiB, 508 * MiB, 16, 48, avx512), 336, 96, 1024);
    /* tiny caches: at least one tile of each */
    check_blocking("tiny", mlp_plan_derive_blocking(1 * KiB, 1 * KiB, 16, 48, avx512), 8, 16, 48);

    /* the split threshold: 4 barriers of work at the peak, clamped */
    CHECK(mlp_plan_derive_split_flops(200.0, 4.0) == 800000, "200 GFLOP/s, a 4 us handoff: %ld",
          mlp_plan_derive_split_flops(200.0, 4.0));
    CHECK(mlp_plan_derive_split_flops(0.0, 1.0) == MLP_PARALLEL_MIN_FLOPS_PER_THREAD, "unknown peak");
    CHECK(mlp_plan_derive_split_flops(200.0, 0.0) == MLP_PARALLEL_MIN_FLOPS_PER_THREAD, "unknown handoff");
    CHECK(mlp_plan_derive_split_flops(10.0, 0.1) == MLP_PLAN_SPLIT_MIN_FLOPS, "lower clamp");
    CHECK(mlp_plan_derive_split_flops(1000.0, 100.0) == MLP_PLAN_SPLIT_MAX_FLOPS, "upper clamp");

    /* the driver's reading of a requested blocking: clamped to its constants, KC to a multiple
     * of 8 (a BF16 k-pair never straddles two slices), MC to whole tall tiles, NC to whole
     * vectors, each at least a tile */
    int count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    for (int v = 0; v < count; v++) {
        const gemm_driver *d = tables[v]->gemm_driver;
        if (!d) continue;
        const int tile_rows = d->tall_micro_kernels[0] ? 2 * d->mr : d->mr, nr = d->max_vectors * d->width;
        mlp_gemm_problem g = {.m = 1, .n = 1, .k = 1};
        check_blocking(tables[v]->name, gemm_blocking_for(&g, d), d->kc, d->mc, d->nc);
        g.blocking = (mlp_gemm_blocking){7, 1, 1};
        check_blocking(tables[v]->name, gemm_blocking_for(&g, d), 8, tile_rows, nr);
        g.blocking = (mlp_gemm_blocking){1 << 20, 1 << 20, 1 << 20};
        check_blocking(tables[v]->name, gemm_blocking_for(&g, d), d->kc, d->mc, d->nc);
        g.blocking = (mlp_gemm_blocking){100, 3 * tile_rows + 1, 2 * nr + 1};
        check_blocking(tables[v]->name, gemm_blocking_for(&g, d), 96, 3 * tile_rows,
                       (2 * nr + 1) / d->width * d->width);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_plan bitwise|file|derive\n");
        return 2;
    }
    if (strcmp(argv[1], "bitwise") == 0) test_bitwise();
    else if (strcmp(argv[1], "file") == 0) test_file();
    else if (strcmp(argv[1], "derive") == 0) test_derive();
    else {
        fprintf(stderr, "test_plan: unknown test %s\n", argv[1]);
        return 2;
    }
    return test_exit_code();
}
