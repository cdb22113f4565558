"""Ctrl-C (and any signal whose Python handler raises) during fit and predict.

The interrupted model must be exactly the model of the steps it completed: its weights,
the optimizer's state and step count, and History's batch losses all describe the same
whole steps, so that a model trained on just those mini-batches is bit for bit the same,
and so is the rest of the training resumed from there.
"""
import os
import signal
import threading
import time

import numpy as np
import pytest

import fastdnn
from fastdnn import Sequential
from fastdnn.callbacks import Callback, LambdaCallback
from fastdnn.layers import Dense

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")

B = 64


def _data(m=4096, n=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.float32)
    return X, y


def _model(optimizer="adam"):
    model = Sequential([Dense(64, activation="relu"), Dense(1, activation="sigmoid")], seed=3)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def _state(model):
    opt = model.optimizer
    slots = [] if opt._slots is None else [a for group in opt._slots for a in group]
    return model.get_weights(), slots, opt.iterations


def _assert_same(a, b):
    (wa, sa, ia), (wb, sb, ib) = _state(a), _state(b)
    assert ia == ib
    assert len(wa) == len(wb) and len(sa) == len(sb)
    for x, y in zip(wa + sa, wb + sb):
        np.testing.assert_array_equal(x, y)


def _long_fit(model, signum, engine, timing=None, delay=0.3):
    """fit one epoch of ~1000 mini-batches of 256 through 1024-wide layers (seconds of work
    on any machine), with ``signum`` sent to this process ``delay`` seconds in from another
    thread; ``timing["ms"]``: from the signal to fit's exception."""
    X, y = _data(m=256 * 1024)
    sent = {}

    def fire():
        sent["at"] = time.perf_counter()
        os.kill(os.getpid(), signum)
    timer = threading.Timer(delay, fire)
    timer.start()
    try:
        model.fit(X, y, epochs=1, batch_size=256, shuffle=False, verbose=0, engine=engine)
    finally:
        if timing is not None and "at" in sent:
            timing["ms"] = (time.perf_counter() - sent["at"]) * 1e3
        timer.join()


def _wide(optimizer="adam"):
    model = Sequential([Dense(1024, activation="relu"), Dense(1024, activation="tanh"),
                        Dense(1, activation="sigmoid")], seed=3)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def _reference(optimizer, X, y, steps, engine):
    model = _wide(optimizer)
    model.fit(X[:steps * 256], y[:steps * 256], epochs=1, batch_size=256, shuffle=False,
              verbose=0, engine=engine)
    return model


@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_ctrl_c_stops_fit_between_steps_and_resumes_exactly(engine):
    model = _wide()
    timing = {}
    with pytest.raises(KeyboardInterrupt):
        _long_fit(model, signal.SIGINT, engine, timing)
    X, y = _data(m=256 * 1024)
    steps = model.optimizer.iterations
    print(f"{engine}: KeyboardInterrupt {timing['ms']:.1f} ms after SIGINT, "
          f"after {steps} steps")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # stopped inside the epoch, between two of its mini-batches
    assert 0 < steps < X.shape[0] // 256
    # History holds one cost per step taken; no epoch ended
    assert model.history.batch_loss.size == steps
    assert model.history.history.get("loss", []) == []

    reference = _reference("adam", X, y, steps, engine)
    _assert_same(model, reference)

    # resuming: the next mini-batches give the same model on both
    for m in (model, reference):
        m.fit(X[-4 * 256:], y[-4 * 256:], epochs=1, batch_size=256, shuffle=False, verbose=0,
              engine=engine)
    _assert_same(model, reference)


def test_any_raising_signal_handler_stops_the_compiled_loop():
    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        model = _wide("rmsprop")
        with pytest.raises(Stop):
            _long_fit(model, signal.SIGUSR1, "compiled")
    finally:
        signal.signal(signal.SIGUSR1, previous)
    X, y = _data(m=256 * 1024)
    steps = model.optimizer.iterations
    assert 0 < steps < X.shape[0] // 256
    _assert_same(model, _reference("rmsprop", X, y, steps, "compiled"))


