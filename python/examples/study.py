#!/usr/bin/python3
"""The study's notebook experiment through the binding: MNIST, layers 784,128,64,10 (ReLU,
softmax), plain mini-batch SGD (batch 64, lr 0.1), 10 epochs, a seeded 80/20 split of the
training file into training and validation, the training and validation cost of every epoch
plotted with matplotlib, and the test accuracy at the end.

The notebook's NumPy code did the same with `X @ W + b`, ReLU, softmax and hand-written
backpropagation on float arrays of pixel / 255; here the same arrays go to mlptrain.MLP.fit
(float64 pixels are converted to float32 once; uint8 pixels would go in as they are) and the
epoch loop runs in C with OpenMP. The model file it saves is the one `trainer --epochs 10` writes.

    /usr/bin/python3 python/examples/study.py [--data data/mnist] [--epochs 10] [--out study.png]
    (PYTHONPATH=python, or pip install ./python; the C library installed or MLPTRAIN_LIBRARY set)
"""
import argparse
import time

import numpy as np

import mlptrain


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/mnist", help="folder with MNIST's IDX files [%(default)s]")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training images [%(default)s]")
    parser.add_argument("--threads", type=int, default=None, help="OpenMP threads [all available cores]")
    parser.add_argument("--out", default="study.png", help="the figure [%(default)s]")
    parser.add_argument("--model", default=None, help="also save the model file here")
    args = parser.parse_args()

    # The notebook's data: pixels scaled to 0..1, labels as integers.
    images, labels = mlptrain.load_idx(args.data, "train")
    test_images, test_labels = mlptrain.load_idx(args.data, "t10k")
    X, y = images / 255.0, labels.astype(np.int64)
    X_test, y_test = test_images / 255.0, test_labels.astype(np.int64)

    model = mlptrain.MLP(layers=[784, 128, 64, 10], activation="relu")
    start = time.perf_counter()
    model.fit(X, y, epochs=args.epochs, batch=64, lr=0.1, seed=42, validation=0.2, threads=args.threads,
              callback=lambda r: print(f"epoch {r['epoch']:2d}  train cost {r['train_cost']:.4f}  "
                                       f"validation cost {r['validation_cost']:.4f}  "
                                       f"accuracy {100 * r['validation_accuracy']:.2f}%"))
    seconds = time.perf_counter() - start
    print(f"{args.epochs} epochs in {seconds:.1f} s; test accuracy {100 * model.score(X_test, y_test):.2f}%")
    if args.model:
        model.save(args.model)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = [h["epoch"] for h in model.history_]
    plt.figure(figsize=(8, 6))
    plt.plot(epochs, [h["train_cost"] for h in model.history_], "o-", label="training cost")
    plt.plot(epochs, [h["validation_cost"] for h in model.history_], "o-", label="validation cost")
    plt.xticks(epochs)
    plt.xlabel("epoch")
    plt.ylabel("mean cross-entropy")
    plt.title("784,128,64,10, SGD lr 0.1, batch 64 (mlptrain from Python)")
    plt.legend()
    plt.grid(alpha=0.3)
    plt.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
