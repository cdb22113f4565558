"""Plain NumPy versions of the library's math, written for clarity.

This module is the oracle of the tests and the baseline of the benchmarks:
each function is the expression a course exercise would write. The library's
own code never calls it.

Examples
--------
>>> import numpy as np
>>> from fastdnn import reference
>>> reference.relu(np.array([-1.0, 2.0]))
array([0., 2.])
"""
import numpy as np


def sigmoid(z):
    """``1 / (1 + exp(-z))``."""
    return 1 / (1 + np.exp(-z))


def tanh(z):
    """``tanh(z)``."""
    return np.tanh(z)


def relu(z):
    """``max(0, z)``."""
    return np.maximum(z, 0)


def leaky_relu(z, alpha=0.01):
    """``z`` where ``z >= 0``, else ``alpha * z``."""
    return np.where(z >= 0, z, alpha * z)


def linear(z):
    """Identity."""
    return z.copy()


def softmax(z, axis=0):
    """``exp(z - max) / sum(exp(z - max))`` along ``axis``."""
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def sigmoid_derivative(z):
    """``s (1 - s)`` with ``s = sigmoid(z)``."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh_derivative(z):
    """``1 - tanh(z)**2``."""
    return 1 - np.tanh(z) ** 2


def relu_derivative(z):
    """1 for ``z >= 0``, 0 for ``z < 0``."""
    return (z >= 0).astype(z.dtype)


def leaky_relu_derivative(z, alpha=0.01):
    """1 for ``z >= 0``, ``alpha`` for ``z < 0``."""
    return np.where(z >= 0, 1.0, alpha).astype(z.dtype)


def linear_derivative(z):
    """Ones."""
    return np.ones_like(z)


def sigmoid_backward(dA, a):
    """``dA * a * (1 - a)`` from the cached activation ``a``."""
    return dA * a * (1 - a)


def tanh_backward(dA, a):
    """``dA * (1 - a**2)``."""
    return dA * (1 - a ** 2)


def relu_backward(dA, a):
    """``dA * (a > 0)``."""
    return dA * (a > 0)


def leaky_relu_backward(dA, a, alpha=0.01):
    """``dA * where(a >= 0, 1, alpha)``."""
    return dA * np.where(a >= 0, 1.0, alpha).astype(a.dtype)


def linear_backward(dA, a):
    """``dA`` (a copy)."""
    return dA * np.ones_like(a)


def softmax_backward(dA, a, axis=0):
    """``a * (dA - sum(dA * a, axis))``."""
    return a * (dA - np.sum(dA * a, axis=axis, keepdims=True))
