/* NumPy .npz: a zip archive (libzip) of .npy files, one per array, as numpy.savez writes them.
 * An .npy file (numpy/lib/format.py, versions 1.0, 2.0 and 3.0):
 *   6 bytes  "\x93NUMPY"
 *   2 bytes  major, minor version
 *   u16 LE   header length H (version 1.0; u32 LE in 2.0 and 3.0)
 *   H bytes  a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (784, 128), }
 *            padded with spaces and ended by '\n' so that the data starts 64-byte aligned
 *   the data, C order (row-major) unless fortran_order.
 * The header is parsed by a small strict parser of exactly that literal (three keys, each once). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "interop_layers.h"
#include "core/file_util.h"

/* Two arrays per layer; a larger archive is not one of ours. */
#define NPZ_MAX_MEMBERS (2 * MLP_MAX_LAYERS)
/* Deflate expands at most 1032:1; a member that claims more is a zip bomb or a lie. */
#define NPZ_MAX_DEFLATE_RATIO 1032
/* A fixed timestamp (2000-01-01 00:00 UTC) so the same model always gives the same bytes. */
#define NPZ_MTIME 946684800

/* ---- writing ---- */

/* One .npy file: a version 1.0 header for a float32 C-order array of `rank` dimensions. */
static uint8_t *npy_encode(const float *values, int rows, int cols, int rank, size_t *size) {
    char dict[128];
    int length = rank == 2 ? snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
                           : snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", rows);
    size_t header = ((size_t)10 + (size_t)length + 1 + 63) & ~(size_t)63; /* magic..dict, '\n' */
    size_t count = (size_t)rows * (rank == 2 ? (size_t)cols : 1);
    uint8_t *bytes = malloc(header + 4 * count);
    if (!bytes) return NULL;
    memcpy(bytes, "\x93NUMPY\x01\x00", 8);
    bytes[8] = (uint8_t)((header - 10) & 0xff);
    bytes[9] = (uint8_t)((header - 10) >> 8);
    memcpy(bytes + 10, dict, (size_t)length);
    memset(bytes + 10 + length, ' ', header - 10 - (size_t)length - 1);
    bytes[header - 1] = '\n';
    uint8_t *p = bytes + header;
    for (size_t i = 0; i < count; i++, p += 4) put_u32_le(p, interop_float_bits(values[i]));
    *size = header + 4 * count;
    return bytes;
}

