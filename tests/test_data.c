/* The data layer: IDX (raw and .gz) and CSV files written here round-trip exactly; every
 * malformed file fails with its own one-line message naming the file and the problem; the
 * folder lookup prefers raw files; the seeded split is a deterministic disjoint cover. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mlp/data.h"
#include "test_util.h"

#define TEST_COUNT 37
#define TEST_ROWS 5
#define TEST_COLS 7
#define TEST_FEATURES (TEST_ROWS * TEST_COLS)

static char temp_dir[256];

/* A deterministic, varied synthetic set: every byte value of pixels appears, labels cycle. */
static uint8_t test_pixel(int image, int feature) { return (uint8_t)(image * 31 + feature * 7); }
static uint8_t test_label(int image) { return (uint8_t)((image * 3) % MLP_CLASSES); }

static const char *temp_path(const char *name) {
    static char paths[8][512];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s/%s", temp_dir, name);
    return path;
}

static void write_file(const char *path, const uint8_t *bytes, size_t size, int gzip) {
    if (gzip) {
        gzFile gz = gzopen(path, "wb");
        if (!gz || gzwrite(gz, bytes, (unsigned)size) != (int)size) {
            fprintf(stderr, "cannot write %s\n", path);
            exit(1);
        }
        gzclose(gz);
    } else {
        FILE *file = fopen(path, "wb");
        if (!file || fwrite(bytes, 1, size, file) != size) {
            fprintf(stderr, "cannot write %s\n", path);
            exit(1);
        }
        fclose(file);
    }
}

static void write_text(const char *path, const char *text) {
    write_file(path, (const uint8_t *)text, strlen(text), 0);
}

static void put_u32_be(uint8_t *at, uint32_t value) {
    at[0] = (uint8_t)(value >> 24);
    at[1] = (uint8_t)(value >> 16);
    at[2] = (uint8_t)(value >> 8);
    at[3] = (uint8_t)value;
}

/* An IDX images file: magic, count, rows, cols, then `payload` bytes of the synthetic set
 * (payload may differ from count*rows*cols to make truncated or trailing files). */
static void write_idx_images(const char *path, uint32_t magic, uint32_t count, size_t payload,
                             int gzip) {
    uint8_t *bytes = calloc(16 + payload, 1);
    put_u32_be(bytes, magic);
    put_u32_be(bytes + 4, count);
    put_u32_be(bytes + 8, TEST_ROWS);
    put_u32_be(bytes + 12, TEST_COLS);
    for (size_t i = 0; i < payload; i++)
        bytes[16 + i] = test_pixel((int)(i / TEST_FEATURES), (int)(i % TEST_FEATURES));
    write_file(path, bytes, 16 + payload, gzip);
    free(bytes);
}

/* An IDX labels file: magic, count, then `payload` labels (bad_index gets bad_label). */
static void write_idx_labels(const char *path, uint32_t magic, uint32_t count, size_t payload,
                             int bad_index, uint8_t bad_label, int gzip) {
    uint8_t *bytes = calloc(8 + payload, 1);
    put_u32_be(bytes, magic);
    put_u32_be(bytes + 4, count);
    for (size_t i = 0; i < payload; i++)
        bytes[8 + i] = (int)i == bad_index ? bad_label : test_label((int)i);
    write_file(path, bytes, 8 + payload, gzip);
    free(bytes);
}

static void check_synthetic(const mlp_dataset *data, const char *what) {
    CHECK(data->count == TEST_COUNT, "%s: count %d", what, data->count);
    CHECK(data->rows == TEST_ROWS && data->cols == TEST_COLS, "%s: %dx%d", what, data->rows,
          data->cols);
    CHECK(data->features == TEST_FEATURES, "%s: features %d", what, data->features);
    if (data->count != TEST_COUNT || data->features != TEST_FEATURES) return;
    int pixel_errors = 0, label_errors = 0;
    for (int i = 0; i < TEST_COUNT; i++) {
        label_errors += data->labels[i] != test_label(i);
        for (int f = 0; f < TEST_FEATURES; f++)
            pixel_errors += data->pixels[i * TEST_FEATURES + f] != test_pixel(i, f);
    }
    CHECK(pixel_errors == 0, "%s: %d pixels differ", what, pixel_errors);
    CHECK(label_errors == 0, "%s: %d labels differ", what, label_errors);
}

