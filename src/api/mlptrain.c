/* The installed library's interface (include/mlptrain/mlptrain.h) over the library's internals:
 * a handle owns a model; training is a run of the run module (include/mlp/run.h), the same
 * epoch loop, seeded split and He initialisation as `trainer`, with the caller's callback as an
 * observer; prediction is the network's forward pass in chunks. */
#define _GNU_SOURCE /* mkdtemp */
#include "mlptrain/mlptrain.h"

#include <dirent.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <omp.h>

#include "core/affinity.h"
#include "mlp/data.h"
#include "mlp/kernels.h"
#include "mlp/model.h"
#include "mlp/network.h"
#include "mlp/run.h"
#include "mlp/train.h"

#ifndef MLPTRAIN_VERSION
#define MLPTRAIN_VERSION "0"
#endif

/* Rows per forward pass in prediction (the CLI's eval uses 256 too). */
#define PREDICT_CHUNK 256

struct mlp_net {
    mlp_model model;
    /* The forward pass's buffers, kept between predictions; rebuilt when the thread count or
     * the kernel variant changes. */
    mlp_network predictor;
    int has_predictor;
    char error[MLP_MESSAGE_SIZE];
};

/* ---- the one-time set-up: CPU detection and the available cores ---- */

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

/* mlp_kernels_cpu_features() and mlp_affinity_available() fill static caches on their first call without
 * locking; calling both once here, before any concurrent use through this API, makes every later
 * call a read of finished data. */
static void setup(void) {
    mlp_kernels_cpu_features();
    mlp_affinity_available();
}

static void ensure_setup(void) { pthread_once(&setup_once, setup); }

static int default_threads(int threads) { return threads > 0 ? threads : mlp_affinity_available_cores(); }

/* ---- messages ---- */

const char *mlp_status_message(mlp_status status) {
    switch (status) {
    case MLP_OK: return "success";
    case MLP_ERR_ARGUMENT: return "invalid argument";
    case MLP_ERR_DATA: return "invalid data";
    case MLP_ERR_SHAPE: return "shape mismatch";
    case MLP_ERR_IO: return "file error";
    case MLP_ERR_MEMORY: return "out of memory";
    case MLP_ERR_UNSUPPORTED: return "not supported";
    case MLP_ERR_DIVERGED: return "training diverged";
    }
    return "unknown status";
}

const char *mlp_version(void) { return MLPTRAIN_VERSION; }

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static mlp_status fail(mlp_net *net, mlp_status status, const char *format, ...);

static mlp_status fail(mlp_net *net, mlp_status status, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(net->error, sizeof net->error, format, arguments);
    va_end(arguments);
    return status;
}

/* A message into the caller's buffer (NULL: none wanted). */
static mlp_status fail_into(char *message, mlp_status status, const char *text) {
    if (message) snprintf(message, MLP_MESSAGE_SIZE, "%s", text);
    return status;
}

/* ---- images ---- */

/* The shape and type of images against the model (not the pixel values). */
static mlp_status check_images(mlp_net *net, const mlp_images *images, const char *what) {
    if (!images) return fail(net, MLP_ERR_ARGUMENT, "%s: no images (NULL)", what);
    if (images->type != MLP_PIXELS_U8 && images->type != MLP_PIXELS_F32)
        return fail(net, MLP_ERR_ARGUMENT, "%s: unknown pixel type %d (expected MLP_PIXELS_U8 or MLP_PIXELS_F32)",
                    what, (int)images->type);
    if (images->count < 1) return fail(net, MLP_ERR_ARGUMENT, "%s: %d images (need at least 1)", what, images->count);
    if (!images->pixels) return fail(net, MLP_ERR_ARGUMENT, "%s: no pixels (NULL)", what);
    if (images->features != net->model.sizes[0])
        return fail(net, MLP_ERR_SHAPE, "%s: images of %d pixels, but the model's input layer has %d units", what,
                    images->features, net->model.sizes[0]);
    return MLP_OK;
}

/* Float pixels (0..1) to bytes: rows [first, first + n). Returns the index of the first bad value
 * (NaN, outside [0, 1]) or -1. */
static long quantise_rows(const float *pixels, int features, int first, int n, uint8_t *out) {
    size_t begin = (size_t)first * (size_t)features, count = (size_t)n * (size_t)features;
    for (size_t i = 0; i < count; i++) {
        float x = pixels[begin + i];
        if (!(x >= 0.0f && x <= 1.0f)) return (long)(begin + i);
        out[i] = (uint8_t)(x * 255.0f + 0.5f);
    }
    return -1;
}

