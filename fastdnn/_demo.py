"""``python -m fastdnn demo``: train a network, report test accuracy and speed.

Trains the lecture's recipe (normalized inputs, He-initialized ReLU hidden
layer, softmax output, Adam, mini-batches of 32) on scikit-learn's digits
(a generated 10-class problem when scikit-learn is absent), then trains the
same network from the same initial weights in the plain NumPy reference and
prints both times.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from . import reference
from ._datasets import load, train_test_split
from .layers import Dense, Input, Normalizer
from .models import Sequential
from .optimizers import Adam

if TYPE_CHECKING:
    from typing import Any


def run(dataset: str = "digits", epochs: int = 30, batch_size: int = 32, hidden: int = 128,
        learning_rate: float = 1e-3, seed: int = 0, numpy_reference: bool = True,
        verbose: int = 1) -> dict[str, Any]:
    """Train on ``dataset``; returns the measured numbers (also printed)."""
    X, y, description = load(dataset, seed)
    Xtr, Xte, ytr, yte = train_test_split(X, y, 0.25, seed)
    k = int(y.max()) + 1
    print(f"dataset: {description}: {X.shape[0]} examples, {X.shape[1]} features, "
          f"{k} classes; train {len(ytr)}, test {len(yte)}")
    norm = Normalizer()
    norm.adapt(Xtr.astype(np.float32))
    output = "sigmoid" if k == 2 else "softmax"
    loss = "binary_crossentropy" if k == 2 else "categorical_crossentropy"
    model = Sequential([Input(X.shape[1]), norm, Dense(hidden, activation="relu"),
                        Dense(1 if k == 2 else k, activation=output)], seed=seed)
    model.compile(optimizer=Adam(learning_rate), loss=loss, metrics=["accuracy"])
    model.build()
    model.summary()
    initial = [(l.W.copy(), l.b.copy()) for l in model.layers  # type: ignore[union-attr]
               if isinstance(l, Dense)]   # every layer here has a bias
    Xtr32, Xte32 = Xtr.astype(np.float32), Xte.astype(np.float32)

    t0 = time.perf_counter()
    model.fit(Xtr32, ytr, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose)
    t_fast = time.perf_counter() - t0
    acc = float(np.mean(model.predict_classes(Xte32) == yte))
    print(f"\nfastdnn: {epochs} epochs in {t_fast:.2f} s, test accuracy {acc:.4f}")
    result = {"dataset": description, "epochs": epochs, "fastdnn_seconds": t_fast,
              "fastdnn_accuracy": acc}
    if not numpy_reference:
        return result

    # the same training in plain NumPy: same normalization, initial weights, batch size
    mu, inv = norm.mean, 1 / np.sqrt(norm.variance + norm.epsilon)
    A0 = ((Xtr32.T - mu) * inv).astype(np.float32)
    Y = np.eye(k, dtype=np.float32)[ytr].T if k > 2 else ytr.reshape(1, -1).astype(np.float32)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    params, _ = reference.train(A0, Y, initial, ["relu", output], loss=loss, optimizer="adam",
                                learning_rate=learning_rate, epochs=epochs,
                                batch_size=batch_size,
                                permutations=lambda epoch: rng.permutation(A0.shape[1]))
    t_ref = time.perf_counter() - t0
    A = reference.network_forward(((Xte32.T - mu) * inv).astype(np.float32), params,
                                  ["relu", output])[-1]
    pred = (A[0] >= 0.5).astype(int) if k == 2 else np.argmax(A, axis=0)
    ref_acc = float(np.mean(pred == yte))
    print(f"NumPy reference: {epochs} epochs in {t_ref:.2f} s, test accuracy {ref_acc:.4f}")
    print(f"fastdnn is {t_ref / t_fast:.1f}x faster")
    result.update(numpy_seconds=t_ref, numpy_accuracy=ref_acc, speedup=t_ref / t_fast)
    return result
