"""Tests of the losses: textbook formulas, gradients, the fused dZ = A - Y, targets, registry."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from fastdnn import losses

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-6, np.float64: 1e-12}
LOSSES = {"binary_crossentropy": losses.BinaryCrossentropy,
          "categorical_crossentropy": losses.CategoricalCrossentropy,
          "mse": losses.MeanSquaredError}


# ------------------------------------------------------------ textbook formulas (plain NumPy)

def bce_ref(A, Y):
    A, Y = A.astype(np.float64), Y.astype(np.float64)
    return np.mean(np.sum(-(Y * np.log(A) + (1 - Y) * np.log(1 - A)), axis=0))


def cce_ref(A, Y):
    A, Y = A.astype(np.float64), Y.astype(np.float64)
    return np.mean(-np.sum(Y * np.log(A), axis=0))


def mse_ref(A, Y):
    A, Y = A.astype(np.float64), Y.astype(np.float64)
    return np.mean(0.5 * np.sum((A - Y) ** 2, axis=0))


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def softmax(Z):
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def case(name, n_L=3, m=7, seed=0, dtype=np.float64):
    """(A, Y) in the lecture layout (n_L, m) for the loss, A away from the clip bounds."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n_L, m))
    if name == "binary_crossentropy":
        A, Y = sigmoid(Z), rng.integers(0, 2, size=(n_L, m)).astype(float)
        Y[0, :2] = [0.3, 0.8]  # soft labels too
    elif name == "categorical_crossentropy":
        A, Y = softmax(Z), np.eye(n_L)[rng.integers(0, n_L, size=m)].T
        Y[:, 0] = 1.0 / n_L  # a probability column
    else:
        A, Y = Z, rng.normal(size=(n_L, m))
    return A.astype(dtype), Y.astype(dtype)


REFS = {"binary_crossentropy": bce_ref, "categorical_crossentropy": cce_ref, "mse": mse_ref}


# ------------------------------------------------------------ cost

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_cost_matches_the_textbook_formula(name, dtype):
    A, Y = case(name, dtype=dtype)
    J = losses.get(name).cost(A, Y)
    assert isinstance(J, float)
    assert J == pytest.approx(REFS[name](A, Y), rel=RTOL[dtype])


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_cost_of_one_output_unit(name):
    A, Y = case(name, n_L=1 if name != "categorical_crossentropy" else 2, m=50, seed=3)
    assert losses.get(name).cost(A, Y) == pytest.approx(REFS[name](A, Y), rel=1e-12)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_memory_order_and_views_do_not_matter(name):
    A, Y = case(name, m=9)
    loss = losses.get(name)
    J = loss.cost(A, Y)
    assert loss.cost(np.asfortranarray(A), np.asfortranarray(Y)) == pytest.approx(J, rel=1e-14)
    # (m, n_L) C-ordered batches seen through .T, and strided views
    assert loss.cost(np.ascontiguousarray(A.T).T, Y.T.copy().T) == pytest.approx(J, rel=1e-14)
    A2, Y2 = np.repeat(A, 2, axis=1), np.repeat(Y, 2, axis=1)
    assert loss.cost(A2[:, ::2], Y2[:, ::2]) == pytest.approx(J, rel=1e-14)
    np.testing.assert_allclose(loss.gradient(np.asfortranarray(A), Y), loss.gradient(A, Y),
                               rtol=1e-15)


def test_mse_is_half_the_squared_error():
    A = np.array([[1.0, 2.0, 3.0]])
    Y = np.zeros((1, 3))
    assert losses.get("mse").cost(A, Y) == pytest.approx(np.mean(A ** 2) / 2, rel=1e-15)


def test_y_of_another_dtype_is_cast_to_the_dtype_of_A():
    A, Y = case("binary_crossentropy", dtype=np.float32)
    loss = losses.get("binary_crossentropy")
    assert loss.cost(A, Y.astype(np.float64)) == loss.cost(A, Y)
    assert loss.gradient(A, Y.astype(np.float64)).dtype == np.float32
    Yi = (Y > 0.5).astype(np.int64)
    assert loss.cost(A, Yi) == loss.cost(A, Yi.astype(np.float32))


# ------------------------------------------------------------ gradient

