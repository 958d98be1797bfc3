#!/bin/sh
# The library trains the CLI's model: for the same images (the first N of MNIST's training file),
# recipe and seed, mlp_net_train + mlp_net_save (test_api write) and `trainer --train-limit N`
# write byte-identical model files, with 1 and with 2 threads.
#   api_vs_cli.sh TRAINER TEST_API DATA_DIR
set -eu
trainer=$1 test_api=$2 data=$3
if [ ! -f "$data/train-images-idx3-ubyte" ] && [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
    echo "SKIPPED: no MNIST in $data (run scripts/fetch_data.sh)"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for threads in 1 2; do
    "$trainer" --data "$data" --train-limit 3000 --epochs 2 --threads "$threads" --out "$work/cli$threads" >/dev/null
    "$test_api" write "$data" 3000 2 "$threads" "$work/api$threads.mlp"
    if ! cmp "$work/cli$threads/model.mlp" "$work/api$threads.mlp"; then
        echo "FAIL: with $threads thread(s) the library's model differs from the trainer's"
        exit 1
    fi
    echo "ok: $threads thread(s): byte-identical model files"
done
cmp "$work/api1.mlp" "$work/api2.mlp"
echo "ok: 1 and 2 threads give the same file"
