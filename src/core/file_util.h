/* Files written safely: a temporary file beside the target, fsync, rename over the target, then
 * fsync of the directory, so that readers see either the old complete file or the new complete
 * one, never a torn one. */
#ifndef MLP_INTERNAL_FILE_UTIL_H
#define MLP_INTERNAL_FILE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "mlp/common.h"

#ifdef __cplusplus
extern "C" {
#endif

int mlp_file_write_atomic(const char *path, const void *bytes, size_t size, mlp_error *error);
/* Reads a whole file (up to max_size bytes; larger is an error) into a malloc'ed buffer. */
int mlp_file_read_all(const char *path, size_t max_size, uint8_t **bytes, size_t *size,
                  mlp_error *error);
/* mkdir -p */
int mlp_file_make_directories(const char *path, mlp_error *error);

/* Little-endian encoding helpers for the binary formats. */
static inline void put_u32_le(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t get_u32_le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void put_u64_le(uint8_t *p, uint64_t v) {
    put_u32_le(p, (uint32_t)v); put_u32_le(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t get_u64_le(const uint8_t *p) {
    return (uint64_t)get_u32_le(p) | (uint64_t)get_u32_le(p + 4) << 32;
}

#ifdef __cplusplus
}
#endif
#endif
