/* The interop library without files: export then import gives the same parameters bit for bit
 * (safetensors, npz), every writer gives the same bytes twice, the ONNX graph has the expected
 * nodes, and the safetensors reader refuses each kind of bad tensor with its message. The npz
 * reader's refusals are checked through the CLI (import_errors.py: numpy writes the bad files). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_util.h"
#include "mlp/interop.h"
#include "test_util.h"

/* A model with parameters that exercise the bit patterns: signs, -0.0, subnormals, large values. */
static void make_model(mlp_model *model, const int *sizes, int count, mlp_activation activation, mlp_output output) {
    mlp_error error;
    if (mlp_model_create(model, sizes, count, activation, output, &error) != 0) {
        fprintf(stderr, "%s\n", error.message);
        exit(1);
    }
    uint32_t state = 12345;
    for (int l = 0; l < model->layer_count; l++) {
        float *w = mlp_model_weights(model, l), *b = mlp_model_biases(model, l);
        size_t n = (size_t)model->sizes[l] * model->sizes[l + 1];
        for (size_t i = 0; i < n; i++) {
            state = state * 1664525u + 1013904223u;
            w[i] = ((float)(state >> 8) / 16777216.0f - 0.5f) * (i % 7 == 0 ? 1e4f : 1.0f);
        }
        for (int q = 0; q < model->sizes[l + 1]; q++) b[q] = (float)q * 0.25f - 0.5f;
        w[0] = -0.0f;
        if (n > 1) w[1] = 1e-40f; /* subnormal */
    }
}

static int same_model(const mlp_model *a, const mlp_model *b) {
    return a->layer_count == b->layer_count &&
           memcmp(a->sizes, b->sizes, (size_t)(a->layer_count + 1) * sizeof a->sizes[0]) == 0 &&
           a->hidden_activation == b->hidden_activation && a->output == b->output &&
           a->parameter_count == b->parameter_count &&
           memcmp(a->parameters, b->parameters, a->parameter_count * sizeof(float)) == 0;
}

static void check_round_trips(const int *sizes, int count, mlp_activation activation, mlp_output output) {
    mlp_model model, back;
    mlp_error error;
    make_model(&model, sizes, count, activation, output);
    uint8_t *bytes, *again;
    size_t size, again_size;

    /* safetensors: the activation and output come back from __metadata__. */
    mlp_interop_import_options from_file = {.activation = MLP_ACTIVATION_NONE, .output = -1};
    CHECK(mlp_interop_safetensors_serialize(&model, &bytes, &size, &error) == 0, "%s", error.message);
    CHECK(mlp_interop_safetensors_deserialize(&back, bytes, size, "t.safetensors", &from_file, &error) == 0, "%s", error.message);
    CHECK(same_model(&model, &back), "safetensors round trip of %d layers changed the model", count - 1);
    CHECK(mlp_interop_safetensors_serialize(&back, &again, &again_size, &error) == 0, "%s", error.message);
    CHECK(again_size == size && memcmp(again, bytes, size) == 0, "safetensors: the same model gave other bytes");
    CHECK(get_u64_le(bytes) % 8 == 0, "safetensors header length %llu not a multiple of 8", (unsigned long long)get_u64_le(bytes));
    /* The first weight is stored [out, in]: element (q = 0, k = 1) is the model's W[1][0]. */
    float stored;
    uint32_t bits = get_u32_le(bytes + 8 + get_u64_le(bytes) + 4);
    memcpy(&stored, &bits, 4);
    CHECK(memcmp(&stored, &mlp_model_weights(&model, 0)[model.sizes[1]], 4) == 0, "safetensors weight not [out, in]");
    mlp_model_free(&back);
    free(bytes);
    free(again);

    /* npz: the activation is given; the output defaults to softmax. */
    mlp_interop_import_options given = {.activation = activation, .output = (int)output};
    CHECK(mlp_interop_npz_serialize(&model, &bytes, &size, &error) == 0, "%s", error.message);
    CHECK(mlp_interop_npz_deserialize(&back, bytes, size, "t.npz", &given, &error) == 0, "%s", error.message);
    CHECK(same_model(&model, &back), "npz round trip of %d layers changed the model", count - 1);
    CHECK(mlp_interop_npz_serialize(&back, &again, &again_size, &error) == 0, "%s", error.message);
    CHECK(again_size == size && memcmp(again, bytes, size) == 0, "npz: the same model gave other bytes");
    mlp_model_free(&back);
    free(bytes);
    free(again);

    /* ONNX: ir_version 8 first (field 1), one Gemm per layer, the output node, the same bytes twice. */
    for (int input = 0; input < 2; input++) {
        CHECK(mlp_interop_onnx_serialize(&model, (mlp_interop_onnx_input)input, &bytes, &size, &error) == 0, "%s", error.message);
        CHECK(size > 2 && bytes[0] == 0x08 && bytes[1] == 8, "onnx: does not start with ir_version 8");
        int gemms = 0, casts = 0;
        for (size_t i = 0; i + 4 <= size; i++) {
            gemms += memcmp(bytes + i, "Gemm", 4) == 0 && (i + 4 == size || bytes[i + 4] != '_');
            casts += memcmp(bytes + i, "Cast", 4) == 0 && (i + 4 == size || bytes[i + 4] != '_');
        }
        CHECK(gemms == count - 1, "onnx: %d Gemm nodes for %d layers", gemms, count - 1);
        CHECK(casts == input, "onnx: %d Cast nodes with input %d", casts, input);
        const char *last = output == MLP_OUTPUT_SIGMOID ? "Sigmoid" : "Softmax";
        int found = 0;
        for (size_t i = 0; i + strlen(last) <= size; i++) found |= memcmp(bytes + i, last, strlen(last)) == 0;
        CHECK(found, "onnx: no %s", last);
        CHECK(mlp_interop_onnx_serialize(&model, (mlp_interop_onnx_input)input, &again, &again_size, &error) == 0, "%s", error.message);
        CHECK(again_size == size && memcmp(again, bytes, size) == 0, "onnx: the same model gave other bytes");
        free(bytes);
        free(again);
    }
    mlp_model_free(&model);
}

