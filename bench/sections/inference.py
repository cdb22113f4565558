"""Inference latency: ``predict`` of a trained dense network, float32.

Networks (ReLU hidden layers, softmax output, seeded He-like weights
``W ~ N(0, 2 / n_prev)``, small biases, inputs ``X ~ N(0, 1)``; every
implementation holds the same float32 weights):

* ``784-256-128-10 softmax`` -- an MNIST-sized classifier: one example
  (m = 1, the latency of a single request) and batches of m = 32 and 1024;
* ``digits 64-128-10 softmax`` -- the network of ``python -m fastdnn demo``
  (scikit-learn's 8x8 digits), one example.

Implementations, each given the input it would naturally hold, made once,
untimed:

* ``fastdnn predict`` -- ``model.predict(X)`` on the ``(m, n_x)`` C-ordered
  float32 rows: the public API with its Python checks (shape, dtype), the
  choice of chunk size and the cached compiled forward plan.
* ``fastdnn kernel`` -- that plan alone, ``model._inference_plan(m).run(X,
  out)`` into a preallocated ``out``: every layer in one nogil call. The ratio
  ``predict/kernel`` is what the public API's Python costs on top.
* ``numpy`` -- ``fastdnn.reference.network_forward`` (the plain NumPy course
  code, ``A = g(W @ A_prev + b)`` layer by layer) on the lecture's column
  layout ``X (n_x, m)`` (C-ordered copy of ``X.T``); its output is transposed
  (a view) for the comparison.
* ``torch`` (when installed) -- ``nn.Sequential(Linear, ReLU, Linear, ReLU,
  Linear, Softmax(dim=1))`` in ``eval()`` mode; each call is
  ``with torch.no_grad(): model(x).numpy()`` on a tensor ``x`` made once from
  ``X``; the thread count ``bench/run.py`` gave torch
  (``fastdnn.get_num_threads()``, 2 on a 2-core machine).
* ``torch 1 thread`` (when torch has more than one thread) -- the same with
  ``torch.set_num_threads(1)``: a single example cannot use a second thread,
  and on a 2-core machine whose other core is busy torch's intra-op threads
  wait on each other.
* ``onnxruntime`` (when onnx and onnxruntime are installed) -- an
  ``InferenceSession`` of the fastdnn model's own arrays as an ONNX graph
  (built with ``onnx.helper``, opset 13), as MLPs are deployed with it: per
  Dense layer ``Gemm(A, W, b, transB=1)`` on the layer's ``W (n_l, n_prev)``
  and flattened ``b``, then ``Relu`` (hidden layers) or ``Softmax(axis=-1)``
  (output); input ``X (m, n_x)`` with a symbolic m. Default CPU options: an
  untouched ``SessionOptions()`` (all graph optimisations; its own intra-op
  thread pool, as many threads as physical cores, whatever ``--threads``
  says) and ``providers=["CPUExecutionProvider"]``. Each call is
  ``sess.run(["Y"], {"X": X})[0]``, a new output array per call as
  ``predict`` returns. It is checked against ``predict`` too: max abs
  difference at most ``ORT_RTOL`` (1e-5) of max |predict|.

Checks before timing (a mismatch is a failure of the run): every output
equals NumPy's within rtol 1e-4 (the harness's float32 tolerance) and is
float32. Timing: fastdnn and NumPy run in this process, torch and onnxruntime
each in a worker process of its own (``_anchor_worker.py``, its ``"forward"``
recipe: the same arrays, the same calls as described above, never fastdnn in
that process), so that no library's thread pool spins on the cores while
another one is timed (in one process, ``predict`` at m = 32 took 118-132 µs
against 78-82 µs alone); one sample per implementation per round, each after
``WARMUP_NS`` of untimed calls (the thread pools of the previous
implementation asleep; caches warm: the weights, 0.9 MB for the 784 network,
stay in the cache between calls as they would in a server answering requests
back to back). Thread settings per implementation are switched only in that
untimed warm-up (see ``dense.Threads``; torch's in its worker).

The ratios (``torch/predict``, ``ort/predict``, ...) are the other's time over
fastdnn's (> 1: fastdnn faster), the median over rounds of the ratio of the two
samples of a round (``_case.paired_ratio``). The targets, for
``[784, 256, 128, 10]``, are in ``bench/targets.py`` (and copied into the case's
``params["targets"]``): one example with at least 5x lower latency than PyTorch
(``torch/predict >= 5`` on the m = 1 row); ``predict`` at least 1.5x faster
than the onnxruntime session for one example (``ort/predict >= 1.5``, m = 1)
and at least 1.1x faster for batches of 32 and 1024 (``ort/predict >= 1.1``).
``--smoke`` runs the single-example cases only.

fastdnn after another runtime in the same process (``784-256-128-10 softmax, torch
imported first`` and ``..., onnxruntime imported first``; :func:`interference_case`).
PyTorch brings its own OpenMP runtime and thread pool, ONNX Runtime its own intra-op
pool; fastdnn's products and element-wise kernels share one GNU OpenMP team. This case
times fastdnn's calls in *fresh* processes (``sys.executable``, the same fastdnn), each
of which imports only the standard library before its variant's first import:

* ``alone`` -- NumPy and fastdnn only (the baseline);
* ``torch`` -- ``import torch`` first, then 20 times a 256x256 ``a @ a`` and an
  ``nn.Linear(784, 256)`` forward of 32 rows under ``no_grad`` (its pool started,
  torch's default thread count), then fastdnn;
* ``onnxruntime`` (needs onnx in this process, to build the graph) -- ``import
  onnxruntime`` first, a session of this section's ONNX graph of the same network
  (default ``SessionOptions``, CPU provider), 20 runs on 32 rows, then fastdnn.

The other library's objects stay alive while fastdnn is timed. With torch first, the
``libgomp.so.1`` torch bundles is already loaded, so fastdnn's kernels run on that
runtime (keeping its spin setting) rather than loading their own; a note says so when a
worker's mapped libgomp differs from the baseline's. Each worker builds the
``[784, 256, 128, 10]`` network from this section's seeded weights (``make_params``),
``compile(optimizer="adam", loss="categorical_crossentropy")``, and times
``model.predict(X)`` at m = 1024 and 32, then ``model.fit(X, y, epochs=1,
batch_size=128, verbose=0, shuffle=False)`` on 1024 rows (8 steps of the compiled loop;
integer labels; training goes on from call to call): per call, an untimed first call,
``WARMUP_NS`` of untimed calls, then the run's sample count of samples of at least its
minimum sample time, GC off; the median. It checks its output: predict (dtype, shape,
first rows, sum) equals this process's within ``INTERFERE_RTOL``, fit ran the compiled
loop, and the first epoch's loss equals the ``alone`` worker's (a mismatch is a failure,
as is a worker that fails). It prints its result as JSON on stdout.

The workers run in ``INTERFERE_ROUNDS`` (3) rounds of one process per variant, the order
rotated each round, so the machine's drift hits all alike. Reported per timed call (one
record per variant case and call; a table per case): ``alone µs`` and ``torch-first µs``
/ ``ort-first µs``, the medians over rounds of the workers' medians, and the ratio
``torch-first/alone`` (``ort-first/alone``): the median over rounds of the round's time
ratio (> 1: fastdnn slower after the other runtime), its per-round values next to it.
Target (``bench/targets.py``): at most 1.15 for predict (both m) and the fit epoch, i.e.
within 15 % of the time alone. torch or onnx/onnxruntime missing: that variant is skipped
with a note (its rows keep the alone times; its target is shown as skipped).
``--smoke``: one round, predict at m = 32 only, a fit epoch of 256 rows (2 steps), one
sample, no warm-up. On a 2-core machine that other processes keep busy, the times of
small calls depend on whether the OpenMP threads spin or sleep between parallel regions,
so both the times and the ratios vary with the load; the samples are spread over rounds,
but they do not make a busy machine quiet. A note gives the 1-min load averages the
workers saw (also ``params["worker_loadavg_1min"]``); each record's ``raw`` keeps every
worker's timing statistics with its libgomp, thread count, CPU affinity and load.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from fastdnn import reference
from fastdnn.layers import Dense, Input
from fastdnn.models import Sequential
from _case import Case, Config, Ratio
from targets import for_case

from ._anchor_worker import AnchorWorker, RemoteCall

from .dense import Threads

SECTION = "inference"
DTYPE = np.float32
SEED = 0
WARMUP_NS = 100_000_000

PREDICT, KERNEL, NUMPY, TORCH, TORCH1, ORT = (
    "fastdnn predict", "fastdnn kernel", "numpy", "torch", "torch 1 thread", "onnxruntime")
TORCH_VS_PREDICT, ORT_VS_PREDICT = "torch/predict", "ort/predict"
ORT_RTOL = 1e-5      # max |onnxruntime - predict| / max |predict|
ONNX_OPSET = 13      # Softmax(axis=-1) over the last axis alone from opset 13
ONNX_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
                    "linear": None}


@dataclass(frozen=True)
class Net:
    """A network and the number of examples m per call."""

    label: str
    dims: tuple[int, ...]
    m: int

    @property
    def name(self) -> str:
        return (f"{self.label} " if self.label else "") + "-".join(map(str, self.dims)) \
            + " softmax"

    @property
    def activations(self) -> list[str]:
        return ["relu"] * (len(self.dims) - 2) + ["softmax"]


NETS = (Net("", (784, 256, 128, 10), 1),
        Net("", (784, 256, 128, 10), 32),
        Net("", (784, 256, 128, 10), 1024),
        Net("digits", (64, 128, 10), 1))
SMOKE_NETS = tuple(net for net in NETS if net.m == 1)


def make_params(net: Net) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Seeded ``[(W, b), ...]`` (``W (n_l, n_prev)``, ``b (n_l, 1)``) and ``X (m, n_x)``."""
    rng = np.random.default_rng(SEED)
    dims = net.dims
    params = [((rng.standard_normal((n, p)) * np.sqrt(2.0 / p)).astype(DTYPE),
               (0.01 * rng.standard_normal((n, 1))).astype(DTYPE))
              for p, n in zip(dims[:-1], dims[1:])]
    X = rng.standard_normal((net.m, dims[0])).astype(DTYPE)
    return params, X


