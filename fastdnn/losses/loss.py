"""``Loss``: the base class of the losses and the checks and compiled sum they share.

The checks of ``A``, ``Y`` and user targets, the clipping bounds of the
cross-entropies and the compiled cost sum live here; a subclass implements
``_cost_sum``, ``gradient`` and ``_prepare`` (see :mod:`fastdnn.losses`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _registry
from .._compiled import CODES, LossKernel, NotCompilable, check_maths, code
from .._kernels import _losses
from .._validation import check_dtype, check_sample_weight, float_array, real_array

__all__ = ["Loss"]

if TYPE_CHECKING:
    from numpy.typing import ArrayLike as ArrayLike
    from numpy.typing import DTypeLike, NDArray
else:
    ArrayLike = Any


# ---------------------------------------------------------------- validation

def _check_pair(A: ArrayLike, Y: ArrayLike
                ) -> tuple[NDArray[np.floating[Any]], NDArray[np.floating[Any]]]:
    """Validated ``(A, Y)`` in the lecture layout, ``Y`` in the dtype of ``A``."""
    A = float_array(A, "A")
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D (n_L, m), one column per example, got shape {A.shape}")
    Y = real_array(Y, "Y")
    if Y.shape != A.shape:
        raise ValueError(f"Y has shape {Y.shape} but A has shape {A.shape}: Y must be "
                         "(n_L, m) like A")
    if A.shape[1] == 0:
        raise ValueError(f"A must hold at least one example (m >= 1), got shape {A.shape}")
    return A, Y.astype(A.dtype, copy=False)


def _check_n_outputs(n_outputs: Any) -> int:
    if isinstance(n_outputs, (bool, np.bool_)) or not isinstance(n_outputs, (int, np.integer)):
        raise TypeError(f"n_outputs must be an int, got {type(n_outputs).__name__}")
    if n_outputs < 1:
        raise ValueError(f"n_outputs must be >= 1, got {n_outputs}")
    return int(n_outputs)


def _check_targets(y: ArrayLike, n: int, what: str) -> np.ndarray:
    """Common checks of user targets: real dtype, 1-D or 2-D, non-empty, finite."""
    y = real_array(y, what)
    if y.ndim not in (1, 2):
        raise ValueError(f"{what} must have shape (m,) or (m, {n}), got shape {y.shape}")
    if y.shape[0] == 0:
        raise ValueError(f"{what} must hold at least one example, got shape {y.shape}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        bad = "NaN" if np.isnan(y).any() else "inf"
        raise ValueError(f"{what} contains {bad}; targets must be finite")
    return y


def _check_unit_interval(y: np.ndarray, what: str, loss: str) -> None:
    lo, hi = y.min(), y.max()
    if lo < 0 or hi > 1:
        raise ValueError(f"{loss} needs targets in [0, 1]; {what} holds values in "
                         f"[{lo}, {hi}]")


def _clip_bounds(dtype: np.dtype[np.floating[Any]]
                 ) -> tuple[np.floating[Any], np.floating[Any]]:
    """``tiny`` (smallest normal) and ``1 - eps/2`` (largest number below 1) of ``dtype``:
    the compiled kernels' clipping of ``A`` (one definition, ``_kernels/_loss.pxd``)."""
    lo, hi = _losses.clip_range(dtype == np.float32)
    return dtype.type(lo), dtype.type(hi)


_LOSS_CODES = CODES["loss"]


