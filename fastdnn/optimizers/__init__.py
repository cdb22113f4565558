"""Optimizers: gradient descent (alias SGD), Momentum, RMSprop and Adam.

An optimizer updates a list of parameter arrays in place from their
gradients, one compiled pass per array with the GIL released, and keeps its
own state arrays (moving averages), allocated on first use. Each parameter
array may carry an L2 coefficient ``decay``: the gradient used is then
``grad + decay * param`` (the gradient array itself is not modified). A model
passes ``lambd / m`` for kernel weights, the derivative of the lecture's cost
term ``(lambd / 2m) * sum(W**2)``, and 0 for biases.

The formulas are the lecture's, where ``beta`` weights the old average::

    GD        p -= lr * g
    Momentum  v = beta v + (1 - beta) g;            p -= lr * v
    RMSprop   s = beta s + (1 - beta) g**2;         p -= lr * g / (sqrt(s) + eps)
    Adam      t += 1; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g**2
              p -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)

The learning rate is a number or a :mod:`fastdnn.schedules` schedule, which
the optimizer evaluates at its ``epoch`` (set by the model at the start of each
epoch).

Examples
--------
>>> import numpy as np
>>> from fastdnn.optimizers import Adam
>>> W = np.ones((2, 3))
>>> opt = Adam(learning_rate=0.1)
>>> opt.apply_gradients([W], [np.full((2, 3), 0.5)])
>>> round(float(W[0, 0]), 6), opt.iterations  # Adam's first step: about lr * sign(g)
(0.9, 1)
"""
from __future__ import annotations

from typing import Any, Mapping

from .adam import Adam
from .gd import GD, SGD
from .momentum import Momentum
from .optimizer import Optimizer
from .rmsprop import RMSprop

__all__ = ["Optimizer", "GD", "SGD", "Momentum", "RMSprop", "Adam", "get", "serialize"]

_REGISTRY: dict[str, type[Optimizer]] = {
    "gd": GD, "sgd": GD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` of an optimizer (JSON-compatible, no state).

    Examples
    --------
    >>> serialize(Adam())
    {'class_name': 'Adam',
     'config': {'learning_rate': 0.001, 'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-08}}
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an Optimizer, got {type(optimizer).__name__}")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def _lookup(name: Any) -> type[Optimizer]:
    cls = _REGISTRY.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; known names: {', '.join(_REGISTRY)}")
    return cls


def get(identifier: str | Optimizer | Mapping[str, Any]) -> Optimizer:
    """An optimizer from a name, an optimizer, or a :func:`serialize` dict.

    Parameters
    ----------
    identifier : str, Optimizer or dict
        ``"gd"``, ``"sgd"``, ``"momentum"``, ``"rmsprop"`` or ``"adam"``
        (case-insensitive, default hyperparameters); an :class:`Optimizer`
        (returned as is); or ``{"class_name": "Adam", "config": {...}}``.

    Examples
    --------
    >>> get("Adam")
    Adam(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08)
    >>> get({"class_name": "momentum", "config": {"beta": 0.5}}).beta
    0.5
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, Mapping):
        if "class_name" not in identifier:
            raise ValueError("an optimizer config dict needs a 'class_name' key, got keys "
                             f"{sorted(identifier)}")
        return _lookup(identifier["class_name"]).from_config(identifier.get("config", {}))
    raise TypeError("identifier must be an optimizer name, an Optimizer or a config dict, "
                    f"got {type(identifier).__name__}")
