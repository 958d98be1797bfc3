/* eval --write-probabilities, train --init-model and train --write-order (interop_hooks.h). */
#include "interop_hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/file_util.h"
#include "train_safeguards.h"

/* Rows per forward pass: evaluate's chunk (train.c), so the GEMM shapes are the same. */
#define PROBABILITY_CHUNK 256

int eval_write_probabilities(mlp_network *network, const mlp_dataset *data, const char *path,
                             mlp_error *error) {
    const mlp_model *model = network->model;
    int outputs = model->sizes[model->layer_count], count = data->count;
    int chunk = network->batch_capacity < PROBABILITY_CHUNK ? network->batch_capacity : PROBABILITY_CHUNK;
    size_t values = (size_t)count * (size_t)outputs;
    uint8_t *bytes = malloc(values * 4 + 1);
    if (!bytes) return mlp_error_set(error, "%s: out of memory for %zu probabilities", path, values);
#pragma omp parallel num_threads(network->threads)
    {
        for (int begin = 0; begin < count; begin += chunk) {
            int n = begin + chunk <= count ? chunk : count - begin;
            /* Into the network's own input buffers, as evaluate's gather does. */
#pragma omp master
            {
                memcpy(network->input_pixels, data->pixels + (size_t)begin * data->features,
                       (size_t)n * data->features);
                memcpy(network->input_targets, data->labels + begin, (size_t)n);
            }
#pragma omp barrier
            mlp_network_forward(network, network->input_pixels, n);
            mlp_network_loss(network, network->input_targets, n, 0);
#pragma omp master
            {
                const float *p = network->activations[model->layer_count];
                uint8_t *out = bytes + (size_t)begin * outputs * 4;
                for (size_t i = 0; i < (size_t)n * outputs; i++) {
                    uint32_t bits;
                    memcpy(&bits, &p[i], 4);
                    put_u32_le(out + 4 * i, bits);
                }
            }
#pragma omp barrier
        }
    }
    int status = mlp_file_write_atomic(path, bytes, values * 4, error);
    free(bytes);
    return status;
}

int train_load_init_model(const char *path, int argc, char **argv, int first, const char *layers,
                          const char *activation_name, mlp_model *model, int *sizes, int *count,
                          mlp_activation *activation, mlp_error *error) {
    if (mlp_model_load(model, path, error) != 0) return CLI_EXIT_RUNTIME;
    char stored[512] = "";
    for (int i = 0; i <= model->layer_count; i++)
        snprintf(stored + strlen(stored), sizeof stored - strlen(stored), i ? ",%d" : "%d", model->sizes[i]);
    const char *clash = NULL;
    if (option_given(argc, argv, first, "--layers")) {
        int given[MLP_MAX_LAYERS + 1], given_count;
        if (mlp_model_parse_layers(layers, given, &given_count, error) != 0) {
            mlp_model_free(model);
            return CLI_EXIT_USAGE;
        }
        if (given_count != model->layer_count + 1 ||
            memcmp(given, model->sizes, (size_t)given_count * sizeof *given) != 0)
            clash = "--layers";
    }
    if (option_given(argc, argv, first, "--activation") &&
        strcmp(activation_name, mlp_model_activation_name(model->hidden_activation)) != 0)
        clash = "--activation";
    if (clash || model->output != MLP_OUTPUT_SOFTMAX) {
        if (clash)
            mlp_error_set(error, "%s: %s contradicts the model (layers %s, %s); --init-model takes the shape from it",
                      path, clash, stored, mlp_model_activation_name(model->hidden_activation));
        else
            mlp_error_set(error, "%s: a sigmoid-output model cannot be trained by train (softmax over classes)", path);
        mlp_model_free(model);
        return clash ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
    }
    *count = model->layer_count + 1;
    memcpy(sizes, model->sizes, (size_t)*count * sizeof *sizes);
    *activation = model->hidden_activation;
    return 0;
}

int train_write_order(const mlp_trainer *t, int epochs, const char *path, mlp_error *error) {
    size_t row = (size_t)t->train_count;
    uint8_t *bytes = malloc((size_t)epochs * row * 4 + 1);
    int *order = malloc(row * sizeof *order);
    if (!bytes || !order) {
        free(bytes);
        free(order);
        return mlp_error_set(error, "%s: out of memory for %d epochs of %d indices", path, epochs, t->train_count);
    }
    for (int epoch = 1; epoch <= epochs; epoch++) {
        mlp_trainer_epoch_order(t, epoch, order);
        uint8_t *out = bytes + (size_t)(epoch - 1) * row * 4;
        for (size_t i = 0; i < row; i++) put_u32_le(out + 4 * i, (uint32_t)order[i]);
    }
    free(order);
    int status = mlp_file_write_atomic(path, bytes, (size_t)epochs * row * 4, error);
    free(bytes);
    return status;
}
