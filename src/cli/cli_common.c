/* Options every subcommand shares: where the data is, threads, kernel variant, binding. */
#define _POSIX_C_SOURCE 200809L /* localtime_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "mlp/distributed.h"
#include "mlp/file_util.h"

#ifndef MLP_DEFAULT_DATA_DIR
#define MLP_DEFAULT_DATA_DIR "data/mnist"
#endif

void data_options_init(data_options *data) {
    memset(data, 0, sizeof *data);
    data->data_dir = MLP_DEFAULT_DATA_DIR;
}

void data_options_describe(data_options *data, cli_option *options) {
    options[0] = (cli_option){.name = "--data", .type = CLI_STRING, .target = &data->data_dir, .value_name = "DIR", .help = "folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                              "t10k-* (each optionally .gz)"};
    options[1] = (cli_option){.name = "--train-csv", .type = CLI_STRING, .target = &data->train_csv, .value_name = "FILE", .help = "Kaggle-style CSV (label,pixel0..pixelN, header row) instead of --data"};
    options[2] = (cli_option){.name = "--test-csv", .type = CLI_STRING, .target = &data->test_csv, .value_name = "FILE", .help = "test set CSV, used only for the final report"};
    options[3] = (cli_option){.name = "--train-limit", .type = CLI_INT, .target = &data->train_limit, .value_name = "N", .help = "use only the first N training images (0: all)", .max = 1e9};
}

int data_options_load(const data_options *data, mlp_dataset *train, mlp_dataset *test,
                      mlp_error *error) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (data->train_csv) {
        if (dataset_load_csv(data->train_csv, train, error) != 0) return -1;
    } else if (dataset_load_idx_folder(data->data_dir, "train", train, error) != 0) {
        return -1;
    }
    if (data->train_limit > 0 && data->train_limit < train->count) train->count = data->train_limit;
    if (data->test_csv || (!data->train_csv && dataset_idx_folder_has(data->data_dir, "t10k"))) {
        if (data_options_load_test(data, test, error) != 0) {
            dataset_free(train);
            return -1;
        }
        if (test->features != train->features) {
            error_set(error, "%s: test images have %d pixels, training images %d",
                      data->test_csv ? data->test_csv : data->data_dir, test->features, train->features);
            dataset_free(train);
            dataset_free(test);
            return -1;
        }
    }
    return 0;
}

int data_options_load_test(const data_options *data, mlp_dataset *test, mlp_error *error) {
    memset(test, 0, sizeof *test);
    if (data->test_csv) return dataset_load_csv(data->test_csv, test, error);
    return dataset_load_idx_folder(data->data_dir, "t10k", test, error);
}

void runtime_options_init(runtime_options *runtime) {
    runtime->threads = affinity_available_cores();
    runtime->kernel = "auto";
    runtime->bind = "core";
    runtime->verbose = 0;
    runtime->oversubscribe = 0;
    runtime->threads_requested = 0;
}

void runtime_options_describe(runtime_options *runtime, cli_option *options) {
    options[0] = (cli_option){.name = "--threads", .type = CLI_INT, .target = &runtime->threads, .value_name = "N", .help = "OpenMP threads, at most one per available core (physical cores, affinity mask, cgroup CPU quota); the results do not depend on it", .min = 1, .max = 4096};
    options[1] = (cli_option){.name = "--kernel", .type = CLI_CHOICE, .target = &runtime->kernel, .value_name = "VARIANT", .help = "kernel variant; auto = MLP_KERNEL if set, else the best the CPU runs", .choices = kernels_variant_choices()};
    options[2] = (cli_option){.name = "--bind", .type = CLI_CHOICE, .target = &runtime->bind, .value_name = "MODE", .help = "pin each thread to its own core with hwloc, or leave it to the OS", .choices = "core|none"};
    options[3] = (cli_option){.name = "--verbose", .type = CLI_FLAG, .target = &runtime->verbose, .help = "print the kernel variant and the thread binding at the start"};
    options[4] = (cli_option){.name = "--oversubscribe", .type = CLI_FLAG, .target = &runtime->oversubscribe, .help = "run --threads N threads even when N exceeds the available cores (slower: threads share cores)"};
}

