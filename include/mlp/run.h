/* A training run: a model, a data split, a recipe and an output folder.
 *
 * The run owns the epoch loop and the policy around it: checkpoints (written and applied),
 * --patience (keep the best epoch's model, stop when it stops improving), divergence, stop
 * requests (a flag a signal handler sets), the data-parallel step, the folder's lock and the
 * final model.mlp. What a run shows or writes besides its checkpoint and model (the console
 * table, metrics.csv, curves.png, summary.json) is done by observers it calls at the start,
 * after every epoch and at the end, so a command picks its outputs without copying the loop.
 *
 *   mlp_run run;
 *   if (mlp_run_open(&run, &config, NULL, &error) != 0) ...;      (or a checkpoint to resume)
 *   mlp_run_status status = mlp_run_execute(&run, observers, n, &error);
 *   mlp_run_close(&run);
 *
 * Used by `trainer [train]` (and --resume) and by `trainer sweep` (one run per configuration). */
#ifndef MLP_RUN_H
#define MLP_RUN_H

#include <signal.h>
#include <stdint.h>

#include "mlp/checkpoint.h"
#include "mlp/common.h"
#include "mlp/data.h"
#include "mlp/distributed.h"
#include "mlp/kernels.h"
#include "mlp/model.h"
#include "mlp/precision.h"
#include "mlp/profile.h"
#include "mlp/recipe.h"
#include "mlp/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a run ended (mlp_run_execute). Only COMPLETED and EARLY_STOPPED leave a model.mlp. */
typedef enum mlp_run_status {
    MLP_RUN_COMPLETED,     /* every epoch ran; model.mlp written                                */
    MLP_RUN_EARLY_STOPPED, /* --patience: no improvement for `patience` epochs; the best
                              epoch's model written                                             */
    MLP_RUN_INTERRUPTED,   /* *stop_requested before the end: checkpoint written, no model      */
    MLP_RUN_DIVERGED,      /* a cost or a weight became NaN or infinite; the message says where;
                              the last checkpoint (from before the bad batch) is left as it is  */
    MLP_RUN_FAILED,        /* an output could not be written, or an observer failed             */
} mlp_run_status;

/* "completed", "early-stopped", ... (for messages and tests). */
const char *mlp_run_status_name(mlp_run_status status);

/* mlp_run_open's return when the configuration itself is wrong (sizes that do not fit the data,
 * --patience without a validation set, more gradient shards than the batch has rows): for a
 * command line, a usage error. Other failures return -1. */
#define MLP_RUN_INVALID (-2)

typedef struct mlp_run_config {
    /* The model of a fresh run (a resumed run takes the checkpoint's). */
    int sizes[MLP_MAX_LAYERS + 1]; /* units per layer, input first                     */
    int size_count;
    mlp_activation activation;
    /* The recipe. */
    int batch;
    float learning_rate;
    int epochs;
    uint64_t seed;                 /* split, initialisation and shuffles                */
    float validation_split;        /* fraction held out for validation                  */
    int patience;                  /* 0: off                                            */
    int checkpoint_every;          /* epochs between checkpoints (0: only when stopped) */
    int gradient_shards;           /* 1: the plain step (include/mlp/distributed.h)     */
    /* A fresh run starts from this model's parameters instead of He initialisation (its sizes
     * and activation must be the config's; `trainer --init-model`, e.g. an imported model);
     * NULL: He initialisation from the seed. Named in messages as initial_model_path. */
    const mlp_model *initial_model;
    const char *initial_model_path;
    mlp_recipe recipe;             /* optimizer, schedule, dropout, augmentation; all zero:
                                      plain SGD at a constant rate (include/mlp/recipe.h) */
    const char *recipe_name;       /* the named preset (--recipe) the recipe started from,
                                      for summary.json; NULL: none known (the API, or a
                                      resume without --recipe)                            */
    /* How it runs. */
    int threads;
    const char *kernel;            /* the variant asked for, checked against a checkpoint */
    const mlp_kernel_table *kernels;   /* the variant that runs                             */
    mlp_precision precision;       /* its GEMMs' arithmetic (include/mlp/precision.h): FP32
                                      (0) or BF16 (kernels->gemm_bf16 must exist); training,
                                      validation and the test evaluation alike; checked
                                      against a checkpoint                                 */
    int progress;                  /* progress bar on stderr (only on a terminal)       */
    int profile;                   /* time every layer's kernels (run.profile)          */
    const struct mlp_plan *plan;   /* the measured plan (include/mlp/plan.h); NULL: the
                                      defaults. Never changes the model's bytes          */
    /* The data: the sets (the caller loads them; the test set may be NULL or empty) and the
     * identity a checkpoint records, so that --resume finds the same files. */
    const mlp_dataset *train_set, *test_set;
    const char *data_dir, *train_csv, *test_csv; /* train_csv NULL: the IDX folder     */
    int train_limit;
    /* The output folder (created with its parents by rank 0) and the stop request: set
     * asynchronously (a signal handler stores the signal's number); NULL: never. */
    const char *folder;
    volatile sig_atomic_t *stop_requested;
} mlp_run_config;

