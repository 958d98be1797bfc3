/* The IDX reader (LeCun's MNIST format), raw or gzip-compressed: zlib's gzread reads both.
 *
 * An IDX file is a big-endian header followed by the payload:
 *   magic = 0x00 0x00 <type> <dimension count>   (type 0x08 = unsigned byte)
 *   one uint32 size per dimension
 *   the bytes, row-major.
 * Images are 0x00000803 (2051: count, rows, cols), labels 0x00000801 (2049: count).
 * Both headers are validated before anything large is allocated: a raw file's size must equal
 * what its header claims, and a gzip file (whose size is unknown until read) is read in chunks
 * into a buffer that grows geometrically but never beyond what the header claims, itself
 * capped at IDX_MAX_PAYLOAD. */
#define _POSIX_C_SOURCE 200809L
#include "mlp/data.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_TYPE_UBYTE 0x08u
#define IDX_IMAGES_MAGIC 0x00000803u /* 2051 */
#define IDX_LABELS_MAGIC 0x00000801u /* 2049 */
/* Payloads above 2^31 - 1 bytes are absurd for this trainer (MNIST train is 47 MB). */
#define IDX_MAX_PAYLOAD ((uint64_t)INT_MAX)
#define IDX_FIRST_CHUNK ((size_t)1 << 20)  /* a gzip payload's buffer starts at 1 MiB */
#define IDX_MAX_READ ((size_t)1 << 26)     /* one gzread call reads at most 64 MiB */

typedef struct idx_file {
    const char *path;
    const char *kind;    /* "images" or "labels", for messages */
    gzFile gz;
    int direct;          /* 1 when the file is not compressed, so its size is known */
    long long file_size; /* bytes on disk */
    uint32_t sizes[3];   /* count, then rows and cols for images */
    int dimensions;      /* 3 for images, 1 for labels */
    uint64_t header_bytes, payload_bytes;
} idx_file;

