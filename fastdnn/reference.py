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
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from numpy.typing import NDArray

    _Array = NDArray[np.floating[Any]]


def sigmoid(z: _Array) -> _Array:
    """``1 / (1 + exp(-z))``."""
    return 1 / (1 + np.exp(-z))


def tanh(z: _Array) -> _Array:
    """``tanh(z)``."""
    return np.tanh(z)


def relu(z: _Array) -> _Array:
    """``max(0, z)``."""
    return np.maximum(z, 0)


def leaky_relu(z: _Array, alpha: float = 0.01) -> _Array:
    """``z`` where ``z >= 0``, else ``alpha * z``."""
    return np.where(z >= 0, z, alpha * z)


def linear(z: _Array) -> _Array:
    """Identity."""
    return z.copy()


def softmax(z: _Array, axis: int | None = 0) -> _Array:
    """``exp(z - max) / sum(exp(z - max))`` along ``axis``."""
    e: _Array = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def sigmoid_derivative(z: _Array) -> _Array:
    """``s (1 - s)`` with ``s = sigmoid(z)``."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh_derivative(z: _Array) -> _Array:
    """``1 - tanh(z)**2``."""
    return 1 - np.tanh(z) ** 2


def relu_derivative(z: _Array) -> _Array:
    """1 for ``z >= 0``, 0 for ``z < 0``."""
    return (z >= 0).astype(z.dtype)


def leaky_relu_derivative(z: _Array, alpha: float = 0.01) -> _Array:
    """1 for ``z >= 0``, ``alpha`` for ``z < 0``."""
    return np.where(z >= 0, 1.0, alpha).astype(z.dtype)


def linear_derivative(z: _Array) -> _Array:
    """Ones."""
    return np.ones_like(z)


def sigmoid_backward(dA: _Array, a: _Array) -> _Array:
    """``dA * a * (1 - a)`` from the cached activation ``a``."""
    return dA * a * (1 - a)


def tanh_backward(dA: _Array, a: _Array) -> _Array:
    """``dA * (1 - a**2)``."""
    return dA * (1 - a ** 2)


def relu_backward(dA: _Array, a: _Array) -> _Array:
    """``dA * (a > 0)``."""
    return dA * (a > 0)


def leaky_relu_backward(dA: _Array, a: _Array, alpha: float = 0.01) -> _Array:
    """``dA * where(a >= 0, 1, alpha)``."""
    return dA * np.where(a >= 0, 1.0, alpha).astype(a.dtype)


def linear_backward(dA: _Array, a: _Array) -> _Array:
    """``dA`` (a copy)."""
    return dA * np.ones_like(a)


def softmax_backward(dA: _Array, a: _Array, axis: int | None = 0) -> _Array:
    """``a * (dA - sum(dA * a, axis))``."""
    return a * (dA - np.sum(dA * a, axis=axis, keepdims=True))

# ------------------------------------------- elu, selu, gelu, silu, softplus, softsign, ...
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_GELU_C = float(np.sqrt(2 / np.pi))
_SQRT2 = float(np.sqrt(2))
_SQRT_2PI = float(np.sqrt(2 * np.pi))


def _erf(x: _Array) -> _Array:
    from scipy.special import erf   # a dependency; NumPy has no erf
    return erf(x)  # type: ignore[no-any-return]


def elu(z: _Array, alpha: float = 1.0) -> _Array:
    """``z`` where ``z > 0``, else ``alpha (exp(z) - 1)``."""
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))


def selu(z: _Array) -> _Array:
    """``scale * elu(z, alpha)`` with the self-normalizing constants."""
    return SELU_SCALE * elu(z, SELU_ALPHA)


def gelu(z: _Array) -> _Array:
    """``0.5 z (1 + erf(z / sqrt(2)))``."""
    return 0.5 * z * (1 + _erf(z / _SQRT2))


def gelu_tanh(z: _Array) -> _Array:
    """``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z**3)))``."""
    r: _Array = 0.5 * z * (1 + np.tanh(_GELU_C * (z + 0.044715 * z ** 3)))
    return r


def silu(z: _Array) -> _Array:
    """``z sigmoid(z)``."""
    return z * sigmoid(z)


def softplus(z: _Array) -> _Array:
    """``log(1 + exp(z))``."""
    return np.logaddexp(0, z)


def softsign(z: _Array) -> _Array:
    """``z / (1 + |z|)``."""
    r: _Array = z / (1 + np.abs(z))
    return r


def hard_sigmoid(z: _Array) -> _Array:
    """``relu6(z + 3) / 6``."""
    return np.clip(z + 3, 0, 6) / 6


def mish(z: _Array) -> _Array:
    """``z tanh(softplus(z))``."""
    return z * np.tanh(softplus(z))


def elu_derivative(z: _Array, alpha: float = 1.0) -> _Array:
    """1 for ``z > 0``, ``alpha exp(z)`` otherwise."""
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0))).astype(z.dtype)


def selu_derivative(z: _Array) -> _Array:
    """``scale`` for ``z > 0``, ``scale alpha exp(z)`` otherwise."""
    return SELU_SCALE * elu_derivative(z, SELU_ALPHA)


def gelu_derivative(z: _Array) -> _Array:
    """``Phi(z) + z phi(z)``."""
    return 0.5 * (1 + _erf(z / _SQRT2)) + z * np.exp(-z * z / 2) / _SQRT_2PI


def gelu_tanh_derivative(z: _Array) -> _Array:
    """``0.5 (1 + t) + 0.5 z (1 - t**2) u'(z)``, ``t = tanh(u)``."""
    t = np.tanh(_GELU_C * (z + 0.044715 * z ** 3))
    r: _Array = 0.5 * (1 + t) + 0.5 * z * (1 - t ** 2) * _GELU_C * (1 + 3 * 0.044715 * z ** 2)
    return r


