#!/usr/bin/python3
"""Writes the seed corpora of the interop readers: fuzz/corpus/safetensors/ and fuzz/corpus/npz/.
Small models (each under 4 KiB, the fuzzers' -max_len) in the forms the readers meet: the
trainer's own exports, numpy.savez and numpy.savez_compressed files, a PyTorch-style safetensors
without __metadata__, Fortran-order arrays, and nearly valid files (float64, a missing bias).
Run once after a format change:
  /usr/bin/python3 fuzz/make_interop_seeds.py build/src/trainer fuzz/corpus"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np


def safetensors_bytes(tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).tobytes()
        dtype = {np.float32: "F32", np.float64: "F64"}[array.dtype.type]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def layers(sizes, seed):
    rng = np.random.default_rng(seed)
    arrays = {}
    for l in range(len(sizes) - 1):
        arrays[f"W{l}"] = rng.standard_normal((sizes[l], sizes[l + 1])).astype(np.float32)
        arrays[f"b{l}"] = rng.standard_normal(sizes[l + 1]).astype(np.float32)
    return arrays


def main():
    trainer, root = sys.argv[1], sys.argv[2]
    os.makedirs(f"{root}/safetensors", exist_ok=True)
    os.makedirs(f"{root}/npz", exist_ok=True)
    work = tempfile.mkdtemp(prefix="mlp_seeds_")
    small = layers([6, 4, 3], 1)
    np.savez(f"{root}/npz/numpy_savez_6_4_3.npz", **small)
    np.savez_compressed(f"{root}/npz/numpy_compressed_6_4_3.npz", **small)
    np.savez(f"{root}/npz/fortran_order_5_2.npz", **{k: np.asfortranarray(v) for k, v in layers([5, 2], 2).items()})
    np.savez(f"{root}/npz/float64_4_2.npz", **{k: v.astype(np.float64) for k, v in layers([4, 2], 3).items()})
    np.savez(f"{root}/npz/no_bias_4_3_2.npz", **{k: v for k, v in layers([4, 3, 2], 4).items() if k != "b1"})
    # The trainer's own exports, through import.
    for name, sizes, activation in (("tanh_6_4_3", [6, 4, 3], "tanh"), ("relu_5_3_10", [5, 3, 10], "relu")):
        np.savez(f"{work}/{name}.npz", **layers(sizes, 5))
        subprocess.run([trainer, "import", f"{work}/{name}.npz", "--activation", activation, "--out",
                        f"{work}/{name}.mlp"], check=True, capture_output=True)
        for format in ("safetensors", "npz"):
            subprocess.run([trainer, "export", "--model", f"{work}/{name}.mlp", "--format", format, "--out",
                            f"{root}/{format}/trainer_{name}.{format}"], check=True, capture_output=True)
    torch_style = {}
    for l, (key, array) in enumerate(layers([6, 4, 3], 6).items()):
        torch_style[f"layers.{l // 2}.{'weight' if key[0] == 'W' else 'bias'}"] = array.T.copy() if key[0] == "W" else array
    with open(f"{root}/safetensors/no_metadata_6_4_3.safetensors", "wb") as f:
        f.write(safetensors_bytes(torch_style))
    with open(f"{root}/safetensors/float64_6_4_3.safetensors", "wb") as f:
        f.write(safetensors_bytes({k: v.astype(np.float64) for k, v in torch_style.items()}, {"activation": "relu"}))
    print(f"seeds written to {root}/safetensors and {root}/npz")


if __name__ == "__main__":
    main()
