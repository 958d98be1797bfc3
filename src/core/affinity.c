/* hwloc-based core counting and thread pinning (MLP_HAVE_HWLOC), with a portable fallback. */
#define _GNU_SOURCE
#include "core/affinity.h"

#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* This process's affinity mask as it was before any binding (binding narrows the calling
 * thread's mask to one core, so it is read once, on first use). Returns 0 when unknown. */
static int initial_mask(cpu_set_t *mask) {
    static cpu_set_t saved;
    static int state; /* 0 unread, 1 read, -1 unavailable */
    if (state == 0) state = sched_getaffinity(0, sizeof saved, &saved) == 0 ? 1 : -1;
    if (state != 1) return 0;
    *mask = saved;
    return 1;
}

_Static_assert(sizeof(cpu_set_t) == sizeof(((affinity_saved_mask *)0)->bits), "cpu_set_t size");

/* The calling thread's mask into *saved. */
static void save_thread_mask(affinity_saved_mask *saved) {
    cpu_set_t current;
    saved->valid = sched_getaffinity(0, sizeof current, &current) == 0;
    if (saved->valid) memcpy(saved->bits, &current, sizeof current);
}

/* The index-th CPU of the initial mask (wrapping round), as a one-CPU mask; 0 when unknown. */
static int initial_mask_cpu(int index, cpu_set_t *one) {
    cpu_set_t initial;
    if (!initial_mask(&initial) || CPU_COUNT(&initial) < 1) return 0;
    int wanted = index % CPU_COUNT(&initial);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &initial) && wanted-- == 0) {
            CPU_ZERO(one);
            CPU_SET(cpu, one);
            return 1;
        }
    return 0;
}

void mlp_affinity_thread_restore(const affinity_saved_mask *saved) {
    if (!saved->valid) return;
    cpu_set_t mask;
    memcpy(&mask, saved->bits, sizeof mask);
    sched_setaffinity(0, sizeof mask, &mask);
}

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

int mlp_affinity_physical_cores(void) {
    hwloc_topology_t t = get_topology();
    int cores = t ? hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) : 0;
    if (cores < 1) cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores;
}

/* Whether a PU of the core is in the initial affinity mask (1 when the mask is unknown). */
static int core_in_mask(hwloc_obj_t core) {
    cpu_set_t mask;
    if (!initial_mask(&mask)) return 1;
    unsigned pu;
    int found = 0;
    hwloc_bitmap_foreach_begin(pu, core->cpuset) {
        if (pu < CPU_SETSIZE && CPU_ISSET(pu, &mask)) found = 1;
    }
    hwloc_bitmap_foreach_end();
    return found;
}

static int count_mask_cores(void) {
    hwloc_topology_t t = get_topology();
    int cores = t ? hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) : 0, in_mask = 0;
    for (int i = 0; i < cores; i++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)i);
        if (core && core_in_mask(core)) in_mask++;
    }
    return in_mask;
}

/* The i-th core of the affinity mask (all cores when none is in it), wrapping round. */
static hwloc_obj_t team_core(hwloc_topology_t t, int cores, int i, int *index) {
    int in_mask = count_mask_cores();
    if (in_mask < 1) {
        *index = i % cores;
        return hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)*index);
    }
    int wanted = i % in_mask;
    for (int c = 0; c < cores; c++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)c);
        if (core && core_in_mask(core) && wanted-- == 0) {
            *index = c;
            return core;
        }
    }
    *index = -1;
    return NULL;
}

void mlp_affinity_thread_spread(int thread, affinity_saved_mask *saved) {
    save_thread_mask(saved);
    hwloc_topology_t t = get_topology();
    int cores = t ? hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) : 0, index;
    hwloc_obj_t core = cores > 0 ? team_core(t, cores, thread, &index) : NULL;
    if (core && hwloc_set_cpubind(t, core->cpuset, HWLOC_CPUBIND_THREAD) == 0) return;
    cpu_set_t one; /* no hwloc topology: the thread-th CPU of the mask */
    if (initial_mask_cpu(thread, &one)) sched_setaffinity(0, sizeof one, &one);
}

int mlp_affinity_bind_team(int threads, affinity_mode mode, FILE *report) {
    hwloc_topology_t t = get_topology();
    int cores = t ? hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) : 0;
    int usable = cores > 0 ? count_mask_cores() : 0;
    if (usable < 1) usable = cores;
    if (mode == AFFINITY_NONE) {
        if (report) fprintf(report, "binding: none (%d threads, placed by the OS)\n", threads);
        return 0;
    }
    if (!t || cores < 1) {
        fprintf(stderr, "trainer: warning: hwloc found no cores; threads left unbound\n");
        return -1;
    }
    if (threads > usable)
        fprintf(stderr, "trainer: warning: %d threads on %d cores; threads share cores\n", threads, usable);
    int failures = 0;
