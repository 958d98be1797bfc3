/* Command-line parsing shared by the trainer's subcommands: a table of options, each with its
 * type, default, range and help line; `--help` is generated from the same table. */
#ifndef MLP_CLI_H
#define MLP_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "mlp/common.h"

#define CLI_EXIT_RUNTIME 1 /* a run that failed: bad data, unwritable output, ...         */
#define CLI_EXIT_USAGE 2   /* the command line itself is wrong                           */

typedef enum cli_option_type {
    CLI_FLAG,        /* int, set to 1 when present                                         */
    CLI_INT,         /* int within [min, max]                                              */
    CLI_FLOAT,       /* float, finite, within [min, max]; min_exclusive makes min open     */
    CLI_U64,         /* uint64_t                                                          */
    CLI_STRING,      /* const char *                                                      */
    CLI_STRING_LIST, /* repeatable: appends to a cli_string_list                          */
    CLI_CHOICE,      /* const char * restricted to the '|'-separated choices              */
} cli_option_type;

#define CLI_MAX_LIST 64
typedef struct cli_string_list {
    int count;
    const char *values[CLI_MAX_LIST];
} cli_string_list;

typedef struct cli_option {
    const char *name;          /* "--lr"                                    */
    cli_option_type type;
    void *target;
    const char *value_name;    /* "RATE", shown in --help                    */
    const char *help;          /* one line; the default is appended          */
    double min, max;           /* CLI_INT / CLI_FLOAT                        */
    int min_exclusive;
    const char *choices;       /* CLI_CHOICE: "core|none"                    */
} cli_option;

typedef struct cli_command {
    const char *usage;       /* "trainer [options]"                          */
    const char *description; /* a paragraph printed under the usage          */
    const cli_option *options;
    int option_count;
    /* Positional arguments are collected here when non-NULL, else they are an error. */
    cli_string_list *positionals;
} cli_command;

/* Parses argv[first..argc-1] into the targets (which hold the defaults beforehand).
 * Returns 0 on success, CLI_EXIT_USAGE with a one-line message in error on a bad command line,
 * and -1 when --help was given and printed (the caller exits 0). */
int cli_parse(const cli_command *command, int argc, char **argv, int first, mlp_error *error);
/* Sets the option `name` of the command from the text `value`, with cli_parse's checks. Returns
 * 0, 1 when the command has no such option, or CLI_EXIT_USAGE with a message. */
int cli_set_option(const cli_command *command, const char *name, const char *value, mlp_error *error);
void cli_print_help(const cli_command *command, FILE *out);

/* A command's option table, assembled from named parts in the order --help lists them:
 *   cli_option_table table = {0};
 *   data_options_describe(&o.data, cli_options_reserve(&table, DATA_OPTION_COUNT));
 *   cli_options_add(&table, (cli_option){.name = "--out", ...});
 * so that no command counts positions in an array by hand. */
#define CLI_MAX_OPTIONS 64
typedef struct cli_option_table {
    cli_option options[CLI_MAX_OPTIONS];
    int count;
} cli_option_table;
/* The next `count` entries of the table (zeroed), for a *_describe function to fill. A table
 * too small for a command is a programming error: it aborts with a message. */
cli_option *cli_options_reserve(cli_option_table *table, int count);
void cli_options_add(cli_option_table *table, cli_option option);

/* ---- options shared by the subcommands (src/cli_common.c) ---- */

#include "core/affinity.h"
#include "mlp/data.h"
#include "mlp/kernels.h"
#include "mlp/precision.h"
#include "mlp/plan.h"

typedef struct data_options {
    const char *data_dir;  /* IDX folder (train-* and t10k-*)                 */
    const char *train_csv; /* or a Kaggle-style CSV                           */
    const char *test_csv;
    int train_limit;       /* use only the first N training images (0: all)    */
    const char *default_data_dir; /* data_dir before parsing: MLP_DATA, the build's source tree's
                                     data/mnist, or "" (data_options_init)                   */
} data_options;

#define DATA_OPTION_COUNT 4
void data_options_init(data_options *data);
/* Fills entries [0, DATA_OPTION_COUNT) of options. */
void data_options_describe(data_options *data, cli_option *options);
/* Loads the training set and, when one exists, the test set (test->count = 0 otherwise). */
int data_options_load(const data_options *data, mlp_dataset *train, mlp_dataset *test,
                      mlp_error *error);
/* Loads only the test set (for eval): the t10k files of the folder, or --test-csv. */
int data_options_load_test(const data_options *data, mlp_dataset *test, mlp_error *error);

