"""Activations and their backward steps: fastdnn vs the NumPy a course exercise writes.

Arrays have the lecture layout ``(10, N // 10)`` (10 units, one column per
example), C order. For sigmoid, relu and sigmoid_backward fastdnn is also
timed writing into a preallocated ``out=`` buffer, next to ``np.copyto`` of
one array: at large N both are memory bound, so ``out=/copyto`` close to 1
means the kernel runs at copy speed (sigmoid_backward moves 3 arrays against
copyto's 2, so about 1.5 is its bound).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterator

import numpy as np

from fastdnn import functional as F
from _case import Case, Config, Ratio

SECTION = "activations"
SIZES = (10**4, 10**6, 10**7)
QUICK_SIZES = (10**4, 10**6)
SMOKE_SIZES = (10**4,)
DTYPES = ("float32", "float64")
UNITS = 10   # rows of the (n_l, m) arrays
SEED = 0
# Time in rounds after untimed warm-up: a torch or OpenBLAS thread pool still
# spinning from the previous implementation would otherwise slow the next one.
WARMUP_NS = 50_000_000


def _np_softmax(z: np.ndarray) -> np.ndarray:
    """The course's numerically stable softmax over the class axis 0."""
    e = np.exp(z - z.max(0, keepdims=True))
    return e / e.sum(0, keepdims=True)


@dataclass(frozen=True)
class Spec:
    """One function to benchmark: its inputs and its implementations."""

    name: str
    args: tuple[str, ...]               # keys into the inputs of :func:`make_inputs`
    fastdnn: Callable[..., object]
    numpy: Callable[..., object]
    with_out: bool = False              # also time fastdnn with a preallocated ``out=``
    torch: str | None = None            # name of the torch function, if compared


SPECS: tuple[Spec, ...] = (
    Spec("sigmoid", ("z",), F.sigmoid, lambda z: 1 / (1 + np.exp(-z)), True, "sigmoid"),
    Spec("tanh", ("z",), F.tanh, lambda z: np.tanh(z), torch="tanh"),
    Spec("relu", ("z",), F.relu, lambda z: np.maximum(z, 0), True, "relu"),
    Spec("leaky_relu", ("z",), F.leaky_relu, lambda z: np.where(z >= 0, z, 0.01 * z)),
    Spec("softmax", ("z",), partial(F.softmax, axis=0), _np_softmax),
    Spec("sigmoid_backward", ("dA", "s"), F.sigmoid_backward,
         lambda dA, s: dA * s * (1 - s), True),
    Spec("tanh_backward", ("dA", "t"), F.tanh_backward, lambda dA, t: dA * (1 - t**2)),
    Spec("relu_backward", ("dA", "r"), F.relu_backward, lambda dA, r: dA * (r > 0)),
    Spec("leaky_relu_backward", ("dA", "a"), F.leaky_relu_backward,
         lambda dA, a: np.where(a >= 0, dA, 0.01 * dA)),
)


def make_inputs(n: int, dtype: str) -> dict[str, np.ndarray]:
    """Seeded ``z ~ U(-8, 8)``, ``dA ~ N(0, 1)`` and the cached activations of ``z``."""
    rng = np.random.default_rng(SEED)
    shape = (UNITS, n // UNITS)
    z = rng.uniform(-8.0, 8.0, shape).astype(dtype)
    return {"z": z, "dA": rng.standard_normal(shape).astype(dtype),
            "s": F.sigmoid(z), "t": F.tanh(z), "r": F.relu(z), "a": F.leaky_relu(z)}


def make_case(spec: Spec, inputs: dict[str, np.ndarray], cfg: Config) -> Case:
    """The fastdnn / NumPy (/ out= / copyto / torch) implementations of ``spec``."""
    args = [inputs[key] for key in spec.args]
    z = inputs["z"]
    impls = {"fastdnn": partial(spec.fastdnn, *args), "numpy": partial(spec.numpy, *args)}
    ratios = [Ratio("vs numpy", "numpy", "fastdnn")]
    unchecked: set[str] = set()
    if spec.with_out:
        impls["fastdnn(out=)"] = partial(spec.fastdnn, *args, out=np.empty_like(z))
        impls["np.copyto"] = partial(np.copyto, np.empty_like(z), z)
        unchecked.add("np.copyto")
        ratios.append(Ratio("out=/copyto", "fastdnn(out=)", "np.copyto"))
    if cfg.torch is not None and spec.torch is not None:
        tensors = [cfg.torch.from_numpy(x) for x in args]
        impls["torch"] = partial(getattr(cfg.torch, spec.torch), *tensors)
        ratios.append(Ratio("vs torch", "torch", "fastdnn"))
    return Case(SECTION, spec.name, str(z.dtype), z.size, impls, tuple(ratios),
                params={"shape": list(z.shape), "order": "C"}, unchecked=frozenset(unchecked),
                warmup_ns=cfg.warmup(WARMUP_NS))


def sizes(cfg: Config) -> tuple[int, ...]:
    """The N of this run: all, ``--quick``'s or ``--smoke``'s."""
    return SMOKE_SIZES if cfg.smoke else QUICK_SIZES if cfg.quick else SIZES


def cases(cfg: Config) -> Iterator[Case]:
    """All cases, one size and dtype at a time (the inputs of a size are freed after it)."""
    for n in sizes(cfg):
        for dtype in DTYPES:
            inputs = make_inputs(n, dtype)
            for spec in SPECS:
                yield make_case(spec, inputs, cfg)
