#!/bin/sh
# Set-up command 1: installs what is needed, fetches MNIST, builds, and trains the default network
# (784,128,64,10, relu, batch 64, lr 0.1, 10 epochs, seed 42) on MNIST. Idempotent.
# Extra arguments go to the trainer, e.g. scripts/train_default.sh --threads 1 --out runs/mine
set -eu
cd "$(dirname "$0")/.."
scripts/install_deps.sh build
scripts/fetch_data.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
exec build/src/trainer "$@"
