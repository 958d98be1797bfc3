#!/bin/sh
# Exact resume: a run stopped in the middle of an epoch (SIGKILL, SIGINT or SIGTERM) and resumed
# with `trainer --resume DIR` ends with the same model.mlp, byte for byte, as an uninterrupted run,
# and the same costs and accuracies in metrics.csv (the timing columns differ).
#   test_resume.sh kill|int|term TRAINER MNIST_DIR
# Exit 77 (skipped) when the MNIST files are absent.
set -u
mode=$1 trainer=$2 data=$3
[ -f "$data/train-images-idx3-ubyte" ] || [ -f "$data/train-images-idx3-ubyte.gz" ] || {
    echo "SKIPPED: no MNIST in $data (scripts/fetch_data.sh)"; exit 77; }
work=$(mktemp -d /tmp/mlp_resume_XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL ($mode): $*"; exit 1; }

# Scalar kernel, batch 4, 1,200 batches an epoch. The signal goes a third of an epoch after the
# end of epoch 2 (an epoch's duration measured between the first two, so the test adapts to the
# machine's speed and load), in the middle of epoch 3; epochs 4 and 5 are the margin for a load
# that changes meanwhile (with 3 epochs a busy machine let the run finish before the signal). One thread (barriers crawl on a loaded
# 2-core machine); the resume runs with two.
options="--data $data --train-limit 6000 --epochs 5 --layers 784,128,10 --batch 4 --kernel scalar --threads 1 --bind none"
milliseconds() { date +%s%N | cut -b1-13; }

# shellcheck disable=SC2086
"$trainer" $options --out "$work/reference" > "$work/reference.log" 2>&1 || fail "reference run: $(cat "$work/reference.log")"

# shellcheck disable=SC2086
"$trainer" $options --out "$work/run" > "$work/run.log" 2>&1 & # not a function: $! is the trainer
pid=$!
# Waits until metrics.csv holds $1 epochs (it is replaced atomically at every epoch's end).
wait_for_epochs() {
    polls=0
    while [ "$( (cat "$work/run/metrics.csv" 2>/dev/null || true) | wc -l)" -le "$1" ]; do
        kill -0 "$pid" 2>/dev/null || fail "the run ended before epoch $1 did: $(cat "$work/run.log")"
        sleep 0.01
        polls=$((polls + 1))
        [ "$polls" -lt 60000 ] || { kill -9 "$pid"; fail "epoch $1 not done after 10 minutes"; }
    done
}
wait_for_epochs 1
first=$(milliseconds)
wait_for_epochs 2
epoch_ms=$(($(milliseconds) - first))
sleep "$(awk -v ms="$epoch_ms" 'BEGIN { printf "%.3f", ms / 3000 }')"
case $mode in
    kill) signal=KILL expected=137 ;;
    int) signal=INT expected=130 ;;
    term) signal=TERM expected=143 ;;
    *) fail "unknown mode" ;;
esac
kill -s "$signal" "$pid"
wait "$pid"
status=$?
[ "$status" -eq "$expected" ] || fail "exit status $status after SIG$signal, expected $expected: $(cat "$work/run.log")"
[ ! -f "$work/run/model.mlp" ] || fail "the run had already finished when SIG$signal came (machine too fast?)"
if [ "$mode" != kill ]; then
    grep -q "interrupted by SIG$signal in epoch [0-9]* after batch [0-9]* of" "$work/run.log" ||
        fail "no mid-epoch checkpoint message: $(tail -1 "$work/run.log")"
fi

# Resume with another thread count: the kernels are partition-independent, so it must not matter.
"$trainer" --resume "$work/run" --threads 2 --bind none > "$work/resume.log" 2>&1 ||
    fail "resume: $(cat "$work/resume.log")"
grep -q "resuming from" "$work/resume.log" || fail "resume did not say where it resumed"
cmp "$work/reference/model.mlp" "$work/run/model.mlp" || fail "the resumed model differs from the uninterrupted one"
cut -d, -f1-6 "$work/reference/metrics.csv" > "$work/reference.csv"
cut -d, -f1-6 "$work/run/metrics.csv" > "$work/run.csv"
cmp "$work/reference.csv" "$work/run.csv" || fail "metrics.csv differs: $(diff "$work/reference.csv" "$work/run.csv")"
echo "PASS ($mode): $(grep -h "interrupted\|resuming" "$work/run.log" "$work/resume.log" | tr '\n' ' ')"
