#!/bin/sh
# trainer predict on real digits: trains a small model (2,000 MNIST images, 6 epochs), writes
# MNIST test images as PNGs (28x28 grey, and 56x56 RGB with every pixel doubled) and checks that
# predict prints each picture's true class for both forms.
# Usage: predict.sh TRAINER WRITE_DIGIT_PNG MNIST_DIR
set -u
trainer=$1
write_digit_png=$2
mnist=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -f "$mnist/t10k-images-idx3-ubyte" ] && [ ! -f "$mnist/t10k-images-idx3-ubyte.gz" ]; then
    echo "SKIPPED: no MNIST in $mnist (run scripts/fetch_data.sh)"
    exit 77
fi
failures=0
if ! "$trainer" --data "$mnist" --train-limit 2000 --epochs 6 --layers 784,64,10 --threads 2 \
    --out "$work/run" >"$work/train.log" 2>&1; then
    echo "FAIL: the training run failed:" >&2
    cat "$work/train.log" >&2
    exit 1
fi
# Test images 0, 2, 3, 4 are the digits 7 1 0 4 (image 1, a 2, is one this small model gets wrong).
for index in 0 2 3 4; do
    label=$("$write_digit_png" "$mnist" "$index" "$work/grey$index.png" "$work/rgb$index.png") || {
        echo "FAIL: write_digit_png $index" >&2
        exit 1
    }
    for picture in "$work/grey$index.png" "$work/rgb$index.png"; do
        output=$("$trainer" predict --model "$work/run/model.mlp" "$picture" 2>&1)
        status=$?
        expected="$picture: $label "
        case "$output" in
        "$expected"*) [ "$status" -eq 0 ] && echo "ok   $output (true class $label)" ;;
        *)
            echo "FAIL: exit $status, expected class $label: $output" >&2
            failures=$((failures + 1))
            ;;
        esac
    done
done
# Several pictures in one call: one line each, in order.
lines=$("$trainer" predict --model "$work/run/model.mlp" "$work/grey0.png" "$work/rgb2.png" | wc -l)
[ "$lines" -eq 2 ] || {
    echo "FAIL: two pictures gave $lines lines" >&2
    failures=$((failures + 1))
}
echo "$failures failed"
[ "$failures" -eq 0 ]
