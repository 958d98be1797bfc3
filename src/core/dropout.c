/* Inverted dropout: the options, the counter-based mask and the network's two elementwise passes
 * (see include/mlp/dropout.h). */
#include "mlp/dropout.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/team_barrier.h"
#include "mlp/rng.h"

/* Separates the dropout keys from every other use of the seed (augmentation's, for one). */
#define DROPOUT_DOMAIN 0x64726f706f757431ULL /* "dropout1" */

/* ---- the options ---- */

int mlp_dropout_parse(const char *text, mlp_dropout_options *options, int *count, mlp_error *error) {
    memset(options, 0, sizeof *options);
    *count = 0;
    const char *at = text;
    float values[MLP_MAX_LAYERS];
    for (;;) {
        char *end;
        errno = 0;
        double p = strtod(at, &end);
        if (end == at || errno != 0 || !(p >= 0.0 && p < 1.0) || (*end != ',' && *end != '\0'))
            return mlp_error_set(error, "--dropout %s: expected P or P1,P2,... with each P in [0, 1)", text);
        if (*count == MLP_MAX_LAYERS)
            return mlp_error_set(error, "--dropout %s: more than %d values", text, MLP_MAX_LAYERS);
        values[(*count)++] = (float)p;
        if (*end == '\0') break;
        at = end + 1;
    }
    for (int l = 0; l < MLP_MAX_LAYERS; l++)
        options->hidden[l] = *count == 1 ? values[0] : (l < *count ? values[l] : 0.0f);
    return 0;
}

int mlp_dropout_active(const mlp_dropout_options *options, int hidden_layers) {
    for (int l = 0; l < hidden_layers && l < MLP_MAX_LAYERS; l++)
        if (options->hidden[l] > 0.0f) return 1;
    return 0;
}

int mlp_dropout_fit(mlp_dropout_options *options, int hidden_layers, mlp_error *error) {
    for (int l = 0; l < MLP_MAX_LAYERS; l++) {
        float p = options->hidden[l];
        if (!(p >= 0.0f && p < 1.0f))
            return mlp_error_set(error, "--dropout: p = %g for hidden layer %d is outside [0, 1)", p, l + 1);
        if (l >= hidden_layers) options->hidden[l] = 0.0f;
    }
    return 0;
}

void mlp_dropout_format(const mlp_dropout_options *options, int hidden_layers, char *text, size_t size) {
    if (size == 0) return;
    text[0] = '\0';
    if (!mlp_dropout_active(options, hidden_layers)) {
        snprintf(text, size, "off");
        return;
    }
    for (int l = 0; l < hidden_layers && l < MLP_MAX_LAYERS; l++) {
        size_t used = strlen(text);
        snprintf(text + used, size - used, l ? ",%g" : "%g", options->hidden[l]);
    }
}

/* ---- the mask ---- */

uint64_t mlp_dropout_row_key(uint64_t seed, int epoch, int batch, int layer, int row) {
    uint64_t key = mlp_rng_key(seed ^ DROPOUT_DOMAIN, (uint64_t)(int64_t)epoch);
    key = mlp_rng_key(key, (uint64_t)(int64_t)batch);
    key = mlp_rng_key(key, (uint64_t)layer);
    return mlp_rng_key(key, (uint64_t)row);
}

uint64_t mlp_dropout_threshold(float p) {
    double threshold = nearbyint((double)p * 4294967296.0);
    return threshold <= 0.0 ? 0 : (uint64_t)threshold;
}

/* ---- in the network ---- */

