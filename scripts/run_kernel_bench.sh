#!/bin/sh
# Runs the GEMM benchmarks twice, once per OpenBLAS kernel, and writes the JSON of both runs and
# the markdown table (scripts/bench_table.py) into OUT_DIR.
#
#   usage: scripts/run_kernel_bench.sh [BUILD_DIR [OUT_DIR]]
#          (defaults: build, BUILD_DIR/bench-results; BENCH_FILTER=gemm, BENCH_MIN_TIME=0.05,
#          BENCH_REPETITIONS=1: with more, every case runs that many times and the table takes
#          the median, OpenBLAS's rows alike)
#
# Run 1 "env": OpenBLAS as the environment configures it. Some machines here set
#   OPENBLAS_CORETYPE=Haswell and OPENBLAS_L2_SIZE (old OpenBLAS builds crash on some CPUs); when
#   OPENBLAS_CORETYPE is not set, this run sets it to Haswell so the two runs always differ.
# Run 2 "native": both variables unset, so OpenBLAS picks its own kernel (AVX-512 Cooperlake
#   on AVX-512 machines with OpenBLAS 0.3.21).
# Each JSON's context records which core type really ran (openblas_core).
set -eu

build_dir=${1:-build}
out_dir=${2:-$build_dir/bench-results}
bench=$build_dir/bench/bench
filter=${BENCH_FILTER:-gemm}
min_time=${BENCH_MIN_TIME:-0.05}
repetitions=${BENCH_REPETITIONS:-1}
script_dir=$(dirname "$0")

if [ ! -x "$bench" ]; then
    echo "$bench: not found or not executable (build the bench target first)" >&2
    exit 1
fi
mkdir -p "$out_dir"

run() { # run NAME [env assignments...]: the benchmarks, console to NAME.txt, JSON to NAME.json
    name=$1
    shift
    echo "== $name: $* $bench --benchmark_filter=$filter --benchmark_min_time=$min_time" \
        "--benchmark_repetitions=$repetitions" >&2
    env "$@" OPENBLAS_NUM_THREADS=1 "$bench" --benchmark_filter="$filter" \
        --benchmark_min_time="$min_time" --benchmark_repetitions="$repetitions" \
        --benchmark_out="$out_dir/$name.json" \
        --benchmark_out_format=json >"$out_dir/$name.txt"
}

run openblas_env OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"
run openblas_native -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE

python3 "$script_dir/bench_table.py" "$out_dir/openblas_env.json" "$out_dir/openblas_native.json" \
    -o "$out_dir/kernel_bench.md"
echo "wrote $out_dir/openblas_env.json, $out_dir/openblas_native.json, $out_dir/kernel_bench.md" >&2
