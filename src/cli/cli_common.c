/* Options every subcommand shares: where the data is, threads, kernel variant, binding. */
#define _DEFAULT_SOURCE /* localtime_r, readlink, realpath */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mlp/distributed.h"
#include "core/file_util.h"
#include "mlp/optimizer.h"
#include "train_safeguards.h"

/* Where the MNIST IDX files are looked for when --data is not given: MLP_DATA when set, else the
 * source tree's data/mnist (MLP_SOURCE_DATA_DIR) when this trainer runs from the build folder
 * it was built in (MLP_BUILD_DIR), as ctest and the scripts run it. An installed trainer has no
 * tree to fall back on. */
#ifndef MLP_SOURCE_DATA_DIR
#define MLP_SOURCE_DATA_DIR "data/mnist"
#endif

/* Whether this process's executable lies under the build folder it was built in. */
static int run_from_build(void) {
#ifdef MLP_BUILD_DIR
    char executable[4096], build[4096];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    if (length <= 0 || !realpath(MLP_BUILD_DIR, build)) return 0;
    executable[length] = '\0';
    size_t prefix = strlen(build);
    return strncmp(executable, build, prefix) == 0 && executable[prefix] == '/';
#else
    return 0;
#endif
}

/* The default data folder, or "" when there is none to try. */
static const char *default_data_dir(void) {
    const char *environment = getenv("MLP_DATA");
    if (environment && *environment) return environment;
    return run_from_build() ? MLP_SOURCE_DATA_DIR : "";
}

void data_options_init(data_options *data) {
    memset(data, 0, sizeof *data);
    data->data_dir = data->default_data_dir = default_data_dir();
}

/* Before reading an IDX pair: when the folder lacks it, the one-line error names the places
 * looked in and how to get MNIST. */
static int check_idx_folder(const data_options *data, const char *prefix, mlp_error *error) {
    if (data->data_dir[0] && mlp_dataset_idx_folder_has(data->data_dir, prefix)) return 0;
    const char *fetch = "download MNIST with scripts/fetch_data.sh [DIR] from the mlptrain source tree";
    if (data->data_dir != data->default_data_dir) /* --data given: only there */
        return mlp_error_set(error, "%s: no MNIST %s files (%s-images-idx3-ubyte, %s-labels-idx1-ubyte, each optionally "
                         ".gz); %s", data->data_dir, prefix, prefix, prefix, fetch);
    const char *environment = getenv("MLP_DATA");
    char places[4400];
    if (environment && *environment)
        snprintf(places, sizeof places, "looked in MLP_DATA=%.4000s", environment);
    else if (run_from_build())
        snprintf(places, sizeof places, "looked in %.4000s (the source tree of this build; MLP_DATA not set)",
                 MLP_SOURCE_DATA_DIR);
    else
        snprintf(places, sizeof places, "no --data given and MLP_DATA not set");
    return mlp_error_set(error, "no MNIST %s files (%s-images-idx3-ubyte, %s-labels-idx1-ubyte, each optionally .gz): "
                     "%s; give --data DIR or set MLP_DATA=DIR; %s", prefix, prefix, prefix, places, fetch);
}

void data_options_describe(data_options *data, cli_option *options) {
    options[0] = (cli_option){.name = "--data", .type = CLI_STRING, .target = &data->data_dir, .value_name = "DIR", .help = "folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                              "t10k-* (each optionally .gz); unset: $MLP_DATA, else the source tree's data/mnist "
                              "when run from its build"};
    options[1] = (cli_option){.name = "--train-csv", .type = CLI_STRING, .target = &data->train_csv, .value_name = "FILE", .help = "Kaggle-style CSV (label,pixel0..pixelN, header row) instead of --data"};
    options[2] = (cli_option){.name = "--test-csv", .type = CLI_STRING, .target = &data->test_csv, .value_name = "FILE", .help = "test set CSV, used only for the final report"};
    options[3] = (cli_option){.name = "--train-limit", .type = CLI_INT, .target = &data->train_limit, .value_name = "N", .help = "use only the first N training images (0: all)", .max = 1e9};
}

int data_options_load(const data_options *data, mlp_dataset *train, mlp_dataset *test,
                      mlp_error *error) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (data->train_csv) {
        if (mlp_dataset_load_csv(data->train_csv, train, error) != 0) return -1;
    } else if (check_idx_folder(data, "train", error) != 0 ||
               mlp_dataset_load_idx_folder(data->data_dir, "train", train, error) != 0) {
        return -1;
    }
    if (data->train_limit > 0 && data->train_limit < train->count) train->count = data->train_limit;
    if (data->test_csv || (!data->train_csv && mlp_dataset_idx_folder_has(data->data_dir, "t10k"))) {
        if (data_options_load_test(data, test, error) != 0) {
            mlp_dataset_free(train);
            return -1;
        }
        if (test->features != train->features) {
            mlp_error_set(error, "%s: test images have %d pixels, training images %d",
                      data->test_csv ? data->test_csv : data->data_dir, test->features, train->features);
            mlp_dataset_free(train);
            mlp_dataset_free(test);
            return -1;
        }
    }
    return 0;
}