def fastdnn_model(net: Net, params: list) -> Sequential:
    """A built fastdnn model holding ``params``."""
    layers = [Input(net.dims[0])] + [Dense(n, activation=a)
                                     for n, a in zip(net.dims[1:], net.activations)]
    model = Sequential(layers, dtype=DTYPE, seed=SEED)
    model.build()
    model.set_weights([a for Wb in params for a in Wb])
    return model


def load_onnxruntime() -> tuple[Any, Any, str]:
    """``(onnx, onnxruntime, "")``, or ``(None, None, why)`` when either is missing."""
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        return None, None, f"onnxruntime skipped: {exc}"
    return onnx, onnxruntime, ""


def onnx_nodes(onnx: Any, layer: Dense, l: int, x: str, y: str) -> tuple[list, list]:
    """The nodes and initializers of Dense layer ``l`` from ``x`` to ``y``: ``Gemm(x, W, b,
    transB=1)`` on the layer's own ``W (n_out, n_in)`` and ``b``, then its activation."""
    helper = onnx.helper
    act = layer.activation.name
    if act not in ONNX_ACTIVATIONS:
        raise ValueError(f"no ONNX node for the activation {act!r}")
    op = ONNX_ACTIVATIONS[act]
    z = y if op is None else f"Z{l}"
    inits = [onnx.numpy_helper.from_array(layer.W, f"W{l}"),
             onnx.numpy_helper.from_array(layer.b.ravel(), f"b{l}")]
    nodes = [helper.make_node("Gemm", [x, f"W{l}", f"b{l}"], [z], transB=1)]
    if op is not None:
        nodes.append(helper.make_node(op, [z], [y], **({"axis": -1} if act == "softmax" else {})))
    return nodes, inits


