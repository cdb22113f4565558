"""ReduceLROnPlateau: Keras' semantics on synthetic logs, then inside Sequential.fit."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from fastdnn.callbacks import (
    CallbackList, LambdaCallback, LearningRateScheduler, MonitorCallback, ReduceLROnPlateau,
)
from fastdnn.layers import Dense, Input
from fastdnn.models import Sequential
from fastdnn.optimizers import GD
from fastdnn.schedules import InverseTimeDecay


def run(callback, values, lr=1.0, key="val_loss"):
    """The epoch loop of fit with a real optimizer; returns (rates per epoch, optimizer)."""
    model = SimpleNamespace(optimizer=GD(lr), stop_training=False)
    cbs = CallbackList([callback], model=model, verbose=0, epochs=len(values))
    cbs.on_train_begin()
    for epoch, value in enumerate(values):
        cbs.on_epoch_begin(epoch)
        cbs.on_epoch_end(epoch, {key: value})
    cbs.on_train_end()
    return cbs.history.history["learning_rate"], model.optimizer


def test_is_a_monitor_callback_with_keras_defaults():
    cb = ReduceLROnPlateau()
    assert isinstance(cb, MonitorCallback)
    assert (cb.monitor, cb.factor, cb.patience, cb.verbose, cb.mode, cb.min_delta,
            cb.cooldown, cb.min_lr) == ("val_loss", 0.1, 10, 0, "min", 1e-4, 0, 0.0)
    assert "ReduceLROnPlateau(monitor='val_loss'" in repr(cb)


def test_reduces_by_factor_after_patience_epochs_without_improvement():
    # epoch 0 sets the best; epochs 1, 2 do not improve: reduce after epoch 2, then
    # after every second flat epoch. The logged rate is the one the epoch ran with.
    rates, opt = run(ReduceLROnPlateau(factor=0.5, patience=2), [1.0] * 7)
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert opt.learning_rate == 0.125


def test_improvements_restart_the_patience():
    rates, opt = run(ReduceLROnPlateau(factor=0.5, patience=2),
                     [1.0, 0.9, 0.95, 0.8, 0.85, 0.9, 0.95])
    assert rates == [1.0] * 6 + [0.5]
    assert opt.learning_rate == 0.5


def test_patience_zero_reduces_on_every_flat_epoch():
    rates, _ = run(ReduceLROnPlateau(factor=0.5, patience=0), [1.0] * 4)
    assert rates == [1.0, 1.0, 0.5, 0.25]


def test_never_below_min_lr():
    rates, opt = run(ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.05), [1.0] * 6)
    assert rates == [1.0, 1.0, 0.1, 0.05, 0.05, 0.05]
    assert opt.learning_rate == 0.05
    # a rate already at or below min_lr is left alone, never raised
    rates, opt = run(ReduceLROnPlateau(factor=0.5, patience=1, min_lr=0.5), [1.0] * 3, lr=0.2)
    assert rates == [0.2, 0.2, 0.2] and opt.learning_rate == 0.2


def test_cooldown():
    # patience 1 alone: a reduction after every flat epoch from epoch 1 on
    rates, _ = run(ReduceLROnPlateau(factor=0.5, patience=1), [1.0] * 6)
    assert rates == [1.0, 1.0, 0.5, 0.25, 0.125, 0.0625]
    # cooldown 2 (Keras' count): after the reduction at the end of epoch 1, epoch 2
    # is in cooldown, epoch 3 ends it and counts again: reductions after 1, 3, 5
    cb = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2)
    rates, opt = run(cb, [1.0] * 7)
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert opt.learning_rate == 0.125 and cb.in_cooldown()


def test_mode_max_and_auto():
    values = [1.0, 2.0, 3.0, 2.0, 2.0, 2.0]
    rates, _ = run(ReduceLROnPlateau(monitor="score", mode="max", factor=0.5, patience=2),
                   values, key="score")
    assert rates == [1.0] * 5 + [0.5]
    # the same values read as a loss: no improvement after epoch 0
    rates, _ = run(ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=2),
                   values, key="score")
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
    cb = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=2)
    assert cb.mode == "max"
    rates, _ = run(cb, values, key="val_accuracy")
    assert rates == [1.0] * 5 + [0.5]


def test_min_delta():
    values = [1.0, 0.96, 0.92, 0.88, 0.84]
    # steps of 0.04 are below min_delta=0.1: only epoch 3 beats the best (1.0) by more
    cb = ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.1)
    rates, _ = run(cb, values)
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5] and cb.best == 0.88
    cb = ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.01)
    rates, _ = run(cb, values)
    assert rates == [1.0] * 5 and cb.best == 0.84


def test_nan_counts_as_no_improvement():
    rates, _ = run(ReduceLROnPlateau(factor=0.5, patience=1), [1.0, math.nan, 0.5])
    assert rates == [1.0, 1.0, 0.5]


def test_state_restarts_with_each_fit_but_the_rate_stays():
    cb = ReduceLROnPlateau(factor=0.5, patience=1)
    model = SimpleNamespace(optimizer=GD(1.0), stop_training=False)
    for _ in range(2):
        cbs = CallbackList([cb], model=model, verbose=0)
        cbs.on_train_begin()
        for epoch, value in enumerate([5.0, 5.0]):
            cbs.on_epoch_end(epoch, {"val_loss": value})
        assert cb.best == 5.0
    assert model.optimizer.learning_rate == 0.25


def test_missing_monitor_warns_and_keeps_the_rate():
    cb = ReduceLROnPlateau(factor=0.5, patience=0)
    with pytest.warns(RuntimeWarning, match="Learning rate reduction is conditioned on "
                                            "metric 'val_loss'.*available metrics: loss"):
        rates, opt = run(cb, [1.0, 1.0, 1.0], key="loss")
    assert rates == [1.0, 1.0, 1.0] and opt.learning_rate == 1.0 and cb.best is None


def test_verbose(capsys):
    run(ReduceLROnPlateau(factor=0.5, patience=1, verbose=1), [1.0, 1.0])
    assert capsys.readouterr().out == \
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.5.\n"


def test_schedule_as_learning_rate_is_an_error():
    model = SimpleNamespace(optimizer=GD(InverseTimeDecay(0.1, decay_rate=1.0)))
    cb = ReduceLROnPlateau()
    cb.set_model(model)
    with pytest.raises(TypeError, match="ReduceLROnPlateau needs a number as the optimizer's "
                                        "learning rate, got the schedule InverseTimeDecay"):
        cb.on_train_begin()
    with pytest.raises(TypeError, match="schedule"):
        cb.on_epoch_end(0, {"val_loss": 1.0})


def test_no_optimizer_is_an_error():
    cb = ReduceLROnPlateau()
    cb.set_model(SimpleNamespace(optimizer=None))
    with pytest.raises(ValueError, match="ReduceLROnPlateau needs model.optimizer"):
        cb.on_train_begin()


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"factor": 1.0}, ValueError, r"factor must be a finite number in \(0, 1\), got 1.0"),
    ({"factor": 1.5}, ValueError, "factor"),
    ({"factor": 0.0}, ValueError, "factor"),
    ({"factor": -0.5}, ValueError, "factor"),
    ({"factor": math.nan}, ValueError, "factor"),
    ({"factor": "0.5"}, TypeError, "factor"),
    ({"patience": -1}, ValueError, "patience must be an int >= 0, got -1"),
    ({"patience": 2.0}, TypeError, "patience"),
    ({"cooldown": -1}, ValueError, "cooldown"),
    ({"cooldown": None}, TypeError, "cooldown"),
    ({"min_lr": -0.1}, ValueError, "min_lr must be a finite number >= 0"),
    ({"min_lr": math.inf}, ValueError, "min_lr"),
    ({"min_lr": "0"}, TypeError, "min_lr"),
    ({"min_delta": math.inf}, ValueError, "min_delta"),
    ({"min_delta": None}, TypeError, "min_delta"),
    ({"verbose": -1}, ValueError, "verbose"),
    ({"mode": "down"}, ValueError, "mode"),
    ({"monitor": 3}, TypeError, "monitor"),
])
def test_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ReduceLROnPlateau(**kwargs)


# --------------------------------------------------------------------------- in fit

def data(m=64, n=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.float64)


def model_for(X, lr, compiled):
    model = Sequential([Input(X.shape[1]), Dense(6, activation="tanh"),
                        Dense(1, activation="sigmoid")], dtype="float64", seed=0)
    model.compile(GD(lr), "binary_crossentropy", compiled=compiled)
    return model


@pytest.fixture
def compiled_epochs(monkeypatch):
    """Counts the epochs trained by the compiled loop (the layer path counts none)."""
    import fastdnn.models as models

    CompiledTrainer = getattr(models, "_CompiledTrainer", None)  # where it was first
    if CompiledTrainer is None:
        from fastdnn._training import CompiledTrainer
    count = []
    run_epoch = CompiledTrainer.run_epoch

    def spy(self, *args, **kwargs):
        count.append(1)
        return run_epoch(self, *args, **kwargs)
    monkeypatch.setattr(CompiledTrainer, "run_epoch", spy)
    return count


@pytest.mark.parametrize("compiled", [True, False])
def test_fit_with_a_flat_loss(compiled, compiled_epochs):
    # a rate this small leaves the loss flat to far below min_delta
    X, y = data()
    model = model_for(X, 1e-9, compiled)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    h = model.fit(X, y, epochs=5, batch_size=16, verbose=0, callbacks=[cb])
    assert len(compiled_epochs) == (5 if compiled else 0)
    np.testing.assert_allclose(h.history["learning_rate"],
                               [1e-9, 1e-9, 5e-10, 2.5e-10, 1.25e-10], rtol=1e-12)
    np.testing.assert_allclose(model.optimizer.learning_rate, 6.25e-11, rtol=1e-12)


@pytest.mark.parametrize("compiled", [True, False])
def test_fit_trains_with_the_reduced_rates(compiled, compiled_epochs):
    # the monitored value is one the test controls: flat from the start
    X, y = data()
    plateau = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(plateau=1.0))
    model = model_for(X, 0.5, compiled)
    cb = ReduceLROnPlateau(monitor="plateau", factor=0.5, patience=2, min_lr=0.1)
    h = model.fit(X, y, epochs=8, batch_size=16, shuffle=False, verbose=0,
                  callbacks=[plateau, cb])
    rates = [0.5, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.1]
    np.testing.assert_allclose(h.history["learning_rate"], rates, rtol=1e-15)
    assert h.history["plateau"] == [1.0] * 8
    # the same rates given by a scheduler train the same weights: the engine used them
    twin = model_for(X, 0.5, compiled)
    h2 = twin.fit(X, y, epochs=8, batch_size=16, shuffle=False, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch: rates[epoch])])
    assert len(compiled_epochs) == (16 if compiled else 0)
    np.testing.assert_allclose(h2.history["loss"], h.history["loss"], rtol=1e-12)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # and they differ from training at the initial rate throughout
    fixed = model_for(X, 0.5, compiled)
    fixed.fit(X, y, epochs=8, batch_size=16, shuffle=False, verbose=0)
    assert not np.allclose(fixed.get_weights()[0], model.get_weights()[0])


@pytest.mark.parametrize("compiled", [True, False])
def test_fit_with_a_schedule_fails_before_training(compiled):
    X, y = data()
    model = Sequential([Input(X.shape[1]), Dense(1, activation="sigmoid")], seed=0)
    model.compile(GD(InverseTimeDecay(0.1, decay_rate=1.0)), "binary_crossentropy",
                  compiled=compiled)
    seen = []
    with pytest.raises(TypeError, match="schedule"):
        model.fit(X, y, epochs=3, verbose=0,
                  callbacks=[ReduceLROnPlateau(monitor="loss"),
                             LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))])
    assert seen == []
