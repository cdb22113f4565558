"""Public array API: activations, their derivatives and backward steps.

Layout follows the lecture: arrays are ``(n_l, m)`` with one column per
example, but every element-wise function takes any shape, any strides and
either memory order. float32 and float64 are computed in their own precision
(result dtype = input dtype); other array dtypes raise ``TypeError``. Python
scalars and lists are accepted as NumPy accepts them. Each function takes
``out=`` (in-place allowed) and, like a NumPy ufunc, returns a scalar for a
0-d input when ``out`` is not given. NaN propagates (the identity's derivative excepted:
``linear_derivative`` is 1 and ``linear_backward`` passes ``dA`` through, whatever the
input); no warnings are emitted.

Examples
--------
>>> import numpy as np
>>> from fastdnn import functional as F
>>> z = np.array([[-1.0, 0.0, 2.0]], dtype=np.float32)
>>> F.relu(z)
array([[0., 0., 2.]], dtype=float32)
>>> F.sigmoid_backward(np.ones_like(z), F.sigmoid(z)).dtype
dtype('float32')
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ._validation import check_real
from ._kernels import _dense
from ._kernels import _elementwise as _ew
from ._compiled import ActivationKernel, NotCompilable

__all__ = [
    "sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax",
    "sigmoid_derivative", "tanh_derivative", "relu_derivative",
    "leaky_relu_derivative", "linear_derivative",
    "sigmoid_backward", "tanh_backward", "relu_backward",
    "leaky_relu_backward", "linear_backward", "softmax_backward",
    "elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "softsign", "hard_sigmoid", "mish",
    "elu_derivative", "selu_derivative", "gelu_derivative", "gelu_tanh_derivative",
    "silu_derivative", "softplus_derivative", "softsign_derivative",
    "hard_sigmoid_derivative", "mish_derivative",
    "elu_backward", "selu_backward", "gelu_backward", "gelu_tanh_backward", "silu_backward",
    "softplus_backward", "softsign_backward", "hard_sigmoid_backward", "mish_backward",
    "DenseCache", "dense_forward", "dense_backward", "dense_output_backward", "sgd_update",
]

ArrayLike = Any


def _check_alpha(alpha: float) -> float:
    if type(alpha) is float and 0.0 <= alpha < math.inf:   # the common case, without a call
        return alpha
    return check_real(alpha, "alpha", 0.0)


def _check_flag(from_output: bool, name: str = "from_output") -> bool:
    if not isinstance(from_output, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(from_output).__name__}")
    return bool(from_output)


# ---------------------------------------------------------------- forward

def sigmoid(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-z))``, overflow-free for any ``z``.

    Parameters
    ----------
    z : array_like of float32 or float64
        Pre-activations.
    out : ndarray, optional
        Where to write the result (same shape and dtype as ``z``; may be ``z``).

    Returns
    -------
    ndarray
        ``sigmoid(z)`` in the dtype of ``z``; ``sigmoid(-inf) = 0``, ``sigmoid(inf) = 1``.

    Examples
    --------
    >>> float(sigmoid(0.0))
    0.5
    """
    return _ew.unary(_ew.SIGMOID, z, out)


