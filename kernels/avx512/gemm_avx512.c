/* AVX-512 GEMM: the shared blocking/packing driver (kernels/gemm_driver.h) around an 8 × 48
 * register tile: 8 rows of A broadcast, 3 zmm vectors (48 columns) of B, 24 accumulators, so
 * each step over k issues 24 independent FMAs (enough to cover the 4-cycle FMA latency on two
 * pipes) for 11 loads. MR = 8 divides every batch and layer width of the MLPs. Ragged column
 * panels use the 8 × 32 tile, or the 16 × 16 tall tile (16 accumulators) for 16 columns or
 * fewer; N <= 12 (the logits) takes the narrow path, 16-row column tiles, so 10 columns do
 * not fill 16-lane vectors with padding, except the logits' forward GEMM (N = 9 or 10, plain
 * A), which takes the row-pairs tile of avx2/gemm_logits_avx2.h. Packing: 16 × 16 register
 * transposes for transposed B, the AVX2 packer (avx2/avx2_pack.h) for uint8 A. */
#include "avx512/avx512_kernels.h"
#include "avx2/avx2_pack.h"
#include "avx2/gemm_logits_avx2.h"
#include "avx512/avx512_epilogue.h"
#include "avx512/avx512_math.h"
#include "avx512/optimizer_avx512.h"
#include "gemm_driver.h"

enum {
    AVX512_MR = GEMM_AVX512_MR,
    AVX512_W = GEMM_AVX512_W,
    AVX512_MAX_VECTORS = GEMM_AVX512_MAX_VECTORS,
};

/* One tile_rows × (vectors·16) tile over one k slice (tile_rows = MR, or 2·MR for the tall
 * narrow tile); tile_rows, vectors and full (all tile_rows rows inside C) are constants in
 * each caller, so the loops below unroll completely and the accumulators live in registers. */
static inline __attribute__((always_inline)) void
gemm_avx512_tile(const gemm_tile *t, const int tile_rows, const int vectors, const int full) {
    __m512 acc[2 * AVX512_MR][AVX512_MAX_VECTORS];
    __mmask16 column_mask[AVX512_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) column_mask[v] = lanes_mask_avx512(t->cols - AVX512_W * v);

    /* sums start at 0, or continue from the previous k slice's partial sums in C */
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++)
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            acc[r][v] = t->continue_sums && r < t->rows
                            ? _mm512_maskz_loadu_ps(column_mask[v],
                                                    t->c + r * t->ldc + AVX512_W * v)
                            : _mm512_setzero_ps();

    /* Row r of A starts at a_base[r / MR] + a_offset[r]. A full tile uses two base pointers
     * (rows MR.. of a tall tile from the second) so the offsets repeat and stay in registers;
     * in a partial tile, rows past the edge of C re-read the last row (computed, not stored). */
    const float *a_base[2] = {t->a, t->a};
    ptrdiff_t a_offset[2 * AVX512_MR];
    if (full) a_base[1] = t->a + AVX512_MR * t->a_row_stride;
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++)
        a_offset[r] = full ? (r % AVX512_MR) * t->a_row_stride
                           : (r < t->rows ? r : t->rows - 1) * t->a_row_stride;

    /* a parameter update reads its W tile after the last FMA: fetch it during the k loop */
    if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
#pragma GCC unroll 16
        for (int r = 0; r < tile_rows; r++)
#pragma GCC unroll 4
            for (int v = 0; v < vectors; v++)
                if (r < t->rows) __builtin_prefetch(t->w + r * t->ldw + AVX512_W * v, 1, 3);
        gemm_tile_prefetch_state(t);
    }

    /* acc[r][v] += A(r, p) · B(p, v-th 16 columns), p increasing: one FMA per p per element */
    const float *b = t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride;
    const ptrdiff_t b_k_stride = t->b_k_stride;
    for (int p = 0; p < t->k; p++) {
        __m512 b_vector[AVX512_MAX_VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            b_vector[v] = _mm512_maskz_loadu_ps(column_mask[v], b + AVX512_W * v);
#pragma GCC unroll 16
        for (int r = 0; r < tile_rows; r++) {
            __m512 a_broadcast = _mm512_set1_ps(a_base[r / AVX512_MR][a_offset[r]]);
#pragma GCC unroll 4
            for (int v = 0; v < vectors; v++)
                acc[r][v] = _mm512_fmadd_ps(a_broadcast, b_vector[v], acc[r][v]);
        }
        a_base[0] += a_k_stride;
        a_base[1] += a_k_stride;
        b += b_k_stride;
    }

    /* epilogue on the last slice, then masked stores of the rows and columns inside C */
    __m512 bias[AVX512_MAX_VECTORS];
#pragma GCC unroll 4
    for (int v = 0; v < vectors; v++) bias[v] = load_bias_avx512(t, AVX512_W * v, column_mask[v]);
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; r++) {
        if (r >= t->rows) break;
#pragma GCC unroll 4
        for (int v = 0; v < vectors; v++)
            store_sums_avx512(t, r, AVX512_W * v, column_mask[v], acc[r][v], bias[v]);
    }
}

