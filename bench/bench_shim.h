/* A C face for Google Benchmark (bench_shim.cpp is the only C++ in the project).
 *
 * A benchmark is a C function plus a void* argument:
 *
 *     static void bench_axpy(bench_state *state, void *argument) {
 *         axpy_case *c = argument;                 // set up here: not timed
 *         while (bench_keep_running(state)) axpy(c->x, c->y, c->n);
 *         bench_set_counter(state, "FLOP/s", 2.0 * c->n * bench_iterations(state), BENCH_RATE);
 *     }
 *     bench_register("axpy/avx2/4096", bench_axpy, &the_case);
 *
 * Benchmarks that start threads (OpenMP) must call bench_use_real_time on their handle: CPU time
 * counts only the calling thread. */
#ifndef MLP_BENCH_SHIM_H
#define MLP_BENCH_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bench_state bench_state;         /* one run of one benchmark */
typedef struct bench_benchmark bench_benchmark; /* a registered benchmark, for its options */
typedef void (*bench_function)(bench_state *state, void *argument);

/* Counter flags, OR-able; they map one to one onto benchmark::Counter's flags. */
enum {
    BENCH_PLAIN = 0,
    BENCH_RATE = 1 << 0,               /* value / measured seconds (CPU or real time)        */
    BENCH_AVERAGE_THREADS = 1 << 1,    /* value / threads                                    */
    BENCH_AVERAGE_ITERATIONS = 1 << 2, /* value / iterations                                 */
    BENCH_ITERATION_INVARIANT = 1 << 3 /* value * iterations (set once per run, not summed)  */
};

typedef enum bench_time_unit {
    BENCH_NANOSECOND,
    BENCH_MICROSECOND,
    BENCH_MILLISECOND,
    BENCH_SECOND,
} bench_time_unit;

/* ---- registration (before bench_run) ---- */

/* The name is copied. The argument must outlive bench_run. */
bench_benchmark *bench_register(const char *name, bench_function function, void *argument);
/* Adds one run with state argument 0 = value (repeat for several runs). */
void bench_arg(bench_benchmark *benchmark, int64_t value);
/* Adds runs for argument 0 = low, low*multiplier, ..., high (Google Benchmark's Range). */
void bench_range(bench_benchmark *benchmark, int64_t low, int64_t high, int multiplier);
/* Time with the wall clock instead of the calling thread's CPU time (threaded benchmarks). */
void bench_use_real_time(bench_benchmark *benchmark);
void bench_time_unit_set(bench_benchmark *benchmark, bench_time_unit unit);
/* Minimum seconds of timed iterations for this benchmark; overrides --benchmark_min_time. */
void bench_min_time_set(bench_benchmark *benchmark, double seconds);

/* A key/value pair printed in the run's context (console header, JSON "context"). */
void bench_add_context(const char *key, const char *value);

/* Parses --benchmark_* options, runs the selected benchmarks, returns the process exit code:
 * 1 for unknown options or when any benchmark called bench_fail, else 0. */
int bench_run(int *argc, char **argv);

/* ---- inside a benchmark function ---- */

/* The timed loop: true while more iterations are wanted. Code before the first call and
 * after the last is not timed. */
int bench_keep_running(bench_state *state);
int64_t bench_iterations(const bench_state *state);
/* Argument `index` of this run (from bench_arg / bench_range). */
int64_t bench_range_value(const bench_state *state, int index);
void bench_pause_timing(bench_state *state);
void bench_resume_timing(bench_state *state);

void bench_set_counter(bench_state *state, const char *name, double value, int flags);
void bench_set_label(bench_state *state, const char *label);
/* Ends this run without results, reported as "skipped: <reason>". Call before the loop
 * and return. */
void bench_skip(bench_state *state, const char *reason);
/* Reports a wrong result ("failed: <reason>"); bench_run then returns 1. */
void bench_fail(bench_state *state, const char *reason);

#ifdef __cplusplus
}
#endif
#endif