static mlp_status bad_pixel(mlp_net *net, const mlp_images *images, long index) {
    float x = ((const float *)images->pixels)[index];
    return fail(net, MLP_ERR_DATA, "image %ld, pixel %ld is %g: float pixels must be in [0, 1] (byte / 255)",
                index / images->features, index % images->features, x);
}

/* ---- loading MNIST ---- */

mlp_status mlp_idx_load(const char *folder, const char *prefix, int limit, mlp_images *images, uint8_t **labels,
                        char *message) {
    if (!folder || !prefix || !images || !labels)
        return fail_into(message, MLP_ERR_ARGUMENT, "mlp_idx_load: folder, prefix, images and labels are required");
    mlp_dataset data;
    mlp_error error;
    if (mlp_dataset_load_idx_folder(folder, prefix, &data, &error) != 0)
        return fail_into(message, MLP_ERR_IO, error.message);
    if (limit > 0 && limit < data.count) data.count = limit;
    *images = (mlp_images){.pixels = data.pixels, .type = MLP_PIXELS_U8, .count = data.count,
                           .features = data.features};
    *labels = data.labels;
    return MLP_OK;
}

void mlp_idx_free(mlp_images *images, uint8_t **labels) {
    if (images) {
        free((void *)images->pixels);
        memset(images, 0, sizeof *images);
    }
    if (labels) {
        free(*labels);
        *labels = NULL;
    }
}

/* ---- the handle ---- */

static int parse_activation(const char *name, mlp_activation *activation) {
    static const struct {
        const char *name;
        mlp_activation value;
    } names[] = {{"relu", MLP_ACTIVATION_RELU}, {"sigmoid", MLP_ACTIVATION_SIGMOID}, {"tanh", MLP_ACTIVATION_TANH}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name && strcmp(name, names[i].name) == 0) {
            *activation = names[i].value;
            return 0;
        }
    return -1;
}

mlp_status mlp_net_create(mlp_net **out, const int *sizes, int size_count, const char *activation,
                          char *message) {
    if (!out) return fail_into(message, MLP_ERR_ARGUMENT, "mlp_net_create: no handle pointer (NULL)");
    *out = NULL;
    ensure_setup();
    mlp_activation hidden;
    if (parse_activation(activation, &hidden) != 0) {
        char text[256];
        snprintf(text, sizeof text, "activation '%s': expected relu, sigmoid or tanh", activation ? activation : "(NULL)");
        return fail_into(message, MLP_ERR_ARGUMENT, text);
    }
    if (!sizes || size_count < 2 || size_count > MLP_MAX_LAYERS + 1) {
        char text[256];
        snprintf(text, sizeof text, "%d layer sizes: expected 2..%d, input first (e.g. 784,128,64,10)", size_count,
                 MLP_MAX_LAYERS + 1);
        return fail_into(message, MLP_ERR_ARGUMENT, text);
    }
    for (int i = 0; i < size_count; i++)
        if (sizes[i] < 1 || sizes[i] > MLP_MAX_WIDTH) {
            char text[256];
            snprintf(text, sizeof text, "layer size %d (position %d) is outside 1..%d", sizes[i], i + 1, MLP_MAX_WIDTH);
            return fail_into(message, MLP_ERR_ARGUMENT, text);
        }
    mlp_net *net = calloc(1, sizeof *net);
    if (!net) return fail_into(message, MLP_ERR_MEMORY, "out of memory");
    mlp_error error;
    if (mlp_model_create(&net->model, sizes, size_count, hidden, MLP_OUTPUT_SOFTMAX, &error) != 0) {
        free(net);
        return fail_into(message, strstr(error.message, "allocate") ? MLP_ERR_MEMORY : MLP_ERR_ARGUMENT,
                         error.message);
    }
    mlp_model_init_he(&net->model, 42);
    *out = net;
    return MLP_OK;
}

