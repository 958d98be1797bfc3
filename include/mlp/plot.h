/* The study's figures, drawn as PNG files with PLplot's pngcairo device: learning curves of one or
 * several runs, a panel per configuration for layer-size sweeps, and weight heatmaps (viridis).
 *
 * Every function checks first that the pngcairo driver is installed (without it plinit() aborts
 * the whole process) and returns -1 with a one-line error instead. A build without PLplot
 * (MLP_WITH_PLOTS=OFF) keeps the functions; they fail with "built without PLplot". */
#ifndef MLP_PLOT_H
#define MLP_PLOT_H

#include "mlp/common.h"
#include "mlp/run.h"
#include "mlp/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every figure is PLOT_WIDTH × PLOT_HEIGHT pixels. */
#define MLP_PLOT_WIDTH 800
#define MLP_PLOT_HEIGHT 600

/* 0 when figures can be drawn here; -1 and the reason otherwise. */
int mlp_plot_available(mlp_error *error);

/* The learning curves of one training run. */
typedef struct mlp_plot_run {
    const char *name;               /* legend label (a folder, a layer list)   */
    const mlp_epoch_metrics *history;   /* one entry per epoch                     */
    int count;
} mlp_plot_run;

/* Two panels: left, the training cost (solid) and validation cost (dashed) per epoch; right, the
 * validation accuracy per epoch. With one run the costs are blue (training) and orange
 * (validation), as in the study; with several, each run gets its own colour. */
int mlp_plot_learning_curves(const char *path, const mlp_plot_run *runs, int run_count, const char *title,
                         mlp_error *error);

/* One panel per run (a sweep's configurations), each with its training and validation cost on a
 * shared cost axis, so the panels compare at a glance. */
int mlp_plot_cost_panels(const char *path, const mlp_plot_run *runs, int run_count, const char *title,
                     mlp_error *error);

/* A rows × cols heatmap of values[(r * cols + c) * stride] (row 0 at the top) with a colour bar:
 * viridis over a scale symmetric around zero, from −max|v| (dark blue) through 0 (green) to
 * +max|v| (yellow), so negative and positive weights read apart at a glance. */
int mlp_plot_heatmap(const char *path, const float *values, int rows, int cols, int stride,
                 const char *title, mlp_error *error);

/* A grid of `count` heatmaps, heatmap u reading values[u * unit_stride + (r * cols + c) * stride]:
 * for a first layer W [inputs × units], unit_stride = 1 and stride = units. All share one colour
 * scale, symmetric around zero, shown by one colour bar. */
int mlp_plot_heatmap_grid(const char *path, const float *values, int count, int unit_stride,
                      int rows, int cols, int stride, const char *title, mlp_error *error);

/* curves.png in a run's folder as an observer of the run (include/mlp/run.h): the learning
 * curves redrawn after every epoch, labelled `name` and titled `title`. A figure that cannot be
 * drawn is one warning on stderr (the first time), never a failed run. */
typedef struct mlp_plot_curves_context {
    const char *name, *title;
    int warned;
} mlp_plot_curves_context;
mlp_run_observer mlp_plot_curves_observer(mlp_plot_curves_context *context);

#ifdef __cplusplus
}
#endif
#endif
