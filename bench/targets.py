"""The project's benchmark targets, in one table, and their evaluation against a run.

A :class:`Target` names a measured quantity of one case -- a ratio label (a
timing ratio such as ``numpy/compiled``, or a ratio of a measured case such as
``torch/fastdnn``) or a value column of one implementation, written
``"<impl>: <column>"`` (e.g. ``"sklearn: Δacc pts"``) -- and the bound it must
meet. The sections read their targets from :data:`TARGETS` (``for_case``);
``bench/run.py --check`` fails when an enforced target is missed
(:func:`evaluate`), and the report prints one target table per section.

A target is *enforced* unless the run is a ``--smoke`` run (correctness only),
or a ``--quick`` run and the target is stated for the full-size configuration
that ``--quick`` shrinks (``full_size``). When the case ran but the quantity
is missing, the target is ``not measured`` -- a failure, unless an anchor it
needs (``needs``, e.g. torch, or several packages such as onnx and onnxruntime)
is not installed, when it is ``skipped``.

A target is stated on one case, or on a *group* of cases: a record (timing
result, ratio or measured record) may list in its ``groups`` the names of
groups it also belongs to (e.g. ``sections/gemm.py``'s "M·N·K >= 2^15", every
product shape of that size), and a target whose ``case`` is a group name
covers all of them. By default the worst value of the covered cases decides;
``aggregate="median"`` compares the median of their values with the bound
instead (a goal for a grid as a whole).
"""
from __future__ import annotations

import importlib.util
import math
import operator
import statistics
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

PASS, MISS, NOT_MEASURED, SKIPPED, NOT_RUN = "pass", "miss", "not measured", "skipped", "not run"
MODES = ("full", "quick", "smoke")
_OPS = {">=": operator.ge, "<=": operator.le}
AGGREGATES = ("worst", "median")
ORT = ("onnx", "onnxruntime")      # what an onnxruntime anchor built with onnx.helper needs


@dataclass(frozen=True)
class Target:
    """``label`` of case ``case`` (of ``section``, with N = ``n`` when given) ``op`` ``bound``.

    ``case`` may be a group name (see the module doc); ``aggregate`` says which value of
    the matching cases is compared: the worst (default) or their median.
    """

    section: str
    case: str              # a case name, or the name of a group of cases
    label: str             # a ratio label, or "<impl>: <value column>"
    op: str                # ">=" or "<="
    bound: float
    description: str       # the goal in words
    n: int | None = None   # the case's N, when its name alone is ambiguous
    unit: str = "x"        # appended to the bound and the measured value
    needs: str | tuple[str, ...] | None = None   # the optional package(s) the measurement needs
    full_size: bool = False      # stated for the full size; not enforced in --quick runs
    aggregate: str = "worst"     # "worst" value of the matching cases, or their "median"

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {', '.join(_OPS)}, not {self.op!r}")
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, "
                             f"not {self.aggregate!r}")

    def met_by(self, value: float) -> bool:
        """Whether ``value`` meets the bound (NaN never does)."""
        return not math.isnan(value) and _OPS[self.op](value, self.bound)

    @property
    def text(self) -> str:
        """E.g. ``numpy/compiled >= 10x``, ``median anchor/fastdnn >= 1x``."""
        prefix = "median " if self.aggregate == "median" else ""
        return f"{prefix}{self.label} {self.op} {self.bound:g}{self.unit}"

    @property
    def packages(self) -> tuple[str, ...]:
        """The optional packages of ``needs``."""
        return () if self.needs is None else \
            (self.needs,) if isinstance(self.needs, str) else tuple(self.needs)

    def applies_to(self, section: str, case: str, n: int) -> bool:
        return self.section == section and self.case == case and self.n in (None, n)