/* Full tiles (the common case) and edge tiles get separately compiled loops. */
static inline __attribute__((always_inline)) void
gemm_avx512_tile_full_or_edge(const gemm_tile *t, const int tile_rows, const int vectors) {
    if (t->rows == tile_rows)
        gemm_avx512_tile(t, tile_rows, vectors, 1);
    else
        gemm_avx512_tile(t, tile_rows, vectors, 0);
}

void gemm_avx512_micro_8x16(const gemm_tile *tile) {
    gemm_avx512_tile_full_or_edge(tile, AVX512_MR, 1);
}
void gemm_avx512_micro_8x32(const gemm_tile *tile) {
    gemm_avx512_tile_full_or_edge(tile, AVX512_MR, 2);
}
void gemm_avx512_micro_8x48(const gemm_tile *tile) {
    gemm_avx512_tile_full_or_edge(tile, AVX512_MR, 3);
}
/* the tall narrow tile: 16 accumulators instead of 8 */
void gemm_avx512_micro_16x16(const gemm_tile *tile) {
    gemm_avx512_tile_full_or_edge(tile, 2 * AVX512_MR, 1);
}

/* Transposes a 16 × 16 block in registers: on return row[i] holds column i of the input.
 * Three steps: interleave row pairs (unpack), gather 4 × 4 blocks inside each 128-bit lane
 * (shuffle_ps), then transpose the 4 × 4 grid of 128-bit lanes (two shuffle_f32x4 rounds). */
static inline __attribute__((always_inline)) void transpose_16x16_avx512(__m512 row[16]) {
    __m512 pair[16], quad[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 2) {
        pair[i] = _mm512_unpacklo_ps(row[i], row[i + 1]);     /* a0 b0 a1 b1 per lane */
        pair[i + 1] = _mm512_unpackhi_ps(row[i], row[i + 1]); /* a2 b2 a3 b3 per lane */
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i += 4) { /* quad[i + q], lane L: column 4L + q of rows i .. i+3 */
        quad[i + 0] = _mm512_shuffle_ps(pair[i], pair[i + 2], 0x44);
        quad[i + 1] = _mm512_shuffle_ps(pair[i], pair[i + 2], 0xee);
        quad[i + 2] = _mm512_shuffle_ps(pair[i + 1], pair[i + 3], 0x44);
        quad[i + 3] = _mm512_shuffle_ps(pair[i + 1], pair[i + 3], 0xee);
    }
#pragma GCC unroll 16
    for (int q = 0; q < 4; q++) { /* lane L of quad[q], quad[4+q], quad[8+q], quad[12+q] */
        __m512 low01 = _mm512_shuffle_f32x4(quad[q], quad[4 + q], 0x44);
        __m512 high01 = _mm512_shuffle_f32x4(quad[q], quad[4 + q], 0xee);
        __m512 low23 = _mm512_shuffle_f32x4(quad[8 + q], quad[12 + q], 0x44);
        __m512 high23 = _mm512_shuffle_f32x4(quad[8 + q], quad[12 + q], 0xee);
        row[q] = _mm512_shuffle_f32x4(low01, low23, 0x88);
        row[4 + q] = _mm512_shuffle_f32x4(low01, low23, 0xdd);
        row[8 + q] = _mm512_shuffle_f32x4(high01, high23, 0x88);
        row[12 + q] = _mm512_shuffle_f32x4(high01, high23, 0xdd);
    }
}

