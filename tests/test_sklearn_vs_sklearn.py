"""fastdnn.sklearn against scikit-learn's own MLP estimators on the same data.

Tolerances (float64 unless said):
- sgd from the same initial weights: loss_curve_ within rtol 1e-9 (the products sum in
  another order: rounding only; seen ~1e-15), weights within rtol 1e-7;
- adam: loss_curve_ within rtol 1e-5 (fastdnn adds epsilon to the bias-corrected
  sqrt(v_hat), scikit-learn to sqrt(v); seen ~3e-7);
- lbfgs: same n_iter_, loss_ within rtol 1e-6;
- accuracy within 0.02 and R² within 0.01 of scikit-learn's with the same random_state;
- float32 (adam): loss_curve_ within rtol 1e-4.
"""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import scipy.sparse as sp  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.neural_network import MLPClassifier as SkClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkRegressor  # noqa: E402

from fastdnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_blas_thread"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]

PAIRS = {"classifier": (SkClassifier, MLPClassifier), "regressor": (SkRegressor, MLPRegressor)}


def _data(kind, n=300, seed=0):
    if kind == "classifier":
        return make_classification(n_samples=n, n_features=10, n_informative=6, n_classes=3,
                                   random_state=seed)
    X, y = make_regression(n_samples=n, n_features=8, noise=5.0, random_state=seed)
    return X, y / y.std()


def _both(kind, X, y, fit_kw=None, **params):
    sk_cls, fd_cls = PAIRS[kind]
    return (sk_cls(**params).fit(X, y, **(fit_kw or {})),
            fd_cls(**params).fit(X, y, **(fit_kw or {})))


def _public_fitted(est):
    return {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
def test_same_scores_attributes_shapes_and_dtypes(kind, solver):
    X, y = _data(kind)
    sk, fd = _both(kind, X, y, hidden_layer_sizes=(20,), solver=solver, max_iter=60,
                   learning_rate_init=0.01, random_state=0)
    tolerance = 0.02 if kind == "classifier" else 0.01
    assert fd.score(X, y) == pytest.approx(sk.score(X, y), abs=tolerance)
    assert _public_fitted(fd) == _public_fitted(sk)
    for name in ("n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_",
                 "n_features_in_"):
        assert getattr(fd, name) == getattr(sk, name), name
    assert [c.shape for c in fd.coefs_] == [c.shape for c in sk.coefs_]
    assert [c.dtype for c in fd.coefs_] == [c.dtype for c in sk.coefs_]
    assert [i.shape for i in fd.intercepts_] == [i.shape for i in sk.intercepts_]
    pred_fd, pred_sk = fd.predict(X), sk.predict(X)
    assert pred_fd.shape == pred_sk.shape and pred_fd.dtype == pred_sk.dtype
    if kind == "classifier":
        assert np.array_equal(fd.classes_, sk.classes_)
        for method in ("predict_proba", "predict_log_proba"):
            a, b = getattr(fd, method)(X), getattr(sk, method)(X)
            assert a.shape == b.shape and a.dtype == b.dtype
    if solver != "lbfgs":
        assert len(fd.loss_curve_) == len(sk.loss_curve_)
        assert (fd.best_loss_ is None) == (sk.best_loss_ is None)


def _sgd_pair(kind, X, y, **params):
    """Both estimators trained with sgd from the same initial weights (set on both)."""
    sk_cls, fd_cls = PAIRS[kind]
    sk = sk_cls(max_iter=1, **params).fit(X, y)       # scikit-learn needs one fit first
    start_c = [np.random.default_rng(i).uniform(-0.3, 0.3, c.shape)
               for i, c in enumerate(sk.coefs_)]
    start_i = [np.random.default_rng(10 + i).uniform(-0.3, 0.3, b.shape)
               for i, b in enumerate(sk.intercepts_)]
    fd = fd_cls(max_iter=1, **params).fit(X, y)
    for est in (sk, fd):
        est.coefs_ = [c.copy() for c in start_c]
        est.intercepts_ = [b.copy() for b in start_i]
        est.set_params(warm_start=True, max_iter=25)
        est.fit(X, y)
    return sk, fd


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("schedule, nesterov", [("constant", True), ("invscaling", False),
                                                ("adaptive", True)])
def test_sgd_tracks_sklearns_loss_curve_from_the_same_weights(kind, schedule, nesterov):
    X, y = _data(kind, n=250)
    sk, fd = _sgd_pair(kind, X, y, hidden_layer_sizes=(16, 8), solver="sgd", alpha=1e-3,
                       learning_rate=schedule, nesterovs_momentum=nesterov,
                       learning_rate_init=0.02, batch_size=64, tol=1e-3, random_state=3)
    assert len(fd.loss_curve_) == len(sk.loss_curve_) > 10
    np.testing.assert_allclose(fd.loss_curve_, sk.loss_curve_, rtol=1e-9)
    for a, b in zip(fd.coefs_ + fd.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    assert fd.n_iter_ == sk.n_iter_ and fd.t_ == sk.t_


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-5), (np.float32, 1e-4)])
def test_adam_tracks_sklearns_loss_curve(dtype, rtol):
    X, y = _data("classifier")
    sk, fd = _both("classifier", X.astype(dtype), y, hidden_layer_sizes=(20,), max_iter=30,
                   learning_rate_init=0.01, random_state=0)
    assert fd.coefs_[0].dtype == sk.coefs_[0].dtype == dtype
    np.testing.assert_allclose(fd.loss_curve_, sk.loss_curve_, rtol=rtol)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_lbfgs_follows_sklearns_iterates(kind):
    X, y = _data(kind, n=200)
    sk, fd = _both(kind, X, y, hidden_layer_sizes=(10,), solver="lbfgs", alpha=1e-2,
                   max_iter=60, random_state=0)
    assert fd.n_iter_ == sk.n_iter_
    assert fd.loss_ == pytest.approx(sk.loss_, rel=1e-6)


