/* Layer-size sweeps: several network shapes trained with the same data split, seed, learning
 * rate, batch and epochs, each into a folder of its own (metrics.csv, model.mlp, curves.png), then
 * compared in one table and one figure. */
#ifndef MLP_SWEEP_H
#define MLP_SWEEP_H

#include <stdio.h>

#include "mlp/common.h"
#include "mlp/data.h"
#include "mlp/kernels.h"
#include "mlp/run.h"
#include "mlp/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MLP_SWEEP_TABLE_HEADER \
    "layers,final_val_cost,min_val_cost,min_val_cost_epoch,final_val_accuracy,seconds"

/* One configuration's row of the table, computed from its epochs. */
typedef struct mlp_sweep_row {
    char layers[256];             /* "784,16,32,10"                                         */
    double final_validation_cost;
    double min_validation_cost;
    int min_validation_epoch;     /* 1-based: where the validation cost stops falling        */
    double final_validation_accuracy;
    double seconds;               /* Σ of the epochs' seconds (training and evaluation)      */
} mlp_sweep_row;

/* The row of a run from its history (the test recomputes rows from each metrics.csv with it). */
void mlp_sweep_row_from_history(const char *layers, const mlp_epoch_metrics *history, int count,
                            mlp_sweep_row *row);

/* What every configuration of a sweep shares: a run's recipe, data, kernels and stop request
 * (include/mlp/run.h); its sizes, activation and folder are set per configuration. */
typedef struct mlp_sweep_setup {
    mlp_run_config run;
} mlp_sweep_setup;

/* Trains the network "784,...,10" as a run (He initialisation from the seed, checkpoints,
 * --patience), printing each epoch, and writes folder/metrics.csv and folder/curves.png (after
 * every epoch) and folder/model.mlp. *history (malloc'ed) receives the *count epochs run: all of
 * them, fewer after an early stop, or those before a divergence (a NaN or infinite cost; then a
 * line says so, no model.mlp is written and the sweep goes on). *status is the run's. Returns -1
 * (error says why) when the run could not start, failed, or was interrupted (then error says
 * where it stopped: a checkpoint in folder continues it). */
int mlp_sweep_train_configuration(const mlp_sweep_setup *setup, const char *layers, const char *folder,
                              mlp_epoch_metrics **history, int *count, mlp_run_status *status,
                              mlp_error *error);

/* "784,16,32,10" -> "784-16-32-10", the configuration's folder name. */
void mlp_sweep_folder_name(const char *layers, char *name, size_t size);

/* The table as CSV (SWEEP_TABLE_HEADER, %.6f numbers like metrics.csv) and as aligned text. */
int mlp_sweep_table_write(const char *path, const mlp_sweep_row *rows, int count, mlp_error *error);
void mlp_sweep_table_print(FILE *out, const mlp_sweep_row *rows, int count);

#ifdef __cplusplus
}
#endif
#endif
