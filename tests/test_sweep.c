/* The experiment subcommands end to end, on a small MNIST subset (skips when MNIST is absent):
 *   trainer sweep: the table (sweep.csv) agrees with every run's metrics.csv, the configurations
 *     really differ, and the figures decode at their stated size; with --patience each
 *     configuration stops 2 epochs after its best and leaves a checkpoint;
 *   trainer train --out, plot, weights, binary: their PNGs decode at the stated size;
 *   trainer binary --method normal without --l2/--noise: a one-line "singular" error, exit 1.
 * usage: test_sweep TRAINER MNIST_DIR */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "mlp/plot.h"
#include "mlp/run_output.h"
#include "mlp/sweep.h"
#include "test_plot_png.h"
#include "test_util.h"

static const char *trainer_path, *mnist;
static char folder[] = "/tmp/mlp_test_sweep_XXXXXX";

/* Runs the trainer with the arguments, output into folder/<log>; returns its exit status. */
static int run_trainer(const char *arguments, const char *log) {
    char command[2048];
    snprintf(command, sizeof command, "'%s' %s --data '%s' --threads 2 > '%s/%s' 2>&1", trainer_path,
             arguments, mnist, folder, log);
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void check_png_size(const char *relative) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", folder, relative);
    test_png png = test_png_read(path);
    CHECK(png.rgb && png.width == MLP_PLOT_WIDTH && png.height == MLP_PLOT_HEIGHT,
          "%s decodes to %d×%d (got %s %d×%d)", relative, MLP_PLOT_WIDTH, MLP_PLOT_HEIGHT,
          png.rgb ? "" : "nothing,", png.width, png.height);
    free(png.rgb);
}

/* Reads the sweep table: a header, then "layers",numbers per line. */
static int read_table(const char *path, mlp_sweep_row *rows, int capacity) {
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    char line[1024];
    int count = 0;
    if (!fgets(line, sizeof line, file) || strncmp(line, MLP_SWEEP_TABLE_HEADER, strlen(MLP_SWEEP_TABLE_HEADER)) != 0) {
        fclose(file);
        return -1;
    }
    while (count < capacity && fgets(line, sizeof line, file)) {
        mlp_sweep_row *r = &rows[count];
        memset(r, 0, sizeof *r);
        if (sscanf(line, "\"%255[^\"]\",%lf,%lf,%d,%lf,%lf", r->layers, &r->final_validation_cost,
                   &r->min_validation_cost, &r->min_validation_epoch,
                   &r->final_validation_accuracy, &r->seconds) == 6)
            count++;
    }
    fclose(file);
    return count;
}

/* The row of the run whose metrics.csv is at path, and its epoch count; -1 (a failed check)
 * when the file does not read. */
static int row_from_metrics(const char *path, const char *layers, mlp_sweep_row *row, int *epochs) {
    mlp_epoch_metrics *history;
    mlp_error error;
    if (mlp_metrics_csv_read(path, &history, epochs, &error) != 0) {
        CHECK(0, "%s", error.message);
        return -1;
    }
    mlp_sweep_row_from_history(layers, history, *epochs, row);
    free(history);
    return 0;
}

static void check_sweep(void) {
    const char *layers[2] = {"784,8,10", "784,24,10"};
    char arguments[512];
    snprintf(arguments, sizeof arguments, "sweep --layers 784,8,10 --layers 784,24,10 --epochs 3 "
             "--train-limit 3000 --batch 32 --out '%s/sweep'", folder);
    CHECK(run_trainer(arguments, "sweep.log") == 0, "trainer sweep exits 0 (see %s/sweep.log)", folder);
    char path[512];
    snprintf(path, sizeof path, "%s/sweep/sweep.csv", folder);
    mlp_sweep_row table[4];
    int count = read_table(path, table, 4);
    CHECK(count == 2, "%s has 2 rows (got %d)", path, count);
    for (int i = 0; i < count && i < 2; i++) {
        char name[64];
        mlp_sweep_folder_name(layers[i], name, sizeof name);
        snprintf(path, sizeof path, "%s/sweep/%s/metrics.csv", folder, name);
        mlp_sweep_row expected;
        int epochs;
        if (row_from_metrics(path, layers[i], &expected, &epochs) != 0) continue;
        const mlp_sweep_row *got = &table[i];
        CHECK(epochs == 3, "%s: 3 epochs (got %d)", path, epochs);
        CHECK(strcmp(got->layers, layers[i]) == 0, "row %d is %s (got %s)", i, layers[i], got->layers);
        CHECK(fabs(got->final_validation_cost - expected.final_validation_cost) <= 2e-6,
              "%s final cost: table %.6f, metrics %.6f", layers[i], got->final_validation_cost,
              expected.final_validation_cost);
        CHECK(fabs(got->min_validation_cost - expected.min_validation_cost) <= 2e-6,
              "%s min cost: table %.6f, metrics %.6f", layers[i], got->min_validation_cost,
              expected.min_validation_cost);
        CHECK(got->min_validation_epoch == expected.min_validation_epoch,
              "%s epoch of the minimum: table %d, metrics %d", layers[i], got->min_validation_epoch,
              expected.min_validation_epoch);
        CHECK(fabs(got->final_validation_accuracy - expected.final_validation_accuracy) <= 2e-6,
              "%s accuracy: table %.6f, metrics %.6f", layers[i], got->final_validation_accuracy,
              expected.final_validation_accuracy);
        CHECK(fabs(got->seconds - expected.seconds) <= 0.002 * epochs,
              "%s seconds: table %.3f, metrics %.3f", layers[i], got->seconds, expected.seconds);
        snprintf(path, sizeof path, "sweep/%s/curves.png", name);
        check_png_size(path);
    }
    if (count == 2)
        CHECK(table[0].final_validation_cost != table[1].final_validation_cost,
              "the two shapes trained differently (%.6f, %.6f)", table[0].final_validation_cost,
              table[1].final_validation_cost);
    check_png_size("sweep/sweep.png");
}