/* The recipe's defaults (batch 64, lr 0.1, 10 epochs, seed 42, val-split 0.2, relu, one gradient
 * shard, checkpoints every epoch, one thread, the best kernel variant, plain SGD at a constant
 * rate: mlp_recipe_init); no model, data or folder. */
void mlp_run_config_init(mlp_run_config *config);

/* ---- resuming: the checkpoint's recipe becomes the run's ---- */

/* Which settings the caller was given explicitly (a command line's flags). An explicit setting
 * that contradicts the checkpoint is an error; the others are taken from it. */
enum {
    MLP_RUN_GIVEN_LAYERS = 1 << 0,
    MLP_RUN_GIVEN_ACTIVATION = 1 << 1,
    MLP_RUN_GIVEN_BATCH = 1 << 2,
    MLP_RUN_GIVEN_LEARNING_RATE = 1 << 3,
    MLP_RUN_GIVEN_SEED = 1 << 4,
    MLP_RUN_GIVEN_VALIDATION_SPLIT = 1 << 5,
    MLP_RUN_GIVEN_PATIENCE = 1 << 6,
    MLP_RUN_GIVEN_GRADIENT_SHARDS = 1 << 7,
    MLP_RUN_GIVEN_TRAIN_LIMIT = 1 << 8,
    MLP_RUN_GIVEN_KERNEL = 1 << 9,
    MLP_RUN_GIVEN_FOLDER = 1 << 10,     /* a resumed run stays in its folder                */
    MLP_RUN_GIVEN_EPOCHS = 1 << 11,     /* may be raised to train further, never lowered    */
    MLP_RUN_GIVEN_CHECKPOINT_EVERY = 1 << 12, /* may change                                   */
    MLP_RUN_GIVEN_TRAIN_DATA = 1 << 13, /* data_dir or train_csv: checked by the data's CRC  */
    MLP_RUN_GIVEN_TEST_DATA = 1 << 14,
    /* the recipe (include/mlp/recipe.h): each must equal the checkpoint's */
    MLP_RUN_GIVEN_OPTIMIZER = 1 << 15,
    MLP_RUN_GIVEN_MOMENTUM = 1 << 16,
    MLP_RUN_GIVEN_BETA1 = 1 << 17,
    MLP_RUN_GIVEN_BETA2 = 1 << 18,
    MLP_RUN_GIVEN_EPS = 1 << 19,
    MLP_RUN_GIVEN_WEIGHT_DECAY = 1 << 20,
    MLP_RUN_GIVEN_LR_SCHEDULE = 1 << 21,
    MLP_RUN_GIVEN_WARMUP_EPOCHS = 1 << 22,
    MLP_RUN_GIVEN_LR_MIN = 1 << 23,
    MLP_RUN_GIVEN_LR_STEP = 1 << 24,
    MLP_RUN_GIVEN_LR_GAMMA = 1 << 25,
    MLP_RUN_GIVEN_LR_PLATEAU = 1 << 26,
    MLP_RUN_GIVEN_DROPOUT = 1 << 27,
    MLP_RUN_GIVEN_AUGMENT = 1 << 28,
    MLP_RUN_GIVEN_PRECISION = 1 << 29,  /* --precision: must equal the checkpoint's          */
};

/* Makes config continue the run of checkpoint c (read from `path`, named in messages): its
 * model sizes, activation, recipe, kernel and data identity replace config's, except the settings
 * in `given` (MLP_RUN_GIVEN_*), which must agree with it. Returns MLP_RUN_INVALID with a one-line
 * message naming the first contradicting flag and the checkpoint's settings. config's strings
 * then point into c: keep c until the run is closed. */
int mlp_run_config_resume(mlp_run_config *config, const mlp_checkpoint *c, const char *path,
                          unsigned given, mlp_error *error);

/* ---- the run ---- */

