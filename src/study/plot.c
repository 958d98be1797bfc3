/* The study's figures with PLplot (pngcairo): learning curves, sweep panels, weight heatmaps.
 * Each figure is drawn into "<path>.tmp" on a stream of its own and renamed over <path> when
 * complete, so a reader never sees half a PNG. */
#include "mlp/plot.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- colours (cmap0 indices) ---- */

enum {
    COLOR_BACKGROUND = 0,
    COLOR_FIRST_SERIES = 1, /* 1..8: the series colours below */
    COLOR_GRID = 14,
    COLOR_TEXT = 15,
};
#define SERIES_COLORS 8
/* Matplotlib's "tab10" order: blue, orange, green, red, purple, brown, pink, grey. */
static const unsigned char series_rgb[SERIES_COLORS][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
};
#define COLOR_BLUE (COLOR_FIRST_SERIES + 0)
#define COLOR_ORANGE (COLOR_FIRST_SERIES + 1)

/* Viridis at nine evenly spaced points (dark blue, teal, green, yellow); cmap1 interpolates. */
static const double viridis_rgb[9][3] = {
    {68, 1, 84},   {71, 45, 123},  {59, 82, 139},  {44, 114, 142}, {33, 145, 140},
    {40, 174, 128}, {94, 201, 98}, {173, 220, 48}, {253, 231, 37},
};

enum { LINE_SOLID = 1, LINE_DOTTED = 2, LINE_DASHED = 3 };

/* ---- the device ---- */

int mlp_plot_available(mlp_error *error) {
    const char **menu = NULL, **names = NULL;
    int count = 0;
    /* plgDevs needs arrays to fill; PLplot 5.15 has a few dozen devices at most. */
    const char *menu_storage[128], *name_storage[128];
    menu = menu_storage;
    names = name_storage;
    count = 128;
    plgDevs(&menu, &names, &count);
    for (int i = 0; i < count; i++)
        if (names[i] && strcmp(names[i], "pngcairo") == 0) return 0;
    return mlp_error_set(error, "PLplot has no pngcairo device (install the Debian package "
                            "plplot-driver-cairo)");
}

typedef struct figure {
    char final_path[4096];
    char temporary_path[4200];
} figure;

/* Opens a new PLplot stream drawing a PLOT_WIDTH × PLOT_HEIGHT PNG on a white page. */
static int figure_begin(figure *f, const char *path, mlp_error *error) {
    if (mlp_plot_available(error) != 0) return -1;
    snprintf(f->final_path, sizeof f->final_path, "%s", path);
    snprintf(f->temporary_path, sizeof f->temporary_path, "%s.tmp", path);
    /* PLplot exits the process when it cannot open its output: check that we can first. */
    FILE *probe = fopen(f->temporary_path, "wb");
    if (!probe) return mlp_error_set(error, "%s: cannot create the figure file", path);
    fclose(probe);
    PLINT stream;
    plmkstrm(&stream);
    plsdev("pngcairo");
    plsfnam(f->temporary_path);
    plspage(0, 0, MLP_PLOT_WIDTH, MLP_PLOT_HEIGHT, 0, 0);
    plscol0(COLOR_BACKGROUND, 255, 255, 255);
    plscol0(COLOR_TEXT, 0, 0, 0);
    plscol0(COLOR_GRID, 210, 210, 210);
    for (int i = 0; i < SERIES_COLORS; i++)
        plscol0(COLOR_FIRST_SERIES + i, series_rgb[i][0], series_rgb[i][1], series_rgb[i][2]);
    plinit();
    pladv(0);
    plschr(0.0, 0.8);
    plcol0(COLOR_TEXT);
    return 0;
}

static int figure_end(figure *f, mlp_error *error) {
    plend1();
    if (rename(f->temporary_path, f->final_path) != 0) {
        remove(f->temporary_path);
        return mlp_error_set(error, "%s: cannot move the figure into place", f->final_path);
    }
    return 0;
}

/* A title across the top of the page. */
static void figure_title(const char *title) {
    if (!title || !*title) return;
    plvpor(0.0, 1.0, 0.0, 1.0);
    plwind(0.0, 1.0, 0.0, 1.0);
    plcol0(COLOR_TEXT);
    plschr(0.0, 1.0);
    plmtex("t", -1.5, 0.5, 0.5, title);
    plschr(0.0, 0.8);
}

