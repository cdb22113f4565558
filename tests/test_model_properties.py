"""Model-level properties, drawn by hypothesis: fit, save, load, predict.

Each example draws a small model (an optional ``Normalizer`` first, 1 to 3 ``Dense``
layers of 1 to 8 units, an optional ``Dropout``), its hidden activations, an output
layer and loss that fit together, the targets in a form the loss accepts, an
optimizer with a small learning rate (a number or a schedule, with or without L2 on
the kernels), a dtype, small random data (1 to 40 examples), a batch size, a
validation split or validation data, shuffling, callbacks and an engine. It trains
for 1 to 3 epochs, saves the model to a temporary file, loads it with
``fastdnn.load_model`` and predicts on the same ``X``. The properties:

- ``fit`` either trains or raises ``ValueError`` / ``TypeError``, and raises only for
  what the API documents as invalid (a ``validation_split`` that leaves no
  validation or no training example; ``engine="compiled"`` for a model the compiled
  loop cannot train; ``ReduceLROnPlateau`` with a learning-rate schedule);
- ``fit(engine="auto")`` takes the compiled loop exactly when the model has no piece
  the docs name as an obstacle (a ``Dropout``, a softmax on a hidden layer, a loss
  not fused with its output, a callback run after every mini-batch, ``X`` of integers);
- the weights are finite unless the loss stopped being finite (plain gradient descent
  at the larger learning rates does diverge on some of the data drawn here);
- the loaded model has the saved model's weights and predicts exactly (bit for bit,
  NaN where NaN) what the saved model predicts, in the model's dtype, with and without
  ``batch_size``; it evaluates to the same loss and metrics; one more epoch of
  training takes both models to the same weights;
- the last checkpoint of ``ModelCheckpoint`` predicts what the model does when it
  was written at the last epoch's end; ``CSVLogger`` wrote one row per epoch; no
  save leaves a temporary file behind.

The examples are derandomized (the same ones on every run, for CI) and the count
keeps this file near 40 s on a 2-core machine; ``FASTDNN_PROPERTY_EXAMPLES=n`` runs
more locally.
"""
from __future__ import annotations

import csv
import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

import fastdnn
from fastdnn import activations, metrics, optimizers
from fastdnn.callbacks import (CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint,
                               ReduceLROnPlateau, TerminateOnNaN)
from fastdnn.layers import Dense, Dropout, Input, Normalizer
from fastdnn.models import Sequential
from fastdnn.regularizers import L2
from fastdnn.schedules import ExponentialDecay, InverseTimeDecay, StepDecay

EXAMPLES = int(os.environ.get("FASTDNN_PROPERTY_EXAMPLES", "1500"))
PROPERTIES = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      print_blob=True,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# every activation of the registry may be a hidden layer's (a hidden softmax trains on the
# layer path; fastdnn._training.compiled_obstacles says so)
HIDDEN_ACTIVATIONS = activations.names()
# every name fastdnn.optimizers.get takes (their default hyperparameters)
OPTIMIZER_NAMES = sorted(optimizers._REGISTRY)
METRIC_NAMES = metrics.names()
# (output activation, loss): the fused pairs of fastdnn.losses and the other pairs the
# layer path trains (mse through any output's own derivative, as tests/test_models.py does)
OUTPUT_LOSS_PAIRS = [
    ("sigmoid", "binary_crossentropy"),
    ("softmax", "categorical_crossentropy"),
    ("linear", "mse"),
    ("tanh", "mse"), ("sigmoid", "mse"), ("relu", "mse"), ("leaky_relu", "mse"),
    ("softmax", "mse"),
    ("linear", "mae"), ("tanh", "huber"), ("linear", "log_cosh"), ("sigmoid", "log_cosh"),
]
# names and aliases fastdnn.losses.get accepts for each loss
LOSS_NAMES = {
    "binary_crossentropy": ["binary_crossentropy", "log_loss", "BinaryCrossentropy"],
    "categorical_crossentropy": ["categorical_crossentropy", "CategoricalCrossentropy"],
    "mse": ["mse", "mean_squared_error", "MeanSquaredError"],
    "mae": ["mae", "mean_absolute_error", "MeanAbsoluteError"],
    "huber": ["huber", "Huber"],
    "log_cosh": ["log_cosh", "logcosh", "LogCosh"],
}