def tanh(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Hyperbolic tangent, the zero-centred hidden activation.

    Parameters
    ----------
    z : array_like of float32 or float64
    out : ndarray, optional
        Same shape and dtype as ``z``; may be ``z``.

    Examples
    --------
    >>> float(tanh(0.0)), float(tanh(float("inf")))
    (0.0, 1.0)
    """
    return _ew.unary(_ew.TANH, z, out)


def relu(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Rectified linear unit ``max(0, z)`` (NaN propagates).

    Examples
    --------
    >>> relu([-2.0, 3.0])
    array([0., 3.])
    """
    return _ew.unary(_ew.RELU, z, out)


def leaky_relu(z: ArrayLike, alpha: float = 0.01, out: np.ndarray | None = None) -> np.ndarray:
    """Leaky ReLU: ``z`` for ``z >= 0``, ``alpha * z`` otherwise.

    Parameters
    ----------
    z : array_like of float32 or float64
    alpha : float, default 0.01
        Slope for negative ``z``; finite and ``>= 0``.
    out : ndarray, optional

    Examples
    --------
    >>> leaky_relu([-100.0, 2.0])
    array([-1.,  2.])
    """
    return _ew.unary(_ew.LEAKY_RELU, z, out, _check_alpha(alpha))


def linear(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Identity ``g(z) = z`` (the regression output); returns a new array unless ``out``.

    Examples
    --------
    >>> linear([1.5, -2.0])
    array([ 1.5, -2. ])
    """
    return _ew.unary(_ew.LINEAR, z, out)

def elu(z: ArrayLike, alpha: float = 1.0, out: np.ndarray | None = None) -> np.ndarray:
    """Exponential linear unit: ``z`` for ``z > 0``, ``alpha * (exp(z) - 1)`` otherwise.

    Parameters
    ----------
    z : array_like of float32 or float64
    alpha : float, default 1.0
        The value ``-alpha`` approached as ``z -> -inf``; finite and ``>= 0``.
    out : ndarray, optional

    Examples
    --------
    >>> elu([-float("inf"), 0.0, 2.0])
    array([-1.,  0.,  2.])
    """
    return _ew.unary(_ew.ELU, z, out, _check_alpha(alpha))


def selu(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Scaled ELU ``scale * elu(z, alpha)`` with the self-normalizing constants
    ``alpha = 1.6732632423543772``, ``scale = 1.0507009873554805`` (as Keras and PyTorch).

    Examples
    --------
    >>> float(selu(1.0))
    1.0507009873554805
    """
    return _ew.unary(_ew.SELU, z, out)


def gelu(z: ArrayLike, approximate: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Gaussian error linear unit ``z * Phi(z)``, ``Phi`` the standard normal CDF
    (``0.5 * z * (1 + erf(z / sqrt(2)))``).

    Parameters
    ----------
    z : array_like of float32 or float64
    approximate : bool, default False
        True: the tanh approximation :func:`gelu_tanh` (PyTorch's ``approximate="tanh"``).
    out : ndarray, optional

    Examples
    --------
    >>> round(float(gelu(1.0)), 6), round(float(gelu(1.0, approximate=True)), 6)
    (0.841345, 0.841192)
    """
    return _ew.unary(_ew.GELU_TANH if _check_flag(approximate, "approximate") else _ew.GELU,
                     z, out)


def gelu_tanh(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """GELU's tanh approximation ``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z**3)))``.

    Examples
    --------
    >>> round(float(gelu_tanh(-1.0)), 6)
    -0.158808
    """
    return _ew.unary(_ew.GELU_TANH, z, out)


def silu(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Sigmoid linear unit (swish) ``z * sigmoid(z)``.

    Examples
    --------
    >>> silu([0.0, float("inf"), -float("inf")])
    array([ 0., inf, -0.])
    """
    return _ew.unary(_ew.SILU, z, out)


def softplus(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """``log(1 + exp(z))``, overflow-free for any ``z``.

    Examples
    --------
    >>> softplus([-float("inf"), 1000.0])
    array([   0., 1000.])
    """
    return _ew.unary(_ew.SOFTPLUS, z, out)


def softsign(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """``z / (1 + |z|)``.

    Examples
    --------
    >>> softsign([-1.0, float("inf")])
    array([-0.5,  1. ])
    """
    return _ew.unary(_ew.SOFTSIGN, z, out)


def hard_sigmoid(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """Keras 3's hard sigmoid ``relu6(z + 3) / 6``: 0 below -3, 1 above 3, linear between.

    Examples
    --------
    >>> hard_sigmoid([-4.0, 0.0, 1.5])
    array([0.  , 0.5 , 0.75])
    """
    return _ew.unary(_ew.HARD_SIGMOID, z, out)


def mish(z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """``z * tanh(softplus(z))``.

    Examples
    --------
    >>> round(float(mish(1.0)), 6)
    0.865098
    """
    return _ew.unary(_ew.MISH, z, out)


def softmax(z: ArrayLike, axis: int | None = 0, out: np.ndarray | None = None) -> np.ndarray:
    """Numerically stable softmax ``exp(z - max) / sum(exp(z - max))`` along ``axis``.

    Parameters
    ----------
    z : array_like of float32 or float64
    axis : int or None, default 0
        The class axis. Columns are examples in the lecture layout ``(n_L, m)``,
        so the default normalizes each column. ``None`` normalizes over all elements.
    out : ndarray, optional

    Examples
    --------
    >>> softmax([[1.0, 0.0], [1.0, 0.0]])
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    return _ew.softmax(z, axis, out)


# ------------------------------------------------------------ derivatives

def sigmoid_derivative(x: ArrayLike, from_output: bool = False,
                       out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of the sigmoid, ``s (1 - s)``.

    Parameters
    ----------
    x : array_like of float32 or float64
        ``z``, or the activation ``a = sigmoid(z)`` when ``from_output`` is True.
    from_output : bool, default False
        Take the derivative from the cached activation: ``a (1 - a)``.
    out : ndarray, optional

    Examples
    --------
    >>> float(sigmoid_derivative(0.0))
    0.25
    >>> float(sigmoid_derivative(0.5, from_output=True))
    0.25
    """
    op = _ew.D_SIGMOID_A if _check_flag(from_output) else _ew.D_SIGMOID_Z
    return _ew.unary(op, x, out, 0.0, "a" if from_output else "z")


def tanh_derivative(x: ArrayLike, from_output: bool = False,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of tanh, ``1 - tanh(z)**2`` (from ``a``: ``1 - a**2``).

    Examples
    --------
    >>> float(tanh_derivative(0.0))
    1.0
    """
    op = _ew.D_TANH_A if _check_flag(from_output) else _ew.D_TANH_Z
    return _ew.unary(op, x, out, 0.0, "a" if from_output else "z")


def relu_derivative(x: ArrayLike, from_output: bool = False,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of ReLU: 0 for ``z < 0``, 1 for ``z >= 0`` (the lecture's convention).

    From the activation (``from_output=True``) it is 1 where ``a > 0`` and 0
    where ``a == 0``: ``a = 0`` stands for every ``z <= 0``.

    Examples
    --------
    >>> relu_derivative([-1.0, 0.0, 2.0])
    array([0., 1., 1.])
    """
    op = _ew.D_RELU_A if _check_flag(from_output) else _ew.D_RELU_Z
    return _ew.unary(op, x, out, 0.0, "a" if from_output else "z")


def leaky_relu_derivative(x: ArrayLike, alpha: float = 0.01, from_output: bool = False,
                          out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of leaky ReLU: ``alpha`` for ``z < 0``, 1 for ``z >= 0``.

    From the activation the sign of ``a`` is the sign of ``z`` (``alpha > 0``).

    Examples
    --------
    >>> leaky_relu_derivative([-1.0, 0.0, 2.0])
    array([0.01, 1.  , 1.  ])
    """
    op = _ew.D_LEAKY_RELU_A if _check_flag(from_output) else _ew.D_LEAKY_RELU_Z
    return _ew.unary(op, x, out, _check_alpha(alpha), "a" if from_output else "z")


def linear_derivative(x: ArrayLike, from_output: bool = False,
                      out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of the identity: ones, whatever the input (NaN too), as ``np.ones_like``
    and PyTorch's and Keras' gradients of the identity.

    Examples
    --------
    >>> linear_derivative([3.0, -1.0])
    array([1., 1.])
    """
    return _ew.unary(_ew.D_LINEAR, x, out, 0.0, "a" if _check_flag(from_output) else "z")

def _on_z(name: str, from_output: bool) -> str:
    if _check_flag(from_output):
        raise ValueError(f"the derivative of {name} cannot be taken from its output a "
                         "(several z give the same a); pass z with from_output=False")
    return "z"


def elu_derivative(x: ArrayLike, alpha: float = 1.0, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of ELU: 1 for ``z > 0``, ``alpha * exp(z)`` otherwise (from ``a``:
    ``a + alpha`` where ``a <= 0``).

    Examples
    --------
    >>> elu_derivative([-float("inf"), 0.0, 1.0])
    array([0., 1., 1.])
    >>> elu_derivative([-0.5], from_output=True)
    array([0.5])
    """
    op = _ew.D_ELU_A if _check_flag(from_output) else _ew.D_ELU_Z
    return _ew.unary(op, x, out, _check_alpha(alpha), "a" if from_output else "z")


def selu_derivative(x: ArrayLike, from_output: bool = False,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of SELU: ``scale`` for ``z > 0``, ``scale * alpha * exp(z)`` otherwise.

    Examples
    --------
    >>> float(selu_derivative(1.0))
    1.0507009873554805
    """
    op = _ew.D_SELU_A if _check_flag(from_output) else _ew.D_SELU_Z
    return _ew.unary(op, x, out, 0.0, "a" if from_output else "z")


def gelu_derivative(z: ArrayLike, approximate: bool = False, from_output: bool = False,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of GELU, ``Phi(z) + z phi(z)`` (of its tanh approximation when
    ``approximate``); on ``z`` only: GELU is not one-to-one.

    Examples
    --------
    >>> float(gelu_derivative(0.0))
    0.5
    """
    op = _ew.D_GELU_TANH_Z if _check_flag(approximate, "approximate") else _ew.D_GELU_Z
    return _ew.unary(op, z, out, 0.0, _on_z("gelu", from_output))


def gelu_tanh_derivative(z: ArrayLike, from_output: bool = False,
                         out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of GELU's tanh approximation (on ``z`` only).

    Examples
    --------
    >>> float(gelu_tanh_derivative(0.0))
    0.5
    """
    return _ew.unary(_ew.D_GELU_TANH_Z, z, out, 0.0, _on_z("gelu_tanh", from_output))


def silu_derivative(z: ArrayLike, from_output: bool = False,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of SiLU, ``sigmoid(z) (1 + z (1 - sigmoid(z)))`` (on ``z`` only).

    Examples
    --------
    >>> float(silu_derivative(0.0))
    0.5
    """
    return _ew.unary(_ew.D_SILU_Z, z, out, 0.0, _on_z("silu", from_output))


def softplus_derivative(x: ArrayLike, from_output: bool = False,
                        out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of softplus, ``sigmoid(z)`` (from ``a``: ``1 - exp(-a)``).

    Examples
    --------
    >>> float(softplus_derivative(0.0))
    0.5
    >>> float(softplus_derivative(np.log(2.0), from_output=True))
    0.5
    """
    op = _ew.D_SOFTPLUS_A if _check_flag(from_output) else _ew.D_SOFTPLUS_Z
    return _ew.unary(op, x, out, 0.0, "a" if from_output else "z")


def softsign_derivative(x: ArrayLike, from_output: bool = False,
                        out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of softsign, ``1 / (1 + |z|)**2`` (from ``a``: ``(1 - |a|)**2``).

    Examples
    --------
    >>> softsign_derivative([0.0, -1.0])
    array([1.  , 0.25])
    """
    op = _ew.D_SOFTSIGN_A if _check_flag(from_output) else _ew.D_SOFTSIGN_Z
    return _ew.unary(op, x, out, 0.0, "a" if from_output else "z")


def hard_sigmoid_derivative(x: ArrayLike, from_output: bool = False,
                            out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of the hard sigmoid: 1/6 for ``-3 < z < 3``, 0 elsewhere (from ``a``:
    1/6 where ``0 < a < 1``).

    Examples
    --------
    >>> hard_sigmoid_derivative([-3.0, 0.0, 3.0])
    array([0.        , 0.16666667, 0.        ])
    """
    op = _ew.D_HARD_SIGMOID_A if _check_flag(from_output) else _ew.D_HARD_SIGMOID_Z
    return _ew.unary(op, x, out, 0.0, "a" if from_output else "z")


def mish_derivative(z: ArrayLike, from_output: bool = False,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Derivative of mish, ``tanh(sp) + z sigmoid(z) (1 - tanh(sp)**2)``, ``sp = softplus(z)``
    (on ``z`` only).

    Examples
    --------
    >>> round(float(mish_derivative(0.0)), 6)
    0.6
    """
    return _ew.unary(_ew.D_MISH_Z, z, out, 0.0, _on_z("mish", from_output))


# --------------------------------------------------------------- backward

def sigmoid_backward(dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """The lecture's ``dZ = dA * g'(Z)`` for a sigmoid layer, from its output ``a``.

    One fused pass ``dA * a * (1 - a)``; ``dA`` and ``a`` broadcast like NumPy.

    Parameters
    ----------
    dA : array_like
        Gradient of the cost with respect to the activation.
    a : array_like
        The activation cached by the forward pass.
    out : ndarray, optional
        Same shape as the broadcast result; may be ``dA`` or ``a``.

    Examples
    --------
    >>> float(sigmoid_backward(2.0, 0.5))
    0.5
    """
    return _ew.binary(_ew.BW_SIGMOID, dA, a, out)


def tanh_backward(dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """``dZ = dA * (1 - a**2)`` for a tanh layer, from its output ``a``.

    Examples
    --------
    >>> float(tanh_backward(1.0, 0.0))
    1.0
    """
    return _ew.binary(_ew.BW_TANH, dA, a, out)


def relu_backward(dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """``dZ = dA * (a > 0)`` for a ReLU layer, from its output ``a``.

    Examples
    --------
    >>> relu_backward([1.0, 1.0], [0.0, 3.0])
    array([0., 1.])
    """
    return _ew.binary(_ew.BW_RELU, dA, a, out)


def leaky_relu_backward(dA: ArrayLike, a: ArrayLike, alpha: float = 0.01,
                        out: np.ndarray | None = None) -> np.ndarray:
    """``dZ = dA * g'(a)`` for a leaky-ReLU layer: slope 1 where ``a >= 0``, ``alpha`` below.

    Examples
    --------
    >>> leaky_relu_backward([1.0, 1.0], [-0.5, 3.0])
    array([0.01, 1.  ])
    """
    return _ew.binary(_ew.BW_LEAKY_RELU, dA, a, out, _check_alpha(alpha))


def linear_backward(dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """``dZ = dA`` for a linear layer, broadcast to the shape of ``a``, whose values are not
    used (the identity's derivative is 1 everywhere, NaN included, as in PyTorch's autograd).

    Examples
    --------
    >>> linear_backward(2.0, [0.0, 5.0])
    array([2., 2.])
    """
    return _ew.binary(_ew.BW_LINEAR, dA, a, out)

def elu_backward(dA: ArrayLike, a: ArrayLike, alpha: float = 1.0,
                 out: np.ndarray | None = None) -> np.ndarray:
    """``dZ = dA * g'`` for an ELU layer from its output ``a``: 1 where ``a > 0``,
    ``a + alpha`` elsewhere.

    Examples
    --------
    >>> elu_backward([2.0, 2.0], [-0.5, 3.0])
    array([1., 2.])
    """
    return _ew.binary(_ew.BW_ELU, dA, a, out, _check_alpha(alpha))


def selu_backward(dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """``dZ = dA * g'`` for a SELU layer from its output ``a``.

    Examples
    --------
    >>> float(selu_backward(1.0, 2.0))
    1.0507009873554805
    """
    return _ew.binary(_ew.BW_SELU, dA, a, out)


def gelu_backward(dA: ArrayLike, z: ArrayLike, approximate: bool = False,
                  out: np.ndarray | None = None) -> np.ndarray:
    """``dZ = dA * g'(z)`` for a GELU layer, from its pre-activation ``z`` (GELU's
    derivative is not a function of its output).

    Examples
    --------
    >>> float(gelu_backward(2.0, 0.0))
    1.0
    """
    op = _ew.BW_GELU_TANH if _check_flag(approximate, "approximate") else _ew.BW_GELU
    return _ew.binary(op, dA, z, out, 0.0, "dA", "z")


def gelu_tanh_backward(dA: ArrayLike, z: ArrayLike, out: np.ndarray | None = None
                       ) -> np.ndarray:
    """``dZ = dA * g'(z)`` for a tanh-approximated GELU layer, from ``z``.

    Examples
    --------
    >>> float(gelu_tanh_backward(2.0, 0.0))
    1.0
    """
    return _ew.binary(_ew.BW_GELU_TANH, dA, z, out, 0.0, "dA", "z")


def silu_backward(dA: ArrayLike, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """``dZ = dA * g'(z)`` for a SiLU layer, from its pre-activation ``z``.

    Examples
    --------
    >>> float(silu_backward(2.0, 0.0))
    1.0
    """
    return _ew.binary(_ew.BW_SILU, dA, z, out, 0.0, "dA", "z")


def softplus_backward(dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                      ) -> np.ndarray:
    """``dZ = dA * (1 - exp(-a))`` for a softplus layer, from its output ``a``.

    Examples
    --------
    >>> float(softplus_backward(2.0, np.log(2.0)))
    1.0
    """
    return _ew.binary(_ew.BW_SOFTPLUS, dA, a, out)


def softsign_backward(dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                      ) -> np.ndarray:
    """``dZ = dA * (1 - |a|)**2`` for a softsign layer, from its output ``a``.

    Examples
    --------
    >>> float(softsign_backward(4.0, 0.5))
    1.0
    """
    return _ew.binary(_ew.BW_SOFTSIGN, dA, a, out)


def hard_sigmoid_backward(dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                          ) -> np.ndarray:
    """``dZ = dA / 6`` where ``0 < a < 1``, 0 elsewhere, for a hard-sigmoid layer.

    Examples
    --------
    >>> hard_sigmoid_backward([6.0, 6.0], [0.5, 1.0])
    array([1., 0.])
    """
    return _ew.binary(_ew.BW_HARD_SIGMOID, dA, a, out)


def mish_backward(dA: ArrayLike, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
    """``dZ = dA * g'(z)`` for a mish layer, from its pre-activation ``z``.

    Examples
    --------
    >>> round(float(mish_backward(1.0, 0.0)), 6)
    0.6
    """
    return _ew.binary(_ew.BW_MISH, dA, z, out, 0.0, "dA", "z")


def softmax_backward(dA: ArrayLike, a: ArrayLike, axis: int | None = 0,
                     out: np.ndarray | None = None) -> np.ndarray:
    """Vector-Jacobian product of softmax: ``dZ = a * (dA - sum(dA * a, axis))``.

    With a categorical cross-entropy loss prefer the fused ``dZ = A - Y``.

    Examples
    --------
    >>> a = softmax([[0.0], [0.0]])
    >>> softmax_backward([[1.0], [1.0]], a)
    array([[0.],
           [0.]])
    """
    return _ew.softmax_backward(dA, a, axis, out)


# ------------------------------------------------------------ dense layers

_new_tuple = tuple.__new__


class DenseCache(NamedTuple):
    """What :func:`dense_backward` needs from the forward pass.

    The activation ``A`` is cached rather than ``Z``: every derivative of the
    lecture can be taken from it (ReLU from ``A > 0``: 0 where ``Z <= 0``). ``Z`` is
    kept too for the activations whose derivative ``A`` does not determine (gelu,
    gelu_tanh, silu, mish), and is ``None`` otherwise.
    """

    A_prev: np.ndarray
    W: np.ndarray
    b: np.ndarray
    A: np.ndarray
    activation: Any
    Z: np.ndarray | None = None


# output activations whose loss makes dZ = A - Y
_FUSED_LOSS = {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy",
               "linear": "mse (the (1/2)(A - Y)^2 form)"}


_RESOLVED: dict[str, tuple] = {}


def _resolve(activation: Any) -> tuple[Any, ActivationKernel]:
    """(Activation, its kernel spec), cached for names and on instances."""
    if isinstance(activation, str) and activation in _RESOLVED:
        return _RESOLVED[activation]
    cached = getattr(activation, "_fdnn_resolved", None)
    if (cached is not None and isinstance(cached[1], ActivationKernel)
            and cached[1].alpha == getattr(activation, "alpha", 0.0)):
        return cached
    from . import activations

    act = activations.get(activation)
    try:
        resolved = (act, act.compiled_spec())
    except NotCompilable as exc:
        raise ValueError(f"activation {act.name!r} cannot run on the dense kernels: "
                         f"{exc}") from None
    if isinstance(activation, str):
        _RESOLVED[activation] = resolved
    else:
        act._fdnn_resolved = resolved  # the kernel codes ride along with the instance
    return resolved


def _where(layer: Any) -> str:
    return "" if layer is None else f"layer {layer}: "


def dense_forward(A_prev: ArrayLike, W: ArrayLike, b: ArrayLike, activation: Any = "relu",
                  out: np.ndarray | None = None, *, layer: Any = None
                  ) -> tuple[np.ndarray, DenseCache]:
    """One fully connected layer: ``A = g(W @ A_prev + b)``.

    One GEMM computes ``W @ A_prev`` into the output, then a single pass adds
    the bias and applies the activation in place.

    Parameters
    ----------
    A_prev : ndarray, shape (n_prev, m)
        Activations of the previous layer, one column per example (C or F order;
        the transpose of a C-ordered ``(m, n_prev)`` batch costs no copy).
    W : ndarray, shape (n_l, n_prev)
    b : ndarray, shape (n_l, 1) or (n_l,)
    activation : str or Activation, default "relu"
        sigmoid, tanh, relu, leaky_relu, linear, softmax (over the units, axis 0), elu,
        selu, gelu, gelu_tanh, silu, softplus, softsign, hard_sigmoid or mish.
    out : ndarray, shape (n_l, m), optional
        Output buffer (C- or F-contiguous, not overlapping the inputs).
    layer : int or str, optional
        Named in error messages.

    Returns
    -------
    A : ndarray, shape (n_l, m)
        F-ordered when ``A_prev`` is F-ordered, else C-ordered (unless ``out``).
    cache : DenseCache
        ``(A_prev, W, b, A, activation)`` for :func:`dense_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> A, cache = dense_forward(np.ones((2, 3)), np.ones((1, 2)), np.zeros((1, 1)), "linear")
    >>> A
    array([[2., 2., 2.]])
    """
    act, (fwd, _, alpha, softmax_, on_z) = _resolve(activation)
    if on_z:   # dense_backward takes Z: Z = W A_prev + b, then A = g(Z)
        Z = _dense.forward(A_prev, W, b, _ew.LINEAR, 0.0, False, None, layer)
        A = _ew.unary(fwd, Z, out, alpha)
        return A, _new_tuple(DenseCache, (A_prev, W, b, A, act, Z))
    A = _dense.forward(A_prev, W, b, fwd, alpha, softmax_, out, layer)
    return A, _new_tuple(DenseCache, (A_prev, W, b, A, act, None))   # DenseCache(...), minus a call


def _check_cache(cache: Any) -> DenseCache:
    if type(cache) is DenseCache:
        return cache
    if not isinstance(cache, tuple) or len(cache) not in (5, 6):
        raise TypeError("cache must be the DenseCache returned by dense_forward, "
                        f"got {type(cache).__name__}")
    return DenseCache(*cache)


def dense_backward(dA: ArrayLike, cache: DenseCache, need_dA_prev: bool = True, *,
                   layer: Any = None) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of one dense layer from ``dA``, the cost's gradient w.r.t. its output.

    ``dZ = dA * g'(A)`` is formed in one pass that also sums ``db = (1/m) sum(dZ)``;
    ``dW = (1/m) dZ A_prev^T`` is one GEMM with alpha = 1/m and
    ``dA_prev = W^T dZ`` another.

    Parameters
    ----------
    dA : ndarray, shape (n_l, m)
    cache : DenseCache
        From :func:`dense_forward`.
    need_dA_prev : bool, default True
        False skips the second GEMM (the first layer does not need it).
    layer : int or str, optional
        Named in error messages.

    Returns
    -------
    dA_prev : ndarray (n_prev, m) or None
    dW : ndarray, shape of W
    db : ndarray, shape of b

    Examples
    --------
    >>> import numpy as np
    >>> A, cache = dense_forward(np.ones((2, 4)), np.ones((1, 2)), np.zeros((1, 1)), "linear")
    >>> dA_prev, dW, db = dense_backward(np.ones((1, 4)), cache)
    >>> dW, db
    (array([[1., 1.]]), array([[1.]]))
    """
    A_prev, W, b, A, activation, Z = _check_cache(cache)
    act, (_, bwd, alpha, softmax_, on_z) = _resolve(activation)
    if on_z:
        if Z is None:
            raise ValueError(f"{_where(layer)}the {act.name} backward takes Z: pass the cache "
                             "dense_forward returned (its Z field)")
        A = Z
    return _dense.backward(dA, A_prev, W, b, A, bwd, alpha, softmax_, bool(need_dA_prev), layer)


def dense_output_backward(Y: ArrayLike, cache: DenseCache, need_dA_prev: bool = True, *,
                          layer: Any = None) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of the output layer with its loss fused: ``dZ = A - Y``.

    Valid for a sigmoid output with binary cross-entropy, a softmax output with
    categorical cross-entropy and a linear output with the squared error
    ``(1/2)(A - Y)^2``: the loss's ``dA`` times ``g'`` simplifies to ``A - Y``,
    which is exact and stable where ``A`` saturates at 0 or 1 (no ``log(0)``,
    no division by zero).

    Parameters
    ----------
    Y : ndarray, shape (n_L, m)
        Targets (0/1 labels, one-hot columns or real values).
    cache : DenseCache
        From :func:`dense_forward` of the output layer.

    Examples
    --------
    >>> import numpy as np
    >>> A, cache = dense_forward(np.zeros((2, 2)), np.ones((1, 2)), np.zeros((1, 1)), "sigmoid")
    >>> dense_output_backward(np.array([[1.0, 0.0]]), cache)[2]
    array([[0.]])
    """
    c = _check_cache(cache)
    act, (_, _, alpha, softmax_, _) = _resolve(c.activation)
    if act.name not in _FUSED_LOSS:
        raise ValueError(f"{_where(layer)}dZ = A - Y needs a sigmoid, softmax or linear output, "
                         f"got {act.name!r}")
    return _dense.backward(Y, c.A_prev, c.W, c.b, c.A, _ew.BW_OUTPUT_SUB, alpha, softmax_,
                           bool(need_dA_prev), layer, "Y")


def sgd_update(param: np.ndarray, grad: ArrayLike, learning_rate: float,
               out: np.ndarray | None = None) -> np.ndarray:
    """``param - learning_rate * grad`` in one pass (``out=param`` updates in place).

    Examples
    --------
    >>> import numpy as np
    >>> sgd_update(np.ones(2), np.ones(2), 0.5)
    array([0.5, 0.5])
    """
    if type(learning_rate) is float and -math.inf < learning_rate < math.inf:
        return _ew.binary(_ew.SGD_STEP, grad, param, out, learning_rate, "grad", "param")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating)):
        raise TypeError(f"learning_rate must be a real number, got {type(learning_rate).__name__}")
    if not math.isfinite(learning_rate):
        raise ValueError(f"learning_rate must be finite, got {learning_rate}")
    return _ew.binary(_ew.SGD_STEP, grad, param, out, float(learning_rate), "grad", "param")