def silu_derivative(z: _Array) -> _Array:
    """``s (1 + z (1 - s))``, ``s = sigmoid(z)``."""
    s = sigmoid(z)
    return s * (1 + z * (1 - s))


def softplus_derivative(z: _Array) -> _Array:
    """``sigmoid(z)``."""
    return sigmoid(z)


def softsign_derivative(z: _Array) -> _Array:
    """``1 / (1 + |z|)**2``."""
    return 1 / (1 + np.abs(z)) ** 2


def hard_sigmoid_derivative(z: _Array) -> _Array:
    """1/6 for ``-3 < z < 3``, 0 elsewhere."""
    return np.where((z > -3) & (z < 3), 1 / 6, 0.0).astype(z.dtype)


def mish_derivative(z: _Array) -> _Array:
    """``t + z sigmoid(z) (1 - t**2)``, ``t = tanh(softplus(z))``."""
    t = np.tanh(softplus(z))
    r: _Array = t + z * sigmoid(z) * (1 - t ** 2)
    return r


def elu_backward(dA: _Array, a: _Array, alpha: float = 1.0) -> _Array:
    """``dA * where(a > 0, 1, a + alpha)`` from the cached activation ``a``."""
    return dA * np.where(a > 0, 1.0, a + alpha).astype(a.dtype)


def selu_backward(dA: _Array, a: _Array) -> _Array:
    """``dA * where(a > 0, scale, a + scale alpha)``."""
    return dA * np.where(a > 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA).astype(a.dtype)


def gelu_backward(dA: _Array, z: _Array) -> _Array:
    """``dA * gelu'(z)`` from the cached pre-activation ``z``."""
    return dA * gelu_derivative(z)


def gelu_tanh_backward(dA: _Array, z: _Array) -> _Array:
    """``dA * gelu_tanh'(z)`` from ``z``."""
    return dA * gelu_tanh_derivative(z)


def silu_backward(dA: _Array, z: _Array) -> _Array:
    """``dA * silu'(z)`` from ``z``."""
    return dA * silu_derivative(z)


def softplus_backward(dA: _Array, a: _Array) -> _Array:
    """``dA * (1 - exp(-a))``."""
    return dA * -np.expm1(-a)


def softsign_backward(dA: _Array, a: _Array) -> _Array:
    """``dA * (1 - |a|)**2``."""
    r: _Array = dA * (1 - np.abs(a)) ** 2
    return r


def hard_sigmoid_backward(dA: _Array, a: _Array) -> _Array:
    """``dA / 6`` where ``0 < a < 1``, else 0."""
    return dA * np.where((a > 0) & (a < 1), 1 / 6, 0.0).astype(a.dtype)


def mish_backward(dA: _Array, z: _Array) -> _Array:
    """``dA * mish'(z)`` from ``z``."""
    return dA * mish_derivative(z)


# activations whose backward takes the pre-activation z rather than the activation a
BACKWARD_ON_Z = frozenset({"gelu", "gelu_tanh", "silu", "mish"})


# ------------------------------------------------------------------ optimizers
# One step of each optimizer on one parameter array, as the lecture writes it.
# ``decay`` is an L2 coefficient: the gradient used is ``grad + decay * param``.
# Each function returns new arrays and leaves its arguments unchanged.

def _l2_gradient(param: _Array, grad: _Array, decay: float) -> _Array:
    """``grad + decay * param`` (just ``grad`` when ``decay`` is 0)."""
    if decay == 0:
        return grad
    return grad + decay * param


def gd_step(param: _Array, grad: _Array, learning_rate: float, decay: float = 0.0) -> _Array:
    """Gradient descent: returns ``param - learning_rate * grad``.

    Examples
    --------
    >>> gd_step(np.array([1.0]), np.array([2.0]), 0.1)
    array([0.8])
    """
    grad = _l2_gradient(param, grad, decay)
    return param - learning_rate * grad


