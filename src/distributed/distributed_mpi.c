/* The process group and transport over MPI. Only the OpenMP master thread calls MPI
 * (MPI_THREAD_FUNNELED). Errors are fatal (MPI_ERRORS_ARE_FATAL): when a rank dies, the MPI
 * runtime ends the others instead of leaving them waiting in a collective. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp/distributed.h"
#include "distributed/transport.h"

static int joined; /* distributed_start called MPI_Init_thread */
static int world_rank, world_size = 1, local_size = 1;

int mlp_distributed_compiled(void) { return 1; }

/* mpirun (Open MPI), and PMI/PMIx launchers such as srun or MPICH's hydra, set these. */
static int launched_by_mpi(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int mlp_distributed_start(mlp_error *error) {
    if (joined || !launched_by_mpi()) return 0;
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return mlp_error_set(error, "MPI: initialisation failed");
    joined = 1;
    if (provided < MPI_THREAD_FUNNELED) {
        mlp_error_set(error, "MPI: the library does not support threads (MPI_THREAD_FUNNELED)");
        MPI_Finalize();
        joined = 0;
        return -1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local_size);
    MPI_Comm_free(&node);
    return 0;
}

void mlp_distributed_stop(void) {
    if (joined) MPI_Finalize();
    joined = 0;
    world_rank = 0;
    world_size = local_size = 1;
}

int mlp_distributed_rank(void) { return world_rank; }
int mlp_distributed_ranks(void) { return world_size; }
int mlp_distributed_local_ranks(void) { return local_size; }

int mlp_distributed_any(int flag) {
    int local = flag != 0, any = local;
    if (joined) MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any;
}

void mlp_distributed_abort(int exit_code) {
    if (joined) MPI_Abort(MPI_COMM_WORLD, exit_code);
    exit(exit_code);
}

/* Requests: one per layer, then the row costs and the stop vote. Counts and displacements must
 * stay valid until their gather completes, so each layer has its own. */
typedef struct mpi_transport {
    MPI_Comm comm;
    MPI_Request requests[MLP_MAX_LAYERS + 2];
    int *layer_counts; /* [layer][rank] */
    int *layer_displacements;
    int *row_counts, *row_displacements;
    int local_stop, any_stop;
    int layers;
} mpi_transport;

#define ROWS_REQUEST(t) ((t)->requests[(t)->layers])
#define VOTE_REQUEST(t) ((t)->requests[(t)->layers + 1])

/* Every rank gathers every rank's kernel variant name; any difference is an error on all. */
static int check_same_kernel(const mlp_gradient_sharding *s, mlp_error *error) {
    enum { NAME = 16 };
    char mine[NAME] = {0};
    snprintf(mine, sizeof mine, "%s", s->kernel_name ? s->kernel_name : "");
    char *all = calloc((size_t)s->ranks, NAME);
    if (!all) return mlp_error_set(error, "out of memory");
    MPI_Allgather(mine, NAME, MPI_CHAR, all, NAME, MPI_CHAR, MPI_COMM_WORLD);
    int status = 0;
    for (int r = 1; r < s->ranks && status == 0; r++)
        if (strncmp(all, all + (size_t)r * NAME, NAME) != 0)
            status = mlp_error_set(error, "MPI rank %d runs the %.16s kernels but rank 0 runs %.16s: the "
                               "ranks' updates would round differently; pass the same --kernel to all",
                               r, all + (size_t)r * NAME, all);
    free(all);
    return status;
}

int mlp_transport_create(mlp_gradient_sharding *s, mlp_error *error) {
    mpi_transport *t = calloc(1, sizeof *t);
    int layers = 0;
    while (layers < MLP_MAX_LAYERS && s->layer_floats[layers] > 0) layers++;
    size_t cells = (size_t)layers * s->ranks;
    if (t) {
        t->layers = layers;
        t->layer_counts = malloc(cells * sizeof(int));
        t->layer_displacements = malloc(cells * sizeof(int));
        t->row_counts = malloc((size_t)s->ranks * sizeof(int));
        t->row_displacements = malloc((size_t)s->ranks * sizeof(int));
    }
    if (!t || !t->layer_counts || !t->layer_displacements || !t->row_counts || !t->row_displacements) {
        if (t) {
            free(t->layer_counts);
            free(t->layer_displacements);
            free(t->row_counts);
            free(t->row_displacements);
        }
        free(t);
        return mlp_error_set(error, "out of memory");
    }
    for (int i = 0; i < MLP_MAX_LAYERS + 2; i++) t->requests[i] = MPI_REQUEST_NULL;
    /* Rank r's blocks of layer l: shards [first_shard[r], first_shard[r+1]). */
    for (int l = 0; l < layers; l++)
        for (int r = 0; r < s->ranks; r++) {
            t->layer_counts[l * s->ranks + r] = (s->first_shard[r + 1] - s->first_shard[r]) * s->layer_floats[l];
            t->layer_displacements[l * s->ranks + r] = s->first_shard[r] * s->layer_floats[l];
        }
    t->comm = MPI_COMM_NULL;
    if (joined) MPI_Comm_dup(MPI_COMM_WORLD, &t->comm); /* the step's traffic kept apart */
    s->transport = t;
    return joined ? check_same_kernel(s, error) : 0;
}

void mlp_transport_free(mlp_gradient_sharding *s) {
    mpi_transport *t = s->transport;
    if (t->comm != MPI_COMM_NULL) {
        MPI_Waitall(t->layers + 2, t->requests, MPI_STATUSES_IGNORE);
        MPI_Comm_free(&t->comm);
    }
    free(t->layer_counts);
    free(t->layer_displacements);
    free(t->row_counts);
    free(t->row_displacements);
    free(t);
    s->transport = NULL;
}

void mlp_transport_layer_start(mlp_gradient_sharding *s, int l) {
    mpi_transport *t = s->transport;
    int mine = s->first_shard[s->rank + 1] - s->first_shard[s->rank];
    s->sent_floats += (double)mine * s->layer_floats[l] * (s->ranks - 1);
    s->received_floats += (double)(s->shards - mine) * s->layer_floats[l];
    if (t->comm == MPI_COMM_NULL) return;
    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, s->shard_gradients + s->shard_base[l],
                    t->layer_counts + l * s->ranks, t->layer_displacements + l * s->ranks,
                    MPI_FLOAT, t->comm, &t->requests[l]);
}

