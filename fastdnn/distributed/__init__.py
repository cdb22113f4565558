"""Data-parallel training over MPI: one model trained by every rank of an MPI job.

``model.fit(X, y, ..., distribute=fastdnn.distributed.MPI())`` trains one model
on every rank that runs the script. The same script runs unchanged as
``python train.py`` (one rank: ``fit`` as without ``distribute``), as
``mpiexec -n 4 python train.py`` and under Slurm's ``srun``. mpi4py is
imported when an ``MPI`` is made; ``pip install fastdnn[mpi]`` installs it with
an MPI library (the ``mpich`` wheel, whose ``mpiexec`` lands in the
environment's ``bin``).

Why an argument of ``fit`` rather than a wrapper model: training on several
ranks changes how ``fit`` runs, not what the model is. The model is saved,
loaded, evaluated and exported as any other; the callbacks, validation, History
and both engines are ``fit``'s own, and ``distribute=None`` is the one code path
it always was. A wrapper would have to forward every method and still reach into
``fit``'s loop to put the reduction between backward and update.

What happens (P ranks, local batch ``b``):

- Rank ``r`` trains on the contiguous rows ``[m r // P, m (r + 1) // P)`` of ``X``
  and ``y`` (views: a ``numpy.memmap`` is read only where the rank's rows lie),
  shuffled each epoch by its own stream of the seed rank 0 uses; every global
  batch thus holds ``b`` shuffled rows of every shard. The validation rows
  (``validation_data``, or ``validation_split``'s last rows) are sharded alike.
- Rank 0's weights, optimizer state and step count are broadcast before the
  first step. The ranks first check that they hold the same model, the same
  shapes and ``fit`` arguments, and each rank's data checks, and all raise
  together otherwise. Random layers (``Dropout``) draw independent masks on
  each rank.
- After each local backward, every layer's ``dW`` and ``db`` (and a normalization
  layer's ``dgamma`` and ``dbeta``) -- views of one gradient buffer per model --
  and the cost are summed with one in-place
  ``Allreduce`` (mpi4py releases the GIL for it); then every rank applies the same
  optimizer step. Each rank's gradients are scaled by ``1 / K``, ``K`` the global
  batch's size, so ``P`` ranks with local batch ``b`` train as one process with
  global batch ``P b`` on the same batches, to rounding, uneven shards included.
  In the compiled loop the reduction runs between the step's backward and its
  update, inside the one compiled call per epoch.
- Loss, metrics and validation logs are reduced over the ranks: every rank's
  ``History`` holds the same numbers. Rank 0 alone prints progress and runs the
  callbacks (``ModelCheckpoint``, ``CSVLogger``, ``EarlyStopping``, schedules);
  its ``stop_training`` and learning rate are broadcast after each epoch hook. A
  callback that stops training during an epoch stops it at that epoch's end.
- An exception on any rank inside ``fit`` stops every rank at its next step or
  epoch hook: that rank raises its own exception, the others :class:`RankError`
  with its traceback; uncaught, these end every process by themselves. Any other
  exception no code catches, on one rank of several, prints its traceback and
  calls ``MPI_Abort`` (``abort_on_error``), so no rank waits forever.
- ``check_weights=True`` (a debug mode) compares the ranks' weights by checksum
  after each epoch and raises on every rank if they differ.

Examples
--------
>>> import numpy as np
>>> from fastdnn import Sequential
>>> from fastdnn.layers import Dense
>>> X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
>>> y = (X.sum(axis=1) > 0).astype(np.float32)
>>> model = Sequential([Dense(4, activation="relu"), Dense(1, activation="sigmoid")], seed=0)
>>> model.compile("adam", "binary_crossentropy")
>>> dist = MPI()                                          # doctest: +SKIP
>>> history = model.fit(X, y, epochs=2, batch_size=16, verbose=0,
...                     distribute=dist)                  # doctest: +SKIP
"""
from __future__ import annotations

import math
import sys
import traceback
from typing import Any

import numpy as np

from . import _shards
from ._session import RankError, Session, is_shared

__all__ = ["MPI", "RankError"]

_EXTRA_HINT = ("fastdnn.distributed needs mpi4py and an MPI library: "
               "pip install 'fastdnn[mpi]' (mpi4py and the mpich wheel)")
_hooked: list[Any] = []


def _mpi4py() -> Any:
    try:
        from mpi4py import MPI as mpi   # noqa: PLC0415  # imported on use
    except ImportError as exc:
        raise ImportError(f"{_EXTRA_HINT}; importing mpi4py failed: {exc}") from exc
    return mpi


def _abort_on_uncaught(comm: Any) -> None:
    """Print an uncaught exception with the rank, then end every rank (MPI_Abort)."""
    if _hooked:
        return
    previous = sys.excepthook

    def hook(kind: Any, value: Any, tb: Any) -> None:
        if is_shared(value):   # every rank raised it out of fit: they all end by themselves
            previous(kind, value, tb)
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(f"[rank {comm.Get_rank()}] uncaught exception; aborting all "
                         f"{comm.Get_size()} ranks\n{text}")
        sys.stderr.flush()
        try:
            comm.Abort(1)
        finally:
            previous(kind, value, tb)

    sys.excepthook = hook
    _hooked.append(hook)