int data_options_load_test(const data_options *data, mlp_dataset *test, mlp_error *error) {
    memset(test, 0, sizeof *test);
    if (data->test_csv) return mlp_dataset_load_csv(data->test_csv, test, error);
    if (check_idx_folder(data, "t10k", error) != 0) return -1;
    return mlp_dataset_load_idx_folder(data->data_dir, "t10k", test, error);
}

void runtime_options_init(runtime_options *runtime) {
    runtime->threads = mlp_affinity_available_cores();
    runtime->kernel = "auto";
    runtime->bind = "core";
    runtime->verbose = 0;
    runtime->oversubscribe = 0;
    runtime->threads_requested = 0;
    runtime->precision = "fp32";
    runtime->plan_file = NULL;
}

void runtime_options_describe(runtime_options *runtime, cli_option *options) {
    options[0] = (cli_option){.name = "--threads", .type = CLI_INT, .target = &runtime->threads, .value_name = "N", .help = "OpenMP threads, at most one per available core (physical cores, affinity mask, cgroup CPU quota); the results do not depend on it", .min = 1, .max = 4096};
    options[1] = (cli_option){.name = "--kernel", .type = CLI_CHOICE, .target = &runtime->kernel, .value_name = "VARIANT", .help = "kernel variant; auto = MLP_KERNEL if set, else the best the CPU runs", .choices = mlp_kernels_variant_choices()};
    options[2] = (cli_option){.name = "--bind", .type = CLI_CHOICE, .target = &runtime->bind, .value_name = "MODE", .help = "pin each thread to its own core with hwloc, or leave it to the OS", .choices = "core|none"};
    options[3] = (cli_option){.name = "--verbose", .type = CLI_FLAG, .target = &runtime->verbose, .help = "print the kernel variant and the thread binding at the start"};
    options[4] = (cli_option){.name = "--oversubscribe", .type = CLI_FLAG, .target = &runtime->oversubscribe, .help = "run --threads N threads even when N exceeds the available cores (slower: threads share cores)"};
    options[5] = (cli_option){.name = "--plan", .type = CLI_STRING, .target = &runtime->plan_file, .value_name = "FILE", .help = "the measured plan (GEMM blocking, split threshold): read FILE if it exists (pinned), else measure and write it; default MLP_PLAN, else measure at start and write nothing; never changes the results"};
}

cli_option runtime_precision_option(runtime_options *runtime) {
    return (cli_option){.name = "--precision", .type = CLI_CHOICE, .target = &runtime->precision,
                        .help = "the GEMMs' arithmetic: fp32, or bf16 (operands rounded to BF16, float sums; "
                                "weights, update and loss stay fp32; needs AVX512_BF16 or FEAT_BF16, "
                                "--kernel scalar runs the slow reference; docs/bf16.md)",
                        .choices = "fp32|bf16"};
}

mlp_precision runtime_precision(const runtime_options *runtime) {
    mlp_precision precision = MLP_PRECISION_FP32;
    if (runtime->precision && mlp_precision_parse(runtime->precision, &precision) != 0)
        precision = MLP_PRECISION_FP32; /* a CLI_CHOICE: never reached */
    return precision;
}

/* At most one thread per available core unless --oversubscribe: the results do not depend on the
 * thread count, and threads that share a core only wait for each other. */
static void runtime_plan_threads(runtime_options *runtime) {
    int local_ranks = mlp_distributed_local_ranks();
    affinity_thread_plan plan = mlp_affinity_plan_threads(runtime->threads, runtime->oversubscribe, local_ranks);
    runtime->threads_requested = plan.requested;
    runtime->threads = plan.used;
    if (plan.capped && mlp_distributed_rank() == 0)
        fprintf(stderr, "trainer: --threads %d > %d available core%s (%s): using %d; --oversubscribe runs %d\n",
                plan.requested, plan.available, plan.available == 1 ? "" : "s", plan.limit, plan.used,
                plan.requested);
}

