/* hwloc-based core counting and thread pinning (MLP_HAVE_HWLOC), with a portable fallback. */
#define _GNU_SOURCE
#include "mlp/affinity.h"

#include <omp.h>
#include <unistd.h>

#ifdef MLP_HAVE_HWLOC
#include <hwloc.h>

static hwloc_topology_t topology;
static int topology_loaded;

static hwloc_topology_t get_topology(void) {
    if (!topology_loaded) {
        if (hwloc_topology_init(&topology) == 0 && hwloc_topology_load(topology) == 0)
            topology_loaded = 1;
        else
            topology_loaded = -1;
    }
    return topology_loaded == 1 ? topology : NULL;
}

int affinity_physical_cores(void) {
    hwloc_topology_t t = get_topology();
    int cores = t ? hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) : 0;
    if (cores < 1) cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores;
}

int affinity_bind_team(int threads, affinity_mode mode, FILE *report) {
    hwloc_topology_t t = get_topology();
    int cores = t ? hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) : 0;
    if (mode == AFFINITY_NONE) {
        if (report) fprintf(report, "binding: none (%d threads, placed by the OS)\n", threads);
        return 0;
    }
    if (!t || cores < 1) {
        fprintf(stderr, "trainer: warning: hwloc found no cores; threads left unbound\n");
        return -1;
    }
    if (threads > cores)
        fprintf(stderr, "trainer: warning: %d threads on %d cores; threads share cores\n", threads, cores);
    int failures = 0;
#pragma omp parallel num_threads(threads) reduction(+ : failures)
    {
        int thread = omp_get_thread_num();
        /* Cores in hwloc's logical order: a package's cores are contiguous, so filling
         * 0, 1, 2, ... fills one socket before the next. */
        hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)(thread % cores));
        if (!core || hwloc_set_cpubind(t, core->cpuset, HWLOC_CPUBIND_THREAD) != 0) failures++;
    }
    if (report)
        for (int thread = 0; thread < threads; thread++) {
            hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)(thread % cores));
            int pu = core ? (int)hwloc_bitmap_first(core->cpuset) : -1;
            fprintf(report, "binding: thread %d -> core %d (PU %d)\n", thread, thread % cores, pu);
        }
    if (failures) {
        fprintf(stderr, "trainer: warning: could not bind %d of %d threads\n", failures, threads);
        return -1;
    }
    return 0;
}

static void print_cache(FILE *out, hwloc_topology_t t, hwloc_obj_type_t type, const char *name) {
    int count = hwloc_get_nbobjs_by_type(t, type);
    if (count < 1) return;
    hwloc_obj_t cache = hwloc_get_obj_by_type(t, type, 0);
    fprintf(out, "  %s: %d x %llu KiB\n", name, count,
            (unsigned long long)(cache->attr->cache.size / 1024));
}

void affinity_print_topology(FILE *out) {
    hwloc_topology_t t = get_topology();
    if (!t) {
        fprintf(out, "topology: hwloc could not load it\n");
        return;
    }
    fprintf(out, "topology (hwloc %s):\n", HWLOC_VERSION);
    fprintf(out, "  packages: %d, cores: %d, processing units: %d\n",
            hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE), hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE),
            hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU));
    print_cache(out, t, HWLOC_OBJ_L1CACHE, "L1d");
    print_cache(out, t, HWLOC_OBJ_L2CACHE, "L2");
    print_cache(out, t, HWLOC_OBJ_L3CACHE, "L3 (as reported; VMs may misreport it)");
}

#else /* no hwloc: count processors, bind nothing */

int affinity_physical_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

int affinity_bind_team(int threads, affinity_mode mode, FILE *report) {
    if (mode == AFFINITY_CORE)
        fprintf(stderr, "trainer: warning: built without hwloc; %d threads left unbound\n", threads);
    if (report) fprintf(report, "binding: none (built without hwloc)\n");
    return mode == AFFINITY_CORE ? -1 : 0;
}

void affinity_print_topology(FILE *out) {
    fprintf(out, "topology: built without hwloc; %d processors online\n", affinity_physical_cores());
}
#endif
