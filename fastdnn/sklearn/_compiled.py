"""The stochastic solvers' epochs in fastdnn's compiled training loop.

The loop ``Sequential.fit(engine="compiled")`` runs (``fastdnn._training.CompiledTrainer``),
on a ``Sequential`` whose ``Dense`` layers are views of the estimator's flat buffer, with
the order of the examples scikit-learn's shuffling drew (handed to the trainer as its
permutation) and the loop's L2 term (``alpha/2 ||W||^2`` per batch, as scikit-learn's).

:class:`CompiledEpochs`: one call per epoch gathers every mini-batch and runs forward,
loss, backward and the update without returning to Python. The optimizer is the
estimator's own object for ``adam`` and ``rmsprop`` (the same state arrays and step
count as the mini-batch path), plain gradient descent for ``sgd`` without momentum,
and for ``sgd`` with momentum (heavy-ball or Nesterov) fastdnn's ``SGD``, whose buffer
``b = -v / lr`` is made from scikit-learn's velocity ``v`` before each epoch and turned
back into it after: at the epoch's rate its steps ``b = mu b + g``, ``p -= lr b`` (or
``p -= lr (g + mu b)``) are scikit-learn's ``v = mu v - lr g``, ``p += v`` (or
``p += mu v - lr g``), to rounding, and the rate changes only between epochs.

A fit follows the same path as on the mini-batch loop of :mod:`._stochastic`,
to rounding. What the loop cannot take -- scipy.sparse ``X``, ``sample_weight``, the
Poisson loss, a multi-output squared error with ``alpha > 0`` (the loop's loss is not
averaged over the outputs) -- trains on the mini-batch path; :func:`obstacles` says why.

:class:`CompiledGradient` gives ``lbfgs`` its full-batch loss and gradient from the same
loop, one call per evaluation (sample weights and several outputs allowed there).

Its training loss clips probabilities into ``[tiny, 1 - eps/2]`` of the dtype where
scikit-learn clips into ``[eps, 1 - eps]``: ``loss_curve_`` differs only where a
probability of the true label falls below ``eps`` (2.2e-16 in float64, 1.2e-7 in float32).

Examples
--------
>>> import numpy as np
>>> from fastdnn.sklearn import MLPClassifier
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
>>> clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
>>> clf = clf.fit(X, [0, 1, 1, 1] * 10)
>>> clf._training_engine
'compiled'
>>> clf.set_params(solver="sgd").fit(X, [0, 1, 1, 1] * 10)._training_engine
'compiled'
>>> import scipy.sparse as sp
>>> clf.fit(sp.csr_matrix(X), [0, 1, 1, 1] * 10)._training_engine
'python (X is sparse)'
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _aligned
from .._training import CompiledTrainer
from ..layers import Dense
from ..optimizers import GD, SGD
from ._network import _FASTDNN_LOSS, Network


def obstacles(est: Any, net: Network, X: Any, w: np.ndarray | None,
              l2_in_loop: bool = True) -> list[str]:
    """Why the compiled loop cannot train this fit (empty: it can); ``l2_in_loop=False``
    when the caller adds the L2 term itself (lbfgs), which several outputs then allow."""
    reasons = []
    if sp.issparse(X):
        reasons.append("X is sparse")
    elif not isinstance(X, np.ndarray) or X.dtype != net.dtype:
        reasons.append("X is not an array of the network's dtype")
    if w is not None:
        reasons.append("sample_weight")
    if net.out not in _FASTDNN_LOSS:
        reasons.append(f"the {net.out} output (loss={getattr(est, 'loss', None)!r})")
    elif net.out == "identity" and net.sizes[-1] > 1 and est.alpha and l2_in_loop:
        reasons.append("several outputs with alpha > 0")
    return reasons


def epochs(est: Any, net: Network, X: np.ndarray, Y: np.ndarray, batch_size: int,
           alpha: float) -> "CompiledEpochs":
    """The compiled epochs for the estimator's solver."""
    return CompiledEpochs(est, net, X, Y, batch_size, alpha)


class _Order:
    """What the trainer draws each epoch's order from: the order scikit-learn drew."""

    order: np.ndarray | None = None

    def permutation(self, m: int) -> np.ndarray:
        return self.order


