/* `trainer weights --model model.mlp`: the first-layer weights of a trained network, one 28×28
 * heatmap per hidden unit (the pattern each unit responds to). */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "experiment_cli.h"
#include "mlp/model.h"
#include "mlp/plot.h"

int command_weights(int argc, char **argv, int first) {
    const char *model_path = NULL, *out = NULL;
    int max_units = 16;
    cli_option options[] = {
        {.name = "--model", .type = CLI_STRING, .target = &model_path, .value_name = "FILE", .help = "a model saved by trainer (model.mlp)"},
        {.name = "--max", .type = CLI_INT, .target = &max_units, .value_name = "N", .help = "draw at most the first N hidden units", .min = 1, .max = 1024},
        {.name = "--out", .type = CLI_STRING, .target = &out, .value_name = "DIR", .help = "where to write weights.png (default: a fresh folder under runs/)"},
    };
    cli_command command = {
        "trainer weights --model FILE [--max N] [--out DIR]",
        "Draws the first-layer weights of a trained network as a grid of heatmaps, one per\n"
        "hidden unit (viridis, shared scale symmetric around zero: blue negative, yellow positive).",
        options, (int)(sizeof options / sizeof options[0]), NULL};
    cli_parse_or_exit(&command, argc, argv, first);
    mlp_error error;
    if (!model_path) {
        mlp_error_set(&error, "weights: --model FILE is required");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    mlp_model model;
    if (mlp_model_load(&model, model_path, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    char folder[4096], path[4200], title[256];
    if (cli_output_folder(out, folder, sizeof folder, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    int inputs = model.sizes[0], units = model.sizes[1];
    int count = units < max_units ? units : max_units, rows, cols;
    experiment_image_shape(inputs, &rows, &cols);
    snprintf(path, sizeof path, "%s/weights.png", folder);
    snprintf(title, sizeof title, "first-layer weights of %s: %d of %d units", model_path, count, units);
    /* W_0 is [inputs × units]: unit u's weight for pixel p is W[p * units + u]. */
    if (mlp_plot_heatmap_grid(path, mlp_model_weights(&model, 0), count, 1, rows, cols, units, title, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    printf("saved %s (%d units)\n", path, count);
    mlp_model_free(&model);
    return 0;
}
