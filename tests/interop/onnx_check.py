#!/usr/bin/python3
"""ONNX export against other people's code: the exported graph (float32 and uint8 input) passes
onnx.checker.check_model, and OpenCV's DNN module (cv2.dnn.readNetFromONNX) gives, on all 10,000
MNIST test images, the argmax of `trainer eval` for every image and probabilities within 1e-5 of
`trainer eval --write-probabilities`.   Usage: onnx_check.py TRAINER MNIST_DIR"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import read_idx, skip, train_small_model, trainer  # noqa: E402

try:
    import cv2
    import numpy as np
    import onnx
except ImportError as missing:
    skip(f"{missing} (apt-get install python3-onnx python3-opencv python3-numpy)")

TOLERANCE = 1e-5


def main():
    binary, mnist = sys.argv[1], sys.argv[2]
    images = read_idx(mnist, "t10k-images-idx3-ubyte")
    if images is None or read_idx(mnist, "train-images-idx3-ubyte") is None:
        skip(f"no MNIST in {mnist}")
    pixels = images.reshape(len(images), -1)
    work = tempfile.mkdtemp(prefix="mlp_onnx_")
    model = train_small_model(binary, mnist, os.path.join(work, "run"))
    probabilities_path = os.path.join(work, "probabilities.f32")
    trainer(binary, "eval", "--data", mnist, "--model", model, "--write-probabilities", probabilities_path)
    expected = np.fromfile(probabilities_path, "<f4").reshape(len(pixels), 10)
    failures = 0
    for input_kind in ("float", "uint8"):
        path = os.path.join(work, f"model_{input_kind}.onnx")
        trainer(binary, "export", "--model", model, "--format", "onnx", "--input", input_kind, "--out", path)
        graph = onnx.load(path)
        onnx.checker.check_model(graph, full_check=True)  # raises on any violation
        assert graph.ir_version == 8 and graph.opset_import[0].version == 13, (graph.ir_version, graph.opset_import)
        assert [i.name for i in graph.graph.input] == ["pixels"], graph.graph.input
        assert [o.name for o in graph.graph.output] == ["probabilities"], graph.graph.output
        net = cv2.dnn.readNetFromONNX(path)
        if input_kind == "float":
            net.setInput(pixels.astype(np.float32) * np.float32(1.0 / 255.0))
        else:
            net.setInput(pixels.copy())
        got = net.forward()
        same_argmax = int(np.sum(got.argmax(1) == expected.argmax(1)))
        largest = float(np.max(np.abs(got - expected)))
        ok = same_argmax == len(pixels) and largest <= TOLERANCE
        failures += not ok
        print(f"onnx ({input_kind} input): checker ok; OpenCV {cv2.__version__}: argmax equal on {same_argmax} of "
              f"{len(pixels)} images, max |p_opencv - p_trainer| = {largest:.3e} (tolerance {TOLERANCE:g}): "
              f"{'ok' if ok else 'FAILED'}")
    failures += check_other_shapes(binary, work)
    return 1 if failures else 0


def check_other_shapes(binary, work):
    """tanh and sigmoid hidden layers, a one-unit sigmoid output, a single layer: each imported
    from numpy.savez, exported, checked, and run in OpenCV against a NumPy forward pass."""
    rng = np.random.default_rng(0)
    functions = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    failures = 0
    for activation, output, sizes in (("tanh", "softmax", [784, 32, 10]), ("sigmoid", "sigmoid", [784, 16, 1]),
                                      ("relu", "softmax", [784, 10])):
        arrays = {}
        for l in range(len(sizes) - 1):
            arrays[f"W{l}"] = (rng.standard_normal((sizes[l], sizes[l + 1])) * 0.05).astype(np.float32)
            arrays[f"b{l}"] = rng.standard_normal(sizes[l + 1]).astype(np.float32)
        np.savez(f"{work}/shape.npz", **arrays)
        trainer(binary, "import", f"{work}/shape.npz", "--activation", activation, "--output", output,
                "--out", f"{work}/shape.mlp")
        trainer(binary, "export", "--model", f"{work}/shape.mlp", "--format", "onnx", "--out", f"{work}/shape.onnx")
        onnx.checker.check_model(onnx.load(f"{work}/shape.onnx"), full_check=True)
        x = rng.random((64, 784)).astype(np.float32)
        a = x.astype(np.float64)
        for l in range(len(sizes) - 1):
            a = a @ arrays[f"W{l}"] + arrays[f"b{l}"]
            if l < len(sizes) - 2:
                a = functions[activation](a)
        if output == "sigmoid":
            expected = functions["sigmoid"](a)
        else:
            e = np.exp(a - a.max(axis=1, keepdims=True))
            expected = e / e.sum(axis=1, keepdims=True)
        net = cv2.dnn.readNetFromONNX(f"{work}/shape.onnx")
        net.setInput(x)
        got = net.forward()
        largest = float(np.max(np.abs(got - expected)))
        ok = got.shape == expected.shape and largest <= TOLERANCE
        failures += not ok
        print(f"onnx {','.join(map(str, sizes))} {activation}, {output} output: checker ok; OpenCV vs NumPy "
              f"max |dp| {largest:.3e}: {'ok' if ok else 'FAILED'}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
