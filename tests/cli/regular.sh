#!/bin/sh
# --dropout and --augment on the command line: bad specs are usage errors (exit 2, one line
# naming the option); a short run prints the recipe and trains; `trainer augment` writes a PNG of
# the promised size; a CSV of pictures that are not 2-D is refused for --augment.
# Usage: regular.sh TRAINER MNIST_DIR    (exit 77 without MNIST)
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

# usage_error WHAT ARGS...: exit 2 and one line on stderr that names WHAT.
usage_error() {
    what=$1
    shift
    "$trainer" "$@" --data "$data" --train-limit 200 --epochs 1 --out "$work/bad" >"$work/out" 2>"$work/err"
    status=$?
    [ "$status" = 2 ] || fail "$*: exit $status, expected 2"
    [ "$(wc -l <"$work/err")" = 1 ] || fail "$*: not one line on stderr: $(cat "$work/err")"
    grep -q -- "$what" "$work/err" || fail "$*: the message does not name $what: $(cat "$work/err")"
}
usage_error --dropout --dropout 1
usage_error --dropout --dropout -0.1
usage_error --dropout --dropout 0.1,abc
usage_error --dropout --dropout 0.1,0.2,0.3 --layers 784,32,16,10
usage_error --dropout --dropout 0.5 --layers 784,10
usage_error --augment --augment zoom=2
usage_error --augment --augment shift=-2
usage_error --augment --augment elastic=34
usage_error --augment --augment rotate=200
usage_error --dropout sweep --dropout 0.1,0.2,0.3 --layers 784,32,10
usage_error --augment sweep --augment scale=1.5 --layers 784,32,10

# A CSV of 10-pixel pictures loads as 1 x 10: augmentation is refused, dropout is fine.
{ printf 'label'; for j in 0 1 2 3 4 5 6 7 8 9; do printf ',pixel%d' "$j"; done; printf '\n'
  for i in 0 1 2 3 4 5 6 7 8 9 10 11; do printf '%d' $((i % 10)); for j in 0 1 2 3 4 5 6 7 8 9; do printf ',%d' $(((i * 7 + j * 13) % 256)); done; printf '\n'; done
} >"$work/small.csv"
"$trainer" --train-csv "$work/small.csv" --layers 10,8,10 --epochs 1 --augment shift=1 --out "$work/csv" \
    >"$work/out" 2>"$work/err"
status=$?
[ "$status" = 2 ] || fail "--augment on 1 x 10 pictures: exit $status, expected 2"
grep -q "1 x 10" "$work/err" || fail "--augment on 1 x 10 pictures: $(cat "$work/err")"
"$trainer" --train-csv "$work/small.csv" --layers 10,8,10 --epochs 1 --dropout 0.5 --val-split 0.25 \
    --out "$work/csv-dropout" >"$work/out" 2>&1 || fail "--dropout on a CSV: $(tail -n 2 "$work/out")"

# A short run with both, from --recipe fast with some of its options overridden: the banner
# names them, the model is written, summary.json records the whole recipe.
"$trainer" --data "$data" --train-limit 600 --epochs 1 --layers 784,32,16,10 --dropout 0.2,0.1 \
    --augment shift=2,rotate=10,scale=0.1,elastic=34:4 --threads 2 --out "$work/run" \
    --recipe fast --optimizer adamw --lr 0.001 --weight-decay 0.01 --beta2 0.99 >"$work/out" 2>&1 ||
    fail "training with --dropout --augment: $(tail -n 2 "$work/out")"
grep -q "dropout 0.2,0.1; augment shift=2,rotate=10,scale=0.1,elastic=34:4" "$work/out" ||
    fail "the banner does not name the recipe: $(head -n 3 "$work/out")"
[ -s "$work/run/model.mlp" ] || fail "no model.mlp"
for line in '"recipe": "fast"' '"optimizer": "adamw"' '"learning_rate": 0.001' '"batch": 128' \
    '"momentum": 0.9,' '"beta1": 0.9,' '"beta2": 0.99,' '"eps": 1e-08,' '"weight_decay": 0.01,' \
    '"lr_schedule": "onecycle"' '"warmup_epochs": 0,' '"lr_min": 0,' '"lr_plateau": 0,' \
    '"dropout": [0.2, 0.1],' '"augment": "shift=2,rotate=10,scale=0.1,elastic=34:4",' \
    '"augment_shift": 2,' '"augment_rotate": 10,' '"augment_scale": 0.1,' \
    '"augment_elastic_alpha": 34,' '"augment_elastic_sigma": 4'; do
    grep -qF "$line" "$work/run/summary.json" || fail "summary.json lacks $line: $(cat "$work/run/summary.json")"
done
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/run/summary.json" ||
        fail "summary.json is not JSON"
fi
# Without --recipe: the default preset's name, no dropout, augmentation off.
"$trainer" --data "$data" --train-limit 300 --epochs 1 --layers 784,16,10 --out "$work/plain" \
    >"$work/out" 2>&1 || fail "a plain run: $(tail -n 2 "$work/out")"
for line in '"recipe": "study"' '"optimizer": "sgd"' '"dropout": [0],' '"augment": "off",'; do
    grep -qF "$line" "$work/plain/summary.json" || fail "plain summary.json lacks $line"
done

# trainer augment: a PNG of (1 + columns) x count cells.
"$trainer" augment --data "$data" --out "$work/grid.png" --count 3 --columns 4 --zoom 2 >"$work/out" 2>&1 ||
    fail "trainer augment: $(cat "$work/out")"
grep -q "saved $work/grid.png (312 x 184)" "$work/out" || fail "trainer augment: $(cat "$work/out")"
# PNG signature and IHDR width/height (big-endian at bytes 16..23).
size=$(od -An -tu1 -j16 -N8 "$work/grid.png" | tr -s ' ' | sed 's/^ //')
[ "$size" = "0 0 1 56 0 0 0 184" ] || fail "grid.png: IHDR size bytes '$size', expected 312 x 184"
"$trainer" augment --data "$data" >"$work/out" 2>"$work/err"
[ $? = 2 ] || fail "trainer augment without --out: not a usage error"
"$trainer" augment --data "$data" --out "$work/x.png" --augment zoom=3 >"$work/out" 2>"$work/err"
[ $? = 2 ] || fail "trainer augment --augment zoom=3: not a usage error"

[ "$failures" = 0 ] && echo "regular.sh: all passed"
exit "$failures"
