/* Micro-kernel benchmarks: every micro-kernel of every compiled variant, called directly by
 * name (the driver's named list, kernels/gemm_driver.h), one full tile over K = 256 from
 * L1-resident operands laid out as the driver hands them: micro/<variant>/<kernel>/k256.
 * The logits kernel is a whole GEMM: 64 rows of C. FLOP/s = 2·rows·cols·K per call;
 * peak_fraction divides by the variant's FMA peak. Each run checks two elements of C against
 * a double dot product (bench_fail on a wrong one). */
#include "bench_micro.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench_shim.h"
#include "fma_peak.h"
#include "gemm_driver.h"
#include "mlp/common.h"
#include "mlp/kernels.h"

enum { MICRO_DEPTH = 256, LOGITS_ROWS_BENCHED = 64, MAX_MICRO_CASES = 64 };

typedef struct micro_case {
    char name[128];
    const mlp_kernel_table *table;
    const gemm_micro_kernel_info *info;
} micro_case;

static micro_case cases[MAX_MICRO_CASES];
static int case_count;

/* The operands of one call: A as `rows` × K, B as K × cols, C rows × cols, and the tile. */
typedef struct micro_operands {
    float *a, *b, *c;
    gemm_tile tile;
    mlp_gemm_problem problem; /* the logits kernel's */
    int rows, cols;
} micro_operands;

static int operands_create(micro_operands *o, const micro_case *m) {
    const gemm_micro_kernel_info *info = m->info;
    const int w = m->table->gemm_driver->width, k = MICRO_DEPTH;
    memset(o, 0, sizeof *o);
    o->rows = info->kind == GEMM_MICRO_LOGITS ? LOGITS_ROWS_BENCHED : info->rows;
    o->cols = info->cols;
    o->a = mlp_aligned_calloc((size_t)o->rows * k, sizeof(float));
    o->b = mlp_aligned_calloc((size_t)k * o->cols + 64, sizeof(float));
    o->c = mlp_aligned_calloc((size_t)o->rows * o->cols, sizeof(float));
    if (!o->a || !o->b || !o->c) return -1;
    for (size_t i = 0; i < (size_t)o->rows * k; i++) o->a[i] = (float)((i * 7 % 13) - 6) / 8.0f;
    for (size_t i = 0; i < (size_t)k * o->cols; i++) o->b[i] = (float)((i * 5 % 11) - 5) / 8.0f;
    gemm_tile *t = &o->tile;
    t->k = k;
    t->a = o->a;
    t->c = o->c;
    t->ldc = o->cols;
    t->rows = o->rows;
    t->cols = o->cols;
    t->finish = 1;
    t->epilogue = MLP_GEMM_EPILOGUE_NONE;
    t->b = o->b;
    t->b_k_stride = o->cols; /* a packed B panel (narrow, column: B read in place) */
    t->b_column_stride = 1;
    /* A as the driver hands each kind: an MR-row packed panel, a W-row panel, W-row groups */
    t->a_row_stride = 1;
    t->a_k_stride = info->kind == GEMM_MICRO_NARROW ? w : o->rows;
    t->a_group_stride = w;
    mlp_gemm_problem *g = &o->problem;
    g->m = o->rows, g->n = o->cols, g->k = k;
    g->a = o->a, g->lda = k, g->b = o->b, g->ldb = o->cols, g->c = o->c, g->ldc = o->cols;
    return 0;
}

static void operands_free(micro_operands *o) {
    mlp_aligned_free(o->a);
    mlp_aligned_free(o->b);
    mlp_aligned_free(o->c);
}

static void run_once(const micro_case *m, const micro_operands *o) {
    if (m->info->kind == GEMM_MICRO_LOGITS) m->info->run_gemm(&o->problem);
    else m->info->run(&o->tile);
}

/* C(i, j) against the double dot product of the operands' layout. */
static int element_correct(const micro_case *m, const micro_operands *o, int i, int j) {
    double exact = 0.0, magnitude = 0.0;
    for (int p = 0; p < MICRO_DEPTH; p++) {
        /* every tile's A is a rows × K panel with rows contiguous (column tiles: groups of W
         * rows W apart, the same thing); the logits kernel reads plain A */
        const double a = m->info->kind == GEMM_MICRO_LOGITS ? o->a[(size_t)i * MICRO_DEPTH + p]
                                                            : o->a[(size_t)p * o->rows + i];
        const double term = a * o->b[(size_t)p * o->cols + j];
        exact += term;
        magnitude += fabs(term);
    }
    return fabs(o->c[(size_t)i * o->cols + j] - exact) <= 4.0 * MICRO_DEPTH * FLT_EPSILON * magnitude;
}

static void bench_micro(bench_state *state, void *argument) {
    const micro_case *m = argument;
    const char *reason = NULL;
    micro_operands o;
    const int runs_here = mlp_kernels_supported(m->table, &reason);
    if (runs_here && operands_create(&o, m) == 0) {
        while (bench_keep_running(state)) run_once(m, &o);
        const double flops = 2.0 * o.rows * o.cols * MICRO_DEPTH * (double)bench_iterations(state);
        const double peak = fma_peak_flops(m->table->name);
        bench_set_counter(state, "FLOP/s", flops, BENCH_RATE);
        if (peak > 0.0) bench_set_counter(state, "peak_fraction", flops / peak, BENCH_RATE);
        if (!element_correct(m, &o, 0, 0) || !element_correct(m, &o, o.rows - 1, o.cols - 1))
            bench_fail(state, "C differs from the exact product");
    } else if (runs_here) {
        bench_fail(state, "out of memory for the operands");
    } else {
        bench_skip(state, reason);
    }
    if (runs_here) operands_free(&o);
}

void bench_register_micro(void) {
    int count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    for (int v = 0; v < count; v++) {
        const gemm_driver *d = tables[v]->gemm_driver;
        for (int i = 0; d && i < d->micro_kernel_count && case_count < MAX_MICRO_CASES; i++) {
            micro_case *m = &cases[case_count++];
            m->table = tables[v];
            m->info = &d->micro_kernel_list[i];
            snprintf(m->name, sizeof m->name, "micro/%s/%s/k%d", tables[v]->name, m->info->name,
                     MICRO_DEPTH);
        }
    }
    for (int i = 0; i < case_count; i++)
        bench_time_unit_set(bench_register(cases[i].name, bench_micro, &cases[i]),
                            BENCH_NANOSECOND);
}
