"""fastdnn.sklearn: scikit-learn's MLP estimators on fastdnn's kernels (behaviour and extras).

Comparisons with scikit-learn's own estimators are in test_sklearn_vs_sklearn.py, its
estimator checks in test_sklearn_checks.py, processes and dask in test_sklearn_parallel.py.
"""
import inspect
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import scipy.sparse as sp  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkRegressor  # noqa: E402

from fastdnn import _datasets  # noqa: E402
from fastdnn.layers import Dense, Normalizer  # noqa: E402
from fastdnn.models import Sequential  # noqa: E402
from fastdnn.optimizers import Adam, RMSprop  # noqa: E402
from fastdnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_blas_thread"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]

ESTIMATORS = [MLPClassifier, MLPRegressor]
SKLEARN = {MLPClassifier: SkClassifier, MLPRegressor: SkRegressor}
EXTRAS = dict(dtype=None, normalize=False, kernel_initializer=None)


def blobs(k=3, m=300, n=2, seed=0, labels=None):
    """k well separated Gaussian classes."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(k) / k       # centers 5 apart or more on a circle
    centers = np.zeros((k, n))
    centers[:, 0], centers[:, 1] = 5 * np.cos(angles), 5 * np.sin(angles)
    codes = rng.integers(0, k, size=m)
    X = centers[codes] + rng.normal(size=(m, n))
    labels = np.arange(k) if labels is None else np.asarray(labels)
    return X, labels[codes]


def smooth(m=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(m, 2))
    return X, np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2


def data_for(cls, m=300):
    return blobs(m=m) if cls is MLPClassifier else smooth(m=m)


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_parameters_are_sklearn_19s_with_its_defaults_plus_extras(cls):
    ours, theirs = inspect.signature(cls), inspect.signature(SKLEARN[cls])
    positional = lambda sig: [p.name for p in sig.parameters.values()
                              if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert positional(ours) == positional(theirs)
    assert cls().get_params() == {**SKLEARN[cls]().get_params(), **EXTRAS}
    assert all(p.annotation is not inspect.Parameter.empty
               for p in ours.parameters.values())


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_get_params_set_params_and_repr(cls):
    est = cls()
    new = dict(hidden_layer_sizes=(7, 3), alpha=0.5, solver="sgd", random_state=4)
    assert est.set_params(**new) is est
    assert est.get_params() == {**cls().get_params(), **new}
    assert cls(**est.get_params()).get_params() == est.get_params()
    with pytest.raises(ValueError, match="not_a_param"):
        est.set_params(not_a_param=1)
    assert "hidden_layer_sizes=(7, 3)" in repr(est) and "max_iter" not in repr(est)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_sklearn_clone_and_tools(cls):
    from sklearn.base import clone, is_classifier, is_regressor
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data_for(cls)
    est = cls(hidden_layer_sizes=(8,), max_iter=5, random_state=1).fit(X, y)
    twin = clone(est)
    assert type(twin) is cls and twin.get_params() == est.get_params()
    assert not hasattr(twin, "model_") and not hasattr(twin, "coefs_")
    assert is_classifier(est) == (cls is MLPClassifier)
    assert is_regressor(est) == (cls is MLPRegressor)
    pipe = make_pipeline(StandardScaler(), cls(hidden_layer_sizes=(8,), max_iter=3,
                                               random_state=0))
    assert cross_val_score(pipe, X, y, cv=2).shape == (2,)


BAD_PARAMS = [
    ("hidden_layer_sizes", "100"), ("activation", "softmax"), ("solver", "newton"),
    ("alpha", -1.0), ("alpha", np.inf), ("batch_size", 0), ("batch_size", "all"),
    ("learning_rate", "optimal"), ("learning_rate_init", 0.0), ("power_t", -1.0),
    ("max_iter", 0), ("max_iter", 2.5), ("shuffle", "yes"), ("random_state", "seed"),
    ("tol", -1e-3), ("tol", float("nan")), ("verbose", -1), ("warm_start", None),
    ("momentum", 1.5), ("nesterovs_momentum", 1.0), ("early_stopping", "no"),
    ("validation_fraction", 1.0), ("beta_1", 1.0), ("beta_2", -0.1), ("epsilon", 0.0),
    ("n_iter_no_change", 0), ("n_iter_no_change", 2.5), ("max_fun", 0),
    ("dtype", "int32"), ("dtype", np.float16), ("normalize", None),
    ("kernel_initializer", 3),
]


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("name, value", BAD_PARAMS)
def test_bad_parameters_raise_in_fit_naming_the_parameter(cls, name, value):
    from sklearn.utils._param_validation import InvalidParameterError

    est = cls(**{name: value})          # __init__ only stores, like scikit-learn
    assert est.get_params()[name] is value
    X, y = blobs(m=20)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of {cls.__name__}"):
        est.fit(X, y)


def test_regressor_loss_parameter():
    X, y = smooth(m=40)
    with pytest.raises(ValueError, match="The 'loss' parameter of MLPRegressor"):
        MLPRegressor(loss="huber").fit(X, y)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes must be > 0, got \[3, 0\]"):
        MLPRegressor(hidden_layer_sizes=(3, 0)).fit(X, y)


# ------------------------------------------------------------------ before fit, bad data
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_not_fitted_errors(cls):
    est = cls()
    X = np.zeros((3, 2))
    for call in (est.predict, lambda X: est.score(X, [0, 1, 0])):
        with pytest.raises(NotFittedError, match="not fitted"):
            call(X)
    if cls is MLPClassifier:
        for call in (est.predict_proba, est.predict_log_proba):
            with pytest.raises(NotFittedError):
                call(X)
    with pytest.raises(NotFittedError):
        _ = est.model_
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_iter_")


def test_bad_data():
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    X, y = blobs(m=30)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Expected 2D array"):
        clf.fit(X[:, 0], y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 2"):
        clf.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="infinity"):
        clf.predict(np.full((4, 2), np.inf))
    with pytest.raises(ValueError, match="NaN"):
        MLPRegressor(max_iter=1).fit(np.full((4, 2), np.nan), np.zeros(4))
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, 30))
    with pytest.raises(ValueError, match="y is None"):
        MLPRegressor().fit(X, None)
    with pytest.raises(ValueError, match="0 sample"):
        MLPRegressor().fit(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match="Complex"):
        MLPRegressor().fit(X + 1j, np.zeros(30))
    assert clf.fit(X.astype(object), y).predict(X[:2].astype(object)).shape == (2,)


def test_one_class_and_indicator_targets_are_fitted_as_sklearn_does():
    X, _ = blobs(m=30)
    one = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, np.zeros(30))
    assert one.classes_.tolist() == [0.0] and set(one.predict(X)) == {0.0}
    assert one.predict_proba(X).shape == (30, 2)
    ind = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    assert ind.fit(X, np.zeros((30, 2), dtype=int)).predict(X).shape == (30, 2)


# ------------------------------------------------------------------ classification
def test_binary_string_labels():
    X, y = blobs(k=2, labels=["spam", "ham"])
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.01,
                        random_state=0)
    assert clf.fit(X, y) is clf
    assert clf.classes_.tolist() == ["ham", "spam"]
    assert clf.model_.n_outputs == 1 and clf.out_activation_ == "logistic"
    assert clf.model_.loss.name == "binary_crossentropy"
    pred, P = clf.predict(X), clf.predict_proba(X)
    assert pred.shape == (300,) and pred.dtype == clf.classes_.dtype
    assert P.shape == (300, 2) and np.allclose(P.sum(axis=1), 1.0)
    assert np.array_equal(pred, clf.classes_[np.argmax(P, axis=1)])
    assert clf.score(X, y) > 0.95
    assert clf.n_features_in_ == 2 and clf.n_layers_ == 3 and clf.n_outputs_ == 1
    assert np.allclose(np.exp(clf.predict_log_proba(X[:5])), P[:5])
    # a column vector of labels is ravelled with scikit-learn's DataConversionWarning
    with pytest.warns(Warning, match="column-vector y"):
        assert clf.fit(X, y.reshape(-1, 1)).predict(X[:3]).shape == (3,)


def test_multiclass_accuracy_and_arbitrary_labels():
    X, y = blobs(k=4, m=400, labels=[40, 10, 30, 20])
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=40, learning_rate_init=0.01,
                        random_state=0).fit(X, y)
    assert clf.classes_.tolist() == [10, 20, 30, 40]
    assert clf.model_.n_outputs == 4 and clf.out_activation_ == "softmax"
    P = clf.predict_proba(X)
    assert P.shape == (400, 4) and P.dtype == np.float64       # follows X, as scikit-learn's
    assert np.allclose(P.sum(axis=1), 1.0)
    assert set(np.unique(clf.predict(X))) <= {10, 20, 30, 40}
    assert clf.score(X, y) > 0.95
    assert len(clf.loss_curve_) == clf.n_iter_ and clf.loss_ == clf.loss_curve_[-1]
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.t_ == clf.n_iter_ * 400


def test_multilabel_has_sigmoid_outputs():
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=200, n_features=8, n_classes=4,
                                          random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=200,
                        random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    assert clf.classes_.tolist() == [0, 1, 2, 3]
    P = clf.predict_proba(X)
    assert P.shape == (200, 4) and not np.allclose(P.sum(axis=1), 1.0)
    assert np.array_equal(clf.predict(X), (P > 0.5).astype(int))
    assert clf.score(X, Y) > 0.7            # subset accuracy


def test_random_state_reproducible():
    X, y = blobs(k=3, m=200)
    kw = dict(hidden_layer_sizes=(10,), max_iter=5, random_state=7)
    a, b = MLPClassifier(**kw).fit(X, y), MLPClassifier(**kw).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert all(np.array_equal(u, v) for u, v in zip(a.coefs_, b.coefs_))
    assert a.loss_curve_ == b.loss_curve_
    P = a.predict_proba(X)
    assert np.array_equal(a.fit(X, y).predict_proba(X), P)      # refit: same model
    c = MLPClassifier(**{**kw, "random_state": 8}).fit(X, y)
    assert not np.array_equal(c.coefs_[0], a.coefs_[0])


# ------------------------------------------------------------------ regression
def test_regression_r2_and_shapes():
    X, y = smooth()
    reg = MLPRegressor(hidden_layer_sizes=(64, 64), learning_rate_init=0.01, max_iter=150,
                       random_state=0).fit(X, y)
    assert reg.out_activation_ == "identity" and reg.model_.loss.name == "mse"
    assert reg.predict(X).shape == (400,)
    assert reg.score(X, y) > 0.9
    Y2 = np.column_stack([y, -y])
    reg2 = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300,
                        random_state=0).fit(X, Y2)
    assert reg2.predict(X).shape == (400, 2) and reg2.n_outputs_ == 2
    assert reg2.score(X, Y2) > 0.9


def test_poisson_loss_has_an_exp_output():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 3))
    y = rng.poisson(np.exp(1.0 + X[:, 0] - 0.5 * X[:, 1])).astype(float)
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs", max_iter=300,
                       random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp" and reg.model_.loss is None
    pred = reg.predict(X)
    assert np.all(pred > 0)
    assert np.allclose(pred, np.exp(reg.model_.predict(X).ravel()))
    from sklearn.metrics import mean_poisson_deviance
    assert mean_poisson_deviance(y, pred) < mean_poisson_deviance(y, np.full_like(y, y.mean()))


def test_score_is_r2():
    from sklearn.metrics import r2_score

    X, y = smooth(m=50)
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    pred = reg.predict(X)
    w = np.linspace(0.5, 2.0, 50)
    assert reg.score(X, y) == pytest.approx(r2_score(y, pred), rel=1e-12)
    assert reg.score(X, y, sample_weight=w) == pytest.approx(
        r2_score(y, pred, sample_weight=w), rel=1e-12)


# ------------------------------------------------------------------ solvers
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_lbfgs_converges_and_warns_at_its_limits(cls):
    X, y = data_for(cls, m=200)
    est = cls(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=500, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.score(X, y) > 0.9 and 0 < est.n_iter_ < 500
    assert not hasattr(est, "loss_curve_") and est.t_ == 0      # as scikit-learn's lbfgs
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        cls(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        cls(hidden_layer_sizes=(16,), solver="lbfgs", max_fun=5, random_state=0).fit(X, y)
    if cls is MLPClassifier:        # as scikit-learn's: no partial_fit for lbfgs
        assert not hasattr(est, "partial_fit")


def test_lbfgs_gradient_is_the_loss_derivative():
    """The flat gradient written by one fastdnn pass matches finite differences of the loss."""
    from scipy.optimize import check_grad

    X, y = blobs(m=40)
    clf = MLPClassifier(hidden_layer_sizes=(5,), activation="tanh", alpha=0.3,
                        solver="lbfgs", max_iter=2, random_state=0).fit(X, y)
    net, Y = clf._get_net(), clf._label_binarizer.transform(y).astype(float)
    loss = clf._loss_function()

    def f(theta):
        return net.loss_grad(X, Y, None, len(X), 0.3, loss, params=theta,
                             grad=np.empty(net.size))

    def g(theta):
        grad = np.empty(net.size)
        net.loss_grad(X, Y, None, len(X), 0.3, loss, params=theta, grad=grad)
        return grad

    assert check_grad(f, g, net.flat.copy()) < 1e-6


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_stochastic_solvers_warn_at_max_iter(cls, solver):
    X, y = data_for(cls, m=60)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        cls(hidden_layer_sizes=(4,), solver=solver, max_iter=3, random_state=0).fit(X, y)


def test_adam_and_rmsprop_are_fastdnns_compiled_optimizers():
    X, y = blobs(m=60)
    adam = MLPClassifier(max_iter=2, beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                         learning_rate_init=0.02, random_state=0).fit(X, y)._optimizer.optimizer
    assert isinstance(adam, Adam) and (adam.beta1, adam.beta2, adam.epsilon) == (0.8, 0.99, 1e-6)
    rms = MLPClassifier(solver="rmsprop", max_iter=2, beta_2=0.9, random_state=0).fit(X, y)
    assert isinstance(rms._optimizer.optimizer, RMSprop) and rms._optimizer.optimizer.beta == 0.9
    good = MLPClassifier(solver="rmsprop", hidden_layer_sizes=(16,), learning_rate_init=0.01,
                         max_iter=30, random_state=0).fit(*blobs())
    assert good.score(*blobs()) > 0.95


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_is_sklearns_momentum(alpha, nesterov):
    """v = mu v - lr g; W += v (or W += mu v - lr g), g with the L2 term alpha/m W."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    lr, mu, epochs = 0.05, 0.8, 4
    W0, b0 = rng.normal(size=(3, 1)), rng.normal(size=1)
    reg = MLPRegressor(hidden_layer_sizes=(), solver="sgd", momentum=mu, alpha=alpha,
                       nesterovs_momentum=nesterov, learning_rate_init=lr, batch_size=40,
                       max_iter=epochs, tol=0.0, shuffle=False, warm_start=True)
    reg.coefs_, reg.intercepts_ = [W0.copy()], [b0.copy()]     # weights set before fitting
    reg.fit(X, y)
    W, b = W0.copy(), b0.copy()
    vW, vb, m = np.zeros_like(W), np.zeros_like(b), len(X)
    losses = []
    for _ in range(epochs):
        err = X @ W + b - y[:, None]
        losses.append((err ** 2).sum() / (2 * m) + alpha / (2 * m) * (W ** 2).sum())
        gW, gb = X.T @ err / m + alpha / m * W, err.mean(axis=0)
        vW, vb = mu * vW - lr * gW, mu * vb - lr * gb
        if nesterov:
            W, b = W + mu * vW - lr * gW, b + mu * vb - lr * gb
        else:
            W, b = W + vW, b + vb
    assert np.allclose(reg.coefs_[0], W, rtol=1e-10, atol=1e-12)
    assert np.allclose(reg.intercepts_[0], b, rtol=1e-10, atol=1e-12)
    assert np.allclose(reg.loss_curve_, losses, rtol=1e-10)


