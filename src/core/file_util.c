#define _POSIX_C_SOURCE 200809L
#include "core/file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_fully(int fd, const uint8_t *bytes, size_t size) {
    while (size > 0) {
        ssize_t written = write(fd, bytes, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        bytes += written;
        size -= (size_t)written;
    }
    return 0;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_parent_directory(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int mlp_file_write_atomic(const char *path, const void *bytes, size_t size, mlp_error *error) {
    size_t length = strlen(path) + 32;
    char *temporary = malloc(length);
    if (!temporary) return mlp_error_set(error, "%s: out of memory", path);
    snprintf(temporary, length, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        mlp_error_set(error, "%s: cannot create: %s", temporary, strerror(errno));
        free(temporary);
        return -1;
    }
    if (write_fully(fd, bytes, size) != 0 || fsync(fd) != 0) {
        mlp_error_set(error, "%s: cannot write: %s", temporary, strerror(errno));
        close(fd);
        unlink(temporary);
        free(temporary);
        return -1;
    }
    if (close(fd) != 0 || rename(temporary, path) != 0) {
        mlp_error_set(error, "%s: cannot replace: %s", path, strerror(errno));
        unlink(temporary);
        free(temporary);
        return -1;
    }
    free(temporary);
    sync_parent_directory(path);
    return 0;
}

int mlp_file_read_all(const char *path, size_t max_size, uint8_t **bytes, size_t *size,
                  mlp_error *error) {
    *bytes = NULL;
    *size = 0;
    FILE *file = fopen(path, "rb");
    if (!file) return mlp_error_set(error, "%s: cannot open: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return mlp_error_set(error, "%s: not a regular file", path);
    }
    if ((uint64_t)info.st_size > max_size) {
        fclose(file);
        return mlp_error_set(error, "%s: file too large (%lld bytes, limit %zu)", path,
                         (long long)info.st_size, max_size);
    }
    size_t length = (size_t)info.st_size;
    uint8_t *buffer = malloc(length ? length : 1);
    if (!buffer) {
        fclose(file);
        return mlp_error_set(error, "%s: out of memory reading %zu bytes", path, length);
    }
    size_t got = fread(buffer, 1, length, file);
    int failed = ferror(file);
    fclose(file);
    if (got != length || failed) {
        free(buffer);
        return mlp_error_set(error, "%s: read error", path);
    }
    *bytes = buffer;
    *size = length;
    return 0;
}

int mlp_file_make_directories(const char *path, mlp_error *error) {
    char *copy = strdup(path);
    if (!copy) return mlp_error_set(error, "%s: out of memory", path);
    for (char *p = copy + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
                mlp_error_set(error, "%s: cannot create directory: %s", copy, strerror(errno));
                free(copy);
                return -1;
            }
            *p = saved;
            if (saved == '\0') break;
        }
    }
    free(copy);
    struct stat info;
    if (stat(path, &info) != 0 || !S_ISDIR(info.st_mode))
        return mlp_error_set(error, "%s: not a directory", path);
    return 0;
}