static int add_member(zip_t *archive, const char *name, uint8_t *npy, size_t size, mlp_error *error) {
    zip_source_t *source = zip_source_buffer(archive, npy, size, 1); /* the archive frees npy */
    if (!source) {
        free(npy);
        return mlp_error_set(error, "npz: cannot add %s: %s", name, zip_strerror(archive));
    }
    zip_int64_t index = zip_file_add(archive, name, source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
        zip_source_free(source);
        return mlp_error_set(error, "npz: cannot add %s: %s", name, zip_strerror(archive));
    }
    if (zip_set_file_compression(archive, (zip_uint64_t)index, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(archive, (zip_uint64_t)index, NPZ_MTIME, 0) != 0)
        return mlp_error_set(error, "npz: %s: %s", name, zip_strerror(archive));
    return 0;
}

int mlp_interop_npz_serialize(const mlp_model *model, uint8_t **bytes, size_t *size, mlp_error *error) {
    zip_error_t zip_error;
    zip_error_init(&zip_error);
    zip_source_t *memory = zip_source_buffer_create(NULL, 0, 0, &zip_error);
    zip_t *archive = memory ? zip_open_from_source(memory, ZIP_TRUNCATE, &zip_error) : NULL;
    if (!archive) {
        mlp_error_set(error, "npz: cannot create an archive in memory: %s", zip_error_strerror(&zip_error));
        if (memory) zip_source_free(memory);
        zip_error_fini(&zip_error);
        return -1;
    }
    zip_error_fini(&zip_error);
    zip_source_keep(memory); /* read back after zip_close */
    for (int l = 0; l < model->layer_count; l++) {
        int in = model->sizes[l], out = model->sizes[l + 1];
        char name[32];
        size_t npy_size;
        for (int which = 0; which < 2; which++) { /* W{l} [in, out] as the model holds it, b{l} [out] */
            uint8_t *npy = which ? npy_encode(mlp_model_biases(model, l), out, 0, 1, &npy_size)
                                 : npy_encode(mlp_model_weights(model, l), in, out, 2, &npy_size);
            snprintf(name, sizeof name, which ? "b%d.npy" : "W%d.npy", l);
            if (!npy) {
                mlp_error_set(error, "npz: out of memory encoding %s", name);
                goto fail;
            }
            if (add_member(archive, name, npy, npy_size, error) != 0) goto fail;
        }
    }
    if (zip_close(archive) != 0) {
        mlp_error_set(error, "npz: cannot finish the archive: %s", zip_strerror(archive));
        zip_discard(archive);
        zip_source_free(memory);
        return -1;
    }
    zip_stat_t stat;
    if (zip_source_open(memory) != 0 || zip_source_stat(memory, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE)) {
        zip_source_free(memory);
        return mlp_error_set(error, "npz: cannot read the archive back from memory");
    }
    uint8_t *buffer = malloc(stat.size ? stat.size : 1);
    zip_int64_t got = buffer ? zip_source_read(memory, buffer, stat.size) : -1;
    zip_source_close(memory);
    zip_source_free(memory);
    if (got < 0 || (zip_uint64_t)got != stat.size) {
        free(buffer);
        return mlp_error_set(error, "npz: cannot read the archive back from memory (%llu bytes)",
                         (unsigned long long)stat.size);
    }
    *bytes = buffer;
    *size = (size_t)stat.size;
    return 0;
fail:
    zip_discard(archive);
    zip_source_free(memory);
    return -1;
}

/* ---- reading ---- */

typedef struct npy_cursor {
    const char *p, *end;
} npy_cursor;

static void skip_space(npy_cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int accept(npy_cursor *c, char ch) {
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes, into text (at most size-1 characters). */
static int parse_string(npy_cursor *c, char *text, size_t size) {
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || n + 1 >= size) return -1;
        text[n++] = *c->p++;
    }
    if (c->p >= c->end) return -1;
    c->p++;
    text[n] = '\0';
    return 0;
}

static int parse_word(npy_cursor *c, const char *word) {
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return -1;
    c->p += n;
    return 0;
}

/* (d0, d1, ...) with an optional trailing comma; "()" is rank 0. */
static int parse_shape(npy_cursor *c, interop_tensor *t) {
    if (!accept(c, '(')) return -1;
    t->rank = 0;
    for (;;) {
        if (accept(c, ')')) return 0;
        if (t->rank >= INTEROP_MAX_RANK) return -1;
        skip_space(c);
        uint64_t value = 0;
        const char *start = c->p;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            if (value > ((uint64_t)1 << 31)) return -1;
            value = value * 10 + (uint64_t)(*c->p++ - '0');
        }
        if (c->p == start || value > ((uint64_t)1 << 31)) return -1;
        t->shape[t->rank++] = value;
        if (accept(c, ')')) return 0;
        if (!accept(c, ',')) return -1;
    }
}

/* The header dict: each of descr, fortran_order and shape exactly once, in any order. */
static int parse_header(const char *file, const char *member, const char *text, size_t length,
                        interop_tensor *t, mlp_error *error) {
    npy_cursor c = {text, text + length};
    int have_descr = 0, have_order = 0, have_shape = 0;
    char key[32], descr[32];
    if (!accept(&c, '{')) goto malformed;
    while (!accept(&c, '}')) {
        if (parse_string(&c, key, sizeof key) != 0 || !accept(&c, ':')) goto malformed;
        if (strcmp(key, "descr") == 0 && !have_descr++) {
            if (parse_string(&c, descr, sizeof descr) != 0) goto malformed;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order++) {
            if (parse_word(&c, "True") == 0) t->column_major = 1;
            else if (parse_word(&c, "False") == 0) t->column_major = 0;
            else goto malformed;
        } else if (strcmp(key, "shape") == 0 && !have_shape++) {
            if (parse_shape(&c, t) != 0) goto malformed;
        } else {
            goto malformed;
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}')) goto malformed;
            break;
        }
    }
    skip_space(&c);
    if (c.p != c.end || !have_descr || !have_order || !have_shape) goto malformed;
    if (strcmp(descr, "<f4") != 0)
        return mlp_error_set(error, "%s: %s holds dtype '%.20s' (only little-endian float32 '<f4' is read: "
                         "use .astype(np.float32))", file, member, descr);
    return 0;
