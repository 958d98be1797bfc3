/* The thread plan's inputs: cgroup CPU quota texts (v2 cpu.max, v1 cfs quota/period), a fake
 * cgroup tree (the tightest quota along the ancestors), and the cap itself. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/affinity.h"
#include "test_util.h"

static int near(double a, double b) { return fabs(a - b) < 1e-9; }

static void write_file(const char *root, const char *relative, const char *text) {
    char path[4096], dir[4096];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    FILE *file = fopen(path, "w");
    CHECK(file != NULL, "cannot write %s", path);
    if (file) {
        fputs(text, file);
        fclose(file);
    }
}

static void test_parsers(void) {
    CHECK(near(mlp_affinity_parse_cpu_max("max 100000\n"), 0), "max: no limit");
    CHECK(near(mlp_affinity_parse_cpu_max("max"), 0), "bare max: no limit");
    CHECK(near(mlp_affinity_parse_cpu_max("150000 100000\n"), 1.5), "1.5 CPUs");
    CHECK(near(mlp_affinity_parse_cpu_max("200000 100000"), 2), "2 CPUs");
    CHECK(near(mlp_affinity_parse_cpu_max("50000 100000"), 0.5), "half a CPU");
    CHECK(mlp_affinity_parse_cpu_max("") < 0, "empty text");
    CHECK(mlp_affinity_parse_cpu_max("abc 100000") < 0, "not a number");
    CHECK(mlp_affinity_parse_cpu_max("100000 0") < 0, "zero period");
    CHECK(mlp_affinity_parse_cpu_max(NULL) < 0, "NULL");
    CHECK(near(mlp_affinity_parse_cfs_quota("-1\n", "100000\n"), 0), "v1 -1: no limit");
    CHECK(near(mlp_affinity_parse_cfs_quota("300000\n", "100000\n"), 3), "v1 3 CPUs");
    CHECK(near(mlp_affinity_parse_cfs_quota("25000", "50000"), 0.5), "v1 half a CPU");
    CHECK(mlp_affinity_parse_cfs_quota("x", "100000") < 0, "v1 garbage");
    CHECK(mlp_affinity_parse_cfs_quota("100000", "0") < 0, "v1 zero period");
}

static void test_tree(void) {
    char root[] = "/tmp/mlp_cgroup_XXXXXX";
    CHECK(mkdtemp(root) != NULL, "mkdtemp");
    /* v2: the job's cgroup has no limit, its parent 2.5 CPUs, the grandparent 4. */
    write_file(root, "v2/cpu.max", "max 100000\n");
    write_file(root, "v2/a/cpu.max", "400000 100000\n");
    write_file(root, "v2/a/b/cpu.max", "250000 100000\n");
    write_file(root, "v2/a/b/job/cpu.max", "max 100000\n");
    char base[4200];
    snprintf(base, sizeof base, "%s/v2", root);
    CHECK(near(mlp_affinity_cgroup_quota(base, "0::/a/b/job\n"), 2.5), "v2 tightest ancestor: %g",
          mlp_affinity_cgroup_quota(base, "0::/a/b/job\n"));
    CHECK(near(mlp_affinity_cgroup_quota(base, "0::/\n"), 0), "v2 root without limit");
    /* A path that is not there (a container's view): its existing ancestors count. */
    CHECK(near(mlp_affinity_cgroup_quota(base, "0::/a/missing/deeper\n"), 4), "v2 missing path");
    /* v1 (hybrid, as on the build machines): cpu,cpuacct mount with a 1.5-CPU quota. */
    write_file(root, "v1/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    write_file(root, "v1/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    write_file(root, "v1/cpu,cpuacct/docker/x/cpu.cfs_quota_us", "150000\n");
    write_file(root, "v1/cpu,cpuacct/docker/x/cpu.cfs_period_us", "100000\n");
    snprintf(base, sizeof base, "%s/v1", root);
    const char *self = "12:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n0::/docker/x\n";
    CHECK(near(mlp_affinity_cgroup_quota(base, self), 1.5), "v1 quota: %g", mlp_affinity_cgroup_quota(base, self));
    CHECK(near(mlp_affinity_cgroup_quota(base, "4:cpu,cpuacct:/\n"), 0), "v1 no limit");
    CHECK(near(mlp_affinity_cgroup_quota(base, "4:cpuset:/docker/x\n"), 0), "v1 other controller");
    CHECK(near(mlp_affinity_cgroup_quota("/nonexistent", self), 0), "no cgroup file system");
    char command[4300];
    snprintf(command, sizeof command, "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
}

static void test_plan(void) {
    const affinity_limits *limits = mlp_affinity_available();
    CHECK(limits->cores >= 1 && limits->cores <= limits->physical_cores, "cores %d of %d physical",
          limits->cores, limits->physical_cores);
    printf("available cores: %d (%s; physical %d, mask %d, quota %g)\n", limits->cores,
           limits->limit, limits->physical_cores, limits->mask_cores, limits->quota_cpus);
    int n = limits->cores;
    affinity_thread_plan plan = mlp_affinity_plan_threads(n + 5, 0, 1);
    CHECK(plan.used == n && plan.capped && plan.requested == n + 5, "capped at %d: used %d", n, plan.used);
    plan = mlp_affinity_plan_threads(n + 5, 1, 1);
    CHECK(plan.used == n + 5 && !plan.capped, "--oversubscribe: used %d", plan.used);
    plan = mlp_affinity_plan_threads(1, 0, 1);
    CHECK(plan.used == 1 && !plan.capped, "one thread stays one");
    plan = mlp_affinity_plan_threads(n, 0, 2 * n);
    CHECK(plan.used >= 1 && plan.used <= n, "local ranks share the cores: used %d", plan.used);
    CHECK(mlp_affinity_last_plan() && mlp_affinity_last_plan()->used == plan.used, "the last plan is kept");
}

int main(void) {
    test_parsers();
    test_tree();
    test_plan();
    return test_exit_code();
}
