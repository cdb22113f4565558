"""``predict`` on one example: every layer in one parallel region, each thread computing
whole cache lines of a large layer's outputs, with a barrier between layers.

Its outputs must not depend on the thread count (bit for bit) and must agree with the
NumPy reference and with the same row predicted among others.
"""
import numpy as np
import pytest

import fastdnn
from fastdnn import reference
from fastdnn.layers import Dense, Input
from fastdnn.models import Sequential

RTOL = {np.float32: 2e-5, np.float64: 1e-12}

NETS = {
    # 784 x 256 and 256 x 128 are split over the threads (2^15 weights or more)
    "mnist softmax": ([(256, "relu"), (128, "relu"), (10, "softmax")], 784, True),
    # a large output layer, split too, and a softmax over it
    "wide softmax": ([(64, "tanh"), (600, "softmax")], 100, True),
    "sigmoid, no bias": ([(300, "gelu"), (200, "sigmoid")], 150, False),
    # nothing large enough to split: the plain loop
    "small": ([(16, "relu"), (3, "linear")], 8, True),
}


def _model(name, dtype):
    layers, n_x, bias = NETS[name]
    model = Sequential([Input(n_x)] + [Dense(units, activation=act, use_bias=bias)
                                       for units, act in layers],
                       dtype=np.dtype(dtype).name, seed=0)
    model.build()
    rng = np.random.default_rng(3)
    if bias:   # biases the initializer left at 0
        model.set_weights([w if i % 2 == 0 else rng.normal(size=w.shape).astype(dtype)
                           for i, w in enumerate(model.get_weights())])
    return model, rng.normal(size=(5, n_x)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(NETS))
def test_one_example_does_not_depend_on_the_thread_count(name, dtype):
    model, X = _model(name, dtype)
    runs = []
    for threads in (1, 2, 3):
        fastdnn.set_num_threads(threads)
        try:
            runs.append([model.predict(X[i:i + 1]) for i in range(len(X))])
        finally:
            fastdnn.set_num_threads(None)
    for run in runs[1:]:
        for a, b in zip(runs[0], run):
            np.testing.assert_array_equal(b, a)
    batch = model.predict(X)
    expected = _reference(model, X)
    for i, row in enumerate(runs[0]):
        assert row.shape == (1, batch.shape[1]) and row.dtype == dtype
        np.testing.assert_allclose(row[0], batch[i], rtol=RTOL[dtype], atol=RTOL[dtype])
        np.testing.assert_allclose(row[0], expected[i], rtol=RTOL[dtype] * 10,
                                   atol=RTOL[dtype])


def _reference(model, X):
    A = X.astype(np.float64).T
    weights = model.get_weights()
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    at = 0
    for layer in dense:
        W = weights[at].astype(np.float64)
        at += 1
        b = 0.0
        if layer.use_bias:
            b = weights[at].astype(np.float64)
            at += 1
        name = layer.activation.name
        Z = W @ A + b
        A = reference.softmax(Z, axis=0) if name == "softmax" else getattr(reference, name)(Z)
    return A.T
