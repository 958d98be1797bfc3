/* Optimizer state, the update descriptor, learning-rate schedules and --lr-plateau
 * (include/mlp/optimizer.h). */
#include "mlp/optimizer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

_Static_assert((int)MLP_OPTIMIZER_RULE_SGD == (int)MLP_OPTIMIZER_SGD &&
                   (int)MLP_OPTIMIZER_RULE_MOMENTUM == (int)MLP_OPTIMIZER_MOMENTUM &&
                   (int)MLP_OPTIMIZER_RULE_NESTEROV == (int)MLP_OPTIMIZER_NESTEROV &&
                   (int)MLP_OPTIMIZER_RULE_ADAM == (int)MLP_OPTIMIZER_ADAM &&
                   (int)MLP_OPTIMIZER_RULE_ADAMW == (int)MLP_OPTIMIZER_ADAMW,
               "optimizer_rule mirrors mlp_optimizer");

static const char *const optimizer_names[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};
static const char *const schedule_names[] = {"constant", "step", "cosine", "onecycle"};

/* ---- recipes ---- */

void mlp_recipe_init(mlp_recipe *recipe) {
    memset(recipe, 0, sizeof *recipe);
    recipe->optimizer.momentum = 0.9f;
    recipe->optimizer.beta1 = 0.9f;
    recipe->optimizer.beta2 = 0.999f;
    recipe->optimizer.eps = 1e-8f;
    recipe->schedule.gamma = 0.1f;
}

const char *mlp_optimizer_name(mlp_optimizer kind) {
    return (unsigned)kind < 5 ? optimizer_names[kind] : "unknown";
}

int mlp_optimizer_parse(const char *text, mlp_optimizer *kind) {
    for (int i = 0; i < 5; i++)
        if (strcmp(text, optimizer_names[i]) == 0) {
            *kind = (mlp_optimizer)i;
            return 0;
        }
    return -1;
}

const char *mlp_lr_schedule_name(mlp_lr_schedule kind) {
    return (unsigned)kind < 4 ? schedule_names[kind] : "unknown";
}

int mlp_lr_schedule_parse(const char *text, mlp_lr_schedule *kind) {
    for (int i = 0; i < 4; i++)
        if (strcmp(text, schedule_names[i]) == 0) {
            *kind = (mlp_lr_schedule)i;
            return 0;
        }
    return -1;
}

int mlp_recipe_check(const mlp_recipe *recipe, mlp_error *error) {
    const mlp_optimizer_options *o = &recipe->optimizer;
    const mlp_schedule_options *s = &recipe->schedule;
    if ((unsigned)o->kind > MLP_OPTIMIZER_ADAMW) return mlp_error_set(error, "--optimizer: unknown optimizer %d", (int)o->kind);
    if (!(o->momentum >= 0.0f && o->momentum < 1.0f))
        return mlp_error_set(error, "--momentum %g: must be in [0, 1)", o->momentum);
    if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f)) return mlp_error_set(error, "--beta1 %g: must be in [0, 1)", o->beta1);
    if (!(o->beta2 >= 0.0f && o->beta2 < 1.0f)) return mlp_error_set(error, "--beta2 %g: must be in [0, 1)", o->beta2);
    if (o->kind >= MLP_OPTIMIZER_ADAM && !(o->eps > 0.0f && isfinite(o->eps)))
        return mlp_error_set(error, "--eps %g: must be above 0", o->eps);
    if (!(o->weight_decay >= 0.0f && isfinite(o->weight_decay)))
        return mlp_error_set(error, "--weight-decay %g: must be 0 or more", o->weight_decay);
    if ((unsigned)s->kind > MLP_LR_ONECYCLE) return mlp_error_set(error, "--lr-schedule: unknown schedule %d", (int)s->kind);
    if (!(s->warmup_epochs >= 0.0f && s->warmup_epochs <= 1e6f))
        return mlp_error_set(error, "--warmup-epochs %g: must be 0 or more", s->warmup_epochs);
    if (!isfinite(s->gamma)) return mlp_error_set(error, "--lr-gamma: not a finite number");
    if (!(s->lr_min >= 0.0f && isfinite(s->lr_min))) return mlp_error_set(error, "--lr-min %g: must be 0 or more", s->lr_min);
    if (s->kind == MLP_LR_STEP && s->step_epochs < 1)
        return mlp_error_set(error, "--lr-schedule step needs --lr-step EPOCHS >= 1");
    if (s->step_epochs < 0) return mlp_error_set(error, "--lr-step %d: must be 1 or more", s->step_epochs);
    if (s->kind == MLP_LR_STEP && !(s->gamma > 0.0f && isfinite(s->gamma))) return mlp_error_set(error, "--lr-gamma %g: must be above 0", s->gamma);
    if (s->plateau < 0) return mlp_error_set(error, "--lr-plateau %d: must be 0 or more", s->plateau);
    return 0;
}

