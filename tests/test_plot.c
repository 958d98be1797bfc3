/* The figures: each PNG decodes to PLOT_WIDTH × PLOT_HEIGHT and holds the colours it promises
 * (blue training and orange validation curves; dark blue and yellow ends of viridis in heatmaps
 * of weights of both signs); an unwritable path is a one-line error, not an abort. Skips when
 * PLplot cannot draw here (no pngcairo driver). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlp/plot.h"
#include "test_plot_png.h"
#include "test_util.h"

/* Curves that fall like a training run's: cost 2/epoch, accuracy rising. */
static void fake_history(mlp_epoch_metrics *history, int count, double offset) {
    memset(history, 0, (size_t)count * sizeof *history);
    for (int i = 0; i < count; i++) {
        history[i].epoch = i + 1;
        history[i].train_cost = 2.0 / (i + 1) + offset;
        history[i].validation.cost = 2.2 / (i + 1) + 0.05 * i + offset;
        history[i].validation.accuracy = 0.8 + 0.15 * i / count;
    }
}

static void check_png(const char *path, const char *what, int blue_orange, int viridis) {
    test_png png = test_png_read(path);
    CHECK(png.rgb != NULL, "%s: %s decodes as a PNG", what, path);
    if (!png.rgb) return;
    CHECK(png.width == MLP_PLOT_WIDTH && png.height == MLP_PLOT_HEIGHT, "%s: %d×%d, expected %d×%d", what,
          png.width, png.height, MLP_PLOT_WIDTH, MLP_PLOT_HEIGHT);
    long white = test_png_count_near(&png, 255, 255, 255, 0);
    CHECK(white > (long)png.width * png.height / 4, "%s: white background (%ld white pixels)", what, white);
    if (blue_orange) {
        long blue = test_png_count_near(&png, 31, 119, 180, 40);
        long orange = test_png_count_near(&png, 255, 127, 14, 40);
        CHECK(blue > 100 && orange > 100, "%s: blue (%ld) and orange (%ld) curves", what, blue, orange);
    }
    if (viridis) {
        long dark = test_png_count_near(&png, 68, 1, 84, 30);
        long yellow = test_png_count_near(&png, 253, 231, 37, 30);
        CHECK(dark > 50 && yellow > 50, "%s: viridis dark blue (%ld) and yellow (%ld)", what, dark, yellow);
    }
    free(png.rgb);
}

int main(void) {
    mlp_error error;
    if (mlp_plot_available(&error) != 0) TEST_SKIP("%s", error.message);
    char folder[] = "/tmp/mlp_test_plot_XXXXXX";
    if (!mkdtemp(folder)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256];
    mlp_epoch_metrics a[8], b[8];
    fake_history(a, 8, 0.0);
    fake_history(b, 5, 0.3);

    mlp_plot_run one = {"784,16,10", a, 8};
    snprintf(path, sizeof path, "%s/curves.png", folder);
    CHECK(mlp_plot_learning_curves(path, &one, 1, "one run", &error) == 0, "%s", error.message);
    check_png(path, "learning curves", 1, 0);

    mlp_plot_run two[2] = {{"a", a, 8}, {"b", b, 5}};
    snprintf(path, sizeof path, "%s/panels.png", folder);
    CHECK(mlp_plot_cost_panels(path, two, 2, "two panels", &error) == 0, "%s", error.message);
    check_png(path, "cost panels", 1, 0);
    snprintf(path, sizeof path, "%s/two.png", folder);
    CHECK(mlp_plot_learning_curves(path, two, 2, NULL, &error) == 0, "%s", error.message);
    check_png(path, "two runs", 0, 0);

    /* A 28×28 ramp of both signs: −1 in the top-left corner to +1 in the bottom-right. */
    float weights[28 * 28 * 3];
    for (int p = 0; p < 28 * 28; p++) {
        float v = ((p / 28) + (p % 28)) / 27.0f - 1.0f;
        for (int u = 0; u < 3; u++) weights[p * 3 + u] = u == 1 ? -v : v;
    }
    snprintf(path, sizeof path, "%s/heatmap.png", folder);
    CHECK(mlp_plot_heatmap(path, weights, 28, 28, 3, "ramp", &error) == 0, "%s", error.message);
    check_png(path, "heatmap", 0, 1);
    snprintf(path, sizeof path, "%s/grid.png", folder);
    CHECK(mlp_plot_heatmap_grid(path, weights, 3, 1, 28, 28, 3, "grid", &error) == 0, "%s", error.message);
    check_png(path, "heatmap grid", 0, 1);

    /* Zero is the middle of the scale whatever the data's range: top half 0, bottom half −1 gives
     * a large teal (viridis at 0.5) area, not a yellow one. */
    float half[28 * 28];
    for (int p = 0; p < 28 * 28; p++) half[p] = p < 14 * 28 ? 0.0f : -1.0f;
    snprintf(path, sizeof path, "%s/half.png", folder);
    CHECK(mlp_plot_heatmap(path, half, 28, 28, 1, "half", &error) == 0, "%s", error.message);
    test_png png = test_png_read(path);
    long teal = test_png_count_near(&png, 33, 145, 140, 12);
    CHECK(teal > 20000, "zero drawn in the middle colour of the scale (%ld teal pixels)", teal);
    free(png.rgb);

    /* An unwritable place: an error naming it, and the process still here. */
    int status = mlp_plot_heatmap("/nonexistent-folder/x.png", weights, 28, 28, 3, NULL, &error);
    CHECK(status == -1 && strstr(error.message, "/nonexistent-folder/x.png"),
          "unwritable path reported (status %d: %s)", status, status ? error.message : "");
    CHECK(mlp_plot_learning_curves(path, &one, 0, NULL, &error) == -1, "no runs is an error");

    const char *names[] = {"curves.png", "panels.png", "two.png", "heatmap.png", "grid.png", "half.png"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", folder, names[i]);
        remove(path);
    }
    rmdir(folder);
    return test_exit_code();
}
