"""Helpers shared by the interop checks (tests/interop/*.py): MNIST IDX reading, running the
trainer, a safetensors reader (the safetensors package is not in Debian), skipping with 77."""
import gzip
import json
import os
import struct
import subprocess
import sys


def skip(reason):
    print(f"SKIPPED: {reason}")
    sys.exit(77)


def read_idx(folder, stem):
    import numpy as np
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            dims = struct.unpack(">" + "I" * data[3], data[4:4 + 4 * data[3]])
            return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(dims)
    return None


def read_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    tensors = {}
    for name, entry in header.items():
        if name != "__metadata__":
            begin, end = entry["data_offsets"]
            assert entry["dtype"] == "F32"
            tensors[name] = np.frombuffer(data[8 + length + begin:8 + length + end], "<f4").reshape(entry["shape"])
    return tensors, header.get("__metadata__", {})


def trainer(binary, *args, expect=0):
    """Runs the trainer; fails the test (exit 1) when the exit code is not `expect`."""
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != expect:
        print(f"FAILED: trainer {' '.join(args)}: exit {result.returncode}, expected {expect}\n{result.stdout}{result.stderr}")
        sys.exit(1)
    return result


def train_small_model(binary, mnist, folder):
    """A quickly trained 784,128,64,10 relu model (1 epoch of 12,000 images): argmax ties are rare."""
    trainer(binary, "--data", mnist, "--train-limit", "12000", "--epochs", "1", "--out", folder,
            "--checkpoint-every", "0")
    return os.path.join(folder, "model.mlp")
