/* What the sharded step needs from the message layer: src/distributed/distributed_mpi.c (MPI) or
 * distributed_single.c (one rank). Internal to src/distributed/. */
#ifndef MLP_INTERNAL_TRANSPORT_H
#define MLP_INTERNAL_TRANSPORT_H

#include "mlp/distributed.h"

/* Also checks that every rank runs the same kernel variant. */
int mlp_transport_create(mlp_gradient_sharding *sharding, mlp_error *error);
void mlp_transport_free(mlp_gradient_sharding *sharding);
/* Starts gathering layer l's shard blocks from their owners into every rank's shard_gradients. */
void mlp_transport_layer_start(mlp_gradient_sharding *sharding, int l);
/* Starts gathering the row costs (this rank's rows from local_costs) into row_costs, and the
 * "any rank wants to stop" vote. */
void mlp_transport_rows_start(mlp_gradient_sharding *sharding, const float *local_costs, int batch_rows,
                          int local_stop);
/* Lets started transfers advance without blocking (MPI_Testall). */
void mlp_transport_progress(mlp_gradient_sharding *sharding);
/* Waits for layer l's gather. */
void mlp_transport_layer_wait(mlp_gradient_sharding *sharding, int l);
/* Waits for the row costs and the vote; returns whether any rank wants to stop. */
int mlp_transport_rows_wait(mlp_gradient_sharding *sharding);

#endif