typedef struct mlp_run {
    mlp_run_config config;
    char checkpoint_path[4200];  /* folder/checkpoint.mlpc                                 */
    int writer;                  /* rank 0: writes the files and calls the observers       */
    int lock;                    /* the folder lock's descriptor (-1: none)                */
    int resumed;                 /* continued from a checkpoint                            */
    uint32_t data_checksum;      /* CRC of the training data, recorded in checkpoints      */
    int *train_indices, *validation_indices; /* the seeded split                          */
    int train_count, validation_count;
    mlp_model model;             /* the model being trained                                */
    mlp_trainer trainer;
    mlp_gradient_sharding sharding;  /* used when trainer.sharding points to it                */
    mlp_network_profile profile;     /* filled when config.profile                             */
    /* The epochs done so far (history_count of them) and the best one for --patience. */
    mlp_epoch_metrics *history;      /* history_capacity entries                               */
    int history_count, history_capacity;
    int best_epoch;              /* 0: none yet                                            */
    double best_cost;
    mlp_model best_model;        /* parameters NULL without --patience                     */
    /* Where the loop starts: epoch first_epoch from batch first_batch (resumed mid-epoch with
     * the trainer's partial sums and partial_train_seconds of training time). */
    int first_epoch, first_batch;
    double partial_train_seconds;
    /* The outcome, for the observers' on_finish and the caller. */
    mlp_run_status status;
    int stopped_epoch;           /* INTERRUPTED: the epoch, and the batch after which it  */
    int stopped_batch;           /* stopped (0: after the whole epoch)                     */
    int kept_epoch;              /* the epoch whose model is saved (the best with --patience) */
    int has_test;                /* test evaluated after training (a non-empty test set)   */
    mlp_evaluation test;
    double start_seconds;        /* wall clock when the loop started                       */
    double seconds;              /* the whole run, test evaluation included                */
} mlp_run;

/* Sets up a run: checks the configuration against the data (and a resumed checkpoint's data
 * identity), creates the folder and locks it (rank 0), splits the data, creates the model (He
 * initialisation from the seed) or takes the checkpoint's (resume; its models are moved into the
 * run), the trainer and the data-parallel step (with gradient_shards > 1 or several MPI ranks).
 * Returns 0, MLP_RUN_INVALID or -1 with a one-line message. On failure nothing is left to close. */
int mlp_run_open(mlp_run *run, const mlp_run_config *config, mlp_checkpoint *resume,
                 mlp_error *error);
void mlp_run_close(mlp_run *run);

/* What a run calls; a callback may be NULL. They are called on rank 0 only (the ranks of a
 * data-parallel run train the same model), in the order given: on_start before the first epoch,
 * on_epoch after every completed epoch (before the run's checkpoint), on_finish after the last
 * one, with the kept model in place and the test evaluated, before model.mlp is written (a run
 * that fails to write an output leaves the previous model.mlp alone). A callback that returns
 * non-zero (with a message in error) ends the run as MLP_RUN_FAILED. */
typedef struct mlp_run_observer {
    void *context;
    int (*on_start)(void *context, const mlp_run *run, mlp_error *error);
    int (*on_epoch)(void *context, const mlp_run *run, const mlp_epoch_metrics *metrics,
                    mlp_error *error);
    int (*on_finish)(void *context, const mlp_run *run, mlp_error *error);
} mlp_run_observer;

/* Trains epochs first_epoch..epochs (fewer with --patience) and writes folder/model.mlp.
 * Checkpoints go to folder/checkpoint.mlpc every checkpoint_every epochs, after the last, and
 * whenever a stop request ends the run early (also mid-epoch, after the current batch; every
 * MPI rank stops after the same batch). Returns the status; error holds the reason for
 * DIVERGED and FAILED, and for INTERRUPTED where the run stopped ("in epoch 3 after batch 40 of
 * 100; checkpoint written to DIR/checkpoint.mlpc", or "after epoch 3; ..."). A stop request that comes during the last epoch's end lets the run
 * complete (the caller may still report it). */
mlp_run_status mlp_run_execute(mlp_run *run, const mlp_run_observer *observers, int count,
                               mlp_error *error);

/* ---- the output folder's lock ---- */

/* Takes an exclusive lock (flock) on folder/.lock and writes this process's id into it.
 * Returns the descriptor, or -1 with "FOLDER: another run (pid N) is writing into this folder"
 * when another process holds it. The lock dies with its process: a file left by a killed run
 * never blocks. The file stays in the folder (removing it would let two runs lock two files). */
int mlp_run_lock_folder(const char *folder, mlp_error *error);
void mlp_run_unlock_folder(int lock);

/* ---- the standard observers (contexts are the structs below, or NULL) ---- */

/* The console: on_start the run's banner (sizes, data, kernel, recipe, folder, data-parallel
 * set-up, where a resume starts); on_finish the --patience choice, the test line and the
 * --profile table. */
mlp_run_observer mlp_run_console_observer(void);
/* The epoch table on stdout: its header on_start, a line per epoch. */
mlp_run_observer mlp_run_table_observer(void);
/* folder/metrics.csv, rewritten (atomically) after every epoch. */
mlp_run_observer mlp_run_metrics_observer(void);
/* folder/summary.json at the end. */
mlp_run_observer mlp_run_summary_observer(void);

#ifdef __cplusplus
}
#endif
#endif
