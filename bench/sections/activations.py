"""The element-wise API -- activations, derivatives, backward steps, softmax -- against
NumPy and PyTorch, each writing into a preallocated ``out=``.

The project's goal (``bench/targets.py``): every function of the element-wise API
-- forward, derivative (from Z and, where the API has it, from the output A),
backward (the fused ``dA * g'``), softmax and softmax_backward over both axes and
both memory orders -- at N = 1e3 ... 1e7, float32 and float64, at least as fast as
NumPy and as PyTorch. Stretch, float32 at 1e6: softmax >= 3x NumPy and >= 1.5x
PyTorch, sigmoid and tanh >= 5x NumPy, every memory-bound element-wise backward (no exp,
erf or log) within 1.3x of ``np.copyto``'s time for the same bytes.

Functions: sigmoid, tanh, relu, leaky_relu (alpha 0.01), linear and the newer elu (alpha
1), selu, gelu (erf), gelu_tanh, silu, softplus, softsign, hard_sigmoid and mish, each
forward, derivative from Z, derivative from A where the API takes A (sigmoid, tanh, relu,
leaky_relu, elu, selu, softplus, softsign, hard_sigmoid) and backward step (from A; from
Z for gelu, gelu_tanh, silu and mish); softmax and softmax_backward.
``gelu(approximate=True)`` and ``swish`` are the kernels of ``gelu_tanh`` and ``silu``,
not timed again.

Arrays have the lecture layout ``(10, N // 10)`` (10 units, one column per example),
C order, inputs ``z ~ U(-8, 8)``, ``dA ~ N(0, 1)`` and the activations fastdnn
computes from ``z`` (torch: its own); the softmax cases run over axis 0 (the classes) and axis 1,
on the C-ordered arrays and on F-ordered copies. Implementations, each writing into
its own preallocated output of the case's order (made once, untimed):

* ``fastdnn`` -- the ``fastdnn.functional`` function with ``out=``.
* ``numpy`` -- the same function as NumPy ufuncs with ``out=`` (no temporary array
  allocated per call; a second buffer, preallocated, where the formula needs one):
  e.g. sigmoid ``negative, exp, add 1, reciprocal``; softmax ``max, subtract, exp,
  sum, divide`` with keepdims; elu and selu ``expm1``, then ``z`` copied where ``z > 0``
  (``copyto(where=)``, the mask preallocated); gelu ``scipy.special.erf`` (a dependency
  of fastdnn); softplus and mish ``logaddexp(0, z)``; hard_sigmoid ``add 3, clip,
  divide``; the derivatives and backward steps as the reference formulas of
  ``fastdnn.reference`` (``linear_derivative``: a fill with ones, ``linear_backward``: a
  copy of ``dA``; a backward step: the derivative, then a multiply by ``dA``).
* ``torch`` (when installed) -- PyTorch's own function with ``out=``:
  ``torch.sigmoid``, ``torch.tanh``, ``aten.relu.out``, ``leaky_relu``,
  ``aten.elu.out`` (selu: with SELU's alpha and scale, as ``torch.selu`` computes it),
  ``aten.gelu.out`` (``approximate="none"``, gelu_tanh ``"tanh"``), ``aten.silu.out``,
  ``aten.softplus.out``, ``aten.hardsigmoid.out``, ``aten.mish.out``,
  ``torch.softmax``; softsign, which has no op of its own and no ``out=``: the tensor
  ``F.softsign`` returns; the backward steps ``aten.sigmoid_backward`` /
  ``tanh_backward`` / ``threshold_backward`` / ``leaky_relu_backward`` /
  ``elu_backward`` (elu and selu, from A: ``is_result=True``) / ``gelu_backward`` /
  ``silu_backward`` / ``softplus_backward`` / ``hardsigmoid_backward`` /
  ``_softmax_backward_data`` (``grad_input=``) and ``mish_backward`` (no ``out=``: the
  tensor it returns); softplus's and hardsigmoid's backward ops take Z, in the rows
  from A too; softsign's derivative and backward step, which torch has no op for, the
  formula in in-place ops on the output (``abs``, ``neg_``, ``add_``, ``square_``,
  ``reciprocal_``, ``mul_``); a derivative is the formula autograd applies, that
  backward op with a gradient of ones (sigmoid's and tanh's from Z: the forward
  function first, into the output, their ops taking A); linear: ``copy_`` / ``fill_``.
  It runs in the torch anchor worker (``_anchor_worker.py``, recipe ``"activation"``:
  NumPy and torch only) with ``torch.set_num_threads`` = fastdnn's thread count: in this
  process torch would share the OpenMP runtime fastdnn loaded with a short spin, not its
  own default.
* ``copy`` -- ``np.copyto`` of a contiguous array moving the same bytes as the
  function (2 N elements read and written for a forward function, a derivative and
  softmax, 3 N for a backward step and softmax_backward; N for linear_derivative, a fill,
  and 2 N for linear_backward, a copy of dA): the memory roofline, not
  checked.

Timing: every implementation is calibrated (a sample lasts at least the run's
minimum sample time), then the samples are taken in ``ROUNDS`` rounds, each
implementation in turn running its share of the samples after an untimed warm-up
(``WARMUP_NS``); torch's worker answers only once its threads have gone to sleep
(``_anchor_worker.settle``: they spin a few ms after each call with torch's default
settings, and calls made meanwhile would find fastdnn's team starting late and make it
back off to one thread for the samples that follow), so that no other implementation's
threads are awake while one is timed and a slow stretch of this shared machine hits all
alike. The warm-up lasts 20 ms: on this 2-core VM, after a few ms of single-threaded work
(NumPy's and the copy's turns) a two-thread call of either library ran up to 3x slower and
took 5-10 ms of back-to-back calls to reach its steady speed (relu_backward, float32, 1e6:
fastdnn's median 187 us after a 2 ms warm-up, 92 us after 20 ms, torch 86-87 us after
either). N = 1e6 and 1e7 take fewer samples (``SAMPLE_CAPS``: 9 and 5), and the newer
functions' compute-bound rows stop at N = 1e6 (``NEWER_EXP_MAX_N``: at 1e7 their NumPy
formulas take up to half a second a call, and past the caches the time per element of a
compute-bound function changes little), so that the full section stays within about
15 minutes. A note says how many times fastdnn's thread team backed off to one thread
during the section (``team_backoffs``: its threads started late twice in a row, here
mostly when the host stalled a virtual CPU).

Columns: the median time per call of each implementation; ``vs numpy`` / ``vs
torch`` = the other's time / fastdnn's (> 1: fastdnn faster), the median over
samples of the ratio of the two samples taken in the same round; ``roofline``: for
the memory-bound functions the percentage of ``np.copyto``'s bandwidth fastdnn
reaches on the same bytes (``copy / fastdnn``, 100 % = copy speed; more is
possible: fastdnn runs on all threads, the copy on one), for the compute-bound ones
(those with an exp, erf or log: sigmoid, tanh, elu, selu, gelu, gelu_tanh, silu,
softplus, mish and their derivatives from Z, softplus's from A, the backward steps of
gelu, gelu_tanh, silu, softplus and mish, softmax) the time per element in ns; IQR:
the largest (q3 - q1) / median of the row's implementations. Ratio ``fastdnn/copy``
(JSON) = fastdnn's time / the copy's.

Checks (a mismatch is a failure of the run): before timing, fastdnn's result has the
case's dtype and NumPy's and torch's results (torch's on a subsample of columns)
equal it within the harness's tolerance (``_case._TOLERANCE``) or the row's own
(``Spec.tolerance``): gelu_tanh's derivative and backward in float32 (atol 2e-5: NumPy's
and torch's ``1 - tanh**2`` keeps no digit where tanh saturates), hard_sigmoid's in
float64 (rtol 1e-7: torch's ``hardsigmoid_backward`` multiplies by 1/6 rounded to
float32), gelu in float32 (atol 2e-6: torch's AVX-512 erf is off by up to ~1e-6 in the
negative tail, where fastdnn's is within 4 ULP).

``--quick``: N = 1e4 and 1e6; ``--smoke``: N = 1e3, one sample, no warm-up.
"""
from __future__ import annotations

