"""One training step of a dense network: forward, backward and a GD update, float32.

For each network (layer sizes ``[n_x, n_1, ..., n_L]``, batch of m columns)
a step is timed in these implementations, all starting from the same seeded
He-initialised float32 parameters and the same data ``X (n_x, m)``, ``Y``:

* ``numpy`` -- the course's NumPy code (below): caches of ``Z``, ReLU hidden
  layers, sigmoid output (``Y`` 0/1) or softmax output (``Y`` one-hot), both
  with ``dZ = AL - Y``; ``W = W - lr * dW`` makes new arrays.
* ``fastdnn.course`` -- ``L_model_forward``, ``L_model_backward``,
  ``update_parameters`` (sigmoid-output networks only, as in the course).
* ``fastdnn.functional`` -- ``dense_forward`` per layer,
  ``dense_output_backward`` / ``dense_backward``, ``sgd_update(out=W)`` in place.
* ``gemm only`` (largest network) -- just the GEMMs a step needs, by
  ``scipy.linalg.blas.sgemm`` (the BLAS fastdnn calls) into preallocated
  outputs: ``fastdnn/gemm`` close to 1 means the rest of fastdnn's step is cheap.
* ``torch`` -- ``nn.Sequential`` of ``Linear`` + ``ReLU``, ``BCEWithLogitsLoss``
  or ``CrossEntropyLoss``, ``optim.SGD``, when torch is installed.

Each implementation owns its parameters, so every timed call is one more step
(lr = 1e-3 keeps them sane). Samples are taken in 3 rounds per implementation,
each after 0.2 s of untimed steps (see ``WARMUP_NS``), not one by one.

Checks before timing: the harness compares the W1 each implementation returns
after its first step with NumPy's (and its dtype); :func:`check_step` runs one
more step from the start on fresh copies with lr = 1, where the update is not
lost in the rounding of W, and compares every ``W[l]`` and ``b[l]`` update with
NumPy's (max abs difference relative to the largest NumPy update, at most
1e-4; the worst is kept in the case's ``params``) and checks that NumPy stays
float32 throughout.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
from scipy.linalg.blas import sgemm

import fastdnn
from fastdnn import course
from fastdnn import functional as F
from _case import Case, Config, Ratio

SECTION = "dense"
DTYPE = np.float32
SEED = 0
LR = 1e-3            # learning rate of the timed steps
CHECK_LR = 1.0       # learning rate of the checked step (a visible update)
CHECK_RTOL = 1e-4    # max |update - numpy's| / max |numpy's update|, float32
# Untimed calls before each run of samples: NumPy's and SciPy's OpenBLAS (two
# libraries, two thread pools) keep their workers spinning ~2**28 cycles
# (~0.1 s) after a GEMM, which would slow the next implementation down 2-3x.
WARMUP_NS = 200_000_000


@dataclass(frozen=True)
class Net:
    """A network to train: layer sizes, batch size and output activation."""

    dims: tuple[int, ...]
    m: int
    gemm_only: bool = False     # also time the bare GEMMs of a step

    @property
    def output(self) -> str:
        """Sigmoid for one output unit (0/1 labels), softmax for more (one-hot)."""
        return "sigmoid" if self.dims[-1] == 1 else "softmax"

    @property
    def name(self) -> str:
        return "-".join(map(str, self.dims)) + f" {self.output}"

    @property
    def gemm_flop(self) -> int:
        """Floating-point operations of the step's GEMMs (no dA_prev for layer 1)."""
        fwd = sum(2 * a * b * self.m for a, b in zip(self.dims[:-1], self.dims[1:]))
        first = 2 * self.dims[0] * self.dims[1] * self.m
        return 3 * fwd - first


NETS = (Net((2, 3, 5, 4, 2, 1), 64), Net((30, 16, 8, 1), 256),
        Net((784, 256, 128, 10), 128), Net((1024, 2048, 2048, 1024), 512, gemm_only=True))


# ------------------------------------------------------------ shared start

@dataclass(frozen=True)
class Start:
    """Parameters and data every implementation starts from (never modified)."""

    W: tuple[np.ndarray, ...]
    b: tuple[np.ndarray, ...]
    X: np.ndarray
    Y: np.ndarray