/* A safetensors file from a header text and data bytes (the header padded to 8 bytes). */
static uint8_t *safetensors_from(const char *json, const float *data, size_t floats, size_t *size) {
    size_t length = strlen(json), padded = (length + 7) & ~(size_t)7;
    *size = 8 + padded + 4 * floats;
    uint8_t *bytes = malloc(*size);
    put_u64_le(bytes, padded);
    memcpy(bytes + 8, json, length);
    memset(bytes + 8 + length, ' ', padded - length);
    if (floats) memcpy(bytes + 8 + padded, data, 4 * floats);
    return bytes;
}

/* The reader refuses json+data with a message that contains `word`. */
static void expect_refused(const char *json, const float *data, size_t floats, mlp_activation activation,
                           const char *word) {
    size_t size;
    uint8_t *bytes = safetensors_from(json, data, floats, &size);
    mlp_model model;
    mlp_error error = {{0}};
    mlp_interop_import_options options = {.activation = activation, .output = -1};
    int status = mlp_interop_safetensors_deserialize(&model, bytes, size, "bad.safetensors", &options, &error);
    CHECK(status != 0, "accepted: %s", json);
    if (status == 0) mlp_model_free(&model);
    else CHECK(strstr(error.message, word) && strncmp(error.message, "bad.safetensors: ", 17) == 0,
               "message '%s' lacks '%s' or the file name", error.message, word);
    free(bytes);
}

#define W0(shape, begin, end) "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":[" begin "," end "]}"
#define B0(shape, begin, end) "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":[" begin "," end "]}"

