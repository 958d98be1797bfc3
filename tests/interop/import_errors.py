#!/usr/bin/python3
"""trainer export/import on bad input: each case exits with its code (2 usage, 1 runtime), prints
exactly one line on stderr naming the file and the problem, never crashes, and leaves no output
file behind. The bad .npz files are written by NumPy itself.   Usage: import_errors.py TRAINER"""
import os
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import skip  # noqa: E402

try:
    import numpy as np
except ImportError as missing:
    skip(f"{missing} (apt-get install python3-numpy)")

failures = 0


def expect(code, word, *args, out=None):
    global failures
    result = subprocess.run([TRAINER, *args], capture_output=True, text=True)
    lines = result.stderr.splitlines()
    problem = None
    if result.returncode >= 128 or result.returncode < 0:
        problem = f"crashed ({result.returncode})"
    elif result.returncode != code:
        problem = f"exit {result.returncode}, expected {code}"
    elif len(lines) != 1 or not lines[0].startswith("trainer: error: "):
        problem = f"{len(lines)} stderr lines, expected one 'trainer: error: ...'"
    elif word not in lines[0]:
        problem = f"message lacks '{word}'"
    elif out and os.path.exists(out):
        problem = f"{out} was written"
    if problem:
        failures += 1
        print(f"FAIL: trainer {' '.join(args)}: {problem}\n  {result.stderr.strip()}")
    else:
        print(f"ok: exit {code}: {lines[0]}")


def layers(sizes, dtype=np.float32):
    rng = np.random.default_rng(0)
    arrays = {}
    for l in range(len(sizes) - 1):
        arrays[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l + 1])).astype(dtype)
        arrays[f"b{l}"] = rng.standard_normal(sizes[l + 1]).astype(dtype)
    return arrays