def test_learning_rate_schedules():
    X, y = smooth(m=100)
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.1, random_state=0)
    inv = MLPRegressor(learning_rate="invscaling", power_t=0.5, max_iter=3, **kw).fit(X, y)
    assert inv._optimizer.learning_rate == pytest.approx(0.1 / (300 + 1) ** 0.5)
    ada = MLPRegressor(learning_rate="adaptive", tol=1e9, n_iter_no_change=1, max_iter=6,
                       **kw).fit(X, y)
    # epochs 2-3 and 5-6 miss tol twice in a row: the rate is divided by 5 instead of stopping
    assert ada.n_iter_ == 6 and ada._optimizer.learning_rate == pytest.approx(0.1 / 5 ** 2)
    const = MLPRegressor(tol=1e9, n_iter_no_change=1, max_iter=6, **kw).fit(X, y)
    assert const.n_iter_ == 3 and const._optimizer.learning_rate == 0.1


def test_tol_and_n_iter_no_change_stop_like_sklearn():
    X, y = blobs(m=60)
    # nothing beats the first epoch by 1e9: stop after n_iter_no_change + 1 more epochs
    clf = MLPClassifier(hidden_layer_sizes=(4,), tol=1e9, n_iter_no_change=3, max_iter=50,
                        random_state=0).fit(X, y)
    assert clf.n_iter_ == 5 and clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    never = MLPClassifier(hidden_layer_sizes=(4,), tol=1e9, n_iter_no_change=np.inf,
                          max_iter=12, random_state=0)
    with pytest.warns(ConvergenceWarning):
        assert never.fit(X, y).n_iter_ == 12


