/* AVX2 packing helpers shared by the AVX2 and AVX-512 GEMMs (AVX-512 implies AVX2): an 8 × 8
 * register transpose and the A-panel packer. Include only from files compiled with at least
 * -mavx2 -mfma. */
#ifndef MLP_AVX2_PACK_H
#define MLP_AVX2_PACK_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "avx2/avx2_math.h"
#include "mlp/kernels.h"

/* Transposes an 8 × 8 block in registers: on return row[i] holds column i of the input.
 * Interleave row pairs (unpack), gather 4 × 4 blocks inside each 128-bit half (shuffle_ps),
 * then swap the off-diagonal halves (permute2f128). */
static inline void transpose_8x8_avx2(__m256 row[8]) {
    __m256 pair[8], quad[8];
#pragma GCC unroll 16
    for (int i = 0; i < 8; i += 2) {
        pair[i] = _mm256_unpacklo_ps(row[i], row[i + 1]);     /* a0 b0 a1 b1 per half */
        pair[i + 1] = _mm256_unpackhi_ps(row[i], row[i + 1]); /* a2 b2 a3 b3 per half */
    }
#pragma GCC unroll 16
    for (int i = 0; i < 8; i += 4) { /* quad[i + q], half L: column 4L + q of rows i .. i+3 */
        quad[i + 0] = _mm256_shuffle_ps(pair[i], pair[i + 2], 0x44);
        quad[i + 1] = _mm256_shuffle_ps(pair[i], pair[i + 2], 0xee);
        quad[i + 2] = _mm256_shuffle_ps(pair[i + 1], pair[i + 3], 0x44);
        quad[i + 3] = _mm256_shuffle_ps(pair[i + 1], pair[i + 3], 0xee);
    }
#pragma GCC unroll 16
    for (int q = 0; q < 4; q++) {
        row[q] = _mm256_permute2f128_ps(quad[q], quad[4 + q], 0x20);
        row[4 + q] = _mm256_permute2f128_ps(quad[q], quad[4 + q], 0x31);
    }
}

/* Eight values of op(A) source row starting at `index` (count <= 8 of them valid, the rest 0),
 * as floats: uint8 bytes are converted and multiplied by a_scale (exactly the reference's
 * (float)byte * a_scale), floats are copied. */
static inline __m256 load_a_row_avx2(const mlp_gemm_problem *g, size_t index, int count) {
    if (g->a_u8) {
        /* the bytes, little-endian in one 64-bit word (fixed-size copies: no memcpy call) */
        const uint8_t *source = g->a_u8 + index;
        unsigned long long bytes = 0;
        int copied = 0;
        if (count >= 8) {
            memcpy(&bytes, source, 8);
            copied = 8;
        } else if (count >= 4) {
            uint32_t low;
            memcpy(&low, source, 4);
            bytes = low;
            copied = 4;
        }
        for (int i = copied; i < count && i < 8; i++)
            bytes |= (unsigned long long)source[i] << (8 * i);
        __m256 value =
            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)bytes)));
        return _mm256_mul_ps(value, _mm256_set1_ps(g->a_scale));
    }
    if (count == 4) /* a full 4-row group: a plain 128-bit load (no vmaskmovps) */
        return _mm256_zextps128_ps256(_mm_loadu_ps(g->a + index));
    return load_lanes_avx2(g->a + index, count);
}

/* Stores the first `count` (4 or 8) floats of v. */
static inline void store_a_column_avx2(float *destination, __m256 v, int count) {
    if (count == 8)
        _mm256_storeu_ps(destination, v);
    else
        _mm_storeu_ps(destination, _mm256_castps256_ps128(v));
}

/* The low eight bytes of `bytes` as floats times `scale` (the reference's (float)byte * scale). */
static inline __m256 load_eight_bytes_scaled_avx2(__m128i bytes, __m256 scale) {
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), scale);
}

/* A full 4-row uint8 panel (mr = rows = 4), the first layer's pixels on the AVX2 tile: two
 * depths per 8-float store. Transposed A (depth p's 4 rows are 4 bytes at p * lda): two
 * 4-byte loads per store. Plain A (each row contiguous in p): 8 depths of the 4 rows, a 4 × 8
 * transpose (unpack, shuffle, then 128-bit halves paired), 4 stores. Depths past the last
 * whole group (8 or 2) go through the general loop of pack_a_panel_avx2. Returns the depths
 * packed. */
