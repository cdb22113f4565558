"""``fit_stochastic``: scikit-learn's mini-batch training loop (``_fit_stochastic``), on
fastdnn's compiled passes and the flat parameter vector.

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
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import gen_batches, shuffle

from ._network import Network
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
    params, grad = net.flat, net.grad
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
    sample_idx = np.arange(n_samples, dtype=int)
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

    try:
        est.n_iter_ = 0
        for _ in range(est.max_iter):
            if est.shuffle:
                sample_idx = shuffle(sample_idx, random_state=est._random_state)
            accumulated = 0.0
            for batch in gen_batches(n_samples, batch_size):
                idx = sample_idx[batch] if est.shuffle else batch
                X_batch = X_train[idx]          # an ndarray or a CSR matrix: rows
                w_batch = None if w_train is None else w_train[idx]
                size = batch.stop - batch.start
                total = size if w_batch is None else float(w_batch.sum())
                if total == 0:      # only zero weights: nothing to learn from this batch
                    continue
                batch_loss = net.loss_grad(X_batch, Y_train[idx], w_batch, total, alpha, loss)
                accumulated += batch_loss * size
                optimizer.update_params(params, grad)
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
