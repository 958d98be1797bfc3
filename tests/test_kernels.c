/* The kernel test suite: one run checks one variant of the dispatch table (argv[1]: a name in
 * kernels/variants.def) against the double-precision oracle in kernel_reference.c and, for the
 * SIMD variants, against the scalar reference. A variant that is not compiled into this
 * binary, or that this CPU cannot run, is a skip (exit 77).
 *
 * What is checked, per the contract in include/mlp/kernels.h:
 *  - gemm: the three training forms plus A and B both transposed, float and u8 A, every
 *    epilogue with every activation, awkward shapes, the MLP's shapes, unaligned and strided
 *    operands; |error| <= (k + 2) * eps * sum|a||b| (plus the activation's own error); guard
 *    floats around and between the rows of C stay untouched; the workspace is allocated with
 *    exactly gemm_workspace_floats floats (an overrun shows up under ASan).
 *  - partition independence: row blocks and column blocks at odd offsets give bitwise the same
 *    C as the whole GEMM.
 *  - the GEMM plan (kernels/gemm_driver.h): gemm_plan_choose picks each path and packing for a
 *    representative problem (thresholds read from the driver); every plan the driver can
 *    execute, forced through its run_plan, including tiny KC/MC/NC blocks, gives table->gemm's
 *    bits, so no path's coverage depends on today's thresholds.
 *  - every micro-kernel by name (the driver's list), called directly against the oracle and
 *    scalar: K = 1, 7, 17, 63, full and ragged tiles, every epilogue, unaligned operands, K in
 *    two slices bitwise equal to one.
 *  - the variant registry: names, tables, --kernel choices, support = required features.
 *  - the fused parameter update (GEMM_EPILOGUE_PARAMETER_UPDATE), every rule (SGD; the
 *    optimizer rules SGD with weight decay, momentum, Nesterov, Adam, AdamW with their moments):
 *    bitwise gemm then sgd_update / optimizer_update, on every layout, A type and shape class
 *    (K of one and of several slices, K = 0), through table->gemm and row/column blocks (every
 *    rule), every forced plan and every micro-kernel, whole and in two slices (the rules in
 *    turn); nothing written outside W, m, v. bias_gradient_update bitwise bias_gradient then
 *    sgd_update; scale_bytes bitwise (float)byte · scale.
 *  - bias_add, bias_gradient, activations forward and backward (bounds from
 *    kernels/activation_error_bounds.h, tighter ones for scalar), saturation, +-0, tails 1..33,
 *    aliasing; softmax_cross_entropy; sgd_update.
 *  - optimizer_update: every rule (SGD with L2, momentum, Nesterov, Adam, AdamW), with and
 *    without weight decay, over several steps against a double-precision reference (lengths 1,
 *    7, 17, 63, 100, unaligned pointers), and bitwise equal to scalar (the same roundings).
 */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation_error_bounds.h"
#include "gemm_driver.h"
#include "kernel_reference.h"
#include "kernels_internal.h"
#include "mlp/kernels.h"
#include "test_util.h"

static const mlp_kernel_table *variant;        /* the variant under test */
static const mlp_kernel_table *scalar;         /* the reference variant   */
static int variant_is_scalar;

/* ---------------------------------------------------------------- random numbers */

/* xorshift64*: deterministic test data, independent of the library's generator. */
static uint64_t random_state = 0x9e3779b97f4a7c15ull;

static uint32_t random_u32(void) {
    random_state ^= random_state >> 12;
    random_state ^= random_state << 25;
    random_state ^= random_state >> 27;
    return (uint32_t)((random_state * 0x2545f4914f6cdd1dull) >> 32);
}

static float random_uniform(float low, float high) {
    return low + (high - low) * (float)((random_u32() >> 8) * (1.0 / 16777216.0));
}

static int random_below(int bound) { return (int)(random_u32() % (uint32_t)bound); }

/* ---------------------------------------------------------------- guarded buffers */

/* A buffer whose floats outside the part a kernel may write hold a NaN with a recognisable bit
 * pattern; `data` starts `misalign` floats past a 64-byte boundary. */
enum { GUARD_FLOATS = 16 };
static const uint32_t guard_bits = 0x7fa5a5a5u;

typedef struct guarded_buffer {
    float *base;  /* the whole allocation: guard, data, guard */
    size_t total; /* floats in base */
    float *data;
} guarded_buffer;

static float *aligned_floats(size_t count) {
    void *pointer = NULL;
    if (posix_memalign(&pointer, 64, (count ? count : 1) * sizeof(float)) != 0) abort();
    return pointer;
}

static guarded_buffer guarded_alloc(size_t count, int misalign) {
    guarded_buffer buffer;
    buffer.total = count + 2 * GUARD_FLOATS + (size_t)misalign;
    buffer.base = aligned_floats(buffer.total);
    for (size_t i = 0; i < buffer.total; i++) memcpy(&buffer.base[i], &guard_bits, 4);
    buffer.data = buffer.base + GUARD_FLOATS + misalign;
    return buffer;
}

static int is_guard(const float *value) {
    uint32_t bits;
    memcpy(&bits, value, 4);
    return bits == guard_bits;
}

/* Counts floats of the buffer outside the m×n block at data (row stride ld) that changed. */
static int guard_damage(const guarded_buffer *buffer, int m, int n, int ld) {
    int damaged = 0;
    for (size_t index = 0; index < buffer->total; index++) {
        ptrdiff_t offset = (buffer->base + index) - buffer->data;
        int inside = offset >= 0 && offset < (ptrdiff_t)m * ld && (int)(offset % ld) < n;
        if (!inside && !is_guard(&buffer->base[index])) damaged++;
    }
    return damaged;
}

/* The workspace, allocated with exactly the advertised size (posix_memalign keeps the exact
 * byte count, so ASan reports a kernel that writes past it; aligned_calloc would round up to a
 * whole cache line and hide an overrun of up to 15 floats). */
static float *workspace_alloc(const mlp_kernel_table *table) {
    if (table->gemm_workspace_floats == 0) return NULL;
    void *pointer = NULL;
    if (posix_memalign(&pointer, 64, table->gemm_workspace_floats * sizeof(float)) != 0) abort();
    return pointer;
}

/* ---------------------------------------------------------------- gemm */

typedef struct gemm_case {
    int m, n, k;
    int a_transposed, b_transposed, a_is_u8;
    mlp_gemm_epilogue epilogue;
    mlp_activation activation;
    int misalign; /* every operand starts this many elements past a 64-byte boundary */
    int pad;      /* lda, ldb, ldc and ld_activation_output exceed the row width by this */
} gemm_case;

/* The operands of one case, filled with random data; `problem` points into them (c unset). */
typedef struct gemm_operands {
    mlp_gemm_problem problem;
    float *a_storage, *b_storage, *bias_storage, *y_storage;
    uint8_t *a_u8_storage;
} gemm_operands;

static const char *activation_name(mlp_activation activation) {
    static const char *names[] = {"none", "relu", "sigmoid", "tanh"};
    return names[activation];
}

static void describe_case(const gemm_case *t, char *text, size_t size) {
    static const char *epilogues[] = {"none", "bias+act", "act'"};
    snprintf(text, size, "m=%d n=%d k=%d%s%s%s epilogue=%s/%s misalign=%d pad=%d", t->m, t->n,
             t->k, t->a_transposed ? " A^T" : "", t->b_transposed ? " B^T" : "",
             t->a_is_u8 ? " u8" : "", epilogues[t->epilogue], activation_name(t->activation),
             t->misalign, t->pad);
}

/* A plausible forward output y = f(z) for the backward epilogue: in f's range, some relu zeros. */
static float random_activation_output(mlp_activation activation) {
    float z = random_uniform(-3.0f, 3.0f);
    return (float)reference_activation(activation, z);
}

static gemm_operands gemm_operands_make(const gemm_case *t) {
    gemm_operands o;
    memset(&o, 0, sizeof o);
    mlp_gemm_problem *g = &o.problem;
    g->m = t->m;
    g->n = t->n;
    g->k = t->k;
    g->a_transposed = t->a_transposed;
    g->b_transposed = t->b_transposed;

    int a_rows = t->a_transposed ? t->k : t->m, a_cols = t->a_transposed ? t->m : t->k;
    g->lda = a_cols + t->pad;
    size_t a_count = (size_t)a_rows * g->lda + 1 + (size_t)t->misalign;
    if (t->a_is_u8) {
        o.a_u8_storage = (uint8_t *)aligned_floats(a_count / 4 + 2);
        for (size_t i = 0; i < a_count; i++) o.a_u8_storage[i] = (uint8_t)random_below(256);
        g->a_u8 = o.a_u8_storage + t->misalign;
        g->a_scale = 1.0f / 255.0f;
    } else {
        o.a_storage = aligned_floats(a_count);
        for (size_t i = 0; i < a_count; i++) o.a_storage[i] = random_uniform(-1.0f, 1.0f);
        g->a = o.a_storage + t->misalign;
    }

    int b_rows = t->b_transposed ? t->n : t->k, b_cols = t->b_transposed ? t->k : t->n;
    g->ldb = b_cols + t->pad;
    size_t b_count = (size_t)b_rows * g->ldb + 1 + (size_t)t->misalign;
    o.b_storage = aligned_floats(b_count);
    for (size_t i = 0; i < b_count; i++) o.b_storage[i] = random_uniform(-1.0f, 1.0f);
    g->b = o.b_storage + t->misalign;

    g->epilogue = t->epilogue;
    g->activation = t->activation;
    if (t->epilogue == MLP_GEMM_EPILOGUE_BIAS_ACTIVATION) {
        o.bias_storage = aligned_floats((size_t)t->n + 1 + (size_t)t->misalign);
        for (int j = 0; j <= t->n + t->misalign; j++)
            o.bias_storage[j] = random_uniform(-1.0f, 1.0f);
        g->bias = o.bias_storage + t->misalign;
    }
    if (t->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE) {
        g->ld_activation_output = t->n + t->pad;
        size_t y_count = (size_t)t->m * g->ld_activation_output + 1 + (size_t)t->misalign;
        o.y_storage = aligned_floats(y_count);
        for (size_t i = 0; i < y_count; i++)
            o.y_storage[i] = random_activation_output(t->activation);
        g->activation_output = o.y_storage + t->misalign;
    }
    g->ldc = t->n + t->pad;
    return o;
}

static void gemm_operands_free(gemm_operands *o) {
    free(o->a_storage);
    free(o->a_u8_storage);
    free(o->b_storage);
    free(o->bias_storage);
    free(o->y_storage);
}

/* Computes C = epilogue(op(A) op(B)) of `problem` (c and workspace set) some way: the table's
 * gemm, the driver with a forced plan, or a micro-kernel called directly. */
typedef void (*gemm_runner)(const mlp_gemm_problem *problem, const void *context);

static void run_table_gemm(const mlp_gemm_problem *problem, const void *context) {
    ((const mlp_kernel_table *)context)->gemm(problem);
}

/* Runs `run` into a fresh guarded C with a workspace of the table's size; returns the buffer
 * (caller frees base). */
static guarded_buffer run_gemm_with(const mlp_kernel_table *table, const gemm_case *t,
                                    mlp_gemm_problem problem, gemm_runner run, const void *context) {
    guarded_buffer c = guarded_alloc((size_t)t->m * problem.ldc, t->misalign);
    problem.c = c.data;
    problem.workspace = workspace_alloc(table);
    run(&problem, context);
    free(problem.workspace);
    return c;
}

/* Runs table->gemm into a fresh guarded C; returns the buffer (caller frees base). */
static guarded_buffer run_gemm(const mlp_kernel_table *table, const gemm_case *t,
                               mlp_gemm_problem problem) {
    return run_gemm_with(table, t, problem, run_table_gemm, table);
}

/* Largest error the activation adds on top of the error in its argument. */
static double activation_error_bound(mlp_activation activation) {
    if (activation == MLP_ACTIVATION_SIGMOID)
        return variant_is_scalar ? FLT_EPSILON : MLP_SIGMOID_MAX_ABS_ERROR;
    if (activation == MLP_ACTIVATION_TANH)
        return variant_is_scalar ? FLT_EPSILON : MLP_TANH_MAX_ABS_ERROR;
    return 0.0;
}

/* Expected C(i,j) and its tolerance, from the exact product s and magnitude sum|a||b|. */
static void gemm_expected(const mlp_gemm_problem *g, int i, int j, double s, double magnitude,
                          double *expected, double *tolerance) {
    /* float summation of k products: |error| <= k * eps * sum|a||b| (two extra for the u8
     * scaling and slack); FLT_MIN absorbs underflow. */
    double sum_tolerance = (g->k + 2) * (double)FLT_EPSILON * magnitude + FLT_MIN;
    if (g->epilogue == MLP_GEMM_EPILOGUE_BIAS_ACTIVATION) {
        double bias = g->bias ? g->bias[j] : 0.0;
        double z = s + bias;
        double z_tolerance = sum_tolerance + FLT_EPSILON * (fabs(s) + fabs(bias));
        *expected = reference_activation(g->activation, z);
        *tolerance = reference_activation_lipschitz(g->activation) * z_tolerance +
                     activation_error_bound(g->activation);
    } else if (g->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE) {
        double y = g->activation_output[(size_t)i * g->ld_activation_output + j];
        double derivative = reference_activation_derivative(g->activation, y);
        *expected = s * derivative;
        /* f'(y) itself costs a couple of roundings, each at most eps (|f'| <= 1). */
        *tolerance = sum_tolerance * (fabs(derivative) + FLT_EPSILON) +
                     2.0 * FLT_EPSILON * fabs(s) + FLT_MIN;
    } else {
        *expected = s;
        *tolerance = sum_tolerance;
    }
}

/* One gemm case end to end, computed by `run` (named `what` in messages); returns the number
 * of failed elements (reported once). */
static int check_gemm_case_with(const gemm_case *t, gemm_runner run, const void *context,
                                const char *what) {
    char text[224];
    describe_case(t, text, sizeof text);
    if (what) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof text - used, " [%s]", what);
    }
    gemm_operands operands = gemm_operands_make(t);
    const mlp_gemm_problem *g = &operands.problem;

    size_t cells = (size_t)t->m * t->n;
    double *product = malloc((cells ? cells : 1) * sizeof *product);
    double *magnitude = malloc((cells ? cells : 1) * sizeof *magnitude);
    reference_gemm(g, product, magnitude);

    guarded_buffer c = run_gemm_with(variant, t, *g, run, context);
    guarded_buffer c_scalar = {0};
    if (!variant_is_scalar) c_scalar = run_gemm(scalar, t, *g);

    int bad = 0, bad_vs_scalar = 0;
    double worst = 0.0;
    for (int i = 0; i < t->m; i++) {
        for (int j = 0; j < t->n; j++) {
            double expected, tolerance;
            gemm_expected(g, i, j, product[(size_t)i * t->n + j],
                          magnitude[(size_t)i * t->n + j], &expected, &tolerance);
            float got = c.data[(size_t)i * g->ldc + j];
            double error = fabs((double)got - expected);
            if (!(error <= tolerance)) {
                if (bad == 0)
                    fprintf(stderr, "  %s: C(%d,%d) = %.9g, expected %.9g +- %.3g\n", text, i, j,
                            got, expected, tolerance);
                bad++;
            }
            if (error / tolerance > worst) worst = error / tolerance;
            if (!variant_is_scalar) {
                float reference = c_scalar.data[(size_t)i * g->ldc + j];
                if (!(fabs((double)got - reference) <= 2.0 * tolerance)) bad_vs_scalar++;
            }
        }
    }
    CHECK(bad == 0, "%s: %d of %zu elements off the double oracle (worst error/tolerance %.2f)",
          text, bad, cells, worst);
    CHECK(bad_vs_scalar == 0, "%s: %d elements farther than 2x tolerance from scalar", text,
          bad_vs_scalar);
    int damaged = guard_damage(&c, t->m, t->n, g->ldc);
    CHECK(damaged == 0, "%s: %d floats written outside the m x n block of C", text, damaged);

    free(c.base);
    free(c_scalar.base);
    free(product);
    free(magnitude);
    gemm_operands_free(&operands);
    return bad + bad_vs_scalar + damaged;
}

