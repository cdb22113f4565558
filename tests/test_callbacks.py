"""Callbacks driven through CallbackList by a fake model, with synthetic logs."""
import doctest
import importlib
import io
import json
import math
import os
import pkgutil

import numpy as np
import pytest

from fastdnn import callbacks as cbm
from fastdnn.callbacks import (
    Callback, CallbackList, CSVLogger, EarlyStopping, History, LambdaCallback,
    LearningRateScheduler, ModelCheckpoint, MonitorCallback, Progbar, ProgbarLogger,
    ReduceLROnPlateau, TerminateOnNaN,
)
from fastdnn.callbacks import progbar as pbm


class FakeOptimizer:
    def __init__(self, learning_rate=0.1):
        self._lr = learning_rate

    @property
    def learning_rate(self):
        return float(self._lr)

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = value


class FakeModel:
    """Trains "in place": get_weights returns the live arrays, like a real model may."""

    def __init__(self):
        self.stop_training = False
        self.optimizer = FakeOptimizer()
        self.W = np.zeros((2, 3))
        self.b = np.zeros((2, 1))
        self.saved = []

    def step(self, value):
        self.W[...] = value
        self.b[...] = -value

    def get_weights(self):
        return [self.W, self.b]

    def set_weights(self, weights):
        self.W[...] = weights[0]
        self.b[...] = weights[1]

    def save(self, path):
        with open(path, "w") as f:
            f.write("model")
        self.saved.append(path)


def fit(callbacks, logs_per_epoch, model=None, verbose=0, steps=4, batch_hooks=None):
    """Run the epoch loop the way Sequential.fit does; returns (model, CallbackList, epochs run)."""
    model = FakeModel() if model is None else model
    epochs = len(logs_per_epoch)
    cbs = CallbackList(callbacks, model=model, verbose=verbose, epochs=epochs, steps=steps,
                       samples=steps * 8)
    call_batches = cbs.needs_batch_hooks if batch_hooks is None else batch_hooks
    cbs.on_train_begin()
    ran = 0
    for epoch, logs in enumerate(logs_per_epoch):
        cbs.on_epoch_begin(epoch)
        model.step(epoch)
        costs = np.linspace(1.0, 0.5, steps) / (epoch + 1)
        for batch in range(steps):
            if call_batches:
                cbs.on_train_batch_begin(batch)
                cbs.on_train_batch_end(batch, {"loss": float(costs[:batch + 1].mean())})
            if cbs.progbar is not None:
                cbs.progbar.update(batch + 1, {"loss": float(costs[:batch + 1].mean())})
        cbs.history.add_batch_losses(costs)
        cbs.on_epoch_end(epoch, dict(logs))
        ran += 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return model, cbs, ran


def losses(*values, key="val_loss"):
    return [{key: v} for v in values]


# --------------------------------------------------------------------------- docs

CALLBACK_MODULES = ["fastdnn.callbacks"] + sorted(
    f"fastdnn.callbacks.{m.name}" for m in pkgutil.iter_modules(cbm.__path__))


@pytest.mark.parametrize("name", CALLBACK_MODULES)
def test_module_doctests(name):
    # tests/test_docs.py skips subpackages; run the examples of every module of this one
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def test_package_layout():
    assert len(CALLBACK_MODULES) >= 14
    for name in cbm.__all__:
        # one file per public class, re-exported by the package
        assert getattr(cbm, name).__module__.startswith("fastdnn.callbacks."), name


def test_monitoring_callbacks_share_the_monitor_base():
    for cls in (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau):
        assert issubclass(cls, MonitorCallback) and issubclass(cls, Callback), cls
        # the improvement logic lives once, in the base
        assert "_is_improvement" not in vars(cls) and "get_monitor_value" not in vars(cls)
    assert not issubclass(LearningRateScheduler, MonitorCallback)


@pytest.mark.parametrize("cls, args", [(EarlyStopping, ()), (ModelCheckpoint, ("m.npz",)),
                                       (ReduceLROnPlateau, ())])
