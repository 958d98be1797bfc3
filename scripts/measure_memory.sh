#!/bin/sh
# Peak memory (maximum resident set size) of a default MNIST training run.
#
# usage: scripts/measure_memory.sh [BUILD_DIR] [EPOCHS] [-- extra trainer options]
#   BUILD_DIR  CMake build folder with src/trainer (default: build)
#   EPOCHS     training epochs (default: 2; the peak is reached in the first epoch: every buffer
#              is allocated before it starts, and nothing grows per epoch)
#
# Runs `trainer train --epochs EPOCHS --out <temporary folder>` with every other option at its
# default (784,128,64,10, batch 64, all physical cores, the MNIST IDX files in data/mnist) under
# GNU time (`/usr/bin/time -v`, Debian package `time`), or, without it, samples VmHWM from
# /proc/<pid>/status every 10 ms. Prints the peak in MB (10^6 bytes) and MiB, and says whether it
# is within the 120 MB target of issue 4.
set -eu

build=${1:-build}
epochs=${2:-2}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
if [ "${1:-}" = "--" ]; then shift; fi

trainer="$build/src/trainer"
if [ ! -x "$trainer" ]; then
    echo "measure_memory.sh: $trainer: not built (cmake --build $build --target trainer)" >&2
    exit 1
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/measure_memory.XXXXXX")
trap 'rm -rf "$out"' EXIT

if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$out/time.txt" "$trainer" train --epochs "$epochs" --out "$out/run" "$@" \
        > "$out/trainer.log"
    peak_kib=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$out/time.txt")
    how="/usr/bin/time -v"
else
    "$trainer" train --epochs "$epochs" --out "$out/run" "$@" > "$out/trainer.log" &
    pid=$!
    peak_kib=0
    while kill -0 "$pid" 2>/dev/null; do
        now=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$now" ] && [ "$now" -gt "$peak_kib" ] && peak_kib=$now
        sleep 0.01
    done
    wait "$pid"
    how="VmHWM sampled every 10 ms (may miss a last short peak)"
fi

grep -E '^ +[0-9]+ ' "$out/trainer.log" | tail -1 | sed 's/^/last epoch: /'
awk -v kib="$peak_kib" -v how="$how" -v epochs="$epochs" 'BEGIN {
    mb = kib * 1024 / 1e6
    printf "peak RSS: %.1f MB (%.1f MiB) over %d epochs, measured with %s\n", mb, kib / 1024, epochs, how
    printf "target <= 120 MB: %s\n", mb <= 120 ? "met" : "NOT met"
    exit mb <= 120 ? 0 : 3
}'
