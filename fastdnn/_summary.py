"""``Sequential.summary`` and the parameter count of a model not built yet.

Examples
--------
>>> from fastdnn import Sequential
>>> from fastdnn.layers import Dense, Input
>>> count_unbuilt(Sequential([Input(3), Dense(2)]))
8
"""
from __future__ import annotations

from typing import Any

from .layers import Dense
from .layers._scaled import _Scaled

__all__ = ["count_unbuilt", "lines"]


def count_unbuilt(model: Any) -> int:
    """Parameters of a model not built yet, from its declared sizes."""
    n, total = model.n_features, 0
    if n is None:
        raise ValueError("the number of input features is unknown; build the model first")
    for layer in model._compute_layers:
        if isinstance(layer, Dense):
            total += layer.units * (n + layer.use_bias)
            n = layer.units
        elif type(layer).__name__ == "Normalizer":
            total += 2 * n
        elif isinstance(layer, _Scaled):    # gamma, beta, moving statistics: n values each
            total += len(layer.weights_names) * n
    return total


def lines(model: Any) -> list[str]:
    """The lines of the summary table: layers, output shapes, parameter counts."""
    out: list[str] = []
    rows = [("Layer (type)", "Output shape", "Param #")]
    n = model.n_features
    for i, layer in enumerate(model._compute_layers):
        units = layer.units if layer.units is not None else n
        if isinstance(layer, Dense):
            count = units * (n + layer.use_bias) if n is not None else None
            kind = f"Dense, {layer.activation.name}"
        elif type(layer).__name__ == "Normalizer":
            count = 2 * n if n is not None else None
            kind = "Normalizer"
        elif isinstance(layer, _Scaled):
            count = len(layer.weights_names) * n if n is not None else None
            kind = type(layer).__name__
        else:
            count, kind = 0, type(layer).__name__
        if layer.built:
            count = layer.count_params()
        rows.append((f"{layer.name or f'layer_{i + 1}'} ({kind})",
                     f"(None, {units if units is not None else '?'})",
                     "?" if count is None else f"{count:,}"))
        n = units
    widths = [max(len(r[c]) for r in rows) + 2 for c in range(3)]
    line = "-" * sum(widths)
    out.append(f'Model: "{model.name or "sequential"}"')
    out.append(line)
    for j, row in enumerate(rows):
        out.append("".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if j == 0:
            out.append("=" * sum(widths))
    out.append(line)
    counts = [r[2] for r in rows[1:]]
    total = "?" if "?" in counts else f"{sum(int(c.replace(',', '')) for c in counts):,}"
    out.append(f"Total params: {total}")
    return out