import gc
import math
import statistics
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
from scipy.special import erf

import fastdnn
from fastdnn import functional as F
from fastdnn._kernels._elementwise import team_backoffs
from _case import _TOLERANCE, Config
from _report import fmt_n, fmt_us
from _timing import Stats, _stats, _time_loop, calibrate, warm_up

from ._anchor_worker import AnchorWorker, RemoteCall
from ._torch_anchor import ALPHA, SELU_ALPHA, SELU_SCALE, base_inputs, out_order

SECTION = "activations"
SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)
QUICK_SIZES = (10**4, 10**6)
SMOKE_SIZES = (10**3,)
DTYPES = ("float32", "float64")
SEED = 0
ROUNDS = 5
SAMPLE_CAPS = ((10**7, 5), (10**6, 9))  # (N, at most this many samples from that N on)
NEWER = ("elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "softsign", "hard_sigmoid",
         "mish")
NEWER_EXP_MAX_N = 10**6     # the largest N of the newer functions' compute-bound rows
WARMUP_NS = 20_000_000
CHECK_COLUMNS = 20_000                  # columns of torch's result sent back for the check
FASTDNN, NUMPY, TORCH, COPY = "fastdnn", "numpy", "torch", "copy"
QUANTITY = "fastdnn's speed-up: other's time / fastdnn's time"
SQRT1_2, INV_SQRT_2PI = 1 / math.sqrt(2), 1 / math.sqrt(2 * math.pi)
GELU_C, GELU_K = math.sqrt(2 / math.pi), 0.044715     # gelu_tanh: tanh(C (z + K z**3))
# gelu_tanh's slope in float32, by NumPy's and torch's formula: where tanh saturates
# (|z| > 4), 1 - tanh**2 keeps no digit and is off by up to 6e-8, times 0.5 z C (1 + 3 K z**2)
# (up to 30 at |z| = 8) and dA
GELU_TANH_TOL = {"float32": dict(rtol=1e-4, atol=2e-5)}
# torch's float32 gelu on AVX-512 takes erf from a fit that is off by up to ~1e-6 in
# absolute terms in the negative tail (z = -3.4695: -0.0009035 where z Phi(z) is -0.00090457)
GELU_TOL = {"float32": dict(rtol=1e-4, atol=2e-6)}
# torch's float64 hardsigmoid_backward multiplies by 1/6 rounded to float32 (3e-8 off)
HARD_SIGMOID_TOL = {"float64": dict(rtol=1e-7, atol=1e-13)}

Thunk = Callable[[], object]
Maker = Callable[[dict, np.ndarray, dict], Thunk]   # (inputs, out, scratch) -> thunk


