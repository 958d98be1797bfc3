/* The network at work: forward and backward passes over a mini-batch, written one layer step at a
 * time, and the SGD update. All arithmetic goes through the kernel table.
 *
 * Threads: the step functions marked "collective" are called by every thread of one OpenMP team
 * (inside a `#pragma omp parallel` region) with the same arguments, and the kernels' partition
 * independence makes the result bitwise the same for any number of threads.
 *
 * The training step (network_step) is "owner computes": each thread owns a fixed slice of every
 * layer's output columns (network_layer_columns; a layer too small to split,
 * MLP_PARALLEL_MIN_FLOPS_PER_THREAD, belongs to the last thread) for the whole step. It computes
 * those columns of the forward GEMM, the input gradient's columns that are its own in the layer
 * below, and for its columns the weight gradient fused with the SGD update
 * (GEMM_EPILOGUE_PARAMETER_UPDATE: W -= lr·Aᵀ·dZ with no dW in memory) and the bias's. So W, b
 * and their gradients never leave the owning core; the activations and input gradients are the
 * data that cross cores, and W_l's rows are read by every thread in the input gradient of layer
 * l, which is why a barrier separates that from W_l's update. docs/threads.md has the schedule.
 *
 * The unfused collective functions (network_forward splits the larger of batch rows and columns,
 * network_backward writes `gradients`, network_sgd_update applies them) remain for the
 * data-parallel step (src/distributed), the gradient check and the tests, which compare the two
 * step by step. Barriers separate the layer steps. */
#ifndef MLP_NETWORK_H
#define MLP_NETWORK_H

#include <stdint.h>

#include "mlp/common.h"
#include "mlp/kernels.h"
#include "mlp/model.h"
#include "mlp/optimizer.h"
#include "mlp/precision.h"
#include "mlp/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default split threshold (a measured plan, include/mlp/plan.h, replaces it with one derived
 * from this machine's FMA peak and barrier cost): a GEMM is split over threads only when each
 * thread gets at least this many floating-point operations (2^19: about 5 µs of AVX-512 work on
 * one Zen 4 core). Measured with bench on the 2-core
 * Zen 4 VMs (docs/threads.md): a lone GEMM split in 2 already wins from ~33 Kflop per part, but
 * in a training step a split layer's weights and gradients move between the cores' caches every
 * step; whole steps of 784,6,4,10 at batch 64 (first-layer GEMMs of 301 Kflop per thread) were
 * 30% slower split than not, 784,16,32,10 (803 Kflop per thread) 40% faster. */
#ifndef MLP_PARALLEL_MIN_FLOPS_PER_THREAD /* -D overrides it, for measuring other values */
#define MLP_PARALLEL_MIN_FLOPS_PER_THREAD (1 << 19)
#endif

/* Owner computes: a split layer's output columns go to the threads in blocks of this many (one
 * AVX-512 vector; the column blocks are register-tile friendly for every variant). */
#define MLP_OWNER_COLUMN_GRANULARITY 16

/* The next batch, copied during the current step (owner computes) by the threads that own no
 * columns in a phase, instead of waiting at its barrier: the gather of a batch's random rows is
 * bound by memory latency, which then overlaps the owners' compute. The trainer sets it up
 * (network.next_batch) when the step is the owner-computes one and gathers the rows the step
 * left (claimed_rows onwards) itself. Every row is copied whole by one thread: the same bytes
 * whoever copies it. */
typedef struct mlp_next_batch {
    const struct mlp_dataset *data;
    const int *examples;       /* the batch's n example indices                              */
    int n;
    uint8_t *pixels, *targets; /* where rows [0, n) go (network.spare_pixels, spare_targets) */
    int claimed_rows;          /* rows [0, claimed_rows) are taken (atomically); every taken row
                                  is copied by the end of the step                          */
    /* A team of one has no idle thread: its owner instead prefetches rows_per_call rows before
     * each of its GEMMs (the loads then run under the GEMM) and copies nothing; the trainer's
     * gather after the step finds them in cache. */
    int prefetch_only;
    int rows_per_call;
} mlp_next_batch;

/* Rows an idle thread copies per this many flops of the phase's owner: one 784-byte row from
 * memory takes about 0.15 µs (64 shuffled MNIST rows: 8-10 µs), the time a Zen 5 core spends on
 * ~32 Kflop, so the idle thread is done about when the owners are. */
#define MLP_NEXT_BATCH_FLOPS_PER_ROW 32768.0