def fd_gradient(f, X, h):
    G = np.empty_like(X)
    for idx in np.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[idx] += h
        Xm[idx] -= h
        G[idx] = (f(Xp) - f(Xm)) / (2 * h)
    return G


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_is_m_times_the_finite_difference_of_the_cost(name):
    A, Y = case(name, n_L=3, m=5, seed=1)
    loss = losses.get(name)
    dA = loss.gradient(A, Y)
    assert dA.shape == A.shape and dA.dtype == A.dtype
    G = fd_gradient(lambda A_: loss.cost(A_, Y), A, 1e-6)
    np.testing.assert_allclose(dA, A.shape[1] * G, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_matches_the_textbook_formula(name, dtype):
    A, Y = case(name, dtype=dtype)
    expected = {"binary_crossentropy": -(Y / A - (1 - Y) / (1 - A)),
                "categorical_crossentropy": -Y / A,
                "mse": A - Y}[name]
    dA = losses.get(name).gradient(A, Y)
    assert dA.dtype == dtype
    np.testing.assert_allclose(dA, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-13)


# ------------------------------------------------------------ fused output activation

FUSED = {"binary_crossentropy": ("sigmoid", sigmoid),
         "categorical_crossentropy": ("softmax", softmax),
         "mse": ("linear", lambda Z: Z.copy())}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_fused_activation_gives_dZ_equal_A_minus_Y(name):
    act_name, g = FUSED[name]
    loss = losses.get(name)
    assert loss.fused_activation == act_name
    rng = np.random.default_rng(2)
    n_L, m = 4, 6
    Z = rng.normal(size=(n_L, m))
    _, Y = case(name, n_L=n_L, m=m, seed=5)
    # dL/dZ per example = m * dJ/dZ, through the activation, by central differences
    dZ = m * fd_gradient(lambda Z_: loss.cost(g(Z_), Y), Z, 1e-6)
    np.testing.assert_allclose(dZ, g(Z) - Y, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_chain_rule_from_the_gradient(dtype):
    A, Y = case("binary_crossentropy", dtype=dtype)
    dZ = losses.get("binary_crossentropy").gradient(A, Y) * A * (1 - A)
    np.testing.assert_allclose(dZ, A - Y, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-14)


def test_fused_activations_are_known_activations():
    from fastdnn import activations

    for name in LOSSES:
        assert activations.get(losses.get(name).fused_activation).name == FUSED[name][0]


# ------------------------------------------------------------ stability, NaN

@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_saturated_predictions(dtype):
    bce = losses.get("binary_crossentropy")
    A = np.array([[0.0, 1.0]], dtype)
    assert 0 <= bce.cost(A, np.array([[0.0, 1.0]])) < 1e-6  # right and sure: ~0
    wrong = bce.cost(A, np.array([[1.0, 0.0]]))  # wrong and sure: large, finite
    fi = np.finfo(dtype)
    assert np.isfinite(wrong)
    assert wrong == pytest.approx((-np.log(fi.tiny.astype(np.float64))
                                   - np.log(float(fi.epsneg))) / 2, rel=1e-6)
    dA = bce.gradient(A, np.array([[1.0, 0.0]]))
    assert np.isfinite(dA).all() and dA[0, 0] < 0 < dA[0, 1]
    assert np.isfinite(bce.gradient(A, np.array([[0.0, 1.0]]))).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_cce_saturated_predictions(dtype):
    cce = losses.get("categorical_crossentropy")
    A = np.array([[1.0, 0.0], [0.0, 1.0]], dtype)
    assert cce.cost(A, np.eye(2)) == 0.0
    wrong = cce.cost(A, np.eye(2)[::-1])
    assert np.isfinite(wrong) and wrong > 80
    assert np.isfinite(cce.gradient(A, np.eye(2)[::-1])).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_of_range_predictions_are_clipped_without_warnings(dtype):
    A = np.array([[-0.5, 1.5, -np.inf, np.inf]], dtype)
    Y = np.array([[0.0, 1.0, 0.0, 1.0]])
    bce = losses.get("binary_crossentropy")
    assert 0 <= bce.cost(A, Y) < 1e-6
    assert np.isfinite(bce.gradient(A, Y)).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_nan_propagates_without_warnings(name, dtype):
    A, Y = case(name, dtype=dtype)
    A[1, 2] = np.nan
    loss = losses.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(loss.cost(A, Y))
        dA = loss.gradient(A, Y)
    assert np.isnan(dA[1, 2])
    mask = np.ones(A.shape, bool)
    mask[1, 2] = False
    assert np.isfinite(dA[mask]).all()


# ------------------------------------------------------------ prepare_targets

def check_prepared(Y, shape, dtype):
    assert Y.shape == shape and Y.dtype == dtype
    assert Y.flags.c_contiguous and Y.T.flags.f_contiguous


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("y", [[1, 0, 1, 1], np.array([True, False, True, True]),
                               np.array([[1.0], [0.0], [1.0], [1.0]]),
                               np.array([1, 0, 1, 1], np.uint8)])
def test_bce_targets_one_output(y, dtype):
    Y = losses.get("binary_crossentropy").prepare_targets(y, 1, dtype)
    check_prepared(Y, (4, 1), dtype)
    np.testing.assert_array_equal(Y[:, 0], [1, 0, 1, 1])


def test_bce_targets_several_outputs_and_soft_labels():
    y = np.array([[0.0, 1.0, 0.2], [1.0, 1.0, 0.9]])
    Y = losses.get("binary_crossentropy").prepare_targets(y, 3, np.float64)
    check_prepared(Y, (2, 3), np.float64)
    np.testing.assert_array_equal(Y, y)


@pytest.mark.parametrize("y, n, match", [
    (np.zeros(4), 2, r"y has shape \(4,\).*n_outputs=2.*\(m, 2\)"),
    (np.zeros((4, 3)), 2, r"y has shape \(4, 3\); expected \(m, 2\)"),
    (np.array([0, 1, 2]), 1, r"\[0, 1\].*\[0, 2\]"),
    (np.array([-1.0, 0.5]), 1, r"\[0, 1\]"),
    (np.array([0.0, np.nan]), 1, "y contains NaN"),
    (np.array([0.0, np.inf]), 1, "y contains inf"),
    (np.zeros((2, 1, 1)), 1, r"shape \(m,\) or \(m, 1\)"),
    (np.zeros(0), 1, "at least one example"),
    (0.0, 1, r"shape \(m,\) or \(m, 1\)"),
])
def test_bce_targets_rejected(y, n, match):
    with pytest.raises(ValueError, match=match):
        losses.get("binary_crossentropy").prepare_targets(y, n, np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("y", [np.array([2, 0, 1, 2]), [2, 0, 1, 2], np.array([[2], [0], [1], [2]]),
                               np.array([2.0, 0.0, 1.0, 2.0]), np.array([2, 0, 1, 2], np.uint8)])
def test_cce_integer_labels_become_one_hot(y, dtype):
    Y = losses.get("sparse_categorical_crossentropy").prepare_targets(y, 3, dtype)
    check_prepared(Y, (4, 3), dtype)
    np.testing.assert_array_equal(Y, np.eye(3)[[2, 0, 1, 2]])


def test_cce_one_hot_and_probability_rows_pass_through():
    y = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
    Y = losses.get("categorical_crossentropy").prepare_targets(y, 3, np.float64)
    check_prepared(Y, (2, 3), np.float64)
    np.testing.assert_array_equal(Y, y)


@pytest.mark.parametrize("y, n, match", [
    (np.array([0, 3]), 3, r"\[0, 3\).*from 0 to 3"),
    (np.array([-1, 1]), 3, r"\[0, 3\).*from -1 to 1"),
    (np.array([0.0, 1.5]), 3, "integers"),
    (np.array([[1.0, 1.0, 0.0]]), 3, "sum to 1.*row 0 sums to 2"),
    (np.array([[0.0, 0.0, 0.0], [0, 0, 1]]), 3, "row 0 sums to 0"),
    (np.array([[0.0, 1.0]]), 3, r"y has shape \(1, 2\).*\(m, 3\)"),
    (np.array([[1.5, -0.5, 0.0]]), 3, r"\[0, 1\]"),
    (np.array([0.0, np.nan]), 3, "NaN"),
])
def test_cce_targets_rejected(y, n, match):
    with pytest.raises(ValueError, match=match):
        losses.get("categorical_crossentropy").prepare_targets(y, n, np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_targets(dtype):
    mse = losses.get("mse")
    Y = mse.prepare_targets(np.array([1.5, -2.0, 3.0]), 1, dtype)
    check_prepared(Y, (3, 1), dtype)
    Y = mse.prepare_targets(np.asfortranarray([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), 2, dtype)
    check_prepared(Y, (3, 2), dtype)
    np.testing.assert_array_equal(Y, [[1, 2], [3, 4], [5, 6]])


@pytest.mark.parametrize("y, n, match", [
    (np.zeros(3), 2, r"y has shape \(3,\).*n_outputs=2.*\(m, 2\)"),
    (np.zeros((3, 1)), 2, r"y has shape \(3, 1\); expected \(m, 2\)"),
    (np.array([1.0, np.nan]), 1, "NaN"),
])
def test_mse_targets_rejected(y, n, match):
    with pytest.raises(ValueError, match=match):
        losses.get("mse").prepare_targets(y, n, np.float64)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_prepare_targets_argument_types(name):
    loss = losses.get(name)
    with pytest.raises(TypeError, match="y must hold real numbers"):
        loss.prepare_targets(np.array(["a", "b"]), 1, np.float32)
    with pytest.raises(TypeError, match="y must hold real numbers"):
        loss.prepare_targets(np.array([1j, 0]), 1, np.float32)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        loss.prepare_targets([0, 1], 1, np.int64)
    with pytest.raises(ValueError, match="n_outputs must be >= 1"):
        loss.prepare_targets([0, 1], 0, np.float32)
    with pytest.raises(TypeError, match="n_outputs must be an int"):
        loss.prepare_targets([0, 1], 1.0, np.float32)


# ------------------------------------------------------------ user layout

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_call_in_user_layout_equals_cost(name, dtype):
    A, Y = case(name, dtype=dtype)
    loss = losses.get(name)
    assert loss(Y.T, A.T) == loss.cost(A, Y)


def test_call_with_labels_and_1d_predictions():
    p = np.array([0.9, 0.2, 0.6])
    assert losses.binary_crossentropy([1, 0, 1], p) == pytest.approx(
        bce_ref(p[None], np.array([[1.0, 0.0, 1.0]])), rel=1e-12)
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert losses.categorical_crossentropy([0, 2], P) == pytest.approx(
        -(np.log(0.7) + np.log(0.8)) / 2, rel=1e-12)
    assert losses.get("sparse_categorical_crossentropy")(np.array([[0], [2]]), P) == \
        losses.categorical_crossentropy([0, 2], P)
    assert losses.mse([1.0, 2.0], [2.0, 4.0]) == pytest.approx((1 + 4) / 2 / 2, rel=1e-15)


def test_call_errors_name_the_arguments():
    bce = losses.get("binary_crossentropy")
    with pytest.raises(ValueError, match="y_true has 2 examples but y_pred has 3"):
        bce([1, 0], [0.5, 0.5, 0.5])
    with pytest.raises(TypeError, match="y_pred must be a float32 or float64 array"):
        bce([1, 0], np.array([1, 0]))
    with pytest.raises(ValueError, match="y_true contains NaN"):
        bce([1, np.nan], [0.5, 0.5])
    with pytest.raises(ValueError, match="y_pred must have shape"):
        bce([1, 0], np.zeros((2, 1, 1)))


# ------------------------------------------------------------ argument checks of cost

@pytest.mark.parametrize("name", sorted(LOSSES))
def test_cost_and_gradient_argument_checks(name):
    loss = losses.get(name)
    A, Y = case(name)
    for method in (loss.cost, loss.gradient):
        with pytest.raises(ValueError, match=r"Y has shape \(7, 3\) but A has shape \(3, 7\)"):
            method(A, Y.T)
        with pytest.raises(TypeError, match="A must be a float32 or float64 array, got dtype int"):
            method(A.astype(np.int64), Y)
        with pytest.raises(ValueError, match="A must be 2-D"):
            method(A[0], Y[0])
        with pytest.raises(ValueError, match="at least one example"):
            method(A[:, :0], Y[:, :0])
        with pytest.raises(TypeError, match="Y must hold real numbers"):
            method(A, Y.astype(complex))


# ------------------------------------------------------------ registry

@pytest.mark.parametrize("name", sorted(LOSSES))
def test_get_by_name_and_config_round_trip(name):
    loss = losses.get(name)
    assert type(loss) is LOSSES[name] and loss.name == name
    config = loss.get_config()
    assert json.loads(json.dumps(config)) == config
    assert losses.get(config) == loss
    assert LOSSES[name].from_config(config) == loss
    assert losses.get({"class_name": LOSSES[name].__name__, "config": {}}) == loss
    assert losses.get(LOSSES[name]) == loss
    assert losses.get(loss) is loss
    assert losses.serialize(loss) == {"class_name": LOSSES[name].__name__,
                                      "config": {k: v for k, v in config.items() if k != "name"}}
    assert losses.get(json.loads(json.dumps(losses.serialize(loss)))) == loss


def test_serialize_rejects_non_losses():
    with pytest.raises(TypeError, match="Loss"):
        losses.serialize("mse")


@pytest.mark.parametrize("alias, cls", [
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ("SparseCategoricalCrossentropy", losses.SparseCategoricalCrossentropy),
    ("mean_squared_error", losses.MeanSquaredError), ("MSE", losses.MeanSquaredError),
    ("BinaryCrossentropy", losses.BinaryCrossentropy),
    (losses.mse, losses.MeanSquaredError),
    (losses.binary_crossentropy, losses.BinaryCrossentropy),
    (losses.categorical_crossentropy, losses.CategoricalCrossentropy),
])
def test_aliases(alias, cls):
    assert type(losses.get(alias)) is cls


def test_names_are_all_accepted():
    for name in losses.names():
        losses.get(name)


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="unknown loss 'kld'.*binary_crossentropy.*mse"):
        losses.get("kld")


@pytest.mark.parametrize("bad, exc", [
    (None, TypeError), (3, TypeError), ([1], TypeError), (np.mean, TypeError),
    ({"reduction": "sum"}, ValueError), ({"name": "mse", "reduction": "sum"}, ValueError),
])
def test_get_rejects(bad, exc):
    with pytest.raises(exc):
        losses.get(bad)