/* ---- axes, lines, legends ---- */

/* A framed panel with a light grid, ticks, numbers and axis labels. */
static void draw_axes(double x0, double x1, double y0, double y1, const char *x_label,
                      const char *y_label, const char *panel_title) {
    plwind(x0, x1, y0, y1);
    plcol0(COLOR_GRID);
    pllsty(LINE_SOLID);
    plbox("g", 0.0, 0, "g", 0.0, 0);
    plcol0(COLOR_TEXT);
    plbox("bcnst", 0.0, 0, "bcnstv", 0.0, 0);
    pllab(x_label, y_label, panel_title ? panel_title : "");
}

static void draw_line(const double *x, const double *y, int n, int color, int style) {
    if (n < 1) return;
    plcol0(color);
    pllsty(style);
    plwidth(2.0);
    if (n == 1) plstring(1, x, y, "#(728)"); /* one epoch: a dot instead of a line */
    else plline(n, x, y);
    plwidth(1.0);
    pllsty(LINE_SOLID);
    plcol0(COLOR_TEXT);
}

/* A boxed legend in a corner of the current panel, one line sample per entry. */
static void draw_legend(int n, const char **labels, const int *colors, const int *styles,
                        int position) {
    PLINT options[16], text_colors[16], line_colors[16], line_styles[16];
    PLFLT line_widths[16], width, height;
    if (n > 16) n = 16;
    for (int i = 0; i < n; i++) {
        options[i] = PL_LEGEND_LINE;
        text_colors[i] = COLOR_TEXT;
        line_colors[i] = colors[i];
        line_styles[i] = styles[i];
        line_widths[i] = 2.0;
    }
    pllegend(&width, &height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, position, 0.02, 0.02,
             0.08, COLOR_BACKGROUND, COLOR_TEXT, 1, 0, 0, n, options, 0.8, 0.8, 1.6, 0.0,
             text_colors, labels, NULL, NULL, NULL, NULL, line_colors, line_styles, line_widths,
             NULL, NULL, NULL, NULL);
}

/* ---- learning curves ---- */

/* The smallest and largest of f over every epoch of every run. */
typedef double (*metric_of)(const mlp_epoch_metrics *m);
static double train_cost_of(const mlp_epoch_metrics *m) { return m->train_cost; }
static double validation_cost_of(const mlp_epoch_metrics *m) { return m->validation.cost; }
static double accuracy_percent_of(const mlp_epoch_metrics *m) { return 100.0 * m->validation.accuracy; }
static double learning_rate_of(const mlp_epoch_metrics *m) { return m->learning_rate; }

static void metric_range(const mlp_plot_run *runs, int run_count, metric_of f, double *low,
                         double *high) {
    for (int r = 0; r < run_count; r++)
        for (int i = 0; i < runs[r].count; i++) {
            double v = f(&runs[r].history[i]);
            if (!isfinite(v)) continue;
            if (v < *low) *low = v;
            if (v > *high) *high = v;
        }
}

/* Widens [low, high] by a margin (and makes an empty range visible). */
static void pad_range(double *low, double *high, double floor_at) {
    if (*low > *high) *low = 0.0, *high = 1.0;
    double margin = (*high - *low) * 0.05;
    if (margin <= 0.0) margin = fabs(*high) > 0 ? fabs(*high) * 0.05 : 0.5;
    *low -= margin;
    *high += margin;
    if (*low < floor_at) *low = floor_at;
}

static int max_epochs(const mlp_plot_run *runs, int run_count) {
    int most = 1;
    for (int r = 0; r < run_count; r++)
        if (runs[r].count > most) most = runs[r].count;
    return most;
}

/* One run's series f over its epochs into x (epoch numbers) and y. */
static int run_series(const mlp_plot_run *run, metric_of f, double *x, double *y) {
    for (int i = 0; i < run->count; i++) {
        x[i] = run->history[i].epoch;
        y[i] = f(&run->history[i]);
    }
    return run->count;
}

static int check_runs(const mlp_plot_run *runs, int run_count, const char *path, mlp_error *error) {
    if (run_count < 1) return mlp_error_set(error, "%s: no runs to draw", path);
    for (int r = 0; r < run_count; r++)
        if (runs[r].count < 1) return mlp_error_set(error, "%s: run %s has no epochs", path, runs[r].name);
    return 0;
}