malformed:
    return mlp_error_set(error, "%s: %s: the .npy header is not {'descr': ..., 'fortran_order': ..., 'shape': (...)}",
                     file, member);
}

static int parse_npy(const char *file, const char *member, const uint8_t *bytes, size_t size,
                     interop_tensor *t, mlp_error *error) {
    if (size < 10 || memcmp(bytes, "\x93NUMPY", 6) != 0)
        return mlp_error_set(error, "%s: %s is not a .npy file (no \\x93NUMPY magic)", file, member);
    int major = bytes[6], minor = bytes[7];
    size_t preamble = major == 1 ? 10 : 12;
    if ((major < 1 || major > 3) || minor != 0 || size < preamble)
        return mlp_error_set(error, "%s: %s: .npy version %d.%d (1.0, 2.0 or 3.0 are read)", file, member, major, minor);
    uint64_t header = major == 1 ? (uint64_t)bytes[8] | (uint64_t)bytes[9] << 8 : get_u32_le(bytes + 8);
    if (header > size - preamble)
        return mlp_error_set(error, "%s: %s: .npy header of %llu bytes in a %zu-byte file", file, member,
                         (unsigned long long)header, size);
    if (parse_header(file, member, (const char *)bytes + preamble, (size_t)header, t, error) != 0) return -1;
    uint64_t elements = 1;
    for (int d = 0; d < t->rank; d++) {
        elements *= t->shape[d]; /* each <= 2^31, clamped: cannot wrap */
        if (elements > ((uint64_t)1 << 32)) elements = ((uint64_t)1 << 32) + 1;
    }
    uint64_t data = size - preamble - header;
    if (data != elements * 4)
        return mlp_error_set(error, "%s: %s: %llu data bytes for its shape's %llu float32 values", file, member,
                         (unsigned long long)data, (unsigned long long)elements);
    t->data = bytes + preamble + header;
    t->present = 1;
    return 0;
}

/* "W{l}.npy" / "b{l}.npy": the layer and which (0 weight, 1 bias), or -1. */
static int parse_member_name(const char *name, int *which) {
    size_t length = strlen(name);
    if (length < 6 || strcmp(name + length - 4, ".npy") != 0) return -1;
    if (name[0] == 'W') *which = 0;
    else if (name[0] == 'b') *which = 1;
    else return -1;
    return mlp_interop_parse_layer_index(name + 1, length - 5);
}

/* Reads one member whole, checking the sizes the archive claims before allocating. */
static int read_member(const char *file, zip_t *archive, zip_uint64_t index, const char *name,
                       uint64_t *total, uint8_t **out, size_t *out_size, mlp_error *error) {
    zip_stat_t stat;
    if (zip_stat_index(archive, index, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE) ||
        !(stat.valid & ZIP_STAT_COMP_SIZE))
        return mlp_error_set(error, "%s: %s: %s", file, name, zip_strerror(archive));
    if (stat.size > stat.comp_size * NPZ_MAX_DEFLATE_RATIO + 1024)
        return mlp_error_set(error, "%s: %s claims %llu bytes from %llu compressed (not a real archive)", file,
                         name, (unsigned long long)stat.size, (unsigned long long)stat.comp_size);
    *total += stat.size;
    if (*total > MLP_MAX_PARAMETERS * 4 + ((uint64_t)1 << 20))
        return mlp_error_set(error, "%s: more than %zu parameters", file, MLP_MAX_PARAMETERS);
    uint8_t *buffer = malloc(stat.size ? stat.size : 1);
    if (!buffer) return mlp_error_set(error, "%s: %s: out of memory (%llu bytes)", file, name, (unsigned long long)stat.size);
    zip_file_t *member = zip_fopen_index(archive, index, 0);
    if (!member) {
        free(buffer);
        return mlp_error_set(error, "%s: %s: %s", file, name, zip_strerror(archive));
    }
    zip_uint64_t done = 0;
    uint8_t extra;
    while (done < stat.size) {
        zip_int64_t got = zip_fread(member, buffer + done, stat.size - done);
        if (got <= 0) break;
        done += (zip_uint64_t)got;
    }
    /* The end of the member: libzip checks its CRC-32 here. */
    zip_int64_t after = done == stat.size ? zip_fread(member, &extra, 1) : -1;
    if (done != stat.size || after != 0) {
        mlp_error_set(error, "%s: %s: %s", file, name,
                  after < 0 && done == stat.size ? zip_file_strerror(member)
                  : after > 0 ? "more data than the archive says" : "data cut short or damaged");
        zip_fclose(member);
        free(buffer);
        return -1;
    }
    zip_fclose(member);
    *out = buffer;
    *out_size = (size_t)stat.size;
    return 0;
}

