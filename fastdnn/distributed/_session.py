"""One data-parallel ``fit``: what the ranks agree on, share and reduce.

Every exchange between the ranks goes through a :class:`Session`, in this order:

1. ``agree`` (three times before the first step: data, model, engine): each rank's
   local setup runs, then one ``allgather`` of ``(error, facts)``; an error on any
   rank, or facts that differ from rank 0's (model, shapes, batch size, epochs,
   engine, ...), raise on every rank.
2. rank 0's weights (after the model's ``agree``) and optimizer state (after the
   engine's) are broadcast (``Bcast`` into the arrays).
3. each step: ``reduce`` -- one in-place ``Allreduce`` (sum) of the model's gradient
   buffer, one allocation whose views are every layer's gradients (``dW``, ``db``,
   ``dgamma``, ``dbeta``), with a
   tail of three numbers: the cost share (as a high and a low part, so float32
   loses nothing) and a failure flag. One blocking call, not a per-layer
   ``Iallreduce`` during the backward: with MPICH a pending one does not progress
   while the rank computes, and the per-layer schedule made no step faster
   (``bench/mpi_overlap.py``, README).
4. around each epoch's callbacks (``callbacks.Shared``): ``heartbeat`` -- the same
   ``Allreduce`` carrying only the flag -- then rank 0's decisions are broadcast.

A rank that raises after step 1 joins the collective the others wait in (a step's
or a heartbeat's ``Allreduce``, which both carry the flag) with its flag set; all
ranks then ``allgather`` the errors and raise: the failing rank its own exception,
the others :class:`RankError` with its traceback. No rank is left waiting.

Examples
--------
>>> import numpy as np
>>> buffer, tail = gradient_buffer([np.zeros((2, 3), np.float32), np.zeros((2, 1), np.float32)],
...                                np.dtype(np.float32))
>>> buffer.size, tail.size
(35, 3)
"""
from __future__ import annotations

import time
import traceback
import zlib
from typing import Any, Sequence

import numpy as np

from . import _shards

__all__ = ["Session", "RankError", "PeerFailed", "gradient_buffer"]

_ALIGN = 16   # elements: each gradient view starts on a 64-byte boundary


class RankError(RuntimeError):
    """Another rank raised: its rank, exception and traceback are in the message.

    Examples
    --------
    >>> str(RankError("rank 1 raised ValueError: bad"))
    'rank 1 raised ValueError: bad'
    """


class PeerFailed(Exception):
    """Internal: a collective carried another rank's failure flag."""


