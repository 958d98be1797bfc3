/* AVX2+FMA GEMM: the shared blocking/packing driver (kernels/gemm_driver.h) around a 4 × 24
 * register tile: 4 rows of A broadcast, 3 ymm vectors (24 columns) of B, 12 accumulators
 * (16 ymm registers in all), so each step over k issues 12 independent FMAs for 7 loads.
 * MR = 4 divides every batch and layer width of the MLPs. Ragged column panels use the 4 × 16
 * tile, or the 8 × 8 tall tile for 8 columns or fewer; N <= 12 (the logits) takes the narrow
 * path, 8-row column tiles, except the logits' forward GEMM (N = 9 or 10, plain A), which has
 * a tile of its own (avx2/gemm_logits_avx2.h). Packing: 8 × 8 register transposes
 * (avx2/avx2_pack.h). */
#include "avx2/avx2_kernels.h"
#include "avx2/avx2_math.h"
#include "avx2/avx2_pack.h"
#include "avx2/gemm_logits_avx2.h"
#include "avx2/optimizer_avx2.h"
#include "gemm_driver.h"

enum { AVX2_MR = GEMM_AVX2_MR, AVX2_W = GEMM_AVX2_W, AVX2_MAX_VECTORS = GEMM_AVX2_MAX_VECTORS };

/* bias[column .. column + 7], the columns inside C (zeros when there is no bias). */
static inline __m256 load_bias_avx2(const gemm_tile *t, int column) {
    return t->bias ? load_lanes_avx2(t->bias + column, t->cols - column) : _mm256_setzero_ps();
}

/* The parameter update epilogue on `lanes` parameters at w (the gradient in registers), their
 * moments at m and v (NULL where the rule has none): the rule of t->update, with the
 * operations of the unfused kernel (SGD: sgd_update_avx2's multiply, then subtract; the
 * optimizer rules: optimizer_lanes_avx2, optimizer_update_avx2's own code). */
static inline __attribute__((always_inline)) void update_parameters_avx2(const gemm_tile *t,
                                                                         float *w, float *m, float *v,
                                                                         long lanes, __m256 gradient) {
    switch (t->update->rule) {
    case MLP_GEMM_UPDATE_SGD: {
        __m256 step = _mm256_mul_ps(_mm256_set1_ps(t->update->learning_rate), gradient);
        store_lanes_avx2(w, _mm256_sub_ps(load_lanes_avx2(w, lanes), step), lanes);
        break;
    }
    case MLP_GEMM_UPDATE_OPTIMIZER:
        store_lanes_avx2(w,
                         optimizer_lanes_avx2(&t->update->step, lanes, load_lanes_avx2(w, lanes),
                                              gradient, m, v),
                         lanes);
        break;
    default: break; /* unknown rule (include/mlp/kernels.h) */
    }
}

/* Row r, columns column .. column + 7 of the tile: on the last slice the epilogue,
 * act(sums + bias) or sums ⊙ act'(Y), then a store of the columns inside C; or the parameter
 * update of W's row r. */
static inline __attribute__((always_inline)) void store_sums_avx2(const gemm_tile *t, int r,
                                                                  int column, __m256 sums,
                                                                  __m256 bias) {
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
        update_parameters_avx2(t, t->w + r * t->ldw + column, gemm_tile_state(t, 0, r, column),
                               gemm_tile_state(t, 1, r, column), t->cols - column, sums);
        return;
    }
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_BIAS_ACTIVATION)
        sums = activation_forward_avx2(t->activation, _mm256_add_ps(sums, bias));
    else if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE)
        sums = activation_backward_avx2(
            t->activation, load_lanes_avx2(t->y + r * t->ldy + column, t->cols - column), sums);
    store_lanes_avx2(t->c + r * t->ldc + column, sums, t->cols - column);
}

/* One tile_rows × (vectors·8) tile over one k slice (tile_rows = MR, or 2·MR for the tall
 * narrow tile); tile_rows, vectors and full (all tile_rows rows inside C) are constants in
 * each caller, so the loops below unroll completely and the accumulators live in registers. */
