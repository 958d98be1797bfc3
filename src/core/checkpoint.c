/* The checkpoint file: a bounded writer and a bounded reader over one byte buffer. */
#include "mlp/checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/file_util.h"

/* ---- writing: a growing buffer ---- */

typedef struct byte_writer {
    uint8_t *bytes;
    size_t size, capacity;
    int failed; /* out of memory */
} byte_writer;

static uint8_t *writer_reserve(byte_writer *w, size_t n) {
    if (w->failed) return NULL;
    if (w->size + n > w->capacity) {
        size_t capacity = w->capacity ? w->capacity : 4096;
        while (capacity < w->size + n) capacity *= 2;
        uint8_t *grown = realloc(w->bytes, capacity);
        if (!grown) {
            w->failed = 1;
            return NULL;
        }
        w->bytes = grown;
        w->capacity = capacity;
    }
    uint8_t *p = w->bytes + w->size;
    w->size += n;
    return p;
}

static void write_u32(byte_writer *w, uint32_t v) {
    uint8_t *p = writer_reserve(w, 4);
    if (p) put_u32_le(p, v);
}
static void write_u64(byte_writer *w, uint64_t v) {
    uint8_t *p = writer_reserve(w, 8);
    if (p) put_u64_le(p, v);
}
static void write_f32(byte_writer *w, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    write_u32(w, bits);
}
static void write_f64(byte_writer *w, double v) {
    uint64_t bits;
    memcpy(&bits, &v, 8);
    write_u64(w, bits);
}
static void write_bytes(byte_writer *w, const void *bytes, size_t n) {
    uint8_t *p = writer_reserve(w, n);
    if (p && n) memcpy(p, bytes, n);
}
static void write_string(byte_writer *w, const char *text) {
    size_t n = strlen(text);
    write_u32(w, (uint32_t)n);
    write_bytes(w, text, n);
}

static void write_evaluation(byte_writer *w, const mlp_evaluation *e) {
    write_u32(w, (uint32_t)e->count);
    write_f64(w, e->cost);
    write_f64(w, e->accuracy);
    write_f64(w, e->confidence_predicted);
    write_f64(w, e->confidence_true);
    for (int i = 0; i < MLP_CLASSES; i++)
        for (int j = 0; j < MLP_CLASSES; j++) write_u64(w, (uint64_t)e->confusion[i][j]);
}

static void write_metrics(byte_writer *w, const mlp_epoch_metrics *m) {
    write_u32(w, (uint32_t)m->epoch);
    write_f64(w, m->train_cost);
    write_evaluation(w, &m->validation);
    write_f64(w, m->seconds);
    write_f64(w, m->train_seconds);
    write_f64(w, m->samples_per_second);
    write_f64(w, m->learning_rate);
}
/* Bytes of one metrics record: 4 + 8 + (4 + 4·8 + 100·8) + 3·8 (version 1), + 8 (version 2). */
#define METRICS_RECORD_BYTES_V1 (4 + 8 + 4 + 32 + 8 * MLP_CLASSES * MLP_CLASSES + 24)
#define METRICS_RECORD_BYTES (METRICS_RECORD_BYTES_V1 + 8)

#define AUGMENT_FIELDS 5
static float *augment_field(mlp_augment_options *a, int i) {
    float *fields[AUGMENT_FIELDS] = {&a->shift_pixels, &a->rotate_degrees, &a->scale_fraction,
                                     &a->elastic_alpha, &a->elastic_sigma};
    return fields[i];
}

static void write_recipe(byte_writer *w, const mlp_recipe *recipe) {
    const mlp_optimizer_options *o = &recipe->optimizer;
    const mlp_schedule_options *s = &recipe->schedule;
    write_u32(w, (uint32_t)o->kind);
    write_f32(w, o->momentum);
    write_f32(w, o->beta1);
    write_f32(w, o->beta2);
    write_f32(w, o->eps);
    write_f32(w, o->weight_decay);
    write_u32(w, (uint32_t)s->kind);
    write_f32(w, s->warmup_epochs);
    write_f32(w, s->lr_min);
    write_u32(w, (uint32_t)s->step_epochs);
    write_f32(w, s->gamma);
    write_u32(w, (uint32_t)s->plateau);
    write_u32(w, MLP_MAX_LAYERS);
    for (int l = 0; l < MLP_MAX_LAYERS; l++) write_f32(w, recipe->dropout.hidden[l]);
    mlp_augment_options augment = recipe->augment;
    for (int i = 0; i < AUGMENT_FIELDS; i++) write_f32(w, *augment_field(&augment, i));
}

