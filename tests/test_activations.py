"""Tests of the activation objects and their registry, ``fastdnn.activations.get``."""
from __future__ import annotations

import numpy as np
import pytest

from fastdnn import activations
from fastdnn import functional as F

pytestmark = pytest.mark.filterwarnings("error")

ELEMENTWISE = {
    "sigmoid": (F.sigmoid, F.sigmoid_derivative, F.sigmoid_backward),
    "tanh": (F.tanh, F.tanh_derivative, F.tanh_backward),
    "relu": (F.relu, F.relu_derivative, F.relu_backward),
    "leaky_relu": (F.leaky_relu, F.leaky_relu_derivative, F.leaky_relu_backward),
    "linear": (F.linear, F.linear_derivative, F.linear_backward),
}
CLASSES = {
    "sigmoid": activations.Sigmoid, "tanh": activations.Tanh, "relu": activations.ReLU,
    "leaky_relu": activations.LeakyReLU, "linear": activations.Linear,
    "softmax": activations.Softmax,
    "elu": activations.ELU, "selu": activations.SELU, "gelu": activations.GELU,
    "gelu_tanh": activations.GELUTanh, "silu": activations.SiLU,
    "softplus": activations.Softplus, "softsign": activations.Softsign,
    "hard_sigmoid": activations.HardSigmoid, "mish": activations.Mish,
}


def data(shape=(4, 6), seed=0, lo=-3.0, hi=3.0, dtype=np.float64):
    z = np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(dtype)
    z.reshape(-1)[::5] = 0.0
    return z


def test_names_are_the_registered_activations():
    assert activations.names() == sorted(CLASSES)


@pytest.mark.parametrize("name", activations.names())
def test_get_by_name(name):
    act = activations.get(name)
    assert isinstance(act, activations.Activation)
    assert isinstance(act, CLASSES[name])
    assert act.name == name
    assert callable(act.forward) and callable(act.derivative) and callable(act.backward)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_methods_agree_with_functional(name, dtype):
    forward, derivative, backward = ELEMENTWISE[name]
    act = activations.get(name)
    z, dA = data(dtype=dtype), data(seed=1, dtype=dtype)
    a = forward(z)
    np.testing.assert_array_equal(act.forward(z), a)
    np.testing.assert_array_equal(act(z), a)
    np.testing.assert_array_equal(act.derivative(z), derivative(z))
    np.testing.assert_array_equal(act.derivative(a, from_output=True),
                                  derivative(a, from_output=True))
    np.testing.assert_array_equal(act.backward(dA, a), backward(dA, a))
    assert act.forward(z).dtype == dtype


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_methods_forward_out(name):
    forward, derivative, backward = ELEMENTWISE[name]
    act = activations.get(name)
    z, dA = data(), data(seed=1)
    a = forward(z)
    for method, args, want in [(act.forward, (z,), a),
                               (act.derivative, (a, True), derivative(a, from_output=True)),
                               (act.backward, (dA, a), backward(dA, a))]:
        out = np.empty_like(z)
        assert method(*args, out=out) is out
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("axis", [0, 1, None])
def test_softmax_object_agrees_with_functional(axis):
    act = activations.get({"name": "softmax", "axis": axis})
    z, dA = data(), data(seed=1)
    a = F.softmax(z, axis=axis)
    np.testing.assert_array_equal(act.forward(z), a)
    np.testing.assert_array_equal(act.backward(dA, a), F.softmax_backward(dA, a, axis=axis))


def test_softmax_default_axis_is_columns():
    z = data()
    np.testing.assert_allclose(activations.get("softmax")(z).sum(axis=0), np.ones(6), rtol=1e-13)


@pytest.mark.parametrize("from_output", [False, True])
def test_softmax_has_no_elementwise_derivative(from_output):
    with pytest.raises(NotImplementedError):
        activations.get("softmax").derivative(data(), from_output=from_output)