void mlp_recipe_describe(const mlp_recipe *recipe, char *text, size_t size) {
    const mlp_optimizer_options *o = &recipe->optimizer;
    const mlp_schedule_options *s = &recipe->schedule;
    size_t n = 0;
#define APPEND(...) \
    do { \
        if (n < size) n += (size_t)snprintf(text + n, size - n, __VA_ARGS__); \
    } while (0)
    APPEND("%s", mlp_optimizer_name(o->kind));
    if (o->kind == MLP_OPTIMIZER_MOMENTUM || o->kind == MLP_OPTIMIZER_NESTEROV) APPEND(" (momentum %g", o->momentum);
    else if (o->kind >= MLP_OPTIMIZER_ADAM) APPEND(" (beta1 %g, beta2 %g, eps %g", o->beta1, o->beta2, o->eps);
    if (o->weight_decay > 0.0f)
        APPEND("%sweight decay %g%s", o->kind == MLP_OPTIMIZER_SGD ? " (" : ", ", o->weight_decay,
               o->kind == MLP_OPTIMIZER_ADAMW ? " decoupled" : "");
    if (o->kind != MLP_OPTIMIZER_SGD || o->weight_decay > 0.0f) APPEND(")");
    APPEND(", %s", mlp_lr_schedule_name(s->kind));
    if (s->kind == MLP_LR_STEP) APPEND(" x%g every %d epochs", s->gamma, s->step_epochs);
    if (s->kind == MLP_LR_COSINE || s->kind == MLP_LR_ONECYCLE) APPEND(" to %g", s->lr_min);
    if (s->warmup_epochs > 0.0f) APPEND(", warm-up %g epochs", s->warmup_epochs);
    if (s->plateau > 0) APPEND(", /10 after %d epochs without improvement", s->plateau);
#undef APPEND
}

/* ---- the optimizer's state ---- */

int mlp_optimizer_is_plain_sgd(const mlp_optimizer_options *options) {
    return options->kind == MLP_OPTIMIZER_SGD && options->weight_decay == 0.0f;
}

int mlp_optimizer_moment_count(mlp_optimizer kind) {
    switch (kind) {
    case MLP_OPTIMIZER_SGD: return 0;
    case MLP_OPTIMIZER_MOMENTUM:
    case MLP_OPTIMIZER_NESTEROV: return 1;
    case MLP_OPTIMIZER_ADAM:
    case MLP_OPTIMIZER_ADAMW: return 2;
    }
    return 0;
}

int mlp_optimizer_state_create(mlp_optimizer_state *state, const mlp_optimizer_options *options,
                               size_t count, mlp_error *error) {
    memset(state, 0, sizeof *state);
    state->options = *options;
    state->count = count;
    int moments = mlp_optimizer_moment_count(options->kind);
    if (moments >= 1) state->moment1 = mlp_aligned_calloc(count, sizeof(float));
    if (moments >= 2) state->moment2 = mlp_aligned_calloc(count, sizeof(float));
    if ((moments >= 1 && !state->moment1) || (moments >= 2 && !state->moment2)) {
        mlp_optimizer_state_free(state);
        return mlp_error_set(error, "--optimizer %s: out of memory for %d x %zu state floats",
                         mlp_optimizer_name(options->kind), moments, count);
    }
    return 0;
}