static inline __attribute__((always_inline)) void
gemm_avx2_tile(const gemm_tile *t, const int tile_rows, const int vectors, const int full) {
    __m256 acc[2 * AVX2_MR][AVX2_MAX_VECTORS];

    /* sums start at 0, or continue from the previous k slice's partial sums in C */
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++)
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            acc[r][v] = t->continue_sums && r < t->rows
                            ? load_lanes_avx2(t->c + r * t->ldc + AVX2_W * v, t->cols - AVX2_W * v)
                            : _mm256_setzero_ps();

    /* a parameter update reads its W tile after the last FMA: fetch it during the k loop */
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
#pragma GCC unroll 16
        for (int r = 0; r < tile_rows; r++)
            if (r < t->rows) {
                __builtin_prefetch(t->w + r * t->ldw, 1, 3);
                __builtin_prefetch(t->w + r * t->ldw + t->cols - 1, 1, 3);
            }
        gemm_tile_prefetch_state(t);
    }

    /* Row r of A starts at a_base[r / MR] + a_offset[r]. A full tile uses two base pointers
     * (rows MR.. of a tall tile from the second) so the offsets repeat and stay in registers;
     * in a partial tile, rows past the edge of C re-read the last row (computed, not stored). */
    const float *a_base[2] = {t->a, t->a};
    ptrdiff_t a_offset[2 * AVX2_MR];
    if (full) a_base[1] = t->a + AVX2_MR * t->a_row_stride;
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++)
        a_offset[r] = full ? (r % AVX2_MR) * t->a_row_stride
                           : (r < t->rows ? r : t->rows - 1) * t->a_row_stride;

    /* acc[r][v] += A(r, p) · B(p, v-th 8 columns), p increasing: one FMA per p per element */
    const float *b = t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride;
    const ptrdiff_t b_k_stride = t->b_k_stride;
    const int k = t->k;
    for (int p = 0; p < k; p++) {
        __m256 b_vector[AVX2_MAX_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++) b_vector[v] = _mm256_loadu_ps(b + AVX2_W * v);
#pragma GCC unroll 16
        for (int r = 0; r < tile_rows; r++) {
            __m256 a_broadcast = _mm256_broadcast_ss(a_base[r / AVX2_MR] + a_offset[r]);
#pragma GCC unroll 4
            for (int v = 0; v < vectors; v++)
                acc[r][v] = _mm256_fmadd_ps(a_broadcast, b_vector[v], acc[r][v]);
        }
        a_base[0] += a_k_stride;
        a_base[1] += a_k_stride;
        b += b_k_stride;
    }

    /* epilogue on the last slice, then stores of the rows and columns inside C */
    __m256 bias[AVX2_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) bias[v] = load_bias_avx2(t, AVX2_W * v);
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++) {
        if (r >= t->rows) break;
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            store_sums_avx2(t, r, AVX2_W * v, acc[r][v], bias[v]);
    }
}

/* Full tiles (the common case) and edge tiles get separately compiled loops. */
static inline __attribute__((always_inline)) void
gemm_avx2_tile_full_or_edge(const gemm_tile *t, const int tile_rows, const int vectors) {
    if (t->rows == tile_rows)
        gemm_avx2_tile(t, tile_rows, vectors, 1);
    else
        gemm_avx2_tile(t, tile_rows, vectors, 0);
}

void gemm_avx2_micro_4x8(const gemm_tile *tile) {
    gemm_avx2_tile_full_or_edge(tile, AVX2_MR, 1);
}
void gemm_avx2_micro_4x16(const gemm_tile *tile) {
    gemm_avx2_tile_full_or_edge(tile, AVX2_MR, 2);
}
void gemm_avx2_micro_4x24(const gemm_tile *tile) {
    gemm_avx2_tile_full_or_edge(tile, AVX2_MR, 3);
}
/* the tall narrow tile: 8 accumulators instead of 4 */
void gemm_avx2_micro_8x8(const gemm_tile *tile) {
    gemm_avx2_tile_full_or_edge(tile, 2 * AVX2_MR, 1);
}

/* The narrow tile (N <= 12, the logits): 8 rows of C as one vector per column,
 * acc[j] = C(rows 0..7, j) += A(rows 0..7, p) · B(p, j), the same FMA per element and k order
 * as the row tiles. C goes in and out through 8 × 8 register transposes (columns 0-7 and
 * 8-15), so the epilogue and the stores are the row tiles' own. `columns` (8, 10 or 12)
 * >= tile->cols is a constant; columns past tile->cols re-read the last column of B and are
 * not stored. unit_columns (a constant): tile->cols == columns and b_column_stride == 1. */
