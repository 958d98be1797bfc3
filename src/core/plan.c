/* The plan's decisions from the machine facts (pure), the defaults, and how a plan is applied
 * and shown. Measuring: plan_measure.c; the plan file: plan_file.c. See include/mlp/plan.h. */
#include "mlp/plan.h"

#include <stdio.h>
#include <string.h>

#include "gemm_driver.h" /* the variant's tile and blocking constants */
#include "mlp/network.h"

static long round_down(long value, long multiple) { return value / multiple * multiple; }

/* One cache-derived size: `floats` floats fit the budget, rounded down to `multiple`, at least
 * one `multiple`, at most `limit`; `limit` when the budget is unknown (0). */
static int fit(long budget_bytes, long floats_per_unit, long multiple, int limit) {
    if (budget_bytes <= 0 || floats_per_unit <= 0) return limit;
    long units = round_down(budget_bytes / (floats_per_unit * (long)sizeof(float)), multiple);
    if (units < multiple) units = multiple;
    return units < limit ? (int)units : limit;
}

mlp_gemm_blocking mlp_plan_derive_blocking(long l2_bytes, long l3_bytes, int mr, int nr,
                                           mlp_gemm_blocking limit) {
    /* a VM's L3 "per core" of hundreds of MB is not a cache size to block for */
    const long l3_sane = l3_bytes > 256L * 1024 * 1024 ? 0 : l3_bytes;
    mlp_gemm_blocking b;
    /* The KC × NR B panel: a quarter of L2, not BLIS's L1. This driver's tiles reuse a B panel
     * for only MC / (2·MR) row tiles and pay a store and reload of C for every extra k slice;
     * their 8 × 48 (AVX-512) or 4 × 24 (AVX2) register tile does 24 or 12 FMAs per row of B it
     * loads, which L2 feeds at full speed. Measured on Zen 5 (48 KiB L1d, one core, avx512):
     * the L1d rule's KC = 128 against KC = 512 ran 784 -> 128 at batch 64 at 175 against 216
     * GFLOP/s, 784 -> 600 at batch 256 at 187 against 198, the 1024 -> 1024 weight update at
     * batch 256 at 165 against 188 (docs/threads.md). */
    b.kc = fit(l2_bytes / 4, nr, 8, limit.kc);
    b.mc = fit(l2_bytes / 2, b.kc, mr, limit.mc); /* MC × KC A block: half of L2          */
    b.nc = fit(l3_sane / 2, b.kc, nr, limit.nc);  /* KC × NC B block: half of L3          */
    return b;
}

long mlp_plan_derive_split_flops(double fma_peak_gflops, double barrier_us) {
    if (fma_peak_gflops <= 0.0 || barrier_us <= 0.0) return MLP_PARALLEL_MIN_FLOPS_PER_THREAD;
    /* flops one core does in MLP_PLAN_SPLIT_HANDOFFS handoffs: GFLOP/s × µs = 10^3 flops */
    double flops = MLP_PLAN_SPLIT_HANDOFFS * barrier_us * fma_peak_gflops * 1e3;
    if (flops < (double)MLP_PLAN_SPLIT_MIN_FLOPS) return MLP_PLAN_SPLIT_MIN_FLOPS;
    if (flops > (double)MLP_PLAN_SPLIT_MAX_FLOPS) return MLP_PLAN_SPLIT_MAX_FLOPS;
    return (long)flops;
}

void mlp_plan_defaults(mlp_plan *plan, const mlp_kernel_table *kernels) {
    memset(plan, 0, sizeof *plan);
    snprintf(plan->variant, sizeof plan->variant, "%s", kernels->name);
    /* the brand string without its padding (CPUID pads it with spaces) */
    char *model = plan->machine.cpu_model;
    snprintf(model, sizeof plan->machine.cpu_model, "%s", mlp_kernels_cpu_features()->model);
    for (size_t length = strlen(model); length > 0 && model[length - 1] == ' '; length--)
        model[length - 1] = '\0';
    const gemm_driver *d = kernels->gemm_driver;
    if (d) plan->blocking = (mlp_gemm_blocking){d->kc, d->mc, d->nc};
    plan->min_flops_per_thread = MLP_PARALLEL_MIN_FLOPS_PER_THREAD;
    plan->source = MLP_PLAN_DEFAULTS;
}

void mlp_plan_apply(const mlp_plan *plan, mlp_network *network) {
    if (!plan) return; /* network_create's defaults stay */
    network->blocking = plan->blocking;
    network->min_flops_per_thread = plan->min_flops_per_thread;
}

