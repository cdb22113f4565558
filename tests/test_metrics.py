"""Tests of the metrics: values, accumulation over mini-batches, NaN, registry."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fastdnn import losses, metrics

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = [np.float32, np.float64]
CLASSES = {"accuracy": metrics.Accuracy, "binary_accuracy": metrics.BinaryAccuracy,
           "categorical_accuracy": metrics.CategoricalAccuracy,
           "mae": metrics.MeanAbsoluteError, "mse": metrics.MeanSquaredError}


def binary_case(m=101, seed=0, dtype=np.float64, n_L=1):
    rng = np.random.default_rng(seed)
    return (rng.random((n_L, m)).astype(dtype),
            rng.integers(0, 2, size=(n_L, m)).astype(dtype))


def categorical_case(n_L=4, m=101, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.random((n_L, m))
    A /= A.sum(axis=0)
    return A.astype(dtype), np.eye(n_L)[rng.integers(0, n_L, size=m)].T.astype(dtype)


def regression_case(n_L=2, m=101, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_L, m)).astype(dtype), rng.normal(size=(n_L, m)).astype(dtype)


CASES = {"accuracy": categorical_case, "binary_accuracy": lambda **k: binary_case(n_L=3, **k),
         "categorical_accuracy": categorical_case, "mae": regression_case,
         "mse": regression_case}


# ------------------------------------------------------------ values

@pytest.mark.parametrize("dtype", DTYPES)
def test_accuracy_one_output_thresholds_at_half(dtype):
    A, Y = binary_case(dtype=dtype)
    expected = np.mean((A[0] > 0.5) == (Y[0] == 1))
    assert metrics.Accuracy()(A, Y) == pytest.approx(expected, rel=1e-15)
    A = np.array([[0.5, 0.50001, 0.49999, 0.5]], dtype)
    assert metrics.Accuracy()(A, np.array([[0, 1, 0, 1]], dtype)) == 0.75  # 0.5 is negative


@pytest.mark.parametrize("dtype", DTYPES)
def test_accuracy_several_outputs_uses_argmax(dtype):
    A, Y = categorical_case(dtype=dtype)
    expected = np.mean(A.argmax(axis=0) == Y.argmax(axis=0))
    assert metrics.Accuracy()(A, Y) == pytest.approx(expected, rel=1e-15)
    assert metrics.CategoricalAccuracy()(A, Y) == metrics.Accuracy()(A, Y)


def test_binary_accuracy_is_element_wise_with_its_threshold():
    A, Y = binary_case(n_L=3)
    assert metrics.BinaryAccuracy()(A, Y) == pytest.approx(np.mean((A > 0.5) == (Y > 0.5)))
    assert metrics.BinaryAccuracy(0.8)(A, Y) == pytest.approx(np.mean((A > 0.8) == (Y > 0.5)))
    assert metrics.Accuracy(threshold=0.8)(A[:1], Y[:1]) == pytest.approx(
        np.mean((A[0] > 0.8) == (Y[0] > 0.5)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_metrics(dtype):
    A, Y = regression_case(dtype=dtype)
    d = A.astype(np.float64) - Y.astype(np.float64)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert metrics.MeanAbsoluteError()(A, Y) == pytest.approx(np.mean(np.abs(d)), rel=rtol)
    assert metrics.MeanSquaredError()(A, Y) == pytest.approx(np.mean(d ** 2), rel=rtol)


def test_mse_metric_is_twice_the_mse_loss_per_unit():
    A, Y = regression_case(n_L=3)
    assert metrics.get("mse")(A, Y) == pytest.approx(losses.get("mse").cost(A, Y) * 2 / 3)


def test_integer_and_bool_targets():
    A = np.array([[0.9, 0.1, 0.8]])
    assert metrics.Accuracy()(A, np.array([[1, 0, 0]])) == pytest.approx(2 / 3)
    assert metrics.Accuracy()(A, np.array([[True, False, True]])) == 1.0


# ------------------------------------------------------------ accumulation

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_batches_accumulate_to_the_metric_on_the_whole(name, dtype):
    A, Y = CASES[name](dtype=dtype)
    metric = metrics.get(name)
    for lo, hi in [(0, 32), (32, 64), (64, 96), (96, 101)]:  # last batch smaller
        metric.update_state(A[:, lo:hi], Y[:, lo:hi])
    whole = metric(A, Y)
    assert metric.result() == pytest.approx(whole, rel=1e-12)
    metric.reset_state()
    assert math.isnan(metric.result())
    metric.update_state(A, Y)
    assert metric.result() == pytest.approx(whole, rel=1e-15)


def test_call_leaves_the_state_alone():
    acc = metrics.get("accuracy")
    acc.update_state(np.array([[0.9]]), np.array([[1.0]]))
    assert acc(np.array([[0.9]]), np.array([[0.0]])) == 0.0
    assert acc.result() == 1.0


def test_accuracy_counts_examples_not_units():
    acc = metrics.Accuracy()
    A, Y = categorical_case(n_L=5, m=10)
    acc.update_state(A, Y)
    assert acc.count == 10


# ------------------------------------------------------------ NaN

@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_predictions_are_never_correct(dtype):
    A = np.array([[np.nan, np.nan, 0.9]], dtype)
    assert metrics.Accuracy()(A, np.array([[0, 1, 1]], dtype)) == pytest.approx(1 / 3)
    A = np.array([[np.nan, 0.9], [0.1, 0.1]], dtype)
    assert metrics.Accuracy()(A, np.array([[1, 1], [0, 0]], dtype)) == 0.5
    assert metrics.BinaryAccuracy()(A, np.array([[0, 1], [0, 0]], dtype)) == 0.75
    assert math.isnan(metrics.MeanAbsoluteError()(A, np.zeros((2, 2), dtype)))
    assert math.isnan(metrics.MeanSquaredError()(A, np.zeros((2, 2), dtype)))


# ------------------------------------------------------------ checks and registry

@pytest.mark.parametrize("name", sorted(CLASSES))
def test_argument_checks(name):
    metric = metrics.get(name)
    A, Y = CASES[name]()
    with pytest.raises(ValueError, match=r"Y has shape .* but A has shape"):
        metric.update_state(A, Y[:, :-1])
    with pytest.raises(ValueError, match="A must be 2-D"):
        metric(A[0], Y[0])
    with pytest.raises(TypeError, match="A must be a float32 or float64 array, got dtype int64"):
        metric.update_state(A.astype(np.int64), Y)
    with pytest.raises(TypeError, match="Y must hold real numbers"):
        metric(A, Y.astype(str))
    assert metric.count == 0


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_get_by_name_and_config_round_trip(name):
    metric = metrics.get(name)
    assert type(metric) is CLASSES[name] and metric.name == name
    config = metric.get_config()
    assert json.loads(json.dumps(config)) == config
    assert type(metrics.get(config)) is CLASSES[name]
    assert CLASSES[name].from_config(config).get_config() == config
    assert metrics.get({"class_name": CLASSES[name].__name__, "config": {}}).name == name
    assert metrics.get(CLASSES[name]).name == name
    assert metrics.get(metric) is metric
    serialized = json.loads(json.dumps(metrics.serialize(metric)))
    assert serialized["class_name"] == CLASSES[name].__name__
    assert metrics.get(serialized).get_config() == config


def test_serialize_keeps_the_threshold():
    assert metrics.get(metrics.serialize(metrics.BinaryAccuracy(0.25))).threshold == 0.25
    with pytest.raises(TypeError, match="Metric"):
        metrics.serialize("accuracy")


def test_get_returns_a_fresh_state_for_names():
    a = metrics.get("acc")
    a.update_state(np.array([[0.9]]), np.array([[1.0]]))
    assert metrics.get("acc").count == 0


@pytest.mark.parametrize("alias, name", [("acc", "accuracy"), ("ACCURACY", "accuracy"),
                                         ("mean_absolute_error", "mae"),
                                         ("mean_squared_error", "mse"),
                                         ("CategoricalAccuracy", "categorical_accuracy")])
def test_aliases(alias, name):
    assert metrics.get(alias).name == name


def test_unknown_name_and_bad_identifiers():
    with pytest.raises(ValueError, match="unknown metric 'f1'.*accuracy.*mae.*mse"):
        metrics.get("f1")
    with pytest.raises(TypeError):
        metrics.get(None)
    with pytest.raises(ValueError, match="bad config"):
        metrics.get({"name": "mae", "threshold": 0.5})
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        metrics.Accuracy(threshold=float("nan"))
    with pytest.raises(TypeError, match="threshold"):
        metrics.BinaryAccuracy(threshold="0.5")
