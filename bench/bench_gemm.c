/* GEMM benchmarks: every compiled kernel variant, plus OpenBLAS as the reference, on the shapes
 * MLP training runs.
 *
 * For a layer in -> out at a given batch the three forms are (see gemm_problem in kernels.h):
 *   forward          m = batch, n = out, k = in     Z  = X · W
 *   weight_gradient  m = in,    n = out, k = batch  dW = Xᵀ · dZ   (A transposed)
 *   input_gradient   m = batch, n = in,  k = out    dX = dZ · Wᵀ   (B transposed)
 * The first layer reads uint8 pixels (a_u8, scaled by 1/255), so 784-input layers also get
 * forward_u8 and weight_gradient_u8; OpenBLAS has no uint8 path, its float row of the same form
 * is their reference. Plus square m = n = k GEMMs. No epilogue: the rows time op(A)·op(B), the
 * same work as sgemm.
 *
 * BF16 rows (gemm_bf16/<variant>/<form>/<shape>, right after the FP32 rows of the same form and
 * shape): table->gemm_bf16 of every variant that has one of its own instructions (not the
 * scalar reference), the same problem; their peak is the variant's own loop (avx512_bf16:
 * VDPBF16PS) and their spot check sums the BF16-rounded operands. A variant whose FP32 gemm is
 * another variant's (avx512_bf16 reuses avx512's) gets no FP32 rows of its own.
 *
 * Counters: FLOP/s = 2·m·n·k per iteration as a rate; peak_fraction = FLOP/s divided by the
 * FMA peak of the variant's ISA, measured in this process at startup (fma_peak.c); OpenBLAS rows
 * use the best peak of this CPU. Each run then checks three elements of C against a double
 * dot product and calls bench_fail on a wrong one. */
#include "bench_gemm.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench_shim.h"
#include "fma_peak.h"
#include "mlp/common.h"
#include "mlp/kernels.h"
#include "mlp/rng.h"
#ifdef MLP_BENCH_HAVE_OPENBLAS
#include "reference_blas.h"
#endif

typedef enum gemm_form {
    FORM_FORWARD,
    FORM_WEIGHT_GRADIENT,
    FORM_INPUT_GRADIENT,
    FORM_SQUARE,
} gemm_form;

typedef struct gemm_case {
    char name[96];
    const mlp_kernel_table *table; /* NULL: the OpenBLAS reference */
    int bf16;                      /* table->gemm_bf16 rather than table->gemm */
    gemm_form form;
    int a_uint8;               /* A is uint8 pixels scaled by 1/255 */
    int m, n, k;
} gemm_case;

/* The MLP layers (inputs -> outputs) and batch sizes of the study, and the square sizes. */
static const int layers[][2] = {{784, 128}, {128, 64}, {64, 10}, {784, 600}, {600, 400}, {1024, 1024}};
static const int batches[] = {64, 256};
static const int square_sizes[] = {512, 1024};
enum { LAYER_COUNT = sizeof layers / sizeof layers[0], BATCH_COUNT = 2, SQUARE_COUNT = 2 };
enum { IMAGE_PIXELS = 784 }; /* layers with this many inputs read uint8 pixels */

/* Per variant: 3 float forms and 2 uint8 forms per layer and batch, and the squares. */
enum { MAX_VARIANTS = 8, MAX_CASES = MAX_VARIANTS * (LAYER_COUNT * BATCH_COUNT * 5 + SQUARE_COUNT) };
static gemm_case cases[MAX_CASES];
static int case_count;

/* Operands of one case, allocated outside the timed loop. */
typedef struct gemm_operands {
    float *a;
    uint8_t *a_u8;
    float *b, *c, *workspace;
} gemm_operands;

static void operands_free(gemm_operands *o) {
    mlp_aligned_free(o->a);
    mlp_aligned_free(o->a_u8);
    mlp_aligned_free(o->b);
    mlp_aligned_free(o->c);
    mlp_aligned_free(o->workspace);
}

