"""fastdnn.sklearn: scikit-learn's estimator API on Sequential."""
import subprocess
import sys

import numpy as np
import pytest

from fastdnn import _datasets
from fastdnn.layers import Dense, Normalizer
from fastdnn.models import Sequential
from fastdnn.preprocessing import NotFittedError
from fastdnn.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.usefixtures("one_blas_thread")

ESTIMATORS = [MLPClassifier, MLPRegressor]
DEFAULTS = dict(hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=0.0001,
                batch_size="auto", learning_rate_init=0.001, max_iter=200, shuffle=True,
                random_state=None, tol=1e-4, early_stopping=False, validation_fraction=0.1,
                n_iter_no_change=10, beta_1=0.9, beta_2=0.999, epsilon=1e-8, momentum=0.9,
                normalize=False, verbose=False, dtype="float32")


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


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_get_params_defaults_and_set_params_round_trip(cls):
    est = cls()
    assert est.get_params() == DEFAULTS
    assert est.get_params(deep=False) == DEFAULTS
    new = dict(hidden_layer_sizes=(7, 3), alpha=0.5, solver="sgd", random_state=4)
    assert est.set_params(**new) is est
    assert est.get_params() == {**DEFAULTS, **new}
    assert cls(**est.get_params()).get_params() == est.get_params()
    with pytest.raises(ValueError, match="not_a_param"):
        est.set_params(not_a_param=1)
    assert "hidden_layer_sizes=(7, 3)" in repr(est) and "max_iter" not in repr(est)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_sklearn_clone_and_tools(cls):
    sk_base = pytest.importorskip("sklearn.base")
    from sklearn.model_selection import cross_val_score

    est = cls(hidden_layer_sizes=(8,), max_iter=5, random_state=1)
    X, y = blobs() if cls is MLPClassifier else smooth()
    est.fit(X, y)
    twin = sk_base.clone(est)
    assert type(twin) is cls and twin.get_params() == est.get_params()
    assert not hasattr(twin, "model_") and not hasattr(twin, "coefs_")
    assert sk_base.is_classifier(est) == (cls is MLPClassifier)
    assert sk_base.is_regressor(est) == (cls is MLPRegressor)
    scores = cross_val_score(cls(hidden_layer_sizes=(8,), max_iter=3, random_state=0), X, y,
                             cv=2)
    assert scores.shape == (2,)


BAD_PARAMS = [
    ("hidden_layer_sizes", (0,)), ("hidden_layer_sizes", "100"), ("activation", "softmax"),
    ("solver", "lbfgs"), ("alpha", -1.0), ("batch_size", 0), ("batch_size", "all"),
    ("learning_rate_init", 0.0), ("max_iter", 0), ("max_iter", 2.5), ("shuffle", "yes"),
    ("random_state", "seed"), ("tol", -1e-3), ("tol", float("nan")),
    ("validation_fraction", 1.0), ("n_iter_no_change", 0), ("beta_1", 1.0),
    ("beta_2", -0.1), ("epsilon", 0.0), ("momentum", 1.0), ("normalize", None),
    ("dtype", "int32"), ("verbose", -1),
]


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("name, value", BAD_PARAMS)
def test_bad_parameters_raise_in_fit_naming_the_parameter(cls, name, value):
    est = cls(**{name: value})          # __init__ only stores, like scikit-learn
    assert est.get_params()[name] is value
    X, y = blobs(m=20)
    with pytest.raises(ValueError, match=name):
        est.fit(X, y)


def test_lbfgs_message_says_unsupported():
    with pytest.raises(ValueError, match="lbfgs"):
        MLPClassifier(solver="lbfgs").fit(*blobs(m=20))


# ------------------------------------------------------------------ before fit, bad data
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_not_fitted_errors(cls):
    est = cls()
    X = np.zeros((3, 2))
    for call in (est.predict, lambda X: est.score(X, [0, 1, 0])):
        with pytest.raises(NotFittedError, match="not fitted"):
            call(X)
    if cls is MLPClassifier:
        with pytest.raises(NotFittedError):
            est.predict_proba(X)
    with pytest.raises(NotFittedError):
        est.coefs_
    assert not hasattr(est, "intercepts_") and not hasattr(est, "n_iter_")


