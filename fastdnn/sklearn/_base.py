"""``_BaseMLP``: the parameters, scikit-learn protocol, training and fitted weights
shared by ``MLPClassifier`` and ``MLPRegressor``."""
from __future__ import annotations

import inspect
import math
import sys
from typing import Any

import numpy as np

from ..callbacks import EarlyStopping
from ..layers import Dense, Normalizer
from ..models import Sequential
from ..optimizers import GD, Adam, Momentum
from .._validation import check_finite as _check_finite
from ..preprocessing import NotFittedError
from ..regularizers import L2
from ._params import _as_2d

_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (100,)
        Units of each hidden layer; ``()`` gives a model without hidden layer.
    activation : {"relu", "tanh", "logistic", "identity"}, default "relu"
        Hidden activation (fastdnn's relu, tanh, sigmoid, linear).
    solver : {"adam", "sgd"}, default "adam"
        ``Adam``, or ``GD``/``Momentum`` (see the module docs for the momentum form).
    alpha : float, default 0.0001
        L2 strength: ``L2(alpha)`` on every layer, ``alpha / 2m * ||W||^2``.
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``.
    learning_rate_init : float, default 0.001
    max_iter : int, default 200
        Maximum number of epochs.
    shuffle : bool, default True
        Shuffle the examples every epoch.
    random_state : int, RandomState, Generator or None, default None
        Seeds weights, shuffling and the validation split.
    tol : float, default 1e-4
        Smallest improvement of the monitored value that counts.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` and stop on the validation score,
        restoring the best weights.
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 10
        Stop after more than this many epochs without an improvement of ``tol``.
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's parameters.
    momentum : float in [0, 1), default 0.9
        Momentum of ``solver="sgd"`` (0 is plain gradient descent).
    normalize : bool, default False
        Put a ``Normalizer`` adapted on the training ``X`` first in the model.
    verbose : bool, default False
        Print one line per epoch.
    dtype : {"float32", "float64"}, default "float32"
"""


class _BaseMLP:
    """Parameters, ``get_params``/``set_params`` and training shared by both estimators."""

    _output_activation = "linear"
    _loss = "mse"

    # -------------------------------------------------- scikit-learn protocol
    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu",
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Any = "auto",
                 learning_rate_init: float = 0.001, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, early_stopping: bool = False,
                 validation_fraction: float = 0.1, n_iter_no_change: int = 10,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 momentum: float = 0.9, normalize: bool = False, verbose: bool = False,
                 dtype: Any = "float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.momentum = momentum
        self.normalize = normalize
        self.verbose = verbose
        self.dtype = dtype

    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict:
        """Parameters of the estimator as a dict (scikit-learn's ``BaseEstimator`` API).

        ``deep`` is accepted for compatibility; there are no nested estimators.

        Examples
        --------
        >>> from fastdnn.sklearn import MLPRegressor
        >>> MLPRegressor(max_iter=5).get_params()["max_iter"]
        5
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any):
        """Set parameters by name and return ``self``; unknown names raise ``ValueError``.

        Examples
        --------
        >>> from fastdnn.sklearn import MLPRegressor
        >>> MLPRegressor().set_params(alpha=0.1, max_iter=20).alpha
        0.1
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator "
                                 f"{type(self).__name__}. Valid parameters are: {valid!r}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in
                    inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name)
            try:
                same = bool(value == default) and type(value) is type(default)
            except Exception:  # arrays and the like
                same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        # Called by scikit-learn only, so it is already imported: no import here.
        utils = sys.modules.get("sklearn.utils")
        if utils is None or not hasattr(utils, "Tags"):
            raise AttributeError("__sklearn_tags__ needs scikit-learn >= 1.6")
        classifier = self._estimator_type == "classifier"
        return utils.Tags(
            estimator_type=self._estimator_type,
            target_tags=utils.TargetTags(required=True, one_d_labels=classifier,
                                         multi_output=not classifier),
            classifier_tags=utils.ClassifierTags() if classifier else None,
            regressor_tags=None if classifier else utils.RegressorTags(),
            input_tags=utils.InputTags(),
        )

    # -------------------------------------------------- checks
    def _check_is_fitted(self) -> None:
        if "model_" not in self.__dict__:
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call "
                                 "'fit' with appropriate arguments before using this estimator.")

    def _check_X_predict(self, X: Any) -> np.ndarray:
        self._check_is_fitted()
        X = _as_2d(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        _check_finite(X)
        return X

    # -------------------------------------------------- training
    def _optimizer(self, p: dict):
        lr = p["learning_rate_init"]
        if p["solver"] == "adam":
            return Adam(lr, beta1=p["beta_1"], beta2=p["beta_2"], epsilon=p["epsilon"])
        if p["momentum"] > 0.0:
            # EWA momentum with lr / (1 - beta) == scikit-learn's heavy-ball momentum
            return Momentum(lr / (1.0 - p["momentum"]), beta=p["momentum"])
        return GD(lr)

    def _train(self, p: dict, X: np.ndarray, Y: np.ndarray, n_outputs: int) -> None:
        """Build, compile and fit ``model_`` on ``X`` and prepared targets ``Y``."""
        _check_finite(X)
        m = X.shape[0]
        val = None
        if p["early_stopping"]:
            n_val = int(math.ceil(m * p["validation_fraction"]))
            if n_val < 1 or n_val >= m:
                raise ValueError(f"validation_fraction={p['validation_fraction']} leaves "
                                 f"{m - n_val} training and {n_val} validation examples")
            perm = np.random.default_rng(p["seed"]).permutation(m)
            X, X_val = X[perm[n_val:]], X[perm[:n_val]]
            Y, Y_val = Y[perm[n_val:]], Y[perm[:n_val]]
            val = (X_val, Y_val)
        layers: list = []
        if p["normalize"]:
            norm = Normalizer()
            norm.adapt(X)
            layers.append(norm)
        reg = L2(p["alpha"]) if p["alpha"] > 0 else None
        for units in p["hidden_layer_sizes"]:
            layers.append(Dense(units, activation=p["activation"], kernel_regularizer=reg))
        layers.append(Dense(n_outputs, activation=self._output_activation,
                            kernel_regularizer=reg))
        model = Sequential(layers, dtype=p["dtype"], seed=p["seed"])
        metrics: list = []
        if p["early_stopping"]:
            monitor = "val_loss" if self._estimator_type == "regressor" else "val_accuracy"
            if monitor == "val_accuracy":
                metrics = ["accuracy"]
            stopper = EarlyStopping(monitor=monitor, min_delta=p["tol"],
                                    patience=p["n_iter_no_change"] + 1,
                                    restore_best_weights=True)
        else:
            stopper = EarlyStopping(monitor="loss", min_delta=p["tol"],
                                    patience=p["n_iter_no_change"] + 1)
        model.compile(optimizer=self._optimizer(p), loss=self._loss, metrics=metrics)
        m_train = X.shape[0]
        batch = min(200, m_train) if p["batch_size"] == "auto" else min(p["batch_size"], m_train)
        history = model.fit(X, Y, epochs=p["max_iter"], batch_size=batch,
                            validation_data=val, shuffle=p["shuffle"], seed=p["seed"],
                            callbacks=[stopper], verbose=p["verbose"])
        losses = [float(v) for v in history.history["loss"]]
        self.model_ = model
        self.n_iter_ = len(losses)
        self.loss_curve_ = losses
        self.loss_ = losses[-1]
        if p["early_stopping"]:
            key = "val_accuracy" if self._estimator_type == "classifier" else "val_loss"
            scores = [float(v) for v in history.history[key]]
            if key == "val_loss":   # higher is better, as scikit-learn's scores
                scores = [-v for v in scores]
            self.validation_scores_ = scores
            self.best_validation_score_ = max(scores)
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = min(losses)

    # -------------------------------------------------- fitted weights
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices in scikit-learn's orientation, ``(n_in, n_out)`` per layer.

        Copies of ``W.T`` of the ``Dense`` layers of ``model_`` (fastdnn stores
        ``W`` as ``(n_out, n_in)``); changing them does not change the model.
        """
        self._check_is_fitted()
        return [np.array(l.W.T, order="C", copy=True) for l in self.model_.layers
                if isinstance(l, Dense)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``(n_out,)`` per layer (copies of the ``(n_out, 1)`` ``b``)."""
        self._check_is_fitted()
        return [np.array(l.b.ravel(), copy=True) for l in self.model_.layers
                if isinstance(l, Dense)]

    @property
    def n_layers_(self) -> int:
        """Layers counting input and output, as scikit-learn counts them."""
        self._check_is_fitted()
        return len(self.coefs_) + 1

    @property
    def n_outputs_(self) -> int:
        """Units of the output layer."""
        self._check_is_fitted()
        return int(self.model_.n_outputs)

    @property
    def out_activation_(self) -> str:
        """Output activation in scikit-learn's names: logistic, softmax or identity."""
        self._check_is_fitted()
        return {"sigmoid": "logistic", "linear": "identity"}.get(self._output_activation,
                                                                  self._output_activation)
