/* Run-time choice of a kernel variant.
 *
 * x86-64: CPUID says what the processor implements; XGETBV says whether the operating system
 * saves the YMM (AVX) and ZMM/opmask (AVX-512) registers on a context switch. A variant is usable
 * only when both agree. AArch64: getauxval(AT_HWCAP) reports Advanced SIMD (always present on
 * Linux/AArch64, checked anyway). This file is compiled for the baseline ISA: it never executes
 * an instruction the CPU may lack. The variants and what each requires are kernels/variants.def;
 * a variant runs where the detected feature mask holds all its required bits. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define MLP_X86 1
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1 << 14)
#endif
#endif

volatile float mlp_fma_peak_multiplier = 0.999999f;
volatile float mlp_fma_peak_addend = 1e-6f;

static mlp_cpu_features detected;
static int detected_done;

#ifdef MLP_X86
/* XGETBV(0): bits of XCR0 = register state the OS saves. Encoded as bytes so this file needs no
 * -mxsave. Only called when CPUID reports OSXSAVE. */
static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void detect_x86(mlp_cpu_features *f) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return;
    f->sse2 = (edx >> 26) & 1;
    int osxsave = (ecx >> 27) & 1;
    f->avx = (ecx >> 28) & 1;
    f->fma = (ecx >> 12) & 1;
    if (osxsave) {
        unsigned long long xcr0 = read_xcr0();
        f->os_saves_ymm = (xcr0 & 0x6) == 0x6;            /* XMM and YMM state */
        f->os_saves_zmm = (xcr0 & 0xe6) == 0xe6;          /* plus opmask, ZMM_Hi256, Hi16_ZMM */
    }
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        f->avx2 = (ebx >> 5) & 1;
        f->avx512f = (ebx >> 16) & 1;
        f->avx512dq = (ebx >> 17) & 1;
        f->avx512bw = (ebx >> 30) & 1;
        f->avx512vl = (ebx >> 31) & 1;
        if (eax >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx))
            f->avx512_bf16 = (eax >> 5) & 1;
    }
    unsigned int brand[12];
    if (__get_cpuid(0x80000000, &eax, &ebx, &ecx, &edx) && eax >= 0x80000004) {
        for (unsigned int leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002 + leaf, &brand[leaf * 4], &brand[leaf * 4 + 1],
                        &brand[leaf * 4 + 2], &brand[leaf * 4 + 3]);
        memcpy(f->model, brand, sizeof brand);
        f->model[sizeof brand] = '\0';
        /* trim leading spaces some vendors pad with */
        char *start = f->model;
        while (*start == ' ') start++;
        memmove(f->model, start, strlen(start) + 1);
    }
}
#endif

/* The features, their bit, name and field: the mask and the reasons are derived from here. */
static const struct cpu_feature_name {
    unsigned bit;
    size_t field; /* offsetof(cpu_features, ...) */
    const char *name;
    int os_state; /* 1: register state the OS must save, not an instruction set */
} feature_names[] = {
    {MLP_CPU_SSE2, offsetof(mlp_cpu_features, sse2), "SSE2", 0},
    {MLP_CPU_AVX, offsetof(mlp_cpu_features, avx), "AVX", 0},
    {MLP_CPU_AVX2, offsetof(mlp_cpu_features, avx2), "AVX2", 0},
    {MLP_CPU_FMA, offsetof(mlp_cpu_features, fma), "FMA", 0},
    {MLP_CPU_AVX512F, offsetof(mlp_cpu_features, avx512f), "AVX-512F", 0},
    {MLP_CPU_AVX512BW, offsetof(mlp_cpu_features, avx512bw), "AVX-512BW", 0},
    {MLP_CPU_AVX512VL, offsetof(mlp_cpu_features, avx512vl), "AVX-512VL", 0},
    {MLP_CPU_AVX512DQ, offsetof(mlp_cpu_features, avx512dq), "AVX-512DQ", 0},
    {MLP_CPU_OS_YMM, offsetof(mlp_cpu_features, os_saves_ymm), "AVX (YMM)", 1},
    {MLP_CPU_OS_ZMM, offsetof(mlp_cpu_features, os_saves_zmm), "AVX-512 (ZMM)", 1},
    {MLP_CPU_NEON, offsetof(mlp_cpu_features, neon), "AArch64 Advanced SIMD", 0},
    {MLP_CPU_AVX512_BF16, offsetof(mlp_cpu_features, avx512_bf16), "AVX512_BF16", 0},
    {MLP_CPU_NEON_BF16, offsetof(mlp_cpu_features, neon_bf16), "BF16 (FEAT_BF16)", 0},
};
enum { FEATURE_COUNT = sizeof feature_names / sizeof feature_names[0] };