def make_start(net: Net) -> Start:
    """Seeded He-like ``W ~ N(0, 2 / n_prev)``, small ``b``, ``X ~ N(0, 1)``, random labels."""
    rng = np.random.default_rng(SEED)
    dims = net.dims
    W = tuple((rng.standard_normal((n, p)) * np.sqrt(2.0 / p)).astype(DTYPE)
              for p, n in zip(dims[:-1], dims[1:]))
    b = tuple((0.01 * rng.standard_normal((n, 1))).astype(DTYPE) for n in dims[1:])
    X = rng.standard_normal((dims[0], net.m)).astype(DTYPE)
    labels = rng.integers(0, max(dims[-1], 2), net.m)
    if net.output == "sigmoid":
        Y = labels.reshape(1, -1).astype(DTYPE)
    else:
        Y = np.zeros((dims[-1], net.m), DTYPE)
        Y[labels, np.arange(net.m)] = 1
    return Start(W, b, X, Y)


# ---------------------------------------------------- the course's NumPy code

def np_forward(X: np.ndarray, params: dict, output: str) -> tuple[np.ndarray, list]:
    """``Z = W A + b``, ReLU hidden layers, sigmoid/softmax output; caches ``(A_prev, W, Z)``."""
    L = len(params) // 2
    caches = []
    A = X
    for l in range(1, L + 1):
        W = params[f"W{l}"]
        Z = W @ A + params[f"b{l}"]
        caches.append((A, W, Z))
        if l < L:
            A = np.maximum(Z, 0)
        elif output == "sigmoid":
            A = 1 / (1 + np.exp(-Z))
        else:
            e = np.exp(Z - Z.max(axis=0, keepdims=True))
            A = e / e.sum(axis=0, keepdims=True)
    return A, caches


def np_backward(AL: np.ndarray, Y: np.ndarray, caches: list, dA0: bool = False) -> dict:
    """``dZ = AL - Y`` at the output, ``dZ = dA * (Z > 0)`` below; ``dW``, ``db``, ``dA_prev``.

    ``dA0=True`` also forms the gradient w.r.t. X, as the course's L_model_backward does.
    """
    L = len(caches)
    m = AL.shape[1]
    grads = {}
    dZ = AL - Y
    for l in range(L, 0, -1):
        A_prev, W, Z = caches[l - 1]
        if l < L:
            dZ = dA * (Z > 0)
        grads[f"dW{l}"] = dZ @ A_prev.T / m
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
        if l > 1 or dA0:
            dA = W.T @ dZ
    return grads


def np_update(params: dict, grads: dict, lr: float) -> dict:
    """``W = W - lr * dW`` (new arrays, as the course writes it)."""
    for key in params:
        params[key] = params[key] - lr * grads["d" + key]
    return params


# ---------------------------------------------------------- implementations

class Trainer:
    """One implementation with its own parameters; ``step()`` trains one batch."""

    def step(self) -> np.ndarray:
        """One training step; returns W1 (for the harness's check)."""
        raise NotImplementedError

    def params(self) -> list[np.ndarray]:
        """``[W1, b1, ..., WL, bL]`` as NumPy arrays (b of shape (n_l, 1))."""
        raise NotImplementedError


class NumpyTrainer(Trainer):
    def __init__(self, net: Net, start: Start, lr: float):
        self.p = {}
        for l, (W, b) in enumerate(zip(start.W, start.b), 1):
            self.p[f"W{l}"], self.p[f"b{l}"] = W.copy(), b.copy()
        self.X, self.Y, self.output, self.lr = start.X, start.Y, net.output, lr

    def step(self) -> np.ndarray:
        AL, caches = np_forward(self.X, self.p, self.output)
        grads = np_backward(AL, self.Y, caches)
        np_update(self.p, grads, self.lr)
        return self.p["W1"]

    def params(self) -> list[np.ndarray]:
        return list(self.p.values())


class NumpyCourseTrainer(NumpyTrainer):
    """The NumPy course code as written: L_model_backward also returns dA0."""

    def step(self) -> np.ndarray:
        AL, caches = np_forward(self.X, self.p, self.output)
        grads = np_backward(AL, self.Y, caches, dA0=True)
        np_update(self.p, grads, self.lr)
        return self.p["W1"]


class CourseTrainer(NumpyTrainer):
    """``fastdnn.course``: the course's function names, dicts and caches."""

    def step(self) -> np.ndarray:
        AL, caches = course.L_model_forward(self.X, self.p)
        grads = course.L_model_backward(AL, self.Y, caches)
        self.p = course.update_parameters(self.p, grads, self.lr)
        return self.p["W1"]


