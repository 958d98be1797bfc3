/* The process group and transport without MPI: one rank that owns every shard, so the sharded
 * step needs no communication (a single process with --gradient-shards G computes exactly what
 * G shards over several ranks compute). Built when MPI is not. */
#include <stdlib.h>
#include <string.h>

#include "mlp/distributed.h"
#include "distributed/transport.h"

typedef struct single_transport {
    int local_stop;
} single_transport;

int mlp_distributed_compiled(void) { return 0; }

int mlp_distributed_start(mlp_error *error) {
    (void)error;
    return 0;
}

void mlp_distributed_stop(void) {}
int mlp_distributed_rank(void) { return 0; }
int mlp_distributed_ranks(void) { return 1; }
int mlp_distributed_local_ranks(void) { return 1; }
int mlp_distributed_any(int flag) { return flag != 0; }
void mlp_distributed_abort(int exit_code) { exit(exit_code); }

int mlp_transport_create(mlp_gradient_sharding *s, mlp_error *error) {
    s->transport = calloc(1, sizeof(single_transport));
    if (!s->transport) return mlp_error_set(error, "out of memory");
    return 0;
}

void mlp_transport_free(mlp_gradient_sharding *s) {
    free(s->transport);
    s->transport = NULL;
}

void mlp_transport_layer_start(mlp_gradient_sharding *s, int l) {
    (void)s;
    (void)l;
}

void mlp_transport_rows_start(mlp_gradient_sharding *s, const float *local_costs, int batch_rows,
                          int local_stop) {
    memcpy(s->row_costs, local_costs, (size_t)batch_rows * sizeof *s->row_costs);
    ((single_transport *)s->transport)->local_stop = local_stop;
}

void mlp_transport_progress(mlp_gradient_sharding *s) { (void)s; }
void mlp_transport_layer_wait(mlp_gradient_sharding *s, int l) {
    (void)s;
    (void)l;
}
int mlp_transport_rows_wait(mlp_gradient_sharding *s) {
    return ((single_transport *)s->transport)->local_stop;
}