static int check_gemm_case(const gemm_case *t) {
    return check_gemm_case_with(t, run_table_gemm, variant, NULL);
}

/* Every transposition, A type, epilogue and activation on a few shapes. */
static void test_gemm_all_options(void) {
    static const int shapes[][3] = {{17, 65, 63}, {65, 7, 33}, {3, 1, 70}, {1, 29, 5}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int transposes = 0; transposes < 4; transposes++)
            for (int u8 = 0; u8 < 2; u8++)
                for (int epilogue = 0; epilogue < 3; epilogue++)
                    for (int activation = 0; activation < 4; activation++) {
                        if (epilogue == MLP_GEMM_EPILOGUE_NONE && activation != 0) continue;
                        gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2],
                                       transposes & 1, transposes >> 1, u8,
                                       (mlp_gemm_epilogue)epilogue, (mlp_activation)activation,
                                       (int)(s & 1), (int)(s % 3) * 3};
                        check_gemm_case(&t);
                    }
}

/* Shapes that steer the GEMM driver down each of its packing paths, every transposition and A
 * type: plain B packed because its rows alias (ldb = 1024 floats) or because M is tall (2048
 * rows), A packed because its rows alias (lda = 1024 floats, plain or transposed), transposed
 * A packed for a wide N (600), the balanced last panels (32, 56 and 112 columns: 16 + 16,
 * 24 + 16 + 16, 48 + 32 + 32 where A is packed), and the one-column tiles (N = 1: a full
 * 64-row tile, ragged ones, and K over several slices). */
static void test_gemm_packing_paths(void) {
    static const int shapes[][3] = {{5, 1024, 9}, {2048, 17, 3}, {3, 17, 1024}, {1024, 17, 3},
                                    {7, 600, 5},  {9, 32, 20},   {9, 56, 20},   {9, 112, 5},
                                    {130, 1, 1030}, {64, 1, 7},  {65, 1, 33}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int transposes = 0; transposes < 4; transposes++)
            for (int u8 = 0; u8 < 2; u8++) {
                gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2],
                               transposes & 1, transposes >> 1, u8,
                               (mlp_gemm_epilogue)(s % 3), (mlp_activation)(1 + s % 3),
                               (int)(s & 1), 0};
                check_gemm_case(&t);
            }
}

/* The logits' widths (9 and 10 columns take a tile of their own in avx2) on ragged row counts,
 * short and long k, every epilogue and activation. */
static void test_gemm_logits_shapes(void) {
    static const int shapes[][3] = {{13, 10, 64}, {7, 9, 33}, {1, 10, 1}, {9, 10, 2}, {64, 9, 5}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int epilogue = 0; epilogue < 3; epilogue++)
            for (int activation = 0; activation < 4; activation++) {
                if (epilogue == MLP_GEMM_EPILOGUE_NONE && activation != 0) continue;
                gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2], 0, 0, 0,
                               (mlp_gemm_epilogue)epilogue, (mlp_activation)activation,
                               (int)(s % 2) * 3, (int)(s % 3)};
                check_gemm_case(&t);
            }
}

/* The cross product of awkward sizes, subsampled: every (m, n, k) small enough to be cheap gets
 * one random choice of the other options. */
static void test_gemm_awkward_shapes(void) {
    static const int sizes[] = {1, 3, 7, 17, 63, 64, 65, 784};
    enum { SIZES = sizeof sizes / sizeof sizes[0] };
    for (int mi = 0; mi < SIZES; mi++)
        for (int ni = 0; ni < SIZES; ni++)
            for (int ki = 0; ki < SIZES; ki++) {
                int m = sizes[mi], n = sizes[ni], k = sizes[ki];
                double work = (double)m * n * k;
                /* all the small ones, a third of the medium ones, none of the huge ones */
                if (work > 700000.0 || (work > 30000.0 && (mi + ni + ki) % 3 != 0)) continue;
                gemm_case t = {m, n, k, random_below(2), random_below(2), random_below(2),
                               (mlp_gemm_epilogue)random_below(3),
                               (mlp_activation)random_below(4), random_below(2),
                               random_below(2) * (1 + random_below(5))};
                check_gemm_case(&t);
            }
}

/* The network's own GEMMs: 784 -> 128 -> 64 -> 10 at batch 64 and 256, every form. */
static void test_gemm_mlp_shapes(void) {
    static const int widths[] = {784, 128, 64, 10};
    static const int batches[] = {64, 256};
    for (int b = 0; b < 2; b++)
        for (int layer = 0; layer < 3; layer++) {
            int batch = batches[b], in = widths[layer], out = widths[layer + 1];
            int first = layer == 0, last = layer == 2;
            mlp_activation hidden = (mlp_activation)(1 + (layer + b) % 3);
            mlp_activation act = last ? MLP_ACTIVATION_NONE : hidden;
            /* forward Z = X W (+ bias, activation); the first layer reads u8 pixels */
            gemm_case forward = {batch, out, in, 0, 0, first, MLP_GEMM_EPILOGUE_BIAS_ACTIVATION,
                                 act, 0, 0};
            check_gemm_case(&forward);
            /* weight gradient dW = X^T dZ */
            gemm_case weight = {in, out, batch, 1, 0, first, MLP_GEMM_EPILOGUE_NONE,
                                MLP_ACTIVATION_NONE, 0, 0};
            check_gemm_case(&weight);
            /* input gradient dX = (dZ W^T) * f'(Y) of the previous layer (not for the input) */
            if (!first) {
                gemm_case input = {batch, in, out, 0, 1, 0, MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE,
                                   (mlp_activation)(1 + (layer + b + 1) % 3), 1, 3};
                check_gemm_case(&input);
            }
        }
}

/* A sub-problem of g: rows [row0, row0 + rows) and columns [col0, col0 + cols) of C. */
static mlp_gemm_problem gemm_block(const mlp_gemm_problem *g, int row0, int rows, int col0, int cols) {
    mlp_gemm_problem block = *g;
    block.m = rows;
    block.n = cols;
    size_t a_offset = g->a_transposed ? (size_t)row0 : (size_t)row0 * g->lda;
    if (g->a_u8) block.a_u8 = g->a_u8 + a_offset;
    else block.a = g->a + a_offset;
    block.b = g->b + (g->b_transposed ? (size_t)col0 * g->ldb : (size_t)col0);
    block.c = g->c + (size_t)row0 * g->ldc + col0;
    if (g->bias) block.bias = g->bias + col0;
    if (g->activation_output)
        block.activation_output =
            g->activation_output + (size_t)row0 * g->ld_activation_output + col0;
    for (int s = 0; s < 2; s++)
        if (g->update.state[s])
            block.update.state[s] = g->update.state[s] + (size_t)row0 * g->update.ld_state[s] + col0;
    return block;
}

/* Row blocks and column blocks at odd offsets must reproduce the whole GEMM bit for bit. */
static void check_partition_independence(const gemm_case *t) {
    char text[160];
    describe_case(t, text, sizeof text);
    gemm_operands operands = gemm_operands_make(t);
    mlp_gemm_problem g = operands.problem;
    float *workspace = workspace_alloc(variant);
    g.workspace = workspace;
    size_t c_count = (size_t)t->m * g.ldc;
    float *whole = aligned_floats(c_count), *pieces = aligned_floats(c_count);
    memset(whole, 0, c_count * sizeof *whole);
    memset(pieces, 0, c_count * sizeof *pieces);

    g.c = whole;
    variant->gemm(&g);

    /* row blocks: [0,1) [1,1+r) ... with odd sizes, then the rest */
    g.c = pieces;
    int row_cuts[] = {0, 1, 1 + t->m / 5, (1 + t->m / 2) | 1, t->m};
    for (int b = 0; b < 4; b++) {
        int start = row_cuts[b] < t->m ? row_cuts[b] : t->m;
        int end = row_cuts[b + 1] < t->m ? row_cuts[b + 1] : t->m;
        if (end <= start) continue;
        mlp_gemm_problem block = gemm_block(&g, start, end - start, 0, t->n);
        variant->gemm(&block);
    }
    CHECK(memcmp(whole, pieces, c_count * sizeof *whole) == 0,
          "%s: row blocks differ from the whole GEMM", text);

    memset(pieces, 0, c_count * sizeof *pieces);
    int col_cuts[] = {0, 3, (3 + t->n / 3) | 1, (3 + (2 * t->n) / 3) | 1, t->n};
    for (int b = 0; b < 4; b++) {
        int start = col_cuts[b] < t->n ? col_cuts[b] : t->n;
        int end = col_cuts[b + 1] < t->n ? col_cuts[b + 1] : t->n;
        if (end <= start) continue;
        mlp_gemm_problem block = gemm_block(&g, 0, t->m, start, end - start);
        variant->gemm(&block);
    }
    CHECK(memcmp(whole, pieces, c_count * sizeof *whole) == 0,
          "%s: column blocks differ from the whole GEMM", text);

    free(whole);
    free(pieces);
    free(workspace);
    gemm_operands_free(&operands);
}

/* g as parts along k cut at multiples of 16 (a BF16 GEMM's pairs kept whole), one after another
 * into the same C: each part after the first continues the sums in C (accumulate), each but the
 * last leaves plain sums (partial), as the owner-computes input gradient runs it. */
static void run_k_parts(const mlp_gemm_problem *g, void (*gemm)(const mlp_gemm_problem *)) {
    int cuts[4], count = 0;
    cuts[count++] = 0;
    const int inner[2] = {16, 16 + (g->k / 3) / 16 * 16};
    for (int i = 0; i < 2; i++)
        if (inner[i] > cuts[count - 1] && inner[i] < g->k) cuts[count++] = inner[i];
    cuts[count++] = g->k;
    for (int part = 0; part + 1 < count; part++) {
        const int start = cuts[part], end = cuts[part + 1];
        mlp_gemm_problem piece = *g;
        piece.k = end - start;
        const size_t a_offset = g->a_transposed ? (size_t)start * g->lda : (size_t)start;
        if (g->a_u8) piece.a_u8 = g->a_u8 + a_offset;
        else piece.a = g->a + a_offset;
        piece.b = g->b + (g->b_transposed ? (size_t)start : (size_t)start * g->ldb);
        piece.accumulate = start > 0;
        piece.partial = end < g->k;
        gemm(&piece);
    }
}

static int same_bits(const gemm_case *t, gemm_runner run, const void *first, const void *second);

/* The whole GEMM (context NULL) or its k parts (run_k_parts), with the variant's gemm. */
static void run_whole_or_k_parts(const mlp_gemm_problem *g, const void *context) {
    if (context) run_k_parts(g, variant->gemm);
    else variant->gemm(g);
}

/* Parts along k give the whole GEMM's bits, for every form, epilogue and A type. */
static void test_gemm_k_parts(void) {
    static const int shapes[][3] = {{37, 45, 300}, {64, 128, 64}, {9, 600, 49}, {33, 17, 1030}};
    const int parts = 1;
    int cases = 0;
    for (int s = 0; s < 4; s++)
        for (int transposes = 0; transposes < 4; transposes++)
            for (int epilogue = 0; epilogue < 3; epilogue++) {
                gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2], transposes & 1,
                               transposes >> 1, (s + transposes) % 3 == 0,
                               (mlp_gemm_epilogue)epilogue,
                               epilogue ? (mlp_activation)(1 + (s + epilogue) % 3) : MLP_ACTIVATION_NONE,
                               s & 1, transposes};
                char text[160];
                describe_case(&t, text, sizeof text);
                CHECK(same_bits(&t, run_whole_or_k_parts, NULL, &parts),
                      "%s: parts along k (accumulate, partial) differ from the whole GEMM", text);
                cases++;
            }
    printf("gemm in parts along k: %d cases\n", cases);
}

static void test_gemm_partition_independence(void) {
    for (int transposes = 0; transposes < 4; transposes++) {
        gemm_case plain = {37, 45, 300, transposes & 1, transposes >> 1, 0, MLP_GEMM_EPILOGUE_NONE,
                           MLP_ACTIVATION_NONE, 1, 2};
        gemm_case forward = {37, 45, 300, transposes & 1, transposes >> 1, 1,
                             MLP_GEMM_EPILOGUE_BIAS_ACTIVATION, MLP_ACTIVATION_SIGMOID, 0, 0};
        gemm_case backward = {37, 45, 300, transposes & 1, transposes >> 1, 0,
                              MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE, MLP_ACTIVATION_TANH, 1, 1};
        check_partition_independence(&plain);
        check_partition_independence(&forward);
        check_partition_independence(&backward);
    }
    /* bigger than the usual cache blocks in m and n */
    gemm_case large = {131, 401, 70, 0, 0, 0, MLP_GEMM_EPILOGUE_BIAS_ACTIVATION, MLP_ACTIVATION_TANH,
                       0, 0};
    check_partition_independence(&large);
}

/* ---------------------------------------------------------------- the GEMM plan */

static const char *const path_names[] = {"empty", "logits", "column", "narrow", "tiles"};
enum { PATH_COUNT = 5 };

/* A problem's shape and layout, no data: what gemm_plan_choose reads. */
static mlp_gemm_problem plan_problem(int m, int n, int k, int a_transposed, int a_u8, int b_transposed,
                                 int lda_pad, int ldb_pad) {
    static const float dummy[1];
    static const uint8_t dummy_u8[1];
    mlp_gemm_problem g = {0};
    g.m = m;
    g.n = n;
    g.k = k;
    g.a_transposed = a_transposed;
    g.lda = (a_transposed ? m : k) + lda_pad;
    if (a_u8) g.a_u8 = dummy_u8;
    else g.a = dummy;
    g.b_transposed = b_transposed;
    g.ldb = (b_transposed ? k : n) + ldb_pad;
    g.b = dummy;
    g.ldc = n;
    return g;
}

/* gemm_plan_choose picks `path` with packing pack_a / pack_b (-1: either) for g. */
static void expect_plan(const gemm_driver *d, const char *what, mlp_gemm_problem g, gemm_path path,
                        int pack_a, int pack_b, int chosen[PATH_COUNT]) {
    gemm_plan plan = gemm_plan_choose(&g, d);
    CHECK(plan.path == path, "%s (m=%d n=%d k=%d): path %s, expected %s", what, g.m, g.n, g.k,
          path_names[plan.path], path_names[path]);
    if (pack_a >= 0)
        CHECK(plan.pack_a == pack_a, "%s: pack_a %d, expected %d", what, plan.pack_a, pack_a);
    if (pack_b >= 0)
        CHECK(plan.pack_b == pack_b, "%s: pack_b %d, expected %d", what, plan.pack_b, pack_b);
    CHECK(gemm_plan_valid(&g, d, &plan), "%s: the chosen plan is not valid", what);
    CHECK(plan.kc >= 1 && plan.kc <= d->kc && plan.slices >= 1 &&
              (long)plan.kc * plan.slices >= g.k && (long)plan.kc * (plan.slices - 1) < g.k + (g.k == 0),
          "%s: %d slices of %d do not cover K = %d (KC %d)", what, plan.slices, plan.kc, g.k,
          d->kc);
    CHECK(plan.balance == (plan.pack_a || d->tall_micro_kernels[0] == NULL),
          "%s: balance %d", what, plan.balance);
    if (plan.path == path) chosen[path]++;
}

