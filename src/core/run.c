/* A training run: the epoch loop with checkpoints, --resume, --patience, divergence, stop
 * requests, the data-parallel step and the folder lock; outputs are observers (run_observers.c). */
#define _GNU_SOURCE /* flock */
#include "mlp/run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlp/augment.h"
#include "mlp/dropout.h"
#include "core/file_util.h"

const char *mlp_run_status_name(mlp_run_status status) {
    switch (status) {
    case MLP_RUN_COMPLETED: return "completed";
    case MLP_RUN_EARLY_STOPPED: return "early-stopped";
    case MLP_RUN_INTERRUPTED: return "interrupted";
    case MLP_RUN_DIVERGED: return "diverged";
    case MLP_RUN_FAILED: return "failed";
    }
    return "unknown";
}

void mlp_run_config_init(mlp_run_config *config) {
    memset(config, 0, sizeof *config);
    config->activation = MLP_ACTIVATION_RELU;
    config->batch = 64;
    config->learning_rate = 0.1f;
    config->epochs = 10;
    config->seed = 42;
    config->validation_split = 0.2f;
    config->checkpoint_every = 1;
    config->gradient_shards = 1;
    config->threads = 1;
    config->kernel = "auto";
    mlp_recipe_init(&config->recipe);
}

/* "784,128,10" */
static void format_sizes(const int *sizes, int count, char *text, size_t size) {
    text[0] = '\0';
    for (int i = 0; i < count; i++)
        snprintf(text + strlen(text), size - strlen(text), i ? ",%d" : "%d", sizes[i]);
}

/* ---- resuming ---- */

