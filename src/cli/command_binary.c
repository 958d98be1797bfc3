/* `trainer binary --digit 3 --method normal|lbfgs|gd|neuron`: the study's "is this a 3?" models,
 * fitted on the training split, scored on the validation split, weights saved and drawn. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "experiment_cli.h"
#include "mlp/binary.h"
#include "core/file_util.h"
#include "mlp/plot.h"

typedef struct binary_command_options {
    data_options data;
    runtime_options runtime;
    int digit;
    const char *method;
    float l2, noise, learning_rate, threshold, validation_split;
    int iterations;
    uint64_t seed;
    const char *out;
} binary_command_options;

/* Text built in memory, then written atomically. */
typedef struct text_file {
    char *text;
    size_t length;
    FILE *stream;
} text_file;

static int text_file_open(text_file *file) {
    file->text = NULL;
    file->length = 0;
    file->stream = open_memstream(&file->text, &file->length);
    return file->stream ? 0 : -1;
}

static int text_file_write(text_file *file, const char *path, mlp_error *error) {
    fclose(file->stream);
    int status = mlp_file_write_atomic(path, file->text, file->length, error);
    free(file->text);
    return status;
}

/* weights.csv: one parameter per line, w0 .. w{features-1} then b. */
static int write_weights(const char *folder, const mlp_binary_model *model, mlp_error *error) {
    char path[4200];
    snprintf(path, sizeof path, "%s/weights.csv", folder);
    text_file file;
    if (text_file_open(&file) != 0) return mlp_error_set(error, "%s: out of memory", path);
    fprintf(file.stream, "parameter,value\n");
    for (int p = 0; p < model->features; p++) fprintf(file.stream, "w%d,%.9g\n", p, model->parameters[p]);
    fprintf(file.stream, "b,%.9g\n", model->parameters[model->features]);
    return text_file_write(&file, path, error);
}

/* cost.csv: the cost before each iteration (gd, neuron, lbfgs). */
static int write_cost_history(const char *folder, const mlp_binary_model *model, mlp_error *error) {
    if (model->history_count == 0) return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/cost.csv", folder);
    text_file file;
    if (text_file_open(&file) != 0) return mlp_error_set(error, "%s: out of memory", path);
    fprintf(file.stream, "iteration,cost\n");
    for (int t = 0; t < model->history_count; t++) fprintf(file.stream, "%d,%.9g\n", t, model->cost_history[t]);
    return text_file_write(&file, path, error);
}

static int write_summary(const char *folder, const binary_command_options *o,
                         const mlp_binary_model *model, const mlp_binary_scores *s, int train_count,
                         int validation_count, double seconds, mlp_error *error) {
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.json", folder);
    text_file file;
    if (text_file_open(&file) != 0) return mlp_error_set(error, "%s: out of memory", path);
    fprintf(file.stream,
            "{\n  \"digit\": %d,\n  \"method\": \"%s\",\n  \"train_count\": %d,\n"
            "  \"validation_count\": %d,\n  \"threshold\": %g,\n  \"accuracy\": %.6f,\n"
            "  \"precision\": %.6f,\n  \"recall\": %.6f,\n  \"f1\": %.6f,\n"
            "  \"true_positive\": %ld,\n  \"false_positive\": %ld,\n  \"true_negative\": %ld,\n"
            "  \"false_negative\": %ld,\n  \"final_cost\": %.6f,\n  \"iterations\": %d,\n",
            o->digit, o->method, train_count, validation_count, o->threshold, s->accuracy,
            s->precision, s->recall, s->f1, s->true_positive, s->false_positive,
            s->true_negative, s->false_negative, model->final_cost, model->history_count);
    if (model->method == MLP_BINARY_NORMAL)
        fprintf(file.stream, "  \"residual\": %.3g,\n  \"l2\": %g,\n  \"noise\": %g,\n",
                model->residual, o->l2, o->noise);
    else
        fprintf(file.stream, "  \"learning_rate\": %g,\n  \"l2\": %g,\n", o->learning_rate, o->l2);
    fprintf(file.stream, "  \"seconds\": %.3f\n}\n", seconds);
    return text_file_write(&file, path, error);
}