/* A representative problem per path and packing. Sizes below 0 stand for the driver's
 * thresholds, so a retuned one moves the problem, not the test. */
enum {
    FEW_ROWS = -1,     /* pack_b_min_rows - 1 */
    MANY_ROWS = -2,    /* pack_b_min_rows */
    WIDE = -3,         /* the smallest N of the tiles path: narrow_max_columns + 1 (or 16) */
    WIDE_A_T = -4,     /* pack_transposed_a_min_columns */
    NOT_NARROW = -5,   /* the path: narrow, or tiles where the driver has no narrow path */
};
typedef enum plan_needs { NEEDS_NOTHING, NEEDS_LOGITS, NEEDS_NARROW, NEEDS_COLUMN, NEEDS_PACK_A_T } plan_needs;

typedef struct plan_expectation {
    const char *what;
    plan_needs needs;
    int m, n, k, a_transposed, a_u8, b_transposed;
    int path, pack_a, pack_b; /* pack -1: either */
} plan_expectation;

static const plan_expectation plan_expectations[] = {
    {"m = 0", NEEDS_NOTHING, 0, 64, 64, 0, 0, 0, GEMM_PATH_EMPTY, -1, -1},
    {"n = 0", NEEDS_NOTHING, 64, 0, 64, 0, 0, 0, GEMM_PATH_EMPTY, -1, -1},
    {"logits forward, 10", NEEDS_LOGITS, 64, 10, 64, 0, 0, 0, GEMM_PATH_LOGITS, -1, -1},
    {"logits forward, 9", NEEDS_LOGITS, 64, 9, 64, 0, 0, 0, GEMM_PATH_LOGITS, -1, -1},
    {"logits, A transposed", NEEDS_LOGITS, 64, 10, 64, 1, 0, 0, NOT_NARROW, -1, -1},
    {"column, A^T in place", NEEDS_COLUMN, 784, 1, 64, 1, 0, 0, GEMM_PATH_COLUMN, 0, -1},
    {"column, u8 A^T in place", NEEDS_COLUMN, 784, 1, 64, 1, 1, 0, GEMM_PATH_COLUMN, 0, -1},
    {"column, plain A packed", NEEDS_COLUMN, 64, 1, 784, 0, 0, 1, GEMM_PATH_COLUMN, 1, -1},
    {"narrow, A^T in place", NEEDS_NARROW, 64, 12, 64, 1, 0, 0, GEMM_PATH_NARROW, 0, -1},
    {"narrow, u8 A^T packed", NEEDS_NARROW, 784, 8, 64, 1, 1, 0, GEMM_PATH_NARROW, 1, -1},
    {"narrow, B^T, plain A packed", NEEDS_NARROW, 64, 10, 64, 0, 0, 1, GEMM_PATH_NARROW, 1, -1},
    {"tiles, A and B in place", NEEDS_NOTHING, FEW_ROWS, WIDE, 784, 0, 0, 0, GEMM_PATH_TILES, 0, 0},
    {"tiles, M >= pack_b_min_rows", NEEDS_NOTHING, MANY_ROWS, 128, 64, 0, 0, 0, GEMM_PATH_TILES, 0, 1},
    {"tiles, B^T packed", NEEDS_NOTHING, 64, 784, 128, 0, 0, 1, GEMM_PATH_TILES, 0, 1},
    {"tiles, B rows 4 KiB apart", NEEDS_NOTHING, 5, 1024, 9, 0, 0, 0, GEMM_PATH_TILES, 0, 1},
    {"tiles, u8 A packed", NEEDS_NOTHING, FEW_ROWS, 128, 784, 0, 1, 0, GEMM_PATH_TILES, 1, 0},
    {"tiles, A rows 4 KiB apart", NEEDS_NOTHING, 3, 17, 1024, 0, 0, 0, GEMM_PATH_TILES, 1, 0},
    {"tiles, A^T in place", NEEDS_NOTHING, FEW_ROWS, 64, 64, 1, 0, 0, GEMM_PATH_TILES, 0, 0},
    {"tiles, A^T packed for wide N", NEEDS_PACK_A_T, 64, WIDE_A_T, 64, 1, 0, 0, GEMM_PATH_TILES, 1, 0},
};

static int threshold_size(const gemm_driver *d, int size) {
    switch (size) {
    case FEW_ROWS: return d->pack_b_min_rows - 1;
    case MANY_ROWS: return d->pack_b_min_rows;
    case WIDE: return d->narrow_micro_kernel ? d->narrow_max_columns + 1 : 16;
    case WIDE_A_T: return d->pack_transposed_a_min_columns;
    case NOT_NARROW: return d->narrow_micro_kernel ? GEMM_PATH_NARROW : GEMM_PATH_TILES;
    }
    return size;
}

/* Each path and packing the driver has is chosen for its representative problem. */
static void test_gemm_plan_choice(const gemm_driver *d) {
    int chosen[PATH_COUNT] = {0};
    const int has[] = {1, d->logits_kernel != NULL, d->narrow_micro_kernel != NULL,
                       d->narrow_micro_kernel && d->column_micro_kernel,
                       d->pack_transposed_a_min_columns > 0};
    for (size_t e = 0; e < sizeof plan_expectations / sizeof plan_expectations[0]; e++) {
        const plan_expectation *x = &plan_expectations[e];
        if (!has[x->needs]) continue;
        mlp_gemm_problem g = plan_problem(threshold_size(d, x->m), threshold_size(d, x->n), x->k,
                                      x->a_transposed, x->a_u8, x->b_transposed, 0, 0);
        expect_plan(d, x->what, g, (gemm_path)threshold_size(d, x->path), x->pack_a, x->pack_b,
                    chosen);
    }
    /* K = 784 over KC = 512 goes as 2 equal slices */
    mlp_gemm_problem deep = plan_problem(64, 128, 784, 0, 0, 0, 0, 0);
    gemm_plan plan = gemm_plan_choose(&deep, d);
    if (d->kc == 512) CHECK(plan.kc == 392 && plan.slices == 2, "K = 784: %d x %d", plan.slices, plan.kc);
    for (int path = 0; path < PATH_COUNT; path++)
        CHECK(chosen[path] > 0 || !has[path == GEMM_PATH_LOGITS   ? NEEDS_LOGITS
                                        : path == GEMM_PATH_NARROW ? NEEDS_NARROW
                                        : path == GEMM_PATH_COLUMN ? NEEDS_COLUMN
                                                                   : NEEDS_NOTHING],
              "path %s never chosen", path_names[path]);
}

/* Runs the variant's driver with the plan in context (made for each problem, as the runner
 * sees it). */
typedef struct forced_plan {
    gemm_path path;
    int pack_a, pack_b;
    int small_blocks; /* KC = 8, MC = one tile, NC = one panel: every blocking loop turns */
} forced_plan;

static gemm_plan forced_plan_for(const mlp_gemm_problem *g, const gemm_driver *d,
                                 const forced_plan *f) {
    gemm_plan plan = gemm_plan_make(g, d, f->path, f->pack_a, f->pack_b);
    if (f->small_blocks) {
        plan.kc = gemm_min_int(plan.kc, 8);
        plan.slices = g->k > plan.kc ? (g->k + plan.kc - 1) / plan.kc : 1;
        plan.mc = d->tall_micro_kernels[0] ? 2 * d->mr : d->mr;
        plan.nc = d->max_vectors * d->width;
    }
    return plan;
}

static void run_forced_plan(const mlp_gemm_problem *g, const void *context) {
    const gemm_driver *d = variant->gemm_driver;
    gemm_plan plan = forced_plan_for(g, d, context);
    d->run_plan(g, &plan);
}

/* Every plan the driver can execute on t's problem gives bitwise the C of table->gemm (whose
 * C is checked against the oracle); counts the paths run. */
static void check_gemm_plans(const gemm_case *t, int runs[PATH_COUNT]) {
    const gemm_driver *d = variant->gemm_driver;
    char text[160];
    describe_case(t, text, sizeof text);
    check_gemm_case(t);
    gemm_operands operands = gemm_operands_make(t);
    const mlp_gemm_problem *g = &operands.problem;
    guarded_buffer expected = run_gemm(variant, t, *g);
    for (int path = 0; path < PATH_COUNT; path++)
        for (int pack_a = 0; pack_a < 2; pack_a++)
            for (int pack_b = 0; pack_b < 2; pack_b++)
                for (int small = 0; small < 2; small++) {
                    if (pack_b && path != GEMM_PATH_TILES) continue;
                    if (small && (path == GEMM_PATH_EMPTY || path == GEMM_PATH_LOGITS)) continue;
                    forced_plan f = {(gemm_path)path, pack_a, pack_b, small};
                    gemm_plan plan = forced_plan_for(g, d, &f);
                    if (!gemm_plan_valid(g, d, &plan)) continue;
                    guarded_buffer c = run_gemm_with(variant, t, *g, run_forced_plan, &f);
                    int differ = 0;
                    for (int i = 0; i < t->m; i++)
                        differ += memcmp(c.data + (size_t)i * g->ldc,
                                         expected.data + (size_t)i * g->ldc,
                                         (size_t)t->n * sizeof(float)) != 0;
                    CHECK(differ == 0, "%s: plan %s pack_a %d pack_b %d%s: %d rows differ "
                          "from table->gemm", text, path_names[path], pack_a, pack_b,
                          small ? " small blocks" : "", differ);
                    int damaged = guard_damage(&c, t->m, t->n, g->ldc);
                    CHECK(damaged == 0, "%s: plan %s: %d floats written outside C", text,
                          path_names[path], damaged);
                    runs[path]++;
                    free(c.base);
                }
    free(expected.base);
    gemm_operands_free(&operands);
}

/* Forces every path, packing and a small blocking on shapes each path takes, whatever the
 * thresholds: the logits' widths, N = 1, narrow N, and wide N over several slices and blocks. */
static void test_gemm_forced_plans(void) {
    const gemm_driver *d = variant->gemm_driver;
    static const int shapes[][3] = {{13, 10, 70}, {21, 9, 5},  {37, 1, 33}, {70, 1, 9},
                                    {29, 7, 20},  {3, 12, 1},  {45, 50, 530}, {70, 130, 9},
                                    {9, 17, 0}};
    int runs[PATH_COUNT] = {0};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int transposes = 0; transposes < 4; transposes++)
            for (int u8 = 0; u8 < 2; u8++) {
                gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2], transposes & 1,
                               transposes >> 1, u8, (mlp_gemm_epilogue)(s % 3),
                               (mlp_activation)(1 + (s + transposes) % 3), (int)(s & 1),
                               (int)(s % 3)};
                check_gemm_plans(&t, runs);
            }
    CHECK(runs[GEMM_PATH_TILES] > 0, "the tiles path never ran");
    CHECK(!d->logits_kernel || runs[GEMM_PATH_LOGITS] > 0, "the logits path never ran");
    CHECK(!d->narrow_micro_kernel || runs[GEMM_PATH_NARROW] > 0, "the narrow path never ran");
    CHECK(!d->column_micro_kernel || runs[GEMM_PATH_COLUMN] > 0, "the column path never ran");
    printf("forced plans run: tiles %d, narrow %d, column %d, logits %d\n",
           runs[GEMM_PATH_TILES], runs[GEMM_PATH_NARROW], runs[GEMM_PATH_COLUMN],
           runs[GEMM_PATH_LOGITS]);
}

/* ---------------------------------------------------------------- fused parameter update */

/* The parameter update epilogue of t's problem (t's epilogue ignored) run through `run`
 * against the unfused pair it replaces: P = op(A)·op(B) by table->gemm with no epilogue, then
 * the update row by row. update_rule 0 is GEMM_UPDATE_SGD against table->sgd_update; 1..5 are
 * GEMM_UPDATE_OPTIMIZER with optimizer_step's rules SGD (with weight decay), momentum,
 * Nesterov, Adam and AdamW (step t = 3, weight decay 0.05) against table->optimizer_update, the
 * moments in their own arrays (a row stride other than W's). W, m and v bitwise, and nothing
 * written outside their m × n blocks. */
enum { UPDATE_RULES = 6 };
static const float update_learning_rate = 0.0173f;
static const char *const update_rule_names[UPDATE_RULES] = {"sgd", "optimizer sgd+wd", "momentum",
                                                            "nesterov", "adam", "adamw"};
static mlp_optimizer_step test_optimizer_step(mlp_optimizer_rule rule, float lr, float lambda, int t);

