"""``BaseMLP``: what ``MLPClassifier`` and ``MLPRegressor`` share — scikit-learn's
``_fit`` (first pass, warm start, partial fit), the weights (``coefs_``/``intercepts_`` as
views of one flat buffer, re-packed when the user assigns new arrays), prediction, tags,
pickling and the fastdnn view ``model_``.

Examples
--------
>>> import numpy as np
>>> from fastdnn.sklearn import MLPRegressor
>>> X = np.arange(8.0).reshape(4, 2)
>>> reg = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", random_state=0).fit(X, X[:, 0])
>>> reg.coefs_[0].base is not None       # a view of the flat parameter buffer
True
"""
from __future__ import annotations

import os

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import initializers
from .._validation import check_range
from ..models import Sequential
from ._constraints import (
    HIDDEN_ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    PARAMETER_CONSTRAINTS,
    STOCHASTIC_SOLVERS,
)
from ._lbfgs import fit_lbfgs
from ._losses import LOSSES, loss_name
from ._network import Network, make_normalizer
from ._stochastic import _start_curves, fit_stochastic
from ._threads import single_blas_thread

_STOCHASTIC_STATE = ("loss_curve_", "best_loss_", "validation_scores_",
                     "best_validation_score_", "_no_improvement_count", "_best_params",
                     "_optimizer")