int command_binary(int argc, char **argv, int first) {
    binary_command_options o = {
        .digit = 3, .method = "gd", .l2 = 0.0f, .noise = 0.0f, .learning_rate = 0.01f,
        .threshold = 0.5f, .validation_split = 0.2f, .iterations = 0, .seed = 42, .out = NULL,
    };
    data_options_init(&o.data);
    runtime_options_init(&o.runtime);
    cli_option_table table = {0};
    data_options_describe(&o.data, cli_options_reserve(&table, DATA_OPTION_COUNT));
    runtime_options_describe(&o.runtime, cli_options_reserve(&table, RUNTIME_OPTION_COUNT));
    cli_options_add(&table, (cli_option){.name = "--digit", .type = CLI_INT, .target = &o.digit, .value_name = "D", .help = "the class to recognise (target 1 when the label is D)", .min = 0, .max = MLP_CLASSES - 1});
    cli_options_add(&table, (cli_option){.name = "--method", .type = CLI_CHOICE, .target = &o.method, .help = "normal equations, L-BFGS, gradient descent, or the 784,1 network", .choices = "normal|lbfgs|gd|neuron"});
    cli_options_add(&table, (cli_option){.name = "--l2", .type = CLI_FLOAT, .target = &o.l2, .value_name = "LAMBDA", .help = "normal: ridge term λI; lbfgs: penalty λ/2 |w|²", .max = 1e9});
    cli_options_add(&table, (cli_option){.name = "--noise", .type = CLI_FLOAT, .target = &o.noise, .value_name = "SIGMA", .help = "normal: add seeded Gaussian noise N(0, σ²) to every pixel of X", .max = 1e3});
    cli_options_add(&table, (cli_option){.name = "--lr", .type = CLI_FLOAT, .target = &o.learning_rate, .value_name = "RATE", .help = "gd, neuron: learning rate", .max = 1e6, .min_exclusive = 1});
    cli_options_add(&table, (cli_option){.name = "--iterations", .type = CLI_INT, .target = &o.iterations, .value_name = "N", .help = "gd, neuron: full-batch steps; lbfgs: the most iterations (0: 1000 for gd and neuron, 200 for lbfgs)", .max = 10000000});
    cli_options_add(&table, (cli_option){.name = "--threshold", .type = CLI_FLOAT, .target = &o.threshold, .value_name = "T", .help = "predict the digit when the probability (normal: the fitted value) is at least T", .min = -1e9, .max = 1e9});
    cli_options_add(&table, (cli_option){.name = "--seed", .type = CLI_U64, .target = &o.seed, .value_name = "N", .help = "seed of the split and of the noise"});
    cli_options_add(&table, (cli_option){.name = "--val-split", .type = CLI_FLOAT, .target = &o.validation_split, .value_name = "F", .help = "fraction of the training file held out for validation", .max = 0.99});
    cli_options_add(&table, (cli_option){.name = "--out", .type = CLI_STRING, .target = &o.out, .value_name = "DIR", .help = "where to write weights.csv, weights.png, cost.csv, summary.json (default: a fresh folder under runs/)"});
    cli_command command = {
        "trainer binary [--digit D] [--method normal|lbfgs|gd|neuron] [options]",
        "The study's binary models: is this image the digit D? One linear score z = x·w + b on\n"
        "the pixels scaled to 0..1, fitted by linear regression (normal equations, Cholesky),\n"
        "or as a logistic regression σ(z) with binary cross-entropy by L-BFGS, by gradient\n"
        "descent from zero, or as a 784,1 network through the trainer's own layers (the same\n"
        "model as gd: they end with the same weights). Reports accuracy, precision, recall and\n"
        "F1 on the validation split and draws the weights as a heatmap.",
        table.options, table.count, NULL};
    cli_parse_or_exit(&command, argc, argv, first);

    mlp_error error;
    mlp_binary_method method;
    if (mlp_binary_parse_method(o.method, &method, &error) != 0) cli_fail(CLI_EXIT_USAGE, &error);
    if (o.iterations == 0) o.iterations = method == MLP_BINARY_LBFGS ? 200 : 1000;
    const mlp_kernel_table *kernels = runtime_setup(&o.runtime, &error);
    if (!kernels) cli_fail(CLI_EXIT_RUNTIME, &error);
    mlp_dataset train_set, test_set;
    if (data_options_load(&o.data, &train_set, &test_set, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    char folder[4096];
    if (cli_output_folder(o.out, folder, sizeof folder, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    int *train_indices, *validation_indices, train_count, validation_count;
    if (mlp_dataset_split(train_set.count, o.validation_split, o.seed, &train_indices, &train_count,
                      &validation_indices, &validation_count, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    if (validation_count < 1) {
        mlp_error_set(&error, "--val-split: no validation images to score the model on");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    mlp_binary_problem training, validation;
    if (mlp_binary_problem_create(&training, &train_set, train_indices, train_count, o.digit, kernels,
                              o.runtime.threads, &error) != 0 ||
        mlp_binary_problem_create(&validation, &train_set, validation_indices, validation_count,
                              o.digit, kernels, o.runtime.threads, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);

    printf("is it a %d? method %s on %d images, validating on %d; kernel %s, %d threads\n", o.digit,
           o.method, train_count, validation_count, kernels->name, o.runtime.threads);
    mlp_binary_options fit = {
        .learning_rate = o.learning_rate, .iterations = o.iterations, .l2 = o.l2,
        .noise = o.noise, .seed = o.seed,
    };
    mlp_binary_model model;
    double start = mlp_wall_seconds();
    if (mlp_binary_fit(method, &training, &fit, &model, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    double seconds = mlp_wall_seconds() - start;
    mlp_binary_scores scores;
    mlp_binary_evaluate(&model, &validation, o.threshold, &scores);

    if (method == MLP_BINARY_NORMAL)
        printf("normal equations (λ = %g, noise σ = %g): residual ‖(XᵀX+λI)β − Xᵀy‖/‖Xᵀy‖ = %.3g, "
               "training mean squared error %.5f\n", o.l2, o.noise, model.residual, model.final_cost);
    else
        printf("%d iterations%s%s: training cost (mean binary cross-entropy) %.5f\n",
               model.history_count, model.status ? ", " : "", model.status ? model.status : "",
               model.final_cost);
    printf("validation at threshold %g: accuracy %.2f%%, precision %.4f, recall %.4f, F1 %.4f "
           "(%.2f s)\n", o.threshold, 100.0 * scores.accuracy, scores.precision, scores.recall,
           scores.f1, seconds);

    if (write_weights(folder, &model, &error) != 0 || write_cost_history(folder, &model, &error) != 0 ||
        write_summary(folder, &o, &model, &scores, train_count, validation_count, seconds, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    char path[4200], title[128];
    snprintf(path, sizeof path, "%s/weights.png", folder);
    snprintf(title, sizeof title, "is it a %d? weights of %s (blue negative, yellow positive)",
             o.digit, o.method);
    int rows, cols;
    experiment_image_shape(train_set.features, &rows, &cols);
    if (train_set.rows * train_set.cols == train_set.features) rows = train_set.rows, cols = train_set.cols;
    int drawn = mlp_plot_heatmap(path, model.parameters, rows, cols, 1, title, &error) == 0;
    if (!drawn) fprintf(stderr, "trainer: warning: no weights.png: %s\n", error.message);
    printf("saved %s/weights.csv, %s%ssummary.json\n", folder, drawn ? "weights.png, " : "",
           model.history_count ? "cost.csv, " : "");

    mlp_binary_model_free(&model);
    mlp_binary_problem_free(&training);
    mlp_binary_problem_free(&validation);
    free(train_indices);
    free(validation_indices);
    mlp_dataset_free(&train_set);
    mlp_dataset_free(&test_set);
    return 0;
}