static void check_refusals(void) {
    float data[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    /* accepted: one layer 2 -> 3 (weight [3, 2]) */
    size_t size;
    uint8_t *bytes = safetensors_from("{" W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") "}", data, 9, &size);
    mlp_model model;
    mlp_error error;
    mlp_interop_import_options none = {.activation = MLP_ACTIVATION_NONE, .output = -1};
    CHECK(mlp_interop_safetensors_deserialize(&model, bytes, size, "ok.safetensors", &none, &error) == 0, "%s", error.message);
    if (model.parameters) {
        CHECK(model.sizes[0] == 2 && model.sizes[1] == 3, "shape %d,%d", model.sizes[0], model.sizes[1]);
        /* W[in = 1][out = 2] is element [2, 1] of the [out, in] tensor: data[2 * 2 + 1] = 6 */
        CHECK(mlp_model_weights(&model, 0)[1 * 3 + 2] == 6.0f, "transpose: %g", mlp_model_weights(&model, 0)[5]);
        CHECK(mlp_model_biases(&model, 0)[2] == 9.0f, "bias %g", mlp_model_biases(&model, 0)[2]);
        mlp_model_free(&model);
    }
    free(bytes);

    expect_refused("{" W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") "}", data, 8, 0, "run past");
    expect_refused("{\"layers.0.weight\":{\"dtype\":\"F64\",\"shape\":[3,2],\"data_offsets\":[0,48]}}", data, 12, 0, "dtype F64");
    expect_refused("{" W0("[3,2,1]", "0", "24") "," B0("[3]", "24", "36") "}", data, 9, 0, "rank 3");
    expect_refused("{" W0("[3,2]", "0", "20") "," B0("[3]", "24", "36") "}", data, 9, 0, "data bytes");
    expect_refused("{" W0("[3,2]", "0", "24") "}", data, 6, 0, "no layers.0.bias");
    expect_refused("{" B0("[3]", "0", "12") "}", data, 3, 0, "no layers.0.weight");
    expect_refused("{" W0("[3,2]", "0", "24") "," B0("[2]", "24", "32") "}", data, 8, 0, "expected [3]");
    expect_refused("{" W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") ","
                   "\"layers.1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[36,44]},"
                   "\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[44,48]}}",
                   data, 12, MLP_ACTIVATION_RELU, "consecutive");
    expect_refused("{" W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") ",\"extra\":{}}", data, 9, 0, "unexpected tensor 'extra'");
    expect_refused("{" W0("[3,2]", "0", "24") "," W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") "}", data, 9, 0, "twice");
    expect_refused("{" W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") ",", data, 9, 0, "not valid JSON");
    expect_refused("[1,2]", data, 0, 0, "does not start with '{'");
    expect_refused("{" W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") "}x", data, 9, 0, "after the header");
    expect_refused("{\"__metadata__\":{\"activation\":\"tanh\"}," W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") "}", data, 9,
                   MLP_ACTIVATION_RELU, "says activation tanh");
    expect_refused("{\"__metadata__\":{\"layers\":\"2,4\"}," W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") "}", data, 9, 0,
                   "says layers 2,4");
    expect_refused("{\"__metadata__\":{\"activation\":7}," W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") "}", data, 9, 0,
                   "not a string");
    expect_refused("{\"layers.00.weight\":{}}", data, 0, 0, "unexpected tensor");
    expect_refused("{" W0("[3,-2]", "0", "24") "," B0("[3]", "24", "36") "}", data, 9, 0, "not a size");
    /* two layers, no activation anywhere */
    expect_refused("{" W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") ","
                   "\"layers.1.weight\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[36,48]},"
                   "\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[48,52]}}",
                   data, 13, 0, "does not say which activation");
    float bad[9] = {1, 2, 3, 4, 5, NAN, 7, 8, 9};
    expect_refused("{" W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") "}", bad, 9, 0, "layers.0.weight[2, 1] is NaN");
    bad[5] = 1;
    bad[7] = INFINITY;
    expect_refused("{" W0("[3,2]", "0", "24") "," B0("[3]", "24", "36") "}", bad, 9, 0, "layers.0.bias[1] is +inf");

    /* a length field larger than the file */
    uint8_t short_file[12] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
    mlp_interop_import_options options = {.activation = MLP_ACTIVATION_NONE, .output = -1};
    CHECK(mlp_interop_safetensors_deserialize(&model, short_file, sizeof short_file, "s", &options, &error) != 0 &&
              strstr(error.message, "header length"), "short file: %s", error.message);
}

int main(void) {
    check_round_trips((const int[]){784, 128, 64, 10}, 4, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX);
    check_round_trips((const int[]){5, 3}, 2, MLP_ACTIVATION_TANH, MLP_OUTPUT_SOFTMAX);
    check_round_trips((const int[]){4, 3, 1}, 3, MLP_ACTIVATION_SIGMOID, MLP_OUTPUT_SIGMOID);
    check_round_trips((const int[]){3, 17, 2, 5, 10}, 5, MLP_ACTIVATION_TANH, MLP_OUTPUT_SOFTMAX);
    check_refusals();
    return test_exit_code();
}
