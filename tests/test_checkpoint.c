/* Checkpoints and model files against hostile input: round trips are bitwise (the recipe and
 * the optimizer's moments included), a version-1 checkpoint still loads (as plain SGD), and every
 * truncation, every single-bit flip, another version, absurd counts behind a valid checksum, and
 * parameter counts that overflow give an error (never a crash: run under ASan+UBSan too). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mlp/checkpoint.h"
#include "core/file_util.h"
#include "mlp/model.h"
#include "mlp/optimizer.h"
#include "test_util.h"

static const int small_sizes[] = {12, 7, 10};

/* A small model with He weights and non-zero biases. */
static void make_model(mlp_model *model, uint64_t seed) {
    mlp_error error;
    int status = mlp_model_create(model, small_sizes, 3, MLP_ACTIVATION_TANH, MLP_OUTPUT_SOFTMAX, &error);
    CHECK(status == 0, "%s", error.message);
    if (status != 0) exit(test_exit_code());
    mlp_model_init_he(model, seed);
    for (int l = 0; l < model->layer_count; l++)
        for (int j = 0; j < model->sizes[l + 1]; j++) mlp_model_biases(model, l)[j] = 0.01f * (float)(j - 3);
}

/* A checkpoint in the middle of epoch 3 of 5, with a history of two epochs and a best model,
 * trained by AdamW on a cosine schedule with a plateau (its two moment arrays, a float per
 * parameter). */
enum { MOMENT_CAPACITY = 1024 };
static float moment1[MOMENT_CAPACITY], moment2[MOMENT_CAPACITY];
static void make_checkpoint(mlp_checkpoint *c, mlp_model *model, mlp_model *best, float *costs,
                            mlp_epoch_metrics *history) {
    memset(c, 0, sizeof *c);
    mlp_recipe_init(&c->recipe);
    c->recipe.optimizer.kind = MLP_OPTIMIZER_ADAMW;
    c->recipe.optimizer.weight_decay = 0.01f;
    c->recipe.optimizer.beta2 = 0.98f;
    c->recipe.schedule.kind = MLP_LR_COSINE;
    c->recipe.schedule.warmup_epochs = 0.5f;
    c->recipe.schedule.lr_min = 1e-4f;
    c->recipe.schedule.plateau = 3;
    c->recipe.dropout.hidden[0] = 0.3f;
    c->recipe.dropout.hidden[1] = 0.2f;
    c->recipe.augment.shift_pixels = 2.0f;
    c->recipe.augment.rotate_degrees = 10.0f;
    c->optimizer_step = 12345;
    c->plateau = (mlp_plateau_state){.best_cost = 0.42, .bad_epochs = 1, .reductions = 2};
    for (int i = 0; i < MOMENT_CAPACITY; i++) {
        moment1[i] = 0.001f * (float)(i - 80);
        moment2[i] = 1e-6f * (float)i;
    }
    c->moment_arrays = 2;
    c->moment1 = moment1;
    c->moment2 = moment2;
    snprintf(c->kernel, sizeof c->kernel, "scalar");
    snprintf(c->data_dir, sizeof c->data_dir, "data/mnist");
    c->train_limit = 3000;
    c->data_count = 3000;
    c->data_features = 784;
    c->data_checksum = 0xdeadbeefu;
    c->batch = 64;
    c->learning_rate = 0.1f;
    c->seed = 42;
    c->validation_split = 0.2f;
    c->epochs = 5;
    c->patience = 2;
    c->checkpoint_every = 1;
    c->gradient_shards = 1;
    c->precision = MLP_PRECISION_BF16;
    c->epoch = 3;
    c->first_batch = 4;
    c->partial_cost_sum = 123.456;
    c->partial_examples = 256;
    c->partial_train_seconds = 0.5;
    for (int b = 0; b < 4; b++) costs[b] = 2.3f - 0.1f * (float)b;
    c->batch_cost_count = 4;
    c->batch_costs = costs;
    for (int e = 0; e < 2; e++) {
        memset(&history[e], 0, sizeof history[e]);
        history[e].epoch = e + 1;
        history[e].train_cost = 1.0 / (e + 1);
        history[e].validation.count = 600;
        history[e].validation.cost = 0.9 / (e + 1);
        history[e].validation.accuracy = 0.8 + 0.05 * e;
        history[e].validation.confusion[3][5] = 7 + e;
        history[e].seconds = 1.5;
        history[e].learning_rate = 0.1 / (e + 1);
    }
    c->history_count = 2;
    c->history = history;
    c->best_epoch = 2;
    c->best_cost = 0.45;
    make_model(model, 1);
    make_model(best, 2);
    c->model = *model;
    c->best_model = *best;
    c->moment_count = model->parameter_count; /* 208: layers start on 64-byte boundaries */
    if (c->moment_count > MOMENT_CAPACITY) exit(99);
}

