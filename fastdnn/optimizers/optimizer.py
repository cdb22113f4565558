"""``Optimizer``: the base class of the optimizers and the argument checks they share.

Learning rate (a number or a schedule), gradient clipping, the ``epoch`` and
``iterations`` counters, the state arrays (built on first use), config and
state I/O live here; a subclass names its state arrays and implements one
update step.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Mapping, Sequence, TypedDict

import numpy as np

from .. import _aligned
from .. import schedules as _schedules
from .._kernels import _optim
from .._compiled import NotCompilable, OptimizerKernel
from .._validation import check_int, check_real
from ..schedules import LearningRateSchedule

__all__ = ["Optimizer"]

_STATE_COUNTERS = ("iterations", "epoch")


class _Clipping(TypedDict):
    """The clipping as the compiled update and kernel spec take it (0: none)."""
    clipnorm: float
    global_clipnorm: float
    clipvalue: float


# ------------------------------------------------------------------ checks

def _learning_rate(value: Any) -> float | LearningRateSchedule:
    if isinstance(value, LearningRateSchedule):
        return value
    if isinstance(value, Mapping):
        return _schedules.get(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("learning_rate must be a number > 0 or a LearningRateSchedule, got "
                        f"{type(value).__name__}")
    lr = float(value)
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"learning_rate must be a finite number > 0, got {lr!r}")
    return lr


def _beta(value: Any, name: str) -> float:
    return check_real(value, name, 0.0, 1.0, high_open=True)


def _epsilon(value: Any) -> float:
    return check_real(value, "epsilon", 0.0, low_open=True)


def _clip(value: Any, name: str) -> float | None:
    return check_real(value, name, 0.0, low_open=True, allow_none=True)


def _as_list(items: Any, name: str) -> list[Any]:
    if type(items) is list:
        return items
    if not isinstance(items, Sequence):  # a lone ndarray is not a Sequence, nor a generator
        raise TypeError(f"{name} must be a list or tuple of arrays, got {type(items).__name__}")
    return list(items)


def _state_counter(state: Mapping[str, Any], key: str) -> int:
    if key not in state:
        raise ValueError(f"optimizer state is missing {key!r}")
    a = np.asarray(state[key])
    if a.ndim != 0 or a.dtype.kind not in "iu" or int(a) < 0:
        raise ValueError(f"optimizer state {key!r} must be a 0-d integer array >= 0, got "
                         f"shape {a.shape} dtype {a.dtype}")
    return int(a)


class Optimizer:
    """Base class of the optimizers: learning rate, counters, state and I/O.

    Subclasses name their state arrays in ``_slot_names`` and implement
    ``_update`` (one call into the compiled kernels per step).

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule, default 0.01
        A finite number > 0, or a schedule evaluated at :attr:`epoch`.
    clipnorm : float, optional
        Each parameter array's gradient is scaled to an L2 norm of at most this
        (finite, > 0): ``g * clipnorm / norm(g)`` when ``norm(g) > clipnorm``.
    global_clipnorm : float, optional
        The same over all parameter arrays of a step together (one norm, one
        factor). At most one of ``clipnorm`` and ``global_clipnorm``.
    clipvalue : float, optional
        Each gradient entry is clipped to ``[-clipvalue, clipvalue]`` (after a
        norm clip, when both are given).

    The gradient clipped is the one the update uses: ``grad + decay * param``
    with the L2 term of ``decays``. A norm that is not finite gives every entry
    of its arrays a non-finite or zero factor (NaN for a NaN norm), so training
    stops as it does for a non-finite cost. ``None`` (the default) clips nothing.

    Attributes
    ----------
    learning_rate : float
        The current rate (a schedule evaluated at :attr:`epoch`). Assigning
        a number or a schedule replaces the rate or schedule.
    epoch : int
        The current epoch (0-based); the model sets it at the start of each epoch.
    iterations : int
        Number of :meth:`apply_gradients` steps done (Adam's ``t``).
    built : bool
        Whether the state arrays exist.

    Examples
    --------
    >>> from fastdnn.optimizers import GD
    >>> opt = GD(learning_rate=0.1)
    >>> opt.learning_rate, opt.epoch, opt.iterations
    (0.1, 0, 0)
    """

    _slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: float | LearningRateSchedule = 0.01, *,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        self._lr: float | LearningRateSchedule = _learning_rate(learning_rate)
        self._clipnorm = _clip(clipnorm, "clipnorm")
        self._global_clipnorm = _clip(global_clipnorm, "global_clipnorm")
        self._clipvalue = _clip(clipvalue, "clipvalue")
        if self._clipnorm is not None and self._global_clipnorm is not None:
            raise ValueError("only one of clipnorm and global_clipnorm can be set, got "
                             f"clipnorm={clipnorm!r} and global_clipnorm={global_clipnorm!r}")
        self._epoch = 0
        self._iterations = 0
        self._slots: tuple[list[np.ndarray], ...] | None = None

    # ------------------------------------------------------------ properties

    @property
    def learning_rate(self) -> float:
        """The current learning rate (a schedule evaluated at :attr:`epoch`)."""
        lr = self._lr
        if isinstance(lr, LearningRateSchedule):
            value = lr(self._epoch)
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not (math.isfinite(value) and value >= 0)):
                raise ValueError(f"learning-rate schedule {lr!r} gave {value!r} at epoch "
                                 f"{self._epoch}; expected a finite number >= 0")
            return float(value)
        return lr

    @learning_rate.setter
    def learning_rate(self, value: float | LearningRateSchedule) -> None:
        self._lr = _learning_rate(value)

    @property
    def clipnorm(self) -> float | None:
        """The largest L2 norm of each parameter array's gradient, or None."""
        return self._clipnorm

    @property
    def global_clipnorm(self) -> float | None:
        """The largest L2 norm of all parameter arrays' gradients together, or None."""
        return self._global_clipnorm

    @property
    def clipvalue(self) -> float | None:
        """The largest absolute value of a gradient entry, or None."""
        return self._clipvalue

    def _clip_args(self) -> _Clipping:
        """The clipping as the compiled update takes it (0: none)."""
        return {"clipnorm": self._clipnorm or 0.0,
                "global_clipnorm": self._global_clipnorm or 0.0,
                "clipvalue": self._clipvalue or 0.0}

    @property
    def epoch(self) -> int:
        """The current epoch (0-based), set by the model at the start of each epoch."""
        return self._epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch = check_int(value, "epoch", 0)

    @property
    def iterations(self) -> int:
        """Number of :meth:`apply_gradients` steps done."""
        return self._iterations

    @property
    def built(self) -> bool:
        """Whether the state arrays exist (after :meth:`build` or the first step)."""
        return self._slots is not None

    # ----------------------------------------------------------------- steps

    def _new_slots(self, params: list[np.ndarray]) -> tuple[list[np.ndarray], ...]:
        _optim.check_params(params)
        return tuple([_aligned.zeros_like(p) for p in params] for _ in self._slot_names)

    def build(self, params: Sequence[np.ndarray]) -> None:
        """Allocate the state arrays (zeros like each parameter array).

        :meth:`apply_gradients` builds on first use, so calling this is
        optional. On an optimizer already built for arrays of the same shapes
        and dtypes it does nothing; for other arrays it raises ``ValueError``
        (the state belongs to the parameters it was built for: use a new
        optimizer for new parameters).

        Parameters
        ----------
        params : sequence of ndarray
            Writeable C- or F-contiguous float32/float64 arrays.

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.optimizers import Momentum
        >>> opt = Momentum()
        >>> opt.build([np.ones((3, 2)), np.zeros((3, 1))])
        >>> opt.built, sorted(opt.get_state())[:2]
        (True, ['epoch', 'iterations'])
        """
        params = _as_list(params, "params")
        if self._slots is None:
            self._slots = self._new_slots(params)
            return
        _optim.check_params(params)
        for name, arrays in zip(self._slot_names, self._slots):
            if len(arrays) != len(params):
                raise ValueError(f"the optimizer was built for {len(arrays)} parameter arrays, "
                                 f"got {len(params)}; use a new optimizer for other parameters")
            for i, (s, p) in enumerate(zip(arrays, params)):
                if s.shape != p.shape or s.dtype != p.dtype:
                    raise ValueError(
                        f"the optimizer state {name}[{i}] has shape {s.shape} and dtype "
                        f"{s.dtype} but params[{i}] has shape {p.shape} and dtype {p.dtype}: "
                        "the optimizer was built for other parameters; use a new optimizer")

    def apply_gradients(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
                        decays: Sequence[float] | None = None) -> None:
        """One optimization step: update every parameter array in place.

        Everything is checked before anything is updated, so an error leaves
        parameters, state and :attr:`iterations` unchanged.

        Parameters
        ----------
        params : sequence of ndarray
            Writeable C- or F-contiguous float32/float64 arrays, updated in place.
        grads : sequence of ndarray
            One gradient per parameter array, same shape and dtype (any memory
            order; not modified). A gradient may share memory with its own
            parameter array, not with another one.
        decays : sequence of float, optional
            One L2 coefficient ``>= 0`` per parameter array: the gradient used
            is ``grad + decay * param``. Default: no penalty.

        Raises
        ------
        TypeError
            A parameter or gradient is not a float32/float64 ndarray, or their dtypes differ.
        ValueError
            Counts or shapes differ, a parameter cannot be updated in place,
            a decay is negative or not finite, or the state was built for other
            parameters.

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.optimizers import GD
        >>> W, b = np.ones((2, 2)), np.zeros((2, 1))
        >>> GD(learning_rate=0.5).apply_gradients([W, b], [np.ones((2, 2)), np.ones((2, 1))],
        ...                                       decays=[0.5, 0.0])
        >>> float(W[0, 0]), float(b[0, 0])  # 1 - 0.5 * (1 + 0.5 * 1), 0 - 0.5 * 1
        (0.25, -0.5)
        """
        params = _as_list(params, "params")
        grads = _as_list(grads, "grads")
        if decays is not None and not isinstance(decays, (list, tuple, np.ndarray)):
            decays = _as_list(decays, "decays")
        lr = self.learning_rate
        slots = self._slots
        if slots is None:
            slots = self._new_slots(params)
        self._update(params, grads, slots, decays, lr)  # checks everything, then updates
        self._slots = slots
        self._iterations += 1

    def _update(self, params: list[np.ndarray], grads: list[np.ndarray],
                slots: tuple[list[np.ndarray], ...], decays: Any, lr: float) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # -------------------------------------------------------------- config

    def compiled_spec(self) -> OptimizerKernel:
        """What the compiled training loop needs to run this update
        (``fastdnn._compiled``); raises ``NotCompilable`` when it has no kernel for it.

        Examples
        --------
        >>> from fastdnn.optimizers import GD
        >>> GD().compiled_spec().beta1
        0.0
        """
        raise NotCompilable(f"{type(self).__name__} has no compiled kernel")

    def _hyperparameters(self) -> dict[str, Any]:
        """The subclass's own arguments, in :meth:`get_config`'s order."""
        return {}

    def get_config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this optimizer (JSON-compatible).

        A schedule appears as ``{"class_name": ..., "config": ...}``; ``clipnorm``,
        ``global_clipnorm`` and ``clipvalue`` appear when set.

        Examples
        --------
        >>> from fastdnn.optimizers import Momentum
        >>> Momentum(learning_rate=0.05, beta=0.8).get_config()
        {'learning_rate': 0.05, 'beta': 0.8}
        """
        lr = self._lr
        config: dict[str, Any] = {"learning_rate": _schedules.serialize(lr)
                                  if isinstance(lr, LearningRateSchedule) else lr,
                                  **self._hyperparameters()}
        for name in ("clipnorm", "global_clipnorm", "clipvalue"):   # only those set
            value = getattr(self, "_" + name)
            if value is not None:
                config[name] = value
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Optimizer":
        """Rebuild an optimizer from :meth:`get_config`'s dictionary (no state).

        Examples
        --------
        >>> from fastdnn.optimizers import Adam
        >>> Adam.from_config(Adam(beta2=0.99).get_config()).beta2
        0.99
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # --------------------------------------------------------------- state

    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of everything needed to continue training exactly.

        Returns
        -------
        dict of str to ndarray
            ``"iterations"`` and ``"epoch"`` as 0-d int64 arrays, and each
            state array as ``"<slot>/<index>"`` (e.g. ``"m/0"``, ``"v/0"`` for
            Adam): plain arrays, ready for ``np.savez`` and
            ``np.load(allow_pickle=False)``.

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.optimizers import Adam
        >>> opt = Adam()
        >>> opt.apply_gradients([np.ones(3)], [np.ones(3)])
        >>> sorted(opt.get_state())
        ['epoch', 'iterations', 'm/0', 'v/0']
        """
        state = {"iterations": np.array(self._iterations, dtype=np.int64),
                 "epoch": np.array(self._epoch, dtype=np.int64)}
        if self._slots is not None:
            for name, arrays in zip(self._slot_names, self._slots):
                for i, a in enumerate(arrays):
                    state[f"{name}/{i}"] = a.copy(order="K")
        return state

    def set_state(self, state: Mapping[str, np.ndarray], params: Sequence[np.ndarray]) -> None:
        """Restore :meth:`get_state`'s dictionary for these parameter arrays.

        Everything is checked before anything changes. The state arrays are
        copied into new arrays laid out like the parameters.

        Parameters
        ----------
        state : mapping of str to ndarray
            As returned by :meth:`get_state` (or loaded from an ``.npz``).
        params : sequence of ndarray
            The parameter arrays the state belongs to, in the same order.

        Raises
        ------
        ValueError
            A key is missing or unknown, or an array's shape or dtype does
            not match its parameter array.

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.optimizers import RMSprop
        >>> W = np.ones((2, 2))
        >>> a = RMSprop()
        >>> a.apply_gradients([W], [np.ones((2, 2))])
        >>> b = RMSprop()
        >>> b.set_state(a.get_state(), [W])
        >>> b.iterations, bool(np.all(b.get_state()["s/0"] == a.get_state()["s/0"]))
        (1, True)
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict of arrays, got {type(state).__name__}")
        params = _as_list(params, "params")
        _optim.check_params(params)
        iterations = _state_counter(state, "iterations")
        epoch = _state_counter(state, "epoch")
        expected = [f"{name}/{i}" for name in self._slot_names for i in range(len(params))]
        present = [k for k in state if k not in _STATE_COUNTERS]
        unknown = sorted(set(present) - set(expected))
        if unknown:
            shown = expected if len(expected) <= 4 else expected[:4] + ["..."]
            raise ValueError(f"optimizer state has unknown keys {unknown[:5]} for "
                             f"{type(self).__name__} with {len(params)} parameter arrays "
                             f"(expected {shown} besides 'iterations' and 'epoch')")
        slots: tuple[list[np.ndarray], ...] | None
        if expected and not present:  # saved before the first step
            if iterations > 0:
                raise ValueError(f"optimizer state has iterations={iterations} but no state "
                                 f"arrays ({expected[0]!r}, ...)")
            slots = None
        else:
            missing = [k for k in expected if k not in state]
            if missing:
                raise ValueError(f"optimizer state is missing {missing[:5]} for "
                                 f"{len(params)} parameter arrays")
            slots = tuple([] for _ in self._slot_names)
            for k, name in enumerate(self._slot_names):
                for i, p in enumerate(params):
                    a = np.asarray(state[f"{name}/{i}"])
                    if a.shape != p.shape or a.dtype.newbyteorder("=") != p.dtype:
                        raise ValueError(
                            f"optimizer state {name + '/' + str(i)!r} has shape {a.shape} and "
                            f"dtype {a.dtype}, expected shape {p.shape} and dtype {p.dtype} "
                            f"to match params[{i}]")
                    s = _aligned.zeros_like(p)
                    np.copyto(s, a)
                    slots[k].append(s)
        self._slots = slots
        self._iterations = iterations
        self._epoch = epoch