typedef struct runtime_options {
    int threads;        /* the available cores (affinity.h) unless given; runtime_setup caps it */
    const char *kernel; /* "auto", scalar, avx2, avx512, neon                       */
    const char *bind;   /* "core" or "none"                                         */
    int verbose;
    int oversubscribe;  /* --oversubscribe: run --threads N even above the available cores */
    int threads_requested; /* set by runtime_setup: threads before the cap            */
    const char *precision; /* "fp32" (default) or "bf16": --precision, for the commands that
                              offer it (runtime_precision_option); picks the variant too  */
    const char *plan_file; /* --plan FILE (NULL: MLP_PLAN, else measure and write nothing) */
    mlp_plan plan;         /* set by runtime_setup (include/mlp/plan.h)                */
} runtime_options;

#define RUNTIME_OPTION_COUNT 6
void runtime_options_init(runtime_options *runtime);
void runtime_options_describe(runtime_options *runtime, cli_option *options);
/* Caps runtime->threads at the available cores (one line on stderr when it does; not with
 * --oversubscribe; under MPI the local ranks share them), picks the kernel variant (--kernel,
 * then MLP_KERNEL, then the best), binds the threads and makes the plan (--plan, MLP_PLAN:
 * mlp_plan_resolve). Returns NULL with the reason in error when the requested variant cannot
 * run here or the plan file is bad. */
const mlp_kernel_table *runtime_setup(runtime_options *runtime, mlp_error *error);
/* --precision fp32|bf16 for a command that runs the network's GEMMs (train, sweep, eval): with
 * bf16, runtime_setup picks a variant with a gemm_bf16 (mlp_kernels_select_for). */
cli_option runtime_precision_option(runtime_options *runtime);
/* runtime->precision as an mlp_precision (FP32 unless "bf16"). */
mlp_precision runtime_precision(const runtime_options *runtime);

/* The training recipe shared by train and sweep. */
#include "mlp/recipe.h"

typedef struct recipe_options {
    const char *activation; /* relu, sigmoid, tanh                                      */
    int batch;
    float learning_rate;
    int epochs;
    uint64_t seed;
    float validation_split;
    /* --recipe and the optimizer and schedule (include/mlp/recipe.h) */
    const char *preset;     /* study, fast, best: a named group of the options (below)  */
    const char *optimizer;  /* sgd, momentum, nesterov, adam, adamw                     */
    float momentum, beta1, beta2, eps, weight_decay;
    const char *lr_schedule; /* constant, step, cosine, onecycle                       */
    float warmup_epochs, lr_min;
    int lr_step;
    float lr_gamma;
    int lr_plateau;
} recipe_options;

#define RECIPE_OPTION_COUNT 19
/* relu, batch 64, lr 0.1, 10 epochs, seed 42, val-split 0.2; --recipe study (plain SGD at a
 * constant rate), momentum 0.9, beta1 0.9, beta2 0.999, eps 1e-8, no weight decay */
void recipe_options_init(recipe_options *recipe);
void recipe_options_describe(recipe_options *recipe, cli_option *options);

/* --recipe NAME: the options its preset sets (recipe_presets) that are not on the command line
 * are set through the command's own option table, as if given; explicit options win. Options of
 * a type the command lacks (a sweep's --layers list) and the flags in `skip` (NULL-terminated, or
 * NULL) are left alone. Returns 0, or
 * CLI_EXIT_USAGE with a message. */
int recipe_options_apply_preset(const recipe_options *recipe, const cli_command *command, int argc,
                                char **argv, int first, const char *const *skip, mlp_error *error);
/* The flags --recipe NAME sets ("--layers", "--optimizer", ...), NULL-terminated; NULL when the
 * name is unknown. */
const char *const *recipe_preset_flags(const char *name);
/* The optimizer, schedule (and, for a preset that sets them, dropout and augmentation) as an
 * mlp_recipe; checks the ranges. Returns 0 or CLI_EXIT_USAGE with a message. */
int recipe_options_to_recipe(const recipe_options *options, mlp_recipe *recipe, mlp_error *error);

/* Runs a subcommand's parse: on --help exits 0, on a usage error prints it and exits 2. */
void cli_parse_or_exit(const cli_command *command, int argc, char **argv, int first);
/* The output folder: `out` (created with its parents) when given, else a fresh
 * runs/YYYYmmdd-HHMMSS (with -2, -3, ... when taken). path receives it. */
int cli_output_folder(const char *out, char *path, size_t size, mlp_error *error);

/* Prints "trainer: error: <message>" and exits with the code. */
void cli_fail(int exit_code, const mlp_error *error);

#endif