def test_monitor_base_resolves_mode_and_checks_monitor(cls, args):
    assert cls(*args, monitor="val_acc").mode == "max"
    assert cls(*args, monitor="val_Accuracy").mode == "max"
    assert cls(*args, monitor="val_loss").mode == "min"
    assert cls(*args, monitor="val_loss", mode="max").mode == "max"
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'min', 'max', got 'up'"):
        cls(*args, mode="up")
    with pytest.raises(TypeError, match="monitor must be a metric name"):
        cls(*args, monitor="")


def test_monitor_base_is_improvement():
    cb = MonitorCallback(monitor="loss", min_delta=-0.1)
    assert cb.min_delta == 0.1 and cb.best is None
    assert cb._is_improvement(5.0, None) and not cb._is_improvement(math.nan, None)
    assert cb._is_improvement(0.85, 1.0) and not cb._is_improvement(0.9, 1.0)
    cb = MonitorCallback(monitor="score", mode="max", baseline=2.0)
    assert cb._is_improvement(1.5, 1.0) and not cb._beats_baseline(1.5)
    assert cb._beats_baseline(2.5) and MonitorCallback()._beats_baseline(1e9)


def test_monitor_base_warns_on_missing_or_non_numeric():
    cb = MonitorCallback(monitor="val_loss")
    with pytest.warns(RuntimeWarning, match="'val_loss', which is not in the logs; "
                                            "available metrics: loss"):
        assert cb.get_monitor_value({"loss": 0.5}) is None
    with pytest.warns(RuntimeWarning, match="is not a number"):
        assert cb.get_monitor_value({"val_loss": "high"}) is None
    assert cb.get_monitor_value({"val_loss": np.float32(0.25)}) == 0.25


def test_every_public_name_documented_with_example():
    for name in cbm.__all__:
        doc = getattr(cbm, name).__doc__ or ""
        assert "Examples" in doc and ">>>" in doc, name


# --------------------------------------------------------------------------- CallbackList

def test_callbacklist_adds_history_and_progbar_like_keras():
    user = Callback()
    cbs = CallbackList([user], verbose=1, epochs=3, steps=5, samples=40)
    assert [type(c) for c in cbs.callbacks] == [Callback, History, ProgbarLogger]
    assert cbs.history is cbs.callbacks[1] and cbs.progbar is cbs.callbacks[2]
    assert user.params == {"verbose": 1, "epochs": 3, "steps": 5, "samples": 40}
    assert len(cbs) == 3 and list(cbs) == cbs.callbacks


def test_callbacklist_verbose0_and_flags():
    assert [type(c) for c in CallbackList(None, verbose=0).callbacks] == [History]
    assert CallbackList(None, verbose=0).progbar is None
    assert CallbackList(None, add_history=False, add_progbar=False).callbacks == []
    assert CallbackList(None, verbose="auto").params["verbose"] == 1
    assert CallbackList(None, verbose=True).params["verbose"] == 1


def test_callbacklist_reuses_user_history_and_progbar():
    h, p = History(), ProgbarLogger(verbose=2)
    cbs = CallbackList([p, h], verbose=1)
    assert cbs.callbacks == [p, h] and cbs.history is h and cbs.progbar is p


def test_callbacklist_single_callback_and_model():
    model = FakeModel()
    cb = Callback()
    cbs = CallbackList(cb, model=model, verbose=0)
    assert cb.model is model and cbs.history.model is model
    extra = Callback()
    cbs.append(extra)
    assert extra.model is model and extra.params is cbs.params


@pytest.mark.parametrize("bad, exc", [(3, TypeError), ([Callback(), "x"], TypeError)])
def test_callbacklist_rejects_non_callbacks(bad, exc):
    with pytest.raises(exc, match="callbacks"):
        CallbackList(bad)


@pytest.mark.parametrize("bad, exc", [(3, ValueError), (-1, ValueError), (1.0, TypeError),
                                      ("loud", TypeError)])
def test_callbacklist_rejects_bad_verbose(bad, exc):
    with pytest.raises(exc, match="verbose"):
        CallbackList(None, verbose=bad)