def _kernel_pair(A: np.ndarray, Y: np.ndarray, dtype: Any = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``A`` and ``Y`` as the compiled kernels read them: aligned float arrays of one memory
    order (``Y`` of ``dtype`` when given)."""
    if Y.dtype not in (np.float32, np.float64) or (dtype is not None and Y.dtype != dtype):
        Y = Y.astype(A.dtype)
    if not ((A.flags.c_contiguous and Y.flags.c_contiguous)
            or (A.flags.f_contiguous and Y.flags.f_contiguous)):
        A, Y = np.ascontiguousarray(A), np.ascontiguousarray(Y)
    if not (A.flags.aligned and Y.flags.aligned):   # views into byte buffers, e.g.
        A, Y = np.array(A, order="C"), np.array(Y, order="C")
    return A, Y


def _compiled_sum(owner: type[Loss], A: np.ndarray, Y: np.ndarray, logits: bool = False,
                  param: float = 0.0, kernel: str = "") -> float:
    """The compiled sum of ``owner``'s per-example loss over ``A`` against ``Y``
    (``fastdnn/_kernels/_loss.pxd``: the formulas and clipping the training loop uses);
    ``logits``: ``A`` holds logits; ``param``: the loss's parameter; ``kernel``: the
    kernel's name when it is not ``owner.name``."""
    A, Y = _kernel_pair(A, Y)
    return _losses.cost_sum(_LOSS_CODES[kernel or owner.name], A, Y, True, logits, param)


def _compiled_gradient(owner: type[Loss], A: np.ndarray, Y: np.ndarray, logits: bool = False,
                       param: float = 0.0, kernel: str = "") -> np.ndarray:
    """``dL/dA`` of ``owner`` from the compiled kernel (``_compiled_sum``'s arguments), in
    the dtype of ``A``."""
    A, Y = _kernel_pair(A, Y, A.dtype)
    return _losses.gradient(_LOSS_CODES[kernel or owner.name], A, Y, logits, param)


def _regression_targets(y: np.ndarray, n: int, what: str) -> np.ndarray:
    """``(m,)`` for one output unit, else ``(m, n)``: the targets of a regression loss."""
    if y.ndim == 1:
        if n != 1:
            raise ValueError(f"{what} has shape {y.shape} (one value per example) but the "
                             f"output layer has n_outputs={n} units; expected {what} of "
                             f"shape (m, {n})")
        return y.reshape(-1, 1)
    if y.shape[1] != n:
        raise ValueError(f"{what} has shape {y.shape}; expected (m, {n}) for an output layer "
                         f"of {n} unit{'s' if n > 1 else ''}")
    return y


def _spec(loss: Loss, owner: type[Loss], kernel: str, logits: bool = False,
          param: float = 0.0) -> LossKernel:
    """The kernel of ``loss``, an instance of the built-in ``owner`` whose formula is the
    kernel named ``kernel``."""
    check_maths(loss, owner, "loss")
    return LossKernel(code("loss", kernel), loss.fused_activation or None, logits, param)


# ---------------------------------------------------------------- base class

class Loss:
    """Base class of the losses: ``cost``, ``gradient``, ``prepare_targets``, ``__call__``.

    Subclasses set ``name`` (registry name) and ``fused_activation`` (the output
    activation with which ``dZ = A - Y``) and implement ``_cost_sum``,
    ``gradient`` and ``_prepare``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdnn.losses import get
    >>> loss = get("mse")
    >>> isinstance(loss, Loss), loss.name, loss.fused_activation
    (True, 'mse', 'linear')
    >>> Y = loss.prepare_targets([1.0, 2.0], n_outputs=1, dtype=np.float64).T  # (1, m)
    >>> loss.cost(np.array([[1.0, 4.0]]), Y)  # (0 + 2**2 / 2) / 2
    1.0
    """

    name: str = ""
    fused_activation: str = ""   # "" when no output activation makes dZ = A - Y

    def cost(self, A: ArrayLike, Y: ArrayLike) -> float:
        """``J = (1/m) sum_examples L(a, y)`` for ``A``, ``Y`` of shape ``(n_L, m)``.

        Parameters
        ----------
        A : ndarray (n_L, m) of float32 or float64
            Output activations, one column per example.
        Y : array_like (n_L, m)
            Targets (see :meth:`prepare_targets`); cast to the dtype of ``A``.

        Returns
        -------
        float
            NaN if ``A`` or ``Y`` holds NaN (no warning).
        """
        A, Y = _check_pair(A, Y)
        with np.errstate(all="ignore"):
            return self._cost_sum(A, Y) / A.shape[1]  # type: ignore[no-any-return]  # a float

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        raise NotImplementedError

    def _weighted_cost_sum(self, A: np.ndarray, Y: np.ndarray, w: np.ndarray) -> float:
        """``sum_j w[j] L(A[:, j], Y[:, j])`` for checked ``A``, ``Y`` ``(n_L, m)`` and float64
        weights ``w (m,)``: the compiled kernel's sums where the loss has one, else
        ``_cost_sum`` column by column."""
        try:
            spec = self.compiled_spec()
        except NotCompilable:
            return float(sum(float(w[j]) * self._cost_sum(A[:, j:j + 1], Y[:, j:j + 1])
                             for j in range(A.shape[1])))
        if Y.dtype not in (np.float32, np.float64):
            Y = Y.astype(A.dtype)
        A, Y = np.asfortranarray(A), np.asfortranarray(Y)
        if not (A.flags.aligned and Y.flags.aligned):
            A, Y = np.array(A, order="F"), np.array(Y, order="F")
        return _losses.cost_sum_weighted(spec.code, A, Y, np.ascontiguousarray(w, np.float64),
                                          True, spec.logits, spec.param)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        """``dA = dL/dA`` per example (not divided by ``m``), shape and dtype of ``A``.

        For an output activation other than ``fused_activation``: the dense
        backward step forms ``dZ = dA * g'`` and divides by ``m`` in ``dW`` and
        ``db``. Cross-entropies use the clipped ``A`` (see the module notes), so
        the result is finite where ``A`` is exactly 0 or 1.
        """
        raise NotImplementedError

    def prepare_targets(self, y: ArrayLike, n_outputs: int, dtype: DTypeLike = np.float32,
                        name: str = "y") -> np.ndarray:
        """Targets as a user passes them (``(m,)``, ``(m, 1)``, ``(m, k)``) -> ``(m, n_outputs)``.

        Parameters
        ----------
        y : array_like
            What a Keras / scikit-learn user passes as ``y``; accepted forms
            depend on the loss (see the class docs). NaN or inf is rejected.
        n_outputs : int
            Units of the output layer, ``n_L``.
        dtype : float32 or float64, default float32
        name : str, default "y"
            What error messages call the targets (e.g. ``"y_val"``).

        Returns
        -------
        ndarray, shape (m, n_outputs), C-contiguous, of ``dtype``
            Its transpose ``.T`` is the lecture's ``Y`` ``(n_L, m)`` (F-ordered,
            no copy). May share memory with ``y`` when no conversion is needed.

        Raises
        ------
        ValueError
            Shape, range or NaN problems; the message names ``name`` and gives the
            expected and the given shape or values.
        TypeError
            Non-numeric ``y``, or ``dtype`` not float32/float64.
        """
        dt = check_dtype(dtype)
        n = _check_n_outputs(n_outputs)
        y = self._prepare(_check_targets(y, n, name), n, name, dt)
        return np.ascontiguousarray(y, dtype=dt)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        raise NotImplementedError

    def _fused_targets(self, Y: np.ndarray) -> np.ndarray:
        """What the output fused with this loss subtracts from ``A`` (``dZ = A - T``): ``Y``,
        or the targets with label smoothing applied."""
        return Y

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike,
                 sample_weight: ArrayLike | None = None) -> float:
        """The cost in the user layout: ``y_true`` as for :meth:`prepare_targets`,
        ``y_pred`` of shape ``(m,)`` or ``(m, n_outputs)``. Same number as :meth:`cost`.

        ``sample_weight`` ``(m,)``: Keras' ``"sum_over_batch_size"`` reduction,
        ``sum_j w_j L_j / m`` (the mean over all ``m`` examples, not over the weights)."""
        P = float_array(y_pred, "y_pred")
        if P.ndim == 1:
            P = P.reshape(-1, 1)
        elif P.ndim != 2:
            raise ValueError(f"y_pred must have shape (m,) or (m, n_outputs), got {P.shape}")
        n = P.shape[1]
        Y = np.asarray(self._prepare(_check_targets(y_true, n, "y_true"), n, "y_true", P.dtype),
                       dtype=P.dtype)
        if Y.shape[0] != P.shape[0]:
            raise ValueError(f"y_true has {Y.shape[0]} examples but y_pred has {P.shape[0]} "
                             f"(shape {P.shape})")
        if sample_weight is None:
            return self.cost(P.T, Y.T)
        w = check_sample_weight(sample_weight, P.shape[0], x_name="y_pred")
        A, Yt = _check_pair(P.T, Y.T)
        with np.errstate(all="ignore"):
            return self._weighted_cost_sum(A, Yt, w) / A.shape[1]  # type: ignore[no-any-return]

    def compiled_spec(self) -> LossKernel:
        """What the compiled training loop needs to compute this loss
        (``fastdnn._compiled``); raises ``NotCompilable`` when it has no kernel for it.

        Examples
        --------
        >>> from fastdnn.losses import MeanSquaredError
        >>> MeanSquaredError().compiled_spec().fused_activation
        'linear'
        """
        raise NotCompilable(f"{type(self).__name__} has no compiled kernel")

    def get_config(self) -> dict[str, Any]:
        """JSON-able description; ``get(config)`` or ``from_config`` rebuilds the loss."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        """Rebuild a loss from :meth:`get_config`.

        Examples
        --------
        >>> from fastdnn.losses import MeanSquaredError
        >>> MeanSquaredError.from_config({"name": "mse"})
        MeanSquaredError()
        """
        from . import _lookup  # the registry imports this module
        return _registry.from_config(  # type: ignore[no-any-return]  # an instance of cls
            cls, config, _lookup, "loss")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"
