/* The sharded gradient step of data-parallel training (see include/mlp/distributed.h for why the
 * gradient is defined shard by shard). The communication itself is in distributed_mpi.c, or the
 * no-op single-process version in distributed_single.c. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, CLOCK_THREAD_CPUTIME_ID */
#include "mlp/distributed.h"
#include "distributed/transport.h"

#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds used by the calling thread. */
static double thread_cpu_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

int mlp_sharding_create(mlp_gradient_sharding *s, const mlp_model *model, const char *kernel_name,
                    int shards, int batch_capacity, mlp_error *error) {
    memset(s, 0, sizeof *s);
    s->kernel_name = kernel_name;
    s->rank = mlp_distributed_rank();
    s->ranks = mlp_distributed_ranks();
    s->shards = shards;
    /* MLP_GRADIENT_OVERLAP=0 starts the gathers only after the whole backward pass (to measure
     * what the overlap gains: scripts/mpi_scaling.sh). */
    const char *overlap = getenv("MLP_GRADIENT_OVERLAP");
    s->overlap = !(overlap && strcmp(overlap, "0") == 0);
    if (shards < 1) return mlp_error_set(error, "--gradient-shards must be at least 1");
    if (shards < s->ranks)
        return mlp_error_set(error, "--gradient-shards %d is less than the %d MPI ranks: pass "
                         "--gradient-shards G with G >= %d (the same G gives the same model for "
                         "every rank count up to G)", shards, s->ranks, s->ranks);
    if (shards > batch_capacity)
        return mlp_error_set(error, "--gradient-shards %d is more than the %d rows of a batch (--batch)",
                         shards, batch_capacity);
    /* Counts and offsets of one layer's gather are ints in MPI. */
    if ((double)model->parameter_count * shards > (double)INT_MAX)
        return mlp_error_set(error, "--gradient-shards %d: %zu parameters x %d shards exceed the "
                         "2^31 floats one gather can move", shards, model->parameter_count, shards);
    s->first_shard = malloc((size_t)(s->ranks + 1) * sizeof *s->first_shard);
    s->shard_gradients = mlp_aligned_calloc(model->parameter_count * (size_t)shards, sizeof(float));
    s->row_costs = mlp_aligned_calloc((size_t)batch_capacity, sizeof(float));
    if (!s->first_shard || !s->shard_gradients || !s->row_costs) {
        mlp_sharding_free(s);
        return mlp_error_set(error, "--gradient-shards %d: out of memory for %zu gradient floats",
                         shards, model->parameter_count * (size_t)shards);
    }
    /* Shards split over the ranks as evenly as possible, in order. */
    for (int r = 0; r <= s->ranks; r++) s->first_shard[r] = (int)((long long)shards * r / s->ranks);
    for (int l = 0; l < model->layer_count; l++) {
        size_t end = l + 1 < model->layer_count ? model->weight_offset[l + 1] : model->parameter_count;
        s->layer_floats[l] = (int)(end - model->weight_offset[l]);
        s->shard_base[l] = model->weight_offset[l] * (size_t)shards;
    }
    if (mlp_transport_create(s, error) != 0) {
        mlp_sharding_free(s);
        return -1;
    }
    return 0;
}

void mlp_sharding_free(mlp_gradient_sharding *s) {
    if (s->transport) mlp_transport_free(s);
    free(s->first_shard);
    mlp_aligned_free(s->shard_gradients);
    mlp_aligned_free(s->row_costs);
    s->first_shard = NULL;
    s->shard_gradients = s->row_costs = NULL;
}

int mlp_sharding_shard_row(const mlp_gradient_sharding *s, int batch_rows, int k) {
    return (int)((long long)batch_rows * k / s->shards);
}

void mlp_sharding_local_rows(const mlp_gradient_sharding *s, int batch_rows, int *first_row, int *rows) {
    *first_row = mlp_sharding_shard_row(s, batch_rows, s->first_shard[s->rank]);
    *rows = mlp_sharding_shard_row(s, batch_rows, s->first_shard[s->rank + 1]) - *first_row;
}

static float *shard_block(const mlp_gradient_sharding *s, int l, int k) {
    return s->shard_gradients + s->shard_base[l] + (size_t)k * s->layer_floats[l];
}

/* Collective, no barrier. Layer l's backward step on this rank's rows: the parameter gradient of
 * each of its shards into that shard's block, then the input gradient of all its rows at once. */