def test_bad_data():
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    X, y = blobs(m=30)
    with pytest.raises(ValueError, match="2 classes.*one class"):
        clf.fit(X, np.zeros(30))
    with pytest.raises(ValueError, match="1-D"):
        clf.fit(X, np.zeros((30, 2)))
    with pytest.raises(ValueError, match="inconsistent"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="2-D"):
        clf.fit(X[:, 0], y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="3 features.*expecting 2"):
        clf.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((4, 2), np.inf))
    with pytest.raises(ValueError, match="NaN"):
        MLPRegressor(max_iter=1).fit(np.full((4, 2), np.nan), np.zeros(4))
    with pytest.raises(ValueError, match="continuous"):
        clf.fit(X, np.linspace(0, 1, 30))
    with pytest.raises(ValueError, match="y is None"):
        MLPRegressor().fit(X, None)
    with pytest.raises(ValueError, match="0 sample"):
        MLPRegressor().fit(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match="Complex"):
        MLPRegressor().fit(X + 1j, np.zeros(30))
    assert clf.fit(X.astype(object), y).predict(X[:2].astype(object)).shape == (2,)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        clf.fit(scipy_sparse.csr_matrix(X), y)


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
    assert P.shape == (300, 2) and np.allclose(P.sum(axis=1), 1.0, atol=1e-6)
    assert np.array_equal(pred, clf.classes_[np.argmax(P, axis=1)])
    assert clf.score(X, y) > 0.95
    assert clf.n_features_in_ == 2 and clf.n_layers_ == 3 and clf.n_outputs_ == 1
    assert np.allclose(np.exp(clf.predict_log_proba(X[:5])), P[:5])
    # a column vector of labels is accepted like scikit-learn's (ravelled)
    assert clf.fit(X, y.reshape(-1, 1)).predict(X[:3]).shape == (3,)


def test_multiclass_accuracy_and_arbitrary_labels():
    X, y = blobs(k=4, m=400, labels=[40, 10, 30, 20])
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=40, learning_rate_init=0.01,
                        random_state=0).fit(X, y)
    assert clf.classes_.tolist() == [10, 20, 30, 40]
    assert clf.model_.n_outputs == 4 and clf.out_activation_ == "softmax"
    P = clf.predict_proba(X)
    assert P.shape == (400, 4) and P.dtype == np.float32
    assert np.allclose(P.sum(axis=1), 1.0, atol=1e-5)
    assert set(np.unique(clf.predict(X))) <= {10, 20, 30, 40}
    assert clf.score(X, y) > 0.95
    assert len(clf.loss_curve_) == clf.n_iter_ and clf.loss_ == clf.loss_curve_[-1]
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


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
    reg2 = MLPRegressor(hidden_layer_sizes=(16,), max_iter=3, random_state=0).fit(X, Y2)
    assert reg2.predict(X).shape == (400, 2) and reg2.n_outputs_ == 2
    assert np.isfinite(reg2.score(X, Y2))


def test_score_is_r2():
    X, y = smooth(m=50)
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    pred = reg.predict(X).astype(np.float64)
    expected = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert reg.score(X, y) == pytest.approx(expected, rel=1e-12)
    try:
        from sklearn.metrics import r2_score
    except ImportError:
        return
    w = np.linspace(0.5, 2.0, 50)
    assert reg.score(X, y, sample_weight=w) == pytest.approx(
        r2_score(y, pred, sample_weight=w), rel=1e-10)


# ------------------------------------------------------------------ mapping onto fastdnn
def test_alpha_shrinks_weights():
    X, y = blobs(k=3, m=200)
    kw = dict(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01, random_state=0)
    free = MLPClassifier(alpha=0.0, **kw).fit(X, y)
    ridge = MLPClassifier(alpha=5.0, **kw).fit(X, y)
    norm = lambda est: sum(float((W.astype(np.float64) ** 2).sum()) for W in est.coefs_)
    assert norm(ridge) < 0.8 * norm(free)
    assert all(l.kernel_regularizer.lam == 5.0 for l in ridge.model_.layers)
    assert all(l.kernel_regularizer is None for l in free.model_.layers)


