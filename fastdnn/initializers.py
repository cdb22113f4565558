"""Weight initializers and their registry, ``get("he_normal")``.

An initializer is a callable ``init(shape, dtype=np.float32, rng=None)`` that
returns a new array of that shape and dtype. Shapes follow the lecture: a
weight matrix ``W`` is ``(n_l, n_prev)``, so ``fan_in = shape[1]`` (the
``n^[l-1]`` of the lecture's formulas) and ``fan_out = shape[0]``; see
:func:`fan_in_and_fan_out` for biases and other shapes.

The random initializers draw from a :class:`numpy.random.Generator`:

* ``rng`` given at call time (an ``int`` seed or a ``Generator``) wins;
* else the generator seeded by the constructor's ``seed`` (Keras style). It is
  created once per instance and advanced by each call, so successive calls
  return different arrays while a fresh ``HeNormal(seed=0)`` replays the same
  sequence, run after run;
* else fresh OS entropy.

The lower-case names (``he_normal``, ``glorot_uniform``, ``constant``...) are
aliases of the classes, as in Keras: ``he_normal()`` is a ``HeNormal``
instance and ``constant(0.1)`` a ``Constant``. The same names are the string
identifiers ``get`` (and ``Dense(kernel_initializer=...)``) accepts.

.. note::
   ``xavier_normal`` is the lecture's ``randn(shape) * sqrt(1 / n_prev)``
   (variance ``1/fan_in``, what Keras calls LeCun normal, untruncated). The
   Glorot form with variance ``2 / (fan_in + fan_out)`` -- PyTorch's
   ``xavier_normal_`` -- is ``glorot_normal`` here.

Examples
--------
>>> import numpy as np
>>> from fastdnn import initializers
>>> init = initializers.get("he_normal")
>>> W = init((3, 4), dtype=np.float64, rng=0)
>>> W.shape, W.dtype
((3, 4), dtype('float64'))
>>> initializers.get("zeros")((2, 1))
array([[0.],
       [0.]], dtype=float32)
"""
from __future__ import annotations

import math
from typing import Any, Callable, Union

import numpy as np

from . import _registry
from ._validation import check_dtype, check_real, check_seed, is_int

__all__ = ["Initializer", "VarianceScaling", "HeNormal", "HeUniform", "XavierNormal",
           "GlorotUniform", "GlorotNormal", "RandomNormal", "RandomUniform", "Zeros", "Ones",
           "Constant", "he_normal", "he_uniform", "xavier_normal", "glorot_uniform",
           "glorot_normal", "random_normal", "random_uniform", "zeros", "ones", "constant",
           "variance_scaling", "fan_in_and_fan_out", "default_for", "get", "names", "serialize"]

RngLike = Union[None, int, np.random.Generator]
Shape = Union[int, tuple[int, ...], list[int]]


# ---------------------------------------------------------------- helpers

def _check_shape(shape: Any) -> tuple[int, ...]:
    if is_int(shape):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(is_int(n) for n in shape):
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}")
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"shape must not have negative dimensions, got {shape}")
    return shape


def _resolve_rng(rng: RngLike, default: np.random.Generator | None) -> np.random.Generator:
    if rng is None:
        return default if default is not None else np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if is_int(rng):
        if rng < 0:
            raise ValueError(f"rng seed must be >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError("rng must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(rng).__name__}")


def fan_in_and_fan_out(shape: Shape) -> tuple[int, int]:
    """Fan-in and fan-out of a parameter of the given shape (lecture layout).

    * ``(n_l, n_prev)`` -- a weight matrix ``W``: ``fan_in = n_prev`` (``shape[1]``),
      ``fan_out = n_l`` (``shape[0]``).
    * ``(n_l, 1)`` or ``(n_l,)`` -- a bias: the weights of a constant input 1,
      so ``fan_in = 1`` and ``fan_out = n_l`` (a 1-D shape is read as a column).
    * ``()`` -- a scalar: ``(1, 1)``.
    * more than two dimensions ``(out, in, *k)``: each fan is multiplied by
      ``prod(k)`` (the PyTorch convention for weights with a receptive field).

    Parameters
    ----------
    shape : int or tuple of int

    Returns
    -------
    (fan_in, fan_out) : tuple of int

    Examples
    --------
    >>> fan_in_and_fan_out((3, 5))
    (5, 3)
    >>> fan_in_and_fan_out((3, 1)), fan_in_and_fan_out(3)
    ((1, 3), (1, 3))
    """
    shape = _check_shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return 1, shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


