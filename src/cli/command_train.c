/* `trainer [train]`: train an MLP on MNIST-style data and save the model, curves and summary;
 * checkpoints, --resume, SIGINT/SIGTERM, --patience, divergence and --trap-fp. The options are
 * parsed here; the run itself (the epoch loop and its policy) is the library's (include/mlp/run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "interop_hooks.h"
#include "mlp/checkpoint.h"
#include "mlp/distributed.h"
#include "mlp/plot.h"
#include "mlp/run.h"
#include "regular_options.h"
#include "train_safeguards.h"

typedef struct train_command_options {
    data_options data;
    runtime_options runtime;
    const char *layers;
    recipe_options recipe;
    const char *out;
    int profile;
    int checkpoint_every; /* epochs; -1 until decided (1 with --out, else 0) */
    const char *resume;
    int patience;
    int trap_fp;
    int gradient_shards;
    const char *init_model;  /* --init-model: start from this model file (interop_hooks.h) */
    const char *write_order; /* --write-order: write every epoch's example order          */
    regular_options regular; /* --dropout, --augment */
} train_command_options;

/* The options given on the command line, for checking them against a checkpoint. */
static unsigned options_given(int argc, char **argv, int first) {
    static const struct {
        const char *name;
        unsigned flag;
    } flags[] = {
        {"--layers", MLP_RUN_GIVEN_LAYERS},
        {"--activation", MLP_RUN_GIVEN_ACTIVATION},
        {"--batch", MLP_RUN_GIVEN_BATCH},
        {"--lr", MLP_RUN_GIVEN_LEARNING_RATE},
        {"--seed", MLP_RUN_GIVEN_SEED},
        {"--val-split", MLP_RUN_GIVEN_VALIDATION_SPLIT},
        {"--patience", MLP_RUN_GIVEN_PATIENCE},
        {"--gradient-shards", MLP_RUN_GIVEN_GRADIENT_SHARDS},
        {"--train-limit", MLP_RUN_GIVEN_TRAIN_LIMIT},
        {"--kernel", MLP_RUN_GIVEN_KERNEL},
        {"--out", MLP_RUN_GIVEN_FOLDER},
        {"--epochs", MLP_RUN_GIVEN_EPOCHS},
        {"--checkpoint-every", MLP_RUN_GIVEN_CHECKPOINT_EVERY},
        {"--data", MLP_RUN_GIVEN_TRAIN_DATA},
        {"--train-csv", MLP_RUN_GIVEN_TRAIN_DATA},
        {"--test-csv", MLP_RUN_GIVEN_TEST_DATA},
        {"--optimizer", MLP_RUN_GIVEN_OPTIMIZER},
        {"--momentum", MLP_RUN_GIVEN_MOMENTUM},
        {"--beta1", MLP_RUN_GIVEN_BETA1},
        {"--beta2", MLP_RUN_GIVEN_BETA2},
        {"--eps", MLP_RUN_GIVEN_EPS},
        {"--weight-decay", MLP_RUN_GIVEN_WEIGHT_DECAY},
        {"--lr-schedule", MLP_RUN_GIVEN_LR_SCHEDULE},
        {"--warmup-epochs", MLP_RUN_GIVEN_WARMUP_EPOCHS},
        {"--lr-min", MLP_RUN_GIVEN_LR_MIN},
        {"--lr-step", MLP_RUN_GIVEN_LR_STEP},
        {"--lr-gamma", MLP_RUN_GIVEN_LR_GAMMA},
        {"--lr-plateau", MLP_RUN_GIVEN_LR_PLATEAU},
        {"--dropout", MLP_RUN_GIVEN_DROPOUT},
        {"--augment", MLP_RUN_GIVEN_AUGMENT},
        {"--precision", MLP_RUN_GIVEN_PRECISION},
    };
    /* --recipe NAME counts as giving every option its preset sets. */
    const char *const *preset = NULL;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--recipe") == 0 && i + 1 < argc) preset = recipe_preset_flags(argv[i + 1]);
        if (strncmp(argv[i], "--recipe=", 9) == 0) preset = recipe_preset_flags(argv[i] + 9);
    }
    unsigned given = 0;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        int set = option_given(argc, argv, first, flags[i].name);
        for (const char *const *a = preset; a && *a && !set; a += 2) set = strcmp(*a, flags[i].name) == 0;
        if (set) given |= flags[i].flag;
    }
    return given;
}

/* The train command's table: the shared data and runtime options, --layers, the recipe, then
 * the options of a training run. */
