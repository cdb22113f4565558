"""Matrix products ``C (M, N) = A (M, K) @ B (K, N)`` of the shapes dense networks make.

Shapes (M, N, K each one of 1, 10, 32, 64, 128, 256, 512, 784, 1024, 2048; the
whole cube would be 1000 shapes, so the grid follows what dense layers do):

* ``square`` -- M = N = K = 10, 32, 64, 128, 256, 512, 1024, 2048;
* the products of one training step of the networks of ``sections/dense.py``
  whose sizes are in the set, in the lecture's layout (``W (n_l, n_prev)``,
  activations ``(n, m)``, all C-ordered): for every layer the forward
  ``Z_l = W_l A_{l-1}`` (NN), ``dW_l = dZ_l A_{l-1}^T`` (NT: B is the
  transposed view of a C-ordered array) and, but for layer 1,
  ``dA_{l-1} = W_l^T dZ_l`` (TN: A is a transposed view) -- the
  ``784-256-128-10`` network at batch m = 1, 32, 128, 1024 and the
  ``1024-2048-2048-1024`` network at m = 512. (Its two smaller networks,
  ``2-3-5-4-2-1`` and ``30-16-8-1``, have sizes outside the set; the small
  squares and the m = 1 products stand for them.) A shape met twice is timed once.

``--quick`` times the squares 10, 64, 256, 1024 and the 784 network at m = 128;
``--smoke`` the squares 10 and 32 and the 784 network at m = 1. Every shape in
float32 and float64; inputs seeded ``U(-1, 1)``.

Implementations, each writing the product of the same arrays into its own
preallocated output (C-ordered, NaN before the checks):

* ``fastdnn packed`` -- ``fastdnn._kernels._dense.matmul(A, B, direct=False,
  out=C)``: fastdnn's packed engine (``csrc/fdnn_gemm_packed.h``), which it
  uses above 2^18 multiply-adds: blocks of A and B packed for the caches,
  register-blocked micro-kernels per instruction set (a 12 x 32 float32 tile
  of C in registers with AVX-512), the arrays' strides turned into packing
  orders, no copies; on fastdnn's OpenMP threads from 2^18 float32 (2^17
  float64) multiply-adds.
* ``fastdnn direct`` -- the same with ``direct=True``: fastdnn's unpacked
  register-blocked loops (``csrc/fdnn_gemm_type.h``, one thread), which it
  uses up to 2^18 multiply-adds (NN and TN layouts: ``gemm_nn``, NT:
  ``gemm_nt``; any other layout falls back to the packed engine). Not timed
  above 2^27 multiply-adds (fastdnn never runs them there, and a
  single-threaded 2048^3 product takes a second).
The anchors each run in a worker process of their own (``_anchor_worker.py``: NumPy
and that one library, never fastdnn; one process per library, kept for the run), on the
same seeded operands:

* ``numpy`` -- ``np.matmul(A, B, out=C)``.
* ``torch`` (when installed) -- ``torch.mm(a, b, out=c)`` on tensors sharing
  the arrays' memory (``torch.from_numpy``, transposed views included), with
  the thread count ``bench/run.py`` gave torch.
* ``onnxruntime`` (when onnx and onnxruntime are installed) -- an
  ``InferenceSession`` of a one-node ONNX ``MatMul`` model (A and B both
  inputs, built with ``onnx.helper``), default ``SessionOptions`` and the CPU
  provider (only with ``--threads`` is ``intra_op_num_threads`` set, to that
  count), run with ``run_with_iobinding`` on inputs and an output bound once
  to NumPy buffers (``OrtValue.ortvalue_from_numpy`` shares their memory):
  the low-overhead way to call it (a plain ``run`` costs ~5 µs more per call
  here). An ONNX tensor has no strides, so it gets C-ordered copies of
  transposed operands (made once, untimed).

Columns (one row per shape and dtype): the median µs of each implementation;
``GFLOP/s`` = 2 M N K / time and ``% peak`` of *fastdnn* -- the faster of its
two implementations (by median); ``best anchor`` the fastest of NumPy,
PyTorch and onnxruntime; the ratios ``numpy/fastdnn``, ``torch/fastdnn``,
``ort/fastdnn`` and ``anchor/fastdnn`` (the best anchor), each the other's
time over fastdnn's (> 1: fastdnn faster), the median over rounds of the
ratio of samples taken in the same round (``_case.paired_ratio``); ``IQR %``
the largest (q3 - q1) / median of the row. ``--plot`` draws
``anchor/fastdnn`` per shape (one bar each; the table has the other ratios).

Peak: the FMA-chain peak ``bench/peak.py`` measures (``measure_peak``: 12
independent FMA chains per thread of the widest vectors the CPU runs,
AVX-512 when it has avx512f, else AVX2; the best of 9 runs 50 ms apart), on
the run's thread count (``fastdnn.get_num_threads()``), measured once per
run before the first product (after a pause for the threads of earlier
sections to fall asleep) and reported as the section's first table (``FMA
peak``, with the vectors it ran, and beside it the same machine's ceiling for
a product's inner loop: ``L1 tile``, the FMAs of a 12 x 32 register tile with
its loads and broadcasts from panels held in L1; also in the JSON's
``measurements``); a
note says when it is well below the thread count times the 1-thread figure
(the machine was busy: % peak is then overstated). float32 products are
compared with it, float64 products with half of it (half as many lanes per
vector); products too small for a second thread reach at most ~50 % on 2
cores. A note says when ``OPENBLAS_CORETYPE`` is set: it holds NumPy's
OpenBLAS (not fastdnn) to that CPU's kernels.

Threads: fastdnn runs in this process, each anchor in its worker, so that no
library's thread pool spins on the cores while another is timed in the same process
(in one process, NumPy's OpenBLAS workers spinning ~0.1 s after a product slowed a
following torch call down up to 100x, and a 1024^3 fastdnn product ran at 165 GFLOP/s
against 264 alone); fastdnn sets a short OpenMP spin for its own runtime, which the
workers do not inherit. Each round times every implementation in turn, a worker's turn
taken in the worker (``_timing.measure``), so the machine's drift cancels in the
per-round ratios as before. Above 2^18 multiply-adds (where NumPy's OpenBLAS splits a
product over threads) the samples come in 3 rounds, each implementation's run of samples
after ``WARMUP_NS`` (0.12 s) of its own untimed calls, by which time the previous
implementation's threads (in this process or a worker) have stopped spinning; from 2^15
to 2^18 multiply-adds the same with ``SHORT_WARMUP_NS`` (20 ms): torch and onnxruntime
thread smaller products too. Below 2^15 the samples are fully interleaved (one per
implementation per turn). A sample
lasts at least ``--min-sample-ms``; products of 2^29 multiply-adds or more
(milliseconds each) get at most 6 samples.

A note names each shape during whose samples fastdnn's thread team backed off to one
thread (``team_backoffs``: its threads started late twice in a row, on this VM when the
host stalls a virtual CPU), also in the record's ``params``.

Checks (failures of the run, ``--check``): every implementation's output has
the case's dtype and shape and ``max |C - C64| / max |C64| <= 10 K eps`` where
``C64`` is the float64 NumPy product of the same inputs and eps that of the
dtype (rounding grows with K; the harness's fixed tolerance does not, so all
implementations are ``unchecked`` there and checked here). Outputs start as
NaN, so an implementation that did not write its buffer fails.

Targets (``bench/targets.py``), over the *groups* of shapes each row belongs
to: on shapes with M N K >= 2^15, fastdnn at least as fast as the best anchor
in the median (``anchor/fastdnn``, full runs only) and within 10 % of it on
every shape; on shapes with M, N, K >= 256, fastdnn at >= 85 % of the peak.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

import fastdnn
from fastdnn._kernels._dense import matmul
from fastdnn._kernels._elementwise import team_backoffs
from _case import Case, Config, check_outputs, paired_ratio
from _timing import Stats, measure
from targets import for_case

from ._anchor_worker import AnchorWorker, RemoteCall, gemm_inputs, gemm_output

SECTION = "gemm"
DTYPES = ("float32", "float64")
SEED = 0
WARMUP_NS = 120_000_000        # > NumPy's OpenBLAS's ~0.1 s of spinning after a product
THREADED_MACS = 2**18          # above: NumPy's OpenBLAS uses threads (WARMUP_NS rounds)
SHORT_WARMUP_NS = 20_000_000   # from WORK_MIN to THREADED_MACS: torch's, onnxruntime's pools
ROUNDS = 3
LONG_MACS = 2**29              # from here (>= ~3 ms a call) at most LONG_SAMPLES samples
LONG_SAMPLES = 6
DIRECT_MAX_MACS = 2**27        # fastdnn direct is not timed above this
CHECK_ULPS = 10                # error bound: CHECK_ULPS * K * eps of max |C|
PEAK_PAUSE_S = 0.05            # between the FMA-peak runs (9 of them: ~0.5 s)
BUSY_PEAK = 0.75               # a peak below this share of threads x 1 thread: a note

PACKED, DIRECT, NUMPY, TORCH, ORT = (
    "fastdnn packed", "fastdnn direct", "numpy", "torch", "onnxruntime")
FASTDNN_IMPLS = (PACKED, DIRECT)
ANCHOR_IMPLS = (NUMPY, TORCH, ORT)
RATIO_LABELS = {NUMPY: "numpy/fastdnn", TORCH: "torch/fastdnn", ORT: "ort/fastdnn"}
BEST = "anchor/fastdnn"        # the fastest anchor's time over fastdnn's
GROUP_WORK = "M·N·K ≥ 2^15"    # target groups (bench/targets.py)
GROUP_LARGE = "M, N, K ≥ 256"
WORK_MIN, LARGE_MIN = 2**15, 256

LEGEND = (
    "gemm: C (M, N) = A (M, K) @ B (K, N); case 'MxK @ KxN' plus the layout (NN; NT: B a "
    "transposed view; TN: A a transposed view); MACs = M N K. µs: median per call. GFLOP/s "
    "(2 M N K / time) and % peak: fastdnn's faster implementation; % peak of the FMA peak "
    "(float64: half of it). numpy/fastdnn, torch/fastdnn, ort/fastdnn, anchor/fastdnn "
    "(best anchor: the fastest of numpy, torch, onnxruntime): the other's time over "
    "fastdnn's, median over rounds of the ratio within a round (> 1: fastdnn faster). "
    "fastdnn packed: matmul(direct=False), its packed engine; fastdnn direct: "
    "matmul(direct=True), its unpacked loops (one thread). Every implementation writes into "
    "a preallocated output. IQR %: largest (q3 - q1) / median of the row.")
PEAK_LEGEND = (
    "FMA peak: bench/peak.py's loop of 12 independent FMA chains per thread of the widest "
    "vectors the CPU runs (vectors: AVX-512 or AVX2; float32, best of 9 runs), on the run's "
    "threads; float64's is half. L1 tile: the same FMAs as a product's 12 x 32 (AVX2: 6 x "
    "16) register tile makes them, per k 2 vector loads of B and a broadcast of each row of "
    "A, both panels in L1 (best of 9 runs): the most a product's inner loop reaches; tile % "
    "peak: its share of the FMA peak.")
VECTORS = {512: "AVX-512", 256: "AVX2"}   # peak.measure_peak's "bits"


# ------------------------------------------------------------------ shapes

@dataclass(frozen=True)
class Shape:
    """One product: A (M, K) @ B (K, N) in a layout, and where it comes from."""

    M: int
    K: int
    N: int
    layout: str        # "NN", "NT" (B transposed view) or "TN" (A transposed view)
    product: str       # e.g. "784 m=128 W1·A0", "square"

    @property
    def name(self) -> str:
        return f"{self.M}x{self.K} @ {self.K}x{self.N} {self.layout}"

    @property
    def macs(self) -> int:
        return self.M * self.N * self.K

    @property
    def flop(self) -> int:
        return 2 * self.macs

    @property
    def groups(self) -> list[str]:
        """The target groups of the shape (bench/targets.py)."""
        out = []
        if self.macs >= WORK_MIN:
            out.append(GROUP_WORK)
        if min(self.M, self.N, self.K) >= LARGE_MIN:
            out.append(GROUP_LARGE)
        return out


def squares(sizes: tuple[int, ...]) -> list[Shape]:
    return [Shape(s, s, s, "NN", "square") for s in sizes]


def net_shapes(dims: tuple[int, ...], m: int) -> list[Shape]:
    """The products of one training step of ``dims`` at batch ``m``, in the order a
    step makes them: forward ``W_l A_{l-1}``, then per layer from the last
    ``dZ_l A_{l-1}^T`` and (not for layer 1) ``W_l^T dZ_l``."""
    net = f"{dims[0]}" if len(dims) == 4 and dims[0] == 784 else "-".join(map(str, dims))
    tag = f"{net} m={m}"
    out = [Shape(n, p, m, "NN", f"{tag} W{l}·A{l - 1}")
           for l, (p, n) in enumerate(zip(dims[:-1], dims[1:]), 1)]
    for l in range(len(dims) - 1, 0, -1):
        p, n = dims[l - 1], dims[l]
        out.append(Shape(n, m, p, "NT", f"{tag} dZ{l}·A{l - 1}ᵀ"))
        if l > 1:
            out.append(Shape(p, n, m, "TN", f"{tag} W{l}ᵀ·dZ{l}"))
    return out


MNIST = (784, 256, 128, 10)
LARGE = (1024, 2048, 2048, 1024)


def grid(cfg: Config) -> list[Shape]:
    """The shapes of this run (full, ``--quick`` or ``--smoke``), each once."""
    if cfg.smoke:
        shapes = squares((10, 32)) + net_shapes(MNIST, 1)
    elif cfg.quick:
        shapes = squares((10, 64, 256, 1024)) + net_shapes(MNIST, 128)
    else:
        shapes = (squares((10, 32, 64, 128, 256, 512, 1024, 2048))
                  + [s for m in (1, 32, 128, 1024) for s in net_shapes(MNIST, m)]
                  + net_shapes(LARGE, 512))
    seen: set[tuple] = set()
    out = []
    for s in shapes:
        key = (s.M, s.K, s.N, s.layout)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def make_inputs(shape: Shape, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``U(-1, 1)`` A and B in the shape's layout (transposed views of C-ordered
    arrays for the T operands), as the anchors' workers draw them."""
    return gemm_inputs(shape.M, shape.K, shape.N, shape.layout, dtype, SEED)