static inline __attribute__((always_inline)) void
gemm_avx2_narrow_tile(const gemm_tile *t, const int columns, const int unit_columns) {
    const __m256i row_mask = lanes_mask_avx2(t->rows);
    __m256 block[2][8];
    __m256 acc[12];
    if (t->continue_sums) { /* the partial sums in C, transposed to one vector per column */
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
#pragma GCC unroll 8
            for (int r = 0; r < 8; r++)
                block[half][r] =
                    r < t->rows ? load_lanes_avx2(t->c + r * t->ldc + 8 * half, t->cols - 8 * half)
                                : _mm256_setzero_ps();
            transpose_8x8_avx2(block[half]);
        }
#pragma GCC unroll 12
        for (int j = 0; j < columns; j++) acc[j] = block[j / 8][j % 8];
    } else {
#pragma GCC unroll 12
        for (int j = 0; j < columns; j++) acc[j] = _mm256_setzero_ps();
    }

    /* B(p, j) at b[b_offset[j]] */
    ptrdiff_t b_offset[12];
#pragma GCC unroll 12
    for (int j = 0; j < columns; j++)
        b_offset[j] = unit_columns ? j : (j < t->cols ? j : t->cols - 1) * t->b_column_stride;
    const float *a = t->a, *b = t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride, b_k_stride = t->b_k_stride;
    const int full_rows = t->rows == 8; /* all 8 rows of A exist: plain loads */
    for (int p = 0; p < t->k; p++) {
        __m256 a_vector = full_rows ? _mm256_loadu_ps(a) : _mm256_maskload_ps(a, row_mask);
#pragma GCC unroll 12
        for (int j = 0; j < columns; j++)
            acc[j] = _mm256_fmadd_ps(a_vector, _mm256_broadcast_ss(b + b_offset[j]), acc[j]);
        a += a_k_stride;
        b += b_k_stride;
    }

    /* back to one vector per row, then the row tiles' epilogue and stores */
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) block[j / 8][j % 8] = j < columns ? acc[j] : _mm256_setzero_ps();
    transpose_8x8_avx2(block[0]);
    transpose_8x8_avx2(block[1]);
    const __m256 bias[2] = {load_bias_avx2(t, 0), load_bias_avx2(t, 8)};
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) {
        if (r >= t->rows) break;
        store_sums_avx2(t, r, 0, block[0][r], bias[0]);
        if (t->cols > 8) store_sums_avx2(t, r, 8, block[1][r], bias[1]);
    }
}

/* Exact-width tiles over adjacent columns get their own loop (constant B offsets). */
static inline __attribute__((always_inline)) void
gemm_avx2_narrow_tile_unit_or_not(const gemm_tile *t, const int columns) {
    if (t->cols == columns && t->b_column_stride == 1)
        gemm_avx2_narrow_tile(t, columns, 1);
    else
        gemm_avx2_narrow_tile(t, columns, 0);
}

void gemm_avx2_micro_8x8_narrow(const gemm_tile *tile) {
    gemm_avx2_narrow_tile_unit_or_not(tile, 8);
}
void gemm_avx2_micro_8x10_narrow(const gemm_tile *tile) {
    gemm_avx2_narrow_tile_unit_or_not(tile, 10);
}
void gemm_avx2_micro_8x12_narrow(const gemm_tile *tile) {
    gemm_avx2_narrow_tile_unit_or_not(tile, 12);
}

/* The narrow path's entry: the tile with the fewest columns that holds N. */
static void gemm_avx2_micro_narrow(const gemm_tile *tile) {
    if (tile->cols <= 8)
        gemm_avx2_micro_8x8_narrow(tile);
    else if (tile->cols <= 10)
        gemm_avx2_micro_8x10_narrow(tile);
    else
        gemm_avx2_micro_8x12_narrow(tile);
}

/* The column tile (N = 1: one-output models such as the study's binary classifiers): 64 rows
 * of C as 8 vectors of 8, one accumulator each, acc[q] += A(rows 8q .. 8q + 7, p) · B(p, 0)
 * with one broadcast of B per k: 8 independent FMA chains (enough for the FMA latency on two
 * pipes) instead of the narrow tile's one. Same FMA per element in the same k order as every
 * other tile. C (and Y) are a column: gathered and scattered through memory, once per tile. */
enum { AVX2_COLUMN_GROUPS = 8 };

/* source[r * ld] for r < count (count <= 8), as a vector (lanes past count 0). */
static inline __m256 load_column_avx2(const float *source, ptrdiff_t ld, int count) {
    float lanes[AVX2_W] = {0};
    for (int r = 0; r < count && r < AVX2_W; r++) lanes[r] = source[r * ld];
    return _mm256_loadu_ps(lanes);
}

static inline void store_column_avx2(float *destination, ptrdiff_t ld, int count, __m256 values) {
    float lanes[AVX2_W];
    _mm256_storeu_ps(lanes, values);
    for (int r = 0; r < count && r < AVX2_W; r++) destination[r * ld] = lanes[r];
}