int mlp_interop_npz_deserialize(mlp_model *model, const uint8_t *bytes, size_t size, const char *name,
                            const mlp_interop_import_options *options, mlp_error *error) {
    memset(model, 0, sizeof *model);
    if (size < 4 || memcmp(bytes, "PK", 2) != 0)
        return mlp_error_set(error, "%s: not a zip archive (an .npz file is one)", name);
    zip_error_t zip_error;
    zip_error_init(&zip_error);
    zip_source_t *source = zip_source_buffer_create(bytes, size, 0, &zip_error);
    zip_t *archive = source ? zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &zip_error) : NULL;
    if (!archive) {
        mlp_error_set(error, "%s: not a readable zip archive: %s", name, zip_error_strerror(&zip_error));
        if (source) zip_source_free(source);
        zip_error_fini(&zip_error);
        return -1;
    }
    zip_error_fini(&zip_error);
    interop_layer_set *set = calloc(1, sizeof *set);
    uint8_t *buffers[NPZ_MAX_MEMBERS] = {0};
    int buffer_count = 0, status = -1;
    uint64_t total = 0;
    if (!set) {
        mlp_error_set(error, "%s: out of memory", name);
        goto done;
    }
    set->file = name;
    set->weights_out_in = 0;
    set->weight_name = "W%d";
    set->bias_name = "b%d";
    zip_int64_t members = zip_get_num_entries(archive, 0);
    if (members > NPZ_MAX_MEMBERS) {
        mlp_error_set(error, "%s: %lld arrays (an MLP of at most %d layers has at most %d)", name,
                  (long long)members, MLP_MAX_LAYERS, NPZ_MAX_MEMBERS);
        goto done;
    }
    for (zip_int64_t i = 0; i < members; i++) {
        const char *member = zip_get_name(archive, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        int which, layer = member ? parse_member_name(member, &which) : -1;
        if (layer < 0) {
            mlp_error_set(error, "%s: unexpected member '%.60s' (an MLP has W0.npy, b0.npy, ... W%d.npy, b%d.npy only)",
                      name, member ? member : "?", MLP_MAX_LAYERS - 1, MLP_MAX_LAYERS - 1);
            goto done;
        }
        interop_tensor *tensor = which ? &set->bias[layer] : &set->weight[layer];
        snprintf(tensor->name, sizeof tensor->name, "%c%d", which ? 'b' : 'W', layer);
        if (tensor->present) {
            mlp_error_set(error, "%s: %s appears twice", name, member);
            goto done;
        }
        size_t member_size = 0;
        if (read_member(name, archive, (zip_uint64_t)i, member, &total, &buffers[buffer_count], &member_size,
                        error) != 0)
            goto done;
        const uint8_t *npy = buffers[buffer_count++];
        if (parse_npy(name, member, npy, member_size, tensor, error) != 0) goto done;
        if (layer + 1 > set->layer_count) set->layer_count = layer + 1;
    }
    mlp_activation activation;
    mlp_output output;
    if (mlp_interop_resolve_kind(name, options, NULL, NULL, set->layer_count - 1, &activation, &output, error) != 0)
        goto done;
    status = mlp_interop_layers_build(set, NULL, activation, output, model, error);
done:
    for (int i = 0; i < buffer_count; i++) free(buffers[i]);
    free(set);
    zip_discard(archive); /* frees the source, not the caller's bytes */
    return status;
}
