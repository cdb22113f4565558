"""The estimators' parameter checks (errors as ``InvalidParameterError``) and X/y checks."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_bool, check_choice, check_int, check_real, is_int

_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "linear"}
_SOLVERS = ("sgd", "adam")


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
            raise InvalidParameterError(
                "The 'random_state' parameter must be an int in [0, 2**32), a numpy "
                f"RandomState or Generator, or None. Got {random_state!r}.")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2 ** 31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2 ** 32))
    raise InvalidParameterError(
        "The 'random_state' parameter must be an int in [0, 2**32), a numpy RandomState or "
        f"Generator, or None. Got {random_state!r} instead.")


def _validated(est: Any) -> dict:
    """The parameters checked and normalized (raises ``ValueError`` naming the bad one)."""
    p: dict[str, Any] = {}
    sizes = est.hidden_layer_sizes
    if is_int(sizes):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(is_int(s) and s >= 1 for s in sizes):
        raise InvalidParameterError("The 'hidden_layer_sizes' parameter must be an int or a "
                                    "sequence of ints >= 1. Got "
                                    f"{est.hidden_layer_sizes!r} instead.")
    p["hidden_layer_sizes"] = tuple(int(s) for s in sizes)
    p["activation"] = _ACTIVATIONS[_param(check_choice, est.activation, "activation",
                                          tuple(_ACTIVATIONS))]
    hint = " fastdnn trains by mini-batch gradient descent; 'lbfgs' is not supported." \
        if est.solver == "lbfgs" else ""
    p["solver"] = _param(check_choice, est.solver, "solver", _SOLVERS, hint)
    p["alpha"] = _param(check_real, est.alpha, "alpha", 0.0)
    if isinstance(est.batch_size, str) and est.batch_size == "auto":
        p["batch_size"] = "auto"
    elif is_int(est.batch_size) and est.batch_size >= 1:
        p["batch_size"] = int(est.batch_size)
    else:
        raise InvalidParameterError("The 'batch_size' parameter must be 'auto' or an int >= 1. "
                                    f"Got {est.batch_size!r} instead.")
    p["learning_rate_init"] = _param(check_real, est.learning_rate_init, "learning_rate_init",
                                     0.0, low_open=True)
    p["max_iter"] = _param(check_int, est.max_iter, "max_iter", 1)
    p["shuffle"] = _param(check_bool, est.shuffle, "shuffle")
    p["seed"] = _seed_from(est.random_state)
    p["tol"] = _param(check_real, est.tol, "tol", 0.0)
    p["early_stopping"] = _param(check_bool, est.early_stopping, "early_stopping")
    p["validation_fraction"] = _param(check_real, est.validation_fraction, "validation_fraction",
                                      0.0, 1.0, low_open=True, high_open=True)
    p["n_iter_no_change"] = _param(check_int, est.n_iter_no_change, "n_iter_no_change", 1)
    p["beta_1"] = _param(check_real, est.beta_1, "beta_1", 0.0, 1.0, high_open=True)
    p["beta_2"] = _param(check_real, est.beta_2, "beta_2", 0.0, 1.0, high_open=True)
    p["epsilon"] = _param(check_real, est.epsilon, "epsilon", 0.0, low_open=True)
    p["momentum"] = _param(check_real, est.momentum, "momentum", 0.0, 1.0, high_open=True)
    p["normalize"] = _param(check_bool, est.normalize, "normalize")
    if not (is_int(est.verbose) or isinstance(est.verbose, (bool, np.bool_))) \
            or est.verbose < 0:
        raise InvalidParameterError("The 'verbose' parameter must be a bool or an int >= 0. "
                                    f"Got {est.verbose!r} instead.")
    p["verbose"] = 2 if est.verbose else 0
    try:
        dtype = np.dtype(est.dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InvalidParameterError("The 'dtype' parameter must be 'float32' or 'float64'. "
                                    f"Got {est.dtype!r} instead.")
    p["dtype"] = dtype
    return p


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