typedef struct mlp_network {
    const mlp_model *model;
    const mlp_kernel_table *kernels;
    int batch_capacity; /* rows the buffers hold                                     */
    int threads;        /* the team size the collective functions will be called with */

    /* activations[l + 1] = output of layer l, [batch × sizes[l+1]]: after the last layer these
     * are the logits, then (after the loss) the probabilities. The input stays uint8. */
    float *activations[MLP_MAX_LAYERS + 1];
    /* deltas[l + 1] = dCost/dZ of layer l, same shape as activations[l + 1]. */
    float *deltas[MLP_MAX_LAYERS + 1];
    float *gradients; /* same layout as model->parameters                  */
    float *row_loss;  /* batch_capacity per-example costs                  */
    uint8_t *input_pixels;  /* batch_capacity × sizes[0]: the batch being worked on */
    uint8_t *input_targets; /* batch_capacity labels (or 0/1 targets)               */
    /* a second pair, filled with the next batch during the step (next_batch), then swapped */
    uint8_t *spare_pixels, *spare_targets;
    mlp_next_batch *next_batch; /* NULL: nothing to gather during the step                  */
    /* threads slabs of batch_capacity × sizes[0] floats, input_floats_stride apart: each
     * first-layer owner's copy of the pixels × 1/255 (its A in the owner-computes step, written
     * by network_forward_owned, read again by network_backward_update) */
    float *input_floats;
    size_t input_floats_stride;
    float *gemm_workspace; /* threads × workspace_stride floats            */
    size_t workspace_stride;
    mlp_network_profile *profile; /* NULL (the default): no timing at all        */
    struct mlp_network_dropout *dropout; /* NULL: no dropout (include/mlp/dropout.h) */
    /* 1 (the default): network_step is the owner-computes step with the fused update; 0: the
     * unfused step (forward, loss, backward into `gradients`, sgd_update), bitwise the same.
     * MLP_UNFUSED_UPDATE=1 in the environment sets 0 at network_create (for measuring). */
    int fused_update;
    /* The GEMMs' arithmetic (include/mlp/precision.h): MLP_PRECISION_FP32 (the default,
     * kernels->gemm) or BF16 (kernels->gemm_bf16 for every GEMM of the step and of evaluation).
     * Set with network_set_precision. */
    mlp_precision precision;
    /* The plan's decisions (mlp_plan_apply, include/mlp/plan.h); network_create sets the
     * defaults: the variant's blocking constants, MLP_PARALLEL_MIN_FLOPS_PER_THREAD. Any values
     * give the same bits. */
    mlp_gemm_blocking blocking;   /* every GEMM the network runs gets it                 */
    long min_flops_per_thread;    /* the split threshold (parallel_gemm_workers)          */
    /* The barrier of the collective functions (src/core/team_barrier.h: no system call per
     * barrier, unlike libgomp's); NULL: the OpenMP barrier. network_create makes it. */
    struct mlp_team_barrier *barrier;
    /* Owner computes: each owner's columns of every layer's W in blocks of its own
     * (owner_blocks[l * threads + t], in × its columns, row-major), read by its forward GEMM and
     * written by its fused update instead of W itself; the input gradient reads them in parts
     * along k (mlp_gemm_problem.accumulate). In W (in × out, row-major) every row holds every
     * owner's columns, and the cores' prefetchers pull each other's lines: on Zen 5 with 2
     * threads, an owner's writes to its own 784 × 64 columns of W_0 took 38 µs in place against
     * 1.2 µs in a block of its own, and the forward GEMM after them 44 against 36 µs. Made by
     * mlp_network_use_owner_blocks (the trainer's; NULL otherwise, and for a team of one);
     * valid: the blocks hold W for the split of owner_blocks_rows rows, and the model's W is
     * stale until mlp_network_owner_blocks_flush. */
    float **owner_blocks;
    int owner_blocks_valid;
    int owner_blocks_rows;
    /* the optimizer state whose moments of W the blocks also hold (owner_blocks[.. + 1], [.. + 2],
     * m and v in W's block layout), NULL: plain SGD; stale in the state until the flush */
    struct mlp_optimizer_state *owner_blocks_optimizer;
} mlp_network;

int mlp_network_create(mlp_network *network, const mlp_model *model, const mlp_kernel_table *kernels,
                   int batch_capacity, int threads, mlp_error *error);
void mlp_network_free(mlp_network *network);