static int models_equal(const mlp_model *a, const mlp_model *b) {
    if (a->layer_count != b->layer_count || a->hidden_activation != b->hidden_activation ||
        a->output != b->output || a->parameter_count != b->parameter_count)
        return 0;
    if (memcmp(a->sizes, b->sizes, sizeof a->sizes) != 0) return 0;
    return memcmp(a->parameters, b->parameters, a->parameter_count * sizeof(float)) == 0;
}

static void rewrite_crc(uint8_t *bytes, size_t size) {
    put_u32_le(bytes + size - 4, (uint32_t)crc32_z(0L, bytes, size - 4));
}

static void test_checkpoint_round_trip(const uint8_t *bytes, size_t size, const mlp_checkpoint *c) {
    mlp_checkpoint back;
    mlp_error error;
    int status = mlp_checkpoint_deserialize(&back, bytes, size, "test.mlpc", &error);
    CHECK(status == 0, "%s", error.message);
    if (status != 0) return;
    CHECK(strcmp(back.kernel, "scalar") == 0 && strcmp(back.data_dir, "data/mnist") == 0 &&
              back.train_csv[0] == '\0', "names: '%s' '%s'", back.kernel, back.data_dir);
    CHECK(back.epoch == 3 && back.first_batch == 4 && back.epochs == 5 && back.patience == 2,
          "position: epoch %d batch %d", back.epoch, back.first_batch);
    CHECK(back.partial_cost_sum == c->partial_cost_sum && back.partial_examples == 256, "partial sums");
    CHECK(back.seed == 42 && back.learning_rate == 0.1f && back.validation_split == 0.2f &&
              back.data_checksum == 0xdeadbeefu, "options");
    CHECK(back.batch_cost_count == 4 && memcmp(back.batch_costs, c->batch_costs, 16) == 0, "batch costs");
    CHECK(back.history_count == 2 && back.history[1].validation.confusion[3][5] == 8 &&
              back.history[1].validation.accuracy == c->history[1].validation.accuracy,
          "history");
    CHECK(back.best_epoch == 2 && back.best_cost == 0.45, "best epoch");
    CHECK(back.precision == MLP_PRECISION_BF16, "precision %d after the round trip", (int)back.precision);
    CHECK(models_equal(&back.model, &c->model), "model differs after the round trip");
    CHECK(models_equal(&back.best_model, &c->best_model), "best model differs after the round trip");
    CHECK(memcmp(&back.recipe, &c->recipe, sizeof back.recipe) == 0, "the recipe differs after the round trip");
    CHECK(back.optimizer_step == 12345 && back.plateau.best_cost == 0.42 && back.plateau.bad_epochs == 1 &&
              back.plateau.reductions == 2, "optimizer step / plateau state");
    CHECK(back.moment_arrays == 2 && back.moment_count == c->moment_count && back.moment1 && back.moment2 &&
              memcmp(back.moment1, moment1, c->moment_count * 4) == 0 &&
              memcmp(back.moment2, moment2, c->moment_count * 4) == 0,
          "moments differ after the round trip");
    CHECK(back.history[1].learning_rate == 0.05, "history learning rate %g", back.history[1].learning_rate);
    uint8_t *again;
    size_t again_size;
    CHECK(mlp_checkpoint_serialize(&back, &again, &again_size, &error) == 0, "%s", error.message);
    CHECK(again_size == size && memcmp(again, bytes, size) == 0, "re-serialised bytes differ");
    free(again);
    mlp_checkpoint_free(&back);
}

/* Every prefix of the file is rejected. */
static void test_checkpoint_truncations(const uint8_t *bytes, size_t size) {
    int accepted = 0;
    for (size_t length = 0; length < size; length++) {
        mlp_checkpoint back;
        mlp_error error;
        if (mlp_checkpoint_deserialize(&back, bytes, length, "cut.mlpc", &error) == 0) {
            accepted++;
            mlp_checkpoint_free(&back);
        }
    }
    CHECK(accepted == 0, "%d truncated checkpoints were accepted", accepted);
}

/* Every single-bit flip is rejected (the CRC-32 detects all of them; the magic and version
 * are reported as such). */