/* The start every per-epoch figure shares: checks the runs, allocates x and y for the longest
 * one (freed by the caller), opens the figure and draws its title. */
static int curves_figure_begin(figure *f, const char *path, const mlp_plot_run *runs, int run_count,
                               const char *title, double **x, double **y, int *epochs,
                               mlp_error *error) {
    if (check_runs(runs, run_count, path, error) != 0) return -1;
    *epochs = max_epochs(runs, run_count);
    *x = malloc((size_t)*epochs * sizeof **x);
    *y = malloc((size_t)*epochs * sizeof **y);
    if (!*x || !*y || figure_begin(f, path, error) != 0) {
        int out_of_memory = !*x || !*y;
        free(*x);
        free(*y);
        return out_of_memory ? mlp_error_set(error, "%s: out of memory", path) : -1;
    }
    figure_title(title);
    return 0;
}

int mlp_plot_learning_curves(const char *path, const mlp_plot_run *runs, int run_count, const char *title,
                         mlp_error *error) {
    figure f;
    double *x, *y;
    int epochs;
    if (curves_figure_begin(&f, path, runs, run_count, title, &x, &y, &epochs, error) != 0) return -1;
    double x0 = 0.5, x1 = epochs + 0.5;
    int single = run_count == 1;
    int shown = run_count < 8 ? run_count : 8;

    /* Left: costs. */
    double low = INFINITY, high = -INFINITY;
    metric_range(runs, run_count, train_cost_of, &low, &high);
    metric_range(runs, run_count, validation_cost_of, &low, &high);
    pad_range(&low, &high, 0.0);
    plvpor(0.08, 0.47, 0.12, 0.86);
    draw_axes(x0, x1, low, high, "epoch", "cost (cross-entropy)", "training and validation cost");
    const char *labels[16] = {0};
    int colors[16] = {0}, styles[16] = {0};
    char text[16][128];
    for (int r = 0; r < shown; r++) {
        int train_color = single ? COLOR_BLUE : COLOR_FIRST_SERIES + r;
        int validation_color = single ? COLOR_ORANGE : COLOR_FIRST_SERIES + r;
        int n = run_series(&runs[r], train_cost_of, x, y);
        draw_line(x, y, n, train_color, LINE_SOLID);
        n = run_series(&runs[r], validation_cost_of, x, y);
        draw_line(x, y, n, validation_color, single ? LINE_SOLID : LINE_DASHED);
        snprintf(text[2 * r], sizeof text[0], single ? "training" : "%s training", runs[r].name);
        snprintf(text[2 * r + 1], sizeof text[0], single ? "validation" : "%s validation", runs[r].name);
        labels[2 * r] = text[2 * r];
        labels[2 * r + 1] = text[2 * r + 1];
        colors[2 * r] = train_color;
        colors[2 * r + 1] = validation_color;
        styles[2 * r] = LINE_SOLID;
        styles[2 * r + 1] = single ? LINE_SOLID : LINE_DASHED;
    }
    draw_legend(2 * shown, labels, colors, styles, PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE);

    /* Right: validation accuracy, and the learning rate (the rate of each epoch's last batch, on
     * a right-hand axis) when the runs recorded one (metrics.csv files before the lr column hold
     * none). */
    double rate_low = INFINITY, rate_high = -INFINITY;
    metric_range(runs, run_count, learning_rate_of, &rate_low, &rate_high);
    int show_rate = rate_high > 0.0;
    low = INFINITY, high = -INFINITY;
    metric_range(runs, run_count, accuracy_percent_of, &low, &high);
    pad_range(&low, &high, 0.0);
    if (high > 100.0) high = 100.0;
    plvpor(0.58, show_rate ? 0.90 : 0.97, 0.12, 0.86);
    draw_axes(x0, x1, low, high, "epoch", "accuracy (%)",
              show_rate ? "validation accuracy and learning rate" : "validation accuracy");
    for (int r = 0; r < shown; r++) {
        int color = single ? COLOR_ORANGE : COLOR_FIRST_SERIES + r;
        int n = run_series(&runs[r], accuracy_percent_of, x, y);
        draw_line(x, y, n, color, LINE_SOLID);
        labels[r] = single ? "validation" : runs[r].name;
        colors[r] = color;
        styles[r] = LINE_SOLID;
    }
    int entries = shown;
    if (show_rate) {
        plwind(x0, x1, 0.0, rate_high * 1.08);
        plcol0(COLOR_TEXT);
        plbox("", 0.0, 0, "cmstv", 0.0, 0);
        plmtex("r", 5.0, 0.5, 0.5, "learning rate");
        for (int r = 0; r < shown; r++) {
            int n = run_series(&runs[r], learning_rate_of, x, y);
            draw_line(x, y, n, single ? COLOR_FIRST_SERIES + 7 : COLOR_FIRST_SERIES + r, LINE_DOTTED);
        }
        labels[entries] = "learning rate";
        colors[entries] = single ? COLOR_FIRST_SERIES + 7 : COLOR_TEXT;
        styles[entries] = LINE_DOTTED;
        entries++;
    }
    draw_legend(entries, labels, colors, styles, PL_POSITION_BOTTOM | PL_POSITION_RIGHT | PL_POSITION_INSIDE);
    free(x);
    free(y);
    return figure_end(&f, error);
}

