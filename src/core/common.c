#define _POSIX_C_SOURCE 200809L
#include "mlp/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int mlp_error_set(mlp_error *error, const char *format, ...) {
    if (error) {
        va_list args;
        va_start(args, format);
        vsnprintf(error->message, sizeof error->message, format, args);
        va_end(args);
    }
    return -1;
}

void *mlp_aligned_calloc(size_t count, size_t size) {
    if (size != 0 && count > ((size_t)-1 - 64) / size) return NULL;
    size_t bytes = count * size;
    bytes = (bytes + 63) & ~(size_t)63;
    if (bytes == 0) bytes = 64;
    void *pointer = NULL;
    if (posix_memalign(&pointer, 64, bytes) != 0) return NULL;
    memset(pointer, 0, bytes);
    return pointer;
}

void mlp_aligned_free(void *pointer) { free(pointer); }

double mlp_wall_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}
