#!/bin/sh
# Data-parallel training is bitwise reproducible across rank counts: with --gradient-shards 6,
# a plain single process and `mpirun -np 1, 2, 3` write byte-identical model files (and the same
# metrics apart from timings), also with the gathers not overlapped (MLP_GRADIENT_OVERLAP=0); the
# last batch has one row, so some ranks have no rows at all. A run checkpointed by 2 ranks and
# resumed by 3 ends with the same model as the uninterrupted run, and so does a run that 2 ranks
# stop on SIGTERM mid-way and 3 ranks resume; the same for AdamW on a step schedule (its
# moments in the checkpoint); --precision bf16 across 1, 2, 3 ranks. Synthetic CSV data (no MNIST needed), 400 training
# rows.
# Usage: test_mpi.sh TRAINER MPIEXEC
set -u
trainer=$1
mpiexec=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# 500 labelled 28x28 images: noise plus a bright band whose position is the label.
awk 'BEGIN { srand(5); printf "label"; for (j = 0; j < 784; j++) printf ",pixel%d", j; printf "\n";
  for (i = 0; i < 500; i++) { y = int(rand() * 10); printf "%d", y;
    for (j = 0; j < 784; j++) { v = int(rand() * 96); if (int(j / 78) == y) v += 150; printf ",%d", v }
    printf "\n" } }' >"$work/train.csv"

# 400 training rows in batches of 57: the last batch has 1 row (5 of the 6 shards empty).
common="--train-csv $work/train.csv --layers 784,32,16,10 --batch 57 --lr 0.05 --seed 3
        --gradient-shards 6 --threads 2 --bind none"
# Root may run mpirun only with --allow-run-as-root (CI containers); 3 ranks on 2 cores need
# --oversubscribe; --bind-to none lets each rank's OpenMP threads use any core; spinning OpenMP
# threads of oversubscribed ranks would starve each other (5-10x slower): passive waiting.
launcher="$mpiexec --oversubscribe --bind-to none -x OMP_NUM_THREADS=2 -x OMP_WAIT_POLICY=passive
          -x MLP_GRADIENT_OVERLAP"
[ "$(id -u)" = 0 ] && launcher="$launcher --allow-run-as-root"
# Open MPI's own allocations would be reported as leaks in sanitizer builds.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
export ASAN_OPTIONS
MLP_GRADIENT_OVERLAP=1
export MLP_GRADIENT_OVERLAP

# metrics.csv without the two timing columns.
metrics() { cut -d, -f1-6 "$1/metrics.csv"; }

# shellcheck disable=SC2086
"$trainer" $common --epochs 2 --out "$work/single" >"$work/single.log" 2>&1 ||
    fail "single process: exit $? ($(tail -n 1 "$work/single.log"))"
if ! grep -q "6 gradient shards" "$work/single.log"; then fail "single process: no sharding line"; fi

# plain_run NAME NP [ARGS...]: mpirun -np NP trainer $common ARGS, output in $work/NAME.
plain_run() {
    name=$1
    np=$2
    shift 2
    # shellcheck disable=SC2086
    timeout 120 $launcher -np "$np" "$trainer" $common "$@" >"$work/$name.log" 2>&1 ||
        fail "$name: mpirun -np $np exit $? ($(tail -n 3 "$work/$name.log" | tr '\n' ' '))"
}

for np in 1 2 3; do
    plain_run "np$np" "$np" --epochs 2 --out "$work/np$np"
    if ! cmp -s "$work/single/model.mlp" "$work/np$np/model.mlp"; then
        fail "np $np: model.mlp differs from the single-process run"
    fi
    if [ "$(metrics "$work/single")" != "$(metrics "$work/np$np")" ]; then
        fail "np $np: metrics differ from the single-process run"
    fi
    lines=$(grep -c "^ *[0-9]" "$work/np$np.log")
    if [ "$lines" -ne 2 ]; then fail "np $np: $lines epoch lines printed, expected 2 (rank 0 only)"; fi
done

# --precision bf16 (the scalar reference, the one BF16 variant every machine runs): the shards'
# GEMMs in BF16, the sum and update in float; one process = np 2 = np 3, byte for byte.
bf16="--kernel scalar --precision bf16"
# shellcheck disable=SC2086
"$trainer" $common $bf16 --epochs 2 --out "$work/bf16_single" >"$work/bf16_single.log" 2>&1 ||
    fail "bf16 single process: exit $? ($(tail -n 1 "$work/bf16_single.log"))"
grep -q "precision bf16" "$work/bf16_single.log" || fail "bf16 single process: the banner names no bf16"
for np in 2 3; do
    # shellcheck disable=SC2086
    plain_run "bf16_np$np" "$np" $bf16 --epochs 2 --out "$work/bf16_np$np"
    cmp -s "$work/bf16_single/model.mlp" "$work/bf16_np$np/model.mlp" ||
        fail "bf16 np $np: model.mlp differs from the single-process run"
