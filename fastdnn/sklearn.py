"""scikit-learn compatible estimators: ``MLPClassifier`` and ``MLPRegressor``.

They take the parameters of scikit-learn's ``sklearn.neural_network``
estimators of the same names and train a :class:`fastdnn.models.Sequential`
with fastdnn's compiled kernels; all the math is fastdnn's. scikit-learn is not
needed, but when it is installed the estimators work with its tools
(``clone``, ``GridSearchCV``, ``Pipeline``, ``cross_val_score``): ``__init__``
only stores its arguments, ``get_params``/``set_params`` follow
``BaseEstimator``, parameters are checked in ``fit`` (``ValueError`` naming
the parameter), ``fit`` returns ``self`` and fitted attributes end in ``_``.

How scikit-learn's parameters map onto fastdnn
----------------------------------------------
- ``hidden_layer_sizes``, ``activation``: one ``Dense`` layer per entry, with
  ``"relu"``, ``"tanh"``, ``"logistic"`` (fastdnn ``"sigmoid"``) or
  ``"identity"`` (``"linear"``). The weights start with fastdnn's default for
  the activation (He for ReLU, Xavier otherwise), not scikit-learn's Glorot
  uniform, so results match scikit-learn's statistically, not bit for bit.
- output: binary classification is one sigmoid unit with
  ``binary_crossentropy``, multiclass a softmax layer with
  ``categorical_crossentropy``, regression a linear layer with ``mse`` (the
  half squared error ``sum((A - Y)**2) / 2m``, scikit-learn's squared loss).
- ``alpha``: ``kernel_regularizer=L2(alpha)`` on every layer, the penalty
  ``alpha / 2m * ||W||^2`` per mini-batch of ``m`` examples — scikit-learn's.
- ``solver="adam"``: ``Adam(learning_rate_init, beta_1, beta_2, epsilon)``.
  ``solver="sgd"``: ``GD(learning_rate_init)`` when ``momentum == 0``,
  otherwise ``Momentum(learning_rate_init / (1 - momentum), beta=momentum)``.
  fastdnn's momentum is the lecture's exponentially weighted average
  ``v = beta v + (1 - beta) g; W -= lr v``; with the learning rate divided by
  ``1 - momentum`` it is exactly scikit-learn's heavy-ball update
  ``v = momentum v - lr g; W += v`` with ``nesterovs_momentum=False``
  (Nesterov momentum and the ``learning_rate`` schedules are not offered).
  ``solver="lbfgs"`` is not supported.
- ``batch_size="auto"`` is ``min(200, n_samples)``; larger values are clipped.
- ``max_iter``: epochs; ``n_iter_`` is the number actually run.
- ``tol``, ``n_iter_no_change``: an :class:`~fastdnn.callbacks.EarlyStopping`
  with ``min_delta=tol`` and ``patience=n_iter_no_change + 1``, which is
  scikit-learn's rule (stop after more than ``n_iter_no_change`` epochs in a row
  that do not beat the best value by ``tol``). It watches the training loss
  (including the L2 penalty, like scikit-learn's ``loss_``). With
  ``early_stopping=True`` a random ``validation_fraction`` of the training
  data (drawn with ``random_state``, not stratified) is held out, the callback
  watches ``val_accuracy`` (classifier; scikit-learn's validation score) or
  ``val_loss`` (regressor; scikit-learn watches R², which is the half squared
  error rescaled, for a single output) and the weights of the best epoch are
  restored at the end, as scikit-learn does.
- ``random_state``: seeds the initial weights, the shuffling and the
  validation split; an int gives the same model on every ``fit``.
- extras of fastdnn: ``normalize=True`` puts a
  :class:`~fastdnn.layers.Normalizer` adapted on the training ``X`` first
  (part of the model, so ``predict`` takes raw ``X``; ``coefs_[0]`` then
  applies to normalized inputs); ``dtype`` (``"float32"`` by default).

Examples
--------
>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
>>> y = np.array(["no", "yes", "yes", "yes"] * 10)
>>> clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=100,
...                     random_state=0).fit(X, y)
>>> clf.classes_.tolist(), clf.predict([[0.0, 0.0], [1.0, 1.0]]).tolist()
(['no', 'yes'], ['no', 'yes'])
>>> clf.predict_proba(X).shape, clf.score(X, y)
((40, 2), 1.0)
"""
from __future__ import annotations

import inspect
import math
import numbers
import sys
from typing import Any

import numpy as np

from .callbacks import EarlyStopping
from .layers import Dense, Normalizer
from .models import Sequential
from .optimizers import GD, Adam, Momentum
from ._validation import (check_bool, check_choice, check_finite as _check_finite, check_int,
                          check_real, is_int)
from .preprocessing import NotFittedError
from .regularizers import L2

__all__ = ["MLPClassifier", "MLPRegressor"]

_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "linear"}
_SOLVERS = ("sgd", "adam")


# ------------------------------------------------------------------ parameter checks
class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter outside its domain (scikit-learn raises a class of this
    name, also both a ``ValueError`` and a ``TypeError``)."""


def _param(check: Any, value: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``check(value, name, ...)`` from :mod:`fastdnn._validation`, its error re-raised
    as an ``InvalidParameterError``."""
    try:
        return check(value, name, *args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"The {name!r} parameter is invalid: {exc}") from None


