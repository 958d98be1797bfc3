/* Whole training steps, per layer configuration, batch, thread count and kernel variant, and the
 * GEMM split measurements behind MLP_PARALLEL_MIN_FLOPS_PER_THREAD.
 *
 *   step/<variant>/<layers>/batch<B>/threads<T>       network_step: forward, loss, backward with
 *       the fused SGD update, owner computes (MLP_UNFUSED_UPDATE=1: the unfused step) of one
 *       batch, by a team that lives for the whole benchmark run: one parallel region, the master
 *       asks Google Benchmark for the next iteration and a barrier passes the answer on. This is
 *       how the trainer runs (one team per epoch). The team has mlp_network_useful_threads(T)
 *       threads: T unless the step's GEMMs are too small to split (the label says "team N").
 *   step_fork/<variant>/<layers>/batch<B>/threads<T>  the same step through network_train_step,
 *       which opens a parallel region per step: the difference is the fork/join cost.
 *   step_bf16/<variant>/<layers>/batch256/threads1    the step with --precision bf16 (every GEMM
 *       through table->gemm_bf16), for the variants with a BF16 GEMM of their own instructions
 *       (not the scalar reference), on BF16_CONFIGURATIONS: compare with the step/ row of the
 *       same variant (or of avx512) measured in the same run. FLOP/s counts the same flops;
 *       peak_fraction is relative to the variant's own peak loop (avx512_bf16: VDPBF16PS).
 *   step_adam/<variant>/<layers>/batch<B>/threads<T>  the persistent-team step with Adam (lr
 *       0.001, its moments in an optimizer state, the step count advancing) instead of plain SGD:
 *       the update fused into the weight-gradient GEMMs (MLP_UNFUSED_UPDATE=1: the unfused
 *       optimizer_update pass after the backward pass). 784,128,64,10 and 784,600,400,10 only.
 *   split/<variant>/<form>/<m>x<n>x<k>/parts<P>       one GEMM cut into P parts as the network
 *       cuts it (parallel_gemm_part), then a barrier, by a persistent team of all cores: the
 *       decision parallel_gemm_workers makes inside a team, split or not. Where P = 2 beats
 *       P = 1 sets MLP_PARALLEL_MIN_FLOPS_PER_THREAD (docs/threads.md).
 *
 * The inputs are random bytes and random labels from a fixed seed (no data files needed), cycled
 * through a pool of batches; He-initialised weights; learning rate 0.01.
 *
 * Counters (all real time, the wall clock: the team's threads are not the calling thread):
 *   samples/s      examples trained per second
 *   FLOP/s         the step's GEMM flops per second: 6·batch·Σ in·out, less 2·batch·in₀·out₀
 *                  (forward 2, weight gradient 2, input gradient 2 per multiply-add; the first
 *                  layer has no input gradient). Bias, activations, softmax and update not counted.
 *   peak_fraction  FLOP/s / (T × the per-core FMA peak of the variant's ISA, measured at startup)
 * Each step run fails (bench_fail) when the cost comes out non-finite. */
#include "bench_training_step.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_shim.h"
#include "fma_peak.h"
#include "core/affinity.h"
#include "mlp/common.h"
#include "mlp/model.h"
#include "mlp/network.h"
#include "mlp/rng.h"

/* Seconds per benchmark when the command line does not give --benchmark_min_time. */
#define TRAINING_STEP_DEFAULT_MIN_TIME 0.05
/* Distinct random batches cycled through by a step benchmark. */
#define POOL_BATCHES 8
#define STEP_LEARNING_RATE 0.01f
#define STEP_ADAM_LEARNING_RATE 0.001f

/* The layer configurations of the study and issue 4. */
static const char *const configurations[] = {
    "784,128,64,10", "784,16,32,10",    "784,32,16,10",
    "784,6,4,10",    "784,600,400,10", "784,1024,1024,1024,10",
};
static const int batches[] = {64, 256};
enum { CONFIGURATION_COUNT = sizeof configurations / sizeof configurations[0], BATCH_COUNT = 2 };
/* The BF16 steps (issue 15's targets): the default network and the two wide ones. */
static const char *const bf16_configurations[] = {"784,128,64,10", "784,600,400,10", "784,1024,1024,1024,10"};
enum { BF16_CONFIGURATION_COUNT = 3, BF16_BATCH = 256 };