static int check_update_case_with(const gemm_case *t, gemm_runner run, const void *context,
                                  const char *what, int update_rule) {
    gemm_case plain = *t;
    plain.epilogue = MLP_GEMM_EPILOGUE_NONE;
    plain.activation = MLP_ACTIVATION_NONE;
    char text[224];
    describe_case(&plain, text, sizeof text);
    gemm_operands operands = gemm_operands_make(&plain);
    mlp_gemm_problem g = operands.problem;
    size_t count = (size_t)t->m * g.ldc;
    guarded_buffer expected = guarded_alloc(count, t->misalign);
    guarded_buffer fused = guarded_alloc(count, t->misalign);
    for (int i = 0; i < t->m; i++)
        for (int j = 0; j < t->n; j++)
            expected.data[(size_t)i * g.ldc + j] = fused.data[(size_t)i * g.ldc + j] =
                random_uniform(-1.0f, 1.0f);
    /* the moments: m in [-0.5, 0.5], v in [0, 0.01], row stride ld_state = n + 3 */
    const int optimizer = update_rule > 0, ld_state = t->n + 3;
    const mlp_optimizer_rule rule = (mlp_optimizer_rule)(optimizer ? update_rule - 1 : 0);
    const int moments = !optimizer ? 0 : rule == MLP_OPTIMIZER_RULE_SGD ? 0 : rule >= MLP_OPTIMIZER_RULE_ADAM ? 2 : 1;
    const mlp_optimizer_step step = test_optimizer_step(rule, update_learning_rate, 0.05f, 3);
    guarded_buffer state[2], expected_state[2];
    for (int s = 0; s < 2; s++) {
        state[s] = guarded_alloc((size_t)t->m * ld_state, 0);
        expected_state[s] = guarded_alloc((size_t)t->m * ld_state, 0);
        for (int i = 0; i < t->m; i++)
            for (int j = 0; j < t->n; j++)
                expected_state[s].data[(size_t)i * ld_state + j] = state[s].data[(size_t)i * ld_state + j] =
                    s == 0 ? random_uniform(-0.5f, 0.5f) : random_uniform(0.0f, 0.01f);
    }

    guarded_buffer gradient = run_gemm(variant, &plain, g);
    for (int i = 0; i < t->m; i++) {
        float *w_row = expected.data + (size_t)i * g.ldc, *p_row = gradient.data + (size_t)i * g.ldc;
        if (!optimizer) variant->sgd_update(w_row, p_row, (size_t)t->n, update_learning_rate);
        else
            variant->optimizer_update(&step, w_row, p_row,
                                      moments > 0 ? expected_state[0].data + (size_t)i * ld_state : NULL,
                                      moments > 1 ? expected_state[1].data + (size_t)i * ld_state : NULL,
                                      (size_t)t->n);
    }

    g.epilogue = MLP_GEMM_EPILOGUE_PARAMETER_UPDATE;
    g.update.rule = optimizer ? MLP_GEMM_UPDATE_OPTIMIZER : MLP_GEMM_UPDATE_SGD;
    g.update.learning_rate = update_learning_rate;
    g.update.step = step;
    for (int s = 0; s < 2; s++) {
        g.update.state[s] = s < moments ? state[s].data : NULL;
        g.update.ld_state[s] = ld_state;
    }
    g.c = fused.data;
    g.workspace = workspace_alloc(variant);
    run(&g, context);
    free(g.workspace);

    int differ = 0, damaged = guard_damage(&fused, t->m, t->n, g.ldc);
    for (int i = 0; i < t->m; i++) {
        differ += memcmp(fused.data + (size_t)i * g.ldc, expected.data + (size_t)i * g.ldc,
                         (size_t)t->n * sizeof(float)) != 0;
        for (int s = 0; s < 2; s++) /* the unused ones too: untouched */
            differ += memcmp(state[s].data + (size_t)i * ld_state, expected_state[s].data + (size_t)i * ld_state,
                             (size_t)t->n * sizeof(float)) != 0;
    }
    for (int s = 0; s < 2; s++) damaged += guard_damage(&state[s], t->m, t->n, ld_state);
    CHECK(differ == 0, "%s [fused update %s%s%s]: %d rows of W, m, v differ from gemm + the unfused update",
          text, update_rule_names[update_rule], what ? ", " : "", what ? what : "", differ);
    CHECK(damaged == 0, "%s [fused update %s%s%s]: %d floats written outside W, m, v", text,
          update_rule_names[update_rule], what ? ", " : "", what ? what : "", damaged);
    free(expected.base);
    free(fused.base);
    free(gradient.base);
    for (int s = 0; s < 2; s++) free(state[s].base), free(expected_state[s].base);
    gemm_operands_free(&operands);
    return differ + damaged;
}

/* The problem cut into row and column blocks at odd offsets (as threads cut a layer's columns),
 * each block through table->gemm. */
static void run_update_blocks(const mlp_gemm_problem *g, const void *context) {
    (void)context;
    int row_cuts[] = {0, (1 + g->m / 3) | 1, g->m};
    int col_cuts[] = {0, 3, (3 + g->n / 3) | 1, (3 + (2 * g->n) / 3) | 1, g->n};
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 4; c++) {
            int row0 = row_cuts[r] < g->m ? row_cuts[r] : g->m;
            int row1 = row_cuts[r + 1] < g->m ? row_cuts[r + 1] : g->m;
            int col0 = col_cuts[c] < g->n ? col_cuts[c] : g->n;
            int col1 = col_cuts[c + 1] < g->n ? col_cuts[c + 1] : g->n;
            if (row1 <= row0 || col1 <= col0) continue;
            mlp_gemm_problem block = gemm_block(g, row0, row1 - row0, col0, col1 - col0);
            variant->gemm(&block);
        }
}

/* The fused update against gemm + the unfused update: every layout and A type on shapes from
 * one element to bigger than the cache blocks, K of one slice and of several (the partial sums
 * in the workspace: K > KC = 512 on x86, 256 on NEON), K = 0, the MLP's weight gradients;
 * through table->gemm and in blocks with every rule, and (driver variants) through every plan
 * the driver can execute, the rules in turn. */
static void test_fused_update(void) {
    static const int shapes[][3] = {
        {1, 1, 1},     {17, 65, 63},   {65, 7, 33},   {3, 1, 70},    {9, 17, 0},
        {784, 128, 64}, {128, 64, 64}, {64, 10, 64},  {64, 10, 256}, {600, 400, 1},
        {33, 48, 530}, {45, 50, 530},  {100, 1, 520}, {20, 12, 700}, {37, 16, 600},
        {70, 130, 9},  {265, 1030, 520},
    };
    int cases = 0, plans = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int transposes = 0; transposes < 4; transposes++)
            for (int u8 = 0; u8 < 2; u8++) {
                const int big = shapes[s][0] * shapes[s][1] > 50000;
                /* the big shapes once, in the weight gradient's layout (A^T, B plain) */
                if (big && (transposes != 1 || (u8 && shapes[s][0] != 784))) continue;
                gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2], transposes & 1,
                               transposes >> 1, u8, MLP_GEMM_EPILOGUE_NONE, MLP_ACTIVATION_NONE,
                               (int)((s + transposes) & 1), (int)((s + u8) % 3)};
                for (int rule = 0; rule < UPDATE_RULES; rule++) {
                    check_update_case_with(&t, run_table_gemm, variant, NULL, rule);
                    if (!big) check_update_case_with(&t, run_update_blocks, NULL, "blocks", rule);
                }
                cases++;
                const gemm_driver *d = variant->gemm_driver;
                if (!d || big) continue;
                for (int path = 0; path < PATH_COUNT; path++)
                    for (int pack_a = 0; pack_a < 2; pack_a++)
                        for (int pack_b = 0; pack_b < 2; pack_b++)
                            for (int small = 0; small < 2; small++) {
                                if (pack_b && path != GEMM_PATH_TILES) continue;
                                forced_plan f = {(gemm_path)path, pack_a, pack_b, small};
                                gemm_operands operands = gemm_operands_make(&t);
                                mlp_gemm_problem g = operands.problem;
                                g.epilogue = MLP_GEMM_EPILOGUE_PARAMETER_UPDATE;
                                gemm_plan plan = forced_plan_for(&g, d, &f);
                                int valid = gemm_plan_valid(&g, d, &plan);
                                gemm_operands_free(&operands);
                                if (!valid) continue;
                                char what[96];
                                snprintf(what, sizeof what, "plan %s pack_a %d pack_b %d%s",
                                         path_names[path], pack_a, pack_b,
                                         small ? " small blocks" : "");
                                /* the rules in turn, plan after plan */
                                check_update_case_with(&t, run_forced_plan, &f, what, plans % UPDATE_RULES);
                                plans++;
                            }
            }
    printf("fused update: %d cases, %d forced plans\n", cases, plans);
}

/* bias_gradient_update = bias_gradient then sgd_update, bitwise; nothing written past n. */
static void test_bias_gradient_update(void) {
    static const int shapes[][3] = {{1, 1, 0}, {3, 7, 2},  {5, 33, 1}, {64, 128, 0},
                                    {2, 10, 5}, {0, 9, 0}, {256, 400, 3}, {17, 1, 4}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], ld = n + shapes[s][2];
        int misalign = (int)(s & 1);
        float *dz = aligned_floats((size_t)(m ? m : 1) * ld);
        for (size_t i = 0; i < (size_t)m * ld; i++) dz[i] = random_uniform(-2.0f, 2.0f);
        guarded_buffer fused = guarded_alloc((size_t)n, misalign);
        float *expected = aligned_floats((size_t)n), *gradient = aligned_floats((size_t)n);
        for (int j = 0; j < n; j++) fused.data[j] = expected[j] = random_uniform(-1.0f, 1.0f);
        variant->bias_gradient(dz, m, n, ld, gradient);
        variant->sgd_update(expected, gradient, (size_t)n, update_learning_rate);
        variant->bias_gradient_update(dz, m, n, ld, fused.data, update_learning_rate);
        CHECK(memcmp(fused.data, expected, (size_t)n * sizeof(float)) == 0,
              "bias_gradient_update %dx%d ld %d differs from bias_gradient + sgd_update", m, n,
              ld);
        CHECK(guard_damage(&fused, 1, n, n) == 0, "bias_gradient_update wrote past n = %d", n);
        free(dz);
        free(fused.base);
        free(expected);
        free(gradient);
    }
}

/* scale_bytes = (float)byte · scale, one rounding (what the uint8 GEMM path computes), every
 * tail length, unaligned; nothing written past count. */
static void test_scale_bytes(void) {
    uint8_t bytes[80];
    for (int i = 0; i < 80; i++) bytes[i] = (uint8_t)(i == 0 ? 255 : random_below(256));
    for (size_t count = 0; count <= 70; count += count < 40 ? 1 : 15)
        for (int misalign = 0; misalign < 2; misalign++) {
            guarded_buffer y = guarded_alloc(count, misalign);
            variant->scale_bytes(bytes + misalign, y.data, count, 1.0f / 255.0f);
            int wrong = 0;
            for (size_t i = 0; i < count; i++)
                wrong += y.data[i] != (float)bytes[misalign + i] * (1.0f / 255.0f);
            CHECK(wrong == 0, "scale_bytes count %zu: %d wrong", count, wrong);
            CHECK(guard_damage(&y, 1, (int)count, (int)count) == 0,
                  "scale_bytes count %zu wrote outside y", count);
            free(y.base);
        }
}

/* ---------------------------------------------------------------- micro-kernels by name */

/* One named micro-kernel on a problem that is exactly one tile, called directly; `split`
 * runs K as two slices (the second continuing the first's sums in C). */
typedef struct micro_call {
    const gemm_micro_kernel_info *info;
    int split;
} micro_call;

static void run_micro_kernel(const mlp_gemm_problem *g, const void *context) {
    const micro_call *call = context;
    if (call->info->kind == GEMM_MICRO_LOGITS) {
        call->info->run_gemm(g);
        return;
    }
    gemm_tile tile;
    memset(&tile, 0, sizeof tile);
    tile.rows = g->m;
    tile.cols = g->n;
    tile.c = g->c;
    tile.ldc = g->ldc;
    tile.update = &g->update;
    tile.w = g->c;
    tile.ldw = g->ldc;
    /* a parameter update's C holds W: the first slice's partial sums go elsewhere, as the
     * driver's workspace block */
    float *partial = NULL;
    if (g->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE && call->split) {
        partial = aligned_floats((size_t)g->m * g->n + 1);
        tile.c = partial;
        tile.ldc = g->n;
    }
    tile.epilogue = g->epilogue;
    tile.activation = g->activation;
    tile.bias = g->bias;
    tile.y = g->activation_output;
    tile.ldy = g->ld_activation_output;
    tile.a_scale = g->a_scale;
    tile.a_group_stride = variant->gemm_driver->width; /* column tiles: A^T in place */
    tile.a_row_stride = g->a_transposed ? 1 : g->lda;
    tile.a_k_stride = g->a_transposed ? g->lda : 1;
    tile.b_k_stride = g->b_transposed ? 1 : g->ldb;
    tile.b_column_stride = g->b_transposed ? g->ldb : 1;
    const int first_depth = call->split && g->k >= 2 ? g->k / 2 : g->k;
    for (int p0 = 0, kb = first_depth; p0 < g->k || p0 == 0; p0 += kb, kb = g->k - p0) {
        tile.k = kb;
        tile.continue_sums = p0 > 0;
        tile.finish = p0 + kb >= g->k;
        tile.a = g->a ? g->a + p0 * tile.a_k_stride : NULL;
        tile.a_u8 = g->a_u8 ? g->a_u8 + p0 * tile.a_k_stride : NULL;
        tile.b = g->b + p0 * tile.b_k_stride;
        call->info->run(&tile);
        if (g->k == 0) break;
    }
    free(partial);
}

/* Whether two runs of t's problem give bitwise the same C. */
static int same_bits(const gemm_case *t, gemm_runner run, const void *first, const void *second) {
    gemm_operands operands = gemm_operands_make(t);
    guarded_buffer a = run_gemm_with(variant, t, operands.problem, run, first);
    guarded_buffer b = run_gemm_with(variant, t, operands.problem, run, second);
    int same = 1;
    for (int i = 0; i < t->m; i++)
        same &= memcmp(a.data + (size_t)i * operands.problem.ldc,
                       b.data + (size_t)i * operands.problem.ldc, (size_t)t->n * sizeof(float)) == 0;
    free(a.base);
    free(b.base);
    gemm_operands_free(&operands);
    return same;
}

/* Every micro-kernel of the variant, by name, against the oracle and the scalar reference:
 * K = 1, 7, 17, 63 (and 0 for the logits), full and ragged rows and columns, every epilogue,
 * unaligned operands, A and B in each layout the kernel reads, and K in two slices giving the
 * same bits as one. */
static void test_micro_kernels(void) {
    const gemm_driver *d = variant->gemm_driver;
    static const int depths[] = {1, 7, 17, 63};
    int cases = 0;
    for (int index = 0; index < d->micro_kernel_count; index++) {
        const gemm_micro_kernel_info *info = &d->micro_kernel_list[index];
        const int w = d->width;
        int row_choices[4] = {info->rows, 1, info->rows - 1, info->rows / 2 + 1};
        int col_choices[3] = {info->cols, info->cols - 1, info->cols > w ? info->cols - w + 1 : 1};
        if (info->kind == GEMM_MICRO_LOGITS) { /* a whole GEMM: M any, N = cols - 1 or cols */
            row_choices[0] = 17, row_choices[1] = 1, row_choices[2] = 63, row_choices[3] = 8;
            col_choices[2] = info->cols;
        }
        if (info->kind == GEMM_MICRO_COLUMN)
            row_choices[2] = 17, row_choices[3] = info->rows - w + 1;
        for (int ri = 0; ri < 4; ri++)
            for (int ci = 0; ci < 3; ci++)
                for (int di = 0; di < 4; di++) {
                    const int rows = row_choices[ri], cols = col_choices[ci], k = depths[di];
                    if (rows < 1 || cols < 1) continue;
                    if (info->kind == GEMM_MICRO_COLUMN && cols != 1) continue;
                    const int variant_index = ri * 12 + ci * 4 + di;
                    /* the layouts the driver hands this kind of tile */
                    int a_transposed = 0, b_transposed = 0, a_u8 = 0;
                    switch (info->kind) {
                    case GEMM_MICRO_TILE: a_transposed = variant_index & 1; break;
                    case GEMM_MICRO_NARROW:
                        a_transposed = 1, b_transposed = variant_index & 1;
                        break;
                    case GEMM_MICRO_COLUMN:
                        a_transposed = 1, b_transposed = variant_index & 1;
                        a_u8 = (variant_index >> 1) & 1;
                        break;
                    case GEMM_MICRO_LOGITS: break;
                    }
                    const int epilogue = variant_index % 3;
                    /* B padded so full-vector loads past the last column stay inside it */
                    const int pad = info->kind == GEMM_MICRO_TILE ? info->cols - cols + 1 + di % 2
                                                                  : di % 3;
                    gemm_case t = {rows, cols, k, a_transposed, b_transposed, a_u8,
                                   (mlp_gemm_epilogue)epilogue,
                                   epilogue ? (mlp_activation)(1 + variant_index % 3)
                                            : MLP_ACTIVATION_NONE,
                                   1 + 2 * (variant_index % 2), pad};
                    micro_call whole = {info, 0}, sliced = {info, 1};
                    check_gemm_case_with(&t, run_micro_kernel, &whole, info->name);
                    if (info->kind != GEMM_MICRO_LOGITS) {
                        const int rule = cases % UPDATE_RULES; /* the rules in turn */
                        check_update_case_with(&t, run_micro_kernel, &whole, info->name, rule);
                        if (k >= 2) check_update_case_with(&t, run_micro_kernel, &sliced, info->name, rule);
                    }
                    if (info->kind != GEMM_MICRO_LOGITS && k >= 2) {
                        char text[160];
                        describe_case(&t, text, sizeof text);
                        CHECK(same_bits(&t, run_micro_kernel, &whole, &sliced),
                              "%s [%s]: K in two slices differs from one", text, info->name);
                    }
                    cases++;
                }
    }
    printf("micro-kernels: %d, %d cases\n", d->micro_kernel_count, cases);
}

