#!/bin/sh
# The trainer's bad-input contract: each bad command line or bad file exits with its code
# (2 usage, 1 runtime), prints exactly one line on stderr ("trainer: error: ...") naming the
# problem, and never crashes (exit codes >= 128 fail). A failed run never replaces a good
# model.mlp. --help of the program and of every subcommand exits 0 and gives every option with
# its default.
# Usage: cli_errors.sh TRAINER MNIST_DIR   (the cases that need MNIST are skipped without it)
set -u
trainer=$1
mnist=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect_error CODE WORD ARGS...: the trainer run with ARGS exits with CODE and prints exactly
# one line on stderr, "trainer: error: ...", containing WORD.
expect_error() {
    code=$1
    word=$2
    shift 2
    checks=$((checks + 1))
    "$trainer" "$@" >"$work/stdout" 2>"$work/stderr"
    status=$?
    lines=$(wc -l <"$work/stderr")
    message=$(head -n 1 "$work/stderr")
    if [ "$status" -ge 128 ]; then
        fail "trainer $*: crashed (exit $status)"
    elif [ "$status" -ne "$code" ]; then
        fail "trainer $*: exit $status, expected $code ($message)"
    elif [ "$lines" -ne 1 ]; then
        fail "trainer $*: $lines lines on stderr, expected 1:"
        cat "$work/stderr" >&2
    elif ! grep -q '^trainer: error: ' "$work/stderr"; then
        fail "trainer $*: the message does not start with 'trainer: error: ': $message"
    elif ! grep -q -F -- "$word" "$work/stderr"; then
        fail "trainer $*: the message does not name '$word': $message"
    else
        echo "ok   exit $status  trainer $*  ->  $message"
    fi
}

# expect_success ARGS...: exit 0 and nothing on stderr.
expect_success() {
    checks=$((checks + 1))
    "$trainer" "$@" >"$work/stdout" 2>"$work/stderr"
    status=$?
    if [ "$status" -ne 0 ] || [ -s "$work/stderr" ]; then
        fail "trainer $*: exit $status, stderr:"
        cat "$work/stderr" >&2
        return 1
    fi
    return 0
}

# ---- the command line alone (no data needed: parsing fails first) ----
expect_error 2 "--bogus" --bogus
expect_error 2 "--threads" --threads 0
expect_error 2 "--lr" --lr -1
expect_error 2 "--lr" --lr nan
expect_error 2 "--batch" --batch 0
expect_error 2 "--layers" --layers 784,,10
expect_error 2 "--layers" --layers 784,abc,10
expect_error 2 "--val-split" --val-split 1.5
expect_error 2 "--epochs" --epochs
expect_error 2 "--kernel" --kernel bogus
expect_error 2 "bogus" bogus-subcommand
expect_error 2 "--model" eval
expect_error 2 "--model" predict some.png
expect_error 2 "PNG" predict --model "$work/none.mlp"
expect_error 1 "$work/none.mlp" predict --model "$work/none.mlp" some.png
expect_error 1 "$work/missing" --data "$work/missing" --out "$work/run-missing"
# An unreadable data file: a folder where the CSV should be (root reads any chmod 000 file).
mkdir "$work/folder.csv"
expect_error 1 "$work/folder.csv" --train-csv "$work/folder.csv" --out "$work/run-folder"
printf 'label,p0,p1\n3,1,x\n' >"$work/bad.csv"
expect_error 1 "$work/bad.csv" --train-csv "$work/bad.csv" --out "$work/run-bad"
printf 'not a model\n' >"$work/garbage.mlp"
expect_error 1 "$work/garbage.mlp" eval --model "$work/garbage.mlp" --data "$work/missing"
if [ "$(id -u)" -ne 0 ]; then
    printf 'label,p0\n1,2\n' >"$work/locked.csv"
    chmod 000 "$work/locked.csv"
    expect_error 1 "$work/locked.csv" --train-csv "$work/locked.csv" --out "$work/run-locked"
fi

