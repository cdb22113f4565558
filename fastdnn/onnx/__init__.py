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
  activation (below);
- ``Activation``: its activation, on the previous layer's output;
- ``BatchNormalization``: ``BatchNormalization(x, gamma, beta, moving_mean,
  moving_variance, epsilon)`` in inference form on the ``(N, C)`` activations, after the
  previous layer's activation as ``predict`` runs it (``gamma`` of ones without ``scale``,
  ``beta`` of zeros without ``center``). It is not folded into the ``Gemm`` before it:
  the layer stays visible and ``load_onnx`` reads it back, and runtimes fuse it where they
  wish. ``epsilon`` is a float32 attribute: in float64 graphs an epsilon that is not a
  float32 number (``1e-3``) is written as ``float32(epsilon)`` and the difference is added
  to ``moving_variance``, so that ``moving_variance + epsilon`` is the model's to rounding;
- ``LayerNormalization``: ``LayerNormalization(x, gamma, beta, axis=-1, epsilon)`` from
  opset 17; below it, and in float64 graphs whose epsilon is not a float32 number, the
  elementary ``ReduceMean``, ``Sub``, ``Mul``, ``ReduceMean``, ``Add(epsilon)``, ``Sqrt``,
  ``Reciprocal``, ``Mul``, ``Mul(gamma)``, ``Add(beta)``, in fastdnn's order
  (``ReduceMean``'s axes an input from opset 18);
- ``Dropout`` and ``Input``: nothing (inference).

Activations, in float32 graphs:
``Sigmoid``, ``Tanh``, ``Relu``, ``LeakyRelu(alpha)``, ``Softmax(axis=-1)`` over the units
(``Softmax(axis=0)`` for ``Softmax(axis=1)``, over the examples; a ``Reshape``,
``Softmax``, ``Reshape`` for ``axis=None``), nothing for ``linear``; ``Elu(alpha)``;
``Selu(alpha, gamma)`` with fastdnn's constants 1.6732632423543772 and
1.0507009873554805; ``gelu``/``gelu_tanh`` as ``Gelu(approximate="none"/"tanh")`` from
opset 20 and below it as its definition, ``z (1 + erf(z / sqrt 2)) / 2`` (``Div``,
``Erf``, ``Add``, ``Mul``, ``Mul``) or ``z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) / 2``
(``Pow``, ``Mul``, ``Add``, ``Mul``, ``Tanh``, ``Add``, ``Mul``, ``Mul``); ``silu``
(``swish``) as ``Sigmoid`` and ``Mul``; ``Softplus``; ``Softsign``; ``hard_sigmoid`` as
``HardSigmoid(alpha=1/6, beta=0.5)`` (fastdnn's ``clip(z + 3, 0, 6) / 6``); ``Mish`` from
opset 18 and ``Softplus``, ``Tanh``, ``Mul`` below. Float attributes are float32, which
float32 graphs do not notice.

In float64 graphs the same, except where a float32 attribute or onnxruntime (which has no
float64 kernels for ``Elu``, ``Selu``, ``Softplus``, ``Softsign``, ``HardSigmoid`` or
``Mish``, and whose float64 ``Gelu`` is float32-accurate) would cost precision: those are
elementary operators on constants of the graph's dtype. ``leaky_relu`` with an ``alpha``
that is not a float32 number is a ``PRelu`` (``Relu`` for ``alpha=0``); ``elu`` is
``Where(z > 0, z, alpha (Exp(z) - 1))``; ``selu`` ``Where(z > 0, gamma z, gamma alpha
(Exp(z) - 1))``; ``softplus`` ``Relu(z) + Log(1 + Exp(-Abs(z)))``; ``softsign`` ``z / (1 +
Abs(z))``; ``hard_sigmoid`` ``Clip(z + 3, 0, 6) / 6``; ``mish`` that softplus, ``Tanh``,
``Mul``; ``gelu`` and ``gelu_tanh`` their definitions above at every opset.
onnxruntime (1.32) has no float64 ``Erf``, so it does not run a float64 erf ``gelu``
(``gelu_tanh`` runs), which other runtimes do; export such a model with
``dtype="float32"`` for onnxruntime.

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
>>> from fastdnn.layers import Activation, BatchNormalization, LayerNormalization
>>> model = fastdnn.Sequential([Input(4), Dense(8), BatchNormalization(), Activation("gelu"),
...                             LayerNormalization(), Dense(1, activation="silu")], seed=0)
>>> model.build()
>>> [node.op_type for node in onnx.load_from_string(export(model, opset=20)).graph.node]
['Gemm', 'BatchNormalization', 'Gelu', 'LayerNormalization', 'Gemm', 'Sigmoid', 'Mul']
"""
from ._builder import DEFAULT_OPSET, MIN_OPSET
from ._builder import _require_onnx as _require_onnx
from ._export import _check_fold as _check_fold
from ._export import _finish as _finish
from ._export import _options as _options
from ._export import export
from ._load import load_onnx
from ._write import FOLD_MAX_MEAN_STDS
from ._write import _graph as _graph

__all__ = ["DEFAULT_OPSET", "FOLD_MAX_MEAN_STDS", "MIN_OPSET", "export", "load_onnx"]
