/* `trainer [train]`: train an MLP on MNIST-style data and save the model, curves and summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "mlp/file_util.h"
#include "mlp/run_output.h"
#include "mlp/train.h"

typedef struct train_command_options {
    data_options data;
    runtime_options runtime;
    const char *layers;
    const char *activation;
    int batch;
    float learning_rate;
    int epochs;
    uint64_t seed;
    float validation_split;
    const char *out;
    int profile;
} train_command_options;

/* A fresh folder under runs/: runs/YYYYmmdd-HHMMSS, with -2, -3, ... if taken. */
static int make_default_run_folder(char *path, size_t size, mlp_error *error) {
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

int command_train(int argc, char **argv, int first) {
    train_command_options o = {
        .layers = "784,128,64,10", .activation = "relu", .batch = 64, .learning_rate = 0.1f,
        .epochs = 10, .seed = 42, .validation_split = 0.2f, .out = NULL,
    };
    data_options_init(&o.data);
    runtime_options_init(&o.runtime);
    cli_option options[DATA_OPTION_COUNT + RUNTIME_OPTION_COUNT + 9] = {0};
    data_options_describe(&o.data, options);
    runtime_options_describe(&o.runtime, options + DATA_OPTION_COUNT);
    cli_option *own = options + DATA_OPTION_COUNT + RUNTIME_OPTION_COUNT;
    own[0] = (cli_option){.name = "--layers", .type = CLI_STRING, .target = &o.layers, .value_name = "SIZES", .help = "layer sizes, input first: 784,H1,...,10"};
    own[1] = (cli_option){.name = "--activation", .type = CLI_CHOICE, .target = &o.activation, .help = "hidden-layer activation", .choices = "relu|sigmoid|tanh"};
    own[2] = (cli_option){.name = "--batch", .type = CLI_INT, .target = &o.batch, .value_name = "N", .help = "mini-batch size", .min = 1, .max = 1 << 20};
    own[3] = (cli_option){.name = "--lr", .type = CLI_FLOAT, .target = &o.learning_rate, .value_name = "RATE", .help = "SGD learning rate", .max = 1e6, .min_exclusive = 1};
    own[4] = (cli_option){.name = "--epochs", .type = CLI_INT, .target = &o.epochs, .value_name = "N", .help = "passes over the training set", .min = 1, .max = 1000000};
    own[5] = (cli_option){.name = "--seed", .type = CLI_U64, .target = &o.seed, .value_name = "N", .help = "seed of the split, the initialisation and the shuffles"};
    own[6] = (cli_option){.name = "--val-split", .type = CLI_FLOAT, .target = &o.validation_split, .value_name = "F", .help = "fraction of the training file held out for validation", .max = 0.99};
    own[7] = (cli_option){.name = "--out", .type = CLI_STRING, .target = &o.out, .value_name = "DIR", .help = "where to write model.mlp, metrics.csv, summary.json "
                          "(default: a fresh folder under runs/)"};
    own[8] = (cli_option){.name = "--profile", .type = CLI_FLAG, .target = &o.profile,
                          .help = "time every layer's kernels; print a table at the end and add it "
                                  "to summary.json"};
    cli_command command = {
        "trainer [train] [options]",
        "Trains a multilayer perceptron (softmax output, cross-entropy cost, He initialisation,\n"
        "mini-batch SGD) on MNIST IDX files or a Kaggle-style CSV. Pixels are scaled to 0..1.\n"
        "A seeded split holds out --val-split of the training file for validation; the test\n"
        "set (t10k-* in --data, or --test-csv) is used only for the final report.",
        options, (int)(sizeof options / sizeof options[0]), NULL};
    cli_parse_or_exit(&command, argc, argv, first);

    mlp_error error;
    int sizes[MLP_MAX_LAYERS + 1], size_count;
    mlp_activation activation;
    if (model_parse_layers(o.layers, sizes, &size_count, &error) != 0 ||
        model_parse_activation(o.activation, &activation, &error) != 0)
        cli_fail(CLI_EXIT_USAGE, &error);
    const kernel_table *kernels = runtime_setup(&o.runtime, &error);
    if (!kernels) cli_fail(CLI_EXIT_RUNTIME, &error);

    mlp_dataset train_set, test_set;
    if (data_options_load(&o.data, &train_set, &test_set, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    const char *source = o.data.train_csv ? o.data.train_csv : o.data.data_dir;
    if (sizes[0] != train_set.features) {
        error_set(&error, "--layers: the input size is %d but %s has %d pixels per image", sizes[0],
                  source, train_set.features);
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    if (sizes[size_count - 1] != MLP_CLASSES) {
        error_set(&error, "--layers: the output size is %d but the data has %d classes",
                  sizes[size_count - 1], MLP_CLASSES);
        cli_fail(CLI_EXIT_USAGE, &error);
    }

    char run_folder[4096];
    if (o.out) {
        snprintf(run_folder, sizeof run_folder, "%s", o.out);
        if (file_make_directories(run_folder, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    } else if (make_default_run_folder(run_folder, sizeof run_folder, &error) != 0) {
        cli_fail(CLI_EXIT_RUNTIME, &error);
    }

    int *train_indices, *validation_indices, train_count, validation_count;
    if (dataset_split(train_set.count, o.validation_split, o.seed, &train_indices, &train_count,
                      &validation_indices, &validation_count, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);

    mlp_model model;
    if (model_create(&model, sizes, size_count, activation, MLP_OUTPUT_SOFTMAX, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    model_init_he(&model, o.seed);

    train_options train = {
        .batch = o.batch, .learning_rate = o.learning_rate, .epochs = o.epochs, .seed = o.seed,
        .threads = o.runtime.threads, .progress = 1,
    };
    trainer t;
    if (trainer_init(&t, &model, kernels, &train_set, train_indices, train_count,
                     validation_indices, validation_count, &train, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    network_profile profile = {0};
    if (o.profile) t.network.profile = &profile;

    printf("training %s (%s) on %d images, validating on %d; kernel %s, %d threads, batch %d, lr %g, seed %llu\n",
           o.layers, o.activation, train_count, validation_count, kernels->name, train.threads,
           train.batch, train.learning_rate, (unsigned long long)train.seed);
    printf("writing to %s/\n", run_folder);
    metrics_print_header();

    char path[4200];
    epoch_metrics *history = calloc((size_t)o.epochs, sizeof *history);
    if (!history) {
        error_set(&error, "out of memory");
        cli_fail(CLI_EXIT_RUNTIME, &error);
    }
    double start = wall_seconds();
    int epochs_done = 0;
    for (int epoch = 1; epoch <= o.epochs; epoch++) {
        trainer_run_epoch(&t, epoch, 0, &history[epoch - 1]);
        epochs_done = epoch;
        metrics_print_epoch(&history[epoch - 1]);
        snprintf(path, sizeof path, "%s/metrics.csv", run_folder);
        if (metrics_csv_write(path, history, epochs_done, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    }

    snprintf(path, sizeof path, "%s/model.mlp", run_folder);
    if (model_save(&model, path, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);

    run_summary summary = {
        .model = &model, .kernel = kernels->name, .threads = train.threads, .batch = train.batch,
        .learning_rate = train.learning_rate, .seed = train.seed, .epochs = epochs_done,
        .samples_per_second = metrics_median_samples_per_second(history, epochs_done),
        .validation = history[epochs_done - 1].validation,
        .has_test = test_set.count > 0,
    };
    if (summary.has_test) {
        evaluate(&t.network, &test_set, NULL, test_set.count, &summary.test);
        printf("test: accuracy %.2f%%, cost %.4f, confidence %.4f (predicted) %.4f (true), %d images\n",
               100.0 * summary.test.accuracy, summary.test.cost, summary.test.confidence_predicted,
               summary.test.confidence_true, summary.test.count);
    }
    summary.seconds = wall_seconds() - start;
    if (o.profile) {
        profile_print(&profile, &model, kernels->name, stdout);
        summary.profile = &profile;
    }
    snprintf(path, sizeof path, "%s/summary.json", run_folder);
    if (summary_json_write(path, &summary, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    printf("saved %s/model.mlp, metrics.csv, summary.json (%.1f s)\n", run_folder, summary.seconds);

    free(history);
    trainer_free(&t);
    model_free(&model);
    free(train_indices);
    free(validation_indices);
    dataset_free(&train_set);
    dataset_free(&test_set);
    return 0;
}
