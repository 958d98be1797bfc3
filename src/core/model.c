/* Model shape, parameter layout, He initialisation and the model file. */
#include "mlp/model.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/file_util.h"
#include "mlp/rng.h"

int mlp_model_parse_layers(const char *text, int *sizes, int *count, mlp_error *error) {
    int n = 0;
    const char *p = text;
    if (!text || !*text) return mlp_error_set(error, "--layers: empty list (expected e.g. 784,128,64,10)");
    for (;;) {
        if (*p == ',' || *p == '\0')
            return mlp_error_set(error, "--layers '%s': empty field at position %d", text, n + 1);
        char *end;
        errno = 0;
        long value = strtol(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0'))
            return mlp_error_set(error, "--layers '%s': field %d is not a whole number", text, n + 1);
        if (errno == ERANGE || value < 1 || value > MLP_MAX_WIDTH)
            return mlp_error_set(error, "--layers '%s': size %ld out of range 1..%d", text, value,
                             MLP_MAX_WIDTH);
        if (n >= MLP_MAX_LAYERS + 1)
            return mlp_error_set(error, "--layers '%s': more than %d layers", text, MLP_MAX_LAYERS);
        sizes[n++] = (int)value;
        if (*end == '\0') break;
        p = end + 1;
    }
    if (n < 2) return mlp_error_set(error, "--layers '%s': need at least an input and an output size", text);
    *count = n;
    return 0;
}

static const char *const activation_names[] = {"none", "relu", "sigmoid", "tanh"};

int mlp_model_parse_activation(const char *text, mlp_activation *activation, mlp_error *error) {
    for (int i = 1; i < 4; i++)
        if (strcmp(text, activation_names[i]) == 0) {
            *activation = (mlp_activation)i;
            return 0;
        }
    return mlp_error_set(error, "--activation: unknown '%s' (expected relu, sigmoid or tanh)", text);
}

const char *mlp_model_activation_name(mlp_activation activation) {
    return (unsigned)activation < 4 ? activation_names[activation] : "unknown";
}

int mlp_model_create(mlp_model *model, const int *sizes, int count, mlp_activation hidden_activation,
                 mlp_output output, mlp_error *error) {
    memset(model, 0, sizeof *model);
    if (count < 2 || count > MLP_MAX_LAYERS + 1)
        return mlp_error_set(error, "model: %d layer sizes (expected 2..%d)", count, MLP_MAX_LAYERS + 1);
    size_t total = 0;
    for (int l = 0; l + 1 < count; l++) {
        if (sizes[l] < 1 || sizes[l + 1] < 1 || sizes[l] > MLP_MAX_WIDTH || sizes[l + 1] > MLP_MAX_WIDTH)
            return mlp_error_set(error, "model: layer size out of range 1..%d", MLP_MAX_WIDTH);
        /* Each layer's block is rounded up to 16 floats so every W and b starts 64-byte aligned. */
        size_t weights = (size_t)sizes[l] * (size_t)sizes[l + 1];
        size_t block = ((weights + 15) & ~(size_t)15) + (((size_t)sizes[l + 1] + 15) & ~(size_t)15);
        if (block > MLP_MAX_PARAMETERS || total > MLP_MAX_PARAMETERS - block)
            return mlp_error_set(error, "model: too many parameters (more than %zu)", MLP_MAX_PARAMETERS);
        model->weight_offset[l] = total;
        model->bias_offset[l] = total + ((weights + 15) & ~(size_t)15);
        total += block;
    }
    if (output == MLP_OUTPUT_SIGMOID && sizes[count - 1] != 1)
        return mlp_error_set(error, "model: a sigmoid output has exactly one unit, not %d", sizes[count - 1]);
    model->layer_count = count - 1;
    memcpy(model->sizes, sizes, (size_t)count * sizeof *sizes);
    model->hidden_activation = hidden_activation;
    model->output = output;
    model->parameter_count = total;
    model->parameters = mlp_aligned_calloc(total, sizeof(float));
    if (!model->parameters)
        return mlp_error_set(error, "model: cannot allocate %zu parameters (%.1f MB)", total,
                         (double)total * 4 / 1e6);
    return 0;
}

void mlp_model_free(mlp_model *model) {
    mlp_aligned_free(model->parameters);
    model->parameters = NULL;
}

/* He et al. (2015): Var(W) = 2 / fan_in keeps the activations' variance constant through ReLU
 * layers. Biases start at zero. */
void mlp_model_init_he(mlp_model *model, uint64_t seed) {
    mlp_rng_state rng;
    mlp_rng_seed(&rng, seed);
    memset(model->parameters, 0, model->parameter_count * sizeof(float));
    for (int l = 0; l < model->layer_count; l++) {
        double standard_deviation = sqrt(2.0 / model->sizes[l]);
        float *w = mlp_model_weights(model, l);
        size_t count = (size_t)model->sizes[l] * (size_t)model->sizes[l + 1];
        for (size_t i = 0; i < count; i++) w[i] = (float)(standard_deviation * mlp_rng_normal(&rng));
    }
}

/* ---- the model file ---- */

static const char model_magic[8] = {'M', 'L', 'P', 'M', 'O', 'D', 'E', 'L'};

/* The stored parameters are the logical ones (W then b per layer, without alignment padding). */
static size_t stored_parameter_count(const mlp_model *model) {
    size_t count = 0;
    for (int l = 0; l < model->layer_count; l++)
        count += (size_t)model->sizes[l] * model->sizes[l + 1] + (size_t)model->sizes[l + 1];
    return count;
}

int mlp_model_serialize(const mlp_model *model, uint8_t **bytes, size_t *size, mlp_error *error) {
    int sizes_count = model->layer_count + 1;
    size_t stored = stored_parameter_count(model);
    size_t header = 8 + 4 * 4 + 4 * (size_t)sizes_count + 8;
    size_t total = header + 4 * stored + 4;
    uint8_t *buffer = malloc(total);
    if (!buffer) return mlp_error_set(error, "model: out of memory serialising %zu bytes", total);
    uint8_t *p = buffer;
    memcpy(p, model_magic, 8);
    p += 8;
    put_u32_le(p, MLP_MODEL_FORMAT_VERSION);
    put_u32_le(p + 4, (uint32_t)sizes_count);
    put_u32_le(p + 8, (uint32_t)model->hidden_activation);
    put_u32_le(p + 12, (uint32_t)model->output);
    p += 16;
    for (int i = 0; i < sizes_count; i++, p += 4) put_u32_le(p, (uint32_t)model->sizes[i]);
    put_u64_le(p, stored);
    p += 8;
    for (int l = 0; l < model->layer_count; l++) {
        const float *blocks[2] = {mlp_model_weights(model, l), mlp_model_biases(model, l)};
        size_t counts[2] = {(size_t)model->sizes[l] * model->sizes[l + 1], (size_t)model->sizes[l + 1]};
        for (int b = 0; b < 2; b++)
            for (size_t i = 0; i < counts[b]; i++, p += 4) {
                uint32_t bits;
                memcpy(&bits, &blocks[b][i], 4);
                put_u32_le(p, bits);
            }
    }
    put_u32_le(p, (uint32_t)crc32_z(0L, buffer, (z_size_t)(p - buffer)));
    *bytes = buffer;
    *size = total;
    return 0;
}

int mlp_model_deserialize(mlp_model *model, const uint8_t *bytes, size_t size, const char *name,
                      mlp_error *error) {
    memset(model, 0, sizeof *model);
    if (size < 8 + 16 || memcmp(bytes, model_magic, 8) != 0)
        return mlp_error_set(error, "%s: not an mlptrain model file (bad magic)", name);
    uint32_t version = get_u32_le(bytes + 8);
    if (version != MLP_MODEL_FORMAT_VERSION)
        return mlp_error_set(error, "%s: model format version %u, this build reads version %u", name,
                         version, MLP_MODEL_FORMAT_VERSION);
    uint32_t sizes_count = get_u32_le(bytes + 12);
    uint32_t activation = get_u32_le(bytes + 16);
    uint32_t output = get_u32_le(bytes + 20);
    if (sizes_count < 2 || sizes_count > MLP_MAX_LAYERS + 1)
        return mlp_error_set(error, "%s: corrupt header (%u layer sizes)", name, sizes_count);
    if (activation > MLP_ACTIVATION_TANH || output > MLP_OUTPUT_SIGMOID)
        return mlp_error_set(error, "%s: corrupt header (activation %u, output %u)", name, activation, output);
    size_t header = 8 + 16 + 4 * (size_t)sizes_count + 8;
    if (size < header + 4) return mlp_error_set(error, "%s: truncated (%zu bytes)", name, size);
    int sizes[MLP_MAX_LAYERS + 1];
    for (uint32_t i = 0; i < sizes_count; i++) {
        uint32_t s = get_u32_le(bytes + 24 + 4 * i);
        if (s < 1 || s > MLP_MAX_WIDTH)
            return mlp_error_set(error, "%s: corrupt header (layer size %u)", name, s);
        sizes[i] = (int)s;
    }
    uint64_t stored = get_u64_le(bytes + header - 8);
    /* Check the length and the checksum before allocating anything. */
    if (stored > MLP_MAX_PARAMETERS)
        return mlp_error_set(error, "%s: corrupt header (%llu parameters)", name, (unsigned long long)stored);
    size_t expected_size = header + 4 * (size_t)stored + 4;
    if (size != expected_size)
        return mlp_error_set(error, "%s: %s (%zu bytes, the header promises %llu parameters: %zu bytes)",
                         name, size < expected_size ? "truncated" : "padded", size,
                         (unsigned long long)stored, expected_size);
    uint32_t expected = get_u32_le(bytes + size - 4);
    if ((uint32_t)crc32_z(0L, bytes, (z_size_t)(size - 4)) != expected)
        return mlp_error_set(error, "%s: checksum mismatch (file damaged)", name);
    /* The count the sizes imply, before model_create allocates for them: a small file must not
     * claim layer sizes of gigabytes (each size <= 2^20: no overflow in 64 bits). */
    uint64_t implied = 0;
    for (uint32_t i = 0; i + 1 < sizes_count; i++)
        implied += (uint64_t)sizes[i] * (uint64_t)sizes[i + 1] + (uint64_t)sizes[i + 1];
    if (implied != stored)
        return mlp_error_set(error, "%s: parameter count %llu does not match the layer sizes (%llu)", name,
                         (unsigned long long)stored, (unsigned long long)implied);
    if (mlp_model_create(model, sizes, (int)sizes_count, (mlp_activation)activation, (mlp_output)output,
                     error) != 0)
        return -1;
    if (stored_parameter_count(model) != stored) {
        mlp_model_free(model);
        return mlp_error_set(error, "%s: parameter count %llu does not match the layer sizes", name,
                         (unsigned long long)stored);
    }
    const uint8_t *p = bytes + header;
    for (int l = 0; l < model->layer_count; l++) {
        float *blocks[2] = {mlp_model_weights(model, l), mlp_model_biases(model, l)};
        size_t counts[2] = {(size_t)model->sizes[l] * model->sizes[l + 1], (size_t)model->sizes[l + 1]};
        for (int b = 0; b < 2; b++)
            for (size_t i = 0; i < counts[b]; i++, p += 4) {
                uint32_t bits = get_u32_le(p);
                memcpy(&blocks[b][i], &bits, 4);
            }
    }
    return 0;
}

int mlp_model_save(const mlp_model *model, const char *path, mlp_error *error) {
    uint8_t *bytes;
    size_t size;
    if (mlp_model_serialize(model, &bytes, &size, error) != 0) return -1;
    int status = mlp_file_write_atomic(path, bytes, size, error);
    free(bytes);
    return status;
}

int mlp_model_load(mlp_model *model, const char *path, mlp_error *error) {
    uint8_t *bytes;
    size_t size;
    memset(model, 0, sizeof *model);
    if (mlp_file_read_all(path, 4 * MLP_MAX_PARAMETERS + 4096, &bytes, &size, error) != 0) return -1;
    int status = mlp_model_deserialize(model, bytes, size, path, error);
    free(bytes);
    return status;
}