mlp_status mlp_net_load(mlp_net **out, const char *path, char *message) {
    if (!out || !path) return fail_into(message, MLP_ERR_ARGUMENT, "mlp_net_load: handle pointer and path are required");
    *out = NULL;
    ensure_setup();
    mlp_net *net = calloc(1, sizeof *net);
    if (!net) return fail_into(message, MLP_ERR_MEMORY, "out of memory");
    mlp_error error;
    if (mlp_model_load(&net->model, path, &error) != 0) {
        free(net);
        return fail_into(message, MLP_ERR_IO, error.message);
    }
    if (net->model.output != MLP_OUTPUT_SOFTMAX) {
        mlp_model_free(&net->model);
        free(net);
        char text[MLP_MESSAGE_SIZE];
        snprintf(text, sizeof text, "%.900s: a one-unit sigmoid model (trainer binary); this library runs softmax models",
                 path);
        return fail_into(message, MLP_ERR_UNSUPPORTED, text);
    }
    *out = net;
    return MLP_OK;
}

mlp_status mlp_net_save(mlp_net *net, const char *path) {
    if (!net) return MLP_ERR_ARGUMENT;
    if (!path) return fail(net, MLP_ERR_ARGUMENT, "mlp_net_save: no path (NULL)");
    mlp_error error;
    if (mlp_model_save(&net->model, path, &error) != 0) return fail(net, MLP_ERR_IO, "%s", error.message);
    net->error[0] = '\0';
    return MLP_OK;
}

void mlp_net_free(mlp_net *net) {
    if (!net) return;
    if (net->has_predictor) mlp_network_free(&net->predictor);
    mlp_model_free(&net->model);
    free(net);
}

int mlp_net_sizes(const mlp_net *net, int *sizes, int capacity) {
    if (!net) return 0;
    int count = net->model.layer_count + 1;
    for (int i = 0; i < count && i < capacity && sizes; i++) sizes[i] = net->model.sizes[i];
    return count;
}

const char *mlp_net_activation(const mlp_net *net) {
    return net ? mlp_model_activation_name(net->model.hidden_activation) : "";
}

size_t mlp_net_parameter_count(const mlp_net *net) {
    if (!net) return 0;
    size_t total = 0; /* the logical count, without the alignment padding of the buffer */
    for (int l = 0; l < net->model.layer_count; l++)
        total += (size_t)net->model.sizes[l] * net->model.sizes[l + 1] + net->model.sizes[l + 1];
    return total;
}

const char *mlp_net_error(const mlp_net *net) { return net ? net->error : "no handle (NULL)"; }

/* ---- training ---- */

void mlp_train_recipe_init(mlp_train_recipe *recipe) {
    if (!recipe) return;
    mlp_run_config defaults;
    mlp_run_config_init(&defaults); /* the trainer's defaults, from one place */
    *recipe = (mlp_train_recipe){
        .size = sizeof *recipe, .batch = defaults.batch, .learning_rate = defaults.learning_rate,
        .epochs = defaults.epochs, .seed = defaults.seed, .validation = defaults.validation_split,
        .threads = 0, .kernel = NULL, .warm_start = 0, .optimizer = NULL, .precision = NULL,
    };
}

/* The size of the first published recipe layout (0.1, up to `optimizer`): a caller built
 * against an older header passes a smaller size and gets the defaults for the fields it does not
 * know (`precision`: fp32); a larger size comes from a newer header than this library's. */
#define RECIPE_FIRST_SIZE offsetof(mlp_train_recipe, precision)

static mlp_status check_recipe(mlp_net *net, const mlp_train_recipe *given, mlp_train_recipe *recipe) {
    mlp_train_recipe_init(recipe);
    if (given) {
        if (given->size < RECIPE_FIRST_SIZE || given->size > sizeof *given)
            return fail(net, MLP_ERR_ARGUMENT,
                        "recipe: size %zu is not this library's (%zu): call mlp_train_recipe_init first",
                        given->size, sizeof *given);
        memcpy(recipe, given, given->size);
    }
    if (recipe->batch < 1 || recipe->batch > (1 << 20))
        return fail(net, MLP_ERR_ARGUMENT, "batch %d is outside 1..%d", recipe->batch, 1 << 20);
    if (!(recipe->learning_rate > 0.0f && recipe->learning_rate <= 1e6f))
        return fail(net, MLP_ERR_ARGUMENT, "learning rate %g is outside (0, 1e6]", recipe->learning_rate);
    if (recipe->epochs < 1 || recipe->epochs > 1000000)
        return fail(net, MLP_ERR_ARGUMENT, "epochs %d is outside 1..1000000", recipe->epochs);
    if (!(recipe->validation >= 0.0f && recipe->validation < 1.0f))
        return fail(net, MLP_ERR_ARGUMENT, "validation fraction %g is outside [0, 1)", recipe->validation);
    if (recipe->threads < 0 || recipe->threads > 4096)
        return fail(net, MLP_ERR_ARGUMENT, "threads %d is outside 0..4096 (0: the available cores)", recipe->threads);
    if (recipe->warm_start != 0 && recipe->warm_start != 1)
        return fail(net, MLP_ERR_ARGUMENT, "warm_start %d is not 0 or 1", recipe->warm_start);
    if (recipe->optimizer && strcmp(recipe->optimizer, "sgd") != 0)
        return fail(net, MLP_ERR_UNSUPPORTED, "optimizer '%s': this build trains with sgd only", recipe->optimizer);
    mlp_precision precision;
    if (recipe->precision && mlp_precision_parse(recipe->precision, &precision) != 0)
        return fail(net, MLP_ERR_ARGUMENT, "precision '%s' is not fp32 or bf16", recipe->precision);
    return MLP_OK;
}

