"""Finding and declaring libmlptrain.so (include/mlptrain/mlptrain.h) for ctypes."""
import ctypes
import ctypes.util
import glob
import os
import shutil
import subprocess
import sys

MESSAGE_SIZE = 1024  # MLP_MESSAGE_SIZE

# mlp_status
OK, ERR_ARGUMENT, ERR_DATA, ERR_SHAPE, ERR_IO, ERR_MEMORY, ERR_UNSUPPORTED, ERR_DIVERGED = range(8)
PIXELS_U8, PIXELS_F32 = 0, 1


class Images(ctypes.Structure):
    """mlp_images"""
    _fields_ = [("pixels", ctypes.c_void_p), ("type", ctypes.c_int), ("count", ctypes.c_int),
                ("features", ctypes.c_int)]


class Recipe(ctypes.Structure):
    """mlp_train_recipe"""
    _fields_ = [("size", ctypes.c_size_t), ("batch", ctypes.c_int), ("learning_rate", ctypes.c_float),
                ("epochs", ctypes.c_int), ("seed", ctypes.c_uint64), ("validation", ctypes.c_float),
                ("threads", ctypes.c_int), ("kernel", ctypes.c_char_p), ("warm_start", ctypes.c_int),
                ("optimizer", ctypes.c_char_p), ("precision", ctypes.c_char_p)]


class EpochReport(ctypes.Structure):
    """mlp_epoch_report"""
    _fields_ = [("epoch", ctypes.c_int), ("epochs", ctypes.c_int), ("train_cost", ctypes.c_double),
                ("validation_cost", ctypes.c_double), ("validation_accuracy", ctypes.c_double),
                ("seconds", ctypes.c_double), ("samples_per_second", ctypes.c_double)]


EPOCH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(EpochReport))


def _pkg_config_libdir():
    if not shutil.which("pkg-config"):
        return None
    try:
        result = subprocess.run(["pkg-config", "--variable=libdir", "mlptrain"], capture_output=True, text=True,
                                timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def _candidates():
    """Where the library is looked for, in order: (description, path or name)."""
    found = ctypes.util.find_library("mlptrain")
    if found:
        yield "the system's library path", found
    libdir = _pkg_config_libdir()
    if libdir:
        yield "pkg-config --variable=libdir mlptrain", os.path.join(libdir, "libmlptrain.so")
    for prefix in dict.fromkeys([sys.prefix, "/usr/local", "/usr"]):
        for pattern in ("lib/libmlptrain.so", "lib64/libmlptrain.so", "lib/*-linux-gnu/libmlptrain.so"):
            for path in sorted(glob.glob(os.path.join(prefix, pattern))):
                yield f"the prefix {prefix}", path
    # A source checkout: python/mlptrain/ beside build*/src/api/.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for path in sorted(glob.glob(os.path.join(root, "build*", "src", "api", "libmlptrain.so"))):
        yield "the build tree", path


def _declare(lib):
    c_int, c_char_p, c_void_p = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p
    net_p = ctypes.POINTER(c_void_p)
    images_p = ctypes.POINTER(Images)
    signatures = {
        "mlp_status_message": (c_char_p, [c_int]),
        "mlp_version": (c_char_p, []),
        "mlp_net_create": (c_int, [net_p, ctypes.POINTER(c_int), c_int, c_char_p, c_char_p]),
        "mlp_net_load": (c_int, [net_p, c_char_p, c_char_p]),
        "mlp_net_save": (c_int, [c_void_p, c_char_p]),
        "mlp_net_free": (None, [c_void_p]),
        "mlp_net_sizes": (c_int, [c_void_p, ctypes.POINTER(c_int), c_int]),
        "mlp_net_activation": (c_char_p, [c_void_p]),
        "mlp_net_parameter_count": (ctypes.c_size_t, [c_void_p]),
        "mlp_net_error": (c_char_p, [c_void_p]),
        "mlp_train_recipe_init": (None, [ctypes.POINTER(Recipe)]),
        "mlp_net_train": (c_int, [c_void_p, images_p, c_void_p, ctypes.POINTER(Recipe), EPOCH_CALLBACK, c_void_p]),
        "mlp_net_predict_proba": (c_int, [c_void_p, images_p, c_void_p, c_int]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    recipe = Recipe()
    lib.mlp_train_recipe_init(ctypes.byref(recipe))
    if recipe.size != ctypes.sizeof(Recipe):
        raise ImportError(f"mlptrain: {lib._name} has a recipe of {recipe.size} bytes, this binding "
                          f"{ctypes.sizeof(Recipe)}: install matching versions")
    return lib


def load():
    """The library: MLPTRAIN_LIBRARY (a path) when set, else the first that loads of _candidates()."""
    explicit = os.environ.get("MLPTRAIN_LIBRARY")
    if explicit:
        try:
            return _declare(ctypes.CDLL(explicit))
        except OSError as error:
            raise ImportError(f"mlptrain: MLPTRAIN_LIBRARY={explicit}: {error}") from None
    tried = []
    for where, path in _candidates():
        try:
            return _declare(ctypes.CDLL(path))
        except OSError as error:
            tried.append(f"{path} ({where}: {error})")
    raise ImportError("mlptrain: libmlptrain.so not found (looked in the system's library path, pkg-config, "
                      f"{sys.prefix}, /usr/local, /usr and a build tree beside the package"
                      + (f"; tried {'; '.join(tried)}" if tried else "")
                      + "); install the C library (cmake --install build --prefix PREFIX) or set "
                      "MLPTRAIN_LIBRARY=/path/to/libmlptrain.so")
