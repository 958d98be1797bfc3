/* `trainer eval` and `trainer predict`: use a saved model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "interop_hooks.h"
#include "mlp/image.h"
#include "mlp/train.h"

/* Loads --model and checks it against the data's image size. */
static void load_model_or_exit(const char *path, mlp_model *model) {
    mlp_error error;
    if (!path) {
        mlp_error_set(&error, "--model FILE is required");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    if (mlp_model_load(model, path, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
}

static void print_confusion(const mlp_evaluation *e) {
    printf("confusion matrix (rows: true class, columns: predicted):\n      ");
    for (int j = 0; j < MLP_CLASSES; j++) printf("%6d", j);
    printf("\n");
    for (int i = 0; i < MLP_CLASSES; i++) {
        printf("%6d", i);
        for (int j = 0; j < MLP_CLASSES; j++) printf("%6ld", e->confusion[i][j]);
        printf("\n");
    }
}

int command_eval(int argc, char **argv, int first) {
    data_options data;
    runtime_options runtime;
    const char *model_path = NULL, *probabilities_path = NULL;
    data_options_init(&data);
    runtime_options_init(&runtime);
    /* eval reads only a test set: --data (its t10k files) or --test-csv. */
    cli_option data_choices[DATA_OPTION_COUNT];
    data_options_describe(&data, data_choices);
    cli_option_table table = {0};
    for (int i = 0; i < DATA_OPTION_COUNT; i++)
        if (strcmp(data_choices[i].name, "--data") == 0 || strcmp(data_choices[i].name, "--test-csv") == 0)
            cli_options_add(&table, data_choices[i]);
    runtime_options_describe(&runtime, cli_options_reserve(&table, RUNTIME_OPTION_COUNT));
    cli_options_add(&table, runtime_precision_option(&runtime));
    cli_options_add(&table,
        (cli_option){.name = "--model", .type = CLI_STRING, .target = &model_path, .value_name = "FILE", .help = "the model to evaluate (model.mlp)"});
    cli_options_add(&table,
        (cli_option){.name = "--write-probabilities", .type = CLI_STRING, .target = &probabilities_path, .value_name = "FILE",
                     .help = "also write every test image's probabilities: images x classes float32, little-endian, no header"});
    cli_command command = {"trainer eval --model FILE [data options]",
                           "Evaluates a saved model on the test set (t10k-* in --data, or --test-csv):\n"
                           "accuracy, cost, mean confidence and the 10x10 confusion matrix.",
                           table.options, table.count, NULL};
    cli_parse_or_exit(&command, argc, argv, first);

    mlp_error error;
    mlp_model model;
    load_model_or_exit(model_path, &model);
    const mlp_kernel_table *kernels = runtime_setup(&runtime, &error);
    if (!kernels) cli_fail(CLI_EXIT_RUNTIME, &error);
    mlp_dataset test;
    if (data_options_load_test(&data, &test, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    if (test.features != model.sizes[0] || model.sizes[model.layer_count] != MLP_CLASSES) {
        mlp_error_set(&error, "%s: the model takes %d inputs and gives %d classes, the data has %d pixels and %d classes",
                  model_path, model.sizes[0], model.sizes[model.layer_count], test.features, MLP_CLASSES);
        cli_fail(CLI_EXIT_RUNTIME, &error);
    }
    mlp_network network;
    if (mlp_network_create(&network, &model, kernels, 256, runtime.threads, &error) != 0 ||
        mlp_network_set_precision(&network, runtime_precision(&runtime), &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    mlp_plan_apply(&runtime.plan, &network);
    mlp_evaluation result;
    mlp_evaluate(&network, &test, NULL, test.count, &result);
    if (network.precision != MLP_PRECISION_FP32) printf("precision %s (kernel %s)\n", runtime.precision, kernels->name);
    printf("%d images: accuracy %.2f%%, cost %.4f, confidence %.4f (predicted class) %.4f (true class)\n",
           result.count, 100.0 * result.accuracy, result.cost, result.confidence_predicted,
           result.confidence_true);
    print_confusion(&result);
    if (probabilities_path && eval_write_probabilities(&network, &test, probabilities_path, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    mlp_network_free(&network);
    mlp_model_free(&model);
    mlp_dataset_free(&test);
    return 0;
}

int command_predict(int argc, char **argv, int first) {
    runtime_options runtime;
    const char *model_path = NULL;
    int invert = 0;
    cli_string_list images = {0};
    runtime_options_init(&runtime);
    cli_option_table table = {0};
    runtime_options_describe(&runtime, cli_options_reserve(&table, RUNTIME_OPTION_COUNT));
    cli_options_add(&table,
        (cli_option){.name = "--model", .type = CLI_STRING, .target = &model_path, .value_name = "FILE", .help = "the model (model.mlp)"});
    cli_options_add(&table,
        (cli_option){.name = "--invert", .type = CLI_FLAG, .target = &invert, .help = "invert grey levels first: MNIST digits are white on black, so pass "
                     "--invert for dark ink on a light background"});
    cli_command command = {"trainer predict --model FILE [--invert] IMAGE.png...",
                           "Predicts the class of each PNG (any size or colour type; converted to grey\n"
                           "and resampled to 28x28). MNIST digits are white on black: use --invert for\n"
                           "black-on-white pictures.",
                           table.options, table.count, &images};
    cli_parse_or_exit(&command, argc, argv, first);

    mlp_error error;
    if (images.count == 0) {
        mlp_error_set(&error, "no PNG files given (see --help)");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    mlp_model model;
    load_model_or_exit(model_path, &model);
    int side = (int)lround(sqrt((double)model.sizes[0]));
    if (side * side != model.sizes[0] || model.output != MLP_OUTPUT_SOFTMAX) {
        mlp_error_set(&error, "%s: the model's input (%d) is not a square image", model_path, model.sizes[0]);
        cli_fail(CLI_EXIT_RUNTIME, &error);
    }
    const mlp_kernel_table *kernels = runtime_setup(&runtime, &error);
    if (!kernels) cli_fail(CLI_EXIT_RUNTIME, &error);
    mlp_network network;
    if (mlp_network_create(&network, &model, kernels, 1, 1, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    mlp_plan_apply(&runtime.plan, &network);
    int failures = 0, classes = model.sizes[model.layer_count];
    for (int i = 0; i < images.count; i++) {
        if (mlp_image_load_png_for_input(images.values[i], side, side, invert, network.input_pixels,
                                     &error) != 0) {
            fprintf(stderr, "trainer: error: %s\n", error.message);
            failures++;
            continue;
        }
        network.input_targets[0] = 0;
        mlp_network_forward(&network, network.input_pixels, 1);
        mlp_network_loss(&network, network.input_targets, 1, 0);
        const float *p = network.activations[model.layer_count];
        int best = 0;
        for (int j = 1; j < classes; j++)
            if (p[j] > p[best]) best = j;
        printf("%s: %d (confidence %.4f)\n", images.values[i], best, p[best]);
    }
    mlp_network_free(&network);
    mlp_model_free(&model);
    return failures ? CLI_EXIT_RUNTIME : 0;
}
