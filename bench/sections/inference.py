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
float32. Timing: every implementation runs in this process; one sample per
implementation per round, each after ``WARMUP_NS`` of untimed calls (the
thread pools of the previous implementation -- fastdnn's OpenMP team,
torch's, onnxruntime's -- asleep; caches warm: the weights, 0.9 MB for the
784 network, stay in the cache between calls as they would in a server
answering requests back to back). Thread settings per implementation are
switched only in that untimed warm-up (see ``dense.Threads``). onnxruntime's
pool leaves no trace past that warm-up: ``predict`` timed after onnxruntime's
calls and 0.1 s of its own is as fast as after 0.3 s of itself alone, and as
in a process that never loaded onnxruntime (within 5 %, either way), so it
needs no process of its own.

The ratios (``torch/predict``, ``ort/predict``, ...) are the other's time over
fastdnn's (> 1: fastdnn faster), the median over rounds of the ratio of the two
samples of a round (``_case.paired_ratio``). The targets, for
``[784, 256, 128, 10]``, are in ``bench/targets.py`` (and copied into the case's
``params["targets"]``): one example with at least 5x lower latency than PyTorch
(``torch/predict >= 5`` on the m = 1 row); ``predict`` at least 1.5x faster
than the onnxruntime session for one example (``ort/predict >= 1.5``, m = 1)
and at least 1.1x faster for batches of 32 and 1024 (``ort/predict >= 1.1``).
``--smoke`` runs the single-example cases only.
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


def torch_model(torch: Any, net: Net, params: list) -> Any:
    """The same network as ``nn.Sequential`` in eval mode."""
    nn = torch.nn
    layers: list[Any] = []
    for l, (W, b) in enumerate(params):
        lin = nn.Linear(W.shape[1], W.shape[0], dtype=torch.float32)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b.ravel()))
        layers.append(lin)
        layers.append(nn.ReLU() if l < len(params) - 1 else nn.Softmax(dim=1))
    return nn.Sequential(*layers).eval()


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


def ort_forward(onnx: Any, ort: Any, model: Sequential, X: np.ndarray
                ) -> Callable[[], np.ndarray]:
    """``sess.run(["Y"], {"X": X})[0]`` of a session of :func:`onnx_model` with the default
    ``SessionOptions`` and the CPU provider."""
    sess = ort.InferenceSession(onnx_model(onnx, model), ort.SessionOptions(),
                                providers=["CPUExecutionProvider"])
    run, outputs, feed = sess.run, ["Y"], {"X": X}

    def call() -> np.ndarray:
        return run(outputs, feed)[0]

    return call


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

    impls = {PREDICT: predict, KERNEL: kernel, NUMPY: numpy_forward}
    impls = {name: threads.wrap(fn) for name, fn in impls.items()}
    torch = cfg.torch
    if torch is not None:
        tmodel = torch_model(torch, net, params)
        x = torch.from_numpy(X)
        no_grad = torch.no_grad

        def torch_forward() -> np.ndarray:
            with no_grad():
                return tmodel(x).numpy()

        impls[TORCH] = threads.wrap(torch_forward)
        if threads.torch_threads != 1:
            impls[TORCH1] = threads.wrap(torch_forward, threads.torch_mode(1))
    if ort is not None:
        impls[ORT] = threads.wrap(ort_forward(*ort, model, X))
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


def cases(cfg: Config) -> Iterator[Case]:
    """One case per network and m, in NETS order (``--smoke``: SMOKE_NETS; N is m);
    thread settings are back to the defaults after each case. The first case carries
    the note saying onnxruntime is skipped, when it is."""
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
