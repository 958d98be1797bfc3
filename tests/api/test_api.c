/* The installed library's interface (include/mlptrain/mlptrain.h), through libmlptrain.so only.
 *
 *   test_api errors              bad input: every refusal gives its status and a one-line message
 *   test_api mnist DATA_DIR      on an MNIST subset: callback stop, float pixels = uint8 pixels,
 *                                predictions for any thread count, save/load, two handles trained
 *                                at once from two threads = trained one after the other
 *   test_api write DATA_DIR N EPOCHS THREADS OUT
 *                                trains on the first N training images with the defaults and
 *                                writes OUT (tests/api/api_vs_cli.sh compares it with trainer's)
 * Exit 77 (skip) when the MNIST modes find no data. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/mlptrain.h"

static int failures;

#define CHECK(condition, ...)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* A status and a message that contains `needle`. */
static void expect(mlp_status got, mlp_status want, const char *message, const char *needle, const char *what) {
    CHECK(got == want, "%s: status %d (%s), expected %d (%s); message: %s", what, got, mlp_status_message(got), want,
          mlp_status_message(want), message);
    CHECK(strstr(message, needle) != NULL, "%s: message '%s' lacks '%s'", what, message, needle);
    CHECK(strchr(message, '\n') == NULL, "%s: message has a newline: %s", what, message);
}

/* ---- bad input, on synthetic images ---- */