def test_early_stopping_on_validation():
    X, y = blobs(k=3, m=300)
    clf = MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=2, max_iter=200, learning_rate_init=0.01,
                        random_state=0).fit(X, y)
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.9
    assert clf.best_loss_ is None
    reg = MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=5,
                       random_state=0).fit(*smooth(m=100))
    assert len(reg.validation_scores_) == reg.n_iter_
    assert all(s <= 1 for s in reg.validation_scores_)        # R² of the held-out part
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        reg.partial_fit(*smooth(m=100))
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPRegressor(early_stopping=True).fit(*smooth(m=10))


def test_early_stopping_split_is_stratified_and_keeps_the_best_weights():
    from sklearn.model_selection import train_test_split

    X, y = blobs(k=4, m=200, seed=3)
    clf = MLPClassifier(hidden_layer_sizes=(8,), early_stopping=True, validation_fraction=0.25,
                        max_iter=15, n_iter_no_change=100, random_state=0).fit(X, y)
    # the split is train_test_split(stratify=y) with the estimator's RandomState, after the
    # initial weights' draws (2x8 + 8 + 8x4 + 4 numbers)
    rs = np.random.RandomState(0)
    rs.uniform(size=16 + 8 + 32 + 4)
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.25, random_state=rs, stratify=y)
    assert np.abs(np.bincount(y_val) - np.bincount(y) * 0.25).max() <= 1
    # the weights restored at the end are those of the best epoch, scored on that split
    assert clf.score(X_val, y_val) == clf.best_validation_score_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