/* Gives each of the network's threads blocks for its columns of every layer's W (see
 * owner_blocks): the fused step then keeps W there between flushes. Nothing for a team of one
 * or when MLP_OWNER_BLOCKS=0 is set (to measure the difference). 0, or -1 when out of memory. */
int mlp_network_use_owner_blocks(mlp_network *network, mlp_error *error);
/* Collective. Writes the owners' blocks back into the model's W (each owner its columns) when
 * they hold it: call it before anything reads the model after fused steps. */
void mlp_network_owner_blocks_flush(mlp_network *network);
/* Makes every GEMM of the network's passes run at `precision`; -1 with a message when the
 * kernel variant has no GEMM for it (BF16 without gemm_bf16). */
int mlp_network_set_precision(mlp_network *network, mlp_precision precision, mlp_error *error);

/* Collective. Z_l = A_{l-1} · W_l + b_l, A_l = act(Z_l) for every layer, the last without
 * activation (its outputs are the logits). input: n × sizes[0] pixels, scaled by 1/255.
 * While training with dropout (network->dropout), the hidden A_l are then masked, and the
 * backward pass masks their dZ the same way (include/mlp/dropout.h). */
void mlp_network_forward(mlp_network *network, const uint8_t *input, int n);

/* Collective. The cost of the batch from the logits: softmax + cross-entropy (or sigmoid + binary
 * cross-entropy), the per-example costs into row_loss, the gradient of the mean cost w.r.t. the
 * logits into deltas[L] when want_gradient. Leaves the output probabilities in activations[L].
 * Returns the mean cost (every thread gets it). */
double mlp_network_loss(mlp_network *network, const uint8_t *targets, int n, int want_gradient);

/* Collective. The per-row part of network_loss for rows [0, n) of a batch of batch_rows rows
 * (n <= batch_rows; a process of a data-parallel run holds only some rows): the costs into
 * row_loss[0..n), and with want_gradient dCost/dZ of the mean over batch_rows (scaled by
 * 1/batch_rows) into deltas[L]. Ends with a barrier. */
void mlp_network_row_costs(mlp_network *network, const uint8_t *targets, int n, int batch_rows,
                       int want_gradient);

/* Collective. Backpropagation, last layer first:
 *   dW_l = A_{l-1}ᵀ · dZ_l,   db_l = Σ_rows dZ_l,   dZ_{l-1} = (dZ_l · W_lᵀ) ⊙ act'(A_{l-1}) */
void mlp_network_backward(mlp_network *network, const uint8_t *input, int n);

/* The two halves of one layer's backward step (collective, no barrier), for callers that split
 * the parameter gradient by rows (src/distributed.c):
 * parameter gradient of layer l from rows [first_row, first_row + rows) of the batch only:
 *   dW_l = A_{l-1}[rows]ᵀ · dZ_l[rows],  db_l = Σ_rows dZ_l[rows]
 * into layer_gradient (the layer's block in the parameter layout: W at 0, b at
 * bias_offset[l] - weight_offset[l]); */
void mlp_network_layer_parameter_gradient(mlp_network *network, int l, const uint8_t *input,
                                      int first_row, int rows, float *layer_gradient);
/* and the input gradient dZ_{l-1} = (dZ_l · W_lᵀ) ⊙ act'(A_{l-1}) for rows [0, n), l > 0. */
void mlp_network_layer_input_gradient(mlp_network *network, int l, int n);

/* Collective. θ ← θ − learning_rate · ∇θ over all parameters. */
void mlp_network_sgd_update(mlp_network *network, mlp_model *model, float learning_rate);

/* Collective. The optimizer's update of all parameters from network->gradients at this
 * learning_rate (the schedule's): network_sgd_update itself (the same bits) when optimizer is
 * NULL or plain SGD without weight decay, else the optimizer_update kernel with the state's
 * moments as update t = optimizer->step + 1, each thread its own range (elementwise: the same
 * bits for any team size). Ends with a barrier. Does not advance optimizer->step: the caller
 * does, once per batch, after it. */
void mlp_network_optimizer_update(mlp_network *network, mlp_model *model, mlp_optimizer_state *optimizer,
                              float learning_rate);
