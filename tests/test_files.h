/* Files in the C tests that drive whole runs (test_run.c, test_precision.c): paths under a
 * test's temporary root, and whether two files hold the same bytes. Links with the core library
 * (mlp_file_read_all). */
#ifndef MLP_TEST_FILES_H
#define MLP_TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_util.h"

/* root/name, in one of 16 rotating buffers (a call's result lives for 15 more calls). */
static inline const char *test_path(const char *root, const char *name) {
    static char paths[16][512];
    static int next;
    char *path = paths[next++ % 16];
    snprintf(path, 512, "%s/%s", root, name);
    return path;
}

/* Whether two files hold the same bytes (both readable, up to 1 GiB). */
static inline int test_same_file(const char *a, const char *b) {
    uint8_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    mlp_error error;
    int same = mlp_file_read_all(a, 1 << 30, &x, &nx, &error) == 0 && mlp_file_read_all(b, 1 << 30, &y, &ny, &error) == 0 &&
               nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

#endif
