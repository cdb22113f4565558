"""The compiled loop's unit-split step (one hidden layer, a narrow output) against its
unsplit step.

A step of such a network cuts the hidden layer's units into pieces (2 of 128 or 160
units, 4 of 256) that run on their own threads: each piece's activations and its share
of the output's product, then (one thread) the output, its cost and dZ, then each
piece's dA, dZ, dW and db and the optimizer's step on its own weights.
Split or not, and on one thread or several, training must give the same weights, losses
and metrics: to rounding against the unsplit step, bit for bit across thread counts.
"""
import numpy as np
import pytest

from fastdnn._kernels import _network
from fastdnn.layers import Dense, Input, Normalizer
from fastdnn.losses import CategoricalCrossentropy, Huber
from fastdnn.models import Sequential
from fastdnn.optimizers import GD, SGD, Adam, AdamW, RMSprop
from fastdnn.regularizers import L2
from split_fit import fit_case, make_data

pytestmark = pytest.mark.usefixtures("one_blas_thread")

RTOL = {np.float32: 2e-5, np.float64: 1e-12}
N_X = 48


def _net(units, act, n_out, output, use_bias=True, l2=0.0, normalize=False):
    layers = [Input(N_X)]
    if normalize:           # gathered rows are standardized on the way in
        norm = Normalizer()
        norm.adapt(np.random.default_rng(2).normal(1.0, 3.0, size=(64, N_X)))
        layers.append(norm)
    reg = L2(l2) if l2 else None
    layers.append(Dense(units, activation=act, kernel_regularizer=reg))
    layers.append(Dense(n_out, activation=output, use_bias=use_bias, kernel_regularizer=reg))
    return layers


# name: (layers, loss, optimizer, metrics, sample weights, fit options)
CASES = {
    "softmax adam": (lambda: _net(128, "relu", 4, "softmax"), "categorical_crossentropy",
                     lambda: Adam(0.01), ["accuracy"], False, {}),
    "sigmoid gd weighted": (lambda: _net(128, "tanh", 1, "sigmoid"), "binary_crossentropy",
                            lambda: GD(0.1), ["binary_accuracy"], True, {}),
    # a hidden layer whose backward takes its input (on_z) and an output that does too
    "gelu, gelu output, momentum clipvalue": (
        lambda: _net(128, "gelu", 3, "gelu"), "mse",
        lambda: SGD(0.02, momentum=0.9, clipvalue=0.05), ["mae"], False, {}),
    # RMSprop's first steps are about lr * sign(g): with its default epsilon, a float32
    # gradient near 0, whose rounding differs between the products, moves a weight by up
    # to lr either way (6e-5 after 2 steps here); a larger epsilon keeps such steps small
    "smoothed rmsprop": (lambda: _net(128, "sigmoid", 4, "softmax"),
                         CategoricalCrossentropy(label_smoothing=0.1),
                         lambda: RMSprop(0.005, epsilon=1e-3), ["accuracy"], False, {}),
    # 160 units: pieces of 80 (float32: 80, cut at 16) and 80
    "nesterov l2, no output bias": (
        lambda: _net(160, "relu", 4, "softmax", use_bias=False, l2=1e-3),
        "categorical_crossentropy", lambda: SGD(0.05, momentum=0.9, nesterov=True),
        ["accuracy"], False, {}),
    "huber adamw l2, unshuffled": (lambda: _net(128, "leaky_relu", 3, "linear", l2=1e-3),
                                   Huber(0.5), lambda: AdamW(0.01), ["mse"], False,
                                   {"shuffle": False}),
    "normalizer, weighted": (lambda: _net(128, "relu", 1, "sigmoid", normalize=True),
                             "binary_crossentropy", lambda: Adam(0.01), ["accuracy"], True,
                             {}),
    # 256 units: 4 pieces, which 3 threads share unevenly
    "four pieces": (lambda: _net(256, "relu", 4, "softmax"), "categorical_crossentropy",
                    lambda: Adam(0.005), ["accuracy"], False, {}),
}


def _data(loss, n_out, m=512, dtype=np.float64):
    return make_data(loss, n_out, N_X, m, dtype)