static void test_checkpoint_bit_flips(const uint8_t *bytes, size_t size) {
    uint8_t *copy = malloc(size);
    int accepted = 0, checksum_messages = 0;
    for (size_t i = 0; i < size; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, bytes, size);
            copy[i] ^= (uint8_t)(1u << bit);
            mlp_checkpoint back;
            mlp_error error;
            if (mlp_checkpoint_deserialize(&back, copy, size, "flip.mlpc", &error) == 0) {
                accepted++;
                mlp_checkpoint_free(&back);
            } else if (strstr(error.message, "checksum")) {
                checksum_messages++;
            }
        }
    CHECK(accepted == 0, "%d bit-flipped checkpoints were accepted", accepted);
    CHECK(checksum_messages >= (int)(8 * (size - 12)), "only %d flips reported as a checksum mismatch",
          checksum_messages);
    free(copy);
}

/* Fields that lie behind a valid checksum: another version, absurd counts. */
static void test_checkpoint_lying_fields(const uint8_t *bytes, size_t size) {
    uint8_t *copy = malloc(size);
    mlp_checkpoint back;
    mlp_error error;

    memcpy(copy, bytes, size);
    put_u32_le(copy + 8, MLP_CHECKPOINT_FORMAT_VERSION + 1);
    rewrite_crc(copy, size);
    char newer[32];
    snprintf(newer, sizeof newer, "version %u", MLP_CHECKPOINT_FORMAT_VERSION + 1);
    CHECK(mlp_checkpoint_deserialize(&back, copy, size, "newer.mlpc", &error) != 0 &&
              strstr(error.message, newer) && strstr(error.message, "newer.mlpc"),
          "%s: %s", newer, error.message);
    put_u32_le(copy + 8, 0);
    rewrite_crc(copy, size);
    CHECK(mlp_checkpoint_deserialize(&back, copy, size, "v0.mlpc", &error) != 0 && strstr(error.message, "version 0"),
          "version 0: %s", error.message);

    /* The same file claiming version 1 (no recipe, no moments) does not parse as one. */
    memcpy(copy, bytes, size);
    put_u32_le(copy + 8, 1);
    rewrite_crc(copy, size);
    CHECK(mlp_checkpoint_deserialize(&back, copy, size, "as_v1.mlpc", &error) != 0, "a version-3 body read as version 1");
    /* Nor as version 2 (no precision field): the fields after it shift. */
    put_u32_le(copy + 8, 2);
    rewrite_crc(copy, size);
    CHECK(mlp_checkpoint_deserialize(&back, copy, size, "as_v2.mlpc", &error) != 0, "a version-3 body read as version 2");

    /* The kernel name's length (the first field after the version) claims 4 GiB. */
    memcpy(copy, bytes, size);
    put_u32_le(copy + 12, 0xffffffffu);
    rewrite_crc(copy, size);
    CHECK(mlp_checkpoint_deserialize(&back, copy, size, "name.mlpc", &error) != 0, "a huge name length was accepted");

    /* Every u32 position in turn set to 0xffffffff and to 0x7fffffff, checksum fixed: no crash,
     * no huge allocation (ASan would report it), and whatever is accepted still round-trips. */
    for (size_t at = 12; at + 8 <= size; at += 4)
        for (int v = 0; v < 2; v++) {
            memcpy(copy, bytes, size);
            put_u32_le(copy + at, v ? 0x7fffffffu : 0xffffffffu);
            rewrite_crc(copy, size);
            if (mlp_checkpoint_deserialize(&back, copy, size, "lie.mlpc", &error) == 0) mlp_checkpoint_free(&back);
        }

    /* Padding after a valid body. */
    uint8_t *padded = calloc(size + 8, 1);
    memcpy(padded, bytes, size - 4);
    rewrite_crc(padded, size + 8);
    CHECK(mlp_checkpoint_deserialize(&back, padded, size + 8, "pad.mlpc", &error) != 0, "padding was accepted");
    free(padded);
    free(copy);
}

/* Loads the seed checkpoint fuzz/corpus/checkpoint/<name>; 0, or -1 (a failed check). */
static int load_seed(const char *name, mlp_checkpoint *c) {
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint/%s", MLP_FUZZ_CORPUS_DIR, name);
    mlp_error error;
    int status = mlp_checkpoint_load(c, path, &error);
    CHECK(status == 0, "%s", error.message);
    return status;
}