void mlp_transport_rows_start(mlp_gradient_sharding *s, const float *local_costs, int batch_rows,
                          int local_stop) {
    mpi_transport *t = s->transport;
    s->sent_floats = s->received_floats = 0.0; /* a new step */
    for (int r = 0; r < s->ranks; r++) {
        t->row_displacements[r] = mlp_sharding_shard_row(s, batch_rows, s->first_shard[r]);
        t->row_counts[r] = mlp_sharding_shard_row(s, batch_rows, s->first_shard[r + 1]) - t->row_displacements[r];
    }
    t->local_stop = local_stop;
    if (t->comm == MPI_COMM_NULL) {
        memcpy(s->row_costs, local_costs, (size_t)batch_rows * sizeof *s->row_costs);
        t->any_stop = local_stop;
        return;
    }
    MPI_Iallgatherv(local_costs, t->row_counts[s->rank], MPI_FLOAT, s->row_costs, t->row_counts,
                    t->row_displacements, MPI_FLOAT, t->comm, &ROWS_REQUEST(t));
    MPI_Iallreduce(&t->local_stop, &t->any_stop, 1, MPI_INT, MPI_MAX, t->comm, &VOTE_REQUEST(t));
}

void mlp_transport_progress(mlp_gradient_sharding *s) {
    mpi_transport *t = s->transport;
    int done;
    if (t->comm != MPI_COMM_NULL) MPI_Testall(t->layers + 2, t->requests, &done, MPI_STATUSES_IGNORE);
}

void mlp_transport_layer_wait(mlp_gradient_sharding *s, int l) {
    mpi_transport *t = s->transport;
    if (t->comm != MPI_COMM_NULL) MPI_Wait(&t->requests[l], MPI_STATUS_IGNORE);
}

int mlp_transport_rows_wait(mlp_gradient_sharding *s) {
    mpi_transport *t = s->transport;
    if (t->comm != MPI_COMM_NULL) {
        MPI_Wait(&ROWS_REQUEST(t), MPI_STATUS_IGNORE);
        MPI_Wait(&VOTE_REQUEST(t), MPI_STATUS_IGNORE);
    }
    return t->any_stop;
}
