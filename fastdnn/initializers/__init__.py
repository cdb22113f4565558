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

from typing import TYPE_CHECKING, Any, Callable, Union

import numpy as np

from .constant_initializers import Constant, Ones, Zeros
from .initializer import Initializer, RngLike, Shape, fan_in_and_fan_out
from .random_initializers import RandomNormal, RandomUniform
from .variance_scaling_initializers import (
    GlorotNormal, GlorotUniform, HeNormal, HeUniform, VarianceScaling, XavierNormal,
)

if TYPE_CHECKING:
    from ..activations import Activation

__all__ = ["Initializer", "VarianceScaling", "HeNormal", "HeUniform", "XavierNormal",
           "GlorotUniform", "GlorotNormal", "RandomNormal", "RandomUniform", "Zeros", "Ones",
           "Constant", "he_normal", "he_uniform", "xavier_normal", "glorot_uniform",
           "glorot_normal", "random_normal", "random_uniform", "zeros", "ones", "constant",
           "variance_scaling", "fan_in_and_fan_out", "default_for", "get", "names", "serialize"]

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
             "sigmoid": "xavier_normal", "linear": "xavier_normal", "softmax": "xavier_normal",
             # ReLU-like (He); SELU's self-normalization wants Var = 1/n_prev (LeCun)
             "elu": "he_normal", "gelu": "he_normal", "gelu_tanh": "he_normal",
             "silu": "he_normal", "softplus": "he_normal", "mish": "he_normal",
             "selu": "xavier_normal", "softsign": "xavier_normal",
             "hard_sigmoid": "xavier_normal"}

InitializerLike = Union[str, dict[str, Any], Initializer, type[Initializer],
                        Callable[..., np.ndarray]]


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
        return identifier  # type: ignore[return-value]  # a callable f(shape, dtype, rng)
    raise TypeError("initializer must be a name, a config dict, an Initializer or a callable "
                    f"f(shape, dtype, rng), got {type(identifier).__name__}")


def serialize(initializer: Initializer | Callable[..., np.ndarray]) -> dict[str, Any]:
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


def default_for(activation: str | dict[str, Any] | Activation | None) -> str:
    """Name of the default kernel initializer for a layer with this activation.

    ``"he_normal"`` for relu and leaky_relu, ``"xavier_normal"`` for tanh,
    sigmoid, linear and softmax (lecture, item 9); He for the ReLU-like elu, gelu,
    gelu_tanh, silu, softplus and mish, ``Var = 1/n_prev`` for selu, softsign and
    hard_sigmoid.

    Parameters
    ----------
    activation : str, dict, Activation or None
        Anything :func:`fastdnn.activations.get` accepts (``None`` is linear).

    Examples
    --------
    >>> default_for("relu"), default_for("tanh")
    ('he_normal', 'xavier_normal')
    """
    from .. import activations

    name = activations.get(activation).name
    if name not in _DEFAULTS:  # pragma: no cover - an activation without a default
        raise ValueError(f"no default initializer for activation {name!r}; "
                         f"known: {', '.join(sorted(_DEFAULTS))}")
    return _DEFAULTS[name]
