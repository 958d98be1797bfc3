/* `trainer [train]`: train an MLP on MNIST-style data and save the model, curves and summary;
 * checkpoints, --resume, SIGINT/SIGTERM, --patience, divergence and --trap-fp. */
#define _GNU_SOURCE /* feenableexcept, sigaction */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "interop_hooks.h"
#include "mlp/checkpoint.h"
#include "mlp/distributed.h"
#include "mlp/file_util.h"
#include "mlp/plot.h"
#include "mlp/run_output.h"
#include "mlp/train.h"
#include "train_safeguards.h"

typedef struct train_command_options {
    data_options data;
    runtime_options runtime;
    const char *layers;
    recipe_options recipe;
    const char *out;
    int profile;
    int checkpoint_every; /* epochs; -1 until decided (1 with --out, else 0) */
    const char *resume;
    int patience;
    int trap_fp;
    int gradient_shards;
    const char *init_model;  /* --init-model: start from this model file (interop_hooks.h) */
    const char *write_order; /* --write-order: write every epoch's example order          */
} train_command_options;

/* ---- the epoch loop's state, checkpoints, --resume, --patience, divergence ---- */

/* What the epoch loop carries besides the trainer: the history, the best model, the identity of
 * the run that a checkpoint records. */
typedef struct run_state {
    const char *folder;
    char checkpoint_path[4200];
    const kernel_table *kernels;
    const data_options *data;
    uint32_t data_count, data_features, data_checksum;
    float validation_split;
    int epochs, patience, checkpoint_every, gradient_shards;
    epoch_metrics *history;
    int history_count;
    int best_epoch;
    double best_cost;
    mlp_model best_model; /* parameters NULL without --patience */
} run_state;

/* Writes the checkpoint: the next epoch to run and the first batch in it (mid-epoch after a
 * signal, with the trainer's partial sums), atomically. */
static int save_checkpoint(const run_state *s, const trainer *t, int epoch, int first_batch,
                           double partial_train_seconds, mlp_error *error) {
    if (distributed_rank() != 0) return 0; /* only rank 0 writes files */
    static checkpoint c; /* 12 KiB of paths: not on the stack */
    memset(&c, 0, sizeof c);
    snprintf(c.kernel, sizeof c.kernel, "%s", s->kernels->name);
    snprintf(c.data_dir, sizeof c.data_dir, "%s", s->data->train_csv ? "" : s->data->data_dir);
    snprintf(c.train_csv, sizeof c.train_csv, "%s", s->data->train_csv ? s->data->train_csv : "");
    snprintf(c.test_csv, sizeof c.test_csv, "%s", s->data->test_csv ? s->data->test_csv : "");
    c.train_limit = s->data->train_limit;
    c.data_count = s->data_count;
    c.data_features = s->data_features;
    c.data_checksum = s->data_checksum;
    c.batch = t->options.batch;
    c.learning_rate = t->options.learning_rate;
    c.seed = t->options.seed;
    c.validation_split = s->validation_split;
    c.epochs = s->epochs;
    c.patience = s->patience;
    c.checkpoint_every = s->checkpoint_every;
    c.gradient_shards = s->gradient_shards;
    c.epoch = epoch;
    c.first_batch = first_batch;
    c.partial_cost_sum = first_batch > 0 ? t->partial_cost_sum : 0.0;
    c.partial_examples = first_batch > 0 ? t->partial_examples : 0;
    c.partial_train_seconds = first_batch > 0 ? partial_train_seconds : 0.0;
    c.batch_cost_count = first_batch;
    c.batch_costs = t->batch_costs;
    c.history_count = s->history_count;
    c.history = s->history;
    c.best_epoch = s->best_epoch;
    c.best_cost = s->best_cost;
    c.best_model = s->best_model; /* borrowed: not freed here */
    c.model = *t->model;
    return checkpoint_save(&c, s->checkpoint_path, error);
}

/* --resume: the checkpoint's options become the run's; an option given on the command line
 * that contradicts them is a usage error. --epochs may be raised to train further. */
