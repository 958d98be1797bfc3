#!/bin/sh
# Regenerates the study's figures in docs/ (README, "Reproducing the study"): one trainer
# command per figure, the runs kept under runs/figures/.
#   usage: scripts/make_figures.sh [TRAINER]       (default: build/src/trainer)
#   environment: EPOCHS (sweeps, default 10), CURVE_EPOCHS (default 3), THREADS (default: cores)
set -eu
cd "$(dirname "$0")/.."
trainer=${1:-build/src/trainer}
runs=runs/figures
epochs=${EPOCHS:-10}
curve_epochs=${CURVE_EPOCHS:-3}
if [ ! -x "$trainer" ]; then
    echo "make_figures.sh: $trainer not found: build first (cmake -S . -B build && cmake --build build)" >&2
    exit 1
fi
mkdir -p docs "$runs"
# Extra options for every command: the thread count when THREADS is set.
set --
if [ -n "${THREADS:-}" ]; then set -- --threads "$THREADS"; fi

# Learning curves of the default network, and its first-layer weights.
"$trainer" train --epochs "$curve_epochs" --out "$runs/train" "$@"
cp "$runs/train/curves.png" docs/curves.png
"$trainer" weights --model "$runs/train/model.mlp" --max 16 --out "$runs/weights"
cp "$runs/weights/weights.png" docs/weights-784-128-64-10.png

# The two layer-size comparisons: 784,16,32,10 vs 784,32,16,10 and 784,6,4,10 vs 784,600,400,10.
"$trainer" sweep --epochs "$epochs" --out "$runs/sweep" "$@"
cp "$runs/sweep/sweep-1.png" docs/sweep-16-32-vs-32-16.png
cp "$runs/sweep/sweep-2.png" docs/sweep-6-4-vs-600-400.png

# "Is this a 3?": the four fits of one linear score, each drawn as a 28x28 weight heatmap.
"$trainer" binary --digit 3 --method normal --noise 0.02 --out "$runs/binary-normal" "$@"
"$trainer" binary --digit 3 --method lbfgs --out "$runs/binary-lbfgs" "$@"
"$trainer" binary --digit 3 --method gd --out "$runs/binary-gd" "$@"
"$trainer" binary --digit 3 --method neuron --out "$runs/binary-neuron" "$@"
for method in normal lbfgs gd neuron; do
    cp "$runs/binary-$method/weights.png" "docs/binary-$method.png"
done
ls -l docs/*.png
