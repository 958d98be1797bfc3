/* mlptrain: train multilayer perceptrons on MNIST-style images and run them, from C.
 *
 * The installed library's whole interface (libmlptrain.so / libmlptrain.a; pkg-config and CMake
 * package `mlptrain`). Every symbol is prefixed mlp_; nothing else is exported.
 *
 *   mlp_net *net;
 *   char message[MLP_MESSAGE_SIZE];
 *   int sizes[] = {784, 128, 64, 10};
 *   if (mlp_net_create(&net, sizes, 4, "relu", message) != MLP_OK) { puts(message); ... }
 *   mlp_images images = {pixels, MLP_PIXELS_U8, count, 784};   (the caller's arrays, not copied)
 *   mlp_train_recipe recipe;
 *   mlp_train_recipe_init(&recipe);                              (batch 64, lr 0.1, 10 epochs, ...)
 *   if (mlp_net_train(net, &images, labels, &recipe, NULL, NULL) != MLP_OK) puts(mlp_net_error(net));
 *   mlp_net_predict_proba(net, &images, probabilities, 0);      (count × 10 floats)
 *   mlp_net_save(net, "model.mlp");                              (the file `trainer` writes)
 *   mlp_net_free(net);
 *
 * Training is the `trainer` command's: the same seeded split of the given examples into training
 * and validation, He initialisation from the seed, shuffles, mini-batch SGD and softmax
 * cross-entropy. For the same images, labels, recipe and seed, mlp_net_save writes a file byte for
 * byte equal to the model.mlp of `trainer --data DIR --train-limit COUNT ...` on those images, for
 * any thread count.
 *
 * Errors: functions return an mlp_status; the one-line reason is in mlp_net_error(net) (or, for
 * the functions that create a handle, in the caller's message buffer).
 *
 * Threads: every handle is independent. Different handles may be used from different threads at
 * once; one handle must not be used by two threads at the same time. Training and prediction run
 * their own OpenMP team of the requested size inside the call. The library keeps no global state
 * except the CPU feature detection, done once (pthread_once) on first use. */
#ifndef MLPTRAIN_H
#define MLPTRAIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MLP_API __attribute__((visibility("default")))
#else
#define MLP_API
#endif

/* ---- status codes and messages ---- */

typedef enum mlp_status {
    MLP_OK = 0,
    MLP_ERR_ARGUMENT = 1,    /* a NULL pointer, a size, recipe value or name out of range     */
    MLP_ERR_DATA = 2,        /* pixels NaN or outside their range, a label outside the classes */
    MLP_ERR_SHAPE = 3,       /* images or a model of another shape than this model's          */
    MLP_ERR_IO = 4,          /* a file that cannot be read or written, or is damaged           */
    MLP_ERR_MEMORY = 5,      /* out of memory                                                  */
    MLP_ERR_UNSUPPORTED = 6, /* a kernel variant this CPU cannot run, an option not built in   */
    MLP_ERR_DIVERGED = 7,    /* a cost or weight became NaN or infinite: lower the rate        */
} mlp_status;

/* "invalid argument", "invalid data", ... (a static string; "unknown status" otherwise). */
MLP_API const char *mlp_status_message(mlp_status status);

/* The library's version, "MAJOR.MINOR.PATCH" (the project's VERSION; the soname carries MAJOR). */
MLP_API const char *mlp_version(void);

/* Size of the buffers the create functions write their error message into. */
#define MLP_MESSAGE_SIZE 1024

/* ---- images: the caller's arrays ---- */

typedef enum mlp_pixel_type {
    MLP_PIXELS_U8 = 0,  /* uint8_t, 0..255 (MNIST's bytes)                                     */
    MLP_PIXELS_F32 = 1, /* float, 0..1 (pixel / 255). The network reads 8-bit pixels: each
                           value is rounded to the nearest k / 255 (exact for data made as
                           byte / 255); NaN or a value outside [0, 1] is MLP_ERR_DATA          */
} mlp_pixel_type;

typedef struct mlp_images {
    const void *pixels;  /* count × features, row-major (C order), of `type`; never written   */
    mlp_pixel_type type;
    int count;           /* images                                                           */
    int features;        /* pixels per image; must be the model's input size (784 for MNIST)  */
} mlp_images;

/* Loads MNIST's IDX pair FOLDER/PREFIX-images-idx3-ubyte and FOLDER/PREFIX-labels-idx1-ubyte
 * (each optionally .gz; PREFIX "train" or "t10k"), keeping the first `limit` images (0: all).
 * images->pixels (uint8) and *labels are allocated by the library: free them with mlp_idx_free.
 * On failure the reason goes into message (MLP_MESSAGE_SIZE bytes, or NULL). */
MLP_API mlp_status mlp_idx_load(const char *folder, const char *prefix, int limit, mlp_images *images,
                                uint8_t **labels, char *message);
MLP_API void mlp_idx_free(mlp_images *images, uint8_t **labels);

/* ---- the model ---- */

typedef struct mlp_net mlp_net; /* opaque */