/* Panel i of a rows × cols grid inside [left, right] × [bottom, top] of the page. */
static void grid_viewport(int i, int rows, int cols, double left, double right, double bottom,
                          double top, double gap_x, double gap_y, double aspect) {
    int row = i / cols, col = i % cols;
    double width = (right - left) / cols, height = (top - bottom) / rows;
    double x0 = left + col * width + gap_x, x1 = left + (col + 1) * width - gap_x * 0.3;
    double y1 = top - row * height - gap_y * 0.5, y0 = top - (row + 1) * height + gap_y;
    if (aspect > 0) plvpas(x0, x1, y0, y1, aspect);
    else plvpor(x0, x1, y0, y1);
}

int mlp_plot_cost_panels(const char *path, const mlp_plot_run *runs, int run_count, const char *title,
                     mlp_error *error) {
    figure f;
    double *x, *y;
    int epochs;
    if (curves_figure_begin(&f, path, runs, run_count, title, &x, &y, &epochs, error) != 0) return -1;
    double low = INFINITY, high = -INFINITY;
    metric_range(runs, run_count, train_cost_of, &low, &high);
    metric_range(runs, run_count, validation_cost_of, &low, &high);
    pad_range(&low, &high, 0.0);
    int cols = run_count <= 3 ? run_count : (int)ceil(sqrt((double)run_count));
    int rows = (run_count + cols - 1) / cols;
    for (int r = 0; r < run_count; r++) {
        grid_viewport(r, rows, cols, 0.0, 1.0, 0.0, 0.92, 0.08, 0.1, 0.0);
        draw_axes(0.5, epochs + 0.5, low, high, "epoch", "cost", runs[r].name);
        int n = run_series(&runs[r], train_cost_of, x, y);
        draw_line(x, y, n, COLOR_BLUE, LINE_SOLID);
        n = run_series(&runs[r], validation_cost_of, x, y);
        draw_line(x, y, n, COLOR_ORANGE, LINE_SOLID);
        const char *labels[2] = {"training", "validation"};
        int colors[2] = {COLOR_BLUE, COLOR_ORANGE}, styles[2] = {LINE_SOLID, LINE_SOLID};
        draw_legend(2, labels, colors, styles, PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE);
    }
    free(x);
    free(y);
    return figure_end(&f, error);
}

/* ---- heatmaps ---- */

static void use_viridis(void) {
    PLFLT position[9], red[9], green[9], blue[9];
    for (int i = 0; i < 9; i++) {
        position[i] = i / 8.0;
        red[i] = viridis_rgb[i][0] / 255.0;
        green[i] = viridis_rgb[i][1] / 255.0;
        blue[i] = viridis_rgb[i][2] / 255.0;
    }
    plscmap1n(256);
    plscmap1l(1, 9, position, red, green, blue, NULL);
}

/* The largest |v| over the heatmaps (1 when all are zero, so the scale stays valid). */
static double largest_magnitude(const float *values, int count, int unit_stride, int pixels,
                                int stride) {
    double largest = 0.0;
    for (int u = 0; u < count; u++)
        for (int p = 0; p < pixels; p++) {
            double v = fabs(values[(size_t)u * unit_stride + (size_t)p * stride]);
            if (isfinite(v) && v > largest) largest = v;
        }
    return largest > 0.0 ? largest : 1.0;
}