class MPI:
    """Train on every rank of an MPI communicator: ``fit(..., distribute=MPI())``.

    Parameters
    ----------
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    check_weights : bool, default False
        Debug mode: compare the ranks' weights by checksum after each epoch.
    abort_on_error : bool, default True
        With several ranks, an exception no code catches prints its traceback and
        calls ``MPI_Abort``, which ends every rank (instead of leaving the others
        waiting in a collective).

    Raises
    ------
    ImportError
        mpi4py is not installed (``pip install 'fastdnn[mpi]'``).

    Examples
    --------
    >>> dist = MPI()                       # doctest: +SKIP
    >>> dist.rank, dist.size               # doctest: +SKIP
    (0, 1)
    """

    def __init__(self, comm: Any = None, check_weights: bool = False,
                 abort_on_error: bool = True):
        self._mpi = _mpi4py()
        self.comm = self._mpi.COMM_WORLD if comm is None else comm
        self.check_weights = bool(check_weights)
        self.last_session: Session | None = None
        if abort_on_error and self.size > 1:
            _abort_on_uncaught(self.comm)

    @property
    def rank(self) -> int:
        """This process's rank (0 prints and runs the callbacks).

        Examples
        --------
        >>> MPI().rank                         # doctest: +SKIP
        0
        """
        return int(self.comm.Get_rank())

    @property
    def size(self) -> int:
        """The number of ranks training together.

        Examples
        --------
        >>> MPI().size                         # doctest: +SKIP
        1
        """
        return int(self.comm.Get_size())

    def shard(self, a: Any) -> Any:
        """This rank's rows of ``a`` (a view for arrays and memmaps), as ``fit`` takes them.

        Examples
        --------
        >>> MPI().shard(list(range(5)))        # doctest: +SKIP
        [0, 1, 2, 3, 4]
        """
        return _shards.rows(a, self.rank, self.size)

    def __repr__(self) -> str:
        return f"MPI(rank={self.rank}, size={self.size})"

    def _fit(self, model: Any, X: Any, y: Any, validation_data: Any, validation_split: Any,
             check_finite: bool, weights: tuple[Any, Any], rest: tuple[Any, ...],
             validation_freq: int) -> Any:
        """``Sequential.fit``'s body on this rank's shards (``weights``: ``sample_weight``
        and ``class_weight``; ``rest``: ``_training.fit``'s arguments after the data)."""
        from .. import _training   # noqa: PLC0415  # _training imports models' layers

        sample_weight, class_weight = weights
        if self.size == 1:
            X, Y, X_val, Y_val, w, w_val = _training.fit_data(
                model, X, y, validation_data, validation_split, check_finite, sample_weight,
                class_weight)
            epochs, batch_size, shuffle, seed, callbacks, verbose, initial_epoch, engine, \
                on_nan = rest
            return _training.fit(model, X, Y, X_val, Y_val, epochs, batch_size, shuffle, seed,
                                 callbacks, verbose, initial_epoch, engine, on_nan, w, w_val,
                                 validation_freq)
        session = Session(self.comm, self._mpi, self.check_weights)
        self.last_session = session
        seed = rest[3]
        session.seed = seed if seed is not None else int(
            np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        try:
            error: BaseException | None = None
            X_val = Y_val = w = w_val = None
            try:
                X, y, sample_weight, validation_data = self._split(
                    X, y, sample_weight, validation_data, validation_split)
                X, Y, X_val, Y_val, w, w_val = _training.fit_data(
                    model, X, y, validation_data, 0.0, check_finite, sample_weight,
                    class_weight)
            except Exception as exc:   # shared with the other ranks, then raised
                error = exc
            session.agree_on_data(error, X, X_val, Y_val, w_val)
            epochs, batch_size, shuffle, _, callbacks, verbose, initial_epoch, engine, \
                on_nan = rest
            return _training.fit(model, X, Y, X_val, Y_val, epochs, batch_size, shuffle,
                                 session.seed, callbacks, verbose, initial_epoch, engine,
                                 on_nan, sample_weight=w, val_weight=w_val,
                                 validation_freq=validation_freq, session=session)
        except BaseException as exc:
            session.fail(exc)
            raise

    def _split(self, X: Any, y: Any, sample_weight: Any, validation_data: Any,
               validation_split: Any) -> tuple[Any, Any, Any, Any]:
        """This rank's training rows, their weights and the validation rows."""
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)
            if sample_weight.ndim != 1 or sample_weight.shape[0] != len(X):
                raise ValueError(f"sample_weight must have shape ({len(X)},) (one weight per "
                                 f"row of X), got shape {sample_weight.shape}")
        if validation_split:
            if validation_data is not None:
                raise ValueError("pass validation_data or validation_split, not both")
            if isinstance(validation_split, bool) or not 0.0 < validation_split < 1.0:
                raise ValueError(f"validation_split must be a float in [0, 1), got "
                                 f"{validation_split!r}")
            m = len(X)
            n_val = int(math.floor(m * validation_split))
            validation_data = (X[m - n_val:], y[m - n_val:])
            X, y = X[:m - n_val], y[:m - n_val]
            if sample_weight is not None:   # as Keras: the held-out rows keep their weights
                validation_data += (sample_weight[m - n_val:],)
                sample_weight = sample_weight[:m - n_val]
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (X_val, y_val) or "
                                 "(X_val, y_val, sample_weight_val)")
            validation_data = tuple(None if v is None else self.shard(v)
                                    for v in validation_data)
        if sample_weight is not None:
            sample_weight = self.shard(sample_weight)
        return self.shard(X), self.shard(y), sample_weight, validation_data
