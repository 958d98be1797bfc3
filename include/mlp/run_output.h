/* What a training run leaves in its folder: metrics.csv (one row per epoch) and summary.json. */
#ifndef MLP_RUN_OUTPUT_H
#define MLP_RUN_OUTPUT_H

#include "mlp/common.h"
#include "mlp/model.h"
#include "mlp/profile.h"
#include "mlp/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MLP_METRICS_CSV_HEADER                                                                  \
    "epoch,train_cost,val_cost,val_accuracy,val_confidence_predicted,val_confidence_true," \
    "seconds,samples_per_second,lr"

/* Writes every epoch so far (atomically: a crash leaves the previous complete file). */
int mlp_metrics_csv_write(const char *path, const mlp_epoch_metrics *history, int count, mlp_error *error);
/* Reads a metrics.csv back (for `trainer plot` and the sweep table); *history is malloc'ed. The
 * lr column (the rate of each epoch's last batch, appended last) may be missing (older files):
 * learning_rate is then 0. */
int mlp_metrics_csv_read(const char *path, mlp_epoch_metrics **history, int *count, mlp_error *error);

typedef struct mlp_run_summary {
    const mlp_model *model;
    const char *kernel;
    mlp_precision precision;    /* the GEMMs' arithmetic: "precision": "fp32" or "bf16"  */
    int threads;
    int threads_requested;      /* before the cap at the available cores; 0: the last thread
                                   plan's (affinity_last_plan), else threads              */
    int batch;
    float learning_rate;
    uint64_t seed;
    int epochs;                 /* epochs completed                                  */
    double seconds;             /* the whole run                                     */
    double samples_per_second;  /* median over epochs of the training loop's rate    */
    mlp_evaluation validation;      /* after the last epoch                              */
    int has_test;
    mlp_evaluation test;
    const mlp_network_profile *profile; /* NULL unless --profile                          */
    const struct mlp_recipe *recipe; /* optimizer, schedule, dropout, augmentation;
                                        NULL: not written                              */
    const char *recipe_name;    /* the --recipe preset the options started from; NULL: null */
    const struct mlp_plan *plan;  /* the measured plan (include/mlp/plan.h); NULL: not written */
} mlp_run_summary;

int mlp_summary_json_write(const char *path, const mlp_run_summary *summary, mlp_error *error);

/* The median of the epochs' training rates. */
double mlp_metrics_median_samples_per_second(const mlp_epoch_metrics *history, int count);

/* One line per epoch on stdout: the table the README shows. */
void mlp_metrics_print_header(void);
void mlp_metrics_print_epoch(const mlp_epoch_metrics *metrics);

#ifdef __cplusplus
}
#endif
#endif