int mlp_run_config_resume(mlp_run_config *config, const mlp_checkpoint *c, const char *path,
                          unsigned given, mlp_error *error) {
    char layers[512], stored_layers[512];
    format_sizes(c->model.sizes, c->model.layer_count + 1, stored_layers, sizeof stored_layers);
    format_sizes(config->sizes, config->size_count, layers, sizeof layers);
    /* The last contradiction in this order is named (as the CLI always did). */
    const char *clash = NULL;
    if ((given & MLP_RUN_GIVEN_LAYERS) && strcmp(layers, stored_layers) != 0) clash = "--layers";
    if ((given & MLP_RUN_GIVEN_ACTIVATION) && config->activation != c->model.hidden_activation) clash = "--activation";
    if ((given & MLP_RUN_GIVEN_BATCH) && config->batch != c->batch) clash = "--batch";
    if ((given & MLP_RUN_GIVEN_LEARNING_RATE) && config->learning_rate != c->learning_rate) clash = "--lr";
    if ((given & MLP_RUN_GIVEN_SEED) && config->seed != c->seed) clash = "--seed";
    if ((given & MLP_RUN_GIVEN_VALIDATION_SPLIT) && config->validation_split != c->validation_split)
        clash = "--val-split";
    if ((given & MLP_RUN_GIVEN_PATIENCE) && config->patience != c->patience) clash = "--patience";
    if ((given & MLP_RUN_GIVEN_GRADIENT_SHARDS) && config->gradient_shards != c->gradient_shards)
        clash = "--gradient-shards";
    if ((given & MLP_RUN_GIVEN_TRAIN_LIMIT) && config->train_limit != c->train_limit) clash = "--train-limit";
    if ((given & MLP_RUN_GIVEN_KERNEL) && strcmp(config->kernel, c->kernel) != 0) clash = "--kernel";
    if (given & MLP_RUN_GIVEN_FOLDER) clash = "--out";
    if ((given & MLP_RUN_GIVEN_PRECISION) && config->precision != c->precision) clash = "--precision";
    const mlp_optimizer_options *o = &config->recipe.optimizer, *co = &c->recipe.optimizer;
    const mlp_schedule_options *s = &config->recipe.schedule, *cs = &c->recipe.schedule;
    if ((given & MLP_RUN_GIVEN_OPTIMIZER) && o->kind != co->kind) clash = "--optimizer";
    if ((given & MLP_RUN_GIVEN_MOMENTUM) && o->momentum != co->momentum) clash = "--momentum";
    if ((given & MLP_RUN_GIVEN_BETA1) && o->beta1 != co->beta1) clash = "--beta1";
    if ((given & MLP_RUN_GIVEN_BETA2) && o->beta2 != co->beta2) clash = "--beta2";
    if ((given & MLP_RUN_GIVEN_EPS) && o->eps != co->eps) clash = "--eps";
    if ((given & MLP_RUN_GIVEN_WEIGHT_DECAY) && o->weight_decay != co->weight_decay) clash = "--weight-decay";
    if ((given & MLP_RUN_GIVEN_LR_SCHEDULE) && s->kind != cs->kind) clash = "--lr-schedule";
    if ((given & MLP_RUN_GIVEN_WARMUP_EPOCHS) && s->warmup_epochs != cs->warmup_epochs) clash = "--warmup-epochs";
    if ((given & MLP_RUN_GIVEN_LR_MIN) && s->lr_min != cs->lr_min) clash = "--lr-min";
    if ((given & MLP_RUN_GIVEN_LR_STEP) && s->step_epochs != cs->step_epochs) clash = "--lr-step";
    if ((given & MLP_RUN_GIVEN_LR_GAMMA) && s->gamma != cs->gamma) clash = "--lr-gamma";
    if ((given & MLP_RUN_GIVEN_LR_PLATEAU) && s->plateau != cs->plateau) clash = "--lr-plateau";
    if ((given & MLP_RUN_GIVEN_DROPOUT) &&
        memcmp(&config->recipe.dropout, &c->recipe.dropout, sizeof c->recipe.dropout) != 0)
        clash = "--dropout";
    if ((given & MLP_RUN_GIVEN_AUGMENT) &&
        memcmp(&config->recipe.augment, &c->recipe.augment, sizeof c->recipe.augment) != 0)
        clash = "--augment";
    const char *stored_activation = mlp_model_activation_name(c->model.hidden_activation);
    if (clash) {
        char recipe[256];
        mlp_recipe_describe(&c->recipe, recipe, sizeof recipe);
        mlp_error_set(error, "%s: %s contradicts the checkpoint (layers %s, %s, batch %d, lr %g, seed %llu, "
                  "val-split %g, patience %d, train-limit %d, kernel %s, precision %s, %s); --resume continues "
                  "the same run", path, clash, stored_layers, stored_activation, c->batch, c->learning_rate,
                  (unsigned long long)c->seed, c->validation_split, c->patience, c->train_limit, c->kernel,
                  mlp_precision_name(c->precision), recipe);
        return MLP_RUN_INVALID;
    }
    if ((given & MLP_RUN_GIVEN_EPOCHS) && config->epochs < c->history_count) {
        mlp_error_set(error, "%s: --epochs %d is fewer than the %d epochs already done", path, config->epochs,
                  c->history_count);
        return MLP_RUN_INVALID;
    }
    if (!(given & MLP_RUN_GIVEN_EPOCHS)) config->epochs = c->epochs;
    if (!(given & MLP_RUN_GIVEN_CHECKPOINT_EVERY)) config->checkpoint_every = c->checkpoint_every;
    config->size_count = c->model.layer_count + 1; /* the model comes from the checkpoint */
    memcpy(config->sizes, c->model.sizes, (size_t)config->size_count * sizeof *config->sizes);
    config->activation = c->model.hidden_activation;
    config->batch = c->batch;
    config->learning_rate = c->learning_rate;
    config->seed = c->seed;
    config->validation_split = c->validation_split;
    config->patience = c->patience;
    config->gradient_shards = c->gradient_shards;
    config->kernel = c->kernel;
    config->precision = c->precision;
    config->train_limit = c->train_limit;
    config->recipe = c->recipe; /* the optimizer, schedule, dropout and augmentation */
    /* The data: the checkpoint's files unless others were given (their CRC must then match). */
    if (!(given & MLP_RUN_GIVEN_TRAIN_DATA)) {
        config->data_dir = c->data_dir[0] ? c->data_dir : config->data_dir;
        config->train_csv = c->train_csv[0] ? c->train_csv : NULL;
    }
    if (!(given & (MLP_RUN_GIVEN_TRAIN_DATA | MLP_RUN_GIVEN_TEST_DATA)))
        config->test_csv = c->test_csv[0] ? c->test_csv : NULL;
    return 0;
}

