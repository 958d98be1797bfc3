#!/usr/bin/python3
"""Training throughput of mlptrain against PyTorch and against the plain NumPy MLP of the original
study, on the same machine, one after the other: same MNIST training images (48,000, as the
trainer's default 20% validation split leaves), same layer sizes, batch, learning rate, SGD,
softmax + cross-entropy, He-normal weights and zero biases. Not part of the tests.

usage: /usr/bin/python3 scripts/compare_pytorch.py [--build build] [--configs 784,128,64,10@64 ...]
           [--threads 1,2] [--epochs 3] [--json OUT.json]

Run it with Debian's Python (/usr/bin/python3: python3-torch, python3-numpy). For every
configuration and thread count it measures, each in its own process:
  mlptrain  `trainer --epochs E --threads T ...`, samples_per_second from summary.json: the median
            over the epochs of (training examples / seconds of the training loop), evaluation
            excluded; the threads bound to cores (the trainer's default).
  PyTorch   nn.Linear + ReLU, CrossEntropyLoss, optim.SGD, the data pre-converted to one float32
            tensor (its best case: no per-batch conversion), batches gathered by index;
            torch.set_num_threads(T), set_num_interop_threads(1), OPENBLAS_NUM_THREADS=T (Debian's
            torch calls OpenBLAS for its GEMMs), once with OMP_WAIT_POLICY=ACTIVE and once with
            PASSIVE (for T > 1); the faster is reported and named.
  NumPy     the study's formulation: forward X @ W + b, ReLU, softmax; backward written by hand
            (dW = Aᵀ δ, db = Σ δ, δ_prev = δ Wᵀ ⊙ [A > 0]); OPENBLAS_NUM_THREADS=T.
PyTorch and NumPy report the median over epochs of examples / seconds of the training loop too.
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the environment of the Python runs so
OpenBLAS picks its best kernel for this CPU (the core it used is printed); --keep-openblas-env
keeps them.

Prints a markdown table with the ratios mlptrain / PyTorch and mlptrain / NumPy, the load
average before and after and the least idle CPU fraction seen just before a run (the machines are
shared: a busy neighbour ruins 2-thread numbers; --wait-idle waits for a quiet second first).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_EXAMPLES = 48000  # the trainer's default: 60,000 minus a 20% validation split
DEFAULT_CONFIGS = ["784,128,64,10@64", "784,600,400,10@256"]


# ---- the data ----

def read_idx(path, header_bytes):
    """The payload of an IDX file (uncompressed or .gz) as uint8, after its header."""
    import gzip
    import numpy as np
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=header_bytes)


def find_file(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"{folder}: no {name} (run scripts/fetch_data.sh)")


def load_mnist(folder, count):
    """The first `count` training images as float32 in [0, 1] (rows of 784) and their labels."""
    import numpy as np
    images = read_idx(find_file(folder, "train-images-idx3-ubyte"), 16).reshape(-1, 784)
    labels = read_idx(find_file(folder, "train-labels-idx1-ubyte"), 8)
    if images.shape[0] < count or labels.shape[0] < count:
        sys.exit(f"{folder}: fewer than {count} training images")
    return images[:count].astype(np.float32) / np.float32(255.0), labels[:count].astype(np.int64)


def openblas_core():
    """The kernel OpenBLAS picked in this process (libblas.so.3 is OpenBLAS on Debian here)."""
    import ctypes
    try:
        library = ctypes.CDLL("libblas.so.3")
        library.openblas_get_corename.restype = ctypes.c_char_p
        return library.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown"


# ---- the workers (each runs in its own process, see run_worker) ----

def numpy_worker(sizes, batch, lr, epochs, seed, data):
    import numpy as np
    x, y = load_mnist(data, TRAIN_EXAMPLES)
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32)
               for a, b in zip(sizes, sizes[1:])]
    biases = [np.zeros(b, dtype=np.float32) for b in sizes[1:]]
    last = len(weights) - 1
    rates, cost = [], float("nan")
    for _ in range(epochs):
        order = rng.permutation(TRAIN_EXAMPLES)
        start = time.perf_counter()
        for first in range(0, TRAIN_EXAMPLES, batch):
            index = order[first:first + batch]
            n = index.shape[0]
            activations = [x[index]]
            for l, (w, b) in enumerate(zip(weights, biases)):
                z = activations[-1] @ w + b                    # Z = A W + b
                activations.append(z if l == last else np.maximum(z, 0.0))
            logits = activations[-1]
            shifted = logits - logits.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            p = exp / exp.sum(axis=1, keepdims=True)            # softmax
            targets = y[index]
            cost = float(-np.mean(np.log(p[np.arange(n), targets] + 1e-30)))
            delta = p
            delta[np.arange(n), targets] -= 1.0                 # dCost/dZ = (p - onehot) / n
            delta /= np.float32(n)
            gradients = []
            for l in range(last, -1, -1):
                gradients.append((l, activations[l].T @ delta, delta.sum(axis=0)))  # dW, db
                if l > 0:
                    delta = (delta @ weights[l].T) * (activations[l] > 0)     # δ W^T ⊙ relu'
            for l, dw, db in gradients:
                weights[l] -= np.float32(lr) * dw
                biases[l] -= np.float32(lr) * db
        rates.append(TRAIN_EXAMPLES / (time.perf_counter() - start))
    return {"rates": rates, "cost": cost, "openblas_core": openblas_core()}


def torch_worker(sizes, batch, lr, epochs, seed, data, threads):
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(seed)
    x_np, y_np = load_mnist(data, TRAIN_EXAMPLES)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    layers = []
    for l, (a, b) in enumerate(zip(sizes, sizes[1:])):
        linear = torch.nn.Linear(a, b)
        torch.nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")  # N(0, 2 / fan_in)
        torch.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if l < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_function = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    rates, cost = [], float("nan")
    for _ in range(epochs):
        order = torch.randperm(TRAIN_EXAMPLES, generator=generator)
        start = time.perf_counter()
        for first in range(0, TRAIN_EXAMPLES, batch):
            index = order[first:first + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
        rates.append(TRAIN_EXAMPLES / (time.perf_counter() - start))
        cost = float(loss)
    return {"rates": rates, "cost": cost, "openblas_core": openblas_core(),
            "torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}


def worker_main(args):
    sizes = [int(s) for s in args.layers.split(",")]
    if args.worker == "numpy":
        result = numpy_worker(sizes, args.batch, args.lr, args.epochs, args.seed, args.data)
    else:
        result = torch_worker(sizes, args.batch, args.lr, args.epochs, args.seed, args.data,
                              args.threads)
    json.dump(result, sys.stdout)


# ---- the driver ----

def cpu_idle_fraction(seconds=1.0):
    """Fraction of all CPUs' time spent idle over the next `seconds` (from /proc/stat)."""
    def totals():
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, all
    idle0, all0 = totals()
    time.sleep(seconds)
    idle1, all1 = totals()
    return (idle1 - idle0) / max(all1 - all0, 1)


