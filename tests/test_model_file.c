#define _POSIX_C_SOURCE 200809L /* mkdtemp */
/* The model file: a save/load round trip is bitwise, and each kind of damage gets its own
 * one-line message naming the file (bad magic, another version, truncated, padded, checksum).
 * Exhaustive truncation and fuzzing live in the reliability tests; these are the main cases. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file_util.h"
#include "mlp/model.h"
#include "test_util.h"

/* Whether a message is one line that names the file and contains the expected words. */
static void check_message(const mlp_error *error, const char *name, const char *expected,
                          const char *what) {
    CHECK(strchr(error->message, '\n') == NULL, "%s: the message has several lines: %s", what,
          error->message);
    CHECK(strstr(error->message, name) != NULL, "%s: the message does not name %s: %s", what, name,
          error->message);
    CHECK(strstr(error->message, expected) != NULL, "%s: expected '%s' in: %s", what, expected,
          error->message);
}

/* model_deserialize must refuse these bytes with a message containing `expected`. */
static void check_rejected(const uint8_t *bytes, size_t size, const char *expected, const char *what) {
    mlp_model model;
    mlp_error error = {{0}};
    int status = mlp_model_deserialize(&model, bytes, size, "damaged.mlp", &error);
    CHECK(status == -1, "%s: accepted", what);
    if (status == 0) {
        mlp_model_free(&model);
        return;
    }
    check_message(&error, "damaged.mlp", expected, what);
    /* Each kind of damage has its own message: a truncation never reads as padding and back. */
    const char *other = strcmp(expected, "padded") == 0 ? "truncated" : "padded";
    CHECK(strstr(error.message, other) == NULL, "%s: '%s' in: %s", what, other, error.message);
}

