"""Tests of the input Normalizer (lecture item 8): statistics, chunked fit, memmap, errors."""
from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from fastdnn.preprocessing import Normalizer, NotFittedError

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = [np.float32, np.float64]


def data(m=1000, n=5, seed=0, dtype=np.float64, offset=100.0):
    rng = np.random.default_rng(seed)
    X = offset + rng.normal(size=(m, n)) * np.arange(1, n + 1)
    return X.astype(dtype)


# ------------------------------------------------------------ statistics

@pytest.mark.parametrize("chunk_rows", [1, 7, 1000, 65536])
def test_chunked_fit_equals_numpy_mean_and_var(chunk_rows):
    X = data(m=3001 if chunk_rows > 1 else 200, n=6)
    norm = Normalizer(chunk_rows=chunk_rows).fit(X)
    np.testing.assert_allclose(norm.mean_, np.mean(X, axis=0), rtol=1e-12)
    np.testing.assert_allclose(norm.variance_, np.var(X, axis=0), rtol=1e-12)
    assert norm.n_features_in_ == 6
    assert norm.mean_.dtype == norm.variance_.dtype == np.float64


def test_default_chunks_on_more_rows_than_one_chunk():
    X = data(m=70_000, n=3, seed=1, offset=1e4)  # > 65536 rows, a large offset
    norm = Normalizer().fit(X)
    np.testing.assert_allclose(norm.mean_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(norm.variance_, X.var(axis=0), rtol=1e-12)


def test_lecture_formula():
    """mu = (1/m) sum x; x := x - mu; sigma^2 = (1/m) sum x^2; x := x / sigma."""
    X = data(m=50, n=3, seed=2)
    mu = X.sum(axis=0) / 50
    Xc = X - mu
    sigma2 = (Xc ** 2).sum(axis=0) / 50
    norm = Normalizer(epsilon=0.0).fit(X)
    np.testing.assert_allclose(norm.mean_, mu, rtol=1e-13)
    np.testing.assert_allclose(norm.variance_, sigma2, rtol=1e-12)
    np.testing.assert_allclose(norm.transform(X), Xc / np.sqrt(sigma2), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_float32_data_statistics_in_float64(dtype):
    X = data(m=2000, n=4, seed=3, dtype=dtype)
    norm = Normalizer(chunk_rows=300).fit(X)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(norm.mean_, X64.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(norm.variance_, X64.var(axis=0), rtol=1e-10)


# ------------------------------------------------------------ transform

@pytest.mark.parametrize("dtype", DTYPES)
def test_training_statistics_applied_unchanged_to_test_data(dtype):
    X_train = data(m=500, n=4, seed=4, dtype=dtype)
    X_test = data(m=80, n=4, seed=5, dtype=dtype, offset=103.0)  # shifted test set
    norm = Normalizer().fit(X_train)
    Z_train, Z_test = norm.transform(X_train), norm.transform(X_test)
    assert Z_train.dtype == Z_test.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(Z_train.mean(axis=0), 0, atol=tol)
    # std is sqrt(var / (var + epsilon)): 1 within epsilon / (2 var) <= 5e-8 here
    np.testing.assert_allclose(Z_train.std(axis=0), 1, rtol=1e-4 if dtype == np.float32 else 1e-7)
    expected = (X_test.astype(np.float64) - X_train.astype(np.float64).mean(axis=0)) / np.sqrt(
        X_train.astype(np.float64).var(axis=0) + 1e-7)
    np.testing.assert_allclose(Z_test, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)
    assert Z_test.mean() > 0.5  # the test set's own mean was not subtracted
    # fitting did not change: transform is a pure function of the learned statistics
    np.testing.assert_array_equal(norm.transform(X_test), Z_test)


def test_output_is_c_contiguous_for_any_input_order():
    X = data(m=20, n=3)
    norm = Normalizer().fit(X)
    for X_ in (np.asfortranarray(X), X[::2], X[:, ::-1][:, ::-1]):
        Z = norm.transform(X_)
        assert Z.flags.c_contiguous and Z.T.flags.f_contiguous
        np.testing.assert_array_equal(Z, norm.transform(np.ascontiguousarray(X_)))


@pytest.mark.parametrize("int_dtype", [np.int32, np.int64, np.uint8, bool])
def test_integer_and_bool_data_give_float64(int_dtype):
    X = (np.arange(12).reshape(6, 2) % 3).astype(int_dtype)
    norm = Normalizer().fit(X)
    Z = norm.fit_transform(X)
    assert Z.dtype == np.float64
    np.testing.assert_allclose(norm.mean_, X.astype(np.float64).mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(Z, (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0) + 1e-7),
                               rtol=1e-12)


def test_fit_transform_equals_fit_then_transform():
    X = data(m=30, n=2)
    np.testing.assert_array_equal(Normalizer().fit_transform(X), Normalizer().fit(X).transform(X))


def test_constant_feature_maps_to_zero_not_nan():
    X = np.column_stack([np.full(10, 3.0), np.arange(10.0)])
    Z = Normalizer().fit_transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_array_equal(Z[:, 0], 0.0)
    Z = Normalizer(epsilon=0.0).fit_transform(X)  # scale 1 for the constant feature
    np.testing.assert_array_equal(Z[:, 0], 0.0)
    np.testing.assert_allclose(Z[:, 1].std(), 1.0, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_inverse_transform_round_trip(dtype):
    X = data(m=40, n=3, dtype=dtype)
    norm = Normalizer().fit(X)
    back = norm.inverse_transform(norm.transform(X))
    assert back.dtype == dtype
    np.testing.assert_allclose(back, X, rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_nan_passes_through_transform():
    norm = Normalizer().fit(data(m=10, n=2))
    X = data(m=3, n=2)
    X[1, 0] = np.nan
    Z = norm.transform(X)
    assert np.isnan(Z[1, 0]) and np.isfinite(np.delete(Z.ravel(), 2)).all()


def test_refit_replaces_the_statistics():
    norm = Normalizer().fit(data(m=10, n=2, offset=0.0))
    norm.fit(data(m=10, n=3, offset=50.0))
    assert norm.n_features_in_ == 3 and norm.mean_.mean() > 40


# ------------------------------------------------------------ memmap

@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_on_a_memmap(tmp_path, dtype):
    X = data(m=20_000, n=4, seed=6, dtype=dtype)
    mm = np.memmap(tmp_path / "X.dat", dtype=dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    mm = np.memmap(tmp_path / "X.dat", dtype=dtype, mode="r", shape=X.shape)
    norm = Normalizer(chunk_rows=3000).fit(mm)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(norm.mean_, X64.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(norm.variance_, X64.var(axis=0), rtol=1e-10)
    np.testing.assert_array_equal(norm.transform(mm[:5]), norm.transform(X[:5]))
    del mm


def test_fit_never_makes_a_full_size_temporary(tmp_path):
    m, n = 400_000, 8  # 12.8 MB of float32 on disk, 25.6 MB as float64
    mm = np.memmap(tmp_path / "big.dat", dtype=np.float32, mode="w+", shape=(m, n))
    mm[:] = np.float32(1.5)
    mm[::3] = np.float32(-2.0)
    mm.flush()
    mm = np.memmap(tmp_path / "big.dat", dtype=np.float32, mode="r", shape=(m, n))
    norm = Normalizer(chunk_rows=20_000)
    tracemalloc.start()  # NumPy reports its data buffers to tracemalloc
    try:
        norm.fit(mm)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 20_000 * n * 8  # a few chunk-sized buffers, nothing of size m
    expected_mean = (-2.0 * 133_334 + 1.5 * 266_666) / m
    np.testing.assert_allclose(norm.mean_, expected_mean, rtol=1e-12)
    del mm


# ------------------------------------------------------------ saving

def test_weights_and_config_round_trip():
    X = data(m=50, n=3)
    norm = Normalizer(epsilon=1e-5, chunk_rows=16).fit(X)
    weights = norm.get_weights()
    assert [w.shape for w in weights] == [(3,), (3,)]
    weights[0][0] = 1e9  # copies: the normalizer is unchanged
    assert norm.mean_[0] != 1e9
    config = norm.get_config()
    assert json.loads(json.dumps(config)) == config
    other = Normalizer.from_config(config)
    assert (other.epsilon, other.chunk_rows) == (1e-5, 16)
    other.set_weights(norm.get_weights())
    assert other.n_features_in_ == 3
    np.testing.assert_array_equal(other.transform(X), norm.transform(X))


@pytest.mark.parametrize("weights, exc, match", [
    ([np.zeros(2)], ValueError, r"list \[mean, variance\]"),
    (np.zeros((2, 2)), ValueError, r"list \[mean, variance\]"),
    ([np.zeros(2), np.ones(3)], ValueError, "mean has shape"),
    ([np.zeros((2, 1)), np.ones((2, 1))], ValueError, "1-D"),
    ([np.zeros(2), -np.ones(2)], ValueError, "variance must be >= 0"),
    ([np.array([0.0, np.nan]), np.ones(2)], ValueError, "mean must be finite"),
    ([np.array(["a"]), np.ones(1)], TypeError, "mean must hold real numbers"),
])
def test_set_weights_rejects(weights, exc, match):
    with pytest.raises(exc, match=match):
        Normalizer().set_weights(weights)


def test_from_config_rejects_foreign_configs():
    with pytest.raises(ValueError, match="not 'normalizer'"):
        Normalizer.from_config({"name": "mse"})
    with pytest.raises(ValueError, match="bad config"):
        Normalizer.from_config({"epsilon": 1e-7, "mean": 0})


# ------------------------------------------------------------ errors

@pytest.mark.parametrize("method", ["transform", "inverse_transform", "get_weights"])
def test_use_before_fit_raises_not_fitted(method):
    norm = Normalizer()
    args = () if method == "get_weights" else (np.zeros((2, 2)),)
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(norm, method)(*args)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not hasattr(norm, "mean_")


def test_wrong_feature_count():
    norm = Normalizer().fit(data(m=10, n=3))
    with pytest.raises(ValueError, match=r"X has 2 features .*n_features=3"):
        norm.transform(data(m=4, n=2))
    with pytest.raises(ValueError, match=r"n_features=3"):
        norm.inverse_transform(data(m=4, n=4))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_rejected_at_fit(bad):
    X = data(m=100, n=3)
    X[57, 2] = bad
    with pytest.raises(ValueError, match=r"X contains .* at row 57, feature 2"):
        Normalizer(chunk_rows=10).fit(X)


def test_overflow_rejected_at_fit():
    with pytest.raises(ValueError, match="overflow"):
        Normalizer().fit(np.array([[1e308], [1e308]]))
    with pytest.raises(ValueError, match="overflow"):
        Normalizer().fit(np.array([[1e200], [-1e200]]))


@pytest.mark.parametrize("X, exc, match", [
    (np.zeros(5), ValueError, r"2-D \(m, n_features\).*reshape\(-1, 1\)"),
    (np.zeros((2, 2, 2)), ValueError, "2-D"),
    (np.zeros((0, 3)), ValueError, "at least one example"),
    (np.zeros((3, 0)), ValueError, "at least one example and one feature"),
    (np.array([["a", "b"]]), TypeError, "real numbers"),
    (np.array([[1j]]), TypeError, "real numbers"),
])
def test_bad_X_at_fit(X, exc, match):
    with pytest.raises(exc, match=match):
        Normalizer().fit(X)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"epsilon": -1e-7}, ValueError, "epsilon"), ({"epsilon": float("nan")}, ValueError, "epsilon"),
    ({"epsilon": "1e-7"}, TypeError, "epsilon"), ({"chunk_rows": 0}, ValueError, "chunk_rows"),
    ({"chunk_rows": 1.5}, TypeError, "chunk_rows"),
])
def test_bad_constructor_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Normalizer(**kwargs)
