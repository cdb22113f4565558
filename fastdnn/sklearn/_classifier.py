"""``MLPClassifier``: labels binarized as scikit-learn does (``LabelBinarizer``), a logistic
output for binary and multilabel targets, softmax for multiclass."""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import BaseMLP
from ._docs import ATTRIBUTES, PARAMETERS


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on
    fastdnn's compiled kernels.

    The parameters, attributes, validation and behaviour are scikit-learn 1.9's (see
    :mod:`fastdnn.sklearn` for the few differences); ``dtype``, ``normalize``,
    ``kernel_initializer``, ``activation="leaky_relu"`` and ``solver="rmsprop"`` are
    fastdnn's extras.

    Parameters
    ----------""" + PARAMETERS + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.""" + ATTRIBUTES + """
    Examples
    --------
    >>> import numpy as np
    >>> from fastdnn.sklearn import MLPClassifier
    >>> X = np.array([[-2.0, 0.0], [-1.0, 0.5], [1.0, -0.5], [2.0, 0.0]] * 10)
    >>> y = ["left", "left", "right", "right"] * 10
    >>> clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict([[2.0, 0.0], [-2.0, 0.0]]).tolist()
    ['right', 'left']
    >>> clf.score(X, y), [c.shape for c in clf.coefs_], clf.coefs_[0].dtype
    (1.0, [(2, 8), (8, 1)], dtype('float64'))
    """

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Any = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: Any = False,
                 warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: Any = 10, max_fun: int = 15000, dtype: Any = None,
                 normalize: bool = False, kernel_initializer: Any = None):
        self._store_params(locals())

    # ------------------------------------------------------------ targets
    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool,
                        dtype: Any) -> tuple[Any, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=dtype, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError("`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(bool)

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _stratify_labels(self, Y: np.ndarray) -> np.ndarray | None:
        """Class codes to stratify the early-stopping split on (None for multilabel)."""
        if self._label_binarizer.y_type_.startswith("multilabel"):
            return None
        return Y[:, 0] if Y.shape[1] == 1 else np.argmax(Y, axis=1)

    def _decode_targets(self, Y: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(Y)

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return self._score_with_function(X, y, sample_weight, accuracy_score)

    # ------------------------------------------------------------ public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPClassifier":
        """Fit the model to ``X`` (dense or CSR/CSC sparse) and labels ``y``.

        ``y`` is ``(n_samples,)`` labels of any type, or a ``(n_samples, n_labels)``
        indicator matrix for multilabel classification. ``sample_weight`` weighs each
        example's loss. Returns ``self``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.arange(12.0).reshape(6, 2)
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0)
        >>> clf.fit(X, [3, 1, 2, 3, 1, 2]) is clf, clf.classes_.tolist(), clf.out_activation_
        (True, [1, 2, 3], 'softmax')
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> "MLPClassifier":
        """One epoch over ``X, y`` from the current weights (stochastic solvers only).

        ``classes`` (every label of the whole data) is required on the first call.

        Examples
        --------
        >>> import numpy as np
        >>> X, y = np.array([[0.0], [1.0]] * 10), [0, 1] * 10
        >>> clf = MLPClassifier(hidden_layer_sizes=(3,), random_state=0)
        >>> for _ in range(3):
        ...     _ = clf.partial_fit(X, y, classes=[0, 1])
        >>> clf.n_iter_, clf.t_, len(clf.loss_curve_)
        (1, 60, 3)
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels ``(n_samples,)``, or an indicator matrix for multilabel targets.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[-1.0], [1.0]] * 20)
        >>> clf = MLPClassifier(hidden_layer_sizes=(), solver="lbfgs",
        ...                     random_state=0).fit(X, [False, True] * 20)
        >>> clf.predict([[-3.0], [3.0]]).tolist()
        [False, True]
        """
        check_is_fitted(self)
        return self._predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, columns in ``classes_`` order.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[0.0], [1.0]] * 5)
        >>> clf = MLPClassifier(hidden_layer_sizes=(), solver="lbfgs", random_state=0)
        >>> P = clf.fit(X, ["a", "b"] * 5).predict_proba(X)
        >>> P.shape, bool(np.allclose(P.sum(axis=1), 1.0))
        ((10, 2), True)
        """
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[0.0], [1.0]] * 5)
        >>> clf = MLPClassifier(hidden_layer_sizes=(), solver="lbfgs", random_state=0)
        >>> bool(np.all(clf.fit(X, [0, 1] * 5).predict_log_proba(X) <= 0))
        True
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y`` (subset accuracy for multilabel).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.array([[0.0], [1.0]] * 5)
        >>> clf = MLPClassifier((), solver="lbfgs", random_state=0).fit(X, [0, 1] * 5)
        >>> clf.score(X, [0, 1] * 5)
        1.0
        """
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
