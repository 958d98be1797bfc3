/* The CSV reader for the Kaggle digit-recognizer layout:
 *   label,pixel0,pixel1,...,pixelN-1      (a header row, any N >= 1)
 *   1,0,0,...,0                           (one image per line: label 0..9, pixels 0..255)
 * The file (plain or .gz, through zlib's gzread) is streamed through a buffer one line at a
 * time, lines are parsed by hand (no sscanf per field), and the dataset grows geometrically.
 * Accepts \r\n endings, a missing final newline, blank lines and a UTF-8 byte-order mark. */
#define _POSIX_C_SOURCE 200809L
#include "mlp/data.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CSV_MAX_LINE ((size_t)1 << 20) /* longer lines are rejected: 1 MiB */
#define CSV_CHUNK ((size_t)1 << 18)    /* bytes per gzread */
#define CSV_FIRST_ROWS 1024            /* rows allocated before the first doubling */
#define CSV_MAX_PIXEL_BYTES ((size_t)INT_MAX)

typedef struct csv_reader {
    const char *path;
    gzFile gz;
    char *buffer;       /* CSV_MAX_LINE + CSV_CHUNK + 1 bytes */
    size_t start, end;  /* the unconsumed bytes are buffer[start, end) */
    int at_end_of_file;
    int line_number;    /* 1-based number of the line last returned */
} csv_reader;

/* Finds the next line, strips its \n or \r\n, NUL-terminates it in place.
 * Returns 1 with a line, 0 at the end of the file, -1 on error. */