@dataclass
class Case:
    """One drawn example: everything needed to build, compile and fit a model."""
    dtype: Any
    m: int
    n: int
    data_seed: int
    x_dtype: Any
    x_order: str
    x_scale: float
    input_kind: str                 # "Input", "input_dim" or "none" (taken from fit)
    normalizer: str                 # "none", "adapted" or "plain" (mean 0, variance 1)
    hidden: list                    # [(units, activation config)]
    output: str
    loss: str
    loss_name: str
    k: int                          # output units
    target_form: str
    dropout: tuple | None           # (position among the Dense layers, rate)
    lam: float | None               # L2 strength on every Dense kernel
    optimizer: str
    learning_rate: float
    schedule: str                   # "none", "inverse", "exponential", "step"
    metrics: list
    model_seed: int | None
    fit_seed: int | None
    epochs: int
    batch_size: int | None
    validation: str                 # "none", "split", "data"
    split: float
    m_val: int
    shuffle: bool
    engine: str
    callbacks: dict = field(default_factory=dict)
    predict_batch: int | None = None

    # ---------------------------------------------------------------- derived facts
    @property
    def n_val_split(self) -> int:
        return int(math.floor(self.m * self.split)) if self.validation == "split" else 0

    @property
    def has_validation(self) -> bool:
        """validation_split=0.0 is fit's default: no validation."""
        return self.validation == "data" or (self.validation == "split" and self.split > 0)

    def obstacles(self) -> list:
        """What keeps this model out of the compiled loop (README: "Models the loop does
        not cover (Dropout, per-batch callbacks, ...)"; ARCHITECTURE.md: "a softmax on a
        hidden layer"; a softmax output runs there with categorical cross-entropy only, any
        other output with any loss, as fastdnn._training.compiled_obstacles says; X of a dtype
        other than float32/float64 trains on the layer path)."""
        found = []
        if np.dtype(self.x_dtype) not in (np.float32, np.float64):
            found.append("X is not float32/float64")
        if self.dropout is not None:
            found.append("a Dropout layer")
        if any(act["name"] == "softmax" for _, act in self.hidden):
            found.append("a hidden softmax")
        if self.output == "softmax" and self.loss != "categorical_crossentropy":
            found.append("a softmax output with a loss other than categorical cross-entropy")
        ckpt = self.callbacks.get("checkpoint")
        if ckpt and ckpt["save_freq"] != "epoch":
            found.append("a callback run after every mini-batch")
        return found

    def expected_error(self) -> type | None:
        """The exception the API documents for this combination, or None."""
        if self.validation == "split" and self.split > 0 and self.n_val_split in (0, self.m):
            return ValueError    # fit_data: the split leaves no validation/training example
        if self.engine == "compiled" and self.obstacles():
            return ValueError    # engine="compiled" names every reason it cannot train
        if "reduce_lr" in self.callbacks and self.schedule != "none":
            return TypeError     # ReduceLROnPlateau needs a number as the learning rate
        return None

    def expected_engine(self) -> str:
        if self.engine == "auto":
            return "python" if self.obstacles() else "compiled"
        return self.engine


# -------------------------------------------------------------------- strategies

def _monitors(validation: str, metric_names: list) -> list:
    keys = ["loss"] + metric_names
    if validation != "none":
        keys += ["val_" + k for k in keys]
    return keys


