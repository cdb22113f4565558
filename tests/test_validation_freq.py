"""fit(validation_freq=k): validation every k-th epoch (Keras' epoch numbering), val_ keys only
in those epochs' logs, and the callbacks that monitor or log val_ metrics coping with the
others."""
import csv
import warnings

import numpy as np
import pytest

from fastdnn import Sequential
from fastdnn.callbacks import (Callback, CSVLogger, EarlyStopping, ModelCheckpoint,
                               ReduceLROnPlateau)
from fastdnn.callbacks.monitor_callback import MonitorCallback
from fastdnn.layers import Dense


def data(m=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 4))
    y = (X[:, 0] - X[:, 2] > 0).astype(np.float64)
    return X, y


def make():
    model = Sequential([Dense(5, "tanh"), Dense(1, "sigmoid")], dtype="float64", seed=0)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model


class Logs(Callback):
    def on_train_begin(self, logs=None):
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, dict(logs)))


@pytest.mark.parametrize("engine", ["python", "compiled"])
@pytest.mark.parametrize("freq,initial", [(1, 0), (2, 0), (3, 0), (2, 1), (4, 2), (10, 0)])
def test_validates_every_kth_epoch(freq, initial, engine):
    X, y = data()
    logs = Logs()
    model = make()
    history = model.fit(X, y, epochs=7, initial_epoch=initial, verbose=0, seed=0,
                        validation_data=(X[:20], y[:20]), validation_freq=freq,
                        callbacks=[logs], engine=engine)
    validated = [e for e in range(initial, 7) if (e + 1) % freq == 0]
    assert [e for e, l in logs.epochs if "val_loss" in l] == validated
    for epoch, entry in logs.epochs:
        keys = {"val_loss", "val_accuracy"}
        assert keys <= entry.keys() if epoch in validated else not keys & entry.keys()
    assert len(history.history.get("val_loss", [])) == len(validated)
    assert len(history.history["loss"]) == 7 - initial
    # the weights do not depend on how often validation ran
    other = make()
    other.fit(X, y, epochs=7, initial_epoch=initial, verbose=0, seed=0, engine=engine)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_last_validation_matches_evaluate():
    X, y = data()
    model = make()
    history = model.fit(X, y, epochs=4, verbose=0, seed=0, validation_split=0.25,
                        validation_freq=2)
    assert len(history.history["val_loss"]) == 2
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(X[-20:], y[-20:], return_dict=True)["loss"], rel=1e-12)


@pytest.mark.parametrize("bad,error", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                       ("2", TypeError), (True, TypeError), (None, TypeError)])
def test_bad_validation_freq(bad, error):
    X, y = data()
    with pytest.raises(error, match="validation_freq must be an int >= 1"):
        make().fit(X, y, verbose=0, validation_data=(X, y), validation_freq=bad)


def test_monitors_skip_unvalidated_epochs_silently():
    X, y = data()
    model = make()
    stop = EarlyStopping(monitor="val_loss", patience=1)
    reduce = ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5)
    seen = []

    class Seen(MonitorCallback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.get_monitor_value(logs))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y, epochs=6, verbose=0, seed=0, validation_data=(X, y),
                  validation_freq=3, callbacks=[stop, reduce, Seen()])
    assert [v is None for v in seen] == [True, True, False, True, True, False]
    assert stop.wait <= 1 and not model.stop_training
    assert isinstance(stop.best, float)


def test_missing_val_metric_still_warns_without_validation():
    X, y = data()
    with pytest.warns(RuntimeWarning, match="val_loss"):
        make().fit(X, y, epochs=1, verbose=0, callbacks=[EarlyStopping(monitor="val_loss")])
    with pytest.warns(RuntimeWarning, match="val_acc"):   # a name that never comes
        make().fit(X, y, epochs=3, verbose=0, validation_data=(X, y), validation_freq=3,
                   callbacks=[EarlyStopping(monitor="val_acc")])


def test_early_stopping_counts_validated_epochs_only():
    X, y = data()
    model = make()
    # nothing improves by min_delta after the first validation
    stop = EarlyStopping(monitor="val_loss", patience=2, min_delta=1.0)
    history = model.fit(X, y, epochs=20, verbose=0, seed=0, validation_data=(X, y),
                        validation_freq=2, callbacks=[stop])
    # validations at epochs 2, 4, 6 (1-based): the third one is the second without improvement
    assert stop.stopped_epoch == 5 and len(history.history["loss"]) == 6


def test_checkpoint_best_only_saves_on_validated_epochs(tmp_path):
    X, y = data()
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make().fit(X, y, epochs=4, verbose=0, seed=0, validation_data=(X, y),
                   validation_freq=2, callbacks=[checkpoint])
    assert path.exists() and checkpoint.best is not None


def test_csv_logger_has_val_columns_from_the_first_epoch(tmp_path):
    X, y = data()
    path = tmp_path / "log.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make().fit(X, y, epochs=4, verbose=0, seed=0, validation_data=(X, y),
                   validation_freq=2, callbacks=[CSVLogger(path)])
    rows = list(csv.DictReader(open(path)))
    assert len(rows) == 4
    assert {"val_loss", "val_accuracy"} <= set(rows[0]) and "val_learning_rate" not in rows[0]
    assert [r["val_loss"] == "NA" for r in rows] == [True, False, True, False]
    assert float(rows[1]["val_loss"]) > 0