static void describe_train_options(train_command_options *o, cli_option_table *table) {
    data_options_describe(&o->data, cli_options_reserve(table, DATA_OPTION_COUNT));
    runtime_options_describe(&o->runtime, cli_options_reserve(table, RUNTIME_OPTION_COUNT));
    cli_options_add(table, runtime_precision_option(&o->runtime));
    cli_options_add(table, (cli_option){.name = "--layers", .type = CLI_STRING, .target = &o->layers, .value_name = "SIZES",
                                        .help = "layer sizes, input first: 784,H1,...,10"});
    recipe_options_describe(&o->recipe, cli_options_reserve(table, RECIPE_OPTION_COUNT));
    regular_options_describe(&o->regular, cli_options_reserve(table, REGULAR_OPTION_COUNT));
    cli_options_add(table, (cli_option){.name = "--out", .type = CLI_STRING, .target = &o->out, .value_name = "DIR",
                                        .help = "where to write model.mlp, metrics.csv, summary.json "
                                                "(default: a fresh folder under runs/)"});
    cli_options_add(table, (cli_option){.name = "--profile", .type = CLI_FLAG, .target = &o->profile,
                                        .help = "time every layer's kernels; print a table at the end and add it "
                                                "to summary.json"});
    cli_options_add(table, (cli_option){.name = "--checkpoint-every", .type = CLI_INT, .target = &o->checkpoint_every,
                                        .value_name = "N",
                                        .help = "write DIR/" MLP_CHECKPOINT_FILE_NAME " every N epochs (0: never; default 1 "
                                                "with --out, else 0; -1 = that default)",
                                        .min = -1, .max = 1000000});
    cli_options_add(table, (cli_option){.name = "--resume", .type = CLI_STRING, .target = &o->resume, .value_name = "DIR",
                                        .help = "continue the run in DIR from its " MLP_CHECKPOINT_FILE_NAME
                                                " (same final model as an uninterrupted run)"});
    cli_options_add(table, (cli_option){.name = "--patience", .type = CLI_INT, .target = &o->patience, .value_name = "N",
                                        .help = "stop when the validation cost has not improved for N epochs and "
                                                "keep the best epoch's model (0: off)",
                                        .max = 1000000});
    cli_options_add(table, (cli_option){.name = "--trap-fp", .type = CLI_FLAG, .target = &o->trap_fp,
                                        .help = "trap invalid/divide-by-zero/overflow floating-point operations "
                                                "(SIGFPE), for debugging"});
    cli_options_add(table, (cli_option){.name = "--gradient-shards", .type = CLI_INT, .target = &o->gradient_shards,
                                        .value_name = "G",
                                        .help = "cut each batch into G row shards and sum their gradients in order: "
                                                "the same model for any number of MPI ranks <= G (1: the plain step; "
                                                "see README, Multi-machine training)",
                                        .min = 1, .max = 1 << 20});
    cli_options_add(table, (cli_option){.name = "--init-model", .type = CLI_STRING, .target = &o->init_model,
                                        .value_name = "FILE",
                                        .help = "start from this model (e.g. from trainer import) instead of He "
                                                "initialisation; its shape is the run's"});
    cli_options_add(table, (cli_option){.name = "--write-order", .type = CLI_STRING, .target = &o->write_order,
                                        .value_name = "FILE",
                                        .help = "write each epoch's training indices in the order trained: epochs x "
                                                "train-count int32, little-endian"});
}

/* The run's configuration from the options (a fresh run; --resume then overrides it). The model's
 * sizes and activation are parsed later, the kernel table is picked later. */
static void config_from_options(const train_command_options *o, mlp_run_config *config) {
    *config = (mlp_run_config){
        .batch = o->recipe.batch, .learning_rate = o->recipe.learning_rate, .epochs = o->recipe.epochs,
        .seed = o->recipe.seed, .validation_split = o->recipe.validation_split, .patience = o->patience,
        .checkpoint_every = o->checkpoint_every, .gradient_shards = o->gradient_shards,
        .threads = o->runtime.threads, .kernel = o->runtime.kernel, .precision = runtime_precision(&o->runtime),
        .progress = 1, .profile = o->profile,
        .data_dir = o->data.data_dir, .train_csv = o->data.train_csv, .test_csv = o->data.test_csv,
        .train_limit = o->data.train_limit, .stop_requested = &train_stop_signal,
    };
}