def test_callbacklist_dispatches_in_order_with_shared_logs():
    calls = []

    class Rec(Callback):
        def __init__(self, tag):
            super().__init__()
            self.tag = tag

        def on_epoch_end(self, epoch, logs=None):
            calls.append((self.tag, epoch, dict(logs)))
            logs[self.tag] = 1.0

    cbs = CallbackList([Rec("a"), Rec("b")], verbose=0)
    logs = {"loss": 0.5}
    cbs.on_epoch_end(0, logs)
    assert calls == [("a", 0, {"loss": 0.5}), ("b", 0, {"loss": 0.5, "a": 1.0})]
    assert logs == {"loss": 0.5, "a": 1.0, "b": 1.0}
    assert cbs.history.history == {"loss": [0.5], "a": [1.0], "b": [1.0]}


def test_every_hook_is_dispatched():
    seen = []
    hooks = [h for h in dir(Callback) if h.startswith("on_")]

    class Rec(Callback):
        pass

    for h in hooks:
        setattr(Rec, h, (lambda name: lambda self, *a: seen.append(name))(h))
    cbs = CallbackList([Rec()], add_history=False, add_progbar=False)
    for h in hooks:
        args = (0,) if "batch" in h or "epoch" in h else ()
        getattr(cbs, h)(*args)
    # on_batch_* dispatch as on_train_batch_*
    expected = [h.replace("on_batch", "on_train_batch") for h in hooks]
    assert seen == expected


