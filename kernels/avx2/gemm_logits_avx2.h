/* The logits' forward GEMM (N = 9 or 10 columns, plain float A and B) for the AVX2 and the
 * AVX-512 variants (AVX-512 implies AVX2; on Zen 4 a ymm FMA has the zmm FMA's throughput per
 * lane, and 10 columns fill 16-lane vectors poorly). Include only from files compiled with at
 * least -mavx2 -mfma; the epilogue uses avx2/avx2_math.h, whose activations agree bitwise with
 * the AVX-512 ones lane for lane.
 *
 * No packing, no transposes: 8 rows of C per tile, columns 0-7 as one vector per row (8
 * accumulators) and the last one or two columns of 4 rows in one vector, two lanes per row
 * ("row pairs", 2 accumulators): pairs[g] lanes 2q, 2q + 1 = C(4g + q, 8), C(4g + q, 9). Per k
 * step: 8 broadcasts of A(r, p) read in place, B(p, 0..7), B(p, 8..9) repeated four times (one
 * 8-byte broadcast), three blends per 4 rows that spread their broadcasts into
 * [a0 a0 a1 a1 a2 a2 a3 a3], and 10 FMAs that fill every lane (row tiles would fill 10 lanes
 * of 16; the narrow path spent a third of its time transposing A). 64 -> 10 forward: 56 -> 85
 * GFLOP/s on avx2. Same FMA per element in the same k order as every other tile, so the same
 * bits. */
#ifndef MLP_GEMM_LOGITS_AVX2_H
#define MLP_GEMM_LOGITS_AVX2_H

#include <immintrin.h>
#include <stddef.h>

#include "avx2/avx2_math.h"
#include "mlp/kernels.h"

enum { LOGITS_ROWS = 8 }; /* rows of C per tile */

/* Lanes 2q, 2q + 1 = x(q), x(q) or x(q, 0), x(q, 1): the tail columns of rows q = 0..3 at
 * source + q * ld (rows past `rows` repeat the last one). */
static inline __m256 load_row_pairs_avx2(const float *source, ptrdiff_t ld, int rows, int tail) {
    float lanes[8];
    for (int q = 0; q < 4; q++) {
        const float *row = source + (q < rows ? q : rows - 1) * ld;
        lanes[2 * q] = row[0];
        lanes[2 * q + 1] = row[tail - 1];
    }
    return _mm256_loadu_ps(lanes);
}

/* Stores the tail columns of rows q = 0 .. min(rows, 4) - 1 from lanes 2q (and 2q + 1). */
static inline void store_row_pairs_avx2(float *destination, ptrdiff_t ld, int rows, int tail,
                                        __m256 pairs) {
    float lanes[8];
    _mm256_storeu_ps(lanes, pairs);
    for (int q = 0; q < rows && q < 4; q++)
        for (int c = 0; c < tail; c++) destination[q * ld + c] = lanes[2 * q + c];
}

/* One k step of four rows (row pointers a_row[0..3]): main[q] += A(q, p) · B(p, 0..7), and
 * pairs += [A(0,p) A(0,p) A(1,p) A(1,p) ... A(3,p) A(3,p)] · B(p, 8..9) repeated. */
static inline __attribute__((always_inline)) void
logits_four_rows_step_avx2(const float *const a_row[4], int p, __m256 b_main, __m256 b_tail,
                           __m256 main[4], __m256 *pairs) {
    __m256 a0 = _mm256_broadcast_ss(a_row[0] + p);
    main[0] = _mm256_fmadd_ps(a0, b_main, main[0]);
    __m256 a1 = _mm256_broadcast_ss(a_row[1] + p);
    main[1] = _mm256_fmadd_ps(a1, b_main, main[1]);
    __m256 low = _mm256_blend_ps(a0, a1, 0x0C); /* a0 a0 a1 a1 a0 a0 a0 a0 */
    __m256 a2 = _mm256_broadcast_ss(a_row[2] + p);
    main[2] = _mm256_fmadd_ps(a2, b_main, main[2]);
    __m256 a3 = _mm256_broadcast_ss(a_row[3] + p);
    main[3] = _mm256_fmadd_ps(a3, b_main, main[3]);
    __m256 high = _mm256_blend_ps(a2, a3, 0xC0); /* a2 a2 a2 a2 a2 a2 a3 a3 */
    *pairs = _mm256_fmadd_ps(_mm256_blend_ps(low, high, 0xF0), b_tail, *pairs);
}

