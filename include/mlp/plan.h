/* A measured plan: how training uses this machine, from facts measured on it rather than from
 * constants tuned on another CPU (issue 12).
 *
 * Facts: the data cache sizes (hwloc), the per-core FMA peak of the chosen kernel variant (its
 * table's fma_peak loop) and the cost of one handoff in the real OpenMP team (the step's
 * barrier, src/core/team_barrier.h, then a 16 KiB block written by one thread read by another:
 * what a layer split over threads adds), measured in a few milliseconds at start (mlp_plan_measure; trainer info prints how long it took).
 * Decisions derived from them:
 *   - the GEMM blocking KC/MC/NC (mlp_plan_derive_blocking, BLIS's rule fitted to this driver:
 *     one KC × NR panel of B in a quarter of L2, the MC × KC block of A in half of L2, the
 *     KC × NC block of B in half of L3), clamped to the variant's constants, which size the GEMM
 *     workspace;
 *   - the split threshold: a layer's GEMM is split over threads only when each thread gets at
 *     least min_flops_per_thread flops (mlp_plan_derive_split_flops: a handoff's worth of work
 *     at the measured peak). It decides the team size (mlp_network_useful_threads) and which
 *     layers are split (by output columns in the owner-computes step, mlp_network_layer_columns);
 *     mlp_plan_print lists them per layer.
 * A plan never changes results: the kernels are partition independent and any blocking gives the
 * same FMA chain per element (kernels/gemm_driver.h), so the model bytes are the same for every
 * plan (tests/test_plan.c trains with several and compares the models).
 *
 * A plan file (`--plan FILE` or MLP_PLAN=FILE, key=value text, mlp_plan_write) caches one like
 * FFTW's wisdom: mlp_plan_resolve reads it when it exists (its values are used as they are:
 * edit it to pin a blocking or a threshold) and measures and writes it when it does not. A file
 * made on another CPU model or for another variant is not used: one warning line, a fresh
 * measurement, the file left as it is. Without a file nothing is written. */
#ifndef MLP_PLAN_H
#define MLP_PLAN_H

#include <stdio.h>

#include "mlp/common.h"
#include "mlp/kernels.h"
#include "mlp/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mlp_machine_facts {
    char cpu_model[64];     /* the CPU brand string (mlp_cpu_features.model)              */
    long l1d_bytes, l2_bytes, l3_bytes; /* the first cache of each level; 0: unknown      */
    double fma_peak_gflops; /* one core, the variant's fma_peak loop; 0: not measured     */
    /* one handoff in a team of barrier_threads (plan_measure.c): the step's barrier with a
     * 16 KiB block crossing cores; 0: not measured */
    double barrier_us;
    int barrier_threads;
} mlp_machine_facts;

typedef enum mlp_plan_source {
    MLP_PLAN_DEFAULTS = 0, /* the compiled-in constants (mlp_plan_defaults)                  */
    MLP_PLAN_MEASURED,     /* measured at start, not saved                                   */
    MLP_PLAN_WRITTEN,      /* measured at start and written to `file`                        */
    MLP_PLAN_READ,         /* read from `file`                                               */
} mlp_plan_source;

typedef struct mlp_plan {
    char variant[16];         /* the kernel variant it is for                                  */
    mlp_machine_facts machine;
    mlp_gemm_blocking blocking;  /* KC, MC, NC the GEMMs run with ({0,0,0}: the constants)   */
    long min_flops_per_thread;   /* a GEMM is split only when each thread gets this many flops */
    mlp_plan_source source;
    char file[512];           /* the plan file, or ""                                         */
    double measure_seconds;   /* how long measuring took (0 when read or defaults)            */
} mlp_plan;

/* ---- pure decisions (the tests call them with given facts) ---- */

