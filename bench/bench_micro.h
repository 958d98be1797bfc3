/* Micro-kernel benchmarks: every named micro-kernel of every compiled variant (bench_micro.c). */
#ifndef MLP_BENCH_MICRO_H
#define MLP_BENCH_MICRO_H

void bench_register_micro(void);

#endif