/* The narrow tile (N <= 12, the logits): 16 rows of C as one vector per column,
 * acc[j] = C(rows 0..15, j) += A(rows 0..15, p) · B(p, j), the same FMA per element and k
 * order as the row tiles. C goes in and out through a 16 × 16 register transpose, so the
 * epilogue and the stores are the row tiles' own. `columns` (8, 10 or 12) >= tile->cols is a
 * constant; columns past tile->cols re-read the last column of B and are not stored.
 * unit_columns (a constant): tile->cols == columns and b_column_stride == 1. */
static inline __attribute__((always_inline)) void
gemm_avx512_narrow_tile(const gemm_tile *t, const int columns, const int unit_columns) {
    const __mmask16 row_mask = lanes_mask_avx512(t->rows);
    const __mmask16 column_mask = lanes_mask_avx512(t->cols);
    __m512 block[16];
    __m512 acc[12];
    if (t->continue_sums) { /* the partial sums in C, transposed to one vector per column */
#pragma GCC unroll 16
        for (int r = 0; r < 16; r++)
            block[r] = r < t->rows ? _mm512_maskz_loadu_ps(column_mask, t->c + r * t->ldc)
                                   : _mm512_setzero_ps();
        transpose_16x16_avx512(block);
#pragma GCC unroll 12
        for (int j = 0; j < columns; j++) acc[j] = block[j];
    } else {
#pragma GCC unroll 12
        for (int j = 0; j < columns; j++) acc[j] = _mm512_setzero_ps();
    }

    /* B(p, j) at b[b_offset[j]]: constant offsets when B's columns are adjacent and all
     * `columns` exist (the logits), else computed and clamped to the last column */
    ptrdiff_t b_offset[12];
#pragma GCC unroll 12
    for (int j = 0; j < columns; j++)
        b_offset[j] = unit_columns ? j : (j < t->cols ? j : t->cols - 1) * t->b_column_stride;
    const float *a = t->a, *b = t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride, b_k_stride = t->b_k_stride;
    for (int p = 0; p < t->k; p++) {
        __m512 a_vector = _mm512_maskz_loadu_ps(row_mask, a);
#pragma GCC unroll 12
        for (int j = 0; j < columns; j++)
            acc[j] = _mm512_fmadd_ps(a_vector, _mm512_set1_ps(b[b_offset[j]]), acc[j]);
        a += a_k_stride;
        b += b_k_stride;
    }

#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) block[j] = j < columns ? acc[j] : _mm512_setzero_ps();
    transpose_16x16_avx512(block); /* back to one vector per row */
    __m512 bias = load_bias_avx512(t, 0, column_mask);
#pragma GCC unroll 16
    for (int r = 0; r < 16; r++) {
        if (r >= t->rows) break;
        store_sums_avx512(t, r, 0, column_mask, block[r], bias);
    }
}

/* Exact-width tiles over adjacent columns get their own loop (constant B offsets). */
static inline __attribute__((always_inline)) void
gemm_avx512_narrow_tile_unit_or_not(const gemm_tile *t, const int columns) {
    if (t->cols == columns && t->b_column_stride == 1)
        gemm_avx512_narrow_tile(t, columns, 1);
    else
        gemm_avx512_narrow_tile(t, columns, 0);
}

void gemm_avx512_micro_16x8_narrow(const gemm_tile *tile) {
    gemm_avx512_narrow_tile_unit_or_not(tile, 8);
}
void gemm_avx512_micro_16x10_narrow(const gemm_tile *tile) {
    gemm_avx512_narrow_tile_unit_or_not(tile, 10);
}
void gemm_avx512_micro_16x12_narrow(const gemm_tile *tile) {
    gemm_avx512_narrow_tile_unit_or_not(tile, 12);
}

/* The narrow path's entry: the tile with the fewest columns that holds N. */
static void gemm_avx512_micro_narrow(const gemm_tile *tile) {
    if (tile->cols <= 8)
        gemm_avx512_micro_16x8_narrow(tile);
    else if (tile->cols <= 10)
        gemm_avx512_micro_16x10_narrow(tile);
    else
        gemm_avx512_micro_16x12_narrow(tile);
}

