#!/bin/sh
# scripts/scaling_report.py on two small bench JSON fixtures (one run with iteration rows, one
# with only median aggregates, as --benchmark_report_aggregates_only writes): the per-machine,
# per-configuration x CPU and cross-machine tables for step/ and gemm/ rows, and the matplotlib
# charts as PNG files. Exit 77 when no Python with matplotlib is found.
# Usage: scaling_report.sh SOURCE_DIR
set -u
source_dir=$1
script=$source_dir/scripts/scaling_report.py
fixtures=$source_dir/tests/scripts/fixtures
python=""
for candidate in /usr/bin/python3 python3; do
    if "$candidate" -c "import matplotlib" >/dev/null 2>&1; then python=$candidate; break; fi
done
[ -n "$python" ] || { echo "SKIPPED: no python3 with matplotlib (Debian python3-matplotlib)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

"$python" "$script" "$fixtures/bench_here.json" "$fixtures/bench_zen5_aggregates.json" \
    -o "$work/report.md" --png "$work/chart.png" 2>"$work/stderr" ||
    { cat "$work/stderr" >&2; echo "FAIL: scaling_report.py exited non-zero"; exit 1; }
for heading in "### step 784,128,64,10 on " "### gemm forward 784x128 on " "### gemm square 512 on " \
    "## All machines (samples/s, \`step/\`)" "## All machines (GFLOP/s and % of the FMA peak, \`gemm/\`)" \
    "family 26 model 2" "\`step/avx512\`"; do
    grep -q -F -- "$heading" "$work/report.md" && echo "ok   report has: $heading" ||
        fail "report lacks '$heading'"
done
# The aggregate-only file's numbers reach the tables: its avx2 784x128 forward row.
grep -q -E '^\| 64 \| [0-9.]+ \([0-9]+%\) \| [0-9.]+ \([0-9]+%\) \| [0-9.]+ \([0-9]+%\) \|$' "$work/report.md" &&
    echo "ok   the aggregates-only run gives its avx2, avx512 and openblas GFLOP/s" ||
    fail "no 3-variant gemm row from the aggregates-only run"
for png in chart-1.png chart-1-gemm.png chart-2.png chart-2-gemm.png; do
    if [ -s "$work/$png" ] && [ "$(head -c 4 "$work/$png" | tail -c 3)" = "PNG" ]; then
        echo "ok   $png written ($(wc -c <"$work/$png") bytes)"
    else
        fail "$png missing or not a PNG"
    fi
done
[ "$failures" -eq 0 ] || { sed -n 1,400p "$work/report.md" >&2; exit 1; }
