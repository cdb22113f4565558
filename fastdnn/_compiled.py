"""The compiled path's contract: what the kernels know and what objects declare to use them.

One numbering: the codes of the element-wise operations, activations, losses,
optimizers and metrics are their positions in the lists of
``csrc/fdnn_codes.h``; the C kernels, the Cython loops and this module all
read them from there (``CODES``), none writes a number down.

Each activation, loss, optimizer and metric has one method,
``compiled_spec()``, that returns what the kernels need to run it (one of the
``*Kernel`` tuples below) or raises :class:`NotCompilable` with the reason.
A subclass of a built-in class keeps its parent's kernel unless it overrides
one of the methods that hold the maths (``MATHS``): then the kernel would
compute something else than the object, so it declares itself not compilable.

Examples
--------
>>> CODES["optimizer"]["adam"] == CODES["optimizer"]["gd"] + 3
True
>>> from fastdnn.optimizers import Adam
>>> Adam().compiled_spec().code == CODES["optimizer"]["adam"]
True
"""
from __future__ import annotations

import weakref
from typing import Any, NamedTuple

from ._kernels import _elementwise as _ew

__all__ = ["CODES", "KINDS", "BACKWARD_INPUT", "MATHS", "NotCompilable", "ActivationKernel", "LossKernel",
           "OptimizerKernel", "MetricKernel", "code", "check_maths"]

KINDS = ("unary", "binary", "activation", "loss", "optimizer", "metric")
CODES: dict[str, dict[str, int]] = {
    kind: {name: i for i, name in enumerate(_ew.code_names(kind))} for kind in KINDS}
# per activation, what its backward op takes: "a" (its output) or "z" (its pre-activation)
BACKWARD_INPUT: dict[str, str] = dict(zip(_ew.code_names("activation"),
                                          _ew.code_names("backward_input")))

# the methods and properties that hold each kind's maths: overriding one leaves the kernel
# behind (the compiled loop reads the learning rate once per epoch and the hyperparameters
# once per fit)
MATHS: dict[str, tuple[str, ...]] = {
    "activation": ("forward", "derivative", "backward"),
    "loss": ("cost", "_cost_sum", "gradient"),
    "optimizer": ("apply_gradients", "_update", "learning_rate", "beta", "beta1", "beta2",
                  "epsilon", "weight_decay", "momentum_decay", "initial_accumulator_value",
                  "momentum", "nesterov", "clipnorm", "global_clipnorm", "clipvalue",
                  "_new_slots", "_extra_hyperparameters", "_step_arguments"),
    "metric": ("update_state", "_batch", "_example_values", "result", "_counts", "_finish"),
}


class NotCompilable(Exception):
    """An object the compiled kernels cannot run; the message says why."""


class ActivationKernel(NamedTuple):
    """Codes of a dense layer's activation: ``forward`` (unary op), ``backward``
    (binary op, ``dZ = dA * g'(a)``), its parameter ``alpha``, whether it is the
    softmax (applied over each column after a linear pass) and ``on_z``: whether
    ``backward`` takes the pre-activation ``Z`` instead of ``A`` (``dZ = dA * g'(Z)``,
    so the forward pass keeps ``Z``)."""
    forward: int
    backward: int
    alpha: float
    softmax: bool
    on_z: bool = False


class LossKernel(NamedTuple):
    """``code`` of the loss, the output activation it fuses with (``dZ = A - Y``; None:
    none), whether ``A`` holds ``logits`` and the loss's ``param`` (huber's delta, the
    label smoothing; 0 where it has none)."""
    code: int
    fused_activation: str | None
    logits: bool = False
    param: float = 0.0


class OptimizerKernel(NamedTuple):
    """``code`` of the update and its hyperparameters (0 where it has none): ``beta1``
    (SGD's momentum), ``beta2``, ``epsilon``, AdamW's ``weight_decay``, Nadam's
    ``momentum_decay``, SGD's ``nesterov``; and the gradient clipping (0: none)."""
    code: int
    beta1: float = 0.0
    beta2: float = 0.0
    epsilon: float = 0.0
    weight_decay: float = 0.0
    momentum_decay: float = 0.0
    nesterov: bool = False
    clipnorm: float = 0.0
    global_clipnorm: float = 0.0
    clipvalue: float = 0.0

    def hyper(self) -> tuple[float, float, float, float, float, bool, float, float, float]:
        """Everything but the code, in the order the compiled loop's plan takes it."""
        return (self.beta1, self.beta2, self.epsilon, self.weight_decay, self.momentum_decay,
                self.nesterov, self.clipnorm, self.global_clipnorm, self.clipvalue)


class MetricKernel(NamedTuple):
    """``code`` of the metric, its ``threshold`` (AUC: its number of thresholds; top-k:
    its k), ``per_example``: how many values it counts per example (its denominator is
    ``per_example * m``), and ``slots``: how many accumulators the compiled loop adds its
    batches to (one numerator; or the counts the metric finishes, ``Metric._absorb``);
    ``logits``: it reads ``sigmoid(A)``."""
    code: int
    threshold: float
    per_example: int
    slots: int = 1
    logits: bool = False


def code(kind: str, name: str) -> int:
    """The code of ``name`` among the kernels' ``kind``, or :class:`NotCompilable`.

    Examples
    --------
    >>> code("loss", "mse") == CODES["loss"]["mse"]
    True
    """
    try:
        return CODES[kind][name]
    except KeyError:
        raise NotCompilable(f"the compiled kernels have no {kind} {name!r}") from None


def check_maths(obj: Any, owner: type, kind: str) -> None:
    """Raise :class:`NotCompilable` when ``type(obj)`` overrides a maths method of
    ``owner``, the built-in class whose kernel would run.

    Examples
    --------
    >>> from fastdnn.optimizers import Adam
    >>> class Mine(Adam):
    ...     def _update(self, *args): pass
    >>> check_maths(Mine(), Adam, "optimizer")
    Traceback (most recent call last):
    ...
    fastdnn._compiled.NotCompilable: Mine overrides Adam._update, which the compiled kernel replaces
    """
    cls = type(obj)
    known = _OVERRIDES.setdefault(cls, {})
    reason = known.get((owner, kind))
    if reason is None:
        names = [name for name in MATHS[kind]
                 if getattr(cls, name, None) is not getattr(owner, name, None)]
        reason = known[(owner, kind)] = (
            f"{cls.__name__} overrides {owner.__name__}.{names[0]}, which the compiled kernel "
            "replaces" if names else "")
    if reason:
        raise NotCompilable(reason)


# class -> {(owner, kind): why the owner's kernel cannot run it, "" when it can}
_OVERRIDES: "weakref.WeakKeyDictionary[type, dict[tuple[type, str], str]]" = (
    weakref.WeakKeyDictionary())
