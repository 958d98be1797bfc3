/* Checkpoints: everything a training run needs to continue exactly where it stopped, in one
 * file (DIR/checkpoint.mlpc). Every epoch's order is a function of (seed, epoch) alone and the
 * learning rate a function of the position (include/mlp/optimizer.h), so a checkpoint is the
 * model, the position (epoch, batch), the partial sums of the epoch in progress, the metrics so
 * far, the best model for --patience, the optimizer's state (its moments and update count; none
 * for plain SGD) and --lr-plateau's counters, and the options (the whole recipe) and data
 * identity that must match when resuming. */
#ifndef MLP_CHECKPOINT_H
#define MLP_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "mlp/common.h"
#include "mlp/data.h"
#include "mlp/kernels.h"
#include "mlp/model.h"
#include "mlp/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MLP_CHECKPOINT_FILE_NAME "checkpoint.mlpc"
#define MLP_CHECKPOINT_FORMAT_VERSION 3u
#define MLP_CHECKPOINT_OLDEST_VERSION 1u  /* version 1 (no recipe) still loads, as plain SGD       */
#define MLP_CHECKPOINT_MAX_PATH 4096      /* stored data paths, NUL included                 */
#define MLP_CHECKPOINT_MAX_EPOCHS 1000000 /* same bound as --epochs                          */

/* The file (format version 3, integers and floats little-endian, floats as their IEEE bits):
 *   8 bytes  magic "MLPCHKPT", u32 version
 *   str      kernel variant name; str data folder, train CSV, test CSV ("" when unset)
 *            (str = u32 length + bytes, no NUL; at most CHECKPOINT_MAX_PATH - 1)
 *   i32      train limit; u32 data count, features, CRC-32 of labels then pixels
 *   u32      batch; f32 learning rate; u64 seed; f32 validation split
 *   u32      epochs; u32 patience (0: off); u32 checkpoint every; u32 gradient shards
 *   (version 3) u32 precision (mlp_precision: 0 FP32, 1 BF16; versions 1 and 2: FP32)
 *   recipe   (version 2) the whole mlp_recipe: u32 optimizer, f32 momentum, beta1, beta2, eps,
 *            weight decay; u32 schedule, f32 warm-up epochs, lr min, u32 step epochs,
 *            f32 gamma, u32 plateau; u32 D (<= MLP_MAX_LAYERS), f32 × D dropout per hidden
 *            layer; f32 × 5 augmentation (shift, rotate, scale, elastic alpha, elastic sigma)
 *   u32      epoch (1-based, the one to run next); u32 batch (the first to run in it)
 *   f64      partial cost sum (Σ batch cost × size of the batches already run in that epoch)
 *   u32      partial examples; f64 partial training seconds
 *   u32 B, f32 × B   batch costs of that epoch so far
 *   u32 H, H × metrics records (epoch, train cost, validation evaluation with its confusion
 *            matrix, seconds, training seconds, samples per second; version 2: learning rate)
 *   u32      best epoch (0: none); f64 best validation cost
 *   (version 2) u64 optimizer updates done; f64 plateau best cost, u32 plateau bad epochs,
 *            u32 plateau reductions
 *   u64 n, n bytes   the best model as a model file (n = 0 when none)
 *   u64 n, n bytes   the model as a model file (its own magic, version and CRC inside)
 *   (version 2) u32 M (0, 1 or 2: the optimizer's moment arrays), u64 n (the model's parameter
 *            count, 0 when M = 0), then M × n f32: m, then v
 *   u32      CRC-32 (zlib) of every byte before it
 * Written with file_write_atomic: temporary file, fsync, rename, directory fsync. */
typedef struct mlp_checkpoint {
    char kernel[32];
    char data_dir[MLP_CHECKPOINT_MAX_PATH];
    char train_csv[MLP_CHECKPOINT_MAX_PATH];
    char test_csv[MLP_CHECKPOINT_MAX_PATH];
    int train_limit;
    uint32_t data_count, data_features, data_checksum;

    int batch;
    float learning_rate;
    uint64_t seed;
    float validation_split;
    int epochs, patience, checkpoint_every;
    int gradient_shards;          /* --gradient-shards: defines the gradient, so it must match */
    mlp_precision precision;      /* --precision: the GEMMs' arithmetic, so it must match too  */
    mlp_recipe recipe;            /* optimizer, schedule, dropout, augmentation (a version-1
                                     file: mlp_recipe_init's plain SGD)                    */

    int epoch;                    /* the epoch to run next (1-based)                      */
    int first_batch;              /* the batch of that epoch to run next (0: its start)    */
    double partial_cost_sum;      /* of batches 0..first_batch-1 of that epoch             */
    int partial_examples;
    double partial_train_seconds;
    int batch_cost_count;         /* = first_batch                                         */
    float *batch_costs;

    int history_count;            /* completed epochs                                     */
    mlp_epoch_metrics *history;

    int best_epoch;               /* 0: none yet                                           */
    double best_cost;
    mlp_model best_model;         /* parameters NULL when none                            */
    mlp_model model;

    uint64_t optimizer_step;      /* updates done (Adam's t of the next one is this + 1)  */
    mlp_plateau_state plateau;    /* --lr-plateau's counters                              */
    int moment_arrays;            /* mlp_optimizer_moment_count(recipe.optimizer.kind)    */
    size_t moment_count;          /* floats in each: the model's parameter count (0: none) */
    float *moment1, *moment2;     /* m and v (NULL when not kept)                          */
} mlp_checkpoint;

/* Serialises a checkpoint (which may borrow its arrays and models) into a malloc'ed buffer. */
int mlp_checkpoint_serialize(const mlp_checkpoint *c, uint8_t **bytes, size_t *size, mlp_error *error);
/* Parses a buffer: every length is checked against what remains before anything is allocated,
 * then the CRC; one-line errors naming `name`. On success c owns its arrays and models (free
 * with checkpoint_free); on failure nothing is left allocated. */
int mlp_checkpoint_deserialize(mlp_checkpoint *c, const uint8_t *bytes, size_t size, const char *name,
                           mlp_error *error);
int mlp_checkpoint_save(const mlp_checkpoint *c, const char *path, mlp_error *error);
int mlp_checkpoint_load(mlp_checkpoint *c, const char *path, mlp_error *error);
/* Frees what checkpoint_deserialize/checkpoint_load allocated. */
void mlp_checkpoint_free(mlp_checkpoint *c);

/* CRC-32 of the labels then the pixels: the data's identity for --resume. */
uint32_t mlp_checkpoint_data_checksum(const mlp_dataset *data);

#ifdef __cplusplus
}
#endif
#endif