/* A model embedded as its own model file (u64 length, then the bytes; length 0: none). */
static int write_model(byte_writer *w, const mlp_model *model, mlp_error *error) {
    if (!model->parameters) {
        write_u64(w, 0);
        return 0;
    }
    uint8_t *bytes;
    size_t size;
    if (mlp_model_serialize(model, &bytes, &size, error) != 0) return -1;
    write_u64(w, size);
    write_bytes(w, bytes, size);
    free(bytes);
    return 0;
}

static const char checkpoint_magic[8] = {'M', 'L', 'P', 'C', 'H', 'K', 'P', 'T'};

int mlp_checkpoint_serialize(const mlp_checkpoint *c, uint8_t **bytes, size_t *size, mlp_error *error) {
    byte_writer w = {0};
    write_bytes(&w, checkpoint_magic, 8);
    write_u32(&w, MLP_CHECKPOINT_FORMAT_VERSION);
    write_string(&w, c->kernel);
    write_string(&w, c->data_dir);
    write_string(&w, c->train_csv);
    write_string(&w, c->test_csv);
    write_u32(&w, (uint32_t)c->train_limit);
    write_u32(&w, c->data_count);
    write_u32(&w, c->data_features);
    write_u32(&w, c->data_checksum);
    write_u32(&w, (uint32_t)c->batch);
    write_f32(&w, c->learning_rate);
    write_u64(&w, c->seed);
    write_f32(&w, c->validation_split);
    write_u32(&w, (uint32_t)c->epochs);
    write_u32(&w, (uint32_t)c->patience);
    write_u32(&w, (uint32_t)c->checkpoint_every);
    write_u32(&w, (uint32_t)c->gradient_shards);
    write_u32(&w, (uint32_t)c->precision);
    write_recipe(&w, &c->recipe);
    write_u32(&w, (uint32_t)c->epoch);
    write_u32(&w, (uint32_t)c->first_batch);
    write_f64(&w, c->partial_cost_sum);
    write_u32(&w, (uint32_t)c->partial_examples);
    write_f64(&w, c->partial_train_seconds);
    write_u32(&w, (uint32_t)c->batch_cost_count);
    for (int b = 0; b < c->batch_cost_count; b++) write_f32(&w, c->batch_costs[b]);
    write_u32(&w, (uint32_t)c->history_count);
    for (int e = 0; e < c->history_count; e++) write_metrics(&w, &c->history[e]);
    write_u32(&w, (uint32_t)c->best_epoch);
    write_f64(&w, c->best_cost);
    write_u64(&w, c->optimizer_step);
    write_f64(&w, c->plateau.best_cost);
    write_u32(&w, (uint32_t)c->plateau.bad_epochs);
    write_u32(&w, (uint32_t)c->plateau.reductions);
    if (write_model(&w, &c->best_model, error) != 0 || write_model(&w, &c->model, error) != 0) {
        free(w.bytes);
        return -1;
    }
    int arrays = c->moment_count > 0 ? c->moment_arrays : 0;
    write_u32(&w, (uint32_t)arrays);
    write_u64(&w, arrays ? (uint64_t)c->moment_count : 0);
    for (int a = 0; a < arrays; a++) {
        const float *moment = a == 0 ? c->moment1 : c->moment2;
        for (size_t i = 0; i < c->moment_count; i++) write_f32(&w, moment[i]);
    }
    if (!w.failed) write_u32(&w, (uint32_t)crc32_z(0L, w.bytes, (z_size_t)w.size));
    if (w.failed) {
        free(w.bytes);
        return mlp_error_set(error, "checkpoint: out of memory serialising");
    }
    *bytes = w.bytes;
    *size = w.size;
    return 0;
}