class FunctionalTrainer(Trainer):
    """``fastdnn.functional`` layer by layer, parameters updated in place."""

    def __init__(self, net: Net, start: Start, lr: float):
        self.W = [W.copy() for W in start.W]
        self.b = [b.copy() for b in start.b]
        self.acts = ["relu"] * (len(self.W) - 1) + [net.output]
        self.X, self.Y, self.lr = start.X, start.Y, lr

    def step(self) -> np.ndarray:
        A, caches = self.X, []
        for W, b, act in zip(self.W, self.b, self.acts):
            A, cache = F.dense_forward(A, W, b, act)
            caches.append(cache)
        L = len(caches)
        dA, dW, db = F.dense_output_backward(self.Y, caches[-1], need_dA_prev=L > 1)
        grads = [(dW, db)]
        for l in range(L - 1, 0, -1):
            dA, dW, db = F.dense_backward(dA, caches[l - 1], need_dA_prev=l > 1)
            grads.append((dW, db))
        lr = self.lr
        for W, b, (dW, db) in zip(self.W, self.b, reversed(grads)):
            F.sgd_update(W, dW, lr, out=W)
            F.sgd_update(b, db, lr, out=b)
        return self.W[0]

    def params(self) -> list[np.ndarray]:
        return [p for Wb in zip(self.W, self.b) for p in Wb]


class GemmOnly:
    """The GEMMs of one step into preallocated C-ordered buffers, nothing else.

    Forward ``Z = W A_prev``; backward ``dW = (1/m) dZ A_prev^T`` and
    ``dA_prev = W^T dZ`` (not for layer 1). BLAS is column-major, so each
    C-ordered product ``C = A B`` is computed as ``C^T = B^T A^T`` on the
    F-ordered transposed views: no copies (checked once).
    """

    def __init__(self, net: Net, start: Start):
        m = net.m
        self.W = [W.copy() for W in start.W]
        rng = np.random.default_rng(SEED + 1)
        self.A = [start.X.copy()] + [np.empty((n, m), DTYPE) for n in net.dims[1:]]
        self.dZ = [rng.standard_normal((n, m)).astype(DTYPE) for n in net.dims[1:]]
        self.dW = [np.empty_like(W) for W in self.W]
        self.dA = [np.empty((n, m), DTYPE) for n in net.dims[1:-1]]   # dA_prev of layers 2..L
        self.scale = 1.0 / m
        self.step()
        self._check_in_place()

    def step(self) -> None:
        A, W, dZ, dW, dA = self.A, self.W, self.dZ, self.dW, self.dA
        for l in range(len(W)):
            sgemm(1.0, A[l].T, W[l].T, c=A[l + 1].T, overwrite_c=True)
        for l in reversed(range(len(W))):
            sgemm(self.scale, A[l].T, dZ[l].T, trans_a=1, c=dW[l].T, overwrite_c=True)
            if l > 0:
                sgemm(1.0, dZ[l].T, W[l].T, trans_b=1, c=dA[l - 1].T, overwrite_c=True)

    def _check_in_place(self) -> None:
        """sgemm wrote into the buffers (f2py copies silently on a layout mismatch)."""
        l = len(self.W) - 1
        c = self.dW[l]
        out = sgemm(self.scale, self.A[l].T, self.dZ[l].T, trans_a=1, c=c.T, overwrite_c=True)
        if not np.shares_memory(out, c):
            raise RuntimeError("sgemm did not write in place: the gemm-only timing would be off")


class TorchTrainer(Trainer):
    """The same network in torch: Linear + ReLU, loss on the logits, optim.SGD."""

    def __init__(self, torch: Any, net: Net, start: Start, lr: float):
        nn = torch.nn
        torch.set_num_threads(fastdnn.get_num_threads())
        layers: list[Any] = []
        self.linears = []
        for l, (W, b) in enumerate(zip(start.W, start.b), 1):
            lin = nn.Linear(W.shape[1], W.shape[0], dtype=torch.float32)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W))
                lin.bias.copy_(torch.from_numpy(b.ravel()))
            layers.append(lin)
            self.linears.append(lin)
            if l < len(start.W):
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        self.x = torch.from_numpy(np.ascontiguousarray(start.X.T))    # (m, n_x) batch
        if net.output == "sigmoid":
            self.loss_fn = nn.BCEWithLogitsLoss()
            self.target = torch.from_numpy(np.ascontiguousarray(start.Y.T))
        else:
            self.loss_fn = nn.CrossEntropyLoss()
            self.target = torch.from_numpy(start.Y.argmax(axis=0))    # class indices
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr)
        self.w1 = self.linears[0].weight.detach().numpy()   # a view, updated in place

    def step(self) -> np.ndarray:
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.target)
        loss.backward()
        self.opt.step()
        return self.w1

    def params(self) -> list[np.ndarray]:
        return [a for lin in self.linears
                for a in (lin.weight.detach().numpy(), lin.bias.detach().numpy().reshape(-1, 1))]