const mlp_cpu_features *mlp_kernels_cpu_features(void) {
    if (!detected_done) {
        memset(&detected, 0, sizeof detected);
#ifdef MLP_X86
        detect_x86(&detected);
#elif defined(__aarch64__) && defined(__linux__)
        detected.neon = (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
        detected.neon_bf16 = (getauxval(AT_HWCAP2) & HWCAP2_BF16) != 0;
        snprintf(detected.model, sizeof detected.model, "AArch64");
#elif defined(__aarch64__)
        detected.neon = 1;
#endif
        for (int i = 0; i < FEATURE_COUNT; i++)
            if (*(const int *)((const char *)&detected + feature_names[i].field))
                detected.mask |= feature_names[i].bit;
        detected_done = 1;
    }
    return &detected;
}

/* The registry (variants.def): every variant, its required features, its table where built. */
static const mlp_kernel_variant variants[] = {
#define MLP_KERNEL_VARIANT(name, arch, required, flags)                                        \
    {#name, (required), MLP_KERNEL_BUILT_OR(arch, &kernel_table_##name, NULL)},
#include "variants.def"
};
enum { VARIANT_COUNT = sizeof variants / sizeof variants[0] };

static const mlp_kernel_table *const compiled_tables[] = {
#define MLP_KERNEL_VARIANT(name, arch, required, flags)                                        \
    MLP_KERNEL_IF_BUILT(arch, &kernel_table_##name, )
#include "variants.def"
};

/* "auto|scalar|avx2|..." and "scalar, avx2, ... or neon", from the registry. */
static const char choices[] = "auto"
#define MLP_KERNEL_VARIANT(name, arch, required, flags) "|" #name
#include "variants.def"
    ;

const mlp_kernel_variant *mlp_kernels_variants(int *count) {
    *count = VARIANT_COUNT;
    return variants;
}

const char *mlp_kernels_variant_choices(void) { return choices; }

const mlp_kernel_table *const *mlp_kernels_compiled(int *count) {
    *count = (int)(sizeof compiled_tables / sizeof compiled_tables[0]);
    return compiled_tables;
}

/* Appends the names of the features of `missing` whose os_state is `os_state`, comma-separated;
 * returns how many. */
static int append_feature_names(char *text, size_t size, unsigned missing, int os_state) {
    int named = 0;
    for (int i = 0; i < FEATURE_COUNT; i++) {
        if (!(missing & feature_names[i].bit) || feature_names[i].os_state != os_state) continue;
        size_t used = strlen(text);
        snprintf(text + used, size - used, "%s%s", named ? ", " : "", feature_names[i].name);
        named++;
    }
    return named;
}

int mlp_kernels_cpu_supports(unsigned required, const char **reason) {
    static _Thread_local char why[160];
    const unsigned missing = required & ~mlp_kernels_cpu_features()->mask;
    if (missing == 0) {
        if (reason) *reason = NULL;
        return 1;
    }
    /* an instruction set the CPU lacks first; the OS state matters only when the CPU has it */
    snprintf(why, sizeof why, "this CPU lacks ");
    if (append_feature_names(why, sizeof why, missing, 0) == 0) {
        snprintf(why, sizeof why, "the OS does not enable ");
        append_feature_names(why, sizeof why, missing, 1);
        size_t used = strlen(why);
        snprintf(why + used, sizeof why - used, " state");
    }
    if (reason) *reason = why;
    return 0;
}

int mlp_kernels_supported(const mlp_kernel_table *table, const char **reason) {
    for (int i = 0; i < VARIANT_COUNT; i++)
        if (variants[i].table == table && table != NULL)
            return mlp_kernels_cpu_supports(variants[i].required_cpu_features, reason);
    if (reason) *reason = "not a kernel variant of this binary";
    return 0;
}

const mlp_kernel_table *mlp_kernels_best(void) {
    int count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    for (int i = count - 1; i >= 0; i--)
        if (mlp_kernels_supported(tables[i], NULL)) return tables[i];
    return &kernel_table_scalar;
}

const mlp_kernel_table *mlp_kernels_best_for(mlp_precision precision, const char **reason) {
    if (precision == MLP_PRECISION_FP32) return mlp_kernels_best();
    int count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    for (int i = count - 1; i >= 0; i--)
        if (tables[i]->gemm_bf16 != NULL && tables[i] != &kernel_table_scalar &&
            mlp_kernels_supported(tables[i], NULL))
            return tables[i];
    if (reason)
        *reason = "this CPU has no BF16 dot-product instructions (AVX512_BF16 on x86-64, "
                  "FEAT_BF16 on AArch64), and BF16 is never emulated";
    return NULL;
}

const mlp_kernel_table *mlp_kernels_find(const char *name) {
    int count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    for (int i = 0; i < count; i++)
        if (strcmp(tables[i]->name, name) == 0) return tables[i];
    return NULL;
}

/* "scalar, avx2, avx512 or neon": the registry's names for the unknown-variant message. */
static void variant_list_text(char *text, size_t size) {
    text[0] = '\0';
    for (int i = 0; i < VARIANT_COUNT; i++) {
        size_t used = strlen(text);
        snprintf(text + used, size - used, "%s%s",
                 i == 0 ? "" : i == VARIANT_COUNT - 1 ? " or " : ", ", variants[i].name);
    }
}

const mlp_kernel_table *mlp_kernels_select(const char *name, char *error, size_t error_size) {
    const char *source = "--kernel";
    if (name == NULL || name[0] == '\0' || strcmp(name, "auto") == 0) {
        name = getenv("MLP_KERNEL");
        source = "MLP_KERNEL";
        if (name == NULL || name[0] == '\0' || strcmp(name, "auto") == 0) return mlp_kernels_best();
    }
    const mlp_kernel_table *table = mlp_kernels_find(name);
    if (table == NULL) {
        int known = 0;
        for (int i = 0; i < VARIANT_COUNT; i++) known |= strcmp(variants[i].name, name) == 0;
        if (!known) {
            char expected[128];
            variant_list_text(expected, sizeof expected);
            snprintf(error, error_size, "%s: unknown kernel variant '%s' (expected %s)", source,
                     name, expected);
        } else {
            snprintf(error, error_size, "%s: kernel variant '%s' is not built into this binary",
                     source, name);
        }
        return NULL;
    }
    const char *reason;
    if (!mlp_kernels_supported(table, &reason)) {
        snprintf(error, error_size, "%s: kernel variant '%s' cannot run here: %s", source, name,
                 reason);
        return NULL;
    }
    return table;
}

void mlp_kernels_activation_forward(const mlp_kernel_table *table, mlp_activation activation,
                                const float *x, float *y, size_t count) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: table->relu_forward(x, y, count); return;
    case MLP_ACTIVATION_SIGMOID: table->sigmoid_forward(x, y, count); return;
    case MLP_ACTIVATION_TANH: table->tanh_forward(x, y, count); return;
    case MLP_ACTIVATION_NONE: break;
    }
    if (x != y) memmove(y, x, count * sizeof *y);
}

void mlp_kernels_activation_backward(const mlp_kernel_table *table, mlp_activation activation,
                                 const float *y, const float *dy, float *dx, size_t count) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: table->relu_backward(y, dy, dx, count); return;
    case MLP_ACTIVATION_SIGMOID: table->sigmoid_backward(y, dy, dx, count); return;
    case MLP_ACTIVATION_TANH: table->tanh_backward(y, dy, dx, count); return;
    case MLP_ACTIVATION_NONE: break;
    }
    if (dx != dy) memmove(dx, dy, count * sizeof *dx);
}
