#!/bin/sh
# A rank that dies ends the whole job: SIGKILL one of two training ranks, and mpirun must exit
# (non-zero, within 60 s: no rank left waiting in a collective) naming the dead rank.
# Usage: test_mpi_failure.sh TRAINER MPIEXEC
set -u
trainer=$1
mpiexec=$2
command -v pgrep >/dev/null || { echo "skip: pgrep (procps) not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

awk 'BEGIN { srand(5); printf "label"; for (j = 0; j < 784; j++) printf ",pixel%d", j; printf "\n";
  for (i = 0; i < 300; i++) { y = int(rand() * 10); printf "%d", y;
    for (j = 0; j < 784; j++) printf ",%d", (int(j / 78) == y ? 150 : 0) + int(rand() * 96);
    printf "\n" } }' >"$work/train.csv"

launcher="$mpiexec --oversubscribe --bind-to none -x OMP_WAIT_POLICY=passive"
[ "$(id -u)" = 0 ] && launcher="$launcher --allow-run-as-root"
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
export ASAN_OPTIONS

# Far more epochs than the test waits for: it only ends when a rank is killed.
# shellcheck disable=SC2086
$launcher -np 2 "$trainer" --train-csv "$work/train.csv" --layers 784,32,10 --epochs 1000000 \
    --threads 1 --bind none --gradient-shards 2 --checkpoint-every 0 --out "$work/run" \
    >"$work/log" 2>&1 &
launcher_pid=$!

# Wait until both ranks are training (rank 0 has printed an epoch line).
for _ in $(seq 1 300); do
    grep -q "^ *2 " "$work/log" 2>/dev/null && break
    sleep 0.1
done
ranks=$(pgrep -P "$launcher_pid")
victim=$(echo "$ranks" | tail -n 1)
if [ -z "$victim" ] || ! grep -q "^ *2 " "$work/log"; then
    echo "FAIL: the job did not start training:" >&2
    cat "$work/log" >&2
    kill "$launcher_pid" 2>/dev/null
    exit 1
fi
kill -9 "$victim"

# mpirun must end by itself.
for _ in $(seq 1 600); do
    kill -0 "$launcher_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$launcher_pid" 2>/dev/null; then
    echo "FAIL: mpirun still running 60 s after a rank was killed (hang)" >&2
    for pid in $ranks; do kill -9 "$pid" 2>/dev/null; done
    kill -9 "$launcher_pid" 2>/dev/null
    exit 1
fi
wait "$launcher_pid"
status=$?
if [ "$status" -eq 0 ]; then
    echo "FAIL: mpirun exited 0 after a rank was killed" >&2
    exit 1
fi
if ! grep -q "exited on signal 9" "$work/log"; then
    echo "FAIL: mpirun's output does not name the killed rank:" >&2
    tail -n 15 "$work/log" >&2
    exit 1
fi
grep "exited on signal" "$work/log"
echo "ok: mpirun exited $status after rank pid $victim was killed"
