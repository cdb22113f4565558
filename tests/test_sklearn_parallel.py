"""fastdnn.sklearn across processes: pickling, joblib's process pool and dask.distributed."""
import copy
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from fastdnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_blas_thread"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]

GRID = {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-2]}


def _data():
    return make_classification(n_samples=120, n_features=6, random_state=0)


def _search(n_jobs=None):
    return GridSearchCV(MLPClassifier(solver="lbfgs", max_iter=50, random_state=0), GRID, cv=2,
                        n_jobs=n_jobs)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_pickle_is_small_fast_and_exact(solver):
    X, y = _data()
    clf = MLPClassifier(hidden_layer_sizes=(32,), solver=solver, max_iter=5,
                        random_state=0).fit(X, y)
    n_param_bytes = sum(a.nbytes for a in clf.coefs_ + clf.intercepts_)
    before = pickle.dumps(clf)
    P = clf.predict_proba(X)             # builds the compiled forward plan and its buffers
    _ = clf.model_
    after = pickle.dumps(clf)
    assert len(after) == len(before)     # no plans, workspaces or flat buffers in the pickle
    # the weights once, plus the optimizer's state (Adam: m and v; SGD: the velocity)
    slots = {"adam": 2, "sgd": 1, "lbfgs": 0}[solver]
    assert len(after) < (1 + slots) * n_param_bytes + 12_000
    for twin in (pickle.loads(after), copy.deepcopy(clf)):
        assert np.array_equal(twin.predict_proba(X), P)
        assert twin.get_params() == clf.get_params()
    assert np.array_equal(clf.predict_proba(X), P)      # the original still works


def test_unpickled_estimator_continues_training_like_the_original():
    X, y = _data()
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", random_state=0)
    clf.partial_fit(X, y, classes=[0, 1])
    twin = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X, y)
    twin.partial_fit(X, y)
    assert np.array_equal(twin.coefs_[0], clf.coefs_[0])
    assert twin.loss_curve_ == clf.loss_curve_


def test_grid_search_with_joblib_processes():
    X, y = _data()
    serial = _search().fit(X, y)
    parallel = _search(n_jobs=2).fit(X, y)
    assert parallel.best_params_ == serial.best_params_
    assert np.allclose(parallel.cv_results_["mean_test_score"],
                       serial.cv_results_["mean_test_score"])
    assert parallel.best_estimator_.score(X, y) == serial.best_estimator_.score(X, y)


def test_grid_search_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    import joblib

    X, y = _data()
    serial = _search().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # dask's own deprecation and port notices
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           dashboard_address=None)
        client = distributed.Client(cluster)
    try:
        with joblib.parallel_backend("dask"):
            search = GridSearchCV(MLPRegressor(solver="lbfgs", max_iter=50, random_state=0),
                                  GRID, cv=2, n_jobs=-1)
            search.fit(X, y.astype(float))
            on_dask = _search(n_jobs=-1).fit(X, y)
        # the fits ran in the workers' processes: they loaded the estimators
        loaded = client.run(lambda: "fastdnn.sklearn._classifier" in __import__("sys").modules)
        assert len(loaded) == 2 and any(loaded.values())
    finally:
        client.close()
        cluster.close()
    assert np.isfinite(search.best_score_)
    assert on_dask.best_params_ == serial.best_params_
    assert np.allclose(on_dask.cv_results_["mean_test_score"],
                       serial.cv_results_["mean_test_score"])
