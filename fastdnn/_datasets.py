"""Datasets for the demo, examples and benchmarks.

scikit-learn's bundled digits and breast-cancer data (the ``[examples]``
extra) when it is installed; a generated problem of the same shape otherwise.

Examples
--------
>>> X, y, name = load("generated", seed=0)
>>> X.shape, y.shape, name
((1797, 64), (1797,), 'generated 10-class blobs')
"""
from __future__ import annotations

import numpy as np

__all__ = ["load", "train_test_split"]


def _blobs(m: int, n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """k Gaussian classes in n dimensions, overlapping enough to need a hidden layer."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(k, n))
    y = rng.integers(0, k, size=m)
    X = centers[y] + rng.normal(scale=2.5, size=(m, n))
    X = np.tanh(X / 3.0) * 8.0 + 8.0  # bounded, shifted features like pixel intensities
    return X, y


def load(name: str = "digits", seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """``(X (m, n_features) float64, y (m,) int, description)``.

    ``name`` is ``"digits"`` (1797 8x8 images, 10 classes), ``"breast_cancer"``
    (569 x 30, 2 classes) or ``"generated"``; the first two fall back to a
    generated problem of the same shape when scikit-learn is not installed.
    """
    if name not in ("digits", "breast_cancer", "generated"):
        raise ValueError(f"unknown dataset {name!r}; known: digits, breast_cancer, generated")
    if name != "generated":
        try:
            from sklearn import datasets
        except ImportError:
            pass
        else:
            loader = datasets.load_digits if name == "digits" else datasets.load_breast_cancer
            data = loader()
            return (np.asarray(data.data, dtype=np.float64), np.asarray(data.target),
                    f"scikit-learn {name.replace('_', '-')}")
    if name == "breast_cancer":
        X, y = _blobs(569, 30, 2, seed)
        return X, y, "generated 2-class blobs (scikit-learn not installed)"
    X, y = _blobs(1797, 64, 10, seed)
    suffix = "" if name == "generated" else " (scikit-learn not installed)"
    return X, y, "generated 10-class blobs" + suffix


def train_test_split(X: np.ndarray, y: np.ndarray, test_size: float = 0.25, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded random split (like scikit-learn's, without needing it).

    Examples
    --------
    >>> import numpy as np
    >>> Xtr, Xte, ytr, yte = train_test_split(np.zeros((8, 2)), np.arange(8))
    >>> len(Xtr), len(Xte)
    (6, 2)
    """
    m = X.shape[0]
    perm = np.random.default_rng(seed).permutation(m)
    n_test = int(np.ceil(m * test_size))
    test, train = perm[:n_test], perm[n_test:]
    return X[train], X[test], y[train], y[test]