# ------------------------------------------------------------------ incremental, warm start
def test_partial_fit_needs_classes_first_and_then_continues():
    X, y = blobs(m=90)
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:30], y[:30], classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2] and clf.n_iter_ == 1 and clf.t_ == 30
    for s in (30, 60):
        clf.partial_fit(X[s:s + 30], y[s:s + 30])
    assert clf.t_ == 90 and len(clf.loss_curve_) == 3
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.partial_fit(np.zeros((3, 3)), [0, 1, 2])


def test_coefs_and_intercepts_can_be_set_before_partial_fit():
    X, y = smooth(m=60)
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", momentum=0.0, random_state=0)
    reg = MLPRegressor(**kw)
    reg.partial_fit(X, y)
    W = [np.full((2, 5), 0.1), np.full((5, 1), -0.2)]
    b = [np.zeros(5), np.ones(1)]
    reg.coefs_, reg.intercepts_ = [w.copy() for w in W], [v.copy() for v in b]
    expected = np.maximum(X @ W[0] + b[0], 0) @ W[1] + b[1]
    assert np.allclose(reg.predict(X), expected.ravel())          # the new weights predict
    twin = MLPRegressor(**kw)
    twin.coefs_, twin.intercepts_ = [w.copy() for w in W], [v.copy() for v in b]
    reg.partial_fit(X, y)
    twin.partial_fit(X, y)                                         # before any fit, too
    assert np.allclose(reg.coefs_[0], twin.coefs_[0], rtol=1e-12)
    # coefs_ are the model's arrays: changing them in place changes predictions
    reg.coefs_[1][...] = 0.0
    assert np.allclose(reg.predict(X), reg.intercepts_[1][0])
    with pytest.raises(ValueError, match="layer sizes"):
        reg.coefs_ = [np.zeros((2, 3)), np.zeros((3, 1))]
        reg.intercepts_ = [np.zeros(3), np.zeros(1)]
        reg.partial_fit(X, y)