static uint32_t read_big_endian_u32(const unsigned char bytes[4]) {
    return ((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) | ((uint32_t)bytes[2] << 8) |
           (uint32_t)bytes[3];
}

/* Reads exactly n header bytes; a short read means the header itself is cut off. */
static int idx_read_header_bytes(idx_file *file, unsigned char *bytes, unsigned n,
                                 mlp_error *error) {
    int got = gzread(file->gz, bytes, n);
    if (got == (int)n) return 0;
    if (got < 0) {
        int code = 0;
        const char *message = gzerror(file->gz, &code);
        return mlp_error_set(error, "%s: cannot read the IDX header (%s)", file->path, message);
    }
    return mlp_error_set(error, "%s: file too short for an IDX %s header", file->path, file->kind);
}

/* Opens the file and checks magic, dimension count, sizes and the payload size. */
static int idx_open(idx_file *file, const char *path, int images, mlp_error *error) {
    memset(file, 0, sizeof *file);
    file->path = path;
    file->kind = images ? "images" : "labels";
    file->dimensions = images ? 3 : 1;
    uint32_t expected_magic = images ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC;

    struct stat info;
    if (stat(path, &info) != 0)
        return mlp_error_set(error, "%s: cannot open (%s)", path, strerror(errno));
    if (!S_ISREG(info.st_mode)) return mlp_error_set(error, "%s: not a regular file", path);
    file->file_size = (long long)info.st_size;
    file->gz = gzopen(path, "rb");
    if (!file->gz) return mlp_error_set(error, "%s: cannot open (%s)", path, strerror(errno));
    gzbuffer(file->gz, 1u << 17);

    unsigned char bytes[12];
    if (idx_read_header_bytes(file, bytes, 4, error)) return -1;
    uint32_t magic = read_big_endian_u32(bytes);
    if ((magic >> 8) == IDX_TYPE_UBYTE && magic != expected_magic)
        return mlp_error_set(error, "%s: %u dimensions (magic 0x%08x), expected %d for %s", path,
                         magic & 0xffu, magic, file->dimensions, file->kind);
    if (magic != expected_magic)
        return mlp_error_set(error, "%s: bad magic 0x%08x (expected %u for %s)", path, magic,
                         expected_magic, file->kind);

    if (idx_read_header_bytes(file, bytes, 4u * (unsigned)file->dimensions, error)) return -1;
    for (int d = 0; d < file->dimensions; d++) file->sizes[d] = read_big_endian_u32(bytes + 4 * d);
    file->header_bytes = 4u + 4u * (unsigned)file->dimensions;

    uint32_t count = file->sizes[0];
    if (count == 0) return mlp_error_set(error, "%s: holds no %s (count 0)", path, file->kind);
    if (count > (uint32_t)INT_MAX)
        return mlp_error_set(error, "%s: header claims %u %s, more than %d", path, count, file->kind,
                         INT_MAX);
    /* bytes per item: rows * cols for images, 1 for labels */
    uint64_t item_bytes = 1;
    if (images) {
        if (file->sizes[1] == 0 || file->sizes[2] == 0)
            return mlp_error_set(error, "%s: empty images (%u x %u)", path, file->sizes[1],
                             file->sizes[2]);
        item_bytes = (uint64_t)file->sizes[1] * file->sizes[2];
    }
    /* count * item_bytes, checked against the cap without overflowing */
    if (item_bytes > IDX_MAX_PAYLOAD || count > IDX_MAX_PAYLOAD / item_bytes)
        return mlp_error_set(error,
                         "%s: header claims %u %s of %llu bytes, more than the %llu-byte limit",
                         path, count, file->kind, (unsigned long long)item_bytes,
                         (unsigned long long)IDX_MAX_PAYLOAD);
    file->payload_bytes = count * item_bytes;

    /* A raw file's size is known: compare it with the header's claim before allocating. */
    file->direct = gzdirect(file->gz);
    if (file->direct) {
        long long expected = (long long)(file->header_bytes + file->payload_bytes);
        if (file->file_size < expected)
            return mlp_error_set(error,
                             "%s: truncated: %lld payload bytes, the header claims %llu (%u %s)",
                             path, file->file_size - (long long)file->header_bytes,
                             (unsigned long long)file->payload_bytes, count, file->kind);
        if (file->file_size > expected)
            return mlp_error_set(error, "%s: %lld trailing bytes after the %llu-byte payload", path,
                             file->file_size - expected, (unsigned long long)file->payload_bytes);
    }
    return 0;
}

static void idx_close(idx_file *file) {
    if (file->gz) gzclose(file->gz);
    file->gz = NULL;
}

/* Explains a gzread failure: a cut-off gzip stream is a truncated file, anything else is
 * corrupt data or an I/O error. */
static int idx_read_failed(const idx_file *file, size_t have, mlp_error *error) {
    int code = 0;
    const char *message = gzerror(file->gz, &code);
    if (code == Z_OK || code == Z_BUF_ERROR)
        return mlp_error_set(error, "%s: truncated: %zu of %llu payload bytes", file->path, have,
                         (unsigned long long)file->payload_bytes);
    return mlp_error_set(error, "%s: cannot read after %zu payload bytes (%s)", file->path, have,
                     message);
}

/* Reads the payload into a malloc'ed buffer, then checks that nothing trails it. */
static int idx_read_payload(idx_file *file, uint8_t **payload, mlp_error *error) {
    size_t want = (size_t)file->payload_bytes;
    size_t capacity = file->direct || want < IDX_FIRST_CHUNK ? want : IDX_FIRST_CHUNK;
    uint8_t *buffer = malloc(capacity);
    if (!buffer)
        return mlp_error_set(error, "%s: out of memory for %zu bytes", file->path, capacity);
    size_t have = 0;
    while (have < want) {
        if (have == capacity) { /* double, but never past what the header claims */
            size_t grown = capacity > want / 2 ? want : capacity * 2;
            uint8_t *larger = realloc(buffer, grown);
            if (!larger) {
                free(buffer);
                return mlp_error_set(error, "%s: out of memory for %zu bytes", file->path, grown);
            }
            buffer = larger;
            capacity = grown;
        }
        size_t chunk = capacity - have < IDX_MAX_READ ? capacity - have : IDX_MAX_READ;
        int got = gzread(file->gz, buffer + have, (unsigned)chunk);
        if (got <= 0) {
            free(buffer);
            return idx_read_failed(file, have, error);
        }
        have += (size_t)got;
    }
    unsigned char extra[64];
    int trailing = gzread(file->gz, extra, sizeof extra);
    if (trailing != 0) {
        free(buffer);
        if (trailing < 0) return idx_read_failed(file, have, error);
        return mlp_error_set(error, "%s: trailing bytes after the %zu-byte payload", file->path, want);
    }
    *payload = buffer;
    return 0;
}

int mlp_dataset_load_idx(const char *images_path, const char *labels_path, mlp_dataset *out,
                     mlp_error *error) {
    memset(out, 0, sizeof *out);
    idx_file images, labels;
    memset(&labels, 0, sizeof labels);
    uint8_t *pixels = NULL, *label_bytes = NULL;
    int status = -1;

    /* Both headers first: a count mismatch is reported before any payload is read. */
    if (idx_open(&images, images_path, 1, error)) goto done;
    if (idx_open(&labels, labels_path, 0, error)) goto done;
    if (images.sizes[0] != labels.sizes[0]) {
        mlp_error_set(error, "%s holds %u images but %s holds %u labels", images_path,
                  images.sizes[0], labels_path, labels.sizes[0]);
        goto done;
    }
    if (idx_read_payload(&images, &pixels, error)) goto done;
    if (idx_read_payload(&labels, &label_bytes, error)) goto done;

    int count = (int)labels.sizes[0];
    for (int i = 0; i < count; i++) {
        if (label_bytes[i] >= MLP_CLASSES) {
            mlp_error_set(error, "%s: label %u at index %d is outside 0..%d", labels_path,
                      label_bytes[i], i, MLP_CLASSES - 1);
            goto done;
        }
    }
    out->count = count;
    out->rows = (int)images.sizes[1];
    out->cols = (int)images.sizes[2];
    out->features = out->rows * out->cols;
    out->pixels = pixels;
    out->labels = label_bytes;
    pixels = label_bytes = NULL;
    status = 0;
done:
    idx_close(&images);
    idx_close(&labels);
    free(pixels);
    free(label_bytes);
    return status;
}