/* A network of size_count layer sizes, input first (e.g. {784, 128, 64, 10}: two hidden layers),
 * at most 33 sizes of 1..1048576 units; hidden activation "relu", "sigmoid" or "tanh";
 * softmax output. Its parameters start from He initialisation with seed 42. On success *net is
 * the new handle; on failure *net is NULL and the reason goes into message (or NULL). */
MLP_API mlp_status mlp_net_create(mlp_net **net, const int *sizes, int size_count, const char *activation,
                                  char *message);
/* A model file (model.mlp, as `trainer` and mlp_net_save write it), checked (magic, version,
 * sizes, length, CRC). Models with a softmax output only. */
MLP_API mlp_status mlp_net_load(mlp_net **net, const char *path, char *message);
/* Writes the model file atomically (a temporary file renamed over path). */
MLP_API mlp_status mlp_net_save(mlp_net *net, const char *path);
MLP_API void mlp_net_free(mlp_net *net); /* NULL is fine */

/* The layer sizes, input first, into sizes[0 .. capacity-1]; returns how many there are. */
MLP_API int mlp_net_sizes(const mlp_net *net, int *sizes, int capacity);
/* "relu", "sigmoid", "tanh" or "none". */
MLP_API const char *mlp_net_activation(const mlp_net *net);
/* Weights and biases, all layers. */
MLP_API size_t mlp_net_parameter_count(const mlp_net *net);
/* The last failed call's one-line reason ("" when none failed yet); valid until the next call
 * on this handle. */
MLP_API const char *mlp_net_error(const mlp_net *net);

/* ---- training ---- */

/* Defaults in brackets: the `trainer` command's. Call mlp_train_recipe_init first, then set
 * fields: new fields are only ever appended, and `size` tells the library which ones the caller
 * knows about. */
typedef struct mlp_train_recipe {
    size_t size;           /* sizeof(mlp_train_recipe), set by mlp_train_recipe_init           */
    int batch;             /* examples per SGD step [64]                                       */
    float learning_rate;   /* SGD step, > 0 [0.1]                                              */
    int epochs;            /* passes over the training examples [10]                           */
    uint64_t seed;         /* the split, He initialisation and the shuffles [42]               */
    float validation;      /* fraction of the examples held out for validation, 0 <= v < 1 [0.2] */
    int threads;           /* OpenMP threads; 0: the available cores [0]. The model does not
                              depend on it                                                      */
    const char *kernel;    /* kernel variant: NULL or "auto" (MLP_KERNEL if set, else the best
                              for this CPU), "scalar", "avx2", "avx512", "neon" [NULL]           */
    int warm_start;        /* 0: start from He initialisation of the seed (the CLI's model);
                              1: from the handle's current parameters [0]                      */
    const char *optimizer; /* NULL or "sgd" [NULL]; others: MLP_ERR_UNSUPPORTED in this build   */
    const char *precision; /* the GEMMs' arithmetic: NULL or "fp32", or "bf16" (operands rounded
                              to BF16, float sums, float weights; needs a CPU with BF16 dot
                              products, else MLP_ERR_UNSUPPORTED; kernel "scalar" runs the slow
                              reference) [NULL]. The model file is float either way (0.2)      */
} mlp_train_recipe;

MLP_API void mlp_train_recipe_init(mlp_train_recipe *recipe);

/* What the callback gets after every epoch. */
typedef struct mlp_epoch_report {
    int epoch;                  /* 1-based                                                    */
    int epochs;                 /* of how many                                                */
    double train_cost;          /* mean cross-entropy of the epoch's batches                  */
    double validation_cost;     /* on the held-out examples; NaN when validation is 0         */
    double validation_accuracy; /* fraction right, 0..1; NaN when validation is 0             */
    double seconds;             /* the epoch, validation included                              */
    double samples_per_second;  /* training examples / seconds of the training loop           */
} mlp_epoch_report;

/* Called after every epoch on the calling thread; returning non-zero stops training there (the
 * model keeps the epochs done, mlp_net_train returns MLP_OK). */
typedef int (*mlp_epoch_callback)(void *user, const mlp_epoch_report *report);

/* Trains the model on images (count × the model's input size) with labels (count bytes, each
 * below the model's output size) by the recipe (NULL: the defaults). Neither array is copied
 * when the pixels are uint8 (float pixels are converted to a uint8 copy first). The model's
 * output size must be 10. On error the model is left as it was. callback may be NULL. */
MLP_API mlp_status mlp_net_train(mlp_net *net, const mlp_images *images, const uint8_t *labels,
                                 const mlp_train_recipe *recipe, mlp_epoch_callback callback, void *user);

/* ---- prediction ---- */

/* Class probabilities (softmax) of every image: probabilities is count × outputs floats,
 * row-major. threads: 0 = the available cores. */
MLP_API mlp_status mlp_net_predict_proba(mlp_net *net, const mlp_images *images, float *probabilities,
                                         int threads);
/* The most probable class of every image (count ints; the first of equal probabilities). */
MLP_API mlp_status mlp_net_predict(mlp_net *net, const mlp_images *images, int *classes, int threads);

#ifdef __cplusplus
}
#endif
#endif