def test_needs_batch_hooks():
    class BatchUser(Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    class OldStyle(Callback):
        def on_batch_begin(self, batch, logs=None):
            pass

    class EpochOnly(Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    quiet = [EarlyStopping(), LearningRateScheduler(lambda e: 0.1), CSVLogger("x.csv"),
             TerminateOnNaN(), ModelCheckpoint("m.npz"), EpochOnly(), ProgbarLogger(),
             LambdaCallback(on_epoch_end=print)]
    assert not CallbackList(quiet, verbose=1).needs_batch_hooks
    for cb in (BatchUser(), OldStyle(), ModelCheckpoint("m.npz", save_freq=3),
               LambdaCallback(on_train_batch_begin=print)):
        assert CallbackList(quiet + [cb], verbose=1).needs_batch_hooks, cb


def test_old_style_batch_hooks_are_called():
    seen = []

    class OldStyle(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append((batch, logs["loss"]))

    fit([OldStyle()], losses(1.0, 0.5), steps=2)
    assert [b for b, _ in seen] == [0, 1, 0, 1]


# --------------------------------------------------------------------------- History

def test_history_collects_epochs_and_batch_losses():
    model, cbs, ran = fit([], [{"loss": np.float32(0.5), "accuracy": 0.75, "val_loss": 0.6},
                               {"loss": 0.25, "accuracy": 0.875, "val_loss": 0.4}], steps=3)
    h = cbs.history
    assert h.epoch == [0, 1]
    assert h.history == {"loss": [0.5, 0.25], "accuracy": [0.75, 0.875],
                         "val_loss": [0.6, 0.4]}
    assert all(type(v) is float for vs in h.history.values() for v in vs)
    want = np.concatenate([np.linspace(1, 0.5, 3), np.linspace(1, 0.5, 3) / 2])
    assert h.batch_loss.dtype == np.float64
    np.testing.assert_array_equal(h.batch_loss, want)
    assert model.history is h
    d = h.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["history"]["loss"] == [0.5, 0.25] and d["batch_loss"] == want.tolist()


def test_history_copies_batch_losses():
    h = History()
    buf = np.array([1.0, 2.0], dtype=np.float32)
    h.add_batch_losses(buf)
    buf[:] = 0  # the model reuses its buffer next epoch
    h.add_batch_losses(buf)
    np.testing.assert_array_equal(h.batch_loss, [1.0, 2.0, 0.0, 0.0])
    assert History().batch_loss.shape == (0,)


def test_history_batch_losses_rejects():
    with pytest.raises(ValueError, match="losses must be 1-D"):
        History().add_batch_losses(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="losses"):
        History().add_batch_losses(["a"])


# --------------------------------------------------------------------------- EarlyStopping

def test_early_stopping_min_mode():
    es = EarlyStopping(patience=2)
    model, cbs, ran = fit([es], losses(1.0, 0.8, 0.85, 0.9, 0.7, 0.6))
    assert es.mode == "min"
    assert ran == 4 and es.stopped_epoch == 3 and model.stop_training
    assert es.best == 0.8 and es.best_epoch == 1
    assert cbs.history.history["val_loss"] == [1.0, 0.8, 0.85, 0.9]


@pytest.mark.parametrize("monitor", ["val_accuracy", "accuracy", "val_acc"])
def test_early_stopping_max_mode_auto(monitor):
    es = EarlyStopping(monitor=monitor, patience=1)
    model, _, ran = fit([es], losses(0.5, 0.7, 0.9, 0.85, 0.95, key=monitor))
    assert es.mode == "max" and ran == 4 and es.stopped_epoch == 3
    assert es.best == 0.9 and es.best_epoch == 2


def test_early_stopping_explicit_max_mode():
    es = EarlyStopping(monitor="score", mode="max", patience=0)
    _, _, ran = fit([es], losses(1.0, 2.0, 1.5, 3.0, key="score"))
    assert ran == 3


def test_early_stopping_patience_zero_and_never_stopping():
    es = EarlyStopping(patience=0)
    _, _, ran = fit([es], losses(1.0, 0.9, 0.9, 0.5))
    assert ran == 3 and es.stopped_epoch == 2  # an equal value is no improvement
    es = EarlyStopping(patience=0)
    model, _, ran = fit([es], losses(1.0, 0.9, 0.8))
    assert ran == 3 and es.stopped_epoch == 0 and not model.stop_training


def test_early_stopping_min_delta():
    # improvements of 0.05 are below min_delta=0.1
    es = EarlyStopping(min_delta=0.1, patience=1)
    _, _, ran = fit([es], losses(1.0, 0.95, 0.9, 0.85, 0.8))
    assert ran == 2 and es.best == 1.0
    es = EarlyStopping(min_delta=-0.01, patience=1)  # sign ignored, as Keras
    _, _, ran = fit([es], losses(1.0, 0.95, 0.9, 0.85, 0.8))
    assert es.min_delta == 0.01 and ran == 5
    es = EarlyStopping(monitor="accuracy", min_delta=0.1, patience=1)
    _, _, ran = fit([es], losses(0.5, 0.55, 0.7, key="accuracy"))
    assert ran == 2


def test_early_stopping_baseline():
    # improving but never better than the baseline: the counter keeps running
    es = EarlyStopping(patience=2, baseline=0.5)
    _, _, ran = fit([es], losses(0.9, 0.8, 0.85, 0.9, 0.95))
    assert ran == 3 and es.stopped_epoch == 2
    es = EarlyStopping(patience=2)
    _, _, ran = fit([es], losses(0.9, 0.8, 0.85, 0.9, 0.95))
    assert ran == 4
    # beating the baseline restarts the counter
    es = EarlyStopping(patience=2, baseline=0.5)
    _, _, ran = fit([es], losses(0.4, 0.45, 0.3, 0.35, 0.36, 0.2))
    assert ran == 5 and es.best == 0.3


def test_early_stopping_restore_best_weights_copies():
    es = EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    model, _, ran = fit([es], losses(1.0, 0.5, 0.7, 0.8, 0.1))
    assert ran == 4 and es.best_epoch == 1
    # the fake model overwrites its arrays in place every epoch: without copies
    # the kept "best" arrays would be the last epoch's
    np.testing.assert_array_equal(model.W, np.full((2, 3), 1.0))
    np.testing.assert_array_equal(model.b, np.full((2, 1), -1.0))
    assert all(kept is not live for kept, live in zip(es.best_weights, model.get_weights()))


def test_early_stopping_restores_without_stop_and_prints(capsys):
    es = EarlyStopping(patience=5, restore_best_weights=True, verbose=1)
    model, _, ran = fit([es], losses(1.0, 0.2, 0.3))
    assert ran == 3 and model.W[0, 0] == 1.0
    out = capsys.readouterr().out
    assert "best epoch: 2" in out and "early stopping" not in out
    es = EarlyStopping(patience=0, verbose=1)
    fit([es], losses(1.0, 2.0))
    assert "Epoch 2: early stopping" in capsys.readouterr().out


def test_early_stopping_start_from_epoch():
    es = EarlyStopping(patience=1, start_from_epoch=3)
    _, _, ran = fit([es], losses(1.0, 2.0, 3.0, 4.0, 3.5, 3.6, 3.7))
    assert ran == 6 and es.best == 3.5 and es.best_epoch == 4


def test_early_stopping_missing_monitor_warns():
    es = EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(RuntimeWarning, match=r"val_loss.*available metrics: loss, accuracy"):
        model, _, ran = fit([es], [{"loss": v, "accuracy": 0.5} for v in (1.0, 2.0, 3.0)])
    assert ran == 3 and not model.stop_training and es.best is None


def test_early_stopping_nan_is_no_improvement():
    es = EarlyStopping(patience=1)
    _, _, ran = fit([es], losses(1.0, math.nan, 0.5))
    assert ran == 2 and es.best == 1.0


def test_early_stopping_resets_on_train_begin():
    es = EarlyStopping(patience=0)
    fit([es], losses(1.0, 2.0))
    model, _, ran = fit([es], losses(5.0, 4.0, 3.0))
    assert ran == 3 and es.best == 3.0 and es.stopped_epoch == 0


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"mode": "bigger"}, ValueError, "mode"),
    ({"patience": -1}, ValueError, "patience"),
    ({"patience": 1.5}, TypeError, "patience"),
    ({"min_delta": math.inf}, ValueError, "min_delta"),
    ({"min_delta": "0.1"}, TypeError, "min_delta"),
    ({"baseline": math.nan}, ValueError, "baseline"),
    ({"start_from_epoch": -2}, ValueError, "start_from_epoch"),
    ({"monitor": None}, TypeError, "monitor"),
])
def test_early_stopping_rejects(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        EarlyStopping(**kwargs)


# --------------------------------------------------------------------------- LearningRateScheduler

def test_lr_scheduler_two_and_one_arg():
    seen = []
    lrs = LearningRateScheduler(lambda epoch, lr: seen.append(lr) or lr * 0.5)
    model, cbs, _ = fit([lrs], losses(1, 1, 1))
    assert seen == [0.1, 0.05, 0.025]
    assert cbs.history.history["learning_rate"] == [0.05, 0.025, 0.0125]
    assert model.optimizer.learning_rate == 0.0125

    lrs = LearningRateScheduler(lambda epoch: 1.0 / (1 + epoch))
    model, cbs, _ = fit([lrs], losses(1, 1, 1))
    assert cbs.history.history["learning_rate"] == [1.0, 0.5, 1 / 3]

    def default_arg(epoch, lr=None, *, scale=2):
        return 0.01 * scale
    model, cbs, _ = fit([LearningRateScheduler(default_arg)], losses(1))
    assert cbs.history.history["learning_rate"] == [0.02]


def test_lr_scheduler_stores_python_float():
    model, _, _ = fit([LearningRateScheduler(lambda e: np.float32(0.5) if e else 1)],
                      losses(1, 1))
    assert type(model.optimizer._lr) is float and model.optimizer._lr == 0.5


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.0, -0.1, None, "0.1", True,
                                 np.array([0.1, 0.2])])