void gemm_avx2_micro_64x1_column(const gemm_tile *t) {
    __m256 acc[AVX2_COLUMN_GROUPS];
#pragma GCC unroll 8
    for (int q = 0; q < AVX2_COLUMN_GROUPS; q++) {
        const int rows = t->rows - AVX2_W * q; /* of this group (<= 0: none) */
        acc[q] = t->continue_sums && rows > 0
                     ? load_column_avx2(t->c + AVX2_W * q * t->ldc, t->ldc, rows)
                     : _mm256_setzero_ps();
    }
    const float *a = t->a, *b = t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride, b_k_stride = t->b_k_stride;
    const ptrdiff_t group_stride = t->a_group_stride;
    if (t->a_u8) { /* uint8 A in place: 8 bytes per group, converted and scaled */
        const uint8_t *bytes = t->a_u8;
        const __m256 scale = _mm256_set1_ps(t->a_scale);
        int group_bytes[AVX2_COLUMN_GROUPS];
#pragma GCC unroll 8
        for (int q = 0; q < AVX2_COLUMN_GROUPS; q++) {
            const int rows = t->rows - AVX2_W * q;
            group_bytes[q] = rows < 0 ? 0 : rows > AVX2_W ? AVX2_W : rows;
        }
        for (int p = 0; p < t->k; p++) {
            const __m256 b_value = _mm256_broadcast_ss(b);
#pragma GCC unroll 8
            for (int q = 0; q < AVX2_COLUMN_GROUPS; q++) {
                unsigned long long word = 0; /* the group's bytes, little-endian */
                const uint8_t *source = bytes + q * group_stride;
                if (group_bytes[q] == AVX2_W)
                    memcpy(&word, source, 8);
                else
                    for (int r = 0; r < group_bytes[q]; r++)
                        word |= (unsigned long long)source[r] << (8 * r);
                __m256 a_values =
                    load_eight_bytes_scaled_avx2(_mm_cvtsi64_si128((long long)word), scale);
                acc[q] = _mm256_fmadd_ps(a_values, b_value, acc[q]);
            }
            bytes += a_k_stride;
            b += b_k_stride;
        }
    } else if (t->rows == AVX2_COLUMN_GROUPS * AVX2_W) { /* a full tile: plain loads */
        for (int p = 0; p < t->k; p++) {
            const __m256 b_value = _mm256_broadcast_ss(b);
#pragma GCC unroll 8
            for (int q = 0; q < AVX2_COLUMN_GROUPS; q++)
                acc[q] = _mm256_fmadd_ps(_mm256_loadu_ps(a + q * group_stride), b_value, acc[q]);
            a += a_k_stride;
            b += b_k_stride;
        }
    } else { /* the last tile: rows past the edge load as 0 */
        __m256i row_mask[AVX2_COLUMN_GROUPS];
#pragma GCC unroll 8
        for (int q = 0; q < AVX2_COLUMN_GROUPS; q++)
            row_mask[q] = lanes_mask_avx2(t->rows - AVX2_W * q);
        for (int p = 0; p < t->k; p++) {
            const __m256 b_value = _mm256_broadcast_ss(b);
#pragma GCC unroll 8
            for (int q = 0; q < AVX2_COLUMN_GROUPS; q++)
                acc[q] = _mm256_fmadd_ps(_mm256_maskload_ps(a + q * group_stride, row_mask[q]),
                                         b_value, acc[q]);
            a += a_k_stride;
            b += b_k_stride;
        }
    }
#pragma GCC unroll 8
    for (int q = 0; q < AVX2_COLUMN_GROUPS; q++) {
        const int rows = t->rows - AVX2_W * q;
        if (rows <= 0) break;
        __m256 sums = acc[q];
        if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_BIAS_ACTIVATION)
            sums = activation_forward_avx2(
                t->activation, _mm256_add_ps(sums, _mm256_set1_ps(t->bias ? t->bias[0] : 0.0f)));
        else if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE)
            sums = activation_backward_avx2(
                t->activation, load_column_avx2(t->y + AVX2_W * q * t->ldy, t->ldy, rows), sums);
        if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
            /* W's column and its state through contiguous copies, updated as one vector */
            const int count = rows < AVX2_W ? rows : AVX2_W;
            float lanes[3][16], *state[2];
            gemm_tile_column_gather(t, AVX2_W * q, count, lanes, state);
            update_parameters_avx2(t, lanes[0], state[0], state[1], count, sums);
            gemm_tile_column_scatter(t, AVX2_W * q, count, lanes);
            continue;
        }
        store_column_avx2(t->c + AVX2_W * q * t->ldc, t->ldc, rows, sums);
    }
}