def momentum_step(param: _Array, grad: _Array, v: _Array, learning_rate: float,
                  beta: float = 0.9, decay: float = 0.0) -> tuple[_Array, _Array]:
    """Momentum: ``v = beta v + (1 - beta) grad``, ``param - learning_rate v``.

    Returns ``(param, v)``.

    Examples
    --------
    >>> p, v = momentum_step(np.array([1.0]), np.array([2.0]), np.array([0.0]), 0.5, beta=0.5)
    >>> p, v
    (array([0.5]), array([1.]))
    """
    grad = _l2_gradient(param, grad, decay)
    v = beta * v + (1 - beta) * grad
    param = param - learning_rate * v
    return param, v


def rmsprop_step(param: _Array, grad: _Array, s: _Array, learning_rate: float,
                 beta: float = 0.999, epsilon: float = 1e-8, decay: float = 0.0
                 ) -> tuple[_Array, _Array]:
    """RMSprop: ``s = beta s + (1 - beta) grad**2``, ``param - lr grad / (sqrt(s) + eps)``.

    Returns ``(param, s)``.

    Examples
    --------
    >>> p, s = rmsprop_step(np.array([1.0]), np.array([2.0]), np.array([0.0]), 0.1,
    ...                     beta=0.75, epsilon=0.0)
    >>> p, s
    (array([0.8]), array([1.]))
    """
    grad = _l2_gradient(param, grad, decay)
    s = beta * s + (1 - beta) * grad ** 2
    param = param - learning_rate * grad / (np.sqrt(s) + epsilon)
    return param, s


def adam_step(param: _Array, grad: _Array, m: _Array, v: _Array, t: int, learning_rate: float,
              beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
              decay: float = 0.0) -> tuple[_Array, _Array, _Array]:
    """Adam step number ``t`` (1 for the first step), with bias correction.

    ``m = beta1 m + (1 - beta1) grad``, ``v = beta2 v + (1 - beta2) grad**2``,
    ``m_hat = m / (1 - beta1**t)``, ``v_hat = v / (1 - beta2**t)``,
    ``param - learning_rate m_hat / (sqrt(v_hat) + epsilon)``.
    Returns ``(param, m, v)``.

    Examples
    --------
    >>> p, m, v = adam_step(np.array([1.0]), np.array([2.0]), np.array([0.0]),
    ...                     np.array([0.0]), 1, 0.1, epsilon=0.0)
    >>> p
    array([0.9])
    """
    grad = _l2_gradient(param, grad, decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    param = param - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
    return param, m, v


def adamw_step(param: _Array, grad: _Array, m: _Array, v: _Array, t: int, learning_rate: float,
               beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
               weight_decay: float = 0.01, decay: float = 0.0
               ) -> tuple[_Array, _Array, _Array]:
    """AdamW step ``t``: ``param * (1 - learning_rate * weight_decay)``, then Adam's step
    (the L2 ``decay`` enters the gradient, from the parameters before the step).
    Returns ``(param, m, v)``.

    Examples
    --------
    >>> p, m, v = adamw_step(np.array([1.0]), np.array([2.0]), np.array([0.0]),
    ...                      np.array([0.0]), 1, 0.1, epsilon=0.0, weight_decay=1.0)
    >>> p
    array([0.8])
    """
    grad = _l2_gradient(param, grad, decay)
    shrunk = param * (1 - learning_rate * weight_decay)
    p, m, v = adam_step(param, grad, m, v, t, learning_rate, beta1, beta2, epsilon)
    return shrunk + (p - param), m, v


def nadam_mu(t: int, beta1: float = 0.9, momentum_decay: float = 0.004) -> float:
    """Nadam's momentum coefficient at step ``t``: ``beta1 (1 - 0.96**(t momentum_decay) / 2)``.

    Examples
    --------
    >>> round(nadam_mu(1, 0.9, 0.0), 12)
    0.45
    """
    return float(beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay)))