/* Collective. One training step on a batch: forward, loss, backward and the update of
 * `optimizer` (NULL: plain SGD) at learning_rate, as update t = optimizer->step + 1; returns
 * the mean cost. Owner computes with the update fused into the weight-gradient GEMM
 * (network_forward_owned, network_loss, network_backward_update), or with fused_update = 0 the
 * unfused functions above (network_forward, network_backward, network_optimizer_update); the
 * same bits either way, dropout included (both apply its masks with the same row passes).
 * Does not advance optimizer->step. Ends with a barrier. */
double mlp_network_step(mlp_network *network, mlp_model *model, mlp_optimizer_state *optimizer,
                        const uint8_t *input, const uint8_t *targets, int n, float learning_rate);

/* Collective. network_forward computed owner by owner: each thread its columns
 * (network_layer_columns) of every layer, the first layer's owners from their own scaled copy of
 * the pixels (input_floats, table->scale_bytes: bitwise what packing the uint8 A computes).
 * With dropout training, each hidden A_l is masked after it by dropout_forward's row pass.
 * Bitwise network_forward. */
void mlp_network_forward_owned(mlp_network *network, const uint8_t *input, int n);

/* Collective, after network_forward_owned and network_loss on the same n rows (the first
 * layer's A is the thread's input_floats slab). Backpropagation and the update fused, owner by
 * owner, last layer first: for each layer l, the input gradient
 * dZ_{l-1}[:, mine] = (dZ_l · W_lᵀ) ⊙ act'(A_{l-1}), a barrier, then the weight gradient
 * A_{l-1}ᵀ · dZ_l[:, mine] applied to W_l[:, mine] in the GEMM's epilogue and Σ_rows dZ_l[:, mine]
 * to b_l[mine]; with dropout training, dZ_{l-1} is masked by dropout_backward's row pass (and a
 * barrier) before layer l-1 reads it. The rule: plain SGD at learning_rate when optimizer is NULL or plain SGD
 * (W -= lr · dW; `gradients` is not written), else the optimizer's (GEMM_UPDATE_OPTIMIZER with
 * its moments as state, step t = optimizer->step + 1; only the bias gradients pass through
 * `gradients`). Bitwise network_backward then network_optimizer_update. Ends with a barrier. */
void mlp_network_backward_update(mlp_network *network, mlp_model *model, int n, float learning_rate,
                                 mlp_optimizer_state *optimizer);

/* Owner computes: the output columns [*begin, *end) of layer l that thread `thread` of a team
 * of `threads` owns in a step of n rows: blocks of MLP_OWNER_COLUMN_GRANULARITY over as many
 * threads as parallel_gemm_workers (at min_flops_per_thread) gives the layer's GEMM, or all of
 * them to the last thread when that is 1 (empty ranges for the others). */
void mlp_network_layer_columns(const mlp_model *model, int l, int n, int thread, int threads,
                               long min_flops_per_thread, int *begin, int *end);

/* The whole training step for one batch, with its own parallel region (of
 * network_useful_threads threads, at most network->threads); returns the mean cost.
 * Convenient for tests and experiments; the trainer's loop uses the collective functions inside
 * one persistent team instead. */
double mlp_network_train_step(mlp_network *network, mlp_model *model, const uint8_t *input,
                          const uint8_t *targets, int n, float learning_rate);

/* Per-thread [begin, end) share of `total` items cut in chunks of `granularity`, for thread
 * `thread` of `threads`. */
void mlp_parallel_range(int total, int granularity, int thread, int threads, int *begin, int *end);

/* The GEMM split policy (the bench measures it): how many of `threads` threads share a GEMM,
 * one per min_flops_per_thread flops (the plan's, or MLP_PARALLEL_MIN_FLOPS_PER_THREAD), at
 * least 1 and at most threads. */
int mlp_parallel_gemm_workers(const mlp_gemm_problem *whole, int threads, long min_flops_per_thread);
/* The team size worth starting for training steps of this model at this batch: the most threads
 * any of its GEMMs would use (at most `threads`). 1 means no GEMM is split, and a team of more
 * threads would only add barriers: small networks then run on one thread, never slower than it
 * (the results are bitwise the same for any team size). */
int mlp_network_useful_threads(const mlp_model *model, int batch, int threads,
                               long min_flops_per_thread);
/* Part `part` of `parts` of a GEMM cut into row or column blocks: *piece gets the block's
 * problem (workspace still whole's). Returns 0 when that part is empty. */
int mlp_parallel_gemm_part(const mlp_gemm_problem *whole, int part, int parts, mlp_gemm_problem *piece);

#ifdef __cplusplus
}
#endif
#endif