def test_ctrl_c_inside_a_python_step_lands_after_its_update():
    """SIGINT raised in the middle of a step (here: as the optimizer starts its update)
    takes effect once the step is complete, never between two layers' updates."""
    X, y = _data(m=1024)
    model = _model()
    opt = model.optimizer
    apply = opt.apply_gradients
    calls = []

    def interrupting(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            os.kill(os.getpid(), signal.SIGINT)   # the handler runs at once, mid-step
        return apply(*args, **kwargs)

    opt.apply_gradients = interrupting
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=1, batch_size=B, shuffle=False, verbose=0, engine="python")
    del opt.apply_gradients
    assert opt.iterations == 5 and model.history.batch_loss.size == 5
    reference = _model()
    reference.fit(X[:5 * B], y[:5 * B], epochs=1, batch_size=B, shuffle=False, verbose=0,
                  engine="python")
    _assert_same(model, reference)


def test_a_user_sigint_handler_is_left_alone():
    seen = []

    def handler(signum, frame):
        seen.append(signum)

    X, y = _data(m=512)
    previous = signal.signal(signal.SIGINT, handler)
    try:
        model = _model()
        model.fit(X, y, epochs=2, batch_size=B, verbose=0, engine="python")
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_fit_in_another_thread_does_not_touch_the_handler():
    X, y = _data(m=512)
    errors = []

    def work():
        try:
            _model().fit(X, y, epochs=2, batch_size=B, verbose=0, engine="python")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert not errors
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_stops_predict_and_leaves_the_model_usable():
    rng = np.random.default_rng(1)
    model = Sequential([Dense(1024, activation="relu"), Dense(1024, activation="relu"),
                        Dense(10, activation="softmax")], seed=0)
    model.build(64)
    X = rng.standard_normal((200_000, 64)).astype(np.float32)
    fired = {}

    def fire():
        fired["at"] = time.perf_counter()
        os.kill(os.getpid(), signal.SIGINT)
    timer = threading.Timer(0.1, fire)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.predict(X)
    finally:
        timer.join()
    print(f"predict: KeyboardInterrupt {(time.perf_counter() - fired['at']) * 1e3:.1f} ms "
          "after SIGINT")
    small = X[:100]
    np.testing.assert_array_equal(model.predict(small), model.predict(small.copy()))


def _interrupted_batch_fit(model, X, y, delay, epochs=1):
    """fit on the whole of X as one mini-batch per epoch, with SIGINT sent ``delay`` seconds
    in: it must raise KeyboardInterrupt."""
    timer = threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y, epochs=epochs, batch_size=None, shuffle=False, verbose=0,
                      engine="compiled")
    finally:
        timer.join()


