"""The two trainers of ``Sequential.fit`` and the explicit choice between them.

- :class:`CompiledTrainer` runs whole epochs in one compiled call
  (``fastdnn._kernels._network.Plan``): gather, forward, cost, metrics,
  backward and update of every mini-batch without Python.
- :class:`LayerTrainer` runs each mini-batch from Python, layer by layer (each
  layer's step is still a compiled kernel). It trains everything a model can
  hold: any layer, loss, optimizer, metric or callback.

``select(..., engine)`` picks one: ``"compiled"`` or an error naming every
reason the compiled loop cannot train the model, ``"python"``, or ``"auto"``
(compiled where possible). What the compiled loop can run is declared by the
objects themselves (``compiled_spec()``, see ``fastdnn._compiled``).

Examples
--------
>>> import numpy as np
>>> from fastdnn import Sequential
>>> from fastdnn.layers import Dense, Dropout
>>> model = Sequential([Dense(4, activation="relu"), Dropout(0.5), Dense(1, activation="sigmoid")])
>>> model.compile("adam", "binary_crossentropy")
>>> model.build(3)
>>> compiled_obstacles(model, np.zeros((2, 3), np.float32), [])
['layer 2 (Dropout): the compiled loop runs Dense layers (each optionally followed by a BatchNormalization or LayerNormalization and an Activation), optionally after a Normalizer']
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _inference
from . import callbacks as _callbacks
from . import regularizers as _regularizers
from ._compiled import NotCompilable
from ._interrupts import StepGuard
from ._validation import check_class_weight, check_sample_weight
from ._validation import check_finite as check_finite_rows
from ._validation import check_int
from ._kernels import _network
from .layers import Activation, BatchNormalization, Dense, LayerNormalization

if TYPE_CHECKING:
    from collections.abc import Sequence

    # a trainer's data: X, Y, batch size, shuffle, shuffling rng, sample weights or None
    _Data = tuple[np.ndarray, np.ndarray, int, bool, np.random.Generator, np.ndarray | None]
    # the weights, the optimizer's state arrays (None before its first step) and step count
    _State = tuple[list[np.ndarray], list[list[np.ndarray]] | None, int]

__all__ = ["ENGINES", "LayerTrainer", "CompiledTrainer", "compiled_obstacles", "select",
           "fit_data", "fit", "class_weights"]

ENGINES = ("auto", "compiled", "python")
_MAX_LAYERS, _MAX_METRICS = 64, 8   # the plan's fixed tables (_network.pyx)


ON_NAN = ("warn", "raise", "continue")


class Diverged(Exception):
    """A mini-batch's cost was not finite; the trainer stopped before its update."""

    def __init__(self, cost: float):
        super().__init__(cost)
        self.cost = cost


