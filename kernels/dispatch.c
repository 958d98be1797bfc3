/* Run-time choice of a kernel variant.
 *
 * x86-64: CPUID says what the processor implements; XGETBV says whether the operating system
 * saves the YMM (AVX) and ZMM/opmask (AVX-512) registers on a context switch. A variant is usable
 * only when both agree. AArch64: getauxval(AT_HWCAP) reports Advanced SIMD (always present on
 * Linux/AArch64, checked anyway). This file is compiled for the baseline ISA: it never executes
 * an instruction the CPU may lack. */
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
#endif

static cpu_features detected;
static int detected_done;

#ifdef MLP_X86
/* XGETBV(0): bits of XCR0 = register state the OS saves. Encoded as bytes so this file needs no
 * -mxsave. Only called when CPUID reports OSXSAVE. */
static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void detect_x86(cpu_features *f) {
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

const cpu_features *kernels_cpu_features(void) {
    if (!detected_done) {
        memset(&detected, 0, sizeof detected);
#ifdef MLP_X86
        detect_x86(&detected);
#elif defined(__aarch64__) && defined(__linux__)
        detected.neon = (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
        snprintf(detected.model, sizeof detected.model, "AArch64");
#elif defined(__aarch64__)
        detected.neon = 1;
#endif
        detected_done = 1;
    }
    return &detected;
}

static const kernel_table *const compiled_tables[] = {
    &kernel_table_scalar,
#ifdef MLP_HAVE_NEON
    &kernel_table_neon,
#endif
#ifdef MLP_HAVE_AVX2
    &kernel_table_avx2,
#endif
#ifdef MLP_HAVE_AVX512
    &kernel_table_avx512,
#endif
};

const kernel_table *const *kernels_compiled(int *count) {
    *count = (int)(sizeof compiled_tables / sizeof compiled_tables[0]);
    return compiled_tables;
}

int kernels_supported(const kernel_table *table, const char **reason) {
    const cpu_features *f = kernels_cpu_features();
    const char *why = NULL;
    if (strcmp(table->name, "avx2") == 0) {
        if (!(f->avx2 && f->fma)) why = "this CPU lacks AVX2 or FMA";
        else if (!f->os_saves_ymm) why = "the OS does not enable AVX (YMM) state";
    } else if (strcmp(table->name, "avx512") == 0) {
        if (!(f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq && f->fma))
            why = "this CPU lacks AVX-512 F/BW/VL/DQ";
        else if (!f->os_saves_zmm) why = "the OS does not enable AVX-512 (ZMM) state";
    } else if (strcmp(table->name, "neon") == 0) {
        if (!f->neon) why = "this CPU lacks AArch64 Advanced SIMD";
    }
    if (reason) *reason = why;
    return why == NULL;
}

const kernel_table *kernels_best(void) {
    int count;
    const kernel_table *const *tables = kernels_compiled(&count);
    for (int i = count - 1; i >= 0; i--)
        if (kernels_supported(tables[i], NULL)) return tables[i];
    return &kernel_table_scalar;
}

const kernel_table *kernels_find(const char *name) {
    int count;
    const kernel_table *const *tables = kernels_compiled(&count);
    for (int i = 0; i < count; i++)
        if (strcmp(tables[i]->name, name) == 0) return tables[i];
    return NULL;
}

const kernel_table *kernels_select(const char *name, char *error, size_t error_size) {
    const char *source = "--kernel";
    if (name == NULL || name[0] == '\0' || strcmp(name, "auto") == 0) {
        name = getenv("MLP_KERNEL");
        source = "MLP_KERNEL";
        if (name == NULL || name[0] == '\0' || strcmp(name, "auto") == 0) return kernels_best();
    }
    const kernel_table *table = kernels_find(name);
    if (table == NULL) {
        if (strcmp(name, "scalar") != 0 && strcmp(name, "avx2") != 0 &&
            strcmp(name, "avx512") != 0 && strcmp(name, "neon") != 0)
            snprintf(error, error_size,
                     "%s: unknown kernel variant '%s' (expected scalar, avx2, avx512 or neon)",
                     source, name);
        else
            snprintf(error, error_size, "%s: kernel variant '%s' is not built into this binary",
                     source, name);
        return NULL;
    }
    const char *reason;
    if (!kernels_supported(table, &reason)) {
        snprintf(error, error_size, "%s: kernel variant '%s' cannot run here: %s", source, name,
                 reason);
        return NULL;
    }
    return table;
}

void kernels_activation_forward(const kernel_table *table, mlp_activation activation,
                                const float *x, float *y, size_t count) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: table->relu_forward(x, y, count); return;
    case MLP_ACTIVATION_SIGMOID: table->sigmoid_forward(x, y, count); return;
    case MLP_ACTIVATION_TANH: table->tanh_forward(x, y, count); return;
    case MLP_ACTIVATION_NONE: break;
    }
    if (x != y) memmove(y, x, count * sizeof *y);
}

void kernels_activation_backward(const kernel_table *table, mlp_activation activation,
                                 const float *y, const float *dy, float *dx, size_t count) {
    switch (activation) {
    case MLP_ACTIVATION_RELU: table->relu_backward(y, dy, dx, count); return;
    case MLP_ACTIVATION_SIGMOID: table->sigmoid_backward(y, dy, dx, count); return;
    case MLP_ACTIVATION_TANH: table->tanh_backward(y, dy, dx, count); return;
    case MLP_ACTIVATION_NONE: break;
    }
    if (dx != dy) memmove(dx, dy, count * sizeof *dx);
}