/* A failed load: returns -1, one line, naming the file and containing `problem`. */
static void check_error(int status, const mlp_error *error, const char *file, const char *problem,
                        const char *what) {
    CHECK(status == -1, "%s: expected failure, got %d", what, status);
    if (status != -1) return;
    printf("  %-28s -> %s\n", what, error->message);
    CHECK(strstr(error->message, file) != NULL, "%s: message does not name %s: %s", what, file,
          error->message);
    CHECK(strstr(error->message, problem) != NULL, "%s: message lacks '%s': %s", what, problem,
          error->message);
    CHECK(strchr(error->message, '\n') == NULL, "%s: message is not one line", what);
}

static void test_idx_round_trip(void) {
    const size_t payload = (size_t)TEST_COUNT * TEST_FEATURES;
    for (int gzip = 0; gzip <= 1; gzip++) {
        const char *images = temp_path(gzip ? "rt-images.gz" : "rt-images");
        const char *labels = temp_path(gzip ? "rt-labels.gz" : "rt-labels");
        write_idx_images(images, 2051, TEST_COUNT, payload, gzip);
        write_idx_labels(labels, 2049, TEST_COUNT, TEST_COUNT, -1, 0, gzip);
        mlp_dataset data;
        mlp_error error = {{0}};
        int status = mlp_dataset_load_idx(images, labels, &data, &error);
        CHECK(status == 0, "load %s: %s", images, error.message);
        if (status == 0) check_synthetic(&data, gzip ? "idx .gz" : "idx raw");
        mlp_dataset_free(&data);
        CHECK(data.pixels == NULL && data.count == 0, "dataset_free clears the struct");
    }
}

