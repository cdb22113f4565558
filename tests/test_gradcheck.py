"""fastdnn.gradient_check on small networks with right and wrong gradients."""
import numpy as np
import pytest

import fastdnn
from fastdnn import course


@pytest.fixture
def net():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 9))
    Y = (rng.uniform(size=(1, 9)) > 0.5).astype(float)
    params = course.initialize_parameters_deep([4, 5, 3, 1], seed=2)

    def cost(p):
        AL, _ = course.L_model_forward(X, p)
        return float(course.compute_cost(AL, Y))

    AL, caches = course.L_model_forward(X, params)
    return cost, params, course.L_model_backward(AL, Y, caches)


def test_correct_gradients_pass(net):
    cost, params, grads = net
    assert fastdnn.gradient_check(cost, params, grads) < 1e-7


def test_a_wrong_gradient_is_caught(net):
    cost, params, grads = net
    grads = dict(grads, dW2=grads["dW2"] * 1.1)
    assert fastdnn.gradient_check(cost, params, grads) > 1e-3


def test_parameters_are_not_modified(net):
    cost, params, grads = net
    before = {k: v.copy() for k, v in params.items()}
    fastdnn.gradient_check(cost, params, grads)
    for k in params:
        assert np.array_equal(params[k], before[k])


def test_max_checks_samples_entries(net):
    cost, params, grads = net
    calls = []

    def counting(p):
        calls.append(1)
        return cost(p)

    assert fastdnn.gradient_check(counting, params, grads, max_checks=2) < 1e-7
    assert len(calls) == 2 * sum(min(2, v.size) for v in params.values())


def test_gradient_keys_without_d_prefix():
    params = {"w": np.array([3.0])}
    assert fastdnn.gradient_check(lambda p: float(p["w"][0] ** 3), params, {"w": [27.0]}) < 1e-7


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(epsilon=0), ValueError, "epsilon"),
    (dict(max_checks=0), ValueError, "max_checks"),
])
def test_bad_arguments(net, kwargs, exc, match):
    cost, params, grads = net
    with pytest.raises(exc, match=match):
        fastdnn.gradient_check(cost, params, grads, **kwargs)


def test_float32_parameters_are_refused(net):
    cost, params, grads = net
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    with pytest.raises(TypeError, match="float64"):
        fastdnn.gradient_check(cost, p32, grads)


def test_missing_and_misshaped_gradients(net):
    cost, params, grads = net
    with pytest.raises(ValueError, match="dW1"):
        fastdnn.gradient_check(cost, params, {k: v for k, v in grads.items() if k != "dW1"})
    with pytest.raises(ValueError, match="shape"):
        fastdnn.gradient_check(cost, params, dict(grads, db1=np.zeros(3)))
    with pytest.raises(TypeError, match="callable"):
        fastdnn.gradient_check(None, params, grads)
