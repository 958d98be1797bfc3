#!/bin/sh
# Cross-builds mlptrain for AArch64 (the NEON kernel variant) and runs ctest under qemu.
#   scripts/test_neon.sh [ctest arguments...]     e.g. scripts/test_neon.sh -R kernels_
# Needs gcc-aarch64-linux-gnu, g++-aarch64-linux-gnu and qemu-user. The library reads MNIST with
# zlib and libpng, so their arm64 dev packages are installed through Debian multiarch when
# missing (as root). Build folder: build-neon (override with BUILD_DIR=...).
# SANITIZE=1: AddressSanitizer + UBSan build in build-neon-asan (LeakSanitizer cannot run under
# qemu, so leak checking is off there; native ASan builds check leaks).
# Prints ctest's summary; exits non-zero when the build or any test fails.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
sanitize=${SANITIZE:-0}
jobs=${JOBS:-2}
if [ "$sanitize" = 1 ]; then
    build=${BUILD_DIR:-$root/build-neon-asan}
    build_type=Debug
    sanitizer_flags="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    ASAN_OPTIONS=detect_leaks=0
    export ASAN_OPTIONS
else
    build=${BUILD_DIR:-$root/build-neon}
    build_type=Release
    sanitizer_flags=""
fi

for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ qemu-aarch64; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test_neon.sh: $tool not found (apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user)" >&2
        exit 1
    fi
done

# zlib and libpng for arm64 (multiarch); idempotent: nothing happens when already installed.
if ! dpkg -s zlib1g-dev:arm64 libpng-dev:arm64 >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test_neon.sh: zlib1g-dev:arm64 and libpng-dev:arm64 are missing; run as root to install them" >&2
        exit 1
    fi
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        dpkg --add-architecture arm64
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        zlib1g-dev:arm64 libpng-dev:arm64
fi

# hwloc, Google Benchmark, PLplot, the LAPACKE/liblbfgs experiments and interop (protobuf-c, cJSON,
# libzip) have no arm64 libraries here.
cmake -S "$root" -B "$build" \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64.cmake" \
    -DCMAKE_BUILD_TYPE="$build_type" \
    -DCMAKE_C_FLAGS="$sanitizer_flags" -DCMAKE_CXX_FLAGS="$sanitizer_flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$sanitizer_flags" \
    -DMLP_WITH_HWLOC=OFF -DMLP_WITH_PLOTS=OFF -DMLP_WITH_BENCH=OFF -DMLP_WITH_EXPERIMENTS=OFF \
    -DMLP_WITH_INTEROP=OFF
cmake --build "$build" -j "$jobs"

cd "$build"
# qemu's CPU model: "max" (qemu-user's default, said here) has FEAT_BF16, which the neon_bf16
# variant's test (kernels_neon_bf16, BFDOT) needs; QEMU_CPU=cortex-a53 turns it off (that test
# then skips).
QEMU_CPU=${QEMU_CPU:-max}
export QEMU_CPU
# ctest runs each test program through qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR). Without
# arguments, two kinds of test are left out, and named:
#  - tests whose command is not emulated (shell scripts that execute the AArch64 trainer
#    directly; there is no binfmt_misc here to hand those to qemu),
#  - NEON_SLOW_TESTS (ctest names, |-separated): MNIST training runs that take many
#    minutes under emulation, and the installed library's C tests (api_errors and api_mnist ran
#    for over 7 minutes under qemu-user without finishing, not yet understood; they pass
#    natively and under ASan), and plan_bitwise (54 MNIST trainings) and plan_file (the plan
#    measured with an OpenMP team, and trainings: both over 12 minutes under qemu-user at load
#    3 without finishing), and team_barrier (threads spinning on each other: 217 s under
#    qemu-user at 100% of one core without finishing, like the OpenMP teams above; it passes
#    natively and under TSan). NEON_SLOW_TESTS= (empty) runs them too.
if [ $# -eq 0 ]; then
    not_emulated=$(ctest --show-only=json-v1 | python3 -c '
import json, sys
tests = json.load(sys.stdin)["tests"]
print("|".join(t["name"] for t in tests
               if "qemu-aarch64" not in (t.get("command") or [""])[0]))')
    slow=${NEON_SLOW_TESTS-training_subset|golden_trajectory|threads_bitwise|training_fused|binary_models|resume_run_api|precision_bf16|regular|api_errors|api_mnist|plan_bitwise|plan_file|team_barrier}
    exclude=$(printf '%s|%s' "$not_emulated" "$slow" | sed 's/^|//; s/|$//')
    if [ -n "$exclude" ]; then
        echo "test_neon.sh: not run under qemu: $exclude"
        set -- -E "^($exclude)\$"
    fi
fi
status=0
ctest --output-on-failure -j "$jobs" --timeout 1200 "$@" || status=$?
exit $status
