/* Whole training-step benchmarks (bench_training_step.c) and the GEMM split measurements that
 * set MLP_PARALLEL_MIN_FLOPS_PER_THREAD. */
#ifndef MLP_BENCH_TRAINING_STEP_H
#define MLP_BENCH_TRAINING_STEP_H

/* Registers step/..., step_fork/... and split/... benchmarks and adds the machine's cores and
 * caches to the context. argv is scanned (not changed) for --benchmark_min_time: without it these
 * benchmarks run TRAINING_STEP_DEFAULT_MIN_TIME seconds each, so the full matrix stays quick. */
void bench_register_training_step(int argc, char **argv);

#endif
