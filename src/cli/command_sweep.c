/* `trainer sweep --layers A --layers B ...`: train several shapes on the same split with the same
 * seed, learning rate, batch and epochs; one figure and one table per comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "experiment_cli.h"
#include "mlp/plot.h"
#include "mlp/sweep.h"
#include "regular_options.h"
#include "train_safeguards.h"

typedef struct sweep_command_options {
    data_options data;
    runtime_options runtime;
    cli_string_list layers;
    recipe_options recipe;
    const char *out;
    int patience;
    int checkpoint_every;
    regular_options regular; /* --dropout, --augment */
} sweep_command_options;

/* One comparison: its configurations, and the name of its table and figure. */
typedef struct comparison {
    const char *name;
    const char *layers[CLI_MAX_LIST];
    int count;
} comparison;

/* The study's two comparisons: the order of two hidden widths, then tiny against huge. */
static const comparison study_comparisons[] = {
    {"sweep-1", {"784,16,32,10", "784,32,16,10"}, 2},
    {"sweep-2", {"784,6,4,10", "784,600,400,10"}, 2},
};

/* Trains every configuration of a comparison into folder/<layers>/, then writes
 * folder/<name>.csv and folder/<name>.png and prints the table. */
static int run_comparison(const mlp_sweep_setup *setup, const comparison *c, const char *folder,
                          mlp_error *error) {
    mlp_sweep_row rows[CLI_MAX_LIST];
    mlp_epoch_metrics *histories[CLI_MAX_LIST] = {0};
    mlp_plot_run runs[CLI_MAX_LIST];
    int status = 0, done = 0;
    for (int i = 0; i < c->count && status == 0; i++) {
        char name[300], run_folder[4400];
        mlp_sweep_folder_name(c->layers[i], name, sizeof name);
        snprintf(run_folder, sizeof run_folder, "%s/%s", folder, name);
        int epochs;
        mlp_run_status result;
        status = mlp_sweep_train_configuration(setup, c->layers[i], run_folder, &histories[i], &epochs, &result, error);
        if (result == MLP_RUN_INTERRUPTED) exit_interrupted(run_folder, error);
        if (status != 0) break;
        mlp_sweep_row_from_history(c->layers[i], histories[i], epochs, &rows[i]);
        runs[i] = (mlp_plot_run){c->layers[i], histories[i], epochs};
        done++;
    }
    char path[4400];
    if (status == 0) {
        mlp_sweep_table_print(stdout, rows, done);
        snprintf(path, sizeof path, "%s/%s.csv", folder, c->name);
        status = mlp_sweep_table_write(path, rows, done, error);
    }
    if (status == 0) {
        char title[256];
        snprintf(title, sizeof title, "training and validation cost: lr %g, batch %d, seed %llu",
                 setup->run.learning_rate, setup->run.batch, (unsigned long long)setup->run.seed);
        snprintf(path, sizeof path, "%s/%s.png", folder, c->name);
        mlp_error plot_error;
        if (mlp_plot_cost_panels(path, runs, done, title, &plot_error) != 0)
            fprintf(stderr, "trainer: warning: no %s.png: %s\n", c->name, plot_error.message);
        printf("saved %s/%s.csv and %s.png\n", folder, c->name, c->name);
    }
    for (int i = 0; i < c->count; i++) free(histories[i]);
    return status;
}

