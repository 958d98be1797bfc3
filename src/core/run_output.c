/* metrics.csv, summary.json and the per-epoch console line. */
#define _POSIX_C_SOURCE 200809L
#include "mlp/run_output.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/affinity.h"
#include "core/file_util.h"
#include "mlp/augment.h"
#include "mlp/optimizer.h"
#include "mlp/plan.h"

/* A growable text buffer for building a file before writing it atomically. */
typedef struct text_buffer {
    char *data;
    size_t length, capacity;
    int failed;
} text_buffer;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void text_append(text_buffer *text, const char *format, ...) {
    if (text->failed) return;
    for (;;) {
        va_list args;
        va_start(args, format);
        size_t room = text->capacity - text->length;
        int needed = vsnprintf(text->data ? text->data + text->length : NULL, room, format, args);
        va_end(args);
        if (needed < 0) {
            text->failed = 1;
            return;
        }
        if ((size_t)needed < room) {
            text->length += (size_t)needed;
            return;
        }
        size_t capacity = text->capacity ? text->capacity * 2 : 4096;
        while (capacity - text->length <= (size_t)needed) capacity *= 2;
        char *grown = realloc(text->data, capacity);
        if (!grown) {
            text->failed = 1;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
}

static int text_write(text_buffer *text, const char *path, mlp_error *error) {
    int status = text->failed ? mlp_error_set(error, "%s: out of memory", path)
                              : mlp_file_write_atomic(path, text->data, text->length, error);
    free(text->data);
    return status;
}

int mlp_metrics_csv_write(const char *path, const mlp_epoch_metrics *history, int count, mlp_error *error) {
    text_buffer text = {0};
    text_append(&text, "%s\n", MLP_METRICS_CSV_HEADER);
    for (int i = 0; i < count; i++) {
        const mlp_epoch_metrics *m = &history[i];
        text_append(&text, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f,%.6g\n", m->epoch, m->train_cost,
                    m->validation.cost, m->validation.accuracy, m->validation.confidence_predicted,
                    m->validation.confidence_true, m->seconds, m->samples_per_second, m->learning_rate);
    }
    return text_write(&text, path, error);
}

int mlp_metrics_csv_read(const char *path, mlp_epoch_metrics **history, int *count, mlp_error *error) {
    *history = NULL;
    *count = 0;
    FILE *file = fopen(path, "r");
    if (!file) return mlp_error_set(error, "%s: cannot open", path);
    char line[1024];
    if (!fgets(line, sizeof line, file) || strncmp(line, "epoch,train_cost,val_cost", 25) != 0) {
        fclose(file);
        return mlp_error_set(error, "%s: not a metrics.csv (header line 1 is not '%s')", path,
                         MLP_METRICS_CSV_HEADER);
    }
    int capacity = 0, n = 0, line_number = 1;
    mlp_epoch_metrics *rows = NULL;
    while (fgets(line, sizeof line, file)) {
        line_number++;
        if (line[0] == '\n' || line[0] == '\0') continue;
        if (n == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            mlp_epoch_metrics *grown = realloc(rows, (size_t)capacity * sizeof *rows);
            if (!grown) {
                free(rows);
                fclose(file);
                return mlp_error_set(error, "%s: out of memory", path);
            }
            rows = grown;
        }
        mlp_epoch_metrics *m = &rows[n];
        memset(m, 0, sizeof *m);
        int fields = sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &m->epoch, &m->train_cost,
                            &m->validation.cost, &m->validation.accuracy, &m->validation.confidence_predicted,
                            &m->validation.confidence_true, &m->seconds, &m->samples_per_second,
                            &m->learning_rate);
        if (fields != 8 && fields != 9) {
            free(rows);
            fclose(file);
            return mlp_error_set(error, "%s:%d: expected 8 comma-separated numbers", path, line_number);
        }
        n++;
    }
    fclose(file);
    if (n == 0) {
        free(rows);
        return mlp_error_set(error, "%s: no epochs recorded", path);
    }
    *history = rows;
    *count = n;
    return 0;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mlp_metrics_median_samples_per_second(const mlp_epoch_metrics *history, int count) {
    if (count <= 0) return 0.0;
    double *rates = malloc((size_t)count * sizeof *rates);
    if (!rates) return 0.0;
    for (int i = 0; i < count; i++) rates[i] = history[i].samples_per_second;
    qsort(rates, (size_t)count, sizeof *rates, compare_doubles);
    double median = count % 2 ? rates[count / 2] : 0.5 * (rates[count / 2 - 1] + rates[count / 2]);
    free(rates);
    return median;
}

static void append_evaluation(text_buffer *text, const char *prefix, const mlp_evaluation *e) {
    text_append(text,
                "  \"%s_accuracy\": %.6f,\n  \"%s_cost\": %.6f,\n"
                "  \"%s_confidence_predicted\": %.6f,\n  \"%s_confidence_true\": %.6f,\n"
                "  \"%s_count\": %d,\n",
                prefix, e->accuracy, prefix, e->cost, prefix, e->confidence_predicted, prefix,
                e->confidence_true, prefix, e->count);
}

/* The recipe's dropout, one p per hidden layer, and its augmentation: the spec as --augment
 * takes it ("off" when none) and each value. */
static void append_regularisation(text_buffer *text, const mlp_recipe *recipe, const mlp_model *model) {
    text_append(text, ",\n  \"dropout\": [");
    for (int l = 0; l + 1 < model->layer_count; l++)
        text_append(text, "%s%g", l ? ", " : "", recipe->dropout.hidden[l]);
    const mlp_augment_options *a = &recipe->augment;
    char spec[256];
    mlp_augment_format(a, spec, sizeof spec);
    text_append(text,
                "],\n  \"augment\": \"%s\",\n  \"augment_shift\": %g,\n  \"augment_rotate\": %g,\n"
                "  \"augment_scale\": %g,\n  \"augment_elastic_alpha\": %g,\n  \"augment_elastic_sigma\": %g",
                spec, a->shift_pixels, a->rotate_degrees, a->scale_fraction, a->elastic_alpha, a->elastic_sigma);
}

int mlp_summary_json_write(const char *path, const mlp_run_summary *s, mlp_error *error) {
    text_buffer text = {0};
    text_append(&text, "{\n");
    if (s->has_test) append_evaluation(&text, "test", &s->test);
    else text_append(&text, "  \"test_accuracy\": null,\n  \"test_cost\": null,\n");
    append_evaluation(&text, "val", &s->validation);
    text_append(&text, "  \"epochs\": %d,\n  \"samples_per_second\": %.1f,\n  \"seconds\": %.3f,\n",
                s->epochs, s->samples_per_second, s->seconds);
    text_append(&text, "  \"layers\": [");
    for (int i = 0; i <= s->model->layer_count; i++)
        text_append(&text, "%s%d", i ? ", " : "", s->model->sizes[i]);
    text_append(&text, "],\n  \"activation\": \"%s\",\n",
                mlp_model_activation_name(s->model->hidden_activation));
    int requested = s->threads_requested;
    const affinity_thread_plan *plan = mlp_affinity_last_plan();
    if (requested <= 0) requested = plan && plan->used == s->threads ? plan->requested : s->threads;
    text_append(&text,
                "  \"kernel\": \"%s\",\n  \"precision\": \"%s\",\n  \"threads\": %d,\n"
                "  \"threads_requested\": %d,\n  \"available_cores\": %d,\n  \"seed\": %llu,\n"
                "  \"batch\": %d,\n  \"learning_rate\": %g",
                s->kernel, mlp_precision_name(s->precision), s->threads, requested, mlp_affinity_available_cores(),
                (unsigned long long)s->seed, s->batch, s->learning_rate);
    if (s->recipe) {
        const mlp_optimizer_options *o = &s->recipe->optimizer;
        const mlp_schedule_options *sc = &s->recipe->schedule;
        text_append(&text,
                    ",\n  \"optimizer\": \"%s\",\n  \"momentum\": %g,\n  \"beta1\": %g,\n  \"beta2\": %g,\n"
                    "  \"eps\": %g,\n  \"weight_decay\": %g,\n  \"lr_schedule\": \"%s\",\n"
                    "  \"warmup_epochs\": %g,\n  \"lr_min\": %g,\n  \"lr_step\": %d,\n  \"lr_gamma\": %g,\n"
                    "  \"lr_plateau\": %d",
                    mlp_optimizer_name(o->kind), o->momentum, o->beta1, o->beta2, o->eps, o->weight_decay,
                    mlp_lr_schedule_name(sc->kind), sc->warmup_epochs, sc->lr_min, sc->step_epochs, sc->gamma,
                    sc->plateau);
        append_regularisation(&text, s->recipe, s->model);
    }
    if (s->recipe_name) text_append(&text, ",\n  \"recipe\": \"%s\"", s->recipe_name);
    else text_append(&text, ",\n  \"recipe\": null");
    if (s->plan) {
        char *object = NULL;
        size_t length = 0;
        FILE *stream = open_memstream(&object, &length);
        if (stream) {
            mlp_plan_write_json(stream, s->plan, s->model, s->batch, s->threads);
            fclose(stream);
            text_append(&text, ",\n  \"plan\": %s", object);
        }
        free(object);
    }
    if (s->profile) {
        char *rows = NULL;
        size_t length = 0;
        FILE *stream = open_memstream(&rows, &length);
        if (stream) {
            mlp_profile_write_json(s->profile, s->model, s->kernel, stream);
            fclose(stream);
            text_append(&text, ",\n  \"profile\": %s", rows);
        }
        free(rows);
    }
    text_append(&text, "\n}\n");
    return text_write(&text, path, error);
}

void mlp_metrics_print_header(void) {
    printf("%5s  %10s  %10s  %8s  %9s  %9s  %7s  %10s  %9s\n", "epoch", "train_cost", "val_cost",
           "val_acc", "conf_pred", "conf_true", "seconds", "samples/s", "lr");
}

void mlp_metrics_print_epoch(const mlp_epoch_metrics *m) {
    printf("%5d  %10.4f  %10.4f  %7.2f%%  %9.4f  %9.4f  %7.2f  %10.0f  %9.3g\n", m->epoch, m->train_cost,
           m->validation.cost, 100.0 * m->validation.accuracy, m->validation.confidence_predicted,
           m->validation.confidence_true, m->seconds, m->samples_per_second, m->learning_rate);
    fflush(stdout);
}