static mlp_status select_kernels(mlp_net *net, const char *name, mlp_precision precision,
                                 const mlp_kernel_table **kernels) {
    char reason[512];
    *kernels = mlp_kernels_select_for(name, precision, reason, sizeof reason);
    if (!*kernels) return fail(net, MLP_ERR_UNSUPPORTED, "kernel: %s", reason);
    return MLP_OK;
}

/* The callback as a run observer. */
typedef struct callback_observer {
    mlp_epoch_callback callback;
    void *user;
    int stopped; /* the callback asked to stop */
} callback_observer;

static int observe_epoch(void *context, const mlp_run *run, const mlp_epoch_metrics *m, mlp_error *error) {
    callback_observer *observer = context;
    int validated = run->validation_count > 0;
    mlp_epoch_report report = {
        .epoch = m->epoch, .epochs = run->config.epochs, .train_cost = m->train_cost,
        .validation_cost = validated ? m->validation.cost : NAN,
        .validation_accuracy = validated ? m->validation.accuracy : NAN,
        .seconds = m->seconds, .samples_per_second = m->samples_per_second,
    };
    if (observer->callback(observer->user, &report) == 0) return 0;
    observer->stopped = 1;
    return mlp_error_set(error, "stopped by the callback after epoch %d", m->epoch);
}

/* The run's folder: the run module locks it and writes model.mlp (and, when stopped, a
 * checkpoint) into it; the handle keeps the model in memory, so the folder is temporary. */
