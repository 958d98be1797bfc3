/* The kernel test suite: one run checks one variant of the dispatch table (argv[1] = "scalar",
 * "avx2", "avx512" or "neon") against the double-precision oracle in kernel_reference.c and,
 * for the SIMD variants, against the scalar reference. A variant that is not compiled into this
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
 *  - bias_add, bias_gradient, activations forward and backward (bounds from
 *    kernels/activation_error_bounds.h, tighter ones for scalar), saturation, +-0, tails 1..33,
 *    aliasing; softmax_cross_entropy; sgd_update.
 */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation_error_bounds.h"
#include "kernel_reference.h"
#include "mlp/kernels.h"
#include "test_util.h"

static const kernel_table *variant;        /* the variant under test */
static const kernel_table *scalar;         /* the reference variant   */
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
static float *workspace_alloc(const kernel_table *table) {
    if (table->gemm_workspace_floats == 0) return NULL;
    void *pointer = NULL;
    if (posix_memalign(&pointer, 64, table->gemm_workspace_floats * sizeof(float)) != 0) abort();
    return pointer;
}

/* ---------------------------------------------------------------- gemm */

typedef struct gemm_case {
    int m, n, k;
    int a_transposed, b_transposed, a_is_u8;
    gemm_epilogue epilogue;
    mlp_activation activation;
    int misalign; /* every operand starts this many elements past a 64-byte boundary */
    int pad;      /* lda, ldb, ldc and ld_activation_output exceed the row width by this */
} gemm_case;