# ------------------------------------------------------------------ anchors

def onnxruntime_missing() -> str:
    """Why the onnxruntime column is skipped ("" when onnx and onnxruntime are installed);
    neither is imported here: they run in their worker."""
    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    return f"onnxruntime skipped: {', '.join(missing)} not installed" if missing else ""


def fastdnn_impl(A: np.ndarray, B: np.ndarray, direct: bool,
                 out: np.ndarray) -> Callable[[], np.ndarray]:
    """``matmul(A, B, direct=direct, out=out)``: fastdnn's direct loops or its packed
    engine. The call returns ``out`` itself, not matmul's result, so that the checks
    read the buffer matmul was to write."""
    def call() -> np.ndarray:
        matmul(A, B, direct=direct, out=out)
        return out

    return call


# ------------------------------------------------------------------ peak

_PEAK: dict[int, dict | None] = {}


def machine_peak(threads: int) -> dict | None:
    """``peak.measure_peak(threads)``, measured once per process (None: not measurable)."""
    if threads not in _PEAK:
        bench = str(Path(__file__).resolve().parent.parent)
        if bench not in sys.path:
            sys.path.insert(0, bench)
        import peak

        time.sleep(0.15)      # thread pools of earlier sections asleep
        _PEAK[threads] = peak.measure_peak(threads, pause=PEAK_PAUSE_S)
    return _PEAK[threads]


