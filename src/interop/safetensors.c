/* safetensors (https://github.com/huggingface/safetensors, format as of 0.4):
 *   u64 LE  N, the length of the header
 *   N bytes a JSON object, padded with spaces to a multiple of 8 bytes:
 *             "__metadata__": {string: string}, optional
 *             NAME: {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}
 *   the data: each tensor's bytes, row-major, little-endian, at [begin, end) after the header.
 * The JSON is written and read with cJSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "interop_layers.h"
#include "core/file_util.h"

#define SAFETENSORS_MAX_HEADER ((uint64_t)100 << 20) /* the reference reader's limit */
/* __metadata__ plus a weight and a bias per layer; more entries cannot be an MLP of ours. */
#define SAFETENSORS_MAX_ENTRIES (2 * MLP_MAX_LAYERS + 1)

/* ---- writing ---- */

static cJSON *tensor_entry(int rows, int cols, int rank, size_t begin, size_t end) {
    cJSON *entry = cJSON_CreateObject();
    double shape[2] = {rows, cols}, offsets[2] = {(double)begin, (double)end};
    cJSON_AddStringToObject(entry, "dtype", "F32");
    cJSON_AddItemToObject(entry, "shape", cJSON_CreateDoubleArray(shape, rank));
    cJSON_AddItemToObject(entry, "data_offsets", cJSON_CreateDoubleArray(offsets, 2));
    return entry;
}

int mlp_interop_safetensors_serialize(const mlp_model *model, uint8_t **bytes, size_t *size,
                                  mlp_error *error) {
    cJSON *header = cJSON_CreateObject(), *metadata = cJSON_CreateObject();
    char layers[512];
    mlp_interop_layers_text(model, layers, sizeof layers);
    cJSON_AddStringToObject(metadata, "format", "mlptrain");
    cJSON_AddStringToObject(metadata, "layers", layers);
    cJSON_AddStringToObject(metadata, "activation", mlp_model_activation_name(model->hidden_activation));
    cJSON_AddStringToObject(metadata, "output", model->output == MLP_OUTPUT_SIGMOID ? "sigmoid" : "softmax");
    cJSON_AddItemToObject(header, "__metadata__", metadata);
    size_t offset = 0;
    for (int l = 0; l < model->layer_count; l++) {
        int in = model->sizes[l], out = model->sizes[l + 1];
        char name[48];
        size_t weight_bytes = (size_t)in * out * 4, bias_bytes = (size_t)out * 4;
        snprintf(name, sizeof name, "layers.%d.weight", l);
        cJSON_AddItemToObject(header, name, tensor_entry(out, in, 2, offset, offset + weight_bytes));
        offset += weight_bytes;
        snprintf(name, sizeof name, "layers.%d.bias", l);
        cJSON_AddItemToObject(header, name, tensor_entry(out, 0, 1, offset, offset + bias_bytes));
        offset += bias_bytes;
    }
    char *json = cJSON_PrintUnformatted(header);
    cJSON_Delete(header);
    if (!json) return mlp_error_set(error, "safetensors: out of memory writing the header");
    size_t json_length = strlen(json), padded = (json_length + 7) & ~(size_t)7;
    size_t total = 8 + padded + offset;
    uint8_t *buffer = malloc(total);
    if (!buffer) {
        free(json);
        return mlp_error_set(error, "safetensors: out of memory (%zu bytes)", total);
    }
    put_u64_le(buffer, padded);
    memcpy(buffer + 8, json, json_length);
    memset(buffer + 8 + json_length, ' ', padded - json_length);
    free(json);
    uint8_t *p = buffer + 8 + padded;
    for (int l = 0; l < model->layer_count; l++) {
        int in = model->sizes[l], out = model->sizes[l + 1];
        const float *w = mlp_model_weights(model, l), *b = mlp_model_biases(model, l);
        for (int q = 0; q < out; q++) /* [out, in]: the transpose of the model's [in, out] */
            for (int k = 0; k < in; k++, p += 4) put_u32_le(p, interop_float_bits(w[(size_t)k * out + q]));
        for (int q = 0; q < out; q++, p += 4) put_u32_le(p, interop_float_bits(b[q]));
    }
    *bytes = buffer;
    *size = total;
    return 0;
}

/* ---- reading ---- */

