// The C face of Google Benchmark declared in bench_shim.h. Nothing here measures anything: it
// forwards each call to benchmark::State / benchmark::internal::Benchmark, which the C side
// sees as opaque pointers.
#include "bench_shim.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <string>

namespace {

benchmark::State &as_state(bench_state *state) {
    return *reinterpret_cast<benchmark::State *>(state);
}
const benchmark::State &as_state(const bench_state *state) {
    return *reinterpret_cast<const benchmark::State *>(state);
}
benchmark::internal::Benchmark *as_benchmark(bench_benchmark *benchmark) {
    return reinterpret_cast<benchmark::internal::Benchmark *>(benchmark);
}

// Benchmarks that reported a wrong result; makes bench_run's exit code fail.
std::atomic<int> failed_runs{0};

benchmark::Counter::Flags counter_flags(int flags) {
    int result = benchmark::Counter::kDefaults;
    if (flags & BENCH_RATE) result |= benchmark::Counter::kIsRate;
    if (flags & BENCH_AVERAGE_THREADS) result |= benchmark::Counter::kAvgThreads;
    if (flags & BENCH_AVERAGE_ITERATIONS) result |= benchmark::Counter::kAvgIterations;
    if (flags & BENCH_ITERATION_INVARIANT) result |= benchmark::Counter::kIsIterationInvariant;
    return static_cast<benchmark::Counter::Flags>(result);
}

}  // namespace

extern "C" {

bench_benchmark *bench_register(const char *name, bench_function function, void *argument) {
    benchmark::internal::Benchmark *registered = benchmark::RegisterBenchmark(
        name, [function, argument](benchmark::State &state) {
            function(reinterpret_cast<bench_state *>(&state), argument);
        });
    return reinterpret_cast<bench_benchmark *>(registered);
}

void bench_arg(bench_benchmark *benchmark, int64_t value) { as_benchmark(benchmark)->Arg(value); }

void bench_range(bench_benchmark *benchmark, int64_t low, int64_t high, int multiplier) {
    as_benchmark(benchmark)->RangeMultiplier(multiplier)->Range(low, high);
}

void bench_use_real_time(bench_benchmark *benchmark) { as_benchmark(benchmark)->UseRealTime(); }

void bench_time_unit_set(bench_benchmark *benchmark, bench_time_unit unit) {
    static const benchmark::TimeUnit units[] = {benchmark::kNanosecond, benchmark::kMicrosecond,
                                                benchmark::kMillisecond, benchmark::kSecond};
    as_benchmark(benchmark)->Unit(units[unit]);
}

void bench_min_time_set(bench_benchmark *benchmark, double seconds) {
    as_benchmark(benchmark)->MinTime(seconds);
}

void bench_add_context(const char *key, const char *value) {
    benchmark::AddCustomContext(key, value);
}

int bench_run(int *argc, char **argv) {
    benchmark::Initialize(argc, argv);
    if (benchmark::ReportUnrecognizedArguments(*argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return failed_runs.load() ? 1 : 0;
}

int bench_keep_running(bench_state *state) { return as_state(state).KeepRunning(); }

int64_t bench_iterations(const bench_state *state) {
    return static_cast<int64_t>(as_state(state).iterations());
}

int64_t bench_range_value(const bench_state *state, int index) {
    return as_state(state).range(static_cast<std::size_t>(index));
}

void bench_pause_timing(bench_state *state) { as_state(state).PauseTiming(); }
void bench_resume_timing(bench_state *state) { as_state(state).ResumeTiming(); }

void bench_set_counter(bench_state *state, const char *name, double value, int flags) {
    as_state(state).counters[name] = benchmark::Counter(value, counter_flags(flags));
}

void bench_set_label(bench_state *state, const char *label) { as_state(state).SetLabel(label); }

// Google Benchmark 1.7 has no SkipWithMessage (1.8 does): a skip is an error whose message
// says so, and the table script leaves such rows out.
void bench_skip(bench_state *state, const char *reason) {
    as_state(state).SkipWithError((std::string("skipped: ") + reason).c_str());
}

void bench_fail(bench_state *state, const char *reason) {
    failed_runs++;
    as_state(state).SkipWithError((std::string("failed: ") + reason).c_str());
}

}  // extern "C"