# The element-wise API (bench/sections/activations.py): the project's goal is every
# function -- forward, derivative (from Z and from the output A), the fused backward, softmax
# and softmax_backward over both axes and both memory orders -- at N = 1e3 ... 1e7, float32
# and float64, at least as fast as NumPy and as PyTorch, each writing into out=.
ELEMENTWISE = (
    "sigmoid", "tanh", "relu", "leaky_relu", "linear",
    "elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "softsign", "hard_sigmoid", "mish",
    "sigmoid_derivative(z)", "tanh_derivative(z)", "relu_derivative(z)",
    "leaky_relu_derivative(z)", "linear_derivative",
    "elu_derivative(z)", "selu_derivative(z)", "gelu_derivative(z)",
    "gelu_tanh_derivative(z)", "silu_derivative(z)", "softplus_derivative(z)",
    "softsign_derivative(z)", "hard_sigmoid_derivative(z)", "mish_derivative(z)",
    "sigmoid_derivative(a)", "tanh_derivative(a)", "relu_derivative(a)",
    "leaky_relu_derivative(a)",
    "elu_derivative(a)", "selu_derivative(a)", "softplus_derivative(a)",
    "softsign_derivative(a)", "hard_sigmoid_derivative(a)",
    "sigmoid_backward", "tanh_backward", "relu_backward", "leaky_relu_backward",
    "linear_backward",
    "elu_backward", "selu_backward", "gelu_backward", "gelu_tanh_backward", "silu_backward",
    "softplus_backward", "softsign_backward", "hard_sigmoid_backward", "mish_backward",
    *(f"{f} axis={axis} {order}" for f in ("softmax", "softmax_backward")
      for axis in (0, 1) for order in ("C", "F")),
)

ELEMENTWISE_TARGETS: tuple[Target, ...] = tuple(
    t for name in ELEMENTWISE for t in (
        Target("activations", name, "vs numpy", ">=", 1.0,
               "target: at least as fast as NumPy (ufuncs with out=) at every N and dtype"),
        Target("activations", name, "vs torch", ">=", 1.0,
               "target: at least as fast as PyTorch's own function (out=) at every N and "
               "dtype", needs="torch"))
) + (
    Target("activations", "softmax float32", "vs numpy", ">=", 3.0,
           "stretch: float32 softmax (each axis and order) >= 3x NumPy at N = 1e6", n=10**6),
    Target("activations", "softmax float32", "vs torch", ">=", 1.5,
           "stretch: float32 softmax (each axis and order) >= 1.5x PyTorch at N = 1e6",
           n=10**6, needs="torch"),
    Target("activations", "sigmoid float32", "vs numpy", ">=", 5.0,
           "stretch: float32 sigmoid >= 5x NumPy at N = 1e6", n=10**6),
    Target("activations", "tanh float32", "vs numpy", ">=", 5.0,
           "stretch: float32 tanh >= 5x NumPy at N = 1e6", n=10**6),
    Target("activations", "backward float32", "fastdnn/copy", "<=", 1.3,
           "stretch: every memory-bound float32 element-wise backward step (no exp, erf or "
           "log) within 1.3x of np.copyto's time for the same bytes (3 N elements moved) at "
           "N = 1e6", n=10**6),
)