static inline __attribute__((always_inline)) void
gemm_logits_tile_avx2(const mlp_gemm_problem *g, int i0, const int tail) {
    const int rows = (g->m - i0 < LOGITS_ROWS ? g->m - i0 : LOGITS_ROWS);
    const float *a_row[LOGITS_ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < LOGITS_ROWS; r++)
        a_row[r] = g->a + (size_t)(i0 + (r < rows ? r : rows - 1)) * g->lda;
    __m256 main[LOGITS_ROWS], pairs[2];
#pragma GCC unroll 8
    for (int r = 0; r < LOGITS_ROWS; r++) main[r] = _mm256_setzero_ps();
    pairs[0] = pairs[1] = _mm256_setzero_ps();

    const float *b = g->b;
    const ptrdiff_t ldb = g->ldb;
    const int k = g->k;
    for (int p = 0; p < k; p++, b += ldb) {
        const __m256 b_main = _mm256_loadu_ps(b);
        const __m256 b_tail =
            tail == 2 ? _mm256_castpd_ps(_mm256_broadcast_sd((const double *)(b + 8)))
                      : _mm256_broadcast_ss(b + 8);
        logits_four_rows_step_avx2(a_row, p, b_main, b_tail, main, &pairs[0]);
        logits_four_rows_step_avx2(a_row + 4, p, b_main, b_tail, main + 4, &pairs[1]);
    }

    /* epilogue: act(sums + bias) or sums ⊙ act'(Y), then the stores of the rows inside C */
    float *c = g->c + (size_t)i0 * g->ldc;
    const ptrdiff_t ldc = g->ldc, ldy = g->ld_activation_output;
    const float *y = g->activation_output ? g->activation_output + (size_t)i0 * ldy : NULL;
    if (g->epilogue == MLP_GEMM_EPILOGUE_BIAS_ACTIVATION) {
        const __m256 bias_main = g->bias ? _mm256_loadu_ps(g->bias) : _mm256_setzero_ps();
        const __m256 bias_tail =
            g->bias ? load_row_pairs_avx2(g->bias + 8, 0, 1, tail) : _mm256_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < LOGITS_ROWS; r++)
            main[r] = activation_forward_avx2(g->activation, _mm256_add_ps(main[r], bias_main));
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++)
            pairs[h] = activation_forward_avx2(g->activation, _mm256_add_ps(pairs[h], bias_tail));
    }
#pragma GCC unroll 8
    for (int r = 0; r < LOGITS_ROWS; r++) {
        if (r >= rows) break;
        __m256 sums = main[r];
        if (g->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE)
            sums = activation_backward_avx2(g->activation, _mm256_loadu_ps(y + r * ldy), sums);
        _mm256_storeu_ps(c + r * ldc, sums);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        if (4 * h >= rows) break;
        __m256 sums = pairs[h];
        if (g->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE)
            sums = activation_backward_avx2(
                g->activation, load_row_pairs_avx2(y + 4 * h * ldy + 8, ldy, rows - 4 * h, tail),
                sums);
        store_row_pairs_avx2(c + 4 * h * ldc + 8, ldc, rows - 4 * h, tail, sums);
    }
}

static inline void gemm_logits_tile_10_avx2(const mlp_gemm_problem *g, int i0) {
    gemm_logits_tile_avx2(g, i0, 2);
}
static inline void gemm_logits_tile_9_avx2(const mlp_gemm_problem *g, int i0) {
    gemm_logits_tile_avx2(g, i0, 1);
}

/* 1 when gemm_logits_avx2 takes the problem: 9 or 10 columns, A and B plain floats */
/* C = epilogue(A · B) for N = 9 or 10, plain float A and plain B (the driver's logits path,
 * gemm_logits_fits), 8 rows at a time */
static inline void gemm_logits_avx2(const mlp_gemm_problem *g) {
    for (int i = 0; i < g->m; i += LOGITS_ROWS) {
        if (g->n == 10)
            gemm_logits_tile_10_avx2(g, i);
        else
            gemm_logits_tile_9_avx2(g, i);
    }
}

#endif