typedef enum step_mode { STEP_PERSISTENT_TEAM, STEP_FORK_PER_STEP, STEP_ADAM } step_mode;

typedef struct step_case {
    char name[128];
    const mlp_kernel_table *table;
    int sizes[MLP_MAX_LAYERS + 1];
    int size_count;
    int batch, threads;
    step_mode mode;
    mlp_precision precision; /* step_bf16/ rows: BF16 */
} step_case;

/* GEMM split cases: a forward-form ladder (batch rows split) and a weight-gradient ladder
 * (A transposed, input rows split), as the small layers produce them. */
typedef enum split_form { SPLIT_FORWARD, SPLIT_WEIGHT_GRADIENT } split_form;

typedef struct split_case {
    char name[128];
    const mlp_kernel_table *table;
    split_form form;
    int m, n, k;
    int parts, threads; /* the GEMM in `parts` parts, by a team of `threads` */
} split_case;

static step_case *step_cases;
static int step_case_count;
static split_case *split_cases;
static int split_case_count;

/* ---- the persistent team ---- */

/* Collective work of one benchmark iteration; must end with every thread past a barrier. */
typedef void (*team_work)(void *argument, long iteration);

/* Runs work once per benchmark iteration on a team of `threads` threads that lives for the whole
 * run. The master asks Google Benchmark whether to go on; the barrier after it hands the answer
 * to the team (the answer is written again only after the work's closing barrier). */
static void run_in_persistent_team(bench_state *state, int threads, team_work work,
                                   void *argument) {
    int keep_running = 1;
#pragma omp parallel num_threads(threads)
    {
        for (long iteration = 0;; iteration++) {
#pragma omp master
            keep_running = bench_keep_running(state);
#pragma omp barrier
            if (!keep_running) break;
            work(argument, iteration);
        }
    }
}

/* ---- step benchmarks ---- */

typedef struct step_setup {
    const step_case *c;
    mlp_model model;
    mlp_network network;
    uint8_t *pixels;  /* POOL_BATCHES × batch × sizes[0] */
    uint8_t *labels;  /* POOL_BATCHES × batch            */
    mlp_optimizer_state optimizer; /* STEP_ADAM: the moments; else unused (zero)  */
    double last_cost; /* written by the master           */
} step_setup;

static void step_setup_free(step_setup *s) {
    mlp_network_free(&s->network);
    mlp_model_free(&s->model);
    mlp_aligned_free(s->pixels);
    mlp_aligned_free(s->labels);
    mlp_optimizer_state_free(&s->optimizer);
}

static int step_setup_create(step_setup *s, const step_case *c, mlp_error *error) {
    memset(s, 0, sizeof *s);
    s->c = c;
    if (mlp_model_create(&s->model, c->sizes, c->size_count, MLP_ACTIVATION_RELU, MLP_OUTPUT_SOFTMAX,
                     error) != 0)
        return -1;
    mlp_model_init_he(&s->model, 42);
    /* the trainer's network: W in its owners' blocks (the model is never read afterwards, so
     * no flush) */
    if (mlp_network_create(&s->network, &s->model, c->table, c->batch, c->threads, error) != 0 ||
        mlp_network_set_precision(&s->network, c->precision, error) != 0 ||
        mlp_network_use_owner_blocks(&s->network, error) != 0) {
        mlp_network_free(&s->network);
        mlp_model_free(&s->model);
        return -1;
    }
    if (c->mode == STEP_ADAM) {
        mlp_recipe recipe;
        mlp_recipe_init(&recipe);
        recipe.optimizer.kind = MLP_OPTIMIZER_ADAM;
        if (mlp_optimizer_state_create(&s->optimizer, &recipe.optimizer, s->model.parameter_count, error) != 0) {
            step_setup_free(s);
            return -1;
        }
    }
    size_t rows = (size_t)POOL_BATCHES * c->batch, features = (size_t)c->sizes[0];
    s->pixels = mlp_aligned_calloc(rows * features, 1);
    s->labels = mlp_aligned_calloc(rows, 1);
    if (!s->pixels || !s->labels) {
        step_setup_free(s);
        return mlp_error_set(error, "out of memory for %zu random examples", rows);
    }
    mlp_rng_state rng;
    mlp_rng_seed(&rng, 7);
    for (size_t i = 0; i < rows * features; i++) s->pixels[i] = (uint8_t)mlp_rng_below(&rng, 256);
    int classes = c->sizes[c->size_count - 1];
    for (size_t i = 0; i < rows; i++) s->labels[i] = (uint8_t)mlp_rng_below(&rng, (uint64_t)classes);
    return 0;
}

