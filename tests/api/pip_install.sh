#!/bin/sh
# `pip install ./python` into a fresh virtual environment (offline: --system-site-packages for
# Debian's NumPy, --no-build-isolation --no-index), the C library installed into a prefix, and
# the package finding it by itself through pkg-config (no MLPTRAIN_LIBRARY), then training and
# predicting from outside the source tree. Exit 77 when NumPy, venv or pip are missing.
#   pip_install.sh PYTHON BUILD_DIR SOURCE_DIR
set -eu
python=$1 build=$(cd "$2" && pwd) source=$(cd "$3" && pwd)
"$python" -c "import numpy" 2>/dev/null || { echo "SKIPPED: no numpy for $python (python3-numpy)"; exit 77; }
"$python" -c "import venv, ensurepip" 2>/dev/null || { echo "SKIPPED: no venv/ensurepip for $python (python3-venv)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
"$python" -m venv --system-site-packages "$work/venv" || fail "python3 -m venv"
cp -r "$source/python" "$work/python-src" # pip builds in place: keep the source tree clean
"$work/venv/bin/pip" install --quiet --no-build-isolation --no-index "$work/python-src" >"$work/pip.log" 2>&1 \
    || { cat "$work/pip.log"; fail "pip install ./python"; }
echo "ok: pip install ./python into a venv"

cd "$work"
unset MLPTRAIN_LIBRARY PYTHONPATH
PKG_CONFIG_PATH=$(dirname "$(find "$work/prefix" -name mlptrain.pc)") "$work/venv/bin/python" - "$work/prefix" <<'PY' \
    || fail "the installed package"
import os, sys
import numpy as np
import mlptrain
prefix = os.path.realpath(sys.argv[1])
where = os.path.realpath(mlptrain.library_path())
assert where.startswith(prefix), f"loaded {where}, not the installed library under {prefix}"
assert os.path.realpath(mlptrain.__file__).startswith(os.path.realpath(sys.prefix)), mlptrain.__file__
rng = np.random.default_rng(1)
X = rng.integers(0, 256, (400, 64), dtype=np.uint8)
y = np.arange(400) % 10
model = mlptrain.MLP(layers=[64, 16, 10], epochs=2).fit(X, y)
assert model.predict_proba(X).shape == (400, 10)
print(f"ok: the venv's mlptrain {mlptrain.version()} found {where} through pkg-config; fit and predict work")
PY
if PKG_CONFIG_PATH=/nonexistent "$work/venv/bin/python" -c "import mlptrain" 2>"$work/err.txt"; then
    echo "note: without pkg-config the package still found a library: $(PKG_CONFIG_PATH=/nonexistent "$work/venv/bin/python" -c "import mlptrain; print(mlptrain.library_path())")"
else
    grep -q "MLPTRAIN_LIBRARY" "$work/err.txt" || fail "no library: the ImportError does not say how to fix it: $(cat "$work/err.txt")"
    echo "ok: without a library: $(tail -1 "$work/err.txt" | cut -c1-160)..."
fi
