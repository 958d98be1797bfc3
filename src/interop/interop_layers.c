/* The checks every importer shares: is this set of tensors an MLP of the trainer's shape? */
#include "interop_layers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_util.h"

static const char *const format_names[] = {"onnx", "safetensors", "npz"};

const char *mlp_interop_format_name(mlp_interop_format format) {
    return (unsigned)format < 3 ? format_names[format] : "unknown";
}

int mlp_interop_parse_format(const char *text, mlp_interop_format *format) {
    for (int i = 0; i < 3; i++)
        if (strcmp(text, format_names[i]) == 0) {
            *format = (mlp_interop_format)i;
            return 0;
        }
    return -1;
}

void mlp_interop_layers_text(const mlp_model *model, char *text, size_t size) {
    size_t used = 0;
    text[0] = '\0';
    for (int i = 0; i <= model->layer_count && used < size; i++)
        used += (size_t)snprintf(text + used, size - used, i ? ",%d" : "%d", model->sizes[i]);
}

int mlp_interop_parse_layer_index(const char *digits, size_t length) {
    if (length == 0 || length > 2 || (length > 1 && digits[0] == '0')) return -1;
    int index = 0;
    for (size_t i = 0; i < length; i++) {
        if (digits[i] < '0' || digits[i] > '9') return -1;
        index = index * 10 + (digits[i] - '0');
    }
    return index < MLP_MAX_LAYERS ? index : -1;
}

static void shape_text(const interop_tensor *t, char *text, size_t size) {
    size_t used = (size_t)snprintf(text, size, "[");
    for (int d = 0; d < t->rank && used < size; d++)
        used += (size_t)snprintf(text + used, size - used, d ? ", %llu" : "%llu",
                                 (unsigned long long)t->shape[d]);
    if (used < size) snprintf(text + used, size - used, "]");
}

/* Element (row, col) of a rank-2 tensor (col 0 for rank 1). */
static float tensor_at(const interop_tensor *t, uint64_t row, uint64_t col) {
    uint64_t rows = t->shape[0], cols = t->rank == 2 ? t->shape[1] : 1;
    uint64_t index = t->column_major ? col * rows + row : row * cols + col;
    return interop_bits_float(get_u32_le(t->data + 4 * index));
}

/* The first non-finite element, reported by position. */
static int check_finite(const interop_layer_set *set, const interop_tensor *t, mlp_error *error) {
    uint64_t rows = t->shape[0], cols = t->rank == 2 ? t->shape[1] : 1;
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < cols; c++) {
            float value = tensor_at(t, r, c);
            if (isfinite(value)) continue;
            const char *what = isnan(value) ? "NaN" : value > 0 ? "+inf" : "-inf";
            if (t->rank == 2)
                return mlp_error_set(error, "%s: %s[%llu, %llu] is %s (parameters must be finite)", set->file,
                                 t->name, (unsigned long long)r, (unsigned long long)c, what);
            return mlp_error_set(error, "%s: %s[%llu] is %s (parameters must be finite)", set->file, t->name,
                             (unsigned long long)r, what);
        }
    return 0;
}

static int check_layer(const interop_layer_set *set, int l, int *inputs, int *outputs,
                       mlp_error *error) {
    const interop_tensor *w = &set->weight[l], *b = &set->bias[l];
    char name[48], shape[160];
    if (!w->present || !b->present) {
        snprintf(name, sizeof name, w->present ? set->bias_name : set->weight_name, l);
        return mlp_error_set(error, "%s: no %s (every layer of an MLP needs a weight and a bias; layers 0..%d seen)",
                         set->file, name, set->layer_count - 1);
    }
    const char *orientation = set->weights_out_in ? "[out, in]" : "[in, out]";
    shape_text(w, shape, sizeof shape);
    if (w->rank != 2)
        return mlp_error_set(error, "%s: %s has shape %s, rank %d (a weight has rank 2: %s)", set->file,
                         w->name, shape, w->rank, orientation);
    uint64_t in = w->shape[set->weights_out_in ? 1 : 0], out = w->shape[set->weights_out_in ? 0 : 1];
    if (in < 1 || out < 1 || in > MLP_MAX_WIDTH || out > MLP_MAX_WIDTH)
        return mlp_error_set(error, "%s: %s has shape %s (each size must be 1..%d)", set->file, w->name,
                         shape, MLP_MAX_WIDTH);
    /* *inputs holds layer l - 1's outputs (sizes[l]) */
    if (l > 0 && in != (uint64_t)*inputs)
        return mlp_error_set(error, "%s: %s %s has %llu inputs but layer %d has %d outputs (consecutive "
                         "layers must match)", set->file, w->name, shape, (unsigned long long)in, l - 1,
                         *inputs);
    char bias_shape[160];
    shape_text(b, bias_shape, sizeof bias_shape);
    if (b->rank != 1 || b->shape[0] != out)
        return mlp_error_set(error, "%s: %s has shape %s but %s %s has %llu outputs (expected [%llu])",
                         set->file, b->name, bias_shape, w->name, shape, (unsigned long long)out,
                         (unsigned long long)out);
    if (check_finite(set, w, error) != 0 || check_finite(set, b, error) != 0) return -1;
    *inputs = (int)in;
    *outputs = (int)out;
    return 0;
}