# ---------------------------------------------------------------- classes

class Initializer:
    """Base class: a callable ``init(shape, dtype=np.float32, rng=None) -> ndarray``.

    Subclasses set ``name`` (their registry name) and implement ``_draw``.
    Random subclasses take ``seed`` in the constructor (see the module notes).

    Examples
    --------
    >>> class Halves(Initializer):
    ...     name = "halves"
    ...     def _draw(self, shape, dtype, rng):
    ...         return np.full(shape, 0.5, dtype)
    >>> Halves()((2,))
    array([0.5, 0.5], dtype=float32)
    """

    name: str = ""
    _random = False

    def __init__(self, seed: int | None = None):
        self.seed = check_seed(seed)
        self._generator: np.random.Generator | None = None

    def __call__(self, shape: Shape, dtype: Any = np.float32, rng: RngLike = None) -> np.ndarray:
        """A new array of ``shape`` and ``dtype`` (float32 or float64).

        Parameters
        ----------
        shape : int or tuple of int
            ``(n_l, n_prev)`` for a weight matrix, ``(n_l, 1)`` for a bias.
        dtype : float32 or float64, default float32
        rng : None, int or numpy.random.Generator
            Source of randomness; wins over the constructor's ``seed``.
            Ignored by the constant initializers (but still type-checked).
        """
        shape = _check_shape(shape)
        dt = check_dtype(dtype)
        if not self._random:
            if not (rng is None or isinstance(rng, np.random.Generator)):
                _resolve_rng(rng, None)  # type and range check only
            return self._draw(shape, dt, None)
        default = None
        if rng is None and self.seed is not None:
            if self._generator is None:
                self._generator = np.random.default_rng(self.seed)
            default = self._generator
        gen = _resolve_rng(rng, default)
        if math.prod(shape) == 0:
            return np.empty(shape, dt)
        return self._draw(shape, dt, gen)

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype,
              rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        """JSON-able description; ``get(config)`` or ``from_config`` rebuilds it."""
        config: dict = {"name": self.name}
        if self._random:
            config["seed"] = self.seed
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        """Rebuild an initializer from :meth:`get_config` (the ``name`` key is optional).

        Examples
        --------
        >>> HeNormal.from_config(HeNormal(seed=3).get_config()).seed
        3
        """
        return _registry.from_config(cls, config, _lookup, "initializer")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class VarianceScaling(Initializer):
    """Zero-mean random weights with variance ``scale / n``.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` by ``mode``
    (fans from :func:`fan_in_and_fan_out`). ``distribution="normal"`` draws a
    plain (untruncated) normal with standard deviation ``sqrt(scale / n)``;
    ``"uniform"`` draws from ``U(-limit, limit)``, ``limit = sqrt(3 scale / n)``,
    which has the same variance.

    Parameters
    ----------
    scale : float, default 1.0
        Positive.
    mode : {"fan_in", "fan_out", "fan_avg"}, default "fan_in"
    distribution : {"normal", "uniform"}, default "normal"
    seed : int, optional

    Examples
    --------
    >>> init = VarianceScaling(2.0, "fan_in", "normal", seed=0)  # = HeNormal(seed=0)
    >>> bool(np.array_equal(init((4, 8)), HeNormal(seed=0)((4, 8))))
    True
    """

    name = "variance_scaling"
    _random = True
    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "normal",
                 seed: int | None = None):
        super().__init__(seed)
        self.scale = check_real(scale, "scale")
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if mode not in self._MODES:
            raise ValueError(f"mode must be one of {', '.join(self._MODES)}; got {mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {', '.join(self._DISTRIBUTIONS)}; "
                             f"got {distribution!r}")
        self.mode = mode
        self.distribution = distribution

    def _n(self, shape: tuple[int, ...]) -> float:
        fan_in, fan_out = fan_in_and_fan_out(shape)
        return {"fan_in": fan_in, "fan_out": fan_out,
                "fan_avg": (fan_in + fan_out) / 2}[self.mode]

    def _draw(self, shape, dtype, rng):
        variance = self.scale / self._n(shape)
        if self.distribution == "normal":
            out = rng.standard_normal(shape, dtype=dtype)
            out *= dtype.type(math.sqrt(variance))
            return out
        return _uniform(shape, dtype, rng, -math.sqrt(3 * variance), math.sqrt(3 * variance))

    def get_config(self) -> dict:
        return {"name": self.name, "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "seed": self.seed}


def _uniform(shape, dtype, rng, low: float, high: float) -> np.ndarray:
    """``U(low, high)`` in ``dtype``, never above ``dtype(high)`` (nor below ``dtype(low)``)."""
    lo, hi = dtype.type(low), dtype.type(high)
    out = rng.random(shape, dtype=dtype)
    out *= hi - lo
    out += lo
    np.minimum(out, hi, out=out)  # rounding of (hi - lo) * u + lo may land one ulp above hi
    return out


class _Named(VarianceScaling):
    """A fixed VarianceScaling whose config is just its name and seed."""

    _ARGS: tuple = ()

    def __init__(self, seed: int | None = None):
        super().__init__(*self._ARGS, seed=seed)

    def get_config(self) -> dict:
        return {"name": self.name, "seed": self.seed}


class HeNormal(_Named):
    """He normal: ``randn(shape) * sqrt(2 / fan_in)``, the lecture's choice for ReLU.

    Plain (untruncated) normal, as the lecture writes it; ``fan_in = n_prev``.

    Parameters
    ----------
    seed : int, optional

    Examples
    --------
    >>> W = HeNormal(seed=0)((256, 512), dtype=np.float64)
    >>> round(float(W.std() * np.sqrt(512 / 2)), 1)
    1.0
    """

    name = "he_normal"
    _ARGS = (2.0, "fan_in", "normal")


class HeUniform(_Named):
    """He uniform: ``U(-sqrt(6 / fan_in), sqrt(6 / fan_in))`` (variance ``2 / fan_in``).

    Examples
    --------
    >>> W = HeUniform(seed=0)((3, 6))
    >>> bool(np.abs(W).max() <= 1.0)
    True
    """

    name = "he_uniform"
    _ARGS = (2.0, "fan_in", "uniform")


class XavierNormal(_Named):
    """Xavier normal as the lecture teaches it: ``randn(shape) * sqrt(1 / fan_in)``, for tanh.

    Variance ``1 / n_prev`` (Keras: LeCun normal, untruncated). For the
    ``2 / (fan_in + fan_out)`` variant use :class:`GlorotNormal`.

    Examples
    --------
    >>> W = XavierNormal(seed=0)((256, 400), dtype=np.float64)
    >>> round(float(W.std() * np.sqrt(400)), 1)
    1.0
    """

    name = "xavier_normal"
    _ARGS = (1.0, "fan_in", "normal")


class GlorotUniform(_Named):
    """Glorot (Xavier) uniform: ``U(±sqrt(6 / (fan_in + fan_out)))``.

    Examples
    --------
    >>> W = GlorotUniform(seed=0)((2, 4))
    >>> bool(np.abs(W).max() <= 1.0)
    True
    """

    name = "glorot_uniform"
    _ARGS = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Named):
    """Glorot normal: plain normal with std ``sqrt(2 / (fan_in + fan_out))``.

    Examples
    --------
    >>> GlorotNormal(seed=1)((2, 2)).shape
    (2, 2)
    """

    name = "glorot_normal"
    _ARGS = (1.0, "fan_avg", "normal")