/* The column tile (N = 1: one-output models such as the study's binary classifiers): 64 rows
 * of C as 4 vectors of 16, one accumulator each, acc[q] += A(rows 16q .. 16q + 15, p) · B(p, 0)
 * with one broadcast of B per k: 4 independent FMA chains instead of the narrow tile's one
 * (whose other 7 columns were copies of the only one). Same FMA per element in the same k
 * order as every other tile. C (and Y) are a column: gathered and scattered through memory,
 * once per tile. */
enum { AVX512_COLUMN_GROUPS = 4 };

/* source[r * ld] for r < count (count <= 16), as a vector (lanes past count 0). */
static inline __m512 load_column_avx512(const float *source, ptrdiff_t ld, int count) {
    float lanes[AVX512_W] = {0};
    for (int r = 0; r < count && r < AVX512_W; r++) lanes[r] = source[r * ld];
    return _mm512_loadu_ps(lanes);
}

static inline void store_column_avx512(float *destination, ptrdiff_t ld, int count,
                                       __m512 values) {
    float lanes[AVX512_W];
    _mm512_storeu_ps(lanes, values);
    for (int r = 0; r < count && r < AVX512_W; r++) destination[r * ld] = lanes[r];
}

void gemm_avx512_micro_64x1_column(const gemm_tile *t) {
    __mmask16 row_mask[AVX512_COLUMN_GROUPS];
    __m512 acc[AVX512_COLUMN_GROUPS];
#pragma GCC unroll 4
    for (int q = 0; q < AVX512_COLUMN_GROUPS; q++) {
        const int rows = t->rows - AVX512_W * q; /* of this group (<= 0: none) */
        row_mask[q] = lanes_mask_avx512(rows);
        acc[q] = t->continue_sums && rows > 0
                     ? load_column_avx512(t->c + AVX512_W * q * t->ldc, t->ldc, rows)
                     : _mm512_setzero_ps();
    }
    const float *b = t->b;
    const ptrdiff_t a_k_stride = t->a_k_stride, b_k_stride = t->b_k_stride;
    const ptrdiff_t group_stride = t->a_group_stride;
    if (t->a_u8) { /* uint8 A in place: 16 bytes per group, converted and scaled */
        const uint8_t *a = t->a_u8;
        const __m512 scale = _mm512_set1_ps(t->a_scale);
        for (int p = 0; p < t->k; p++) {
            const __m512 b_value = _mm512_set1_ps(*b);
#pragma GCC unroll 4
            for (int q = 0; q < AVX512_COLUMN_GROUPS; q++) {
                __m128i bytes = _mm_maskz_loadu_epi8(row_mask[q], a + q * group_stride);
                __m512 a_values =
                    _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)), scale);
                acc[q] = _mm512_fmadd_ps(a_values, b_value, acc[q]);
            }
            a += a_k_stride;
            b += b_k_stride;
        }
    } else {
        const float *a = t->a;
        for (int p = 0; p < t->k; p++) {
            const __m512 b_value = _mm512_set1_ps(*b);
#pragma GCC unroll 4
            for (int q = 0; q < AVX512_COLUMN_GROUPS; q++)
                acc[q] = _mm512_fmadd_ps(
                    _mm512_maskz_loadu_ps(row_mask[q], a + q * group_stride), b_value, acc[q]);
            a += a_k_stride;
            b += b_k_stride;
        }
    }
#pragma GCC unroll 4
    for (int q = 0; q < AVX512_COLUMN_GROUPS; q++) {
        const int rows = t->rows - AVX512_W * q;
        if (rows <= 0) break;
        __m512 sums = acc[q];
        if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_BIAS_ACTIVATION)
            sums = activation_forward_avx512(
                t->activation, _mm512_add_ps(sums, _mm512_set1_ps(t->bias ? t->bias[0] : 0.0f)));
        else if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_ACTIVATION_DERIVATIVE)
            sums = activation_backward_avx512(
                t->activation, load_column_avx512(t->y + AVX512_W * q * t->ldy, t->ldy, rows),
                sums);
        if (t->finish && t->epilogue == MLP_GEMM_EPILOGUE_PARAMETER_UPDATE) {
            /* W's column and its state through contiguous copies, updated as one vector */
            const int count = rows < AVX512_W ? rows : AVX512_W;
            float lanes[3][16], *state[2];
            gemm_tile_column_gather(t, AVX512_W * q, count, lanes, state);
            update_parameters_avx512(t, lanes[0], state[0], state[1], row_mask[q], sums);
            gemm_tile_column_scatter(t, AVX512_W * q, count, lanes);
            continue;
        }
        store_column_avx512(t->c + AVX512_W * q * t->ldc, t->ldc, rows, sums);
    }
}