@st.composite
def cases(draw) -> Case:
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    m = draw(st.integers(1, 40))
    n = draw(st.integers(1, 5))
    n_dense = draw(st.integers(1, 3))
    hidden = []
    for _ in range(n_dense - 1):
        name = draw(st.sampled_from(HIDDEN_ACTIVATIONS))
        config = {"name": name}
        if name == "leaky_relu" and draw(st.booleans()):
            config["alpha"] = draw(st.sampled_from([0.0, 0.2, 0.5]))
        hidden.append((draw(st.integers(1, 8)), config))
    output, loss = draw(st.sampled_from(OUTPUT_LOSS_PAIRS))
    if loss == "binary_crossentropy":
        k = draw(st.integers(1, 3))
        forms = ["labels", "column", "bool", "soft"] if k == 1 else ["multi", "soft"]
    elif loss == "categorical_crossentropy":
        k = draw(st.integers(1, 4))
        # integer labels (m,), also (m, 1) when there are several units; one-hot or
        # probability rows (m, k) (CategoricalCrossentropy.prepare_targets)
        forms = ["int", "int32", "float_int", "onehot", "proba"] + (["column"] if k > 1 else [])
    else:
        k = draw(st.integers(1, 3))
        forms = ["vector", "column"] if k == 1 else ["matrix"]
    validation = draw(st.sampled_from(["none", "split", "data"]))
    metric_names = draw(st.lists(st.sampled_from(METRIC_NAMES), max_size=2, unique=True))
    monitors = _monitors(validation, metric_names)
    schedule = draw(st.sampled_from(["none", "none", "inverse", "exponential", "step"]))

    callbacks = {}
    if draw(st.booleans()):
        callbacks["early_stopping"] = dict(
            monitor=draw(st.sampled_from(monitors)), patience=draw(st.integers(0, 2)),
            min_delta=draw(st.sampled_from([0.0, 1e-3])),
            restore_best_weights=draw(st.booleans()))
    if draw(st.integers(0, 2)) == 0:
        callbacks["reduce_lr"] = dict(
            monitor=draw(st.sampled_from(monitors)), factor=draw(st.sampled_from([0.1, 0.5])),
            patience=draw(st.integers(0, 1)), cooldown=draw(st.integers(0, 1)),
            min_lr=draw(st.sampled_from([0.0, 1e-5])))
    if draw(st.booleans()):
        callbacks["checkpoint"] = dict(
            monitor=draw(st.sampled_from(monitors)), save_best_only=draw(st.booleans()),
            save_freq=draw(st.sampled_from(["epoch", "epoch", 1, 2])),
            pattern=draw(st.sampled_from(["ckpt.npz", "ckpt/m-{epoch:02d}.npz"])))
    if draw(st.booleans()):
        callbacks["csv"] = dict(append=draw(st.booleans()))
    if draw(st.booleans()):
        callbacks["terminate_on_nan"] = {}
    if draw(st.booleans()):
        callbacks["lr_scheduler"] = dict(two_args=draw(st.booleans()),
                                         factor=draw(st.sampled_from([0.5, 0.9, 1.0])))
    order = draw(st.permutations(list(callbacks)))
    callbacks = {name: callbacks[name] for name in order}

    model_seed = draw(st.one_of(st.none(), st.integers(0, 1000)))
    return Case(
        dtype=dtype, m=m, n=n, data_seed=draw(st.integers(0, 2**32 - 1)),
        # README: X float32, float64 or ints, C or F order (views are not copied)
        x_dtype=draw(st.sampled_from([np.float32, np.float64, np.float32, np.float64,
                                      np.int64, np.int32])),
        x_order=draw(st.sampled_from(["C", "F", "strided"])),
        # large inputs make plain gradient descent diverge now and then
        x_scale=draw(st.sampled_from([1.0, 3.0, 30.0])),
        input_kind=draw(st.sampled_from(["Input", "input_dim", "none"])),
        normalizer=draw(st.sampled_from(["none", "adapted", "plain"])),
        hidden=hidden, output=output, loss=loss,
        loss_name=draw(st.sampled_from(LOSS_NAMES[loss])), k=k,
        target_form=draw(st.sampled_from(forms)),
        dropout=(draw(st.tuples(st.integers(0, n_dense), st.sampled_from([0.0, 0.2, 0.5])))
                 if draw(st.booleans()) else None),
        lam=draw(st.sampled_from([None, None, 0.0, 0.01, 0.3])),
        optimizer=draw(st.sampled_from(OPTIMIZER_NAMES)),
        # small rates; 0.5 now and then, so that the divergence checks run too
        learning_rate=draw(st.sampled_from([1e-4, 1e-3, 1e-2, 5e-2, 1e-3, 1e-2, 0.5])),
        schedule=schedule, metrics=metric_names,
        model_seed=model_seed,
        # without any seed the weights would differ from run to run: an example that
        # fails must fail again
        fit_seed=draw(st.one_of(st.none(), st.integers(0, 1000)) if model_seed is not None
                      else st.integers(0, 1000)),
        epochs=draw(st.integers(1, 3)),
        batch_size=draw(st.one_of(st.none(), st.integers(1, m))),
        validation=validation,
        split=draw(st.one_of(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9]),
                             st.floats(0.0, 1.0, exclude_max=True))),
        m_val=draw(st.integers(1, 8)),
        shuffle=draw(st.booleans()),
        engine=draw(st.sampled_from(["auto", "auto", "auto", "python", "python", "compiled"])),
        callbacks=callbacks,
        predict_batch=draw(st.one_of(st.none(), st.integers(1, 40))),
    )


