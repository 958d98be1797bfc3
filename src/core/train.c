/* The training loop: shuffle, gather a batch, forward, loss, backward, update; then evaluate. */
#include "mlp/train.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/team_barrier.h"
#include "core/timeline.h"
#include "mlp/augment.h"
#include "mlp/distributed.h"
#include "mlp/dropout.h"
#include "mlp/plan.h"
#include "mlp/rng.h"

/* Evaluation runs in chunks of at least this many rows (bigger GEMMs, fewer barriers). */
#define EVALUATION_CHUNK 256

int mlp_trainer_init(mlp_trainer *t, mlp_model *model, const mlp_kernel_table *kernels,
                 const mlp_dataset *data, const int *train_indices, int train_count,
                 const int *validation_indices, int validation_count,
                 const mlp_train_options *options, mlp_error *error) {
    memset(t, 0, sizeof *t);
    t->options = *options;
    t->model = model;
    t->data = data;
    t->train_indices = train_indices;
    t->train_count = train_count;
    t->validation_indices = validation_indices;
    t->validation_count = validation_count;
    t->stopped_at_batch = -1;
    t->diverged_at_batch = -1;
    if (train_count < 1) return mlp_error_set(error, "training: no training examples");
    if (options->batch < 1) return mlp_error_set(error, "training: batch size must be at least 1");
    if (data->features != model->sizes[0])
        return mlp_error_set(error, "training: the data has %d pixels per image but the first layer has %d units",
                         data->features, model->sizes[0]);
    int capacity = options->batch > EVALUATION_CHUNK ? options->batch : EVALUATION_CHUNK;
    if (mlp_recipe_check(&options->recipe, error) != 0) return -1;
    mlp_plateau_init(&t->plateau);
    if (mlp_network_create(&t->network, model, kernels, capacity, options->threads, error) != 0) return -1;
    mlp_plan_apply(options->plan, &t->network);
    /* the fused step keeps W's columns in their owners' blocks during an epoch */
    if (mlp_network_use_owner_blocks(&t->network, error) != 0) return -1;
    if (mlp_network_set_precision(&t->network, options->precision, error) != 0 ||
        mlp_network_dropout_enable(&t->network, &options->recipe.dropout, options->seed, error) != 0 ||
        mlp_augment_plan_new(&t->augment, &options->recipe.augment, options->seed, data->rows, data->cols, error) != 0 ||
        mlp_optimizer_state_create(&t->optimizer, &options->recipe.optimizer, model->parameter_count, error) != 0) {
        mlp_trainer_free(t);
        return -1;
    }
    t->batches_per_epoch = (train_count + options->batch - 1) / options->batch;
    t->epoch_order = malloc((size_t)train_count * sizeof *t->epoch_order);
    t->batch_costs = calloc((size_t)t->batches_per_epoch, sizeof *t->batch_costs);
    if (!t->epoch_order || !t->batch_costs) {
        mlp_trainer_free(t);
        return mlp_error_set(error, "training: out of memory");
    }
    mlp_timeline_start(t, options->threads); /* MLP_TIMELINE=FILE (src/core/timeline.h) */
    return 0;
}

void mlp_trainer_free(mlp_trainer *t) {
    mlp_timeline_finish(t);
    mlp_network_free(&t->network);
    mlp_augment_plan_delete(t->augment);
    t->augment = NULL;
    mlp_optimizer_state_free(&t->optimizer);
    free(t->epoch_order);
    free(t->batch_costs);
    t->epoch_order = NULL;
    t->batch_costs = NULL;
}

/* A distinct, reproducible stream per epoch: splitmix of (seed, epoch). */
void mlp_trainer_epoch_order(const mlp_trainer *t, int epoch, int *order) {
    mlp_rng_state rng;
    mlp_rng_seed(&rng, t->options.seed ^ (0x5851f42d4c957f2dULL * (uint64_t)(epoch + 1)));
    memcpy(order, t->train_indices, (size_t)t->train_count * sizeof *order);
    mlp_rng_shuffle(&rng, order, t->train_count);
}