def peak_gflops(peak: dict | None, dtype: str) -> float | None:
    """The peak of ``dtype`` in GFLOP/s: float32's, or half of it for float64."""
    if peak is None:
        return None
    return peak["gflops"] / (2 if dtype == "float64" else 1)


@dataclass
class PeakRecord:
    """The section's first case: the FMA peak this run's % peak columns refer to."""

    peak: dict | None
    threads: int
    notes: list[str] = field(default_factory=list)
    section: str = SECTION
    name: str = "FMA peak"
    dtype: str = "float32"

    @property
    def n(self) -> int:
        return self.threads

    def measure(self) -> tuple[list[dict], list[str]]:
        p = self.peak
        bits = None if p is None else p.get("bits")
        values = {"vectors": None if bits is None else VECTORS.get(bits, f"{bits}-bit"),
                  "float32 GFLOP/s": None if p is None else round(p["gflops"], 1),
                  "float64 GFLOP/s": None if p is None else round(p["gflops"] / 2, 1),
                  "median of runs": None if p is None else round(p["median_gflops"], 1),
                  "1 thread float32 GFLOP/s":
                      None if p is None else round(p["single_thread_gflops"], 1),
                  "L1 tile float32 GFLOP/s": None if p is None else round(p["tile_gflops"], 1),
                  "tile % peak":
                      None if p is None else round(100 * p["tile_gflops"] / p["gflops"], 1),
                  "1 thread L1 tile GFLOP/s":
                      None if p is None else round(p["single_thread_tile_gflops"], 1)}
        notes = list(self.notes)
        if p is not None and p["gflops"] < BUSY_PEAK * self.threads * p["single_thread_gflops"]:
            notes.append(f"the FMA peak on {self.threads} threads ({p['gflops']:.0f} GFLOP/s) is "
                         f"below {self.threads} x its 1-thread figure "
                         f"({p['single_thread_gflops']:.0f}): the machine was busy (or the "
                         "threads share cores); % peak may be overstated")
        if p is None:
            notes.append("FMA peak not measured (needs x86-64 with AVX2 and a C compiler with "
                         "OpenMP, see bench/peak.py): the % peak column stays empty")
        record = {"section": SECTION, "name": self.name, "dtype": self.dtype,
                  "n": self.threads, "unit": "thread", "impl": "bench/peak.py",
                  "values": values, "ratios": [], "legend": PEAK_LEGEND, "peak": p}
        return [record], notes


