#!/bin/sh
# --threads above the available cores: the trainer runs one thread per available core and says
# so in one line; --oversubscribe runs them all; summary.json records threads and
# threads_requested; every model is byte-identical to the one trained with --threads 1.
# Usage: threads_cap.sh TRAINER MNIST_DIR   (exit 77 without MNIST)
set -u
trainer=$1
mnist=$2
[ -f "$mnist/train-images-idx3-ubyte" ] || [ -f "$mnist/train-images-idx3-ubyte.gz" ] ||
    { echo "SKIPPED: no MNIST in $mnist"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
json_int() { sed -n "s/^ *\"$1\": \\([0-9]*\\),*\$/\\1/p" "$2"; }

available=$("$trainer" info | sed -n 's/^available cores: \([0-9]*\).*/\1/p')
[ -n "$available" ] || { echo "FAIL: trainer info prints no 'available cores:' line"; exit 1; }
many=64
[ "$available" -lt "$many" ] || { echo "SKIPPED: $available cores, not fewer than $many"; exit 77; }
small="--data $mnist --train-limit 2000 --epochs 1 --layers 784,32,10 --batch 50 --checkpoint-every 0"

run() { # NAME ARGS...
    name=$1
    shift
    # shellcheck disable=SC2086
    "$trainer" $small "$@" --out "$work/$name" >"$work/$name.out" 2>"$work/$name.err" ||
        fail "trainer $*: exit $? ($(cat "$work/$name.err"))"
}
run one --threads 1
run capped --threads $many
run over --threads $many --oversubscribe

line="trainer: --threads $many > $available available core"
if [ "$(wc -l <"$work/capped.err")" -ne 1 ] || ! grep -q -F -- "$line" "$work/capped.err" ||
    ! grep -q -F -- "using $available; --oversubscribe runs $many" "$work/capped.err"; then
    fail "--threads $many: expected one line '$line...', got: $(cat "$work/capped.err")"
else
    echo "ok   --threads $many: $(cat "$work/capped.err")"
fi
grep -q -- "--oversubscribe runs" "$work/over.err" && fail "--oversubscribe still printed the cap line"
grep -q -- "--oversubscribe runs" "$work/one.err" && fail "--threads 1 printed the cap line"

used=$(json_int threads "$work/capped/summary.json")
requested=$(json_int threads_requested "$work/capped/summary.json")
[ "$used" = "$available" ] && [ "$requested" = "$many" ] &&
    echo "ok   capped: summary.json threads $used, threads_requested $requested" ||
    fail "capped: summary.json threads '$used' (expected $available), threads_requested '$requested' (expected $many)"
used=$(json_int threads "$work/over/summary.json")
[ "$used" = "$many" ] && echo "ok   --oversubscribe: summary.json threads $used" ||
    fail "--oversubscribe: summary.json threads '$used', expected $many"

for name in capped over; do
    if cmp -s "$work/one/model.mlp" "$work/$name/model.mlp"; then
        echo "ok   $name: model.mlp identical to --threads 1"
    else
        fail "$name: model.mlp differs from the one trained with --threads 1"
    fi
done
[ "$failures" -eq 0 ] || exit 1