static void test_idx_errors(void) {
    const size_t payload = (size_t)TEST_COUNT * TEST_FEATURES;
    const char *labels = temp_path("good-labels");
    const char *images = temp_path("good-images");
    write_idx_labels(labels, 2049, TEST_COUNT, TEST_COUNT, -1, 0, 0);
    write_idx_images(images, 2051, TEST_COUNT, payload, 0);
    mlp_dataset data;
    mlp_error error;
    const char *bad = temp_path("bad-idx");
    const char *bad_gz = temp_path("bad-idx.gz");

    write_idx_images(bad, 0x00000903, TEST_COUNT, payload, 0);
    check_error(mlp_dataset_load_idx(bad, labels, &data, &error), &error, bad, "bad magic",
                "bad magic");
    write_idx_images(bad, 0x00000802, TEST_COUNT, payload, 0);
    check_error(mlp_dataset_load_idx(bad, labels, &data, &error), &error, bad,
                "2 dimensions (magic 0x00000802), expected 3", "images with 2 dimensions");
    write_idx_images(bad, 2051, TEST_COUNT, payload, 0);
    check_error(mlp_dataset_load_idx(images, bad, &data, &error), &error, bad,
                "3 dimensions (magic 0x00000803), expected 1", "images file as labels");

    write_idx_labels(bad, 2049, TEST_COUNT - 1, TEST_COUNT - 1, -1, 0, 0);
    char counts[64];
    snprintf(counts, sizeof counts, "holds %d labels", TEST_COUNT - 1);
    check_error(mlp_dataset_load_idx(images, bad, &data, &error), &error, bad, counts,
                "count mismatch");
    snprintf(counts, sizeof counts, "holds %d images", TEST_COUNT);
    CHECK(strstr(error.message, images) != NULL && strstr(error.message, counts) != NULL,
          "count mismatch names both files and counts: %s", error.message);

    for (int gzip = 0; gzip <= 1; gzip++) {
        const char *path = gzip ? bad_gz : bad;
        write_idx_images(path, 2051, TEST_COUNT, payload - 1, gzip);
        check_error(mlp_dataset_load_idx(path, labels, &data, &error), &error, path, "truncated",
                    gzip ? "truncated payload .gz" : "truncated payload");
        write_idx_images(path, 2051, TEST_COUNT, payload + 3, gzip);
        check_error(mlp_dataset_load_idx(path, labels, &data, &error), &error, path, "trailing",
                    gzip ? "trailing bytes .gz" : "trailing bytes");
        /* 2^31 images (75 GB of 5x7) and 10^8 images (3.5 GB): rejected from the header
         * alone, before anything is allocated or read */
        write_idx_images(path, 2051, 0x80000000u, payload, gzip);
        check_error(mlp_dataset_load_idx(path, labels, &data, &error), &error, path,
                    "2147483648 images", gzip ? "2^31 images .gz" : "2^31 images");
        write_idx_images(path, 2051, 100000000u, payload, gzip);
        check_error(mlp_dataset_load_idx(path, labels, &data, &error), &error, path, "limit",
                    gzip ? "3.5 GB of images .gz" : "3.5 GB of images");
        write_idx_labels(path, 2049, 0x80000000u, TEST_COUNT, -1, 0, gzip);
        check_error(mlp_dataset_load_idx(images, path, &data, &error), &error, path, "2147483648",
                    gzip ? "2^31 labels .gz" : "2^31 labels");
    }
    /* a plausible but false claim (40 million images, 1.4 GB) in a tiny .gz: read in chunks,
     * the short read is reported, the buffer never grows to the claim */
    const char *bad_labels_gz = temp_path("bad-labels.gz");
    write_idx_images(bad_gz, 2051, 40000000u, payload, 1);
    write_idx_labels(bad_labels_gz, 2049, 40000000u, TEST_COUNT, -1, 0, 1);
    check_error(mlp_dataset_load_idx(bad_gz, bad_labels_gz, &data, &error), &error, bad_gz,
                "truncated", "false large claim .gz");

    write_idx_labels(bad, 2049, TEST_COUNT, TEST_COUNT, 11, MLP_CLASSES, 0);
    check_error(mlp_dataset_load_idx(images, bad, &data, &error), &error, bad, "label 10 at index 11",
                "label 10");
    write_text(bad, "");
    check_error(mlp_dataset_load_idx(bad, labels, &data, &error), &error, bad, "too short",
                "empty file");
    const char *missing = temp_path("no-such-file");
    check_error(mlp_dataset_load_idx(missing, labels, &data, &error), &error, missing,
                "cannot open", "missing file");
}

/* The synthetic set as CSV text; line_end "\n" or "\r\n", final_newline 0 or 1. */
static char *synthetic_csv(const char *line_end, int final_newline) {
    size_t size = 64 + (size_t)TEST_COUNT * (TEST_FEATURES * 5 + 8) + TEST_FEATURES * 12;
    char *text = malloc(size), *at = text;
    at += sprintf(at, "label");
    for (int f = 0; f < TEST_FEATURES; f++) at += sprintf(at, ",pixel%d", f);
    at += sprintf(at, "%s", line_end);
    for (int i = 0; i < TEST_COUNT; i++) {
        at += sprintf(at, "%d", test_label(i));
        for (int f = 0; f < TEST_FEATURES; f++) at += sprintf(at, ",%d", test_pixel(i, f));
        if (i + 1 < TEST_COUNT || final_newline) at += sprintf(at, "%s", line_end);
    }
    return text;
}

