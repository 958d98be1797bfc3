"""The Python binding (python/mlptrain) over libmlptrain.so.

    /usr/bin/python3 tests/api/test_binding.py TRAINER DATA_DIR
    (PYTHONPATH=python, MLPTRAIN_LIBRARY=build/src/api/libmlptrain.so; ctest sets both)

Checks: bad input becomes Python exceptions carrying the library's message (dtype, shape, NaN
pixels, labels out of range, a model of another shape, files); arrays are passed without a copy;
the scikit-learn methods; the callback (stop, exceptions); pickling; and, on MNIST, the binding's
model file equals trainer's byte for byte with 1 and 2 threads, and with precision="bf16". Exit 77 when NumPy is missing;
the MNIST part is skipped (with a note) when there is no MNIST.
"""
import os
import pickle
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("SKIPPED: numpy is not installed (Debian: python3-numpy)")
    sys.exit(77)

import mlptrain  # noqa: E402

failures = 0


def check(condition, what):
    global failures
    if not condition:
        failures += 1
        print(f"FAIL: {what}")


def raises(kind, needle, function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except kind as error:
        check(needle in str(error), f"{kind.__name__}: message {str(error)!r} lacks {needle!r}")
        check("\n" not in str(error), f"{kind.__name__}: a message of more than one line: {error}")
        return error
    except Exception as error:  # noqa: BLE001
        check(False, f"expected {kind.__name__} ({needle}), got {type(error).__name__}: {error}")
        return None
    check(False, f"expected {kind.__name__} ({needle}), nothing raised")
    return None


def synthetic(count=300, features=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, features), dtype=np.uint8), (np.arange(count) % 10).astype(np.int64)


def test_errors(work):
    X, y = synthetic()
    model = mlptrain.MLP(layers=[64, 16, 10], epochs=1, threads=1)
    raises(mlptrain.NotFittedError, "not fitted", model.predict, X)
    raises(TypeError, "dtype int64", model.fit, X.astype(np.int64), y)
    raises(TypeError, "dtype <U1", model.fit, np.full((10, 64), "a"), y[:10])
    raises(ValueError, "1-D", model.fit, X[0], y)
    raises(ValueError, "shape (299,)", model.fit, X, y[:299])
    raises(ValueError, "images of 63 pixels", model.fit, X[:, :63].copy(), y)
    bad = y.copy()
    bad[7] = 10
    error = raises(ValueError, "label 10 of image 7 is outside 0..9", model.fit, X, bad)
    check(isinstance(error, mlptrain.DataError), "label 10: a DataError")
    bad[7] = -1
    raises(ValueError, "label -1 of image 7", model.fit, X, bad)
    bad8 = y.astype(np.uint8)
    bad8[9] = 200  # checked by the library itself (uint8 labels go in without a copy)
    error = raises(mlptrain.DataError, "label 200 of image 9", model.fit, X, bad8)
    check(error is not None and error.status == 2, "the library's status travels with the exception")
    raises(ValueError, "whole numbers", model.fit, X, y + 0.5)
    floats = X.astype(np.float32) / 255
    floats[3, 5] = np.nan
    raises(mlptrain.DataError, "image 3, pixel 5 is nan", model.fit, floats, y)
    raises(mlptrain.DataError, "must be in [0, 1]", model.fit, X.astype(np.float32), y)
    raises(ValueError, "learning rate -1", model.fit, X, y, lr=-1)
    raises(ValueError, "batch 0", model.fit, X, y, batch=0)
    raises(ValueError, "validation fraction 1", model.fit, X, y, validation=1.0)
    raises(ValueError, "activation 'gelu'", mlptrain.MLP(layers=[64, 10], activation="gelu").fit, X, y)
    raises(ValueError, "layer size 0", mlptrain.MLP(layers=[64, 0, 10]).fit, X, y)
    raises(NotImplementedError, "bogus", mlptrain.MLP(layers=[64, 10], kernel="bogus").fit, X, y)
    raises(ValueError, "invalid parameter 'learning_rate'", model.set_params, learning_rate=0.1)
    raises(FloatingPointError, "lower learning rate",
           mlptrain.MLP(layers=[64, 256, 256, 256, 10], lr=1e6, epochs=1).fit, X, y)

    model.fit(X, y)
    raises(ValueError, "images of 784 pixels, but the model's input layer has 64 units", model.predict,
           np.zeros((2, 784), np.uint8))
    path = os.path.join(work, "small.mlp")
    model.save(path)
    loaded = mlptrain.MLP.load(path)
    raises(ValueError, "images of 784 pixels", loaded.predict_proba, np.zeros((2, 28, 28), np.uint8))
    raises(OSError, "nowhere/model.mlp", mlptrain.MLP.load, os.path.join(work, "nowhere/model.mlp"))
    with open(os.path.join(work, "garbage.mlp"), "wb") as f:
        f.write(b"garbage, not a model file at all")
    raises(OSError, "not an mlptrain model file", mlptrain.MLP.load, os.path.join(work, "garbage.mlp"))
    raises(OSError, "nowhere", model.save, os.path.join(work, "nowhere", "m.mlp"))
    # A model of another shape: fitting data of another width to a loaded 64-input model.
    raises(ValueError, "images of 784 pixels", loaded.set_params(warm_start=True).fit,
           np.zeros((20, 784), np.uint8), y[:20])