def test_ctrl_c_stops_inside_one_long_mini_batch_before_its_update():
    """One mini-batch of seconds of work (batch gradient descent over 32768 examples):
    the signal is seen between the pieces of its products, and the step is abandoned
    before its update, so the model is the untrained one and a new fit runs as on it."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((32768, 256)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    model = _wide()
    model.build(256)
    before = model.get_weights()
    _interrupted_batch_fit(model, X, y, 0.3)
    assert model.optimizer.iterations == 0
    assert model.history.batch_loss.size == 0
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    reference = _wide()
    for m in (model, reference):
        m.fit(X[:8192], y[:8192], epochs=1, batch_size=None, shuffle=False, verbose=0,
              engine="compiled")
    _assert_same(model, reference)


def test_ctrl_c_in_a_long_gradient_descent_step_leaves_a_whole_step_or_none():
    """Plain gradient descent is folded into each layer's dW product, so a long step stops
    for a signal only until its first W changes; from there it runs to its end and the
    fit stops after it. Either way the model is consistent: untouched, or exactly a whole
    number of steps on (a signal early in the first step, and one late in it; on a VM
    whose speed drifts the late one can land in the second step, which then ends whole
    or is abandoned as well)."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((32768, 256)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    one = _wide("sgd")
    one.build(256)
    start = one.get_weights()
    t0 = time.perf_counter()
    one.fit(X, y, epochs=1, batch_size=None, shuffle=False, verbose=0, engine="compiled")
    took = time.perf_counter() - t0
    after = one.get_weights()
    steps = []
    for delay in (0.1 * took, 0.9 * took):
        model = _wide("sgd")
        model.build(256)
        model.set_weights(start)
        _interrupted_batch_fit(model, X, y, delay, epochs=3)
        steps.append(model.optimizer.iterations)
        assert steps[-1] in (0, 1, 2), steps
        assert model.history.batch_loss.size == steps[-1]
        want = start
        if steps[-1] == 1:
            want = after
        elif steps[-1] == 2:
            twice = _wide("sgd")
            twice.build(256)
            twice.set_weights(start)
            twice.fit(X, y, epochs=2, batch_size=None, shuffle=False, verbose=0,
                      engine="compiled")
            want = twice.get_weights()
        for a, b in zip(model.get_weights(), want):
            np.testing.assert_array_equal(a, b)
    assert steps[0] == 0, steps


def test_an_interrupted_long_mini_batch_leaves_the_moving_statistics():
    """A batch normalization's moving statistics take a mini-batch's statistics only when
    its step is applied: an interrupted step leaves them as they were."""
    from fastdnn.layers import Activation, BatchNormalization

    rng = np.random.default_rng(3)
    X = rng.standard_normal((32768, 256)).astype(np.float32) + 3.0
    y = (X[:, 0] > 3.0).astype(np.float32)
    model = Sequential([Dense(1024), BatchNormalization(), Activation("relu"),
                        Dense(1024, activation="tanh"), Dense(1, activation="sigmoid")], seed=3)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.build(256)
    bn = model.layers[1]
    before = [bn.moving_mean.copy(), bn.moving_variance.copy()]
    _interrupted_batch_fit(model, X, y, 0.3)
    assert model.optimizer.iterations == 0
    np.testing.assert_array_equal(bn.moving_mean, before[0])
    np.testing.assert_array_equal(bn.moving_variance, before[1])
    # a step that is applied moves them
    model.fit(X[:512], y[:512], epochs=1, batch_size=None, shuffle=False, verbose=0,
              engine="compiled")
    assert not np.array_equal(bn.moving_mean, before[0])


@pytest.mark.parametrize("shape", [(1024, 8192, 256), (64, 8192, 4096), (8192, 1024, 1024)])
def test_products_cut_into_pieces_compute_what_uncut_ones_do(shape):
    """predict's products (which look for signals) are cut into pieces of whole tile rows
    (when C has more rows than columns) or columns above 2^29 multiply-adds: every piece
    must be the product's own rows or columns."""
    m, n_in, n_out = shape
    rng = np.random.default_rng(4)
    model = Sequential([Dense(n_out, bias_initializer="random_normal")], seed=0)
    model.build(n_in)
    X = rng.standard_normal((m, n_in)).astype(np.float32)
    layer = model.layers[0]
    expected = X.astype(np.float64) @ layer.W.T.astype(np.float64) + layer.b.ravel()
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-4, atol=1e-4)


def test_a_long_compiled_step_trains_as_the_layer_path_does():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((8192, 256)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    costs = []
    for engine in ("python", "compiled"):
        model = _wide()
        model.fit(X, y, epochs=1, batch_size=None, shuffle=False, verbose=0, engine=engine)
        costs.append(model.history.batch_loss[0])
        weights = model.get_weights()
        if engine == "python":
            reference = weights
    np.testing.assert_allclose(costs[1], costs[0], rtol=1e-5)
    for a, b in zip(weights, reference):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