static void test_csv_round_trip(void) {
    const char *path = temp_path("rt.csv");
    for (int variant = 0; variant < 4; variant++) {
        char *text = synthetic_csv(variant & 1 ? "\r\n" : "\n", variant >> 1);
        write_text(path, text);
        free(text);
        mlp_dataset data;
        mlp_error error = {{0}};
        int status = mlp_dataset_load_csv(path, &data, &error);
        CHECK(status == 0, "csv variant %d: %s", variant, error.message);
        if (status == 0) {
            /* a CSV with other than 784 columns loads as 1 x n images */
            CHECK(data.rows == 1 && data.cols == TEST_FEATURES, "csv shape %dx%d", data.rows,
                  data.cols);
            data.rows = TEST_ROWS;
            data.cols = TEST_COLS;
            check_synthetic(&data, variant & 1 ? "csv \\r\\n" : "csv \\n");
        }
        mlp_dataset_free(&data);
    }
    /* .csv.gz through gzopen */
    char *text = synthetic_csv("\n", 1);
    const char *gz_path = temp_path("rt.csv.gz");
    write_file(gz_path, (const uint8_t *)text, strlen(text), 1);
    free(text);
    mlp_dataset data;
    mlp_error error = {{0}};
    int status = mlp_dataset_load_csv(gz_path, &data, &error);
    CHECK(status == 0, "csv.gz: %s", error.message);
    if (status == 0) {
        data.rows = TEST_ROWS;
        data.cols = TEST_COLS;
        check_synthetic(&data, "csv.gz");
    }
    mlp_dataset_free(&data);

    /* 784 pixel columns are 28x28 images */
    size_t size = 3 * 784 * 4 + 784 * 10 + 64;
    char *wide = malloc(size), *at = wide;
    at += sprintf(at, "label");
    for (int f = 0; f < 784; f++) at += sprintf(at, ",pixel%d", f);
    for (int i = 0; i < 3; i++) {
        at += sprintf(at, "\n%d", i);
        for (int f = 0; f < 784; f++) at += sprintf(at, ",%d", (i + f) % 256);
    }
    write_text(path, wide);
    free(wide);
    status = mlp_dataset_load_csv(path, &data, &error);
    CHECK(status == 0, "csv 784: %s", error.message);
    if (status == 0) {
        CHECK(data.count == 3 && data.rows == 28 && data.cols == 28 && data.features == 784,
              "csv 784: %d images of %dx%d", data.count, data.rows, data.cols);
        CHECK(data.labels[2] == 2 && data.pixels[2 * 784 + 783] == (2 + 783) % 256,
              "csv 784 values");
    }
    mlp_dataset_free(&data);
}

static void check_csv_error(const char *text, const char *problem, const char *what) {
    const char *path = temp_path("bad.csv");
    write_text(path, text);
    mlp_dataset data;
    mlp_error error;
    check_error(mlp_dataset_load_csv(path, &data, &error), &error, path, problem, what);
    CHECK(data.pixels == NULL && data.count == 0, "%s: output left empty", what);
}

static void test_csv_errors(void) {
    const char *header = "label,pixel0,pixel1,pixel2\n";
    char text[256];
#define WITH_HEADER(rows) (snprintf(text, sizeof text, "%s%s", header, rows), text)
    check_csv_error(WITH_HEADER("1,2,3,4\n5,6,x7,8\n"), "line 3, column 3: 'x7' is not a number",
                    "csv non-number");
    check_csv_error(WITH_HEADER("1,2,3,4\n5,6,7,\n"), "line 3, column 4: '' is not a number",
                    "csv empty field");
    check_csv_error(WITH_HEADER("1,2,3.5,4\n"), "line 2, column 3: '3.5' is not a number",
                    "csv decimal");
    check_csv_error(WITH_HEADER("1,2,3,256\n"), "line 2, column 4: pixel '256' is outside 0..255",
                    "csv 256");
    check_csv_error(WITH_HEADER("1,-1,3,4\n"), "line 2, column 2: pixel '-1' is outside 0..255",
                    "csv -1");
    check_csv_error(WITH_HEADER("1,2,3,4\r\n1,2,3\r\n"), "line 3, column 4: the row has 3 columns",
                    "csv too few columns");
    check_csv_error(WITH_HEADER("1,2,3,4,5,6\n"), "line 2, column 5: the row has 6 columns",
                    "csv too many columns");
    check_csv_error(WITH_HEADER("10,2,3,4\n"), "line 2, column 1: label '10' is outside 0..9",
                    "csv label 10");
    check_csv_error(WITH_HEADER("-1,2,3,4\n"), "label '-1' is outside", "csv label -1");
    check_csv_error(header, "no data rows", "csv header only");
    check_csv_error("", "empty file", "csv empty file");
    check_csv_error("1,2,3,4\n5,6,7,8\n", "expected a header row", "csv without header");
    check_csv_error("pixel0,pixel1\n1,2\n", "expected the label", "csv without label column");
#undef WITH_HEADER
    /* one line over the 1 MiB cap */
    size_t size = ((size_t)1 << 20) + 100;
    char *long_text = malloc(size + 1);
    memcpy(long_text, header, strlen(header));
    memset(long_text + strlen(header), '1', size - strlen(header));
    long_text[size] = '\0';
    check_csv_error(long_text, "line 2 is longer than", "csv absurdly long line");
    free(long_text);

    const char *missing = temp_path("missing.csv");
    mlp_dataset data;
    mlp_error error;
    check_error(mlp_dataset_load_csv(missing, &data, &error), &error, missing, "cannot open",
                "csv missing file");
}