# ---- --help: exit 0, every option listed, each option that takes a value with its default ----
check_help() {
    subcommand=$1
    shift
    checks=$((checks + 1))
    # shellcheck disable=SC2086 # an empty subcommand must vanish
    if ! "$trainer" $subcommand --help >"$work/help" 2>"$work/stderr" || [ -s "$work/stderr" ]; then
        fail "trainer $subcommand --help: non-zero exit or output on stderr"
        return
    fi
    for option in "$@"; do
        grep -q -- "^  ${option} " "$work/help" || fail "trainer $subcommand --help does not list $option"
    done
    # Option lines are "  --name VALUE  help (default: ...)"; a flag's line has no VALUE.
    grep '^  --' "$work/help" | grep -v '^  --help ' | while IFS= read -r line; do
        name_and_value=$(printf '%s\n' "$line" | sed 's/^  \(--[^ ]*\) \([^ ][^ ]*\) .*/\1 \2/')
        case "$name_and_value" in
        "$line") ;; # a flag: off unless given
        *) printf '%s\n' "$line" | grep -q '(default: ' ||
            echo "trainer $subcommand --help: no default on: $line" ;;
        esac
    done >"$work/missing_defaults"
    if [ -s "$work/missing_defaults" ]; then
        fail "$(cat "$work/missing_defaults")"
    else
        echo "ok   trainer $subcommand --help lists its options with defaults"
    fi
}
common="--threads --oversubscribe --kernel --bind --verbose"
data="--data --train-csv --test-csv --train-limit"
train="$data $common --layers --activation --batch --lr --epochs --seed --val-split --out"
# shellcheck disable=SC2086 # the lists are meant to split
{
    check_help "" $train
    check_help train $train
    check_help eval --data --test-csv $common --model
    check_help predict $common --model --invert
    check_help info $common
}
checks=$((checks + 1))
if "$trainer" help >"$work/help" 2>&1 && grep -q predict "$work/help"; then
    echo "ok   trainer help lists the subcommands"
else
    fail "trainer help: non-zero exit or no subcommand list"
fi

# ---- with MNIST: layer sizes against the data, and a failed run keeps the good model ----
if [ ! -f "$mnist/train-images-idx3-ubyte" ] && [ ! -f "$mnist/train-images-idx3-ubyte.gz" ]; then
    echo "$checks checks, $failures failed"
    [ "$failures" -eq 0 ] || exit 1
    echo "SKIPPED: the MNIST cases: no MNIST in $mnist (run scripts/fetch_data.sh)"
    exit 77
fi
expect_error 2 "785" --data "$mnist" --layers 785,10 --train-limit 100 --out "$work/run-785"
expect_error 2 "output size" --data "$mnist" --layers 784,32,9 --train-limit 100 --out "$work/run-9"

run="$work/run"
tiny="--data $mnist --train-limit 500 --epochs 1 --threads 2 --layers 784,32,10"
# shellcheck disable=SC2086
if expect_success $tiny --out "$run" && [ -f "$run/model.mlp" ]; then
    cp "$run/model.mlp" "$work/good.mlp"
    echo "ok   a tiny run wrote $run/model.mlp"
    # A run that fails reading its data.
    expect_error 1 "$work/bad.csv" --train-csv "$work/bad.csv" --out "$run"
    checks=$((checks + 1))
    cmp -s "$run/model.mlp" "$work/good.mlp" || fail "a run failing on its data changed model.mlp"
    # A run that fails writing its outputs after training (a folder where metrics.csv goes).
    rm -f "$run/metrics.csv"
    mkdir "$run/metrics.csv"
    # shellcheck disable=SC2086
    expect_error 1 "metrics.csv" $tiny --seed 7 --out "$run"
    checks=$((checks + 1))
    if cmp -s "$run/model.mlp" "$work/good.mlp"; then
        echo "ok   a run failing to write metrics.csv left model.mlp unchanged"
    else
        fail "a run failing to write metrics.csv replaced model.mlp"
    fi
    rmdir "$run/metrics.csv"
    # A run that fails writing summary.json (written just before model.mlp).
    rm -f "$run/summary.json"
    mkdir "$run/summary.json"
    # shellcheck disable=SC2086
    expect_error 1 "summary.json" $tiny --seed 8 --out "$run"
    checks=$((checks + 1))
    if cmp -s "$run/model.mlp" "$work/good.mlp"; then
        echo "ok   a run failing to write summary.json left model.mlp unchanged"
    else
        fail "a run failing to write summary.json replaced model.mlp"
    fi
    rmdir "$run/summary.json"
    # predict with a file that is not a PNG, and with a good model but a missing picture.
    expect_error 1 "$work/bad.csv" predict --model "$run/model.mlp" "$work/bad.csv"
    expect_error 1 "$work/none.png" predict --model "$run/model.mlp" "$work/none.png"
    # eval against data of another shape.
    printf 'label,p0,p1\n3,1,2\n' >"$work/small.csv"
    expect_error 1 "$run/model.mlp" eval --model "$run/model.mlp" --test-csv "$work/small.csv"
else
    fail "the tiny training run failed: $(cat "$work/stderr")"
fi

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