def test_lr_scheduler_rejects_bad_values(bad):
    lrs = LearningRateScheduler(lambda epoch, lr: bad)
    with pytest.raises(ValueError, match="schedule must return a finite positive"):
        fit([lrs], losses(1))


def test_lr_scheduler_errors():
    with pytest.raises(TypeError, match="schedule must be callable"):
        LearningRateScheduler(0.1)
    model = FakeModel()
    model.optimizer = None
    with pytest.raises(ValueError, match="optimizer"):
        fit([LearningRateScheduler(lambda e: 0.1)], losses(1), model=model)

    def broken(epoch, lr):
        raise TypeError("bug in the schedule")
    with pytest.raises(TypeError, match="bug in the schedule"):  # not masked
        fit([LearningRateScheduler(broken)], losses(1))


def test_lr_scheduler_verbose(capsys):
    fit([LearningRateScheduler(lambda e: 0.5, verbose=1)], losses(1))
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.5." in \
        capsys.readouterr().out


# --------------------------------------------------------------------------- ModelCheckpoint

def test_checkpoint_every_epoch(tmp_path):
    path = tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.3f}.npz"
    model, _, _ = fit([ModelCheckpoint(path)], losses(0.5, 0.75, 0.25))
    assert sorted(os.listdir(tmp_path / "ckpt")) == [
        "model-01-0.500.npz", "model-02-0.750.npz", "model-03-0.250.npz"]