/* Every kernel the driver holds is in its named list. */
static void test_micro_kernel_list(const gemm_driver *d) {
    gemm_micro_kernel slots[2 * GEMM_DRIVER_MAX_VECTORS + 1];
    int slot_count = 0;
    for (int v = 0; v < GEMM_DRIVER_MAX_VECTORS; v++) {
        if (d->micro_kernels[v]) slots[slot_count++] = d->micro_kernels[v];
        if (d->tall_micro_kernels[v]) slots[slot_count++] = d->tall_micro_kernels[v];
    }
    if (d->column_micro_kernel) slots[slot_count++] = d->column_micro_kernel;
    for (int s = 0; s < slot_count; s++) {
        int listed = 0;
        for (int i = 0; i < d->micro_kernel_count; i++)
            listed |= d->micro_kernel_list[i].run == slots[s];
        CHECK(listed, "driver slot %d holds a micro-kernel missing from its named list", s);
    }
    int logits_listed = d->logits_kernel == NULL;
    for (int i = 0; i < d->micro_kernel_count; i++) {
        const gemm_micro_kernel_info *info = &d->micro_kernel_list[i];
        logits_listed |= info->run_gemm == d->logits_kernel;
        CHECK(info->name && (info->run != NULL) != (info->run_gemm != NULL) && info->rows > 0 &&
                  info->cols > 0,
              "micro-kernel %d of the list is malformed", i);
    }
    CHECK(logits_listed, "the logits kernel is missing from the named list");
}

/* ---------------------------------------------------------------- gemm_bf16 */

/* table->gemm_bf16 (include/mlp/kernels.h) against the reference of its arithmetic
 * (table->bf16_dot): gemm_bf16_scalar for VDPBF16PS's, gemm_bf16_scalar_bfdot for BFDOT's.
 * The sums are compared bit for bit (the references compute the instructions' pair order,
 * flushing and rounding); the epilogue is the FP32 one, so the expected C is the
 * reference's plain sums S put through the variant's own unfused kernels: bias_add and the
 * activation (BIAS_ACTIVATION), the activation's backward with dy = S (ACTIVATION_DERIVATIVE),
 * sgd_update (PARAMETER_UPDATE) — bitwise what the fused epilogue must give. The scalar
 * variant (the reference against itself, and against the double oracle on the BF16-rounded
 * operands) is compared by value: its fused relu' writes S·0 = -0 where relu_backward writes +0. */

/* Some elements of A and B replaced by values that exercise the BF16 arithmetic: denormal
 * inputs (flushed to 0), tiny ones whose products are denormal (flushed), large ones, -0, and
 * values exactly halfway between two BF16 numbers (ties to even). Products stay finite. */
static float bf16_special_value(void) {
    static const uint32_t bits[] = {0x00000001u, 0x807fffffu, 0x1e000000u, 0x9e3ba2e9u,
                                    0x5d000000u, 0x80000000u, 0x3f808000u, 0x3f818000u,
                                    0xbf808000u, 0x3f807fffu, 0x3f808001u, 0x00800000u};
    float value;
    memcpy(&value, &bits[random_below((int)(sizeof bits / sizeof bits[0]))], 4);
    return value;
}

static void bf16_sprinkle(float *x, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (random_below(16) == 0) x[i] = bf16_special_value();
}

/* Whether two floats are the same: bitwise, or (by_value) equal or both NaN. */
static int bf16_same(float got, float expected, int by_value) {
    if (by_value) return got == expected || (got != got && expected != expected);
    return memcmp(&got, &expected, sizeof got) == 0;
}

/* The expected C of g (its c holds W for a parameter update) into `expected` (ldc floats a
 * row): the reference sums through the variant's unfused kernels, as described above. */
static void bf16_expected(const mlp_gemm_problem *g, float *expected) {
    mlp_gemm_problem plain = *g;
    plain.epilogue = MLP_GEMM_EPILOGUE_NONE;
    plain.bias = NULL;
    plain.activation_output = NULL;
    size_t count = (size_t)(g->m ? g->m : 1) * g->ldc;
    float *sums = aligned_floats(count);
    plain.c = sums;
    plain.workspace = NULL;
    if (variant->bf16_dot == MLP_BF16_DOT_BFDOT) gemm_bf16_scalar_bfdot(&plain);
    else scalar->gemm_bf16(&plain);
    for (int i = 0; i < g->m; i++) {
        const float *s = sums + (size_t)i * g->ldc;
        float *e = expected + (size_t)i * g->ldc;
        switch (g->epilogue) {
        case MLP_GEMM_EPILOGUE_NONE: memcpy(e, s, (size_t)g->n * sizeof *e); break;
        case MLP_GEMM_EPILOGUE_BIAS_ACTIVATION:
            memcpy(e, s, (size_t)g->n * sizeof *e);
            if (g->bias) variant->bias_add(e, 1, g->n, g->ldc, g->bias);
            mlp_kernels_activation_forward(variant, g->activation, e, e, (size_t)g->n);
            break;
        case MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE:
            mlp_kernels_activation_backward(
                variant, g->activation,
                g->activation_output + (size_t)i * g->ld_activation_output, s, e, (size_t)g->n);
            break;
        case MLP_GEMM_EPILOGUE_PARAMETER_UPDATE:
            memcpy(e, g->c + (size_t)i * g->ldc, (size_t)g->n * sizeof *e);
            variant->sgd_update(e, s, (size_t)g->n, g->update.learning_rate);
            break;
        }
    }
    free(sums);
}

/* A reference's plain sums against a double-precision sum of the BF16-rounded operands (exact
 * products): float summation error only. VDPBF16PS's K roundings to nearest are each within
 * half an ulp (eps/2 relative); BFDOT's K roundings to odd (K/2 pair sums, K/2 accumulations;
 * its products are exact) within one ulp each, so its bound is twice as wide; both flush up to
 * 2K denormal products and sums, each below FLT_MIN. */
static int bf16_check_oracle(const mlp_gemm_problem *g, const float *sums, const char *text,
                             int bfdot) {
    int bad = 0;
    for (int i = 0; i < g->m; i++)
        for (int j = 0; j < g->n; j++) {
            double exact = 0.0, magnitude = 0.0;
            for (int p = 0; p < g->k; p++) {
                size_t ai = g->a_transposed ? (size_t)p * g->lda + i : (size_t)i * g->lda + p;
                float a = g->a_u8 ? (float)g->a_u8[ai] * g->a_scale : g->a[ai];
                float b = g->b_transposed ? g->b[(size_t)j * g->ldb + p]
                                          : g->b[(size_t)p * g->ldb + j];
                double term = (double)mlp_bf16_round(a) * (double)mlp_bf16_round(b);
                exact += term;
                magnitude += fabs(term);
            }
            double got = sums[(size_t)i * g->ldc + j];
            /* flushed denormal products and sums: up to FLT_MIN each */
            if (!(fabs(got - exact) <= (bfdot ? 2.0 : 1.0) * (g->k + 2) * (double)FLT_EPSILON *
                                                magnitude +
                                            2.0 * (g->k + 1) * FLT_MIN)) {
                if (bad == 0)
                    fprintf(stderr, "  %s: %s reference C(%d,%d) = %.9g, BF16 oracle %.9g\n",
                            text, bfdot ? "BFDOT" : "VDPBF16PS", i, j, got, exact);
                bad++;
            }
        }
    return bad;
}

/* gemm_bf16 of one case (any epilogue, PARAMETER_UPDATE included), run by `run` (NULL: the
 * table's gemm_bf16), against the expected C; nothing written outside C's m × n block. */

static int check_bf16_case_with(const gemm_case *t, int special, gemm_runner run,
                                const void *context, const char *what) {
    static const char *epilogues[] = {"none", "bias+act", "act'", "update"};
    char text[256];
    snprintf(text, sizeof text, "gemm_bf16 m=%d n=%d k=%d%s%s%s epilogue=%s/%s misalign=%d pad=%d%s%s%s",
             t->m, t->n, t->k, t->a_transposed ? " A^T" : "", t->b_transposed ? " B^T" : "",
             t->a_is_u8 ? " u8" : "", epilogues[t->epilogue], activation_name(t->activation),
             t->misalign, t->pad, special ? " special" : "", what ? " " : "", what ? what : "");
    gemm_case shape = *t;
    if (t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) shape.epilogue = MLP_GEMM_EPILOGUE_NONE;
    gemm_operands operands = gemm_operands_make(&shape);
    mlp_gemm_problem g = operands.problem;
    g.epilogue = t->epilogue;
    if (special) {
        int a_rows = t->a_transposed ? t->k : t->m, b_rows = t->b_transposed ? t->n : t->k;
        if (!t->a_is_u8) bf16_sprinkle(operands.a_storage, (size_t)a_rows * g.lda + 1);
        bf16_sprinkle(operands.b_storage, (size_t)b_rows * g.ldb + 1);
    }
    size_t count = (size_t)t->m * g.ldc;
    guarded_buffer c = guarded_alloc(count, t->misalign);
    float *expected = aligned_floats(count ? count : 1);
    if (t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
        g.update.rule = MLP_GEMM_UPDATE_SGD;
        g.update.learning_rate = update_learning_rate;
        for (int i = 0; i < t->m; i++)
            for (int j = 0; j < t->n; j++) c.data[(size_t)i * g.ldc + j] = random_uniform(-1.0f, 1.0f);
    }
    g.c = c.data;
    bf16_expected(&g, expected);
    const int by_value = variant_is_scalar;
    int bad = 0;
    if (variant_is_scalar && t->epilogue == MLP_GEMM_EPILOGUE_NONE) {
        bad += bf16_check_oracle(&g, expected, text, 0);
        /* the BFDOT reference too (its kernel variant runs on AArch64 only) */
        float *bfdot_sums = aligned_floats(count ? count : 1);
        mlp_gemm_problem plain = g;
        plain.c = bfdot_sums;
        gemm_bf16_scalar_bfdot(&plain);
        bad += bf16_check_oracle(&g, bfdot_sums, text, 1);
        free(bfdot_sums);
    }

    g.workspace = workspace_alloc(variant);
    if (run) run(&g, context);
    else variant->gemm_bf16(&g);
    free(g.workspace);
    for (int i = 0; i < t->m; i++)
        for (int j = 0; j < t->n; j++) {
            float got = c.data[(size_t)i * g.ldc + j], want = expected[(size_t)i * g.ldc + j];
            if (!bf16_same(got, want, by_value)) {
                uint32_t got_bits, want_bits;
                memcpy(&got_bits, &got, 4);
                memcpy(&want_bits, &want, 4);
                if (bad == 0)
                    fprintf(stderr, "  %s: C(%d,%d) = %.9g (0x%08x), expected %.9g (0x%08x)\n",
                            text, i, j, got, got_bits, want, want_bits);
                bad++;
            }
        }
    CHECK(bad == 0, "%s: %d elements differ from the BF16 reference", text, bad);
    int damaged = guard_damage(&c, t->m, t->n, g.ldc);
    CHECK(damaged == 0, "%s: %d floats written outside the m x n block of C", text, damaged);
    free(c.base);
    free(expected);
    gemm_operands_free(&operands);
    return bad + damaged;
}

static int check_bf16_case(const gemm_case *t, int special) {
    return check_bf16_case_with(t, special, NULL, NULL, NULL);
}

/* Every form (A, B plain or transposed), float and uint8 A, every epilogue (the parameter
 * update included) and activation, on shapes with ragged tiles, K odd, K of one and of
 * several slices, unaligned operands and padded leading dimensions. */
static void test_gemm_bf16_options(void) {
    static const int shapes[][3] = {{17, 65, 63}, {65, 7, 33}, {3, 1, 70}, {1, 29, 5},
                                    {9, 50, 1},   {16, 48, 2}, {8, 96, 64}, {13, 40, 1100}};
    int cases = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int transposes = 0; transposes < 4; transposes++)
            for (int u8 = 0; u8 < 2; u8++)
                for (int epilogue = 0; epilogue < 4; epilogue++)
                    for (int activation = 0; activation < 4; activation++) {
                        if ((epilogue == MLP_GEMM_EPILOGUE_NONE ||
                             epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) &&
                            activation != 0)
                            continue;
                        gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2],
                                       transposes & 1, transposes >> 1, u8,
                                       (mlp_gemm_epilogue)epilogue, (mlp_activation)activation,
                                       (int)(s % 4), (int)(s % 3) * 3};
                        check_bf16_case(&t, (int)((s + transposes + epilogue) & 1));
                        cases++;
                    }
    printf("gemm_bf16: %d cases of every option\n", cases);
}

/* The cross product of awkward sizes (1, 7, 17, 63, 64, 65 and deeper K: odd, and more than
 * one KC slice), each with one random choice of form, A type, epilogue, alignment. */
static void test_gemm_bf16_awkward_shapes(void) {
    static const int sizes[] = {1, 7, 17, 63, 64, 65};
    static const int depths[] = {1, 2, 7, 17, 63, 64, 65, 513, 1031};
    int cases = 0;
    for (int mi = 0; mi < 6; mi++)
        for (int ni = 0; ni < 6; ni++)
            for (int ki = 0; ki < 9; ki++) {
                int m = sizes[mi], n = sizes[ni], k = depths[ki];
                if ((double)m * n * k > 300000.0 && (mi + ni + ki) % 3 != 0) continue;
                gemm_case t = {m, n, k, random_below(2), random_below(2), random_below(2),
                               (mlp_gemm_epilogue)random_below(4),
                               (mlp_activation)random_below(4), random_below(4),
                               random_below(2) * (1 + random_below(5))};
                if (t.epilogue == MLP_GEMM_EPILOGUE_NONE ||
                    t.epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE)
                    t.activation = MLP_ACTIVATION_NONE;
                check_bf16_case(&t, random_below(2));
                cases++;
            }
    printf("gemm_bf16: %d awkward shapes\n", cases);
}

/* The three training forms on MLP shapes, the blocks' edges (M and N past MC and NC), and K
 * deeper than KC with a parameter update (the partial sums in the workspace). */
