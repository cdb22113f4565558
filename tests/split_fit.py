"""Shared by the split-step tests (tests/test_column_step.py, tests/test_unit_step.py):
their data and a fit that keeps the compiled plan it trained with."""
import numpy as np

import fastdnn
from fastdnn import _training
from fastdnn._kernels import _network
from fastdnn.losses import Huber
from fastdnn.models import Sequential


def make_data(loss, n_out, n_x, m=512, dtype=np.float64):
    """X (m, n_x), targets for the loss and n_out outputs, and sample weights."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(m, n_x)).astype(dtype)
    if n_out == 1:
        y = (X[:, 0] + X[:, 1] > 0).astype(dtype)
    elif loss == "mse" or isinstance(loss, Huber):
        y = np.tanh(X[:, :n_out]).astype(dtype)
    else:
        y = rng.integers(0, n_out, size=m)
    w = rng.uniform(0.2, 2.0, size=m).astype(dtype)
    return X, y, w


def capture_plans(monkeypatch):
    """A list that receives the compiled plan (or None) of every fit from now on."""
    plans = []
    select = _training.select

    def capture(*args, **kwargs):
        trainer, why = select(*args, **kwargs)
        plans.append(getattr(trainer, "plan", None))
        return trainer, why
    monkeypatch.setattr(_training, "select", capture)
    return plans


def fit_case(case, n_x, dtype, limit, threads, monkeypatch, epochs=3):
    """Fit case = (layers, loss, optimizer, metrics, weighted, fit options) in batches of
    256 with the column-step limit `limit` (None: as it is) on `threads` threads; returns
    the weights, the batch losses, the history and the plan."""
    layers, loss, optimizer, metrics, weighted, options = case
    plans = capture_plans(monkeypatch)
    model = Sequential(layers(), dtype=np.dtype(dtype).name, seed=0)
    n_out = model.layers[-1].units
    X, y, w = make_data(loss, n_out, n_x, dtype=dtype)
    model.compile(optimizer(), loss, metrics)
    before = _network.column_step_limit(limit)
    fastdnn.set_num_threads(threads)
    try:
        h = model.fit(X, y, epochs=epochs, batch_size=256, seed=0, verbose=0,
                      sample_weight=w if weighted else None, **options)
    finally:
        fastdnn.set_num_threads(None)
        _network.column_step_limit(before)
    assert h.engine == "compiled"
    return model.get_weights(), h.batch_loss, h.history, plans[-1]