/* The blocking for a micro-kernel tile of mr rows (the row blocks' granularity: 2·MR where the
 * tall tiles exist) by nr columns, from the cache sizes, each field clamped to `limit` (the
 * variant's constants; a field of limit also stands in where its cache size is unknown):
 *   KC: the KC × NR B panel, reused by every row tile of a block, in a quarter of L2 (not in
 *       L1d as BLIS puts it: measured slower with this driver, see plan.c), a multiple of 8;
 *   MC: the MC × KC A block, reused by every column panel, in half of L2, a multiple of mr;
 *   NC: the KC × NC B block in half of L3 (L3 above 256 MiB is taken as unknown: VMs misreport
 *       it), a multiple of nr. */
mlp_gemm_blocking mlp_plan_derive_blocking(long l2_bytes, long l3_bytes, int mr, int nr,
                                           mlp_gemm_blocking limit);

/* The split threshold from the peak and the handoff: a split GEMM saves time only when each
 * thread's share outlasts the handoff it causes (the barrier after it and its operands crossing
 * cores), so a share must be at least MLP_PLAN_SPLIT_HANDOFFS handoffs' worth of flops at the
 * peak, clamped to [MLP_PLAN_SPLIT_MIN_FLOPS, MLP_PLAN_SPLIT_MAX_FLOPS];
 * MLP_PARALLEL_MIN_FLOPS_PER_THREAD when either fact is unknown (0). On Zen 5 (a handoff of
 * about 4 us, 230 GFLOP/s) that is about 0.9 Mflop: 784,128,64,10 at batch 64 splits its first
 * layer only (splitting the second too, 0.5 Mflop a share, was 4% slower: docs/threads.md). */
#define MLP_PLAN_SPLIT_HANDOFFS 1.0
#define MLP_PLAN_SPLIT_MIN_FLOPS (1L << 17)
#define MLP_PLAN_SPLIT_MAX_FLOPS (1L << 21)
long mlp_plan_derive_split_flops(double fma_peak_gflops, double barrier_us);

/* ---- making, saving and showing a plan ---- */

/* The compiled-in plan for a variant: its GEMM constants, MLP_PARALLEL_MIN_FLOPS_PER_THREAD. */
void mlp_plan_defaults(mlp_plan *plan, const mlp_kernel_table *kernels);

/* Measures the facts (caches, the variant's FMA peak, a barrier of a team of `threads`, or of 2
 * when threads is 1 and two cores are available) and derives the decisions. A few milliseconds;
 * sets measure_seconds. Call it outside any parallel region, after the team is bound. */
void mlp_plan_measure(mlp_plan *plan, const mlp_kernel_table *kernels, int threads);

/* The plan file: key=value lines, '#' comments (mlp_plan_write's format). Read: every key
 * present once, numbers in range, no unknown key; else -1 with a one-line error naming the file
 * and the problem (and the line). Write: atomically (temporary file, fsync, rename). */
int mlp_plan_read(const char *path, mlp_plan *plan, mlp_error *error);
int mlp_plan_write(const char *path, const mlp_plan *plan, mlp_error *error);

/* The plan a run uses: path (NULL or "": MLP_PLAN from the environment; neither: measure, write
 * nothing). An existing file is read and used as it is, unless it was made for another CPU model
 * or variant (one warning line on stderr, then measured, the file left unchanged); a missing one
 * is measured and written. -1 with a one-line error for a file that cannot be read or parsed or
 * written. */
int mlp_plan_resolve(const char *path, const mlp_kernel_table *kernels, int threads, mlp_plan *plan,
                     mlp_error *error);

/* Points a network's GEMMs and splits at the plan (NULL: the defaults). */
struct mlp_network;
void mlp_plan_apply(const mlp_plan *plan, struct mlp_network *network);

/* Human-readable: the facts, the decisions and, for a model (may be NULL) at this batch and team
 * size, how each layer is split. */
void mlp_plan_print(FILE *out, const mlp_plan *plan, const mlp_model *model, int batch, int threads);
/* The same as a JSON object (summary.json's "plan"), without a trailing newline. */
void mlp_plan_write_json(FILE *out, const mlp_plan *plan, const mlp_model *model, int batch,
                         int threads);

#ifdef __cplusplus
}
#endif
#endif
