/* A tiny assertion helper for the C tests: a failed CHECK prints where and why, counts the
 * failure, and the test's main returns test_exit_code() (0 when all passed, 1 otherwise).
 * TEST_SKIP(reason) exits with 77, which ctest reports as skipped, with the reason printed. */
#ifndef MLP_TEST_UTIL_H
#define MLP_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

static int test_failures;
static int test_checks;

#define CHECK(condition, ...)                                                          \
    do {                                                                               \
        test_checks++;                                                                 \
        if (!(condition)) {                                                            \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #condition); \
            fprintf(stderr, __VA_ARGS__);                                              \
            fprintf(stderr, "\n");                                                     \
        }                                                                              \
    } while (0)

#define TEST_SKIP(...)                    \
    do {                                  \
        printf("SKIPPED: " __VA_ARGS__);  \
        printf("\n");                     \
        exit(77);                         \
    } while (0)

static inline int test_exit_code(void) {
    printf("%d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

#endif
