"""``load_onnx``: a ``Sequential`` from an ONNX graph of the shape ``export`` writes."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..layers import Activation, Dense, Normalizer
from ._builder import _require_onnx
from ._read import _Reader

if TYPE_CHECKING:
    from ..models import Sequential


def _read_graph(onnx: Any, source: Any) -> Any:
    if isinstance(source, (bytes, bytearray)):
        return onnx.load_from_string(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return onnx.load(os.fsdecode(os.fspath(source)))
    if isinstance(source, onnx.ModelProto):
        return source
    raise TypeError(f"source must be a path, the bytes of an ONNX model or an "
                    f"onnx.ModelProto, got {type(source).__name__}")


def load_onnx(source: str | os.PathLike[str] | bytes | Any) -> Sequential:
    """A ``Sequential`` from an ONNX graph of the shape ``export`` writes.

    The graph must be, from its one input to its one output: an optional ``Sub`` and
    ``Mul`` by constant rows (a ``Normalizer``), then layers: a ``Gemm`` (``transB=1``,
    ``alpha = beta = 1``, constant weights) and the activation after it, if any (a
    ``Dense``); a ``BatchNormalization`` in inference form or a ``LayerNormalization``
    over the last axis, as one node or as the nodes ``export`` writes for it; an
    activation on its own (an ``Activation`` layer). An activation is any form ``export``
    writes, in either dtype and at any opset: the single nodes (``Sigmoid``, ``Tanh``,
    ``Relu``, ``LeakyRelu``, ``PRelu`` with one slope, ``Softmax`` over the last axis,
    ``Elu``, ``Selu`` and ``HardSigmoid`` with fastdnn's constants, ``Gelu``,
    ``Softplus``, ``Softsign``, ``Mish``) and the node sequences above, matched node for
    node with their constants (``Sigmoid`` then ``Mul`` by its input is ``silu``). Anything
    else raises ``ValueError`` naming the node. The model's dtype is the graph's.

    What comes back computes what was exported, though not always as the same layers:
    an activation right after a ``Gemm`` becomes the ``Dense``'s (a ``Dense`` and an
    ``Activation`` come back as one ``Dense``), a folded ``Normalizer`` is in the
    ``Dense``'s weights, a ``linear`` ``Activation`` is gone, normalization layers come back
    with ``center`` and ``scale`` (``beta`` of zeros, ``gamma`` of ones), and an
    ``epsilon`` or ``alpha`` read from a float32 attribute is that float32 number.

    Parameters
    ----------
    source : path, bytes or onnx.ModelProto

    Returns
    -------
    Sequential
        Built, with the graph's weights; compile it to train it further.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdnn import Sequential
    >>> from fastdnn.layers import Dense
    >>> from fastdnn.onnx import export
    >>> model = Sequential([Dense(3, activation="tanh"), Dense(2, activation="softmax")],
    ...                    seed=0)
    >>> model.build(4)
    >>> again = load_onnx(export(model))
    >>> X = np.ones((2, 4), np.float32)
    >>> bool(np.allclose(again.predict(X), model.predict(X)))
    True
    """
    onnx = _require_onnx()
    from ..models import Sequential

    graph = _read_graph(onnx, source).graph
    x, dtype, n_features = _graph_input(onnx, graph)
    r = _Reader(onnx, graph, dtype)
    layers: list[Any] = []
    weights: list[np.ndarray] = []
    i = 0
    if len(r.nodes) >= 2 and r.nodes[0].op_type == "Sub" and r.nodes[1].op_type == "Mul" \
            and r.nodes[0].input[0] == x and r.nodes[1].input[0] == r.nodes[0].output[0]:
        norm, mean, variance = _read_normalizer(r)
        layers.append(norm)
        weights += [mean, variance]
        x, i = r.nodes[1].output[0], 2
    while i < len(r.nodes):
        layer, arrays, count, x = _read_layer(r, i, x)
        layers.append(layer)
        weights += arrays
        i += count
    if x != graph.output[0].name:
        raise ValueError(f"load_onnx: the graph's output {graph.output[0].name!r} is not "
                         "the last layer's")
    if not layers:
        raise ValueError("load_onnx: the graph has no layer")
    if n_features is None and weights:      # the first layer's inputs
        n_features = weights[0].shape[1] if isinstance(layers[0], Dense) else len(weights[0])
    if n_features is None:
        raise ValueError("load_onnx: the graph's input has no fixed number of features and "
                         "its first layer does not give it")
    model = Sequential(layers, dtype=dtype)
    model.build(n_features)
    model.set_weights([w.astype(dtype) for w in weights])
    return model


def _graph_input(onnx: Any, graph: Any) -> tuple[str, np.dtype, int | None]:
    """The graph's input: its name, dtype and number of features (None if symbolic)."""
    inits = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ValueError("load_onnx reads graphs with one input and one output, got "
                         f"{len(inputs)} and {len(graph.output)}")
    elem = inputs[0].type.tensor_type.elem_type
    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem))
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"load_onnx reads float32 or float64 graphs, got {dtype}")
    dims = inputs[0].type.tensor_type.shape.dim
    n_features = dims[1].dim_value if len(dims) == 2 and dims[1].dim_value > 0 else None
    return inputs[0].name, dtype, n_features


def _read_normalizer(r: _Reader) -> tuple[Normalizer, np.ndarray, np.ndarray]:
    """The Normalizer of the graph's first two nodes, ``Sub(x, mean)``, ``Mul(., inv_std)``,
    with its mean and variance."""
    sub, mul = r.nodes[0], r.nodes[1]
    mean = r.const(sub, sub.input[1]).astype(np.float64).reshape(-1, 1)
    inv_std = r.const(mul, mul.input[1]).astype(np.float64).reshape(-1, 1)
    return Normalizer(epsilon=0.0), mean, 1.0 / (inv_std * inv_std)


def _read_gemm(r: _Reader, node: Any, x: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``W`` and ``b`` (None without one) of a ``Gemm(x, W, b, transB=1)``."""
    a = r.attrs(node)
    if node.input[0] != x or len(node.input) not in (2, 3) \
            or a.get("transB", 0) != 1 or a.get("transA", 0) != 0 \
            or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
        raise ValueError(f"load_onnx reads the graphs fastdnn.onnx.export writes: "
                         f"expected a Gemm(transB=1) of {x!r}, got node {node.name!r}")
    W = r.const(node, node.input[1])
    use_bias = len(node.input) == 3 and node.input[2] != ""   # C is optional
    return W, r.const(node, node.input[2]).reshape(-1, 1) if use_bias else None


def _read_layer(r: _Reader, i: int, x: str) -> tuple[Any, list[np.ndarray], int, str]:
    """(the layer, its weights, its number of nodes, its output) from node ``i`` on ``x``:
    a Gemm and the activation after it (a Dense), a normalization, or an activation (an
    Activation layer)."""
    node = r.nodes[i]
    if node.op_type == "Gemm":
        W, b = _read_gemm(r, node, x)
        found = r.activation(i + 1, node.output[0])
        act, count, out = ("linear", 0, node.output[0]) if found is None else found
        dense = Dense(W.shape[0], activation=act, use_bias=b is not None)
        return dense, [W] if b is None else [W, b], count + 1, out
    norm = r.normalization(i, x)
    if norm is not None:
        return norm
    found = r.activation(i, x)
    if found is None:
        raise ValueError(f"load_onnx reads the graphs fastdnn.onnx.export writes: no fastdnn "
                         f"layer or activation computes {node.op_type} node {node.name!r} "
                         f"on {x!r}")
    act, count, out = found
    return Activation(act), [], count, out
