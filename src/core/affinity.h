/* Threads and cores: how many physical cores there are, and pinning each OpenMP thread to its
 * own core with hwloc (one socket's cores before the next; more threads than cores wrap round). */
#ifndef MLP_INTERNAL_AFFINITY_H
#define MLP_INTERNAL_AFFINITY_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum affinity_mode { AFFINITY_NONE = 0, AFFINITY_CORE = 1 } affinity_mode;

/* Physical cores (hwloc); without hwloc, the processors online. At least 1. */
int mlp_affinity_physical_cores(void);

/* Binds the threads of a team of `threads` (thread i to core i mod cores) for the parallel
 * regions that follow (libgomp keeps the same threads for teams of the same size). Prints a
 * warning when threads exceed cores. When report is non-NULL, writes one line per thread:
 * "thread 0 -> core 0 (PU 0)". Returns 0, or -1 when binding is unavailable (then it warns and
 * training goes on unbound). */
int mlp_affinity_bind_team(int threads, affinity_mode mode, FILE *report);

/* A thread's CPU mask, saved by mlp_affinity_thread_spread for mlp_affinity_thread_restore. */
typedef struct affinity_saved_mask {
    unsigned long bits[16]; /* a cpu_set_t (1024 CPUs) */
    int valid;
} affinity_saved_mask;

/* Binds the calling thread, team member `thread`, to the core the team binding would give it
 * (one core per thread within the process's initial affinity mask; without hwloc, the
 * thread-th CPU of that mask), saving its own mask in *saved: a measurement that needs its
 * threads on different cores (the plan's handoff) while a one-thread run is bound to one core.
 * Merely widening the masks left both threads spinning on the one core for milliseconds: the
 * scheduler moves a thread that never sleeps only at its next load balance. */
void mlp_affinity_thread_spread(int thread, affinity_saved_mask *saved);
/* Puts back the mask mlp_affinity_thread_spread saved (nothing when it saved none). */
void mlp_affinity_thread_restore(const affinity_saved_mask *saved);

/* ---- how many threads the plan runs: at most one per available core ----
 *
 * Available cores = the smallest of: the physical cores (hwloc; without it the processors
 * online), the cores holding a CPU of this process's affinity mask (sched_getaffinity, read
 * once, before any binding), and the cgroup CPU quota rounded up (v2 cpu.max, or v1
 * cpu.cfs_quota_us / cpu.cfs_period_us, the tightest along the cgroup's ancestors). */
typedef struct affinity_limits {
    int cores;          /* available cores, at least 1                                     */
    int physical_cores; /* hwloc cores, or processors online                               */
    int mask_cores;     /* cores (CPUs without hwloc) in the affinity mask; 0: unknown     */
    double quota_cpus;  /* cgroup CPU quota in CPUs (1.5 = 150 ms per 100 ms); 0: no quota */
    const char *limit;  /* what sets `cores`: "physical cores", "affinity mask", "cgroup CPU quota" */
} affinity_limits;

/* The limits of this process (computed on the first call, then cached). */
const affinity_limits *mlp_affinity_available(void);
/* mlp_affinity_available()->cores. */
int mlp_affinity_available_cores(void);

/* cgroup v2 cpu.max text ("max 100000", "150000 100000"): the quota in CPUs, 0 for no limit,
 * -1 when the text is not a cpu.max line. */
double mlp_affinity_parse_cpu_max(const char *text);
/* cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us texts ("-1" = no limit): as above. */
double mlp_affinity_parse_cfs_quota(const char *quota_text, const char *period_text);
/* The tightest quota (CPUs; 0: none) for the process whose /proc/PID/cgroup text is `self_cgroup`,
 * with the cgroup file systems mounted under `root` ("/sys/fs/cgroup": v2 at root or at
 * root/unified, v1 at root/cpu,cpuacct or root/cpu). Tests pass a fake tree. */
double mlp_affinity_cgroup_quota(const char *root, const char *self_cgroup);

/* The thread plan: `requested` threads, capped at the available cores (divided among
 * `local_ranks` processes sharing this machine's mask) unless `oversubscribe`. */
typedef struct affinity_thread_plan {
    int requested, used, available;
    const char *limit; /* affinity_limits.limit, or "cores shared by N local ranks" */
    int capped;        /* used < requested because of the cap                   */
} affinity_thread_plan;

affinity_thread_plan mlp_affinity_plan_threads(int requested, int oversubscribe, int local_ranks);
/* The last plan made in this process (NULL before the first): summary.json records it. */
const affinity_thread_plan *mlp_affinity_last_plan(void);

/* The data cache sizes in bytes (hwloc: the first L1d, L2 and L3 objects; without hwloc, what
 * sysconf reports), 0 for a level that is unknown. In VMs the L3 size can be bogus (hundreds of
 * MB): its users clamp it (plan.c). */
void mlp_affinity_cache_sizes(long *l1d_bytes, long *l2_bytes, long *l3_bytes);

/* Prints the topology: packages, cores, processing units, cache sizes. */
void mlp_affinity_print_topology(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