def test_estimator(work):
    X, y = synthetic(500)
    model = mlptrain.MLP(layers=[64, 32, 10], activation="tanh", epochs=3, threads=2)
    params = model.get_params()
    check(params["layers"] == [64, 32, 10] and params["activation"] == "tanh" and params["epochs"] == 3,
          f"get_params: {params}")
    clone = mlptrain.MLP(**params)
    check(clone.get_params() == params, "a clone from get_params has the same parameters")
    check(model.fit(X, y) is model, "fit returns self")
    check(list(model.classes_) == list(range(10)) and model.n_features_in_ == 64, "classes_, n_features_in_")
    check(len(model.history_) == 3 and model.history_[-1]["epoch"] == 3, f"history_: {model.history_}")
    p = model.predict_proba(X)
    check(p.shape == (500, 10) and p.dtype == np.float32 and np.allclose(p.sum(axis=1), 1, atol=1e-5),
          "predict_proba: shape, dtype, rows sum to 1")
    check(np.array_equal(model.predict(X), p.argmax(axis=1)), "predict = argmax of predict_proba")
    check(abs(model.score(X, y) - np.mean(model.predict(X) == y)) < 1e-12, "score = accuracy")
    check(np.array_equal(model.predict_proba(X, threads=1), model.predict_proba(X.astype(np.float32) / 255)),
          "float pixels and 1 thread predict the same numbers")
    check(np.array_equal(model.predict_proba(X.reshape(500, 8, 8)), p), "(n, 8, 8) images are (n, 64)")
    # No copy: uint8 and float32 C-contiguous arrays go in as they are.
    from mlptrain import _images
    for array in (X, X.astype(np.float32) / 255):
        kept, images = _images(array)
        check(kept is array and images.pixels == array.ctypes.data, f"{array.dtype} passed without a copy")
    kept, _ = _images(X[:, ::2])
    check(kept.flags.c_contiguous, "a strided array is made contiguous")
    # Pickle: the model file's bytes.
    restored = pickle.loads(pickle.dumps(model))
    check(np.array_equal(restored.predict_proba(X), p), "a pickled model predicts the same")
    # The callback: a true return stops; an exception comes back out of fit.
    seen = []
    model.fit(X, y, epochs=5, callback=lambda report: seen.append(report["epoch"]) or report["epoch"] == 2)
    check(seen == [1, 2] and len(model.history_) == 2, f"callback stop after epoch 2: {seen}")

    def boom(report):
        raise KeyError("from the callback")
    raises(KeyError, "from the callback", model.fit, X, y, callback=boom)
    model.set_params(epochs=1)
    check(model.epochs == 1, "set_params")


def test_mnist(trainer, data, work):
    if not os.path.exists(os.path.join(data, "train-images-idx3-ubyte")) and \
            not os.path.exists(os.path.join(data, "train-images-idx3-ubyte.gz")):
        print(f"note: no MNIST in {data}: the byte-identical check against trainer is skipped")
        return
    X, y = mlptrain.load_idx(data, "train", limit=3000)
    for threads in (1, 2):
        out = os.path.join(work, f"cli{threads}")
        subprocess.run([trainer, "--data", data, "--train-limit", "3000", "--epochs", "2", "--threads",
                        str(threads), "--out", out], check=True, stdout=subprocess.DEVNULL)
        model = mlptrain.MLP(layers=[784, 128, 64, 10]).fit(X, y, epochs=2, threads=threads)
        path = os.path.join(work, f"binding{threads}.mlp")
        model.save(path)
        with open(path, "rb") as a, open(os.path.join(out, "model.mlp"), "rb") as b:
            same = a.read() == b.read()
        check(same, f"{threads} thread(s): the binding's model file differs from trainer's")
        if same:
            print(f"ok: {threads} thread(s): byte-identical to trainer's model.mlp")
        # float pixels (byte / 255, as the study's NumPy code makes them) train the same model
        if threads == 2:
            floats = mlptrain.MLP(layers=[784, 128, 64, 10]).fit(X / 255.0, y, epochs=2, threads=2)
            check(np.array_equal(floats.predict_proba(X), model.predict_proba(X)), "X / 255.0 trains the same model")
    # precision="bf16" (the scalar reference: every machine has it) is trainer's --precision bf16
    out = os.path.join(work, "cli_bf16")
    subprocess.run([trainer, "--data", data, "--train-limit", "1000", "--epochs", "1", "--layers", "784,32,10",
                    "--kernel", "scalar", "--precision", "bf16", "--out", out], check=True, stdout=subprocess.DEVNULL)
    bf16 = mlptrain.MLP(layers=[784, 32, 10], kernel="scalar", precision="bf16").fit(X[:1000], y[:1000], epochs=1)
    path = os.path.join(work, "binding_bf16.mlp")
    bf16.save(path)
    with open(path, "rb") as a, open(os.path.join(out, "model.mlp"), "rb") as b:
        check(a.read() == b.read(), "precision='bf16': the binding's model file differs from trainer's")


def main():
    trainer, data = sys.argv[1], sys.argv[2]
    print(f"mlptrain {mlptrain.version()} from {mlptrain.library_path()}")
    with tempfile.TemporaryDirectory() as work:
        test_errors(work)
        test_estimator(work)
        test_mnist(trainer, data, work)
    print("FAILED" if failures else "ok: all binding checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
