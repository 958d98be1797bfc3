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

int distributed_compiled(void) { return 0; }

int distributed_start(mlp_error *error) {
    (void)error;
    return 0;
}

void distributed_stop(void) {}
int distributed_rank(void) { return 0; }
int distributed_ranks(void) { return 1; }
int distributed_local_ranks(void) { return 1; }
int distributed_any(int flag) { return flag != 0; }
void distributed_abort(int exit_code) { exit(exit_code); }

int transport_create(gradient_sharding *s, mlp_error *error) {
    s->transport = calloc(1, sizeof(single_transport));
    if (!s->transport) return error_set(error, "out of memory");
    return 0;
}

void transport_free(gradient_sharding *s) {
    free(s->transport);
    s->transport = NULL;
}

void transport_layer_start(gradient_sharding *s, int l) {
    (void)s;
    (void)l;
}

void transport_rows_start(gradient_sharding *s, const float *local_costs, int batch_rows,
                          int local_stop) {
    memcpy(s->row_costs, local_costs, (size_t)batch_rows * sizeof *s->row_costs);
    ((single_transport *)s->transport)->local_stop = local_stop;
}

void transport_progress(gradient_sharding *s) { (void)s; }
void transport_layer_wait(gradient_sharding *s, int l) {
    (void)s;
    (void)l;
}
int transport_rows_wait(gradient_sharding *s) {
    return ((single_transport *)s->transport)->local_stop;
}
