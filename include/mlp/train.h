/* Mini-batch SGD over a dataset, epoch by epoch, and evaluation. */
#ifndef MLP_TRAIN_H
#define MLP_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "mlp/common.h"
#include "mlp/data.h"
#include "mlp/model.h"
#include "mlp/network.h"
#include "mlp/optimizer.h"
#include "mlp/recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mlp_train_options {
    int batch;            /* examples per step (default 64)                     */
    float learning_rate;  /* SGD step (default 0.1)                             */
    int epochs;           /* default 10                                         */
    uint64_t seed;        /* split, initialisation and shuffles (default 42)    */
    int threads;          /* OpenMP team size                                   */
    int progress;         /* draw a progress bar on stderr (only on a terminal) */
    mlp_recipe recipe;    /* optimizer, schedule, dropout, augmentation (recipe.h); all zero
                             or mlp_recipe_init: plain SGD at learning_rate          */
    mlp_precision precision; /* the GEMMs' arithmetic, training and evaluation alike
                                (include/mlp/precision.h); 0: FP32                   */
    const struct mlp_plan *plan; /* blocking and split threshold (include/mlp/plan.h);
                             NULL: the defaults. Never changes the results          */
} mlp_train_options;

/* Accuracy, cost and confidence of a model on a set of examples. */
typedef struct mlp_evaluation {
    int count;
    double cost;                  /* mean cross-entropy                                    */
    double accuracy;              /* fraction predicted right                              */
    double confidence_predicted;  /* mean softmax probability of the predicted class       */
    double confidence_true;       /* mean softmax probability of the true class            */
    long confusion[MLP_CLASSES][MLP_CLASSES]; /* [true][predicted]                          */
} mlp_evaluation;

typedef struct mlp_epoch_metrics {
    int epoch;                 /* 1-based                                            */
    double train_cost;         /* mean of the batch costs over the epoch             */
    mlp_evaluation validation;
    double seconds;            /* the whole epoch, evaluation included               */
    double train_seconds;      /* the training loop alone                            */
    double samples_per_second; /* training examples / train_seconds                  */
    double learning_rate;      /* the rate of the epoch's last batch (the schedule's)  */
} mlp_epoch_metrics;

typedef struct mlp_trainer {
    mlp_train_options options;
    mlp_model *model;
    mlp_network network;
    const mlp_dataset *data;
    const int *train_indices;
    int train_count;
    const int *validation_indices;
    int validation_count;
    int *epoch_order;          /* this epoch's shuffled copy of train_indices        */
    float *batch_costs;        /* the cost of every batch of the last epoch          */
    int batches_per_epoch;
    /* Set asynchronously (a signal handler) to stop after the current batch. */
    volatile sig_atomic_t *stop_requested;
    int stopped_at_batch;      /* -1, or the batch after which the last epoch stopped */
    /* NULL: the plain step. Else the data-parallel step over gradient shards (set by the caller
     * after trainer_init; include/mlp/distributed.h). */
    struct mlp_gradient_sharding *sharding;
    /* The recipe's augmentation of training batches (include/mlp/augment.h); NULL: none. */
    struct mlp_augment_plan *augment;
    /* In: the sums of batches 0..first_batch-1 when an epoch is resumed mid-way; out: the sums
     * of the batches the epoch ran (a checkpoint stores them). */
    double partial_cost_sum;   /* Σ batch cost × batch size, in batch order           */
    int partial_examples;
    /* -1, or the 0-based batch after which the cost or the parameters stopped being finite
     * (one isfinite of the cost per batch; one finite sum of the parameters per epoch). */
    int diverged_at_batch;
    /* The optimizer's moments and update count (none for plain SGD), and --lr-plateau's
     * counters (the run updates them after each epoch; the rate is multiplied by
     * mlp_plateau_factor(plateau.reductions)). A checkpoint stores both. */
    mlp_optimizer_state optimizer;
    mlp_plateau_state plateau;
} mlp_trainer;

int mlp_trainer_init(mlp_trainer *trainer, mlp_model *model, const mlp_kernel_table *kernels,
                 const mlp_dataset *data, const int *train_indices, int train_count,
                 const int *validation_indices, int validation_count,
                 const mlp_train_options *options, mlp_error *error);
void mlp_trainer_free(mlp_trainer *trainer);

/* The order of epoch `epoch` (1-based): the training indices shuffled by an RNG seeded from
 * (seed, epoch) alone, so any epoch can be replayed or resumed without the ones before it. */
void mlp_trainer_epoch_order(const mlp_trainer *trainer, int epoch, int *order);

/* The learning rate of batch `batch` (0-based) of epoch `epoch`: the schedule at the recipe's
 * --lr, times the plateau factor. */
float mlp_trainer_learning_rate(const mlp_trainer *trainer, int epoch, int batch);

/* Trains one epoch, from batch first_batch (0 normally; later when resuming mid-epoch, with
 * partial_cost_sum/partial_examples restored), then evaluates on the validation examples. Fills
 * metrics. Returns 0; 1 when stop_requested cut the epoch short (stopped_at_batch tells where;
 * metrics then cover only the batches run); 2 when training diverged (diverged_at_batch: a cost
 * or a parameter is NaN or infinite; the epoch stops there, without evaluation). */
int mlp_trainer_run_epoch(mlp_trainer *trainer, int epoch, int first_batch, mlp_epoch_metrics *metrics);

/* Evaluates the model on the examples named by indices (all examples when indices is NULL),
 * with the network's buffers, in chunks of its batch capacity. */
void mlp_evaluate(mlp_network *network, const mlp_dataset *data, const int *indices, int count,
              mlp_evaluation *result);

#ifdef __cplusplus
}
#endif
#endif