TARGETS: tuple[Target, ...] = (
    Target("dense", "2-3-5-4-2-1 sigmoid", "numpy/compiled", ">=", 10.0,
           "target: a tiny net's training step >= 10x faster than NumPy's"),
    Target("dense", "2-3-5-4-2-1 sigmoid", "torch/compiled", ">=", 30.0,
           "target: a tiny net's training step >= 30x faster than PyTorch's", needs="torch"),
    Target("dense", "784-256-128-10 softmax", "torch/compiled", ">=", 2.0,
           "target: an MNIST-sized training step >= 2x faster than PyTorch's", needs="torch"),
    Target("dense", "784-256-128-10 softmax", "numpy/compiled", ">=", 2.0,
           "target: an MNIST-sized training step >= 2x faster than NumPy's"),
    Target("dense", "1024-2048-2048-1024 softmax", "compiled/gemm", "<=", 1.05,
           "target: a large step costs at most 5 % more than its GEMMs alone"),
    Target("dense", "1024-2048-2048-1024 softmax", "torch/compiled", ">=", 1.2,
           "target: a large training step >= 1.2x faster than PyTorch's", needs="torch"),
    Target("inference", "784-256-128-10 softmax", "torch/predict", ">=", 5.0,
           "target: one example through an MNIST-sized net with >= 5x lower latency than "
           "PyTorch", n=1, needs="torch"),
    Target("inference", "784-256-128-10 softmax", "ort/predict", ">=", 1.5,
           "target: predict at least 1.5x faster than an ONNX Runtime session of the same "
           "weights (default CPU options) for one example", n=1, needs=ORT),
    Target("inference", "784-256-128-10 softmax", "ort/predict", ">=", 1.1,
           "target: predict at least 1.1x faster than an ONNX Runtime session of the same "
           "weights (default CPU options) for batches of 32", n=32, needs=ORT),
    Target("inference", "784-256-128-10 softmax", "ort/predict", ">=", 1.1,
           "target: predict at least 1.1x faster than an ONNX Runtime session of the same "
           "weights (default CPU options) for batches of 1024", n=1024, needs=ORT),
    Target("inference", "784-256-128-10 softmax, torch imported first", "torch-first/alone",
           "<=", 1.15,
           "target: fastdnn's predict and fit within 15 % of their time alone when PyTorch was "
           "imported and used first in the same process", needs="torch"),
    Target("inference", "784-256-128-10 softmax, onnxruntime imported first", "ort-first/alone",
           "<=", 1.15,
           "target: fastdnn's predict and fit within 15 % of their time alone when ONNX Runtime "
           "was imported and used first in the same process", needs=ORT),
    Target("train", "digits 64-128-10 softmax", "sklearn/fastdnn", ">=", 10.0,
           "target: a full fit >= 10x faster than scikit-learn's", needs="sklearn",
           full_size=True),
    Target("train", "digits 64-128-10 softmax", "sklearn: Δacc pts", "<=", 1.0,
           "target: test accuracy at most 1 point below scikit-learn's", unit=" pts",
           needs="sklearn", full_size=True),
    Target("train", "breast-cancer 30-16-8-1 sigmoid", "sklearn/fastdnn", ">=", 10.0,
           "target: a full fit >= 10x faster than scikit-learn's", needs="sklearn",
           full_size=True),
    Target("train", "breast-cancer 30-16-8-1 sigmoid", "sklearn: Δacc pts", "<=", 1.0,
           "target: test accuracy at most 1 point below scikit-learn's", unit=" pts",
           needs="sklearn", full_size=True),
    Target("estimators", "digits adam 64-128-10", "sklearn/fastdnn", ">=", 5.0,
           "target: fastdnn.sklearn's MLPClassifier(solver='adam') fit >= 5x faster than "
           "scikit-learn's, same data and parameters", needs="sklearn", full_size=True),
    Target("estimators", "digits sgd 64-128-10", "sklearn/fastdnn", ">=", 5.0,
           "target: fastdnn.sklearn's MLPClassifier(solver='sgd') fit >= 5x faster than "
           "scikit-learn's, same data and parameters", needs="sklearn", full_size=True),
    Target("estimators", "multilabel adam 100-128-10", "sklearn/fastdnn", ">=", 5.0,
           "target: a multilabel MLPClassifier(solver='adam') fit >= 5x faster than "
           "scikit-learn's, same data and parameters", needs="sklearn", full_size=True),
    Target("estimators", "sparse adam 5000-64-1", "sklearn/fastdnn", ">=", 5.0,
           "target: an MLPClassifier(solver='adam') fit on scipy.sparse X >= 5x faster than "
           "scikit-learn's, same data and parameters", needs="sklearn", full_size=True),
    Target("estimators", "regression lbfgs 50-64-1", "sklearn/fastdnn", ">=", 2.0,
           "target: an MLPRegressor(solver='lbfgs') fit >= 2x faster than scikit-learn's, "
           "same data and parameters", needs="sklearn", full_size=True),
    *(Target("estimators", case, "sklearn: Δscore pts", "<=", 1.0,
             "target: test score (accuracy, subset accuracy or R²) at most 1 point (0.01) "
             "below scikit-learn's", unit=" pts", needs="sklearn", full_size=True)
      for case in ("digits adam 64-128-10", "digits sgd 64-128-10",
                   "multilabel adam 100-128-10", "sparse adam 5000-64-1",
                   "regression lbfgs 50-64-1")),
    Target("keras", "synthetic 784-512-512-10 gelu+bn", "torch/fastdnn", ">=", 1.5,
           "target: a training step of a Keras-style network (Dense, BatchNormalization, "
           "GELU; AdamW) in fit's compiled loop >= 1.5x faster than the same step in PyTorch",
           needs="torch"),
    Target("keras", "digits 64-512-512-10 gelu+bn", "torch: |Δacc pts|", "<=", 1.0,
           "target: the same test accuracy as PyTorch's, within 1 point, for the same "
           "Keras-style network, data and optimizer", unit=" pts", needs="torch",
           full_size=True),
    Target("memory", "digits fit 64-128-10 softmax", "torch/fastdnn", ">=", 1.0,
           "target: the peak memory a fit adds no more than PyTorch's (same network and data)",
           needs="torch"),
    Target("memory", "memmap epoch 20-64-1 sigmoid", "fastdnn: anon incr % file", "<=", 25.0,
           "target: an epoch over a 5,000,000 x 20 float32 memmap with resident memory well "
           "under the file size (own memory growing by < 25 % of it)", unit=" %",
           full_size=True),
    Target("gemm", "M·N·K ≥ 2^15", "anchor/fastdnn", ">=", 1.0,
           "target: fastdnn's matrix product at least as fast as the fastest of NumPy, PyTorch "
           "and onnxruntime, in the median over the grid's shapes of at least 2^15 "
           "multiply-adds", aggregate="median", full_size=True),
    Target("gemm", "M·N·K ≥ 2^15", "anchor/fastdnn", ">=", 0.9,
           "target: fastdnn's matrix product within 10 % of the fastest of NumPy, PyTorch and "
           "onnxruntime on every shape of at least 2^15 multiply-adds"),
    Target("gemm", "M, N, K ≥ 256", "fastdnn: % peak", ">=", 85.0,
           "target: fastdnn's matrix products at >= 85 % of the machine's FMA peak when M, N "
           "and K are all at least 256", unit=" %"),
) + ELEMENTWISE_TARGETS


