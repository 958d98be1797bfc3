/* A training recipe beyond batch, rate and epochs: the optimizer, the learning-rate schedule,
 * dropout and data augmentation. All zero is the study's recipe (plain SGD at a constant rate,
 * no dropout, no augmentation): the default run, bit for bit. A run stores its recipe in the
 * checkpoint, so --resume continues with the same one. */
#ifndef MLP_RECIPE_H
#define MLP_RECIPE_H

#include "mlp/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PyTorch's definitions (torch.optim.SGD with momentum/nesterov, Adam, AdamW). */
typedef enum mlp_optimizer {
    MLP_OPTIMIZER_SGD = 0, /* w -= lr g                                                      */
    MLP_OPTIMIZER_MOMENTUM, /* v = μ v + g; w -= lr v                                         */
    MLP_OPTIMIZER_NESTEROV, /* v = μ v + g; w -= lr (g + μ v)                                 */
    MLP_OPTIMIZER_ADAM,     /* m, v moments, bias-corrected; L2 weight decay added to g       */
    MLP_OPTIMIZER_ADAMW,    /* Adam with decoupled weight decay: w -= lr λ w                   */
} mlp_optimizer;

typedef struct mlp_optimizer_options {
    mlp_optimizer kind;
    float momentum;     /* μ, momentum and nesterov (--momentum, default 0.9)              */
    float beta1, beta2; /* Adam's moment decays (0.9, 0.999)                                */
    float eps;          /* Adam's denominator term (1e-8)                                   */
    float weight_decay; /* λ: L2 added to the gradient, decoupled for adamw (0: off)        */
} mlp_optimizer_options;

typedef enum mlp_lr_schedule {
    MLP_LR_CONSTANT = 0,
    MLP_LR_STEP,     /* × gamma every step_epochs epochs                                    */
    MLP_LR_COSINE,   /* from lr down to lr_min over the run, per batch                      */
    MLP_LR_ONECYCLE, /* up to lr and down to lr_min, per batch                              */
} mlp_lr_schedule;

typedef struct mlp_schedule_options {
    mlp_lr_schedule kind;
    float warmup_epochs; /* linear warm-up from ~0 to lr over this many epochs (per batch)   */
    float lr_min;        /* the floor of cosine and one-cycle                                */
    int step_epochs;     /* MLP_LR_STEP's period (--lr-step)                                 */
    float gamma;         /* MLP_LR_STEP's factor (--lr-gamma)                                */
    int plateau;         /* divide the rate by 10 after this many epochs without a better
                            validation cost (0: off); combines with any schedule             */
} mlp_schedule_options;

/* Inverted dropout on hidden layers: keep a unit with probability 1 - p and scale it by
 * 1 / (1 - p) in training; nothing at evaluation. Masks come from a counter-based generator
 * keyed by (seed, epoch, batch, row, unit): the same for any thread or rank count. */
typedef struct mlp_dropout_options {
    float hidden[MLP_MAX_LAYERS]; /* p per hidden layer, [0] after the first; 0: off         */
} mlp_dropout_options;

/* On-the-fly augmentation of training images (never of validation or test images),
 * deterministic per (seed, epoch, example); all zero: off. */
typedef struct mlp_augment_options {
    float shift_pixels;   /* uniform translation in [-shift, shift] pixels, x and y        */
    float rotate_degrees; /* uniform rotation in [-rotate, rotate] degrees                  */
    float scale_fraction; /* uniform scale in [1 - scale, 1 + scale]                        */
    float elastic_alpha;  /* elastic distortion (Simard et al. 2003): displacement scale    */
    float elastic_sigma;  /* and the Gaussian smoothing of the displacement field, pixels   */
} mlp_augment_options;

typedef struct mlp_recipe {
    mlp_optimizer_options optimizer;
    mlp_schedule_options schedule;
    mlp_dropout_options dropout;
    mlp_augment_options augment;
} mlp_recipe;

#ifdef __cplusplus
}
#endif
#endif