/* Collective: copies the examples indices[first .. first+n-1] (or, with indices NULL, the
 * examples first .. first+n-1) into the network's input buffers, each thread its share of rows. */
static void gather_batch(mlp_network *network, const mlp_dataset *data, const int *indices,
                         int first, int n, int gathered) {
    int begin, end; /* rows [0, gathered) are there already (the step copied them: next_batch) */
    mlp_parallel_range(n - gathered, 8, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    begin += gathered;
    end += gathered;
    uint8_t *pixels = network->input_pixels + (size_t)begin * data->features;
    if (begin < end && indices)
        mlp_dataset_gather(data, indices + first + begin, end - begin, pixels, network->input_targets + begin);
    else if (begin < end) {
        memcpy(pixels, data->pixels + (size_t)(first + begin) * data->features,
               (size_t)(end - begin) * data->features);
        memcpy(network->input_targets + begin, data->labels + first + begin, (size_t)(end - begin));
    }
    mlp_team_barrier_wait(network->barrier);
}

/* Collective: gather_batch for batch b of a training epoch (rows from `gathered` on), each
 * example augmented when the recipe says so; and the batch whose dropout masks the step uses
 * (its rows start at row first_row of the whole batch). */
static void gather_training_batch(mlp_trainer *t, int epoch, int b, int first, int n, int first_row,
                                  int gathered) {
#pragma omp master
    mlp_network_dropout_begin_batch(&t->network, epoch, b, first_row);
    if (t->augment) mlp_augment_gather_batch(t->augment, epoch, &t->network, t->data, t->epoch_order, first, n);
    else gather_batch(&t->network, t->data, t->epoch_order, first, n, gathered);
}

/* Whether the step can copy the next batch while it runs (mlp_next_batch): the owner-computes
 * step (plain SGD, fused, no dropout) of a plain gather (no augmentation, one process). */
static int gathers_during_step(const mlp_trainer *t) {
    return !t->augment && !t->sharding && t->network.fused_update && !t->network.dropout &&
           mlp_optimizer_is_plain_sgd(&t->optimizer.options);
}

float mlp_trainer_learning_rate(const mlp_trainer *t, int epoch, int batch) {
    return mlp_schedule_rate(&t->options.recipe, t->options.learning_rate, epoch, batch, t->batches_per_epoch,
                             t->options.epochs, mlp_plateau_factor(t->plateau.reductions));
}

static void draw_progress(int epoch, int done, int total, double cost) {
    int width = 30, filled = (int)((long long)width * done / total);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\repoch %3d [%s] %5.1f%%  cost %.4f", epoch, bar, 100.0 * done / total, cost);
    if (done == total) fprintf(stderr, "\r%*s\r", width + 40, "");
    fflush(stderr);
}

/* Whether every parameter is finite: one sum in double (NaN and ±inf propagate through it; a
 * sum of at most 2^30 finite floats cannot overflow a double). */
static int parameters_finite(const mlp_model *model) {
    double sum = 0.0;
    for (size_t i = 0; i < model->parameter_count; i++) sum += model->parameters[i];
    return isfinite(sum);
}

int mlp_trainer_run_epoch(mlp_trainer *t, int epoch, int first_batch, mlp_epoch_metrics *metrics) {
    memset(metrics, 0, sizeof *metrics);
    metrics->epoch = epoch;
    double start = mlp_wall_seconds();
    mlp_trainer_epoch_order(t, epoch, t->epoch_order);
    int batch = t->options.batch, batches = t->batches_per_epoch;
    int show_progress = t->options.progress && isatty(STDERR_FILENO);
    int stopped_at = -1, diverged_at = -1;
    double cost_sum = first_batch > 0 ? t->partial_cost_sum : 0.0; /* Σ cost × size, batch order */
    int examples = first_batch > 0 ? t->partial_examples : 0;
    int stop_agreed = 0; /* every rank of a data-parallel run stops after the same batch */
    const int overlap_gather = gathers_during_step(t);
    mlp_next_batch next;  /* batch b + 1, copied by idle threads during step b */
    int gathered = 0;     /* rows of this batch the previous step copied      */

    /* Only as many threads as the step's GEMMs can use: tiny networks run on one (no idle barriers). */
#pragma omp parallel num_threads(mlp_network_useful_threads(t->model, batch, t->options.threads, \
                                                            t->network.min_flops_per_thread))
    {
        for (int b = first_batch; b < batches; b++) {
            int begin = b * batch;
            int n = begin + batch <= t->train_count ? batch : t->train_count - begin;
            mlp_network *network = &t->network;
            double cost;
            float rate = mlp_trainer_learning_rate(t, epoch, b); /* every thread: a pure function */
            mlp_timeline_mark(MLP_TIMELINE_STEP, 0, 0);
            if (t->sharding) { /* data-parallel: this rank's rows only (src/distributed.c) */
                int local_stop = t->stop_requested && *t->stop_requested, first_row, rows;
                mlp_sharding_local_rows(t->sharding, n, &first_row, &rows);
                gather_training_batch(t, epoch, b, begin + first_row, rows, first_row, 0);
                cost = mlp_sharding_train_step(t->sharding, network, t->model, n, rate, local_stop,
                                           &stop_agreed);
            } else {
#pragma omp master
                if (overlap_gather && b + 1 < batches) { /* published by the gather's barrier */
                    int next_begin = begin + batch;
                    next = (mlp_next_batch){
                        .data = t->data, .examples = t->epoch_order + next_begin,
                        .n = next_begin + batch <= t->train_count ? batch : t->train_count - next_begin,
                        .pixels = network->spare_pixels, .targets = network->spare_targets,
                        /* one thread: prefetch over the step's 3L - 1 owner GEMMs */
                        .prefetch_only = omp_get_num_threads() == 1,
                        .rows_per_call = batch / (3 * t->model->layer_count - 1) + 1,
                    };
                    network->next_batch = &next;
                }
                double gather_start = network->profile ? mlp_wall_seconds() : 0.0;
                mlp_timeline_mark(MLP_TIMELINE_PHASE_START, 0, 0);
                gather_training_batch(t, epoch, b, begin, n, 0, gathered);
                mlp_timeline_mark(MLP_TIMELINE_PHASE_END, 0, MLP_PROFILE_GATHER);
#pragma omp master
                if (network->profile) { /* outside the step: booked on layer 0 */
                    mlp_profile_entry *entry = &network->profile->entries[0][MLP_PROFILE_GATHER];
                    entry->calls++;
                    entry->seconds += mlp_wall_seconds() - gather_start;
                }
                /* owner computes, the optimizer's update fused into the weight-gradient GEMMs */
                cost = mlp_network_step(network, t->model, &t->optimizer, network->input_pixels,
                                        network->input_targets, n, rate);
            }
#pragma omp master
            {
                gathered = 0;
                if (network->next_batch && !network->next_batch->prefetch_only) {
                    /* the step copied the next batch's first rows */
                    gathered = next.claimed_rows < next.n ? next.claimed_rows : next.n;
                    uint8_t *pixels = network->input_pixels, *targets = network->input_targets;
                    network->input_pixels = network->spare_pixels;
                    network->input_targets = network->spare_targets;
                    network->spare_pixels = pixels;
                    network->spare_targets = targets;
                }
                network->next_batch = NULL;
                t->batch_costs[b] = (float)cost;
                t->optimizer.step++; /* after the update's barrier; read again after the next */
                metrics->learning_rate = rate;
                cost_sum += cost * n;
                examples += n;
                if (show_progress && (b % 16 == 0 || b == batches - 1))
                    draw_progress(epoch, b + 1, batches, cost_sum / examples);
                if (!isfinite(cost)) diverged_at = b;
                else if ((t->sharding ? stop_agreed : t->stop_requested && *t->stop_requested) &&
                         b + 1 < batches)
                    stopped_at = b + 1;
            }
            mlp_team_barrier_wait(network->barrier);
            if (stopped_at >= 0 || diverged_at >= 0) break;
        }
        /* W back into the model from the owners' blocks, for what reads it next */
        mlp_network_owner_blocks_flush(&t->network);
    }
    mlp_network_dropout_end(&t->network); /* evaluation without dropout */
    double train_end = mlp_wall_seconds();
    metrics->train_seconds = train_end - start;
    metrics->train_cost = examples ? cost_sum / examples : 0.0;
    metrics->samples_per_second = metrics->train_seconds > 0 ? examples / metrics->train_seconds : 0.0;
    t->stopped_at_batch = stopped_at;
    t->partial_cost_sum = cost_sum;
    t->partial_examples = examples;
    if (diverged_at < 0 && !parameters_finite(t->model))
        diverged_at = (stopped_at >= 0 ? stopped_at : batches) - 1;
    t->diverged_at_batch = diverged_at;
    if (diverged_at >= 0) {
        t->stopped_at_batch = -1;
        metrics->seconds = metrics->train_seconds;
        return 2;
    }
    if (stopped_at >= 0) {
        metrics->seconds = metrics->train_seconds;
        return 1;
    }
    if (t->validation_count > 0)
        mlp_evaluate(&t->network, t->data, t->validation_indices, t->validation_count,
                 &metrics->validation);
    metrics->seconds = mlp_wall_seconds() - start;
    return 0;
}