def for_case(section: str, case: str, n: int, targets: Iterable[Target] = TARGETS
             ) -> list[dict[str, Any]]:
    """The targets of one case as JSON-ready dicts (for the case's ``params``)."""
    return [{"ratio": t.label, "op": t.op, "bound": t.bound, "description": t.description}
            for t in targets if t.applies_to(section, case, n)]


# ------------------------------------------------------------------ evaluation

@dataclass(frozen=True)
class Outcome:
    """How a run fared against one target."""

    target: Target
    status: str                  # PASS, MISS, NOT_MEASURED, SKIPPED or NOT_RUN
    measured: float | None = None    # the worst matching value, or their median (None: none)
    enforced: bool = True        # whether a miss fails ``--check`` in this run's mode
    mode: str = "full"
    reason: str = ""             # why it was skipped

    @property
    def failed(self) -> bool:
        """A miss (or a missing measurement) that ``--check`` turns into a failure."""
        return self.enforced and self.status in (MISS, NOT_MEASURED)

    @property
    def result(self) -> str:
        """The table's pass/miss cell, e.g. ``miss (not enforced in a --quick run)``."""
        if self.reason:
            return f"{self.status} ({self.reason})"
        if not self.enforced and self.status in (MISS, NOT_MEASURED):
            return f"{self.status} (not enforced in a --{self.mode} run)"
        return self.status

    @property
    def measured_text(self) -> str:
        return "" if self.measured is None else f"{self.measured:.3g}{self.target.unit}"

    def record(self) -> dict[str, Any]:
        """The outcome as a JSON record (the run's ``targets`` list)."""
        t = self.target
        return {"section": t.section, "name": t.case, "n": t.n, "label": t.label, "op": t.op,
                "bound": t.bound, "aggregate": t.aggregate,
                "description": t.description, "status": self.status,
                "measured": self.measured, "enforced": self.enforced, "failed": self.failed}


Key = tuple[str, str, int]   # (section, case name, N)


