"""``fit_stochastic``: scikit-learn's mini-batch training loop (``_fit_stochastic``), on
fastdnn's compiled passes and the flat parameter vector. Each epoch runs in fastdnn's
compiled training loop when the configuration allows it (:mod:`._compiled`), else one
mini-batch at a time from Python (:class:`MiniBatchEpochs`); ``_training_engine`` says
which, and why.

Same epochs, batches (``gen_batches``), shuffling (``sklearn.utils.shuffle`` of the indices
with the estimator's ``RandomState``), validation split (``train_test_split``), loss
bookkeeping (``loss_``, ``loss_curve_``, ``t_``), stopping rule (``tol``,
``n_iter_no_change``, ``adaptive``), best-weights restore and warnings as scikit-learn 1.9.
Three deliberate differences: the early-stopping split is stratified for every
single-label classifier (scikit-learn's code stratifies binary targets only, its docs say
"stratified, except in a multilabel setting"); a non-finite training loss stops training
at once with a ``ValueError`` instead of running on with NaN weights; a mini-batch whose
sample weights are all zero is skipped (scikit-learn raises ``ZeroDivisionError``).

Examples
--------
>>> import numpy as np
>>> from fastdnn.sklearn import MLPRegressor
>>> X = np.linspace(0, 1, 20).reshape(-1, 1)
>>> reg = MLPRegressor(solver="sgd", hidden_layer_sizes=(3,), max_iter=50, tol=1.0,
...                    n_iter_no_change=4, random_state=0)
>>> len(reg.fit(X, X[:, 0]).loss_curve_), reg.t_   # 1 + 5 epochs that miss tol
(6, 120)
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .._compiled import NotCompilable
from .._kernels import _sparse
from ._compiled import epochs as compiled_epochs
from ._compiled import obstacles
from ._network import CSRRows, Network
from ._optimizers import make_optimizer


def _start_curves(est: Any, early_stopping: bool) -> None:
    """The stochastic bookkeeping, if this estimator has none yet (scikit-learn's
    ``_initialize``; also after a warm start from ``lbfgs``)."""
    if not hasattr(est, "loss_curve_"):
        est.loss_curve_ = []
        est._no_improvement_count = 0
        est.best_loss_ = np.inf
        est.validation_scores_ = None
        est.best_validation_score_ = None
    if early_stopping and est.validation_scores_ is None:
        est.validation_scores_ = []
        est.best_validation_score_ = -np.inf
        est.best_loss_ = None


def _split(est: Any, X: Any, Y: np.ndarray, w: np.ndarray | None) -> tuple:
    stratify = est._stratify_labels(Y)
    arrays = (X, Y) if w is None else (X, Y, w)
    kw = dict(random_state=est._random_state, test_size=est.validation_fraction)
    try:
        parts = train_test_split(*arrays, stratify=stratify, **kw)
    except ValueError:
        if stratify is None or Y.shape[1] == 1:
            raise           # binary targets: scikit-learn raises the same
        # multiclass too small to stratify: scikit-learn's own (unstratified) split; the
        # failed attempt drew nothing from the RandomState
        parts = train_test_split(*arrays, **kw)
    X_train, X_val, Y_train, Y_val = parts[:4]
    w_train, w_val = (parts[4], parts[5]) if w is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                         "or the size of your dataset.")
    return X_train, Y_train, w_train, X_val, est._decode_targets(Y_val), w_val


def fit_stochastic(est: Any, net: Network, X: Any, Y: np.ndarray, w: np.ndarray | None,
                   incremental: bool) -> None:
    """Train ``net`` (the estimator's weights) by mini-batches, as scikit-learn does."""
    params = net.flat
    previous = getattr(est, "_optimizer", None)
    if not incremental or previous is None or getattr(previous, "size", None) != params.size:
        est._optimizer = make_optimizer(est, params)
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    early_stopping = est.early_stopping
    _start_curves(est, early_stopping)
    if early_stopping:
        X_train, Y_train, w_train, X_val, y_val, w_val = _split(est, X, Y, w)
        best = getattr(est, "_best_params", None)
        if best is None or best.shape != params.shape or best.dtype != params.dtype:
            est._best_params = params.copy()
    else:
        X_train, Y_train, w_train = X, Y, w
        X_val = y_val = w_val = None

    n_samples = X_train.shape[0]
    sample_idx = np.arange(n_samples, dtype=np.int64)
    if est.batch_size == "auto":
        batch_size = min(200, n_samples)
    else:
        if est.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped")
        batch_size = int(np.clip(est.batch_size, 1, n_samples))
    loss = est._loss_function()
    alpha = float(est.alpha)
    optimizer = est._optimizer
    Y_train = np.ascontiguousarray(Y_train, dtype=net.dtype)
    reasons = obstacles(est, net, X_train, w_train)
    epochs: Any = None
    if not reasons:
        try:
            epochs = compiled_epochs(est, net, X_train, Y_train, batch_size, alpha)
            est._training_engine = epochs.engine
        except NotCompilable as exc:     # what the loop itself refuses (e.g. unaligned X)
            reasons = [str(exc)]
    if epochs is None:
        epochs = MiniBatchEpochs(net, X_train, Y_train, w_train, batch_size, alpha, loss,
                                 optimizer)
        est._training_engine = f"python ({'; '.join(reasons)})"

    try:
        est.n_iter_ = 0
        for _ in range(est.max_iter):
            if est.shuffle:
                sample_idx = _shuffle(sample_idx, est._random_state)
            accumulated = epochs.run(sample_idx if est.shuffle else None)
            est.n_iter_ += 1
            est.loss_ = accumulated / n_samples
            if not math.isfinite(est.loss_):
                raise ValueError(
                    f"The training loss became {est.loss_} in iteration {est.n_iter_}: the "
                    "input data may contain large values and need to be preprocessed, or "
                    "learning_rate_init is too large for them.")
            est.t_ += n_samples
            est.loss_curve_.append(est.loss_)
            if est.verbose:
                print("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))
            _update_no_improvement_count(est, early_stopping, X_val, y_val, w_val)
            optimizer.iteration_ends(est.t_)
            if est._no_improvement_count > est.n_iter_no_change:
                if early_stopping:
                    msg = ("Validation score did not improve more than tol=%f for %d "
                           "consecutive epochs." % (est.tol, est.n_iter_no_change))
                else:
                    msg = ("Training loss did not improve more than tol=%f for %d "
                           "consecutive epochs." % (est.tol, est.n_iter_no_change))
                if optimizer.trigger_stopping(msg, est.verbose):
                    break
                est._no_improvement_count = 0
            if incremental:
                break
            if est.n_iter_ == est.max_iter:
                warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                              "optimization hasn't converged yet." % est.max_iter,
                              ConvergenceWarning)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")

    if early_stopping:
        np.copyto(params, est._best_params)     # restore the best weights, in place


def _shuffle(sample_idx: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
    """``sklearn.utils.shuffle(sample_idx, random_state=random_state)``: the same draw
    (``random_state.shuffle`` of ``arange(n)``) and the same result, without its checks."""
    order = np.arange(sample_idx.shape[0])
    random_state.shuffle(order)
    return sample_idx[order]


class MiniBatchEpochs:
    """Epochs on the mini-batch path: one :meth:`Network.loss_grad` and one optimizer step
    per batch from Python (each a few compiled calls), the batch's rows gathered into the
    network's workspace (scipy.sparse rows: a CSR slice).

    :meth:`run` trains one epoch in the given order (None: as stored) and returns the sum
    over its mini-batches of each one's loss times its size; a batch whose sample weights
    are all zero is skipped.
    """

    engine = "python"

    def __init__(self, net: Network, X: Any, Y: np.ndarray, w: np.ndarray | None,
                 batch_size: int, alpha: float, loss: Any, optimizer: Any):
        self.net, self.X, self.Y, self.w = net, X, Y, w
        self.batch_size, self.alpha, self.loss, self.optimizer = batch_size, alpha, loss, optimizer
        # C-ordered rows of the network's dtype are gathered into its workspace
        self.gather = isinstance(X, np.ndarray) and X.dtype == net.dtype
        # the L2 term in the optimizer's step (adam, rmsprop) rather than in the gradient
        self.fused_l2 = bool(alpha) and getattr(optimizer, "fuses_l2", False)
        # scipy.sparse rows through the first layer as sparse products, each mini-batch's
        # rows read in place from the CSR arrays (CSRRows) in the network's dtype; with
        # adam/rmsprop the epoch trains a transposed copy of its weights, (n_features,
        # units) C-ordered, which those products read and write without copying them
        # (written back after)
        self.in_place = sp.issparse(X) and net.sparse_first(X)
        self.transposed = getattr(optimizer, "fuses_l2", False) and self.in_place
        if self.in_place:
            if X.format != "csr" or X.dtype != net.dtype:
                self.X = X = sp.csr_matrix(X, dtype=net.dtype)
            X.check_format(full_check=True)     # the kernels trust every index
            self.all_rows = np.arange(X.shape[0], dtype=np.int64)

    def run(self, order: np.ndarray | None) -> float:
        if not self.transposed:
            return self._run(order, None, None)
        net = self.net
        W0 = np.ascontiguousarray(net.W[0].T)
        # the first layer's gradient formed inside the optimizer's step, a block of rows at
        # a time, never whole: no (n_features, units) gradient array (float64, 5000
        # features x 64 units, 200 rows of 25 entries, two threads: csr_grad then Adam's
        # step 316 us, the step from the rows gradient 295)
        gW0 = _sparse.RowsGradient()
        parts = ([W0.T, *net.param_parts[1:]], [gW0, *net.grad_parts[1:]])
        try:
            return self._run(order, (W0, gW0), parts)
        finally:
            np.copyto(net.W[0], W0.T)

    def _run(self, order: np.ndarray | None, first: tuple | None, parts: tuple | None
             ) -> float:
        net, X, Y, w, B = self.net, self.X, self.Y, self.w, self.batch_size
        alpha, loss, step, fused_l2 = self.alpha, self.loss, self.optimizer.step, self.fused_l2
        n = X.shape[0]
        ws = net.workspace(min(B, n))
        accumulated = 0.0
        for s in range(0, n, B):
            e = min(n, s + B)
            size = e - s
            if order is None:
                X_batch = CSRRows(X, self.all_rows[s:e]) if self.in_place else X[s:e]
                Y_batch = Y[s:e]
                w_batch = None if w is None else w[s:e]
            else:
                idx = order[s:e]
                if self.gather:
                    X_batch, Y_batch = ws.rows(size)
                    np.take(X, idx, axis=0, out=X_batch, mode="clip")   # unbuffered
                    np.take(Y, idx, axis=0, out=Y_batch, mode="clip")
                elif self.in_place:
                    X_batch, Y_batch = CSRRows(X, idx), Y[idx]
                else:
                    X_batch, Y_batch = X[idx], Y[idx]
                w_batch = None if w is None else w[idx]
            total = size if w_batch is None else float(w_batch.sum())
            if total == 0:      # only zero weights: nothing to learn from this batch
                continue
            accumulated += net.loss_grad(X_batch, Y_batch, w_batch, total, alpha, loss,
                                         l2_in_grad=not fused_l2, first=first) * size
            if parts is not None:
                step(net, alpha / total if fused_l2 else 0.0, parts)
            elif fused_l2:
                step(net, alpha / total)
            else:
                step(net)
        return accumulated


def _update_no_improvement_count(est: Any, early_stopping: bool, X_val: Any, y_val: Any,
                                 w_val: Any) -> None:
    if early_stopping:
        score = est._score(X_val, y_val, sample_weight=w_val)
        est.validation_scores_.append(score)
        if est.verbose:
            print("Validation score: %f" % score)
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            np.copyto(est._best_params, est._net.flat)
    else:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]