def test_sample_weight_sparse_multilabel_multioutput_poisson_early_stopping():
    X, y = _data("classifier")
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    kw = dict(hidden_layer_sizes=(12,), solver="sgd", max_iter=15, random_state=1)
    sk, fd = _both("classifier", X, y, fit_kw=dict(sample_weight=w), **kw)
    np.testing.assert_allclose(fd.loss_curve_, sk.loss_curve_, rtol=1e-9)
    Xs = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
    sk, fd = _both("classifier", Xs.tocsc(), y, **kw)
    np.testing.assert_allclose(fd.loss_curve_, sk.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(fd.predict_proba(Xs), sk.predict_proba(Xs), rtol=1e-7)
    Xm, Ym = make_multilabel_classification(n_samples=200, n_features=8, n_classes=4,
                                            random_state=0)
    sk, fd = _both("classifier", Xm, Ym, **kw)
    np.testing.assert_allclose(fd.loss_curve_, sk.loss_curve_, rtol=1e-9)
    assert np.array_equal(fd.predict(Xm), sk.predict(Xm))
    Xr, Yr = make_regression(n_samples=200, n_features=6, n_targets=3, random_state=0)
    sk, fd = _both("regressor", Xr, Yr / Yr.std(), **kw)
    np.testing.assert_allclose(fd.loss_curve_, sk.loss_curve_, rtol=1e-9)
    counts = np.random.default_rng(0).poisson(np.exp(0.3 * Xr[:, 0]))
    sk, fd = _both("regressor", Xr, counts, loss="poisson", **kw)
    assert fd.out_activation_ == sk.out_activation_ == "exp"
    np.testing.assert_allclose(fd.loss_curve_, sk.loss_curve_, rtol=1e-9)
    Xb, yb = make_classification(n_samples=300, n_features=10, random_state=0)
    sk, fd = _both("classifier", Xb, yb, early_stopping=True, **{**kw, "max_iter": 40})
    assert fd.validation_scores_ == sk.validation_scores_       # the same (stratified) split
    assert fd.n_iter_ == sk.n_iter_


def test_default_initialization_is_sklearns():
    X, y = _data("regressor", n=50)
    for activation in ("relu", "logistic"):
        kw = dict(hidden_layer_sizes=(7, 5), activation=activation, max_iter=1,
                  learning_rate_init=1e-12, random_state=42)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = SkRegressor(**kw).fit(X, y)
            fd = MLPRegressor(**kw).fit(X, y)
        for a, b in zip(fd.coefs_ + fd.intercepts_, sk.coefs_ + sk.intercepts_):
            np.testing.assert_allclose(a, b, atol=1e-9)


SHARED_BAD_PARAMS = [
    ("hidden_layer_sizes", "100"), ("alpha", -1.0), ("batch_size", "all"),
    ("learning_rate", "optimal"), ("learning_rate_init", 0.0), ("power_t", -1.0),
    ("max_iter", 2.5), ("shuffle", "yes"), ("random_state", "seed"), ("tol", np.nan),
    ("verbose", -1), ("warm_start", None), ("momentum", 1.5), ("nesterovs_momentum", 1.0),
    ("early_stopping", "no"), ("validation_fraction", 1.0), ("beta_1", 1.0),
    ("beta_2", -0.1), ("epsilon", 0.0), ("n_iter_no_change", 2.5), ("max_fun", 0),
]


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("name, value", SHARED_BAD_PARAMS)
def test_parameter_errors_are_sklearns(kind, name, value):
    X, y = _data(kind, n=20)
    sk_cls, fd_cls = PAIRS[kind]
    with pytest.raises(Exception) as theirs:
        sk_cls(**{name: value}).fit(X, y)
    with pytest.raises(Exception) as ours:
        fd_cls(**{name: value}).fit(X, y)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


BAD_INPUTS = {
    "1-D X": lambda X, y: (X[:, 0], y),
    "NaN in X": lambda X, y: (np.where(X > 1, np.nan, X), y),
    "inf in X": lambda X, y: (np.where(X > 1, np.inf, X), y),
    "complex X": lambda X, y: (X + 1j, y),
    "string X": lambda X, y: (X.astype(str).astype(object) + "a", y),
    "no samples": lambda X, y: (X[:0], y[:0]),
    "no features": lambda X, y: (X[:, :0], y),
    "inconsistent lengths": lambda X, y: (X, y[:-1]),
    "y None": lambda X, y: (X, None),
    "3-D X": lambda X, y: (X[:, :, None], y),
    "NaN in y": lambda X, y: (X, np.where(np.arange(len(y)) == 2, np.nan, y)),
}


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_input_errors_are_sklearns(kind, case):
    X, y = _data(kind, n=20)
    Xb, yb = BAD_INPUTS[case](X, y.astype(float))
    sk_cls, fd_cls = PAIRS[kind]
    with pytest.raises(Exception) as theirs:
        sk_cls(max_iter=2).fit(Xb, yb)
    with pytest.raises(Exception) as ours:
        fd_cls(max_iter=2).fit(Xb, yb)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_predict_errors_are_sklearns(kind):
    X, y = _data(kind, n=40)
    sk, fd = _both(kind, X, y, hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    for bad in (X[:, :3], np.full_like(X, np.nan), X[0]):
        with pytest.raises(Exception) as theirs:
            sk.predict(bad)
        with pytest.raises(Exception) as ours:
            fd.predict(bad)
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)
    if kind == "classifier":     # partial_fit's first call needs classes
        sk_cls, fd_cls = PAIRS[kind]
        for cls in (sk_cls, fd_cls):
            with pytest.raises(ValueError, match="classes must be passed on the first call"):
                cls().partial_fit(X, y)
        with pytest.raises(AttributeError) as theirs:
            _ = sk_cls(solver="lbfgs").partial_fit
        with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as ours:
            _ = fd_cls(solver="lbfgs").partial_fit
        assert str(ours.value) == str(theirs.value)
        assert str(ours.value.__cause__) == str(theirs.value.__cause__)