# -------------------------------------------------------------------- building

def make_X(case: Case, rng: np.random.Generator, rows: int) -> np.ndarray:
    X = rng.normal(size=(rows, case.n)) * case.x_scale + rng.normal(size=case.n)
    if np.dtype(case.x_dtype).kind == "i":
        X = np.round(X)
    if case.x_order == "strided":     # every other row and column of a larger array
        big = np.zeros((2 * rows, 2 * case.n), dtype=case.x_dtype)
        big[::2, ::2] = X
        return big[::2, ::2]
    return np.asarray(X, dtype=case.x_dtype, order=case.x_order)


def make_y(case: Case, rng: np.random.Generator, rows: int) -> np.ndarray:
    k, form = case.k, case.target_form
    if case.loss == "binary_crossentropy":
        labels = rng.integers(0, 2, size=(rows, k))
        if form == "labels":
            return labels[:, 0]
        if form == "column":
            return labels.astype(np.float32)
        if form == "bool":
            return labels[:, 0].astype(bool)
        if form == "multi":
            return labels
        return rng.uniform(0.0, 1.0, size=(rows, k))              # soft labels
    if case.loss == "categorical_crossentropy":
        labels = rng.integers(0, k, size=rows)
        if form == "int":
            return labels
        if form == "int32":
            return labels.astype(np.int32)
        if form == "float_int":
            return labels.astype(np.float64)
        if form == "column":
            return labels.reshape(-1, 1)
        if form == "onehot":
            return np.eye(k)[labels]
        z = rng.normal(size=(rows, k))                              # probability rows
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)
    y = rng.normal(size=(rows, k))
    return y[:, 0] if form == "vector" else y


def make_optimizer(case: Case):
    lr = case.learning_rate
    if case.schedule == "inverse":
        lr = InverseTimeDecay(lr, decay_rate=0.5)
    elif case.schedule == "exponential":
        lr = ExponentialDecay(lr, decay_rate=0.9)
    elif case.schedule == "step":
        lr = StepDecay(lr, drop=0.5, step_size=1)
    opt = optimizers.get(case.optimizer)
    return type(opt)(learning_rate=lr, **{k: v for k, v in opt.get_config().items()
                                          if k != "learning_rate"})


def make_model(case: Case, X: np.ndarray) -> Sequential:
    layers = []
    if case.input_kind == "Input":
        layers.append(Input(case.n))
    if case.normalizer != "none":
        norm = Normalizer()
        if case.normalizer == "adapted":
            norm.adapt(X)
        layers.append(norm)
    reg = None if case.lam is None else L2(case.lam)
    dense_specs = case.hidden + [(case.k, {"name": case.output})]
    for i, (units, act) in enumerate(dense_specs):
        if case.dropout is not None and case.dropout[0] == i:
            layers.append(Dropout(case.dropout[1]))
        extra = {"input_dim": case.n} if (i == 0 and case.input_kind == "input_dim") else {}
        layers.append(Dense(units, activation=dict(act), kernel_regularizer=reg, **extra))
    if case.dropout is not None and case.dropout[0] == len(dense_specs):
        layers.append(Dropout(case.dropout[1]))      # after the output layer
    model = Sequential(layers, dtype=case.dtype, seed=case.model_seed)
    model.compile(make_optimizer(case), case.loss_name, metrics=list(case.metrics))
    return model