static int csv_next_line(csv_reader *reader, char **line, size_t *length, mlp_error *error) {
    char *newline;
    for (;;) {
        size_t pending = reader->end - reader->start;
        newline = memchr(reader->buffer + reader->start, '\n', pending);
        if (newline) break;
        if (pending > CSV_MAX_LINE)
            return mlp_error_set(error, "%s: line %d is longer than %zu bytes", reader->path,
                             reader->line_number + 1, CSV_MAX_LINE);
        if (reader->at_end_of_file) {
            if (pending == 0) return 0;
            newline = reader->buffer + reader->end; /* a last line without a newline */
            break;
        }
        /* keep the partial line at the front, then fill the free space behind it */
        memmove(reader->buffer, reader->buffer + reader->start, pending);
        reader->start = 0;
        reader->end = pending;
        int got = gzread(reader->gz, reader->buffer + reader->end, (unsigned)CSV_CHUNK);
        if (got < 0) {
            int code = 0;
            const char *message = gzerror(reader->gz, &code);
            return mlp_error_set(error, "%s: cannot read after line %d (%s)", reader->path,
                             reader->line_number, message);
        }
        if (got == 0) reader->at_end_of_file = 1;
        reader->end += (size_t)got;
    }
    char *begin = reader->buffer + reader->start;
    size_t size = (size_t)(newline - begin);
    reader->start += size + (newline < reader->buffer + reader->end ? 1 : 0);
    reader->line_number++;
    if (size > CSV_MAX_LINE)
        return mlp_error_set(error, "%s: line %d is longer than %zu bytes", reader->path,
                         reader->line_number, CSV_MAX_LINE);
    if (size > 0 && begin[size - 1] == '\r') size--;
    begin[size] = '\0';
    *line = begin;
    *length = size;
    return 1;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Parses one integer field at *cursor: optional blanks, optional sign, digits, optional
 * blanks, then ',' or the end of the line. Leaves *cursor on that ',' or NUL. Values beyond
 * a million saturate (they are out of range anyway). Returns 0, or -1 when not a number. */
static int csv_parse_integer(const char **cursor, long *value) {
    const char *p = *cursor;
    while (is_blank(*p)) p++;
    int negative = 0;
    if (*p == '-' || *p == '+') negative = *p++ == '-';
    if (*p < '0' || *p > '9') return -1;
    long magnitude = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        if (magnitude < 1000000) magnitude = magnitude * 10 + (*p - '0');
    while (is_blank(*p)) p++;
    if (*p != ',' && *p != '\0') return -1;
    *cursor = p;
    *value = negative ? -magnitude : magnitude;
    return 0;
}

/* Length of the field starting at field (up to the next ',' or the end), for messages. */
static int field_length(const char *field) {
    size_t n = strcspn(field, ",");
    return n > 40 ? 40 : (int)n;
}

static int count_columns(const char *line) {
    int columns = 1;
    for (const char *p = line; (p = strchr(p, ',')) != NULL; p++) columns++;
    return columns;
}

/* The header names the columns; it must not be data, and its first column must be the label
 * (Kaggle's test.csv has only pixel columns and cannot be trained on). */
static int csv_check_header(const csv_reader *reader, const char *header, int columns,
                            mlp_error *error) {
    const char *cursor = header;
    long value;
    if (csv_parse_integer(&cursor, &value) == 0)
        return mlp_error_set(error, "%s: line 1 looks like data, expected a header row (label,pixel0,...)",
                         reader->path);
    const char *name = header;
    while (is_blank(*name) || *name == '"') name++;
    if (strncmp(name, "pixel", 5) == 0)
        return mlp_error_set(error, "%s: line 1: the first column is '%.*s', expected the label",
                         reader->path, field_length(header), header);
    if (columns < 2)
        return mlp_error_set(error, "%s: line 1: the header has no pixel columns", reader->path);
    return 0;
}

/* Parses `label,pixel...` into label and pixels[0..columns-2]. */
static int csv_parse_row(const csv_reader *reader, const char *line, int columns,
                         uint8_t *pixels, uint8_t *label, mlp_error *error) {
    const char *cursor = line;
    for (int column = 0;; column++) {
        if (column == columns)
            return mlp_error_set(error, "%s: line %d, column %d: the row has %d columns, the header %d",
                             reader->path, reader->line_number, column + 1,
                             column + count_columns(cursor), columns);
        const char *field = cursor;
        long value;
        if (csv_parse_integer(&cursor, &value) != 0)
            return mlp_error_set(error, "%s: line %d, column %d: '%.*s' is not a number",
                             reader->path, reader->line_number, column + 1,
                             field_length(field), field);
        if (column == 0) {
            if (value < 0 || value >= MLP_CLASSES)
                return mlp_error_set(error, "%s: line %d, column 1: label '%.*s' is outside 0..%d",
                                 reader->path, reader->line_number, field_length(field), field,
                                 MLP_CLASSES - 1);
            *label = (uint8_t)value;
        } else {
            if (value < 0 || value > 255)
                return mlp_error_set(error, "%s: line %d, column %d: pixel '%.*s' is outside 0..255",
                                 reader->path, reader->line_number, column + 1,
                                 field_length(field), field);
            pixels[column - 1] = (uint8_t)value;
        }
        if (*cursor == '\0') {
            if (column + 1 != columns)
                return mlp_error_set(error,
                                 "%s: line %d, column %d: the row has %d columns, the header %d",
                                 reader->path, reader->line_number, column + 2, column + 1,
                                 columns);
            return 0;
        }
        cursor++; /* past the ',' */
    }
}

/* Makes room for one more row, doubling the capacity when full (at most INT_MAX rows and
 * CSV_MAX_PIXEL_BYTES of pixels). */
static int csv_reserve_row(const csv_reader *reader, mlp_dataset *data, int *capacity,
                           mlp_error *error) {
    if (data->count < *capacity) return 0;
    size_t max_rows = CSV_MAX_PIXEL_BYTES / (size_t)data->features;
    if (max_rows > (size_t)INT_MAX) max_rows = (size_t)INT_MAX;
    if ((size_t)data->count >= max_rows)
        return mlp_error_set(error, "%s: line %d: more than %zu rows of %d pixels", reader->path,
                         reader->line_number, max_rows, data->features);
    size_t rows = *capacity ? (size_t)*capacity * 2 : CSV_FIRST_ROWS;
    if (rows > max_rows) rows = max_rows;
    uint8_t *pixels = realloc(data->pixels, rows * (size_t)data->features);
    if (pixels) data->pixels = pixels;
    uint8_t *labels = pixels ? realloc(data->labels, rows) : NULL;
    if (labels) data->labels = labels;
    if (!pixels || !labels)
        return mlp_error_set(error, "%s: out of memory at line %d", reader->path,
                         reader->line_number);
    *capacity = (int)rows;
    return 0;
}

/* Reads the header and every row into data (which the caller frees on failure). */
static int csv_read_rows(csv_reader *reader, mlp_dataset *data, mlp_error *error) {
    char *line;
    size_t length;
    int got;
    do { /* the header: the first line that is not blank */
        got = csv_next_line(reader, &line, &length, error);
        if (got < 0) return -1;
        if (got == 0) return mlp_error_set(error, "%s: empty file (expected a header row)", reader->path);
        if (reader->line_number == 1 && length >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3; /* UTF-8 byte-order mark */
            length -= 3;
        }
    } while (length == 0);
    int columns = count_columns(line);
    if (csv_check_header(reader, line, columns, error)) return -1;
    data->features = columns - 1;
    data->rows = data->features == 28 * 28 ? 28 : 1;
    data->cols = data->features / data->rows;

    int capacity = 0;
    while ((got = csv_next_line(reader, &line, &length, error)) > 0) {
        if (length == 0) continue; /* blank line */
        if (csv_reserve_row(reader, data, &capacity, error)) return -1;
        uint8_t *pixels = data->pixels + (size_t)data->count * (size_t)data->features;
        if (csv_parse_row(reader, line, columns, pixels, &data->labels[data->count], error))
            return -1;
        data->count++;
    }
    if (got < 0) return -1;
    if (data->count == 0) return mlp_error_set(error, "%s: no data rows after the header", reader->path);
    /* give back the unused capacity (up to half of it) */
    uint8_t *pixels = realloc(data->pixels, (size_t)data->count * (size_t)data->features);
    if (pixels) data->pixels = pixels;
    uint8_t *labels = realloc(data->labels, (size_t)data->count);
    if (labels) data->labels = labels;
    return 0;
}

int mlp_dataset_load_csv(const char *path, mlp_dataset *out, mlp_error *error) {
    memset(out, 0, sizeof *out);
    csv_reader reader;
    memset(&reader, 0, sizeof reader);
    reader.path = path;
    reader.gz = gzopen(path, "rb");
    if (!reader.gz) return mlp_error_set(error, "%s: cannot open (%s)", path, strerror(errno));
    gzbuffer(reader.gz, (unsigned)CSV_CHUNK);
    reader.buffer = malloc(CSV_MAX_LINE + CSV_CHUNK + 1);
    if (!reader.buffer) {
        gzclose(reader.gz);
        return mlp_error_set(error, "%s: out of memory for the line buffer", path);
    }
    mlp_dataset data;
    memset(&data, 0, sizeof data);
    int status = csv_read_rows(&reader, &data, error);
    free(reader.buffer);
    gzclose(reader.gz);
    if (status != 0) {
        mlp_dataset_free(&data);
        return -1;
    }
    *out = data;
    return 0;
}