static void test_idx_folder(void) {
    const size_t payload = (size_t)TEST_COUNT * TEST_FEATURES;
    CHECK(!mlp_dataset_idx_folder_has(temp_dir, "train"), "empty folder has no train set");
    write_idx_images(temp_path("train-images-idx3-ubyte.gz"), 2051, TEST_COUNT, payload, 1);
    CHECK(!mlp_dataset_idx_folder_has(temp_dir, "train"), "images alone are not a set");
    mlp_dataset data;
    mlp_error error;
    check_error(mlp_dataset_load_idx_folder(temp_dir, "train", &data, &error), &error,
                "train-labels-idx1-ubyte.gz", "looked for", "folder without labels");
    /* a .gz labels file that disagrees with the raw one: the raw one must win */
    write_idx_labels(temp_path("train-labels-idx1-ubyte.gz"), 2049, TEST_COUNT, TEST_COUNT, 0,
                     9, 1);
    write_idx_labels(temp_path("train-labels-idx1-ubyte"), 2049, TEST_COUNT, TEST_COUNT, -1, 0,
                     0);
    CHECK(mlp_dataset_idx_folder_has(temp_dir, "train"), "folder has train");
    CHECK(!mlp_dataset_idx_folder_has(temp_dir, "t10k"), "folder has no t10k");
    int status = mlp_dataset_load_idx_folder(temp_dir, "train", &data, &error);
    CHECK(status == 0, "folder load: %s", error.message);
    if (status == 0) check_synthetic(&data, "folder (raw preferred over .gz)");
    mlp_dataset_free(&data);
    check_error(mlp_dataset_load_idx_folder(temp_dir, "t10k", &data, &error), &error,
                "t10k-images-idx3-ubyte", "looked for", "folder without t10k");
}

static int is_permutation(const int *a, int na, const int *b, int nb, int count) {
    if (na + nb != count) return 0;
    char *seen = calloc((size_t)count, 1);
    int ok = 1;
    for (int i = 0; i < na + nb && ok; i++) {
        int v = i < na ? a[i] : b[i - na];
        ok = v >= 0 && v < count && !seen[v];
        if (ok) seen[v] = 1;
    }
    free(seen);
    return ok;
}