# ------------------------------------------------------------------ one shape

def _sig(x: float) -> float | int:
    """About 3 significant digits, as the tables print times (an int from 1000 on)."""
    return round(x, 2) if x < 10 else round(x, 1) if x < 1000 else int(round(x))


def _stats_record(st: Stats) -> dict:
    return {"median_ns": st.median_ns, "min_ns": st.min_ns, "q1_ns": st.q1_ns,
            "q3_ns": st.q3_ns, "number": st.number,
            "sample_ns": [round(t, 1) for t in st.sample_ns]}


@dataclass
class GemmCase:
    """One shape in one dtype: checked, timed by the harness (``_case.check_outputs``,
    ``_timing.measure``), reported as one record (``measure()``)."""

    shape: Shape
    dtype: str
    cfg: Config
    peak: dict | None
    ort: bool                          # onnx and onnxruntime installed
    ort_threads: int | None

    @property
    def name(self) -> str:
        return self.shape.name

    @property
    def section(self) -> str:
        return SECTION

    @property
    def n(self) -> int:
        return self.shape.macs

    def nan_output(self) -> np.ndarray:
        """A C-ordered (M, N) array of the dtype, all NaN."""
        return gemm_output(self.shape.M, self.shape.N, self.dtype)

    def implementations(self, A: np.ndarray, B: np.ndarray) -> dict[str, Callable[[], Any]]:
        """Every implementation's call, each writing its own NaN-filled output."""
        shape, dtype = self.shape, self.dtype
        impls: dict[str, Callable[[], Any]] = {
            PACKED: fastdnn_impl(A, B, direct=False, out=self.nan_output())}
        if shape.macs <= DIRECT_MAX_MACS:
            impls[DIRECT] = fastdnn_impl(A, B, direct=True, out=self.nan_output())
        args = (shape.M, shape.K, shape.N, shape.layout, dtype, SEED)
        impls[NUMPY] = RemoteCall("numpy", "gemm", args)
        torch = self.cfg.torch
        if torch is not None:
            impls[TORCH] = RemoteCall("torch", "gemm", args, torch.get_num_threads())
        if self.ort:
            impls[ORT] = RemoteCall("onnxruntime", "gemm", args, self.ort_threads)
        return impls

    def check(self, A: np.ndarray, B: np.ndarray, impls: dict, record: dict) -> list[str]:
        """Each output against the float64 product, ``<= CHECK_ULPS K eps`` of max |C|."""
        ref = A.astype(np.float64) @ B.astype(np.float64)
        scale = max(float(np.max(np.abs(ref))), np.finfo(np.float64).tiny)
        tol = CHECK_ULPS * self.shape.K * float(np.finfo(self.dtype).eps)
        record["rtol"] = tol
        failures = []
        for name, fn in impls.items():
            out = np.asarray(fn())
            if str(out.dtype) != self.dtype:
                failures.append(f"{name} returns {out.dtype}")
            if out.shape != ref.shape:
                failures.append(f"{name} returns shape {out.shape}, expected {ref.shape}")
                continue
            err = float(np.max(np.abs(out.astype(np.float64) - ref))) / scale
            record.setdefault("max_rel_err", {})[name] = err
            if not err <= tol:     # NaN fails too
                failures.append(f"{name} differs from the float64 product: max error "
                                f"{err:.3g} of max |C| > {tol:.3g} (10 K eps)")
        return failures

    def measure(self) -> tuple[list[dict], list[str], list[str]]:
        shape, dtype, cfg = self.shape, self.dtype, self.cfg
        A, B = make_inputs(shape, dtype)
        impls = self.implementations(A, B)
        warmup = (WARMUP_NS if shape.macs > THREADED_MACS
                  else SHORT_WARMUP_NS if shape.macs >= WORK_MIN else 0)
        check_record: dict[str, Any] = {}
        case = Case(SECTION, shape.name, dtype, shape.macs, impls,
                    unchecked=frozenset(impls), reference=PACKED,
                    warmup_ns=cfg.warmup(warmup), rounds=ROUNDS,
                    check=lambda: self.check(A, B, impls, check_record))
        try:
            _, failures = check_outputs(case)
            samples = min(cfg.samples, LONG_SAMPLES) if shape.macs >= LONG_MACS else cfg.samples
            backoffs = team_backoffs()
            stats = measure(case.impls, samples, cfg.target_ns, case.warmup_ns, case.rounds)
            backoffs = team_backoffs() - backoffs
        finally:
            for impl in impls.values():
                if isinstance(impl, RemoteCall):
                    impl.drop()
        record = self.record(stats, check_record, case, samples)
        record["params"]["team_backoffs"] = backoffs
        notes = []
        if backoffs:
            notes.append(f"{dtype}: fastdnn's thread team backed off {backoffs} "
                         f"time{'s' if backoffs > 1 else ''} during its samples (its threads "
                         "started late twice in a row: products on one thread for 0.25-20 "
                         "ms); those samples are partly one thread's")
        return [record], notes, failures

    def record(self, stats: dict[str, Stats], check_record: dict, case: Case,
               samples: int) -> dict:
        """The shape's measurement record: values (the table's row), the plotted ratio,
        the target groups, every implementation's samples."""
        shape, dtype = self.shape, self.dtype
        fast = min((i for i in FASTDNN_IMPLS if i in stats), key=lambda i: stats[i].median_ns)
        anchors = [i for i in ANCHOR_IMPLS if i in stats]
        best = min(anchors, key=lambda i: stats[i].median_ns)
        gflops = shape.flop / stats[fast].median_ns
        top = peak_gflops(self.peak, dtype)
        values: dict[str, Any] = {"product": shape.product}
        for impl in (*FASTDNN_IMPLS, *ANCHOR_IMPLS):
            values[f"{impl} µs"] = _sig(stats[impl].median_ns / 1e3) if impl in stats else None
        values["GFLOP/s"] = _sig(gflops)
        values["% peak"] = None if top is None else round(100 * gflops / top, 1)
        values["best anchor"] = best
        for impl in ANCHOR_IMPLS:
            values[RATIO_LABELS[impl]] = (round(paired_ratio(stats[impl], stats[fast]), 2)
                                         if impl in stats else None)
        best_ratio = paired_ratio(stats[best], stats[fast])
        values[BEST] = round(best_ratio, 2)
        values["IQR %"] = round(100 * max((s.q3_ns - s.q1_ns) / s.median_ns
                                          for s in stats.values()))
        return {
            "section": SECTION, "name": shape.name, "table": "products", "dtype": dtype,
            "n": shape.macs, "unit": "MAC", "impl": "fastdnn", "groups": shape.groups,
            "values": values,
            "ratios": [{"label": BEST, "value": best_ratio, "numerator": best,
                        "denominator": fast, "detail": best,
                        "quantity": "fastdnn's speed-up over the fastest anchor: its time / "
                                    "fastdnn's"}],
            "legend": LEGEND,
            "shape": {"M": shape.M, "K": shape.K, "N": shape.N, "layout": shape.layout,
                      "flop": shape.flop},
            "fastdnn": fast, "peak_gflops": top,
            "timings": {impl: _stats_record(st) for impl, st in stats.items()},
            "params": {"warmup_ns": case.warmup_ns, "rounds": case.rounds,
                       "samples": samples, "ort_threads": self.ort_threads,
                       "direct_timed": DIRECT in stats, "check": check_record,
                       "targets": [t for g in shape.groups
                                   for t in for_case(SECTION, g, shape.macs)]},
        }


# ------------------------------------------------------------------ cases

def cases(cfg: Config) -> Iterator[Any]:
    """The FMA peak, then every shape of :func:`grid` in float32 and float64."""
    threads = fastdnn.get_num_threads()
    notes = []
    if cfg.torch is None:
        notes.append("torch skipped: not installed (its columns stay empty)")
    why = onnxruntime_missing()
    if why:
        notes.append(why + " (its columns stay empty; pip install onnx onnxruntime)")
    core = os.environ.get("OPENBLAS_CORETYPE")
    if core:
        notes.append(f"OPENBLAS_CORETYPE={core} is set: NumPy's OpenBLAS (not fastdnn) runs "
                     "that CPU's kernels, whatever this CPU could run")
    ort_threads = threads if threads != (os.cpu_count() or threads) else None
    yield PeakRecord(machine_peak(threads), threads, notes)
    peak = machine_peak(threads)
    try:
        for shape in grid(cfg):
            for dtype in DTYPES:
                yield GemmCase(shape, dtype, cfg, peak, not why, ort_threads)
    finally:
        AnchorWorker.close_all()