/* A JSON number that is a whole number 0..2^53 (exact in a double). */
static int json_whole(const cJSON *item, uint64_t *value) {
    if (!cJSON_IsNumber(item)) return -1;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || floor(v) != v) return -1;
    *value = (uint64_t)v;
    return 0;
}

/* "layers.{l}.weight" / "layers.{l}.bias": the layer and which (0 weight, 1 bias), or -1. */
static int parse_tensor_name(const char *name, int *which) {
    if (strncmp(name, "layers.", 7) != 0) return -1;
    const char *digits = name + 7, *dot = strchr(digits, '.');
    if (!dot) return -1;
    if (strcmp(dot, ".weight") == 0) *which = 0;
    else if (strcmp(dot, ".bias") == 0) *which = 1;
    else return -1;
    return mlp_interop_parse_layer_index(digits, (size_t)(dot - digits));
}

/* One tensor entry: its dtype, shape and where its bytes are. */
static int read_entry(const char *file, const cJSON *entry, const uint8_t *data, uint64_t data_size,
                      interop_tensor *tensor, mlp_error *error) {
    const char *name = tensor->name;
    if (!cJSON_IsObject(entry))
        return mlp_error_set(error, "%s: header entry '%s' is not an object", file, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offsets))
        return mlp_error_set(error, "%s: header entry '%s' lacks dtype, shape or data_offsets", file, name);
    if (strcmp(dtype->valuestring, "F32") != 0)
        return mlp_error_set(error, "%s: %s has dtype %.20s (only F32 is read: convert with tensor.float())",
                         file, name, dtype->valuestring);
    int rank = cJSON_GetArraySize(shape);
    if (rank > INTEROP_MAX_RANK)
        return mlp_error_set(error, "%s: %s has rank %d (a weight has rank 2, a bias rank 1)", file, name, rank);
    tensor->rank = rank;
    uint64_t elements = 1;
    const cJSON *dimension;
    int d = 0;
    cJSON_ArrayForEach(dimension, shape) {
        if (json_whole(dimension, &tensor->shape[d]) != 0 || tensor->shape[d] > ((uint64_t)1 << 31))
            return mlp_error_set(error, "%s: %s: shape entry %d is not a size (0..2^31)", file, name, d);
        /* Clamped above 2^32 (more than any accepted file holds), so the product cannot wrap;
         * the byte count check below then fails. */
        elements *= tensor->shape[d];
        if (elements > ((uint64_t)1 << 32)) elements = ((uint64_t)1 << 32) + 1;
        d++;
    }
    uint64_t begin, end;
    if (cJSON_GetArraySize(offsets) != 2 || json_whole(cJSON_GetArrayItem(offsets, 0), &begin) != 0 ||
        json_whole(cJSON_GetArrayItem(offsets, 1), &end) != 0 || begin > end)
        return mlp_error_set(error, "%s: %s: data_offsets is not [begin, end] with begin <= end", file, name);
    if (end > data_size)
        return mlp_error_set(error, "%s: %s: data_offsets [%llu, %llu] run past the %llu data bytes (file cut short?)",
                         file, name, (unsigned long long)begin, (unsigned long long)end,
                         (unsigned long long)data_size);
    if (end - begin != elements * 4)
        return mlp_error_set(error, "%s: %s: %llu data bytes for its shape's %llu float32 values", file, name,
                         (unsigned long long)(end - begin), (unsigned long long)elements);
    tensor->data = data + begin;
    tensor->present = 1;
    return 0;
}

/* The __metadata__ strings the importer uses (NULL when absent). */
typedef struct safetensors_metadata {
    const char *layers, *activation, *output;
} safetensors_metadata;

static int read_metadata(const char *file, const cJSON *object, safetensors_metadata *metadata,
                         mlp_error *error) {
    if (!cJSON_IsObject(object)) return mlp_error_set(error, "%s: __metadata__ is not an object", file);
    const cJSON *item;
    cJSON_ArrayForEach(item, object) {
        if (!cJSON_IsString(item))
            return mlp_error_set(error, "%s: __metadata__ value '%.60s' is not a string", file,
                             item->string ? item->string : "");
        if (strcmp(item->string, "layers") == 0) metadata->layers = item->valuestring;
        else if (strcmp(item->string, "activation") == 0) metadata->activation = item->valuestring;
        else if (strcmp(item->string, "output") == 0) metadata->output = item->valuestring;
    }
    return 0;
}

