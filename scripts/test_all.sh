#!/bin/sh
# Set-up command 2: installs what is needed, fetches the data, builds, and runs every test:
#   1. the NEON (AArch64) variant, cross-built and run under qemu     scripts/test_neon.sh
#   2. the whole suite under ASan+UBSan, the threaded tests under TSan,
#      a short training run under valgrind memcheck                   scripts/test_sanitizers.sh
#   3. every loader fuzzed for FUZZ_SECONDS (default 60) each         scripts/fuzz.sh
#   4. the main ctest suite (Release build), last, so its summary closes the output.
# Idempotent: installs and downloads only what is missing; builds are incremental.
# QUICK=1 runs only step 4.
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
jobs=$(nproc)
stage() { echo; echo "== $* ($(($(date +%s) - start)) s) =="; }

stage "install and fetch"
scripts/install_deps.sh test
scripts/fetch_data.sh

stage "build (Release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs" >build/build.log 2>&1 || { tail -40 build/build.log; exit 1; }

if [ "${QUICK:-0}" != 1 ]; then
    stage "NEON variant under qemu"
    JOBS=$jobs scripts/test_neon.sh
    stage "sanitizers"
    JOBS=$jobs scripts/test_sanitizers.sh
    stage "fuzzing"
    FUZZ_SECONDS=${FUZZ_SECONDS:-60} scripts/fuzz.sh
fi

stage "main test suite (Release build)"
ctest --test-dir build -j"$jobs" --output-on-failure
