#!/bin/sh
# Dropout and augmentation under data-parallel training: the masks are keyed by a row's index in
# the whole batch and the augmentations by the example, so with --gradient-shards 4 a single
# process and `mpirun -np 2` and `-np 3` (each rank only its rows, rank 2 sometimes none) write
# byte-identical model files. Synthetic CSV data (no MNIST needed), 400 training rows.
# Usage: test_mpi_regular.sh TRAINER MPIEXEC
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

awk 'BEGIN { srand(5); printf "label"; for (j = 0; j < 784; j++) printf ",pixel%d", j; printf "\n";
  for (i = 0; i < 500; i++) { y = int(rand() * 10); printf "%d", y;
    for (j = 0; j < 784; j++) { v = int(rand() * 96); if (int(j / 78) == y) v += 150; printf ",%d", v }
    printf "\n" } }' >"$work/train.csv"

# Batches of 57 over 400 rows: the last has 1 row.
common="--train-csv $work/train.csv --layers 784,32,16,10 --batch 57 --lr 0.05 --seed 3 --epochs 2
        --gradient-shards 4 --threads 1 --bind none --dropout 0.3,0.2 --augment shift=2,rotate=10,elastic=34:4"
launcher="$mpiexec --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive"
[ "$(id -u)" = 0 ] && launcher="$launcher --allow-run-as-root"
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
export ASAN_OPTIONS

# shellcheck disable=SC2086
"$trainer" $common --out "$work/single" >"$work/single.log" 2>&1 || fail "single process: $(tail -n 1 "$work/single.log")"
grep -q "dropout 0.3,0.2; augment shift=2,rotate=10,elastic=34:4" "$work/single.log" || fail "no recipe line"
# shellcheck disable=SC2086
"$trainer" $common --dropout 0 --out "$work/plain" >"$work/plain.log" 2>&1 || fail "without dropout: exit $?"
cmp -s "$work/single/model.mlp" "$work/plain/model.mlp" && fail "--dropout changed nothing"
for np in 2 3; do
    # shellcheck disable=SC2086
    timeout 120 $launcher -np $np "$trainer" $common --out "$work/np$np" >"$work/np$np.log" 2>&1 ||
        fail "mpirun -np $np: $(tail -n 3 "$work/np$np.log" | tr '\n' ' ')"
    cmp -s "$work/single/model.mlp" "$work/np$np/model.mlp" ||
        fail "np $np: model.mlp differs from the single-process run with dropout and augmentation"
done
[ "$failures" = 0 ] || exit 1
echo "ok: dropout + augmentation, G = 4: single process and np 2, 3 identical"