static int read_header(const char *file, const cJSON *header, const uint8_t *data, uint64_t data_size,
                       interop_layer_set *set, safetensors_metadata *metadata, mlp_error *error) {
    if (!cJSON_IsObject(header)) return mlp_error_set(error, "%s: the header is not a JSON object", file);
    int entries = cJSON_GetArraySize(header);
    if (entries > SAFETENSORS_MAX_ENTRIES)
        return mlp_error_set(error, "%s: %d header entries (an MLP of at most %d layers has at most %d)", file,
                         entries, MLP_MAX_LAYERS, SAFETENSORS_MAX_ENTRIES);
    int seen_metadata = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, header) {
        const char *name = entry->string ? entry->string : "";
        if (strcmp(name, "__metadata__") == 0) {
            if (seen_metadata++) return mlp_error_set(error, "%s: __metadata__ appears twice", file);
            if (read_metadata(file, entry, metadata, error) != 0) return -1;
            continue;
        }
        int which, layer = parse_tensor_name(name, &which);
        if (layer < 0)
            return mlp_error_set(error, "%s: unexpected tensor '%.60s' (an MLP has layers.{0..%d}.weight and .bias only)",
                             file, name, MLP_MAX_LAYERS - 1);
        interop_tensor *tensor = which ? &set->bias[layer] : &set->weight[layer];
        if (tensor->present) return mlp_error_set(error, "%s: tensor %s appears twice", file, name);
        snprintf(tensor->name, sizeof tensor->name, "%s", name);
        if (read_entry(file, entry, data, data_size, tensor, error) != 0) return -1;
        if (layer + 1 > set->layer_count) set->layer_count = layer + 1;
    }
    return 0;
}

int mlp_interop_safetensors_deserialize(mlp_model *model, const uint8_t *bytes, size_t size,
                                    const char *name, const mlp_interop_import_options *options,
                                    mlp_error *error) {
    memset(model, 0, sizeof *model);
    if (size < 8) return mlp_error_set(error, "%s: %zu bytes, too short for a safetensors file", name, size);
    uint64_t header_size = get_u64_le(bytes);
    if (header_size > SAFETENSORS_MAX_HEADER || header_size > size - 8)
        return mlp_error_set(error, "%s: header length %llu does not fit the %zu-byte file (not a safetensors file?)",
                         name, (unsigned long long)header_size, size);
    const char *text = (const char *)bytes + 8, *parse_end = NULL;
    if (header_size == 0 || text[0] != '{')
        return mlp_error_set(error, "%s: the header does not start with '{' (not a safetensors file?)", name);
    cJSON *header = cJSON_ParseWithLengthOpts(text, (size_t)header_size, &parse_end, 0);
    if (!header) {
        const char *at = cJSON_GetErrorPtr();
        long offset = at && at >= text && at <= text + header_size ? (long)(at - text) : -1;
        return mlp_error_set(error, "%s: the header is not valid JSON (at byte %ld of %llu)", name, offset,
                         (unsigned long long)header_size);
    }
    for (const char *p = parse_end; p && p < text + header_size; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            cJSON_Delete(header);
            return mlp_error_set(error, "%s: bytes after the header's JSON object (at byte %ld)", name,
                             (long)(p - text));
        }
    interop_layer_set *set = calloc(1, sizeof *set); /* 9 KB */
    if (!set) {
        cJSON_Delete(header);
        return mlp_error_set(error, "%s: out of memory", name);
    }
    set->file = name;
    set->weights_out_in = 1;
    set->weight_name = "layers.%d.weight";
    set->bias_name = "layers.%d.bias";
    safetensors_metadata metadata = {0};
    const uint8_t *data = bytes + 8 + header_size;
    uint64_t data_size = size - 8 - header_size;
    int status = read_header(name, header, data, data_size, set, &metadata, error);
    mlp_activation activation;
    mlp_output output;
    if (status == 0)
        status = mlp_interop_resolve_kind(name, options, metadata.activation, metadata.output,
                                      set->layer_count - 1, &activation, &output, error);
    if (status == 0) status = mlp_interop_layers_build(set, metadata.layers, activation, output, model, error);
    free(set);
    cJSON_Delete(header); /* the metadata strings point into it */
    return status;
}