static const uint8_t *pool_pixels(const step_setup *s, long iteration) {
    return s->pixels + (size_t)(iteration % POOL_BATCHES) * s->c->batch * s->c->sizes[0];
}
static const uint8_t *pool_labels(const step_setup *s, long iteration) {
    return s->labels + (size_t)(iteration % POOL_BATCHES) * s->c->batch;
}

/* Collective: one training step, the trainer's call (src/core/train.c): network_step, owner
 * computes with the fused update (MLP_UNFUSED_UPDATE=1: the unfused step). */
static void step_collective(void *argument, long iteration) {
    step_setup *s = argument;
    const uint8_t *pixels = pool_pixels(s, iteration), *labels = pool_labels(s, iteration);
    int adam = s->c->mode == STEP_ADAM;
    double cost = mlp_network_step(&s->network, &s->model, adam ? &s->optimizer : NULL, pixels, labels,
                                   s->c->batch, adam ? STEP_ADAM_LEARNING_RATE : STEP_LEARNING_RATE);
    /* (network_step ends with a barrier; the next step reads the count after the next one) */
#pragma omp master
    {
        s->last_cost = cost;
        s->optimizer.step++;
    }
}

/* GEMM flops of one step: 2 per multiply-add for the forward, weight-gradient and input-gradient
 * GEMMs of every layer, except the first layer's input gradient (nothing consumes it). */
static double step_flops(const step_case *c) {
    double flops = 0.0;
    for (int l = 0; l + 1 < c->size_count; l++)
        flops += 6.0 * c->batch * c->sizes[l] * c->sizes[l + 1];
    return flops - 2.0 * c->batch * c->sizes[0] * c->sizes[1];
}

/* peak_fraction is relative to `threads` cores (what was asked for); the label names the team
 * that really ran. */
static void set_throughput_counters(bench_state *state, const mlp_kernel_table *table, int threads,
                                    int team, double samples, double flops) {
    double peak = fma_peak_flops(table->name) * threads;
    if (samples > 0.0) bench_set_counter(state, "samples/s", samples, BENCH_RATE);
    bench_set_counter(state, "FLOP/s", flops, BENCH_RATE);
    if (peak > 0.0) bench_set_counter(state, "peak_fraction", flops / peak, BENCH_RATE);
    char label[64];
    snprintf(label, sizeof label, "peak %s x%d, team %d", table->name, threads, team);
    bench_set_label(state, label);
}

/* Binds the team as the trainer does (--bind core); without binding the run goes on. */
static void bind_team(int threads) {
    mlp_affinity_bind_team(threads, AFFINITY_CORE, NULL);
}