def test_checkpoint_save_best_only(tmp_path, capsys):
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}.npz"), save_best_only=True, verbose=1)
    model, _, _ = fit([ckpt], losses(0.5, 0.75, 0.25, 0.3))
    assert [os.path.basename(p) for p in model.saved] == ["m-1.npz", "m-3.npz"]
    assert ckpt.best == 0.25 and ckpt.last_path == model.saved[-1]
    out = capsys.readouterr().out
    assert "val_loss improved from 0.50000 to 0.25000" in out
    assert "Epoch 4: val_loss did not improve from 0.25000" in out

    ckpt = ModelCheckpoint(str(tmp_path / "best.npz"), monitor="val_accuracy",
                           save_best_only=True)
    model, _, _ = fit([ckpt], losses(0.5, 0.4, 0.6, key="val_accuracy"))
    assert ckpt.mode == "max" and len(model.saved) == 2 and ckpt.best == 0.6


def test_checkpoint_initial_threshold_and_missing_monitor(tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "m.npz"), save_best_only=True,
                           initial_value_threshold=0.3)
    model, _, _ = fit([ckpt], losses(0.5, 0.4, 0.2))
    assert len(model.saved) == 1
    ckpt = ModelCheckpoint(str(tmp_path / "m.npz"), save_best_only=True)
    with pytest.warns(RuntimeWarning, match="val_loss.*available metrics: loss"):
        model, _, _ = fit([ckpt], losses(0.5, key="loss"))
    assert model.saved == []


def test_checkpoint_batch_frequency(tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "m-{epoch}-{batch}.npz"), save_freq=3)
    model, cbs, _ = fit([ckpt], losses(1, 1), steps=4)
    assert cbs.needs_batch_hooks
    # 8 batches, a save after every 3rd
    assert [os.path.basename(p) for p in model.saved] == ["m-1-3.npz", "m-2-2.npz"]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match="filepath .* uses the field 'val_acc'"):
        fit([ModelCheckpoint(str(tmp_path / "m-{val_acc}.npz"))], losses(1))
    with pytest.raises(ValueError, match="filepath"):
        ModelCheckpoint("m-{epoch.npz")
    with pytest.raises(TypeError, match="filepath"):
        ModelCheckpoint(None)
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.npz", save_freq="batch")
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.npz", save_freq=0)
    with pytest.raises(ValueError, match="mode"):
        ModelCheckpoint("m.npz", mode="best")


# --------------------------------------------------------------------------- CSVLogger