static void apply_checkpoint(const checkpoint *c, const char *path, train_command_options *o,
                             int argc, char **argv, int first) {
    mlp_error error;
    const char *clash = NULL;
    char layers[512] = "", stored_layers[512] = "";
    for (int i = 0; i <= c->model.layer_count; i++)
        snprintf(stored_layers + strlen(stored_layers), sizeof stored_layers - strlen(stored_layers),
                 i ? ",%d" : "%d", c->model.sizes[i]);
    if (option_given(argc, argv, first, "--layers")) {
        int sizes[MLP_MAX_LAYERS + 1], count;
        if (model_parse_layers(o->layers, sizes, &count, &error) != 0) cli_fail(CLI_EXIT_USAGE, &error);
        for (int i = 0; i < count; i++)
            snprintf(layers + strlen(layers), sizeof layers - strlen(layers), i ? ",%d" : "%d", sizes[i]);
        if (strcmp(layers, stored_layers) != 0) clash = "--layers";
    }
    const char *stored_activation = model_activation_name(c->model.hidden_activation);
    if (option_given(argc, argv, first, "--activation") && strcmp(o->recipe.activation, stored_activation) != 0) clash = "--activation";
    if (option_given(argc, argv, first, "--batch") && o->recipe.batch != c->batch) clash = "--batch";
    if (option_given(argc, argv, first, "--lr") && o->recipe.learning_rate != c->learning_rate) clash = "--lr";
    if (option_given(argc, argv, first, "--seed") && o->recipe.seed != c->seed) clash = "--seed";
    if (option_given(argc, argv, first, "--val-split") && o->recipe.validation_split != c->validation_split) clash = "--val-split";
    if (option_given(argc, argv, first, "--patience") && o->patience != c->patience) clash = "--patience";
    if (option_given(argc, argv, first, "--gradient-shards") && o->gradient_shards != c->gradient_shards)
        clash = "--gradient-shards";
    if (option_given(argc, argv, first, "--train-limit") && o->data.train_limit != c->train_limit) clash = "--train-limit";
    if (option_given(argc, argv, first, "--kernel") && strcmp(o->runtime.kernel, c->kernel) != 0) clash = "--kernel";
    if (option_given(argc, argv, first, "--out")) clash = "--out";
    if (option_given(argc, argv, first, "--init-model")) clash = "--init-model";
    if (clash) {
        error_set(&error, "%s: %s contradicts the checkpoint (layers %s, %s, batch %d, lr %g, seed %llu, "
                  "val-split %g, patience %d, train-limit %d, kernel %s); --resume continues the same run",
                  path, clash, stored_layers, stored_activation, c->batch, c->learning_rate,
                  (unsigned long long)c->seed, c->validation_split, c->patience, c->train_limit, c->kernel);
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    if (option_given(argc, argv, first, "--epochs") && o->recipe.epochs < c->history_count) {
        error_set(&error, "%s: --epochs %d is fewer than the %d epochs already done", path, o->recipe.epochs,
                  c->history_count);
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    if (!option_given(argc, argv, first, "--epochs")) o->recipe.epochs = c->epochs;
    if (!option_given(argc, argv, first, "--checkpoint-every")) o->checkpoint_every = c->checkpoint_every;
    o->layers = NULL; /* the model comes from the checkpoint */
    o->recipe.activation = stored_activation;
    o->recipe.batch = c->batch;
    o->recipe.learning_rate = c->learning_rate;
    o->recipe.seed = c->seed;
    o->recipe.validation_split = c->validation_split;
    o->patience = c->patience;
    o->gradient_shards = c->gradient_shards;
    o->runtime.kernel = c->kernel;
    o->data.train_limit = c->train_limit;
    int given_data = option_given(argc, argv, first, "--data") || option_given(argc, argv, first, "--train-csv");
    if (!given_data) {
        o->data.data_dir = c->data_dir[0] ? c->data_dir : o->data.data_dir;
        o->data.train_csv = c->train_csv[0] ? c->train_csv : NULL;
    }
    if (!given_data && !option_given(argc, argv, first, "--test-csv"))
        o->data.test_csv = c->test_csv[0] ? c->test_csv : NULL;
}

/* Divergence: a one-line error naming where, suggesting a lower rate; the last checkpoint (if
 * any) was written before the bad batch and is left as it is. */
static void fail_diverged(const run_state *s, const trainer *t, int epoch, const char *where) {
    mlp_error error;
    struct stat info;
    int have_checkpoint = stat(s->checkpoint_path, &info) == 0;
    error_set(&error, "training diverged in epoch %d %s: try a lower --lr than %g, e.g. %g; %s%s", epoch, where,
              t->options.learning_rate, t->options.learning_rate / 10,
              have_checkpoint ? "the last good checkpoint is intact: " : "no checkpoint was written",
              have_checkpoint ? s->checkpoint_path : "");
    cli_fail(CLI_EXIT_RUNTIME, &error);
}

/* --patience: remembers the best epoch's model; returns 1 when the validation cost has not
 * improved for `patience` epochs. */
static int track_best_epoch(run_state *s, const mlp_model *model, const epoch_metrics *m) {
    if (s->patience <= 0) return 0;
    if (s->best_epoch == 0 || m->validation.cost < s->best_cost) {
        s->best_epoch = m->epoch;
        s->best_cost = m->validation.cost;
        memcpy(s->best_model.parameters, model->parameters, model->parameter_count * sizeof(float));
        return 0;
    }
    return m->epoch - s->best_epoch >= s->patience;
}

int command_train(int argc, char **argv, int first) {
    train_command_options o = {
        .layers = "784,128,64,10", .out = NULL, .checkpoint_every = -1, .gradient_shards = 1,
    };
    data_options_init(&o.data);
    runtime_options_init(&o.runtime);
    recipe_options_init(&o.recipe);
    cli_option options[DATA_OPTION_COUNT + RUNTIME_OPTION_COUNT + 16] = {0};
    data_options_describe(&o.data, options);
    runtime_options_describe(&o.runtime, options + DATA_OPTION_COUNT);
    cli_option *own = options + DATA_OPTION_COUNT + RUNTIME_OPTION_COUNT;
    own[0] = (cli_option){.name = "--layers", .type = CLI_STRING, .target = &o.layers, .value_name = "SIZES", .help = "layer sizes, input first: 784,H1,...,10"};
    recipe_options_describe(&o.recipe, own + 1); /* own[1 .. RECIPE_OPTION_COUNT] */
    own[7] = (cli_option){.name = "--out", .type = CLI_STRING, .target = &o.out, .value_name = "DIR", .help = "where to write model.mlp, metrics.csv, summary.json "
                          "(default: a fresh folder under runs/)"};
    own[8] = (cli_option){.name = "--profile", .type = CLI_FLAG, .target = &o.profile,
                          .help = "time every layer's kernels; print a table at the end and add it "
                                  "to summary.json"};
    own[9] = (cli_option){.name = "--checkpoint-every", .type = CLI_INT, .target = &o.checkpoint_every, .value_name = "N",
                          .help = "write DIR/" CHECKPOINT_FILE_NAME " every N epochs (0: never; default 1 with --out, else 0; -1 = that default)", .min = -1, .max = 1000000};
    own[10] = (cli_option){.name = "--resume", .type = CLI_STRING, .target = &o.resume, .value_name = "DIR",
                           .help = "continue the run in DIR from its " CHECKPOINT_FILE_NAME " (same final model as an uninterrupted run)"};
    own[11] = (cli_option){.name = "--patience", .type = CLI_INT, .target = &o.patience, .value_name = "N",
                           .help = "stop when the validation cost has not improved for N epochs and keep the best epoch's model (0: off)", .max = 1000000};
    own[12] = (cli_option){.name = "--trap-fp", .type = CLI_FLAG, .target = &o.trap_fp,
                           .help = "trap invalid/divide-by-zero/overflow floating-point operations (SIGFPE), for debugging"};
    own[13] = (cli_option){.name = "--gradient-shards", .type = CLI_INT, .target = &o.gradient_shards, .value_name = "G",
                           .help = "cut each batch into G row shards and sum their gradients in order: the same model "
                                   "for any number of MPI ranks <= G (1: the plain step; see README, Multi-machine training)", .min = 1, .max = 1 << 20};
    own[14] = (cli_option){.name = "--init-model", .type = CLI_STRING, .target = &o.init_model, .value_name = "FILE",
                           .help = "start from this model (e.g. from trainer import) instead of He initialisation; its shape is the run's"};
    own[15] = (cli_option){.name = "--write-order", .type = CLI_STRING, .target = &o.write_order, .value_name = "FILE",
                           .help = "write each epoch's training indices in the order trained: epochs x train-count int32, little-endian"};
    cli_command command = {
        "trainer [train] [options]",
        "Trains a multilayer perceptron (softmax output, cross-entropy cost, He initialisation,\n"
        "mini-batch SGD) on MNIST IDX files or a Kaggle-style CSV. Pixels are scaled to 0..1.\n"
        "A seeded split holds out --val-split of the training file for validation; the test\n"
        "set (t10k-* in --data, or --test-csv) is used only for the final report.\n"
        "SIGINT/SIGTERM finish the batch, write a checkpoint and exit 130/143; --resume DIR continues.",
        options, (int)(sizeof options / sizeof options[0]), NULL};
    cli_parse_or_exit(&command, argc, argv, first);

    mlp_error error;
    /* Under mpirun: every rank trains; only rank 0 prints and writes files. */
    if (distributed_start(&error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    int writer = distributed_rank() == 0;
    /* Several ranks on one machine share its cores and let the OS place their threads (binding
     * would pin every rank's threads to the same first cores), unless told otherwise. */
    int local_ranks = distributed_local_ranks();
    if (local_ranks > 1 && !option_given(argc, argv, first, "--threads"))
        o.runtime.threads = o.runtime.threads > local_ranks ? o.runtime.threads / local_ranks : 1;
    if (local_ranks > 1 && !option_given(argc, argv, first, "--bind")) o.runtime.bind = "none";
    if (!writer && !freopen("/dev/null", "w", stdout)) {
        error_set(&error, "/dev/null: cannot open for writing");
        cli_fail(CLI_EXIT_RUNTIME, &error);
    }
    checkpoint resumed;
    memset(&resumed, 0, sizeof resumed);
    char resume_path[4200];
    if (o.resume) {
        snprintf(resume_path, sizeof resume_path, "%s/%s", o.resume, CHECKPOINT_FILE_NAME);
        if (checkpoint_load(&resumed, resume_path, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
        apply_checkpoint(&resumed, resume_path, &o, argc, argv, first);
        o.out = o.resume;
    }
    if (o.checkpoint_every < 0) o.checkpoint_every = o.out ? 1 : 0;
    if (o.trap_fp) enable_fp_traps(o.runtime.threads);

    int sizes[MLP_MAX_LAYERS + 1], size_count;
    mlp_activation activation;
    mlp_model init_model = {0};
    if (o.resume) {
        size_count = resumed.model.layer_count + 1;
        memcpy(sizes, resumed.model.sizes, (size_t)size_count * sizeof *sizes);
        activation = resumed.model.hidden_activation;
    } else if (o.init_model) {
        int status = train_load_init_model(o.init_model, argc, argv, first, o.layers, o.recipe.activation, &init_model,
                                           sizes, &size_count, &activation, &error);
        if (status != 0) cli_fail(status, &error);
        o.recipe.activation = model_activation_name(activation);
    } else if (model_parse_layers(o.layers, sizes, &size_count, &error) != 0 ||
               model_parse_activation(o.recipe.activation, &activation, &error) != 0 ||
               check_training_fits_memory(o.layers, sizes, size_count, o.recipe.batch, o.patience > 0, &error) != 0) {
        cli_fail(CLI_EXIT_USAGE, &error);
    }
    const kernel_table *kernels = runtime_setup(&o.runtime, &error);
    if (!kernels) cli_fail(CLI_EXIT_RUNTIME, &error);

    mlp_dataset train_set, test_set;
    if (data_options_load(&o.data, &train_set, &test_set, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    const char *source = o.data.train_csv ? o.data.train_csv : o.data.data_dir;
    if (sizes[0] != train_set.features) {
        error_set(&error, "%s: the input size is %d but %s has %d pixels per image",
                  o.resume ? resume_path : o.init_model ? o.init_model : "--layers", sizes[0], source, train_set.features);
        cli_fail(o.resume || o.init_model ? CLI_EXIT_RUNTIME : CLI_EXIT_USAGE, &error);
    }
    if (sizes[size_count - 1] != MLP_CLASSES) {
        error_set(&error, "%s: the output size is %d but the data has %d classes",
                  o.resume ? resume_path : o.init_model ? o.init_model : "--layers", sizes[size_count - 1], MLP_CLASSES);
        cli_fail(o.resume || o.init_model ? CLI_EXIT_RUNTIME : CLI_EXIT_USAGE, &error);
    }
    uint32_t data_checksum = checkpoint_data_checksum(&train_set);
    if (o.resume && ((uint32_t)train_set.count != resumed.data_count ||
                     (uint32_t)train_set.features != resumed.data_features || data_checksum != resumed.data_checksum)) {
        error_set(&error, "%s: the training data differs from the checkpoint's (%s: %d images of %d pixels, "
                  "CRC %08x; checkpoint: %u images of %u pixels, CRC %08x)", resume_path, source,
                  train_set.count, train_set.features, data_checksum, resumed.data_count,
                  resumed.data_features, resumed.data_checksum);
        cli_fail(CLI_EXIT_RUNTIME, &error);
    }
    if (o.patience > 0 && o.recipe.validation_split <= 0) {
        error_set(&error, "--patience needs a validation set (--val-split > 0)");
        cli_fail(CLI_EXIT_USAGE, &error);
    }

    char run_folder[4096];
    if (!writer) {
        snprintf(run_folder, sizeof run_folder, "%s", o.out ? o.out : "(rank 0's run folder)");
    } else if (cli_output_folder(o.out, run_folder, sizeof run_folder, &error) != 0) {
        cli_fail(CLI_EXIT_RUNTIME, &error);
    }

    int *train_indices, *validation_indices, train_count, validation_count;
    if (dataset_split(train_set.count, o.recipe.validation_split, o.recipe.seed, &train_indices, &train_count,
                      &validation_indices, &validation_count, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);

    mlp_model model;
    if (o.resume) {
        model = resumed.model; /* take ownership */
        memset(&resumed.model, 0, sizeof resumed.model);
    } else if (o.init_model) {
        model = init_model; /* take ownership */
    } else {
        if (model_create(&model, sizes, size_count, activation, MLP_OUTPUT_SOFTMAX, &error) != 0)
            cli_fail(CLI_EXIT_RUNTIME, &error);
        model_init_he(&model, o.recipe.seed);
    }

    train_options train = {
        .batch = o.recipe.batch, .learning_rate = o.recipe.learning_rate, .epochs = o.recipe.epochs, .seed = o.recipe.seed,
        .threads = o.runtime.threads, .progress = 1,
    };
    trainer t;
    if (trainer_init(&t, &model, kernels, &train_set, train_indices, train_count,
                     validation_indices, validation_count, &train, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    if (o.write_order && writer && train_write_order(&t, o.recipe.epochs, o.write_order, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    network_profile profile = {0};
    if (o.profile) t.network.profile = &profile;
    gradient_sharding sharding;
    if (o.gradient_shards > 1 || distributed_ranks() > 1) {
        if (sharding_create(&sharding, &model, kernels->name, o.gradient_shards, o.recipe.batch, &error) != 0)
            cli_fail(CLI_EXIT_USAGE, &error);
        t.sharding = &sharding;
    }

    /* The run's state: fresh, or the checkpoint's history, best model and position. */
    run_state state = {
        .folder = run_folder, .kernels = kernels, .data = &o.data, .data_count = (uint32_t)train_set.count,
        .data_features = (uint32_t)train_set.features, .data_checksum = data_checksum,
        .validation_split = o.recipe.validation_split, .epochs = o.recipe.epochs, .patience = o.patience,
        .checkpoint_every = o.checkpoint_every, .gradient_shards = o.gradient_shards,
    };
    snprintf(state.checkpoint_path, sizeof state.checkpoint_path, "%s/%s", run_folder, CHECKPOINT_FILE_NAME);
    int history_capacity = o.recipe.epochs > resumed.history_count ? o.recipe.epochs : resumed.history_count;
    state.history = calloc((size_t)history_capacity, sizeof *state.history);
    if (!state.history) {
        error_set(&error, "out of memory");
        cli_fail(CLI_EXIT_RUNTIME, &error);
    }
    if (o.patience > 0) {
        if (o.resume && resumed.best_model.parameters) {
            state.best_model = resumed.best_model;
            memset(&resumed.best_model, 0, sizeof resumed.best_model);
        } else if (model_create(&state.best_model, sizes, size_count, activation, MLP_OUTPUT_SOFTMAX, &error) != 0) {
            cli_fail(CLI_EXIT_RUNTIME, &error);
        }
    }
    int first_epoch = 1, first_batch = 0;
    double partial_train_seconds = 0.0;
    if (o.resume) {
        state.history_count = resumed.history_count;
        memcpy(state.history, resumed.history, (size_t)resumed.history_count * sizeof *state.history);
        state.best_epoch = resumed.best_epoch;
        state.best_cost = resumed.best_cost;
        first_epoch = resumed.epoch;
        first_batch = resumed.first_batch;
        if (first_batch >= t.batches_per_epoch) {
            error_set(&error, "%s: batch %d is past the end of the epoch (%d batches)", resume_path,
                      first_batch, t.batches_per_epoch);
            cli_fail(CLI_EXIT_RUNTIME, &error);
        }
        t.partial_cost_sum = resumed.partial_cost_sum;
        t.partial_examples = resumed.partial_examples;
        partial_train_seconds = resumed.partial_train_seconds;
        memcpy(t.batch_costs, resumed.batch_costs, (size_t)first_batch * sizeof *t.batch_costs);
    }
    int early_stop = o.patience > 0 && state.best_epoch > 0 &&
                     state.history_count - state.best_epoch >= o.patience;

    char layer_text[512] = "";
    for (int i = 0; i < size_count; i++)
        snprintf(layer_text + strlen(layer_text), sizeof layer_text - strlen(layer_text), i ? ",%d" : "%d", sizes[i]);
    printf("training %s (%s) on %d images, validating on %d; kernel %s, %d threads, batch %d, lr %g, seed %llu\n",
           layer_text, o.recipe.activation, train_count, validation_count, kernels->name, train.threads,
           train.batch, train.learning_rate, (unsigned long long)train.seed);
    printf("writing to %s/\n", run_folder);
    if (t.sharding)
        printf("data-parallel: %d MPI rank%s, %d gradient shards of each batch\n", distributed_ranks(),
               distributed_ranks() == 1 ? "" : "s", o.gradient_shards);
    if (o.resume)
        printf("resuming from %s: epoch %d, batch %d of %d\n", resume_path, first_epoch, first_batch,
               t.batches_per_epoch);
    metrics_print_header();

    char path[4200];
    double start = wall_seconds();
    t.stop_requested = &train_stop_signal;
    install_stop_handlers();
    int curves_warned = 0;
    for (int epoch = first_epoch; epoch <= o.recipe.epochs && !early_stop; epoch++) {
        epoch_metrics *m = &state.history[epoch - 1];
        int status = trainer_run_epoch(&t, epoch, epoch == first_epoch ? first_batch : 0, m);
        if (epoch == first_epoch && first_batch > 0) { /* a resumed epoch: count its first part */
            m->train_seconds += partial_train_seconds;
            m->seconds += partial_train_seconds;
            m->samples_per_second = m->train_seconds > 0 ? t.partial_examples / m->train_seconds : 0.0;
        }
        if (status == 2) {
            char where[128];
            float cost = t.batch_costs[t.diverged_at_batch];
            if (isfinite(cost))
                snprintf(where, sizeof where, "at batch %d of %d (a weight became NaN or infinite)",
                         t.diverged_at_batch + 1, t.batches_per_epoch);
            else
                snprintf(where, sizeof where, "at batch %d of %d (the batch cost is %s)", t.diverged_at_batch + 1,
                         t.batches_per_epoch, isnan(cost) ? "NaN" : "infinite");
            fail_diverged(&state, &t, epoch, where);
        }
        if (status == 1) { /* SIGINT/SIGTERM mid-epoch: save the position and stop */
            if (save_checkpoint(&state, &t, epoch, t.stopped_at_batch, m->train_seconds, &error) != 0)
                cli_fail(CLI_EXIT_RUNTIME, &error);
            if (writer) fprintf(stderr, "trainer: interrupted by %s in epoch %d after batch %d of %d; checkpoint "
                    "written to %s (continue with: trainer --resume %s)\n",
                    train_stop_signal == SIGINT ? "SIGINT" : "SIGTERM", epoch, t.stopped_at_batch,
                    t.batches_per_epoch, state.checkpoint_path, run_folder);
            distributed_stop(); /* every rank stopped after the same batch */
            exit(128 + train_stop_signal);
        }
        if (validation_count > 0 && !isfinite(m->validation.cost)) fail_diverged(&state, &t, epoch, "(the validation cost is not finite)");
        state.history_count = epoch;
        metrics_print_epoch(m);
        snprintf(path, sizeof path, "%s/metrics.csv", run_folder);
        if (writer && metrics_csv_write(path, state.history, state.history_count, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
        /* curves.png after every epoch; without PLplot's pngcairo, one warning and no figure. */
        snprintf(path, sizeof path, "%s/curves.png", run_folder);
        plot_run curves = {run_folder, state.history, state.history_count};
        if (writer && plot_learning_curves(path, &curves, 1, run_folder, &error) != 0 && !curves_warned++)
            fprintf(stderr, "trainer: warning: no curves.png: %s\n", error.message);
        early_stop = track_best_epoch(&state, &model, m);
        int last = epoch == o.recipe.epochs || early_stop;
        /* A signal during the epoch's last batch or its evaluation: all MPI ranks stop if one got it. */
        if (distributed_any(train_stop_signal != 0) && !train_stop_signal) train_stop_signal = SIGTERM;
        if ((o.checkpoint_every > 0 && (epoch % o.checkpoint_every == 0 || last)) || (train_stop_signal && !last))
            if (save_checkpoint(&state, &t, epoch + 1, 0, 0.0, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
        if (train_stop_signal && !last) { /* the signal came during the epoch's last batch or evaluation */
            if (writer) fprintf(stderr, "trainer: interrupted by %s after epoch %d; checkpoint written to %s "
                    "(continue with: trainer --resume %s)\n", train_stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
                    epoch, state.checkpoint_path, run_folder);
            distributed_stop(); /* every rank stopped after the same batch */
            exit(128 + train_stop_signal);
        }
    }
    int epochs_done = state.history_count;
    epoch_metrics *history = state.history;
    int reported = epochs_done; /* the epoch whose model is saved */
    if (o.patience > 0 && state.best_epoch > 0) {
        reported = state.best_epoch;
        memcpy(model.parameters, state.best_model.parameters, model.parameter_count * sizeof(float));
        printf("%s: keeping the model of epoch %d (validation cost %.4f, accuracy %.2f%%)\n",
               early_stop ? "early stop: the validation cost has not improved for --patience epochs"
                          : "--patience",
               reported, history[reported - 1].validation.cost, 100.0 * history[reported - 1].validation.accuracy);
    }

    run_summary summary = {
        .model = &model, .kernel = kernels->name, .threads = train.threads, .batch = train.batch,
        .learning_rate = train.learning_rate, .seed = train.seed, .epochs = epochs_done,
        .samples_per_second = metrics_median_samples_per_second(history, epochs_done),
        .validation = history[reported - 1].validation,
        .has_test = test_set.count > 0,
    };
    if (summary.has_test) {
        evaluate(&t.network, &test_set, NULL, test_set.count, &summary.test);
        printf("test: accuracy %.2f%%, cost %.4f, confidence %.4f (predicted) %.4f (true), %d images\n",
               100.0 * summary.test.accuracy, summary.test.cost, summary.test.confidence_predicted,
               summary.test.confidence_true, summary.test.count);
    }
    summary.seconds = wall_seconds() - start;
    if (o.profile) {
        profile_print(&profile, &model, kernels->name, stdout);
        summary.profile = &profile;
    }
    snprintf(path, sizeof path, "%s/summary.json", run_folder);
    if (writer && summary_json_write(path, &summary, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    /* The model last: a run that fails on any other output leaves the previous model.mlp alone. */
    snprintf(path, sizeof path, "%s/model.mlp", run_folder);
    if (writer && model_save(&model, path, &error) != 0) cli_fail(CLI_EXIT_RUNTIME, &error);
    printf("saved %s/model.mlp, metrics.csv, summary.json (%.1f s)\n", run_folder, summary.seconds);
    if (t.sharding && sharding.steps > 0)
        printf("data-parallel: rank 0 received %.1f KB of gradient shards per step; step %.1f us "
               "(mean) %.1f us (min) %.1f us (min CPU), of which waiting for the gathers %.1f us (mean) "
               "%.1f us (min)\n", sharding.total_received_floats * 4 / 1e3 / sharding.steps,
               1e6 * sharding.total_step_seconds / sharding.steps, 1e6 * sharding.min_step_seconds,
               1e6 * sharding.min_step_cpu_seconds, 1e6 * sharding.total_wait_seconds / sharding.steps,
               1e6 * sharding.min_wait_seconds);

    free(history);
    model_free(&state.best_model);
    checkpoint_free(&resumed);
    trainer_free(&t);
    model_free(&model);
    free(train_indices);
    free(validation_indices);
    dataset_free(&train_set);
    dataset_free(&test_set);
    if (t.sharding) sharding_free(&sharding);
    distributed_stop();
    if (train_stop_signal) return 128 + train_stop_signal; /* interrupted after the last epoch: outputs are complete */
    return 0;
}