static int test_errors(void) {
    enum { COUNT = 200, FEATURES = 784 };
    static uint8_t pixels[COUNT * FEATURES], labels[COUNT];
    static float floats[COUNT * FEATURES];
    for (int i = 0; i < COUNT * FEATURES; i++) {
        pixels[i] = (uint8_t)(i * 2654435761u >> 24);
        floats[i] = pixels[i] / 255.0f;
    }
    for (int i = 0; i < COUNT; i++) labels[i] = (uint8_t)(i % 10);
    char message[MLP_MESSAGE_SIZE];
    mlp_net *net = (mlp_net *)1;

    int sizes[] = {784, 16, 10};
    expect(mlp_net_create(&net, sizes, 1, "relu", message), MLP_ERR_ARGUMENT, message, "1 layer sizes", "one size");
    CHECK(net == NULL, "a failed create leaves *net NULL");
    expect(mlp_net_create(&net, sizes, 3, "gelu", message), MLP_ERR_ARGUMENT, message, "gelu", "activation");
    int zero[] = {784, 0, 10};
    expect(mlp_net_create(&net, zero, 3, "relu", message), MLP_ERR_ARGUMENT, message, "position 2", "size 0");
    expect(mlp_net_load(&net, "/nonexistent/model.mlp", message), MLP_ERR_IO, message, "/nonexistent/model.mlp",
           "load missing");
    FILE *garbage = fopen("garbage.mlp", "wb");
    if (garbage) {
        fputs("not a model at all, just text of some length", garbage);
        fclose(garbage);
    }
    expect(mlp_net_load(&net, "garbage.mlp", message), MLP_ERR_IO, message, "garbage.mlp", "load garbage");
    CHECK(mlp_net_create(NULL, sizes, 3, "relu", message) == MLP_ERR_ARGUMENT, "NULL handle pointer");

    CHECK(mlp_net_create(&net, sizes, 3, "relu", message) == MLP_OK, "create: %s", message);
    int got[8];
    CHECK(mlp_net_sizes(net, got, 8) == 3 && got[0] == 784 && got[1] == 16 && got[2] == 10, "sizes");
    CHECK(strcmp(mlp_net_activation(net), "relu") == 0, "activation name");
    CHECK(mlp_net_parameter_count(net) == 784 * 16 + 16 + 16 * 10 + 10, "parameter count %zu",
          mlp_net_parameter_count(net));
    CHECK(strcmp(mlp_version(), "") != 0 && strcmp(mlp_status_message(MLP_ERR_DATA), "invalid data") == 0,
          "version and status message");

    mlp_images images = {pixels, MLP_PIXELS_U8, COUNT, FEATURES};
    mlp_train_recipe recipe;
    mlp_train_recipe_init(&recipe);
    recipe.epochs = 1;
    recipe.threads = 1;
    struct {
        const char *what, *needle;
        mlp_status status;
        mlp_train_recipe recipe;
    } bad[] = {
        {"batch 0", "batch 0", MLP_ERR_ARGUMENT, recipe},
        {"lr 0", "learning rate 0", MLP_ERR_ARGUMENT, recipe},
        {"lr NaN", "learning rate nan", MLP_ERR_ARGUMENT, recipe},
        {"epochs 0", "epochs 0", MLP_ERR_ARGUMENT, recipe},
        {"validation 1", "validation fraction 1", MLP_ERR_ARGUMENT, recipe},
        {"threads -1", "threads -1", MLP_ERR_ARGUMENT, recipe},
        {"optimizer adam", "optimizer 'adam'", MLP_ERR_UNSUPPORTED, recipe},
        {"kernel bogus", "bogus", MLP_ERR_UNSUPPORTED, recipe},
        {"recipe size", "call mlp_train_recipe_init", MLP_ERR_ARGUMENT, recipe},
        {"warm_start 2", "warm_start 2", MLP_ERR_ARGUMENT, recipe},
        {"precision fp16", "precision 'fp16'", MLP_ERR_ARGUMENT, recipe},
    };
    bad[0].recipe.batch = 0;
    bad[1].recipe.learning_rate = 0;
    bad[2].recipe.learning_rate = NAN;
    bad[3].recipe.epochs = 0;
    bad[4].recipe.validation = 1;
    bad[5].recipe.threads = -1;
    bad[6].recipe.optimizer = "adam";
    bad[7].recipe.kernel = "bogus";
    bad[8].recipe.size = 8;
    bad[9].recipe.warm_start = 2;
    bad[10].recipe.precision = "fp16";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect(mlp_net_train(net, &images, labels, &bad[i].recipe, NULL, NULL), bad[i].status, mlp_net_error(net),
               bad[i].needle, bad[i].what);

    mlp_images narrow = {pixels, MLP_PIXELS_U8, COUNT, 100};
    expect(mlp_net_train(net, &narrow, labels, &recipe, NULL, NULL), MLP_ERR_SHAPE, mlp_net_error(net),
           "images of 100 pixels", "train shape");
    float p[COUNT * 10];
    expect(mlp_net_predict_proba(net, &narrow, p, 1), MLP_ERR_SHAPE, mlp_net_error(net), "784 units", "predict shape");
    mlp_images typed = {pixels, (mlp_pixel_type)7, COUNT, FEATURES};
    expect(mlp_net_train(net, &typed, labels, &recipe, NULL, NULL), MLP_ERR_ARGUMENT, mlp_net_error(net),
           "pixel type 7", "pixel type");
    mlp_images empty = {pixels, MLP_PIXELS_U8, 0, FEATURES};
    expect(mlp_net_predict_proba(net, &empty, p, 1), MLP_ERR_ARGUMENT, mlp_net_error(net), "0 images", "no images");
    expect(mlp_net_train(net, &images, NULL, &recipe, NULL, NULL), MLP_ERR_ARGUMENT, mlp_net_error(net), "labels",
           "NULL labels");
    labels[17] = 10;
    expect(mlp_net_train(net, &images, labels, &recipe, NULL, NULL), MLP_ERR_DATA, mlp_net_error(net),
           "label 10 of image 17", "label 10");
    labels[17] = 7;
    mlp_images float_images = {floats, MLP_PIXELS_F32, COUNT, FEATURES};
    floats[5 * FEATURES + 3] = NAN;
    expect(mlp_net_train(net, &float_images, labels, &recipe, NULL, NULL), MLP_ERR_DATA, mlp_net_error(net),
           "image 5, pixel 3 is nan", "NaN pixel (train)");
    expect(mlp_net_predict_proba(net, &float_images, p, 2), MLP_ERR_DATA, mlp_net_error(net), "image 5, pixel 3 is nan",
           "NaN pixel (predict)");
    floats[5 * FEATURES + 3] = 255.0f;
    expect(mlp_net_predict_proba(net, &float_images, p, 1), MLP_ERR_DATA, mlp_net_error(net), "is 255",
           "pixel 255 as float");
    floats[5 * FEATURES + 3] = pixels[5 * FEATURES + 3] / 255.0f;
    expect(mlp_net_save(net, "/nonexistent/dir/model.mlp"), MLP_ERR_IO, mlp_net_error(net), "/nonexistent/dir",
           "save");
    recipe.validation = 0.999f;
    expect(mlp_net_train(net, &images, labels, &recipe, NULL, NULL), MLP_ERR_ARGUMENT, mlp_net_error(net),
           "leaves none for training", "validation too large");
    recipe.validation = 0.2f;
    /* precision "bf16" on the scalar reference trains (the model file stays float); a recipe of
     * the first published size (no precision field) trains in fp32. */
    mlp_train_recipe bf16 = recipe;
    bf16.precision = "bf16";
    bf16.kernel = "scalar";
    CHECK(mlp_net_train(net, &images, labels, &bf16, NULL, NULL) == MLP_OK, "bf16 on scalar: %s", mlp_net_error(net));
    mlp_train_recipe older = recipe;
    older.size = offsetof(mlp_train_recipe, precision);
    CHECK(mlp_net_train(net, &images, labels, &older, NULL, NULL) == MLP_OK, "a recipe without precision: %s",
          mlp_net_error(net));
    mlp_net_free(net);

    /* A rate far too high for a deep network: divergence, and the model stays as it was. */
    int deep[] = {784, 256, 256, 256, 10};
    CHECK(mlp_net_create(&net, deep, 5, "relu", message) == MLP_OK, "create: %s", message);
    recipe.learning_rate = 1e6f;
    CHECK(mlp_net_save(net, "before.mlp") == MLP_OK, "save: %s", mlp_net_error(net));
    expect(mlp_net_train(net, &images, labels, &recipe, NULL, NULL), MLP_ERR_DIVERGED, mlp_net_error(net),
           "lower learning rate", "divergence");
    CHECK(strstr(mlp_net_error(net), "diverged in epoch 1 at batch") != NULL, "divergence: %s", mlp_net_error(net));
    CHECK(mlp_net_save(net, "after.mlp") == MLP_OK, "save: %s", mlp_net_error(net));
    mlp_net_free(net);

    int ten[] = {784, 16, 3};
    CHECK(mlp_net_create(&net, ten, 3, "tanh", message) == MLP_OK, "create 3 outputs");
    recipe.learning_rate = 0.1f;
    expect(mlp_net_train(net, &images, labels, &recipe, NULL, NULL), MLP_ERR_SHAPE, mlp_net_error(net), "3 outputs",
           "3 outputs");
    CHECK(mlp_net_predict_proba(net, &images, p, 1) == MLP_OK, "predict with 3 outputs: %s", mlp_net_error(net));
    mlp_net_free(net);
    mlp_net_free(NULL);

    /* A failed training left the model as it was. */
    FILE *a = fopen("before.mlp", "rb"), *b = fopen("after.mlp", "rb");
    int same = a && b;
    for (int ca = 0, cb = 0; same && ca != EOF;) {
        ca = fgetc(a);
        cb = fgetc(b);
        same = ca == cb;
    }
    if (a) fclose(a);
    if (b) fclose(b);
    CHECK(same, "a diverged training changed the model");
    return failures ? 1 : 0;
}

