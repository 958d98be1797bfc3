#!/bin/sh
# Installs the Debian packages mlptrain needs (idempotent: only missing packages are installed).
#
#   scripts/install_deps.sh [build|test|compare]
#
#   build    what the trainer, bench and experiments build against (default)
#   test     build + what the test command uses: the aarch64 cross compiler and qemu (NEON tests),
#            clang-14's OpenMP runtime (TSan), valgrind, the Fashion-MNIST package; matplotlib
#            (scripts/scaling_report.py's charts, the scaling_report test) and Google Benchmark's
#            compare.py with the NumPy/SciPy it imports (scripts/compare_bench.sh); the interop checks'
#            onnx checker, OpenCV (runs the ONNX export), PyTorch (tests/interop, crosscheck_pytorch.py);
#            pip, setuptools and venv (tests/api/pip_install.sh installs python/ into a venv)
#   compare  build + PyTorch and NumPy for scripts/compare_pytorch.py
set -eu

build_packages="build-essential cmake pkg-config git ca-certificates zlib1g-dev libpng-dev \
libhwloc-dev hwloc libbenchmark-dev libopenblas-dev liblapacke-dev liblbfgs-dev \
libplplot-dev plplot-driver-cairo libopenmpi-dev openmpi-bin npm dataset-fashion-mnist \
libprotobuf-c-dev protobuf-c-compiler libonnx-dev libcjson-dev libzip-dev"
test_packages="gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user clang-14 libclang-rt-14-dev \
libomp-14-dev valgrind python3 \
python3-matplotlib libbenchmark-tools python3-numpy python3-scipy \
python3-onnx python3-opencv python3-torch \
python3-pip python3-setuptools python3-venv"
compare_packages="python3-torch python3-numpy python3-matplotlib time"

case "${1:-build}" in
build) wanted=$build_packages ;;
test) wanted="$build_packages $test_packages" ;;
compare) wanted="$build_packages $compare_packages" ;;
*) echo "install_deps: unknown set '$1' (expected build, test or compare)" >&2; exit 2 ;;
esac

# npm: Node.js images often ship npm without the Debian package; either will do.
missing=""
for package in $wanted; do
    if [ "$package" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $package"
    fi
done
if [ -z "$missing" ]; then
    echo "install_deps: all packages present"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install_deps: installing$missing"
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
