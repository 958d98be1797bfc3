#!/bin/sh
# The trainer's reliability contract from the command line: a second trainer is refused the
# folder of a running one; --resume refuses contradicting flags,
# damaged or truncated checkpoints and other data; --patience keeps the best epoch's model;
# divergence stops with a message naming the epoch and batch and leaves the last checkpoint
# intact; --trap-fp traps; absurd --layers are refused before allocating; a model whose sizes do
# not match the data is refused by eval.
#   test_reliability_cli.sh TRAINER MNIST_DIR        (exit 77 without MNIST)
set -u
trainer=$1 data=$2
[ -f "$data/train-images-idx3-ubyte" ] || [ -f "$data/train-images-idx3-ubyte.gz" ] || {
    echo "SKIPPED: no MNIST in $data (scripts/fetch_data.sh)"; exit 77; }
work=$(mktemp -d /tmp/mlp_reliability_XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect STATUS PATTERN command...: the exit status, one line on stderr matching PATTERN.
expect() {
    want=$1 pattern=$2
    shift 2
    "$@" > "$work/out" 2> "$work/err"
    got=$?
    lines=$(wc -l < "$work/err")
    if [ "$got" -ne "$want" ] || [ "$lines" -ne 1 ] || ! grep -q -- "$pattern" "$work/err"; then
        fail "$* -> status $got (want $want), $lines stderr lines (want 1), want /$pattern/: $(cat "$work/err")"
    fi
}

small="--data $data --train-limit 600 --layers 784,32,10 --threads 2 --bind none"

# A checkpoint to play with: 2 epochs.
"$trainer" $small --epochs 2 --out "$work/run" > /dev/null 2>&1 || fail "small run failed"
checkpoint=$work/run/checkpoint.mlpc
[ -f "$checkpoint" ] || fail "no checkpoint written with --out (default --checkpoint-every 1)"

# Flags that contradict the checkpoint; a resume of a complete run; extending it with --epochs.
expect 2 "--lr contradicts the checkpoint" "$trainer" --resume "$work/run" --lr 0.5
expect 2 "--layers contradicts" "$trainer" --resume "$work/run" --layers 784,64,10
expect 2 "--seed contradicts" "$trainer" --resume "$work/run" --seed 7
expect 2 "--batch contradicts" "$trainer" --resume "$work/run" --batch 32
expect 2 "--train-limit contradicts" "$trainer" --resume "$work/run" --train-limit 500
expect 2 "--gradient-shards contradicts" "$trainer" --resume "$work/run" --gradient-shards 4
expect 2 "fewer than the 2 epochs" "$trainer" --resume "$work/run" --epochs 1
expect 1 "cannot open" "$trainer" --resume "$work/nowhere"
"$trainer" --resume "$work/run" --lr 0.1 --epochs 3 --threads 1 > "$work/out" 2>&1 ||
    fail "resume with an agreeing --lr and --epochs 3: $(cat "$work/out")"
[ "$(wc -l < "$work/run/metrics.csv")" -eq 4 ] || fail "metrics.csv should hold 3 epochs after extending"

# The run owns its folder: a second trainer (or --resume) writing into it is refused with one line
# naming the folder and the holder's pid; the lock a killed trainer leaves behind does not block.
"$trainer" $small --epochs 10000 --out "$work/busy" > /dev/null 2>&1 &
holder=$!
polls=0
while [ ! -f "$work/busy/checkpoint.mlpc" ] && [ "$polls" -lt 6000 ]; do sleep 0.01; polls=$((polls + 1)); done
expect 1 "$work/busy: another run (pid $holder) is writing into this folder" "$trainer" $small --epochs 1 --out "$work/busy"
expect 1 "another run (pid $holder) is writing" "$trainer" --resume "$work/busy" --epochs 10000
kill -9 "$holder"
wait "$holder" 2>/dev/null
"$trainer" $small --epochs 1 --out "$work/busy" > "$work/out" 2>&1 || fail "a lock left by a killed trainer blocks: $(cat "$work/out")"

# Damaged checkpoints: a flipped byte (checksum), truncated, another file type.
cp -r "$work/run" "$work/flip"
size=$(wc -c < "$checkpoint")
# complement the middle byte (writing a constant would change nothing where it already is one)
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$checkpoint" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - byte)))" |
    dd of="$work/flip/checkpoint.mlpc" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cmp -s "$checkpoint" "$work/flip/checkpoint.mlpc" && fail "the byte flip changed nothing"
expect 1 "checksum mismatch" "$trainer" --resume "$work/flip"
cp -r "$work/run" "$work/cut"
head -c $((size - 100)) "$checkpoint" > "$work/cut/checkpoint.mlpc"
expect 1 "checkpoint.mlpc" "$trainer" --resume "$work/cut"
cp "$work/run/model.mlp" "$work/cut/checkpoint.mlpc"
expect 1 "not an mlptrain checkpoint" "$trainer" --resume "$work/cut"

# Other training data than the checkpoint's: a 784-column CSV of 700 images.
awk 'BEGIN { printf "label"; for (i = 0; i < 784; i++) printf ",pixel%d", i; printf "\n";
             for (r = 0; r < 700; r++) { printf "%d", r % 10; for (i = 0; i < 784; i++) printf ",%d", (r * 7 + i) % 256; printf "\n" } }' \
    > "$work/other.csv"
