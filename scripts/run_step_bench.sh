#!/bin/sh
# The training-step benchmarks, one bench process per case, merged into one JSON file for
# scripts/scaling_report.py.
#
# usage: scripts/run_step_bench.sh BUILD_DIR OUT.json [FILTER] [--realtime]
#   FILTER      a --benchmark_filter regex (default: '^(step|step_fork|split)/')
#   --realtime  run each case under `chrt -f 10` (SCHED_FIFO; needs root or CAP_SYS_NICE) and
#               pause 0.6 s between cases
#
# Why: on a shared machine a team of threads pinned to the cores stalls at every barrier when
# another process takes one of its cores, and 2-thread numbers come out 10-100x too slow.
# SCHED_FIFO puts the benchmark ahead of ordinary processes; running each case in its own short
# process, with a pause after it, keeps it under the kernel's real-time throttling (95% of each
# second by default), which would otherwise stop one core's threads for 50 ms at a time in the
# middle of a long run. On an idle machine neither is needed: plain `bench` gives the same numbers.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR OUT.json [FILTER] [--realtime]" >&2
    exit 2
fi
bench="$1/bench/bench"
out=$2
shift 2
filter='^(step|step_fork|split)/'
realtime=0
for argument in "$@"; do
    case $argument in
        --realtime) realtime=1 ;;
        *) filter=$argument ;;
    esac
done
if [ ! -x "$bench" ]; then
    echo "run_step_bench.sh: $bench: not built (cmake --build $1 --target bench)" >&2
    exit 1
fi
parts=$(mktemp -d "${TMPDIR:-/tmp}/run_step_bench.XXXXXX")
trap 'rm -rf "$parts"' EXIT

"$bench" --benchmark_list_tests --benchmark_filter="$filter" --benchmark_min_time=0.1 \
    2>/dev/null > "$parts/cases.txt"
count=$(wc -l < "$parts/cases.txt")
echo "run_step_bench.sh: $count cases" >&2
index=0
while read -r name; do
    index=$((index + 1))
    set -- "$bench" "--benchmark_filter=^${name}\$" --benchmark_min_time=0.1 \
        --benchmark_repetitions=3 --benchmark_out="$parts/$index.json" --benchmark_out_format=json
    if [ "$realtime" = 1 ]; then
        chrt -f 10 "$@" > /dev/null 2>&1
        sleep 0.6
    else
        "$@" > /dev/null 2>&1
    fi
done < "$parts/cases.txt"

# One JSON: the first run's context, every run's benchmarks.
python3 - "$out" "$parts" "$count" <<'EOF'
import json, sys
out, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
merged = None
for i in range(1, count + 1):
    with open(f"{folder}/{i}.json", encoding="utf-8") as f:
        run = json.load(f)
    if merged is None:
        merged = run
    else:
        merged["benchmarks"].extend(run["benchmarks"])
with open(out, "w", encoding="utf-8") as f:
    json.dump(merged or {"benchmarks": []}, f, indent=1)
EOF
echo "run_step_bench.sh: wrote $out" >&2
