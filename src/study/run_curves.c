/* curves.png as an observer of a run (include/mlp/plot.h): redrawn after every epoch, so an
 * interrupted run still has its figure; without PLplot's pngcairo, one warning and no figure. */
#include <stdio.h>

#include "mlp/plot.h"

static int curves_epoch(void *context, const mlp_run *run, const mlp_epoch_metrics *metrics, mlp_error *error) {
    (void)metrics;
    (void)error; /* a figure that cannot be drawn does not fail the run */
    mlp_plot_curves_context *curves = context;
    char path[4200];
    snprintf(path, sizeof path, "%s/curves.png", run->config.folder);
    mlp_plot_run figure = {curves->name, run->history, run->history_count};
    mlp_error plot_error;
    if (mlp_plot_learning_curves(path, &figure, 1, curves->title, &plot_error) != 0 && !curves->warned++)
        fprintf(stderr, "trainer: warning: no curves.png: %s\n", plot_error.message);
    return 0;
}

mlp_run_observer mlp_plot_curves_observer(mlp_plot_curves_context *context) {
    return (mlp_run_observer){.context = context, .on_epoch = curves_epoch};
}