/* Packs a transposed-B panel (B(p, j) = b[j * ldb + p]) 16 columns × 16 depths at a time:
 * 16 stored rows in, one register transpose, 16 panel rows out; missing columns are zero.
 * Full 16 × 16 blocks (all but the ragged edges) take a straight-line copy without per-row
 * tests. */
static void gemm_avx512_pack_b_transposed(const mlp_gemm_problem *g, int p0, int kb, int j0,
                                          int cols, int width, float *panel) {
    for (int c = 0; c < width; c += AVX512_W) {
        const float *source = g->b + (size_t)(j0 + c) * g->ldb + (size_t)p0;
        for (int p = 0; p < kb; p += 16) {
            __m512 block[16];
            if (c + 16 <= cols && p + 16 <= kb) {
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    block[i] = _mm512_loadu_ps(source + (size_t)i * g->ldb + (size_t)p);
                transpose_16x16_avx512(block);
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    _mm512_storeu_ps(panel + (size_t)(p + i) * width + c, block[i]);
                continue;
            }
            __mmask16 depth_mask = lanes_mask_avx512(kb - p);
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                block[i] = c + i < cols ? _mm512_maskz_loadu_ps(
                                              depth_mask, source + (size_t)i * g->ldb + (size_t)p)
                                        : _mm512_setzero_ps();
            transpose_16x16_avx512(block);
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                if (p + i < kb) _mm512_storeu_ps(panel + (size_t)(p + i) * width + c, block[i]);
        }
    }
}

/* A full 8-row panel of plain uint8 A (the first layer's forward in evaluation, the unfused
 * passes and the study; each row of pixels contiguous in p), 16 depths at a time, transposed
 * as bytes before converting: 16 bytes of each row, three rounds of unpacks (row pairs, row
 * quads, all 8 rows: 24 in all) leave 8 vectors, each holding depths p, p + 1 as 8 bytes each,
 * which widen to one zmm of 16 floats, two depths of the panel. Half the instructions of
 * converting first and transposing 8 × 8 floats (bench's forward_u8 784 -> 128 at batch 64:
 * the packing took 8% of the GEMM). Returns the depths packed. */
static int pack_u8_a_panel_8_rows_avx512(const mlp_gemm_problem *g, int i0, int p0, int kb,
                                         float *panel) {
    const size_t lda = (size_t)g->lda;
    const __m512 scale = _mm512_set1_ps(g->a_scale);
    const uint8_t *source = g->a_u8 + (size_t)i0 * lda + (size_t)p0;
    int p = 0;
    for (; p + 16 <= kb; p += 16) {
        __m128i row[8], pair[8], quad[8];
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++)
            row[r] = _mm_loadu_si128((const __m128i *)(source + (size_t)r * lda + (size_t)p));
        /* pair[2i], pair[2i + 1]: rows 2i and 2i + 1 side by side, depths 0-7 and 8-15 */
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            pair[2 * i] = _mm_unpacklo_epi8(row[2 * i], row[2 * i + 1]);
            pair[2 * i + 1] = _mm_unpackhi_epi8(row[2 * i], row[2 * i + 1]);
        }
        /* quad[4h + q]: rows 4h .. 4h + 3 of depths 4q .. 4q + 3 */
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            quad[4 * h + 0] = _mm_unpacklo_epi16(pair[4 * h], pair[4 * h + 2]);
            quad[4 * h + 1] = _mm_unpackhi_epi16(pair[4 * h], pair[4 * h + 2]);
            quad[4 * h + 2] = _mm_unpacklo_epi16(pair[4 * h + 1], pair[4 * h + 3]);
            quad[4 * h + 3] = _mm_unpackhi_epi16(pair[4 * h + 1], pair[4 * h + 3]);
        }
        /* rows 0-3 and 4-7 joined: depths 4q, 4q + 1 (low), 4q + 2, 4q + 3 (high) */
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            const __m128i depths[2] = {_mm_unpacklo_epi32(quad[q], quad[4 + q]),
                                       _mm_unpackhi_epi32(quad[q], quad[4 + q])};