const mlp_kernel_table *runtime_setup(runtime_options *runtime, mlp_error *error) {
    runtime_plan_threads(runtime);
    char reason[256];
    const mlp_kernel_table *kernels =
        mlp_kernels_select_for(runtime->kernel, runtime_precision(runtime), reason, sizeof reason);
    if (!kernels) {
        mlp_error_set(error, "%s", reason);
        return NULL;
    }
    affinity_mode mode = strcmp(runtime->bind, "none") == 0 ? AFFINITY_NONE : AFFINITY_CORE;
    mlp_affinity_bind_team(runtime->threads, mode, runtime->verbose ? stderr : NULL);
    if (mlp_plan_resolve(runtime->plan_file, kernels, runtime->threads, &runtime->plan, error) != 0)
        return NULL;
    if (runtime->verbose)
        fprintf(stderr, "kernel: %s, threads: %d\n", kernels->name, runtime->threads);
    return kernels;
}

void recipe_options_init(recipe_options *recipe) {
    *recipe = (recipe_options){.activation = "relu", .batch = 64, .learning_rate = 0.1f,
                               .epochs = 10, .seed = 42, .validation_split = 0.2f,
                               .preset = "study", .optimizer = "sgd", .momentum = 0.9f,
                               .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                               .lr_schedule = "constant", .lr_gamma = 0.1f};
}

/* ---- --recipe: named groups of options (README, Recipes; NOTES-optim.md has the measurements) */

typedef struct recipe_preset {
    const char *name;
    const char *const *arguments; /* flag, value, flag, value, ..., NULL */
} recipe_preset;

/* study: today's default run, bit for bit (no option changed). */
static const char *const study_arguments[] = {NULL};
/* fast: the quickest way to >= 98% MNIST test accuracy on 2 cores. */
static const char *const fast_arguments[] = {
    "--layers", "784,256,10", "--optimizer", "nesterov", "--lr", "0.3", "--lr-schedule", "onecycle",
    "--batch", "128", "--epochs", "3", "--val-split", "0", NULL};
/* best: the highest MNIST test accuracy in <= 2 minutes on 2 cores (docs/recipes.md: 20 epochs
 * of shifts alone gave 99.08%, of shifts, turns and scaling 99.10%, elastic distortions on top
 * under-fitted in 20 epochs, 98.96%; 35 epochs of the affine set: 99.2-99.3%). */
static const char *const best_arguments[] = {
    "--layers", "784,800,800,10", "--optimizer", "nesterov", "--lr", "0.1", "--lr-schedule", "onecycle",
    "--weight-decay", "0.0001", "--batch", "128", "--epochs", "35", "--val-split", "0",
    "--dropout", "0.25", "--augment", "shift=2,rotate=10,scale=0.1", NULL};

static const recipe_preset recipe_presets[] = {
    {.name = "study", .arguments = study_arguments},
    {.name = "fast", .arguments = fast_arguments},
    {.name = "best", .arguments = best_arguments},
};

static const recipe_preset *find_preset(const char *name) {
    for (size_t i = 0; i < sizeof recipe_presets / sizeof recipe_presets[0]; i++)
        if (strcmp(recipe_presets[i].name, name) == 0) return &recipe_presets[i];
    return NULL;
}

const char *const *recipe_preset_flags(const char *name) {
    const recipe_preset *preset = find_preset(name);
    return preset ? preset->arguments : NULL;
}

int recipe_options_apply_preset(const recipe_options *recipe, const cli_command *command, int argc,
                                char **argv, int first, const char *const *skip, mlp_error *error) {
    const recipe_preset *preset = find_preset(recipe->preset);
    if (!preset) return mlp_error_set(error, "--recipe: unknown recipe '%s'", recipe->preset), CLI_EXIT_USAGE;
    for (const char *const *a = preset->arguments; *a; a += 2) {
        if (option_given(argc, argv, first, a[0])) continue; /* explicit options win */
        int skipped = 0;
        for (const char *const *k = skip; k && *k; k++) skipped |= strcmp(*k, a[0]) == 0;
        if (skipped) continue;
        const cli_option *option = NULL;
        for (int i = 0; i < command->option_count; i++)
            if (strcmp(command->options[i].name, a[0]) == 0) option = &command->options[i];
        if (!option || option->type == CLI_STRING_LIST) continue;
        int status = cli_set_option(command, a[0], a[1], error);
        if (status != 0) return CLI_EXIT_USAGE;
    }
    return 0;
}

