"""Layers of a :class:`fastdnn.models.Sequential` model.

Layers work in the lecture layout: activations are ``(n_l, m)``, one column per
example, ``W`` is ``(n_l, n_prev)`` and ``b`` is ``(n_l, 1)``. A model feeds
them the transpose of its C-ordered ``(m, n_features)`` batches, an F-ordered
``(n_features, m)`` array, so no copy is made; every activation a layer
produces is F-ordered too. During training a layer keeps its outputs and
gradients in buffers it owns (one set per batch size), so a step allocates
nothing once the first batches have run.

Examples
--------
>>> import numpy as np
>>> layer = Dense(3, activation="relu")
>>> layer.build(2, np.float64, np.random.default_rng(0))
>>> layer.W.shape, layer.b.shape
((3, 2), (3, 1))
>>> layer.forward(np.ones((2, 5))).shape
(3, 5)
"""
from __future__ import annotations

from typing import Any

from .activation import Activation
from .batch_normalization import BatchNormalization
from .dense import Dense
from .dropout import Dropout
from .input import Input
from .layer_normalization import LayerNormalization
from .layer import Layer, _Buffers  # noqa: F401 - models pickled before the split name it here
from .normalizer import Normalizer

__all__ = ["Layer", "Input", "Dense", "Dropout", "Normalizer", "BatchNormalization",
           "LayerNormalization", "Activation", "get", "serialize"]

_REGISTRY: dict[str, type[Layer]] = {
    c.__name__: c for c in (Input, Dense, Dropout, Normalizer, BatchNormalization,
                            LayerNormalization, Activation)}


def serialize(layer: Layer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` of a layer (JSON-able).

    Examples
    --------
    >>> serialize(Dropout(0.2))
    {'class_name': 'Dropout', 'config': {'rate': 0.2, 'seed': None, 'name': None}}
    """
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def get(identifier: Layer | dict[str, Any]) -> Layer:
    """A layer from an instance or a ``serialize`` dict.

    Examples
    --------
    >>> get({"class_name": "Dense", "config": {"units": 2}}).units
    2
    """
    if isinstance(identifier, Layer):
        return identifier
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        if name not in _REGISTRY:
            raise ValueError(f"unknown layer class {name!r}; known: {', '.join(sorted(_REGISTRY))}")
        config = identifier.get("config", {})
        if not isinstance(config, dict):
            raise ValueError(f"layer config must be a dict, got {type(config).__name__}")
        try:
            return _REGISTRY[name].from_config(config)
        except TypeError as exc:
            raise ValueError(f"bad config for layer {name}: {exc}") from None
    raise TypeError(f"expected a Layer or a layer config dict, got {type(identifier).__name__}")
