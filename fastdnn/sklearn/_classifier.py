"""``MLPClassifier``: labels encoded for a sigmoid or softmax output, predictions decoded."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._base import _PARAMS_DOC, _BaseMLP
from ._params import _as_2d, _check_y, _validated


class MLPClassifier(_BaseMLP):
    __doc__ = """Multi-layer perceptron classifier, scikit-learn's API on fastdnn.

    Any labels (ints, strings, ...) are accepted; ``classes_`` holds them
    sorted. Two classes train one sigmoid unit with ``binary_crossentropy``,
    more a softmax layer with ``categorical_crossentropy``.
""" + _PARAMS_DOC + """
    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    n_features_in_ : int
    n_iter_ : int
        Epochs run.
    loss_ : float
        Training loss (with the L2 penalty) of the last epoch.
    loss_curve_ : list of float
        Training loss per epoch.
    best_loss_ : float or None
        Smallest training loss (None with ``early_stopping``).
    validation_scores_ : list of float or None
        Validation accuracy per epoch with ``early_stopping``.
    best_validation_score_ : float or None
    coefs_, intercepts_ : list of ndarray
        ``(n_in, n_out)`` and ``(n_out,)`` per layer, copies.
    model_ : Sequential
        The trained fastdnn model.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> y = np.where(X[:, 0] > 0, "right", "left")
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.01,
    ...                     random_state=0).fit(X, y)
    >>> clf.predict([[2.0, 0.0], [-2.0, 0.0]]).tolist()
    ['right', 'left']
    >>> clf.score(X, y) > 0.95, [c.shape for c in clf.coefs_]
    (True, [(2, 16), (16, 1)])
    """

    _estimator_type = "classifier"

    @property
    def _output_activation(self) -> str:  # type: ignore[override]
        return "sigmoid" if len(self.classes_) == 2 else "softmax"

    @property
    def _loss(self) -> str:  # type: ignore[override]
        return "binary_crossentropy" if len(self.classes_) == 2 else "categorical_crossentropy"

    def fit(self, X: Any, y: Any):
        """Train on ``X (n_samples, n_features)`` and labels ``y (n_samples,)``; returns ``self``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.arange(12.0).reshape(6, 2)
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
        >>> clf.fit(X, [3, 1, 2, 3, 1, 2]) is clf, clf.classes_.tolist(), clf.n_iter_
        (True, [1, 2, 3], 2)
        """
        p = _validated(self)
        X = _as_2d(X)
        y = _check_y(y, X.shape[0], "MLPClassifier")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (n_samples,) class labels, got shape {y.shape}; "
                             "multi-label and multi-output targets are not supported")
        if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
            raise ValueError("Unknown label type: continuous. MLPClassifier takes class "
                             "labels; use MLPRegressor for real-valued targets")
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError("MLPClassifier needs samples of at least 2 classes, but y "
                             f"contains only one class: {classes.tolist()!r}")
        for name in ("classes_", "model_"):
            self.__dict__.pop(name, None)
        self.classes_ = classes
        self.n_features_in_ = int(X.shape[1])
        codes = codes.reshape(-1)
        if len(classes) == 2:
            Y, n_out = codes.astype(p["dtype"]), 1
        else:
            Y, n_out = codes.astype(np.int64), len(classes)
        self._train(p, X, Y, n_out)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, columns in ``classes_`` order.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[0.0], [1.0]] * 5)
        >>> clf = MLPClassifier(hidden_layer_sizes=(), max_iter=3, random_state=0)
        >>> P = clf.fit(X, ["a", "b"] * 5).predict_proba(X)
        >>> P.shape, bool(np.allclose(P.sum(axis=1), 1.0))
        ((10, 2), True)
        """
        X = self._check_X_predict(X)
        return self.model_.predict_proba(X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, shape ``(n_samples,)``, taken from ``classes_``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[-1.0], [1.0]] * 20)
        >>> clf = MLPClassifier(hidden_layer_sizes=(), learning_rate_init=0.1, max_iter=50,
        ...                     random_state=0).fit(X, [False, True] * 20)
        >>> clf.predict([[-3.0], [3.0]]).tolist()
        [False, True]
        """
        X = self._check_X_predict(X)
        return self.classes_[self.model_.predict_classes(X)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        correct = self.predict(X) == y
        return float(np.average(correct, weights=sample_weight))

