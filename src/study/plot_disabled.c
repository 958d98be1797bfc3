/* The figure functions of a build without PLplot (MLP_WITH_PLOTS=OFF, e.g. the aarch64 cross
 * build): they exist, so the subcommands do too, and each says why it cannot draw. */
#include "mlp/plot.h"

int mlp_plot_available(mlp_error *error) {
    return mlp_error_set(error, "this trainer was built without PLplot (MLP_WITH_PLOTS=OFF): no figures");
}

int mlp_plot_learning_curves(const char *path, const mlp_plot_run *runs, int run_count, const char *title,
                         mlp_error *error) {
    (void)path, (void)runs, (void)run_count, (void)title;
    return mlp_plot_available(error);
}

int mlp_plot_cost_panels(const char *path, const mlp_plot_run *runs, int run_count, const char *title,
                     mlp_error *error) {
    (void)path, (void)runs, (void)run_count, (void)title;
    return mlp_plot_available(error);
}

int mlp_plot_heatmap(const char *path, const float *values, int rows, int cols, int stride,
                 const char *title, mlp_error *error) {
    (void)path, (void)values, (void)rows, (void)cols, (void)stride, (void)title;
    return mlp_plot_available(error);
}

int mlp_plot_heatmap_grid(const char *path, const float *values, int count, int unit_stride,
                      int rows, int cols, int stride, const char *title, mlp_error *error) {
    (void)path, (void)values, (void)count, (void)unit_stride, (void)rows, (void)cols, (void)stride,
        (void)title;
    return mlp_plot_available(error);
}