def main():
    global TRAINER
    TRAINER = sys.argv[1]
    work = tempfile.mkdtemp(prefix="mlp_import_errors_")
    out = f"{work}/out.mlp"
    good = layers([6, 4, 3])
    np.savez(f"{work}/good.npz", **good)
    subprocess.run([TRAINER, "import", f"{work}/good.npz", "--activation", "relu", "--out", f"{work}/good.mlp"], check=True,
                   capture_output=True)

    # usage errors (exit 2)
    expect(2, "--model FILE is required", "export", "--format", "onnx", "--out", f"{work}/x.onnx")
    expect(2, "--format", "export", "--model", f"{work}/good.mlp", "--out", f"{work}/x.onnx")
    expect(2, "not one of", "export", "--model", f"{work}/good.mlp", "--format", "tflite", "--out", f"{work}/x")
    expect(2, "--input uint8 applies to --format onnx only", "export", "--model", f"{work}/good.mlp", "--format", "npz",
           "--input", "uint8", "--out", f"{work}/x.npz")
    expect(2, "--out FILE is required", "import", f"{work}/good.npz", "--activation", "relu")
    expect(2, "no FILE", "import", "--out", out)
    expect(2, "give --format", "import", f"{work}/good.bin", "--out", out)
    expect(2, "--activation relu|sigmoid|tanh is required for npz", "import", f"{work}/good.npz", "--out", out, out=out)
    expect(2, "not one of", "import", f"{work}/good.npz", "--activation", "gelu", "--out", out)
    # runtime errors (exit 1): files
    expect(1, "missing.mlp", "export", "--model", f"{work}/missing.mlp", "--format", "onnx", "--out", f"{work}/x.onnx")
    expect(1, "missing.npz", "import", f"{work}/missing.npz", "--activation", "relu", "--out", out, out=out)
    os.makedirs(f"{work}/folder.onnx")
    expect(1, "folder.onnx", "export", "--model", f"{work}/good.mlp", "--format", "onnx", "--out", f"{work}/folder.onnx")

    def bad_npz(name, word, arrays=None, write=None):
        path = f"{work}/{name}.npz"
        if write:
            write(path)
        else:
            np.savez(path, **arrays)
        expect(1, word, "import", path, "--activation", "relu", "--out", out, out=out)

    bad_npz("float64", "dtype '<f8'", layers([6, 4, 3], np.float64))
    bad_npz("big_endian", "dtype '>f4'", {k: v.astype(">f4") for k, v in good.items()})
    bad_npz("rank3", "rank 3", {**good, "W1": good["W1"].reshape(4, 3, 1)})
    bad_npz("mismatch", "consecutive layers must match", {**good, "W1": np.zeros((5, 3), np.float32)})
    bad_npz("no_bias", "no b1", {k: v for k, v in good.items() if k != "b1"})
    bad_npz("no_layer0", "no W0", {k: v for k, v in good.items() if not k.endswith("0")})
    bad_npz("bias_shape", "expected [4]", {**good, "b0": np.zeros(3, np.float32)})
    nan = dict(good)
    nan["W1"] = good["W1"].copy()
    nan["W1"][2, 1] = np.nan
    bad_npz("nan", "W1[2, 1] is NaN", nan)
    bad_npz("extra", "unexpected member 'optimizer_state.npy'", {**good, "optimizer_state": np.zeros(3, np.float32)})
    bad_npz("int", "dtype '<i8'", {**good, "b0": np.zeros(4, np.int64)})
    bad_npz("empty", "no layers", {})

    def not_zip(path):
        with open(path, "wb") as f:
            f.write(b"\x93NUMPY this is a .npy, not an .npz")
    bad_npz("not_zip", "not a zip archive", write=not_zip)

    def truncated(path):
        np.savez(path, **good)
        data = open(path, "rb").read()
        open(path, "wb").write(data[:len(data) // 2])
    bad_npz("truncated", "not a readable zip archive", write=truncated)

    def bad_header(path):
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("W0.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}")
    bad_npz("bad_header", "the .npy header is not", write=bad_header)

    def short_data(path):
        with zipfile.ZipFile(path, "w") as z:
            header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 4), }"
            header += b" " * (117 - len(header)) + b"\n"
            z.writestr("W0.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + bytes(40))
    bad_npz("short_data", "40 data bytes for its shape's 24 float32 values", write=short_data)

    def bad_crc(path):
        np.savez(path, **good)
        data = bytearray(open(path, "rb").read())
        data[200] ^= 0xFF  # inside W0's data (stored, not compressed): the member's CRC-32 no longer matches
        open(path, "wb").write(bytes(data))
    bad_npz("bad_crc", "W0.npy", write=bad_crc)

    # safetensors
    def bad_safetensors(name, word, content, *extra):
        path = f"{work}/{name}.safetensors"
        open(path, "wb").write(content)
        expect(1, word, "import", path, *extra, "--out", out, out=out)

    bad_safetensors("empty", "too short", b"")
    bad_safetensors("huge_header", "header length", (1 << 40).to_bytes(8, "little") + b"{}")
    bad_safetensors("not_json", "not valid JSON", (8).to_bytes(8, "little") + b"{nope   ")
    subprocess.run([TRAINER, "export", "--model", f"{work}/good.mlp", "--format", "safetensors", "--out",
                    f"{work}/good.safetensors"], check=True, capture_output=True)
    data = open(f"{work}/good.safetensors", "rb").read()
    bad_safetensors("cut", "run past", data[:-8])
    bad_safetensors("conflict", "says activation relu, but tanh was asked for", data, "--activation", "tanh")

    # train --init-model: the model's shape is the run's
    expect(2, "--layers contradicts the model (layers 6,4,3, relu)", "--init-model", f"{work}/good.mlp", "--layers",
           "784,64,10", "--out", f"{work}/run")
    expect(2, "--activation contradicts the model", "--init-model", f"{work}/good.mlp", "--activation", "tanh",
           "--out", f"{work}/run")
    expect(1, "nothere.mlp", "--init-model", f"{work}/nothere.mlp", "--out", f"{work}/run")

    # a failed export leaves the previous file alone
    open(f"{work}/keep.onnx", "wb").write(b"previous")
    expect(1, "missing.mlp", "export", "--model", f"{work}/missing.mlp", "--format", "onnx", "--out", f"{work}/keep.onnx")
    if open(f"{work}/keep.onnx", "rb").read() != b"previous":
        failures_add("a failed export replaced the previous file")

    print(f"{failures} failures")
    return 1 if failures else 0


def failures_add(message):
    global failures
    failures += 1
    print(f"FAIL: {message}")


if __name__ == "__main__":
    sys.exit(main())