/* A version-1 checkpoint (fuzz/corpus/checkpoint/v1_*.mlpc, written before the recipe existed)
 * loads as plain SGD at a constant rate, with no moments, in fp32; saved again it is a current file
 * that loads the same. */
static void test_checkpoint_version_1(void) {
    static const char *names[] = {"v1_mid_epoch.mlpc", "v1_epoch_end.mlpc"};
    for (int i = 0; i < 2; i++) {
        mlp_checkpoint c;
        mlp_error error;
        int status = load_seed(names[i], &c);
        if (status != 0) continue;
        mlp_recipe plain;
        mlp_recipe_init(&plain);
        CHECK(memcmp(&c.recipe, &plain, sizeof plain) == 0 && mlp_optimizer_is_plain_sgd(&c.recipe.optimizer),
              "%s: not plain SGD", names[i]);
        CHECK(c.moment_count == 0 && !c.moment1 && !c.moment2 && c.optimizer_step == 0 && c.plateau.reductions == 0,
              "%s: optimizer state", names[i]);
        CHECK(c.history_count == 0 || c.history[0].learning_rate == c.learning_rate, "%s: history rate", names[i]);
        CHECK(c.precision == MLP_PRECISION_FP32, "%s: an old checkpoint loads as fp32", names[i]);
        uint8_t *bytes;
        size_t size;
        CHECK(mlp_checkpoint_serialize(&c, &bytes, &size, &error) == 0, "%s", error.message);
        mlp_checkpoint again;
        status = mlp_checkpoint_deserialize(&again, bytes, size, "upgraded.mlpc", &error);
        CHECK(status == 0 && get_u32_le(bytes + 8) == MLP_CHECKPOINT_FORMAT_VERSION, "upgraded %s: %s", names[i],
              error.message);
        if (status == 0) {
            CHECK(models_equal(&again.model, &c.model) && again.epoch == c.epoch && again.first_batch == c.first_batch,
                  "upgraded %s differs", names[i]);
            mlp_checkpoint_free(&again);
        }
        free(bytes);
        mlp_checkpoint_free(&c);
    }
}

/* The version-2 checkpoints of the fuzz corpus (written before --precision) load as fp32; the
 * current mid-epoch seed (fuzz/make_seeds.c) is bf16. */
static void test_checkpoint_version_2(void) {
    static const char *names[] = {"v2_mid_epoch.mlpc", "v2_epoch_end.mlpc"};
    mlp_checkpoint c;
    for (int i = 0; i < 2; i++) {
        if (load_seed(names[i], &c) != 0) continue;
        CHECK(c.precision == MLP_PRECISION_FP32, "%s: a version-2 checkpoint loads as fp32", names[i]);
        mlp_checkpoint_free(&c);
    }
    if (load_seed("mid_epoch.mlpc", &c) != 0) return;
    CHECK(c.precision == MLP_PRECISION_BF16, "mid_epoch.mlpc: not bf16");
    mlp_checkpoint_free(&c);
}

static void test_checkpoint_files(const mlp_checkpoint *c) {
    char folder[] = "/tmp/mlp_checkpoint_XXXXXX";
    CHECK(mkdtemp(folder) != NULL, "mkdtemp");
    char path[128];
    snprintf(path, sizeof path, "%s/%s", folder, MLP_CHECKPOINT_FILE_NAME);
    mlp_error error;
    CHECK(mlp_checkpoint_save(c, path, &error) == 0, "%s", error.message);
    mlp_checkpoint back;
    int status = mlp_checkpoint_load(&back, path, &error);
    CHECK(status == 0, "%s", error.message);
    if (status == 0) {
        CHECK(models_equal(&back.model, &c->model), "model differs after save/load");
        mlp_checkpoint_free(&back);
    }
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.mlpc", folder);
    CHECK(mlp_checkpoint_load(&back, missing, &error) != 0 && strstr(error.message, "none.mlpc"),
          "missing file: %s", error.message);
    /* A model file is not a checkpoint. */
    mlp_model model;
    make_model(&model, 3);
    char model_path[160];
    snprintf(model_path, sizeof model_path, "%s/model.mlp", folder);
    CHECK(mlp_model_save(&model, model_path, &error) == 0, "%s", error.message);
    CHECK(mlp_checkpoint_load(&back, model_path, &error) != 0 && strstr(error.message, "bad magic"),
          "model as checkpoint: %s", error.message);
    mlp_model_free(&model);
    unlink(path);
    unlink(model_path);
    CHECK(rmdir(folder) == 0, "the folder holds leftovers (a temporary file?)");
}