class BaseMLP(BaseEstimator):
    """Shared machinery of the fastdnn multi-layer perceptrons (not used directly)."""

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    # ------------------------------------------------------------ parameters
    def _store_params(self, params: dict[str, Any]) -> None:
        """Keep every ``__init__`` argument as the attribute of its name, unchanged (the
        subclass's explicit signature is what ``get_params`` reads)."""
        for name, value in params.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if np.any(np.array(sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % sizes)
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                   for s in sizes):
            raise ValueError(f"hidden_layer_sizes must hold ints, got {sizes}.")
        return [int(s) for s in sizes]

    def _requested_dtype(self) -> np.dtype | None:
        return None if self.dtype is None else np.dtype(self.dtype)

    def _weights_dtype(self) -> np.dtype:
        """The dtype of the current weights (a fitted or user-set ``coefs_``)."""
        net = self.__dict__.get("_net")
        if net is not None:
            return net.dtype
        if self.dtype is not None:
            return np.dtype(self.dtype)
        dt = np.asarray(self.coefs_[0]).dtype
        return dt if dt in (np.float32, np.float64) else np.dtype(np.float64)

    def _loss_function(self) -> Any:
        return LOSSES[loss_name(self.out_activation_, getattr(self, "loss", None))]

    def _check_solver(self) -> bool:
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        return True

    # ------------------------------------------------------------ weights
    def _set_net(self, net: Network) -> None:
        self._net = net
        self.coefs_ = list(net.coefs)
        self.intercepts_ = list(net.intercepts)

    def _get_net(self) -> Network:
        """The network holding ``coefs_``/``intercepts_``; arrays assigned by the user are
        copied into its buffer (same shapes) or give it a new one."""
        net = self.__dict__.get("_net")
        coefs, intercepts = self.coefs_, self.intercepts_
        hidden = HIDDEN_ACTIVATIONS[self.activation]
        if net is not None and net.hidden != hidden:     # changed before a warm start
            net.hidden, net._model = hidden, None
        if net is not None and net.holds(coefs, intercepts):
            return net
        if net is not None and net.fits(coefs, intercepts):
            net.load(coefs, intercepts)
        else:
            net = Network.from_arrays(coefs, intercepts, hidden, self.out_activation_,
                                      self._weights_dtype(), self.__dict__.get("_normalizer"))
        self._set_net(net)
        return net

    def _init_weights(self, net: Network) -> None:
        """scikit-learn's Glorot-uniform draws (``kernel_initializer=None``: the same numbers
        from the same ``random_state``), or a fastdnn initializer with zero biases."""
        rs = self._random_state
        init = self.kernel_initializer
        if init is None:
            factor = 2.0 if self.activation == "logistic" else 6.0
            for W, b in zip(net.W, net.b):
                fan_out, fan_in = W.shape
                bound = np.sqrt(factor / (fan_in + fan_out))
                W[...] = rs.uniform(-bound, bound, (fan_in, fan_out)).T
                b[...] = rs.uniform(-bound, bound, fan_out)
            return
        rng = np.random.default_rng(rs.randint(np.iinfo(np.int32).max))
        L = net.n_layers
        for l, (W, b) in enumerate(zip(net.W, net.b)):
            if isinstance(init, str) and init == "auto":
                act = net.hidden if l < L - 1 else OUTPUT_ACTIVATIONS[net.out]
                layer_init = initializers.get(initializers.default_for(act))
            else:
                layer_init = initializers.get(init)
            W[...] = np.asarray(layer_init(W.shape, dtype=net.dtype, rng=rng))
            b[...] = 0

    def _initialize(self, y: np.ndarray, layer_units: list[int], dtype: Any, X: Any,
                    sample_weight: np.ndarray | None = None,
                    weights: tuple | None = None) -> None:
        """scikit-learn's ``_initialize``: counters, output activation, weights."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        for name in _STOCHASTIC_STATE:
            self.__dict__.pop(name, None)
        normalizer = make_normalizer(X, dtype, sample_weight) if self.normalize else None
        self._normalizer = normalizer
        net = Network(layer_units, HIDDEN_ACTIVATIONS[self.activation], self.out_activation_,
                      dtype, normalizer)
        if weights is None:
            self._init_weights(net)
        else:
            net.load(*weights)
        self._set_net(net)
        if self.solver in STOCHASTIC_SOLVERS:
            _start_curves(self, self.early_stopping)

    # ------------------------------------------------------------ training
    def _fit(self, X: Any, y: Any, sample_weight: Any = None, incremental: bool = False):
        hidden = self._hidden_sizes()
        has_weights = hasattr(self, "coefs_")
        first_pass = not has_weights or (not self.warm_start and not incremental)
        dtype = self._requested_dtype() if first_pass else self._weights_dtype()
        reset = first_pass or not hasattr(self, "n_features_in_")
        if dtype is not None and isinstance(X, np.ndarray):
            # fastdnn's message, naming the first row, for values the cast would make inf
            check_range(X, dtype, "X")
        X, y = self._validate_input(X, y, incremental, reset=reset,
                                    dtype=(np.float64, np.float32) if dtype is None else dtype)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1]] + hidden + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype, X, sample_weight)
        elif not hasattr(self, "t_"):      # weights set by the user before the first fit
            self._initialize(y, layer_units, X.dtype, X, sample_weight,
                             weights=(self.coefs_, self.intercepts_))
        net = self._get_net()
        if list(net.sizes) != layer_units:
            raise ValueError(f"The network has layer sizes {list(net.sizes)} (from coefs_), "
                             f"but X, y and hidden_layer_sizes give {layer_units}.")
        Y = np.ascontiguousarray(y, dtype=net.dtype)
        if sp.issparse(X) and X.format != "csr":
            X = X.tocsr()       # the mini-batches are rows
        if X.dtype != net.dtype:
            X = X.astype(net.dtype)
        try:
            with single_blas_thread():
                if self.solver in STOCHASTIC_SOLVERS:
                    fit_stochastic(self, net, X, Y, sample_weight, incremental)
                else:
                    fit_lbfgs(self, net, X, Y, sample_weight)
        finally:
            net.release()       # the pass buffers: up to a data set's activations
        if not np.isfinite(net.flat).all():
            raise ValueError("Solver produced non-finite parameter weights. The input data "
                             "may contain large values and need to be preprocessed.")
        return self

    # ------------------------------------------------------------ prediction
    def _forward_pass_fast(self, X: Any, check_input: bool = True) -> np.ndarray:
        """The output activations ``(n_samples, n_outputs)``."""
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return self._get_net().predict(X)

    def _score_with_function(self, X: Any, y: Any, sample_weight: Any,
                             score_function: Any) -> float:
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    # ------------------------------------------------------------ fastdnn view
    @property
    def model_(self) -> Sequential:
        """The fitted network as a fastdnn :class:`~fastdnn.models.Sequential` whose layers
        share the estimator's weights (no copy: it sees every later ``partial_fit``).

        A ``Normalizer`` comes first with ``normalize=True``; ``Dense`` layers hold
        ``W = coefs_[l].T`` and ``b = intercepts_[l]``; it is compiled with the matching
        fastdnn loss (none for ``loss="poisson"``, whose ``exp`` output it leaves out).

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.sklearn import MLPRegressor
        >>> X = np.arange(8.0).reshape(4, 2)
        >>> reg = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", random_state=0)
        >>> reg = reg.fit(X, X[:, 0])
        >>> bool(np.allclose(reg.model_.predict(X).ravel(), reg.predict(X)))
        True
        """
        check_is_fitted(self)
        return self._get_net().sequential(self.alpha)

    def export_onnx(self, path: str | os.PathLike[str] | None = None, *,
                    opset: int | None = None, batch_dim: str | int = "N", dtype: Any = None,
                    fold_normalizer: bool | str = "auto") -> bytes | None:
        """The fitted estimator as an ONNX model, to predict where neither scikit-learn nor
        fastdnn is installed: its bytes, or written to ``path`` (then None).

        The input ``"X"`` is ``(N, n_features_in_)`` of the weights' dtype. A classifier's
        outputs are ``"label"`` (``predict``) and ``"probabilities"`` (``predict_proba``), a
        regressor's ``"variable"`` (``predict``, always ``(N, n_outputs_)``), as ONNX
        converters of scikit-learn name them. The arguments are those of
        :func:`fastdnn.onnx.export`; the ``onnx`` package is needed.

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.sklearn import MLPRegressor
        >>> X = np.arange(8.0).reshape(4, 2)
        >>> reg = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", random_state=0)
        >>> reg = reg.fit(X, X[:, 0])
        >>> data = reg.export_onnx()   # doctest: +SKIP
        """
        from ._onnx import export_estimator

        return export_estimator(self, path, opset=opset, batch_dim=batch_dim, dtype=dtype,
                                fold_normalizer=fold_normalizer)

    # ------------------------------------------------------------ protocol
    def _expected_failed_checks(self) -> dict[str, str]:
        """scikit-learn estimator checks this parameter setting is known to fail, with the
        reason (``parametrize_with_checks(..., expected_failed_checks=...)``; scikit-learn
        >= 1.6 has no tag for them).

        Examples
        --------
        >>> from fastdnn.sklearn import MLPRegressor
        >>> MLPRegressor()._expected_failed_checks()
        {}
        >>> sorted(MLPRegressor(dtype="float32")._expected_failed_checks())[0]
        'check_sample_weight_equivalence_on_dense_data'
        """
        failing: dict[str, str] = {}
        if self.dtype is not None and np.dtype(self.dtype) == np.float32:
            reason = ("dtype='float32' computes in float32: weighted and repeated samples "
                      "agree to float32 rounding (~1e-7 relative), the check asks rtol=1e-7")
            failing["check_sample_weight_equivalence_on_dense_data"] = reason
            failing["check_sample_weight_equivalence_on_sparse_data"] = reason
        return failing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def __getstate__(self) -> dict:
        # the flat buffer, its gradient and the cached Sequential (with its compiled plans)
        # are rebuilt from coefs_/intercepts_ on first use after unpickling
        state = dict(super().__getstate__())
        state.pop("_net", None)
        return state
