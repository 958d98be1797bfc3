/* The recipe at work: the optimizer's state and update descriptor, the learning-rate schedule
 * (a pure function of the position in the run) and --lr-plateau's factor. The options
 * themselves are include/mlp/recipe.h's; the update kernel is kernel_table.optimizer_update
 * (include/mlp/kernels.h). Plain SGD without weight decay (the default) keeps no state and
 * keeps using sgd_update, bit for bit the study's step. */
#ifndef MLP_OPTIMIZER_H
#define MLP_OPTIMIZER_H

#include <stddef.h>
#include <stdint.h>

#include "mlp/common.h"
#include "mlp/kernels.h"
#include "mlp/recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- recipes ---- */

/* The all-SGD recipe with PyTorch's default hyper-parameters filled in for the other optimizers
 * (momentum 0.9, β1 0.9, β2 0.999, eps 1e-8, --lr-gamma 0.1): still the study's plain SGD. */
void mlp_recipe_init(mlp_recipe *recipe);
/* Checks the ranges (β in [0, 1), eps > 0, momentum in [0, 1), a step schedule's period >= 1,
 * ...); one-line error naming the command-line flag. */
int mlp_recipe_check(const mlp_recipe *recipe, mlp_error *error);
/* "adam (beta1 0.9, beta2 0.999, eps 1e-08, weight decay 0.0001), onecycle to 0" and the like,
 * for the banner and messages. */
void mlp_recipe_describe(const mlp_recipe *recipe, char *text, size_t size);

const char *mlp_optimizer_name(mlp_optimizer kind);    /* "sgd", "momentum", ...        */
int mlp_optimizer_parse(const char *text, mlp_optimizer *kind); /* 0, or -1 when unknown */
const char *mlp_lr_schedule_name(mlp_lr_schedule kind); /* "constant", "step", ...      */
int mlp_lr_schedule_parse(const char *text, mlp_lr_schedule *kind);

/* Whether the update is today's plain SGD (sgd_update, no state): SGD without weight decay. */
int mlp_optimizer_is_plain_sgd(const mlp_optimizer_options *options);
/* State arrays the optimizer keeps per parameter: 0 (SGD), 1 (momentum, nesterov: the velocity
 * m) or 2 (adam, adamw: the moments m and v). */
int mlp_optimizer_moment_count(mlp_optimizer kind);

/* ---- the optimizer's state ---- */

typedef struct mlp_optimizer_state {
    mlp_optimizer_options options;
    uint64_t step;    /* updates done so far; the next one is step t = step + 1            */
    size_t count;     /* parameters (the model's parameter_count)                        */
    float *moment1;   /* m, count floats (64-byte aligned), zero at the start; NULL if unused */
    float *moment2;   /* v, likewise                                                       */
} mlp_optimizer_state;

/* Allocates the moments the optimizer needs (zeroed). */
int mlp_optimizer_state_create(mlp_optimizer_state *state, const mlp_optimizer_options *options,
                               size_t count, mlp_error *error);
void mlp_optimizer_state_free(mlp_optimizer_state *state);

/* The kernel descriptor of update t (1-based) at rate learning_rate: Adam's bias corrections
 * 1 - β1^t and sqrt(1 - β2^t) and AdamW's decay 1 - lr·λ computed in double, then rounded. */
void mlp_optimizer_step_prepare(const mlp_optimizer_options *options, float learning_rate,
                                uint64_t t, mlp_optimizer_step *step);

/* ---- the learning-rate schedule ---- */

/* The rate of batch `batch` (0-based) of epoch `epoch` (1-based) in a run of `epochs` epochs of
 * batches_per_epoch batches each, at base rate base_lr (--lr), times plateau_factor
 * (mlp_plateau_factor). With p = (epoch - 1)·batches_per_epoch + batch, T = epochs·batches_per_epoch
 * and W = round(warmup_epochs·batches_per_epoch) batches of warm-up:
 *   constant  base_lr
 *   step      base_lr · gamma^floor((epoch - 1) / step_epochs)
 *   cosine    lr_min + (base_lr - lr_min)·(1 + cos(π·(p - W)/(T - W)))/2 after the warm-up
 *   onecycle  PyTorch's OneCycleLR with cosine annealing: from base_lr/25 up to base_lr over the
 *             first R batches (R = W when --warmup-epochs is given, else round(0.3·T)), then
 *             down to lr_min at the end: base_lr + (base_lr/25 - base_lr)·(1 + cos(π·p/R))/2,
 *             then lr_min + (base_lr - lr_min)·(1 + cos(π·(p - R)/(T - R)))/2
 * and, except for onecycle (whose rise is its warm-up), a linear warm-up: during the first W
 * batches the rate above times (p + 1)/W. Computed in double, rounded once; the constant
 * schedule without warm-up returns base_lr · plateau_factor exactly (base_lr at factor 1). */
float mlp_schedule_rate(const mlp_recipe *recipe, float base_lr, int epoch, int batch,
                        int batches_per_epoch, int epochs, float plateau_factor);

/* --lr-plateau: 10^-reductions, the factor after `reductions` divisions by 10 (1 at 0). */
float mlp_plateau_factor(int reductions);

/* --lr-plateau N's counters, updated once per epoch with its validation cost: a cost below
 * best_cost resets the count of epochs without improvement; N such epochs in a row divide the
 * rate by 10 (reductions + 1) and start the count again. */
typedef struct mlp_plateau_state {
    double best_cost;   /* the best validation cost so far (HUGE_VAL: none yet)             */
    int bad_epochs;     /* epochs since it last improved                                  */
    int reductions;     /* divisions by 10 so far                                         */
} mlp_plateau_state;

void mlp_plateau_init(mlp_plateau_state *plateau);
/* Returns 1 when this epoch divided the rate. */
int mlp_plateau_update(mlp_plateau_state *plateau, int patience, double validation_cost);

#ifdef __cplusplus
}
#endif
#endif