def _seed_from(random_state: Any) -> int | None:
    """An int seed for ``Sequential`` from scikit-learn's ``random_state`` forms."""
    if random_state is None:
        return None
    if is_int(random_state):
        if not 0 <= random_state < 2 ** 32:
            raise ValueError("The 'random_state' parameter must be an int in [0, 2**32), a "
                             f"numpy RandomState or Generator, or None. Got {random_state!r}.")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2 ** 31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2 ** 32))
    raise ValueError("The 'random_state' parameter must be an int in [0, 2**32), a numpy "
                     f"RandomState or Generator, or None. Got {random_state!r} instead.")


def _as_2d(X: Any, name: str = "X") -> np.ndarray:
    """``X`` as a 2-D real ndarray with at least one row and column (never copied if it is one)."""
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError(f"sparse {name} is not supported: pass a dense array, e.g. "
                        f"{name}.toarray()")
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.dtype.kind == "O":
        X = X.astype(np.float64)
    if X.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        hint = " Reshape your data with X.reshape(-1, 1) for a single feature." \
            if X.ndim == 1 else ""
        raise ValueError(f"Expected a 2-D array for {name} (n_samples, n_features), got "
                         f"shape {X.shape}.{hint}")
    for axis, what in ((0, "sample"), (1, "feature")):
        if X.shape[axis] == 0:
            raise ValueError(f"Found array with 0 {what}(s) (shape={X.shape}) while a "
                             "minimum of 1 is required.")
    return X


def _check_y(y: Any, m: int, who: str) -> np.ndarray:
    if y is None:
        raise ValueError(f"{who} requires y to be passed, but the target y is None")
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != m:
        raise ValueError(f"X and y have inconsistent numbers of samples: {m} and "
                         f"{y.shape[0] if y.ndim else 'a scalar'}")
    return y


# ------------------------------------------------------------------ base class
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
        >>> MLPRegressor(max_iter=5).get_params()["max_iter"]
        5
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any):
        """Set parameters by name and return ``self``; unknown names raise ``ValueError``.

        Examples
        --------
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
    def _validated(self) -> dict:
        """The parameters checked and normalized (raises ``ValueError`` naming the bad one)."""
        p: dict[str, Any] = {}
        sizes = self.hidden_layer_sizes
        if is_int(sizes):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(is_int(s) and s >= 1 for s in sizes):
            raise ValueError("The 'hidden_layer_sizes' parameter must be an int or a sequence "
                             f"of ints >= 1. Got {self.hidden_layer_sizes!r} instead.")
        p["hidden_layer_sizes"] = tuple(int(s) for s in sizes)
        p["activation"] = _ACTIVATIONS[_param(check_choice, self.activation, "activation",
                                                     tuple(_ACTIVATIONS))]
        hint = " fastdnn trains by mini-batch gradient descent; 'lbfgs' is not supported." \
            if self.solver == "lbfgs" else ""
        p["solver"] = _param(check_choice, self.solver, "solver", _SOLVERS, hint)
        p["alpha"] = _param(check_real, self.alpha, "alpha", 0.0)
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            p["batch_size"] = "auto"
        elif is_int(self.batch_size) and self.batch_size >= 1:
            p["batch_size"] = int(self.batch_size)
        else:
            raise ValueError("The 'batch_size' parameter must be 'auto' or an int >= 1. "
                             f"Got {self.batch_size!r} instead.")
        p["learning_rate_init"] = _param(check_real, self.learning_rate_init, "learning_rate_init",
                                              0.0, low_open=True)
        p["max_iter"] = _param(check_int, self.max_iter, "max_iter", 1)
        p["shuffle"] = _param(check_bool, self.shuffle, "shuffle")
        p["seed"] = _seed_from(self.random_state)
        p["tol"] = _param(check_real, self.tol, "tol", 0.0)
        p["early_stopping"] = _param(check_bool, self.early_stopping, "early_stopping")
        p["validation_fraction"] = _param(check_real, self.validation_fraction, "validation_fraction",
                                               0.0, 1.0, low_open=True, high_open=True)
        p["n_iter_no_change"] = _param(check_int, self.n_iter_no_change, "n_iter_no_change", 1)
        p["beta_1"] = _param(check_real, self.beta_1, "beta_1", 0.0, 1.0, high_open=True)
        p["beta_2"] = _param(check_real, self.beta_2, "beta_2", 0.0, 1.0, high_open=True)
        p["epsilon"] = _param(check_real, self.epsilon, "epsilon", 0.0, low_open=True)
        p["momentum"] = _param(check_real, self.momentum, "momentum", 0.0, 1.0, high_open=True)
        p["normalize"] = _param(check_bool, self.normalize, "normalize")
        if not (is_int(self.verbose) or isinstance(self.verbose, (bool, np.bool_))) \
                or self.verbose < 0:
            raise ValueError("The 'verbose' parameter must be a bool or an int >= 0. "
                             f"Got {self.verbose!r} instead.")
        p["verbose"] = 2 if self.verbose else 0
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError("The 'dtype' parameter must be 'float32' or 'float64'. "
                             f"Got {self.dtype!r} instead.")
        p["dtype"] = dtype
        return p

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
        p = self._validated()
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
        p = self._validated()
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
