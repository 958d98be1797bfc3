#!/bin/sh
# Fuzzes the loaders with libFuzzer (clang-14, -fsanitize=fuzzer,address,undefined):
#   idx (IDX raw/gzip reader), csv (CSV reader), model (model file), checkpoint (checkpoint file),
#   png (the PNG path of `trainer predict`), safetensors and npz (`trainer import`, cJSON and libzip).
# Each target runs FUZZ_SECONDS seconds (default 60) from its seed corpus fuzz/corpus/<target>
# (new inputs go to a scratch corpus in the build folder, the repository's seeds stay as they
# are) and prints its executions. A crash is copied to tests/regressions/<target>/, where the
# fuzz_replay_<target> ctest replays it forever after; the script then exits 1.
#   scripts/fuzz.sh [TARGET...]        env: FUZZ_SECONDS, BUILD_PREFIX (default build-check)
set -eu
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${BUILD_PREFIX:-build-check}-fuzz
targets=${*:-idx csv model checkpoint png safetensors npz}
cc=${FUZZ_CC:-clang-14}
command -v "$cc" > /dev/null || { echo "fuzz.sh: $cc not found (apt-get install clang-14)"; exit 77; }

# The library sources the loaders need, compiled once with coverage and sanitizers.
sources="src/core/common.c src/core/rng.c src/core/file_util.c src/core/data_idx.c src/core/data_csv.c src/core/dataset.c
         src/core/model.c src/core/checkpoint.c src/core/image.c src/core/optimizer.c
         src/interop/interop_layers.c src/interop/safetensors.c src/interop/npz.c"
flags="-g -O1 -std=c11 -Wall -Wextra -ffp-contract=off -fno-sanitize-recover=undefined -Iinclude -Isrc"
mkdir -p "$build/objects"
objects=""
for source in $sources; do
    object="$build/objects/$(basename "$source" .c).o"
    # shellcheck disable=SC2086
    "$cc" $flags -fsanitize=fuzzer-no-link,address,undefined -c "$source" -o "$object"
    objects="$objects $object"
done

status=0
for target in $targets; do
    case $target in
        checkpoint | png) max_len=8192 ;;
        *) max_len=4096 ;;
    esac
    # shellcheck disable=SC2086
    "$cc" $flags -fsanitize=fuzzer,address,undefined "fuzz/fuzz_$target.c" $objects -lcjson -lzip -lpng -lz -lm \
        -o "$build/fuzz_$target"
    mkdir -p "$build/corpus/$target" "$build/artifacts/$target"
    rm -f "$build/artifacts/$target"/*
    log="$build/fuzz_$target.log"
    "$build/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$target/" \
        "$build/corpus/$target" "fuzz/corpus/$target" > "$log" 2>&1 || true
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    corpus=$(ls "$build/corpus/$target" "fuzz/corpus/$target" | wc -l)
    # crash-, leak-, oom-, timeout- inputs fail the run; slow-unit- ones are kept as regressions too
    found=$(ls "$build/artifacts/$target" | grep -c -v '^slow-unit-' || true)
    slow=$(ls "$build/artifacts/$target" | grep -c '^slow-unit-' || true)
    echo "fuzz $target: ${runs:-?} executions in $seconds s, corpus $corpus inputs, $found failures, $slow slow inputs"
    if [ "$found" -gt 0 ] || [ "$slow" -gt 0 ]; then
        mkdir -p "tests/regressions/$target"
        cp "$build/artifacts/$target"/* "tests/regressions/$target/"
        echo "  saved to tests/regressions/$target/ (see $log):"
        grep -m 3 "ERROR\|SUMMARY\|deadly signal" "$log" | sed 's/^/  /'
        [ "$found" -eq 0 ] || status=1
    fi
done
exit "$status"