/* At most one thread per available core unless --oversubscribe: the results do not depend on the
 * thread count, and threads that share a core only wait for each other. */
static void runtime_plan_threads(runtime_options *runtime) {
    int local_ranks = distributed_local_ranks();
    affinity_thread_plan plan = affinity_plan_threads(runtime->threads, runtime->oversubscribe, local_ranks);
    runtime->threads_requested = plan.requested;
    runtime->threads = plan.used;
    if (plan.capped && distributed_rank() == 0)
        fprintf(stderr, "trainer: --threads %d > %d available core%s (%s): using %d; --oversubscribe runs %d\n",
                plan.requested, plan.available, plan.available == 1 ? "" : "s", plan.limit, plan.used,
                plan.requested);
}

const kernel_table *runtime_setup(runtime_options *runtime, mlp_error *error) {
    runtime_plan_threads(runtime);
    char reason[256];
    const kernel_table *kernels = kernels_select(runtime->kernel, reason, sizeof reason);
    if (!kernels) {
        error_set(error, "%s", reason);
        return NULL;
    }
    affinity_mode mode = strcmp(runtime->bind, "none") == 0 ? AFFINITY_NONE : AFFINITY_CORE;
    affinity_bind_team(runtime->threads, mode, runtime->verbose ? stderr : NULL);
    if (runtime->verbose)
        fprintf(stderr, "kernel: %s, threads: %d\n", kernels->name, runtime->threads);
    return kernels;
}

void recipe_options_init(recipe_options *recipe) {
    *recipe = (recipe_options){.activation = "relu", .batch = 64, .learning_rate = 0.1f,
                               .epochs = 10, .seed = 42, .validation_split = 0.2f};
}

void recipe_options_describe(recipe_options *recipe, cli_option *options) {
    options[0] = (cli_option){.name = "--activation", .type = CLI_CHOICE, .target = &recipe->activation,
                              .help = "hidden-layer activation", .choices = "relu|sigmoid|tanh"};
    options[1] = (cli_option){.name = "--batch", .type = CLI_INT, .target = &recipe->batch,
                              .value_name = "N", .help = "mini-batch size", .min = 1, .max = 1 << 20};
    options[2] = (cli_option){.name = "--lr", .type = CLI_FLOAT, .target = &recipe->learning_rate,
                              .value_name = "RATE", .help = "SGD learning rate", .max = 1e6,
                              .min_exclusive = 1};
    options[3] = (cli_option){.name = "--epochs", .type = CLI_INT, .target = &recipe->epochs,
                              .value_name = "N", .help = "passes over the training set", .min = 1,
                              .max = 1000000};
    options[4] = (cli_option){.name = "--seed", .type = CLI_U64, .target = &recipe->seed,
                              .value_name = "N",
                              .help = "seed of the split, the initialisation and the shuffles"};
    options[5] = (cli_option){.name = "--val-split", .type = CLI_FLOAT,
                              .target = &recipe->validation_split, .value_name = "F",
                              .help = "fraction of the training file held out for validation",
                              .max = 0.99};
}

void cli_parse_or_exit(const cli_command *command, int argc, char **argv, int first) {
    mlp_error error;
    int status = cli_parse(command, argc, argv, first, &error);
    if (status == -1) exit(0);
    if (status != 0) cli_fail(CLI_EXIT_USAGE, &error);
}

void cli_fail(int exit_code, const mlp_error *error) {
    fprintf(stderr, "trainer: error: %s\n", error->message);
    exit(exit_code);
}

int cli_output_folder(const char *out, char *path, size_t size, mlp_error *error) {
    if (out) {
        snprintf(path, size, "%s", out);
        return file_make_directories(path, error);
    }
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    if (file_make_directories("runs", error) != 0) return -1;
    for (int attempt = 1; attempt < 1000; attempt++) {
        if (attempt == 1) snprintf(path, size, "runs/%s", stamp);
        else snprintf(path, size, "runs/%s-%d", stamp, attempt);
        if (mkdir(path, 0755) == 0) return 0;
    }
    return error_set(error, "runs/: cannot create a fresh run folder");
}