/* Index of the largest probability (the first one on ties). */
static int arg_max(const float *p, int n) {
    int best = 0;
    for (int j = 1; j < n; j++)
        if (p[j] > p[best]) best = j;
    return best;
}

void mlp_evaluate(mlp_network *network, const mlp_dataset *data, const int *indices, int count,
              mlp_evaluation *result) {
    memset(result, 0, sizeof *result);
    result->count = count;
    if (count <= 0) return;
    const mlp_model *model = network->model;
    int classes = model->sizes[model->layer_count];
    int chunk = network->batch_capacity;
    const uint8_t *targets = network->input_targets;
    mlp_network_profile *profile = network->profile; /* profiles cover training steps only */
    network->profile = NULL;
    double cost = 0.0, confidence_predicted = 0.0, confidence_true = 0.0;
    long correct = 0;
#pragma omp parallel num_threads(network->threads)
    {
        for (int begin = 0; begin < count; begin += chunk) {
            int n = begin + chunk <= count ? chunk : count - begin;
            gather_batch(network, data, indices, begin, n, 0);
            mlp_network_forward(network, network->input_pixels, n);
            double mean = mlp_network_loss(network, targets, n, 0);
#pragma omp master
            {
                cost += mean * n;
                const float *p = network->activations[model->layer_count];
                for (int i = 0; i < n; i++) {
                    const float *row = p + (size_t)i * classes;
                    int predicted, truth = targets[i];
                    float p_predicted, p_true;
                    if (classes == 1) { /* one sigmoid unit: class 1 when p >= 0.5 */
                        predicted = row[0] >= 0.5f;
                        p_predicted = predicted ? row[0] : 1.0f - row[0];
                        truth = truth ? 1 : 0;
                        p_true = truth ? row[0] : 1.0f - row[0];
                    } else {
                        predicted = arg_max(row, classes);
                        p_predicted = row[predicted];
                        p_true = truth < classes ? row[truth] : 0.0f;
                    }
                    correct += predicted == truth;
                    confidence_predicted += p_predicted;
                    confidence_true += p_true;
                    if (truth < MLP_CLASSES && predicted < MLP_CLASSES) result->confusion[truth][predicted]++;
                }
            }
            mlp_team_barrier_wait(network->barrier);
        }
    }
    network->profile = profile;
    result->cost = cost / count;
    result->accuracy = (double)correct / count;
    result->confidence_predicted = confidence_predicted / count;
    result->confidence_true = confidence_true / count;
}