int command_train(int argc, char **argv, int first) {
    train_command_options o = {
        .layers = "784,128,64,10", .out = NULL, .checkpoint_every = -1, .gradient_shards = 1,
    };
    data_options_init(&o.data);
    runtime_options_init(&o.runtime);
    recipe_options_init(&o.recipe);
    cli_option_table table = {0};
    describe_train_options(&o, &table);
    cli_command command = {
        "trainer [train] [options]",
        "Trains a multilayer perceptron (softmax output, cross-entropy cost, He initialisation,\n"
        "mini-batch SGD, momentum or Adam) on MNIST IDX files or a Kaggle-style CSV. Pixels are\n"
        "scaled to 0..1. --recipe fast|best picks a tuned group of options (README, Recipes).\n"
        "A seeded split holds out --val-split of the training file for validation; the test\n"
        "set (t10k-* in --data, or --test-csv) is used only for the final report.\n"
        "SIGINT/SIGTERM finish the batch, write a checkpoint and exit 130/143; --resume DIR continues.",
        table.options, table.count, NULL};
    cli_parse_or_exit(&command, argc, argv, first);

    mlp_error error;
    if (recipe_options_apply_preset(&o.recipe, &command, argc, argv, first, NULL, &error) != 0)
        cli_fail(CLI_EXIT_USAGE, &error);
    /* Under mpirun: every rank trains; only rank 0 prints and writes files. */
    if (mlp_distributed_start(&error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    int writer = mlp_distributed_rank() == 0;
    /* Several ranks on one machine share its cores and let the OS place their threads (binding
     * would pin every rank's threads to the same first cores), unless told otherwise. */
    int local_ranks = mlp_distributed_local_ranks();
    if (local_ranks > 1 && !option_given(argc, argv, first, "--threads"))
        o.runtime.threads = o.runtime.threads > local_ranks ? o.runtime.threads / local_ranks : 1;
    if (local_ranks > 1 && !option_given(argc, argv, first, "--bind")) o.runtime.bind = "none";
    if (!writer && !freopen("/dev/null", "w", stdout)) {
        mlp_error_set(&error, "/dev/null: cannot open for writing");
        cli_fail(CLI_EXIT_RUNTIME, &error);
    }
    mlp_run_config config;
    config_from_options(&o, &config);
    /* the preset the options started from (a resume knows it only when told again) */
    config.recipe_name = o.resume && !option_given(argc, argv, first, "--recipe") ? NULL : o.recipe.preset;
    if (recipe_options_to_recipe(&o.recipe, &config.recipe, &error) != 0) cli_fail(CLI_EXIT_USAGE, &error);
    /* --dropout and --augment (given, or set by --recipe) */
    int dropout_values;
    if (regular_options_parse(&o.regular, &config.recipe, &dropout_values, &error) != 0)
        cli_fail(CLI_EXIT_USAGE, &error);

    /* --resume: the checkpoint's recipe becomes the run's; a flag given on the command line that
     * contradicts it is a usage error. --epochs may be raised to train further. */
    mlp_checkpoint resumed;
    memset(&resumed, 0, sizeof resumed);
    mlp_model init_model = {0};
    if (o.resume && option_given(argc, argv, first, "--init-model")) {
        mlp_error_set(&error, "--init-model contradicts --resume: a resumed run continues its checkpoint's model");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    if (o.resume) {
        char resume_path[4200];
        snprintf(resume_path, sizeof resume_path, "%s/%s", o.resume, MLP_CHECKPOINT_FILE_NAME);
        if (mlp_checkpoint_load(&resumed, resume_path, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
        unsigned given = options_given(argc, argv, first);
        if ((given & MLP_RUN_GIVEN_LAYERS) &&
            mlp_model_parse_layers(o.layers, config.sizes, &config.size_count, &error) != 0)
            cli_fail(CLI_EXIT_USAGE, &error);
        if ((given & MLP_RUN_GIVEN_ACTIVATION) &&
            mlp_model_parse_activation(o.recipe.activation, &config.activation, &error) != 0)
            cli_fail(CLI_EXIT_USAGE, &error);
        if (mlp_run_config_resume(&config, &resumed, resume_path, given, &error) != 0)
            cli_fail(CLI_EXIT_USAGE, &error);
        o.out = o.resume;
        o.runtime.kernel = config.kernel;
        o.runtime.precision = mlp_precision_name(config.precision); /* the checkpoint's */
        o.data.data_dir = config.data_dir;
        o.data.train_csv = config.train_csv;
        o.data.test_csv = config.test_csv;
        o.data.train_limit = config.train_limit;
    } else if (o.init_model) {
        int status = train_load_init_model(o.init_model, argc, argv, first, o.layers, o.recipe.activation,
                                           &init_model, config.sizes, &config.size_count, &config.activation,
                                           &error);
        if (status != 0) cli_fail(status, &error);
        config.initial_model = &init_model;
        config.initial_model_path = o.init_model;
    } else if (mlp_model_parse_layers(o.layers, config.sizes, &config.size_count, &error) != 0 ||
               mlp_model_parse_activation(o.recipe.activation, &config.activation, &error) != 0 ||
               check_training_fits_memory(o.layers, config.sizes, config.size_count, o.recipe.batch,
                                          o.patience > 0, &error) != 0) {
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    char layers_text[512] = "";
    for (int i = 0; i < config.size_count; i++)
        snprintf(layers_text + strlen(layers_text), sizeof layers_text - strlen(layers_text), i ? ",%d" : "%d",
                 config.sizes[i]);
    if (regular_options_check_layers(&o.regular, &config.recipe, dropout_values, config.size_count - 2, layers_text,
                                     &error) != 0)
        cli_fail(CLI_EXIT_USAGE, &error);
    if (config.checkpoint_every < 0) config.checkpoint_every = o.out ? 1 : 0;
    config.kernels = runtime_setup(&o.runtime, &error); /* may cap the thread count */
    if (!config.kernels) cli_fail(CLI_EXIT_RUNTIME, &error);
    config.threads = o.runtime.threads;
    config.plan = &o.runtime.plan;
    if (o.trap_fp) enable_fp_traps(o.runtime.threads);
    mlp_dataset train_set, test_set;
    if (data_options_load(&o.data, &train_set, &test_set, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    config.train_set = &train_set;
    config.test_set = &test_set;

    /* The folder: --out (the run creates it), or a fresh one under runs/ made here and removed
     * again when the run does not start. Only rank 0 writes. */
    char run_folder[4096];
    int fresh_folder = 0;
    if (!writer || o.out) {
        snprintf(run_folder, sizeof run_folder, "%s", o.out ? o.out : "(rank 0's run folder)");
    } else {
        if (cli_output_folder(NULL, run_folder, sizeof run_folder, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
        fresh_folder = 1;
    }
    config.folder = run_folder;
    mlp_run run;
    int status = mlp_run_open(&run, &config, o.resume ? &resumed : NULL, &error);
    if (status != 0) {
        if (fresh_folder) rmdir(run_folder);
        cli_fail(status == MLP_RUN_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME, &error);
    }
    mlp_model_free(&init_model); /* copied into the run's model */
    if (o.write_order && writer &&
        train_write_order(&run.trainer, config.epochs, o.write_order, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);

    /* The outputs, in the order they appear: the banner, the epoch table, metrics.csv,
     * curves.png after every epoch; the final report and summary.json at the end. */
    mlp_plot_curves_context curves = {.name = run_folder, .title = run_folder};
    mlp_run_observer observers[] = {
        mlp_run_console_observer(), mlp_run_table_observer(), mlp_run_metrics_observer(),
        mlp_plot_curves_observer(&curves), mlp_run_summary_observer(),
    };
    install_stop_handlers();
    mlp_run_status result = mlp_run_execute(&run, observers, (int)(sizeof observers / sizeof observers[0]), &error);
    if (result == MLP_RUN_INTERRUPTED) exit_interrupted(run_folder, &error);
    if (result != MLP_RUN_COMPLETED && result != MLP_RUN_EARLY_STOPPED) cli_fail(CLI_EXIT_RUNTIME, &error);
    printf("saved %s/model.mlp, metrics.csv, summary.json (%.1f s)\n", run_folder, run.seconds);
    const mlp_gradient_sharding *sharding = run.trainer.sharding;
    if (sharding && sharding->steps > 0)
        printf("data-parallel: rank 0 received %.1f KB of gradient shards per step; step %.1f us "
               "(mean) %.1f us (min) %.1f us (min CPU), of which waiting for the gathers %.1f us (mean) "
               "%.1f us (min)\n", sharding->total_received_floats * 4 / 1e3 / sharding->steps,
               1e6 * sharding->total_step_seconds / sharding->steps, 1e6 * sharding->min_step_seconds,
               1e6 * sharding->min_step_cpu_seconds, 1e6 * sharding->total_wait_seconds / sharding->steps,
               1e6 * sharding->min_wait_seconds);

    mlp_run_close(&run);
    mlp_checkpoint_free(&resumed);
    mlp_dataset_free(&train_set);
    mlp_dataset_free(&test_set);
    mlp_distributed_stop();
    if (train_stop_signal) return 128 + train_stop_signal; /* interrupted after the last epoch: outputs are complete */
    return 0;
}