static void test_gemm_bf16_mlp_shapes(void) {
    static const int layers[][2] = {{784, 128}, {128, 64}, {64, 10}, {784, 600}};
    int batch = 64;
    for (int l = 0; l < 4; l++) {
        int in = layers[l][0], out = layers[l][1], first = in == 784;
        gemm_case forward = {batch, out, in, 0, 0, first, MLP_GEMM_EPILOGUE_BIAS_ACTIVATION,
                             (mlp_activation)(1 + l % 3), 0, 0};
        gemm_case weight = {in, out, batch, 1, 0, first, MLP_GEMM_EPILOGUE_PARAMETER_UPDATE,
                            MLP_ACTIVATION_NONE, 0, 0};
        gemm_case input = {batch, in, out, 0, 1, 0, MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE,
                           (mlp_activation)(1 + (l + 1) % 3), 1, 3};
        check_bf16_case(&forward, 0);
        check_bf16_case(&weight, 0);
        if (!first) check_bf16_case(&input, 0);
    }
    static const int big[][3] = {{300, 20, 40}, {20, 1100, 30}, {33, 70, 1500}, {270, 60, 530}};
    for (int s = 0; s < 4; s++)
        for (int epilogue = 0; epilogue < 4; epilogue++) {
            gemm_case t = {big[s][0], big[s][1], big[s][2], s & 1, (s >> 1) & 1, s == 2,
                           (mlp_gemm_epilogue)epilogue,
                           epilogue == 1 || epilogue == 2 ? MLP_ACTIVATION_TANH : MLP_ACTIVATION_NONE,
                           s & 1, s};
            check_bf16_case(&t, s & 1);
        }
}

/* Row blocks and column blocks at odd offsets (as threads cut a GEMM) through gemm_bf16: each
 * block's C the same as the whole GEMM's (checked against the reference by the same test). */
static void run_bf16_blocks(const mlp_gemm_problem *g, const void *context) {
    (void)context;
    int row_cuts[] = {0, 1, (1 + g->m / 3) | 1, g->m};
    int col_cuts[] = {0, 3, (3 + g->n / 3) | 1, (3 + (2 * g->n) / 3) | 1, g->n};
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) {
            int row0 = row_cuts[r] < g->m ? row_cuts[r] : g->m;
            int row1 = row_cuts[r + 1] < g->m ? row_cuts[r + 1] : g->m;
            int col0 = col_cuts[c] < g->n ? col_cuts[c] : g->n;
            int col1 = col_cuts[c + 1] < g->n ? col_cuts[c + 1] : g->n;
            if (row1 <= row0 || col1 <= col0) continue;
            mlp_gemm_problem block = gemm_block(g, row0, row1 - row0, col0, col1 - col0);
            variant->gemm_bf16(&block);
        }
}

static void run_bf16_k_parts(const mlp_gemm_problem *g, const void *context) {
    (void)context;
    if (g->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) /* parts are not for the update */
        variant->gemm_bf16(g);
    else
        run_k_parts(g, variant->gemm_bf16);
}

static void test_gemm_bf16_partition_independence(void) {
    static const int shapes[][3] = {{37, 45, 300}, {29, 101, 77}, {21, 50, 1030}};
    for (int s = 0; s < 3; s++)
        for (int transposes = 0; transposes < 4; transposes++)
            for (int epilogue = 0; epilogue < 4; epilogue++) {
                gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2], transposes & 1,
                               transposes >> 1, (s + transposes) % 3 == 0,
                               (mlp_gemm_epilogue)epilogue,
                               epilogue == 1 || epilogue == 2 ? (mlp_activation)(1 + s)
                                                              : MLP_ACTIVATION_NONE,
                               transposes & 1, s};
                check_bf16_case_with(&t, s & 1, run_bf16_blocks, NULL, "[row/column blocks]");
                check_bf16_case_with(&t, s & 1, run_bf16_k_parts, NULL, "[parts along k]");
            }
}

#if defined(__x86_64__)
#include <immintrin.h>
/* VCVTNE2PS2BF16 itself on 32 floats, the BF16 of each as a float (the upper 16 bits). */
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void
bf16_round_by_instruction(const float *x, float *y) {
    __m512i words = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(x));
    uint16_t w[32];
    _mm512_storeu_si512(w, words);
    for (int i = 0; i < 32; i++) {
        uint32_t bits = (uint32_t)w[i] << 16;
        memcpy(&y[i], &bits, 4);
    }
}
#endif

/* mlp_bf16_round against VCVTNE2PS2BF16 (where the CPU has it) on special values and random
 * bit patterns: zeros, denormals (to signed zero), FLT_MIN, ties (to even), NaNs (quieted,
 * sign and upper payload kept), infinities, FLT_MAX and the largest values below a tie that
 * round up to infinity. */
static void test_bf16_round(void) {
#if defined(__x86_64__)
    if (!mlp_kernels_cpu_features()->avx512_bf16) {
        printf("mlp_bf16_round vs VCVTNE2PS2BF16: skipped, this CPU has no AVX512_BF16\n");
        return;
    }
    static const uint32_t special[] = {
        0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u, 0x007fffffu, 0x807fffffu,
        0x00400000u, 0x00008000u, 0x00800000u, 0x80800000u, 0x00808000u, 0x00818000u,
        0x3f800000u, 0x3f808000u, 0x3f818000u, 0x3f807fffu, 0x3f808001u, 0xbf808000u,
        0xbf818000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00000u, 0x7f800001u,
        0xff800001u, 0x7fa00000u, 0x7f80ffffu, 0x7fffffffu, 0x7f7fffffu, 0xff7fffffu,
        0x7f7f8000u, 0x7f7f7fffu, 0x7f7e8000u, 0x7f7f8001u, 0x4b7fffffu, 0x33800000u};
    enum { SPECIAL = sizeof special / sizeof special[0], TOTAL = 32 * 320 };
    static float x[TOTAL], y[TOTAL];
    for (int i = 0; i < TOTAL; i++) {
        uint32_t bits = i < SPECIAL ? special[i] : random_u32();
        if (i >= SPECIAL && i % 3 == 0) bits = (bits & 0xffff0000u) | 0x8000u; /* a tie */
        memcpy(&x[i], &bits, 4);
    }
    for (int i = 0; i < TOTAL; i += 32) bf16_round_by_instruction(x + i, y + i);
    int bad = 0;
    for (int i = 0; i < TOTAL; i++) {
        float ours = mlp_bf16_round(x[i]);
        if (memcmp(&ours, &y[i], 4) != 0) {
            if (bad < 5) {
                uint32_t in, a, b;
                memcpy(&in, &x[i], 4);
                memcpy(&a, &ours, 4);
                memcpy(&b, &y[i], 4);
                fprintf(stderr, "  mlp_bf16_round(0x%08x) = 0x%08x, VCVTNE2PS2BF16 0x%08x\n", in,
                        a, b);
            }
            bad++;
        }
    }
    CHECK(bad == 0, "mlp_bf16_round differs from VCVTNE2PS2BF16 on %d of %d values", bad, TOTAL);
    printf("mlp_bf16_round vs VCVTNE2PS2BF16: %d values\n", TOTAL);
#else
    printf("mlp_bf16_round vs VCVTNE2PS2BF16: skipped, not x86-64\n");
#endif
}

/* The variant's conversion to BF16 inside gemm_bf16, against mlp_bf16_round: C = X · I and
 * C = I · X (I the identity, plain and transposed; X of special values and random bit
 * patterns, finite and finite in BF16) give C = mlp_bf16_round(X) by value with either pair
 * arithmetic (every other product is a zero, the diagonal's is exact), through A's and B's
 * packing of each form. By value: a -0 comes out as +0 (added to the +0 start). */
static void test_gemm_bf16_conversion(void) {
    static const uint32_t special[] = {
        0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u, 0x007fffffu, 0x807fffffu,
        0x007f8000u, 0x00400000u, 0x00800000u, 0x80800000u, 0x00808000u, 0x00818000u,
        0x3f800000u, 0x3f808000u, 0x3f818000u, 0x3f807fffu, 0x3f808001u, 0xbf808000u,
        0xbf818000u, 0x7f7f7fffu, 0xff7f7fffu, 0x7f7e8000u, 0x4b7fffffu, 0x33800000u};
    enum { ROWS = 37, DEPTH = 45 }; /* odd depth: the last pair is padded */
    int cases = 0;
    for (int form = 0; form < 4; form++) {
        const int x_is_a = form < 2, transposed = form & 1;
        const int m = x_is_a ? ROWS : DEPTH, k = DEPTH, n = x_is_a ? DEPTH : ROWS;
        float *x = aligned_floats((size_t)ROWS * DEPTH), *identity = aligned_floats((size_t)DEPTH * DEPTH);
        for (int i = 0; i < ROWS * DEPTH; i++) {
            uint32_t bits = i < (int)(sizeof special / sizeof special[0]) ? special[i] : random_u32();
            if (i % 3 == 1) bits = (bits & 0xffff0000u) | 0x8000u; /* a tie */
            if ((bits & 0x7fffffffu) >= 0x7f7f8000u) bits &= 0xbfffffffu; /* BF16-finite */
            memcpy(&x[i], &bits, 4);
        }
        for (int i = 0; i < DEPTH * DEPTH; i++) identity[i] = i / DEPTH == i % DEPTH ? 1.0f : 0.0f;
        /* X is ROWS × DEPTH as A (M × K) or DEPTH × ROWS as B (K × N); stored transposed when
         * the form is transposed */
        mlp_gemm_problem g;
        memset(&g, 0, sizeof g);
        g.m = m, g.n = n, g.k = k;
        g.a_transposed = x_is_a ? transposed : 0;
        g.b_transposed = x_is_a ? 0 : transposed;
        g.a = x_is_a ? x : identity;
        g.lda = x_is_a ? (transposed ? ROWS : DEPTH) : DEPTH;
        g.b = x_is_a ? identity : x;
        g.ldb = x_is_a ? DEPTH : (transposed ? DEPTH : ROWS);
        g.ldc = n;
        g.epilogue = MLP_GEMM_EPILOGUE_NONE;
        float *c = aligned_floats((size_t)m * n);
        g.c = c;
        g.workspace = workspace_alloc(variant);
        variant->gemm_bf16(&g);
        free(g.workspace);
        int bad = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                /* C(i, j) = X(i, j) (X as A) or X(i, j) (X as B, i < DEPTH) */
                size_t index = transposed ? (x_is_a ? (size_t)j * ROWS + i : (size_t)j * DEPTH + i)
                                          : (size_t)i * (x_is_a ? DEPTH : ROWS) + j;
                float want = mlp_bf16_round(x[index]), got = c[(size_t)i * n + j];
                if (got != want) {
                    if (bad == 0) {
                        uint32_t in, got_bits, want_bits;
                        memcpy(&in, &x[index], 4), memcpy(&got_bits, &got, 4), memcpy(&want_bits, &want, 4);
                        fprintf(stderr, "  gemm_bf16 conversion (%s%s): 0x%08x gave 0x%08x, mlp_bf16_round 0x%08x\n",
                                x_is_a ? "A" : "B", transposed ? "^T" : "", in, got_bits, want_bits);
                    }
                    bad++;
                }
            }
        CHECK(bad == 0, "gemm_bf16's conversion of %s%s differs from mlp_bf16_round on %d values",
              x_is_a ? "A" : "B", transposed ? "^T" : "", bad);
        cases += m * n;
        free(c), free(x), free(identity);
    }
    printf("gemm_bf16: conversion of %d values through A's and B's packing\n", cases);
}

#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__)
#include <arm_neon.h>
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+bf16")
/* BFDOT itself on 4 lanes: out[i] = sum[i] + (a[i].lo · b[i].lo + a[i].hi · b[i].hi). */
static void bfdot_by_instruction(const float *sum, const uint32_t *a, const uint32_t *b, float *out) {
    vst1q_f32(out, vbfdotq_f32(vld1q_f32(sum), vreinterpretq_bf16_u32(vld1q_u32(a)),
                               vreinterpretq_bf16_u32(vld1q_u32(b))));
}
#pragma GCC pop_options
#define MLP_TEST_BFDOT_INSTRUCTION 1

/* A random BF16 value (as its 16 bits) of one of the classes BFDOT treats specially. */
static uint16_t bfdot_test_operand(void) {
    const uint32_t r = random_u32();
    const uint32_t sign_mantissa = r & 0x807fu;
    switch (random_below(8)) {
    case 0: return (uint16_t)sign_mantissa;                                  /* denormal, zero */
    case 1: return (uint16_t)(sign_mantissa | 0x0080u);                      /* FLT_MIN's binade */
    case 2: return (uint16_t)(sign_mantissa | (uint32_t)(0x30 + random_below(32)) << 7); /* tiny */
    case 3: return (uint16_t)(sign_mantissa | (uint32_t)(0xb0 + random_below(0x4f)) << 7); /* huge */
    default: return (uint16_t)(sign_mantissa | (uint32_t)(0x70 + random_below(32)) << 7); /* ~1 */
    }
}

/* A random float accumulator of the classes BFDOT treats specially. */
static float bfdot_test_sum(void) {
    static const uint32_t special[] = {0x80000000u, 0x7f800000u, 0xff800000u, 0x7f7fffffu,
                                       0x00000001u, 0x7fc00001u, 0xff7fffffu, 0x00800000u};
    uint32_t bits = random_u32();
    switch (random_below(10)) {
    case 0: bits = 0; break;
    case 1: bits &= 0x80ffffffu; break; /* tiny: denormal, or a few binades above */
    case 2: bits = (bits & 0x807fffffu) | (uint32_t)(0x30 + random_below(32)) << 23; break;
    case 3: bits = (bits & 0x807fffffu) | (uint32_t)(0xe0 + random_below(31)) << 23; break;
    case 4: bits = special[random_below(8)]; break;
    default: bits = (bits & 0x807fffffu) | (uint32_t)(0x70 + random_below(32)) << 23; break;
    }
    float sum;
    memcpy(&sum, &bits, 4);
    return sum;
}
#endif

/* bf16_bfdot_step_scalar (the BFDOT reference's step) against the instruction, where the CPU
 * has FEAT_BF16: random steps of denormal, tiny, huge and ordinary operands and accumulators,
 * cancelling pairs, infinities and NaNs. */
static void test_bfdot_instruction(void) {
#if defined(MLP_TEST_BFDOT_INSTRUCTION)
    if (!mlp_kernels_cpu_features()->neon_bf16) {
        printf("BFDOT reference vs BFDOT: skipped, this CPU has no BF16\n");
        return;
    }
    enum { STEPS = 200000 };
    int bad = 0;
    for (int i = 0; i < STEPS; i += 4) {
        uint32_t a[4], b[4];
        float sum[4], out[4];
        for (int l = 0; l < 4; l++) {
            a[l] = (uint32_t)bfdot_test_operand() | (uint32_t)bfdot_test_operand() << 16;
            b[l] = (uint32_t)bfdot_test_operand() | (uint32_t)bfdot_test_operand() << 16;
            sum[l] = bfdot_test_sum();
            if (random_below(16) == 0) { /* a1·b1 = -(a0·b0): the products cancel */
                a[l] = (a[l] & 0xffffu) | a[l] << 16;
                b[l] = (b[l] & 0xffffu) | (b[l] ^ 0x8000u) << 16;
            }
            if (random_below(64) == 0) a[l] = 0x7f80ff80u ^ (random_u32() & 0x80008000u); /* inf, NaN */
        }
        bfdot_by_instruction(sum, a, b, out);
        for (int l = 0; l < 4; l++) {
            uint32_t ab[4] = {a[l] << 16, a[l] & 0xffff0000u, b[l] << 16, b[l] & 0xffff0000u};
            float operand[4];
            memcpy(operand, ab, sizeof operand);
            float model = bf16_bfdot_step_scalar(sum[l], operand[0], operand[2], operand[1], operand[3]);
            if (memcmp(&model, &out[l], 4) != 0) {
                if (bad < 5) {
                    uint32_t s_bits, got, want;
                    memcpy(&s_bits, &sum[l], 4), memcpy(&got, &out[l], 4), memcpy(&want, &model, 4);
                    fprintf(stderr, "  BFDOT(sum 0x%08x, a 0x%08x, b 0x%08x) = 0x%08x, reference 0x%08x\n",
                            s_bits, a[l], b[l], got, want);
                }
                bad++;
            }
        }
    }
    CHECK(bad == 0, "the BFDOT reference differs from BFDOT on %d of %d steps", bad, STEPS);
    printf("BFDOT reference vs BFDOT: %d steps\n", STEPS);
#else
    printf("BFDOT reference vs BFDOT: skipped, not AArch64 (GCC)\n");
#endif
}

