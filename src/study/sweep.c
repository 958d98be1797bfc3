/* Layer-size sweeps: train one configuration into its folder, summarise it as a table row. */
#include "mlp/sweep.h"

#include <stdlib.h>
#include <string.h>

#include "mlp/file_util.h"
#include "mlp/plot.h"
#include "mlp/run_output.h"

void sweep_row_from_history(const char *layers, const epoch_metrics *history, int count,
                            sweep_row *row) {
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

void sweep_folder_name(const char *layers, char *name, size_t size) {
    snprintf(name, size, "%s", layers);
    for (char *c = name; *c; c++)
        if (*c == ',') *c = '-';
}

int sweep_train_configuration(const sweep_setup *setup, const char *layers, const char *folder,
                              epoch_metrics **history, int *count, mlp_error *error) {
    *history = NULL;
    *count = 0;
    int sizes[MLP_MAX_LAYERS + 1], size_count;
    if (model_parse_layers(layers, sizes, &size_count, error) != 0) return -1;
    if (sizes[0] != setup->data->features || sizes[size_count - 1] != MLP_CLASSES)
        return error_set(error, "--layers %s: must start with %d (pixels per image) and end with %d "
                         "(classes)", layers, setup->data->features, MLP_CLASSES);
    if (file_make_directories(folder, error) != 0) return -1;
    mlp_model model;
    if (model_create(&model, sizes, size_count, setup->activation, MLP_OUTPUT_SOFTMAX, error) != 0)
        return -1;
    model_init_he(&model, setup->train.seed);
    trainer t;
    epoch_metrics *epochs = calloc((size_t)setup->train.epochs, sizeof *epochs);
    if (!epochs) {
        model_free(&model);
        return error_set(error, "out of memory");
    }
    if (trainer_init(&t, &model, setup->kernels, setup->data, setup->train_indices,
                     setup->train_count, setup->validation_indices, setup->validation_count,
                     &setup->train, error) != 0) {
        free(epochs);
        model_free(&model);
        return -1;
    }
    char path[4200];
    int status = 0, done = 0;
    printf("\n%s -> %s/\n", layers, folder);
    metrics_print_header();
    for (int epoch = 1; epoch <= setup->train.epochs && status == 0; epoch++) {
        if (trainer_run_epoch(&t, epoch, 0, &epochs[done]) != 0) {
            printf("%s: training stopped in epoch %d (the cost is no longer finite)\n", layers, epoch);
            break;
        }
        metrics_print_epoch(&epochs[done]);
        done++;
        snprintf(path, sizeof path, "%s/metrics.csv", folder);
        status = metrics_csv_write(path, epochs, done, error);
    }
    if (status == 0 && done > 0) {
        plot_run run = {layers, epochs, done};
        snprintf(path, sizeof path, "%s/curves.png", folder);
        mlp_error plot_error;
        if (plot_learning_curves(path, &run, 1, layers, &plot_error) != 0)
            fprintf(stderr, "trainer: warning: no curves.png: %s\n", plot_error.message);
        snprintf(path, sizeof path, "%s/model.mlp", folder);
        status = model_save(&model, path, error);
    }
    trainer_free(&t);
    model_free(&model);
    if (status != 0) {
        free(epochs);
        return -1;
    }
    *history = epochs;
    *count = done;
    return 0;
}

int sweep_table_write(const char *path, const sweep_row *rows, int count, mlp_error *error) {
    size_t capacity = 256 + (size_t)count * 512;
    char *text = malloc(capacity);
    if (!text) return error_set(error, "%s: out of memory", path);
    size_t length = (size_t)snprintf(text, capacity, "%s\n", SWEEP_TABLE_HEADER);
    for (int i = 0; i < count; i++) {
        const sweep_row *r = &rows[i];
        /* The layer list has commas: quote it. */
        length += (size_t)snprintf(text + length, capacity - length, "\"%s\",%.6f,%.6f,%d,%.6f,%.3f\n",
                                   r->layers, r->final_validation_cost, r->min_validation_cost,
                                   r->min_validation_epoch, r->final_validation_accuracy, r->seconds);
    }
    int status = file_write_atomic(path, text, length, error);
    free(text);
    return status;
}

void sweep_table_print(FILE *out, const sweep_row *rows, int count) {
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
