"""scikit-learn's multi-layer perceptrons on fastdnn: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for ``sklearn.neural_network.MLPClassifier``/``MLPRegressor``
(scikit-learn 1.9): the same constructor parameters, defaults and validation (scikit-learn's
declarative ``_parameter_constraints``, ``validate_data``, ``check_is_fitted``), the same
fitted attributes, ``fit``/``partial_fit``/``predict``/``predict_proba``/``score``,
``sample_weight``, multilabel and multi-output targets, scipy.sparse ``X`` and warm starts;
with the default initialization and a given ``random_state`` the initial weights, shuffling
and validation split are scikit-learn's own draws. Every weight lives in one flat buffer
that ``coefs_``/``intercepts_`` view, that ``lbfgs`` (scipy's L-BFGS-B) optimizes directly
and that the fastdnn ``Sequential`` of ``model_`` shares. On dense ``X`` the stochastic
solvers train in fastdnn's compiled training loop (the loop of
``Sequential.fit(engine="compiled")``): ``adam`` and ``rmsprop`` (and ``sgd`` without
momentum) one call per epoch, ``sgd`` with momentum one call per mini-batch followed by
scikit-learn's momentum step; scipy.sparse ``X``, ``sample_weight`` and the Poisson loss
train one mini-batch at a time on fastdnn's dense kernels, in buffers allocated once.

scikit-learn (>= 1.6; tested with 1.9) is needed: ``pip install 'fastdnn[sklearn]'``.
``import fastdnn`` never imports it; the estimators are loaded from here on first use and
raise ``ImportError`` naming that extra when it is missing.

fastdnn's extras: ``dtype`` (``None``: follow ``X``, as scikit-learn does; or force
``"float32"``/``"float64"``), ``normalize`` (a ``Normalizer`` adapted on the training ``X``),
``model_`` (the network as a fastdnn ``Sequential`` sharing the weights), ``export_onnx``
(the fitted estimator as an ONNX graph with ``"label"``/``"probabilities"`` or
``"variable"`` outputs),
``kernel_initializer`` (fastdnn's initializers), ``activation="leaky_relu"`` and
``solver="rmsprop"``.

Where results differ from scikit-learn's
-----------------------------------------
- the sums of the matrix products run in fastdnn's order: results agree to rounding
  (an ``sgd`` run in float64 from the same weights follows scikit-learn's loss curve to
  about 1e-9 relative), not bit for bit;
- ``adam`` is fastdnn's compiled Adam, which adds ``epsilon`` to the bias-corrected
  ``sqrt(v_hat)`` (scikit-learn adds it to ``sqrt(v)``): the steps differ only where the
  gradients' root mean square is near ``epsilon``;
- with ``early_stopping`` the validation split of every single-label classifier is
  stratified (scikit-learn's documentation says so; its code stratifies binary targets
  only), unless a class is too rare to stratify a multiclass target;
- a training loss that becomes NaN or infinite stops ``fit`` at once with a ``ValueError``
  (scikit-learn runs on and raises at the end when the weights are not finite);
- a mini-batch whose sample weights are all zero is skipped (scikit-learn divides by zero);
- scipy.sparse ``X`` goes through the first layer as scipy.sparse products when at most 5 %
  of its entries are stored (and ``normalize=False``), else as a chunk of densified rows at
  a time (at most 2**20 values), since fastdnn's kernels take dense operands;
- in the compiled loop the training loss clips probabilities into ``[tiny, 1 - eps/2]`` of
  the dtype (scikit-learn: ``[eps, 1 - eps]``): ``loss_curve_`` differs only where the
  probability of a true label falls below ``eps`` (2.2e-16 in float64, 1.2e-7 in float32);
- while an estimator trains, BLAS (used only by scipy's L-BFGS-B update and a few dot
  products; fastdnn computes its products itself) is limited to one thread.

Examples
--------
>>> import numpy as np
>>> from fastdnn.sklearn import MLPClassifier
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
>>> y = np.array(["no", "yes", "yes", "yes"] * 10)
>>> clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y)
>>> clf.classes_.tolist(), clf.predict([[0.0, 0.0], [1.0, 1.0]]).tolist()
(['no', 'yes'], ['no', 'yes'])
>>> clf.predict_proba(X).shape, clf.score(X, y)
((40, 2), 1.0)
"""
from __future__ import annotations

import importlib
from typing import Any

from ._require import require_sklearn

__all__ = ["MLPClassifier", "MLPRegressor"]

_WHERE = {"MLPClassifier": "._classifier", "MLPRegressor": "._regressor"}


def __getattr__(name: str) -> Any:
    """Load an estimator (and scikit-learn) on first use."""
    if name in _WHERE:
        require_sklearn()
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