static void test_gemm_bf16(void) {
    test_bf16_round();
    test_bfdot_instruction();
    if (variant->gemm_bf16 == NULL) {
        printf("gemm_bf16: none in this variant\n");
        return;
    }
    printf("gemm_bf16: %s pair arithmetic\n",
           variant->bf16_dot == MLP_BF16_DOT_BFDOT ? "BFDOT's" : "VDPBF16PS's");
    test_gemm_bf16_conversion();
    test_gemm_bf16_options();
    test_gemm_bf16_awkward_shapes();
    test_gemm_bf16_mlp_shapes();
    test_gemm_bf16_partition_independence();
}

/* ---------------------------------------------------------------- the variant registry */

static void test_registry(void) {
    int count;
    const mlp_kernel_variant *variants = mlp_kernels_variants(&count);
    CHECK(count >= 1 && strcmp(variants[0].name, "scalar") == 0 && variants[0].table &&
              variants[0].required_cpu_features == 0,
          "the registry does not start with the scalar reference");
    char choices[256] = "auto";
    for (int i = 0; i < count; i++) {
        snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "|%s",
                 variants[i].name);
        CHECK(variants[i].table == NULL || strcmp(variants[i].table->name, variants[i].name) == 0,
              "variant %s: its table is named %s", variants[i].name, variants[i].table->name);
        CHECK(mlp_kernels_find(variants[i].name) == variants[i].table, "kernels_find(%s)",
              variants[i].name);
        if (variants[i].table) {
            const char *reason = NULL;
            int supported = mlp_kernels_supported(variants[i].table, &reason);
            CHECK(supported == mlp_kernels_cpu_supports(variants[i].required_cpu_features, NULL),
                  "variant %s: support is not its required features", variants[i].name);
        }
    }
    CHECK(strcmp(choices, mlp_kernels_variant_choices()) == 0, "choices '%s', expected '%s'",
          mlp_kernels_variant_choices(), choices);
    /* a feature this CPU lacks is named in the reason */
    const unsigned mask = mlp_kernels_cpu_features()->mask;
    const unsigned absent = (mask & MLP_CPU_NEON) ? MLP_CPU_AVX2 : MLP_CPU_NEON;
    const char *reason = NULL;
    CHECK(!mlp_kernels_cpu_supports(absent, &reason) && reason &&
              strstr(reason, absent == MLP_CPU_NEON ? "lacks AArch64 Advanced SIMD" : "lacks AVX2"),
          "missing feature reason: %s", reason ? reason : "(none)");
    CHECK(mlp_kernels_cpu_supports(0, NULL), "no requirement is not supported");
}

/* ---------------------------------------------------------------- bias */

static void test_bias(void) {
    static const int shapes[][3] = {{1, 1, 0}, {3, 7, 2}, {5, 33, 1}, {64, 128, 0}, {2, 10, 5}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], ld = n + shapes[s][2];
        int misalign = (int)(s & 1);
        guarded_buffer c = guarded_alloc((size_t)m * ld, misalign);
        float *original = aligned_floats((size_t)m * ld);
        float *bias = aligned_floats((size_t)n + 1) + misalign;
        for (int j = 0; j < n; j++) bias[j] = random_uniform(-2.0f, 2.0f);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c.data[(size_t)i * ld + j] = original[(size_t)i * ld + j] =
                    random_uniform(-2.0f, 2.0f);

        /* one float addition, correctly rounded: the same in every variant */
        variant->bias_add(c.data, m, n, ld, bias);
        int wrong = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                if (c.data[(size_t)i * ld + j] !=
                    (float)((double)original[(size_t)i * ld + j] + bias[j]))
                    wrong++;
        CHECK(wrong == 0, "bias_add %dx%d ld %d: %d wrong", m, n, ld, wrong);
        CHECK(guard_damage(&c, m, n, ld) == 0, "bias_add %dx%d wrote outside the block", m, n);

        /* bias gradient: sum over rows in increasing i, as the contract fixes the order */
        guarded_buffer gradient = guarded_alloc((size_t)n, misalign);
        variant->bias_gradient(original, m, n, ld, gradient.data);
        int wrong_order = 0, wrong_value = 0;
        for (int j = 0; j < n; j++) {
            float sum = 0.0f;
            double exact = 0.0, magnitude = 0.0;
            for (int i = 0; i < m; i++) {
                sum += original[(size_t)i * ld + j];
                exact += original[(size_t)i * ld + j];
                magnitude += fabs(original[(size_t)i * ld + j]);
            }
            if (gradient.data[j] != sum) wrong_order++;
            if (!(fabs(gradient.data[j] - exact) <= m * FLT_EPSILON * magnitude)) wrong_value++;
        }
        CHECK(wrong_order == 0, "bias_gradient %dx%d: %d sums not in increasing-i order", m, n,
              wrong_order);
        CHECK(wrong_value == 0, "bias_gradient %dx%d: %d sums off the double sum", m, n,
              wrong_value);
        CHECK(guard_damage(&gradient, 1, n, n) == 0, "bias_gradient wrote past n = %d", n);

        free(gradient.base);
        free(c.base);
        free(original);
        free(bias - misalign);
    }
}

/* ---------------------------------------------------------------- activations */

/* Inputs that exercise everything: saturation, +-0, tiny values, a dense sweep. */
static size_t activation_inputs(float *x, size_t capacity) {
    static const float special[] = {0.0f,  -0.0f,  1e-30f,  -1e-30f, 1e-7f,  -1e-7f, 0.5f,
                                    -0.5f, 0.625f, -0.625f, 1.0f,    -1.0f,  9.0f,   -9.0f,
                                    20.0f, -20.0f, 87.0f,   -87.0f,  88.5f,  -88.5f, 100.0f,
                                    -100.0f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX};
    size_t count = 0;
    for (size_t i = 0; i < sizeof special / sizeof special[0] && count < capacity; i++)
        x[count++] = special[i];
    while (count < capacity) {
        float magnitude = random_below(4) == 0 ? random_uniform(-30.0f, 30.0f)
                                               : random_uniform(-6.0f, 6.0f);
        x[count++] = magnitude;
    }
    return count;
}

/* Absolute and relative error bounds of f for the variant under test. */
static void activation_bounds(mlp_activation activation, double *absolute, double *relative) {
    if (variant_is_scalar) { /* libm: a couple of ulp */
        *absolute = FLT_EPSILON;
        *relative = 2.0 * FLT_EPSILON;
    } else if (activation == MLP_ACTIVATION_SIGMOID) {
        *absolute = MLP_SIGMOID_MAX_ABS_ERROR;
        *relative = MLP_SIGMOID_MAX_REL_ERROR;
    } else {
        *absolute = MLP_TANH_MAX_ABS_ERROR;
        *relative = MLP_TANH_MAX_REL_ERROR;
    }
}

/* Whether the relative bound applies at x (see activation_error_bounds.h). */
static int relative_bound_applies(mlp_activation activation, float x) {
    if (activation == MLP_ACTIVATION_SIGMOID) return x > -87.0f;
    return fabsf(x) >= 1e-30f;
}

static void check_activation_forward(mlp_activation activation, const float *x, size_t count,
                                     int misalign) {
    guarded_buffer y = guarded_alloc(count, misalign);
    mlp_kernels_activation_forward(variant, activation, x, y.data, count);
    double absolute, relative;
    activation_bounds(activation, &absolute, &relative);
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < count; i++) {
        double expected = reference_activation(activation, x[i]);
        double error = fabs((double)y.data[i] - expected);
        int ok;
        if (activation == MLP_ACTIVATION_RELU) ok = y.data[i] == (float)expected;
        else
            ok = error <= absolute &&
                 (!relative_bound_applies(activation, x[i]) || error <= relative * fabs(expected));
        if (!ok && bad++ == 0) first_bad = i;
    }
    CHECK(bad == 0, "%s forward, count %zu: %zu wrong, first f(%.9g) = %.9g, expected %.9g",
          activation_name(activation), count, bad, x[first_bad], y.data[first_bad],
          reference_activation(activation, x[first_bad]));
    CHECK(guard_damage(&y, 1, (int)count, (int)count) == 0, "%s forward wrote past count %zu",
          activation_name(activation), count);

    /* in place (x and y alias) gives the same bits */
    float *in_place = aligned_floats(count);
    memcpy(in_place, x, count * sizeof *x);
    mlp_kernels_activation_forward(variant, activation, in_place, in_place, count);
    CHECK(memcmp(in_place, y.data, count * sizeof *x) == 0, "%s forward in place differs",
          activation_name(activation));
    free(in_place);
    free(y.base);
}

static void check_activation_backward(mlp_activation activation, const float *x, size_t count,
                                      int misalign) {
    float *y = aligned_floats(count), *dy = aligned_floats(count);
    for (size_t i = 0; i < count; i++) {
        y[i] = (float)reference_activation(activation, x[i]);
        dy[i] = random_uniform(-2.0f, 2.0f);
    }
    guarded_buffer dx = guarded_alloc(count, misalign);
    mlp_kernels_activation_backward(variant, activation, y, dy, dx.data, count);
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < count; i++) {
        double expected = dy[i] * reference_activation_derivative(activation, y[i]);
        int ok;
        if (activation == MLP_ACTIVATION_RELU) ok = dx.data[i] == (float)expected;
        else /* f'(y) is a product and a difference of numbers <= 1, then times dy */
            ok = fabs((double)dx.data[i] - expected) <=
                 2.0 * FLT_EPSILON * fabs(dy[i]) * (1.0 + fabs(y[i]) + (double)y[i] * y[i]);
        if (!ok && bad++ == 0) first_bad = i;
    }
    CHECK(bad == 0, "%s backward, count %zu: %zu wrong, first y=%.9g dy=%.9g dx=%.9g",
          activation_name(activation), count, bad, y[first_bad], dy[first_bad],
          dx.data[first_bad]);
    CHECK(guard_damage(&dx, 1, (int)count, (int)count) == 0, "%s backward wrote past count %zu",
          activation_name(activation), count);

    /* dx aliasing dy gives the same bits */
    mlp_kernels_activation_backward(variant, activation, y, dy, dy, count);
    CHECK(memcmp(dy, dx.data, count * sizeof *dy) == 0, "%s backward in place differs",
          activation_name(activation));
    free(dx.base);
    free(y);
    free(dy);
}

static void test_activations(void) {
    enum { MANY = 4099 };
    float *x = aligned_floats(MANY + 1);
    for (int activation = MLP_ACTIVATION_RELU; activation <= MLP_ACTIVATION_TANH; activation++) {
        size_t count = activation_inputs(x, MANY);
        check_activation_forward((mlp_activation)activation, x, count, 0);
        check_activation_backward((mlp_activation)activation, x, count, 1);
        /* every tail length, from an unaligned start: the special values come first */
        for (size_t tail = 1; tail <= 33; tail++) {
            activation_inputs(x + 1, tail);
            check_activation_forward((mlp_activation)activation, x + 1, tail, 1);
            check_activation_backward((mlp_activation)activation, x + 1, tail, 0);
        }
    }
    /* saturation: the limits (within the bound), never NaN */
    float saturated[] = {20.0f, -20.0f, 100.0f, -100.0f, 1e30f, -1e30f}, out[6];
    variant->sigmoid_forward(saturated + 2, out, 4);
    CHECK(out[0] == 1.0f && out[2] == 1.0f && out[1] >= 0.0f && out[1] <= 2e-38f &&
              out[3] >= 0.0f && out[3] <= 2e-38f,
          "sigmoid(100, -100, 1e30, -1e30) = %g %g %g %g", out[0], out[1], out[2], out[3]);
    variant->tanh_forward(saturated, out, 6);
    double tanh_bound = variant_is_scalar ? FLT_EPSILON : MLP_TANH_MAX_ABS_ERROR;
    int tanh_saturated = 1;
    for (int i = 0; i < 6; i++)
        tanh_saturated &= fabs(out[i] - (i % 2 ? -1.0 : 1.0)) <= tanh_bound;
    CHECK(tanh_saturated, "tanh(+-20, +-100, +-1e30) = %.9g %.9g %.9g %.9g %.9g %.9g", out[0],
          out[1], out[2], out[3], out[4], out[5]);
    float zeros[] = {0.0f, -0.0f};
    variant->tanh_forward(zeros, out, 2);
    CHECK(out[0] == 0.0f && out[1] == 0.0f, "tanh(+-0) = %g %g", out[0], out[1]);
    variant->sigmoid_forward(zeros, out, 2);
    CHECK(out[0] == 0.5f && out[1] == 0.5f, "sigmoid(+-0) = %g %g", out[0], out[1]);
    free(x);
}

/* ---------------------------------------------------------------- softmax + cross-entropy */

static void check_softmax_rows(int rows, int classes, int ld, const float *logits,
                               const uint8_t *labels, int moderate) {
    float scale = 1.0f / (float)rows;
    float *p = aligned_floats((size_t)rows * ld), *loss = aligned_floats((size_t)rows);
    float *gradient = aligned_floats((size_t)rows * ld);
    variant->softmax_cross_entropy(rows, classes, logits, ld, labels, p, ld, loss, gradient, ld,
                                   scale);
    double *p_exact = malloc((size_t)classes * sizeof *p_exact);
    double p_bound = variant_is_scalar ? 2.0 * FLT_EPSILON : MLP_SOFTMAX_MAX_ABS_ERROR;
    /* loss: |error| <= bound * (1 + |loss|) */
    double loss_bound = variant_is_scalar ? 2.0 * FLT_EPSILON : MLP_CROSS_ENTROPY_MAX_REL_ERROR;
    int bad_p = 0, bad_loss = 0, bad_sum = 0, bad_gradient = 0, not_finite = 0;
    for (int i = 0; i < rows; i++) {
        const float *z = logits + (size_t)i * ld;
        double loss_exact, sum = 0.0;
        reference_softmax_cross_entropy_row(classes, z, labels[i], p_exact, &loss_exact);
        if (!isfinite(loss[i])) not_finite++;
        /* the loss is log(sum) - (z_y - max): its rounding grows with |z_y - max| */
        if (moderate && !(fabs(loss[i] - loss_exact) <= loss_bound * (1.0 + fabs(loss_exact))))
            bad_loss++;
        for (int j = 0; j < classes; j++) {
            float pj = p[(size_t)i * ld + j];
            sum += pj;
            if (!isfinite(pj) || pj < 0.0f) not_finite++;
            if (moderate && !(fabs(pj - p_exact[j]) <= p_bound)) bad_p++;
            /* gradient = (p - onehot) * scale, from the same p */
            double expected = ((double)pj - (j == labels[i])) * scale;
            double got = gradient[(size_t)i * ld + j];
            if (!(fabs(got - expected) <= 2.0 * FLT_EPSILON * fabs(expected) + 1e-30)) bad_gradient++;
        }
        if (!(fabs(sum - 1.0) <= (classes + 2) * (p_bound + FLT_EPSILON))) bad_sum++;
    }
    CHECK(not_finite == 0, "softmax %dx%d: %d infinite, NaN or negative values", rows, classes,
          not_finite);
    CHECK(bad_p == 0, "softmax %dx%d: %d probabilities off the double oracle", rows, classes,
          bad_p);
    CHECK(bad_loss == 0, "softmax %dx%d: %d losses off the double oracle", rows, classes,
          bad_loss);
    CHECK(bad_sum == 0, "softmax %dx%d: %d rows whose probabilities do not sum to 1", rows,
          classes, bad_sum);
    CHECK(bad_gradient == 0, "softmax %dx%d: %d gradients != (p - onehot) * scale", rows,
          classes, bad_gradient);

    /* probabilities written over the logits, and the optional outputs left out */
    float *aliased = aligned_floats((size_t)rows * ld);
    memcpy(aliased, logits, (size_t)rows * ld * sizeof *aliased);
    variant->softmax_cross_entropy(rows, classes, aliased, ld, labels, aliased, ld, NULL, NULL, 0,
                                   scale);
    int differ = 0;
    for (int i = 0; i < rows; i++)
        differ += memcmp(aliased + (size_t)i * ld, p + (size_t)i * ld, classes * sizeof *p) != 0;
    CHECK(differ == 0, "softmax %dx%d: %d rows differ when probabilities alias logits", rows,
          classes, differ);
    float *loss_only = aligned_floats((size_t)rows);
    variant->softmax_cross_entropy(rows, classes, logits, ld, labels, NULL, 0, loss_only, NULL, 0,
                                   scale);
    CHECK(memcmp(loss_only, loss, (size_t)rows * sizeof *loss) == 0,
          "softmax %dx%d: loss alone differs from loss with probabilities", rows, classes);

    free(loss_only);
    free(aliased);
    free(p_exact);
    free(p);
    free(loss);
    free(gradient);
}