int mlp_interop_layers_build(const interop_layer_set *set, const char *declared_layers,
                         mlp_activation activation, mlp_output output, mlp_model *model,
                         mlp_error *error) {
    memset(model, 0, sizeof *model);
    if (set->layer_count < 1) {
        char name[48];
        snprintf(name, sizeof name, set->weight_name, 0);
        return mlp_error_set(error, "%s: no layers (expected %s and the tensors after it)", set->file, name);
    }
    int sizes[MLP_MAX_LAYERS + 1];
    for (int l = 0; l < set->layer_count; l++)
        if (check_layer(set, l, &sizes[l], &sizes[l + 1], error) != 0) return -1;
    mlp_error inner;
    if (mlp_model_create(model, sizes, set->layer_count + 1, activation, output, &inner) != 0)
        return mlp_error_set(error, "%s: %s", set->file, inner.message);
    char layers[512];
    mlp_interop_layers_text(model, layers, sizeof layers);
    if (declared_layers && strcmp(declared_layers, layers) != 0) {
        mlp_model_free(model);
        return mlp_error_set(error, "%s: __metadata__ says layers %.200s but the tensors are %s", set->file,
                         declared_layers, layers);
    }
    for (int l = 0; l < set->layer_count; l++) {
        const interop_tensor *w = &set->weight[l], *b = &set->bias[l];
        float *weights = mlp_model_weights(model, l), *biases = mlp_model_biases(model, l);
        int in = sizes[l], out = sizes[l + 1];
        for (int p = 0; p < in; p++)
            for (int q = 0; q < out; q++)
                weights[(size_t)p * out + q] = set->weights_out_in ? tensor_at(w, q, p) : tensor_at(w, p, q);
        for (int q = 0; q < out; q++) biases[q] = tensor_at(b, q, 0);
    }
    return 0;
}

static int parse_kind_name(const char *text, mlp_activation *activation) {
    static const char *const names[] = {"relu", "sigmoid", "tanh"};
    static const mlp_activation values[] = {MLP_ACTIVATION_RELU, MLP_ACTIVATION_SIGMOID, MLP_ACTIVATION_TANH};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *activation = values[i];
            return 0;
        }
    return -1;
}

int mlp_interop_resolve_kind(const char *file, const mlp_interop_import_options *options,
                         const char *file_activation, const char *file_output, int hidden_layers,
                         mlp_activation *activation, mlp_output *output, mlp_error *error) {
    mlp_activation from_file = MLP_ACTIVATION_NONE;
    if (file_activation && parse_kind_name(file_activation, &from_file) != 0)
        return mlp_error_set(error, "%s: __metadata__ activation '%.100s' is not relu, sigmoid or tanh", file,
                         file_activation);
    *activation = options->activation;
    if (*activation == MLP_ACTIVATION_NONE) *activation = from_file;
    if (from_file != MLP_ACTIVATION_NONE && *activation != from_file)
        return mlp_error_set(error, "%s: the file's __metadata__ says activation %s, but %s was asked for", file,
                         mlp_model_activation_name(from_file), mlp_model_activation_name(*activation));
    if (*activation == MLP_ACTIVATION_NONE) {
        if (hidden_layers > 0)
            return mlp_error_set(error, "%s: the file does not say which activation its %d hidden layer%s use: "
                             "give relu, sigmoid or tanh", file, hidden_layers, hidden_layers == 1 ? "" : "s");
        *activation = MLP_ACTIVATION_RELU; /* no hidden layer: never applied */
    }
    int wanted = options->output;
    if (file_output) {
        int stored = strcmp(file_output, "softmax") == 0 ? MLP_OUTPUT_SOFTMAX
                     : strcmp(file_output, "sigmoid") == 0 ? MLP_OUTPUT_SIGMOID : -1;
        if (stored < 0)
            return mlp_error_set(error, "%s: __metadata__ output '%.100s' is not softmax or sigmoid", file, file_output);
        if (wanted >= 0 && wanted != stored)
            return mlp_error_set(error, "%s: the file's __metadata__ says output %s, but %s was asked for", file,
                             file_output, wanted == MLP_OUTPUT_SIGMOID ? "sigmoid" : "softmax");
        wanted = stored;
    }
    *output = wanted == MLP_OUTPUT_SIGMOID ? MLP_OUTPUT_SIGMOID : MLP_OUTPUT_SOFTMAX;
    return 0;
}
