"""Activation objects and their registry, ``get("relu")``.

Each activation bundles its forward function, its derivative (on ``z`` or,
with ``from_output=True``, on the cached activation ``a``) and its backward
step ``dZ = dA * g'(a)``, all compiled kernels from :mod:`fastdnn.functional`.

Examples
--------
>>> import numpy as np
>>> from fastdnn import activations
>>> act = activations.get("relu")
>>> act.name
'relu'
>>> act.backward(np.ones(2), act.forward(np.array([-1.0, 2.0])))
array([0., 1.])
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import functional as F
from ._compiled import ActivationKernel, NotCompilable, check_maths, code

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["Activation", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Linear", "Softmax",
           "get", "names"]


class Activation:
    """Base class: an activation ``g`` with ``forward``, ``derivative`` and ``backward``.

    Subclasses set ``name`` and implement the three methods with compiled kernels.
    Instances are callable (``act(z)`` is ``act.forward(z)``).
    """

    name: str = ""
    # (the activation, its kernel spec), cached on the instance by fastdnn.functional
    _fdnn_resolved: tuple[Activation, ActivationKernel]

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        """``a = g(z)``."""
        raise NotImplementedError

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        """``g'(z)``, or ``g'`` from the activation ``a`` when ``from_output``."""
        raise NotImplementedError

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        """``dZ = dA * g'(z)`` computed from the cached activation ``a``."""
        raise NotImplementedError

    def compiled_spec(self) -> ActivationKernel:
        """What the dense kernels need to run this activation (``fastdnn._compiled``);
        raises ``NotCompilable`` for an activation they do not have."""
        raise NotCompilable(f"{type(self).__name__} has no compiled kernel")

    def get_config(self) -> dict[str, Any]:
        """JSON-able description; ``get(config)`` rebuilds the activation."""
        return {"name": self.name}

    def __call__(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return self.forward(z, out)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class Sigmoid(Activation):
    """``1 / (1 + exp(-z))``; output of binary classifiers.

    Examples
    --------
    >>> float(Sigmoid().forward(0.0))
    0.5
    """

    name = "sigmoid"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.sigmoid(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.sigmoid_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.sigmoid_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, Sigmoid, "sigmoid", 0.0)


class Tanh(Activation):
    """Hyperbolic tangent; zero-centred hidden layers.

    Examples
    --------
    >>> float(Tanh().derivative(0.0))
    1.0
    """

    name = "tanh"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.tanh(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.tanh_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.tanh_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, Tanh, "tanh", 0.0)


class ReLU(Activation):
    """``max(0, z)``; the default hidden activation. ``g'(0) = 1`` on ``z``.

    Examples
    --------
    >>> ReLU().derivative([-1.0, 0.0])
    array([0., 1.])
    """

    name = "relu"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.relu(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.relu_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.relu_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, ReLU, "relu", 0.0)


class LeakyReLU(Activation):
    """``z`` for ``z >= 0``, ``alpha * z`` below (the lecture's ``max(0.01 z, z)``).

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for negative inputs, finite and ``>= 0``.

    Examples
    --------
    >>> LeakyReLU(0.1).forward([-10.0])
    array([-1.])
    """

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01):
        self._alpha = F._check_alpha(alpha)

    @property
    def alpha(self) -> float:
        """Slope for negative inputs, fixed at construction (layers compile it in)."""
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        raise AttributeError("LeakyReLU.alpha is fixed at construction (layers and compiled "
                             "plans use it); make a new LeakyReLU(alpha) and assign it to the "
                             "layer's activation")

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.leaky_relu(z, self.alpha, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.leaky_relu_derivative(x, self.alpha, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.leaky_relu_backward(dA, a, self.alpha, out)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "alpha": self.alpha}

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, LeakyReLU, "leaky_relu", self.alpha)


class Linear(Activation):
    """Identity ``g(z) = z``; output of regression networks.

    Examples
    --------
    >>> float(Linear().backward(3.0, 1.0))
    3.0
    """

    name = "linear"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.linear(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.linear_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.linear_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, Linear, "linear", 0.0)


class Softmax(Activation):
    """Softmax over the class axis (axis 0 in the lecture layout ``(n_L, m)``).

    Its Jacobian is not diagonal, so there is no element-wise ``derivative``;
    ``backward`` applies the full vector-Jacobian product.

    Examples
    --------
    >>> Softmax().forward([[0.0], [0.0]])
    array([[0.5],
           [0.5]])
    """

    name = "softmax"

    def __init__(self, axis: int | None = 0):
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))):
            raise TypeError(f"axis must be an int or None, got {type(axis).__name__}")
        self.axis = None if axis is None else int(axis)

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.softmax(z, self.axis, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError(
            "softmax has no element-wise derivative (its Jacobian is not diagonal); "
            "use backward(dA, a), or the fused categorical cross-entropy dZ = A - Y")

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.softmax_backward(dA, a, self.axis, out)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "axis": self.axis}

    def compiled_spec(self) -> ActivationKernel:
        if self.axis not in (0, -2):
            raise NotCompilable(f"softmax over axis {self.axis}: the dense kernels apply it "
                                "over the units (axis 0 of the (n_l, m) activations)")
        return _kernel(self, Softmax, "linear", softmax=True)


def _kernel(act: Activation, owner: type, name: str, alpha: float = 0.0,
            softmax: bool = False) -> ActivationKernel:
    """The kernel spec of ``owner``'s kernel ``name``, unless ``act`` overrides its maths."""
    check_maths(act, owner, "activation")
    return ActivationKernel(code("unary", name), code("binary", "bw_" + name), float(alpha),
                            softmax)


_REGISTRY: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Linear, Softmax)
}
_ALIASES = {"identity": "linear", "leakyrelu": "leaky_relu", "logistic": "sigmoid"}


def names() -> list[str]:
    """Names ``get`` accepts.

    Examples
    --------
    >>> names()
    ['leaky_relu', 'linear', 'relu', 'sigmoid', 'softmax', 'tanh']
    """
    return sorted(_REGISTRY)


def get(identifier: str | dict[str, Any] | Activation | None) -> Activation:
    """Look up an activation by name, config dict or instance (``None`` is linear).

    Parameters
    ----------
    identifier : str, dict, Activation or None
        A name such as ``"relu"`` (case-insensitive), a dict from
        ``Activation.get_config()``, or an ``Activation`` returned as is.

    Raises
    ------
    ValueError
        Unknown name; the message lists the known ones.
    TypeError
        Anything else.

    Examples
    --------
    >>> get("ReLU").name
    'relu'
    >>> get({"name": "leaky_relu", "alpha": 0.2}).alpha
    0.2
    """
    if identifier is None:
        return Linear()
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        if not isinstance(name, str):
            raise ValueError(f"activation config needs a 'name' string, got {identifier!r}")
        cls = _lookup(name)
        try:
            return cls(**config)
        except TypeError:
            raise ValueError(f"bad config for activation {name!r}: {identifier!r}") from None
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise TypeError(
        "activation must be a name, a config dict, an Activation or None, "
        f"got {type(identifier).__name__}")


def _lookup(name: str) -> type[Activation]:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(names())}")
    return _REGISTRY[key]