int command_sweep(int argc, char **argv, int first) {
    sweep_command_options o = {.out = NULL, .checkpoint_every = 1};
    data_options_init(&o.data);
    runtime_options_init(&o.runtime);
    recipe_options_init(&o.recipe);
    cli_option_table table = {0};
    data_options_describe(&o.data, cli_options_reserve(&table, DATA_OPTION_COUNT));
    runtime_options_describe(&o.runtime, cli_options_reserve(&table, RUNTIME_OPTION_COUNT));
    cli_options_add(&table, runtime_precision_option(&o.runtime));
    cli_options_add(&table, (cli_option){.name = "--layers", .type = CLI_STRING_LIST, .target = &o.layers, .value_name = "SIZES",
                                         .help = "a configuration, e.g. 784,16,32,10; repeat for each (none: the study's two comparisons)"});
    recipe_options_describe(&o.recipe, cli_options_reserve(&table, RECIPE_OPTION_COUNT));
    regular_options_describe(&o.regular, cli_options_reserve(&table, REGULAR_OPTION_COUNT));
    cli_options_add(&table, (cli_option){.name = "--out", .type = CLI_STRING, .target = &o.out, .value_name = "DIR",
                                         .help = "where to write the runs, the tables and the figures (default: a fresh folder under runs/)"});
    cli_options_add(&table, (cli_option){.name = "--patience", .type = CLI_INT, .target = &o.patience, .value_name = "N",
                                         .help = "stop a configuration when its validation cost has not improved for N epochs and "
                                                 "keep its best epoch's model (0: off)", .max = 1000000});
    cli_options_add(&table, (cli_option){.name = "--checkpoint-every", .type = CLI_INT, .target = &o.checkpoint_every,
                                         .value_name = "N", .help = "write DIR/<sizes>/" MLP_CHECKPOINT_FILE_NAME " every N epochs "
                                                                    "(0: only when interrupted); trainer --resume DIR/<sizes> continues one",
                                         .max = 1000000});
    cli_command command = {
        "trainer sweep [--layers SIZES]... [options]",
        "Trains each configuration with the same data split, seed, learning rate, batch and\n"
        "epochs, each into DIR/<sizes>/ (metrics.csv, curves.png, model.mlp), then writes a\n"
        "table (final and minimum validation cost, the epoch of the minimum, final validation\n"
        "accuracy, seconds) as DIR/sweep.csv and a figure with a panel per configuration as\n"
        "DIR/sweep.png. Without --layers, the study's two comparisons: 784,16,32,10 against\n"
        "784,32,16,10 (sweep-1.*), and 784,6,4,10 against 784,600,400,10 (sweep-2.*).\n"
        "SIGINT/SIGTERM finish the batch, write the configuration's checkpoint and exit 130/143.",
        table.options, table.count, NULL};
    cli_parse_or_exit(&command, argc, argv, first);

    mlp_error error;
    /* A sweep keeps its validation split (it compares validation costs) and its --layers list. */
    static const char *const sweep_keeps[] = {"--val-split", NULL};
    if (recipe_options_apply_preset(&o.recipe, &command, argc, argv, first, sweep_keeps, &error) != 0)
        cli_fail(CLI_EXIT_USAGE, &error);
    mlp_activation activation;
    if (mlp_model_parse_activation(o.recipe.activation, &activation, &error) != 0) cli_fail(CLI_EXIT_USAGE, &error);
    if (o.recipe.validation_split <= 0) {
        mlp_error_set(&error, "--val-split: a sweep compares validation costs, so it must be above 0");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    int sizes[MLP_MAX_LAYERS + 1], size_count, dropout_values;
    mlp_recipe regular_recipe;
    if (regular_options_parse(&o.regular, &regular_recipe, &dropout_values, &error) != 0)
        cli_fail(CLI_EXIT_USAGE, &error);
    for (int i = 0; i < o.layers.count; i++)
        if (mlp_model_parse_layers(o.layers.values[i], sizes, &size_count, &error) != 0 ||
            regular_options_check_layers(&o.regular, &regular_recipe, dropout_values, size_count - 2,
                                         o.layers.values[i], &error) != 0)
            cli_fail(CLI_EXIT_USAGE, &error);
    if (o.layers.count == 0 && /* the study's comparisons have two hidden layers each */
        regular_options_check_layers(&o.regular, &regular_recipe, dropout_values, 2, "each of the study's networks",
                                     &error) != 0)
        cli_fail(CLI_EXIT_USAGE, &error);
    const mlp_kernel_table *kernels = runtime_setup(&o.runtime, &error);
    if (!kernels) cli_fail(CLI_EXIT_RUNTIME, &error);
    mlp_dataset train_set, test_set;
    if (data_options_load(&o.data, &train_set, &test_set, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    char folder[4096];
    if (cli_output_folder(o.out, folder, sizeof folder, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    /* The split's sizes for the banner (each run makes the same split from the seed). */
    int *train_indices, *validation_indices, train_count, validation_count;
    if (mlp_dataset_split(train_set.count, o.recipe.validation_split, o.recipe.seed, &train_indices, &train_count,
                      &validation_indices, &validation_count, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);

    /* Every configuration runs this recipe on the same data (and so the same split). */
    mlp_sweep_setup setup;
    mlp_run_config *run = &setup.run;
    mlp_run_config_init(run);
    run->activation = activation;
    run->batch = o.recipe.batch;
    run->learning_rate = o.recipe.learning_rate;
    run->epochs = o.recipe.epochs;
    run->seed = o.recipe.seed;
    run->validation_split = o.recipe.validation_split;
    if (recipe_options_to_recipe(&o.recipe, &run->recipe, &error) != 0) cli_fail(CLI_EXIT_USAGE, &error);
    run->patience = o.patience;
    run->recipe.dropout = regular_recipe.dropout;
    run->recipe.augment = regular_recipe.augment;
    run->checkpoint_every = o.checkpoint_every;
    run->threads = o.runtime.threads;
    run->kernel = o.runtime.kernel;
    run->kernels = kernels;
    run->precision = runtime_precision(&o.runtime);
    run->plan = &o.runtime.plan;
    run->progress = 1;
    run->train_set = &train_set;
    run->data_dir = o.data.data_dir;
    run->train_csv = o.data.train_csv;
    run->test_csv = o.data.test_csv;
    run->train_limit = o.data.train_limit;
    run->stop_requested = &train_stop_signal;
    install_stop_handlers();
    printf("sweep: %d training images, %d validation; lr %g, batch %d, %d epochs, seed %llu; "
           "kernel %s, precision %s, %d threads; writing to %s/\n", train_count, validation_count,
           o.recipe.learning_rate, o.recipe.batch, o.recipe.epochs, (unsigned long long)o.recipe.seed, kernels->name,
           o.runtime.precision, o.runtime.threads, folder);
    if (o.regular.dropout || o.regular.augment)
        printf("sweep: every configuration with --dropout %s --augment %s\n", o.regular.dropout ? o.regular.dropout : "off",
               o.regular.augment ? o.regular.augment : "off");
    int status = 0;
    if (o.layers.count > 0) {
        comparison given = {"sweep", {0}, o.layers.count};
        for (int i = 0; i < o.layers.count; i++) given.layers[i] = o.layers.values[i];
        status = run_comparison(&setup, &given, folder, &error);
    } else {
        for (size_t i = 0; i < sizeof study_comparisons / sizeof study_comparisons[0] && status == 0; i++)
            status = run_comparison(&setup, &study_comparisons[i], folder, &error);
    }
    if (status != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    free(train_indices);
    free(validation_indices);
    mlp_dataset_free(&train_set);
    mlp_dataset_free(&test_set);
    return 0;
}