static void sharded_layer_backward(mlp_gradient_sharding *s, mlp_network *network, int l,
                                   int batch_rows, int local_first_row, int local_rows) {
    for (int k = s->first_shard[s->rank]; k < s->first_shard[s->rank + 1]; k++) {
        int first = mlp_sharding_shard_row(s, batch_rows, k);
        int rows = mlp_sharding_shard_row(s, batch_rows, k + 1) - first;
        if (rows > 0)
            mlp_network_layer_parameter_gradient(network, l, network->input_pixels,
                                             first - local_first_row, rows, shard_block(s, l, k));
    }
    if (l > 0) mlp_network_layer_input_gradient(network, l, local_rows);
}

/* Collective, no barrier. gradient of layer l = ((g_first + g_next) + ...) over the non-empty
 * shards in order, each thread its own range of elements (elementwise: partition independent).
 * sgd_update(acc, g, n, -1) computes acc - (-1)·g = acc + g, rounded once. */
static void sum_layer_shards(const mlp_gradient_sharding *s, mlp_network *network, int l,
                             int batch_rows) {
    int begin, end;
    mlp_parallel_range(s->layer_floats[l], 64, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    if (begin >= end) return;
    float *sum = network->gradients + network->model->weight_offset[l] + begin;
    size_t count = (size_t)(end - begin);
    int first = 1;
    for (int k = 0; k < s->shards; k++) {
        if (mlp_sharding_shard_row(s, batch_rows, k + 1) == mlp_sharding_shard_row(s, batch_rows, k)) continue;
        const float *g = shard_block(s, l, k) + begin;
        if (first) memcpy(sum, g, count * sizeof *sum);
        else network->kernels->sgd_update(sum, g, count, -1.0f);
        first = 0;
    }
}

double mlp_sharding_train_step(mlp_gradient_sharding *s, mlp_network *network, mlp_model *model,
                           int batch_rows, float learning_rate, int local_stop, int *stop_agreed) {
    int L = model->layer_count, local_first_row, local_rows;
    mlp_sharding_local_rows(s, batch_rows, &local_first_row, &local_rows);
    double step_start = mlp_wall_seconds(), step_cpu_start = thread_cpu_seconds(); /* master's kept */

    /* Forward and per-row costs of this rank's rows; dZ of the last layer scaled by 1/batch_rows. */
    if (local_rows > 0) {
        mlp_network_forward(network, network->input_pixels, local_rows);
        mlp_network_row_costs(network, network->input_targets, local_rows, batch_rows, 1);
    }
#pragma omp master
    mlp_transport_rows_start(s, network->row_loss, batch_rows, local_stop);

    /* Backward, last layer first; each layer's gather starts as soon as its shards are done. */
    for (int l = L - 1; l >= 0; l--) {
        if (local_rows > 0) sharded_layer_backward(s, network, l, batch_rows, local_first_row, local_rows);
#pragma omp barrier
#pragma omp master
        {
            if (s->overlap) mlp_transport_layer_start(s, l);
            mlp_transport_progress(s);
        }
    }

    /* Sum the shards layer by layer as their gathers complete (the first layer's, started last,
     * is still moving while the later layers are summed), then the update. */
#pragma omp master
    {
        if (!s->overlap)
            for (int l = L - 1; l >= 0; l--) mlp_transport_layer_start(s, l);
        s->wait_seconds = 0.0;
    }
    for (int l = L - 1; l >= 0; l--) {
#pragma omp master
        {
            double wait_start = mlp_wall_seconds();
            mlp_transport_layer_wait(s, l);
            s->wait_seconds += mlp_wall_seconds() - wait_start;
        }
#pragma omp barrier
        sum_layer_shards(s, network, l, batch_rows);
    }
#pragma omp master
    {
        double wait_start = mlp_wall_seconds();
        *stop_agreed = mlp_transport_rows_wait(s);
        s->wait_seconds += mlp_wall_seconds() - wait_start;
        double step_seconds = mlp_wall_seconds() - step_start;
        double step_cpu_seconds = thread_cpu_seconds() - step_cpu_start;
        if (s->steps == 0 || step_cpu_seconds < s->min_step_cpu_seconds) s->min_step_cpu_seconds = step_cpu_seconds;
        if (s->steps == 0 || s->wait_seconds < s->min_wait_seconds) s->min_wait_seconds = s->wait_seconds;
        if (s->steps == 0 || step_seconds < s->min_step_seconds) s->min_step_seconds = step_seconds;
        s->steps++;
        s->total_received_floats += s->received_floats;
        s->total_wait_seconds += s->wait_seconds;
        s->total_step_seconds += step_seconds;
    }
#pragma omp barrier
    mlp_network_optimizer_update(network, model, s->optimizer, learning_rate);

    /* The mean cost of the whole batch, summed in row order in double (as network_loss does). */
    double sum = 0.0;
    for (int i = 0; i < batch_rows; i++) sum += s->row_costs[i];
    return sum / batch_rows;
}
