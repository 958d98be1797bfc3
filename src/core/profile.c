/* Reporting of the per-layer, per-kernel times collected by the network when profiling. */
#include "mlp/profile.h"

static const char *const kernel_names[MLP_PROFILE_KERNEL_COUNT] = {
    "forward_gemm", "weight_gradient", "bias_gradient", "input_gradient",
    "softmax_cross_entropy", "sgd_update", "weight_gradient+sgd", "bias_gradient+sgd",
    "gather_batch",
};

/* The same rows when the GEMMs run table->gemm_bf16 (the elementwise kernels stay float). */
static const char *const bf16_kernel_names[MLP_PROFILE_KERNEL_COUNT] = {
    "forward_gemm_bf16", "weight_gradient_bf16", "bias_gradient", "input_gradient_bf16",
    "softmax_cross_entropy", "sgd_update", "weight_gradient_bf16+sgd", "bias_gradient+sgd",
    "gather_batch",
};

const char *mlp_profile_kernel_name(mlp_profile_kernel kernel) { return kernel_names[kernel]; }

const char *mlp_profile_kernel_name_at(mlp_profile_kernel kernel, mlp_precision precision) {
    return precision == MLP_PRECISION_BF16 ? bf16_kernel_names[kernel] : kernel_names[kernel];
}

static double total_seconds(const mlp_network_profile *profile, const mlp_model *model) {
    double total = 0.0;
    for (int l = 0; l < model->layer_count; l++)
        for (int k = 0; k < MLP_PROFILE_KERNEL_COUNT; k++) total += profile->entries[l][k].seconds;
    return total;
}

void mlp_profile_print(const mlp_network_profile *profile, const mlp_model *model, const char *variant,
                   FILE *out) {
    double total = total_seconds(profile, model);
    fprintf(out,
            "\nprofile (kernel variant %s, %s GEMMs; share of all profiled time: the step's kernels "
            "and the batch gather):\n",
            variant, profile->precision == MLP_PRECISION_BF16 ? "BF16 (gemm_bf16)" : "FP32");
    fprintf(out, "%-10s %-24s %10s %11s %7s %9s\n", "layer", "kernel", "calls", "seconds", "share",
            "GFLOP/s");
    for (int l = 0; l < model->layer_count; l++)
        for (int k = 0; k < MLP_PROFILE_KERNEL_COUNT; k++) {
            const mlp_profile_entry *e = &profile->entries[l][k];
            if (e->calls == 0) continue;
            char layer[32];
            snprintf(layer, sizeof layer, "%d:%d->%d", l, model->sizes[l], model->sizes[l + 1]);
            fprintf(out, "%-10s %-24s %10ld %11.4f %6.1f%% ", layer,
                    mlp_profile_kernel_name_at((mlp_profile_kernel)k, profile->precision), e->calls,
                    e->seconds, total > 0 ? 100.0 * e->seconds / total : 0.0);
            if (e->flops > 0 && e->seconds > 0) fprintf(out, "%9.1f\n", e->flops / e->seconds * 1e-9);
            else fprintf(out, "%9s\n", "-");
        }
    fprintf(out, "%-10s %-24s %10s %11.4f\n", "all", "", "", total);
}

void mlp_profile_write_json(const mlp_network_profile *profile, const mlp_model *model,
                        const char *variant, FILE *out) {
    double total = total_seconds(profile, model);
    int first = 1;
    fprintf(out, "[");
    for (int l = 0; l < model->layer_count; l++)
        for (int k = 0; k < MLP_PROFILE_KERNEL_COUNT; k++) {
            const mlp_profile_entry *e = &profile->entries[l][k];
            if (e->calls == 0) continue;
            fprintf(out,
                    "%s\n    {\"layer\": %d, \"inputs\": %d, \"outputs\": %d, \"kernel\": \"%s\", "
                    "\"variant\": \"%s\", \"calls\": %ld, \"seconds\": %.6f, \"share\": %.4f, "
                    "\"gflops\": %.3f}",
                    first ? "" : ",", l, model->sizes[l], model->sizes[l + 1],
                    mlp_profile_kernel_name_at((mlp_profile_kernel)k, profile->precision),
                    variant, e->calls, e->seconds, total > 0 ? e->seconds / total : 0.0,
                    e->flops > 0 && e->seconds > 0 ? e->flops / e->seconds * 1e-9 : 0.0);
            first = 0;
        }
    fprintf(out, "\n  ]");
}