def _fit(case, dtype, threads, monkeypatch, split=True, epochs=3, case_table=CASES):
    return fit_case(case_table[case], N_X, dtype, None if split else 0, threads, monkeypatch,
                    epochs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_unit_step_trains_as_the_unsplit_one(case, dtype, monkeypatch):
    unsplit = _fit(case, dtype, 2, monkeypatch, split=False)
    split = _fit(case, dtype, 2, monkeypatch)
    assert unsplit[3].steps_split_by_units == unsplit[3].steps_split_by_columns == 0
    assert split[3].steps_split_by_units == 6     # 3 epochs of 2 batches of 256, every one
    assert split[3].steps_split_by_columns == 0
    for a, b in zip(unsplit[0], split[0]):
        np.testing.assert_allclose(b, a, rtol=RTOL[dtype], atol=RTOL[dtype])
    np.testing.assert_allclose(split[1], unsplit[1], rtol=RTOL[dtype])
    for key, values in unsplit[2].items():
        np.testing.assert_allclose(split[2][key], values, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("case", ["softmax adam", "sigmoid gd weighted",
                                  "nesterov l2, no output bias", "four pieces"])
@pytest.mark.parametrize("dtype, threads", [(np.float32, 2), (np.float64, 2),
                                            (np.float64, 3)])
def test_unit_step_does_not_depend_on_the_thread_count(case, dtype, threads, monkeypatch):
    one = _fit(case, dtype, 1, monkeypatch)
    many = _fit(case, dtype, threads, monkeypatch)
    assert one[3].steps_split_by_units == many[3].steps_split_by_units == 6
    for a, b in zip(one[0], many[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one[1], many[1])


def test_unit_step_leaves_the_layers_gradients_of_the_last_step():
    """dW and db of each layer hold the last step's gradients, as after an unsplit step."""
    grads = []
    for split in (False, True):
        layers, loss, optimizer, metrics, _, _ = CASES["softmax adam"]
        model = Sequential(layers(), dtype="float64", seed=0)
        X, y, _ = _data(loss, 4)
        model.compile(optimizer(), loss, metrics)
        before = _network.column_step_limit(None if split else 0)
        try:
            model.fit(X, y, epochs=1, batch_size=256, seed=0, verbose=0)
        finally:
            _network.column_step_limit(before)
        dense = [layer for layer in model.layers if isinstance(layer, Dense)]
        grads.append([g.copy() for layer in dense for g in (layer.dW, layer.db)])
    for a, b in zip(*grads):
        assert np.abs(a).max() > 0
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


NOT_SPLIT = {
    "clipnorm": (lambda: _net(128, "relu", 4, "softmax"), "categorical_crossentropy",
                 lambda: Adam(0.01, clipnorm=0.5), [], False, {}),
    "two hidden layers": (lambda: [Input(N_X), Dense(128, activation="relu"),
                                   Dense(128, activation="relu"),
                                   Dense(4, activation="softmax")],
                          "categorical_crossentropy", lambda: Adam(0.01), [], False, {}),
    "narrow hidden layer": (lambda: _net(64, "relu", 4, "softmax"),
                            "categorical_crossentropy", lambda: Adam(0.01), [], False, {}),
    "wide output": (lambda: _net(128, "relu", 48, "linear"), "mse", lambda: Adam(0.01), [],
                    False, {}),
}


@pytest.mark.parametrize("case", list(NOT_SPLIT))
def test_networks_the_unit_step_does_not_take(case, monkeypatch):
    """A norm clip needs every gradient before any update; a second hidden layer would need
    every piece's activations; a hidden layer narrower than two pieces of 48 units or an
    output as wide as the input pass more between the threads than they save."""
    plan = _fit(case, np.float64, 2, monkeypatch, epochs=1, case_table=NOT_SPLIT)[3]
    assert plan.steps_split_by_units == 0


def test_unit_step_least_checks_its_argument():
    before = _network.unit_step_least()
    with pytest.raises(ValueError, match="least"):
        _network.unit_step_least(-1.0)
    with pytest.raises(ValueError, match="least"):
        _network.unit_step_least(float("nan"))
    assert _network.unit_step_least() == before


def test_unit_step_least_switches_it_off(monkeypatch):
    before = _network.unit_step_least(float("inf"))
    try:
        plan = _fit("softmax adam", np.float64, 2, monkeypatch, epochs=1)[3]
    finally:
        _network.unit_step_least(before)
    assert plan.steps_split_by_units == 0
    assert plan.steps_split_by_columns == 2     # the column split takes it instead


@pytest.mark.parametrize("dtype, split", [(np.float64, True), (np.float32, False)])
def test_pieces_of_whole_lines_must_be_even(dtype, split, monkeypatch):
    """100 units: float64 pieces of 56 and 44 units (lines of 8) are split by units;
    float32 pieces would be 64 and 36 (lines of 16), too uneven: the column split takes it."""
    table = {"hundred": (lambda: _net(100, "relu", 4, "softmax"), "categorical_crossentropy",
                         lambda: Adam(0.01), [], False, {})}
    plan = _fit("hundred", dtype, 2, monkeypatch, epochs=1, case_table=table)[3]
    assert plan.steps_split_by_units == (2 if split else 0)
