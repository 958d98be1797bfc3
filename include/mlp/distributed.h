/* Data-parallel training: one global mini-batch cut into a fixed number of gradient shards, the
 * shards spread over the processes of an MPI job (or all computed by one process).
 *
 * Why shards: floating-point addition is not associative, so "the sum of the ranks' gradients"
 * would change with the number of ranks. Instead the gradient of a batch of n rows is DEFINED by
 * a decomposition that does not mention ranks at all:
 *   the rows are cut into G contiguous shards, shard k = rows [n·k/G, n·(k+1)/G);
 *   g_k = the parameter gradient from shard k's rows alone (dW = A[k]ᵀ·dZ[k], db = Σ dZ[k], with
 *         the 1/n of the mean cost already inside dZ);
 *   g   = ((g_0 + g_1) + g_2) + ... + g_{G-1}   (empty shards skipped; the first one copied).
 * Forward, loss and input gradients are per row and the kernels are partition independent, so
 * any row split computes the same g_k. A rank owns a contiguous range of shards, computes their
 * g_k, and every rank gathers all the g_k (one MPI_Iallgatherv per layer, started as soon as the
 * layer's backward step is done, so it overlaps the backward of the layers below) and adds them
 * in shard order itself. The result is bitwise the same for every rank count 1..G and equal to a
 * single process run with the same G. G = 1 is the ordinary single-process step.
 *
 * The process group: without MPI (built without it, or not launched by mpirun) there is one
 * rank; every function below then works on its own, without communication. */
#ifndef MLP_DISTRIBUTED_H
#define MLP_DISTRIBUTED_H

#include "mlp/common.h"
#include "mlp/model.h"
#include "mlp/network.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the process group (src/distributed_mpi.c, or src/distributed_single.c) ---- */

/* Whether this binary was built with MPI. */
int mlp_distributed_compiled(void);
/* Joins the MPI job when the process was started by an MPI launcher (mpirun sets
 * OMPI_COMM_WORLD_SIZE or PMIX_RANK / PMI_RANK); otherwise, and without MPI, does nothing: one
 * rank. Asks for MPI_THREAD_FUNNELED (only the OpenMP master thread calls MPI). */
int mlp_distributed_start(mlp_error *error);
/* Leaves the job (MPI_Finalize) when distributed_start joined one. */
void mlp_distributed_stop(void);
int mlp_distributed_rank(void);  /* 0 without MPI */
int mlp_distributed_ranks(void); /* 1 without MPI */
int mlp_distributed_local_ranks(void); /* ranks on this machine (shared memory), 1 without MPI */
/* Collective over the ranks: whether flag is non-zero on any of them (the flag itself with one
 * rank). */
int mlp_distributed_any(int flag);
/* Ends every rank of the job with this exit code (MPI_Abort), or exits this process. */
void mlp_distributed_abort(int exit_code);

/* ---- sharded gradient step (src/distributed.c) ---- */

/* The shard layout and the buffers of one training run. */
typedef struct mlp_gradient_sharding {
    int shards;       /* G                                                         */
    int rank, ranks;
    int *first_shard; /* ranks + 1 entries: rank r owns shards [first_shard[r], first_shard[r+1]) */
    /* Every shard's parameter gradient, layer by layer: layer l's G blocks of layer_floats[l]
     * floats start at shard_base[l]; block k at shard_base[l] + k·layer_floats[l]. */
    float *shard_gradients;
    size_t shard_base[MLP_MAX_LAYERS];
    int layer_floats[MLP_MAX_LAYERS];
    float *row_costs; /* the cost of every row of the global batch, gathered    */
    const char *kernel_name; /* the variant this rank runs ("avx512", ...)          */
    int overlap;      /* start each layer's gather right after its backward step (1), or all
                         of them after the whole backward pass (0, for measuring) */
    void *transport;  /* MPI requests and counts (src/distributed_mpi.c)        */
    mlp_optimizer_state *optimizer; /* the update after the shards are summed
                                       (network_optimizer_update); NULL: plain SGD */
    /* Statistics of the last step: floats this rank sent and received in the gradient gathers
     * (the row costs not counted), and seconds the master thread spent waiting for them after
     * the backward pass. */
    double sent_floats, received_floats, wait_seconds;
    /* Over all steps so far: totals, and the fastest step and shortest wait (the minimum is what a
     * step costs when no other process takes the cores: robust on a shared machine). */
    long steps;
    double total_received_floats, total_wait_seconds, total_step_seconds;
    double min_wait_seconds, min_step_seconds;
    double min_step_cpu_seconds; /* the master thread's CPU time: not inflated by preemption */
} mlp_gradient_sharding;

/* Sets up G shards over the ranks of the job for this model and batch size. Fails (one-line
 * error) when G < the number of ranks, G > the batch size, the buffers would not fit, or the
 * ranks run different kernel variants (their updates would round differently and the replicas
 * of the model drift apart). */
int mlp_sharding_create(mlp_gradient_sharding *sharding, const mlp_model *model, const char *kernel_name,
                    int shards, int batch_capacity, mlp_error *error);
void mlp_sharding_free(mlp_gradient_sharding *sharding);

/* First row of shard k of a batch of batch_rows rows (k = 0..G; shard k ends where k+1 begins). */
int mlp_sharding_shard_row(const mlp_gradient_sharding *sharding, int batch_rows, int k);
/* The rows of a batch of batch_rows this rank works on: [*first_row, *first_row + *rows). */
void mlp_sharding_local_rows(const mlp_gradient_sharding *sharding, int batch_rows, int *first_row,
                         int *rows);

/* Collective (every thread of the OpenMP team; MPI calls on the master thread only). One step
 * of sharding->optimizer at learning_rate (plain SGD when NULL; network_optimizer_update)
 * on a global batch of batch_rows rows, of which this rank's rows (sharding_local_rows) are in
 * network->input_pixels / input_targets. Returns the mean cost of the whole batch (every rank,
 * every thread: the row costs are gathered and summed in row order, as network_loss does).
 * local_stop: this rank wants to stop after this step; *stop_agreed (written by the master
 * thread, visible after the step's final barrier) is whether any rank does, so all ranks stop
 * after the same batch. */
double mlp_sharding_train_step(mlp_gradient_sharding *sharding, mlp_network *network, mlp_model *model,
                           int batch_rows, float learning_rate, int local_stop, int *stop_agreed);

#ifdef __cplusplus
}
#endif
#endif