def onnx_model(onnx: Any, model: Sequential) -> bytes:
    """``model``'s Dense layers as a serialized ONNX graph ``X (m, n_x) -> Y (m, n_out)``,
    m symbolic, float32."""
    helper, elem = onnx.helper, onnx.TensorProto.FLOAT
    layers = [layer for layer in model.layers if isinstance(layer, Dense)]
    nodes, inits = [], []
    for l, layer in enumerate(layers):
        x = "X" if l == 0 else f"A{l - 1}"
        y = "Y" if l == len(layers) - 1 else f"A{l}"
        more_nodes, more_inits = onnx_nodes(onnx, layer, l, x, y)
        nodes += more_nodes
        inits += more_inits
    graph = helper.make_graph(
        nodes, "dense", [helper.make_tensor_value_info("X", elem, ["m", layers[0].W.shape[1]])],
        [helper.make_tensor_value_info("Y", elem, ["m", layers[-1].units])], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    proto.ir_version = 8        # read by every onnxruntime of the last years
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def implementations(net: Net, cfg: Config, threads: Threads, ort: tuple[Any, Any] | None
                    ) -> dict[str, Callable[[], Any]]:
    """The timed callables, each returning ``(m, n_out)`` outputs (``ort``: ``(onnx,
    onnxruntime)``, or None to leave onnxruntime out)."""
    params, X = make_params(net)
    model = fastdnn_model(net, params)
    plan = model._inference_plan(net.m)
    out = np.empty((net.m, net.dims[-1]), dtype=DTYPE)
    X_col = np.ascontiguousarray(X.T)          # the lecture's (n_x, m)
    acts = net.activations

    def predict() -> np.ndarray:
        return model.predict(X)

    def kernel() -> np.ndarray:
        plan.run(X, out)
        return out

    def numpy_forward() -> np.ndarray:
        return reference.network_forward(X_col, params, acts)[-1].T

    impls: dict[str, Callable[[], Any]] = {PREDICT: predict, KERNEL: kernel,
                                           NUMPY: numpy_forward}
    impls = {name: threads.wrap(fn) for name, fn in impls.items()}
    if cfg.torch is not None:
        impls[TORCH] = RemoteCall("torch", "forward", (params, X), threads.torch_threads)
        if threads.torch_threads != 1:
            impls[TORCH1] = RemoteCall("torch", "forward", (params, X), 1)
    if ort is not None:
        impls[ORT] = RemoteCall("onnxruntime", "forward", (onnx_model(ort[0], model), X))
    return impls


def check_ort(impls: dict[str, Callable[[], Any]]) -> list[str]:
    """onnxruntime's output against predict's: ``max |ort - predict| <= ORT_RTOL max |predict|``."""
    if ORT not in impls:
        return []
    expected = np.asarray(impls[PREDICT](), dtype=np.float64)
    got = np.asarray(impls[ORT](), dtype=np.float64)
    if got.shape != expected.shape:
        return [f"{ORT} returns shape {got.shape}, {PREDICT} {expected.shape}"]
    err = float(np.max(np.abs(got - expected))) / float(np.max(np.abs(expected)))
    if not err <= ORT_RTOL:     # NaN fails too
        return [f"{ORT} differs from {PREDICT}: max abs diff {err:.3g} of max |predict| "
                f"> {ORT_RTOL:g}"]
    return []


def make_case(net: Net, cfg: Config, threads: Threads, ort: tuple[Any, Any] | None,
              notes: list[str]) -> Case:
    threads.reset()
    impls = implementations(net, cfg, threads, ort)
    ratios = []
    if TORCH in impls:
        ratios += [Ratio(TORCH_VS_PREDICT, TORCH, PREDICT), Ratio("torch/kernel", TORCH, KERNEL)]
    if TORCH1 in impls:
        ratios.append(Ratio("torch1/predict", TORCH1, PREDICT))
    if ORT in impls:
        ratios.append(Ratio(ORT_VS_PREDICT, ORT, PREDICT))
    ratios += [Ratio("numpy/predict", NUMPY, PREDICT), Ratio("predict/kernel", PREDICT, KERNEL)]
    params: dict[str, Any] = {
        "layers": list(net.dims), "m": net.m, "hidden": "relu", "output": "softmax",
        "n_params": sum(a * b + a for b, a in zip(net.dims[:-1], net.dims[1:])),
        "torch_threads": threads.torch_threads,
        "onnxruntime": None if ort is None else ort[1].__version__,
        "targets": for_case(SECTION, net.name, net.m),
        "check": {"reference": NUMPY, "rtol": 1e-4, "atol": 1e-6, "ort_vs_predict": ORT_RTOL}}
    return Case(SECTION, net.name, np.dtype(DTYPE).name, net.m, impls, tuple(ratios),
                params=params, reference=NUMPY, check=lambda: check_ort(impls),
                warmup_ns=cfg.warmup(WARMUP_NS), rounds=cfg.samples, notes=list(notes))


def cases(cfg: Config) -> Iterator[Case | InterferenceCase]:
    """One case per network and m, in NETS order (``--smoke``: SMOKE_NETS; N is m);
    thread settings are back to the defaults after each case. The first case carries
    the note saying onnxruntime is skipped, when it is. Last, the fresh-process case of
    fastdnn after torch / onnxruntime (:func:`interference_case`)."""
    onnx, ort, why = load_onnxruntime()
    notes = [why + " (its column stays empty; pip install onnx onnxruntime)"] if why else []
    threads = Threads(cfg.torch)
    try:
        for net in (SMOKE_NETS if cfg.smoke else NETS):
            yield make_case(net, cfg, threads, None if onnx is None else (onnx, ort), notes)
            notes = []
            threads.reset()
    finally:
        threads.reset()
        AnchorWorker.close_all()
    yield interference_case(cfg)


# ====================================== fastdnn after torch / onnxruntime in one process
# Each variant runs in a fresh interpreter: what it imports first (torch, onnxruntime) and
# the thread pools that brings stay in that process, as in a user's program. The worker
# (_interference_worker) is sent to the subprocess as source, so that it imports nothing
# before its variant's package: not this module (which imports fastdnn), nor NumPy.

ALONE, TORCH_FIRST, ORT_FIRST = "alone", "torch", "onnxruntime"
INTERFERE_DIMS = (784, 256, 128, 10)
INTERFERE_M, SMOKE_INTERFERE_M = (1024, 32), (32,)        # predict batches
FIT_ROWS, SMOKE_FIT_ROWS, FIT_BATCH = 1024, 256, 128       # one epoch: FIT_ROWS / FIT_BATCH steps
INTERFERE_ROUNDS, SMOKE_INTERFERE_ROUNDS = 3, 1            # processes per variant
PRELUDE_CALLS = 20           # torch ops / onnxruntime runs before fastdnn is imported
INTERFERE_RTOL = 1e-4        # worker's predict vs ours; first-epoch loss vs the alone worker's
WORKER_TIMEOUT_S = 600
_NET = "-".join(map(str, INTERFERE_DIMS)) + " softmax"


@dataclass(frozen=True)
class Variant:
    """A worker that imports and uses ``key`` (a package) before fastdnn."""

    key: str
    case: str        # the case name of its records
    short: str       # ratio label ``<short>-first/alone``

    @property
    def label(self) -> str:
        return f"{self.short}-first/alone"

    @property
    def column(self) -> str:
        return f"{self.short}-first µs"


VARIANTS = {TORCH_FIRST: Variant(TORCH_FIRST, f"{_NET}, torch imported first", "torch"),
            ORT_FIRST: Variant(ORT_FIRST, f"{_NET}, onnxruntime imported first", "ort")}


def _interference_worker(spec):
    """Runs in a fresh interpreter (see ``_worker_source``): imports and uses
    ``spec["variant"]``'s package first, then fastdnn, and times fastdnn's ``predict`` per
    batch and one ``fit`` epoch. Returns a JSON-ready dict."""
    import gc
    import os
    import statistics
    import time

    out = {"variant": spec["variant"]}
    keep = []        # the other library's objects stay alive, as in a user's program
    t0 = time.perf_counter()
    if spec["variant"] == "torch":
        import torch

        a = torch.randn(256, 256)
        lin = torch.nn.Linear(spec["dims"][0], spec["dims"][1])
        x = torch.randn(32, spec["dims"][0])
        with torch.no_grad():
            for _ in range(spec["prelude_calls"]):
                c = a @ a
                y = lin(x)
        keep += [a, lin, x, c, y]
        out["other"] = {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    elif spec["variant"] == "onnxruntime":
        import numpy as np
        import onnxruntime as ort

        sess = ort.InferenceSession(spec["onnx"], ort.SessionOptions(),
                                    providers=["CPUExecutionProvider"])
        x = np.random.default_rng(1).standard_normal((32, spec["dims"][0])).astype(np.float32)
        for _ in range(spec["prelude_calls"]):
            y = sess.run(["Y"], {"X": x})[0]
        keep += [sess, x, y]
        out["other"] = {"onnxruntime": ort.__version__}
    out["prelude_s"] = time.perf_counter() - t0

    import numpy as np

    import fastdnn
    from fastdnn.layers import Dense, Input
    from fastdnn.models import Sequential

    if spec["threads"] and spec["threads"] != fastdnn.get_num_threads():
        fastdnn.set_num_threads(spec["threads"])
    dims = spec["dims"]
    with np.load(spec["data"]) as d:
        X, y = d["X"], d["y"]
        weights = [d[f"a{i}"] for i in range(2 * (len(dims) - 1))]
    model = Sequential([Input(dims[0])] + [Dense(n, activation="relu") for n in dims[1:-1]]
                       + [Dense(dims[-1], activation="softmax")], dtype="float32", seed=0)
    model.build()
    model.set_weights(weights)
    model.compile(optimizer="adam", loss="categorical_crossentropy")

    def sample(fn, number):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        return (time.perf_counter_ns() - start) / number

    def timed(fn):
        """Median of spec["samples"] per-call times, each sample >= min_ns, after warm-up."""
        fn()                                   # plans compiled, buffers made
        end = time.perf_counter_ns() + spec["warmup_ns"]
        while time.perf_counter_ns() < end:
            fn()
        number = max(1, -(-spec["min_ns"] // max(1, int(sample(fn, 1)))))
        gc.collect()
        gc.disable()
        try:
            times = [sample(fn, number) for _ in range(spec["samples"])]
        finally:
            gc.enable()
        q1, _, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else (times[0],) * 3
        return {"median_ns": statistics.median(times), "min_ns": min(times), "q1_ns": q1,
                "q3_ns": q3, "number": number, "sample_ns": [round(t, 1) for t in times]}

    out["predict"], out["check"] = {}, {}
    for m in spec["m"]:
        Xm = np.ascontiguousarray(X[:m])
        P = model.predict(Xm)
        out["check"][str(m)] = {"dtype": str(P.dtype), "shape": list(P.shape),
                                "rows": P[:2].astype(float).tolist(),
                                "sum": float(P.sum(dtype=np.float64))}
        out["predict"][str(m)] = timed(lambda: model.predict(Xm))
    Xf, yf = np.ascontiguousarray(X[:spec["fit_rows"]]), y[:spec["fit_rows"]]
    first = model.fit(Xf, yf, epochs=1, batch_size=spec["fit_batch"], verbose=0, shuffle=False)
    out["check"]["fit"] = {"loss": float(first.history["loss"][0]),
                           "engine": getattr(first, "engine", None)}
    out["fit"] = timed(lambda: model.fit(Xf, yf, epochs=1, batch_size=spec["fit_batch"],
                                         verbose=0, shuffle=False))
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            out["libgomp"] = sorted({line.split()[-1] for line in f if "libgomp" in line})
    except OSError:
        out["libgomp"] = None
    out["fastdnn"] = {"threads": fastdnn.get_num_threads(),
                      "openmp_spin": fastdnn.info()["decisions"].get("openmp_spin")}
    out["affinity"] = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else None
    out["loadavg"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    del keep
    return out


def _worker_source() -> str:
    """The program a worker runs: :func:`_interference_worker`'s source, then a call on the
    JSON spec in ``argv[1]`` whose result is printed as the last line of stdout."""
    import inspect
    import textwrap

    return (textwrap.dedent(inspect.getsource(_interference_worker))
            + "\nimport json, sys\n"
              "print(json.dumps(_interference_worker(json.loads(sys.argv[1]))), flush=True)\n")


def run_interference_worker(spec: dict, cwd: str) -> tuple[dict | None, str | None]:
    """Run a worker in a fresh interpreter; its result, or None and why not."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    import fastdnn

    env = dict(os.environ)
    root = str(Path(fastdnn.__file__).resolve().parent.parent)    # the same fastdnn as ours
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    try:
        proc = subprocess.run([sys.executable, "-c", _worker_source(), json.dumps(spec)],
                              cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=WORKER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"{spec['variant']}: the worker took more than {WORKER_TIMEOUT_S} s"
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return None, f"{spec['variant']}: the worker failed (exit {proc.returncode}): {tail}"
    try:
        return json.loads(lines[-1]), None
    except ValueError:
        return None, f"{spec['variant']}: the worker printed no JSON: {lines[-1][:200]!r}"


@dataclass
class InterferenceCase:
    """fastdnn's predict and fit epoch timed in fresh processes, alone and after another
    runtime was imported and used (measured by the section: ``measure()``, see
    ``bench/run.py``); its records carry two case names, one per variant."""

    section: str
    name: str
    dtype: str
    n: int
    measure: Callable[[], tuple[list[dict], list[str], list[str]]]
    params: dict[str, Any]


def _pairs(results: dict[str, list[dict | None]], variant: str, op: Callable[[dict], dict]
           ) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """Per round: the alone worker's median, the variant's, their ratio (None where a worker
    failed)."""
    alone, other, ratios = [], [], []
    for a, v in zip(results[ALONE], results[variant]):
        ta = None if a is None else op(a)["median_ns"]
        tv = None if v is None else op(v)["median_ns"]
        alone.append(ta)
        other.append(tv)
        ratios.append(None if ta is None or tv is None else tv / ta)
    return alone, other, ratios


def _median(values: list[float | None]) -> float | None:
    import statistics

    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def _check_worker(r: dict, expected: dict[int, np.ndarray], alone_loss: float | None
                  ) -> list[str]:
    """The worker's predict against ours (dtype, shape, first rows, sum), its fit engine and
    first-epoch loss against the alone worker's."""
    failures = []
    who = f"{r['variant']} worker"
    for m, P in expected.items():
        got = r["check"][str(m)]
        if got["dtype"] != "float32" or got["shape"] != list(P.shape):
            failures.append(f"{who}: predict at m={m} returns {got['dtype']} {got['shape']}")
            continue
        scale = float(np.max(np.abs(P)))
        err = float(np.max(np.abs(np.asarray(got["rows"]) - P[:2])))
        if not (err <= INTERFERE_RTOL * scale
                and abs(got["sum"] - float(P.sum(dtype=np.float64))) <= INTERFERE_RTOL * P.size):
            failures.append(f"{who}: predict at m={m} differs from this process's")
    fit = r["check"]["fit"]
    if fit["engine"] not in (None, "compiled"):
        failures.append(f"{who}: fit ran the {fit['engine']!r} engine, not the compiled loop")
    if alone_loss is not None and not abs(fit["loss"] - alone_loss) <= INTERFERE_RTOL * max(
            1.0, abs(alone_loss)):
        failures.append(f"{who}: first-epoch loss {fit['loss']:.6g}, alone {alone_loss:.6g}")
    return failures


INTERFERE_LEGEND = (
    "'<x> imported first': fastdnn's calls timed in fresh processes, 'alone' (NumPy and "
    "fastdnn only) and after importing and using torch (a 256x256 matmul and an "
    "nn.Linear(784, 256) forward, 20 times) or onnxruntime (an InferenceSession of the same "
    "network, default options, 20 runs on 32 rows) first, those objects kept alive; "
    "processes in rounds (alone, torch, ort, order rotated per round). µs: per call (fit "
    "epoch: a whole fit(epochs=1) call), median over rounds of each process's median; "
    "<x>-first/alone: median over rounds of the round's time ratio (<= 1.15: the target); "
    "per round: those ratios.")


def interference_case(cfg: Config) -> InterferenceCase:
    """The case family "<net>, torch imported first" / "..., onnxruntime imported first" (see
    the module doc). Nothing runs until ``measure()``."""
    import fastdnn

    onnx, ort, ort_why = load_onnxruntime()
    variants = [ALONE]
    skipped = []
    if cfg.torch is not None:
        variants.append(TORCH_FIRST)
    else:
        skipped.append(f"{VARIANTS[TORCH_FIRST].case}: skipped, torch not installed")
    if onnx is not None:
        variants.append(ORT_FIRST)
    else:
        skipped.append(f"{VARIANTS[ORT_FIRST].case}: skipped ({ort_why})")
    ms = SMOKE_INTERFERE_M if cfg.smoke else INTERFERE_M
    fit_rows = SMOKE_FIT_ROWS if cfg.smoke else FIT_ROWS
    rounds = SMOKE_INTERFERE_ROUNDS if cfg.smoke else INTERFERE_ROUNDS
    params: dict[str, Any] = {
        "layers": list(INTERFERE_DIMS), "hidden": "relu", "output": "softmax",
        "predict_m": list(ms), "fit_rows": fit_rows, "fit_batch": FIT_BATCH,
        "fit_steps": -(-fit_rows // FIT_BATCH), "optimizer": "adam",
        "loss": "categorical_crossentropy", "rounds": rounds, "variants": variants,
        "samples": cfg.samples, "min_sample_ns": cfg.target_ns,
        "warmup_ns": cfg.warmup(WARMUP_NS), "prelude_calls": PRELUDE_CALLS,
        "threads": fastdnn.get_num_threads()}

    def measure() -> tuple[list[dict], list[str], list[str]]:
        import sys
        import tempfile
        from pathlib import Path

        notes, failures = list(skipped), []
        net = Net("", INTERFERE_DIMS, max(max(ms), fit_rows))
        wb, X = make_params(net)
        model = fastdnn_model(net, wb)
        y = np.random.default_rng(SEED + 1).integers(0, INTERFERE_DIMS[-1], X.shape[0])
        expected = {m: model.predict(np.ascontiguousarray(X[:m])) for m in ms}
        results: dict[str, list[dict | None]] = {v: [] for v in variants}
        with tempfile.TemporaryDirectory(prefix="fastdnn-bench-inference-") as tmpdir:
            tmp = Path(tmpdir)
            arrays = {f"a{i}": a for i, a in enumerate(a for pair in wb for a in pair)}
            np.savez(tmp / "net.npz", X=X, y=y, **arrays)
            if onnx is not None:
                (tmp / "net.onnx").write_bytes(onnx_model(onnx, model))
            spec = {"dims": list(INTERFERE_DIMS), "data": str(tmp / "net.npz"),
                    "onnx": str(tmp / "net.onnx"), "m": list(ms), "fit_rows": fit_rows,
                    "fit_batch": FIT_BATCH, "samples": cfg.samples, "min_ns": cfg.target_ns,
                    "warmup_ns": params["warmup_ns"], "prelude_calls": PRELUDE_CALLS,
                    "threads": params["threads"]}
            for r in range(rounds):
                for v in variants[r % len(variants):] + variants[:r % len(variants)]:
                    print(f"[{SECTION}] {_NET}: round {r + 1}/{rounds}, {v} "
                          f"{'(fastdnn only)' if v == ALONE else 'imported first'} in a fresh "
                          "process ...", file=sys.stderr, flush=True)
                    out, why = run_interference_worker({**spec, "variant": v}, tmpdir)
                    if why:
                        failures.append(why)
                    results[v].append(out)
        loads = [r["loadavg"][0] for rs in results.values() for r in rs
                 if r and r.get("loadavg")]
        if loads:
            import os

            params["worker_loadavg_1min"] = [min(loads), max(loads)]
            notes.append(f"1-min load average seen by the workers: {min(loads):.2f} to "
                         f"{max(loads):.2f} on {os.cpu_count()} cores (the workers' own load "
                         "included); other processes' load changes these times, alone too")
        alone_loss = next((r["check"]["fit"]["loss"] for r in results[ALONE] if r), None)
        for v in variants:
            for out in results[v]:
                if out is not None:
                    failures += _check_worker(out, expected, alone_loss)
        return _records(results, variants, ms, fit_rows, params, notes), notes, failures

    return InterferenceCase(SECTION, f"{_NET}, other runtime imported first", "float32",
                            max(ms), measure, params)


def _worker_info(r: dict) -> dict:
    """What a worker reports about its process: the other library's version and thread
    count, the seconds its import and use took, the libgomp mapped, fastdnn's threads and
    spin setting, the CPU affinity and the load average."""
    return {k: r[k] for k in ("other", "prelude_s", "libgomp", "fastdnn", "affinity", "loadavg")
            if k in r}


def _records(results: dict[str, list[dict | None]], variants: list[str], ms: tuple[int, ...],
             fit_rows: int, params: dict, notes: list[str]) -> list[dict]:
    """One record per variant case and timed call (predict per m, the fit epoch): the
    times alone and after the other runtime, their ratio (a measured ratio the targets
    read); a variant that was skipped keeps its rows, with the alone times only. Appends a
    summary note per variant to ``notes``."""
    steps = params["fit_steps"]
    ops: list[tuple[str, int, str, Callable[[dict], dict]]] = [
        ("fastdnn predict", m, f"predict(X), m={m}", lambda r, m=m: r["predict"][str(m)])
        for m in ms]
    ops.append(("fastdnn fit epoch", fit_rows,
                f"fit(epochs=1, batch_size={FIT_BATCH}): {steps} steps", lambda r: r["fit"]))
    records = []
    for key, var in VARIANTS.items():
        ran = key in variants
        summary = []
        for impl, n, timed, op in ops:
            alone = [None if r is None else op(r)["median_ns"] for r in results[ALONE]]
            other, ratios = [None] * len(alone), [None] * len(alone)
            if ran:
                alone, other, ratios = _pairs(results, key, op)
            ratio = _median(ratios)
            med_alone, med_other = _median(alone), _median(other)
            values = {"timed": timed,
                      "alone µs": None if med_alone is None else round(med_alone / 1e3, 1),
                      var.column: None if med_other is None else round(med_other / 1e3, 1),
                      var.label: None if ratio is None else round(ratio, 3),
                      "per round": " ".join("-" if q is None else f"{q:.3f}" for q in ratios)
                      if ran else ""}
            rec_ratios = []
            if ratio is not None:
                rec_ratios.append({
                    "label": var.label, "numerator": f"{var.short}-first", "denominator": ALONE,
                    "value": ratio, "per_round": ratios,
                    "ratio_of_medians": med_other / med_alone,
                    "quantity": f"fastdnn's time after {key} was imported and used / alone"})
                summary.append(f"{timed.split(':')[0]} {ratio:.3f}")
            records.append({
                "section": SECTION, "name": var.case, "dtype": "float32", "n": n,
                "impl": impl, "unit": "example", "values": values, "ratios": rec_ratios,
                "raw": {v: [None if r is None else {**op(r), "worker": _worker_info(r)}
                            for r in results.get(v, [])] for v in (ALONE, key)},
                "params": {**params, "timed": timed,
                           "targets": for_case(SECTION, var.case, n)},
                "legend": INTERFERE_LEGEND})
        if summary:
            worst = max(float(s.rsplit(" ", 1)[1]) for s in summary)
            bounds = " ".join(f"{t['op']} {t['bound']:g}" for t in for_case(SECTION, var.case,
                                                                            ops[0][1]))
            notes.append(f"fastdnn after {key} was imported and used in the same process, time "
                         f"over alone (target {bounds or 'none'}): " + ", ".join(summary)
                         + f"; worst {worst:.3f}")
        own = {tuple(r.get("libgomp") or ()) for r in results[ALONE] if r}
        gomp = {tuple(r.get("libgomp") or ()) for r in results.get(key, []) if r}
        if ran and len(own) == len(gomp) == 1 and gomp != own and len(next(iter(gomp))) == 1:
            notes.append(f"with {key} imported first, fastdnn's kernels run on the libgomp "
                         f"{key} loaded ({next(iter(gomp))[0]}), not on "
                         f"{', '.join(next(iter(own)))}: one OpenMP runtime for both, which "
                         "keeps its own spin setting (fastdnn's GOMP_SPINCOUNT applies only to "
                         "a libgomp it loads itself)")
    return records