static void test_softmax_cross_entropy(void) {
    static const int class_counts[] = {1, 2, 3, 4, 7, 10, 17, 33};
    for (size_t c = 0; c < sizeof class_counts / sizeof class_counts[0]; c++) {
        int classes = class_counts[c], rows = 19, ld = classes + (int)(c % 3);
        float *logits = aligned_floats((size_t)rows * ld);
        uint8_t labels[19];
        for (int i = 0; i < rows; i++) {
            labels[i] = (uint8_t)random_below(classes);
            float spread = i < 6 ? 3.0f : 30.0f;
            for (int j = 0; j < ld; j++) logits[(size_t)i * ld + j] = random_uniform(-spread, spread);
        }
        check_softmax_rows(rows, classes, ld, logits, labels, 1);

        /* huge logits: never inf or NaN; the probabilities still sum to 1 */
        static const float huge[] = {1e30f, -1e30f, 88.0f, -88.0f, 0.0f};
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < classes; j++)
                logits[(size_t)i * ld + j] = huge[(i + j * (i % 4 + 1)) % 5];
        check_softmax_rows(rows, classes, ld, logits, labels, 0);
        free(logits);
    }

    /* batches past one chunk of the kernels' row passes (64 rows, kernels/softmax_passes.h):
     * against the double oracle, and bitwise the rows computed one call per row */
    static const int row_counts[] = {64, 65, 130, 257};
    for (size_t r = 0; r < sizeof row_counts / sizeof row_counts[0]; r++) {
        const int rows = row_counts[r], classes = 10, ld = 11;
        float *logits = aligned_floats((size_t)rows * ld), *p = aligned_floats((size_t)rows * ld);
        float *gradient = aligned_floats((size_t)rows * ld), *loss = aligned_floats((size_t)rows);
        float *row_p = aligned_floats((size_t)ld), *row_gradient = aligned_floats((size_t)ld);
        uint8_t *labels = malloc((size_t)rows);
        for (int i = 0; i < rows; i++) {
            labels[i] = (uint8_t)random_below(classes);
            for (int j = 0; j < ld; j++) logits[(size_t)i * ld + j] = random_uniform(-20.0f, 20.0f);
        }
        check_softmax_rows(rows, classes, ld, logits, labels, 1);
        const float scale = 1.0f / (float)rows;
        variant->softmax_cross_entropy(rows, classes, logits, ld, labels, p, ld, loss, gradient, ld, scale);
        int differ = 0;
        for (int i = 0; i < rows; i++) {
            float row_loss;
            variant->softmax_cross_entropy(1, classes, logits + (size_t)i * ld, ld, labels + i, row_p, ld,
                                           &row_loss, row_gradient, ld, scale);
            differ += row_loss != loss[i] ||
                      memcmp(row_p, p + (size_t)i * ld, (size_t)classes * sizeof(float)) != 0 ||
                      memcmp(row_gradient, gradient + (size_t)i * ld, (size_t)classes * sizeof(float)) != 0;
        }
        CHECK(differ == 0, "softmax %dx%d: %d rows differ from the same rows computed one at a time",
              rows, classes, differ);
        free(labels);
        free(row_gradient);
        free(row_p);
        free(loss);
        free(gradient);
        free(p);
        free(logits);
    }
}

/* ---------------------------------------------------------------- sgd */

static void test_sgd_update(void) {
    for (size_t count = 1; count <= 67; count += (count < 33 ? 1 : 17)) {
        float *params = aligned_floats(count + 1) + 1, *gradients = aligned_floats(count);
        float *before = aligned_floats(count);
        for (size_t i = 0; i < count; i++) {
            before[i] = params[i] = random_uniform(-1.0f, 1.0f);
            gradients[i] = random_uniform(-3.0f, 3.0f);
        }
        float learning_rate = 0.0173f;
        variant->sgd_update(params, gradients, count, learning_rate);
        /* exact: either p - fl(lr * g) (two roundings) or the fused, once-rounded fmaf */
        int wrong = 0;
        for (size_t i = 0; i < count; i++) {
            float step = learning_rate * gradients[i];
            float two_roundings = before[i] - step;
            float fused = fmaf(-learning_rate, gradients[i], before[i]);
            if (params[i] != two_roundings && params[i] != fused) wrong++;
        }
        CHECK(wrong == 0, "sgd_update count %zu: %d wrong", count, wrong);
        free(params - 1);
        free(gradients);
        free(before);
    }
}

/* ---------------------------------------------------------------- optimizer */

/* The descriptor of step t (1-based), derived in double as optimizer_step_prepare does. */
static mlp_optimizer_step test_optimizer_step(mlp_optimizer_rule rule, float lr, float lambda, int t) {
    mlp_optimizer_step s = {.rule = rule, .learning_rate = lr, .momentum = 0.9f, .beta1 = 0.9f,
                        .beta2 = 0.999f, .eps = 1e-8f, .decay = 1.0f};
    s.weight_decay = rule == MLP_OPTIMIZER_RULE_ADAMW ? 0.0f : lambda;
    s.one_minus_beta1 = (float)(1.0 - (double)s.beta1);
    s.one_minus_beta2 = (float)(1.0 - (double)s.beta2);
    s.step_size = (float)((double)lr / (1.0 - pow((double)s.beta1, t)));
    s.bias_correction2_sqrt = (float)sqrt(1.0 - pow((double)s.beta2, t));
    if (rule == MLP_OPTIMIZER_RULE_ADAMW) s.decay = (float)(1.0 - (double)lr * (double)lambda);
    return s;
}

/* PyTorch's rules in double (include/mlp/kernels.h), one step over n elements. */
static void reference_optimizer_step(mlp_optimizer_rule rule, double lr, double lambda, int t,
                                     double *w, const double *gradient, double *m, double *v, int n) {
    const double mu = 0.9f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    for (int i = 0; i < n; i++) {
        double g = gradient[i];
        if (rule != MLP_OPTIMIZER_RULE_ADAMW) g += lambda * w[i];
        switch (rule) {
        case MLP_OPTIMIZER_RULE_SGD: w[i] -= lr * g; break;
        case MLP_OPTIMIZER_RULE_MOMENTUM:
        case MLP_OPTIMIZER_RULE_NESTEROV:
            m[i] = mu * m[i] + g;
            w[i] -= lr * (rule == MLP_OPTIMIZER_RULE_NESTEROV ? g + mu * m[i] : m[i]);
            break;
        case MLP_OPTIMIZER_RULE_ADAM:
        case MLP_OPTIMIZER_RULE_ADAMW:
            if (rule == MLP_OPTIMIZER_RULE_ADAMW) w[i] *= 1.0 - lr * lambda;
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            w[i] -= lr / (1.0 - pow(b1, t)) * m[i] / (sqrt(v[i]) / sqrt(1.0 - pow(b2, t)) + eps);
            break;
        }
    }
}

static void test_optimizer_update(void) {
    static const int lengths[] = {1, 7, 17, 63, 100};
    static const char *names[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};
    enum { STEPS = 6 };
    for (int rule = MLP_OPTIMIZER_RULE_SGD; rule <= MLP_OPTIMIZER_RULE_ADAMW; rule++)
        for (int decay = 0; decay < 2; decay++)
            for (size_t c = 0; c < sizeof lengths / sizeof lengths[0]; c++) {
                int n = lengths[c];
                float lambda = decay ? 0.05f : 0.0f, lr = rule >= MLP_OPTIMIZER_RULE_ADAM ? 0.01f : 0.05f;
                /* one float past a 64-byte boundary: every pointer unaligned */
                float *w = aligned_floats((size_t)n + 1) + 1, *g = aligned_floats((size_t)n + 1) + 1;
                float *m = aligned_floats((size_t)n + 1) + 1, *v = aligned_floats((size_t)n + 1) + 1;
                float *sw = aligned_floats((size_t)n), *sm = aligned_floats((size_t)n), *sv = aligned_floats((size_t)n);
                double *rw = malloc((size_t)n * sizeof *rw), *rg = malloc((size_t)n * sizeof *rg);
                double *rm = calloc((size_t)n, sizeof *rm), *rv = calloc((size_t)n, sizeof *rv);
                for (int i = 0; i < n; i++) {
                    sw[i] = w[i] = random_uniform(-1.0f, 1.0f);
                    rw[i] = w[i];
                    m[i] = v[i] = sm[i] = sv[i] = 0.0f;
                }
                int mismatches = 0;
                double worst = 0.0;
                for (int t = 1; t <= STEPS; t++) {
                    for (int i = 0; i < n; i++) {
                        /* some exact zeros and a wide range of magnitudes */
                        g[i] = (i % 5 == 3) ? 0.0f : random_uniform(-2.0f, 2.0f) * (i % 3 ? 1.0f : 1e-3f);
                        rg[i] = g[i];
                    }
                    mlp_optimizer_step step = test_optimizer_step((mlp_optimizer_rule)rule, lr, lambda, t);
                    variant->optimizer_update(&step, w, g, m, v, (size_t)n);
                    reference_optimizer_step((mlp_optimizer_rule)rule, lr, lambda, t, rw, rg, rm, rv, n);
                    if (!variant_is_scalar) {
                        scalar->optimizer_update(&step, sw, g, sm, sv, (size_t)n);
                        for (int i = 0; i < n; i++)
                            mismatches += memcmp(&w[i], &sw[i], 4) != 0 || memcmp(&m[i], &sm[i], 4) != 0 ||
                                          (rule >= MLP_OPTIMIZER_RULE_ADAM && memcmp(&v[i], &sv[i], 4) != 0);
                    }
                    for (int i = 0; i < n; i++) {
                        double error = fabs((double)w[i] - rw[i]) / (1.0 + fabs(rw[i]));
                        if (rule >= MLP_OPTIMIZER_RULE_MOMENTUM) {
                            double e = fabs((double)m[i] - rm[i]) / (1.0 + fabs(rm[i]));
                            if (e > error) error = e;
                        }
                        if (rule >= MLP_OPTIMIZER_RULE_ADAM) {
                            double e = fabs((double)v[i] - rv[i]) / (1e-3 + fabs(rv[i]));
                            if (e > error) error = e;
                        }
                        if (!(error <= worst)) worst = error; /* NaN too */
                    }
                }
                CHECK(worst <= 4e-6, "optimizer_update %s decay %g length %d: error %.3g after %d steps",
                      names[rule], lambda, n, worst, STEPS);
                CHECK(mismatches == 0, "optimizer_update %s decay %g length %d: %d values differ from scalar's bits",
                      names[rule], lambda, n, mismatches);
                free(w - 1), free(g - 1), free(m - 1), free(v - 1), free(sw), free(sm), free(sv);
                free(rw), free(rg), free(rm), free(rv);
            }

    /* Adam's bias correction on step 1: m̂ = g and v̂ = g², so the step is lr·g/(|g| + eps) =
     * ±lr (within rounding) whatever the gradient's scale. */
    float w[3] = {0.5f, 0.5f, 0.5f}, g[3] = {1e-4f, -3.0f, 250.0f}, m[3] = {0}, v[3] = {0};
    mlp_optimizer_step step = test_optimizer_step(MLP_OPTIMIZER_RULE_ADAM, 0.01f, 0.0f, 1);
    variant->optimizer_update(&step, w, g, m, v, 3);
    for (int i = 0; i < 3; i++) {
        double expected = 0.5 - 0.01 * (g[i] > 0 ? 1.0 : -1.0) * fabs(g[i]) / (fabs(g[i]) + 1e-8);
        CHECK(fabs(w[i] - expected) <= 1e-6, "adam step 1, g = %g: w = %.9g, expected %.9g", g[i], w[i], expected);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s %s\n", argv[0], mlp_kernels_variant_choices() + 5);
        return 2;
    }
    test_registry();
    variant = mlp_kernels_find(argv[1]);
    if (variant == NULL) TEST_SKIP("kernel variant '%s' is not compiled into this binary", argv[1]);
    /* the plan is pure: checked even where the CPU cannot run the variant */
    if (variant->gemm_driver) {
        test_gemm_plan_choice(variant->gemm_driver);
        test_micro_kernel_list(variant->gemm_driver);
        CHECK(variant->gemm_workspace_floats ==
                  gemm_driver_workspace_floats(variant->gemm_driver),
              "gemm_workspace_floats %zu, the driver needs %zu", variant->gemm_workspace_floats,
              gemm_driver_workspace_floats(variant->gemm_driver));
    }
    if (test_failures) return test_exit_code();
    const char *reason = NULL;
    if (!mlp_kernels_supported(variant, &reason))
        TEST_SKIP("kernel variant '%s' cannot run on this CPU: %s", argv[1], reason);
    scalar = mlp_kernels_find("scalar");
    variant_is_scalar = variant == scalar;
    printf("testing kernel variant '%s' (workspace %zu floats)\n", variant->name,
           variant->gemm_workspace_floats);

    test_sgd_update();
    test_optimizer_update();
    test_bias();
    test_activations();
    test_softmax_cross_entropy();
    test_gemm_all_options();
    test_gemm_partition_independence();
    test_gemm_k_parts();
    test_gemm_awkward_shapes();
    test_gemm_packing_paths();
    test_gemm_logits_shapes();
    test_gemm_mlp_shapes();
    test_bias_gradient_update();
    test_scale_bytes();
    test_fused_update();
    if (variant->gemm_driver) {
        test_gemm_forced_plans();
        test_micro_kernels();
    }
    test_gemm_bf16();
    return test_exit_code();
}