int mlp_network_dropout_enable(mlp_network *network, const mlp_dropout_options *options, uint64_t seed,
                           mlp_error *error) {
    const mlp_model *model = network->model;
    int hidden_layers = model->layer_count - 1;
    mlp_network_dropout_free(network);
    if (!mlp_dropout_active(options, hidden_layers)) return 0;
    mlp_network_dropout *d = calloc(1, sizeof *d);
    if (!d) return mlp_error_set(error, "dropout: out of memory");
    d->seed = seed;
    for (int l = 0; l < hidden_layers; l++) {
        float p = options->hidden[l];
        if (!(p >= 0.0f && p < 1.0f)) {
            free(d);
            return mlp_error_set(error, "--dropout: p = %g for hidden layer %d is outside [0, 1)", p, l + 1);
        }
        if (p == 0.0f) continue;
        d->p[l] = p;
        d->scale[l] = 1.0f / (1.0f - p);
        d->threshold[l] = mlp_dropout_threshold(p);
        d->undropped[l + 1] = mlp_aligned_calloc((size_t)network->batch_capacity * model->sizes[l + 1], sizeof(float));
        if (!d->undropped[l + 1]) {
            network->dropout = d;
            mlp_network_dropout_free(network);
            return mlp_error_set(error, "dropout: out of memory for a batch of %d", network->batch_capacity);
        }
    }
    network->dropout = d;
    return 0;
}

void mlp_network_dropout_free(mlp_network *network) {
    mlp_network_dropout *d = network->dropout;
    if (!d) return;
    for (int l = 0; l <= MLP_MAX_LAYERS; l++) mlp_aligned_free(d->undropped[l]);
    free(d);
    network->dropout = NULL;
}

void mlp_network_dropout_begin_batch(mlp_network *network, int epoch, int batch, int first_row) {
    mlp_network_dropout *d = network->dropout;
    if (!d) return;
    d->training = 1;
    d->epoch = epoch;
    d->batch = batch;
    d->first_row = first_row;
}

void mlp_network_dropout_end(mlp_network *network) {
    if (network->dropout) network->dropout->training = 0;
}

const float *mlp_network_dropout_activation_output(const mlp_network *network, int l) {
    if (l >= 1 && mlp_network_dropout_on(network, l - 1)) return network->dropout->undropped[l];
    return network->activations[l];
}

/* This thread's rows of an elementwise pass over n rows (every thread of the team). */
static void thread_rows(int n, int *begin, int *end) {
    mlp_parallel_range(n, 1, omp_get_thread_num(), omp_get_num_threads(), begin, end);
}

void mlp_network_dropout_forward(mlp_network *network, int l, int n) {
    const mlp_network_dropout *d = network->dropout;
    int units = network->model->sizes[l + 1], begin, end;
    float scale = d->scale[l];
    uint64_t threshold = d->threshold[l];
    thread_rows(n, &begin, &end);
    for (int r = begin; r < end; r++) {
        uint64_t key = mlp_dropout_row_key(d->seed, d->epoch, d->batch, l, d->first_row + r);
        float *a = network->activations[l + 1] + (size_t)r * units;
        float *saved = d->undropped[l + 1] + (size_t)r * units;
        for (int j = 0; j < units; j += 2) { /* dropout_keep, one hash per two units */
            uint64_t bits = mlp_rng_counter(key, (uint64_t)(j >> 1));
            /* × scale or × 0 (no branch: a dropped NaN stays NaN, so divergence still shows) */
            saved[j] = a[j];
            a[j] *= (bits >> 32) >= threshold ? scale : 0.0f;
            if (j + 1 < units) {
                saved[j + 1] = a[j + 1];
                a[j + 1] *= (bits & 0xffffffffu) >= threshold ? scale : 0.0f;
            }
        }
    }
    mlp_team_barrier_wait(network->barrier);
}

void mlp_network_dropout_backward(mlp_network *network, int l, int n) {
    const mlp_network_dropout *d = network->dropout;
    int units = network->model->sizes[l + 1], begin, end;
    float scale = d->scale[l];
    uint64_t threshold = d->threshold[l];
    mlp_team_barrier_wait(network->barrier);
    thread_rows(n, &begin, &end);
    for (int r = begin; r < end; r++) {
        uint64_t key = mlp_dropout_row_key(d->seed, d->epoch, d->batch, l, d->first_row + r);
        float *delta = network->deltas[l + 1] + (size_t)r * units;
        for (int j = 0; j < units; j += 2) { /* dropout_keep, one hash per two units */
            uint64_t bits = mlp_rng_counter(key, (uint64_t)(j >> 1));
            delta[j] *= (bits >> 32) >= threshold ? scale : 0.0f;
            if (j + 1 < units) delta[j + 1] *= (bits & 0xffffffffu) >= threshold ? scale : 0.0f;
        }
    }
}
