"""The compiled loop's column-split step (small networks) against its unsplit step.

A step of a small network is cut into pieces of columns (examples: 4 pieces of a float64
batch of 256, 2 of a float32 one) that run forward and backward, each piece's own dW and
db included, on their own threads; then the threads sum the pieces' dW and db and the
optimizer steps once.
Split or not, and on one thread or two, training must give the same weights, losses and
metrics: to rounding against the unsplit step, bit for bit across thread counts.
"""
import numpy as np
import pytest

from fastdnn.callbacks import LambdaCallback
from fastdnn._kernels import _network
from fastdnn.layers import Dense, Input, Normalizer
from fastdnn.losses import CategoricalCrossentropy, Huber
from fastdnn.models import Sequential
from fastdnn.optimizers import GD, SGD, Adam, AdamW, Nadam, RMSprop
from fastdnn.regularizers import L2
from split_fit import capture_plans, fit_case, make_data

pytestmark = pytest.mark.usefixtures("one_blas_thread")

RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def _net(hidden, n_out, output, use_bias=True, l2=0.0, normalize=False):
    layers = [Input(12)]
    if normalize:           # gathered rows are standardized on the way in
        norm = Normalizer()
        norm.adapt(np.random.default_rng(2).normal(1.0, 3.0, size=(64, 12)))
        layers.append(norm)
    for units, act in hidden:
        layers.append(Dense(units, activation=act,
                            kernel_regularizer=L2(l2) if l2 else None))
    layers.append(Dense(n_out, activation=output, use_bias=use_bias))
    return layers


# name: (layers, loss, optimizer, metrics, sample weights, fit options)
CASES = {
    "softmax adam": (lambda: _net([(32, "relu")], 4, "softmax"), "categorical_crossentropy",
                     lambda: Adam(0.01), ["accuracy"], False, {}),
    "sigmoid gd weighted": (lambda: _net([(24, "tanh")], 1, "sigmoid"), "binary_crossentropy",
                            lambda: GD(0.1), ["binary_accuracy"], True, {}),
    "mse gelu momentum clipvalue": (lambda: _net([(16, "gelu")], 3, "linear"), "mse",
                                    lambda: SGD(0.02, momentum=0.9, clipvalue=0.05), ["mae"],
                                    False, {}),
    "smoothed rmsprop clipnorm": (lambda: _net([(20, "sigmoid")], 4, "softmax"),
                                  CategoricalCrossentropy(label_smoothing=0.1),
                                  lambda: RMSprop(0.005, clipnorm=0.5), ["accuracy"], False, {}),
    "deep nadam global clip, no output bias": (
        lambda: _net([(40, "relu"), (24, "elu")], 4, "softmax", use_bias=False),
        "categorical_crossentropy", lambda: Nadam(0.005, global_clipnorm=1.0), [], False, {}),
    "huber adamw l2, unshuffled": (lambda: _net([(32, "leaky_relu")], 3, "linear", l2=1e-3),
                                   Huber(0.5), lambda: AdamW(0.01), ["mse"], False,
                                   {"shuffle": False}),
    # a first layer of 96 x 12 x 256 multiply-adds (the unsplit step fuses Adam's step
    # into its dW product's tiles)
    "wide adam": (lambda: _net([(96, "relu")], 4, "softmax"), "categorical_crossentropy",
                  lambda: Adam(0.01), ["accuracy"], False, {}),
    # pieces whose dW products pass the packed engine's threshold (run on the direct
    # loops on the piece's thread: 64 x 256 x 64 float64, 256 x 12 x 128 float32)
    "two wide layers adam": (lambda: _net([(256, "relu"), (64, "relu")], 4, "softmax"),
                             "categorical_crossentropy", lambda: Adam(0.005), ["accuracy"],
                             False, {}),
    "normalizer, auc": (lambda: _net([(16, "relu")], 1, "sigmoid", normalize=True),
                        "binary_crossentropy", lambda: Adam(0.01), ["auc", "accuracy"], False,
                        {}),
}


def _data(loss, n_out, m=512, dtype=np.float64):
    return make_data(loss, n_out, 12, m, dtype)


def _fit(case, dtype, limit, threads, monkeypatch):
    weights, batch_loss, history, plan = fit_case(CASES[case], 12, dtype, limit, threads,
                                                  monkeypatch)
    return weights, batch_loss, history, plan.steps_split_by_columns


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_split_step_trains_as_the_unsplit_one(case, dtype, monkeypatch):
    unsplit = _fit(case, dtype, 0, 2, monkeypatch)
    split = _fit(case, dtype, None, 2, monkeypatch)
    assert unsplit[3] == 0
    assert split[3] == 6            # 3 epochs of 2 batches of 256, every one split
    for a, b in zip(unsplit[0], split[0]):
        np.testing.assert_allclose(b, a, rtol=RTOL[dtype], atol=RTOL[dtype])
    np.testing.assert_allclose(split[1], unsplit[1], rtol=RTOL[dtype])
    for key, values in unsplit[2].items():
        np.testing.assert_allclose(split[2][key], values, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("case", ["softmax adam", "sigmoid gd weighted",
                                  "deep nadam global clip, no output bias", "wide adam"])
@pytest.mark.parametrize("dtype, threads", [(np.float32, 2), (np.float64, 3)])
def test_split_step_does_not_depend_on_the_thread_count(case, dtype, threads, monkeypatch):
    """float64 batches of 256 make 4 pieces, which 3 threads share unevenly."""
    one = _fit(case, dtype, None, 1, monkeypatch)
    two = _fit(case, dtype, None, threads, monkeypatch)
    assert one[3] == two[3] == 6
    for a, b in zip(one[0], two[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one[1], two[1])


def test_column_step_limit_checks_its_argument():
    before = _network.column_step_limit()
    with pytest.raises(ValueError, match="limit"):
        _network.column_step_limit(-1.0)
    with pytest.raises(ValueError, match="limit"):
        _network.column_step_limit(float("nan"))
    assert _network.column_step_limit() == before


def test_a_limit_raised_after_the_plan_leaves_the_step_unsplit(monkeypatch):
    """The pieces' dW and db need room the plan makes when it is made: a plan made while
    no step could be split keeps none, and its steps stay unsplit when the limit rises
    between epochs."""
    layers, loss, optimizer, metrics, _, _ = CASES["softmax adam"]
    model = Sequential(layers(), dtype="float64", seed=0)
    X, y, _ = _data(loss, 4)
    model.compile(optimizer(), loss, metrics)
    plans = capture_plans(monkeypatch)
    before = _network.column_step_limit(0)
    raise_limit = LambdaCallback(on_epoch_end=lambda epoch, logs: _network.column_step_limit(
        before))
    try:
        h = model.fit(X, y, epochs=3, batch_size=256, seed=0, verbose=0,
                      callbacks=[raise_limit])
    finally:
        _network.column_step_limit(before)
    assert h.engine == "compiled" and np.isfinite(h.history["loss"]).all()
    assert _network.column_step_limit() > 0
    assert plans[-1].steps_split_by_columns == 0