/* ---- the folder lock ---- */

int mlp_run_lock_folder(const char *folder, mlp_error *error) {
    char path[4200];
    snprintf(path, sizeof path, "%s/.lock", folder);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return mlp_error_set(error, "%s: cannot open for writing (%s)", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        char text[32] = "";
        ssize_t length = busy ? pread(fd, text, sizeof text - 1, 0) : -1;
        text[length > 0 ? length : 0] = '\0';
        long pid = strtol(text, NULL, 10);
        close(fd);
        if (!busy) return mlp_error_set(error, "%s: cannot lock (%s)", path, strerror(errno));
        if (pid > 0) return mlp_error_set(error, "%s: another run (pid %ld) is writing into this folder", folder, pid);
        return mlp_error_set(error, "%s: another run is writing into this folder", folder);
    }
    char text[32];
    int length = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)length, 0) != length) {
        /* The lock holds without the pid; a refused run then names no pid. */
    }
    return fd;
}

void mlp_run_unlock_folder(int lock) {
    if (lock >= 0) close(lock); /* closing the descriptor releases the flock */
}

/* ---- opening and closing ---- */

/* Rank 0 creates and locks the folder; every rank learns whether that worked, so that a refused
 * data-parallel run ends on all ranks instead of leaving the others waiting in the first step. */
static int take_folder(mlp_run *run, mlp_error *error) {
    int failed = 0;
    if (run->writer) {
        failed = mlp_file_make_directories(run->config.folder, error) != 0 ||
                 (run->lock = mlp_run_lock_folder(run->config.folder, error)) < 0;
    }
    if (mlp_distributed_any(failed)) {
        if (!run->writer) mlp_error_set(error, "%s: rank 0 could not take the run folder", run->config.folder);
        return -1;
    }
    return 0;
}

/* The checks a command line's options could fail: MLP_RUN_INVALID. A resumed run's sizes come
 * from its checkpoint, so a mismatch there is the data's fault: -1. */
static int check_config(const mlp_run *run, mlp_error *error) {
    const mlp_run_config *config = &run->config;
    if (!config->train_set || !config->folder || config->size_count < 2 || !config->kernels) {
        mlp_error_set(error, "run: no training set, folder, kernel table or layer sizes given");
        return MLP_RUN_INVALID;
    }
    const mlp_dataset *data = config->train_set;
    const char *source = config->train_csv ? config->train_csv : config->data_dir;
    /* Sizes from a file (a checkpoint, an initial model) are a runtime error, from --layers a
     * usage error. */
    const char *origin = run->resumed ? run->checkpoint_path
                         : config->initial_model ? config->initial_model_path : "--layers";
    int bad = run->resumed || config->initial_model ? -1 : MLP_RUN_INVALID;
    if (config->sizes[0] != data->features) {
        mlp_error_set(error, "%s: the input size is %d but %s has %d pixels per image", origin,
                  config->sizes[0], source, data->features);
        return bad;
    }
    if (config->sizes[config->size_count - 1] != MLP_CLASSES) {
        mlp_error_set(error, "%s: the output size is %d but the data has %d classes", origin,
                  config->sizes[config->size_count - 1], MLP_CLASSES);
        return bad;
    }
    if (config->patience > 0 && config->validation_split <= 0) {
        mlp_error_set(error, "--patience needs a validation set (--val-split > 0)");
        return MLP_RUN_INVALID;
    }
    if (config->recipe.schedule.plateau > 0 && config->validation_split <= 0) {
        mlp_error_set(error, "--lr-plateau needs a validation set (--val-split > 0)");
        return MLP_RUN_INVALID;
    }
    if (mlp_recipe_check(&config->recipe, error) != 0) return MLP_RUN_INVALID;
    return 0;
}

