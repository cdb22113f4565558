"""The graph being written: its nodes and initializers, the steps nodes are written from
(and load_onnx matches), and the onnx package, imported on use."""
from __future__ import annotations

from typing import Any, NamedTuple, Union

import numpy as np

DEFAULT_OPSET = 17   # onnxruntime >= 1.16 reads it
MIN_OPSET = 13       # Softmax over one axis (opset 13's semantics)

_MISSING = ("fastdnn.onnx (export, load_onnx) needs the onnx package, which is not installed: "
            "pip install 'fastdnn[onnx]'")


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

    def __init__(self, onnx: Any, dtype: np.dtype, opset: int = DEFAULT_OPSET):
        self.onnx, self.dtype, self.opset = onnx, dtype, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names: set[str] = set()

    def constant(self, name: str, value: np.ndarray) -> str:
        return self._add(name, np.ascontiguousarray(value, dtype=self.dtype))

    def int64(self, name: str, value: list[int]) -> str:
        return self._add(name, np.array(value, dtype=np.int64))

    def _add(self, name: str, array: np.ndarray) -> str:
        """The initializer ``name`` (written once: steps may take it twice)."""
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


# ------------------------------------------------------------------ nodes as data
# A layer's or an activation's nodes are written from a list of steps, and load_onnx reads
# them back by matching the same list: what is written and what is read agree by design.

class _W(NamedTuple):
    """A named constant input (an initializer ``prefix/name``) of the graph's dtype."""
    name: str
    value: Any


class _I64(NamedTuple):
    """An int64 constant input (ReduceMean's axes from opset 18)."""
    name: str
    value: tuple[int, ...]


class _Cap(NamedTuple):
    """In a pattern load_onnx matches: any constant input or attribute, kept as ``name``."""
    name: str


# an input: "z" (the input of the steps), an int (the output of that earlier step), a
# float (an unnamed scalar constant of the graph's dtype), _W, _I64 or, in patterns, _Cap
_Input = Union[str, int, float, _W, _I64, _Cap]


class _Step(NamedTuple):
    op: str
    inputs: tuple[_Input, ...]
    attrs: dict[str, Any] = {}


def _emit(g: _Graph, steps: list[_Step], prefix: str, z: str) -> str:
    """Write ``steps`` on the tensor ``z``; returns the last step's output."""
    outputs: list[str] = []
    seen: dict[str, int] = {}
    for k, step in enumerate(steps):
        inputs = []
        for j, x in enumerate(step.inputs):
            if isinstance(x, str):
                inputs.append(z)
            elif isinstance(x, int):
                inputs.append(outputs[x])
            elif isinstance(x, _W):
                inputs.append(g.constant(f"{prefix}/{x.name}", x.value))
            elif isinstance(x, _I64):
                inputs.append(g.int64(f"{prefix}/{x.name}", list(x.value)))
            else:
                inputs.append(g.constant(f"{prefix}/c{k}_{j}", np.array(x)))
        n = seen[step.op] = seen.get(step.op, -1) + 1
        name = f"{prefix}/{step.op}" + (f"_{n}" if n else "")
        out = f"{prefix}/A" if k == len(steps) - 1 else f"{prefix}/t{k}"
        outputs.append(g.node(step.op, inputs, out, name, **step.attrs))
    return outputs[-1] if outputs else z
