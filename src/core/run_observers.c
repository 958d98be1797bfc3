/* The standard observers of a run (include/mlp/run.h): the console banner and final report,
 * the epoch table, metrics.csv and summary.json. curves.png is the study library's
 * (plot_curves_observer in include/mlp/plot.h), so that the core does not link PLplot. */
#include <stdio.h>
#include <string.h>

#include "mlp/augment.h"
#include "mlp/dropout.h"
#include "mlp/optimizer.h"
#include "mlp/run.h"
#include "mlp/run_output.h"

/* ---- the console ---- */

static int console_start(void *context, const mlp_run *run, mlp_error *error) {
    (void)context;
    (void)error;
    const mlp_run_config *c = &run->config;
    const mlp_trainer *t = &run->trainer;
    char layers[512] = "";
    for (int i = 0; i < c->size_count; i++)
        snprintf(layers + strlen(layers), sizeof layers - strlen(layers), i ? ",%d" : "%d", c->sizes[i]);
    printf("training %s (%s) on %d images, validating on %d; kernel %s, precision %s, %d threads, batch %d, "
           "lr %g, seed %llu\n",
           layers, mlp_model_activation_name(c->activation), run->train_count, run->validation_count,
           c->kernels->name, mlp_precision_name(c->precision), t->options.threads, t->options.batch, t->options.learning_rate,
           (unsigned long long)t->options.seed);
    if (mlp_dropout_active(&c->recipe.dropout, c->size_count - 2) || mlp_augment_active(&c->recipe.augment)) {
        char dropout[256], augment[256];
        mlp_dropout_format(&c->recipe.dropout, c->size_count - 2, dropout, sizeof dropout);
        mlp_augment_format(&c->recipe.augment, augment, sizeof augment);
        printf("dropout %s; augment %s\n", dropout, augment);
    }
    char recipe[256];
    mlp_recipe_describe(&c->recipe, recipe, sizeof recipe);
    printf("optimizer: %s\n", recipe);
    printf("writing to %s/\n", c->folder);
    if (t->sharding)
        printf("data-parallel: %d MPI rank%s, %d gradient shards of each batch\n", mlp_distributed_ranks(),
               mlp_distributed_ranks() == 1 ? "" : "s", c->gradient_shards);
    if (run->resumed)
        printf("resuming from %s: epoch %d, batch %d of %d\n", run->checkpoint_path, run->first_epoch,
               run->first_batch, t->batches_per_epoch);
    return 0;
}

static int console_finish(void *context, const mlp_run *run, mlp_error *error) {
    (void)context;
    (void)error;
    if (run->config.patience > 0 && run->best_epoch > 0) {
        const mlp_evaluation *v = &run->history[run->kept_epoch - 1].validation;
        printf("%s: keeping the model of epoch %d (validation cost %.4f, accuracy %.2f%%)\n",
               run->status == MLP_RUN_EARLY_STOPPED
                   ? "early stop: the validation cost has not improved for --patience epochs"
                   : "--patience",
               run->kept_epoch, v->cost, 100.0 * v->accuracy);
    }
    if (run->has_test)
        printf("test: accuracy %.2f%%, cost %.4f, confidence %.4f (predicted) %.4f (true), %d images\n",
               100.0 * run->test.accuracy, run->test.cost, run->test.confidence_predicted,
               run->test.confidence_true, run->test.count);
    if (run->config.profile) mlp_profile_print(&run->profile, &run->model, run->config.kernels->name, stdout);
    return 0;
}

mlp_run_observer mlp_run_console_observer(void) {
    return (mlp_run_observer){.on_start = console_start, .on_finish = console_finish};
}

/* ---- the epoch table ---- */

static int table_start(void *context, const mlp_run *run, mlp_error *error) {
    (void)context;
    (void)run;
    (void)error;
    mlp_metrics_print_header();
    return 0;
}

static int table_epoch(void *context, const mlp_run *run, const mlp_epoch_metrics *metrics, mlp_error *error) {
    (void)context;
    (void)run;
    (void)error;
    mlp_metrics_print_epoch(metrics);
    return 0;
}

mlp_run_observer mlp_run_table_observer(void) {
    return (mlp_run_observer){.on_start = table_start, .on_epoch = table_epoch};
}

/* ---- files ---- */

static int metrics_epoch(void *context, const mlp_run *run, const mlp_epoch_metrics *metrics, mlp_error *error) {
    (void)context;
    (void)metrics;
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.csv", run->config.folder);
    return mlp_metrics_csv_write(path, run->history, run->history_count, error);
}

mlp_run_observer mlp_run_metrics_observer(void) {
    return (mlp_run_observer){.on_epoch = metrics_epoch};
}

static int summary_finish(void *context, const mlp_run *run, mlp_error *error) {
    (void)context;
    const mlp_run_config *c = &run->config;
    mlp_run_summary summary = {
        .model = &run->model, .kernel = c->kernels->name, .precision = c->precision, .threads = run->trainer.options.threads,
        .batch = run->trainer.options.batch, .learning_rate = run->trainer.options.learning_rate,
        .seed = run->trainer.options.seed, .epochs = run->history_count,
        .samples_per_second = mlp_metrics_median_samples_per_second(run->history, run->history_count),
        .validation = run->history[run->kept_epoch - 1].validation,
        .has_test = run->has_test, .test = run->test, .seconds = run->seconds,
        .profile = c->profile ? &run->profile : NULL, .recipe = &c->recipe, .plan = c->plan,
        .recipe_name = c->recipe_name,
    };
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.json", c->folder);
    return mlp_summary_json_write(path, &summary, error);
}

mlp_run_observer mlp_run_summary_observer(void) {
    return (mlp_run_observer){.on_finish = summary_finish};
}