static void bench_step(bench_state *state, void *argument) {
    const step_case *c = argument;
    const char *reason;
    if (!mlp_kernels_supported(c->table, &reason)) {
        bench_skip(state, reason);
        return;
    }
    step_setup setup;
    mlp_error error;
    if (step_setup_create(&setup, c, &error) != 0) {
        bench_fail(state, error.message);
        return;
    }
    bind_team(c->threads);

    /* As the trainer does: no more threads than the step's GEMMs can use (network.h). */
    int team = mlp_network_useful_threads(&setup.model, c->batch, c->threads, setup.network.min_flops_per_thread);
    long steps = 0;
    if (c->mode != STEP_FORK_PER_STEP) {
        run_in_persistent_team(state, team, step_collective, &setup);
        steps = (long)bench_iterations(state);
    } else {
        while (bench_keep_running(state)) {
            setup.last_cost = mlp_network_train_step(&setup.network, &setup.model,
                                                 pool_pixels(&setup, steps), pool_labels(&setup, steps),
                                                 c->batch, STEP_LEARNING_RATE);
            steps++;
        }
    }

    set_throughput_counters(state, c->table, c->threads, team, (double)steps * c->batch,
                            step_flops(c) * (double)steps);
    if (!isfinite(setup.last_cost)) bench_fail(state, "the training cost is not finite");
    step_setup_free(&setup);
}

/* ---- split benchmarks ---- */

typedef struct split_setup {
    const split_case *c;
    mlp_gemm_problem whole;
    float *a, *b, *c_matrix, *workspace; /* workspace: threads × stride floats */
    size_t stride;
} split_setup;

static void split_setup_free(split_setup *s) {
    mlp_aligned_free(s->a);
    mlp_aligned_free(s->b);
    mlp_aligned_free(s->c_matrix);
    mlp_aligned_free(s->workspace);
}

static int split_setup_create(split_setup *s, const split_case *c) {
    memset(s, 0, sizeof *s);
    s->c = c;
    s->stride = (c->table->gemm_workspace_floats + 15) & ~(size_t)15;
    s->a = mlp_aligned_calloc((size_t)c->m * c->k, sizeof(float));
    s->b = mlp_aligned_calloc((size_t)c->k * c->n, sizeof(float));
    s->c_matrix = mlp_aligned_calloc((size_t)c->m * c->n, sizeof(float));
    s->workspace = mlp_aligned_calloc(s->stride * c->threads + 16, sizeof(float));
    if (!s->a || !s->b || !s->c_matrix || !s->workspace) {
        split_setup_free(s);
        return -1;
    }
    mlp_rng_state rng;
    mlp_rng_seed(&rng, 11);
    for (size_t i = 0; i < (size_t)c->m * c->k; i++) s->a[i] = (float)(2.0 * mlp_rng_uniform(&rng) - 1.0);
    for (size_t i = 0; i < (size_t)c->k * c->n; i++) s->b[i] = (float)(2.0 * mlp_rng_uniform(&rng) - 1.0);
    int transposed = c->form == SPLIT_WEIGHT_GRADIENT; /* A stored k×m, as X is batch×in */
    s->whole = (mlp_gemm_problem){
        .m = c->m, .n = c->n, .k = c->k,
        .a = s->a, .lda = transposed ? c->m : c->k, .a_transposed = transposed,
        .b = s->b, .ldb = c->n,
        .c = s->c_matrix, .ldc = c->n,
    };
    return 0;
}

/* Collective: the first `parts` threads compute their part of the GEMM, then the barrier that
 * follows every GEMM phase in the network. */
static void split_collective(void *argument, long iteration) {
    (void)iteration;
    split_setup *s = argument;
    int thread = omp_get_thread_num();
    mlp_gemm_problem part;
    if (thread < s->c->parts && mlp_parallel_gemm_part(&s->whole, thread, s->c->parts, &part)) {
        part.workspace = s->workspace + s->stride * thread;
        s->c->table->gemm(&part);
    }
#pragma omp barrier
}

static void bench_split(bench_state *state, void *argument) {
    const split_case *c = argument;
    const char *reason;
    if (!mlp_kernels_supported(c->table, &reason)) {
        bench_skip(state, reason);
        return;
    }
    split_setup setup;
    if (split_setup_create(&setup, c) != 0) {
        bench_fail(state, "out of memory for the operands");
        return;
    }
    bind_team(c->threads);
    run_in_persistent_team(state, c->threads, split_collective, &setup);
    double flops = 2.0 * c->m * c->n * c->k * (double)bench_iterations(state);
    set_throughput_counters(state, c->table, c->parts, c->threads, 0.0, flops);
    split_setup_free(&setup);
}