/* sweep --patience: each configuration stops 2 epochs after its best one and leaves a checkpoint. */
static void check_sweep_patience(void) {
    char arguments[512];
    snprintf(arguments, sizeof arguments, "sweep --layers 784,128,10 --layers 784,32,10 --epochs 40 --patience 2 "
             "--lr 0.5 --train-limit 500 --out '%s/patience'", folder);
    CHECK(run_trainer(arguments, "patience.log") == 0, "trainer sweep --patience exits 0 (see %s/patience.log)", folder);
    const char *names[2] = {"784-128-10", "784-32-10"};
    for (int i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/patience/%s/metrics.csv", folder, names[i]);
        mlp_sweep_row row;
        int epochs;
        if (row_from_metrics(path, names[i], &row, &epochs) != 0) continue;
        CHECK(epochs < 40 && epochs == row.min_validation_epoch + 2,
              "%s: stopped after %d epochs, 2 after the best (%d)", names[i], epochs, row.min_validation_epoch);
        snprintf(path, sizeof path, "%s/patience/%s/checkpoint.mlpc", folder, names[i]);
        FILE *file = fopen(path, "rb");
        CHECK(file != NULL, "%s exists", path);
        if (file) fclose(file);
    }
}

static void check_other_commands(void) {
    char arguments[1024];
    snprintf(arguments, sizeof arguments, "train --layers 784,8,10 --epochs 1 --train-limit 1500 --out '%s/train'",
             folder);
    CHECK(run_trainer(arguments, "train.log") == 0, "trainer train exits 0");
    check_png_size("train/curves.png");

    snprintf(arguments, sizeof arguments, "'%s/sweep/784-8-10' '%s/sweep/784-24-10' --out '%s/both.png'",
             folder, folder, folder);
    char command[2048];
    snprintf(command, sizeof command, "'%s' plot %s > '%s/plot.log' 2>&1", trainer_path, arguments, folder);
    int status = system(command);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "trainer plot exits 0");
    check_png_size("both.png");

    snprintf(command, sizeof command, "'%s' weights --model '%s/sweep/784-24-10/model.mlp' --max 9 "
             "--out '%s/weights' > '%s/weights.log' 2>&1", trainer_path, folder, folder, folder);
    status = system(command);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "trainer weights exits 0");
    check_png_size("weights/weights.png");

    snprintf(arguments, sizeof arguments, "binary --method gd --iterations 30 --train-limit 1500 --out '%s/gd'",
             folder);
    CHECK(run_trainer(arguments, "gd.log") == 0, "trainer binary --method gd exits 0");
    check_png_size("gd/weights.png");

    snprintf(arguments, sizeof arguments, "binary --method normal --train-limit 1500 --out '%s/normal'",
             folder);
    status = run_trainer(arguments, "normal.log");
    CHECK(status == 1, "normal without --l2/--noise exits 1 (got %d)", status);
    char path[512], line[1024] = "";
    snprintf(path, sizeof path, "%s/normal.log", folder);
    FILE *log = fopen(path, "r");
    if (log) {
        while (fgets(line, sizeof line, log) && !strstr(line, "error")) {}
        fclose(log);
    }
    CHECK(strstr(line, "trainer: error: ") && strstr(line, "singular"), "a one-line 'singular' error (got '%s')", line);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_sweep TRAINER MNIST_DIR\n");
        return 2;
    }
    trainer_path = argv[1];
    mnist = argv[2];
    mlp_error error;
    if (!mlp_dataset_idx_folder_has(mnist, "train")) TEST_SKIP("MNIST not found in %s", mnist);
    if (mlp_plot_available(&error) != 0) TEST_SKIP("%s", error.message);
    if (!mkdtemp(folder)) {
        perror("mkdtemp");
        return 1;
    }
    check_sweep();
    check_sweep_patience();
    check_other_commands();
    int code = test_exit_code();
    if (code == 0) {
        char command[600];
        snprintf(command, sizeof command, "rm -rf '%s'", folder);
        if (system(command) != 0) fprintf(stderr, "could not remove %s\n", folder);
    } else {
        fprintf(stderr, "outputs kept in %s\n", folder);
    }
    return code;
}
