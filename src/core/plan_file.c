/* The plan file (`--plan FILE`, MLP_PLAN): key=value lines, read strictly, written atomically,
 * and the choice between reading it and measuring. See include/mlp/plan.h. */
#define _POSIX_C_SOURCE 200809L /* access */
#include "mlp/plan.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file_util.h"

enum { PLAN_FORMAT = 1, PLAN_FILE_MAX_BYTES = 64 * 1024 };

typedef enum field_type { FIELD_TEXT, FIELD_INT, FIELD_LONG, FIELD_DOUBLE } field_type;

/* One key of the file: where its value goes and the range it must be in. */
typedef struct plan_field {
    const char *key;
    field_type type;
    size_t offset; /* in mlp_plan */
    size_t size;   /* FIELD_TEXT: the buffer's size */
    double min, max;
} plan_field;

#define FIELD(key, type, member, min, max) \
    {key, type, offsetof(mlp_plan, member), sizeof(((mlp_plan *)0)->member), min, max}
/* The keys, in the order they are written. kc, mc, nc: 0 = the variant's constant; values above
 * the constants are clamped by the GEMM driver (the workspace bounds them). */
static const plan_field fields[] = {
    FIELD("cpu_model", FIELD_TEXT, machine.cpu_model, 0, 0),
    FIELD("variant", FIELD_TEXT, variant, 0, 0),
    FIELD("l1d_bytes", FIELD_LONG, machine.l1d_bytes, 0, 1e12),
    FIELD("l2_bytes", FIELD_LONG, machine.l2_bytes, 0, 1e12),
    FIELD("l3_bytes", FIELD_LONG, machine.l3_bytes, 0, 1e12),
    FIELD("fma_peak_gflops", FIELD_DOUBLE, machine.fma_peak_gflops, 0, 1e6),
    FIELD("barrier_us", FIELD_DOUBLE, machine.barrier_us, 0, 1e6),
    FIELD("barrier_threads", FIELD_INT, machine.barrier_threads, 0, 4096),
    FIELD("kc", FIELD_INT, blocking.kc, 0, 1 << 20),
    FIELD("mc", FIELD_INT, blocking.mc, 0, 1 << 20),
    FIELD("nc", FIELD_INT, blocking.nc, 0, 1 << 20),
    FIELD("min_flops_per_thread", FIELD_LONG, min_flops_per_thread, 1, 1e15),
};
enum { FIELD_COUNT = sizeof fields / sizeof fields[0] };

/* Parses `value` into the field; 0, or -1 with the problem in error. */
static int set_field(const plan_field *f, const char *value, mlp_plan *plan, const char *path,
                     int line, mlp_error *error) {
    char *target = (char *)plan + f->offset;
    if (f->type == FIELD_TEXT) {
        if (strlen(value) >= f->size)
            return mlp_error_set(error, "plan file %s, line %d: %s is longer than %zu characters",
                                 path, line, f->key, f->size - 1);
        memcpy(target, value, strlen(value) + 1);
        return 0;
    }
    char *end;
    errno = 0;
    double number = strtod(value, &end);
    int whole = f->type != FIELD_DOUBLE;
    if (end == value || *end != '\0' || errno != 0 || number != number ||
        (whole && number != (double)(long long)number))
        return mlp_error_set(error, "plan file %s, line %d: %s = '%s' is not %s", path, line, f->key,
                             value, whole ? "a whole number" : "a number");
    if (number < f->min || number > f->max)
        return mlp_error_set(error, "plan file %s, line %d: %s = %s is outside [%g, %g]", path, line,
                             f->key, value, f->min, f->max);
    if (f->type == FIELD_INT) *(int *)target = (int)number;
    else if (f->type == FIELD_LONG) *(long *)target = (long)number;
    else *(double *)target = number;
    return 0;
}