def trainers(net: Net, start: Start, lr: float, cfg: Config) -> dict[str, Trainer]:
    """The comparable implementations (all but ``gemm only``) of ``net``."""
    out: dict[str, Trainer] = {"numpy": NumpyTrainer(net, start, lr)}
    if net.output == "sigmoid":
        out["numpy (course, dA0)"] = NumpyCourseTrainer(net, start, lr)
        out["fastdnn.course"] = CourseTrainer(net, start, lr)
    out["fastdnn.functional"] = FunctionalTrainer(net, start, lr)
    if cfg.torch is not None:
        out["torch"] = TorchTrainer(cfg.torch, net, start, lr)
    return out


# ------------------------------------------------------------------ checks

def numpy_dtype_notes(net: Net, start: Start) -> list[str]:
    """Every array of a NumPy step (activations, Z, gradients, parameters) is float32."""
    params = NumpyTrainer(net, start, CHECK_LR).p
    AL, caches = np_forward(start.X, params, net.output)
    grads = np_backward(AL, start.Y, caches)
    np_update(params, grads, CHECK_LR)
    arrays = {"AL": AL, **{f"Z{l}": c[2] for l, c in enumerate(caches, 1)}, **grads, **params}
    return [f"numpy {k} is {a.dtype}" for k, a in arrays.items() if a.dtype != DTYPE]


def check_step(net: Net, start: Start, cfg: Config, record: dict) -> list[str]:
    """Notes on implementations whose one-step update (lr = 1) differs from NumPy's.

    ``record`` receives the worst relative difference of each implementation.
    """
    notes = numpy_dtype_notes(net, start)
    ts = trainers(net, start, CHECK_LR, cfg)
    for t in ts.values():
        t.step()
    before = [p for Wb in zip(start.W, start.b) for p in Wb]
    names = [f"{k}{l}" for l in range(1, len(start.W) + 1) for k in ("W", "b")]
    ref = [p.astype(np.float64) - p0 for p, p0 in zip(ts["numpy"].params(), before)]
    for impl, t in ts.items():
        worst, where = 0.0, ""
        for name, p, p0, r in zip(names, t.params(), before, ref):
            if p.dtype != DTYPE:
                notes.append(f"{impl} {name} is {p.dtype} after a step")
            diff = np.max(np.abs((p.astype(np.float64) - p0) - r)) / max(np.max(np.abs(r)), 1e-30)
            if not np.isnan(worst) and (np.isnan(diff) or diff > worst):   # NaN is worst
                worst, where = float(diff), name
        record[impl] = worst
        if not worst <= CHECK_RTOL:
            notes.append(f"{impl} update after one step differs from numpy's: "
                         f"{worst:.3g} of the largest update (at {where})")
    return notes


# ------------------------------------------------------------------- cases

def make_case(net: Net, cfg: Config) -> Case:
    """The timed implementations of one network, each with its own parameters."""
    start = make_start(net)
    impls: dict[str, Callable[[], object]] = {
        name: t.step for name, t in trainers(net, start, LR, cfg).items()}
    ratios = [Ratio("vs numpy", "numpy", "fastdnn.functional")]
    if "fastdnn.course" in impls:
        # like for like: both return dA0, as the course's L_model_backward does
        ratios.append(Ratio("course vs numpy", "numpy (course, dA0)", "fastdnn.course"))
    if "torch" in impls:
        ratios.append(Ratio("vs torch", "torch", "fastdnn.functional"))
    unchecked = set()
    if net.gemm_only:
        impls["gemm only"] = GemmOnly(net, start).step
        unchecked.add("gemm only")
        ratios.append(Ratio("fastdnn/gemm", "fastdnn.functional", "gemm only"))
    n_params = sum(W.size + b.size for W, b in zip(start.W, start.b))
    params: dict[str, Any] = {
        "layers": list(net.dims), "m": net.m, "output": net.output, "hidden": "relu",
        "lr": LR, "n_params": n_params, "gemm_flop": net.gemm_flop,
        "check": {"lr": CHECK_LR, "rtol": CHECK_RTOL, "max_rel_update_diff": {}}}
    return Case(SECTION, net.name, np.dtype(DTYPE).name, net.m, impls, tuple(ratios),
                params=params, reference="numpy", unchecked=frozenset(unchecked),
                warmup_ns=WARMUP_NS,
                check=lambda: check_step(net, start, cfg,
                                         params["check"]["max_rel_update_diff"]))


def cases(cfg: Config) -> Iterator[Case]:
    """One case per network, smallest first (N is the batch size m)."""
    for net in NETS:
        yield make_case(net, cfg)
