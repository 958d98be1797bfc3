#!/bin/sh
# Data-parallel scaling on one machine: training throughput of the same run as a plain single
# process, with gradient shards but no MPI, and under mpirun with 1 and 2 ranks (one OpenMP
# thread each, no binding), the gradient gathers overlapped with the backward pass or not
# (MLP_GRADIENT_OVERLAP=0); the 2-thread single process for comparison. Also the gradient volume
# each rank receives per step. Runs are interleaved, REPS rounds; the table gives the median of
# the per-epoch training samples/s (metrics.csv), and rank 0's step time and time blocked in the
# gathers, mean and minimum: on a shared machine the mean measures how often both ranks get a
# core at once, the minimum what a step costs when they do.
#
#   usage: scripts/mpi_scaling.sh [TRAINER [MNIST_DIR]]
#          (defaults: build-mpi/src/trainer, data/mnist; environment: BATCHES="64 256",
#           LAYERS=784,128,64,10, TRAIN_LIMIT=20000, EPOCHS=2, REPS=3, SHARDS=2, MPIEXEC=mpiexec)
set -eu

trainer=${1:-build-mpi/src/trainer}
data=${2:-data/mnist}
batches=${BATCHES:-64 256}
layers=${LAYERS:-784,128,64,10}
limit=${TRAIN_LIMIT:-20000}
epochs=${EPOCHS:-2}
reps=${REPS:-3}
shards=${SHARDS:-2}
mpiexec=${MPIEXEC:-mpiexec}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

launcher="$mpiexec --oversubscribe --bind-to none -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive -x MLP_GRADIENT_OVERLAP"
[ "$(id -u)" = 0 ] && launcher="$launcher --allow-run-as-root"
common="--data $data --train-limit $limit --epochs $epochs --layers $layers --bind none --checkpoint-every 0"

# run NAME BATCH REP COMMAND...: one training run, its stdout kept as NAME-BATCH-REP.log.
run() {
    name=$1 batch=$2 rep=$3
    shift 3
    "$@" --batch "$batch" --out "$work/$name-$batch-$rep" >"$work/$name-$batch-$rep.log" 2>&1 ||
        { echo "$name (batch $batch): failed:" >&2; tail -n 5 "$work/$name-$batch-$rep.log" >&2; exit 1; }
}

configs="plain-1thread plain-2threads shards-1process mpi-np1 mpi-np2 mpi-np2-no-overlap"
for batch in $batches; do
    for rep in $(seq 1 "$reps"); do
        MLP_GRADIENT_OVERLAP=1
        export MLP_GRADIENT_OVERLAP
        # shellcheck disable=SC2086
        {
            run plain-1thread "$batch" "$rep" "$trainer" $common --threads 1
            run plain-2threads "$batch" "$rep" "$trainer" $common --threads 2
            run shards-1process "$batch" "$rep" "$trainer" $common --threads 1 --gradient-shards "$shards"
            run mpi-np1 "$batch" "$rep" $launcher -np 1 "$trainer" $common --threads 1 --gradient-shards "$shards"
            run mpi-np2 "$batch" "$rep" $launcher -np 2 "$trainer" $common --threads 1 --gradient-shards "$shards"
            MLP_GRADIENT_OVERLAP=0
            run mpi-np2-no-overlap "$batch" "$rep" $launcher -np 2 "$trainer" $common --threads 1 --gradient-shards "$shards"
        }
    done
done

# The parameter count from the model file: u64 at byte 24 + 4 x sizes.
first="$work/plain-1thread-$(echo "$batches" | cut -d' ' -f1)-1"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "layers $layers, $limit training images (80% trained), $epochs epochs, $reps interleaved rounds, G = $shards"
grep "^training" "$first.log" | head -n 1
echo
# median over rounds of a number picked from each round's log by a sed expression
median_of() {
    for rep in $(seq 1 "$reps"); do sed -n "$2" "$work/$1-$rep.log"; done |
        sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'
}
printf "%-19s %5s %10s %7s | %-32s | %-21s\n" config batch samples/s speedup "step us: mean    min  min CPU" "gather wait: mean  min"
for batch in $batches; do
    base=""
    for config in $configs; do
        # The median over rounds of each round's median epoch throughput (metrics.csv column 8).
        rate=$(for rep in $(seq 1 "$reps"); do
                   tail -n +2 "$work/$config-$batch-$rep/metrics.csv" | cut -d, -f8 | sort -n |
                       awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
               done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
        [ -z "$base" ] && base=$rate
        step=$(median_of "$config-$batch" 's/.*; step \([0-9.]*\) us (mean).*/\1/p')
        step_min=$(median_of "$config-$batch" 's/.*us (mean) \([0-9.]*\) us (min) .*/\1/p')
        step_cpu=$(median_of "$config-$batch" 's/.*us (min) \([0-9.]*\) us (min CPU).*/\1/p')
        wait=$(median_of "$config-$batch" 's/.*gathers \([0-9.]*\) us (mean).*/\1/p')
        wait_min=$(median_of "$config-$batch" 's/.*gathers [0-9.]* us (mean) \([0-9.]*\) us (min).*/\1/p')
        printf "%-19s %5s %10.0f %6.2fx | %10s %10s %10s | %10s %10s\n" "$config" "$batch" "$rate" \
            "$(echo "$rate $base" | awk '{ print $1 / $2 }')" "$step" "$step_min" "$step_cpu" "$wait" "$wait_min"
    done
done
echo "(step and wait: rank 0's sharded step, mean and fastest over the run, median of the rounds;"
echo " min CPU: the least CPU time rank 0's thread spent on one step, what a step costs on a core of"
echo " its own; the plain runs do not use the sharded step. load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
sed -n 's/^data-parallel: rank 0 received \([0-9.]*\) KB.*/gradient volume received per rank per step (np 2, G = '"$shards"'): \1 KB/p' \
    "$work/mpi-np2-$(echo "$batches" | cut -d' ' -f1)-1.log"
echo "(= (G - shards owned) x parameters x 4 bytes; every rank sends its own shards to each other rank)"