def test_warm_start_continues_from_the_current_weights():
    X, y = blobs(m=120)
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", max_iter=3, random_state=0, shuffle=False)
    cold = MLPClassifier(**kw).fit(X, y)
    warm = MLPClassifier(warm_start=True, **kw).fit(X, y)
    first = [c.copy() for c in warm.coefs_]
    warm.fit(X, y)
    assert not np.array_equal(warm.coefs_[0], first[0])
    assert len(warm.loss_curve_) == 6 and warm.n_iter_ == 3 and warm.t_ == 6 * 120
    assert warm.loss_curve_[3] < cold.loss_curve_[0]
    again = cold.fit(X, y)              # without warm_start: new weights from random_state
    assert np.array_equal(again.coefs_[0], MLPClassifier(**kw).fit(X, y).coefs_[0])
    with pytest.raises(ValueError, match="warm_start can only be used"):
        warm.fit(X, np.where(y == 2, 5, y))


# ------------------------------------------------------------------ data forms
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sparse_X_matches_dense(fmt, solver):
    X, y = blobs(m=120, n=6)
    X[np.abs(X) < 0.8] = 0.0
    kw = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=20, random_state=0)
    dense = MLPClassifier(**kw).fit(X, y)
    sparse = MLPClassifier(**kw).fit(sp.csr_matrix(X).asformat(fmt), y)
    assert np.allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-9, atol=1e-12)
    assert np.allclose(sparse.predict_proba(sp.csr_matrix(X).asformat(fmt)),
                       dense.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_sparse_X_is_densified_by_chunks(monkeypatch):
    from fastdnn.sklearn import _network

    monkeypatch.setattr(_network, "DENSE_CHUNK_ELEMENTS", 6 * 7)     # 7 rows at a time
    seen = []
    real = sp.csr_matrix.toarray

    def spy(self, *args, **kwargs):
        seen.append(self.shape[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", spy)
    X, y = blobs(m=50, n=6)
    Xs = sp.csr_matrix(X)
    kw = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5, random_state=0)
    sparse = MLPClassifier(**kw).fit(Xs, y)
    assert seen and max(seen) <= 7
    assert np.allclose(sparse.predict_proba(Xs), MLPClassifier(**kw).fit(X, y).predict_proba(X))


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_sample_weight_acts_as_repetition(solver):
    X, y = smooth(m=40)
    w = np.random.default_rng(1).integers(0, 3, size=40)
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=20, shuffle=False,
              random_state=0)
    weighted = MLPRegressor(**kw).fit(X, y, sample_weight=w)
    repeated = MLPRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert np.allclose(weighted.predict(X), repeated.predict(X), rtol=1e-7, atol=1e-9)
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-9)
    if solver == "sgd":     # one full batch per epoch either way
        assert np.allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)