/* ---- registration ---- */

/* "784,128,64,10" -> sizes, and "784-128-64-10" for the benchmark name. */
static int parse_configuration(const char *text, step_case *c, char *dashed, size_t dashed_size) {
    mlp_error error;
    if (mlp_model_parse_layers(text, c->sizes, &c->size_count, &error) != 0) return -1;
    snprintf(dashed, dashed_size, "%s", text);
    for (char *p = dashed; *p; p++)
        if (*p == ',') *p = '-';
    return 0;
}

/* A step case of `table` on `configuration`; 0, or -1 when the configuration does not parse. */
static int make_step_case(step_case *c, const mlp_kernel_table *table, const char *configuration, int batch,
                          int threads, step_mode mode, mlp_precision precision) {
    static const char *const mode_names[] = {"step", "step_fork", "step_adam"};
    char dashed[64];
    if (parse_configuration(configuration, c, dashed, sizeof dashed) != 0) return -1;
    c->table = table;
    c->batch = batch;
    c->threads = threads;
    c->mode = mode;
    c->precision = precision;
    snprintf(c->name, sizeof c->name, "%s%s/%s/%s/batch%d/threads%d", mode_names[mode],
             precision == MLP_PRECISION_BF16 ? "_bf16" : "", table->name, dashed, batch, threads);
    return 0;
}

/* Whether a later variant of the list has the same FP32 GEMM (avx512_bf16 reuses avx512's,
 * which follows it): its FP32 step rows would only repeat that variant's. */
static int fp32_gemm_repeated(const mlp_kernel_table *const *tables, int variant_count, int v) {
    for (int u = v + 1; u < variant_count; u++)
        if (tables[u]->gemm == tables[v]->gemm) return 1;
    return 0;
}

/* STEP_ADAM runs on two configurations only (784,128,64,10 and 784,600,400,10); the others
 * on all. */
static int adam_configuration(int mode, const char *configuration) {
    return mode != STEP_ADAM || strcmp(configuration, "784,128,64,10") == 0 ||
           strcmp(configuration, "784,600,400,10") == 0;
}

static void register_step_cases(const mlp_kernel_table *const *tables, int variant_count, int cores) {
    int capacity = 3 * variant_count * CONFIGURATION_COUNT * BATCH_COUNT * cores +
                   variant_count * BF16_CONFIGURATION_COUNT;
    step_cases = calloc((size_t)capacity, sizeof *step_cases);
    if (!step_cases) return;
    for (int mode = STEP_PERSISTENT_TEAM; mode <= STEP_ADAM; mode++)
        for (int v = 0; v < variant_count; v++)
            for (int g = 0; g < CONFIGURATION_COUNT && !fp32_gemm_repeated(tables, variant_count, v); g++)
                for (int b = 0; b < BATCH_COUNT; b++)
                    for (int threads = 1; threads <= cores; threads++)
                        if (adam_configuration(mode, configurations[g]) &&
                            make_step_case(&step_cases[step_case_count], tables[v], configurations[g], batches[b],
                                           threads, (step_mode)mode, MLP_PRECISION_FP32) == 0)
                            step_case_count++;
    /* BF16: the variants with a gemm_bf16 of their own (the scalar reference would take
     * seconds per step of the wide networks). */
    for (int v = 0; v < variant_count; v++)
        for (int g = 0; g < BF16_CONFIGURATION_COUNT && tables[v]->gemm_bf16; g++)
            if (strcmp(tables[v]->name, "scalar") != 0 &&
                make_step_case(&step_cases[step_case_count], tables[v], bf16_configurations[g], BF16_BATCH, 1,
                               STEP_PERSISTENT_TEAM, MLP_PRECISION_BF16) == 0)
                step_case_count++;
}

