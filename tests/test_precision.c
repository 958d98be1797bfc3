/* --precision bf16 through the run module (include/mlp/run.h, include/mlp/precision.h), on MNIST
 * subsets; skips without MNIST. The BF16 variants tested: the scalar reference always (small
 * cases: it runs about 0.3 GFLOP/s), and mlp_kernels_best_for(BF16) when this CPU has one.
 *   threads:   a bf16 run's model.mlp is the same, byte for byte, with 1, 2 and 3 threads, and
 *              with the unfused step (MLP_UNFUSED_UPDATE=1: gemm_bf16 then sgd_update instead of
 *              the update in gemm_bf16's epilogue);
 *   resume:    a bf16 run stopped after epoch 1 and again after batches 1 and 2 of epoch 2,
 *              resumed each time, ends with the uninterrupted run's model.mlp; the checkpoint
 *              records bf16, and a resume that asks for fp32 is refused, naming --precision;
 *   refusals:  a variant without gemm_bf16 is refused for bf16 (by mlp_kernels_select_for, by
 *              mlp_network_set_precision and by mlp_run_open), with a one-line reason;
 *   accuracy:  784,64,10 trained for 2 epochs on 4,000 images in fp32 and in bf16 reaches test
 *              accuracies (2,000 t10k images) within ACCURACY_GAP of each other, both above
 *              ACCURACY_FLOOR; and bf16 is not fp32 (the models differ).
 * usage: test_precision MNIST_DIR */
#define _GNU_SOURCE /* mkdtemp */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file_util.h"
#include "mlp/precision.h"
#include "mlp/run.h"
#include "test_files.h"
#include "test_util.h"

/* Measured (Zen 5, seed 42, no validation split): fp32 (avx512) 84.60%, bf16 (scalar
 * reference) 84.45%. The bound is loose against the noise of 2,000 test images, tight enough to catch
 * a BF16 path that rounds the wrong operand or loses the FP32 master weights. */
#define ACCURACY_GAP 0.015
#define ACCURACY_FLOOR 0.80

static char root[] = "/tmp/mlp_test_precision_XXXXXX";
static mlp_dataset mnist, t10k;
static volatile sig_atomic_t stop_flag;

static const char *folder_path(const char *name) { return test_path(root, name); }

/* A bf16 run of `layers` (784,H,10 or 784,H1,H2,10) on the first `images` training images. */
static mlp_run_config bf16_config(const mlp_kernel_table *kernels, const char *folder, int h1, int h2,
                                  int images, int epochs) {
    mlp_run_config config;
    mlp_run_config_init(&config);
    int sizes[] = {784, h1, h2 ? h2 : 10, 10};
    memcpy(config.sizes, sizes, sizeof sizes);
    config.size_count = h2 ? 4 : 3;
    config.epochs = epochs;
    config.kernels = kernels;
    config.kernel = kernels->name;
    config.precision = MLP_PRECISION_BF16;
    config.train_set = &mnist;
    config.data_dir = "mnist";
    config.train_limit = images;
    config.folder = folder_path(folder);
    config.stop_requested = &stop_flag;
    return config;
}

static int run_once(const mlp_run_config *config, mlp_checkpoint *resume, const mlp_run_observer *observers,
                    int count, mlp_run *out, mlp_error *error) {
    mlp_run run;
    mlp_dataset subset = *config->train_set;
    subset.count = config->train_limit;
    mlp_run_config local = *config;
    local.train_set = &subset;
    int status = mlp_run_open(&run, &local, resume, error);
    if (status != 0) return status;
    status = (int)mlp_run_execute(&run, observers, count, error);
    if (out) *out = run; /* the caller reads the results; the run is closed either way */
    mlp_run_close(&run);
    return status;
}

static const char *model_path(const char *folder) {
    static char path[2][600];
    static int next;
    char *p = path[next++ % 2];
    snprintf(p, 600, "%s/model.mlp", folder_path(folder));
    return p;
}

/* ---- threads ---- */

static void check_threads(const mlp_kernel_table *kernels, int h1, int h2, int images) {
    double start = mlp_wall_seconds();
    char first[64];
    snprintf(first, sizeof first, "threads_%s_1", kernels->name);
    for (int threads = 1; threads <= 3; threads++) {
        char folder[64];
        snprintf(folder, sizeof folder, "threads_%s_%d", kernels->name, threads);
        mlp_run_config config = bf16_config(kernels, folder, h1, h2, images, 1);
        config.threads = threads;
        mlp_error error;
        int status = run_once(&config, NULL, NULL, 0, NULL, &error);
        CHECK(status == MLP_RUN_COMPLETED, "%s bf16, %d threads: %s", kernels->name, threads,
              status == MLP_RUN_COMPLETED ? "" : error.message);
        if (threads > 1)
            CHECK(test_same_file(model_path(first), model_path(folder)),
                  "%s bf16: the model trained with %d threads differs from the one with 1", kernels->name, threads);
    }
    /* The unfused step (network_create reads MLP_UNFUSED_UPDATE), 2 threads. */
    char unfused[64];
    snprintf(unfused, sizeof unfused, "threads_%s_unfused", kernels->name);
    mlp_run_config config = bf16_config(kernels, unfused, h1, h2, images, 1);
    config.threads = 2;
    mlp_error error;
    setenv("MLP_UNFUSED_UPDATE", "1", 1);
    int status = run_once(&config, NULL, NULL, 0, NULL, &error);
    unsetenv("MLP_UNFUSED_UPDATE");
    CHECK(status == MLP_RUN_COMPLETED && test_same_file(model_path(first), model_path(unfused)),
          "%s bf16: the unfused step's model differs from the fused one's (%s)", kernels->name,
          status == MLP_RUN_COMPLETED ? "" : error.message);
    printf("%s bf16: 784,%d%s%.0d,10 on %d images, 1, 2 and 3 threads and the unfused step: the same model.mlp "
           "(%.1f s)\n", kernels->name, h1, h2 ? "," : "", h2, images, mlp_wall_seconds() - start);
}

