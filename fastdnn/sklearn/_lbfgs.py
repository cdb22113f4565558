"""``fit_lbfgs``: scipy's L-BFGS-B on the flat parameter vector (scikit-learn's
``_fit_lbfgs``: ``maxiter=max_iter``, ``maxfun=max_fun``, ``gtol=tol``, its
``ConvergenceWarning`` through ``sklearn.utils.optimize._check_optimize_result``).

Each evaluation is one call of fastdnn's compiled training loop on the whole training
set (:class:`._compiled.CompiledGradient`: the iterate copied into the network's buffer,
the loss and gradient from one compiled forward and backward, the L2 term added to both
here), or, where that loop cannot go (sparse ``X``, the Poisson loss), of
:meth:`Network.loss_grad`, whose layers' ``W``/``b`` are views of the vector scipy passes
and whose gradient is written straight into the views of the vector handed back to scipy
(the L2 term fused with the write).

Examples
--------
>>> import numpy as np
>>> from fastdnn.sklearn import MLPRegressor
>>> X = np.linspace(-1, 1, 30).reshape(-1, 1)
>>> reg = MLPRegressor(solver="lbfgs", hidden_layer_sizes=(5,), max_iter=200,
...                    random_state=0).fit(X, 2 * X[:, 0])
>>> reg.score(X, 2 * X[:, 0]) > 0.99
True
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.optimize
from sklearn.utils.optimize import _check_optimize_result

from .._compiled import NotCompilable
from ._compiled import CompiledGradient, obstacles
from ._network import Network

try:   # scipy < 1.15 only: scikit-learn's shim for the iprint option
    from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
except ImportError:  # pragma: no cover
    def _get_additional_lbfgs_options_dict(key: str, value: Any) -> dict:
        return {}


def fit_lbfgs(est: Any, net: Network, X: Any, Y: np.ndarray, w: np.ndarray | None) -> None:
    """Minimize the regularized loss of ``net`` on ``X, Y`` with L-BFGS-B (in place)."""
    total = X.shape[0] if w is None else float(w.sum())
    alpha = float(est.alpha)
    loss = est._loss_function()
    f64 = net.dtype == np.float64

    compiled, why = _compiled_gradient(est, net, X, Y, w)
    est._training_engine = compiled.engine if compiled is not None else f"python ({why})"

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        if compiled is not None:
            np.copyto(net.flat, theta, casting="same_kind")
            value = compiled(total)
            # a new array per call: scipy keeps the previous gradient
            grad = compiled.grad.astype(np.float64)
            if alpha:
                coef = theta[:net.n_coef]
                grad[:net.n_coef] += (alpha / total) * coef
                value += 0.5 * alpha * float(np.dot(coef, coef)) / total
            return value, grad
        # scipy hands each call its own copy of the iterate: the views may point into it
        params = theta if f64 else theta.astype(net.dtype)
        grad = np.empty(net.size, dtype=net.dtype)
        value = net.loss_grad(X, Y, w, total, alpha, loss, params=params, grad=grad)
        return value, (grad if f64 else grad.astype(np.float64))

    iprint = 1 if (est.verbose is True or est.verbose >= 1) else -1
    result = scipy.optimize.minimize(
        fun, net.flat.astype(np.float64), method="L-BFGS-B", jac=True,
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol,
                 **_get_additional_lbfgs_options_dict("iprint", iprint)})
    est.n_iter_ = _check_optimize_result("lbfgs", result, est.max_iter)
    est.loss_ = float(result.fun)
    net.flat[...] = result.x


def _compiled_gradient(est: Any, net: Network, X: Any, Y: np.ndarray, w: np.ndarray | None
                       ) -> tuple[CompiledGradient | None, str]:
    """The compiled loop's evaluations for this fit, or None and why it cannot go."""
    # sample weights are no obstacle here: the whole set is one batch divided by the total
    # weight (and the L2 term is added outside the loop)
    reasons = obstacles(est, net, X, None, l2_in_loop=False)
    if reasons:
        return None, "; ".join(reasons)
    try:
        return CompiledGradient(net, X, Y, w), ""
    except NotCompilable as exc:     # what the loop itself refuses (e.g. unaligned X)
        return None, str(exc)