class LayerTrainer:
    """Epoch loop of ``fit`` from Python: gathers batches into preallocated buffers and
    runs forward, cost, backward and the optimizer's update for each."""

    engine = "python"
    sw: np.ndarray | None   # the examples' weights, of the model's dtype (weigh)
    Wb: np.ndarray          # a mini-batch's weights

    def __init__(self, model: Any, X: np.ndarray, Y: np.ndarray, batch_size: int,
                 shuffle: bool, rng: np.random.Generator):
        self._setup(model, X, Y, batch_size, shuffle, rng)
        self.layers = model._compute_layers
        last = self.layers[-1]
        self.fused = isinstance(last, (Dense, Activation)) and _kernel(last) is not None and \
            getattr(model.loss, "fused_activation", None) == last.activation.name
        dt = model.dtype
        # X rows can be sliced in place (no gather) when they already are the model's
        # dtype and C-contiguous and the order does not change
        self.same_dtype = X.dtype == dt
        self.direct = not shuffle and self.same_dtype and X.flags.c_contiguous
        if not self.direct:
            self.Xb = np.empty((batch_size, X.shape[1]), dtype=dt)
        self.Yb = np.empty((batch_size, Y.shape[1]), dtype=dt)
        self.params = [p for l in self.layers for p in l.params]
        self.first_trainable = next((i for i, l in enumerate(self.layers) if l.params), 0)
        self.grads = [g for l in self.layers for g in l.grads]
        self.decays = {k: [d for l in self.layers for d in l.decays(k)]
                       for k in set(self.sizes.astype(int).tolist())}
        self.reg = any(getattr(l, "kernel_regularizer", None) is not None for l in self.layers)
        # the moving statistics a forward pass moves, and room to keep them for a step that
        # on_nan does not take
        self.norms = [l for l in self.layers if isinstance(l, BatchNormalization)]
        self.moving = [(np.empty_like(l.moving_mean), np.empty_like(l.moving_variance))
                       for l in self.norms]

    def weigh(self, sample_weight: np.ndarray | None) -> None:
        """Train with one weight per example (``(m,)``, the model's dtype), or without (None):
        each example's loss, metrics and output ``dZ`` column scale by its weight."""
        self.sw = sample_weight
        if sample_weight is not None:
            self.Wb = np.empty(self.batch_size, dtype=sample_weight.dtype)

    def _setup(self, model: Any, X: np.ndarray, Y: np.ndarray, batch_size: int,
               shuffle: bool, rng: np.random.Generator) -> None:
        """What both trainers keep: the data, the batch sizes and the shuffling."""
        self.model = model
        self.guard = StepGuard()
        self.stop_on_nan = False   # raise Diverged at a non-finite cost, before the update
        self.costs, self.done = np.empty(0), 0   # the epoch's costs; steps completed
        self.sw = None                           # sample weights (weigh)
        self.X, self.Y = X, Y
        self.m = X.shape[0]
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = rng
        self.steps = -(-self.m // batch_size)
        self.sizes = np.full(self.steps, batch_size, dtype=np.float64)
        self.sizes[-1] = self.m - batch_size * (self.steps - 1)
        # data parallel (fastdnn.distributed): reduce(cost_share, grad_scale) sums the
        # ranks' gradients and cost shares after each backward, and global_sizes holds
        # each step's batch size summed over the ranks (also in sizes then)
        self.reduce: Any = None
        self.global_sizes: np.ndarray | None = None

    def completed_costs(self) -> np.ndarray:
        """The costs of the current epoch's completed steps (all of them after it ends)."""
        return self.costs[:self.done]

    def epoch_loss(self, costs: np.ndarray) -> float:
        """The epoch's loss: the batches' costs weighted by their sizes."""
        sizes = self.sizes[:len(costs)]
        return float(np.dot(costs, sizes) / sizes.sum())

    def run_epoch(self, progbar: Any, hooks: Any) -> np.ndarray:
        """One pass over the data; returns the cost of every mini-batch."""
        perm = self.rng.permutation(self.m) if self.shuffle else None
        with np.errstate(all="ignore"), self.guard.steps():   # NaN/inf propagate silently
            return self._run(progbar, hooks, perm)

    def _weights(self, s: int, k: int, perm: np.ndarray | None) -> np.ndarray | None:
        """The sample weights of rows s..s+k of the epoch's order (None: unweighted)."""
        if self.sw is None:
            return None
        if perm is None:
            return self.sw[s:s + k]
        wb = self.Wb[:k]
        np.take(self.sw, perm[s:s + k], out=wb, mode="clip")
        return wb

    def _batch(self, s: int, k: int, perm: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Rows s..s+k of the epoch's order, as (Xb, Yb) of the model's dtype."""
        X, Y = self.X, self.Y
        if perm is not None:
            idx = perm[s:s + k]
            Xb = self.Xb[:k]
            if self.same_dtype:
                np.take(X, idx, axis=0, out=Xb, mode="clip")
            else:   # a batch-sized temporary, cast into the buffer
                Xb[...] = np.take(X, idx, axis=0, mode="clip")
            Yb = self.Yb[:k]
            np.take(Y, idx, axis=0, out=Yb, mode="clip")
            return Xb, Yb
        if self.direct:
            return X[s:s + k], Y[s:s + k]
        Xb = self.Xb[:k]
        Xb[...] = X[s:s + k]
        return Xb, Y[s:s + k]

    def _run(self, progbar: Any, hooks: Any, perm: np.ndarray | None) -> np.ndarray:
        model = self.model
        costs = np.empty(self.steps)
        B, m = self.batch_size, self.m
        running = 0.0
        self.costs, self.done = costs, 0
        for step in range(self.steps):
            s = step * B
            k = max(0, min(B, m - s))   # 0: a data-parallel rank whose shard ran out
            if hooks is not None:
                hooks.on_train_batch_begin(step)
            with self.guard.step():
                cost = costs[step] = self._step(s, k, perm)
                self.done = step + 1
            running += cost * k
            if progbar is not None:
                progbar.update(step + 1, {"loss": running / max(1, min(m, s + k))})
            if hooks is not None:
                hooks.on_train_batch_end(step, {"loss": cost})
                if model.stop_training:
                    return costs[:step + 1]
        return costs

    def _step(self, s: int, k: int, perm: np.ndarray | None) -> float:
        """Forward, cost, metrics, backward and update on rows s..s+k; the batch's cost."""
        model, layers, loss = self.model, self.layers, self.model.loss
        if k <= 0:   # data parallel: this rank's shard has no rows left for the step
            return self._shared_update(0.0, 0, s // self.batch_size)
        Xb, Yb = self._batch(s, k, perm)
        wb = self._weights(s, k, perm)
        A = Xb.T
        if self.stop_on_nan:
            for layer, (mean, variance) in zip(self.norms, self.moving):
                np.copyto(mean, layer.moving_mean)
                np.copyto(variance, layer.moving_variance)
        for layer in layers:
            A = layer.forward(A, training=True)
        Yt = Yb.T
        # inputs are the trainer's own, checked once
        cost: float = (loss._cost_sum(A, Yt) if wb is None else
                       loss._weighted_cost_sum(A, Yt, wb.astype(np.float64))) / k
        if self.reg:
            cost += model._regularization_cost(k)
        if self.stop_on_nan and self.reduce is None and not math.isfinite(cost):
            for layer, (mean, variance) in zip(self.norms, self.moving):
                np.copyto(layer.moving_mean, mean)
                np.copyto(layer.moving_variance, variance)
            raise Diverged(cost)
        for metric in model.metrics:
            metric.update_state(A, Yt, sample_weight=wb)
        # a layer needs dA_prev only when a trainable layer comes before it
        first = self.first_trainable
        last = len(layers) - 1
        if self.fused:
            G = layers[last].backward(loss._fused_targets(Yt), last > first, fused_output=True,
                                      sample_weight=wb)
            last -= 1
        else:
            G = loss.gradient(A, Yt)
            if wb is not None:
                G = G * wb   # each example's dA scaled by its weight
            G = np.asfortranarray(G, dtype=model.dtype)
        for j in range(last, first - 1, -1):
            G = layers[j].backward(G, j > first)
        if self.reduce is not None:
            share = cost - (model._regularization_cost(k) if self.reg else 0.0)
            return self._shared_update(share * k, k, s // self.batch_size)
        model.optimizer.apply_gradients(self.params, self.grads, self.decays[k])
        return cost

    def _shared_update(self, loss_sum: float, k: int, step: int) -> float:
        """Data parallel: this rank's gradients (of its k rows) and loss sum made its share
        of the global batch's, summed over the ranks, then the update; the global cost."""
        model = self.model
        K = int(self.global_sizes[step])  # type: ignore[index]  # set with reduce
        cost = float(self.reduce(loss_sum / K, k / K))
        if self.reg:
            cost += model._regularization_cost(K)
        if self.stop_on_nan and not math.isfinite(cost):
            raise Diverged(cost)
        decays = self.decays.get(K)
        if decays is None:
            decays = self.decays[K] = [d for l in self.layers for d in l.decays(K)]
        model.optimizer.apply_gradients(self.params, self.grads, decays)
        return cost


def _kernel(layer: Dense | Activation) -> Any:
    """The compiled kernel of a layer's activation, or None."""
    if isinstance(layer, Dense):
        return layer._kernel
    try:
        return layer.activation.compiled_spec()
    except NotCompilable:
        return None


_NORMS = (BatchNormalization, LayerNormalization)
_Step = tuple[Any, Any, Any]   # (Dense, its normalization or None, its Activation or None)


def loop_steps(layers: list[Any], first: int = 1) -> tuple[list[_Step], list[str]]:
    """The compiled loop's layers: each a ``Dense``, optionally followed by a
    normalization (between its product and its activation: the Dense is linear) and an
    ``Activation`` layer; and every reason the layers (numbered from ``first``) are not
    of that form."""
    steps: list[_Step] = []
    reasons = []
    i, n = 0, len(layers)
    while i < n:
        dense = layers[i]
        if type(dense) is not Dense:
            reasons.append(f"layer {first + i} ({type(dense).__name__}): the compiled loop runs "
                           "Dense layers (each optionally followed by a BatchNormalization or "
                           "LayerNormalization and an Activation), optionally after a "
                           "Normalizer")
            i += 1
            continue
        norm = act = None
        j = i + 1
        if j < n and type(layers[j]) in _NORMS:
            norm = layers[j]
            if dense.activation.name != "linear" or dense._kernel is None:
                reasons.append(f"layer {first + j} ({type(norm).__name__}) after a Dense with a "
                               f"{dense.activation.name} activation: the compiled loop "
                               "normalizes a linear Dense's output (Dense(units), then the "
                               "normalization, then Activation(...))")
            j += 1
        if j < n and type(layers[j]) is Activation:
            act = layers[j]
            if norm is None and dense.activation.name != "linear":
                reasons.append(f"layer {first + j} (Activation) after a Dense with a "
                               f"{dense.activation.name} activation: the compiled loop "
                               "applies one activation per Dense")
            try:
                act.activation.compiled_spec()
            except NotCompilable as exc:
                reasons.append(f"layer {first + j} (Activation): {exc}")
            j += 1
        steps.append((dense, norm, act))
        i = j
    return steps, reasons


def _output(step: _Step) -> Any:
    """The layer whose activation a step ends with (its Activation, else its Dense)."""
    return step[2] if step[2] is not None else step[0]


def compiled_obstacles(model: Any, X: np.ndarray, batch_hooks: list[str]) -> list[str]:
    """Every reason the compiled loop cannot train ``model`` on ``X`` (empty: it can).

    ``batch_hooks`` names the callbacks that need to run after every mini-batch.
    """
    reasons = []
    if batch_hooks:
        reasons.append(f"callbacks run after every mini-batch ({', '.join(batch_hooks)})")
    if X.dtype not in (np.float32, np.float64) or not X.flags.aligned:
        reasons.append(f"X has dtype {X.dtype}{'' if X.flags.aligned else ' (unaligned)'}; "
                       "the compiled loop reads aligned float32 or float64")
    norm, layers = _inference.split_normalizer(model._compute_layers)
    steps, step_reasons = loop_steps(layers, 2 if norm is not None else 1)
    for i, layer in enumerate(model._compute_layers, 1):
        if type(layer) is Dense and layer._kernel is None:
            try:
                layer.activation.compiled_spec()
            except NotCompilable as exc:
                reasons.append(f"layer {i} (Dense): activation: {exc}")
    reasons += step_reasons
    dense = [step[0] for step in steps]
    if len(dense) > _MAX_LAYERS:
        reasons.append(f"{len(dense)} Dense layers; the compiled loop takes at most {_MAX_LAYERS}")
    if any(_output(step).activation.name == "softmax" for step in steps[:-1]):
        reasons.append("a hidden layer has a softmax output")
    for l in dense:
        reg = l.kernel_regularizer
        if reg is not None and type(reg) is not _regularizers.L2:
            reasons.append(f"kernel_regularizer {type(reg).__name__}: the compiled loop has L2")
    reasons += _spec_obstacles(model, _output(steps[-1]) if steps else None)
    return reasons


def _spec_obstacles(model: Any, last: Dense | Activation | None) -> list[str]:
    """What the loss, optimizer and metrics say of their compiled kernels."""
    reasons = []
    try:
        loss = model.loss.compiled_spec()
        # any other output takes the loss's gradient through its derivative
        if last is not None and last.activation.name == "softmax" and \
                loss.fused_activation != "softmax":
            reasons.append(f"loss {model.loss.name!r} after a softmax output: the compiled "
                           "loop trains a softmax output with categorical cross-entropy only")
    except NotCompilable as exc:
        reasons.append(f"loss: {exc}")
    try:
        model.optimizer.compiled_spec()
    except NotCompilable as exc:
        reasons.append(f"optimizer: {exc}")
    if len(model.metrics) > _MAX_METRICS:
        reasons.append(f"{len(model.metrics)} metrics; the compiled loop takes at most "
                       f"{_MAX_METRICS}")
    n_out = last.units if last is not None else 1
    for metric in model.metrics:
        try:
            metric.compiled_spec(n_out)
        except NotCompilable as exc:
            reasons.append(f"metric {getattr(metric, 'name', metric)!r}: {exc}")
    return reasons


class CompiledTrainer(LayerTrainer):
    """Epoch loop of ``fit`` in one compiled call (``fastdnn._kernels._network``).

    Python runs once per epoch, or once per twentieth of an epoch while a
    progress bar is redrawn on a terminal; the plan's buffers are allocated
    here, once per ``fit``.
    """

    engine = "compiled"
    _SLICES = 20   # progress-bar updates per epoch

    @classmethod
    def make(cls, model: Any, X: np.ndarray, Y: np.ndarray, batch_size: int, shuffle: bool,
             rng: np.random.Generator, batch_hooks: Sequence[str] | bool = ()
             ) -> "CompiledTrainer":
        """A compiled trainer, or ``NotCompilable`` listing why the model cannot have one."""
        hooks = ["per-batch callbacks"] if batch_hooks is True else list(batch_hooks or ())
        reasons = compiled_obstacles(model, X, hooks)
        if reasons:
            raise NotCompilable("; ".join(reasons))
        return cls(model, X, Y, batch_size, shuffle, rng)

    def __init__(self, model: Any, X: np.ndarray, Y: np.ndarray, batch_size: int,
                 shuffle: bool, rng: np.random.Generator):
        self._setup(model, X, Y, batch_size, shuffle, rng)
        norm, layers = _inference.split_normalizer(model._compute_layers)
        steps, _ = loop_steps(layers)
        out = _output(steps[-1])
        opt, loss = model.optimizer, model.loss.compiled_spec()
        spec = opt.compiled_spec()
        metrics = [m.compiled_spec(out.units) for m in model.metrics]
        params = [p for l in layers for p in l.params]
        opt.build(params)
        slots = list(opt._slots) + [[None] * len(params)] * (2 - len(opt._slots))
        index = {id(p): i for i, p in enumerate(params)}

        def state(p: np.ndarray | None, trained: bool = True) -> list[Any]:
            """The optimizer's state arrays of p ([None, None]: p is not trained)."""
            if p is None or not trained:
                return [None, None]
            return [slots[0][index[id(p)]], slots[1][index[id(p)]]]

        entries, slot_rows = [], []
        for l, nl, act in steps:
            k = _kernel(act if act is not None else l)
            lam = 0.0 if l.kernel_regularizer is None else l.kernel_regularizer.lam
            entries.append((l.W, l.b, l.dW, l.db, k.forward, k.backward, k.alpha, k.softmax, lam,
                            None if nl is None else _norm_entry(nl, state), k.on_z))
            slot_rows.append([state(l.W), state(l.b)])
        normalizer = None if norm is None else (norm.mean, norm._inv_std)
        self.metric_specs = metrics
        self.plan = _network.Plan(entries, normalizer, (loss.code, loss.logits, loss.param),
                                  loss.fused_activation == out.activation.name,
                                  spec.code, spec.hyper(), slot_rows,
                                  [(mk.code, mk.threshold, mk.slots, mk.logits)
                                   for mk in metrics],
                                  batch_size,
                                  model.dtype)

    def run_epoch(self, progbar: Any, hooks: Any) -> np.ndarray:
        model, opt, m, B = self.model, self.model.optimizer, self.m, self.batch_size
        perm = self.rng.permutation(m) if self.shuffle else None
        costs = np.empty(self.steps)
        sums = np.zeros(self.plan.n_accumulators)
        lr = opt.learning_rate
        live = progbar is not None and progbar.live
        chunk = max(1, -(-self.steps // self._SLICES)) if live else self.steps
        self.costs, self.done = costs, 0
        for s0 in range(0, self.steps, chunk):
            s1 = min(self.steps, s0 + chunk)
            try:   # the plan advances the optimizer's step count itself, even when interrupted
                self.plan.run(self.X, self.Y, perm, m, s0, s1, lr, opt._iterations, costs, sums,
                              opt, self.stop_on_nan, self.sw, self.reduce, self.global_sizes)
            finally:
                self.done = s0 + self.plan.steps_done
            if self.plan.diverged:
                raise Diverged(float(costs[self.done]))
            if live:
                progbar.update(s1, {"loss": float(np.dot(costs[:s1], self.sizes[:s1]))
                                    / min(m, s1 * B)})
        examples = m if self.sw is None else float(self.sw.sum(dtype=np.float64))
        at = 0
        for metric, spec in zip(model.metrics, self.metric_specs):
            metric._absorb(sums[at:at + spec.slots], spec.per_example * examples)
            at += spec.slots
        return costs


def _norm_entry(layer: Any, state: Any) -> tuple[Any, ...]:
    """A normalization layer as the plan holds it (``_network.Plan``'s ``norm``)."""
    batch = isinstance(layer, BatchNormalization)
    return (_network.BATCH_NORM if batch else _network.LAYER_NORM, layer.epsilon,
            layer.momentum if batch else 0.0, layer.gamma, layer.beta, layer.dgamma,
            layer.dbeta, layer.moving_mean if batch else None,
            layer.moving_variance if batch else None, layer.scale, layer.center,
            [state(layer.gamma, layer.scale), state(layer.beta, layer.center)])


def select(model: Any, X: np.ndarray, Y: np.ndarray, batch_size: int, shuffle: bool,
           rng: np.random.Generator, batch_hooks: list[str], engine: str,
           sample_weight: np.ndarray | None = None) -> tuple[LayerTrainer, str]:
    """The trainer for ``engine`` and, when it is not the compiled one, why.

    ``"compiled"`` raises ``ValueError`` with the reasons when the compiled loop
    cannot train the model; ``"auto"`` falls back to the layer path, also when
    ``compile(..., compiled=False)`` asked for it.
    """
    trainer, why = _select(model, X, Y, batch_size, shuffle, rng, batch_hooks, engine)
    trainer.weigh(sample_weight)
    return trainer, why


def _select(model: Any, X: np.ndarray, Y: np.ndarray, batch_size: int, shuffle: bool,
            rng: np.random.Generator, batch_hooks: list[str], engine: str
            ) -> tuple[LayerTrainer, str]:
    args = (model, X, Y, batch_size, shuffle, rng)
    if engine == "python":
        return LayerTrainer(*args), "engine='python' was asked for"
    if engine == "auto" and not model.compiled:
        return LayerTrainer(*args), "compile(..., compiled=False) was asked for"
    try:
        return CompiledTrainer.make(*args, batch_hooks), ""
    except NotCompilable as exc:
        if engine == "compiled":
            raise ValueError(f"engine='compiled' cannot train this model: {exc}") from None
        return LayerTrainer(*args), str(exc)


_FINITE_HINT = "; clean it, or pass check_finite=False to train on it anyway"


def fit_data(model: Any, X: Any, y: Any, validation_data: Any, validation_split: Any,
             check_finite: bool, sample_weight: Any = None, class_weight: Any = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None,
                        np.ndarray | None, np.ndarray | None]:
    """``fit``'s data checked: ``(X, Y, X_val, Y_val, w, w_val)`` with the targets prepared
    for the model's loss, the validation rows taken from ``validation_data`` or split off
    the end, and the sample weights of each (None: unweighted), from ``sample_weight`` or
    ``class_weight``."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) \
            or not 0.0 <= validation_split < 1.0:  # type: ignore[operator]  # Real has no <
        raise ValueError(f"validation_split must be a float in [0, 1), got {validation_split!r}")
    X = model._check_X(X)
    m_all = X.shape[0]
    if m_all == 0:
        raise ValueError("X has no rows")
    if check_finite:
        check_finite_rows(X, "X", _FINITE_HINT)
    Y = model._check_y(y, m_all)
    w = _fit_weights(model, Y, sample_weight, class_weight)
    w_val = None
    if validation_data is not None:
        if validation_split:
            raise ValueError("pass validation_data or validation_split, not both")
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (X_val, y_val) or "
                             "(X_val, y_val, sample_weight_val)")
        X_val = model._check_X(validation_data[0], "X_val")
        if check_finite:
            check_finite_rows(X_val, "X_val", _FINITE_HINT)
        Y_val = model._check_y(validation_data[1], X_val.shape[0], "y_val", "X_val")
        if len(validation_data) == 3 and validation_data[2] is not None:
            w_val = check_sample_weight(validation_data[2], X_val.shape[0],
                                        "sample_weight_val", "X_val")
    elif validation_split:
        n_val = int(math.floor(m_all * validation_split))
        if n_val == 0 or n_val == m_all:
            raise ValueError(f"validation_split={validation_split} leaves "
                             f"{m_all - n_val} training and {n_val} validation examples")
        X, X_val = X[:m_all - n_val], X[m_all - n_val:]
        Y, Y_val = Y[:m_all - n_val], Y[m_all - n_val:]
        if sample_weight is not None:   # as Keras: class weights weigh the training rows only
            w_val = w[m_all - n_val:].astype(np.float64)  # type: ignore[index]  # weighted
        if w is not None:
            w = w[:m_all - n_val]
    else:
        X_val = Y_val = None
    return X, Y, X_val, Y_val, w, w_val


def _fit_weights(model: Any, Y: np.ndarray, sample_weight: Any, class_weight: Any
                 ) -> np.ndarray | None:
    """The training examples' weights, of the model's dtype, or None (unweighted)."""
    if class_weight is not None:
        if sample_weight is not None:
            raise ValueError("pass sample_weight or class_weight, not both (Keras refuses "
                             "them together too): fold the class weights into sample_weight")
        return class_weights(model, Y, class_weight).astype(model.dtype)
    if sample_weight is None:
        return None
    return check_sample_weight(sample_weight, Y.shape[0]).astype(model.dtype)


def class_weights(model: Any, Y: np.ndarray, class_weight: Any) -> np.ndarray:
    """Keras' per-example weights from ``{class: weight}``: each example weighs its class's
    weight (1 for a class not in the dict); its class is the argmax of its targets, or the
    rounded target of a one-unit output."""
    n = Y.shape[1]
    classifier = getattr(model.loss, "fused_activation", None) in ("sigmoid", "softmax")
    weights = check_class_weight(class_weight, (2 if n == 1 else n) if classifier else None)
    classes = np.rint(Y[:, 0]).astype(np.int64) if n == 1 else np.argmax(Y, axis=1)
    w = np.ones(Y.shape[0])
    for k, value in weights.items():
        w[classes == k] = value
    return w


def fit(model: Any, X: np.ndarray, Y: np.ndarray, X_val: np.ndarray | None,
        Y_val: np.ndarray | None, epochs: int, batch_size: int | None, shuffle: bool,
        seed: int | None, callbacks: Any, verbose: int, initial_epoch: int,
        engine: str, on_nan: str = "warn", sample_weight: np.ndarray | None = None,
        val_weight: np.ndarray | None = None, validation_freq: int = 1,
        session: Any = None) -> Any:
    """``Sequential.fit`` on checked data (``fit_data``): the callbacks, the trainer
    ``engine`` asks for, and the epoch loop; returns the ``History``.

    ``session`` (``fastdnn.distributed``): X, Y, X_val, Y_val and the weights are this
    rank's shards; the session settles what the ranks share (batch size, seed, weights,
    steps).
    """
    m = X.shape[0] if session is None else session.largest_shard
    if batch_size is None:
        batch_size = m
    batch_size = min(check_int(batch_size, "batch_size", 1), m)
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list, got {type(callbacks).__name__}")

    seq = np.random.SeedSequence(seed if session is None else session.seed)
    init_seq, shuffle_seq = seq.spawn(2)
    if not model.built:
        model.build(X.shape[1], np.random.default_rng(init_seq))
    if session is not None:
        # each rank shuffles its own shard; rank 0 alone prints and calls back
        shuffle_seq = shuffle_seq.spawn(session.size)[session.rank]
        callbacks, verbose, engine = session.root_only(callbacks, verbose, engine)
        session.prepare(model, {"batch_size": batch_size, "epochs": epochs,
                                "initial_epoch": initial_epoch, "shuffle": shuffle,
                                "on_nan": on_nan, "engine asked": engine,
                                "weighted": sample_weight is not None,
                                "validation_freq": validation_freq})
    rng = np.random.default_rng(shuffle_seq)
    steps = -(-m // batch_size)
    cbl = _callbacks.CallbackList(list(callbacks or []), add_history=True,
                                  add_progbar=verbose != 0, model=model, verbose=verbose,
                                  epochs=epochs, steps=steps, samples=m,
                                  do_validation=X_val is not None,
                                  validation_freq=validation_freq)
    progbar = cbl.progbar
    batch_hooks = cbl.needs_batch_hooks
    model.history = cbl.history
    trainer = _trainer(model, cbl, (X, Y, batch_size, shuffle, rng, sample_weight), engine,
                       verbose)
    if session is not None:
        cbl = session.attach(model, trainer, cbl)

    model.stop_training = False
    return _fit_epochs(model, cbl, trainer, progbar, batch_hooks, initial_epoch, epochs,
                       X_val, Y_val, batch_size, engine, on_nan, val_weight, validation_freq)


def _trainer(model: Any, cbl: Any, data: _Data, engine: str, verbose: int
             ) -> LayerTrainer:
    """The trainer ``engine`` asks for, reported in ``History`` (and printed when verbose)."""
    hooks = [type(cb).__name__ for cb in cbl.callbacks
             if cb._implements_train_batch_hooks()]
    X, Y, batch_size, shuffle, rng, sample_weight = data
    trainer, why = select(model, X, Y, batch_size, shuffle, rng, hooks, engine, sample_weight)
    cbl.history.engine = trainer.engine
    cbl.history.params["engine"] = trainer.engine
    if verbose:
        print(f"Engine: {trainer.engine}" + (f" ({why})" if why else ""))
    return trainer


def _warn_divergence(epoch: int, costs: Any) -> None:
    """on_nan="continue": a RuntimeWarning saying where the training loss stopped being
    finite."""
    values = np.asarray(costs, dtype=float).ravel()
    bad = np.nonzero(~np.isfinite(values))[0]
    where = f" at its step {int(bad[0]) + 1} of {values.size}" if bad.size else ""
    warnings.warn(f"training diverged in epoch {epoch + 1}: the loss became "
                  f"{values[bad[0]] if bad.size else float('nan')}{where}, and the weights "
                  "follow it (on_nan='continue'); lower the learning rate or rescale the "
                  "inputs", RuntimeWarning, stacklevel=5)


def _arrays(model: Any) -> list[np.ndarray]:
    """Every array of the layers, trained or not (a normalization's moving statistics)."""
    return [getattr(l, n) for l in model._compute_layers for n in l.weights_names]


def _state(model: Any) -> _State:
    """Copies of the weights, the optimizer's state and its step count."""
    opt = model.optimizer
    params = [p.copy() for p in _arrays(model)]
    slots = None if opt._slots is None else [[a.copy() for a in g] for g in opt._slots]
    return params, slots, opt._iterations


def _restore(model: Any, state: _State) -> None:
    params, slots, iterations = state
    opt = model.optimizer
    for p, saved in zip(_arrays(model), params):
        np.copyto(p, saved)
    if slots is not None and opt._slots is not None:
        for group, saved_group in zip(opt._slots, slots):
            for a, b in zip(group, saved_group):
                np.copyto(a, b)
    opt._iterations = iterations


def _finite_weights(model: Any) -> bool:
    return all(bool(np.isfinite(p).all()) for l in model._compute_layers for p in l.params)


def _stop_diverged(model: Any, on_nan: str, epoch: int, trainer: LayerTrainer, cost: float,
                   start: Any, what: str | None = None) -> None:
    """on_nan="warn"/"raise" at a mini-batch whose cost is not finite: the weights are the
    last finite ones (those before it; or, should they not be finite, those fit began
    with), then a RuntimeWarning or FloatingPointError says where."""
    finite = _finite_weights(model)
    if not finite:
        _restore(model, start)
    kept = ("the weights are those of the last finite step" if finite else
            "the weights were no longer finite and are those fit started from")
    what = what or (f"at its step {trainer.done + 1} of {trainer.steps}: the loss became "
                    f"{cost}")
    message = (f"training diverged in epoch {epoch + 1} {what}; training stopped there, and {kept} "
               f"(optimizer step {model.optimizer.iterations}). Lower the learning rate or "
               "rescale the inputs; on_nan='continue' trains on regardless")
    if on_nan == "raise":
        raise FloatingPointError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=5)


def _fit_epochs(model: Any, cbl: Any, trainer: LayerTrainer, progbar: Any, batch_hooks: bool,
                initial_epoch: int, epochs: int, X_val: np.ndarray | None,
                Y_val: np.ndarray | None, batch_size: int, engine: str,
                on_nan: str = "warn", val_weight: np.ndarray | None = None,
                validation_freq: int = 1) -> Any:
    """The epochs, with their callbacks and validation; a callback that re-compiles or
    rebuilds the model gets a trainer for what the model is now."""
    cbl.on_train_begin()
    signature = _training_signature(model)
    diverged = False
    stop_on_nan = on_nan != "continue"
    start = _state(model) if stop_on_nan else None
    for epoch in range(initial_epoch, epochs):
        if _training_signature(model) != signature:
            # a callback re-compiled or rebuilt the model: train what it is now
            trainer = _retrainer(model, cbl, trainer, signature, engine)
            signature = _training_signature(model)
            start = _state(model) if stop_on_nan else None
        trainer.stop_on_nan = stop_on_nan
        model.optimizer.epoch = epoch
        for metric in model.metrics:
            metric.reset_state()
        cbl.on_epoch_begin(epoch)
        lr = model.optimizer.learning_rate
        try:
            costs = trainer.run_epoch(progbar, cbl if batch_hooks else None)
        except Diverged as exc:
            cbl.history.add_batch_losses(trainer.completed_costs())
            _stop_diverged(model, on_nan, epoch, trainer, exc.cost, start)
            model.stop_training = True
            break
        except BaseException:
            # interrupted (Ctrl-C) or failed between two steps: History keeps the costs of
            # the steps the weights and the optimizer have taken
            cbl.history.add_batch_losses(trainer.completed_costs())
            raise
        if stop_on_nan and not _finite_weights(model):
            # the epoch's last updates overflowed the weights after finite costs
            cbl.history.add_batch_losses(costs)
            _stop_diverged(model, on_nan, epoch, trainer, math.inf, start,
                           "at its last steps: the weights overflowed (the costs were finite)")
            model.stop_training = True
            break
        logs = {"loss": trainer.epoch_loss(costs)}
        if not diverged and not math.isfinite(logs["loss"]):
            diverged = True
            _warn_divergence(epoch, costs)
        for metric in model.metrics:
            logs[metric.name] = float(metric.result())
        if X_val is not None and (epoch + 1) % validation_freq == 0:
            # X_val and Y_val are None together (fit_data)
            for key, value in _inference.evaluate(model, X_val, Y_val,  # type: ignore[arg-type]
                                                  batch_size, val_weight).items():
                logs["val_" + key] = value
        logs["learning_rate"] = lr
        cbl.history.add_batch_losses(costs)
        cbl.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbl.on_train_end()
    return cbl.history


def _training_signature(model: Any) -> tuple[Any, ...]:
    """What a trainer was built from: it changes when a callback re-compiles or rebuilds."""
    return (id(model.optimizer), getattr(model.loss, "name", None), id(model.loss),
            tuple(map(id, model.metrics)), model.compiled,
            tuple(id(p) for l in model._compute_layers for p in l.params),
            tuple(getattr(l, "_kernel", None) for l in model._compute_layers))


def _retrainer(model: Any, cbl: Any, trainer: LayerTrainer, signature: tuple[Any, ...],
               engine: str) -> LayerTrainer:
    if trainer.reduce is not None:
        raise RuntimeError("a callback re-compiled or rebuilt the model during fit with "
                           "distribute=: not supported (the ranks train one model); call fit "
                           "again instead")
    if getattr(model.loss, "name", None) != signature[1]:
        raise RuntimeError(f"the loss changed from {signature[1]!r} to {model.loss.name!r} "
                           "during fit (the targets were prepared for the first one); "
                           "call fit again instead")
    data = (trainer.X, trainer.Y, trainer.batch_size, trainer.shuffle, trainer.rng, trainer.sw)
    return _trainer(model, cbl, data, engine, 0)
