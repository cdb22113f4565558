"""Export a ``Sequential`` model to ONNX, to run it where fastdnn is not installed.

``export(model)`` returns the serialized ONNX model (``export(model, path)`` writes it):
a graph from the input ``"X"`` of shape ``(N, n_features)``, ``N`` a symbolic batch
dimension, to the output ``"Y"`` of shape ``(N, n_outputs)``, in the model's dtype, that
computes what ``model.predict`` does (to rounding: the sums run in the runtime's order).
Any ONNX runtime runs it, e.g. onnxruntime::

    import fastdnn.onnx, onnxruntime
    session = onnxruntime.InferenceSession(fastdnn.onnx.export(model),
                                           providers=["CPUExecutionProvider"])
    Y = session.run(["Y"], {"X": X.astype(model.dtype)})[0]

Layer by layer (weights are initializers named after their layer, ``dense_0/W``):

- ``Normalizer``: folded into the ``Dense`` after it (``W * inv_std`` and
  ``b - (W * inv_std) @ mean``, computed in float64), with ``inv_std = 1 / sqrt(variance +
  epsilon)`` as the model holds it. Folded, the rounding errors of the product grow with
  ``|x|`` instead of ``|x - mean|``, so by default (``fold_normalizer="auto"``) it is
  folded only when no feature's mean is more than ``FOLD_MAX_MEAN_STDS`` (16) standard
  deviations from 0, and is otherwise written as ``Sub(x, mean)`` then ``Mul(., inv_std)``
  (as it is when nothing or no ``Dense`` follows it);
- ``Dense``: ``Gemm(x, W, b, transB=1)`` on ``W (units, n_in)`` as stored (``Gemm(x, W)``
  for ``use_bias=False``, unless a folded ``Normalizer`` gives it a bias), then its
  activation: ``Sigmoid``, ``Tanh``, ``Relu``, ``LeakyRelu(alpha)`` (``PRelu`` with a
  slope of the model's dtype when ``alpha`` is not a float32 number and the graph is
  float64: ONNX stores ``LeakyRelu``'s ``alpha`` as a float32), ``Softmax(axis=-1)`` over
  the units (``Softmax(axis=0)`` for ``Softmax(axis=1)``, over the examples; a
  ``Reshape``, ``Softmax``, ``Reshape`` for ``axis=None``), nothing for ``linear``;
- ``Dropout`` and ``Input``: nothing (inference).

The graph is checked with ``onnx.checker.check_model(full_check=True)``. The default opset,
17, is read by onnxruntime 1.16 and later; the file declares the oldest IR version
that holds its opset, so older runtimes read it too. A layer or activation the
exporter does not know (a custom ``Activation``, a subclass that overrides ``forward`` of
a built-in one, a layer of your own) raises ``TypeError`` naming it.

The ``onnx`` package is needed (``pip install 'fastdnn[onnx]'``); ``import fastdnn``
never imports it.

Examples
--------
>>> import numpy as np
>>> import onnx
>>> import fastdnn
>>> from fastdnn.layers import Dense, Dropout, Input
>>> model = fastdnn.Sequential([Input(4), Dense(8, activation="relu"), Dropout(0.1),
...                             Dense(3, activation="softmax")], seed=0)
>>> model.build()
>>> proto = onnx.load_from_string(export(model))
>>> [node.op_type for node in proto.graph.node]
['Gemm', 'Relu', 'Gemm', 'Softmax']
>>> [init.name for init in proto.graph.initializer]
['dense_0/W', 'dense_0/b', 'dense_1/W', 'dense_1/b']
>>> proto.opset_import[0].version, proto.graph.output[0].name
(17, 'Y')
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from . import activations as _activations
from ._validation import check_dtype, check_int, is_int
from .layers import Dense, Dropout, Input, Normalizer

if TYPE_CHECKING:
    from .layers import Layer
    from .models import Sequential

__all__ = ["DEFAULT_OPSET", "FOLD_MAX_MEAN_STDS", "MIN_OPSET", "export", "load_onnx"]

DEFAULT_OPSET = 17   # onnxruntime >= 1.16 reads it
MIN_OPSET = 13       # Softmax over one axis (opset 13's semantics)

_MISSING = ("fastdnn.onnx.export needs the onnx package, which is not installed: "
            "pip install 'fastdnn[onnx]'")

# activation classes and their ONNX operator (None: the identity); a subclass that keeps
# its parent's forward pass is exported as the parent
_SIMPLE = ((_activations.Sigmoid, "Sigmoid"), (_activations.Tanh, "Tanh"),
           (_activations.ReLU, "Relu"), (_activations.Linear, None))


def _require_onnx() -> Any:
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return onnx


class _Graph:
    """The nodes and initializers of the graph being written."""

    def __init__(self, onnx: Any, dtype: np.dtype):
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        array = np.ascontiguousarray(value, dtype=self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def int64(self, name: str, value: list[int]) -> str:
        self.initializers.append(
            self.onnx.numpy_helper.from_array(np.array(value, dtype=np.int64), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


def _activation(g: _Graph, layer: Dense, prefix: str, z: str) -> str:
    act = layer.activation
    label = f"{layer._label()} ({prefix})"
    owner = next((cls for cls in (*(c for c, _ in _SIMPLE), _activations.LeakyReLU,
                                  _activations.Softmax) if isinstance(act, cls)), None)
    if owner is None:
        raise TypeError(f"{label}: the activation {type(act).__name__} "
                        f"({act.get_config().get('name')!r}) has no ONNX equivalent; the "
                        "exporter knows sigmoid, tanh, relu, leaky_relu, linear and softmax")
    if type(act).forward is not owner.forward:   # its own maths: no operator computes it
        raise TypeError(f"{label}: {type(act).__name__} overrides {owner.__name__}.forward, "
                        f"so no ONNX operator computes it")
    a = f"{prefix}/A"
    if owner is _activations.LeakyReLU:
        alpha = float(act.alpha)  # type: ignore[attr-defined]  # act is a LeakyReLU
        if alpha == 0.0:                      # fastdnn's leaky_relu with alpha 0 is relu
            return g.node("Relu", [z], a, f"{prefix}/Relu")
        if g.dtype == np.float32 or float(np.float32(alpha)) == alpha:
            return g.node("LeakyRelu", [z], a, f"{prefix}/LeakyRelu", alpha=alpha)
        # LeakyRelu's alpha attribute is a float32: a float64 slope keeps alpha exact
        slope = g.constant(f"{prefix}/alpha", np.array([alpha]))
        return g.node("PRelu", [z, slope], a, f"{prefix}/PRelu")
    if owner is _activations.Softmax:
        axis = act.axis  # type: ignore[attr-defined]  # act is a Softmax
        if axis in (0, -2):                   # over the units: each example's row
            return g.node("Softmax", [z], a, f"{prefix}/Softmax", axis=-1)
        if axis in (1, -1):                   # over the examples: each unit's column
            return g.node("Softmax", [z], a, f"{prefix}/Softmax", axis=0)
        if axis is None:                      # over every element of the batch
            flat = g.node("Reshape", [z, g.int64(f"{prefix}/flat_shape", [1, -1])],
                          f"{prefix}/Z_flat", f"{prefix}/Flatten")
            s = g.node("Softmax", [flat], f"{prefix}/A_flat", f"{prefix}/Softmax", axis=-1)
            shape = g.node("Shape", [z], f"{prefix}/shape", f"{prefix}/Shape")
            return g.node("Reshape", [s, shape], a, f"{prefix}/Unflatten")
        raise ValueError(f"{label}: softmax over axis {axis} of 2-D activations")
    op = dict(_SIMPLE)[owner]
    return z if op is None else g.node(op, [z], a, f"{prefix}/{op}")


def _check_layer(layer: Any, known: type[Layer]) -> None:
    """A subclass that computes its own forward pass is not the layer the exporter knows."""
    if type(layer).forward is not known.forward:
        raise TypeError(f"{layer._label()}: {type(layer).__name__} overrides "
                        f"{known.__name__}.forward; the exporter only writes the built-in "
                        f"{known.__name__}'s computation")


# A Normalizer is folded into the Dense after it when no input's |mean| exceeds this many
# standard deviations: folded, the rounding errors grow with |x| rather than |x - mean|
FOLD_MAX_MEAN_STDS = 16.0


def _foldable(layers: list[Any], i: int, fold: bool | str) -> bool:
    """Whether the Normalizer ``layers[i]`` is folded into the next layer, a Dense."""
    after = [layer for layer in layers[i + 1:] if not isinstance(layer, (Input, Dropout))]
    if fold is False or not after or not isinstance(after[0], Dense):
        return False
    _check_layer(after[0], Dense)
    norm = layers[i]
    return fold is True or bool(
        np.all(np.abs(norm.mean * norm._inv_std) <= FOLD_MAX_MEAN_STDS))


def _graph(onnx: Any, model: Any, dtype: np.dtype,
           fold: bool | str = "auto") -> tuple[_Graph, str]:
    """The nodes and initializers from ``"X"``; returns the graph and its last tensor."""
    g = _Graph(onnx, dtype)
    x = "X"
    counts: dict[str, int] = {}
    folded: tuple[np.ndarray, np.ndarray] | None = None
    layers = list(model.layers)
    for i, layer in enumerate(layers):
        if isinstance(layer, (Input, Dropout)):   # nothing at inference
            _check_layer(layer, Input if isinstance(layer, Input) else Dropout)
            continue
        if isinstance(layer, Normalizer) and _foldable(layers, i, fold):
            _check_layer(layer, Normalizer)
            folded = (np.asarray(layer.mean, np.float64).ravel(),
                      np.asarray(layer._inv_std, np.float64).ravel())
            continue
        if isinstance(layer, Normalizer):
            _check_layer(layer, Normalizer)
            kind = "normalizer"
        elif isinstance(layer, Dense):
            _check_layer(layer, Dense)
            kind = "dense"
        else:
            raise TypeError(f"{layer._label()}: no ONNX export for {type(layer).__name__} "
                            "layers; the exporter knows Dense, Dropout, Input and Normalizer")
        prefix = f"{kind}_{counts.setdefault(kind, 0)}"
        counts[kind] += 1
        if kind == "normalizer":
            mean = g.constant(f"{prefix}/mean", layer.mean.ravel())
            inv_std = g.constant(f"{prefix}/inv_std", layer._inv_std.ravel())
            centred = g.node("Sub", [x, mean], f"{prefix}/centred", f"{prefix}/Sub")
            x = g.node("Mul", [centred, inv_std], f"{prefix}/A", f"{prefix}/Mul")
        else:
            W_ = layer.W
            b_ = None if layer.b is None else layer.b.ravel()
            if folded is not None:
                # W ((x - mean) * inv_std) + b = (W * inv_std) x + (b - (W * inv_std) mean)
                mu, inv_sigma = folded
                W_ = np.asarray(W_, np.float64) * inv_sigma
                b_ = (0.0 if b_ is None else np.asarray(b_, np.float64)) - W_ @ mu
                folded = None
            inputs = [x, g.constant(f"{prefix}/W", W_)]
            if b_ is not None:   # a layer without a bias: Gemm without its C input
                inputs.append(g.constant(f"{prefix}/b", b_))
            z = g.node("Gemm", inputs, f"{prefix}/Z", f"{prefix}/Gemm", transB=1)
            x = _activation(g, layer, prefix, z)
    return g, x


def _check_batch_dim(batch_dim: Any) -> str | int:
    if isinstance(batch_dim, str):
        if not batch_dim.isidentifier():
            raise ValueError(f"batch_dim must be a symbolic name (an identifier such as "
                             f"'N') or an int >= 1, got {batch_dim!r}")
        return batch_dim
    if not is_int(batch_dim):
        raise TypeError(f"batch_dim must be a str (symbolic) or an int >= 1 (fixed), got "
                        f"{type(batch_dim).__name__}")
    return check_int(batch_dim, "batch_dim", 1)


def _check_fold(fold_normalizer: Any) -> bool | str:
    if fold_normalizer not in (True, False, "auto") or isinstance(fold_normalizer, (int, float)) \
            and not isinstance(fold_normalizer, bool):
        raise ValueError(f"fold_normalizer must be True, False or 'auto', got "
                         f"{fold_normalizer!r}")
    return fold_normalizer  # type: ignore[no-any-return]


def _options(path: Any, opset: Any, batch_dim: Any) -> tuple[str | None, int, str | int]:
    """The checked path (decoded), opset and batch dimension of an export."""
    onnx = _require_onnx()
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str, a PathLike or None, got "
                            f"{type(path).__name__}")
        path = os.fsdecode(os.fspath(path))
    newest = onnx.defs.onnx_opset_version()
    opset = DEFAULT_OPSET if opset is None else check_int(opset, "opset", MIN_OPSET, newest)
    return path, opset, _check_batch_dim(batch_dim)


def _finish(g: _Graph, name: str, inputs: list[Any], outputs: list[Any], opset: int,
            doc: str, path: str | None) -> bytes | None:
    """The checked ModelProto of g: serialized, or written to path (then None)."""
    from . import __version__

    onnx = g.onnx
    helper = onnx.helper
    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="fastdnn",
                              producer_version=__version__, doc_string=doc)
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto, full_check=True)
    data: bytes = proto.SerializeToString()
    if path is None:
        return data
    from .saving import _write_file_atomically

    _write_file_atomically(path, lambda f: f.write(data))
    return None


def export(model: Sequential, path: str | os.PathLike[str] | None = None, *,
           opset: int | None = None,
           batch_dim: str | int = "N", dtype: Any = None,
           fold_normalizer: bool | str = "auto") -> bytes | None:
    """The ONNX model computing ``model.predict``: serialized, or written to ``path``.

    Parameters
    ----------
    model : Sequential
        A built model (fitted, loaded, or ``build`` called).
    path : str or PathLike, optional
        Write the file there (atomically; an existing file is replaced; no suffix is
        added, ``.onnx`` is customary) and return None. Without it, return the bytes.
    opset : int, optional
        The ``ai.onnx`` opset, from 13 to the newest the installed onnx knows; default 17.
    batch_dim : str or int, default "N"
        The first dimension of ``X`` and ``Y``: a symbolic name (any batch size) or a
        fixed number of rows.
    dtype : {"float32", "float64"}, optional
        Of the input, the weights and the output; default the model's. Weights of
        another dtype are cast.
    fold_normalizer : {"auto", True, False}, default "auto"
        Fold a ``Normalizer`` into the ``Dense`` after it: always, never, or when its
        means are within ``FOLD_MAX_MEAN_STDS`` standard deviations of 0 (module notes).

    Returns
    -------
    bytes or None
        The serialized ``onnx.ModelProto``, or None when written to ``path``.

    Raises
    ------
    ImportError
        The onnx package is missing (``pip install 'fastdnn[onnx]'``).
    ValueError
        The model is not built; an argument is out of range.
    TypeError
        Not a ``Sequential``; a layer or an activation without an ONNX equivalent (the
        message names it); an argument of the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> import onnx
    >>> from fastdnn import Sequential
    >>> from fastdnn.layers import Dense, Normalizer
    >>> norm = Normalizer()
    >>> norm.adapt(np.array([[0.0, 1.0], [2.0, 3.0]]))
    >>> model = Sequential([norm, Dense(1, activation="sigmoid")], dtype="float64", seed=0)
    >>> model.build(2)
    >>> proto = onnx.load_from_string(export(model, batch_dim="batch"))
    >>> [node.op_type for node in proto.graph.node]
    ['Gemm', 'Sigmoid']
    >>> unfolded = onnx.load_from_string(export(model, fold_normalizer=False))
    >>> [node.op_type for node in unfolded.graph.node]
    ['Sub', 'Mul', 'Gemm', 'Sigmoid']
    >>> proto.graph.input[0].type.tensor_type.shape
    dim {
      dim_param: "batch"
    }
    dim {
      dim_value: 2
    }
    <BLANKLINE>
    >>> export(Sequential([Dense(1)]))
    Traceback (most recent call last):
    ...
    ValueError: the model has no weights yet: build or fit it before exporting it to ONNX
    """
    from .models import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a fastdnn Sequential, got {type(model).__name__}")
    path, opset, batch_dim = _options(path, opset, batch_dim)
    dtype = model.dtype if dtype is None else check_dtype(dtype)
    fold = _check_fold(fold_normalizer)
    if not model.built:
        raise ValueError("the model has no weights yet: build or fit it before exporting it "
                         "to ONNX")

    g, last = _graph(_require_onnx(), model, dtype, fold)
    helper = g.onnx.helper
    if last == "X":      # only shape-preserving layers: Y is X
        g.node("Identity", ["X"], "Y", "Identity")
    else:
        g.nodes[-1].output[0] = "Y"
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    return _finish(g, model.name or "fastdnn",
                   [helper.make_tensor_value_info("X", elem, [batch_dim, model.n_features])],
                   [helper.make_tensor_value_info("Y", elem, [batch_dim, model.n_outputs])],
                   opset, "fastdnn Sequential model, exported for inference", path)


# ------------------------------------------------------------------ the reverse

_ACTIVATION_OPS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu"}


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
    ``Mul`` by constant rows (a ``Normalizer``), then ``Gemm`` nodes (``transB=1``,
    ``alpha = beta = 1``, constant weights) each followed by at most one of ``Sigmoid``,
    ``Tanh``, ``Relu``, ``LeakyRelu``, ``PRelu`` with one slope, or ``Softmax`` over the
    last axis. Anything else raises ``ValueError`` naming the node. The model's dtype is
    the graph's.

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
    >>> model = Sequential([Dense(3, activation="tanh"), Dense(2, activation="softmax")],
    ...                    seed=0)
    >>> model.build(4)
    >>> again = load_onnx(export(model))
    >>> X = np.ones((2, 4), np.float32)
    >>> bool(np.allclose(again.predict(X), model.predict(X)))
    True
    """
    onnx = _require_onnx()
    from onnx import numpy_helper

    from .models import Sequential

    proto = _read_graph(onnx, source)
    graph = proto.graph
    consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t)
                                     for t in graph.initializer}
    inits = set(consts)
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

    def const(node: Any, name: str) -> np.ndarray:
        if name not in consts:
            raise ValueError(f"load_onnx: node {node.name or node.op_type!r} takes {name!r}, "
                             "which is not a constant of the graph")
        return consts[name]

    def attrs(node: Any) -> dict[str, Any]:
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    nodes = list(graph.node)
    x = inputs[0].name
    layers: list[Any] = []
    weights: list[np.ndarray] = []
    i = 0

    def follows(node: Any, k: int = 0) -> bool:
        return len(node.input) > k and node.input[k] == x

    if len(nodes) >= 2 and nodes[0].op_type == "Sub" and nodes[1].op_type == "Mul" \
            and follows(nodes[0]) and nodes[1].input[0] == nodes[0].output[0]:
        mean = const(nodes[0], nodes[0].input[1]).astype(np.float64).reshape(-1, 1)
        inv_std = const(nodes[1], nodes[1].input[1]).astype(np.float64).reshape(-1, 1)
        norm = Normalizer(epsilon=0.0)
        norm.mean, norm.variance = mean, 1.0 / (inv_std * inv_std)
        layers.append(norm)
        n_features = n_features or mean.shape[0]
        x = nodes[1].output[0]
        i = 2
    while i < len(nodes):
        node = nodes[i]
        a = attrs(node)
        if node.op_type != "Gemm" or not follows(node) or len(node.input) not in (2, 3) \
                or a.get("transB", 0) != 1 or a.get("transA", 0) != 0 \
                or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise ValueError(f"load_onnx reads the graphs fastdnn.onnx.export writes: "
                             f"expected a Gemm(transB=1) of {x!r}, got {node.op_type} "
                             f"node {node.name!r}")
        W = const(node, node.input[1])
        use_bias = len(node.input) == 3 and node.input[2] != ""   # C is optional
        b = const(node, node.input[2]).reshape(-1, 1) if use_bias else None
        x = node.output[0]
        activation: Any = "linear"
        nxt = nodes[i + 1] if i + 1 < len(nodes) else None
        if nxt is not None and nxt.op_type != "Gemm" and follows(nxt):
            na = attrs(nxt)
            if nxt.op_type in _ACTIVATION_OPS:
                activation = _ACTIVATION_OPS[nxt.op_type]
            elif nxt.op_type == "LeakyRelu":
                activation = _activations.LeakyReLU(alpha=float(na.get("alpha", 0.01)))
            elif nxt.op_type == "PRelu" and const(nxt, nxt.input[1]).size == 1:
                activation = _activations.LeakyReLU(
                    alpha=float(const(nxt, nxt.input[1]).ravel()[0]))
            elif nxt.op_type == "Softmax" and na.get("axis", -1) in (-1, 1):
                activation = "softmax"
            else:
                raise ValueError(f"load_onnx: no fastdnn activation computes {nxt.op_type} "
                                 f"node {nxt.name!r} as exported")
            x = nxt.output[0]
            i += 1
        layers.append(Dense(W.shape[0], activation=activation, use_bias=use_bias))
        weights += [W] if b is None else [W, b]
        i += 1
    if x != graph.output[0].name:
        raise ValueError(f"load_onnx: the graph's output {graph.output[0].name!r} is not "
                         "the last layer's")
    if not any(isinstance(layer, Dense) for layer in layers):
        raise ValueError("load_onnx: the graph has no Gemm layer")
    model = Sequential(layers, dtype=dtype)
    model.build(n_features or weights[0].shape[1])
    if layers and isinstance(layers[0], Normalizer):
        weights = [layers[0].mean, layers[0].variance] + weights
    model.set_weights([w.astype(dtype) for w in weights])
    return model