/* Dropout and augmentation (include/mlp/dropout.h, augment.h): every p in [0, 1) (the entries past
 * the hidden layers cleared: a "--dropout P" for all), and pictures the augmentation can take. */
static int check_regularization(mlp_run *run, mlp_error *error) {
    mlp_run_config *config = &run->config;
    const char *source = config->train_csv ? config->train_csv : config->data_dir;
    if (mlp_dropout_fit(&config->recipe.dropout, config->size_count - 2, error) != 0 ||
        mlp_augment_check(&config->recipe.augment, error) != 0 ||
        (mlp_augment_active(&config->recipe.augment) &&
         mlp_augment_check_images(config->train_set->rows, config->train_set->cols, source, error) != 0))
        return MLP_RUN_INVALID;
    return 0;
}

/* The resumed run's data must be the checkpoint's (same count, size and CRC). */
static int check_resumed_data(const mlp_run *run, const mlp_checkpoint *c, mlp_error *error) {
    const mlp_dataset *data = run->config.train_set;
    if ((uint32_t)data->count == c->data_count && (uint32_t)data->features == c->data_features &&
        run->data_checksum == c->data_checksum)
        return 0;
    return mlp_error_set(error, "%s: the training data differs from the checkpoint's (%s: %d images of %d pixels, "
                     "CRC %08x; checkpoint: %u images of %u pixels, CRC %08x)", run->checkpoint_path,
                     run->config.train_csv ? run->config.train_csv : run->config.data_dir, data->count,
                     data->features, run->data_checksum, c->data_count, c->data_features, c->data_checksum);
}

/* Continues where checkpoint c stopped: its history, best model and position. */
static int apply_position(mlp_run *run, mlp_checkpoint *c, mlp_error *error) {
    mlp_trainer *t = &run->trainer;
    run->history_count = c->history_count;
    memcpy(run->history, c->history, (size_t)c->history_count * sizeof *run->history);
    run->best_epoch = c->best_epoch;
    run->best_cost = c->best_cost;
    run->first_epoch = c->epoch;
    run->first_batch = c->first_batch;
    if (run->first_batch >= t->batches_per_epoch)
        return mlp_error_set(error, "%s: batch %d is past the end of the epoch (%d batches)", run->checkpoint_path,
                         run->first_batch, t->batches_per_epoch);
    t->partial_cost_sum = c->partial_cost_sum;
    t->partial_examples = c->partial_examples;
    run->partial_train_seconds = c->partial_train_seconds;
    memcpy(t->batch_costs, c->batch_costs, (size_t)run->first_batch * sizeof *t->batch_costs);
    /* The optimizer's moments and update count, and --lr-plateau's counters. */
    t->optimizer.step = c->optimizer_step;
    t->plateau = c->plateau;
    int arrays = mlp_optimizer_moment_count(t->optimizer.options.kind);
    if (c->moment_count != (arrays ? t->optimizer.count : 0) || c->moment_arrays != arrays)
        return mlp_error_set(error, "%s: the optimizer state (%d arrays of %zu floats) does not fit %s (%d of %zu)",
                         run->checkpoint_path, c->moment_arrays, c->moment_count,
                         mlp_optimizer_name(t->optimizer.options.kind), arrays, t->optimizer.count);
    if (arrays >= 1) memcpy(t->optimizer.moment1, c->moment1, c->moment_count * sizeof(float));
    if (arrays >= 2) memcpy(t->optimizer.moment2, c->moment2, c->moment_count * sizeof(float));
    return 0;
}