/* Random A (uniform [-1, 1) or bytes) and B (uniform [-1, 1)); returns -1 when memory is short. */
static int operands_create(gemm_operands *o, const gemm_case *c, size_t workspace_floats) {
    memset(o, 0, sizeof *o);
    size_t a_count = (size_t)c->m * c->k, b_count = (size_t)c->k * c->n;
    if (c->a_uint8) o->a_u8 = mlp_aligned_calloc(a_count, 1);
    else o->a = mlp_aligned_calloc(a_count, sizeof(float));
    o->b = mlp_aligned_calloc(b_count, sizeof(float));
    o->c = mlp_aligned_calloc((size_t)c->m * c->n, sizeof(float));
    o->workspace = mlp_aligned_calloc(workspace_floats > 0 ? workspace_floats : 1, sizeof(float));
    if ((o->a == NULL && o->a_u8 == NULL) || o->b == NULL || o->c == NULL || o->workspace == NULL) {
        operands_free(o);
        return -1;
    }
    mlp_rng_state rng;
    mlp_rng_seed(&rng, 42);
    for (size_t i = 0; i < a_count; i++) {
        if (c->a_uint8) o->a_u8[i] = (uint8_t)mlp_rng_below(&rng, 256);
        else o->a[i] = (float)(2.0 * mlp_rng_uniform(&rng) - 1.0);
    }
    for (size_t i = 0; i < b_count; i++) o->b[i] = (float)(2.0 * mlp_rng_uniform(&rng) - 1.0);
    return 0;
}

/* The gemm_problem of a case: storage as training lays it out (row-major, no padding). */
static mlp_gemm_problem problem_for(const gemm_case *c, const gemm_operands *o) {
    mlp_gemm_problem p = {0};
    p.m = c->m;
    p.n = c->n;
    p.k = c->k;
    p.a = o->a;
    p.a_u8 = o->a_u8;
    p.a_scale = 1.0f / 255.0f;
    p.a_transposed = c->form == FORM_WEIGHT_GRADIENT; /* X stored batch×in */
    p.lda = p.a_transposed ? c->m : c->k;
    p.b = o->b;
    p.b_transposed = c->form == FORM_INPUT_GRADIENT;  /* W stored in×out */
    p.ldb = p.b_transposed ? c->k : c->n;
    p.c = o->c;
    p.ldc = c->n;
    p.epilogue = MLP_GEMM_EPILOGUE_NONE;
    p.workspace = o->workspace;
    return p;
}

static void run_gemm(const gemm_case *c, const mlp_gemm_problem *p) {
#ifdef MLP_BENCH_HAVE_OPENBLAS
    if (c->table == NULL) {
        reference_blas_gemm(p);
        return;
    }
#endif
    if (c->bf16) c->table->gemm_bf16(p);
    else c->table->gemm(p);
}

static double a_element(const mlp_gemm_problem *p, int i, int q) {
    size_t index = p->a_transposed ? (size_t)q * p->lda + i : (size_t)i * p->lda + q;
    return p->a_u8 ? p->a_u8[index] * (double)p->a_scale : p->a[index];
}

static double b_element(const mlp_gemm_problem *p, int q, int j) {
    return p->b_transposed ? p->b[(size_t)j * p->ldb + q] : p->b[(size_t)q * p->ldb + j];
}

/* Whether C[i][j] matches a double-precision dot product within float rounding of a k-term sum:
 * |error| <= 4·k·eps·sum|a·b|; bf16: of the operands rounded to BF16, as gemm_bf16 reads them. */
static int element_correct(const mlp_gemm_problem *p, int i, int j, int bf16) {
    double exact = 0.0, magnitude = 0.0;
    for (int q = 0; q < p->k; q++) {
        double a = a_element(p, i, q), b = b_element(p, q, j);
        if (bf16) {
            a = mlp_bf16_round((float)a);
            b = mlp_bf16_round((float)b);
        }
        double term = a * b;
        exact += term;
        magnitude += fabs(term);
    }
    double error = fabs(p->c[(size_t)i * p->ldc + j] - exact);
    return error <= 4.0 * p->k * FLT_EPSILON * magnitude + FLT_MIN;
}

static int spot_check(const mlp_gemm_problem *p, int bf16, char *message, size_t message_size) {
    const int rows[] = {0, p->m / 2, p->m - 1}, columns[] = {0, p->n / 3, p->n - 1};
    for (int s = 0; s < 3; s++) {
        if (!element_correct(p, rows[s], columns[s], bf16)) {
            snprintf(message, message_size, "C[%d][%d] = %g differs from the exact product",
                     rows[s], columns[s], (double)p->c[(size_t)rows[s] * p->ldc + columns[s]]);
            return 0;
        }
    }
    return 1;
}