def test_dtype_follows_X_unless_given():
    X, y = blobs(m=40)
    kw = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    assert MLPClassifier(**kw).fit(X, y).coefs_[0].dtype == np.float64
    c32 = MLPClassifier(**kw).fit(X.astype(np.float32), y)
    assert c32.coefs_[0].dtype == np.float32
    assert c32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert c32.predict_proba(X).dtype == np.float64              # X @ coefs_ promotes
    forced = MLPClassifier(dtype="float32", **kw).fit(X, y)
    assert forced.coefs_[0].dtype == np.float32 and forced.model_.dtype == np.float32
    up = MLPClassifier(dtype=np.float64, **kw).fit(X.astype(np.float32), y)
    assert up.coefs_[0].dtype == np.float64
    bad = X.copy()
    bad[3, 1] = 1e39
    with pytest.raises(ValueError, match=r"beyond float32's range \(first in row 3"):
        MLPClassifier(dtype="float32", **kw).fit(bad, y)


def test_non_finite_training_raises_a_clear_error():
    X, y = smooth(m=80)
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=10.0,
                       momentum=0.0, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # NumPy's overflow notices
        with pytest.raises(ValueError, match="training loss became (nan|inf) in iteration"):
            reg.fit(X * 1e3, y * 1e3)


# ------------------------------------------------------------------ fastdnn's extras
def test_alpha_shrinks_weights():
    X, y = blobs(k=3, m=200)
    kw = dict(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01, random_state=0)
    free = MLPClassifier(alpha=0.0, **kw).fit(X, y)
    ridge = MLPClassifier(alpha=5.0, **kw).fit(X, y)
    norm = lambda est: sum(float((W ** 2).sum()) for W in est.coefs_)
    assert norm(ridge) < 0.8 * norm(free)
    assert all(l.kernel_regularizer.lam == 5.0 for l in ridge.model_.layers)
    assert all(l.kernel_regularizer is None for l in free.model_.layers)


