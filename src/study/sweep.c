/* Layer-size sweeps: train one configuration into its folder (a run, include/mlp/run.h),
 * summarise it as a table row. */
#include "mlp/sweep.h"

#include <stdlib.h>
#include <string.h>

#include "core/file_util.h"
#include "mlp/plot.h"

void mlp_sweep_row_from_history(const char *layers, const mlp_epoch_metrics *history, int count,
                            mlp_sweep_row *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->layers, sizeof row->layers, "%s", layers);
    if (count < 1) return;
    row->min_validation_cost = history[0].validation.cost;
    row->min_validation_epoch = history[0].epoch;
    for (int i = 0; i < count; i++) {
        /* The first epoch of the lowest cost: where overfitting begins. */
        if (history[i].validation.cost < row->min_validation_cost) {
            row->min_validation_cost = history[i].validation.cost;
            row->min_validation_epoch = history[i].epoch;
        }
        row->seconds += history[i].seconds;
    }
    row->final_validation_cost = history[count - 1].validation.cost;
    row->final_validation_accuracy = history[count - 1].validation.accuracy;
}

void mlp_sweep_folder_name(const char *layers, char *name, size_t size) {
    snprintf(name, size, "%s", layers);
    for (char *c = name; *c; c++)
        if (*c == ',') *c = '-';
}

int mlp_sweep_train_configuration(const mlp_sweep_setup *setup, const char *layers, const char *folder,
                              mlp_epoch_metrics **history, int *count, mlp_run_status *status,
                              mlp_error *error) {
    *history = NULL;
    *count = 0;
    *status = MLP_RUN_FAILED;
    mlp_run_config config = setup->run;
    config.folder = folder;
    if (mlp_model_parse_layers(layers, config.sizes, &config.size_count, error) != 0) return -1;
    if (config.sizes[0] != config.train_set->features || config.sizes[config.size_count - 1] != MLP_CLASSES)
        return mlp_error_set(error, "--layers %s: must start with %d (pixels per image) and end with %d "
                         "(classes)", layers, config.train_set->features, MLP_CLASSES);
    mlp_run run;
    if (mlp_run_open(&run, &config, NULL, error) != 0) return -1;
    /* The epoch table on the console, metrics.csv and curves.png (titled by the layer sizes). */
    mlp_plot_curves_context curves = {.name = layers, .title = layers};
    mlp_run_observer observers[] = {mlp_run_table_observer(), mlp_run_metrics_observer(),
                                    mlp_plot_curves_observer(&curves)};
    printf("\n%s -> %s/\n", layers, folder);
    *status = mlp_run_execute(&run, observers, (int)(sizeof observers / sizeof observers[0]), error);
    if (*status == MLP_RUN_DIVERGED) /* the sweep compares the epochs before it */
        printf("%s: training stopped in epoch %d (the cost is no longer finite)\n", layers, run.history_count + 1);
    int failed = *status == MLP_RUN_INTERRUPTED || *status == MLP_RUN_FAILED;
    if (!failed) {
        *history = run.history; /* the history outlives the run */
        *count = run.history_count;
        run.history = NULL;
    }
    mlp_run_close(&run);
    return failed ? -1 : 0;
}

int mlp_sweep_table_write(const char *path, const mlp_sweep_row *rows, int count, mlp_error *error) {
    size_t capacity = 256 + (size_t)count * 512;
    char *text = malloc(capacity);
    if (!text) return mlp_error_set(error, "%s: out of memory", path);
    size_t length = (size_t)snprintf(text, capacity, "%s\n", MLP_SWEEP_TABLE_HEADER);
    for (int i = 0; i < count; i++) {
        const mlp_sweep_row *r = &rows[i];
        /* The layer list has commas: quote it. */
        length += (size_t)snprintf(text + length, capacity - length, "\"%s\",%.6f,%.6f,%d,%.6f,%.3f\n",
                                   r->layers, r->final_validation_cost, r->min_validation_cost,
                                   r->min_validation_epoch, r->final_validation_accuracy, r->seconds);
    }
    int status = mlp_file_write_atomic(path, text, length, error);
    free(text);
    return status;
}

void mlp_sweep_table_print(FILE *out, const mlp_sweep_row *rows, int count) {
    fprintf(out, "\n| %-22s | %10s | %10s | %9s | %9s | %8s |\n", "layers", "final cost",
            "min cost", "min epoch", "accuracy", "seconds");
    fprintf(out, "|%.24s|%.12s|%.12s|%.11s|%.11s|%.10s|\n", "------------------------",
            "------------", "------------", "-----------", "-----------", "----------");
    for (int i = 0; i < count; i++)
        fprintf(out, "| %-22s | %10.4f | %10.4f | %9d | %8.2f%% | %8.1f |\n", rows[i].layers,
                rows[i].final_validation_cost, rows[i].min_validation_cost,
                rows[i].min_validation_epoch, 100.0 * rows[i].final_validation_accuracy,
                rows[i].seconds);
}