static const char *source_name(mlp_plan_source source) {
    switch (source) {
    case MLP_PLAN_DEFAULTS: return "defaults";
    case MLP_PLAN_MEASURED: return "measured";
    case MLP_PLAN_WRITTEN: return "measured, written";
    case MLP_PLAN_READ: return "read";
    }
    return "?";
}

/* The threads layer l's GEMMs use in a step of `batch` rows with a team of `threads`. */
static int layer_workers(const mlp_plan *plan, const mlp_model *model, int l, int batch, int threads) {
    mlp_gemm_problem layer = {.m = batch, .n = model->sizes[l + 1], .k = model->sizes[l]};
    return mlp_parallel_gemm_workers(&layer, threads, plan->min_flops_per_thread);
}

void mlp_plan_print(FILE *out, const mlp_plan *plan, const mlp_model *model, int batch, int threads) {
    const mlp_machine_facts *m = &plan->machine;
    fprintf(out, "plan (%s%s%s):\n", source_name(plan->source), plan->file[0] ? " " : "", plan->file);
    fprintf(out, "  machine: %s; L1d %ld KiB, L2 %ld KiB, L3 %ld KiB (0: unknown)\n",
            m->cpu_model[0] ? m->cpu_model : "(unknown CPU)", m->l1d_bytes / 1024,
            m->l2_bytes / 1024, m->l3_bytes / 1024);
    fprintf(out, "  measured: FMA peak %.1f GFLOP/s per core (%s), handoff %.2f us (barrier + 16 KiB across cores, team of %d)",
            m->fma_peak_gflops, plan->variant, m->barrier_us, m->barrier_threads);
    if (plan->source == MLP_PLAN_MEASURED || plan->source == MLP_PLAN_WRITTEN)
        fprintf(out, ", in %.1f ms", plan->measure_seconds * 1e3);
    fprintf(out, "\n  GEMM blocking: KC %d, MC %d, NC %d\n", plan->blocking.kc, plan->blocking.mc,
            plan->blocking.nc);
    fprintf(out, "  split: a GEMM is split only at >= %ld flops per thread\n", plan->min_flops_per_thread);
    if (!model) return;
    fprintf(out, "  team: %d of %d threads at batch %d\n",
            mlp_network_useful_threads(model, batch, threads, plan->min_flops_per_thread), threads, batch);
    for (int l = 0; l < model->layer_count; l++) {
        int workers = layer_workers(plan, model, l, batch, threads);
        fprintf(out, "  layer %d (%d -> %d): %s\n", l, model->sizes[l], model->sizes[l + 1],
                workers > 1 ? "output columns split over the threads" : "one thread (the last)");
    }
}

/* A JSON string: quotes and backslashes escaped, control characters as '?'. */
static void write_json_string(FILE *out, const char *text) {
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') fputc('\\', out);
        fputc(*c < 0x20 ? '?' : *c, out);
    }
    fputc('"', out);
}

void mlp_plan_write_json(FILE *out, const mlp_plan *plan, const mlp_model *model, int batch,
                         int threads) {
    const mlp_machine_facts *m = &plan->machine;
    fprintf(out, "{\"source\": \"%s\", \"file\": ", source_name(plan->source));
    write_json_string(out, plan->file);
    fprintf(out, ", \"variant\": \"%s\", \"cpu_model\": ", plan->variant);
    write_json_string(out, m->cpu_model);
    fprintf(out,
            ", \"l1d_bytes\": %ld, \"l2_bytes\": %ld, \"l3_bytes\": %ld, "
            "\"fma_peak_gflops\": %.2f, \"barrier_us\": %.3f, \"barrier_threads\": %d, "
            "\"measure_seconds\": %.4f, \"kc\": %d, \"mc\": %d, \"nc\": %d, "
            "\"min_flops_per_thread\": %ld",
            m->l1d_bytes, m->l2_bytes, m->l3_bytes, m->fma_peak_gflops, m->barrier_us,
            m->barrier_threads, plan->measure_seconds, plan->blocking.kc, plan->blocking.mc,
            plan->blocking.nc, plan->min_flops_per_thread);
    if (model) {
        fprintf(out, ", \"team\": %d, \"layer_threads\": [",
                mlp_network_useful_threads(model, batch, threads, plan->min_flops_per_thread));
        for (int l = 0; l < model->layer_count; l++)
            fprintf(out, "%s%d", l ? ", " : "", layer_workers(plan, model, l, batch, threads));
        fprintf(out, "], \"split_dimension\": \"output columns\"");
    }
    fprintf(out, "}");
}
