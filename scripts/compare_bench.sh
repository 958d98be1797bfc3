#!/bin/bash
# Two bench runs compared by Google Benchmark's own compare.py (Debian libbenchmark-tools installs
# it as /usr/share/benchmark/compare.py; it needs NumPy and SciPy: scripts/install_deps.sh test).
#
#   scripts/compare_bench.sh A.json B.json                     every benchmark of the same name
#   scripts/compare_bench.sh A.json B.json REGEX_A REGEX_B     the rows of A matching REGEX_A
#                                                              against those of B matching REGEX_B
#   scripts/compare_bench.sh --filters RUN.json REGEX_1 REGEX_2  two sets of rows of one run
#                                                              (e.g. gemm/avx2/ against gemm/avx512/)
#   ... -- OPTIONS                                             compare.py's own options (-a, --no-utest)
#
# The JSON files are `bench --benchmark_out=X.json --benchmark_out_format=json` runs (ideally
# with --benchmark_repetitions=N, so that compare.py's Mann-Whitney U test has samples). The
# modes are compare.py's `benchmarks`, `benchmarksfiltered` and `filters`. Columns: Time, CPU
# (relative change, negative = B faster), then the absolute times. Compare runs from the same
# machine only: across CPUs use
# scripts/scaling_report.py, which divides by each machine's measured FMA peak.
# COMPARE_PY overrides where compare.py is; PYTHON the interpreter (default: the Debian one).
set -eu
compare=${COMPARE_PY:-/usr/share/benchmark/compare.py}
if [ ! -f "$compare" ]; then
    echo "compare_bench: $compare not found (Debian: apt-get install libbenchmark-tools)" >&2
    exit 2
fi
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3 # Debian's scipy/numpy, not a pyenv shim
fi
usage() {
    sed -n '5,18p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
mode=benchmarks
if [ "${1:-}" = "--filters" ]; then mode=filters; shift; fi
operands=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do operands+=("$1"); shift; done
[ $# -gt 0 ] && shift # after "--": compare.py's own options
if [ "$mode" = filters ]; then
    [ ${#operands[@]} -eq 3 ] || usage
elif [ ${#operands[@]} -eq 4 ]; then
    mode=benchmarksfiltered
    operands=("${operands[0]}" "${operands[2]}" "${operands[1]}" "${operands[3]}") # A RA B RB
elif [ ${#operands[@]} -ne 2 ]; then
    usage
fi
exec "$PYTHON" "$compare" "$@" "$mode" "${operands[@]}"