@dataclass(frozen=True)
class Spec:
    """One function of the API: its kind, how each implementation calls it, its traffic."""

    name: str
    kind: str                 # forward, derivative, backward, softmax
    fastdnn: Maker
    numpy: Maker
    streams: int = 2          # arrays of N elements read or written (memory roofline)
    exp: bool = False         # has an exp, erf or log: compute bound, roofline in ns/element
    scratch: tuple[str, ...] = ()   # preallocated buffers NumPy's formula needs
    tolerance: dict[str, dict[str, float]] | None = None   # per dtype, replaces the harness's

    @property
    def order(self) -> str:
        return out_order(self.name)

    @property
    def max_n(self) -> int:
        """The largest N it runs at: ``NEWER_EXP_MAX_N`` for a compute-bound row of a
        function of ``NEWER``."""
        function = self.name.split("(")[0].removesuffix("_derivative").removesuffix("_backward")
        return NEWER_EXP_MAX_N if self.exp and function in NEWER else SIZES[-1]


def _sigmoid_np(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    np.negative(z, out=o)
    np.exp(o, out=o)
    np.add(o, 1, out=o)
    return np.reciprocal(o, out=o)


def _leaky_np(x: np.ndarray, o: np.ndarray) -> np.ndarray:
    """where(x >= 0, x, alpha x) = max(x, alpha x) for 0 <= alpha < 1 (NaN propagates)."""
    np.multiply(x, ALPHA, out=o)
    return np.maximum(x, o, out=o)


def _leaky_slope_np(x: np.ndarray, o: np.ndarray) -> np.ndarray:
    """where(x >= 0, 1, alpha) = alpha + (1 - alpha) (x >= 0)."""
    np.greater_equal(x, 0, out=o)
    np.multiply(o, 1 - ALPHA, out=o)
    return np.add(o, ALPHA, out=o)


def _leaky_bw_np(g: np.ndarray, a: np.ndarray, o: np.ndarray, mask: np.ndarray) -> None:
    """where(a >= 0, dA, alpha dA): alpha dA, then dA copied where the mask says."""
    np.multiply(g, ALPHA, out=o)
    np.copyto(o, g, where=np.greater_equal(a, 0, out=mask))


def _elu_np(z: np.ndarray, o: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """where(z > 0, z, expm1(z)) (alpha 1): expm1(z), then z copied where z > 0."""
    np.expm1(z, out=o)
    np.copyto(o, z, where=np.greater(z, 0, out=mask))
    return o


def _selu_np(z: np.ndarray, o: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """scale * where(z > 0, z, alpha expm1(z))."""
    np.expm1(z, out=o)
    np.multiply(o, SELU_ALPHA, out=o)
    np.copyto(o, z, where=np.greater(z, 0, out=mask))
    return np.multiply(o, SELU_SCALE, out=o)


def _elu_slope_np(z: np.ndarray, o: np.ndarray, mask: np.ndarray, scale: float = 1.0,
                  alpha: float = 1.0) -> np.ndarray:
    """where(z > 0, scale, scale alpha exp(z)) (elu: scale 1, selu: SELU's constants)."""
    np.exp(z, out=o)
    np.multiply(o, scale * alpha, out=o)
    np.copyto(o, scale, where=np.greater(z, 0, out=mask))
    return o


def _elu_slope_a_np(a: np.ndarray, o: np.ndarray, mask: np.ndarray, scale: float = 1.0,
                    alpha: float = 1.0) -> np.ndarray:
    """From the activation: where(a > 0, scale, a + scale alpha)."""
    np.add(a, scale * alpha, out=o)
    np.copyto(o, scale, where=np.greater(a, 0, out=mask))
    return o


def _gelu_np(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """0.5 z (1 + erf(z / sqrt 2))."""
    np.multiply(z, SQRT1_2, out=o)
    erf(o, out=o)
    np.add(o, 1, out=o)
    np.multiply(o, z, out=o)
    return np.multiply(o, 0.5, out=o)


def _gelu_slope_np(z: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Phi(z) + z phi(z) = 0.5 (1 + erf(z / sqrt 2)) + z exp(-z**2 / 2) / sqrt(2 pi)."""
    np.square(z, out=t)
    np.multiply(t, -0.5, out=t)
    np.exp(t, out=t)
    np.multiply(t, z, out=t)
    np.multiply(t, INV_SQRT_2PI, out=t)
    np.multiply(z, SQRT1_2, out=o)
    erf(o, out=o)
    np.add(o, 1, out=o)
    np.multiply(o, 0.5, out=o)
    return np.add(o, t, out=o)


def _gelu_tanh_np(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """0.5 z (1 + tanh(C (z + K z**3)))."""
    np.multiply(z, z, out=o)
    np.multiply(o, z, out=o)
    np.multiply(o, GELU_K, out=o)
    np.add(o, z, out=o)
    np.multiply(o, GELU_C, out=o)
    np.tanh(o, out=o)
    np.add(o, 1, out=o)
    np.multiply(o, z, out=o)
    return np.multiply(o, 0.5, out=o)


def _gelu_tanh_slope_np(z: np.ndarray, o: np.ndarray, t: np.ndarray,
                        u: np.ndarray) -> np.ndarray:
    """0.5 (1 + th) + 0.5 z (1 - th**2) C (1 + 3 K z**2), th = tanh(C (z + K z**3))."""
    np.square(z, out=t)
    np.multiply(t, z, out=o)
    np.multiply(o, GELU_K, out=o)
    np.add(o, z, out=o)
    np.multiply(o, GELU_C, out=o)
    np.tanh(o, out=o)
    np.square(o, out=u)
    np.subtract(1, u, out=u)
    np.multiply(t, 3 * GELU_K, out=t)
    np.add(t, 1, out=t)
    np.multiply(t, z, out=t)
    np.multiply(t, u, out=t)
    np.multiply(t, 0.5 * GELU_C, out=t)
    np.add(o, 1, out=o)
    np.multiply(o, 0.5, out=o)
    return np.add(o, t, out=o)


def _silu_slope_np(z: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    """s (1 + z (1 - s)), s = sigmoid(z)."""
    _sigmoid_np(z, o)
    np.subtract(1, o, out=t)
    np.multiply(t, z, out=t)
    np.add(t, 1, out=t)
    return np.multiply(o, t, out=o)


def _softplus_slope_a_np(a: np.ndarray, o: np.ndarray) -> np.ndarray:
    """From the activation: 1 - exp(-a), as -expm1(-a)."""
    np.negative(a, out=o)
    np.expm1(o, out=o)
    return np.negative(o, out=o)


def _softsign_np(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """z / (1 + |z|)."""
    np.abs(z, out=o)
    np.add(o, 1, out=o)
    return np.divide(z, o, out=o)


def _softsign_slope_np(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """1 / (1 + |z|)**2."""
    np.abs(z, out=o)
    np.add(o, 1, out=o)
    np.square(o, out=o)
    return np.reciprocal(o, out=o)


def _softsign_slope_a_np(a: np.ndarray, o: np.ndarray) -> np.ndarray:
    """From the activation: (1 - |a|)**2."""
    np.abs(a, out=o)
    np.subtract(1, o, out=o)
    return np.square(o, out=o)


def _hard_sigmoid_np(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """clip(z + 3, 0, 6) / 6."""
    np.add(z, 3, out=o)
    np.clip(o, 0, 6, out=o)
    return np.divide(o, 6, out=o)


def _hard_sigmoid_slope_np(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """1/6 where -3 < z < 3, i.e. |z| < 3, else 0."""
    np.abs(z, out=o)
    np.less(o, 3, out=o)
    return np.multiply(o, 1 / 6, out=o)


def _hard_sigmoid_slope_a_np(a: np.ndarray, o: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """From the activation: 1/6 where 0 < a < 1, else 0."""
    np.greater(a, 0, out=o)
    np.less(a, 1, out=mask)
    np.multiply(o, mask, out=o)
    return np.multiply(o, 1 / 6, out=o)


def _mish_np(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """z tanh(softplus(z)), softplus(z) = logaddexp(0, z)."""
    np.logaddexp(0, z, out=o)
    np.tanh(o, out=o)
    return np.multiply(o, z, out=o)


def _mish_slope_np(z: np.ndarray, o: np.ndarray, t: np.ndarray, u: np.ndarray) -> np.ndarray:
    """th + z sigmoid(z) (1 - th**2), th = tanh(softplus(z))."""
    np.logaddexp(0, z, out=o)
    np.tanh(o, out=o)
    _sigmoid_np(z, t)
    np.multiply(t, z, out=t)
    np.square(o, out=u)
    np.subtract(1, u, out=u)
    np.multiply(t, u, out=t)
    return np.add(o, t, out=o)


def _softmax_np(x: np.ndarray, o: np.ndarray, axis: int, m: np.ndarray, s: np.ndarray):
    np.max(x, axis=axis, keepdims=True, out=m)
    np.subtract(x, m, out=o)
    np.exp(o, out=o)
    np.sum(o, axis=axis, keepdims=True, out=s)
    return np.divide(o, s, out=o)


def _softmax_bw_np(g: np.ndarray, a: np.ndarray, o: np.ndarray, axis: int, s: np.ndarray):
    np.multiply(g, a, out=o)
    np.sum(o, axis=axis, keepdims=True, out=s)
    np.subtract(g, s, out=o)
    return np.multiply(o, a, out=o)


def _specs() -> tuple[Spec, ...]:
    P = lambda f: (lambda i, o, s: f(i, o, s))   # noqa: E731  (readability below)
    specs = [
        # ---- forward
        Spec("sigmoid", "forward", P(lambda i, o, s: lambda: F.sigmoid(i["z"], out=o)),
             P(lambda i, o, s: lambda: _sigmoid_np(i["z"], o)), exp=True),
        Spec("tanh", "forward", P(lambda i, o, s: lambda: F.tanh(i["z"], out=o)),
             P(lambda i, o, s: lambda: np.tanh(i["z"], out=o)), exp=True),
        Spec("relu", "forward", P(lambda i, o, s: lambda: F.relu(i["z"], out=o)),
             P(lambda i, o, s: lambda: np.maximum(i["z"], 0, out=o))),
        Spec("leaky_relu", "forward",
             P(lambda i, o, s: lambda: F.leaky_relu(i["z"], ALPHA, out=o)),
             P(lambda i, o, s: lambda: _leaky_np(i["z"], o))),
        Spec("linear", "forward", P(lambda i, o, s: lambda: F.linear(i["z"], out=o)),
             P(lambda i, o, s: lambda: np.copyto(o, i["z"]))),
        Spec("elu", "forward", P(lambda i, o, s: lambda: F.elu(i["z"], out=o)),
             P(lambda i, o, s: lambda: _elu_np(i["z"], o, s["mask"])),
             exp=True, scratch=("mask",)),
        Spec("selu", "forward", P(lambda i, o, s: lambda: F.selu(i["z"], out=o)),
             P(lambda i, o, s: lambda: _selu_np(i["z"], o, s["mask"])),
             exp=True, scratch=("mask",)),
        Spec("gelu", "forward", P(lambda i, o, s: lambda: F.gelu(i["z"], out=o)),
             P(lambda i, o, s: lambda: _gelu_np(i["z"], o)), exp=True, tolerance=GELU_TOL),
        Spec("gelu_tanh", "forward", P(lambda i, o, s: lambda: F.gelu_tanh(i["z"], out=o)),
             P(lambda i, o, s: lambda: _gelu_tanh_np(i["z"], o)), exp=True),
        Spec("silu", "forward", P(lambda i, o, s: lambda: F.silu(i["z"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(_sigmoid_np(i["z"], o), i["z"], out=o)),
             exp=True),
        Spec("softplus", "forward", P(lambda i, o, s: lambda: F.softplus(i["z"], out=o)),
             P(lambda i, o, s: lambda: np.logaddexp(0, i["z"], out=o)), exp=True),
        Spec("softsign", "forward", P(lambda i, o, s: lambda: F.softsign(i["z"], out=o)),
             P(lambda i, o, s: lambda: _softsign_np(i["z"], o))),
        Spec("hard_sigmoid", "forward",
             P(lambda i, o, s: lambda: F.hard_sigmoid(i["z"], out=o)),
             P(lambda i, o, s: lambda: _hard_sigmoid_np(i["z"], o))),
        Spec("mish", "forward", P(lambda i, o, s: lambda: F.mish(i["z"], out=o)),
             P(lambda i, o, s: lambda: _mish_np(i["z"], o)), exp=True),
        # ---- derivatives from z
        Spec("sigmoid_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.sigmoid_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(
                 _sigmoid_np(i["z"], o), np.subtract(1, o, out=s["t"]), out=o)),
             exp=True, scratch=("t",)),
        Spec("tanh_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.tanh_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: np.subtract(
                 1, np.square(np.tanh(i["z"], out=o), out=o), out=o)), exp=True),
        Spec("relu_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.relu_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: np.greater_equal(i["z"], 0, out=o))),
        Spec("leaky_relu_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.leaky_relu_derivative(i["z"], ALPHA, out=o)),
             P(lambda i, o, s: lambda: _leaky_slope_np(i["z"], o))),
        Spec("linear_derivative", "derivative",
             P(lambda i, o, s: lambda: F.linear_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: o.fill(1)), streams=1),
        Spec("elu_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.elu_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: _elu_slope_np(i["z"], o, s["mask"])),
             exp=True, scratch=("mask",)),
        Spec("selu_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.selu_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: _elu_slope_np(i["z"], o, s["mask"], SELU_SCALE,
                                                     SELU_ALPHA)),
             exp=True, scratch=("mask",)),
        Spec("gelu_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.gelu_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: _gelu_slope_np(i["z"], o, s["t"])),
             exp=True, scratch=("t",)),
        Spec("gelu_tanh_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.gelu_tanh_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: _gelu_tanh_slope_np(i["z"], o, s["t"], s["u"])),
             exp=True, scratch=("t", "u"), tolerance=GELU_TANH_TOL),
        Spec("silu_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.silu_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: _silu_slope_np(i["z"], o, s["t"])),
             exp=True, scratch=("t",)),
        Spec("softplus_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.softplus_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: _sigmoid_np(i["z"], o)), exp=True),
        Spec("softsign_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.softsign_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: _softsign_slope_np(i["z"], o))),
        Spec("hard_sigmoid_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.hard_sigmoid_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: _hard_sigmoid_slope_np(i["z"], o)),
             tolerance=HARD_SIGMOID_TOL),
        Spec("mish_derivative(z)", "derivative",
             P(lambda i, o, s: lambda: F.mish_derivative(i["z"], out=o)),
             P(lambda i, o, s: lambda: _mish_slope_np(i["z"], o, s["t"], s["u"])),
             exp=True, scratch=("t", "u")),
        # ---- derivatives from the activation a
        Spec("sigmoid_derivative(a)", "derivative",
             P(lambda i, o, s: lambda: F.sigmoid_derivative(i["s"], True, out=o)),
             P(lambda i, o, s: lambda: np.multiply(np.subtract(1, i["s"], out=o), i["s"],
                                                   out=o))),
        Spec("tanh_derivative(a)", "derivative",
             P(lambda i, o, s: lambda: F.tanh_derivative(i["t"], True, out=o)),
             P(lambda i, o, s: lambda: np.subtract(1, np.square(i["t"], out=o), out=o))),
        Spec("relu_derivative(a)", "derivative",
             P(lambda i, o, s: lambda: F.relu_derivative(i["r"], True, out=o)),
             P(lambda i, o, s: lambda: np.greater(i["r"], 0, out=o))),
        Spec("leaky_relu_derivative(a)", "derivative",
             P(lambda i, o, s: lambda: F.leaky_relu_derivative(i["a"], ALPHA, True, out=o)),
             P(lambda i, o, s: lambda: _leaky_slope_np(i["a"], o))),
        Spec("elu_derivative(a)", "derivative",
             P(lambda i, o, s: lambda: F.elu_derivative(i["elu"], from_output=True, out=o)),
             P(lambda i, o, s: lambda: _elu_slope_a_np(i["elu"], o, s["mask"])),
             scratch=("mask",)),
        Spec("selu_derivative(a)", "derivative",
             P(lambda i, o, s: lambda: F.selu_derivative(i["selu"], True, out=o)),
             P(lambda i, o, s: lambda: _elu_slope_a_np(i["selu"], o, s["mask"], SELU_SCALE,
                                                       SELU_ALPHA)),
             scratch=("mask",)),
        Spec("softplus_derivative(a)", "derivative",
             P(lambda i, o, s: lambda: F.softplus_derivative(i["softplus"], True, out=o)),
             P(lambda i, o, s: lambda: _softplus_slope_a_np(i["softplus"], o)), exp=True),
        Spec("softsign_derivative(a)", "derivative",
             P(lambda i, o, s: lambda: F.softsign_derivative(i["softsign"], True, out=o)),
             P(lambda i, o, s: lambda: _softsign_slope_a_np(i["softsign"], o))),
        Spec("hard_sigmoid_derivative(a)", "derivative",
             P(lambda i, o, s: lambda: F.hard_sigmoid_derivative(i["hard_sigmoid"], True,
                                                                 out=o)),
             P(lambda i, o, s: lambda: _hard_sigmoid_slope_a_np(i["hard_sigmoid"], o,
                                                                s["mask"])),
             scratch=("mask",), tolerance=HARD_SIGMOID_TOL),
        # ---- backward steps dZ = dA * g'(a)
        Spec("sigmoid_backward", "backward",
             P(lambda i, o, s: lambda: F.sigmoid_backward(i["dA"], i["s"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(np.multiply(
                 np.subtract(1, i["s"], out=o), i["s"], out=o), i["dA"], out=o)), streams=3),
        Spec("tanh_backward", "backward",
             P(lambda i, o, s: lambda: F.tanh_backward(i["dA"], i["t"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(np.subtract(
                 1, np.square(i["t"], out=o), out=o), i["dA"], out=o)), streams=3),
        Spec("relu_backward", "backward",
             P(lambda i, o, s: lambda: F.relu_backward(i["dA"], i["r"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(np.greater(i["r"], 0, out=o), i["dA"],
                                                   out=o)), streams=3),
        Spec("leaky_relu_backward", "backward",
             P(lambda i, o, s: lambda: F.leaky_relu_backward(i["dA"], i["a"], ALPHA, out=o)),
             P(lambda i, o, s: lambda: _leaky_bw_np(i["dA"], i["a"], o, s["mask"])),
             streams=3, scratch=("mask",)),
        Spec("linear_backward", "backward",
             P(lambda i, o, s: lambda: F.linear_backward(i["dA"], i["z"], out=o)),
             P(lambda i, o, s: lambda: np.copyto(o, i["dA"]))),
        Spec("elu_backward", "backward",
             P(lambda i, o, s: lambda: F.elu_backward(i["dA"], i["elu"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(
                 _elu_slope_a_np(i["elu"], o, s["mask"]), i["dA"], out=o)),
             streams=3, scratch=("mask",)),
        Spec("selu_backward", "backward",
             P(lambda i, o, s: lambda: F.selu_backward(i["dA"], i["selu"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(_elu_slope_a_np(
                 i["selu"], o, s["mask"], SELU_SCALE, SELU_ALPHA), i["dA"], out=o)),
             streams=3, scratch=("mask",)),
        Spec("gelu_backward", "backward",
             P(lambda i, o, s: lambda: F.gelu_backward(i["dA"], i["z"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(_gelu_slope_np(i["z"], o, s["t"]),
                                                   i["dA"], out=o)),
             streams=3, exp=True, scratch=("t",)),
        Spec("gelu_tanh_backward", "backward",
             P(lambda i, o, s: lambda: F.gelu_tanh_backward(i["dA"], i["z"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(
                 _gelu_tanh_slope_np(i["z"], o, s["t"], s["u"]), i["dA"], out=o)),
             streams=3, exp=True, scratch=("t", "u"), tolerance=GELU_TANH_TOL),
        Spec("silu_backward", "backward",
             P(lambda i, o, s: lambda: F.silu_backward(i["dA"], i["z"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(_silu_slope_np(i["z"], o, s["t"]),
                                                   i["dA"], out=o)),
             streams=3, exp=True, scratch=("t",)),
        Spec("softplus_backward", "backward",
             P(lambda i, o, s: lambda: F.softplus_backward(i["dA"], i["softplus"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(_softplus_slope_a_np(i["softplus"], o),
                                                   i["dA"], out=o)),
             streams=3, exp=True),
        Spec("softsign_backward", "backward",
             P(lambda i, o, s: lambda: F.softsign_backward(i["dA"], i["softsign"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(_softsign_slope_a_np(i["softsign"], o),
                                                   i["dA"], out=o)), streams=3),
        Spec("hard_sigmoid_backward", "backward",
             P(lambda i, o, s: lambda: F.hard_sigmoid_backward(i["dA"], i["hard_sigmoid"],
                                                               out=o)),
             P(lambda i, o, s: lambda: np.multiply(_hard_sigmoid_slope_a_np(
                 i["hard_sigmoid"], o, s["mask"]), i["dA"], out=o)),
             streams=3, scratch=("mask",), tolerance=HARD_SIGMOID_TOL),
        Spec("mish_backward", "backward",
             P(lambda i, o, s: lambda: F.mish_backward(i["dA"], i["z"], out=o)),
             P(lambda i, o, s: lambda: np.multiply(
                 _mish_slope_np(i["z"], o, s["t"], s["u"]), i["dA"], out=o)),
             streams=3, exp=True, scratch=("t", "u")),
    ]
    for axis in (0, 1):
        for order, sfx in (("C", ""), ("F", "F")):
            specs.append(Spec(
                f"softmax axis={axis} {order}", "softmax",
                lambda i, o, s, axis=axis, sfx=sfx: lambda: F.softmax(i["z" + sfx], axis, out=o),
                lambda i, o, s, axis=axis, sfx=sfx: lambda: _softmax_np(
                    i["z" + sfx], o, axis, s[f"r{axis}"], s[f"r{axis}'"]),
                exp=True, scratch=(f"r{axis}", f"r{axis}'")))
    for axis in (0, 1):
        for order, sfx in (("C", ""), ("F", "F")):
            specs.append(Spec(
                f"softmax_backward axis={axis} {order}", "softmax",
                lambda i, o, s, axis=axis, sfx=sfx: lambda: F.softmax_backward(
                    i["dA" + sfx], i[f"sm{axis}{sfx}"], axis, out=o),
                lambda i, o, s, axis=axis, sfx=sfx: lambda: _softmax_bw_np(
                    i["dA" + sfx], i[f"sm{axis}{sfx}"], o, axis, s[f"r{axis}"]),
                streams=3, scratch=(f"r{axis}",)))
    return tuple(specs)


SPECS = _specs()
KINDS = ("forward", "derivative", "backward", "softmax")
BINARY_BACKWARD = tuple(s.name for s in SPECS if s.kind == "backward" and not s.exp)


def make_inputs(n: int, dtype: str) -> dict[str, np.ndarray]:
    """The base inputs (``_torch_anchor.base_inputs``) and fastdnn's activations of z."""
    i = base_inputs(n, dtype, SEED)
    z = i["z"]
    i.update(s=F.sigmoid(z), t=F.tanh(z), r=F.relu(z), a=F.leaky_relu(z, ALPHA),
             elu=F.elu(z), selu=F.selu(z), softplus=F.softplus(z), softsign=F.softsign(z),
             hard_sigmoid=F.hard_sigmoid(z))
    for axis in (0, 1):
        i[f"sm{axis}"] = F.softmax(z, axis)
        i[f"sm{axis}F"] = F.softmax(i["zF"], axis)
    return i


def _scratch(spec: Spec, z: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in spec.scratch:
        if name == "mask":
            out[name] = np.empty(z.shape, dtype=bool)
        elif name.startswith("r"):
            axis = int(name[1])
            shape = (1, z.shape[1]) if axis == 0 else (z.shape[0], 1)
            out[name] = np.empty(shape, dtype=z.dtype, order=spec.order)
        else:
            out[name] = np.empty_like(z)
    return out


# ------------------------------------------------------------------ one case

def _runs(samples: int, rounds: int) -> list[int]:
    k = max(1, min(rounds, samples))
    return [samples // k + (i < samples % k) for i in range(k)]


def _paired(num: Stats, den: Stats) -> float:
    if len(num.sample_ns) != len(den.sample_ns):
        return num.median_ns / den.median_ns
    return statistics.median(a / b for a, b in zip(num.sample_ns, den.sample_ns))


def _check(spec: Spec, dtype: str, got: dict[str, np.ndarray], step: int) -> list[str]:
    failures = []
    ref = got[FASTDNN]
    if str(ref.dtype) != dtype:
        failures.append(f"fastdnn returns {ref.dtype}")
    tol = (spec.tolerance or {}).get(dtype, _TOLERANCE[dtype])
    for impl, arr in got.items():
        if impl == FASTDNN:
            continue
        want = ref[:, ::step] if impl == TORCH else ref
        if arr.shape != want.shape:
            failures.append(f"{impl} returns shape {arr.shape}, fastdnn {want.shape}")
        elif not np.allclose(arr, want, equal_nan=True, **tol):
            worst = float(np.max(np.abs(arr.astype(np.float64) - want)))
            failures.append(f"{impl} differs from fastdnn (max abs diff {worst:.3g})")
    return failures


def measure_spec(spec: Spec, inputs: dict, cfg: Config, torch_threads: int | None,
                 copy_src: np.ndarray, copy_dst: np.ndarray
                 ) -> tuple[dict[str, Stats], list[str]]:
    """Check, then time, one function at one size and dtype (torch's on
    ``torch_threads`` threads in its anchor worker; None: no torch)."""
    z = inputs["z"]
    n = z.size
    outs = {impl: np.empty_like(z, order=spec.order) for impl in (FASTDNN, NUMPY)}
    scratch = _scratch(spec, z)
    local: dict[str, Thunk] = {
        FASTDNN: spec.fastdnn(inputs, outs[FASTDNN], scratch),
        NUMPY: spec.numpy(inputs, outs[NUMPY], scratch),
        COPY: lambda: np.copyto(copy_dst, copy_src)}
    step = max(1, z.shape[1] // CHECK_COLUMNS)
    with np.errstate(all="ignore"):
        local[FASTDNN]()
        local[NUMPY]()
    got = {FASTDNN: outs[FASTDNN], NUMPY: outs[NUMPY]}
    numbers: dict[str, int] = {}
    torch_call = None
    if torch_threads is not None:
        torch_call = RemoteCall("torch", "activation",
                                (spec.name, n, str(z.dtype), SEED, step), torch_threads)
        numbers[TORCH] = torch_call.remote_calibrate(cfg.target_ns)
        got[TORCH] = torch_call()
    failures = _check(spec, str(z.dtype), got, step)
    samples = min([cfg.samples] + [cap for size, cap in SAMPLE_CAPS if n >= size])
    numbers.update({impl: calibrate(fn, cfg.target_ns) for impl, fn in local.items()})
    timed = ([TORCH] if torch_call else []) + list(local)
    times: dict[str, list[float]] = {impl: [] for impl in timed}
    warm = cfg.warmup(WARMUP_NS)
    gc_was_enabled = gc.isenabled()
    try:
        for run in _runs(samples, ROUNDS):
            if torch_call is not None:
                times[TORCH] += torch_call.remote_samples(warm, run, numbers[TORCH])
            for impl, fn in local.items():
                if warm > 0:
                    warm_up(fn, warm)
                gc.disable()
                for _ in range(run):
                    times[impl].append(_time_loop(fn, numbers[impl]) / numbers[impl])
                if gc_was_enabled:
                    gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
        if torch_call is not None:
            torch_call.drop()
    return {impl: _stats(t, numbers[impl]) for impl, t in times.items()}, failures


def record(spec: Spec, dtype: str, n: int, stats: dict[str, Stats]) -> dict[str, Any]:
    """The measurement record of one case: displayed values, ratios, raw statistics."""
    f = stats[FASTDNN]
    ratios = [{"label": "vs numpy", "numerator": NUMPY, "denominator": FASTDNN,
               "value": _paired(stats[NUMPY], f), "quantity": QUANTITY}]
    if TORCH in stats:
        ratios.append({"label": "vs torch", "numerator": TORCH, "denominator": FASTDNN,
                       "value": _paired(stats[TORCH], f), "quantity": QUANTITY})
    to_copy = _paired(f, stats[COPY])
    ratios.append({"label": "fastdnn/copy", "numerator": FASTDNN, "denominator": COPY,
                   "value": to_copy})
    roof = (f"{f.median_ns / n:.3g} ns/el" if spec.exp else f"{100 / to_copy:.0f}% copy")
    iqr = max((s.q3_ns - s.q1_ns) / s.median_ns for s in stats.values())
    values: dict[str, Any] = {f"{impl} µs": fmt_us(stats[impl].median_ns) if impl in stats
                              else "" for impl in (FASTDNN, NUMPY, TORCH, COPY)}
    for q in ratios[:-1]:
        values[q["label"]] = f"{q['value']:.2f}x"
    values.setdefault("vs torch", "")
    values["roofline"] = roof
    values["IQR"] = f"{100 * iqr:.0f}%"
    groups = [f"{spec.name} {dtype}"]
    if spec.name.startswith("softmax "):
        groups.append(f"softmax {dtype}")
    if spec.name in BINARY_BACKWARD:
        groups.append(f"backward {dtype}")
    return {"section": SECTION, "name": spec.name, "dtype": dtype, "n": n, "impl": FASTDNN,
            "table": f"{SECTION}: {spec.kind}", "groups": groups, "values": values,
            "ratios": ratios, "streams": spec.streams, "compute_bound": spec.exp,
            "raw": {impl: {"median_ns": s.median_ns, "min_ns": s.min_ns, "q1_ns": s.q1_ns,
                           "q3_ns": s.q3_ns, "number": s.number,
                           "sample_ns": [round(t, 1) for t in s.sample_ns]}
                    for impl, s in stats.items()},
            "legend": LEGEND}


LEGEND = ("Each implementation writes into a preallocated out= (torch in a worker process "
          "of its own, same thread count). µs: median per call. vs numpy / vs torch: the "
          "other's time / fastdnn's (> 1: fastdnn faster), median over rounds of the paired "
          "ratio. roofline: memory-bound functions, % of np.copyto's bandwidth fastdnn "
          "reaches on the same bytes (copy µs); functions with an exponential, ns per "
          "element. IQR: largest (q3 - q1) / median of the row's implementations.")


# ------------------------------------------------------------------ the section

@dataclass
class Section:
    """The whole section as one measured case: its records come back sorted by kind,
    function, dtype and N (one table per kind), progress goes to stderr as it runs."""

    cfg: Config
    section: str = SECTION
    name: str = "element-wise API"
    dtype: str = "float32/float64"
    n: int = 0

    def measure(self) -> tuple[list[dict], list[str], list[str]]:
        cfg = self.cfg
        sizes = SMOKE_SIZES if cfg.smoke else QUICK_SIZES if cfg.quick else SIZES
        torch_threads, notes, failures, records = None, [], [], []
        backoffs = team_backoffs()
        if cfg.torch is not None:
            try:
                AnchorWorker.get("torch")
                torch_threads = fastdnn.get_num_threads()
            except OSError as exc:
                notes.append(f"torch worker not started ({exc}): no torch column")
        try:
            for n in sizes:
                for dtype in DTYPES:
                    inputs = make_inputs(n, dtype)
                    copies = {k: (np.ones(n * k // 2, dtype), np.empty(n * k // 2, dtype))
                              for k in {s.streams for s in SPECS}}
                    for spec in SPECS:
                        if n > spec.max_n:
                            continue
                        stats, bad = measure_spec(spec, inputs, cfg, torch_threads,
                                                  *copies[spec.streams])
                        rec = record(spec, dtype, n, stats)
                        records.append(rec)
                        failures += [f"{spec.name} {dtype} N={fmt_n(n)}: {b}" for b in bad]
                        for b in bad:
                            print(f"  FAILED: {spec.name} {dtype} N={fmt_n(n)}: {b}",
                                  file=sys.stderr)
                        v = rec["values"]
                        print(f"[{SECTION}] {spec.name} {dtype} N={fmt_n(n)}: "
                              + " ".join(f"{k}={v[k]}" for k in v if v[k]),
                              file=sys.stderr, flush=True)
                    del inputs, copies
        finally:
            if torch_threads is not None:
                AnchorWorker.stop("torch")      # and with it the inputs it keeps
        notes.append(f"fastdnn's thread team backed off {team_backoffs() - backoffs} times "
                     "during the section (short passes on one thread for 0.25-20 ms after "
                     "its threads started late twice in a row)")
        order = {s.name: i for i, s in enumerate(SPECS)}
        records.sort(key=lambda r: (order[r["name"]], r["dtype"], r["n"]))
        return records, notes, failures


def cases(cfg: Config) -> Iterator[Section]:
    """One measured case holding every function, size and dtype (see :class:`Section`)."""
    yield Section(cfg)