/* ---- resume ---- */

static int stop_after_epoch(void *context, const mlp_run *run, const mlp_epoch_metrics *m, mlp_error *error) {
    (void)run;
    (void)error;
    if (m->epoch == *(int *)context) stop_flag = SIGTERM;
    return 0;
}

/* Resumes the run in `folder` like `base`, with `given` flags of `base` checked. */
static int resume_from(const mlp_run_config *base, const char *folder, unsigned given, mlp_error *error) {
    mlp_run_config config = *base;
    config.folder = folder_path(folder);
    config.precision = given & MLP_RUN_GIVEN_PRECISION ? base->precision : MLP_PRECISION_FP32;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", config.folder, MLP_CHECKPOINT_FILE_NAME);
    mlp_checkpoint c;
    if (mlp_checkpoint_load(&c, path, error) != 0) return -1;
    int status = mlp_run_config_resume(&config, &c, path, given, error);
    if (status == 0) {
        CHECK(config.precision == MLP_PRECISION_BF16 && c.precision == MLP_PRECISION_BF16,
              "the checkpoint records bf16 and the resumed run takes it");
        config.kernels = mlp_kernels_find(config.kernel);
        status = run_once(&config, &c, NULL, 0, NULL, error);
    }
    mlp_checkpoint_free(&c);
    return status;
}

static void check_resume(const mlp_kernel_table *kernels) {
    mlp_error error;
    stop_flag = 0;
    mlp_run_config config = bf16_config(kernels, "resume_reference", 32, 0, 800, 2);
    int status = run_once(&config, NULL, NULL, 0, NULL, &error);
    CHECK(status == MLP_RUN_COMPLETED, "bf16 reference run: %s", error.message);

    int epoch = 1;
    mlp_run_observer stopper = {.context = &epoch, .on_epoch = stop_after_epoch};
    mlp_run_config stopped = config;
    stopped.folder = folder_path("resume_stopped");
    status = run_once(&stopped, NULL, &stopper, 1, NULL, &error);
    CHECK(status == MLP_RUN_INTERRUPTED, "bf16 run stopped after epoch 1: %s", error.message);
    /* Asking for fp32 on a bf16 checkpoint is refused, naming the flag and the stored precision. */
    mlp_run_config fp32 = config;
    fp32.precision = MLP_PRECISION_FP32;
    status = resume_from(&fp32, "resume_stopped", MLP_RUN_GIVEN_PRECISION, &error);
    CHECK(status == MLP_RUN_INVALID && strstr(error.message, "--precision contradicts the checkpoint") &&
              strstr(error.message, "precision bf16"),
          "an fp32 resume of a bf16 run: %d (%s)", status, error.message);
    for (int batch = 1; batch <= 2; batch++) { /* each resume stops after one more batch */
        stop_flag = SIGINT;
        status = resume_from(&config, "resume_stopped", batch == 1 ? MLP_RUN_GIVEN_PRECISION : 0, &error);
        CHECK(status == MLP_RUN_INTERRUPTED, "bf16 resume %d: %s", batch, error.message);
    }
    stop_flag = 0;
    status = resume_from(&config, "resume_stopped", 0, &error);
    CHECK(status == MLP_RUN_COMPLETED, "bf16 final resume: %s", error.message);
    CHECK(test_same_file(model_path("resume_reference"), model_path("resume_stopped")),
          "%s bf16: the resumed model.mlp equals the uninterrupted one byte for byte", kernels->name);
}

/* ---- refusals ---- */

