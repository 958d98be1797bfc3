/* `trainer augment --out grid.png`: what --augment does to training images, as a figure: a row
 * per example, the original on the left, then its transforms in epochs 1, 2, ... */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "mlp/augment.h"

#define AUGMENT_DEFAULT_SPEC "shift=2,rotate=10,scale=0.1,elastic=34:4"

int command_augment(int argc, char **argv, int first) {
    data_options data;
    data_options_init(&data);
    const char *out = NULL, *spec = AUGMENT_DEFAULT_SPEC;
    int count = 8, columns = 7, zoom = 4;
    uint64_t seed = 42;
    cli_option options[] = {
        {.name = "--out", .type = CLI_STRING, .target = &out, .value_name = "FILE", .help = "the PNG to write (required)"},
        {.name = "--augment", .type = CLI_STRING, .target = &spec, .value_name = "SPEC",
         .help = "the transforms, as for trainer --augment: shift=PIXELS,rotate=DEGREES,scale=FRACTION,elastic=ALPHA:SIGMA"},
        {.name = "--data", .type = CLI_STRING, .target = &data.data_dir, .value_name = "DIR",
         .help = "folder with train-images-idx3-ubyte and train-labels-idx1-ubyte (each optionally .gz)"},
        {.name = "--train-csv", .type = CLI_STRING, .target = &data.train_csv, .value_name = "FILE",
         .help = "Kaggle-style CSV instead of --data"},
        {.name = "--count", .type = CLI_INT, .target = &count, .value_name = "N", .help = "examples (the first N), one per row", .min = 1, .max = 256},
        {.name = "--columns", .type = CLI_INT, .target = &columns, .value_name = "K", .help = "transforms per example (epochs 1..K)", .min = 1, .max = 64},
        {.name = "--zoom", .type = CLI_INT, .target = &zoom, .value_name = "Z", .help = "screen pixels per image pixel", .min = 1, .max = 16},
        {.name = "--seed", .type = CLI_U64, .target = &seed, .value_name = "S", .help = "the training seed whose transforms to show"},
    };
    cli_command command = {
        "trainer augment --out FILE [--augment SPEC] [--data DIR] [--count N] [--seed S]",
        "Draws training images and their on-the-fly augmentations as a grey PNG grid: one row per\n"
        "example, the original on the left, then the transforms a training run with this seed\n"
        "would use in epochs 1..K (the same bytes the trainer feeds the network).",
        options, (int)(sizeof options / sizeof options[0]), NULL};
    cli_parse_or_exit(&command, argc, argv, first);
    mlp_error error;
    if (!out) {
        mlp_error_set(&error, "augment: --out FILE is required");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    mlp_augment_options augment;
    if (mlp_augment_parse(spec, &augment, &error) != 0) cli_fail(CLI_EXIT_USAGE, &error);
    mlp_dataset train;
    if (data.train_csv ? mlp_dataset_load_csv(data.train_csv, &train, &error) != 0
                       : mlp_dataset_load_idx_folder(data.data_dir, "train", &train, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    if (mlp_augment_check_images(train.rows, train.cols, data.train_csv ? data.train_csv : data.data_dir, &error) != 0) {
        mlp_dataset_free(&train);
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    if (count > train.count) count = train.count;
    mlp_augment_plan plan;
    if (mlp_augment_plan_create(&plan, &augment, seed, train.rows, train.cols, &error) != 0 ||
        mlp_augment_grid_png(out, &plan, &train, count, columns, zoom, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    int width, height;
    mlp_augment_grid_size(&plan, count, columns, zoom, &width, &height);
    char text[256];
    mlp_augment_format(&augment, text, sizeof text);
    printf("saved %s (%d x %d): %d examples, %d transforms each (%s, seed %llu)\n", out, width, height, count,
           columns, text, (unsigned long long)seed);
    mlp_augment_plan_free(&plan);
    mlp_dataset_free(&train);
    return 0;
}