def test_coefs_orientation():
    X, y = smooth(m=60)
    reg = MLPRegressor(hidden_layer_sizes=(5, 3), activation="tanh", max_iter=2,
                       random_state=0, dtype="float64").fit(X, y)
    dense = [l for l in reg.model_.layers if isinstance(l, Dense)]
    assert [c.shape for c in reg.coefs_] == [(2, 5), (5, 3), (3, 1)]
    assert [b.shape for b in reg.intercepts_] == [(5,), (3,), (1,)]
    for c, b, layer in zip(reg.coefs_, reg.intercepts_, dense):
        assert c.dtype == np.float64
        assert np.array_equal(c, layer.W.T) and np.array_equal(b, layer.b.ravel())
    reg.coefs_[0][...] = 0.0                       # copies: the model is untouched
    assert np.any(dense[0].W != 0)
    # scikit-learn's forward pass with coefs_ / intercepts_ reproduces predict
    A = X
    for i, (c, b) in enumerate(zip(reg.coefs_, reg.intercepts_)):
        A = A @ c + b
        if i < 2:
            A = np.tanh(A)
    assert np.allclose(A.ravel(), reg.predict(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_sgd_momentum_is_sklearn_heavy_ball(alpha):
    """EWA momentum with lr / (1 - mu) == v = mu v - lr g; W += v (and L2 = alpha/m W)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    lr, mu, epochs = 0.05, 0.8, 4
    reg = MLPRegressor(hidden_layer_sizes=(), solver="sgd", momentum=mu, alpha=alpha,
                       learning_rate_init=lr, batch_size=40, max_iter=epochs, tol=0.0,
                       shuffle=False, random_state=3, dtype="float64").fit(X, y)
    start = Sequential([Dense(1, activation="linear")], dtype="float64", seed=3)
    start.build(3)
    W, b = start.layers[0].W.T.copy(), start.layers[0].b.ravel().copy()
    vW, vb, m = np.zeros_like(W), np.zeros_like(b), len(X)
    losses = []
    for _ in range(epochs):
        err = X @ W + b - y[:, None]
        losses.append((err ** 2).sum() / (2 * m) + alpha / (2 * m) * (W ** 2).sum())
        vW = mu * vW - lr * (X.T @ err / m + alpha / m * W)
        vb = mu * vb - lr * err.mean(axis=0)
        W, b = W + vW, b + vb
    assert np.allclose(reg.coefs_[0], W, rtol=1e-10, atol=1e-12)
    assert np.allclose(reg.intercepts_[0], b, rtol=1e-10, atol=1e-12)
    assert np.allclose(reg.loss_curve_, losses, rtol=1e-10)


def test_solver_mapping():
    X, y = blobs(m=40)
    opt = lambda **kw: MLPClassifier(max_iter=1, random_state=0, **kw).fit(X, y).model_.optimizer
    adam = opt(beta_1=0.8, beta_2=0.99, epsilon=1e-6, learning_rate_init=0.02)
    assert type(adam).__name__ == "Adam" and (adam.beta1, adam.beta2, adam.epsilon) == \
        (0.8, 0.99, 1e-6)
    assert type(opt(solver="sgd", momentum=0.0)).__name__ == "GD"
    mom = opt(solver="sgd", momentum=0.5, learning_rate_init=0.1)
    assert type(mom).__name__ == "Momentum" and mom.beta == 0.5


def test_tol_and_n_iter_no_change_stop_like_sklearn():
    X, y = blobs(m=60)
    # nothing beats the first epoch by 1e9: stop after n_iter_no_change + 1 more epochs
    clf = MLPClassifier(hidden_layer_sizes=(4,), tol=1e9, n_iter_no_change=3, max_iter=50,
                        random_state=0).fit(X, y)
    assert clf.n_iter_ == 5 and clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None


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
    assert all(s <= 0 for s in reg.validation_scores_)     # minus the validation loss


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


def test_dtype_float64():
    X, y = blobs(m=40)
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0,
                        dtype="float64").fit(X, y)
    assert clf.predict_proba(X).dtype == np.float64 and clf.coefs_[0].dtype == np.float64


def test_works_without_sklearn():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import numpy as np\n"
            "from fastdnn.sklearn import MLPClassifier\n"
            "X = np.array([[0.0], [1.0]] * 10)\n"
            "clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0)\n"
            "print(clf.fit(X, ['a', 'b'] * 10).predict(X[:2]).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(2,)"


def test_digits_accuracy():
    pytest.importorskip("sklearn")
    X, y, name = _datasets.load("digits")
    assert name.startswith("scikit-learn")
    Xtr, Xte, ytr, yte = _datasets.train_test_split(X, y, test_size=0.25, seed=0)
    clf = MLPClassifier(hidden_layer_sizes=(128,), max_iter=50, random_state=0,
                        normalize=True).fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.95


def test_pickle_and_deepcopy_after_use():
    import copy
    import pickle

    X, y = blobs(m=60)
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, random_state=0).fit(X, y)
    P = clf.predict_proba(X)                 # builds the model's compiled caches
    for twin in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf)):
        assert np.array_equal(twin.predict_proba(X), P)
        assert twin.loss_curve_ == clf.loss_curve_ and twin.get_params() == clf.get_params()
    assert np.array_equal(clf.predict_proba(X), P)      # the original still works
