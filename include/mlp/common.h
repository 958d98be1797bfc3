/* Error reporting and small helpers shared by the whole library. */
#ifndef MLP_COMMON_H
#define MLP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library functions that can fail return 0 on success and -1 on failure, after writing a
 * one-line message (naming the file and the problem) into an mlp_error. */
typedef struct mlp_error {
    char message[1024];
} mlp_error;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int mlp_error_set(mlp_error *error, const char *format, ...); /* always returns -1 */

/* Allocation aligned to 64 bytes (a cache line, a ZMM register); free with aligned_free.
 * Returns NULL when count * size overflows or memory is short. */
void *mlp_aligned_calloc(size_t count, size_t size);
void mlp_aligned_free(void *pointer);

/* Monotonic wall clock in seconds. */
double mlp_wall_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
