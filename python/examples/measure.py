#!/usr/bin/python3
"""The binding's costs, measured in one process (medians of alternating rounds):

1. fit's overhead per epoch on MNIST: model.fit(X, y) (the binding: argument checks, label
   conversion, the callback per epoch, the epoch reports) against the bare library call
   mlp_net_train through ctypes with the same prepared arrays and recipe; both train the same
   model from the same seed, so the difference is the binding's own work.
2. predict_proba on the 10,000 test images against the study's NumPy forward pass
   (X @ W + b, ReLU, softmax) on the same shapes, float64 as the notebook's X / 255.0 made it,
   and float32.

    /usr/bin/python3 python/examples/measure.py [--data data/mnist] [--epochs 2] [--rounds 3]
"""
import argparse
import ctypes
import os
import platform
import statistics
import subprocess
import time

import numpy as np

import mlptrain
from mlptrain import _library


def cpu():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        return (f"{info.get('Model name', '?').strip()} (family {info.get('CPU family', '?').strip()}, "
                f"model {info.get('Model', '?').strip()}), {os.cpu_count()} CPUs")
    except OSError:
        return platform.processor()


def numpy_forward(X, weights, biases):
    a = X
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w + b
        a = np.maximum(z, 0) if i < len(weights) - 1 else z
    a = a - a.max(axis=1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=1, keepdims=True)


def median_time(function, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="0: all available cores")
    args = parser.parse_args()
    lib = mlptrain._lib
    print(f"mlptrain {mlptrain.version()} ({mlptrain.library_path()}); {cpu()}; {time.strftime('%Y-%m-%d')}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
          f"load average {os.getloadavg()[0]:.1f}")

    # ---- 1. fit: the binding against the bare call ----
    X, labels = mlptrain.load_idx(args.data, "train")
    y = labels.astype(np.int64)  # what users usually have
    threads = args.threads or None
    model = mlptrain.MLP(layers=[784, 128, 64, 10])

    def binding():
        model.fit(X, y, epochs=args.epochs, threads=threads)

    raw_net = ctypes.c_void_p()
    message = ctypes.create_string_buffer(1024)
    sizes = (ctypes.c_int * 4)(784, 128, 64, 10)
    assert lib.mlp_net_create(ctypes.byref(raw_net), sizes, 4, b"relu", message) == 0
    images = _library.Images(X.ctypes.data, _library.PIXELS_U8, X.shape[0], X.shape[1])
    labels8 = np.ascontiguousarray(labels)
    recipe = _library.Recipe()
    lib.mlp_train_recipe_init(ctypes.byref(recipe))
    recipe.epochs, recipe.threads = args.epochs, args.threads
    no_callback = _library.EPOCH_CALLBACK()

    def bare():
        assert lib.mlp_net_train(raw_net, ctypes.byref(images), labels8.ctypes.data, ctypes.byref(recipe),
                                 no_callback, None) == 0

    binding_times, bare_times = [], []
    for _ in range(args.rounds):  # alternating, so load changes hit both
        binding_times.append(median_time(binding, 1))
        bare_times.append(median_time(bare, 1))
    t_binding, t_bare = statistics.median(binding_times), statistics.median(bare_times)
    per_epoch = (t_binding - t_bare) / args.epochs
    print(f"fit, 60,000 images (48,000 trained, 12,000 validated), {args.epochs} epochs, threads "
          f"{args.threads or 'all'}: binding {t_binding:.3f} s, bare mlp_net_train {t_bare:.3f} s "
          f"(medians of {args.rounds}); binding overhead {1e3 * per_epoch:+.1f} ms per epoch = "
          f"{100 * per_epoch / (t_bare / args.epochs):+.2f}% of an epoch "
          f"(rounds: binding {[round(t, 3) for t in binding_times]}, bare {[round(t, 3) for t in bare_times]})")
    lib.mlp_net_free(raw_net)

    # The binding's own work alone, without the machine's noise: fit with the library's
    # mlp_net_train replaced by a stub that only calls the callback once per epoch.
    class Stub:
        def __getattr__(self, name):
            return getattr(lib, name)

        @staticmethod
        def mlp_net_train(net, images_p, labels_p, recipe_p, callback, user):
            report = _library.EpochReport(1, args.epochs, 0.5, 0.5, 0.9, 1.0, 1e5)
            for epoch in range(recipe_p._obj.epochs):
                report.epoch = epoch + 1
                callback(None, ctypes.pointer(report))
            return 0

    mlptrain._lib = Stub()
    try:
        t_own = median_time(binding, 5 * args.rounds)
    finally:
        mlptrain._lib = lib
    print(f"the binding's own work in fit (the library call stubbed out): {1e3 * t_own:.2f} ms per fit of "
          f"{args.epochs} epochs = {1e3 * t_own / args.epochs:.2f} ms per epoch = "
          f"{100 * t_own / t_bare:.3f}% of the bare call's {t_bare / args.epochs:.2f} s per epoch")

    # ---- 2. predict_proba against the NumPy forward pass ----
    test, _ = mlptrain.load_idx(args.data, "t10k")
    rng = np.random.default_rng(0)
    shapes = [(784, 128), (128, 64), (64, 10)]
    w64 = [rng.standard_normal(s) * np.sqrt(2 / s[0]) for s in shapes]
    b64 = [np.zeros(s[1]) for s in shapes]
    w32 = [w.astype(np.float32) for w in w64]
    b32 = [b.astype(np.float32) for b in b64]
    x64 = test / 255.0
    x32 = x64.astype(np.float32)
    rounds = max(5, 3 * args.rounds)
    t_numpy64 = median_time(lambda: numpy_forward(x64, w64, b64), rounds)
    t_numpy32 = median_time(lambda: numpy_forward(x32, w32, b32), rounds)
    results = {}
    for t in sorted({1, args.threads or os.cpu_count()}):
        results[f"uint8, {t} thread(s)"] = median_time(lambda: model.predict_proba(test, threads=t), rounds)
        results[f"float32, {t} thread(s)"] = median_time(lambda: model.predict_proba(x32, threads=t), rounds)
    print(f"predict_proba on 10,000 test images: NumPy forward float64 (the notebook's X / 255.0) "
          f"{1e3 * t_numpy64:.1f} ms, float32 {1e3 * t_numpy32:.1f} ms (OpenBLAS threads: "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')})")
    for name, seconds in results.items():
        print(f"  mlptrain {name}: {1e3 * seconds:.1f} ms = {t_numpy64 / seconds:.1f}x NumPy float64, "
              f"{t_numpy32 / seconds:.1f}x NumPy float32")


if __name__ == "__main__":
    main()