def gradient_buffer(grads: Sequence[np.ndarray], dtype: np.dtype[Any]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One zeroed allocation holding an aligned slot per gradient array plus a tail of
    three numbers; returns ``(buffer, tail)``. ``views(buffer, grads)`` cuts the slots."""
    offsets = _offsets(grads)
    n = offsets[-1] + 3
    raw = np.zeros(n + _ALIGN, dtype=dtype)
    skip = (-raw.ctypes.data % (_ALIGN * dtype.itemsize)) // dtype.itemsize
    buffer = raw[skip:skip + n]
    return buffer, buffer[offsets[-1]:]


def _offsets(grads: Sequence[np.ndarray]) -> list[int]:
    offsets, at = [], 0
    for g in grads:
        offsets.append(at)
        at += -(-g.size // _ALIGN) * _ALIGN
    return offsets + [at]


def mark_shared(exc: BaseException) -> None:
    """Note on ``exc`` that every rank raises it (or its RankError) together."""
    try:
        exc._fastdnn_every_rank = True  # type: ignore[attr-defined]
    except AttributeError:
        pass


def is_shared(exc: BaseException | None) -> bool:
    """Every rank raises ``exc`` (or its RankError) together: no rank is left waiting."""
    return bool(getattr(exc, "_fastdnn_every_rank", False))


def _short(value: Any, n: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + "..."


def _error_info(exc: BaseException, rank: int) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"rank {rank} raised {type(exc).__name__}: {exc}\n\n{text}"


class Session:
    """The ranks of one ``fit``: shard sizes, gradient buffer, reductions and failures."""

    def __init__(self, comm: Any, mpi: Any, check_weights: bool):
        self.comm, self.MPI = comm, mpi
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.check_weights = check_weights
        self.settled = False          # an error was already exchanged between the ranks
        self.running = False          # past the setup: failures travel by the flag
        self.seed: Any = None
        self.largest_shard = 0
        self.shard_rows: list[int] = []
        self.val_rows = 0
        self.val_weight = 0.0         # this rank's validation weight (val_rows unweighted)
        self.val_data: tuple[Any, Any, Any] | None = None   # this rank's X_val, Y_val, w_val
        self.buffer = self.tail = self.grads = np.zeros(3)
        self.reduce_seconds = 0.0     # time spent in the per-step Allreduce
        self.reduce_calls = 0
        self.trainer: Any = None

    # ---------------------------------------------------------------- setup
    def agree(self, error: BaseException | None, facts: dict[str, Any]) -> list[dict[str, Any]]:
        """Every rank's ``(error, facts)``; raises on every rank if any rank failed or a
        fact other than ``rows``/``val_rows``/``seed`` differs from rank 0's."""
        info = None if error is None else _error_info(error, self.rank)
        gathered = self.comm.allgather((info, facts))
        self._raise_first(error, [g[0] for g in gathered])
        ref = gathered[0][1]
        for r, (_, f) in enumerate(gathered):
            for key, value in f.items():
                if key not in ("rows", "val_rows", "seed") and value != ref.get(key):
                    self.settled = True
                    if isinstance(value, list) and isinstance(ref.get(key), list):
                        i = next((i for i, (a, b) in enumerate(zip(value, ref[key])) if a != b),
                                 min(len(value), len(ref[key])))
                        key, value, ref = f"{key}[{i}]", value[i:i + 1], {key: ref[key][i:i + 1]}
                        ref[key] = ref.pop(next(iter(ref)))
                    raise ValueError(
                        f"the ranks disagree before the first step: rank {r}'s {key} is "
                        f"{_short(value)}, rank 0's is {_short(ref.get(key))}; every rank "
                        "must build the same model and call fit with the same arguments")
        return [g[1] for g in gathered]

    def agree_on_data(self, error: BaseException | None, X: Any, X_val: Any,
                      Y_val: Any = None, w_val: Any = None) -> None:
        """Shard sizes, features and the seed (rank 0's) of every rank; ``w_val``: this
        rank's validation weights (None: unweighted)."""
        facts: dict[str, Any] = {}
        if error is None:
            facts = {"rows": int(X.shape[0]), "features": int(X.shape[1]),
                     "validation": X_val is not None,
                     "val_rows": 0 if X_val is None else int(X_val.shape[0]),
                     "seed": self.seed}
        gathered = self.agree(error, facts)
        self.shard_rows = [f["rows"] for f in gathered]
        if min(self.shard_rows) == 0:
            self.settled = True
            raise ValueError(f"{sum(self.shard_rows)} training rows for {self.size} ranks: "
                             "every rank needs at least one")
        if facts["validation"] and min(f["val_rows"] for f in gathered) == 0:
            self.settled = True
            raise ValueError(f"{sum(f['val_rows'] for f in gathered)} validation rows for "
                             f"{self.size} ranks: every rank needs at least one")
        self.largest_shard = max(self.shard_rows)
        self.val_rows = facts["val_rows"]
        self.val_weight = float(self.val_rows if w_val is None else np.sum(w_val))
        self.val_data = None if X_val is None else (X_val, Y_val, w_val)
        self.seed = gathered[0]["seed"]

    def prepare(self, model: Any, facts: dict[str, Any]) -> None:
        """Agree on the model and ``fit``'s arguments, take rank 0's weights, and make
        every layer's gradient arrays views of one buffer (before the trainer is made,
        so that it reads and writes them there)."""
        facts.update(self._model_facts(model))
        self.agree(None, facts)
        for layer in model._compute_layers:
            for name in layer.weights_names:
                self.comm.Bcast(getattr(layer, name), root=0)
            layer._weights_changed()
        layers = model._compute_layers
        for i, layer in enumerate(layers):
            if isinstance(getattr(layer, "_rng", None), np.random.Generator):
                # e.g. Dropout: masks independent across ranks, as across one batch's rows
                seq = np.random.SeedSequence(self.seed, spawn_key=(1 << 30, i, self.rank))
                layer._rng = np.random.default_rng(seq)
        grads = [g for l in layers for g in l.grads]
        self.buffer, self.tail = gradient_buffer(grads, model.dtype)
        offsets = _offsets(grads)
        self.grads = self.buffer[:offsets[-1]]
        for layer in layers:
            for g in layer.grads:
                i = next(j for j, h in enumerate(grads) if h is g)
                view = self.buffer[offsets[i]:offsets[i] + g.size].reshape(g.shape)
                name = next(n for n, v in vars(layer).items() if v is g)
                setattr(layer, name, view)

    def root_only(self, callbacks: Any, verbose: int, engine: str) -> tuple[Any, int, str]:
        """Rank 0 keeps the callbacks and the progress output; every rank keeps the engine
        that rank 0's per-batch callbacks ask for."""
        hooks = any(cb._implements_train_batch_hooks() for cb in callbacks or ())
        if hooks and engine == "auto":
            engine = "python"
        if self.rank == 0:
            return callbacks, verbose, engine
        return [], 0, engine

    def attach(self, model: Any, trainer: Any, cbl: Any) -> Any:
        """Agree on the engine, take rank 0's optimizer state, make ``trainer`` reduce
        each step; returns the callbacks shared between the ranks."""
        from . import _callbacks   # noqa: PLC0415  # imports _session

        self.agree(None, {"engine": trainer.engine, "gradients": int(self.buffer.size)})
        self._broadcast_optimizer(model)
        sizes = _shards.global_sizes(self.shard_rows, trainer.batch_size)
        trainer.steps = len(sizes)
        trainer.sizes = trainer.global_sizes = sizes
        trainer.reduce = self.reduce
        self.trainer = trainer
        self.running = True
        return _callbacks.Shared(cbl, self, model)

    def _model_facts(self, model: Any) -> dict[str, Any]:
        opt = model.optimizer
        config = {k: v for k, v in model.get_config().items() if k != "seed"}
        return {"layers": [repr(layer) for layer in config.pop("layers", [])],
                "model": repr(config), "dtype": str(model.dtype),
                "shapes": [tuple(w.shape) for w in model.get_weights()],
                "loss": getattr(model.loss, "name", type(model.loss).__name__),
                "optimizer": (type(opt).__name__, repr(opt.get_config())),
                "metrics": [getattr(m, "name", repr(m)) for m in model.metrics]}

    def _broadcast_optimizer(self, model: Any) -> None:
        """Rank 0's optimizer state, step count and learning rate, on every rank."""
        comm = self.comm
        opt = model.optimizer
        has_slots, iterations, lr = comm.bcast(
            (opt._slots is not None, opt._iterations, opt._lr), root=0)
        opt._iterations, opt._lr = iterations, lr
        if has_slots:
            if opt._slots is None:
                opt.build([p for l in model._compute_layers for p in l.params])
            for group in opt._slots:
                for a in group:
                    comm.Bcast(a, root=0)

    # ---------------------------------------------------------------- each step
    def reduce(self, share: float, grad_scale: float = 1.0) -> float:
        """Sum the ranks' gradients (this rank's first scaled by ``grad_scale``) and cost
        shares in one in-place ``Allreduce``; the global cost."""
        if grad_scale != 1.0:
            if grad_scale == 0.0:
                self.grads.fill(0)
            else:
                np.multiply(self.grads, grad_scale, out=self.grads)
        tail = self.tail
        tail[0] = share
        tail[1] = share - float(tail[0])
        tail[2] = 0
        start = time.perf_counter()
        self.comm.Allreduce(self.MPI.IN_PLACE, self.buffer, op=self.MPI.SUM)
        self.reduce_seconds += time.perf_counter() - start
        self.reduce_calls += 1
        if tail[2] != 0:
            raise PeerFailed()
        return float(tail[0]) + float(tail[1])

    def heartbeat(self, failed: bool = False) -> None:
        """The step's ``Allreduce`` carrying only the failure flag; raises ``PeerFailed``
        when another rank set it."""
        self.buffer.fill(0)
        self.tail[2] = 1 if failed else 0
        self.comm.Allreduce(self.MPI.IN_PLACE, self.buffer, op=self.MPI.SUM)
        if not failed and self.tail[2] != 0:
            raise PeerFailed()

    # ---------------------------------------------------------------- each epoch
    def reseed(self, epoch: int) -> None:
        """The epoch's shuffle of this rank's shard: its own stream of (seed, epoch), so a
        fit resumed at ``initial_epoch`` shuffles as one that never stopped."""
        seq = np.random.SeedSequence(self.seed, spawn_key=(epoch, self.rank))
        self.trainer.rng = np.random.default_rng(seq)

    def follow_root(self, model: Any) -> None:
        """Rank 0's decisions after its callbacks: stop or not, and the learning rate."""
        self.heartbeat()
        opt = model.optimizer
        stop, lr = self.comm.bcast((bool(model.stop_training), opt._lr) if self.rank == 0
                                   else None, root=0)
        model.stop_training = stop
        if self.rank != 0:
            opt._lr = lr

    def reduce_logs(self, model: Any, logs: dict[str, Any]) -> None:
        """The metrics (from every rank's counts, or totals and counts) and the validation
        logs in ``logs``: the loss as over all the validation rows (its data term a row
        weighted mean over the ranks' shards, its L2 penalty that of all the rows), each
        mean metric a mean weighted by the ranks' validation weights, each count metric
        (AUC, precision, ...) from the validation counts summed over the ranks."""
        metrics = [m for m in model.metrics if hasattr(m, "total") and hasattr(m, "count")]
        val = sorted(k for k in logs if k.startswith("val_"))
        local = [v for m in metrics for v in (float(m.total), float(m.count))]
        counts = [m.counts for m in metrics if isinstance(getattr(m, "counts", None), np.ndarray)]
        for c in counts:
            local += c.astype(np.float64).tolist()
        reg = model._regularization_cost(self.val_rows) if self.val_rows else 0.0
        for k in val:
            if k == "val_loss":
                local.append((float(logs[k]) - reg) * self.val_rows)
            else:
                local.append(float(logs[k]) * self.val_weight)
        val_counts = self._val_counts(model, val)
        for c in val_counts.values():
            local += c.counts.tolist()
        local += [float(self.val_rows), self.val_weight]
        total = np.array(local, dtype=np.float64)
        self.comm.Allreduce(self.MPI.IN_PLACE, total, op=self.MPI.SUM)
        at = 2 * len(metrics)
        for c in counts:
            c[...] = total[at:at + c.size]
            at += c.size
        for i, m in enumerate(metrics):
            m.total, m.count = float(total[2 * i]), type(m.count)(total[2 * i + 1])
            logs[m.name] = float(m.result())
        rows, weight = float(total[-2]), float(total[-1])
        for j, k in enumerate(val):
            if k == "val_loss":
                logs[k] = float(total[at + j] / rows
                                + model._regularization_cost(int(rows)))
            else:
                logs[k] = float(total[at + j] / weight)
        at += len(val)
        for k, c in val_counts.items():
            c.counts[...] = total[at:at + c.counts.size]
            at += c.counts.size
            logs[k] = float(c.result())

    def _val_counts(self, model: Any, val: list[str]) -> dict[str, Any]:
        """The count metrics among the validation logs ``val``, as fresh metrics holding
        the counts of this rank's validation rows."""
        from .. import _inference   # noqa: PLC0415  # _inference imports the layers

        fresh = {"val_" + m.name: type(m).from_config(m.get_config()) for m in model.metrics
                 if isinstance(getattr(m, "counts", None), np.ndarray)}
        fresh = {k: m for k, m in fresh.items() if k in val}
        if not fresh or self.val_data is None:
            return fresh
        X_val, Y_val, w_val = self.val_data
        rows = _inference.chunk_rows(model, None)
        for s in range(0, X_val.shape[0], rows):
            A = _inference.forward(model, X_val[s:s + rows])
            w = None if w_val is None else w_val[s:s + rows]
            for m in fresh.values():
                m.update_state(A, Y_val[s:s + rows].T, sample_weight=w)
        return fresh

    def average_statistics(self, model: Any) -> None:
        """Every rank's moving statistics (``BatchNormalization``'s mean and variance,
        each rank's own from its batches) made their mean over the ranks."""
        for layer in model._compute_layers:
            for name in ("moving_mean", "moving_variance"):
                a = getattr(layer, name, None)
                if isinstance(a, np.ndarray):
                    self.comm.Allreduce(self.MPI.IN_PLACE, a, op=self.MPI.SUM)
                    a /= self.size

    def compare_weights(self, model: Any, epoch: int) -> None:
        """Debug mode: every rank's weights have rank 0's checksum, or all ranks raise."""
        crc = 0
        for w in model.get_weights():
            crc = zlib.crc32(np.ascontiguousarray(w).tobytes(), crc)
        sums = self.comm.allgather(crc)
        bad = [r for r, s in enumerate(sums) if s != sums[0]]
        if bad:
            raise RuntimeError(f"after epoch {epoch + 1} the weights of rank(s) {bad} differ "
                               f"from rank 0's (checksums {sums})")

    # ---------------------------------------------------------------- failures
    def fail(self, exc: BaseException) -> None:
        """Called with the exception that ends this rank's ``fit``: make sure every rank
        stops, then raise (this rank's own exception, or another rank's as RankError),
        marked ``shared`` (every rank raises: no need to abort the job)."""
        try:
            self._fail(exc)
        except BaseException as raised:
            if self.settled:
                mark_shared(raised)
            raise

    def _fail(self, exc: BaseException) -> None:
        if self.settled or not self.running:
            if not self.settled and self.size > 1:
                # a setup step raised before its allgather: join it with the error
                self.agree(exc, {})
            raise exc
        own = None if isinstance(exc, PeerFailed) else exc
        if own is not None:
            self.heartbeat(failed=True)
        infos = self.comm.allgather(None if own is None else _error_info(own, self.rank))
        self.settled = True
        if own is not None:
            raise own
        self._raise_first(None, infos)
        raise RankError("another rank stopped without saying why")

    def _raise_first(self, own: BaseException | None, infos: list[str | None]) -> None:
        if own is not None:
            self.settled = True
            raise own
        failed = [i for i in infos if i is not None]
        if failed:
            self.settled = True
            raise RankError(failed[0])