int recipe_options_to_recipe(const recipe_options *o, mlp_recipe *recipe, mlp_error *error) {
    mlp_recipe_init(recipe);
    if (mlp_optimizer_parse(o->optimizer, &recipe->optimizer.kind) != 0)
        return mlp_error_set(error, "--optimizer: unknown optimizer '%s'", o->optimizer), CLI_EXIT_USAGE;
    if (mlp_lr_schedule_parse(o->lr_schedule, &recipe->schedule.kind) != 0)
        return mlp_error_set(error, "--lr-schedule: unknown schedule '%s'", o->lr_schedule), CLI_EXIT_USAGE;
    recipe->optimizer.momentum = o->momentum;
    recipe->optimizer.beta1 = o->beta1;
    recipe->optimizer.beta2 = o->beta2;
    recipe->optimizer.eps = o->eps;
    recipe->optimizer.weight_decay = o->weight_decay;
    recipe->schedule.warmup_epochs = o->warmup_epochs;
    recipe->schedule.lr_min = o->lr_min;
    recipe->schedule.step_epochs = o->lr_step;
    recipe->schedule.gamma = o->lr_gamma;
    recipe->schedule.plateau = o->lr_plateau;
    if (mlp_recipe_check(recipe, error) != 0) return CLI_EXIT_USAGE;
    if (recipe->schedule.kind == MLP_LR_STEP && recipe->schedule.step_epochs < 1)
        return mlp_error_set(error, "--lr-schedule step needs --lr-step EPOCHS"), CLI_EXIT_USAGE;
    return 0;
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
    options[6] = (cli_option){.name = "--recipe", .type = CLI_CHOICE, .target = &recipe->preset,
                              .help = "a named group of options (README, Recipes): study = today's default, "
                                      "fast = >= 98% in seconds, best = the most accurate in 2 minutes; "
                                      "options given explicitly win", .choices = "study|fast|best"};
    options[7] = (cli_option){.name = "--optimizer", .type = CLI_CHOICE, .target = &recipe->optimizer,
                              .help = "update rule (PyTorch's SGD, SGD momentum / nesterov, Adam, AdamW)",
                              .choices = "sgd|momentum|nesterov|adam|adamw"};
    options[8] = (cli_option){.name = "--momentum", .type = CLI_FLOAT, .target = &recipe->momentum,
                              .value_name = "MU", .help = "momentum and nesterov's velocity decay", .max = 0.9999};
    options[9] = (cli_option){.name = "--beta1", .type = CLI_FLOAT, .target = &recipe->beta1, .value_name = "B1",
                              .help = "adam/adamw's first-moment decay", .max = 0.9999};
    options[10] = (cli_option){.name = "--beta2", .type = CLI_FLOAT, .target = &recipe->beta2, .value_name = "B2",
                               .help = "adam/adamw's second-moment decay", .max = 0.999999};
    options[11] = (cli_option){.name = "--eps", .type = CLI_FLOAT, .target = &recipe->eps, .value_name = "EPS",
                               .help = "adam/adamw's denominator term", .max = 1.0, .min_exclusive = 1};
    options[12] = (cli_option){.name = "--weight-decay", .type = CLI_FLOAT, .target = &recipe->weight_decay,
                               .value_name = "L", .help = "L2 penalty added to the gradient (decoupled, "
                                                          "w -= lr L w, for adamw); every parameter", .max = 10};
    options[13] = (cli_option){.name = "--lr-schedule", .type = CLI_CHOICE, .target = &recipe->lr_schedule,
                               .help = "the rate over the run: constant, step (x --lr-gamma every --lr-step "
                                       "epochs), cosine (to --lr-min), onecycle (--lr/25 up to --lr, down to "
                                       "--lr-min); per batch", .choices = "constant|step|cosine|onecycle"};
    options[14] = (cli_option){.name = "--warmup-epochs", .type = CLI_FLOAT, .target = &recipe->warmup_epochs,
                               .value_name = "E", .help = "linear warm-up from ~0 to --lr over E epochs, per batch "
                                                          "(onecycle: the length of its rise)", .max = 1e6};
    options[15] = (cli_option){.name = "--lr-min", .type = CLI_FLOAT, .target = &recipe->lr_min, .value_name = "RATE",
                               .help = "the rate cosine and onecycle end at", .max = 1e6};
    options[16] = (cli_option){.name = "--lr-step", .type = CLI_INT, .target = &recipe->lr_step,
                               .value_name = "EPOCHS", .help = "the step schedule's period", .max = 1000000};
    options[17] = (cli_option){.name = "--lr-gamma", .type = CLI_FLOAT, .target = &recipe->lr_gamma, .value_name = "G",
                               .help = "the step schedule's factor", .max = 1e6, .min_exclusive = 1};
    options[18] = (cli_option){.name = "--lr-plateau", .type = CLI_INT, .target = &recipe->lr_plateau,
                               .value_name = "N", .help = "divide the rate by 10 after N epochs without a better "
                                                          "validation cost (0: off); with any schedule",
                               .max = 1000000};
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
        return mlp_file_make_directories(path, error);
    }
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    if (mlp_file_make_directories("runs", error) != 0) return -1;
    for (int attempt = 1; attempt < 1000; attempt++) {
        if (attempt == 1) snprintf(path, size, "runs/%s", stamp);
        else snprintf(path, size, "runs/%s-%d", stamp, attempt);
        if (mkdir(path, 0755) == 0) return 0;
    }
    return mlp_error_set(error, "runs/: cannot create a fresh run folder");
}