static void test_split_and_gather(void) {
    const int count = 1003;
    int *train[3], *validation[3], train_count[3], validation_count[3];
    const uint64_t seeds[3] = {42, 42, 43};
    mlp_error error;
    for (int k = 0; k < 3; k++) {
        int status = mlp_dataset_split(count, 0.1, seeds[k], &train[k], &train_count[k],
                                   &validation[k], &validation_count[k], &error);
        CHECK(status == 0, "split: %s", error.message);
        if (status != 0) return;
    }
    int expected_validation = (int)lround(count * 0.1);
    CHECK(validation_count[0] == expected_validation && train_count[0] == count - expected_validation,
          "split sizes %d + %d", validation_count[0], train_count[0]);
    CHECK(is_permutation(validation[0], validation_count[0], train[0], train_count[0], count),
          "split is disjoint and covers 0..%d", count - 1);
    CHECK(is_permutation(validation[2], validation_count[2], train[2], train_count[2], count),
          "split (other seed) is disjoint and covers");
    CHECK(memcmp(train[0], train[1], (size_t)train_count[0] * sizeof(int)) == 0 &&
              memcmp(validation[0], validation[1], (size_t)validation_count[0] * sizeof(int)) == 0,
          "same seed, same split");
    CHECK(memcmp(validation[0], validation[2], (size_t)validation_count[0] * sizeof(int)) != 0,
          "another seed, another split");
    int in_order = 1;
    for (int i = 1; i < validation_count[0]; i++) in_order &= validation[0][i] > validation[0][i - 1];
    CHECK(!in_order, "validation indices are shuffled, not the first rows");

    /* round(count * fraction): 7 * 0.5 = 3.5 rounds to 4; fraction 0 gives no validation */
    int *t, *v, tn, vn;
    CHECK(mlp_dataset_split(7, 0.5, 1, &t, &tn, &v, &vn, &error) == 0 && vn == 4 && tn == 3,
          "7 x 0.5 -> %d validation", vn);
    free(t);
    free(v);
    CHECK(mlp_dataset_split(7, 0.0, 1, &t, &tn, &v, &vn, &error) == 0 && vn == 0 && tn == 7,
          "fraction 0 -> %d validation", vn);
    free(t);
    free(v);
    const double bad_fractions[3] = {1.0, -0.1, NAN};
    for (int k = 0; k < 3; k++) {
        int status = mlp_dataset_split(count, bad_fractions[k], 1, &t, &tn, &v, &vn, &error);
        CHECK(status == -1 && strstr(error.message, "fraction") != NULL,
              "fraction %g rejected: %s", bad_fractions[k], error.message);
    }

    /* gather copies the named rows and labels */
    const size_t payload = (size_t)TEST_COUNT * TEST_FEATURES;
    write_idx_images(temp_path("g-images"), 2051, TEST_COUNT, payload, 0);
    write_idx_labels(temp_path("g-labels"), 2049, TEST_COUNT, TEST_COUNT, -1, 0, 0);
    mlp_dataset data;
    if (mlp_dataset_load_idx(temp_path("g-images"), temp_path("g-labels"), &data, &error) == 0) {
        const int rows[4] = {36, 0, 17, 17};
        uint8_t pixels[4 * TEST_FEATURES], labels[4];
        mlp_dataset_gather(&data, rows, 4, pixels, labels);
        int errors = 0;
        for (int i = 0; i < 4; i++) {
            errors += labels[i] != test_label(rows[i]);
            for (int f = 0; f < TEST_FEATURES; f++)
                errors += pixels[i * TEST_FEATURES + f] != test_pixel(rows[i], f);
        }
        CHECK(errors == 0, "gather: %d bytes differ", errors);
        mlp_dataset_free(&data);
    } else {
        CHECK(0, "gather setup: %s", error.message);
    }
    for (int k = 0; k < 3; k++) {
        free(train[k]);
        free(validation[k]);
    }
}

static void remove_temp_dir(void) {
    static const char *names[] = {"rt-images", "rt-labels", "rt-images.gz", "rt-labels.gz",
                                  "good-labels", "good-images", "bad-idx", "bad-idx.gz",
                                  "bad-labels.gz", "no-such-file", "rt.csv", "rt.csv.gz", "bad.csv",
                                  "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                  "train-labels-idx1-ubyte", "g-images", "g-labels"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(temp_path(names[i]));
    if (rmdir(temp_dir) != 0) fprintf(stderr, "note: could not remove %s\n", temp_dir);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(temp_dir, sizeof temp_dir, "%s/mlp_test_data.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(temp_dir)) {
        fprintf(stderr, "cannot create a temporary folder %s\n", temp_dir);
        return 1;
    }
    test_idx_round_trip();
    test_idx_errors();
    test_csv_round_trip();
    test_csv_errors();
    test_idx_folder();
    test_split_and_gather();
    remove_temp_dir();
    return test_exit_code();
}