def test_csv_logger_content_and_flush(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    cbs = CallbackList([logger], verbose=0)
    cbs.on_train_begin()
    cbs.on_epoch_end(0, {"val_loss": 0.5, "loss": 0.25, "accuracy": np.float32(0.75)})
    assert path.read_text() == "epoch,accuracy,loss,val_loss\n0,0.75,0.25,0.5\n"  # flushed
    cbs.on_epoch_end(1, {"loss": 0.125, "accuracy": 0.875})
    cbs.on_train_end()
    assert path.read_text().splitlines() == [
        "epoch,accuracy,loss,val_loss", "0,0.75,0.25,0.5", "1,0.875,0.125,NA"]
    assert logger._file is None


def test_csv_logger_separator_append_and_new_keys(tmp_path):
    path = tmp_path / "log.tsv"
    fit([CSVLogger(path, separator="\t")], losses(0.5, 0.25, key="loss"))
    with pytest.warns(RuntimeWarning, match="val_loss"):
        fit([CSVLogger(path, separator="\t", append=True)],
            [{"loss": 0.1}, {"loss": 0.05, "val_loss": 0.2}])
    assert path.read_text().splitlines() == [
        "epoch\tloss", "0\t0.5", "1\t0.25", "0\t0.1", "1\t0.05"]
    fit([CSVLogger(path, separator="\t")], losses(0.75, key="loss"))
    assert path.read_text() == "epoch\tloss\n0\t0.75\n"


def test_csv_logger_rejects():
    with pytest.raises(ValueError, match="separator"):
        CSVLogger("x.csv", separator=", ")
    with pytest.raises(TypeError, match="filename"):
        CSVLogger(3)


# --------------------------------------------------------------------------- TerminateOnNaN

@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_terminate_on_nan_epoch(bad, capsys):
    model, _, ran = fit([TerminateOnNaN()], losses(1.0, bad, 0.5, key="loss"))
    assert ran == 2 and model.stop_training
    assert "Epoch 2: invalid loss" in capsys.readouterr().out


def test_terminate_on_nan_batch_and_finite():
    model, cbs, ran = fit([TerminateOnNaN()], losses(1.0, 0.5, key="loss"))
    assert ran == 2 and not model.stop_training and not cbs.needs_batch_hooks
    model = FakeModel()
    cb = TerminateOnNaN()
    cb.set_model(model)
    cb.on_train_batch_end(3, {"loss": 0.5})
    assert not model.stop_training
    cb.on_train_batch_end(4, {"loss": np.float32("nan")})
    assert model.stop_training


# --------------------------------------------------------------------------- LambdaCallback

def test_lambda_callback():
    events = []
    cb = LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                        on_epoch_end=lambda epoch, logs: events.append((epoch, logs["loss"])),
                        on_train_batch_end=lambda batch, logs: events.append(batch),
                        on_test_end=lambda logs: events.append("test"))
    _, cbs, _ = fit([cb], losses(0.5, 0.25, key="loss"), steps=2)
    cbs.on_test_end({})
    assert cbs.needs_batch_hooks
    assert events == ["begin", 0, 1, (0, 0.5), 0, 1, (1, 0.25), "test"]


def test_lambda_callback_rejects():
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        LambdaCallback(on_epoch_end=3)
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_middle'"):
        LambdaCallback(on_epoch_middle=print)


# --------------------------------------------------------------------------- progress output

class CountingStream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty
        self.writes = 0

    def isatty(self):
        return self.tty

    def write(self, s):
        self.writes += 1
        return super().write(s)


EPOCH_LOGS = [{"loss": 0.23141, "accuracy": 0.94, "val_loss": 0.3, "val_accuracy": 0.9},
              {"loss": 0.1, "accuracy": 0.95, "val_loss": 0.25, "val_accuracy": 0.91},
              {"loss": 0.05, "accuracy": 0.97, "val_loss": 0.2, "val_accuracy": 1e-5}]


def test_progbar_logger_verbose1_non_tty():
    out = CountingStream(tty=False)
    logger = ProgbarLogger(stream=out)
    _, cbs, _ = fit([logger], EPOCH_LOGS, verbose=1, steps=47)
    assert cbs.progbar is logger
    lines = out.getvalue().split("\n")
    assert "\r" not in out.getvalue() and lines[-1] == ""
    assert lines[0] == "Epoch 1/3" and lines[2] == "Epoch 2/3" and lines[4] == "Epoch 3/3"
    assert lines[1].startswith("47/47 [" + "=" * 30 + "] - ")
    assert "s/step - loss: 0.2314 - accuracy: 0.9400 - val_loss: 0.3000 - " \
           "val_accuracy: 0.9000" in lines[1]
    assert lines[5].endswith("val_accuracy: 1.0000e-05")
    assert out.writes == 6  # a header and a final line per epoch, nothing per batch


def test_progbar_logger_verbose2():
    out = CountingStream(tty=True)
    _, cbs, _ = fit([ProgbarLogger(stream=out)], EPOCH_LOGS, verbose=2, steps=47)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and out.writes == 3 and "\r" not in out.getvalue()
    assert lines[0].startswith("Epoch 1/3 - ") and lines[2].startswith("Epoch 3/3 - ")
    assert lines[0].endswith("s - loss: 0.2314 - accuracy: 0.9400 - val_loss: 0.3000 - "
                             "val_accuracy: 0.9000")


