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
from ._compiled import BACKWARD_INPUT, ActivationKernel, NotCompilable, check_maths, code

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["Activation", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Linear", "Softmax",
           "ELU", "SELU", "GELU", "GELUTanh", "SiLU", "Softplus", "Softsign", "HardSigmoid",
           "Mish", "get", "names"]


class Activation:
    """Base class: an activation ``g`` with ``forward``, ``derivative`` and ``backward``.

    Subclasses set ``name`` and implement the three methods with compiled kernels.
    Instances are callable (``act(z)`` is ``act.forward(z)``).
    """

    name: str = ""
    # what backward(dA, x) takes as x: "a", the activation (the layer then keeps only A),
    # or "z", the pre-activation, for activations whose derivative a does not determine
    backward_input: str = "a"
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
        """``dZ = dA * g'(z)`` computed from the cached activation ``a`` (from the
        pre-activation ``z`` when ``backward_input == "z"``)."""
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

class ELU(Activation):
    """Exponential linear unit: ``z`` for ``z > 0``, ``alpha (exp(z) - 1)`` below.

    Parameters
    ----------
    alpha : float, default 1.0
        ``-alpha`` is approached as ``z -> -inf``; finite and ``>= 0``.

    Examples
    --------
    >>> ELU().forward([-float("inf"), 2.0])
    array([-1.,  2.])
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0):
        self._alpha = F._check_alpha(alpha)

    @property
    def alpha(self) -> float:
        """``-alpha`` is ELU's limit at ``-inf``; fixed at construction."""
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        raise AttributeError("ELU.alpha is fixed at construction (layers and compiled plans "
                             "use it); make a new ELU(alpha) and assign it to the layer's "
                             "activation")

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.elu(z, self.alpha, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.elu_derivative(x, self.alpha, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.elu_backward(dA, a, self.alpha, out)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "alpha": self.alpha}

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, ELU, "elu", self.alpha)


class SELU(Activation):
    """Scaled ELU with the self-normalizing constants (Klambauer et al., 2017).

    Examples
    --------
    >>> float(SELU().derivative(1.0))
    1.0507009873554805
    """

    name = "selu"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.selu(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.selu_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.selu_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, SELU, "selu", 0.0)


class GELU(Activation):
    """Gaussian error linear unit ``z Phi(z)``; ``approximate=True`` is its tanh form
    (named ``"gelu_tanh"``), as Keras' ``approximate`` and PyTorch's ``approximate="tanh"``.

    Its backward takes the pre-activation ``z`` (``backward_input == "z"``).

    Examples
    --------
    >>> GELU().name, GELU(approximate=True).name
    ('gelu', 'gelu_tanh')
    >>> float(GELU().backward(1.0, 0.0))
    0.5
    """

    name = "gelu"
    backward_input = "z"

    def __init__(self, approximate: bool = False):
        self._approximate = F._check_flag(approximate, "approximate")
        self.name = "gelu_tanh" if self._approximate else "gelu"

    @property
    def approximate(self) -> bool:
        """True for the tanh approximation; fixed at construction."""
        return self._approximate

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.gelu(z, self._approximate, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.gelu_derivative(x, self._approximate, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.gelu_backward(dA, a, self._approximate, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, GELU, self.name, 0.0)


class GELUTanh(GELU):
    """``GELU(approximate=True)``, the registry's ``"gelu_tanh"``.

    Examples
    --------
    >>> GELUTanh() == GELU(approximate=True)
    True
    """

    name = "gelu_tanh"

    def __init__(self) -> None:
        super().__init__(approximate=True)


class SiLU(Activation):
    """Sigmoid linear unit ``z sigmoid(z)``, also named swish (``get("swish")``).

    Its backward takes the pre-activation ``z`` (``backward_input == "z"``).

    Examples
    --------
    >>> float(SiLU().forward(0.0)), get("swish").name
    (0.0, 'silu')
    """

    name = "silu"
    backward_input = "z"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.silu(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.silu_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.silu_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, SiLU, "silu", 0.0)


class Softplus(Activation):
    """``log(1 + exp(z))``, a smooth ReLU.

    Examples
    --------
    >>> round(float(Softplus().forward(0.0)), 6)
    0.693147
    """

    name = "softplus"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.softplus(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.softplus_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.softplus_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, Softplus, "softplus", 0.0)


class Softsign(Activation):
    """``z / (1 + |z|)``.

    Examples
    --------
    >>> float(Softsign().forward(1.0))
    0.5
    """

    name = "softsign"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.softsign(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.softsign_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.softsign_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, Softsign, "softsign", 0.0)


class HardSigmoid(Activation):
    """Keras 3's ``relu6(z + 3) / 6``.

    Examples
    --------
    >>> HardSigmoid().forward([-3.0, 0.0, 3.0])
    array([0. , 0.5, 1. ])
    """

    name = "hard_sigmoid"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.hard_sigmoid(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.hard_sigmoid_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.hard_sigmoid_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, HardSigmoid, "hard_sigmoid", 0.0)


class Mish(Activation):
    """``z tanh(softplus(z))`` (Misra, 2019).

    Its backward takes the pre-activation ``z`` (``backward_input == "z"``).

    Examples
    --------
    >>> round(float(Mish().forward(1.0)), 6)
    0.865098
    """

    name = "mish"
    backward_input = "z"

    def forward(self, z: ArrayLike, out: np.ndarray | None = None) -> np.ndarray:
        return F.mish(z, out)

    def derivative(self, x: ArrayLike, from_output: bool = False,
                   out: np.ndarray | None = None) -> np.ndarray:
        return F.mish_derivative(x, from_output, out)

    def backward(self, dA: ArrayLike, a: ArrayLike, out: np.ndarray | None = None
                 ) -> np.ndarray:
        return F.mish_backward(dA, a, out)

    def compiled_spec(self) -> ActivationKernel:
        return _kernel(self, Mish, "mish", 0.0)


def _kernel(act: Activation, owner: type, name: str, alpha: float = 0.0,
            softmax: bool = False) -> ActivationKernel:
    """The kernel spec of ``owner``'s kernel ``name``, unless ``act`` overrides its maths."""
    check_maths(act, owner, "activation")
    return ActivationKernel(code("unary", name), code("binary", "bw_" + name), float(alpha),
                            softmax, BACKWARD_INPUT[name] == "z")


_REGISTRY: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Linear, Softmax, ELU, SELU, GELU,
                              GELUTanh, SiLU, Softplus, Softsign, HardSigmoid, Mish)
}
_ALIASES = {"identity": "linear", "leakyrelu": "leaky_relu", "logistic": "sigmoid",
            "swish": "silu", "hardsigmoid": "hard_sigmoid"}


def names() -> list[str]:
    """Names ``get`` accepts.

    Examples
    --------
    >>> names()
    ['elu', 'gelu', 'gelu_tanh', 'hard_sigmoid', 'leaky_relu', 'linear', 'mish', 'relu', 'selu', 'sigmoid', 'silu', 'softmax', 'softplus', 'softsign', 'tanh']
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