expect 1 "training data differs from the checkpoint" "$trainer" --resume "$work/run" --train-csv "$work/other.csv"

# A model whose layer sizes do not match the data (16 inputs against 784 pixels).
awk 'BEGIN { printf "label"; for (i = 0; i < 16; i++) printf ",p%d", i; printf "\n";
             for (r = 0; r < 200; r++) { printf "%d", r % 10; for (i = 0; i < 16; i++) printf ",%d", (r * 13 + i * 5) % 256; printf "\n" } }' \
    > "$work/tiny.csv"
"$trainer" --train-csv "$work/tiny.csv" --layers 16,8,10 --epochs 1 --threads 1 --out "$work/tiny" > /dev/null 2>&1 ||
    fail "training on a 16-column CSV"
expect 1 "the model takes 16 inputs" "$trainer" eval --model "$work/tiny/model.mlp" --data "$data"
cp -r "$work/tiny" "$work/tiny2"
expect 1 "input size is 16" "$trainer" --resume "$work/tiny2" --data "$data"

# Parameter counts that overflow the limit are refused before allocating anything.
expect 2 "parameters, more than the limit" "$trainer" --data "$data" --layers 784,1000000,1000000,10

# --patience: stops after N epochs without improvement and keeps the best epoch's model, which is
# byte for byte the model of a run that trains exactly that many epochs.
"$trainer" --data "$data" --train-limit 500 --layers 784,128,10 --lr 0.5 --epochs 40 --patience 2 \
    --threads 2 --bind none --out "$work/patience" > "$work/patience.log" 2>&1 || fail "patience run: $(cat "$work/patience.log")"
best=$(sed -n 's/.*keeping the model of epoch \([0-9]*\).*/\1/p' "$work/patience.log")
done_epochs=$(($(wc -l < "$work/patience/metrics.csv") - 1))
if [ -z "$best" ]; then
    fail "no 'keeping the model of epoch' line: $(tail -3 "$work/patience.log")"
else
    grep -q "early stop" "$work/patience.log" || fail "40 epochs of 400 images should overfit and stop early"
    [ "$done_epochs" -eq $((best + 2)) ] || fail "stopped after $done_epochs epochs, best $best, patience 2"
    "$trainer" --data "$data" --train-limit 500 --layers 784,128,10 --lr 0.5 --epochs "$best" \
        --threads 2 --bind none --out "$work/best" > /dev/null 2>&1 || fail "run of $best epochs"
    cmp "$work/patience/model.mlp" "$work/best/model.mlp" || fail "--patience did not keep epoch $best's model"
fi

# Divergence: a rate far too high. The message names the epoch and the batch and suggests a lower
# --lr; no model.mlp is written; a checkpoint from an earlier epoch stays loadable.
expect 1 "diverged in epoch 1 at batch [0-9]* of [0-9]*.*lower --lr" \
    "$trainer" --data "$data" --train-limit 1000 --layers 784,256,256,256,10 --lr 1e6 --threads 2 --out "$work/nan"
[ ! -f "$work/nan/model.mlp" ] || fail "a diverged run wrote model.mlp"
"$trainer" --data "$data" --train-limit 1000 --layers 784,128,128,128,128,10 --lr 0.8 --kernel scalar \
    --epochs 5 --threads 2 --bind none --out "$work/late" > /dev/null 2> "$work/late.err"
status=$?
epoch=$(sed -n 's/.*diverged in epoch \([0-9]*\).*/\1/p' "$work/late.err")
if [ "$status" -eq 1 ] && [ -n "$epoch" ] && [ "$epoch" -ge 2 ]; then
    grep -q "last good checkpoint is intact" "$work/late.err" || fail "no word of the intact checkpoint: $(cat "$work/late.err")"
    "$trainer" --resume "$work/late" --epochs $((epoch - 1)) --threads 1 > "$work/out" 2>&1 ||
        fail "the checkpoint left by the diverged run does not load: $(cat "$work/out")"
else
    echo "note: the lr 0.8 run did not diverge after epoch 1 here (status $status); intact-checkpoint case not exercised"
fi

# --trap-fp: a clean run stays clean; the diverging one dies by SIGFPE with a message.
"$trainer" --data "$data" --train-limit 600 --layers 784,32,10 --epochs 1 --trap-fp --threads 2 \
    --out "$work/trap_ok" > /dev/null 2> "$work/err" || fail "--trap-fp on a healthy run: $(cat "$work/err")"
"$trainer" --data "$data" --train-limit 1000 --layers 784,256,256,256,10 --lr 1e6 --trap-fp --threads 1 \
    --out "$work/trap" > /dev/null 2> "$work/err"
status=$?
[ "$status" -eq 136 ] && grep -q "floating-point exception (--trap-fp)" "$work/err" ||
    fail "--trap-fp: status $status (want 136 = SIGFPE): $(head -c 300 "$work/err")"

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "all reliability CLI checks passed"