static int same_model(const mlp_model *a, const mlp_model *b) {
    if (a->layer_count != b->layer_count || a->hidden_activation != b->hidden_activation ||
        a->output != b->output || a->parameter_count != b->parameter_count)
        return 0;
    for (int l = 0; l <= a->layer_count; l++)
        if (a->sizes[l] != b->sizes[l]) return 0;
    for (int l = 0; l < a->layer_count; l++) {
        size_t weights = (size_t)a->sizes[l] * a->sizes[l + 1];
        if (memcmp(mlp_model_weights(a, l), mlp_model_weights(b, l), weights * sizeof(float)) != 0 ||
            memcmp(mlp_model_biases(a, l), mlp_model_biases(b, l), (size_t)a->sizes[l + 1] * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

static void test_round_trip(const char *folder, mlp_activation activation, mlp_output output) {
    int sizes[] = {28, 17, 9, output == MLP_OUTPUT_SIGMOID ? 1 : 10};
    mlp_error error;
    mlp_model model, loaded;
    CHECK(mlp_model_create(&model, sizes, 4, activation, output, &error) == 0, "%s", error.message);
    mlp_model_init_he(&model, 1234);
    for (int l = 0; l < model.layer_count; l++) mlp_model_biases(&model, l)[0] = -0.25f * (float)(l + 1);
    char path[4200];
    snprintf(path, sizeof path, "%s/model.mlp", folder);
    CHECK(mlp_model_save(&model, path, &error) == 0, "save: %s", error.message);
    CHECK(mlp_model_load(&loaded, path, &error) == 0, "load: %s", error.message);
    CHECK(same_model(&model, &loaded), "the loaded model differs from the saved one");
    /* The file is the serialisation, byte for byte, and saving the loaded model reproduces it. */
    uint8_t *file_bytes, *bytes_again;
    size_t file_size, size_again;
    CHECK(mlp_file_read_all(path, 1 << 24, &file_bytes, &file_size, &error) == 0, "%s", error.message);
    CHECK(mlp_model_serialize(&loaded, &bytes_again, &size_again, &error) == 0, "%s", error.message);
    CHECK(file_size == size_again && memcmp(file_bytes, bytes_again, file_size) == 0,
          "re-serialising the loaded model gives other bytes");
    free(file_bytes);
    free(bytes_again);
    mlp_model_free(&loaded);
    mlp_model_free(&model);
}

static void test_damaged(const char *folder) {
    int sizes[] = {12, 7, 10};
    mlp_error error;
    mlp_model model;
    CHECK(mlp_model_create(&model, sizes, 3, MLP_ACTIVATION_TANH, MLP_OUTPUT_SOFTMAX, &error) == 0, "%s",
          error.message);
    mlp_model_init_he(&model, 7);
    uint8_t *good;
    size_t size;
    CHECK(mlp_model_serialize(&model, &good, &size, &error) == 0, "%s", error.message);
    mlp_model_free(&model);
    uint8_t *bytes = malloc(size + 8);

    memcpy(bytes, good, size);
    bytes[3] ^= 0x20; /* "MLPmODEL" */
    check_rejected(bytes, size, "bad magic", "bad magic");

    memcpy(bytes, good, size);
    put_u32_le(bytes + 8, 2);
    check_rejected(bytes, size, "version 2", "version 2");

    /* Truncated: empty, inside the magic, inside the header, inside the sizes, one parameter
     * short, the checksum cut. */
    size_t header = 8 + 16 + 4 * 3 + 8;
    size_t cuts[] = {0, 5, 20, 30, header, header + 4, size / 2, size - 4, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", cuts[i], size);
        memcpy(bytes, good, size);
        /* The first cuts cannot hold the magic: they read as "not a model file" (bad magic). */
        check_rejected(bytes, cuts[i], cuts[i] < 8 + 16 ? "bad magic" : "truncated", what);
    }

    memcpy(bytes, good, size);
    memset(bytes + size, 0, 4);
    check_rejected(bytes, size + 4, "padded", "padded with 4 zero bytes");
    check_rejected(bytes, size + 1, "padded", "padded with 1 byte");

    /* One flipped bit in a parameter, in the checksum itself. */
    memcpy(bytes, good, size);
    bytes[header + 17] ^= 0x01;
    check_rejected(bytes, size, "checksum", "a flipped parameter bit");
    memcpy(bytes, good, size);
    bytes[size - 2] ^= 0x80;
    check_rejected(bytes, size, "checksum", "a flipped checksum bit");

    /* model_load names the path, and a missing file is an error too. */
    char path[4200];
    snprintf(path, sizeof path, "%s/damaged.mlp", folder);
    memcpy(bytes, good, size);
    bytes[size / 2] ^= 0x10;
    CHECK(mlp_file_write_atomic(path, bytes, size, &error) == 0, "%s", error.message);
    mlp_model loaded;
    CHECK(mlp_model_load(&loaded, path, &error) == -1, "a damaged file loaded");
    check_message(&error, path, "checksum", "model_load of a damaged file");
    snprintf(path, sizeof path, "%s/missing.mlp", folder);
    CHECK(mlp_model_load(&loaded, path, &error) == -1, "a missing file loaded");
    check_message(&error, path, "", "model_load of a missing file");

    free(bytes);
    free(good);
}

int main(void) {
    char folder[] = "/tmp/mlp_model_file_XXXXXX";
    if (!mkdtemp(folder)) TEST_SKIP("cannot create a temporary folder under /tmp");
    test_round_trip(folder, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX);
    test_round_trip(folder, MLP_ACTIVATION_SIGMOID, MLP_OUTPUT_SIGMOID);
    test_round_trip(folder, MLP_ACTIVATION_TANH, MLP_OUTPUT_SOFTMAX);
    test_damaged(folder);
    char path[4200];
    const char *names[] = {"model.mlp", "damaged.mlp"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", folder, names[i]);
        unlink(path);
    }
    CHECK(rmdir(folder) == 0, "%s: not empty after the test (a temporary file left behind?)", folder);
    return test_exit_code();
}
