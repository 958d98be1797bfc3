/* See bench_context.h. Keys (all strings, Google Benchmark's AddCustomContext):
 *   cpu_vendor, cpu_family, cpu_model_number, cpu_stepping, cpu_signature  CPUID leaf 1 (x86,
 *       with the extended family and model folded in as the SDM says), or the MIDR fields of
 *       /proc/cpuinfo (AArch64: implementer, part, variant, revision)
 *   cpu_isa_extra      AVX-512 extensions and others beyond cpu_features (CPUID leaf 7)
 *   cache_l1d_bytes, cache_l2_bytes, cache_l3_bytes  sysconf (glibc reads them from CPUID);
 *       cache_l3_note flags an L3 above 128 MiB (no real L3 slice is that large: the VMs here
 *       report ~508 MiB, hwloc agrees, see "caches"); never derive blocking from it
 *   kernel_default     the variant `auto` picks (MLP_KERNEL when set, else the best)
 *   available_cores, available_cores_limit, cgroup_cpu_quota  the thread plan's cap (affinity.h)
 *   plan               what the thread and blocking plan is in this build */
#define _GNU_SOURCE
#include "bench_context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_shim.h"
#include "core/affinity.h"
#include "mlp/kernels.h"
#include "mlp/network.h" /* MLP_PARALLEL_MIN_FLOPS_PER_THREAD */

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define BENCH_X86 1
#endif

static void add_int(const char *key, long long value) {
    char text[32];
    snprintf(text, sizeof text, "%lld", value);
    bench_add_context(key, text);
}

static void append(char *text, size_t size, const char *word) {
    size_t used = strlen(text);
    snprintf(text + used, size - used, "%s%s", used ? " " : "", word);
}

#ifdef BENCH_X86
static void add_cpu_identity(void) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    char vendor[13] = "";
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(vendor, &b, 4);
        memcpy(vendor + 4, &d, 4);
        memcpy(vendor + 8, &c, 4);
    }
    bench_add_context("cpu_vendor", vendor[0] ? vendor : "unknown");
    unsigned max_leaf = a;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    unsigned stepping = a & 0xf, model = (a >> 4) & 0xf, family = (a >> 8) & 0xf;
    unsigned ext_model = (a >> 16) & 0xf, ext_family = (a >> 20) & 0xff;
    if (family == 0xf) family += ext_family;
    if (family == 0x6 || family >= 0xf) model += ext_model << 4;
    add_int("cpu_family", family);
    add_int("cpu_model_number", model);
    add_int("cpu_stepping", stepping);
    char signature[64];
    snprintf(signature, sizeof signature, "0x%08x (family 0x%x model 0x%x stepping %u)", a, family,
             model, stepping);
    bench_add_context("cpu_signature", signature);

    char extra[256] = "";
    if (max_leaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        const struct { unsigned reg, bit; const char *name; } bits[] = {
            {1, 28, "avx512cd"},     {1, 21, "avx512ifma"},    {2, 1, "avx512vbmi"},
            {2, 6, "avx512vbmi2"},   {2, 11, "avx512_vnni"},   {2, 12, "avx512_bitalg"},
            {2, 14, "avx512_vpopcntdq"}, {2, 8, "gfni"},       {2, 9, "vaes"},
            {3, 23, "avx512_fp16"},  {3, 22, "amx_bf16"},      {3, 24, "amx_tile"},
            {3, 25, "amx_int8"},
        };
        unsigned regs[4] = {a, b, c, d};
        for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
            if (regs[bits[i].reg] >> bits[i].bit & 1) append(extra, sizeof extra, bits[i].name);
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
            if (a >> 4 & 1) append(extra, sizeof extra, "avx_vnni");
            if (a >> 5 & 1) append(extra, sizeof extra, "avx512_bf16");
        }
    }
    bench_add_context("cpu_isa_extra", extra[0] ? extra : "(none)");
}
#else
/* AArch64 and others: the MIDR fields Linux prints in /proc/cpuinfo. */
static void add_cpu_identity(void) {
    static const struct { const char *field, *key; } fields[] = {
        {"CPU implementer", "cpu_vendor"}, {"CPU part", "cpu_model_number"},
        {"CPU variant", "cpu_family"},     {"CPU revision", "cpu_stepping"},
    };
    FILE *file = fopen("/proc/cpuinfo", "r");
    char line[512], features[512] = "";
    int found[4] = {0};
    while (file && fgets(line, sizeof line, file)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        value[strcspn(value, "\n")] = '\0';
        for (size_t i = 0; i < 4; i++)
            if (!found[i] && strncmp(line, fields[i].field, strlen(fields[i].field)) == 0) {
                bench_add_context(fields[i].key, value);
                found[i] = 1;
            }
        if (!features[0] && strncmp(line, "Features", 8) == 0) snprintf(features, sizeof features, "%s", value);
    }
    if (file) fclose(file);
    bench_add_context("cpu_isa_extra", features[0] ? features : "(unknown)");
}
#endif

static void add_caches(void) {
    long l1d = -1, l2 = -1, l3 = -1;
#ifdef _SC_LEVEL1_DCACHE_SIZE
    l1d = sysconf(_SC_LEVEL1_DCACHE_SIZE);
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
    add_int("cache_l1d_bytes", l1d > 0 ? l1d : 0);
    add_int("cache_l2_bytes", l2 > 0 ? l2 : 0);
    add_int("cache_l3_bytes", l3 > 0 ? l3 : 0);
    const long suspect = 128L << 20;
    if (l3 > suspect)
        bench_add_context("cache_l3_note", "suspect: above 128 MiB, larger than any real L3 slice "
                                           "(VMs misreport it); do not derive blocking from it");
    else
        bench_add_context("cache_l3_note", l3 > 0 ? "plausible" : "unknown (0)");
}

static void add_plan(void) {
    char reason[256];
    const mlp_kernel_table *chosen = mlp_kernels_select("auto", reason, sizeof reason);
    const char *env = getenv("MLP_KERNEL");
    char text[320];
    if (chosen)
        snprintf(text, sizeof text, "%s%s%s%s", chosen->name, env ? " (MLP_KERNEL=" : " (the best here)",
                 env ? env : "", env ? ")" : "");
    else
        snprintf(text, sizeof text, "none: %s", reason);
    bench_add_context("kernel_default", text);

    const affinity_limits *limits = mlp_affinity_available();
    add_int("available_cores", limits->cores);
    snprintf(text, sizeof text, "%s (physical cores %d, cores in the affinity mask %d)", limits->limit,
             limits->physical_cores, limits->mask_cores);
    bench_add_context("available_cores_limit", text);
    if (limits->quota_cpus > 0) snprintf(text, sizeof text, "%.3g CPUs", limits->quota_cpus);
    else snprintf(text, sizeof text, "none");
    bench_add_context("cgroup_cpu_quota", text);
    snprintf(text, sizeof text,
             "threads: at most one per available core (step/ cases run 1..%d); a GEMM is split "
             "only above %d flops per thread (MLP_PARALLEL_MIN_FLOPS_PER_THREAD); GEMM blocking "
             "(KC/MC/NC) is each variant's compile-time constants, not recorded here",
             limits->cores, MLP_PARALLEL_MIN_FLOPS_PER_THREAD);
    bench_add_context("plan", text);
}

void bench_add_machine_context(void) {
    add_cpu_identity();
    add_caches();
    add_plan();
}