/* The model, the trainer, the data-parallel step, the history and the best model. */
static int create_training(mlp_run *run, mlp_checkpoint *resume, mlp_error *error) {
    const mlp_run_config *config = &run->config;
    if (resume) {
        run->model = resume->model; /* take ownership */
        memset(&resume->model, 0, sizeof resume->model);
    } else {
        if (mlp_model_create(&run->model, config->sizes, config->size_count, config->activation,
                         MLP_OUTPUT_SOFTMAX, error) != 0)
            return -1;
        if (config->initial_model) /* same sizes (the caller took them from it) */
            memcpy(run->model.parameters, config->initial_model->parameters,
                   run->model.parameter_count * sizeof *run->model.parameters);
        else
            mlp_model_init_he(&run->model, config->seed);
    }
    mlp_train_options train = {
        .batch = config->batch, .learning_rate = config->learning_rate, .epochs = config->epochs,
        .seed = config->seed, .threads = config->threads, .progress = config->progress,
        .recipe = config->recipe, .precision = config->precision, .plan = config->plan,
    };
    if (mlp_trainer_init(&run->trainer, &run->model, config->kernels, config->train_set, run->train_indices,
                     run->train_count, run->validation_indices, run->validation_count, &train, error) != 0)
        return -1;
    if (config->profile) {
        run->trainer.network.profile = &run->profile;
        run->profile.precision = config->precision; /* names the BF16 GEMMs in the table */
    }
    if (config->gradient_shards > 1 || mlp_distributed_ranks() > 1) {
        if (mlp_sharding_create(&run->sharding, &run->model, config->kernels->name, config->gradient_shards,
                            config->batch, error) != 0)
            return MLP_RUN_INVALID;
        run->trainer.sharding = &run->sharding;
        run->sharding.optimizer = &run->trainer.optimizer;
    }
    int resumed_epochs = resume ? resume->history_count : 0;
    run->history_capacity = config->epochs > resumed_epochs ? config->epochs : resumed_epochs;
    run->history = calloc((size_t)run->history_capacity, sizeof *run->history);
    if (!run->history) return mlp_error_set(error, "out of memory");
    if (config->patience > 0) {
        if (resume && resume->best_model.parameters) {
            run->best_model = resume->best_model;
            memset(&resume->best_model, 0, sizeof resume->best_model);
        } else if (mlp_model_create(&run->best_model, config->sizes, config->size_count, config->activation,
                                MLP_OUTPUT_SOFTMAX, error) != 0) {
            return -1;
        }
    }
    run->first_epoch = 1;
    return resume ? apply_position(run, resume, error) : 0;
}

int mlp_run_open(mlp_run *run, const mlp_run_config *config, mlp_checkpoint *resume, mlp_error *error) {
    memset(run, 0, sizeof *run);
    run->config = *config;
    run->lock = -1;
    run->writer = mlp_distributed_rank() == 0;
    run->resumed = resume != NULL;
    if (!run->config.kernels) run->config.kernels = mlp_kernels_best();
    snprintf(run->checkpoint_path, sizeof run->checkpoint_path, "%s/%s", config->folder ? config->folder : "",
             MLP_CHECKPOINT_FILE_NAME);
    int status = check_config(run, error);
    if (status == 0) status = check_regularization(run, error);
    if (status != 0) return status;
    run->data_checksum = mlp_checkpoint_data_checksum(config->train_set);
    if (resume && check_resumed_data(run, resume, error) != 0) return -1;
    if (take_folder(run, error) != 0) return -1;
    status = mlp_dataset_split(config->train_set->count, config->validation_split, config->seed, &run->train_indices,
                           &run->train_count, &run->validation_indices, &run->validation_count, error);
    if (status == 0) status = create_training(run, resume, error);
    if (status != 0) {
        mlp_run_close(run);
        return status;
    }
    return 0;
}

