"""``MLPRegressor``: real targets of one or more outputs, R² as the score."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._base import _PARAMS_DOC, _BaseMLP
from ._params import _as_2d, _check_y, _validated


class MLPRegressor(_BaseMLP):
    __doc__ = """Multi-layer perceptron regressor, scikit-learn's API on fastdnn.

    A linear output layer trained with ``mse`` (half squared error, as
    scikit-learn's). ``y`` may be ``(n_samples,)`` or ``(n_samples, n_outputs)``;
    ``predict`` returns the same number of dimensions.
""" + _PARAMS_DOC + """
    Attributes
    ----------
    n_features_in_ : int
    n_iter_ : int
        Epochs run.
    loss_ : float
        Training loss (with the L2 penalty) of the last epoch.
    loss_curve_ : list of float
    best_loss_ : float or None
    validation_scores_ : list of float or None
        Minus the validation loss per epoch with ``early_stopping``.
    best_validation_score_ : float or None
    coefs_, intercepts_ : list of ndarray
        ``(n_in, n_out)`` and ``(n_out,)`` per layer, copies.
    model_ : Sequential
        The trained fastdnn model.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> y = 3 * X[:, 0] + 1
    >>> reg = MLPRegressor(hidden_layer_sizes=(), learning_rate_init=0.05, max_iter=200,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict([[0.0], [1.0]]).round().tolist(), reg.score(X, y) > 0.99
    ([1.0, 4.0], True)
    """

    _estimator_type = "regressor"
    _output_activation = "linear"
    _loss = "mse"

    def fit(self, X: Any, y: Any):
        """Train on ``X (n_samples, n_features)`` and ``y (n_samples,)`` or ``(n_samples, k)``.

        Returns ``self``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
        >>> reg.fit(X, np.ones((5, 2))).predict(X).shape
        (5, 2)
        """
        p = _validated(self)
        X = _as_2d(X)
        y = _check_y(y, X.shape[0], "MLPRegressor")
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), "
                             f"got shape {y.shape}")
        if y.dtype.kind == "O":
            y = y.astype(np.float64)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"y must hold real numbers, got dtype {y.dtype}")
        self.__dict__.pop("model_", None)
        self.n_features_in_ = int(X.shape[1])
        self._y_ndim = y.ndim
        Y = y.reshape(len(y), -1)
        self._train(p, X, Y, Y.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, ``(n_samples,)`` if ``y`` was 1-D, else ``(n_samples, n_outputs)``."""
        X = self._check_X_predict(X)
        out = self.model_.predict(X)
        return out.ravel() if self._y_ndim == 1 else out

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² of ``predict(X)`` (averaged uniformly over outputs, as scikit-learn's ``score``).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> reg = MLPRegressor(hidden_layer_sizes=(), max_iter=1, random_state=0).fit(X, X[:, 0])
        >>> reg.score(X, reg.predict(X))
        1.0
        """
        pred = np.asarray(self.predict(X), dtype=np.float64).reshape(len(X), -1)
        y = np.asarray(y, dtype=np.float64).reshape(len(pred), -1)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        w = w.reshape(-1, 1)
        ss_res = (w * (y - pred) ** 2).sum(axis=0)
        mean = (w * y).sum(axis=0) / w.sum()
        ss_tot = (w * (y - mean) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                          np.where(ss_res > 0, 0.0, 1.0))
        return float(r2.mean())
