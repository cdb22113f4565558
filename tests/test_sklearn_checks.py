"""scikit-learn's estimator checks over both estimators and several parameter settings.

Every check passes except those an estimator lists in ``_expected_failed_checks()`` (with
the reason), which run marked xfail.
"""
import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastdnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_blas_thread"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]

SETTINGS = [
    dict(max_iter=50),                                        # adam, scikit-learn's default
    dict(solver="sgd", max_iter=50),
    dict(solver="lbfgs", max_iter=50),
    # fastdnn's extras
    dict(solver="rmsprop", normalize=True, activation="leaky_relu", max_iter=50),
    dict(dtype="float32", kernel_initializer="auto", max_iter=50),
]
ESTIMATORS = [cls(**kw) for kw in SETTINGS for cls in (MLPClassifier, MLPRegressor)]


@parametrize_with_checks(ESTIMATORS,
                         expected_failed_checks=lambda est: est._expected_failed_checks())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