class CompiledEpochs:
    """Epochs of the compiled loop over ``X, Y`` (both of the network's dtype) with
    mini-batches of ``batch_size``, the estimator's optimizer and L2 strength ``alpha``.

    :meth:`run` trains one epoch in the given order and returns the sum over its
    mini-batches of each one's loss times its size (scikit-learn's ``accumulated_loss``).
    """

    engine = "compiled"

    def __init__(self, est: Any, net: Network, X: np.ndarray, Y: np.ndarray, batch_size: int,
                 alpha: float):
        self.net = net
        self.est_optimizer = est._optimizer
        self.optimizer = self._loop_optimizer(net)
        model = net.training_sequential(alpha)
        model.compile(optimizer=self.optimizer, loss=_FASTDNN_LOSS[net.out])
        self._order = _Order()
        Y = np.ascontiguousarray(Y, dtype=net.dtype)
        self.trainer = CompiledTrainer.make(model, X, Y, batch_size, bool(est.shuffle),
                                            self._order)
        self.sizes = self.trainer.sizes
        # the loop's squared error is summed over the outputs, scikit-learn's averaged
        # (alpha = 0 there: the L2 term needs no such scaling)
        self.scale = 1.0 / net.sizes[-1] if net.out == "identity" else 1.0

    def _loop_optimizer(self, net: Network) -> Any:
        """The estimator's own fastdnn optimizer (adam, rmsprop), gradient descent, or
        ``SGD`` with a buffer of the network's layout (``self.buffer``, made from the
        estimator's velocity before each epoch and turned back into it after)."""
        opt = self.est_optimizer.compiled()
        self.buffer = None
        if isinstance(opt, SGD) and opt.momentum:
            self.buffer = _aligned.zeros(net.size, net.dtype)
            W, b = net.views(self.buffer)
            opt._slots = ([p for Wl, bl in zip(W, b) for p in (Wl, bl.reshape(-1, 1))],)
            return opt
        # the loop reads the state in the weights' (C) order: state the mini-batch path
        # laid out otherwise (a transposed first layer, see _stochastic) is put back
        for group in getattr(opt, "_slots", None) or ():
            for i, a in enumerate(group):
                if not a.flags.c_contiguous:
                    group[i] = np.ascontiguousarray(a)
        return opt

    def run(self, order: np.ndarray | None) -> float:
        lr = self.est_optimizer.learning_rate
        if self.optimizer.learning_rate != lr:
            self.optimizer.learning_rate = lr
        if order is not None:
            self._order.order = np.ascontiguousarray(order, dtype=np.int64)
        if self.buffer is None:
            costs = self.trainer.run_epoch(None, None)
        else:
            self.est_optimizer.to_buffer(self.buffer)
            try:       # (the loop stops between whole steps: its buffer is theirs)
                costs = self.trainer.run_epoch(None, None)
            finally:
                self.est_optimizer.from_buffer(self.buffer)
        return float(np.dot(costs, self.sizes)) * self.scale


class CompiledGradient:
    """L-BFGS's evaluations in the compiled loop: the loss of ``net`` on ``X, Y`` (sample
    weights ``w`` or None), without the L2 term, and its gradient written into ``grad``
    (a flat vector of the network's layout), in one call (``Plan.gradient``: the whole set
    as one batch, split by columns over the threads when the network is small).

    The loop trains a ``Sequential`` whose ``Dense`` layers are views of the network's
    buffer and write their gradients into views of ``grad``; ``X`` must be an array of the
    network's dtype (:func:`obstacles`, sample weights allowed), else ``NotCompilable``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdnn.sklearn._network import Network
    >>> net = Network([2, 3, 1], "relu", "identity", np.float64)
    >>> X, Y = np.ones((4, 2)), np.zeros((4, 1))
    >>> CompiledGradient(net, X, Y, None)(4.0)      # zero weights: outputs 0, gradient 0
    0.0
    """

    engine = "compiled"

    def __init__(self, net: Network, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None):
        model = net.new_sequential(0.0)
        model.compile(optimizer=GD(1.0), loss=_FASTDNN_LOSS[net.out])   # (never steps)
        self.grad = np.zeros(net.size, dtype=net.dtype)
        gW, gb = net.views(self.grad)
        for layer, dW, db in zip([l for l in model.layers if isinstance(l, Dense)], gW, gb):
            layer.dW, layer.db = dW, db.reshape(-1, 1)
        self.X, self.m = X, X.shape[0]
        self.Y = np.ascontiguousarray(Y, dtype=net.dtype)
        self.w = None if w is None else np.ascontiguousarray(w, dtype=net.dtype)
        self.plan = CompiledTrainer.make(model, X, self.Y, self.m, False, None).plan
        # the loop's squared error is summed over the outputs, scikit-learn's averaged
        self.scale = 1.0 / net.sizes[-1] if net.out == "identity" else 1.0

    def __call__(self, total_weight: float) -> float:
        """The loss summed over the examples (weighted) / ``total_weight``; ``grad`` = its
        gradient with respect to the network's buffer as it is now."""
        return self.plan.gradient(self.X, self.Y, self.m, self.w, total_weight) * self.scale
