/* Shared by the fuzz targets: the libFuzzer entry point, a sink the optimiser cannot remove, and a
 * scratch file for the loaders that read paths (IDX, CSV). Each target is one .c file; it links
 * either with libFuzzer (clang -fsanitize=fuzzer, scripts/fuzz.sh) or with replay_main.c, which
 * runs it over the seed corpus and the regression files as a ctest. */
#ifndef MLP_FUZZ_TARGET_H
#define MLP_FUZZ_TARGET_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/file_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads of parsed values go here, so the parsers' results are observable. */
static volatile uint64_t fuzz_sink;

/* Writes bytes to a per-process scratch file named by `role` (in /dev/shm when it exists) and
 * returns its path; the file is rewritten on every call. */
static inline const char *fuzz_scratch_file(const char *role, const uint8_t *bytes, size_t size) {
    static char paths[4][96];
    static int used;
    int slot = role[0] == 'i' ? 0 : role[0] == 'l' ? 1 : role[0] == 'c' ? 2 : 3;
    if (!(used & (1 << slot))) {
        const char *folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(paths[slot], sizeof paths[slot], "%s/mlp_fuzz_%ld_%s", folder, (long)getpid(), role);
        used |= 1 << slot;
    }
    int fd = open(paths[slot], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) abort();
    while (size > 0) {
        ssize_t written = write(fd, bytes, size);
        if (written <= 0) abort();
        bytes += written;
        size -= (size_t)written;
    }
    close(fd);
    return paths[slot];
}

/* For formats that end in a CRC-32 of every byte before it (model, checkpoint): parses the input
 * as it is, then again with the CRC made right, so that mutations reach the fields behind it. */
static inline void fuzz_as_is_and_with_crc_fixed(const uint8_t *data, size_t size,
                                                 void (*parse_and_check)(const uint8_t *, size_t)) {
    parse_and_check(data, size);
    if (size < 4) return;
    uint8_t *fixed = malloc(size);
    if (!fixed) return;
    memcpy(fixed, data, size);
    put_u32_le(fixed + size - 4, (uint32_t)crc32_z(0L, fixed, size - 4));
    parse_and_check(fixed, size);
    free(fixed);
}

static inline void fuzz_remove_scratch_file(const char *path) { unlink(path); }

#endif