/* ---- reading: a cursor that never passes the end ---- */

typedef struct byte_reader {
    const uint8_t *p;
    size_t left;
    int short_read; /* a read past the end happened: the file is truncated */
} byte_reader;

static const uint8_t *reader_take(byte_reader *r, size_t n) {
    if (r->short_read || n > r->left) {
        r->short_read = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint32_t read_u32(byte_reader *r) {
    const uint8_t *p = reader_take(r, 4);
    return p ? get_u32_le(p) : 0;
}
static uint64_t read_u64(byte_reader *r) {
    const uint8_t *p = reader_take(r, 8);
    return p ? get_u64_le(p) : 0;
}
static float read_f32(byte_reader *r) {
    uint32_t bits = read_u32(r);
    float v;
    memcpy(&v, &bits, 4);
    return v;
}
static double read_f64(byte_reader *r) {
    uint64_t bits = read_u64(r);
    double v;
    memcpy(&v, &bits, 8);
    return v;
}
/* A string into a fixed array; 0, or -1 when longer than the array allows. */
static int read_string(byte_reader *r, char *out, size_t capacity) {
    uint32_t n = read_u32(r);
    out[0] = '\0';
    if (n >= capacity) return -1;
    const uint8_t *p = reader_take(r, n);
    if (!p) return 0; /* short_read reports it */
    memcpy(out, p, n);
    out[n] = '\0';
    return memchr(out, '\0', n) ? -1 : 0;
}

static void read_evaluation(byte_reader *r, mlp_evaluation *e) {
    e->count = (int)read_u32(r);
    e->cost = read_f64(r);
    e->accuracy = read_f64(r);
    e->confidence_predicted = read_f64(r);
    e->confidence_true = read_f64(r);
    for (int i = 0; i < MLP_CLASSES; i++)
        for (int j = 0; j < MLP_CLASSES; j++) e->confusion[i][j] = (long)read_u64(r);
}

static void read_metrics(byte_reader *r, mlp_epoch_metrics *m, uint32_t version, float learning_rate) {
    m->epoch = (int)read_u32(r);
    m->train_cost = read_f64(r);
    read_evaluation(r, &m->validation);
    m->seconds = read_f64(r);
    m->train_seconds = read_f64(r);
    m->samples_per_second = read_f64(r);
    m->learning_rate = version >= 2 ? read_f64(r) : learning_rate;
}

static int finite_in(float value, float low, float high) {
    return isfinite(value) && value >= low && value <= high;
}

/* The recipe (version 2); 0, or -1 with a message. */
static int read_recipe(byte_reader *r, mlp_recipe *recipe, const char *name, mlp_error *error) {
    mlp_optimizer_options *o = &recipe->optimizer;
    mlp_schedule_options *s = &recipe->schedule;
    uint32_t optimizer = read_u32(r);
    o->momentum = read_f32(r);
    o->beta1 = read_f32(r);
    o->beta2 = read_f32(r);
    o->eps = read_f32(r);
    o->weight_decay = read_f32(r);
    uint32_t schedule = read_u32(r);
    s->warmup_epochs = read_f32(r);
    s->lr_min = read_f32(r);
    uint32_t step_epochs = read_u32(r);
    s->gamma = read_f32(r);
    uint32_t plateau = read_u32(r);
    uint32_t dropout_layers = read_u32(r);
    if (r->short_read) return mlp_error_set(error, "%s: truncated in the recipe", name);
    if (optimizer > MLP_OPTIMIZER_ADAMW || schedule > MLP_LR_ONECYCLE || step_epochs > MLP_CHECKPOINT_MAX_EPOCHS ||
        plateau > MLP_CHECKPOINT_MAX_EPOCHS || dropout_layers != MLP_MAX_LAYERS)
        return mlp_error_set(error, "%s: corrupt recipe (optimizer %u, schedule %u, dropout layers %u)", name,
                         optimizer, schedule, dropout_layers);
    o->kind = (mlp_optimizer)optimizer;
    s->kind = (mlp_lr_schedule)schedule;
    s->step_epochs = (int)step_epochs;
    s->plateau = (int)plateau;
    mlp_error reason;
    if (mlp_recipe_check(recipe, &reason) != 0)
        return mlp_error_set(error, "%s: corrupt recipe (%s)", name, reason.message);
    for (uint32_t l = 0; l < dropout_layers; l++) recipe->dropout.hidden[l] = read_f32(r);
    for (int i = 0; i < AUGMENT_FIELDS; i++) *augment_field(&recipe->augment, i) = read_f32(r);
    if (r->short_read) return mlp_error_set(error, "%s: truncated in the recipe", name);
    for (int l = 0; l < MLP_MAX_LAYERS; l++)
        if (!finite_in(recipe->dropout.hidden[l], 0.0f, 0.999f))
            return mlp_error_set(error, "%s: corrupt recipe (dropout %g)", name, recipe->dropout.hidden[l]);
    for (int i = 0; i < AUGMENT_FIELDS; i++)
        if (!finite_in(*augment_field(&recipe->augment, i), 0.0f, 1e6f))
            return mlp_error_set(error, "%s: corrupt recipe (augmentation field %d)", name, i);
    return 0;
}

/* The optimizer's moment arrays (version 2), after the model: their count must be the
 * optimizer's and their length the model's parameter count. */
static int read_moments(byte_reader *r, mlp_checkpoint *c, const char *name, mlp_error *error) {
    uint32_t arrays = read_u32(r);
    uint64_t count = read_u64(r);
    if (r->short_read) return mlp_error_set(error, "%s: truncated before the optimizer state", name);
    int expected = mlp_optimizer_moment_count(c->recipe.optimizer.kind);
    if (arrays != (uint32_t)expected || (arrays > 0 && count != (uint64_t)c->model.parameter_count) ||
        (arrays == 0 && count != 0))
        return mlp_error_set(error, "%s: corrupt optimizer state (%u arrays of %llu floats; %s keeps %d of %zu)", name,
                         arrays, (unsigned long long)count, mlp_optimizer_name(c->recipe.optimizer.kind), expected,
                         c->model.parameter_count);
    if (arrays == 0) return 0;
    if (count > r->left / 4 / arrays) return mlp_error_set(error, "%s: truncated in the optimizer state", name);
    c->moment_arrays = (int)arrays;
    c->moment_count = (size_t)count;
    for (uint32_t a = 0; a < arrays; a++) {
        float *moment = mlp_aligned_calloc((size_t)count, sizeof(float));
        if (!moment) return mlp_error_set(error, "%s: out of memory", name);
        if (a == 0) c->moment1 = moment;
        else c->moment2 = moment;
        for (uint64_t i = 0; i < count; i++) moment[i] = read_f32(r);
    }
    return 0;
}

/* An embedded model file; leaves model->parameters NULL when the length is 0. */
static int read_model(byte_reader *r, mlp_model *model, const char *name, const char *what,
                      mlp_error *error) {
    memset(model, 0, sizeof *model);
    uint64_t size = read_u64(r);
    if (r->short_read) return mlp_error_set(error, "%s: truncated before the %s", name, what);
    if (size == 0) return 0;
    if (size > r->left) return mlp_error_set(error, "%s: truncated inside the %s", name, what);
    const uint8_t *bytes = reader_take(r, (size_t)size);
    char label[MLP_CHECKPOINT_MAX_PATH + 64];
    snprintf(label, sizeof label, "%s (%s)", name, what);
    return mlp_model_deserialize(model, bytes, (size_t)size, label, error);
}

/* The fixed fields, then the arrays (after their counts are checked against what remains). */
static int read_body(byte_reader *r, mlp_checkpoint *c, uint32_t version, const char *name, mlp_error *error) {
    if (read_string(r, c->kernel, sizeof c->kernel) || read_string(r, c->data_dir, sizeof c->data_dir) ||
        read_string(r, c->train_csv, sizeof c->train_csv) ||
        read_string(r, c->test_csv, sizeof c->test_csv))
        return mlp_error_set(error, "%s: corrupt header (a name is too long or holds a NUL)", name);
    c->train_limit = (int)read_u32(r);
    c->data_count = read_u32(r);
    c->data_features = read_u32(r);
    c->data_checksum = read_u32(r);
    c->batch = (int)read_u32(r);
    c->learning_rate = read_f32(r);
    c->seed = read_u64(r);
    c->validation_split = read_f32(r);
    c->epochs = (int)read_u32(r);
    c->patience = (int)read_u32(r);
    c->checkpoint_every = (int)read_u32(r);
    c->gradient_shards = (int)read_u32(r);
    uint32_t precision = version >= 3 ? read_u32(r) : MLP_PRECISION_FP32; /* older: FP32 */
    if (precision > MLP_PRECISION_BF16)
        return mlp_error_set(error, "%s: corrupt header (precision %u)", name, precision);
    c->precision = (mlp_precision)precision;
    mlp_recipe_init(&c->recipe); /* version 1: plain SGD */
    if (version >= 2 && read_recipe(r, &c->recipe, name, error) != 0) return -1;
    c->epoch = (int)read_u32(r);
    c->first_batch = (int)read_u32(r);
    c->partial_cost_sum = read_f64(r);
    c->partial_examples = (int)read_u32(r);
    c->partial_train_seconds = read_f64(r);
    uint32_t batch_costs = read_u32(r);
    if (r->short_read) return mlp_error_set(error, "%s: truncated in the header", name);
    if (c->batch < 1 || c->epochs < 1 || c->epochs > MLP_CHECKPOINT_MAX_EPOCHS || c->epoch < 1 ||
        c->epoch > c->epochs + 1 || c->first_batch < 0 || c->patience < 0 ||
        c->checkpoint_every < 0 || c->gradient_shards < 1 || c->train_limit < 0 || c->partial_examples < 0)
        return mlp_error_set(error, "%s: corrupt header (batch %d, epoch %d of %d, batch index %d)",
                         name, c->batch, c->epoch, c->epochs, c->first_batch);
    if (batch_costs != (uint32_t)c->first_batch || batch_costs > r->left / 4)
        return mlp_error_set(error, "%s: corrupt or truncated batch costs (%u)", name, batch_costs);
    c->batch_cost_count = (int)batch_costs;
    c->batch_costs = malloc((batch_costs ? batch_costs : 1) * sizeof *c->batch_costs);
    if (!c->batch_costs) return mlp_error_set(error, "%s: out of memory", name);
    for (uint32_t b = 0; b < batch_costs; b++) c->batch_costs[b] = read_f32(r);

    uint32_t history = read_u32(r);
    size_t record_bytes = version >= 2 ? METRICS_RECORD_BYTES : METRICS_RECORD_BYTES_V1;
    if (r->short_read || history > (uint32_t)c->epochs || history > r->left / record_bytes)
        return mlp_error_set(error, "%s: corrupt or truncated metrics history (%u epochs)", name, history);
    c->history_count = (int)history;
    c->history = calloc(history ? history : 1, sizeof *c->history);
    if (!c->history) return mlp_error_set(error, "%s: out of memory", name);
    for (uint32_t e = 0; e < history; e++) read_metrics(r, &c->history[e], version, c->learning_rate);
    c->best_epoch = (int)read_u32(r);
    c->best_cost = read_f64(r);
    mlp_plateau_init(&c->plateau);
    if (version >= 2) {
        c->optimizer_step = read_u64(r);
        c->plateau.best_cost = read_f64(r);
        c->plateau.bad_epochs = (int)read_u32(r);
        c->plateau.reductions = (int)read_u32(r);
    }
    if (r->short_read) return mlp_error_set(error, "%s: truncated in the metrics history", name);
    if (c->best_epoch < 0 || c->best_epoch > c->history_count)
        return mlp_error_set(error, "%s: corrupt best epoch %d", name, c->best_epoch);
    if (c->plateau.bad_epochs < 0 || c->plateau.bad_epochs > MLP_CHECKPOINT_MAX_EPOCHS || c->plateau.reductions < 0 ||
        c->plateau.reductions > MLP_CHECKPOINT_MAX_EPOCHS || isnan(c->plateau.best_cost))
        return mlp_error_set(error, "%s: corrupt --lr-plateau state (%d epochs, %d reductions)", name,
                         c->plateau.bad_epochs, c->plateau.reductions);
    if (read_model(r, &c->best_model, name, "best model", error) != 0) return -1;
    if (read_model(r, &c->model, name, "model", error) != 0) return -1;
    if (!c->model.parameters) return mlp_error_set(error, "%s: holds no model", name);
    if (c->best_model.parameters &&
        (c->best_model.layer_count != c->model.layer_count ||
         memcmp(c->best_model.sizes, c->model.sizes, sizeof c->model.sizes) != 0))
        return mlp_error_set(error, "%s: the best model's layer sizes differ from the model's", name);
    if (version >= 2 && read_moments(r, c, name, error) != 0) return -1;
    if (r->left != 4) return mlp_error_set(error, "%s: %zu unexpected bytes at the end", name, r->left - 4);
    return 0;
}

int mlp_checkpoint_deserialize(mlp_checkpoint *c, const uint8_t *bytes, size_t size, const char *name,
                           mlp_error *error) {
    memset(c, 0, sizeof *c);
    if (size < 12 || memcmp(bytes, checkpoint_magic, 8) != 0)
        return mlp_error_set(error, "%s: not an mlptrain checkpoint (bad magic)", name);
    uint32_t version = get_u32_le(bytes + 8);
    if (version < MLP_CHECKPOINT_OLDEST_VERSION || version > MLP_CHECKPOINT_FORMAT_VERSION)
        return mlp_error_set(error, "%s: checkpoint format version %u, this build reads versions %u to %u",
                         name, version, MLP_CHECKPOINT_OLDEST_VERSION, MLP_CHECKPOINT_FORMAT_VERSION);
    if (size < 16) return mlp_error_set(error, "%s: truncated (%zu bytes)", name, size);
    /* The checksum first: a damaged file is reported as damaged, whatever the damage hit. */
    uint32_t expected = get_u32_le(bytes + size - 4);
    if ((uint32_t)crc32_z(0L, bytes, (z_size_t)(size - 4)) != expected)
        return mlp_error_set(error, "%s: checksum mismatch (file damaged or truncated)", name);
    byte_reader r = {bytes + 12, size - 12, 0};
    if (read_body(&r, c, version, name, error) != 0) {
        mlp_checkpoint_free(c);
        return -1;
    }
    return 0;
}

void mlp_checkpoint_free(mlp_checkpoint *c) {
    free(c->batch_costs);
    free(c->history);
    mlp_model_free(&c->model);
    mlp_model_free(&c->best_model);
    mlp_aligned_free(c->moment1);
    mlp_aligned_free(c->moment2);
    c->moment1 = c->moment2 = NULL;
    c->moment_count = 0;
    c->batch_costs = NULL;
    c->history = NULL;
}

int mlp_checkpoint_save(const mlp_checkpoint *c, const char *path, mlp_error *error) {
    uint8_t *bytes;
    size_t size;
    if (mlp_checkpoint_serialize(c, &bytes, &size, error) != 0) return -1;
    int status = mlp_file_write_atomic(path, bytes, size, error);
    free(bytes);
    return status;
}

int mlp_checkpoint_load(mlp_checkpoint *c, const char *path, mlp_error *error) {
    uint8_t *bytes;
    size_t size;
    memset(c, 0, sizeof *c);
    /* two models and two moment arrays at most plus the history: bounded by four parameter
     * arrays and the epoch limit */
    size_t limit = 16 * (size_t)MLP_MAX_PARAMETERS + (size_t)MLP_CHECKPOINT_MAX_EPOCHS * 1024 + 65536;
    if (mlp_file_read_all(path, limit, &bytes, &size, error) != 0) return -1;
    int status = mlp_checkpoint_deserialize(c, bytes, size, path, error);
    free(bytes);
    return status;
}

uint32_t mlp_checkpoint_data_checksum(const mlp_dataset *data) {
    uLong crc = crc32_z(0L, data->labels, (z_size_t)data->count);
    return (uint32_t)crc32_z(crc, data->pixels, (z_size_t)data->count * (z_size_t)data->features);
}
