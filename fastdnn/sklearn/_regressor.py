"""``MLPRegressor``: real targets of one or more outputs, half squared error (identity
output) or half Poisson deviance (``exp`` output)."""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import BaseMLP
from ._constraints import REGRESSOR_CONSTRAINTS
from ._docs import ATTRIBUTES, LOSS, PARAMETERS


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on
    fastdnn's compiled kernels.

    The parameters, attributes, validation and behaviour are scikit-learn 1.9's (see
    :mod:`fastdnn.sklearn` for the few differences); ``dtype``, ``normalize``,
    ``kernel_initializer``, ``activation="leaky_relu"`` and ``solver="rmsprop"`` are
    fastdnn's extras. ``y`` may have several columns (multi-output regression).

    Parameters
    ----------""" + LOSS + PARAMETERS + """
    Attributes
    ----------""" + ATTRIBUTES + """
    Examples
    --------
    >>> import numpy as np
    >>> from fastdnn.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> y = 3 * X[:, 0] + 1
    >>> reg = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.predict([[0.0], [1.0]]).round(3).tolist(), reg.score(X, y) > 0.999
    ([1.0, 4.0], True)
    """

    _parameter_constraints: dict = REGRESSOR_CONSTRAINTS

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: Any = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: Any = False, warm_start: bool = False, momentum: float = 0.9,
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
                             y_numeric=True, dtype=dtype, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _stratify_labels(self, Y: np.ndarray) -> None:
        return None

    def _decode_targets(self, Y: np.ndarray) -> np.ndarray:
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return self._score_with_function(X, y, sample_weight, r2_score)

    # ------------------------------------------------------------ public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPRegressor":
        """Fit the model to ``X`` (dense or CSR/CSC sparse) and targets ``y``
        (``(n_samples,)`` or ``(n_samples, n_outputs)``); returns ``self``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> reg = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", random_state=0)
        >>> reg.fit(X, np.ones((5, 2))).predict(X).shape
        (5, 2)
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    # scikit-learn 1.9 offers MLPRegressor.partial_fit for every solver (its available_if
    # tests the method object, which is always true): kept, for a drop-in
    @available_if(lambda est: est._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> "MLPRegressor":
        """One epoch over ``X, y`` from the current weights.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.linspace(0, 1, 10).reshape(-1, 1)
        >>> reg = MLPRegressor(hidden_layer_sizes=(3,), random_state=0)
        >>> reg.partial_fit(X, X[:, 0]).partial_fit(X, X[:, 0]).t_
        20
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def predict(self, X: Any) -> np.ndarray:
        """Predictions ``(n_samples,)`` for one output, else ``(n_samples, n_outputs)``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> reg = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs", random_state=0)
        >>> reg.fit(X, X[:, 0]).predict(X).shape
        (3,)
        """
        check_is_fitted(self)
        return self._predict(X)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² of ``predict(X)`` (averaged uniformly over the outputs).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> reg = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs", random_state=0)
        >>> reg = reg.fit(X, X[:, 0])
        >>> reg.score(X, reg.predict(X))
        1.0
        """
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True    # y may have several columns
        return tags