def make_callbacks(case: Case, folder: str) -> tuple[list, dict]:
    made, by_name = [], {}
    for name, args in case.callbacks.items():
        if name == "early_stopping":
            cb = EarlyStopping(**args)
        elif name == "reduce_lr":
            cb = ReduceLROnPlateau(**args)
        elif name == "checkpoint":
            args = dict(args)
            pattern = args.pop("pattern")
            if args["save_freq"] != "epoch":
                pattern = pattern.replace(".npz", "-{batch:03d}.npz")
            cb = ModelCheckpoint(os.path.join(folder, pattern), **args)
        elif name == "csv":
            cb = CSVLogger(os.path.join(folder, "log.csv"), **args)
        elif name == "terminate_on_nan":
            cb = TerminateOnNaN()
        else:
            factor = args["factor"]
            if args["two_args"]:
                cb = LearningRateScheduler(lambda epoch, lr: lr * factor if epoch else lr)
            else:
                base = case.learning_rate
                cb = LearningRateScheduler(lambda epoch: base * factor ** epoch)
        made.append(cb)
        by_name[name] = cb
    return made, by_name


def weights_finite(model: Sequential) -> bool:
    return all(np.isfinite(w).all() for w in model.get_weights())


# -------------------------------------------------------------------- the property

def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical values (NaN where NaN), same dtype and shape."""
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def same_logs(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def fit_quietly(model: Sequential, X, y, **kwargs):
    """``model.fit``; returns (history, whether fit warned that training diverged).

    Other warnings (a monitor missing from the logs of a per-batch checkpoint, as in
    Keras) are not what this test is about."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(X, y, verbose=0, **kwargs)
    return history, any("diverged" in str(w.message) for w in caught)