def wait_until_idle(max_wait):
    """Waits (up to max_wait seconds) for a second in which the CPUs are >= 90% idle: on a shared
    machine a neighbour's job ruins multi-threaded numbers. Returns the idle fraction seen last."""
    deadline = time.monotonic() + max_wait
    idle = cpu_idle_fraction()
    while idle < 0.9 and time.monotonic() < deadline:
        idle = cpu_idle_fraction()
    return idle


def python_env(threads, wait_policy, keep_openblas_env):
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["OMP_NUM_THREADS"] = str(threads)
    if wait_policy:
        env["OMP_WAIT_POLICY"] = wait_policy
    if not keep_openblas_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def run_worker(kind, layers, batch, threads, wait_policy, args):
    command = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--layers", layers,
               "--batch", str(batch), "--threads", str(threads), "--epochs", str(args.epochs),
               "--lr", str(args.lr), "--seed", str(args.seed), "--data", args.data]
    done = subprocess.run(command, env=python_env(threads, wait_policy, args.keep_openblas_env),
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"compare_pytorch: {kind} worker failed: {done.stderr.strip()[-500:]}")
    result = json.loads(done.stdout)
    result["samples_per_second"] = statistics.median(result["rates"])
    result["wait_policy"] = wait_policy
    return result


def run_trainer(layers, batch, threads, args):
    trainer = os.path.join(args.build, "src", "trainer")
    if not os.access(trainer, os.X_OK):
        sys.exit(f"{trainer}: not built (cmake --build {args.build} --target trainer)")
    with tempfile.TemporaryDirectory(prefix="compare_") as out:
        command = [trainer, "train", "--data", args.data, "--layers", layers, "--batch", str(batch),
                   "--lr", str(args.lr), "--epochs", str(args.epochs), "--threads", str(threads),
                   "--seed", str(args.seed), "--out", out]
        if args.kernel:
            command += ["--kernel", args.kernel]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"compare_pytorch: trainer failed: {done.stderr.strip()[-500:]}")
        with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
            summary = json.load(f)
    return {"samples_per_second": summary["samples_per_second"], "kernel": summary.get("kernel"),
            "cost": summary.get("val_cost")}


