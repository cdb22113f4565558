"""The matching of a graph's nodes against the steps export writes: which activation or
normalization layer a run of nodes computes."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations as _activations
from ..layers import BatchNormalization, LayerNormalization
from ._builder import MIN_OPSET, _Cap, _I64, _Input, _Step, _W
from ._nodes import (_REDUCE_AXES_INPUT_OPSET, _SELU_ALPHA, _SELU_GAMMA, _elu_node,
                     _elu_nodes, _gelu_erf_nodes, _gelu_tanh_nodes, _hard_sigmoid_nodes,
                     _layer_norm_nodes, _mish_nodes, _selu_nodes, _softplus_nodes,
                     _softsign_nodes)


def _read_patterns() -> list[tuple[list[_Step], Any]]:
    """Every form of an activation the exporter writes, with its parameters as _Cap, and
    the activation it is read as (a function of the captured values, None: not fastdnn's);
    the longest first, so that a form is not read as the single node it starts with."""
    A = _activations

    def near(value: Any, x: float) -> bool:      # a float32 attribute holding x
        return bool(np.float32(value) == np.float32(x))

    alpha = _Cap("alpha")
    patterns: list[tuple[list[_Step], Any]] = [
        ([_Step("Sigmoid", ("z",))], lambda c: A.Sigmoid()),
        ([_Step("Tanh", ("z",))], lambda c: A.Tanh()),
        ([_Step("Relu", ("z",))], lambda c: A.ReLU()),
        ([_Step("LeakyRelu", ("z",), {"alpha": alpha})],
         lambda c: A.LeakyReLU(float(c["alpha"]))),
        ([_Step("PRelu", ("z", alpha))],
         lambda c: A.LeakyReLU(float(c["alpha"].ravel()[0])) if c["alpha"].size == 1
         else None),
        ([_Step("Softmax", ("z",), {"axis": _Cap("axis")})],
         lambda c: A.Softmax() if c["axis"] in (-1, 1) else None),
        (_elu_node(alpha), lambda c: A.ELU(float(c["alpha"]))),
        (_elu_nodes(alpha), lambda c: A.ELU(float(c["alpha"].ravel()[0]))
         if c["alpha"].size == 1 else None),
        ([_Step("Selu", ("z",), {"alpha": _Cap("alpha"), "gamma": _Cap("gamma")})],
         lambda c: A.SELU() if near(c["alpha"], _SELU_ALPHA) and near(c["gamma"], _SELU_GAMMA)
         else None),
        (_selu_nodes(), lambda c: A.SELU()),
        ([_Step("Gelu", ("z",), {"approximate": _Cap("how")})],
         lambda c: A.GELU(approximate=c["how"] == "tanh") if c["how"] in ("none", "tanh")
         else None),
        (_gelu_erf_nodes(), lambda c: A.GELU()),
        (_gelu_tanh_nodes(), lambda c: A.GELU(approximate=True)),
        ([_Step("Sigmoid", ("z",)), _Step("Mul", ("z", 0))], lambda c: A.SiLU()),
        ([_Step("Softplus", ("z",))], lambda c: A.Softplus()),
        (_softplus_nodes(), lambda c: A.Softplus()),
        ([_Step("Softsign", ("z",))], lambda c: A.Softsign()),
        (_softsign_nodes(), lambda c: A.Softsign()),
        ([_Step("HardSigmoid", ("z",), {"alpha": _Cap("alpha"), "beta": _Cap("beta")})],
         lambda c: A.HardSigmoid() if near(c["alpha"], 1.0 / 6.0) and near(c["beta"], 0.5)
         else None),
        (_hard_sigmoid_nodes(), lambda c: A.HardSigmoid()),
        ([_Step("Mish", ("z",))], lambda c: A.Mish()),
        (_mish_nodes([_Step("Softplus", ("z",))]), lambda c: A.Mish()),
        (_mish_nodes(_softplus_nodes()), lambda c: A.Mish()),
    ]
    return sorted(patterns, key=lambda p: -len(p[0]))


class _Reader:
    """The nodes of a graph, its constants and dtype, and the matching of step lists."""

    def __init__(self, onnx: Any, graph: Any, dtype: np.dtype):
        from onnx import numpy_helper

        self.onnx, self.dtype = onnx, dtype
        self.nodes = list(graph.node)
        self.consts: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t)
                                              for t in graph.initializer}

    def const(self, node: Any, name: str) -> np.ndarray:
        if name not in self.consts:
            raise ValueError(f"load_onnx: node {node.name or node.op_type!r} takes {name!r}, "
                             "which is not a constant of the graph")
        return self.consts[name]

    def attrs(self, node: Any) -> dict[str, Any]:
        """The node's attributes, str for strings."""
        values = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}

    def match(self, i: int, z: str, steps: list[_Step]) -> tuple[dict[str, Any], str] | None:
        """The captured values and the last output when the nodes from ``i`` are ``steps``
        on ``z``, else None."""
        caps: dict[str, Any] = {}
        outputs: list[str] = []
        for k, step in enumerate(steps):
            node = self.nodes[i + k] if i + k < len(self.nodes) else None
            if node is None or node.op_type != step.op or len(node.output) != 1 \
                    or len(node.input) != len(step.inputs):
                return None
            for name, want in zip(node.input, step.inputs):
                if not self._input(name, want, z, outputs, caps):
                    return None
            if not self._attributes(node, step.attrs, caps):
                return None
            outputs.append(node.output[0])
        return caps, outputs[-1]

    def _input(self, name: str, want: _Input, z: str, outputs: list[str],
               caps: dict[str, Any]) -> bool:
        if isinstance(want, str):
            return name == z
        if isinstance(want, int):
            return name == outputs[want]
        value = self.consts.get(name)
        if value is None:
            return False
        if isinstance(want, _Cap):
            caps[want.name] = value
            return True
        if isinstance(want, _I64):
            return value.dtype == np.int64 and value.ravel().tolist() == list(want.value)
        expected = np.asarray(want.value if isinstance(want, _W) else want, self.dtype)
        return value.size == expected.size and bool(np.all(value.ravel() == expected.ravel()))

    def _attributes(self, node: Any, want: dict[str, Any], caps: dict[str, Any]) -> bool:
        """Each attribute as ``want`` says (a float as a float32); the others at their
        defaults."""
        schema = self.onnx.defs.get_schema(node.op_type)
        defaults = {k: self.onnx.helper.get_attribute_value(a.default_value)
                    for k, a in schema.attributes.items() if a.default_value.name}
        given = self.attrs(node)
        for key, value in given.items():
            if key not in want and (key not in defaults or defaults[key] != value):
                return False
        for key, expected in want.items():
            value = given.get(key, defaults.get(key))
            if value is None:
                return False
            if isinstance(expected, _Cap):
                caps[expected.name] = value
            elif isinstance(expected, float):
                if not (isinstance(value, float) and np.float32(value) == np.float32(expected)):
                    return False
            elif value != expected:
                return False
        return True

    def activation(self, i: int, z: str) -> tuple[Any, int, str] | None:
        """(the activation, its number of nodes, its output) of the nodes from ``i`` on
        ``z``, or None."""
        for steps, build in _read_patterns():
            found = self.match(i, z, steps)
            if found is not None:
                act = build(found[0])
                if act is not None:
                    return act, len(steps), found[1]
        return None

    def normalization(self, i: int, z: str) -> tuple[Any, list[np.ndarray], int, str] | None:
        """(the layer, its weights, its number of nodes, its output) of a BatchNormalization
        or LayerNormalization from node ``i`` on ``z``, or None."""
        gamma, beta, eps = _Cap("gamma"), _Cap("beta"), _Cap("epsilon")
        batch = [_Step("BatchNormalization",
                       ("z", gamma, beta, _Cap("mean"), _Cap("variance")), {"epsilon": eps})]
        layer = [_Step("LayerNormalization", ("z", gamma, beta), {"axis": -1, "epsilon": eps})]
        for steps in (batch, layer, _layer_norm_nodes(gamma, beta, eps, MIN_OPSET),
                      _layer_norm_nodes(gamma, beta, eps, _REDUCE_AXES_INPUT_OPSET)):
            found = self.match(i, z, steps)
            if found is None:
                continue
            c, out = found
            epsilon = float(np.asarray(c["epsilon"]).ravel()[0])
            weights = [c["gamma"], c["beta"]]
            if steps is batch:
                norm: Any = BatchNormalization(epsilon=epsilon)
                weights += [c["mean"], c["variance"]]
            else:
                norm = LayerNormalization(epsilon=epsilon)
            return norm, [w.reshape(-1, 1) for w in weights], len(steps), out
        return None
