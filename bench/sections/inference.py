"""Inference latency: ``predict`` of a trained dense network, float32.

Networks (ReLU hidden layers, softmax output, seeded He-like weights
``W ~ N(0, 2 / n_prev)``, small biases, inputs ``X ~ N(0, 1)``; every
implementation holds the same float32 weights):

* ``784-256-128-10 softmax`` -- an MNIST-sized classifier: one example
  (m = 1, the latency of a single request) and a batch of m = 1024;
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

Checks before timing (a mismatch is a failure of the run): every output
equals NumPy's within rtol 1e-4 (the harness's float32 tolerance) and is float32. Timing: one sample per
implementation per round, each after ``WARMUP_NS`` of untimed calls (thread pools of
the previous implementation asleep, caches warm: the weights, 0.9 MB for the
784 network, stay in the cache between calls as they would in a server
answering requests back to back). Thread settings per implementation are
switched only in that untimed warm-up (see ``dense.Threads``).

The target -- one example through ``[784, 256, 128, 10]`` with at least 5x
lower latency than PyTorch, i.e. ``torch/predict >= 5`` on the m = 1 row -- is
in ``bench/targets.py`` (and copied into the case's ``params["targets"]``).
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

PREDICT, KERNEL, NUMPY, TORCH, TORCH1 = (
    "fastdnn predict", "fastdnn kernel", "numpy", "torch", "torch 1 thread")
TORCH_VS_PREDICT = "torch/predict"


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


def implementations(net: Net, cfg: Config, threads: Threads) -> dict[str, Callable[[], Any]]:
    """The timed callables, each returning ``(m, n_out)`` outputs."""
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
    return impls


def make_case(net: Net, cfg: Config, threads: Threads) -> Case:
    threads.reset()
    impls = implementations(net, cfg, threads)
    ratios = []
    if TORCH in impls:
        ratios += [Ratio(TORCH_VS_PREDICT, TORCH, PREDICT), Ratio("torch/kernel", TORCH, KERNEL)]
    if TORCH1 in impls:
        ratios.append(Ratio("torch1/predict", TORCH1, PREDICT))
    ratios += [Ratio("numpy/predict", NUMPY, PREDICT), Ratio("predict/kernel", PREDICT, KERNEL)]
    params: dict[str, Any] = {
        "layers": list(net.dims), "m": net.m, "hidden": "relu", "output": "softmax",
        "n_params": sum(a * b + a for b, a in zip(net.dims[:-1], net.dims[1:])),
        "torch_threads": threads.torch_threads,
        "targets": for_case(SECTION, net.name, net.m),
        "check": {"reference": NUMPY, "rtol": 1e-4, "atol": 1e-6}}
    return Case(SECTION, net.name, np.dtype(DTYPE).name, net.m, impls, tuple(ratios),
                params=params, reference=NUMPY, warmup_ns=cfg.warmup(WARMUP_NS),
                rounds=cfg.samples)


def cases(cfg: Config) -> Iterator[Case]:
    """One case per network and m, in NETS order (``--smoke``: SMOKE_NETS; N is m);
    thread settings are back to the defaults after each case."""
    threads = Threads(cfg.torch)
    try:
        for net in (SMOKE_NETS if cfg.smoke else NETS):
            yield make_case(net, cfg, threads)
            threads.reset()
    finally:
        threads.reset()
