"""mlptrain: multilayer perceptrons on MNIST-style images, trained and run by libmlptrain (C, OpenMP).

    import mlptrain
    model = mlptrain.MLP(layers=[784, 128, 64, 10], activation="relu")
    model.fit(X, y, epochs=10, batch=64, lr=0.1, seed=42, validation=0.2)
    model.predict_proba(X_test), model.predict(X_test), model.score(X_test, y_test)
    model.save("model.mlp"); model = mlptrain.MLP.load("model.mlp")

X is (n, features) (or (n, 28, 28)): uint8 pixels 0..255, or float pixels 0..1 (byte / 255).
uint8 and float32 C-contiguous arrays are passed to the library as they are, without a copy;
other float types are converted to float32. Training is the `trainer` command's (same split,
He initialisation, shuffles and SGD): for the same data, recipe and seed, save() writes the
model.mlp the CLI writes, byte for byte, for any thread count.

The estimator follows scikit-learn's conventions (fit/predict/predict_proba/score, get_params/
set_params, classes_, n_features_in_), without depending on scikit-learn.
"""
import ctypes
import gzip
import os
import tempfile

import numpy as np

from . import _library

__all__ = ["MLP", "MLPTrainError", "load_idx", "version", "library_path"]

_lib = _library.load()


def version():
    """The C library's version."""
    return _lib.mlp_version().decode()


def library_path():
    """The shared library this package loaded."""
    return _lib._name


