/* `trainer plot DIR...`: the learning curves of saved runs, from their metrics.csv. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "mlp/plot.h"
#include "mlp/run_output.h"

int command_plot(int argc, char **argv, int first) {
    cli_string_list folders = {0};
    const char *out = NULL, *title = NULL;
    cli_option options[] = {
        {.name = "--out", .type = CLI_STRING, .target = &out, .value_name = "FILE", .help = "the PNG to write (default: DIR/curves.png for one run, curves.png here for several)"},
        {.name = "--title", .type = CLI_STRING, .target = &title, .value_name = "TEXT", .help = "a title above the panels"},
    };
    cli_command command = {
        "trainer plot DIR... [--out FILE]",
        "Draws the training and validation cost and the validation accuracy per epoch of one or\n"
        "several training runs, read from each DIR/metrics.csv.",
        options, (int)(sizeof options / sizeof options[0]), &folders};
    cli_parse_or_exit(&command, argc, argv, first);
    mlp_error error;
    if (folders.count == 0) {
        mlp_error_set(&error, "plot: name at least one run folder (see --help)");
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    mlp_plot_run runs[CLI_MAX_LIST];
    mlp_epoch_metrics *histories[CLI_MAX_LIST];
    for (int i = 0; i < folders.count; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/metrics.csv", folders.values[i]);
        if (mlp_metrics_csv_read(path, &histories[i], &runs[i].count, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
        runs[i].history = histories[i];
        runs[i].name = folders.values[i];
    }
    char path[4200];
    if (out) snprintf(path, sizeof path, "%s", out);
    else if (folders.count == 1) snprintf(path, sizeof path, "%s/curves.png", folders.values[0]);
    else snprintf(path, sizeof path, "curves.png");
    if (mlp_plot_learning_curves(path, runs, folders.count, title ? title : (folders.count == 1 ? folders.values[0] : NULL), &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    printf("saved %s\n", path);
    for (int i = 0; i < folders.count; i++) free(histories[i]);
    return 0;
}