void mlp_optimizer_state_free(mlp_optimizer_state *state) {
    mlp_aligned_free(state->moment1);
    mlp_aligned_free(state->moment2);
    state->moment1 = state->moment2 = NULL;
}

void mlp_optimizer_step_prepare(const mlp_optimizer_options *options, float learning_rate,
                                uint64_t t, mlp_optimizer_step *step) {
    double lr = learning_rate, beta1 = options->beta1, beta2 = options->beta2;
    double steps = t < 1 ? 1.0 : (double)t;
    *step = (mlp_optimizer_step){
        .rule = (mlp_optimizer_rule)options->kind,
        .learning_rate = learning_rate,
        .weight_decay = options->kind == MLP_OPTIMIZER_ADAMW ? 0.0f : options->weight_decay,
        .momentum = options->momentum,
        .beta1 = options->beta1,
        .beta2 = options->beta2,
        .eps = options->eps,
        .one_minus_beta1 = (float)(1.0 - beta1),
        .one_minus_beta2 = (float)(1.0 - beta2),
        .step_size = (float)(lr / (1.0 - pow(beta1, steps))),
        .bias_correction2_sqrt = (float)sqrt(1.0 - pow(beta2, steps)),
        .decay = options->kind == MLP_OPTIMIZER_ADAMW ? (float)(1.0 - lr * (double)options->weight_decay) : 1.0f,
    };
}

/* ---- schedules ---- */

static double cosine_between(double from, double to, double u) {
    if (u < 0.0) u = 0.0;
    if (u > 1.0) u = 1.0;
    return to + (from - to) * 0.5 * (1.0 + cos(3.14159265358979323846 * u));
}

float mlp_schedule_rate(const mlp_recipe *recipe, float base_lr, int epoch, int batch,
                        int batches_per_epoch, int epochs, float plateau_factor) {
    const mlp_schedule_options *s = &recipe->schedule;
    if (s->kind == MLP_LR_CONSTANT && s->warmup_epochs <= 0.0f) return base_lr * plateau_factor;
    if (batches_per_epoch < 1) batches_per_epoch = 1;
    if (epochs < 1) epochs = 1;
    double base = base_lr, lr_min = s->lr_min;
    double p = (double)(epoch - 1) * batches_per_epoch + batch;
    double total = (double)epochs * batches_per_epoch;
    double warmup = floor((double)s->warmup_epochs * batches_per_epoch + 0.5);
    double rate = base;
    switch (s->kind) {
    case MLP_LR_CONSTANT: break;
    case MLP_LR_STEP: {
        int steps = s->step_epochs > 0 ? (epoch - 1) / s->step_epochs : 0;
        rate = base * pow((double)s->gamma, steps);
        break;
    }
    case MLP_LR_COSINE:
        rate = total > warmup ? cosine_between(base, lr_min, (p - warmup) / (total - warmup)) : base;
        break;
    case MLP_LR_ONECYCLE: {
        double rise = warmup > 0.0 ? warmup : floor(0.3 * total + 0.5);
        if (rise < 1.0) rise = 1.0;
        if (p < rise) rate = cosine_between(base / 25.0, base, p / rise);
        else rate = total > rise ? cosine_between(base, lr_min, (p - rise) / (total - rise)) : lr_min;
        warmup = 0.0; /* the rise is the warm-up */
        break;
    }
    }
    if (p < warmup) rate *= (p + 1.0) / warmup;
    return (float)(rate * (double)plateau_factor);
}

float mlp_plateau_factor(int reductions) {
    return reductions <= 0 ? 1.0f : (float)pow(10.0, -(double)reductions);
}

void mlp_plateau_init(mlp_plateau_state *plateau) {
    plateau->best_cost = HUGE_VAL;
    plateau->bad_epochs = 0;
    plateau->reductions = 0;
}

int mlp_plateau_update(mlp_plateau_state *plateau, int patience, double validation_cost) {
    if (patience <= 0) return 0;
    if (validation_cost < plateau->best_cost) {
        plateau->best_cost = validation_cost;
        plateau->bad_epochs = 0;
        return 0;
    }
    if (++plateau->bad_epochs < patience) return 0;
    plateau->bad_epochs = 0;
    plateau->reductions++;
    return 1;
}