/* ---- on MNIST ---- */

typedef struct stop_after {
    int epochs, calls;
    double last_cost;
} stop_after;

static int stop_callback(void *user, const mlp_epoch_report *report) {
    stop_after *s = user;
    s->calls++;
    s->last_cost = report->train_cost;
    return report->epoch >= s->epochs;
}

static int files_equal(const char *x, const char *y) {
    FILE *a = fopen(x, "rb"), *b = fopen(y, "rb");
    int same = a && b;
    for (int ca = 0, cb = 0; same && ca != EOF;) {
        ca = fgetc(a);
        cb = fgetc(b);
        same = ca == cb;
    }
    if (a) fclose(a);
    if (b) fclose(b);
    return same;
}

static mlp_net *train(const mlp_images *images, const uint8_t *labels, int epochs, int threads, const char *path,
                      mlp_epoch_callback callback, void *user) {
    mlp_net *net;
    char message[MLP_MESSAGE_SIZE];
    int sizes[] = {784, 32, 16, 10};
    if (mlp_net_create(&net, sizes, 4, "relu", message) != MLP_OK) {
        CHECK(0, "create: %s", message);
        return NULL;
    }
    mlp_train_recipe recipe;
    mlp_train_recipe_init(&recipe);
    recipe.epochs = epochs;
    recipe.threads = threads;
    mlp_status status = mlp_net_train(net, images, labels, &recipe, callback, user);
    CHECK(status == MLP_OK, "train: %s", mlp_net_error(net));
    if (path) CHECK(mlp_net_save(net, path) == MLP_OK, "save: %s", mlp_net_error(net));
    return net;
}