def measure(config, threads, args):
    layers, batch = config.split("@")
    batch = int(batch)
    row = {"layers": layers, "batch": batch, "threads": threads, "idle_before": []}
    row["idle_before"].append(wait_until_idle(args.wait_idle))
    row["mlptrain"] = run_trainer(layers, batch, threads, args)
    policies = ["ACTIVE", "PASSIVE"] if threads > 1 else ["ACTIVE"]
    torch_runs = []
    for policy in policies:
        row["idle_before"].append(wait_until_idle(args.wait_idle))
        torch_runs.append(run_worker("torch", layers, batch, threads, policy, args))
    row["torch"] = max(torch_runs, key=lambda r: r["samples_per_second"])
    row["torch_all"] = {r["wait_policy"]: r["samples_per_second"] for r in torch_runs}
    if not args.no_numpy:
        row["idle_before"].append(wait_until_idle(args.wait_idle))
        row["numpy"] = run_worker("numpy", layers, batch, threads, None, args)
    return row


def thousands(value):
    return f"{value / 1000:.1f}k" if value is not None else "-"


def print_table(rows, out):
    out.write("| layers | batch | threads | mlptrain samples/s | PyTorch samples/s (OMP_WAIT_POLICY)"
              " | NumPy samples/s | mlptrain / PyTorch | mlptrain / NumPy |\n")
    out.write("|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        ours, torch_rate = r["mlptrain"]["samples_per_second"], r["torch"]["samples_per_second"]
        numpy_rate = r["numpy"]["samples_per_second"] if "numpy" in r else None
        out.write(f"| {r['layers']} | {r['batch']} | {r['threads']} | {thousands(ours)}"
                  f" ({r['mlptrain']['kernel']}) | {thousands(torch_rate)} ({r['torch']['wait_policy']})"
                  f" | {thousands(numpy_rate)} | {ours / torch_rate:.2f}x"
                  f" | {(ours / numpy_rate) if numpy_rate else float('nan'):.2f}x |\n")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(REPO, "build"),
                        help="CMake build folder with src/trainer (default: build)")
    parser.add_argument("--data", default=os.path.join(REPO, "data", "mnist"))
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS,
                        help="LAYERS@BATCH entries (default: %(default)s)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (median taken)")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--kernel", default=None, help="trainer --kernel (default: auto)")
    parser.add_argument("--no-numpy", action="store_true", help="skip the NumPy formulation")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the Python runs")
    parser.add_argument("--json", help="also write the measurements to this JSON file")
    parser.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                        help="before each run wait up to SECONDS for a second with the CPUs"
                        " >= 90%% idle (shared machines; default: do not wait)")
    parser.add_argument("--worker", choices=["torch", "numpy"], help=argparse.SUPPRESS)
    parser.add_argument("--layers", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    args = parse_arguments()
    if args.worker:
        args.threads = int(args.threads)
        worker_main(args)
        return
    threads = [int(t) for t in args.threads.split(",")]
    load_before = os.getloadavg()
    rows = []
    for config in args.configs:
        for t in threads:
            rows.append(measure(config, t, args))
            print(f"measured {config} threads {t}", file=sys.stderr)
    load_after = os.getloadavg()
    print_table(rows, sys.stdout)
    torch_info = rows[0]["torch"]
    print(f"\nPyTorch {torch_info.get('torch_version')} (OpenBLAS core {torch_info['openblas_core']}),"
          f" NumPy OpenBLAS core {rows[0]['numpy']['openblas_core'] if 'numpy' in rows[0] else '-'};"
          f" {args.epochs} epochs of {TRAIN_EXAMPLES} examples per run, median epoch;"
          f" load average {load_before[0]:.2f} before, {load_after[0]:.2f} after;"
          f" least idle CPU fraction just before a run: {min(min(r['idle_before']) for r in rows):.2f}.")
    for r in rows:
        if len(r["torch_all"]) > 1:
            detail = ", ".join(f"{k} {thousands(v)}" for k, v in r["torch_all"].items())
            print(f"PyTorch {r['layers']} batch {r['batch']} threads {r['threads']}: {detail}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "load_average": [load_before, load_after],
                       "epochs": args.epochs, "examples": TRAIN_EXAMPLES}, f, indent=1)


if __name__ == "__main__":
    main()