void mlp_run_close(mlp_run *run) {
    if (run->trainer.sharding) mlp_sharding_free(&run->sharding);
    mlp_trainer_free(&run->trainer);
    mlp_model_free(&run->model);
    mlp_model_free(&run->best_model);
    free(run->history);
    free(run->train_indices);
    free(run->validation_indices);
    mlp_run_unlock_folder(run->lock);
    run->trainer.sharding = NULL;
    run->history = NULL;
    run->train_indices = run->validation_indices = NULL;
    run->lock = -1;
}

/* ---- the epoch loop ---- */

/* Writes the checkpoint (rank 0): the next epoch to run and the first batch in it (mid-epoch
 * after a stop request, with the trainer's partial sums), atomically. */
static int save_checkpoint(const mlp_run *run, int epoch, int first_batch, double partial_train_seconds,
                           mlp_error *error) {
    if (!run->writer) return 0;
    const mlp_run_config *config = &run->config;
    const mlp_trainer *t = &run->trainer;
    mlp_checkpoint *c = malloc(sizeof *c); /* 12 KiB of paths: not on the stack */
    if (!c) return mlp_error_set(error, "%s: out of memory", run->checkpoint_path);
    int resumes_mid_epoch = first_batch > 0; /* then the partial sums of the epoch so far */
    *c = (mlp_checkpoint){
        .train_limit = config->train_limit, .data_count = (uint32_t)config->train_set->count,
        .data_features = (uint32_t)config->train_set->features, .data_checksum = run->data_checksum,
        .batch = t->options.batch, .learning_rate = t->options.learning_rate, .seed = t->options.seed,
        .validation_split = config->validation_split, .epochs = config->epochs, .patience = config->patience,
        .checkpoint_every = config->checkpoint_every, .gradient_shards = config->gradient_shards,
        .epoch = epoch, .first_batch = first_batch,
        .partial_cost_sum = resumes_mid_epoch ? t->partial_cost_sum : 0.0,
        .partial_examples = resumes_mid_epoch ? t->partial_examples : 0,
        .partial_train_seconds = resumes_mid_epoch ? partial_train_seconds : 0.0,
        .batch_cost_count = first_batch, .batch_costs = t->batch_costs,
        .history_count = run->history_count, .history = run->history,
        .best_epoch = run->best_epoch, .best_cost = run->best_cost,
        .best_model = run->best_model, /* borrowed: not freed here */
        .model = run->model,
        .recipe = config->recipe, .precision = config->precision,
        .optimizer_step = t->optimizer.step, .plateau = t->plateau,
        .moment_arrays = mlp_optimizer_moment_count(t->optimizer.options.kind),
        .moment_count = t->optimizer.moment1 ? t->optimizer.count : 0,
        .moment1 = t->optimizer.moment1, .moment2 = t->optimizer.moment2, /* borrowed */
    };
    snprintf(c->kernel, sizeof c->kernel, "%s", config->kernels->name);
    snprintf(c->data_dir, sizeof c->data_dir, "%s", config->train_csv || !config->data_dir ? "" : config->data_dir);
    snprintf(c->train_csv, sizeof c->train_csv, "%s", config->train_csv ? config->train_csv : "");
    snprintf(c->test_csv, sizeof c->test_csv, "%s", config->test_csv ? config->test_csv : "");
    int status = mlp_checkpoint_save(c, run->checkpoint_path, error);
    free(c);
    return status;
}

/* Divergence: a one-line message naming where, suggesting a lower rate; the last checkpoint (if
 * any) was written before the bad batch and is left as it is. The text is part of the CLI's
 * contract (tests/test_reliability_cli.sh). */
static mlp_run_status diverged(const mlp_run *run, int epoch, const char *where, mlp_error *error) {
    struct stat info;
    float rate = run->trainer.options.learning_rate;
    int have_checkpoint = stat(run->checkpoint_path, &info) == 0;
    mlp_error_set(error, "training diverged in epoch %d %s: try a lower --lr than %g, e.g. %g; %s%s", epoch, where,
              rate, rate / 10, have_checkpoint ? "the last good checkpoint is intact: " : "no checkpoint was written",
              have_checkpoint ? run->checkpoint_path : "");
    return MLP_RUN_DIVERGED;
}

