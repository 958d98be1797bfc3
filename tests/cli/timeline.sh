#!/bin/sh
# MLP_TIMELINE=FILE (src/core/timeline.h): the trainer writes each thread's events as CSV; every
# thread has one 'step' per batch, as many phase ends as starts and barrier departures as
# arrivals, in time order; scripts/step_timeline.py summarises it; the model is the one trained
# without it; an unwritable FILE costs a one-line warning, not the run.
# Usage: timeline.sh TRAINER MNIST_DIR SOURCE_DIR   (exit 77 without MNIST or python3)
set -u
trainer=$1
mnist=$2
source=$3
[ -f "$mnist/train-images-idx3-ubyte" ] || [ -f "$mnist/train-images-idx3-ubyte.gz" ] ||
    { echo "SKIPPED: no MNIST in $mnist"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIPPED: no python3"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# 1,000 images, 800 of them trained on: 13 batches of 64
small="--data $mnist --train-limit 1000 --epochs 1 --batch 64 --threads 2 --checkpoint-every 0"

# shellcheck disable=SC2086
"$trainer" $small --out "$work/plain" >/dev/null 2>&1 || fail "trainer without MLP_TIMELINE: exit $?"
# shellcheck disable=SC2086
MLP_TIMELINE="$work/timeline.csv" "$trainer" $small --out "$work/timed" >/dev/null 2>"$work/timed.err" ||
    fail "trainer with MLP_TIMELINE: exit $? ($(cat "$work/timed.err"))"
cmp -s "$work/plain/model.mlp" "$work/timed/model.mlp" || fail "the model differs with MLP_TIMELINE"

if [ ! -s "$work/timeline.csv" ]; then
    fail "MLP_TIMELINE=$work/timeline.csv: no file written"
else
    check=$(python3 - "$work/timeline.csv" <<'PYTHON'
import collections, csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
problems = []
if not rows or list(rows[0]) != ["thread", "seconds", "event", "layer", "kernel"]:
    problems.append("header is not thread,seconds,event,layer,kernel")
counts = collections.defaultdict(collections.Counter)
last = {}
for row in rows:
    thread, seconds = int(row["thread"]), float(row["seconds"])
    counts[thread][row["event"]] += 1
    if seconds < last.get(thread, 0.0):
        problems.append(f"thread {thread}: time goes back at {seconds}")
    last[thread] = seconds
for thread, count in sorted(counts.items()):
    if count["step"] != 13:
        problems.append(f"thread {thread}: {count['step']} steps, expected 13")
    if count["start"] != count["end"] or count["barrier_arrive"] != count["barrier_leave"]:
        problems.append(f"thread {thread}: unbalanced events {dict(count)}")
print("; ".join(problems) if problems else f"ok {len(counts)} threads, {len(rows)} events")
PYTHON
)
    case $check in
    ok*) echo "ok   timeline: $check" ;;
    *) fail "timeline: $check" ;;
    esac
    summary=$(python3 "$source/scripts/step_timeline.py" "$work/timeline.csv" 2>&1)
    if echo "$summary" | grep -q "^thread 0: step median" && echo "$summary" | grep -q "L0 forward_gemm"; then
        echo "ok   step_timeline.py: $(echo "$summary" | head -1)"
    else
        fail "step_timeline.py printed: $summary"
    fi
fi

# shellcheck disable=SC2086
MLP_TIMELINE="$work/no/such/folder/t.csv" "$trainer" $small --out "$work/unwritable" >/dev/null 2>"$work/unwritable.err" ||
    fail "trainer with an unwritable MLP_TIMELINE: exit $?"
if [ "$(wc -l <"$work/unwritable.err")" -eq 1 ] && grep -q "MLP_TIMELINE: .*no/such/folder" "$work/unwritable.err" &&
    [ -f "$work/unwritable/model.mlp" ]; then
    echo "ok   unwritable MLP_TIMELINE: $(cat "$work/unwritable.err")"
else
    fail "unwritable MLP_TIMELINE: expected one warning line and the model, got: $(cat "$work/unwritable.err")"
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "timeline: all checks passed"
