/* --precision: names, and the kernel variant for a precision (include/mlp/precision.h). */
#include "mlp/precision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mlp_precision_name(mlp_precision precision) {
    switch (precision) {
    case MLP_PRECISION_FP32: return "fp32";
    case MLP_PRECISION_BF16: return "bf16";
    }
    return "unknown";
}

int mlp_precision_parse(const char *text, mlp_precision *precision) {
    if (strcmp(text, "fp32") == 0) *precision = MLP_PRECISION_FP32;
    else if (strcmp(text, "bf16") == 0) *precision = MLP_PRECISION_BF16;
    else return -1;
    return 0;
}

/* Whether `name` leaves the choice to the dispatcher (as mlp_kernels_select reads it). */
static int automatic(const char *name) {
    if (name && name[0] && strcmp(name, "auto") != 0) return 0;
    const char *environment = getenv("MLP_KERNEL");
    return !environment || !environment[0] || strcmp(environment, "auto") == 0;
}

const mlp_kernel_table *mlp_kernels_select_for(const char *name, mlp_precision precision,
                                               char *error, size_t error_size) {
    if (precision != MLP_PRECISION_BF16) return mlp_kernels_select(name, error, error_size);
    if (automatic(name)) {
        const char *reason = "";
        const mlp_kernel_table *table = mlp_kernels_best_for(MLP_PRECISION_BF16, &reason);
        const mlp_cpu_features *cpu = mlp_kernels_cpu_features();
        if (!table && (cpu->avx512_bf16 || cpu->neon_bf16)) /* the CPU has it, this build not */
            reason = "no kernel variant built into this binary does BF16 GEMMs on this CPU";
        if (!table)
            snprintf(error, error_size,
                     "--precision bf16: %s; --kernel scalar runs the exact but slow reference", reason);
        return table;
    }
    const mlp_kernel_table *table = mlp_kernels_select(name, error, error_size);
    if (table && !table->gemm_bf16) {
        int from_environment = !name || !name[0] || strcmp(name, "auto") == 0; /* MLP_KERNEL's */
        snprintf(error, error_size,
                 "--precision bf16: kernel variant '%s'%s has no BF16 GEMM; %s (the best BF16 variant) or "
                 "--kernel scalar (the slow reference)", table->name, from_environment ? " (from MLP_KERNEL)" : "",
                 from_environment ? "unset MLP_KERNEL" : "use --kernel auto");
        return NULL;
    }
    return table;
}
