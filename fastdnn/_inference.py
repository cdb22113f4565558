"""Inference for ``Sequential``: chunks of rows through the cached compiled forward plan
(``fastdnn._kernels._network.Forward``), or layer by layer where it does not reach.

Examples
--------
>>> import numpy as np
>>> from fastdnn import Sequential
>>> from fastdnn.layers import Dense
>>> model = Sequential([Dense(2, activation="relu")], seed=0)
>>> model.build(3)
>>> plan(model, 5).capacity, forward(model, np.zeros((5, 3), np.float32)).shape
(5, (2, 5))
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _runtime
from ._kernels import _network
from ._validation import check_int
from .layers import Dense, Dropout, Normalizer

__all__ = ["PLAN_COLUMNS", "chunk_rows", "forward", "plan", "split_normalizer",
           "evaluate"]

PLAN_COLUMNS = 1024      # examples per compiled inference call (buffers kept by the model)
_CHUNK_ELEMENTS = 1 << 22  # predict/evaluate chunks hold at most this many activations per layer


def chunk_rows(model: Any, batch_size: int | None) -> int:
    """Rows per chunk: ``batch_size``, or as many as keep each layer's activations ~16 MB."""
    if batch_size is not None:
        return check_int(batch_size, "batch_size", 1)
    widest = max([model.n_features or 1] + [l.units or 1 for l in model._compute_layers])
    return max(1, _CHUNK_ELEMENTS // widest)


def forward(model: Any, Xc: np.ndarray) -> np.ndarray:
    """Outputs (n_outputs, k) for the rows of Xc, through the compiled plan if possible."""
    if Xc.dtype.kind != "f" or Xc.dtype not in (np.float32, np.float64):
        Xc = np.ascontiguousarray(Xc, dtype=model.dtype)
    compiled = plan(model, Xc.shape[0])
    if compiled is None:
        A = np.ascontiguousarray(Xc, dtype=model.dtype).T
        for layer in model._compute_layers:
            A = layer.forward(A, training=False)
        return A
    k, cap = Xc.shape[0], compiled.capacity
    out = np.empty((k, model.n_outputs), dtype=model.dtype)
    for s in range(0, k, cap):
        compiled.run(Xc[s:s + cap], out[s:s + cap])
    return out.T


def split_normalizer(layers: list[Any]) -> tuple[Normalizer | None, list[Any]]:
    """(the leading Normalizer or None, the layers after it): the compiled plans normalize
    the examples they gather themselves."""
    if layers and isinstance(layers[0], Normalizer):
        return layers[0], layers[1:]
    return None, layers


def plan(model: Any, k: int) -> Any:
    """The cached compiled forward pass, or None for layers it does not cover."""
    norm, layers = split_normalizer([l for l in model._compute_layers
                                     if not isinstance(l, Dropout)])
    if not layers or any(type(l) is not Dense or l._kernel is None for l in layers):
        return None
    key = (tuple((id(l.W), l._kernel) for l in layers)
           + ((id(norm.mean), id(norm._inv_std)) if norm else ()))
    want = min(max(k, 1), PLAN_COLUMNS)
    cached = getattr(model, "_plan_cache", None)
    if cached is not None and cached[0] == key and cached[1].capacity >= want:
        return cached[1]
    plan = _network.Forward(
        [(l.W, l.b, l._kernel.forward, l._kernel.alpha, l._kernel.softmax) for l in layers],
        None if norm is None else (norm.mean, norm._inv_std), want, model.dtype)
    model._plan_cache = (key, plan)
    _runtime.track_plans(model)
    # the plan keeps the arrays alive, so their ids cannot be reused while cached
    model._fast_predict = (plan, tuple(layers), tuple(l.W for l in layers),
                          tuple(l._kernel for l in layers))
    return plan


def evaluate(model: Any, X: np.ndarray, Y: np.ndarray, batch_size: int | None,
             sample_weight: np.ndarray | None = None) -> dict[str, float]:
    """Loss (with the L2 penalty) and metrics of ``model`` on checked ``X``, ``Y``; with
    checked ``sample_weight`` (float64 ``(m,)``) the loss is ``sum_j w_j L_j / m`` and each
    metric its weighted mean, as Keras reduces them."""
    m = X.shape[0]
    rows = chunk_rows(model, batch_size)
    total = 0.0
    metrics = [type(metric).from_config(metric.get_config()) for metric in model.metrics]
    for s in range(0, m, rows):
        A = forward(model, X[s:s + rows])
        Yc = Y[s:s + rows].T
        if sample_weight is None:
            total += model.loss.cost(A, Yc) * A.shape[1]
            w = None
        else:
            w = sample_weight[s:s + rows]
            with np.errstate(all="ignore"):
                total += model.loss._weighted_cost_sum(A, Yc, w)
        for metric in metrics:
            metric.update_state(A, Yc, sample_weight=w)
    logs = {"loss": total / m + model._regularization_cost(m)}
    for metric in metrics:
        logs[metric.name] = float(metric.result())
    return logs