@PROPERTIES
@given(case=cases())
def test_fit_save_load_predict(case):
    rng = np.random.default_rng(case.data_seed)
    X = make_X(case, rng, case.m)
    y = make_y(case, rng, case.m)
    kwargs = dict(batch_size=case.batch_size, shuffle=case.shuffle, engine=case.engine)
    if case.validation == "split":
        kwargs["validation_split"] = case.split
    elif case.validation == "data":
        kwargs["validation_data"] = (make_X(case, rng, case.m_val), make_y(case, rng, case.m_val))

    with tempfile.TemporaryDirectory() as folder:
        model = make_model(case, X)
        callbacks, by_name = make_callbacks(case, folder)
        expected_error = case.expected_error()
        try:
            history, warned = fit_quietly(model, X, y, epochs=case.epochs, seed=case.fit_seed,
                                          callbacks=callbacks, **kwargs)
        except (ValueError, TypeError) as exc:
            event(f"fit raised {type(exc).__name__}")
            assert expected_error is not None, f"fit raised for a valid combination: {exc!r}"
            assert isinstance(exc, expected_error), f"expected {expected_error}, got {exc!r}"
            return
        assert expected_error is None, \
            f"fit accepted what the API documents as invalid ({expected_error.__name__})"
        event(f"trained on the {history.engine} engine")

        # the engine the docs promise
        assert history.engine == case.expected_engine(), (history.engine, case.obstacles())

        # bookkeeping: no more epochs and steps than asked
        losses = history.history.get("loss", [])
        m_train = case.m - case.n_val_split
        steps = -(-m_train // min(case.batch_size or m_train, m_train))
        assert len(losses) <= case.epochs
        assert len(history.batch_loss) <= case.epochs * steps

        # finite weights unless the loss stopped being finite: during fit, or (a float32
        # update overflowing after a cost that was still finite in double precision) at
        # the weights fit ended with
        costs = np.concatenate([np.asarray(losses, float), np.asarray(history.batch_loss, float)])
        diverged = warned or not np.isfinite(costs).all()
        if not weights_finite(model) and not diverged:
            train_rows = slice(0, m_train)
            end_cost = model.evaluate(X[train_rows], y[train_rows])
            end_cost = end_cost[0] if isinstance(end_cost, list) else end_cost
            assert not math.isfinite(end_cost), "finite losses, but the weights are not finite"
            diverged = True
        if diverged:
            event("the loss diverged")
        elif not losses:
            # fit returns after a whole epoch unless the loss diverged
            raise AssertionError(f"no epoch in the history of a fit that did not diverge: "
                                 f"{history.history}")

        # save, load, predict on the same X: exactly the same outputs
        path = os.path.join(folder, "model.npz")
        model.save(path)
        loaded = fastdnn.load_model(path)
        assert loaded.dtype == model.dtype
        assert all(same(a, b) for a, b in zip(loaded.get_weights(), model.get_weights()))
        expected = model.predict(X, batch_size=case.predict_batch)
        got = loaded.predict(X, batch_size=case.predict_batch)
        assert expected.dtype == case.dtype and expected.shape == (case.m, case.k)
        assert same(got, expected), "the loaded model predicts other values"
        # the default path (no batch_size: the model's cached compiled plan) agrees too
        trained = model.predict(X)
        assert same(loaded.predict(X), trained)
        if not case.has_validation:
            assert same_logs(loaded.evaluate(X, y, return_dict=True),
                             model.evaluate(X, y, return_dict=True))

        # one more epoch takes both to the same weights (README: a loaded model "continues
        # training where it stopped": optimizer state and counters, dropout stream)
        done = len(losses)
        for twin in (model, loaded):
            fit_quietly(twin, X, y, epochs=done + 1, initial_epoch=done, seed=1, **kwargs)
        assert all(same(a, b) for a, b in zip(loaded.get_weights(), model.get_weights())), \
            "the loaded model trained to other weights than the saved one"

        # the callbacks' files
        ckpt = by_name.get("checkpoint")
        if ckpt is not None and ckpt.last_path is not None:
            again = fastdnn.load_model(ckpt.last_path)
            assert again.predict(X).shape == (case.m, case.k)
            es = by_name.get("early_stopping")
            restored = es is not None and es.restore_best_weights and es.best_weights is not None
            if ckpt.save_freq == "epoch" and not ckpt.save_best_only and not restored \
                    and not diverged:
                # written at the end of the last epoch: the model as fit left it
                assert same(again.predict(X), trained)
        if "csv" in by_name:
            with open(os.path.join(folder, "log.csv"), newline="") as f:
                rows = list(csv.reader(f))
            assert len(rows) == (1 + len(losses) if losses else 0)
            assert not rows or rows[0][0] == "epoch"
        leftovers = [name for _, _, names in os.walk(folder) for name in names
                     if name.endswith(".tmp")]
        assert not leftovers, leftovers


@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_fit_does_not_return_infinite_weights_silently(engine):
    """Found by test_fit_save_load_predict: plain gradient descent diverging on a linear
    float32 network, whose last update overflows the weights after a cost still finite in
    float64 (4.7e52): fit checks the weights at the end of each epoch too, warns, and puts
    back finite ones."""
    rng = np.random.default_rng(39)
    X = (rng.normal(size=(11, 2)) * 3 + rng.normal(size=2)).astype(np.float32)
    y = rng.normal(size=(11, 2))
    model = Sequential([Input(2), Dense(3), Dense(2)], seed=39)
    model.compile(optimizers.GD(0.05), "mse")
    history, warned = fit_quietly(model, X, y, epochs=1, batch_size=1, shuffle=False,
                                  engine=engine)
    assert np.isfinite(history.batch_loss).all()
    assert weights_finite(model) or warned


@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_the_l2_penalty_of_large_float32_weights_is_finite_on_both_engines(engine):
    """The L2 penalty is summed in double precision everywhere: with float32 weights of
    2e19 (finite; their squares are not in float32) both engines and evaluate report the
    same finite cost, and neither takes it for a divergence."""
    X = np.ones((4, 2), np.float32)
    y = np.zeros(4)
    model = Sequential([Input(2), Dense(1, kernel_regularizer=0.1)], seed=0)
    model.compile(optimizers.GD(1e-30), "mse")
    model.build()
    model.set_weights([np.full((1, 2), 2e19, np.float32), np.zeros((1, 1), np.float32)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(X, y, epochs=1, batch_size=4, shuffle=False, verbose=0,
                            engine=engine)
        cost = model.evaluate(X, y)
    assert history.engine == engine and len(history.batch_loss) == 1
    np.testing.assert_allclose(history.batch_loss[0], cost, rtol=1e-6)
    assert math.isfinite(cost) and cost > 1e38