/* The model file: every truncation, every bit flip, another version. */
static void test_model_file_hostile(void) {
    mlp_model model;
    make_model(&model, 7);
    uint8_t *bytes;
    size_t size;
    mlp_error error;
    CHECK(mlp_model_serialize(&model, &bytes, &size, &error) == 0, "%s", error.message);
    int accepted = 0;
    for (size_t length = 0; length < size; length++) {
        mlp_model back;
        if (mlp_model_deserialize(&back, bytes, length, "cut.mlp", &error) == 0) {
            accepted++;
            mlp_model_free(&back);
        } else if (!strstr(error.message, "cut.mlp")) {
            accepted += 1000; /* the message must name the file */
        }
    }
    CHECK(accepted == 0, "truncated model files accepted or unnamed errors: %d", accepted);
    uint8_t *copy = malloc(size);
    accepted = 0;
    for (size_t i = 0; i < size; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, bytes, size);
            copy[i] ^= (uint8_t)(1u << bit);
            mlp_model back;
            if (mlp_model_deserialize(&back, copy, size, "flip.mlp", &error) == 0) {
                accepted++;
                mlp_model_free(&back);
            }
        }
    CHECK(accepted == 0, "%d bit-flipped model files were accepted", accepted);
    memcpy(copy, bytes, size);
    put_u32_le(copy + 8, 99);
    rewrite_crc(copy, size);
    mlp_model back;
    CHECK(mlp_model_deserialize(&back, copy, size, "v99.mlp", &error) != 0 && strstr(error.message, "version 99"),
          "version 99: %s", error.message);
    /* Layer sizes whose parameter count overflows 32 bits, behind a valid checksum. */
    memcpy(copy, bytes, size);
    put_u32_le(copy + 24, MLP_MAX_WIDTH);
    put_u32_le(copy + 28, MLP_MAX_WIDTH);
    rewrite_crc(copy, size);
    CHECK(mlp_model_deserialize(&back, copy, size, "huge.mlp", &error) != 0, "huge layer sizes were accepted");
    /* Regression (fuzz_model, tests/regressions/model/oom-*): sizes of a billion parameters, within
     * the limit, in a file that holds a few: refused before model_create allocates 4 GB. */
    memcpy(copy, bytes, size);
    put_u32_le(copy + 24, 327680);
    put_u32_le(copy + 28, 3055);
    rewrite_crc(copy, size);
    CHECK(mlp_model_deserialize(&back, copy, size, "claims.mlp", &error) != 0 &&
              strstr(error.message, "does not match the layer sizes"),
          "sizes of 1e9 parameters in a small file: %s", error.message);
    free(copy);
    free(bytes);
    mlp_model_free(&model);
}

/* --layers 784,1000000,1000000,10: refused before allocating. */
static void test_parameter_overflow(void) {
    mlp_model model;
    mlp_error error;
    const int sizes[] = {784, 1000000, 1000000, 10};
    CHECK(mlp_model_create(&model, sizes, 4, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX, &error) != 0 &&
              strstr(error.message, "too many parameters"),
          "784,1000000,1000000,10: %s", error.message);
    const int widest[] = {MLP_MAX_WIDTH, MLP_MAX_WIDTH, MLP_MAX_WIDTH};
    CHECK(mlp_model_create(&model, widest, 3, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX, &error) != 0,
          "2^20 x 2^20 layers were accepted");
}

int main(void) {
    mlp_checkpoint c;
    mlp_model model, best;
    float costs[4];
    mlp_epoch_metrics history[2];
    make_checkpoint(&c, &model, &best, costs, history);
    uint8_t *bytes;
    size_t size;
    mlp_error error;
    int status = mlp_checkpoint_serialize(&c, &bytes, &size, &error);
    CHECK(status == 0, "%s", error.message);
    if (status != 0) return test_exit_code();
    test_checkpoint_round_trip(bytes, size, &c);
    test_checkpoint_truncations(bytes, size);
    test_checkpoint_bit_flips(bytes, size);
    test_checkpoint_lying_fields(bytes, size);
    test_checkpoint_files(&c);
    test_checkpoint_version_1();
    test_checkpoint_version_2();
    test_model_file_hostile();
    test_parameter_overflow();
    printf("checkpoint of %zu bytes: %zu truncations, %zu bit flips rejected\n", size, size, 8 * size);
    free(bytes);
    mlp_model_free(&model);
    mlp_model_free(&best);
    return test_exit_code();
}