def run_mode(args: Mapping[str, Any]) -> str:
    """``"smoke"``, ``"quick"`` or ``"full"`` from a run's recorded arguments."""
    return "smoke" if args.get("smoke") else "quick" if args.get("quick") else "full"


def observations(meta: Mapping[str, Any]) -> dict[Key, dict[str, list[float | None]]]:
    """Every quantity a run measured, by case: ratio labels and ``"<impl>: <column>"``.

    Timing ratios come from ``meta["ratios"]``; run cases' ``extra`` columns from
    ``meta["results"]``; measured cases' ``values`` and ``ratios`` from
    ``meta["measurements"]``. A case that ran appears even when it measured nothing.
    A record listing ``groups`` counts under each group name too (same section and N).
    """
    obs: dict[Key, dict[str, list[float | None]]] = {}

    def add(rec: Mapping[str, Any], label: str | None = None, value: Any = None) -> None:
        for name in (rec["name"], *rec.get("groups", ())):
            quantities = obs.setdefault((rec["section"], name, rec["n"]), {})
            if label is not None:
                quantities.setdefault(label, []).append(value)

    for r in meta.get("results", []):
        for col, value in r.get("extra", {}).items():
            add(r, f"{r['impl']}: {col}", value)
        add(r)
    for q in meta.get("ratios", []):
        add(q, q["label"], q["value"])
    for rec in meta.get("measurements", []):
        for col, value in rec.get("values", {}).items():
            add(rec, f"{rec['impl']}: {col}", value)
        for q in rec.get("ratios", []):
            add(rec, q["label"], q["value"])
    return obs


def installed(package: str) -> bool:
    """Whether ``package`` can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def of_run(meta: Mapping[str, Any]) -> list[Target]:
    """The targets of the sections a run selected (all when it does not say)."""
    selected = meta.get("args", {}).get("sections")
    return list(TARGETS) if selected is None else \
        [t for t in TARGETS if t.section in selected]


def evaluate(meta: Mapping[str, Any], targets: Iterable[Target] | None = None,
             mode: str | None = None) -> list[Outcome]:
    """The outcome of each target (default: :func:`of_run`) against a run record
    (``bench/run.py``'s JSON: its ``results``, ``ratios`` and ``measurements``).

    ``mode`` (default: from ``meta["args"]``) decides what is enforced; the anchors
    a run had are read from ``meta["anchors"]`` (package -> bool), else looked up here.
    """
    targets = of_run(meta) if targets is None else targets
    mode = mode or run_mode(meta.get("args", {}))
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    obs = observations(meta)
    anchors = meta.get("anchors", {})
    return [_evaluate_one(t, obs, anchors, mode) for t in targets]


def _evaluate_one(t: Target, obs: Mapping[Key, Mapping[str, list]], anchors: Mapping[str, bool],
                  mode: str) -> Outcome:
    enforced = mode == "full" or (mode == "quick" and not t.full_size)
    keys = [k for k in obs if t.applies_to(*k)]
    if not keys:
        return Outcome(t, NOT_RUN, enforced=enforced, mode=mode)
    values = [v for k in keys for v in obs[k].get(t.label, [])]
    if not values or any(v is None for v in values):
        missing = [p for p in t.packages if not anchors.get(p, installed(p))]
        if missing:
            return Outcome(t, SKIPPED, enforced=enforced, mode=mode,
                           reason=f"{', '.join(missing)} not installed")
        return Outcome(t, NOT_MEASURED, enforced=enforced, mode=mode)
    if t.aggregate == "median":
        worst = statistics.median(values)
    else:
        worst = min(values) if t.op == ">=" else max(values)
    if any(math.isnan(v) for v in values):
        worst = math.nan
    return Outcome(t, PASS if t.met_by(worst) else MISS, float(worst), enforced, mode)


def failures(outcomes: Iterable[Outcome]) -> list[str]:
    """One line per outcome that fails ``--check``."""
    out = []
    for o in outcomes:
        if not o.failed:
            continue
        t = o.target
        size = "" if t.n is None else f" N={t.n}"
        got = f"measured {o.measured_text}" if o.status == MISS else "not measured"
        out.append(f"target missed: {t.section}/{t.case}{size}: {t.text}, {got} ({t.description})")
    return out
