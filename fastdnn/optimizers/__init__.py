"""Optimizers: the course's gradient descent, Momentum, RMSprop and Adam, and SGD,
AdamW, Nadam, Adagrad and Adamax.

An optimizer updates a list of parameter arrays in place from their
gradients, one compiled pass per array with the GIL released, and keeps its
own state arrays (moving averages), allocated on first use. Each parameter
array may carry an L2 coefficient ``decay``: the gradient used is then
``grad + decay * param`` (the gradient array itself is not modified). A model
passes ``lambd / m`` for kernel weights, the derivative of the lecture's cost
term ``(lambd / 2m) * sum(W**2)``, and 0 for biases.

The course's formulas, where ``beta`` weights the old average::

    GD        p -= lr * g
    Momentum  v = beta v + (1 - beta) g;            p -= lr * v
    RMSprop   s = beta s + (1 - beta) g**2;         p -= lr * g / (sqrt(s) + eps)
    Adam      t += 1; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g**2
              p -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)

and PyTorch's for the others (``torch.optim``, step for step)::

    SGD       b = momentum b + g;  p -= lr * b  (Nesterov: lr * (g + momentum b))
    AdamW     p *= 1 - lr * weight_decay, then Adam's step
    Nadam     Adam with Nesterov momentum on the schedule mu_t (see Nadam)
    Adagrad   s += g**2;                            p -= lr * g / (sqrt(s) + eps)
    Adamax    m as Adam; u = max(b2 u, |g| + eps);  p -= lr / (1 - b1**t) * m / u

Every optimizer takes ``clipnorm``, ``global_clipnorm`` and ``clipvalue``
(Keras' gradient clipping, see :class:`Optimizer`).

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

from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .gd import GD
from .momentum import Momentum
from .nadam import Nadam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "GD", "SGD", "Momentum", "RMSprop", "Adam", "AdamW", "Nadam",
           "Adagrad", "Adamax", "get", "serialize"]

# "sgd" was once another name of GD; SGD() without momentum is the same update, so
# configs saved as {"class_name": "sgd", "config": {"learning_rate": ...}} still load
_REGISTRY: dict[str, type[Optimizer]] = {
    "gd": GD, "sgd": SGD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam,
    "adamw": AdamW, "nadam": Nadam, "adagrad": Adagrad, "adamax": Adamax}


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
        ``"gd"``, ``"sgd"``, ``"momentum"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``,
        ``"nadam"``, ``"adagrad"`` or ``"adamax"`` (case-insensitive, default
        hyperparameters); an :class:`Optimizer`
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