class MLPTrainError(Exception):
    """An error reported by the library: status (an mlp_status code) and its one-line message."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class ArgumentError(MLPTrainError, ValueError):
    pass


class DataError(MLPTrainError, ValueError):
    pass


class ShapeError(MLPTrainError, ValueError):
    pass


class FileError(MLPTrainError, OSError):
    pass


class UnsupportedError(MLPTrainError, NotImplementedError):
    pass


class DivergedError(MLPTrainError, FloatingPointError):
    pass


class NotFittedError(MLPTrainError, AttributeError):
    pass


_ERRORS = {_library.ERR_ARGUMENT: ArgumentError, _library.ERR_DATA: DataError, _library.ERR_SHAPE: ShapeError,
           _library.ERR_IO: FileError, _library.ERR_MEMORY: MemoryError,
           _library.ERR_UNSUPPORTED: UnsupportedError, _library.ERR_DIVERGED: DivergedError}


def _raise(status, message):
    kind = _ERRORS.get(status, MLPTrainError)
    if kind is MemoryError:
        raise MemoryError(message)
    raise kind(message, status)


# ---- arrays ----

def _images(X, what="X"):
    """X as (array kept alive, mlp_images): uint8 / float32 C-contiguous arrays as they are."""
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.ndim < 2:
        raise ShapeError(f"{what}: a {X.ndim}-D array; expected (images, pixels) or (images, rows, cols)")
    if X.dtype == np.uint8:
        kind = _library.PIXELS_U8
    elif X.dtype == np.float32:
        kind = _library.PIXELS_F32
    elif X.dtype.kind == "f":
        X, kind = X.astype(np.float32), _library.PIXELS_F32
    else:
        raise TypeError(f"{what}: dtype {X.dtype}; expected uint8 pixels (0..255) or float pixels (0..1, byte / 255), "
                        f"e.g. {what}.astype(np.uint8)")
    X = np.ascontiguousarray(X)  # no copy when already C-contiguous
    if X.ndim > 2:
        X = X.reshape(X.shape[0], -1)
    if X.shape[0] > 2**31 - 1 or X.shape[1] > 2**31 - 1:
        raise ShapeError(f"{what}: {X.shape} is too large")
    return X, _library.Images(X.ctypes.data, kind, X.shape[0], X.shape[1])


def _labels(y, count, classes):
    """y as a uint8 C-contiguous array (no copy when it is one already)."""
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != count:
        raise ShapeError(f"y: shape {y.shape}; expected ({count},), one label per image")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError("y: labels must be whole numbers")
    elif y.dtype.kind not in "iub":
        raise TypeError(f"y: dtype {y.dtype}; expected integer labels 0..{classes - 1}")
    if y.dtype != np.uint8:
        bad = np.flatnonzero((y < 0) | (y >= classes))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"label {y[i]:g} of image {i} is outside 0..{classes - 1} (the model's {classes} classes)",
                            _library.ERR_DATA)
        y = y.astype(np.uint8)
    return np.ascontiguousarray(y)


def load_idx(folder, prefix="train", limit=None):
    """MNIST's IDX pair FOLDER/PREFIX-images-idx3-ubyte and -labels-idx1-ubyte (each optionally .gz)
    as (images (n, rows*cols) uint8, labels (n,) uint8); the first `limit` images when given."""
    def read(name, magic):
        for path in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
            if os.path.exists(path):
                with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
                    data = f.read()
                dimensions = data[3]
                if int.from_bytes(data[:4], "big") != magic:
                    raise FileError(f"{path}: not an IDX file of magic {magic}", _library.ERR_IO)
                shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dimensions)]
                return np.frombuffer(data, np.uint8, offset=4 + 4 * dimensions).reshape(shape)
        raise FileError(f"{folder}: no {name} (or .gz); download MNIST with scripts/fetch_data.sh", _library.ERR_IO)
    images = read(f"{prefix}-images-idx3-ubyte", 2051)
    labels = read(f"{prefix}-labels-idx1-ubyte", 2049)
    images = images.reshape(images.shape[0], -1)
    if limit:
        images, labels = images[:limit], labels[:limit]
    return images, labels


# ---- the estimator ----

class MLP:
    """A multilayer perceptron with a softmax output (scikit-learn style estimator).

    layers: sizes, input first ([784, 128, 64, 10]); activation: "relu", "sigmoid" or "tanh".
    The training parameters are fit's defaults; fit's keyword arguments override them for one call.
    After fit: classes_, n_features_in_, history_ (a dict per epoch: epoch, train_cost,
    validation_cost, validation_accuracy, seconds, samples_per_second).
    """

    _PARAMS = ("layers", "activation", "epochs", "batch", "lr", "threads", "seed", "validation", "kernel",
               "warm_start", "precision")

    def __init__(self, layers=(784, 128, 64, 10), activation="relu", epochs=10, batch=64, lr=0.1, threads=None,
                 seed=42, validation=0.2, kernel=None, warm_start=False, precision=None):
        self.layers = layers
        self.activation = activation
        self.epochs = epochs
        self.batch = batch
        self.lr = lr
        self.threads = threads
        self.seed = seed
        self.validation = validation
        self.kernel = kernel
        self.warm_start = warm_start
        self.precision = precision  # None or "fp32", or "bf16" (docs/bf16.md); prediction is fp32
        self._net = None
        self._shape = None  # (layers, activation) of _net

    # -- scikit-learn's parameter protocol --

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params):
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"invalid parameter {name!r} for MLP; valid: {', '.join(self._PARAMS)}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = MLP().get_params()
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k == "layers" or v != defaults[k])
        return f"MLP({changed})"

    # -- the handle --

    def _create(self):
        layers = [int(size) for size in self.layers]
        shape = (tuple(layers), self.activation)
        if self._net is not None and self._shape == shape:
            return
        message = ctypes.create_string_buffer(_library.MESSAGE_SIZE)
        net = ctypes.c_void_p()
        sizes = (ctypes.c_int * len(layers))(*layers)
        status = _lib.mlp_net_create(ctypes.byref(net), sizes, len(layers), str(self.activation).encode(), message)
        if status != _library.OK:
            _raise(status, message.value.decode())
        self._free()
        self._net, self._shape = net, shape

    def _free(self):
        if getattr(self, "_net", None) is not None:
            _lib.mlp_net_free(self._net)
            self._net = None

    def __del__(self):
        self._free()

    def _check(self, status):
        if status != _library.OK:
            _raise(status, _lib.mlp_net_error(self._net).decode())

    def _fitted(self):
        if self._net is None or not hasattr(self, "classes_"):
            raise NotFittedError("this MLP is not fitted yet: call fit(X, y) or MLP.load(path) first")

    def _set_fitted_attributes(self, loaded=False):
        sizes = (ctypes.c_int * 34)()
        count = _lib.mlp_net_sizes(self._net, sizes, 34)
        layers = [sizes[i] for i in range(count)]
        activation = _lib.mlp_net_activation(self._net).decode()
        if loaded:  # a model file's shape becomes the parameters (fit leaves them as given)
            self.layers, self.activation = layers, activation
        self._shape = (tuple(layers), activation)
        self.classes_ = np.arange(layers[-1])
        self.n_features_in_ = layers[0]
        self.n_outputs_ = layers[-1]

    # -- training --

    def fit(self, X, y, epochs=None, batch=None, lr=None, threads=None, seed=None, validation=None, callback=None):
        """Trains from He initialisation of `seed` (or, with warm_start, from the current
        parameters). callback(report: dict) is called after every epoch; a true return stops
        training there. Returns self."""
        if not (self.warm_start and self._net is not None and self._shape == (tuple(self.layers), self.activation)):
            self._create()
            warm = False
        else:
            warm = True
        X, images = _images(X)
        labels = _labels(y, images.count, int(self._shape[0][-1]))
        recipe = _library.Recipe()
        _lib.mlp_train_recipe_init(ctypes.byref(recipe))
        pick = lambda given, default: default if given is None else given  # noqa: E731
        recipe.epochs = int(pick(epochs, self.epochs))
        recipe.batch = int(pick(batch, self.batch))
        recipe.learning_rate = float(pick(lr, self.lr))
        recipe.seed = int(pick(seed, self.seed))
        recipe.validation = float(pick(validation, self.validation))
        chosen_threads = pick(threads, self.threads)
        recipe.threads = 0 if chosen_threads is None else int(chosen_threads)
        recipe.kernel = self.kernel.encode() if self.kernel else None
        recipe.warm_start = 1 if warm else 0
        recipe.precision = self.precision.encode() if self.precision else None
        history, raised = [], []

        def on_epoch(_, report):
            r = report.contents
            entry = {name: getattr(r, name) for name, _ in _library.EpochReport._fields_}
            history.append(entry)
            if callback is None:
                return 0
            try:
                return 1 if callback(entry) else 0
            except BaseException as error:  # re-raised after the library returns
                raised.append(error)
                return 1

        status = _lib.mlp_net_train(self._net, ctypes.byref(images), labels.ctypes.data, ctypes.byref(recipe),
                                    _library.EPOCH_CALLBACK(on_epoch), None)
        if raised:
            raise raised[0]
        self._check(status)
        self.history_ = history
        self._set_fitted_attributes()
        return self

    # -- prediction --

    def predict_proba(self, X, threads=None):
        """(n, classes) float32 softmax probabilities."""
        self._fitted()
        X, images = _images(X)
        out = np.empty((images.count, self.n_outputs_), dtype=np.float32)
        chosen = self.threads if threads is None else threads
        self._check(_lib.mlp_net_predict_proba(self._net, ctypes.byref(images), out.ctypes.data,
                                               0 if chosen is None else int(chosen)))
        return out

    def predict_log_proba(self, X, threads=None):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X, threads))

    def predict(self, X, threads=None):
        """The most probable class of every image."""
        probabilities = self.predict_proba(X, threads)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (scikit-learn's ClassifierMixin.score)."""
        right = self.predict(X) == np.asarray(y)
        return float(np.average(right, weights=sample_weight))

    # -- files --

    def save(self, path):
        """Writes the model file (model.mlp, the trainer's format)."""
        self._fitted()
        self._check(_lib.mlp_net_save(self._net, os.fsencode(path)))

    @classmethod
    def load(cls, path):
        """A fitted MLP from a model file (written by save or by `trainer`)."""
        message = ctypes.create_string_buffer(_library.MESSAGE_SIZE)
        net = ctypes.c_void_p()
        status = _lib.mlp_net_load(ctypes.byref(net), os.fsencode(path), message)
        if status != _library.OK:
            _raise(status, message.value.decode())
        model = cls()
        model._net = net
        model._set_fitted_attributes(loaded=True)
        return model

    @property
    def parameter_count(self):
        self._fitted()
        return int(_lib.mlp_net_parameter_count(self._net))

    # -- pickling (joblib, multiprocessing): the model file's bytes --

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_net", "_shape")}
        if self._net is not None and hasattr(self, "classes_"):
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.mlp")
                self.save(path)
                with open(path, "rb") as f:
                    state["_model_bytes"] = f.read()
        return state

    def __setstate__(self, state):
        model_bytes = state.pop("_model_bytes", None)
        self.__dict__.update(state)
        self._net, self._shape = None, None
        if model_bytes is not None:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.mlp")
                with open(path, "wb") as f:
                    f.write(model_bytes)
                loaded = MLP.load(path)
            self._net, loaded._net = loaded._net, None
            self._shape = loaded._shape