static inline int pack_u8_a_panel_4_rows_avx2(const mlp_gemm_problem *g, int i0, int p0, int kb,
                                              float *panel) {
    const size_t lda = (size_t)g->lda;
    const __m256 scale = _mm256_set1_ps(g->a_scale);
    int p = 0;
    if (g->a_transposed) {
        for (; p + 2 <= kb; p += 2) {
            const uint8_t *source = g->a_u8 + (size_t)(p0 + p) * lda + (size_t)i0;
            uint32_t first, second;
            memcpy(&first, source, 4);
            memcpy(&second, source + lda, 4);
            __m128i bytes = _mm_insert_epi32(_mm_cvtsi32_si128((int)first), (int)second, 1);
            _mm256_storeu_ps(panel + (size_t)p * 4, load_eight_bytes_scaled_avx2(bytes, scale));
        }
        return p;
    }
    for (; p + 8 <= kb; p += 8) {
        __m256 row[4];
        for (int r = 0; r < 4; r++) {
            unsigned long long bytes;
            memcpy(&bytes, g->a_u8 + (size_t)(i0 + r) * lda + (size_t)(p0 + p), 8);
            row[r] = load_eight_bytes_scaled_avx2(_mm_cvtsi64_si128((long long)bytes), scale);
        }
        /* rows 0-3 at depth d in the low (d < 4) or high (d >= 4) half of depth{d % 4} */
        __m256 low01 = _mm256_unpacklo_ps(row[0], row[1]);
        __m256 high01 = _mm256_unpackhi_ps(row[0], row[1]);
        __m256 low23 = _mm256_unpacklo_ps(row[2], row[3]);
        __m256 high23 = _mm256_unpackhi_ps(row[2], row[3]);
        __m256 depth0 = _mm256_shuffle_ps(low01, low23, 0x44);   /* depths 0 | 4 */
        __m256 depth1 = _mm256_shuffle_ps(low01, low23, 0xee);   /* depths 1 | 5 */
        __m256 depth2 = _mm256_shuffle_ps(high01, high23, 0x44); /* depths 2 | 6 */
        __m256 depth3 = _mm256_shuffle_ps(high01, high23, 0xee); /* depths 3 | 7 */
        float *destination = panel + (size_t)p * 4;
        _mm256_storeu_ps(destination, _mm256_permute2f128_ps(depth0, depth1, 0x20));
        _mm256_storeu_ps(destination + 8, _mm256_permute2f128_ps(depth2, depth3, 0x20));
        _mm256_storeu_ps(destination + 16, _mm256_permute2f128_ps(depth0, depth1, 0x31));
        _mm256_storeu_ps(destination + 24, _mm256_permute2f128_ps(depth2, depth3, 0x31));
    }
    return p;
}

/* A full 8-row uint8 panel of transposed A (mr = rows = 8) on the AVX-512 tile: the first
 * layer's weight gradient of the unfused passes (--gradient-shards, MPI) and of the study.
 * Depth p's 8 rows are 8 bytes at p * lda: one 64-bit load, one conversion and one store per
 * depth (the general loop's per-row byte assembly took 10% of bench's weight_gradient_u8
 * 784 -> 128 at batch 64). Returns the depths packed. */
static inline int pack_u8_transposed_a_panel_8_rows_avx2(const mlp_gemm_problem *g, int i0, int p0,
                                                         int kb, float *panel) {
    const size_t lda = (size_t)g->lda;
    const __m256 scale = _mm256_set1_ps(g->a_scale);
    const uint8_t *source = g->a_u8 + (size_t)p0 * lda + (size_t)i0;
    for (int p = 0; p < kb; p++)
        _mm256_storeu_ps(panel + (size_t)p * 8,
                         load_eight_bytes_scaled_avx2(
                             _mm_loadl_epi64((const __m128i *)(source + (size_t)p * lda)), scale));
    return kb;
}

/* Same result as gemm_pack_a_panel for mr = 4, 8 or 16: panel[p * mr + r] =
 * op(A)(i0 + r, p0 + p), rows >= `rows` zero. Rows go in groups of up to 8 (one ymm). Plain A:
 * 8 depths of each row at a time, transposed in registers; transposed A: each depth's rows
 * are contiguous, one load and one store per group. */
static inline void pack_a_panel_avx2(const mlp_gemm_problem *g, int i0, int rows, int p0, int kb,
                                     int mr, float *panel) {
    const size_t lda = (size_t)g->lda;
    const int group = mr < 8 ? mr : 8;
    if (g->a_u8 && mr == 4 && rows == 4) {
        const int packed = pack_u8_a_panel_4_rows_avx2(g, i0, p0, kb, panel);
        panel += (size_t)packed * mr;
        p0 += packed;
        kb -= packed;
    }
    if (g->a_u8 && g->a_transposed && mr == 8 && rows == 8) {
        pack_u8_transposed_a_panel_8_rows_avx2(g, i0, p0, kb, panel);
        return;
    }
    for (int r0 = 0; r0 < mr; r0 += group) {
        const int group_rows = rows - r0; /* may be <= 0: the group is padding */
        if (g->a_transposed) {
            for (int p = 0; p < kb; p++)
                store_a_column_avx2(
                    panel + (size_t)p * mr + r0,
                    load_a_row_avx2(g, (size_t)(p0 + p) * lda + (size_t)(i0 + r0),
                                    group_rows < group ? group_rows : group),
                    group);
            continue;
        }
        for (int p = 0; p < kb; p += 8) {
            __m256 block[8];
#pragma GCC unroll 8
            for (int r = 0; r < 8; r++)
                block[r] = r < group_rows && r < group
                               ? load_a_row_avx2(g, (size_t)(i0 + r0 + r) * lda + (size_t)(p0 + p),
                                                 kb - p)
                               : _mm256_setzero_ps();
            transpose_8x8_avx2(block);
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++)
                if (p + q < kb)
                    store_a_column_avx2(panel + (size_t)(p + q) * mr + r0, block[q], group);
        }
    }
}

#endif