/* The ladders: forward 64×32×k (batch 64, 32 outputs, k inputs) and weight gradient m×16×64
 * (m inputs, 16 outputs, batch 64), 32 Kflop to 8 Mflop, in 1, 2 (and all cores) parts. */
static void register_split_cases(const mlp_kernel_table *const *tables, int variant_count, int cores) {
    enum { LADDER = 9 };
    int capacity = variant_count * 2 * LADDER * 3;
    split_cases = calloc((size_t)capacity, sizeof *split_cases);
    if (!split_cases) return;
    int part_counts[3] = {1, 2, cores}, part_count_count = cores > 2 ? 3 : (cores > 1 ? 2 : 1);
    for (int v = 0; v < variant_count; v++)
        for (int form = SPLIT_FORWARD; form <= SPLIT_WEIGHT_GRADIENT; form++)
            for (int step = 0; step < LADDER; step++)
                for (int p = 0; p < part_count_count; p++) {
                    split_case *c = &split_cases[split_case_count++];
                    int size = 16 << step; /* 16 .. 4096 */
                    c->table = tables[v];
                    c->form = (split_form)form;
                    c->parts = part_counts[p];
                    c->threads = cores;
                    if (form == SPLIT_FORWARD) {
                        c->m = 64, c->n = 32, c->k = size / 2;
                    } else {
                        c->m = size, c->n = 16, c->k = 64;
                    }
                    snprintf(c->name, sizeof c->name, "split/%s/%s/%dx%dx%d/parts%d",
                             tables[v]->name, form == SPLIT_FORWARD ? "forward" : "weight_gradient",
                             c->m, c->n, c->k, c->parts);
                }
}

/* What makes a result from another machine comparable, beyond bench_main's CPU and build
 * context: the cores and caches (hwloc's view, from affinity_print_topology). */
static void add_topology_context(int cores) {
    char text[64];
    snprintf(text, sizeof text, "%d", cores);
    bench_add_context("physical_cores", text);
    FILE *captured = tmpfile();
    if (!captured) return;
    mlp_affinity_print_topology(captured);
    rewind(captured);
    char caches[512] = "", line[256];
    while (fgets(line, sizeof line, captured)) {
        char *start = line;
        while (*start == ' ') start++;
        start[strcspn(start, "\n")] = '\0';
        if (strncmp(start, "L", 1) != 0) continue; /* the L1d / L2 / L3 lines */
        size_t used = strlen(caches);
        snprintf(caches + used, sizeof caches - used, "%s%s", used ? "; " : "", start);
    }
    fclose(captured);
    bench_add_context("caches", caches[0] ? caches : "unknown");
}

static int has_min_time_option(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--benchmark_min_time", 20) == 0) return 1;
    return 0;
}

void bench_register_training_step(int argc, char **argv) {
    /* Thread counts up to the available cores (the trainer's cap: affinity mask, cgroup quota). */
    int cores = mlp_affinity_available_cores(), variant_count;
    const mlp_kernel_table *const *tables = mlp_kernels_compiled(&variant_count);
    add_topology_context(mlp_affinity_physical_cores());
    register_step_cases(tables, variant_count, cores);
    register_split_cases(tables, variant_count, cores);

    int default_min_time = !has_min_time_option(argc, argv);
    for (int i = 0; i < step_case_count; i++) {
        bench_benchmark *b = bench_register(step_cases[i].name, bench_step, &step_cases[i]);
        bench_use_real_time(b);
        bench_time_unit_set(b, BENCH_MICROSECOND);
        if (default_min_time) bench_min_time_set(b, TRAINING_STEP_DEFAULT_MIN_TIME);
    }
    for (int i = 0; i < split_case_count; i++) {
        bench_benchmark *b = bench_register(split_cases[i].name, bench_split, &split_cases[i]);
        bench_use_real_time(b);
        bench_time_unit_set(b, BENCH_MICROSECOND);
        if (default_min_time) bench_min_time_set(b, TRAINING_STEP_DEFAULT_MIN_TIME);
    }
}