static void check_refusals(void) {
    char reason[512];
    mlp_error error;
    /* Every compiled variant without a gemm_bf16 that runs here (avx2, avx512 until theirs). */
    int count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    for (int i = 0; i < count; i++) {
        if (tables[i]->gemm_bf16 || !mlp_kernels_supported(tables[i], NULL)) continue;
        CHECK(mlp_kernels_select_for(tables[i]->name, MLP_PRECISION_BF16, reason, sizeof reason) == NULL &&
                  strstr(reason, "--precision bf16") && strstr(reason, "has no BF16 GEMM"),
              "%s forced for bf16: %s", tables[i]->name, reason);
        CHECK(mlp_kernels_select_for(tables[i]->name, MLP_PRECISION_FP32, reason, sizeof reason) == tables[i],
              "%s for fp32", tables[i]->name);
    }
    /* A table without gemm_bf16 (the scalar one with it taken away) in the network and a run. */
    mlp_kernel_table without = *mlp_kernels_find("scalar");
    without.gemm_bf16 = NULL;
    mlp_run_config config = bf16_config(&without, "refused", 16, 0, 200, 1);
    int status = run_once(&config, NULL, NULL, 0, NULL, &error);
    CHECK(status != 0 && strstr(error.message, "--precision bf16") && strstr(error.message, "no GEMM for it"),
          "a bf16 run on a variant without gemm_bf16: %d (%s)", status, error.message);
    /* "auto": the best BF16 variant, never the scalar reference; or a reason naming bf16. */
    const mlp_kernel_table *automatic = mlp_kernels_select_for("auto", MLP_PRECISION_BF16, reason, sizeof reason);
    if (getenv("MLP_KERNEL") == NULL) {
        CHECK(automatic == mlp_kernels_best_for(MLP_PRECISION_BF16, NULL), "auto bf16 is best_for's");
        CHECK(automatic || strstr(reason, "--precision bf16: "), "auto bf16 without a variant: %s", reason);
        CHECK(automatic != mlp_kernels_find("scalar"), "auto bf16 never picks the scalar reference");
    }
    CHECK(mlp_kernels_select_for("scalar", MLP_PRECISION_BF16, reason, sizeof reason) == mlp_kernels_find("scalar"),
          "--kernel scalar --precision bf16 is the reference");
}

/* ---- accuracy ---- */

static double test_accuracy(const char *folder, const mlp_kernel_table *kernels, mlp_precision precision) {
    mlp_run_config config = bf16_config(kernels, folder, 64, 0, 4000, 2);
    config.precision = precision;
    config.batch = 32;
    config.validation_split = 0; /* all 4,000 images train; only the test set is evaluated */
    config.threads = 2;
    config.test_set = &t10k;
    mlp_error error;
    mlp_run run;
    int status = run_once(&config, NULL, NULL, 0, &run, &error);
    CHECK(status == MLP_RUN_COMPLETED && run.has_test, "%s %s: %s", kernels->name, mlp_precision_name(precision),
          status == MLP_RUN_COMPLETED ? "no test set" : error.message);
    return status == MLP_RUN_COMPLETED ? run.test.accuracy : 0.0;
}

static void check_accuracy(const mlp_kernel_table *bf16) {
    double start = mlp_wall_seconds();
    double fp32_accuracy = test_accuracy("accuracy_fp32", mlp_kernels_best(), MLP_PRECISION_FP32);
    double bf16_accuracy = test_accuracy("accuracy_bf16", bf16, MLP_PRECISION_BF16);
    printf("784,64,10, 2 epochs of 4,000 images, test on %d: fp32 (%s) %.2f%%, bf16 (%s) %.2f%% (%.1f s)\n",
           t10k.count, mlp_kernels_best()->name, 100 * fp32_accuracy, bf16->name, 100 * bf16_accuracy,
           mlp_wall_seconds() - start);
    CHECK(fabs(fp32_accuracy - bf16_accuracy) <= ACCURACY_GAP && bf16_accuracy >= ACCURACY_FLOOR &&
              fp32_accuracy >= ACCURACY_FLOOR,
          "fp32 %.4f and bf16 %.4f: more than %.3f apart or below %.2f", fp32_accuracy, bf16_accuracy, ACCURACY_GAP,
          ACCURACY_FLOOR);
    CHECK(!test_same_file(model_path("accuracy_fp32"), model_path("accuracy_bf16")), "bf16 trained the fp32 model");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_precision MNIST_DIR\n");
        return 2;
    }
    mlp_error error;
    if (mlp_dataset_load_idx_folder(argv[1], "train", &mnist, &error) != 0 ||
        mlp_dataset_load_idx_folder(argv[1], "t10k", &t10k, &error) != 0)
        TEST_SKIP("no MNIST: %s", error.message);
    if (t10k.count > 2000) t10k.count = 2000;
    if (!mkdtemp(root)) TEST_SKIP("cannot create a temporary folder under /tmp");
    const mlp_kernel_table *scalar = mlp_kernels_find("scalar");
    const mlp_kernel_table *fast = mlp_kernels_best_for(MLP_PRECISION_BF16, NULL);
    check_refusals();
    check_threads(scalar, 32, 0, 512);
    if (fast) check_threads(fast, 128, 64, 3000);
    else printf("no BF16 variant on this CPU: the fast variant's cases run on the scalar reference only\n");
    check_resume(fast ? fast : scalar);
    check_accuracy(fast ? fast : scalar);
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    mlp_dataset_free(&mnist);
    mlp_dataset_free(&t10k);
    return test_exit_code();
}