@pytest.mark.parametrize("spelling, name", [("ReLU", "relu"), ("SIGMOID", "sigmoid"),
                                            ("Tanh", "tanh"), ("Leaky_ReLU", "leaky_relu"),
                                            ("LINEAR", "linear"), ("SoftMax", "softmax")])
def test_names_are_case_insensitive(spelling, name):
    assert activations.get(spelling).name == name
    assert activations.get(spelling) == activations.get(name)


def test_none_is_linear():
    act = activations.get(None)
    assert isinstance(act, activations.Linear) and act.name == "linear"
    z = data()
    np.testing.assert_array_equal(act.forward(z), z)


@pytest.mark.parametrize("act", [activations.ReLU(), activations.LeakyReLU(0.3),
                                 activations.Softmax(axis=1)], ids=repr)
def test_instance_is_returned_as_is(act):
    assert activations.get(act) is act


def test_leaky_relu_config_sets_alpha():
    act = activations.get({"name": "leaky_relu", "alpha": 0.2})
    assert act.alpha == 0.2
    z = np.array([-10.0, -1.0, 0.0, 3.0])
    np.testing.assert_array_equal(act.forward(z), [-2.0, -0.2, 0.0, 3.0])
    np.testing.assert_array_equal(act.derivative(z), [0.2, 0.2, 1.0, 1.0])
    np.testing.assert_array_equal(act.backward(np.full(4, 2.0), act.forward(z)),
                                  [0.4, 0.4, 2.0, 2.0])


def test_leaky_relu_default_alpha():
    act = activations.get("leaky_relu")
    assert act.alpha == 0.01
    np.testing.assert_array_equal(act.forward(np.array([-100.0])), [-1.0])


@pytest.mark.parametrize("act", [activations.get(n) for n in activations.names()]
                         + [activations.LeakyReLU(0.25), activations.Softmax(axis=None),
                            activations.Softmax(axis=-1)], ids=repr)
def test_config_round_trip(act):
    config = act.get_config()
    assert config["name"] == act.name
    again = activations.get(config)
    assert again == act and type(again) is type(act)
    assert again.get_config() == config
    assert hash(again) == hash(act)


def test_equality_depends_on_config():
    assert activations.LeakyReLU(0.1) != activations.LeakyReLU(0.2)
    assert activations.Softmax(0) != activations.Softmax(1)
    assert activations.ReLU() != activations.Linear()
    assert activations.ReLU() != "relu"


@pytest.mark.parametrize("name", ["swishy", "", "relu6"])
def test_unknown_name_lists_known_names(name):
    with pytest.raises(ValueError, match="relu") as info:
        activations.get(name)
    for known in activations.names():
        assert known in str(info.value)


@pytest.mark.parametrize("config", [{"name": "bent_identity"}, {"alpha": 0.1}, {"name": 3},
                                    {"name": "relu", "alpha": 0.1}], ids=str)
def test_bad_config(config):
    with pytest.raises(ValueError):
        activations.get(config)


@pytest.mark.parametrize("identifier", [3, 1.5, ["relu"], activations.ReLU], ids=repr)
def test_get_rejects_other_types(identifier):
    with pytest.raises(TypeError):
        activations.get(identifier)


@pytest.mark.parametrize("alpha, error", [(-1, ValueError), (-0.01, ValueError),
                                          (float("nan"), ValueError), (float("inf"), ValueError),
                                          ("0.1", TypeError)], ids=str)
def test_leaky_relu_alpha_validation(alpha, error):
    with pytest.raises(error, match="alpha"):
        activations.LeakyReLU(alpha)
    with pytest.raises(ValueError, match="alpha"):  # get() reports any bad config as ValueError
        activations.get({"name": "leaky_relu", "alpha": alpha})


def test_softmax_axis_validation():
    with pytest.raises(TypeError, match="axis"):
        activations.Softmax(axis=1.5)
    with pytest.raises(np.exceptions.AxisError):
        activations.Softmax(axis=2).forward(data())