/* Where the trainer found the NaN or infinity of a diverged epoch. */
static mlp_run_status diverged_in_batch(const mlp_run *run, int epoch, mlp_error *error) {
    const mlp_trainer *t = &run->trainer;
    char where[128];
    float cost = t->batch_costs[t->diverged_at_batch];
    if (isfinite(cost))
        snprintf(where, sizeof where, "at batch %d of %d (a weight became NaN or infinite)",
                 t->diverged_at_batch + 1, t->batches_per_epoch);
    else
        snprintf(where, sizeof where, "at batch %d of %d (the batch cost is %s)", t->diverged_at_batch + 1,
                 t->batches_per_epoch, isnan(cost) ? "NaN" : "infinite");
    return diverged(run, epoch, where, error);
}

/* --patience: remembers the best epoch's model; returns 1 when the validation cost has not
 * improved for `patience` epochs. */
static int track_best_epoch(mlp_run *run, const mlp_epoch_metrics *m) {
    if (run->config.patience <= 0) return 0;
    if (run->best_epoch == 0 || m->validation.cost < run->best_cost) {
        run->best_epoch = m->epoch;
        run->best_cost = m->validation.cost;
        memcpy(run->best_model.parameters, run->model.parameters, run->model.parameter_count * sizeof(float));
        return 0;
    }
    return m->epoch - run->best_epoch >= run->config.patience;
}

/* Whether a stop was requested here; with several ranks, whether any rank's was (collective). A
 * rank that got none takes SIGTERM's number, so every rank reports the same. */
static int stop_agreed(const mlp_run *run) {
    volatile sig_atomic_t *stop = run->config.stop_requested;
    int local = stop && *stop;
    if (mlp_distributed_any(local) && !local) {
        if (stop) *stop = SIGTERM;
        return 1;
    }
    return local;
}

/* Calls one callback of every observer (rank 0 only); the first failure fails the run. */
enum { CALL_START, CALL_EPOCH, CALL_FINISH };
static int notify(const mlp_run *run, const mlp_run_observer *observers, int count, int which,
                  const mlp_epoch_metrics *m, mlp_error *error) {
    if (!run->writer) return 0;
    for (int i = 0; i < count; i++) {
        const mlp_run_observer *o = &observers[i];
        int status = 0;
        if (which == CALL_START && o->on_start) status = o->on_start(o->context, run, error);
        if (which == CALL_EPOCH && o->on_epoch) status = o->on_epoch(o->context, run, m, error);
        if (which == CALL_FINISH && o->on_finish) status = o->on_finish(o->context, run, error);
        if (status != 0) return -1;
    }
    return 0;
}

/* A stop request ended the run before its end: the checkpoint (the next epoch and batch) is
 * written, and error says where the run stopped. The one exit for interruptions. */
static mlp_run_status interrupted(mlp_run *run, int epoch, int batch, int next_epoch, double partial_seconds,
                                  mlp_error *error) {
    run->stopped_epoch = epoch;
    run->stopped_batch = batch;
    if (save_checkpoint(run, next_epoch, batch, partial_seconds, error) != 0) return MLP_RUN_FAILED;
    if (batch > 0)
        mlp_error_set(error, "in epoch %d after batch %d of %d; checkpoint written to %s", epoch, batch,
                  run->trainer.batches_per_epoch, run->checkpoint_path);
    else /* the request came during the epoch's last batch or its evaluation */
        mlp_error_set(error, "after epoch %d; checkpoint written to %s", epoch, run->checkpoint_path);
    return MLP_RUN_INTERRUPTED;
}