def test_progbar_logger_verbose0_is_silent(capsys):
    out = CountingStream(tty=True)
    fit([ProgbarLogger(verbose=0, stream=out)], EPOCH_LOGS, verbose=1)
    assert out.writes == 0
    fit([], EPOCH_LOGS, verbose=0)  # no logger at all
    assert capsys.readouterr().out == ""


def test_progbar_logger_default_stream_is_stdout(capsys):
    fit([], EPOCH_LOGS[:1], verbose=1, steps=5)
    out = capsys.readouterr().out
    assert out.startswith("Epoch 1/1\n5/5 [") and "loss: 0.2314" in out


def test_progbar_logger_tty_redraws_are_throttled():
    out = CountingStream(tty=True)
    logger = ProgbarLogger(stream=out, interval=3600)
    logger.set_params({"epochs": 1, "steps": 100_000, "verbose": 1})
    logger.on_epoch_begin(0)
    for step in range(1, 100_001):
        logger.update(step, {"loss": 0.5})
    logger.on_epoch_end(0, {"loss": 0.25, "val_loss": 0.5})
    # header, the first draw, the final line
    assert out.writes == 3
    text = out.getvalue()
    assert text.startswith("Epoch 1/1\n\r     1/100000 [") and "ETA: " in text
    final = text.split("\r")[-1]
    assert final.startswith("100000/100000 [") and final.endswith("val_loss: 0.5000\n")

    out = CountingStream(tty=True)
    logger = ProgbarLogger(stream=out)  # default interval 0.05 s
    logger.set_params({"epochs": 1, "steps": 100_000, "verbose": 1})
    logger.on_epoch_begin(0)
    for step in range(1, 100_001):
        logger.update(step, {"loss": 0.5})
    logger.on_epoch_end(0, {"loss": 0.25})
    assert out.writes < 200


def test_progbar_tty_pads_shorter_lines():
    out = CountingStream(tty=True)
    bar = Progbar(10, width=10, interval=0, stream=out)
    bar.update(1, {"loss": 123456.0})
    bar.update(2, {"loss": 1.0})
    first, second = out.getvalue().split("\r")[1:]
    assert len(second) == len(first)
    assert second.startswith(" 2/10 [=>........] - ETA: ")
    bar.update(10)
    assert out.getvalue().endswith("loss: 1.0000\n")
    bar.update(10)  # finalized once
    assert out.writes == 3


def test_progbar_unknown_target_and_errors():
    out = io.StringIO()
    bar = Progbar(None, stream=out, dynamic=True, interval=0)
    bar.update(7, [("loss", 0.5)])
    assert "7/Unknown" in out.getvalue()
    bar.update(9, finalize=True)
    assert out.getvalue().split("\r")[-1].startswith("9/9 [")
    with pytest.raises(ValueError, match="target"):
        Progbar(-1)
    with pytest.raises(ValueError, match="interval"):
        Progbar(3, interval=-1.0)


def test_format_helpers():
    assert pbm._format_value(0.23141) == "0.2314"
    assert pbm._format_value(0) == "0.0000"
    assert pbm._format_value(1e-5) == "1.0000e-05"
    assert pbm._format_value(math.nan) == "nan"
    assert pbm._format_duration(0.123) == "0.12s"
    assert pbm._format_duration(125) == "2m 05s"
    assert pbm._format_duration(3723) == "1h 02m 03s"
    assert pbm._format_eta(65) == "1:05" and pbm._format_eta(3725) == "1:02:05"
    assert pbm._format_per_unit(0.0025, "step") == "2ms/step"
    assert pbm._format_per_unit(2e-5, "step") == "20us/step"


def test_model_checkpoint_threshold_is_named_and_starts_best():
    from fastdnn.callbacks import ModelCheckpoint

    with pytest.raises(TypeError, match="initial_value_threshold"):
        ModelCheckpoint("m.npz", initial_value_threshold="x")
    with pytest.raises(ValueError, match="initial_value_threshold"):
        ModelCheckpoint("m.npz", initial_value_threshold=float("nan"))
    assert ModelCheckpoint("m.npz").best == np.inf
    assert ModelCheckpoint("m.npz", monitor="val_accuracy").best == -np.inf
    assert ModelCheckpoint("m.npz", initial_value_threshold=0.3).best == 0.3