done
cmp -s "$work/single/model.mlp" "$work/bf16_single/model.mlp" && fail "bf16 trained the fp32 model"

# The optimizers go through the same update after the shard sum: AdamW with weight decay on a
# step schedule with warm-up (neither depends on --epochs, which the resume below raises), 2 ranks =
# one process, and checkpointed by 2 ranks, resumed by 3.
adam="--optimizer adamw --weight-decay 0.01 --lr 0.003 --lr-schedule step --lr-step 1 --lr-gamma 0.5 --warmup-epochs 0.5"
# shellcheck disable=SC2086
"$trainer" $common $adam --epochs 2 --out "$work/adam_single" >"$work/adam_single.log" 2>&1 ||
    fail "adamw single process: exit $?"
# shellcheck disable=SC2086
plain_run adam_np2 2 $adam --epochs 2 --out "$work/adam_np2"
cmp -s "$work/adam_single/model.mlp" "$work/adam_np2/model.mlp" ||
    fail "adamw, np 2: model.mlp differs from the single-process run"
# shellcheck disable=SC2086
plain_run adam_first 2 $adam --epochs 1 --out "$work/adam_resumed"
# shellcheck disable=SC2086
plain_run adam_second 3 $adam --resume "$work/adam_resumed" --epochs 2
cmp -s "$work/adam_single/model.mlp" "$work/adam_resumed/model.mlp" ||
    fail "adamw checkpointed by 2 ranks, resumed by 3: model.mlp differs"

# Checkpoint after epoch 1 with 2 ranks (gathers not overlapped), resume epoch 2 with 3 ranks
# (G is the invariant, the rank count is not).
MLP_GRADIENT_OVERLAP=0
plain_run first 2 --epochs 1 --out "$work/resumed"
MLP_GRADIENT_OVERLAP=1
plain_run second 3 --resume "$work/resumed" --epochs 2 --gradient-shards 6
cmp -s "$work/single/model.mlp" "$work/resumed/model.mlp" ||
    fail "checkpoint by 2 ranks without overlap, resumed by 3: model.mlp differs from the uninterrupted run"

# SIGTERM to mpirun (it signals every rank): the ranks agree to stop after the same batch, rank 0
# writes the checkpoint; 3 ranks resume it and end with the model of an uninterrupted run.
# A small network, many short epochs: SIGTERM comes after epoch 2, long before the end.
long="--layers 784,8,10 --batch 40 --epochs 40 --threads 1"
# shellcheck disable=SC2086
"$trainer" $common $long --out "$work/long" >"$work/long.log" 2>&1 ||
    fail "single process, $long: exit $?"
# shellcheck disable=SC2086
$launcher -np 2 "$trainer" $common $long --out "$work/interrupted" \
    >"$work/interrupted.log" 2>&1 &
launcher_pid=$!
for _ in $(seq 1 300); do
    grep -q "^ *2 " "$work/interrupted.log" 2>/dev/null && break
    sleep 0.1
done
kill -TERM "$launcher_pid"
wait "$launcher_pid"
if [ -f "$work/interrupted/model.mlp" ]; then
    echo "note: the 40 epochs ended before SIGTERM arrived; the interrupted resume was not exercised"
else
    grep -q "interrupted by SIGTERM" "$work/interrupted.log" ||
        fail "SIGTERM: no 'interrupted' message ($(tail -n 2 "$work/interrupted.log" | tr '\n' ' '))"
    # shellcheck disable=SC2086
    plain_run interrupted-resume 3 $long --resume "$work/interrupted"
    cmp -s "$work/long/model.mlp" "$work/interrupted/model.mlp" ||
        fail "SIGTERM to 2 ranks, resumed by 3: model.mlp differs from the uninterrupted run"
fi

# More ranks than shards is a usage error, named on one line.
# shellcheck disable=SC2086
timeout 60 $launcher -np 2 "$trainer" $common --gradient-shards 1 --epochs 1 --out "$work/bad" \
    >"$work/bad.log" 2>&1 && fail "np 2 with --gradient-shards 1 succeeded"
grep -q "gradient-shards 1 is less than the 2 MPI ranks" "$work/bad.log" ||
    fail "np 2 with --gradient-shards 1: no clear message ($(head -n 1 "$work/bad.log"))"

# More shards than rows in a batch: a usage error (exit 2) naming the option.
# shellcheck disable=SC2086
"$trainer" $common --batch 4 --epochs 1 --out "$work/bad2" >"$work/bad2.log" 2>&1
status=$?
if [ "$status" -ne 2 ] || ! grep -q "gradient-shards 6 is more than the 4 rows" "$work/bad2.log"; then
    fail "--gradient-shards 6 --batch 4: exit $status, $(head -n 1 "$work/bad2.log")"
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "ok: single process and np 1, 2, 3 (G = 6) identical; resume 2 -> 3 ranks identical (after an epoch and after SIGTERM)"