def nadam_step(param: _Array, grad: _Array, m: _Array, v: _Array, t: int, learning_rate: float,
               beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
               momentum_decay: float = 0.004, decay: float = 0.0
               ) -> tuple[_Array, _Array, _Array]:
    """Nadam step ``t`` (PyTorch's NAdam): with ``mu_s = nadam_mu(s)`` and
    ``P = mu_1 ... mu_t``, ``m``, ``v`` as Adam, ``d = sqrt(v / (1 - beta2**t)) + epsilon``,
    ``param - lr (1 - mu_t) / (1 - P) g / d - lr mu_{t+1} / (1 - P mu_{t+1}) m / d``.
    Returns ``(param, m, v)``.

    Examples
    --------
    >>> p, m, v = nadam_step(np.array([1.0]), np.array([2.0]), np.array([0.0]),
    ...                      np.array([0.0]), 1, 0.1, beta1=0.0, epsilon=0.0)
    >>> p
    array([0.9])
    """
    grad = _l2_gradient(param, grad, decay)
    product = 1.0
    for s in range(1, t + 1):
        product *= nadam_mu(s, beta1, momentum_decay)
    mu, mu_next = nadam_mu(t, beta1, momentum_decay), nadam_mu(t + 1, beta1, momentum_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    d = np.sqrt(v / (1 - beta2 ** t)) + epsilon
    param = (param - learning_rate * (1 - mu) / (1 - product) * grad / d
             - learning_rate * mu_next / (1 - product * mu_next) * m / d)
    return param, m, v


def adagrad_step(param: _Array, grad: _Array, s: _Array, learning_rate: float,
                 epsilon: float = 1e-10, decay: float = 0.0) -> tuple[_Array, _Array]:
    """Adagrad: ``s = s + grad**2``, ``param - lr grad / (sqrt(s) + epsilon)``.

    Returns ``(param, s)``; ``s`` starts at the initial accumulator value.

    Examples
    --------
    >>> p, s = adagrad_step(np.array([1.0]), np.array([2.0]), np.array([12.0]), 0.1,
    ...                     epsilon=0.0)
    >>> p, s
    (array([0.95]), array([16.]))
    """
    grad = _l2_gradient(param, grad, decay)
    s = s + grad ** 2
    param = param - learning_rate * grad / (np.sqrt(s) + epsilon)
    return param, s


def adamax_step(param: _Array, grad: _Array, m: _Array, u: _Array, t: int, learning_rate: float,
                beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
                decay: float = 0.0) -> tuple[_Array, _Array, _Array]:
    """Adamax step ``t``: ``m`` as Adam, ``u = max(beta2 u, |grad| + epsilon)``,
    ``param - lr / (1 - beta1**t) m / u``. Returns ``(param, m, u)``.

    Examples
    --------
    >>> p, m, u = adamax_step(np.array([1.0]), np.array([2.0]), np.array([0.0]),
    ...                       np.array([0.0]), 1, 0.1, epsilon=0.0)
    >>> p
    array([0.9])
    """
    grad = _l2_gradient(param, grad, decay)
    m = beta1 * m + (1 - beta1) * grad
    u = np.maximum(beta2 * u, np.abs(grad) + epsilon)
    param = param - learning_rate / (1 - beta1 ** t) * m / u
    return param, m, u


def sgd_step(param: _Array, grad: _Array, b: _Array, learning_rate: float,
             momentum: float = 0.0, nesterov: bool = False, decay: float = 0.0
             ) -> tuple[_Array, _Array]:
    """SGD with momentum (PyTorch's form): ``b = momentum b + grad``,
    ``param - lr b`` (Nesterov: ``param - lr (grad + momentum b)``). Returns ``(param, b)``.

    Examples
    --------
    >>> p, b = sgd_step(np.array([1.0]), np.array([2.0]), np.array([1.0]), 0.1, momentum=0.5)
    >>> p, b
    (array([0.75]), array([2.5]))
    """
    grad = _l2_gradient(param, grad, decay)
    b = momentum * b + grad
    param = param - learning_rate * (grad + momentum * b if nesterov else b)
    return param, b


def clip_gradients(grads: Sequence[_Array], clipnorm: float | None = None,
                 global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> list[_Array]:
    """Gradients clipped as the optimizers do: each scaled to an L2 norm of at most
    ``clipnorm``, or all together to ``global_clipnorm`` (``g * c / norm`` when the norm
    is above ``c``), then each entry clipped to ``[-clipvalue, clipvalue]``.

    Examples
    --------
    >>> clip_gradients([np.array([3.0, 4.0])], clipnorm=1.0)[0]
    array([0.6, 0.8])
    """
    out: list[_Array] = [np.asarray(g, dtype=np.float64) for g in grads]
    if clipnorm is not None:
        norms = [float(np.sqrt(np.sum(g * g))) for g in out]
        out = [g if n <= clipnorm else g * (clipnorm / n) for g, n in zip(out, norms)]
    if global_clipnorm is not None:
        n = float(np.sqrt(sum(float(np.sum(g * g)) for g in out)))
        if not n <= global_clipnorm:
            out = [g * (global_clipnorm / n) for g in out]
    if clipvalue is not None:
        out = [np.clip(g, -clipvalue, clipvalue) for g in out]
    return out


# ------------------------------------------------------------------ metrics
# The counts of the metrics kept as counts, over every element of A and Y (n_L, m); a
# target is positive when y > 0.5.

def confusion_counts(A: _Array, Y: _Array, threshold: float = 0.5) -> tuple[int, int, int]:
    """``(TP, FP, FN)`` at ``A > threshold``; a NaN prediction is wrong.

    Examples
    --------
    >>> confusion_counts(np.array([[0.9, 0.8, 0.2]]), np.array([[1, 0, 1]]))
    (1, 1, 1)
    """
    pos = Y > 0.5
    pred = np.where(np.isnan(A), ~pos, A > threshold)
    return (int(np.sum(pred & pos)), int(np.sum(pred & ~pos)), int(np.sum(~pred & pos)))


def auc(A: _Array, Y: _Array, num_thresholds: int = 200, curve: str = "ROC",
        summation_method: str = "interpolation") -> float:
    """Keras' ``AUC``: confusion counts at the thresholds ``-1e-7, 1/(N-1), ...,
    (N-2)/(N-1), 1 + 1e-7`` (``A > t`` is positive at ``t``), then a Riemann sum of the
    ROC or precision-recall curve (``"interpolation"``: trapezoids, or for PR Davis and
    Goadrich's interpolation; ``"minoring"``; ``"majoring"``).

    Examples
    --------
    >>> round(auc(np.array([[0.1, 0.4, 0.35, 0.8]]), np.array([[0, 0, 1, 1]])), 6)
    0.75
    """
    N = num_thresholds
    t = np.array([-1e-7] + [i / (N - 1) for i in range(1, N - 1)] + [1 + 1e-7])
    a, pos = A.ravel()[:, None], (Y > 0.5).ravel()[:, None]
    above = a > t[None, :]
    tp = np.sum(above & pos, axis=0).astype(float)
    fp = np.sum(above & ~pos, axis=0).astype(float)
    fn = np.sum(~above & pos, axis=0).astype(float)
    tn = np.sum(~above & ~pos, axis=0).astype(float)

    def div(x: _Array, y: _Array) -> _Array:
        return np.where(y != 0, x / np.where(y != 0, y, 1), 0.0)

    if curve == "PR" and summation_method == "interpolation":
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return float(np.sum(div(slope * (dtp + intercept * np.log(ratio)),
                                np.maximum(tp[1:] + fn[1:], 0))))
    recall = div(tp, tp + fn)
    x, y = (div(fp, fp + tn), recall) if curve == "ROC" else (recall, div(tp, tp + fp))
    if summation_method == "interpolation":
        heights = (y[:-1] + y[1:]) / 2
    elif summation_method == "minoring":
        heights = np.minimum(y[:-1], y[1:])
    else:
        heights = np.maximum(y[:-1], y[1:])
    return float(np.sum((x[:-1] - x[1:]) * heights))


def top_k_hits(A: _Array, Y: _Array, k: int = 5) -> int:
    """Columns whose target class (argmax of ``Y``) has fewer than ``k`` outputs of ``A``
    above its own; a column holding NaN misses.

    Examples
    --------
    >>> top_k_hits(np.array([[0.5, 0.1], [0.3, 0.2], [0.2, 0.7]]),
    ...            np.array([[0, 1], [1, 0], [0, 0]]), k=2)
    1
    """
    target = np.argmax(Y, axis=0)
    own = A[target, np.arange(A.shape[1])]
    above = np.sum(A > own[None, :], axis=0)
    return int(np.sum((above < k) & ~np.isnan(A).any(axis=0)))


# ------------------------------------------------------------ whole networks
# The course's L-layer network trained by mini-batch gradient descent, in plain
# NumPy: the oracle of the model tests and the baseline of the demo and of the
# training benchmark. Arrays are (n_l, m), one column per example.

_NEWER = ("elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "softsign", "hard_sigmoid",
          "mish")
_FORWARD: dict[str, Callable[[_Array], _Array]] = {
    "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "leaky_relu": leaky_relu,
    "linear": linear, "softmax": softmax, **{name: globals()[name] for name in _NEWER}}
_BACKWARD: dict[str, Callable[[_Array, _Array], _Array]] = {
    "sigmoid": sigmoid_backward, "tanh": tanh_backward, "relu": relu_backward,
    "leaky_relu": leaky_relu_backward, "linear": linear_backward,
    "softmax": softmax_backward, **{name: globals()[name + "_backward"] for name in _NEWER}}


def _smooth(Y: _Array, label_smoothing: float, classes: int) -> _Array:
    """Targets with label smoothing: ``Y (1 - s) + s / classes``."""
    return Y * (1 - label_smoothing) + label_smoothing / classes


def binary_crossentropy_cost(A: _Array, Y: _Array, from_logits: bool = False,
                             label_smoothing: float = 0.0) -> float:
    """``-(1/m) sum(Y log A + (1 - Y) log(1 - A))``; from logits ``Z``:
    ``(1/m) sum(max(Z, 0) - Z Y + log(1 + exp(-|Z|)))``."""
    m = Y.shape[1]
    Y = _smooth(Y, label_smoothing, 2)
    if from_logits:
        return float(np.sum(np.maximum(A, 0) - A * Y + np.log1p(np.exp(-np.abs(A)))) / m)
    return float(-np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m)


def _log_softmax(Z: _Array) -> _Array:
    """``Z - logsumexp(Z)`` over each column."""
    shifted = Z - np.max(Z, axis=0, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))  # type: ignore[no-any-return]


def categorical_crossentropy_cost(A: _Array, Y: _Array, from_logits: bool = False,
                                  label_smoothing: float = 0.0) -> float:
    """``-(1/m) sum(Y log A)``; from logits: ``log A`` is the log-softmax of the logits."""
    Y = _smooth(Y, label_smoothing, Y.shape[0])
    logA = _log_softmax(A) if from_logits else np.log(A)
    return float(-np.sum(Y * logA) / Y.shape[1])


def mse_cost(A: _Array, Y: _Array) -> float:
    """``(1/2m) sum((A - Y)**2)``, the half squared error whose ``dZ`` is ``A - Y``."""
    return float(np.sum((A - Y) ** 2) / (2 * Y.shape[1]))


def mae_cost(A: _Array, Y: _Array) -> float:
    """``(1/m) sum(|A - Y|)``."""
    return float(np.sum(np.abs(A - Y)) / Y.shape[1])


def huber_cost(A: _Array, Y: _Array, delta: float = 1.0) -> float:
    """``(1/m) sum(h(A - Y))``, ``h(d) = d**2 / 2`` for ``|d| <= delta``, else
    ``delta (|d| - delta / 2)``."""
    d = np.abs(A - Y)
    return float(np.sum(np.where(d <= delta, 0.5 * d ** 2, delta * (d - 0.5 * delta)))
                 / Y.shape[1])


def log_cosh_cost(A: _Array, Y: _Array) -> float:
    """``(1/m) sum(log(cosh(A - Y)))``."""
    return float(np.sum(np.log(np.cosh(A - Y))) / Y.shape[1])


def poisson_cost(A: _Array, Y: _Array, log_input: bool = False) -> float:
    """``(1/m) sum(A - Y log(A + 1e-7))``; with ``log_input``: ``(1/m) sum(exp(A) - Y A)``."""
    if log_input:
        return float(np.sum(np.exp(A) - Y * A) / Y.shape[1])
    return float(np.sum(A - Y * np.log(A + 1e-7)) / Y.shape[1])


def hinge_cost(A: _Array, Y: _Array) -> float:
    """``(1/m) sum(max(1 - Y A, 0))``, labels ``Y`` in {-1, 1}."""
    return float(np.sum(np.maximum(1 - Y * A, 0)) / Y.shape[1])


def squared_hinge_cost(A: _Array, Y: _Array) -> float:
    """``(1/m) sum(max(1 - Y A, 0)**2)``, labels ``Y`` in {-1, 1}."""
    return float(np.sum(np.maximum(1 - Y * A, 0) ** 2) / Y.shape[1])


def binary_crossentropy_gradient(A: _Array, Y: _Array, from_logits: bool = False,
                                 label_smoothing: float = 0.0) -> _Array:
    """``-(Y / A - (1 - Y) / (1 - A))``; from logits: ``sigmoid(A) - Y``."""
    Y = _smooth(Y, label_smoothing, 2)
    if from_logits:
        return sigmoid(A) - Y
    return -(Y / A - (1 - Y) / (1 - A))


def categorical_crossentropy_gradient(A: _Array, Y: _Array, from_logits: bool = False,
                                      label_smoothing: float = 0.0) -> _Array:
    """``-Y / A``; from logits: ``softmax(A) sum(Y) - Y`` per column."""
    Y = _smooth(Y, label_smoothing, Y.shape[0])
    if from_logits:
        G: _Array = softmax(A) * np.sum(Y, axis=0, keepdims=True) - Y
        return G
    return -Y / A


def huber_gradient(A: _Array, Y: _Array, delta: float = 1.0) -> _Array:
    """``A - Y`` clipped into ``[-delta, delta]``."""
    return np.clip(A - Y, -delta, delta)


def poisson_gradient(A: _Array, Y: _Array, log_input: bool = False) -> _Array:
    """``1 - Y / (A + 1e-7)``; with ``log_input``: ``exp(A) - Y``."""
    if log_input:
        return np.exp(A) - Y
    return 1 - Y / (A + 1e-7)


COSTS: dict[str, Callable[..., float]] = {
    "binary_crossentropy": binary_crossentropy_cost,
    "categorical_crossentropy": categorical_crossentropy_cost, "mse": mse_cost,
    "mae": mae_cost, "huber": huber_cost, "log_cosh": log_cosh_cost, "poisson": poisson_cost,
    "hinge": hinge_cost, "squared_hinge": squared_hinge_cost}
# dL/dA per example, for outputs the loss does not pair with
LOSS_GRADIENTS: dict[str, Callable[..., _Array]] = {
    "binary_crossentropy": binary_crossentropy_gradient,
    "categorical_crossentropy": categorical_crossentropy_gradient,
    "mse": lambda A, Y: A - Y,
    "mae": lambda A, Y: np.sign(A - Y),
    "huber": huber_gradient,
    "log_cosh": lambda A, Y: np.tanh(A - Y),
    "poisson": poisson_gradient,
    "hinge": lambda A, Y: np.where(1 - Y * A > 0, -Y, 0.0),
    "squared_hinge": lambda A, Y: -2 * Y * np.maximum(1 - Y * A, 0),
}
# the output activation each cost pairs with, making dZ = A - Y
FUSED_OUTPUT = {"binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax",
                "mse": "linear", "mae": None, "huber": None, "log_cosh": None,
                "poisson": None, "hinge": None, "squared_hinge": None}


def batch_norm(X: _Array, gamma: _Array, beta: _Array, epsilon: float
               ) -> tuple[_Array, _Array, _Array]:
    """Batch normalization of ``X (n, m)``: each feature (row) over the examples,
    ``gamma (X - mu) / sqrt(var + epsilon) + beta``; returns (Y, mu, var), var biased."""
    mu = X.mean(axis=1, keepdims=True)
    var = ((X - mu) ** 2).mean(axis=1, keepdims=True)
    return gamma * (X - mu) / np.sqrt(var + epsilon) + beta, mu, var


def batch_norm_backward(dY: _Array, X: _Array, gamma: _Array, epsilon: float
                        ) -> tuple[_Array, _Array, _Array]:
    """(dX, dgamma, dbeta) of ``batch_norm`` for ``dY`` = d(sum of the losses)/dY;
    dgamma and dbeta are averaged over the m examples, as ``db`` is."""
    m = X.shape[1]
    mu = X.mean(axis=1, keepdims=True)
    inv_std = 1 / np.sqrt(((X - mu) ** 2).mean(axis=1, keepdims=True) + epsilon)
    xh = (X - mu) * inv_std
    s, sx = dY.sum(axis=1, keepdims=True), (dY * xh).sum(axis=1, keepdims=True)
    dX = gamma * inv_std / m * (m * dY - s - xh * sx)
    return dX, sx / m, s / m


def layer_norm(X: _Array, gamma: _Array, beta: _Array, epsilon: float) -> _Array:
    """Layer normalization of ``X (n, m)``: each example (column) over its features."""
    mu = X.mean(axis=0, keepdims=True)
    var = ((X - mu) ** 2).mean(axis=0, keepdims=True)
    Y: _Array = gamma * (X - mu) / np.sqrt(var + epsilon) + beta
    return Y


def layer_norm_backward(dY: _Array, X: _Array, gamma: _Array, epsilon: float
                        ) -> tuple[_Array, _Array, _Array]:
    """(dX, dgamma, dbeta) of ``layer_norm``; dgamma and dbeta averaged over the examples."""
    n, m = X.shape
    mu = X.mean(axis=0, keepdims=True)
    inv_std = 1 / np.sqrt(((X - mu) ** 2).mean(axis=0, keepdims=True) + epsilon)
    xh = (X - mu) * inv_std
    g = gamma * dY
    dX = inv_std / n * (n * g - g.sum(axis=0, keepdims=True)
                        - xh * (g * xh).sum(axis=0, keepdims=True))
    return dX, (dY * xh).sum(axis=1, keepdims=True) / m, dY.sum(axis=1, keepdims=True) / m


def network_forward(X: _Array, params: Sequence[tuple[_Array, _Array]],
                    activations: Sequence[str]) -> list[_Array]:
    """``[A0 = X, A1, ..., AL]`` with ``A[l] = g[l](W[l] A[l-1] + b[l])``."""
    As = [X]
    for (W, b), g in zip(params, activations):
        As.append(_FORWARD[g](W @ As[-1] + b))
    return As


def network_backward(As: Sequence[_Array], Y: _Array, params: Sequence[tuple[_Array, _Array]],
                     activations: Sequence[str], loss: str, lam: float = 0.0,
                     sample_weight: _Array | None = None,
                     **loss_args: Any) -> list[tuple[_Array, _Array]]:
    """``[(dW1, db1), ..., (dWL, dbL)]``, L2 term ``(lam/m) W`` included.

    The output's ``dZ`` is ``A - Y`` when ``loss`` pairs with its activation
    (sigmoid + binary cross-entropy, softmax + categorical, linear + mse);
    otherwise the loss's ``dA`` (see ``LOSS_GRADIENTS``, called with ``loss_args``) goes
    through ``g'``. ``sample_weight`` ``(m,)``: example j's ``dZ`` (or ``dA``) times ``w_j``.
    """
    m = Y.shape[1]
    L = len(params)
    AL = As[-1]
    w = 1.0 if sample_weight is None else np.asarray(sample_weight).reshape(1, -1)

    def cached(l: int) -> _Array:   # what layer l's backward takes: its A, or its Z
        if activations[l] in BACKWARD_ON_Z:
            W, b = params[l]
            return W @ As[l] + b
        return As[l + 1]

    if FUSED_OUTPUT[loss] == activations[-1] and not loss_args.get("from_logits"):
        dZ: _Array = (AL - _smooth(Y, loss_args.get("label_smoothing", 0.0),
                                   2 if loss == "binary_crossentropy" else Y.shape[0])) * w
    else:
        dZ = _BACKWARD[activations[-1]](LOSS_GRADIENTS[loss](AL, Y, **loss_args) * w,
                                        cached(L - 1))
    grads: list[Any] = [None] * L
    for l in range(L - 1, -1, -1):
        W = params[l][0]
        dW = dZ @ As[l].T / m + (lam / m) * W
        db = np.sum(dZ, axis=1, keepdims=True) / m
        grads[l] = (dW, db)
        if l > 0:
            dZ = _BACKWARD[activations[l - 1]](W.T @ dZ, cached(l - 1))
    return grads


def network_cost(AL: _Array, Y: _Array, params: Sequence[tuple[_Array, _Array]], loss: str,
                 lam: float = 0.0, sample_weight: _Array | None = None,
                 **loss_args: Any) -> float:
    """``J = cost(AL, Y) + (lam/2m) sum ||W||^2`` (the cost called with ``loss_args``); with
    ``sample_weight`` ``(m,)`` the cost is Keras' ``sum_j w_j L_j / m``."""
    m: int = Y.shape[1]
    if sample_weight is None:
        cost = COSTS[loss](AL, Y, **loss_args)
    else:
        cost = sum(float(w_j) * COSTS[loss](AL[:, j:j + 1], Y[:, j:j + 1], **loss_args)
                   for j, w_j in enumerate(np.asarray(sample_weight).ravel())) / m
    return cost + lam / (2 * m) * sum(float(np.sum(W * W)) for W, _ in params)


def train(X: _Array, Y: _Array, params: Sequence[tuple[_Array, _Array]],
          activations: Sequence[str], loss: str = "binary_crossentropy", optimizer: str = "gd",
          learning_rate: float | Callable[[int], float] = 0.01, epochs: int = 1,
          batch_size: int | None = None,
          permutations: Callable[[int], NDArray[np.integer[Any]]] | None = None,
          lam: float = 0.0, loss_args: dict[str, Any] | None = None,
          sample_weight: _Array | None = None, **hyper: float
          ) -> tuple[list[tuple[_Array, _Array]], NDArray[np.float64]]:
    """Mini-batch training of ``params = [(W1, b1), ...]`` (copies; not modified).

    ``learning_rate`` is a float or a function of the epoch; ``permutations``
    is a function of the epoch returning the order of the examples (default:
    their order); the last partial batch is used. ``optimizer`` is
    ``"gd"``, ``"momentum"``, ``"rmsprop"`` or ``"adam"`` with ``hyper`` its
    parameters (``beta``, ``beta1``, ``beta2``, ``epsilon``); ``loss_args`` the loss's
    (``from_logits``, ``label_smoothing``, ``delta``, ``log_input``); ``sample_weight``
    ``(m,)`` weighs the examples (see ``network_cost``, ``network_backward``).
    Returns ``(params, costs)`` with the cost of every mini-batch.
    """
    params = [(W.copy(), b.copy()) for W, b in params]
    flat = [p for pair in params for p in pair]
    state = [[np.zeros_like(p), np.zeros_like(p)] for p in flat]
    m = X.shape[1]
    B = m if batch_size is None else batch_size
    costs: list[float] = []
    t = 0
    for epoch in range(epochs):
        lr = learning_rate(epoch) if callable(learning_rate) else learning_rate
        order = np.arange(m) if permutations is None else permutations(epoch)
        for s in range(0, m, B):
            idx = order[s:s + B]
            Xb, Yb = X[:, idx], Y[:, idx]
            wb = None if sample_weight is None else np.asarray(sample_weight)[idx]
            As = network_forward(Xb, params, activations)
            costs.append(network_cost(As[-1], Yb, params, loss, lam, wb, **(loss_args or {})))
            grads = network_backward(As, Yb, params, activations, loss, lam, wb,
                                     **(loss_args or {}))
            t += 1
            flat_grads = [g for pair in grads for g in pair]
            for i, (p, g) in enumerate(zip(flat, flat_grads)):
                p[...] = _step(optimizer, p, g, state[i], lr, t, hyper)
    return params, np.array(costs)


def _step(optimizer: str, p: _Array, g: _Array, state: list[_Array], lr: float, t: int,
          hyper: dict[str, float]) -> _Array:
    """One optimizer step on ``p`` (state arrays updated in place); returns the new ``p``."""
    if optimizer in ("gd", "sgd"):
        return gd_step(p, g, lr)
    if optimizer == "momentum":
        p, state[0][...] = momentum_step(p, g, state[0], lr, **hyper)
        return p
    if optimizer == "rmsprop":
        p, state[0][...] = rmsprop_step(p, g, state[0], lr, **hyper)
        return p
    if optimizer == "adam":
        p, state[0][...], state[1][...] = adam_step(p, g, state[0], state[1], t, lr, **hyper)
        return p
    raise ValueError(f"unknown optimizer {optimizer!r}")
