"""``export``: its arguments checked, the graph of the model's layers as a checked ONNX
model, serialized or written to a file."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .._validation import check_dtype, check_int, is_int
from ._builder import DEFAULT_OPSET, MIN_OPSET, _Graph, _require_onnx
from ._write import _graph

if TYPE_CHECKING:
    from ..models import Sequential


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
    from .. import __version__

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
    from ..saving import _write_file_atomically

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
        ``Gelu`` (20), ``Mish`` (18) and ``LayerNormalization`` (17) are written as
        their definitions in older opsets (module notes).
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
    from ..models import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a fastdnn Sequential, got {type(model).__name__}")
    path, opset, batch_dim = _options(path, opset, batch_dim)
    dtype = model.dtype if dtype is None else check_dtype(dtype)
    fold = _check_fold(fold_normalizer)
    if not model.built:
        raise ValueError("the model has no weights yet: build or fit it before exporting it "
                         "to ONNX")

    g, last = _graph(_require_onnx(), model, dtype, fold, opset)
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
