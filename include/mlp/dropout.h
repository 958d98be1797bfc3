/* Inverted dropout on the hidden layers (the recipe's mlp_dropout_options, include/mlp/recipe.h).
 *
 * In training, hidden unit j of row r of weight layer l's output is kept with probability 1 - p_l
 * and then scaled by 1 / (1 - p_l), or set to 0; at evaluation nothing changes. Whether it is kept
 * is a pure function of (seed, epoch, batch, layer, row, unit), with `row` the row's index in the
 * whole batch (not in a thread's or an MPI rank's share of it):
 *   key  = mlp_rng_key(mlp_rng_key(mlp_rng_key(mlp_rng_key(mlp_rng_key(seed ^ DROPOUT_DOMAIN, epoch), batch), l), row)
 *   keep = (32-bit half j mod 2 of mlp_rng_counter(key, ⌊j/2⌋)) >= round(p_l · 2^32)
 * (src/core/rng.h: splitmix64's output stream keyed by a hash of the coordinates). So the mask
 * is the same for any thread count, any MPI rank count and after a resume, with no stored state.
 *
 * The network (include/mlp/network.h) applies it in two elementwise passes, each thread over its
 * own rows:
 *   forward, after layer l's GEMM:  H = act(Z_l) is saved, A_l = H ⊙ M_l / (1 - p_l)
 *   (a multiplication by 0 or 1/(1-p), so a NaN stays a NaN and divergence still shows)
 *   backward, after layer l+1's input gradient (dZ_{l+1}·W_{l+1}ᵀ ⊙ act'(H), act' read from the
 *   saved H):  dZ_l ⊙= M_l / (1 - p_l)
 * The mask is regenerated in the backward pass (one hash per unit), not stored. */
#ifndef MLP_DROPOUT_H
#define MLP_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

#include "mlp/common.h"
#include "mlp/network.h"
#include "mlp/recipe.h"
#include "mlp/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the options ---- */

/* "P" (every hidden layer: all MLP_MAX_LAYERS entries set, the run keeps those of its hidden
 * layers) or "P1,P2,..." (hidden layer by hidden layer, the rest 0); each p in [0, 1).
 * *count: how many values were given. One-line errors name --dropout. */
int mlp_dropout_parse(const char *text, mlp_dropout_options *options, int *count, mlp_error *error);
/* Whether any hidden layer of a network with `hidden_layers` of them drops units. */
int mlp_dropout_active(const mlp_dropout_options *options, int hidden_layers);
/* Checks every p in [0, 1) and zeroes the entries past the hidden layers (a "P" for all). */
int mlp_dropout_fit(mlp_dropout_options *options, int hidden_layers, mlp_error *error);
/* "0.2,0.3" (the hidden layers' p), or "off". */
void mlp_dropout_format(const mlp_dropout_options *options, int hidden_layers, char *text,
                    size_t size);

/* ---- the mask ---- */

/* The key of one row of layer l's output in batch `batch` (0-based) of epoch `epoch` (1-based). */
uint64_t mlp_dropout_row_key(uint64_t seed, int epoch, int batch, int layer, int row);
/* p as the threshold on a 32-bit draw: a unit is dropped when its draw is below it. */
uint64_t mlp_dropout_threshold(float p);
/* Unit j's draw is one 32-bit half of mlp_rng_counter(row_key, j / 2): the high half for even j, the
 * low half for odd j (one hash per two units). */
static inline int mlp_dropout_keep(uint64_t row_key, int unit, uint64_t threshold) {
    uint64_t bits = mlp_rng_counter(row_key, (uint64_t)(unit >> 1));
    return ((unit & 1 ? bits : bits >> 32) & 0xffffffffu) >= threshold;
}

/* ---- in the network ---- */

typedef struct mlp_network_dropout {
    uint64_t seed;
    float p[MLP_MAX_LAYERS];             /* per weight layer: its output's p (0: off)          */
    float scale[MLP_MAX_LAYERS];         /* 1 / (1 - p)                                         */
    uint64_t threshold[MLP_MAX_LAYERS];  /* mlp_dropout_threshold(p)                                */
    /* undropped[l + 1] = act(Z_l) before the mask, [batch_capacity × sizes[l + 1]], for the
     * layers that drop (NULL for the others): what the backward pass's act' reads. */
    float *undropped[MLP_MAX_LAYERS + 1];
    /* The batch being trained (network_dropout_begin_batch); training = 0: no dropout. */
    int training;
    int epoch, batch;
    int first_row;                       /* the whole batch's row index of local row 0         */
} mlp_network_dropout;

/* Gives the network dropout with these options (network->dropout; nothing when no hidden layer
 * drops). Off until network_dropout_begin_batch. network_free frees it. */
int mlp_network_dropout_enable(mlp_network *network, const mlp_dropout_options *options,
                           uint64_t seed, mlp_error *error);
void mlp_network_dropout_free(mlp_network *network);
/* The training batch whose masks the next forward/backward passes use: batch `batch` of epoch
 * `epoch`, whose local rows start at row first_row of the whole batch (a rank's share of a
 * data-parallel batch). One thread calls it, followed by a barrier before the forward pass. */
void mlp_network_dropout_begin_batch(mlp_network *network, int epoch, int batch, int first_row);
/* Back to evaluation: no dropout until the next begin_batch. */
void mlp_network_dropout_end(mlp_network *network);

/* Whether weight layer l's output is being dropped (training, p_l > 0). */
static inline int mlp_network_dropout_on(const mlp_network *network, int l) {
    const mlp_network_dropout *d = network->dropout;
    return d && d->training && l < network->model->layer_count - 1 && d->p[l] > 0.0f;
}
/* What act' reads for the activations[l] (the output of weight layer l - 1): the saved undropped
 * values while that layer drops, else activations[l] itself. */
const float *mlp_network_dropout_activation_output(const mlp_network *network, int l);
/* Collective, after layer l's forward GEMM and a barrier: saves and masks rows [0, n) of
 * activations[l + 1], each thread its rows; ends with a barrier. */
void mlp_network_dropout_forward(mlp_network *network, int l, int n);
/* Collective, after the GEMM that wrote deltas[l + 1] (layer l + 1's input gradient): a barrier,
 * then masks rows [0, n) of deltas[l + 1], each thread its rows (no barrier after). */
void mlp_network_dropout_backward(mlp_network *network, int l, int n);

#ifdef __cplusplus
}
#endif
#endif
