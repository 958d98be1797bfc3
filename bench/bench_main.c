/* The `bench` program: describe the machine in the run's context, register the benchmarks,
 * run the ones --benchmark_filter selects. Options are Google Benchmark's (--help lists them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_context.h"
#include "bench_gemm.h"
#include "bench_micro.h"
#include "bench_shim.h"
#include "bench_training_step.h"
#include "fma_peak.h"
#include "git_commit.h" /* MLP_GIT_COMMIT, generated at build time by bench/git_commit.cmake */
#include "mlp/kernels.h"
#ifdef MLP_BENCH_HAVE_OPENBLAS
#include "reference_blas.h"
#endif

static void append(char *text, size_t size, const char *word) {
    size_t used = strlen(text);
    snprintf(text + used, size - used, "%s%s", used ? " " : "", word);
}

static void add_cpu_context(void) {
    const mlp_cpu_features *f = mlp_kernels_cpu_features();
    bench_add_context("cpu_model", f->model[0] ? f->model : "unknown");
    char features[256] = "";
    const struct { int present; const char *name; } flags[] = {
        {f->sse2, "sse2"},         {f->avx, "avx"},           {f->avx2, "avx2"},
        {f->fma, "fma"},           {f->avx512f, "avx512f"},   {f->avx512bw, "avx512bw"},
        {f->avx512vl, "avx512vl"}, {f->avx512dq, "avx512dq"}, {f->os_saves_ymm, "os_ymm"},
        {f->os_saves_zmm, "os_zmm"}, {f->neon, "neon"}, {f->avx512_bf16, "avx512_bf16"}, {f->neon_bf16, "neon_bf16"},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (flags[i].present) append(features, sizeof features, flags[i].name);
    bench_add_context("cpu_features", features);
}

static void add_build_context(void) {
#if defined(__clang__)
    bench_add_context("compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
    bench_add_context("compiler", "gcc " __VERSION__);
#else
    bench_add_context("compiler", "unknown C compiler");
#endif
    bench_add_context("build_type", MLP_BUILD_TYPE);
    bench_add_context("git_commit", MLP_GIT_COMMIT);
}

/* "scalar avx2 avx512(unsupported: ...)": the variants compiled in, and why any cannot run. */
static void add_kernel_context(void) {
    char variants[512] = "";
    int count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    for (int v = 0; v < count; v++) {
        const char *reason;
        char word[160];
        if (mlp_kernels_supported(tables[v], &reason)) snprintf(word, sizeof word, "%s", tables[v]->name);
        else snprintf(word, sizeof word, "%s(unsupported: %s)", tables[v]->name, reason);
        append(variants, sizeof variants, word);
    }
    bench_add_context("kernel_variants", variants);
}

/* The per-ISA FMA peaks the GEMM rows' peak_fraction divides by, measured now, once. */
static void add_peak_context(void) {
    int count;
    const mlp_kernel_variant *variants = mlp_kernels_variants(&count);
    for (int i = 0; i < count; i++) {
        char key[64], value[160];
        const char *reason;
        snprintf(key, sizeof key, "fma_peak_gflops_%s", variants[i].name);
        if (fma_peak_supported(variants[i].name, &reason))
            snprintf(value, sizeof value, "%.4g", fma_peak_flops(variants[i].name) * 1e-9);
        else
            snprintf(value, sizeof value, "unsupported: %s", reason);
        bench_add_context(key, value);
    }
}

static void add_openblas_context(void) {
#ifdef MLP_BENCH_HAVE_OPENBLAS
    reference_blas_init();
    bench_add_context("openblas_core", reference_blas_core());
    bench_add_context("openblas_config", reference_blas_config());
    const char *coretype = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    bench_add_context("OPENBLAS_CORETYPE", coretype ? coretype : "(unset)");
    bench_add_context("OPENBLAS_L2_SIZE", l2 ? l2 : "(unset)");
#else
    bench_add_context("openblas_core", "(not built: OpenBLAS not found by CMake)");
#endif
}

int main(int argc, char **argv) {
    add_cpu_context();
    add_build_context();
    add_kernel_context();
    add_peak_context();
    add_openblas_context();
    bench_add_machine_context(); /* bench_context.c */
    bench_register_fma_peak();
    bench_register_gemm();
    bench_register_micro();
    bench_register_training_step(argc, argv);
    return bench_run(&argc, argv);
}