def test_coefs_are_views_shared_with_model_():
    X, y = smooth(m=60)
    reg = MLPRegressor(hidden_layer_sizes=(5, 3), activation="tanh", max_iter=2,
                       random_state=0, dtype="float64").fit(X, y)
    dense = [l for l in reg.model_.layers if isinstance(l, Dense)]
    assert isinstance(reg.model_, Sequential) and reg.model_ is reg.model_
    assert [c.shape for c in reg.coefs_] == [(2, 5), (5, 3), (3, 1)]
    assert [b.shape for b in reg.intercepts_] == [(5,), (3,), (1,)]
    for c, b, layer in zip(reg.coefs_, reg.intercepts_, dense):
        assert c.dtype == np.float64 and np.shares_memory(c, layer.W)
        assert np.array_equal(c, layer.W.T) and np.array_equal(b, layer.b.ravel())
    # scikit-learn's forward pass with coefs_ / intercepts_ reproduces predict
    A = X
    for i, (c, b) in enumerate(zip(reg.coefs_, reg.intercepts_)):
        A = A @ c + b
        if i < 2:
            A = np.tanh(A)
    assert np.allclose(A.ravel(), reg.predict(X), rtol=1e-12, atol=1e-12)
    reg.partial_fit(X, y)                   # training moves the model's layers too
    assert np.array_equal(dense[0].W, reg.coefs_[0].T)


def test_normalize_puts_an_adapted_normalizer_first():
    X, y = blobs(k=2, m=200)
    X = X * 1000.0 + 5000.0
    clf = MLPClassifier(hidden_layer_sizes=(8,), normalize=True, max_iter=100,
                        learning_rate_init=0.01, random_state=0).fit(X, y)
    norm = clf.model_.layers[0]
    assert isinstance(norm, Normalizer)
    assert np.allclose(norm.mean.ravel(), X.mean(axis=0), rtol=1e-5)
    assert clf.score(X, y) > 0.95
    assert [c.shape for c in clf.coefs_] == [(2, 8), (8, 1)]
    w = np.where(y == 1, 3.0, 1.0)
    weighted = MLPClassifier(hidden_layer_sizes=(8,), normalize=True, max_iter=1,
                             random_state=0).fit(X, y, sample_weight=w)
    assert np.allclose(weighted.model_.layers[0].mean.ravel(),
                       np.average(X, axis=0, weights=w))


@pytest.mark.parametrize("init", ["auto", "he_uniform", {"name": "random_normal", "stddev": 0.1}])
def test_fastdnn_initializers(init):
    X, y = blobs(m=60)
    clf = MLPClassifier(hidden_layer_sizes=(32,), kernel_initializer=init, max_iter=1,
                        learning_rate_init=1e-9, random_state=0).fit(X, y)
    assert all(np.abs(b).max() < 1e-6 for b in clf.intercepts_)    # zero biases
    same = MLPClassifier(hidden_layer_sizes=(32,), kernel_initializer=init, max_iter=1,
                         learning_rate_init=1e-9, random_state=0).fit(X, y)
    assert np.array_equal(clf.coefs_[0], same.coefs_[0])
    if init == "auto":              # He normal for the ReLU layer: Var = 2 / fan_in
        assert 0.5 < clf.coefs_[0].var() / (2 / 2) < 2


