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
* ``fastdnn (compiled)`` -- the whole-network compiled loop ``fit`` runs
  (``fastdnn._kernels._network.Plan``): a ``Sequential`` of ``Dense`` layers
  with the same sizes, activations and initial weights (``set_weights``),
  ``compile(GD(lr), loss)``, its trainer made once by
  ``fastdnn._training.CompiledTrainer.make(model, X_rows, Y_rows, batch_size=m,
  shuffle=False, ...)``; each timed call is ``plan.run(X_rows, Y_rows, None,
  m, 0, 1, lr, t0, costs, sums)``, one mini-batch of all m examples in one
  nogil call. It does a little more than the NumPy step: it first gathers the
  batch from the ``(m, n_x)`` C-ordered rows ``X_rows = X.T`` (and ``Y``)
  into the plan's ``(n_x, m)`` buffer, as ``fit`` does for every batch, and it
  computes the batch's cost (``fit`` reports it); NumPy's step does neither.
  It runs with the library's defaults, as ``fit`` does: its products on
  fastdnn's own GEMM engine and its element-wise passes share one OpenMP
  team, each call taking as many of its threads as its size pays for.
* ``gemm only`` (the two larger networks) -- just the products a step needs,
  by fastdnn's engine (``fastdnn._kernels._dense.matmul(out=)``) into
  preallocated outputs, as ``fastdnn.functional`` makes them (the forward
  product applying the bias and activation, as fastdnn's does):
  ``fastdnn/gemm`` close to 1 means the rest of fastdnn's step is cheap. Its
  activations are C-ordered ``(n_l, m)``, the layout ``fastdnn.functional``
  works in here.
* ``gemm only (compiled's calls)`` (the two larger networks) -- the products
  made exactly as the compiled plan makes them (:class:`PlanGemms`: F-ordered
  ``(n_l, m)`` activations, the plan's operand layouts, its choice of direct
  loops or packed engine, plain GD folded into the ``dW`` product; the engine
  is not equally fast for every layout, so this, not ``gemm only``, is the
  compiled step's GEMM time): ``compiled/gemm`` is the compiled step over it.
* ``numpy's gemms`` (the two larger networks) -- the same products by
  ``np.matmul(out=)``, NumPy's own BLAS (without the 1/m, bias and
  activation): the floor of the NumPy step. ``numpy/its gemms`` = numpy /
  numpy's gemms is the most any implementation making these products with
  NumPy's BLAS can gain over NumPy.
* ``torch`` -- ``nn.Sequential`` of ``Linear`` + ``ReLU``, ``BCEWithLogitsLoss``
  or ``CrossEntropyLoss``, ``optim.SGD``, when torch is installed, with the
  thread count ``bench/run.py`` gave it (``fastdnn.get_num_threads()``).
* ``torch 1 thread`` (when torch has more than one thread) -- the same with
  ``torch.set_num_threads(1)``: on a 2-core machine whose other core is busy,
  torch's second intra-op thread is often descheduled and the step waits for
  it (milliseconds for a network of a few dozen weights), which would make the
  ``torch/compiled`` ratio say more about the machine than about torch;
  ``torch1/compiled`` is the ratio against torch at its best on small networks.

Each implementation owns its parameters, so every timed call is one more step
(lr = 1e-3 keeps them sane). Samples are taken one per implementation per
round (as many rounds as samples), each after 0.2 s of untimed steps (see
``WARMUP_NS``): this VM's speed drifts by up to 2x for seconds at a time, and
with a few long runs per implementation one implementation's median could
come from a slow stretch and another's from a fast one.
Thread settings are per implementation (:class:`Threads`): each timed callable
switches to its own settings when the previous call left others (the switch
falls in the untimed warm-up), so ``torch 1 thread`` runs on one thread and
every other implementation under the defaults (fastdnn: its OpenMP team;
torch: the thread count ``bench/run.py`` gave it).

The targets for one training step (float32, 2 cores) are in
``bench/targets.py``, stated on the ratio columns (``numpy/compiled`` = numpy
/ fastdnn (compiled), ``numpy`` being the lean course code without dA0;
``torch/compiled``; ``compiled/gemm`` = fastdnn (compiled) / gemm only
(compiled's calls)) and copied into the case's ``params["targets"]``
(``torch1/compiled`` shows the same against torch on one thread).

Checks before timing (a mismatch is a failure of the run): the harness
compares the W1 each implementation returns after its first step with NumPy's
(and its dtype); :func:`check_step` runs one more step from the start on fresh
copies with lr = 1, where the update is not lost in the rounding of W, and
compares every ``W[l]`` and ``b[l]`` update with NumPy's (max abs difference
relative to the largest NumPy update, at most 1e-4; the worst is kept in the
case's ``params``) and checks that NumPy stays float32 throughout.

``--smoke`` runs the three smaller networks only (:data:`SMOKE_NETS`).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from fastdnn import _training, course, models
from fastdnn._compiled import CODES, NotCompilable
from fastdnn._kernels._dense import SMALL_GEMM_MACS, matmul
from fastdnn._kernels._network import cut_by_weight_rows
from fastdnn import functional as F
from fastdnn.layers import Dense, Input
from fastdnn.optimizers import GD
from _case import Case, Config, Ratio
from targets import for_case

SECTION = "dense"
DTYPE = np.float32
SEED = 0
LR = 1e-3            # learning rate of the timed steps
CHECK_LR = 1.0       # learning rate of the checked step (a visible update)
CHECK_RTOL = 1e-4    # max |update - numpy's| / max |numpy's update|, float32
# Untimed calls before each run of samples: NumPy's OpenBLAS (NumPy's step and
# gemms) and torch keep their workers spinning ~2**28 cycles (~0.1 s) after a
# GEMM, which would slow the next implementation down 2-3x.
WARMUP_NS = 200_000_000
# products of up to this many multiply-adds run on the direct loops
# (csrc/fdnn_gemm_type.h), larger ones on the packed engine
SMALL_GEMM = SMALL_GEMM_MACS
ACT = CODES["activation"]


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

    @property
    def direct(self) -> list[bool]:
        """Per layer: whether fastdnn makes its products on the direct loops (not packed)."""
        return [a * b * self.m <= SMALL_GEMM for a, b in zip(self.dims[:-1], self.dims[1:])]

    @property
    def forward_acts(self) -> list[int]:
        """Per layer: the activation code the forward product applies (softmax: linear,
        the softmax being a pass of its own)."""
        out = "sigmoid" if self.output == "sigmoid" else "linear"
        return [ACT["relu"]] * (len(self.dims) - 2) + [ACT[out]]


# ratio labels (see make_case)
NUMPY_VS_COMPILED, TORCH_VS_COMPILED, COMPILED_VS_GEMM = \
    "numpy/compiled", "torch/compiled", "compiled/gemm"

NETS = (Net((2, 3, 5, 4, 2, 1), 64),
        Net((30, 16, 8, 1), 256),
        Net((784, 256, 128, 10), 128, gemm_only=True),
        Net((1024, 2048, 2048, 1024), 512, gemm_only=True))
SMOKE_NETS = NETS[:3]     # the largest step alone takes ~0.2 s


# ------------------------------------------------------------ thread settings

class Threads:
    """Thread settings per implementation, switched only when they change.

    A *mode* is ``DEFAULT`` (the library defaults; torch with the thread count
    it had when this object was made, i.e. what ``bench/run.py`` gave it) or
    ``torch_mode(n)`` (``torch.set_num_threads(n)``). Each timed callable made
    by :meth:`wrap` first checks (by identity, ~0.1 µs) that its mode is on and
    switches if not: the switch then happens in the untimed warm-up that
    starts each run of samples, never in a timed sample.
    """

    DEFAULT = ("default",)

    def __init__(self, torch: Any = None):
        self.torch = torch
        self.torch_threads = torch.get_num_threads() if torch is not None else None
        self.current: tuple = self.DEFAULT
        self.stack = contextlib.ExitStack()

    @staticmethod
    def torch_mode(n: int) -> tuple:
        return ("torch", int(n))

    def use(self, mode: tuple) -> None:
        """Leave the current settings (back to the defaults), enter ``mode``'s."""
        if mode is self.current:
            return
        self.stack.close()
        self.stack = contextlib.ExitStack()
        self.current = self.DEFAULT
        if self.torch is not None and self.torch.get_num_threads() != self.torch_threads:
            self.torch.set_num_threads(self.torch_threads)
        if mode[0] == "torch":
            self.stack.enter_context(self._torch_threads(mode[1]))
        self.current = mode

    def reset(self) -> None:
        self.use(self.DEFAULT)

    @contextlib.contextmanager
    def _torch_threads(self, n: int) -> Iterator[None]:
        saved = self.torch.get_num_threads()
        self.torch.set_num_threads(n)
        try:
            yield
        finally:
            self.torch.set_num_threads(saved)

    def wrap(self, fn: Callable[[], Any], mode: tuple | None = None) -> Callable[[], Any]:
        """``fn`` run under ``mode`` (default: ``DEFAULT``); the same object must be
        passed for every call of one mode (compared by identity)."""
        mode = self.DEFAULT if mode is None else mode

        def call() -> Any:
            if self.current is not mode:
                self.use(mode)
            return fn()
        return call


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
    """The products of one step on fastdnn's engine into preallocated C-ordered buffers.

    Each made by ``matmul(out=)`` as ``fastdnn.functional`` makes it: forward
    ``Z = g(W A_prev + b)`` (bias and activation applied by the product, see
    :attr:`Net.forward_acts`), backward ``dW = (1/m) dZ A_prev^T`` and
    ``dA_prev = W^T dZ`` (not for layer 1); products of up to ``SMALL_GEMM``
    multiply-adds on the direct loops, larger ones packed. The transposes are
    views (no copies): ``matmul`` takes C- and F-contiguous operands as they are.
    """

    def __init__(self, net: Net, start: Start):
        m = net.m
        self.W = [W.copy() for W in start.W]
        self.b = [b.ravel().copy() for b in start.b]
        self.acts, self.direct = net.forward_acts, net.direct
        rng = np.random.default_rng(SEED + 1)
        self.A = [start.X.copy()] + [np.empty((n, m), DTYPE) for n in net.dims[1:]]
        self.dZ = [rng.standard_normal((n, m)).astype(DTYPE) for n in net.dims[1:]]
        self.dW = [np.empty_like(W) for W in self.W]
        self.dA = [np.empty((n, m), DTYPE) for n in net.dims[1:-1]]   # dA_prev of layers 2..L
        self.scale = 1.0 / m
        self.step()

    def step(self) -> None:
        A, W, dZ, dW, dA, direct = self.A, self.W, self.dZ, self.dW, self.dA, self.direct
        for l in range(len(W)):
            matmul(W[l], A[l], out=A[l + 1], act=self.acts[l], bias=self.b[l])
        for l in reversed(range(len(W))):
            matmul(dZ[l], A[l].T, alpha=self.scale, direct=direct[l], out=dW[l])
            if l > 0:
                matmul(W[l].T, dZ[l], direct=direct[l], out=dA[l - 1])


class NumpyGemms(GemmOnly):
    """The same products by ``np.matmul(out=)``, NumPy's own BLAS, without the 1/m,
    the bias and the activation.

    The floor of the NumPy step: ``numpy/its gemms`` (NumPy's step over these)
    is the largest speed-up over NumPy any implementation making the same
    products with the same BLAS can reach.
    """

    def step(self) -> None:
        A, W, dZ, dW, dA = self.A, self.W, self.dZ, self.dW, self.dA
        for l in range(len(W)):
            np.matmul(W[l], A[l], out=A[l + 1])
        for l in reversed(range(len(W))):
            np.matmul(dZ[l], A[l].T, out=dW[l])
            if l > 0:
                np.matmul(W[l].T, dZ[l], out=dA[l - 1])


class PlanGemms:
    """The products of one step exactly as the compiled plan makes them (``_network.pyx``).

    Activations, ``dZ`` and ``dA_prev`` F-ordered ``(n, m)``, ``W``/``dW``
    C-ordered ``(n_l, n_prev)``; per layer, by ``matmul(out=)`` with the
    operands and routing of the plan's calls:

    * forward (``_dense_forward``): packed, ``Z = g(W X + b)`` with the bias
      and activation in the product's epilogue; a direct product is made as
      the row-major ``Z^T = X^T W^T`` (its bias and activation pass, which
      follows it in the plan, is not a product and not timed here);
    * ``dA_prev = W^T dZ`` (``_gemm_dA``, not for layer 1, before ``W`` changes),
      as the row-major ``dA_prev^T = dZ^T W``;
    * packed layers: plain GD folded into the ``dW`` product
      (``_gemm_update_W``: ``W = W - (lr/m) dZ X^T``, ``beta = 1``; the sign
      of ``lr`` alternates from step to step so that ``W``, updated with the
      same ``dZ`` every time, stays near its start); direct layers:
      ``dW = (1/m) dZ X^T`` (``_gemm_dW``; the plan's separate update is not
      a product);
    * a packed layer the plan cuts by its weights' rows (``cut_by_weight_rows``)
      has its forward and update cut by the rows of ``Z`` and ``W`` (``split="rows"``).
    """

    def __init__(self, net: Net, start: Start, lr: float):
        m = net.m
        self.W = [W.copy() for W in start.W]
        self.b = [b.ravel().copy() for b in start.b]
        self.acts, self.direct = net.forward_acts, net.direct
        rng = np.random.default_rng(SEED + 1)
        self.A = [np.asfortranarray(start.X)] + [np.empty((n, m), DTYPE, order="F")
                                                 for n in net.dims[1:]]
        self.dZ = [np.asfortranarray(rng.standard_normal((n, m)), dtype=DTYPE)
                   for n in net.dims[1:]]
        self.dW = [np.empty_like(W) for W in self.W]
        self.dA = [np.empty((n, m), DTYPE, order="F") for n in net.dims[1:-1]]
        self.scale, self.step_lr = 1.0 / m, -lr / m
        self.split = ["rows" if cut_by_weight_rows(*W.shape, m, DTYPE == np.float64) else "cost"
                      for W in self.W]
        self.step()

    def step(self) -> None:
        A, W, dZ, dW, dA, direct = self.A, self.W, self.dZ, self.dW, self.dA, self.direct
        for l in range(len(W)):
            if direct[l]:
                matmul(A[l].T, W[l].T, out=A[l + 1].T)
            else:
                matmul(W[l], A[l], direct=False, out=A[l + 1], act=self.acts[l],
                       bias=self.b[l], split=self.split[l])
        self.step_lr = -self.step_lr
        for l in reversed(range(len(W))):
            if l > 0:
                matmul(dZ[l].T, W[l], direct=direct[l], out=dA[l - 1].T)
            if direct[l]:
                matmul(dZ[l], A[l].T, alpha=self.scale, out=dW[l])
            else:
                matmul(dZ[l], A[l].T, alpha=self.step_lr, direct=False, out=W[l], beta=1.0,
                       split=self.split[l])


class CompiledTrainer(Trainer):
    """fastdnn's whole-network compiled loop (what ``fit`` runs), one batch of m per call.

    ``step()`` trains one mini-batch: gather of the m rows of ``X_rows`` (and
    ``Y_rows``) into the plan's buffers, forward, cost, backward and the GD
    update of every ``W``, ``b`` in place, in one nogil call.
    """

    def __init__(self, net: Net, start: Start, lr: float):
        dims = net.dims
        layers = [Input(dims[0])] + [Dense(n, activation="relu") for n in dims[1:-1]]
        layers.append(Dense(dims[-1], activation=net.output))
        model = models.Sequential(layers, dtype=DTYPE, seed=SEED)
        model.compile(GD(lr), "binary_crossentropy" if net.output == "sigmoid"
                      else "categorical_crossentropy")
        model.build()
        model.set_weights([a for Wb in zip(start.W, start.b) for a in Wb])
        self.model = model
        self.dense = [l for l in model.layers if isinstance(l, Dense)]
        self.X = np.ascontiguousarray(start.X.T)           # (m, n_x) rows, C-ordered
        self.Y = model._check_y(np.ascontiguousarray(start.Y.T), net.m)   # (m, n_y)
        try:
            trainer = _training.CompiledTrainer.make(
                model, self.X, self.Y, batch_size=net.m, shuffle=False,
                rng=np.random.default_rng(SEED), batch_hooks=False)
        except NotCompilable as exc:
            raise RuntimeError(f"{net.name}: fit would not use the compiled loop ({exc})") from exc
        self.plan, self.m, self.lr, self.t = trainer.plan, net.m, lr, 0
        self.costs = np.empty(1)
        self.sums = np.zeros(0)
        self.W1 = self.dense[0].W      # updated in place

    def step(self) -> np.ndarray:
        self.plan.run(self.X, self.Y, None, self.m, 0, 1, self.lr, self.t, self.costs, self.sums)
        self.t += 1
        return self.W1

    def params(self) -> list[np.ndarray]:
        return [p for l in self.dense for p in (l.W, l.b)]


class TorchTrainer(Trainer):
    """The same network in torch: Linear + ReLU, loss on the logits, optim.SGD."""

    def __init__(self, torch: Any, net: Net, start: Start, lr: float):
        nn = torch.nn
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


COMPILED = "fastdnn (compiled)"
TORCH1 = "torch 1 thread"
PLAN_GEMMS = "gemm only (compiled's calls)"
NUMPY_GEMMS = "numpy's gemms"


def trainers(net: Net, start: Start, lr: float, cfg: Config) -> dict[str, Trainer]:
    """The comparable implementations (all but ``gemm only``) of ``net``."""
    out: dict[str, Trainer] = {"numpy": NumpyTrainer(net, start, lr)}
    if net.output == "sigmoid":
        out["numpy (course, dA0)"] = NumpyCourseTrainer(net, start, lr)
        out["fastdnn.course"] = CourseTrainer(net, start, lr)
    out["fastdnn.functional"] = FunctionalTrainer(net, start, lr)
    out[COMPILED] = CompiledTrainer(net, start, lr)
    if cfg.torch is not None:
        out["torch"] = TorchTrainer(cfg.torch, net, start, lr)
        if cfg.torch.get_num_threads() != 1:
            out[TORCH1] = TorchTrainer(cfg.torch, net, start, lr)
    return out


# ------------------------------------------------------------------ checks

def numpy_dtype_failures(net: Net, start: Start) -> list[str]:
    """Every array of a NumPy step (activations, Z, gradients, parameters) is float32."""
    params = NumpyTrainer(net, start, CHECK_LR).p
    AL, caches = np_forward(start.X, params, net.output)
    grads = np_backward(AL, start.Y, caches)
    np_update(params, grads, CHECK_LR)
    arrays = {"AL": AL, **{f"Z{l}": c[2] for l, c in enumerate(caches, 1)}, **grads, **params}
    return [f"numpy {k} is {a.dtype}" for k, a in arrays.items() if a.dtype != DTYPE]


def check_step(net: Net, start: Start, cfg: Config, record: dict,
               threads: Threads | None = None) -> list[str]:
    """Failures: implementations whose one-step update (lr = 1) differs from NumPy's.

    ``record`` receives the worst relative difference of each implementation.
    The steps run under the default thread settings (``threads`` is reset).
    """
    if threads is not None:
        threads.reset()
    failures = numpy_dtype_failures(net, start)
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
                failures.append(f"{impl} {name} is {p.dtype} after a step")
            diff = np.max(np.abs((p.astype(np.float64) - p0) - r)) / max(np.max(np.abs(r)), 1e-30)
            if not np.isnan(worst) and (np.isnan(diff) or diff > worst):   # NaN is worst
                worst, where = float(diff), name
        record[impl] = worst
        if not worst <= CHECK_RTOL:
            failures.append(f"{impl} update after one step differs from numpy's: "
                            f"{worst:.3g} of the largest update (at {where})")
    return failures


# ------------------------------------------------------------------- cases

def make_case(net: Net, cfg: Config, threads: Threads) -> Case:
    """The timed implementations of one network, each with its own parameters."""
    start = make_start(net)
    threads.reset()
    modes = {TORCH1: threads.torch_mode(1)}
    impls: dict[str, Callable[[], object]] = {
        name: threads.wrap(t.step, modes.get(name))
        for name, t in trainers(net, start, LR, cfg).items()}
    ratios = [Ratio("vs numpy", "numpy", "fastdnn.functional")]
    if "fastdnn.course" in impls:
        # like for like: both return dA0, as the course's L_model_backward does
        ratios.append(Ratio("course vs numpy", "numpy (course, dA0)", "fastdnn.course"))
    if "torch" in impls:
        ratios.append(Ratio("vs torch", "torch", "fastdnn.functional"))
    ratios.append(Ratio(NUMPY_VS_COMPILED, "numpy", COMPILED))
    if "torch" in impls:
        ratios.append(Ratio(TORCH_VS_COMPILED, "torch", COMPILED))
    if TORCH1 in impls:
        ratios.append(Ratio("torch1/compiled", TORCH1, COMPILED))
    unchecked = set()
    if net.gemm_only:
        impls["gemm only"] = threads.wrap(GemmOnly(net, start).step)
        impls[PLAN_GEMMS] = threads.wrap(PlanGemms(net, start, LR).step)
        impls[NUMPY_GEMMS] = threads.wrap(NumpyGemms(net, start).step)
        unchecked |= {"gemm only", PLAN_GEMMS, NUMPY_GEMMS}
        ratios.append(Ratio("fastdnn/gemm", "fastdnn.functional", "gemm only"))
        ratios.append(Ratio(COMPILED_VS_GEMM, COMPILED, PLAN_GEMMS))
        ratios.append(Ratio("numpy/its gemms", "numpy", NUMPY_GEMMS))
    n_params = sum(W.size + b.size for W, b in zip(start.W, start.b))
    params: dict[str, Any] = {
        "layers": list(net.dims), "m": net.m, "output": net.output, "hidden": "relu",
        "lr": LR, "n_params": n_params, "gemm_flop": net.gemm_flop,
        "targets": for_case(SECTION, net.name, net.m),
        "check": {"lr": CHECK_LR, "rtol": CHECK_RTOL, "max_rel_update_diff": {}}}
    return Case(SECTION, net.name, np.dtype(DTYPE).name, net.m, impls, tuple(ratios),
                params=params, reference="numpy", unchecked=frozenset(unchecked),
                warmup_ns=cfg.warmup(WARMUP_NS), rounds=cfg.samples,
                check=lambda: check_step(net, start, cfg,
                                         params["check"]["max_rel_update_diff"], threads))


def cases(cfg: Config) -> Iterator[Case]:
    """One case per network (``--smoke``: :data:`SMOKE_NETS`), smallest first (N is the
    batch size m).

    Thread settings go back to the defaults after each case has run (the
    generator resumes only then), so nothing leaks into the next case or section.
    """
    threads = Threads(cfg.torch)
    try:
        for net in (SMOKE_NETS if cfg.smoke else NETS):
            yield make_case(net, cfg, threads)
            threads.reset()
    finally:
        threads.reset()