#pragma GCC unroll 2
            for (int half = 0; half < 2; half++)
                _mm512_storeu_ps(
                    panel + (size_t)(p + 4 * q + 2 * half) * 8,
                    _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(depths[half])), scale));
        }
    }
    return p;
}

/* A panels of MR = 8 rows (uint8 A: the first layer's pixels, scaled while packing): full
 * panels of plain uint8 A by the byte transpose above, the rest (and its last depths) with the
 * AVX2 packer: 8 floats per row of the panel is one ymm register. */
static void gemm_avx512_pack_a(const mlp_gemm_problem *g, int i0, int rows, int p0, int kb, int mr,
                               float *panel) {
    if (g->a_u8 && !g->a_transposed && mr == 8 && rows == 8) {
        const int packed = pack_u8_a_panel_8_rows_avx512(g, i0, p0, kb, panel);
        panel += (size_t)packed * mr;
        p0 += packed;
        kb -= packed;
        if (kb == 0) return;
    }
    pack_a_panel_avx2(g, i0, rows, p0, kb, mr, panel);
}

/* B panels: transposed B through the register transpose, plain B one masked vector copy per
 * 16 columns (columns past `cols` written as zeros), fetching rows ahead. */
static void gemm_avx512_pack_b(const mlp_gemm_problem *g, int p0, int kb, int j0, int cols, int width,
                             float *panel) {
    if (g->b_transposed) {
        gemm_avx512_pack_b_transposed(g, p0, kb, j0, cols, width, panel);
        return;
    }
    for (int p = 0; p < kb; p++) {
        const float *source = g->b + (size_t)(p0 + p) * g->ldb + (size_t)j0;
        float *destination = panel + (size_t)p * width;
        gemm_prefetch_b_row_ahead(g, p0, p, kb, j0, cols);
        for (int c = 0; c < width; c += AVX512_W) {
                _mm512_storeu_ps(destination + c,
                                 _mm512_maskz_loadu_ps(lanes_mask_avx512(cols - c), source + c));
        }
    }
}

/* The logits' tile (avx2/gemm_logits_avx2.h) under this variant's own symbol, so profiles
 * name it: 64 -> 10 forward 65 -> 85 GFLOP/s against the 16-row narrow path */
void gemm_avx512_logits_8x10(const mlp_gemm_problem *problem) { gemm_logits_avx2(problem); }

GEMM_DRIVER_ENTRY_POINTS(avx512)

/* Every micro-kernel by name (the tests and bench call each directly). */
static const gemm_micro_kernel_info gemm_avx512_micro_kernels[] =
    GEMM_MICRO_KERNELS_EVERY_KIND(avx512, 8, 16, 32, 48, 16);

const gemm_driver gemm_avx512_driver = {
    .mr = AVX512_MR,
    .width = AVX512_W,
    .max_vectors = AVX512_MAX_VECTORS,
    .kc = GEMM_AVX512_KC,
    .mc = GEMM_AVX512_MC,
    .nc = GEMM_AVX512_NC,
    .micro_kernels = {gemm_avx512_micro_8x16, gemm_avx512_micro_8x32, gemm_avx512_micro_8x48},
    .tall_micro_kernels = {gemm_avx512_micro_16x16, NULL, NULL},
    .pack_b_min_rows = GEMM_AVX512_PACK_B_MIN_ROWS,
    .masked_b_loads = 1,
    .pack_b_panel = gemm_avx512_pack_b,
    .pack_a_panel = gemm_avx512_pack_a,
    .narrow_micro_kernel = gemm_avx512_micro_narrow,
    .narrow_max_columns = 12,
    .column_micro_kernel = gemm_avx512_micro_64x1_column,
    .column_tile_rows = AVX512_COLUMN_GROUPS * AVX512_W,
    .logits_kernel = gemm_avx512_logits_8x10,
    .logits_min_columns = 9,
    .logits_max_columns = 10,
    GEMM_DRIVER_NAMED(avx512),
};
