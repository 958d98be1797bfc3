#!/bin/sh
# --precision on the command line: a variant without a BF16 GEMM is refused for bf16 (exit 1, one
# line naming --precision bf16); "auto" picks a BF16 variant or says why there is none; a bf16 run
# (the scalar reference) names its precision in the banner, summary.json and the --profile rows
# (forward_gemm_bf16, ...), resumes in bf16, and refuses a resume that asks for fp32 (exit 2);
# fp32 runs say fp32; eval and sweep take --precision.
# Usage: precision.sh TRAINER MNIST_DIR    (exit 77 without MNIST)
set -u
trainer=$1
data=$2
[ -e "$data/train-images-idx3-ubyte" ] || [ -e "$data/train-images-idx3-ubyte.gz" ] || { echo "SKIPPED: no MNIST in $data"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
small="--data $data --train-limit 400 --layers 784,16,10 --batch 50 --threads 2 --bind none"

# A forced variant without gemm_bf16: avx2 (x86-64), where it runs; refused with one line.
if "$trainer" info | grep -q "^  avx2 *runs here"; then
    # shellcheck disable=SC2086
    "$trainer" $small --epochs 1 --kernel avx2 --precision bf16 --out "$work/avx2" >"$work/out" 2>"$work/err"
    status=$?
    [ "$status" = 1 ] || fail "--kernel avx2 --precision bf16: exit $status, expected 1"
    [ "$(wc -l <"$work/err")" = 1 ] && grep -q -- "--precision bf16: kernel variant 'avx2' has no BF16 GEMM" "$work/err" ||
        fail "--kernel avx2 --precision bf16: $(cat "$work/err")"
fi

# auto: the best BF16 variant (never scalar), or one line saying why there is none.
# shellcheck disable=SC2086
MLP_KERNEL= "$trainer" $small --epochs 1 --precision bf16 --out "$work/auto" >"$work/out" 2>"$work/err"
status=$?
if [ "$status" = 0 ]; then
    grep -q "precision bf16" "$work/out" && ! grep -q "kernel scalar" "$work/out" ||
        fail "auto bf16 trained but its banner says: $(head -1 "$work/out")"
else
    [ "$status" = 1 ] && [ "$(wc -l <"$work/err")" = 1 ] && grep -q -- "--precision bf16: " "$work/err" ||
        fail "auto bf16 without a variant: exit $status: $(cat "$work/err")"
fi

# The scalar reference, one epoch with --profile: the precision in every output.
# shellcheck disable=SC2086
"$trainer" $small --epochs 1 --kernel scalar --precision bf16 --profile --out "$work/bf16" >"$work/out" 2>"$work/err" ||
    fail "scalar bf16 run: $(cat "$work/err")"
grep -q "kernel scalar, precision bf16" "$work/out" || fail "banner: $(head -1 "$work/out")"
for row in forward_gemm_bf16 weight_gradient_bf16+sgd input_gradient_bf16 "BF16 (gemm_bf16) GEMMs"; do
    grep -q -- "$row" "$work/out" || fail "--profile names no $row"
done
grep -q '"precision": "bf16"' "$work/bf16/summary.json" || fail "summary.json: no \"precision\": \"bf16\""
grep -q '"kernel": "forward_gemm_bf16"' "$work/bf16/summary.json" || fail "summary.json's profile: no forward_gemm_bf16"

# Resume: asking for fp32 is a usage error naming --precision; without the flag it stays bf16.
"$trainer" --resume "$work/bf16" --epochs 2 --precision fp32 >"$work/out" 2>"$work/err"
status=$?
[ "$status" = 2 ] && grep -q -- "--precision contradicts the checkpoint" "$work/err" && grep -q "precision bf16" "$work/err" ||
    fail "resume with --precision fp32: exit $status: $(cat "$work/err")"
"$trainer" --resume "$work/bf16" --epochs 2 --threads 1 >"$work/out" 2>"$work/err" || fail "bf16 resume: $(cat "$work/err")"
grep -q "precision bf16" "$work/out" && grep -q "resuming from" "$work/out" || fail "resumed banner: $(head -1 "$work/out")"

# fp32 (the default) says so.
# shellcheck disable=SC2086
"$trainer" $small --epochs 1 --out "$work/fp32" >"$work/out" 2>"$work/err" || fail "fp32 run: $(cat "$work/err")"
grep -q '"precision": "fp32"' "$work/fp32/summary.json" || fail "summary.json: no \"precision\": \"fp32\""
grep -q "precision fp32" "$work/out" || fail "fp32 banner: $(head -1 "$work/out")"

# eval --precision bf16 on the master weights (the model file is fp32 either way); sweep takes it.
"$trainer" eval --model "$work/bf16/model.mlp" --data "$data" --kernel scalar --precision bf16 >"$work/out" 2>"$work/err" &&
    grep -q "precision bf16 (kernel scalar)" "$work/out" && grep -q "10000 images: accuracy" "$work/out" ||
    fail "eval --precision bf16: $(cat "$work/err" "$work/out" | head -3)"
"$trainer" sweep --data "$data" --train-limit 300 --layers 784,8,10 --epochs 1 --kernel scalar --precision bf16 \
    --bind none --out "$work/sweep" >"$work/out" 2>"$work/err" && grep -q "kernel scalar, precision bf16" "$work/out" ||
    fail "sweep --precision bf16: $(cat "$work/err" | head -3)"

[ "$failures" = 0 ] || exit 1
echo "PASS: --precision refusals, banner, summary.json, --profile rows, resume, eval, sweep"