/* The operands of one case, filled with random data; `problem` points into them (c unset). */
typedef struct gemm_operands {
    gemm_problem problem;
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
    gemm_problem *g = &o.problem;
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
    if (t->epilogue == GEMM_EPILOGUE_BIAS_ACTIVATION) {
        o.bias_storage = aligned_floats((size_t)t->n + 1 + (size_t)t->misalign);
        for (int j = 0; j <= t->n + t->misalign; j++)
            o.bias_storage[j] = random_uniform(-1.0f, 1.0f);
        g->bias = o.bias_storage + t->misalign;
    }
    if (t->epilogue == GEMM_EPILOGUE_ACTIVATION_DERIVATIVE) {
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

/* Runs table->gemm into a fresh guarded C; returns the buffer (caller frees base). */
static guarded_buffer run_gemm(const kernel_table *table, const gemm_case *t,
                               gemm_problem problem) {
    guarded_buffer c = guarded_alloc((size_t)t->m * problem.ldc, t->misalign);
    problem.c = c.data;
    problem.workspace = workspace_alloc(table);
    table->gemm(&problem);
    free(problem.workspace);
    return c;
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
static void gemm_expected(const gemm_problem *g, int i, int j, double s, double magnitude,
                          double *expected, double *tolerance) {
    /* float summation of k products: |error| <= k * eps * sum|a||b| (two extra for the u8
     * scaling and slack); FLT_MIN absorbs underflow. */
    double sum_tolerance = (g->k + 2) * (double)FLT_EPSILON * magnitude + FLT_MIN;
    if (g->epilogue == GEMM_EPILOGUE_BIAS_ACTIVATION) {
        double bias = g->bias ? g->bias[j] : 0.0;
        double z = s + bias;
        double z_tolerance = sum_tolerance + FLT_EPSILON * (fabs(s) + fabs(bias));
        *expected = reference_activation(g->activation, z);
        *tolerance = reference_activation_lipschitz(g->activation) * z_tolerance +
                     activation_error_bound(g->activation);
    } else if (g->epilogue == GEMM_EPILOGUE_ACTIVATION_DERIVATIVE) {
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

/* One gemm case end to end; returns the number of failed elements (reported once). */
static int check_gemm_case(const gemm_case *t) {
    char text[160];
    describe_case(t, text, sizeof text);
    gemm_operands operands = gemm_operands_make(t);
    const gemm_problem *g = &operands.problem;

    size_t cells = (size_t)t->m * t->n;
    double *product = malloc((cells ? cells : 1) * sizeof *product);
    double *magnitude = malloc((cells ? cells : 1) * sizeof *magnitude);
    reference_gemm(g, product, magnitude);

    guarded_buffer c = run_gemm(variant, t, *g);
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

/* Every transposition, A type, epilogue and activation on a few shapes. */
static void test_gemm_all_options(void) {
    static const int shapes[][3] = {{17, 65, 63}, {65, 7, 33}, {3, 1, 70}, {1, 29, 5}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int transposes = 0; transposes < 4; transposes++)
            for (int u8 = 0; u8 < 2; u8++)
                for (int epilogue = 0; epilogue < 3; epilogue++)
                    for (int activation = 0; activation < 4; activation++) {
                        if (epilogue == GEMM_EPILOGUE_NONE && activation != 0) continue;
                        gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2],
                                       transposes & 1, transposes >> 1, u8,
                                       (gemm_epilogue)epilogue, (mlp_activation)activation,
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
                               (gemm_epilogue)(s % 3), (mlp_activation)(1 + s % 3),
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
                if (epilogue == GEMM_EPILOGUE_NONE && activation != 0) continue;
                gemm_case t = {shapes[s][0], shapes[s][1], shapes[s][2], 0, 0, 0,
                               (gemm_epilogue)epilogue, (mlp_activation)activation,
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
                               (gemm_epilogue)random_below(3),
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
            gemm_case forward = {batch, out, in, 0, 0, first, GEMM_EPILOGUE_BIAS_ACTIVATION,
                                 act, 0, 0};
            check_gemm_case(&forward);
            /* weight gradient dW = X^T dZ */
            gemm_case weight = {in, out, batch, 1, 0, first, GEMM_EPILOGUE_NONE,
                                MLP_ACTIVATION_NONE, 0, 0};
            check_gemm_case(&weight);
            /* input gradient dX = (dZ W^T) * f'(Y) of the previous layer (not for the input) */
            if (!first) {
                gemm_case input = {batch, in, out, 0, 1, 0, GEMM_EPILOGUE_ACTIVATION_DERIVATIVE,
                                   (mlp_activation)(1 + (layer + b + 1) % 3), 1, 3};
                check_gemm_case(&input);
            }
        }
}

/* A sub-problem of g: rows [row0, row0 + rows) and columns [col0, col0 + cols) of C. */
static gemm_problem gemm_block(const gemm_problem *g, int row0, int rows, int col0, int cols) {
    gemm_problem block = *g;
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
    return block;
}

/* Row blocks and column blocks at odd offsets must reproduce the whole GEMM bit for bit. */
static void check_partition_independence(const gemm_case *t) {
    char text[160];
    describe_case(t, text, sizeof text);
    gemm_operands operands = gemm_operands_make(t);
    gemm_problem g = operands.problem;
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
        gemm_problem block = gemm_block(&g, start, end - start, 0, t->n);
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
        gemm_problem block = gemm_block(&g, 0, t->m, start, end - start);
        variant->gemm(&block);
    }
    CHECK(memcmp(whole, pieces, c_count * sizeof *whole) == 0,
          "%s: column blocks differ from the whole GEMM", text);

    free(whole);
    free(pieces);
    free(workspace);
    gemm_operands_free(&operands);
}

static void test_gemm_partition_independence(void) {
    for (int transposes = 0; transposes < 4; transposes++) {
        gemm_case plain = {37, 45, 300, transposes & 1, transposes >> 1, 0, GEMM_EPILOGUE_NONE,
                           MLP_ACTIVATION_NONE, 1, 2};
        gemm_case forward = {37, 45, 300, transposes & 1, transposes >> 1, 1,
                             GEMM_EPILOGUE_BIAS_ACTIVATION, MLP_ACTIVATION_SIGMOID, 0, 0};
        gemm_case backward = {37, 45, 300, transposes & 1, transposes >> 1, 0,
                              GEMM_EPILOGUE_ACTIVATION_DERIVATIVE, MLP_ACTIVATION_TANH, 1, 1};
        check_partition_independence(&plain);
        check_partition_independence(&forward);
        check_partition_independence(&backward);
    }
    /* bigger than the usual cache blocks in m and n */
    gemm_case large = {131, 401, 70, 0, 0, 0, GEMM_EPILOGUE_BIAS_ACTIVATION, MLP_ACTIVATION_TANH,
                       0, 0};
    check_partition_independence(&large);
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
    kernels_activation_forward(variant, activation, x, y.data, count);
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
    kernels_activation_forward(variant, activation, in_place, in_place, count);
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
    kernels_activation_backward(variant, activation, y, dy, dx.data, count);
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
    kernels_activation_backward(variant, activation, y, dy, dy, count);
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

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s scalar|avx2|avx512|neon\n", argv[0]);
        return 2;
    }
    variant = kernels_find(argv[1]);
    if (variant == NULL) TEST_SKIP("kernel variant '%s' is not compiled into this binary", argv[1]);
    const char *reason = NULL;
    if (!kernels_supported(variant, &reason))
        TEST_SKIP("kernel variant '%s' cannot run on this CPU: %s", argv[1], reason);
    scalar = kernels_find("scalar");
    variant_is_scalar = variant == scalar;
    printf("testing kernel variant '%s' (workspace %zu floats)\n", variant->name,
           variant->gemm_workspace_floats);

    test_sgd_update();
    test_bias();
    test_activations();
    test_softmax_cross_entropy();
    test_gemm_all_options();
    test_gemm_partition_independence();
    test_gemm_awkward_shapes();
    test_gemm_packing_paths();
    test_gemm_logits_shapes();
    test_gemm_mlp_shapes();
    return test_exit_code();
}