typedef struct thread_job {
    const mlp_images *images;
    const uint8_t *labels;
    int threads;
    const char *path;
} thread_job;

static void *train_thread(void *argument) {
    thread_job *job = argument;
    mlp_net_free(train(job->images, job->labels, 2, job->threads, job->path, NULL, NULL));
    return NULL;
}

static int test_mnist(const char *folder) {
    char message[MLP_MESSAGE_SIZE];
    mlp_images images;
    uint8_t *labels;
    if (mlp_idx_load(folder, "train", 3000, &images, &labels, message) != MLP_OK) {
        printf("SKIPPED: %s\n", message);
        return 77;
    }
    /* A callback that stops after epoch 1 of 3 leaves the model of a 1-epoch run. */
    stop_after stop = {.epochs = 1};
    mlp_net_free(train(&images, labels, 3, 2, "stopped.mlp", stop_callback, &stop));
    CHECK(stop.calls == 1 && stop.last_cost > 0 && stop.last_cost < 3, "callback calls %d, cost %g", stop.calls,
          stop.last_cost);
    mlp_net_free(train(&images, labels, 1, 1, "one.mlp", NULL, NULL));
    CHECK(files_equal("stopped.mlp", "one.mlp"), "stopping after epoch 1 of 3 differs from a 1-epoch run");

    /* Float pixels (byte / 255) train the same model as the bytes. */
    size_t n = (size_t)images.count * images.features;
    float *floats = malloc(n * sizeof *floats);
    const uint8_t *bytes = images.pixels;
    for (size_t i = 0; i < n; i++) floats[i] = bytes[i] / 255.0f;
    mlp_images float_images = {floats, MLP_PIXELS_F32, images.count, images.features};
    mlp_net_free(train(&float_images, labels, 1, 2, "floats.mlp", NULL, NULL));
    CHECK(files_equal("floats.mlp", "one.mlp"), "float pixels trained another model than uint8 pixels");

    /* Predictions: any thread count, uint8 or float, after save and load: the same numbers. */
    mlp_net *net, *loaded;
    CHECK(mlp_net_load(&net, "one.mlp", message) == MLP_OK, "load: %s", message);
    int outputs = 10, count = images.count;
    float *p1 = malloc(sizeof(float) * count * outputs), *p2 = malloc(sizeof(float) * count * outputs),
          *p3 = malloc(sizeof(float) * count * outputs);
    CHECK(mlp_net_predict_proba(net, &images, p1, 1) == MLP_OK, "predict: %s", mlp_net_error(net));
    CHECK(mlp_net_predict_proba(net, &images, p2, 2) == MLP_OK, "predict: %s", mlp_net_error(net));
    CHECK(mlp_net_predict_proba(net, &float_images, p3, 0) == MLP_OK, "predict: %s", mlp_net_error(net));
    CHECK(memcmp(p1, p2, sizeof(float) * count * outputs) == 0, "1 and 2 threads predict differently");
    CHECK(memcmp(p1, p3, sizeof(float) * count * outputs) == 0, "float pixels predict differently");
    double worst = 0;
    for (int i = 0; i < count; i++) {
        double sum = 0;
        for (int j = 0; j < outputs; j++) sum += p1[i * outputs + j];
        if (fabs(sum - 1) > worst) worst = fabs(sum - 1);
    }
    CHECK(worst < 1e-5, "probabilities sum to 1 within %g", worst);
    int *classes = malloc(sizeof(int) * count), right = 0;
    CHECK(mlp_net_predict(net, &images, classes, 2) == MLP_OK, "predict: %s", mlp_net_error(net));
    for (int i = 0; i < count; i++) right += classes[i] == labels[i];
    CHECK(right > count / 2, "one epoch on 2,400 images: %d of %d right", right, count);
    CHECK(mlp_net_save(net, "resaved.mlp") == MLP_OK && files_equal("resaved.mlp", "one.mlp"), "save after load");
    CHECK(mlp_net_load(&loaded, "resaved.mlp", message) == MLP_OK, "load: %s", message);
    CHECK(mlp_net_predict_proba(loaded, &images, p2, 2) == MLP_OK && memcmp(p1, p2, sizeof(float) * count * outputs) == 0,
          "a loaded model predicts differently");
    mlp_net_free(loaded);

    /* Warm start continues from the handle's parameters: 1 epoch + 1 warm epoch != 2 epochs from
     * scratch (the second starts from epoch 1's model, but replays epoch 1's order), and it runs. */
    mlp_train_recipe recipe;
    mlp_train_recipe_init(&recipe);
    recipe.epochs = 1;
    recipe.warm_start = 1;
    CHECK(mlp_net_train(net, &images, labels, &recipe, NULL, NULL) == MLP_OK, "warm start: %s", mlp_net_error(net));
    CHECK(mlp_net_save(net, "warm.mlp") == MLP_OK && !files_equal("warm.mlp", "one.mlp"), "warm start did nothing");
    mlp_net_free(net);

    /* Two handles at once from two threads (each with a team of 1 and of 2) = one after the other. */
    thread_job jobs[2] = {{&images, labels, 1, "thread-a.mlp"}, {&images, labels, 2, "thread-b.mlp"}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, train_thread, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    mlp_net_free(train(&images, labels, 2, 1, "sequential.mlp", NULL, NULL));
    CHECK(files_equal("thread-a.mlp", "sequential.mlp") && files_equal("thread-b.mlp", "sequential.mlp"),
          "two handles trained at once differ from one trained alone");

    free(classes);
    free(p1);
    free(p2);
    free(p3);
    free(floats);
    mlp_idx_free(&images, &labels);
    return failures ? 1 : 0;
}

static int write_model(const char *folder, int limit, int epochs, int threads, const char *out) {
    char message[MLP_MESSAGE_SIZE];
    mlp_images images;
    uint8_t *labels;
    if (mlp_idx_load(folder, "train", limit, &images, &labels, message) != MLP_OK) {
        printf("SKIPPED: %s\n", message);
        return 77;
    }
    mlp_net *net;
    int sizes[] = {784, 128, 64, 10};
    if (mlp_net_create(&net, sizes, 4, "relu", message) != MLP_OK) return fprintf(stderr, "%s\n", message), 1;
    mlp_train_recipe recipe;
    mlp_train_recipe_init(&recipe);
    recipe.epochs = epochs;
    recipe.threads = threads;
    if (mlp_net_train(net, &images, labels, &recipe, NULL, NULL) != MLP_OK || mlp_net_save(net, out) != MLP_OK)
        return fprintf(stderr, "%s\n", mlp_net_error(net)), 1;
    mlp_net_free(net);
    mlp_idx_free(&images, &labels);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "errors") == 0) return test_errors();
    if (argc >= 3 && strcmp(argv[1], "mnist") == 0) return test_mnist(argv[2]);
    if (argc >= 7 && strcmp(argv[1], "write") == 0)
        return write_model(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), argv[6]);
    fprintf(stderr, "usage: test_api errors | mnist DATA_DIR | write DATA_DIR N EPOCHS THREADS OUT\n");
    return 2;
}
