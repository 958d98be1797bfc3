#!/usr/bin/python3
"""safetensors and npz against NumPy and PyTorch, and imported models used like native ones:
  - export -> import gives the same model file, byte for byte (both formats);
  - the npz loads with numpy.load (W [in, out]) and the safetensors into a PyTorch nn.Sequential
    (state_dict "0.weight" ... from layers.L.weight [out, in]); both give trainer eval's argmax on
    every test image and probabilities within 1e-5;
  - an imported model trains (train --init-model), evaluates, predicts (a PNG) and exports.
Usage: formats_check.py TRAINER MNIST_DIR"""
import filecmp
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_common import read_idx, read_safetensors, skip, train_small_model, trainer  # noqa: E402

try:
    import numpy as np
    import torch
except ImportError as missing:
    skip(f"{missing} (apt-get install python3-torch python3-numpy)")

TOLERANCE = 1e-5


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def main():
    binary, mnist = sys.argv[1], sys.argv[2]
    images = read_idx(mnist, "t10k-images-idx3-ubyte")
    if images is None or read_idx(mnist, "train-images-idx3-ubyte") is None:
        skip(f"no MNIST in {mnist}")
    x = images.reshape(len(images), -1).astype(np.float32) * np.float32(1.0 / 255.0)
    work = tempfile.mkdtemp(prefix="mlp_formats_")
    model = train_small_model(binary, mnist, os.path.join(work, "run"))
    trainer(binary, "eval", "--data", mnist, "--model", model, "--write-probabilities", f"{work}/p.f32")
    expected = np.fromfile(f"{work}/p.f32", "<f4").reshape(len(x), 10)
    failures = []

    def agree(name, probabilities):
        same = int(np.sum(probabilities.argmax(1) == expected.argmax(1)))
        largest = float(np.max(np.abs(probabilities - expected)))
        ok = same == len(x) and largest <= TOLERANCE
        print(f"{name}: argmax equal on {same} of {len(x)}, max |dp| {largest:.3e}: {'ok' if ok else 'FAILED'}")
        if not ok:
            failures.append(name)

    # Round trips through the CLI: the same model file, byte for byte.
    for fmt, extra in (("safetensors", []), ("npz", ["--activation", "relu"])):
        trainer(binary, "export", "--model", model, "--format", fmt, "--out", f"{work}/m.{fmt}")
        trainer(binary, "import", "--format", fmt, f"{work}/m.{fmt}", *extra, "--out", f"{work}/back_{fmt}.mlp")
        same = filecmp.cmp(model, f"{work}/back_{fmt}.mlp", shallow=False)
        print(f"{fmt}: export -> import gives the same model.mlp bytes: {'ok' if same else 'FAILED'}")
        if not same:
            failures.append(f"{fmt} round trip")

    # npz in NumPy: the study's orientation, x @ W + b.
    arrays = np.load(f"{work}/m.npz")
    assert sorted(arrays.files) == ["W0", "W1", "W2", "b0", "b1", "b2"], arrays.files
    assert arrays["W0"].shape == (784, 128) and arrays["W0"].dtype == np.float32
    a = x
    for l in range(3):
        a = a @ arrays[f"W{l}"] + arrays[f"b{l}"]
        if l < 2:
            a = np.maximum(a, 0)
    agree("npz in NumPy (x @ W + b)", softmax(a.astype(np.float64)).astype(np.float32))

    # safetensors in PyTorch: nn.Sequential(Linear, ReLU, Linear, ReLU, Linear).
    tensors, metadata = read_safetensors(f"{work}/m.safetensors")
    assert metadata == {"format": "mlptrain", "layers": "784,128,64,10", "activation": "relu", "output": "softmax"}, metadata
    sizes = [int(s) for s in metadata["layers"].split(",")]
    modules = []
    for l in range(len(sizes) - 1):
        modules += [torch.nn.Linear(sizes[l], sizes[l + 1]), torch.nn.ReLU()]
    net = torch.nn.Sequential(*modules[:-1])
    state = {f"{2 * l}.{kind}": torch.from_numpy(tensors[f"layers.{l}.{kind}"].copy())
             for l in range(len(sizes) - 1) for kind in ("weight", "bias")}
    net.load_state_dict(state)  # strict: every name and shape must match nn.Linear's [out, in]
    with torch.no_grad():
        agree("safetensors in PyTorch nn.Sequential", torch.softmax(net(torch.from_numpy(x)), dim=1).numpy())

    # An imported model is used like a native one: train from it, evaluate, predict, export.
    imported = f"{work}/back_npz.mlp"
    trainer(binary, "--data", mnist, "--init-model", imported, "--train-limit", "2000", "--epochs", "1",
            "--out", f"{work}/continued", "--checkpoint-every", "0")
    evaluation = trainer(binary, "eval", "--data", mnist, "--model", f"{work}/continued/model.mlp").stdout
    accuracy = float(evaluation.split("accuracy ")[1].split("%")[0])
    print(f"imported model trained one more epoch (2,000 images): test accuracy {accuracy:.2f}%")
    if accuracy < 80:
        failures.append("training from an imported model")
    try:
        import cv2
        cv2.imwrite(f"{work}/digit.png", images[0])
        predicted = trainer(binary, "predict", "--model", imported, f"{work}/digit.png").stdout
        digit = int(predicted.split(": ")[1].split()[0])
        print(f"predict with the imported model: test image 0 -> {digit} (eval's argmax {expected[0].argmax()})")
        if digit != expected[0].argmax():
            failures.append("predict")
    except ImportError:
        print("predict: skipped (no python3-opencv to write the PNG)")
    trainer(binary, "export", "--model", imported, "--format", "onnx", "--out", f"{work}/imported.onnx")

    if failures:
        print(f"FAILED: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
