/* Threads and cores: how many physical cores there are, and pinning each OpenMP thread to its
 * own core with hwloc (one socket's cores before the next; more threads than cores wrap round). */
#ifndef MLP_AFFINITY_H
#define MLP_AFFINITY_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum affinity_mode { AFFINITY_NONE = 0, AFFINITY_CORE = 1 } affinity_mode;

/* Physical cores (hwloc); without hwloc, the processors online. At least 1. */
int affinity_physical_cores(void);

/* Binds the threads of a team of `threads` (thread i to core i mod cores) for the parallel
 * regions that follow (libgomp keeps the same threads for teams of the same size). Prints a
 * warning when threads exceed cores. When report is non-NULL, writes one line per thread:
 * "thread 0 -> core 0 (PU 0)". Returns 0, or -1 when binding is unavailable (then it warns and
 * training goes on unbound). */
int affinity_bind_team(int threads, affinity_mode mode, FILE *report);

/* Prints the topology: packages, cores, processing units, cache sizes. */
void affinity_print_topology(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