/* Packs a transposed-B panel (B(p, j) = b[j * ldb + p]) 8 columns × 8 depths at a time:
 * 8 stored rows in, one register transpose, 8 panel rows out; missing columns are zero. Full
 * 8 × 8 blocks (all but the ragged edges) take a straight-line copy without per-row tests. */
static void gemm_avx2_pack_b_transposed(const mlp_gemm_problem *g, int p0, int kb, int j0, int cols,
                                        int width, float *panel) {
    for (int c = 0; c < width; c += AVX2_W) {
        const float *source = g->b + (size_t)(j0 + c) * g->ldb + (size_t)p0;
        for (int p = 0; p < kb; p += 8) {
            __m256 block[8];
            if (c + 8 <= cols && p + 8 <= kb) {
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    block[i] = _mm256_loadu_ps(source + (size_t)i * g->ldb + (size_t)p);
                transpose_8x8_avx2(block);
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    _mm256_storeu_ps(panel + (size_t)(p + i) * width + c, block[i]);
                continue;
            }
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                block[i] = c + i < cols
                               ? load_lanes_avx2(source + (size_t)i * g->ldb + (size_t)p, kb - p)
                               : _mm256_setzero_ps();
            transpose_8x8_avx2(block);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                if (p + i < kb) _mm256_storeu_ps(panel + (size_t)(p + i) * width + c, block[i]);
        }
    }
}

/* A panels of MR = 4 rows (uint8 A: the first layer's pixels, scaled while packing). */
static void gemm_avx2_pack_a(const mlp_gemm_problem *g, int i0, int rows, int p0, int kb, int mr,
                             float *panel) {
    pack_a_panel_avx2(g, i0, rows, p0, kb, mr, panel);
}

/* B panels: transposed B through the register transpose, plain B one vector copy per 8
 * columns (columns past `cols` written as zeros). */
static void gemm_avx2_pack_b(const mlp_gemm_problem *g, int p0, int kb, int j0, int cols, int width,
                             float *panel) {
    if (g->b_transposed) {
        gemm_avx2_pack_b_transposed(g, p0, kb, j0, cols, width, panel);
        return;
    }
    for (int p = 0; p < kb; p++) {
        const float *source = g->b + (size_t)(p0 + p) * g->ldb + (size_t)j0;
        float *destination = panel + (size_t)p * width;
        gemm_prefetch_b_row_ahead(g, p0, p, kb, j0, cols);
        for (int c = 0; c < width; c += AVX2_W) {
            _mm256_storeu_ps(destination + c, load_lanes_avx2(source + c, cols - c));
        }
    }
}

/* The logits' tile under its own symbol, so profiles name it */
void gemm_avx2_logits_8x10(const mlp_gemm_problem *problem) { gemm_logits_avx2(problem); }

GEMM_DRIVER_ENTRY_POINTS(avx2)

/* Every micro-kernel by name (the tests and bench call each directly). */
static const gemm_micro_kernel_info gemm_avx2_micro_kernels[] =
    GEMM_MICRO_KERNELS_EVERY_KIND(avx2, 4, 8, 16, 24, 8);

const gemm_driver gemm_avx2_driver = {
    .mr = AVX2_MR,
    .width = AVX2_W,
    .max_vectors = AVX2_MAX_VECTORS,
    .kc = GEMM_AVX2_KC,
    .mc = GEMM_AVX2_MC,
    .nc = GEMM_AVX2_NC,
    .micro_kernels = {gemm_avx2_micro_4x8, gemm_avx2_micro_4x16, gemm_avx2_micro_4x24},
    .tall_micro_kernels = {gemm_avx2_micro_8x8, NULL, NULL},
    .pack_transposed_a_min_columns = GEMM_AVX2_PACK_TRANSPOSED_A_MIN_COLUMNS,
    .pack_b_min_rows = GEMM_AVX2_PACK_B_MIN_ROWS,
    .masked_b_loads = 0,
    .pack_b_panel = gemm_avx2_pack_b,
    .pack_a_panel = gemm_avx2_pack_a,
    .narrow_micro_kernel = gemm_avx2_micro_narrow,
    .narrow_max_columns = 12,
    .column_micro_kernel = gemm_avx2_micro_64x1_column,
    .column_tile_rows = AVX2_COLUMN_GROUPS * AVX2_W,
    .logits_kernel = gemm_avx2_logits_8x10,
    .logits_min_columns = 9,
    .logits_max_columns = 10,
    GEMM_DRIVER_NAMED(avx2),
};