static void bench_gemm(bench_state *state, void *argument) {
    const gemm_case *c = argument;
    const char *reason;
    if (c->table && !mlp_kernels_supported(c->table, &reason)) {
        bench_skip(state, reason);
        return;
    }
    gemm_operands operands;
    if (operands_create(&operands, c, c->table ? c->table->gemm_workspace_floats : 0) != 0) {
        bench_fail(state, "out of memory for the operands");
        return;
    }
    mlp_gemm_problem problem = problem_for(c, &operands);

    while (bench_keep_running(state)) run_gemm(c, &problem);

    double flops = 2.0 * c->m * c->n * c->k * (double)bench_iterations(state);
    const char *peak_isa = c->table ? c->table->name : NULL;
    double peak = c->table ? fma_peak_flops(peak_isa) : fma_peak_best_flops(&peak_isa);
    bench_set_counter(state, "FLOP/s", flops, BENCH_RATE);
    if (peak > 0.0) bench_set_counter(state, "peak_fraction", flops / peak, BENCH_RATE);
    char label[96];
#ifdef MLP_BENCH_HAVE_OPENBLAS
    if (c->table == NULL)
        snprintf(label, sizeof label, "openblas %s, peak %s", reference_blas_core(),
                 peak_isa ? peak_isa : "?");
    else
#endif
        snprintf(label, sizeof label, "peak %s", peak_isa);
    bench_set_label(state, label);

    char message[128];
    if (!spot_check(&problem, c->bf16, message, sizeof message)) bench_fail(state, message);
    operands_free(&operands);
}

static void add_case(const char *variant, const mlp_kernel_table *table, int bf16, gemm_form form,
                     int a_uint8, int m, int n, int k, const char *shape) {
    static const char *const form_names[] = {"forward", "weight_gradient", "input_gradient",
                                             "square"};
    if (case_count == MAX_CASES) return;
    gemm_case *c = &cases[case_count++];
    snprintf(c->name, sizeof c->name, "%s/%s/%s%s/%s", bf16 ? "gemm_bf16" : "gemm", variant,
             form_names[form], a_uint8 ? "_u8" : "", shape);
    c->table = table;
    c->bf16 = bf16;
    c->form = form;
    c->a_uint8 = a_uint8;
    c->m = m;
    c->n = n;
    c->k = k;
}

/* One case per variant (and OpenBLAS, which has no uint8 path) for a form and shape. */
static void add_case_for_variants(gemm_form form, int a_uint8, int m, int n, int k,
                                  const char *shape) {
    int count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&count);
    const mlp_kernel_table *scalar = mlp_kernels_find("scalar");
    for (int v = 0; v < count; v++) {
        int same_as_later = 0; /* its gemm is a later variant's: that one's rows time it */
        for (int w = v + 1; w < count; w++) same_as_later |= tables[w]->gemm == tables[v]->gemm;
        if (!same_as_later) add_case(tables[v]->name, tables[v], 0, form, a_uint8, m, n, k, shape);
    }
#ifdef MLP_BENCH_HAVE_OPENBLAS
    if (!a_uint8) add_case("openblas", NULL, 0, form, 0, m, n, k, shape);
#endif
    for (int v = 0; v < count; v++)
        if (tables[v]->gemm_bf16 && tables[v] != scalar)
            add_case(tables[v]->name, tables[v], 1, form, a_uint8, m, n, k, shape);
}

void bench_register_gemm(void) {
    char shape[48];
    for (int l = 0; l < LAYER_COUNT; l++) {
        int in = layers[l][0], out = layers[l][1];
        for (int b = 0; b < BATCH_COUNT; b++) {
            int batch = batches[b];
            snprintf(shape, sizeof shape, "%dx%d/batch%d", in, out, batch);
            for (int a_uint8 = 0; a_uint8 <= (in == IMAGE_PIXELS); a_uint8++) {
                add_case_for_variants(FORM_FORWARD, a_uint8, batch, out, in, shape);
                add_case_for_variants(FORM_WEIGHT_GRADIENT, a_uint8, in, out, batch, shape);
            }
            add_case_for_variants(FORM_INPUT_GRADIENT, 0, batch, in, out, shape);
        }
    }
    for (int s = 0; s < SQUARE_COUNT; s++) {
        int size = square_sizes[s];
        snprintf(shape, sizeof shape, "%d", size);
        add_case_for_variants(FORM_SQUARE, 0, size, size, size, shape);
    }
    for (int i = 0; i < case_count; i++)
        bench_time_unit_set(bench_register(cases[i].name, bench_gemm, &cases[i]),
                            BENCH_MICROSECOND);
}