#pragma omp parallel num_threads(threads) reduction(+ : failures)
    {
        int thread = omp_get_thread_num(), index;
        /* Cores of the affinity mask in hwloc's logical order: a package's cores are
         * contiguous, so filling 0, 1, 2, ... fills one socket before the next. */
        hwloc_obj_t core = team_core(t, cores, thread, &index);
        if (!core || hwloc_set_cpubind(t, core->cpuset, HWLOC_CPUBIND_THREAD) != 0) failures++;
    }
    if (report)
        for (int thread = 0; thread < threads; thread++) {
            int index;
            hwloc_obj_t core = team_core(t, cores, thread, &index);
            int pu = core ? (int)hwloc_bitmap_first(core->cpuset) : -1;
            fprintf(report, "binding: thread %d -> core %d (PU %d)\n", thread, index, pu);
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

/* The size of the first cache of `type` (all of them alike on these machines), 0 when none. */
static long first_cache_bytes(hwloc_topology_t t, hwloc_obj_type_t type) {
    hwloc_obj_t cache = hwloc_get_nbobjs_by_type(t, type) > 0 ? hwloc_get_obj_by_type(t, type, 0) : NULL;
    return cache ? (long)cache->attr->cache.size : 0;
}

void mlp_affinity_cache_sizes(long *l1d_bytes, long *l2_bytes, long *l3_bytes) {
    hwloc_topology_t t = get_topology();
    *l1d_bytes = t ? first_cache_bytes(t, HWLOC_OBJ_L1CACHE) : 0;
    *l2_bytes = t ? first_cache_bytes(t, HWLOC_OBJ_L2CACHE) : 0;
    *l3_bytes = t ? first_cache_bytes(t, HWLOC_OBJ_L3CACHE) : 0;
}

void mlp_affinity_print_topology(FILE *out) {
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

int mlp_affinity_physical_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

static int count_mask_cores(void) {
    cpu_set_t mask;
    return initial_mask(&mask) ? CPU_COUNT(&mask) : 0;
}

void mlp_affinity_thread_spread(int thread, affinity_saved_mask *saved) {
    save_thread_mask(saved);
    cpu_set_t one;
    if (initial_mask_cpu(thread, &one)) sched_setaffinity(0, sizeof one, &one);
}

int mlp_affinity_bind_team(int threads, affinity_mode mode, FILE *report) {
    if (mode == AFFINITY_CORE)
        fprintf(stderr, "trainer: warning: built without hwloc; %d threads left unbound\n", threads);
    if (report) fprintf(report, "binding: none (built without hwloc)\n");
    return mode == AFFINITY_CORE ? -1 : 0;
}

void mlp_affinity_cache_sizes(long *l1d_bytes, long *l2_bytes, long *l3_bytes) {
#if defined(_SC_LEVEL1_DCACHE_SIZE) /* glibc reads them from the CPU (0 or -1 when unknown) */
    *l1d_bytes = sysconf(_SC_LEVEL1_DCACHE_SIZE) > 0 ? sysconf(_SC_LEVEL1_DCACHE_SIZE) : 0;
    *l2_bytes = sysconf(_SC_LEVEL2_CACHE_SIZE) > 0 ? sysconf(_SC_LEVEL2_CACHE_SIZE) : 0;
    *l3_bytes = sysconf(_SC_LEVEL3_CACHE_SIZE) > 0 ? sysconf(_SC_LEVEL3_CACHE_SIZE) : 0;
#else
    *l1d_bytes = *l2_bytes = *l3_bytes = 0;
#endif
}

void mlp_affinity_print_topology(FILE *out) {
    fprintf(out, "topology: built without hwloc; %d processors online\n", mlp_affinity_physical_cores());
}
#endif

/* ---- available cores and the thread plan (with or without hwloc) ---- */

double mlp_affinity_parse_cpu_max(const char *text) {
    char quota[32];
    double period;
    if (!text || sscanf(text, " %31s %lf", quota, &period) != 2 || !(period > 0)) {
        /* "max" alone (period omitted) is valid too */
        if (text && sscanf(text, " %31s", quota) == 1 && strcmp(quota, "max") == 0) return 0;
        return -1;
    }
    if (strcmp(quota, "max") == 0) return 0;
    char *end;
    double value = strtod(quota, &end);
    if (*end != '\0' || !(value > 0)) return -1;
    return value / period;
}

double mlp_affinity_parse_cfs_quota(const char *quota_text, const char *period_text) {
    double quota, period;
    if (!quota_text || !period_text || sscanf(quota_text, " %lf", &quota) != 1 ||
        sscanf(period_text, " %lf", &period) != 1 || !(period > 0))
        return -1;
    if (quota < 0) return 0; /* -1: no limit */
    if (quota == 0) return -1;
    return quota / period;
}

static int read_small_file(const char *path, char *text, size_t size) {
    FILE *file = fopen(path, "r");
    if (!file) return 0;
    size_t n = fread(text, 1, size - 1, file);
    fclose(file);
    text[n] = '\0';
    return 1;
}

/* The tightest quota over the cgroup `path` (relative to `base`) and its ancestors: v2 when
 * v1 is 0, else v1. Returns 0 for none. */
static double walk_quota(const char *base, const char *path, int v1) {
    char dir[4096], file[4200], text[256], period[256];
    snprintf(dir, sizeof dir, "%s", path);
    double tightest = 0;
    for (;;) {
        double quota = -1;
        if (v1) {
            snprintf(file, sizeof file, "%s%s/cpu.cfs_quota_us", base, dir);
            if (read_small_file(file, text, sizeof text)) {
                snprintf(file, sizeof file, "%s%s/cpu.cfs_period_us", base, dir);
                if (read_small_file(file, period, sizeof period))
                    quota = mlp_affinity_parse_cfs_quota(text, period);
            }
        } else {
            snprintf(file, sizeof file, "%s%s/cpu.max", base, dir);
            if (read_small_file(file, text, sizeof text)) quota = mlp_affinity_parse_cpu_max(text);
        }
        if (quota > 0 && (tightest == 0 || quota < tightest)) tightest = quota;
        char *slash = strrchr(dir, '/');
        if (!slash || dir[0] == '\0') break;
        if (slash == dir && dir[1] == '\0') break; /* "/" done */
        if (slash == dir) slash[1] = '\0';         /* "/a" -> "/" */
        else *slash = '\0';
    }
    return tightest;
}

static double tighter(double a, double b) {
    if (a <= 0) return b;
    if (b <= 0) return a;
    return a < b ? a : b;
}

double mlp_affinity_cgroup_quota(const char *root, const char *self_cgroup) {
    double tightest = 0;
    const char *line = self_cgroup;
    char base[4096];
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t length = end ? (size_t)(end - line) : strlen(line);
        char entry[4096];
        if (length < sizeof entry) {
            memcpy(entry, line, length);
            entry[length] = '\0';
            char *first = strchr(entry, ':'), *second = first ? strchr(first + 1, ':') : NULL;
            if (second) {
                *first = '\0';
                *second = '\0';
                const char *controllers = first + 1, *path = second + 1;
                if (strcmp(entry, "0") == 0 && controllers[0] == '\0') { /* v2: "0::/path" */
                    snprintf(base, sizeof base, "%s", root);
                    tightest = tighter(tightest, walk_quota(base, path, 0));
                    snprintf(base, sizeof base, "%s/unified", root);
                    tightest = tighter(tightest, walk_quota(base, path, 0));
                } else { /* v1: "N:cpu,cpuacct:/path" */
                    char list[256];
                    snprintf(list, sizeof list, ",%s,", controllers);
                    if (strstr(list, ",cpu,")) {
                        static const char *const mounts[] = {"cpu,cpuacct", "cpuacct,cpu", "cpu"};
                        for (size_t m = 0; m < sizeof mounts / sizeof mounts[0]; m++) {
                            snprintf(base, sizeof base, "%s/%s", root, mounts[m]);
                            tightest = tighter(tightest, walk_quota(base, path, 1));
                        }
                    }
                }
            }
        }
        line = end ? end + 1 : NULL;
    }
    return tightest;
}

const affinity_limits *mlp_affinity_available(void) {
    static affinity_limits limits;
    static int done;
    if (done) return &limits;
    done = 1;
    limits.physical_cores = mlp_affinity_physical_cores();
    limits.mask_cores = count_mask_cores();
    char self[8192];
    limits.quota_cpus =
        read_small_file("/proc/self/cgroup", self, sizeof self) ? mlp_affinity_cgroup_quota("/sys/fs/cgroup", self) : 0;
    limits.cores = limits.physical_cores;
    limits.limit = "physical cores";
    if (limits.mask_cores > 0 && limits.mask_cores < limits.cores) {
        limits.cores = limits.mask_cores;
        limits.limit = "affinity mask";
    }
    if (limits.quota_cpus > 0 && (int)ceil(limits.quota_cpus - 1e-9) < limits.cores) {
        limits.cores = (int)ceil(limits.quota_cpus - 1e-9);
        limits.limit = "cgroup CPU quota";
    }
    if (limits.cores < 1) limits.cores = 1;
    return &limits;
}

int mlp_affinity_available_cores(void) { return mlp_affinity_available()->cores; }

static affinity_thread_plan last_plan;
static int have_last_plan;

affinity_thread_plan mlp_affinity_plan_threads(int requested, int oversubscribe, int local_ranks) {
    static char shared[96];
    const affinity_limits *l = mlp_affinity_available();
    affinity_thread_plan plan = {.requested = requested, .used = requested, .available = l->cores,
                                 .limit = l->limit};
    /* Ranks that share this machine's cores (the launcher did not give each its own cores)
     * split them, as the trainer's default thread count does. */
    if (local_ranks > 1 && (l->mask_cores == 0 || l->mask_cores >= l->physical_cores)) {
        plan.available = l->cores / local_ranks > 0 ? l->cores / local_ranks : 1;
        snprintf(shared, sizeof shared, "%s, shared by %d local ranks", l->limit, local_ranks);
        plan.limit = shared;
    }
    if (!oversubscribe && requested > plan.available) {
        plan.used = plan.available;
        plan.capped = 1;
    }
    last_plan = plan;
    have_last_plan = 1;
    return plan;
}

const affinity_thread_plan *mlp_affinity_last_plan(void) { return have_last_plan ? &last_plan : NULL; }
