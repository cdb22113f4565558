"""The losses' compiled sums (one definition, _kernels/_loss.pxd) against reference.py,
their readable NumPy twin, in the three places that use them: fastdnn.losses, the compiled
training loop and the course API."""
import numpy as np
import pytest

from fastdnn import course, losses, reference
from fastdnn._compiled import CODES
from fastdnn._kernels import _losses
from fastdnn.layers import Dense, Input
from fastdnn.models import Sequential

NAMES = ["binary_crossentropy", "categorical_crossentropy", "mse"]


def pair(name, dtype, n=4, m=37, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.02, 0.98, size=(n, m)).astype(dtype)
    if name == "binary_crossentropy":
        Y = rng.uniform(0, 1, size=(n, m)).round(1)          # soft and 0/1 labels
    elif name == "categorical_crossentropy":
        A /= A.sum(axis=0)
        Y = np.eye(n)[rng.integers(0, n, size=m)].T
    else:
        Y = rng.normal(size=(n, m))
    return A, Y.astype(dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_cost_equals_the_reference(name, dtype):
    A, Y = pair(name, dtype)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    want = reference.COSTS[name](A.astype(np.float64), Y.astype(np.float64))
    np.testing.assert_allclose(losses.get(name).cost(A, Y), want, rtol=rtol)
    np.testing.assert_allclose(losses.get(name).cost(np.asfortranarray(A), Y), want, rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clipping_keeps_cross_entropies_finite_and_is_the_documented_range(dtype):
    lo, hi = losses._clip_bounds(np.dtype(dtype))
    fi = np.finfo(dtype)
    assert lo == fi.tiny and hi == dtype(1) - fi.epsneg
    A = np.array([[0.0, 1.0, 0.0, 1.0]], dtype)
    Y = np.array([[1.0, 0.0, 0.0, 1.0]], dtype)
    got = losses.BinaryCrossentropy().cost(A, Y)
    clipped = np.clip(A.astype(np.float64), float(lo), float(hi))
    np.testing.assert_allclose(got, reference.COSTS["binary_crossentropy"](clipped, Y), rtol=1e-12)
    assert np.isfinite(got)


def test_nan_propagates_in_every_loss():
    for name in NAMES:
        A, Y = pair(name, np.float64)
        A[1, 3] = np.nan
        assert np.isnan(losses.get(name).cost(A, Y)), name


def test_course_cost_is_the_unclipped_formula():
    AL = np.array([[0.0, 1.0, 0.3]])
    Y = np.array([[0.0, 1.0, 1.0]])
    assert np.isnan(course.compute_cost(AL, Y))            # 0 log 0, as the course's NumPy
    A, Y = pair("binary_crossentropy", np.float64, n=1)
    np.testing.assert_allclose(course.compute_cost(A, Y),
                               reference.COSTS["binary_crossentropy"](A, Y), rtol=1e-13)


@pytest.mark.parametrize("name, output", [("binary_crossentropy", "sigmoid"),
                                          ("categorical_crossentropy", "softmax"),
                                          ("mse", "linear")])
def test_compiled_loop_reports_the_same_cost(name, output):
    """One full batch of GD with a tiny rate: the first batch loss is the loss of the
    initial weights, which fastdnn.losses computes from predict's output."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    n_out = 1 if name == "binary_crossentropy" else 3
    y = (rng.integers(0, 2, 50) if n_out == 1 else rng.integers(0, 3, 50)) \
        if name != "mse" else rng.normal(size=(50, 3))
    model = Sequential([Input(3), Dense(n_out, activation=output)], dtype="float64", seed=0)
    model.compile("sgd", name)
    model.build()
    loss = model.loss
    want = loss.cost(model.predict(X).T, model._check_y(y, 50).T)
    h = model.fit(X, y, epochs=1, batch_size=50, shuffle=False, verbose=0, engine="compiled")
    np.testing.assert_allclose(h.batch_loss[0], want, rtol=1e-13)


def test_cost_sum_rejects_mismatched_arrays():
    code = CODES["loss"]["mse"]
    with pytest.raises(ValueError, match="one size"):
        _losses.cost_sum(code, np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(TypeError, match="float32 or float64"):
        _losses.cost_sum(code, np.zeros((2, 3), np.int64), np.zeros((2, 3)))


def test_misaligned_arrays_are_read_through_a_copy():
    A, Y = pair("mse", np.float64)
    buf = np.zeros(A.nbytes + 1, np.uint8)
    B = np.frombuffer(buf.data, dtype=np.float64, count=A.size, offset=1).reshape(A.shape)
    B[...] = A
    assert not B.flags.aligned
    assert losses.get("mse").cost(B, Y) == losses.get("mse").cost(A, Y)