static void remove_folder(const char *folder) {
    DIR *directory = opendir(folder);
    if (directory) {
        struct dirent *entry;
        char path[4096 + 512];
        while ((entry = readdir(directory)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", folder, entry->d_name);
            unlink(path);
        }
        closedir(directory);
    }
    rmdir(folder);
}

static mlp_status check_labels(mlp_net *net, const uint8_t *labels, int count) {
    if (!labels) return fail(net, MLP_ERR_ARGUMENT, "training: no labels (NULL)");
    int classes = net->model.sizes[net->model.layer_count];
    for (int i = 0; i < count; i++)
        if (labels[i] >= classes)
            return fail(net, MLP_ERR_DATA, "label %d of image %d is outside 0..%d (the model's %d classes)", labels[i],
                        i, classes - 1, classes);
    return MLP_OK;
}

mlp_status mlp_net_train(mlp_net *net, const mlp_images *images, const uint8_t *labels,
                         const mlp_train_recipe *given, mlp_epoch_callback callback, void *user) {
    if (!net) return MLP_ERR_ARGUMENT;
    ensure_setup();
    mlp_train_recipe recipe;
    mlp_status status = check_recipe(net, given, &recipe);
    if (status == MLP_OK) status = check_images(net, images, "training");
    if (status != MLP_OK) return status;
    int outputs = net->model.sizes[net->model.layer_count];
    if (outputs != MLP_CLASSES)
        return fail(net, MLP_ERR_SHAPE, "training: the model has %d outputs; training needs %d (the digits 0..9)",
                    outputs, MLP_CLASSES);
    if ((status = check_labels(net, labels, images->count)) != MLP_OK) return status;
    /* dataset_split's rounding */
    long training = images->count - (long)floor((double)images->count * recipe.validation + 0.5);
    if (training < 1)
        return fail(net, MLP_ERR_ARGUMENT, "validation fraction %g of %d images leaves none for training",
                    recipe.validation, images->count);
    mlp_precision precision = MLP_PRECISION_FP32; /* checked by check_recipe */
    if (recipe.precision) mlp_precision_parse(recipe.precision, &precision);
    const mlp_kernel_table *kernels;
    if ((status = select_kernels(net, recipe.kernel, precision, &kernels)) != MLP_OK) return status;

    /* The caller's arrays as the run's training file: uint8 pixels as they are, float pixels
     * quantised into a copy. The run never writes them. */
    mlp_dataset data = {.count = images->count, .rows = 1, .cols = images->features, .features = images->features,
                        .pixels = (uint8_t *)images->pixels, .labels = (uint8_t *)labels};
    uint8_t *converted = NULL;
    if (images->type == MLP_PIXELS_F32) {
        converted = malloc((size_t)images->count * (size_t)images->features);
        if (!converted) return fail(net, MLP_ERR_MEMORY, "training: out of memory for %d images", images->count);
        long bad = quantise_rows(images->pixels, images->features, 0, images->count, converted);
        if (bad >= 0) {
            free(converted);
            return bad_pixel(net, images, bad);
        }
        data.pixels = converted;
    }
    if (images->features == 784) data.rows = data.cols = 28;

    char folder[4096];
    const char *temporary = getenv("TMPDIR");
    snprintf(folder, sizeof folder, "%.3900s/mlptrain-fit-XXXXXX", temporary && *temporary ? temporary : "/tmp");
    if (!mkdtemp(folder)) {
        free(converted);
        return fail(net, MLP_ERR_IO, "%s: cannot create a temporary folder for the run", folder);
    }

    mlp_run_config config;
    mlp_run_config_init(&config);
    config.size_count = net->model.layer_count + 1;
    memcpy(config.sizes, net->model.sizes, (size_t)config.size_count * sizeof *config.sizes);
    config.activation = net->model.hidden_activation;
    config.batch = recipe.batch;
    config.learning_rate = recipe.learning_rate;
    config.epochs = recipe.epochs;
    config.seed = recipe.seed;
    config.validation_split = recipe.validation;
    config.checkpoint_every = 0;
    config.threads = default_threads(recipe.threads);
    config.kernel = kernels->name;
    config.kernels = kernels;
    config.precision = precision;
    config.train_set = &data;
    config.data_dir = "(the caller's arrays)";
    config.folder = folder;
    if (recipe.warm_start) {
        config.initial_model = &net->model;
        config.initial_model_path = "the handle's model";
    }
    callback_observer context = {.callback = callback, .user = user};
    mlp_run_observer observer = {.context = &context, .on_epoch = callback ? observe_epoch : NULL};

    mlp_run run;
    mlp_error error;
    int opened = mlp_run_open(&run, &config, NULL, &error);
    if (opened != 0) {
        status = fail(net, opened == MLP_RUN_INVALID ? MLP_ERR_ARGUMENT : MLP_ERR_IO, "training: %s", error.message);
    } else {
        mlp_run_status result = mlp_run_execute(&run, &observer, 1, &error);
        if (result == MLP_RUN_COMPLETED || result == MLP_RUN_EARLY_STOPPED ||
            (result == MLP_RUN_FAILED && context.stopped)) {
            memcpy(net->model.parameters, run.model.parameters, net->model.parameter_count * sizeof(float));
            net->error[0] = '\0';
            status = MLP_OK;
        } else if (result == MLP_RUN_DIVERGED) {
            char where[96] = "";
            if (run.trainer.diverged_at_batch >= 0)
                snprintf(where, sizeof where, " at batch %d of %d", run.trainer.diverged_at_batch + 1,
                         run.trainer.batches_per_epoch);
            status = fail(net, MLP_ERR_DIVERGED,
                          "training diverged in epoch %d%s (a cost or weight became NaN or infinite): try a lower "
                          "learning rate than %g, e.g. %g; the model is left as it was",
                          run.history_count + 1, where, recipe.learning_rate, recipe.learning_rate / 10);
        } else {
            status = fail(net, MLP_ERR_IO, "training: %s", error.message);
        }
        mlp_run_close(&run);
    }
    remove_folder(folder);
    free(converted);
    return status;
}

/* ---- prediction ---- */

/* The handle's forward-pass buffers for this thread count and kernel variant. */
static mlp_status predictor(mlp_net *net, int threads, mlp_network **network) {
    const mlp_kernel_table *kernels;
    mlp_status status = select_kernels(net, NULL, MLP_PRECISION_FP32, &kernels); /* prediction: fp32 */
    if (status != MLP_OK) return status;
    if (net->has_predictor && (net->predictor.threads != threads || net->predictor.kernels != kernels)) {
        mlp_network_free(&net->predictor);
        net->has_predictor = 0;
    }
    if (!net->has_predictor) {
        mlp_error error;
        if (mlp_network_create(&net->predictor, &net->model, kernels, PREDICT_CHUNK, threads, &error) != 0)
            return fail(net, MLP_ERR_MEMORY, "prediction: %s", error.message);
        net->has_predictor = 1;
    }
    *network = &net->predictor;
    return MLP_OK;
}

mlp_status mlp_net_predict_proba(mlp_net *net, const mlp_images *images, float *probabilities, int threads) {
    if (!net) return MLP_ERR_ARGUMENT;
    ensure_setup();
    mlp_status status = check_images(net, images, "prediction");
    if (status != MLP_OK) return status;
    if (!probabilities) return fail(net, MLP_ERR_ARGUMENT, "prediction: no output array (NULL)");
    if (threads < 0 || threads > 4096)
        return fail(net, MLP_ERR_ARGUMENT, "threads %d is outside 0..4096 (0: the available cores)", threads);
    mlp_network *network;
    if ((status = predictor(net, default_threads(threads), &network)) != MLP_OK) return status;
    const mlp_model *model = &net->model;
    int outputs = model->sizes[model->layer_count], features = images->features, count = images->count;
    int floats = images->type == MLP_PIXELS_F32;
    long bad = -1;
    memset(network->input_targets, 0, PREDICT_CHUNK); /* the loss wants labels; the costs are unused */
#pragma omp parallel num_threads(network->threads)
    {
        for (int begin = 0; begin < count; begin += PREDICT_CHUNK) {
            int n = begin + PREDICT_CHUNK <= count ? PREDICT_CHUNK : count - begin;
            const uint8_t *input = (const uint8_t *)images->pixels + (size_t)begin * features;
            if (floats) { /* each thread quantises its share of the rows */
                int first, end;
                mlp_parallel_range(n, 8, omp_get_thread_num(), omp_get_num_threads(), &first, &end);
                long local = first < end ? quantise_rows(images->pixels, features, begin + first, end - first,
                                                         network->input_pixels + (size_t)first * features)
                                         : -1;
                if (local >= 0) {
#pragma omp critical(mlp_predict_bad_pixel)
                    if (bad < 0 || local < bad) bad = local;
                }
#pragma omp barrier
                input = network->input_pixels;
            }
            if (bad >= 0) break; /* read after the barrier by every thread: they all leave */
            mlp_network_forward(network, input, n);
            mlp_network_loss(network, network->input_targets, n, 0);
#pragma omp master
            memcpy(probabilities + (size_t)begin * outputs, network->activations[model->layer_count],
                   (size_t)n * outputs * sizeof(float));
#pragma omp barrier
        }
    }
    if (bad >= 0) return bad_pixel(net, images, bad);
    net->error[0] = '\0';
    return MLP_OK;
}

mlp_status mlp_net_predict(mlp_net *net, const mlp_images *images, int *classes, int threads) {
    if (!net) return MLP_ERR_ARGUMENT;
    if (!classes) return fail(net, MLP_ERR_ARGUMENT, "prediction: no output array (NULL)");
    mlp_status status = check_images(net, images, "prediction");
    if (status != MLP_OK) return status;
    int outputs = net->model.sizes[net->model.layer_count];
    float *p = malloc((size_t)images->count * (size_t)outputs * sizeof *p);
    if (!p) return fail(net, MLP_ERR_MEMORY, "prediction: out of memory for %d images", images->count);
    status = mlp_net_predict_proba(net, images, p, threads);
    for (int i = 0; status == MLP_OK && i < images->count; i++) {
        const float *row = p + (size_t)i * outputs;
        int best = 0;
        for (int j = 1; j < outputs; j++)
            if (row[j] > row[best]) best = j;
        classes[i] = best;
    }
    free(p);
    return status;
}
