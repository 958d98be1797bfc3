/* The shared driver of the ISAs' fused softmax + cross-entropy kernels: rows in chunks, each
 * step of a row in its own pass over the chunk. A row's steps form one long dependency chain
 * (a reduction, exp, a reduction, log, exp); one row after another, the out-of-order window
 * held about one row's chain, while in separate passes the chunk's rows overlap (avx512, 64
 * rows of 10 classes: 4.6 -> 2.5 µs a batch on Zen 5). Every row gets the same operations as
 * before, so the same bits (tests/test_kernels.c: bitwise the rows computed one per call). Header
 * of static inline functions, included by each ISA's softmax file so the row functions inline
 * with that ISA's flags. */
#ifndef MLP_SOFTMAX_PASSES_H
#define MLP_SOFTMAX_PASSES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* max_j z[j] of a row of `classes` logits */
typedef float (*softmax_row_max)(const float *z, int classes);
/* sum_j exp(z[j] - max) */
typedef float (*softmax_row_exp_sum)(const float *z, int classes, float max);
/* p = exp(z - max - log_sum) into p_row (when not NULL; it may alias z) and
 * (p - onehot(label)) · gradient_scale into dz (when not NULL) */
typedef void (*softmax_row_outputs)(const float *z, int classes, float max, float log_sum, int label,
                                    float *p_row, float *dz, float gradient_scale);

/* softmax_cross_entropy (include/mlp/kernels.h) from an ISA's three row functions. */
static inline __attribute__((always_inline)) void
softmax_cross_entropy_passes(int rows, int classes, const float *logits, int ld_logits,
                             const uint8_t *labels, float *probabilities, int ld_probabilities,
                             float *row_loss, float *logit_gradient, int ld_gradient,
                             float gradient_scale, softmax_row_max row_max,
                             softmax_row_exp_sum row_exp_sum, softmax_row_outputs row_outputs) {
    enum { CHUNK = 64 };
    float max[CHUNK], log_sum[CHUNK];
    for (int first = 0; first < rows; first += CHUNK) {
        const int count = rows - first < CHUNK ? rows - first : CHUNK;
        const float *chunk = logits + (size_t)first * ld_logits;
        for (int r = 0; r < count; r++) max[r] = row_max(chunk + (size_t)r * ld_logits, classes);
        for (int r = 0; r < count; r++)
            log_sum[r] = logf(row_exp_sum(chunk + (size_t)r * ld_logits, classes, max[r]));
        /* the outputs last: the probabilities may overwrite the logits, row by row */
        for (int r = 0; r < count; r++) {
            const size_t i = (size_t)(first + r);
            const float *z = logits + i * ld_logits;
            const int label = labels ? labels[i] : 0;
            if (row_loss) row_loss[i] = log_sum[r] - (z[label] - max[r]);
            row_outputs(z, classes, max[r], log_sum[r], label,
                        probabilities ? probabilities + i * ld_probabilities : NULL,
                        logit_gradient ? logit_gradient + i * ld_gradient : NULL, gradient_scale);
        }
    }
}

#endif