static int parse_plan(char *text, const char *path, mlp_plan *plan, mlp_error *error) {
    int seen[FIELD_COUNT] = {0}, format_seen = 0, line = 0;
    for (char *cursor = text; cursor && *cursor;) {
        char *entry = cursor;
        char *newline = strchr(cursor, '\n');
        if (newline) *newline = '\0';
        cursor = newline ? newline + 1 : NULL;
        line++;
        size_t length = strlen(entry);
        if (length && entry[length - 1] == '\r') entry[--length] = '\0';
        if (length == 0 || entry[0] == '#') continue;
        char *equals = strchr(entry, '=');
        if (!equals)
            return mlp_error_set(error, "plan file %s, line %d: expected key=value", path, line);
        *equals = '\0';
        const char *key = entry, *value = equals + 1;
        if (strcmp(key, "format") == 0) {
            if (strcmp(value, "1") != 0)
                return mlp_error_set(error, "plan file %s, line %d: format %s (this trainer reads %d)",
                                     path, line, value, PLAN_FORMAT);
            format_seen = 1;
            continue;
        }
        int f = 0;
        while (f < FIELD_COUNT && strcmp(fields[f].key, key) != 0) f++;
        if (f == FIELD_COUNT)
            return mlp_error_set(error, "plan file %s, line %d: unknown key '%s'", path, line, key);
        if (seen[f]++)
            return mlp_error_set(error, "plan file %s, line %d: %s given twice", path, line, key);
        if (set_field(&fields[f], value, plan, path, line, error) != 0) return -1;
    }
    if (!format_seen)
        return mlp_error_set(error, "plan file %s: no format=%d line (not a plan file?)", path, PLAN_FORMAT);
    for (int f = 0; f < FIELD_COUNT; f++)
        if (!seen[f]) return mlp_error_set(error, "plan file %s: %s is missing", path, fields[f].key);
    return 0;
}

int mlp_plan_read(const char *path, mlp_plan *plan, mlp_error *error) {
    uint8_t *bytes;
    size_t size;
    if (mlp_file_read_all(path, PLAN_FILE_MAX_BYTES, &bytes, &size, error) != 0) return -1;
    char *text = malloc(size + 1);
    if (!text) {
        free(bytes);
        return mlp_error_set(error, "plan file %s: out of memory", path);
    }
    memcpy(text, bytes, size);
    text[size] = '\0';
    free(bytes);
    memset(plan, 0, sizeof *plan);
    int status = memchr(text, '\0', size) ? mlp_error_set(error, "plan file %s: not text", path)
                                          : parse_plan(text, path, plan, error);
    free(text);
    if (status != 0) return -1;
    plan->source = MLP_PLAN_READ;
    snprintf(plan->file, sizeof plan->file, "%s", path);
    return 0;
}

int mlp_plan_write(const char *path, const mlp_plan *plan, mlp_error *error) {
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return mlp_error_set(error, "plan file %s: out of memory", path);
    fprintf(out, "# mlptrain plan (include/mlp/plan.h): facts measured on this machine and the\n"
                 "# decisions derived from them. Edit kc, mc, nc (0: the variant's constants) or\n"
                 "# min_flops_per_thread to pin others: any plan gives the same model bytes.\n"
                 "format=%d\n", PLAN_FORMAT);
    for (int f = 0; f < FIELD_COUNT; f++) {
        const char *source = (const char *)plan + fields[f].offset;
        fprintf(out, "%s=", fields[f].key);
        switch (fields[f].type) {
        case FIELD_TEXT: fprintf(out, "%s\n", source); break;
        case FIELD_INT: fprintf(out, "%d\n", *(const int *)source); break;
        case FIELD_LONG: fprintf(out, "%ld\n", *(const long *)source); break;
        case FIELD_DOUBLE: fprintf(out, "%.6g\n", *(const double *)source); break;
        }
    }
    fclose(out);
    int status = mlp_file_write_atomic(path, text, length, error);
    free(text);
    return status;
}

int mlp_plan_resolve(const char *path, const mlp_kernel_table *kernels, int threads, mlp_plan *plan,
                     mlp_error *error) {
    if (!path || !path[0]) path = getenv("MLP_PLAN");
    if (!path || !path[0]) {
        mlp_plan_measure(plan, kernels, threads);
        return 0;
    }
    if (access(path, F_OK) == 0) {
        if (mlp_plan_read(path, plan, error) != 0) return -1;
        mlp_plan here; /* this CPU's model and variant, as a plan file names them */
        mlp_plan_defaults(&here, kernels);
        if (strcmp(plan->machine.cpu_model, here.machine.cpu_model) == 0 &&
            strcmp(plan->variant, here.variant) == 0)
            return 0;
        fprintf(stderr, "trainer: warning: plan file %s is for %s / %s, this is %s / %s: measured a "
                        "plan instead (file left unchanged)\n",
                path, plan->machine.cpu_model, plan->variant, here.machine.cpu_model, here.variant);
        mlp_plan_measure(plan, kernels, threads);
        return 0;
    }
    mlp_plan_measure(plan, kernels, threads);
    if (mlp_plan_write(path, plan, error) != 0) return -1;
    plan->source = MLP_PLAN_WRITTEN;
    snprintf(plan->file, sizeof plan->file, "%s", path);
    return 0;
}