def test_leaky_relu_hidden_activation():
    X, y = smooth()
    reg = MLPRegressor(hidden_layer_sizes=(32,), activation="leaky_relu", solver="lbfgs",
                       max_iter=300, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.95
    Z = X @ reg.coefs_[0] + reg.intercepts_[0]
    A = np.where(Z >= 0, Z, 0.01 * Z)
    assert np.allclose(A @ reg.coefs_[1] + reg.intercepts_[1], reg.predict(X)[:, None])


def test_verbose_prints_sklearns_lines(capsys):
    X, y = smooth(m=40)
    MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Iteration 1, loss = ") and len(out) == 2


def test_digits_accuracy():
    X, y, name = _datasets.load("digits")
    assert name.startswith("scikit-learn")
    Xtr, Xte, ytr, yte = _datasets.train_test_split(X, y, test_size=0.25, seed=0)
    clf = MLPClassifier(hidden_layer_sizes=(128,), max_iter=50, random_state=0,
                        normalize=True).fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.95


def test_feature_names_in_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = blobs(m=60)
    frame = pd.DataFrame(X, columns=["width", "height"])
    clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["width", "height"]
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        assert np.array_equal(clf.predict(frame), clf.predict(X))
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(pd.DataFrame(X, columns=["w", "h"]))


def test_zero_weight_batches_are_skipped_and_activation_changes_take_effect():
    X, y = smooth(m=40)
    w = np.r_[np.ones(10), np.zeros(30)]
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", batch_size=10, shuffle=False,
                       max_iter=3, random_state=0).fit(X, y, sample_weight=w)
    assert np.isfinite(reg.loss_curve_).all() and reg.t_ == 120
    before = reg.predict(X)
    reg.set_params(activation="tanh")               # as scikit-learn: predict uses it at once
    Z = np.tanh(X @ reg.coefs_[0] + reg.intercepts_[0]) @ reg.coefs_[1] + reg.intercepts_[1]
    assert np.allclose(reg.predict(X), Z.ravel()) and not np.allclose(reg.predict(X), before)


def test_early_stopping_falls_back_to_sklearns_split_when_a_class_is_too_rare():
    X, y = blobs(k=3, m=60)
    y[0] = 7                                          # a class with one example
    clf = MLPClassifier(hidden_layer_sizes=(4,), early_stopping=True, max_iter=3,
                        random_state=0).fit(X, y)
    sk = SkClassifier(hidden_layer_sizes=(4,), early_stopping=True, max_iter=3,
                      random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == 3
    assert clf.validation_scores_ == pytest.approx(sk.validation_scores_)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_very_sparse_X_trains_as_dense(fmt, solver, dtype, monkeypatch):
    """Below 5 % density the first layer's products run sparse, on the mini-batch's rows
    read in place from the CSR arrays (adam, whose epochs train transposed weights) or
    gathered (sgd): the same training as on the dense array, to rounding."""
    from fastdnn._kernels import _sparse

    calls = []
    real = _sparse.csr_forward
    monkeypatch.setattr(_sparse, "csr_forward", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(5)
    Xs = sp.random(300, 400, density=0.02, random_state=5, format="csr")
    y = (Xs @ rng.standard_normal(400) > 0).astype(int)
    X = Xs.toarray().astype(dtype)
    Xs = sp.csr_matrix(X).asformat(fmt)
    kw = dict(hidden_layer_sizes=(16,), solver=solver, max_iter=8, random_state=0,
              batch_size=32)
    dense = MLPClassifier(**kw).fit(X, y)
    sparse = MLPClassifier(**kw).fit(Xs, y)
    assert bool(calls) == (solver == "adam")
    assert sparse.coefs_[0].dtype == dtype
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
    for a, b in zip(sparse.coefs_, dense.coefs_):
        np.testing.assert_allclose(a, b, **tol)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, **tol)
    np.testing.assert_allclose(sparse.predict_proba(Xs), dense.predict_proba(X), **tol)


def test_a_malformed_sparse_X_is_refused_not_read_out_of_bounds():
    """A CSR matrix whose stored column indices point past its width (built by hand) is
    refused with a ValueError before any kernel reads through it."""
    rng = np.random.default_rng(6)
    X = sp.random(60, 300, density=0.01, random_state=6, format="csr")
    y = rng.integers(0, 2, 60)
    X.indices[3] = 10**6
    with pytest.raises(ValueError):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)