/* One heatmap in the current viewport: column pointers z[x][y] as plimage wants, y up, so image
 * row r (from the top) lands at y = rows - 1 - r. */
static void draw_heatmap(const float *values, int rows, int cols, int stride, double scale,
                         PLFLT **columns, const char *label, int with_axes) {
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++)
            columns[c][rows - 1 - r] = values[((size_t)r * cols + c) * stride];
    plwind(0.0, cols, 0.0, rows);
    /* plimagefr, not plimage: plimage spreads the colours over the data's own range. */
    plimagefr((PLFLT_MATRIX)columns, cols, rows, 0.0, cols, 0.0, rows, -scale, scale, -scale, scale,
              NULL, NULL);
    plcol0(COLOR_TEXT);
    if (with_axes) plbox("bcnst", 0.0, 0, "bcnstv", 0.0, 0);
    else plbox("bc", 0.0, 0, "bc", 0.0, 0);
    if (label) plmtex("t", 0.8, 0.5, 0.5, label);
}

/* A vertical colour bar from -scale to +scale in the given viewport. */
static void draw_color_bar(double x0, double x1, double y0, double y1, double scale) {
    enum { STEPS = 256 };
    PLFLT column[STEPS];
    PLFLT *columns[2] = {column, column}; /* plimage draws nothing for a single column */
    for (int i = 0; i < STEPS; i++) column[i] = -scale + 2.0 * scale * i / (STEPS - 1);
    plvpor(x0, x1, y0, y1);
    plwind(0.0, 1.0, -scale, scale);
    plimagefr((PLFLT_MATRIX)columns, 2, STEPS, 0.0, 1.0, -scale, scale, -scale, scale, -scale, scale,
              NULL, NULL);
    plcol0(COLOR_TEXT);
    plbox("bc", 0.0, 0, "bcmstv", 0.0, 0);
    plmtex("r", 5.0, 0.5, 0.5, "weight");
}

/* Column pointers into one rows × cols block (freed with free(columns[0]) and free(columns)). */
static PLFLT **alloc_columns(int rows, int cols) {
    PLFLT **columns = malloc((size_t)cols * sizeof *columns);
    PLFLT *block = malloc((size_t)rows * cols * sizeof *block);
    if (!columns || !block) {
        free(columns);
        free(block);
        return NULL;
    }
    for (int c = 0; c < cols; c++) columns[c] = block + (size_t)c * rows;
    return columns;
}

static void free_columns(PLFLT **columns) {
    if (!columns) return;
    free(columns[0]);
    free(columns);
}

int mlp_plot_heatmap_grid(const char *path, const float *values, int count, int unit_stride,
                      int rows, int cols, int stride, const char *title, mlp_error *error) {
    if (count < 1 || rows < 1 || cols < 1) return mlp_error_set(error, "%s: nothing to draw", path);
    PLFLT **columns = alloc_columns(rows, cols);
    if (!columns) return mlp_error_set(error, "%s: out of memory", path);
    figure f;
    if (figure_begin(&f, path, error) != 0) {
        free_columns(columns);
        return -1;
    }
    use_viridis();
    figure_title(title);
    double scale = largest_magnitude(values, count, unit_stride, rows * cols, stride);
    int grid_cols = (int)ceil(sqrt((double)count));
    int grid_rows = (count + grid_cols - 1) / grid_cols;
    int single = count == 1;
    double right = single ? 0.8 : 0.86;
    plschr(0.0, single ? 0.8 : (count > 36 ? 0.45 : 0.6));
    for (int u = 0; u < count; u++) {
        char label[32];
        snprintf(label, sizeof label, "unit %d", u);
        grid_viewport(u, grid_rows, grid_cols, single ? 0.04 : 0.0, right, 0.02, 0.92,
                      single ? 0.06 : 0.01, single ? 0.06 : 0.03, 1.0);
        draw_heatmap(values + (size_t)u * unit_stride, rows, cols, stride, scale, columns,
                     single ? NULL : label, single);
    }
    plschr(0.0, 0.8);
    draw_color_bar(right + 0.03, right + 0.06, 0.1, 0.86, scale);
    free_columns(columns);
    return figure_end(&f, error);
}

int mlp_plot_heatmap(const char *path, const float *values, int rows, int cols, int stride,
                 const char *title, mlp_error *error) {
    return mlp_plot_heatmap_grid(path, values, 1, 0, rows, cols, stride, title, error);
}
