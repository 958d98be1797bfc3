/* `trainer info`: the CPU, its features, the kernel variants, the topology and the binding. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

int command_info(int argc, char **argv, int first) {
    runtime_options runtime;
    runtime_options_init(&runtime);
    cli_option options[RUNTIME_OPTION_COUNT] = {0};
    runtime_options_describe(&runtime, options);
    cli_command command = {"trainer info [--threads N] [--oversubscribe] [--kernel V] [--bind core|none] [--plan FILE]",
                           "Prints the CPU model and features, the kernel variants built in (and which\n"
                           "run here), the one chosen, the hwloc topology, the thread binding and the\n"
                           "measured plan (with the default network's layers at batch 64).",
                           options, RUNTIME_OPTION_COUNT, NULL};
    cli_parse_or_exit(&command, argc, argv, first);

    const mlp_cpu_features *f = mlp_kernels_cpu_features();
    printf("cpu: %s\n", f->model[0] ? f->model : "(unknown)");
    printf("features:");
    const struct { const char *name; int present; } flags[] = {
        {"sse2", f->sse2}, {"avx", f->avx}, {"avx2", f->avx2}, {"fma", f->fma},
        {"avx512f", f->avx512f}, {"avx512bw", f->avx512bw}, {"avx512vl", f->avx512vl},
        {"avx512dq", f->avx512dq}, {"os-ymm", f->os_saves_ymm}, {"os-zmm", f->os_saves_zmm},
        {"neon", f->neon}, {"avx512_bf16", f->avx512_bf16}, {"neon-bf16", f->neon_bf16},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (flags[i].present) printf(" %s", flags[i].name);
    printf("\nkernel variants:\n");
    int count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    for (int i = 0; i < count; i++) {
        const char *reason;
        int ok = mlp_kernels_supported(tables[i], &reason);
        printf("  %-7s %s\n", tables[i]->name, ok ? "runs here" : reason);
    }
    mlp_error error;
    runtime.verbose = 0;
    const mlp_kernel_table *chosen = mlp_kernels_select(runtime.kernel, error.message, sizeof error.message);
    if (!chosen) cli_fail(CLI_EXIT_RUNTIME, &error);
    printf("chosen: %s%s\n", chosen->name,
           strcmp(runtime.kernel, "auto") == 0 ? " (auto: MLP_KERNEL or the best)" : "");
    const mlp_kernel_table *bf16 = mlp_kernels_best_for(MLP_PRECISION_BF16, NULL);
    printf("--precision bf16: %s\n", bf16 ? bf16->name : "no variant here (--kernel scalar: the slow reference)");
    mlp_affinity_print_topology(stdout);
    const affinity_limits *limits = mlp_affinity_available();
    char quota[32] = "none";
    if (limits->quota_cpus > 0) snprintf(quota, sizeof quota, "%.2f CPUs", limits->quota_cpus);
    printf("available cores: %d (limit: %s; physical cores %d, cores in the affinity mask %d, "
           "cgroup CPU quota %s)\n", limits->cores, limits->limit, limits->physical_cores,
           limits->mask_cores, quota);
    affinity_thread_plan thread_plan = mlp_affinity_plan_threads(runtime.threads, runtime.oversubscribe, 1);
    runtime.threads = thread_plan.used;
    printf("threads: %d%s\n", runtime.threads,
           thread_plan.capped ? " (capped at the available cores; --oversubscribe runs more)" : "");
    mlp_affinity_bind_team(runtime.threads, strcmp(runtime.bind, "none") == 0 ? AFFINITY_NONE : AFFINITY_CORE,
                       stdout);
    mlp_plan plan;
    if (mlp_plan_resolve(runtime.plan_file, chosen, runtime.threads, &plan, &error) != 0)
        cli_fail(CLI_EXIT_RUNTIME, &error);
    /* the layers of the default network (trainer's --layers default), for the split decisions */
    mlp_model default_network = {.layer_count = 3, .sizes = {784, 128, 64, 10}};
    mlp_plan_print(stdout, &plan, &default_network, 64, runtime.threads);
    return 0;
}