class RandomNormal(Initializer):
    """Normal ``N(mean, stddev^2)``; the lecture's ``randn(shape) * 0.01`` by default.

    Parameters
    ----------
    stddev : float, default 0.01
        Standard deviation, finite and ``>= 0``.
    mean : float, default 0.0
    seed : int, optional

    Examples
    --------
    >>> RandomNormal(stddev=0.0, mean=2.0)((1, 2))
    array([[2., 2.]], dtype=float32)
    """

    name = "random_normal"
    _random = True

    def __init__(self, stddev: float = 0.01, mean: float = 0.0, seed: int | None = None):
        super().__init__(seed)
        self.stddev = check_real(stddev, "stddev", 0.0)
        self.mean = check_real(mean, "mean")

    def _draw(self, shape, dtype, rng):
        out = rng.standard_normal(shape, dtype=dtype)
        out *= dtype.type(self.stddev)
        out += dtype.type(self.mean)
        return out

    def get_config(self) -> dict:
        return {"name": self.name, "stddev": self.stddev, "mean": self.mean, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform ``U(minval, maxval)`` (values never exceed ``maxval`` in the dtype).

    Parameters
    ----------
    minval, maxval : float, default -0.05, 0.05
        Finite, ``minval <= maxval``.
    seed : int, optional

    Examples
    --------
    >>> W = RandomUniform(0.0, 1.0, seed=0)((100,))
    >>> bool(W.min() >= 0.0 and W.max() <= 1.0)
    True
    """

    name = "random_uniform"
    _random = True

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval = check_real(minval, "minval")
        self.maxval = check_real(maxval, "maxval")
        if self.minval > self.maxval:
            raise ValueError(f"minval must be <= maxval, got minval={self.minval}, "
                             f"maxval={self.maxval}")

    def _draw(self, shape, dtype, rng):
        return _uniform(shape, dtype, rng, self.minval, self.maxval)

    def get_config(self) -> dict:
        return {"name": self.name, "minval": self.minval, "maxval": self.maxval,
                "seed": self.seed}


class Constant(Initializer):
    """Every element equal to ``value``.

    Parameters
    ----------
    value : float, default 0.0
        Finite.

    Examples
    --------
    >>> Constant(0.1)((2, 1), dtype=np.float64)
    array([[0.1],
           [0.1]])
    """

    name = "constant"

    def __init__(self, value: float = 0.0):
        super().__init__()
        self.value = check_real(value, "value")

    def _draw(self, shape, dtype, rng):
        return np.full(shape, self.value, dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "value": self.value}


class Zeros(Constant):
    """All zeros: the lecture's ``b = np.zeros((n_l, 1))``.

    Examples
    --------
    >>> Zeros()((2,))
    array([0., 0.], dtype=float32)
    """

    name = "zeros"

    def __init__(self):
        super().__init__(0.0)

    def _draw(self, shape, dtype, rng):
        return np.zeros(shape, dtype)

    def get_config(self) -> dict:
        return {"name": self.name}


class Ones(Constant):
    """All ones.

    Examples
    --------
    >>> Ones()((1, 2), dtype=np.float64)
    array([[1., 1.]])
    """

    name = "ones"

    def __init__(self):
        super().__init__(1.0)

    def _draw(self, shape, dtype, rng):
        return np.ones(shape, dtype)

    def get_config(self) -> dict:
        return {"name": self.name}


# Keras-style lower-case aliases of the classes
he_normal = HeNormal
he_uniform = HeUniform
xavier_normal = XavierNormal
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
random_normal = RandomNormal
random_uniform = RandomUniform
zeros = Zeros
ones = Ones
constant = Constant
variance_scaling = VarianceScaling


# ---------------------------------------------------------------- registry

_REGISTRY: dict[str, type[Initializer]] = {
    cls.name: cls for cls in (HeNormal, HeUniform, XavierNormal, GlorotUniform, GlorotNormal,
                              RandomNormal, RandomUniform, Zeros, Ones, Constant,
                              VarianceScaling)
}
_ALIASES = {"he": "he_normal", "xavier": "xavier_normal", "xavier_uniform": "glorot_uniform",
            "normal": "random_normal", "uniform": "random_uniform", "zero": "zeros",
            "one": "ones"}
_CLASS_NAMES = {cls.__name__.lower(): name for name, cls in _REGISTRY.items()}

# activation name -> default kernel initializer
_DEFAULTS = {"relu": "he_normal", "leaky_relu": "he_normal", "tanh": "xavier_normal",
             "sigmoid": "xavier_normal", "linear": "xavier_normal", "softmax": "xavier_normal"}

InitializerLike = Union[str, dict, Initializer, type[Initializer], Callable[..., np.ndarray]]


def names() -> list[str]:
    """Names ``get`` accepts (aliases aside: he, xavier, xavier_uniform, normal, uniform).

    Examples
    --------
    >>> names()[:3]
    ['constant', 'glorot_normal', 'glorot_uniform']
    """
    return sorted(_REGISTRY)


def _lookup(name: Any) -> type[Initializer]:
    if not isinstance(name, str):
        raise ValueError(f"initializer name must be a string, got {name!r}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    key = _CLASS_NAMES.get(key, key)
    if key not in _REGISTRY:
        raise ValueError(f"unknown initializer {name!r}; known: {', '.join(names())} "
                         f"(aliases: {', '.join(sorted(_ALIASES))})")
    return _REGISTRY[key]


def get(identifier: InitializerLike) -> Initializer | Callable[..., np.ndarray]:
    """Look up an initializer by name, config, class, instance or plain callable.

    Parameters
    ----------
    identifier : str, dict, Initializer, Initializer subclass or callable
        * a name such as ``"he_normal"`` (case-insensitive; aliases ``"he"``,
          ``"xavier"``, ``"xavier_uniform"``; class names such as ``"HeNormal"``
          work too), built with default arguments;
        * a dict from ``get_config()`` (``{"name": "random_normal", "stddev": 0.1}``)
          or in Keras form ``{"class_name": "RandomNormal", "config": {...}}``;
        * an ``Initializer`` (returned as is) or subclass (instantiated:
          ``get(he_normal)``);
        * any other callable ``f(shape, dtype, rng) -> ndarray``, returned as is.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones) or bad config.
    TypeError
        Anything else, e.g. ``None``.

    Examples
    --------
    >>> get("He")
    HeNormal(seed=None)
    >>> get({"class_name": "RandomNormal", "config": {"stddev": 0.1, "seed": 1}})
    RandomNormal(stddev=0.1, mean=0.0, seed=1)
    >>> get(glorot_uniform)
    GlorotUniform(seed=None)
    """
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        if "class_name" in identifier:
            config = identifier.get("config") or {}
            if not isinstance(config, dict) or set(identifier) - {"class_name", "config",
                                                                  "module", "registered_name"}:
                raise ValueError(f"bad initializer config {identifier!r}")
            return _lookup(identifier["class_name"]).from_config(
                {k: v for k, v in config.items() if k != "name"})
        if "name" not in identifier:
            raise ValueError("initializer config needs a 'name' (or 'class_name') key, "
                             f"got {identifier!r}")
        return _lookup(identifier["name"]).from_config(identifier)
    if callable(identifier):
        return identifier
    raise TypeError("initializer must be a name, a config dict, an Initializer or a callable "
                    f"f(shape, dtype, rng), got {type(identifier).__name__}")


def serialize(initializer: Initializer) -> dict:
    """``{"class_name": ..., "config": ...}`` of an initializer (JSON-compatible); ``get`` reads it.

    Raises
    ------
    TypeError
        For a plain callable, which has no config (wrap it in an
        :class:`Initializer` subclass to make it saveable).

    Examples
    --------
    >>> serialize(RandomNormal(0.1))
    {'class_name': 'RandomNormal', 'config': {'stddev': 0.1, 'mean': 0.0, 'seed': None}}
    >>> get(serialize(RandomNormal(0.1)))
    RandomNormal(stddev=0.1, mean=0.0, seed=None)
    """
    if not isinstance(initializer, Initializer):
        raise TypeError("only an Initializer can be serialized, got "
                        f"{type(initializer).__name__}; a plain callable has no config")
    config = {k: v for k, v in initializer.get_config().items() if k != "name"}
    return {"class_name": type(initializer).__name__, "config": config}


def default_for(activation: Any) -> str:
    """Name of the default kernel initializer for a layer with this activation.

    ``"he_normal"`` for relu and leaky_relu, ``"xavier_normal"`` for tanh,
    sigmoid, linear and softmax (lecture, item 9).

    Parameters
    ----------
    activation : str, dict, Activation or None
        Anything :func:`fastdnn.activations.get` accepts (``None`` is linear).

    Examples
    --------
    >>> default_for("relu"), default_for("tanh")
    ('he_normal', 'xavier_normal')
    """
    from . import activations

    name = activations.get(activation).name
    if name not in _DEFAULTS:  # pragma: no cover - an activation without a default
        raise ValueError(f"no default initializer for activation {name!r}; "
                         f"known: {', '.join(sorted(_DEFAULTS))}")
    return _DEFAULTS[name]
