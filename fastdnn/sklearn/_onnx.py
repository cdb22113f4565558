"""The fitted estimators as ONNX graphs (``MLPClassifier.export_onnx``,
``MLPRegressor.export_onnx``), with the outputs ONNX converters of scikit-learn give.

The network is the graph of ``fastdnn.onnx.export`` for the estimator's ``model_`` (a
``Normalizer`` first with ``normalize=True``, folded as there), from the input ``"X"``;
then, for

- a classifier: ``"label"``, what ``predict`` returns (``classes_`` taken by index, of
  their dtype: integers, floats, booleans or strings; 0/1 int64 columns for a multilabel
  target), and ``"probabilities"``, what ``predict_proba`` returns;
- a regressor: ``"variable"``, what ``predict`` returns as ``(N, n_outputs)`` (also for
  one output), through ``Exp`` for ``loss="poisson"``.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import onnx as _fonnx
from .._validation import check_dtype


def _classes(g: Any, classes: np.ndarray) -> str:
    """The initializer holding classes_, in a dtype ONNX has for it."""
    if classes.dtype.kind in "USO":
        values = np.array([str(c) for c in classes], dtype=object)
    elif classes.dtype.kind in "iu":
        values = classes.astype(np.int64)
    elif classes.dtype.kind in "fb":
        values = classes
    else:
        raise TypeError(f"classes_ of dtype {classes.dtype} have no ONNX tensor type")
    g.initializers.append(g.onnx.numpy_helper.from_array(values, "classes"))
    return "classes"


def _classifier_head(g: Any, est: Any, p: str, batch_dim: str | int) -> list[Any]:
    """label and probabilities from the output activations p; their value infos."""
    helper, TensorProto = g.onnx.helper, g.onnx.TensorProto
    elem = helper.np_dtype_to_tensor_dtype(g.dtype)
    k = len(est.classes_)
    half = g.constant("half", np.array(0.5))
    if est._label_binarizer.y_type_.startswith("multilabel"):
        g.node("Identity", [p], "probabilities", "probabilities")
        above = g.node("Greater", [p, half], "above_half", "Greater")
        g.node("Cast", [above], "label", "label", to=TensorProto.INT64)
        return [helper.make_tensor_value_info("label", TensorProto.INT64, [batch_dim, k]),
                helper.make_tensor_value_info("probabilities", elem, [batch_dim, k])]
    classes = _classes(g, np.asarray(est.classes_))
    if est.out_activation_ == "softmax":
        g.node("Identity", [p], "probabilities", "probabilities")
        index = g.node("ArgMax", [p], "index", "ArgMax", axis=1, keepdims=0)
    else:  # binary: p is the second class's probability
        one = g.constant("one", np.array(1.0))
        q = g.node("Sub", [one, p], "p_first", "Sub")
        g.node("Concat", [q, p], "probabilities", "probabilities", axis=1)
        flat = g.node("Squeeze", [p, g.int64("axis_1", [1])], "p_second", "Squeeze")
        above = g.node("Greater", [flat, half], "above_half", "Greater")
        index = g.node("Cast", [above], "index", "Cast", to=TensorProto.INT64)
    g.node("Gather", [classes, index], "label", "label", axis=0)
    dtype = next(t.data_type for t in g.initializers if t.name == "classes")
    return [helper.make_tensor_value_info("label", dtype, [batch_dim]),
            helper.make_tensor_value_info("probabilities", elem, [batch_dim, k])]


def export_estimator(est: Any, path: str | os.PathLike[str] | None = None, *,
                     opset: int | None = None, batch_dim: str | int = "N", dtype: Any = None,
                     fold_normalizer: bool | str = "auto") -> bytes | None:
    """The fitted ``est`` as an ONNX model: serialized, or written to ``path``.

    See ``MLPClassifier.export_onnx``; the arguments are those of
    ``fastdnn.onnx.export``.

    Examples
    --------
    >>> import numpy as np, onnx
    >>> from fastdnn.sklearn import MLPClassifier
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    >>> clf = clf.fit(X, ["a", "b", "b", "a"])   # doctest: +SKIP
    >>> proto = onnx.load_from_string(export_estimator(clf))   # doctest: +SKIP
    >>> [o.name for o in proto.graph.output]   # doctest: +SKIP
    ['label', 'probabilities']
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    path, opset, batch_dim = _fonnx._options(path, opset, batch_dim)
    fold = _fonnx._check_fold(fold_normalizer)
    model = est.model_
    dtype = model.dtype if dtype is None else check_dtype(dtype)
    g, last = _fonnx._graph(_fonnx._require_onnx(), model, dtype, fold, opset)
    helper = g.onnx.helper
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    if hasattr(est, "classes_"):
        outputs = _classifier_head(g, est, last, batch_dim)
        kind = "MLPClassifier"
    else:
        if est.out_activation_ == "exp":
            g.node("Exp", [last], "variable", "Exp")
        else:
            g.node("Identity", [last], "variable", "variable")
        outputs = [helper.make_tensor_value_info("variable", elem,
                                                 [batch_dim, model.n_outputs])]
        kind = "MLPRegressor"
    inputs = [helper.make_tensor_value_info("X", elem, [batch_dim, model.n_features])]
    return _fonnx._finish(g, kind, inputs, outputs, opset,
                          f"fastdnn.sklearn.{kind}, exported for inference", path)