/* The epochs; returns COMPLETED, EARLY_STOPPED or how the run ended early. */
static mlp_run_status train_epochs(mlp_run *run, const mlp_run_observer *observers, int count,
                                   mlp_error *error) {
    const mlp_run_config *config = &run->config;
    mlp_trainer *t = &run->trainer;
    int early_stop = config->patience > 0 && run->best_epoch > 0 &&
                     run->history_count - run->best_epoch >= config->patience;
    for (int epoch = run->first_epoch; epoch <= config->epochs && !early_stop; epoch++) {
        mlp_epoch_metrics *m = &run->history[epoch - 1];
        int resumed_epoch = epoch == run->first_epoch && run->first_batch > 0;
        int status = mlp_trainer_run_epoch(t, epoch, epoch == run->first_epoch ? run->first_batch : 0, m);
        if (resumed_epoch) { /* count the epoch's first part, trained before the checkpoint */
            m->train_seconds += run->partial_train_seconds;
            m->seconds += run->partial_train_seconds;
            m->samples_per_second = m->train_seconds > 0 ? t->partial_examples / m->train_seconds : 0.0;
        }
        if (status == 2) return diverged_in_batch(run, epoch, error);
        if (status == 1) /* stopped mid-epoch: continue from the batch after the last one run */
            return interrupted(run, epoch, t->stopped_at_batch, epoch, m->train_seconds, error);
        if (run->validation_count > 0 && !isfinite(m->validation.cost))
            return diverged(run, epoch, "(the validation cost is not finite)", error);
        run->history_count = epoch;
        if (notify(run, observers, count, CALL_EPOCH, m, error) != 0) return MLP_RUN_FAILED;
        early_stop = track_best_epoch(run, m);
        if (run->validation_count > 0)
            mlp_plateau_update(&t->plateau, config->recipe.schedule.plateau, m->validation.cost);
        int last = epoch == config->epochs || early_stop;
        /* A request during the epoch's last batch or its evaluation: all ranks stop if one got it. */
        int stop = stop_agreed(run);
        if (stop && !last) return interrupted(run, epoch, 0, epoch + 1, 0.0, error);
        if (config->checkpoint_every > 0 && (epoch % config->checkpoint_every == 0 || last) &&
            save_checkpoint(run, epoch + 1, 0, 0.0, error) != 0)
            return MLP_RUN_FAILED;
    }
    return early_stop ? MLP_RUN_EARLY_STOPPED : MLP_RUN_COMPLETED;
}

mlp_run_status mlp_run_execute(mlp_run *run, const mlp_run_observer *observers, int count,
                               mlp_error *error) {
    const mlp_run_config *config = &run->config;
    run->trainer.stop_requested = config->stop_requested;
    if (notify(run, observers, count, CALL_START, NULL, error) != 0) return run->status = MLP_RUN_FAILED;
    run->start_seconds = mlp_wall_seconds();
    run->status = train_epochs(run, observers, count, error);
    if (run->status != MLP_RUN_COMPLETED && run->status != MLP_RUN_EARLY_STOPPED) return run->status;

    /* The kept model: the last epoch's, or the best one's with --patience. */
    run->kept_epoch = run->history_count;
    if (config->patience > 0 && run->best_epoch > 0) {
        run->kept_epoch = run->best_epoch;
        memcpy(run->model.parameters, run->best_model.parameters, run->model.parameter_count * sizeof(float));
    }
    const mlp_dataset *test = config->test_set;
    run->has_test = test && test->count > 0;
    if (run->has_test) mlp_evaluate(&run->trainer.network, test, NULL, test->count, &run->test);
    run->seconds = mlp_wall_seconds() - run->start_seconds;
    if (notify(run, observers, count, CALL_FINISH, NULL, error) != 0) return run->status = MLP_RUN_FAILED;
    /* The model last: a run that fails on any other output leaves the previous model.mlp alone. */
    char path[4200];
    snprintf(path, sizeof path, "%s/model.mlp", config->folder);
    if (run->writer && mlp_model_save(&run->model, path, error) != 0) return run->status = MLP_RUN_FAILED;
    return run->status;
}
