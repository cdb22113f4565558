"""The compiled training loop against the layer-by-layer path, allocations, memmaps."""
import gc
import os
import tracemalloc

import numpy as np
import pytest

import fastdnn
import fastdnn.models as models
from fastdnn import _training
from fastdnn.callbacks import Callback
from fastdnn.layers import Dense, Dropout, Input, Normalizer
from fastdnn.models import Sequential
from fastdnn.optimizers import GD, RMSprop, Adam, Momentum
from fastdnn.schedules import InverseTimeDecay

pytestmark = pytest.mark.usefixtures("one_blas_thread")

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
OPTIMIZERS = {"gd": lambda: GD(0.1), "momentum": lambda: Momentum(0.05),
              "rmsprop": lambda: RMSprop(0.005), "adam": lambda: Adam(0.01)}
# (loss, output activation, metrics)
LOSSES = [("binary_crossentropy", "sigmoid", ["accuracy", "binary_accuracy"]),
          ("categorical_crossentropy", "softmax", ["accuracy", "categorical_accuracy"]),
          ("mse", "linear", ["mae", "mse"]),
          ("mse", "tanh", ["mae"])]
HIDDEN = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]


@pytest.fixture
def which_path(monkeypatch):
    """Records whether each fit took the compiled path."""
    used = []
    select = _training.select

    def spy(*args, **kwargs):
        trainer, why = select(*args, **kwargs)
        used.append(trainer.engine == "compiled")
        return trainer, why
    monkeypatch.setattr(_training, "select", spy)
    return used


def data(loss, m=70, n=5, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(m, n)) * 3 + 1).astype(dtype)
    if loss == "binary_crossentropy":
        return X, (X[:, 0] > 1).astype(np.float64), 1
    if loss == "categorical_crossentropy":
        return X, rng.integers(0, 4, size=m), 4
    return X, np.tanh(X[:, :2] / 3), 2


def model_for(loss, output, hidden, n_out, dtype, lam, normalize, X, alpha_leaky=0.01):
    layers = [Input(X.shape[1])]
    if normalize:
        norm = Normalizer()
        norm.adapt(X)
        layers.append(norm)
    act = {"name": "leaky_relu", "alpha": 0.2} if hidden == "leaky_relu" else hidden
    layers += [Dense(7, activation=act, kernel_regularizer=lam or None),
               Dense(6, activation=act, kernel_regularizer=lam or None),
               Dense(n_out, activation=output, kernel_regularizer=lam or None)]
    return Sequential(layers, dtype=dtype, seed=1)


def train_both(loss, output, metrics, hidden, opt, dtype, lam, normalize, which_path,
               epochs=3, batch_size=16, **fit):
    X, y, n_out = data(loss, dtype=dtype)
    results = []
    for compiled in (True, False):
        model = model_for(loss, output, hidden, n_out, dtype, lam, normalize, X)
        model.compile(OPTIMIZERS[opt](), loss, metrics, compiled=compiled)
        h = model.fit(X, y, epochs=epochs, batch_size=batch_size, seed=3, verbose=0, **fit)
        results.append((model, h))
    assert which_path == [True, False]
    return results


def assert_same(results, dtype):
    (mc, hc), (ml, hl) = results
    for a, b in zip(mc.get_weights(), ml.get_weights()):
        np.testing.assert_allclose(a, b, rtol=RTOL[dtype], atol=RTOL[dtype])
    np.testing.assert_allclose(hc.batch_loss, hl.batch_loss, rtol=RTOL[dtype] * 10)
    assert set(hc.history) == set(hl.history)
    for key in hc.history:
        np.testing.assert_allclose(hc.history[key], hl.history[key], rtol=RTOL[dtype] * 10,
                                   err_msg=key)
    assert mc.optimizer.iterations == ml.optimizer.iterations


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("loss, output, metrics", LOSSES, ids=lambda v: str(v))
def test_compiled_equals_layer_path(loss, output, metrics, opt, dtype, which_path):
    assert_same(train_both(loss, output, metrics, "relu", opt, dtype, 0.0, False, which_path),
                dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("lam, normalize", [(0.0, True), (0.2, False), (0.2, True)])
def test_compiled_equals_layer_path_activations_l2_normalizer(hidden, lam, normalize, dtype,
                                                              which_path):
    assert_same(train_both("binary_crossentropy", "sigmoid", ["accuracy"], hidden, "adam",
                           dtype, lam, normalize, which_path), dtype)


@pytest.mark.parametrize("batch_size", [None, 1, 7, 64, 70, 500])
def test_compiled_batch_sizes(batch_size, which_path):
    assert_same(train_both("categorical_crossentropy", "softmax", ["accuracy"], "tanh",
                           "momentum", np.float64, 0.0, True, which_path, epochs=2,
                           batch_size=batch_size), np.float64)


def test_compiled_schedules_validation_and_no_shuffle(which_path):
    X, y, n_out = data("binary_crossentropy")
    results = []
    for compiled in (True, False):
        model = model_for("binary_crossentropy", "sigmoid", "relu", 1, np.float64, 0.0, False, X)
        model.compile(GD(InverseTimeDecay(0.5, 1.0)), "binary_crossentropy", ["accuracy"],
                      compiled=compiled)
        h = model.fit(X, y, epochs=4, batch_size=9, shuffle=False, validation_split=0.2,
                      verbose=0)
        results.append((model, h))
    assert which_path == [True, False]
    assert_same(results, np.float64)


@pytest.mark.parametrize("xdtype, order", [(np.float32, "F"), (np.float64, "C"),
                                           (np.float64, "F")])
def test_compiled_reads_any_float_layout(xdtype, order, which_path):
    X, y, n_out = data("binary_crossentropy", dtype=np.float64)
    X = np.round(X * 8) / 8          # exact in float32 too
    ref = None
    for Xv in (X.astype(np.float32), np.asarray(X, dtype=xdtype, order=order)):
        model = model_for("binary_crossentropy", "sigmoid", "relu", 1, np.float32, 0.0, True, X)
        model.compile(Adam(0.01), "binary_crossentropy")
        model.fit(Xv, y, epochs=2, batch_size=8, seed=0, verbose=0)
        if ref is None:
            ref = model.get_weights()
        else:
            for a, b in zip(ref, model.get_weights()):
                np.testing.assert_array_equal(a, b)
    assert all(which_path)


@pytest.mark.parametrize("batch_size", [8, 70])
def test_unshuffled_rows_read_in_place_train_like_gathered_ones(batch_size, which_path,
                                                                monkeypatch):
    """Without shuffling or a Normalizer, batches of a C-ordered X of the model's dtype
    are read where they lie; other layouts are gathered. Same weights, X untouched."""
    trainers = []
    select = _training.select

    def capture(*args, **kwargs):
        trainer, why = select(*args, **kwargs)
        trainers.append(trainer)
        return trainer, why
    monkeypatch.setattr(_training, "select", capture)
    X, y, n_out = data("categorical_crossentropy", dtype=np.float64)
    X = np.round(X * 8) / 8          # exact in float32 too
    runs, in_place = [], []
    for Xv in (X.astype(np.float32), np.asfortranarray(X, dtype=np.float32), X):
        before = Xv.copy()
        model = model_for("categorical_crossentropy", "softmax", "relu", n_out, np.float32,
                          0.0, False, X)
        model.compile(Momentum(0.05), "categorical_crossentropy", ["accuracy"])
        h = model.fit(Xv, y, epochs=3, batch_size=batch_size, shuffle=False, verbose=0)
        np.testing.assert_array_equal(Xv, before)
        runs.append((model.get_weights(), h.batch_loss, h.history["accuracy"]))
        in_place.append(trainers[-1].plan.batches_read_in_place)
    assert in_place == [len(runs[0][1]), 0, 0]   # every batch of the first fit, none after
    for weights, losses, accuracy in runs[1:]:
        for a, b in zip(runs[0][0], weights):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(runs[0][1], losses)
        np.testing.assert_array_equal(runs[0][2], accuracy)
    assert all(which_path)


def test_layer_path_is_used_where_the_loop_cannot_go(which_path):
    X, y, _ = data("binary_crossentropy")

    class EveryBatch(Callback):
        calls = 0

        def on_train_batch_end(self, batch, logs=None):
            EveryBatch.calls += 1

    model = Sequential([Dense(4, activation="relu"), Dropout(0.3),
                        Dense(1, activation="sigmoid")], seed=0)
    model.compile("adam", "binary_crossentropy")
    model.fit(X, y, epochs=1, batch_size=10, verbose=0)
    model = Sequential([Dense(4, activation="relu"), Dense(1, activation="sigmoid")], seed=0)
    model.compile("adam", "binary_crossentropy")
    model.fit(X, y, epochs=1, batch_size=10, verbose=0, callbacks=[EveryBatch()])
    model.fit(X.astype(np.int64), y, epochs=1, batch_size=10, verbose=0)
    assert which_path == [False, False, False]
    assert EveryBatch.calls == 7


def test_no_allocations_per_step(which_path):
    """Once fit has started, an epoch allocates only its per-epoch arrays (the
    permutation and the cost vector), nothing per step."""
    rng = np.random.default_rng(0)
    peaks = {}
    for m in (1_000, 10_000):
        X = rng.normal(size=(m, 20)).astype(np.float32)
        y = (X[:, 0] > 0).astype(np.float32)
        model = Sequential([Input(20), Dense(32, activation="relu"),
                            Dense(1, activation="sigmoid")], seed=0)
        model.compile(Adam(1e-3), "binary_crossentropy", ["accuracy"])
        model.fit(X, y, epochs=1, batch_size=100, verbose=0)
        trainer = _training.CompiledTrainer.make(model, X, model._check_y(y, m), 100, True,
                                               np.random.default_rng(0), False)
        trainer.run_epoch(None, None)
        gc.collect()
        tracemalloc.start()
        trainer.run_epoch(None, None)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peaks[m] = peak
    # the permutation (8 bytes per example) and the costs (8 per step), plus ~1 KB of
    # Python objects: any per-step buffer (the smallest, one batch of X, is 8 KB) shows
    for m, peak in peaks.items():
        assert peak <= 8 * m + 8 * (m // 100) + 2048, peaks


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or not os.path.exists("/proc/self/statm"),
                    reason="needs Linux /proc")
def test_memmap_epoch_keeps_resident_memory_bounded(tmp_path):
    """An epoch over a 64 MB memmap touches its pages, but the process never copies it:
    the anonymous (non-file) resident memory grows far less than the file size."""
    m, n = 800_000, 20
    path = tmp_path / "X.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(m, n))
    rng = np.random.default_rng(0)
    for s in range(0, m, 100_000):
        mm[s:s + 100_000] = rng.normal(size=(100_000, n))
    mm.flush()
    del mm
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(m, n))
    y = (np.arange(m) % 2).astype(np.float32)

    def anon_rss():
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["RssAnon"].split()[0]) * 1024

    model = Sequential([Input(n), Dense(16, activation="relu"), Dense(1, activation="sigmoid")],
                       seed=0)
    model.compile(Adam(1e-3), "binary_crossentropy")
    before = anon_rss()
    model.fit(X, y, epochs=1, batch_size=1000, verbose=0, check_finite=False)
    grown = anon_rss() - before
    size = m * n * 4
    assert grown < size / 4, (grown, size)


def layer_path_predict(model, X):
    A = np.ascontiguousarray(X, dtype=model.dtype).T
    for layer in model._compute_layers:
        A = layer.forward(A, training=False)
    return A.T


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [1, 2, 7, 1023, 1024, 1025, 3000])
@pytest.mark.parametrize("normalize", [False, True])
def test_compiled_predict_equals_layer_path(dtype, m, normalize):
    rng = np.random.default_rng(m)
    X = rng.normal(size=(m, 9)) * 4
    layers = [Input(9)]
    if normalize:
        norm = Normalizer()
        norm.adapt(X)
        layers.append(norm)
    layers += [Dense(12, activation="tanh"), Dropout(0.5), Dense(8, activation="relu"),
               Dense(3, activation="softmax")]
    model = Sequential(layers, dtype=dtype, seed=0)
    model.build()
    for Xv in (X, X.astype(np.float32), np.asfortranarray(X), X.astype(dtype),
               np.round(X).astype(np.int32)):
        want = layer_path_predict(model, Xv)
        got = model.predict(Xv)
        assert got.dtype == dtype and got.shape == (m, 3) and got.flags.c_contiguous
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype])
    assert model._inference_plan(m) is not None


def test_predict_sees_new_weights_and_statistics():
    X = np.random.default_rng(0).normal(size=(5, 3))
    norm = Normalizer()
    norm.adapt(X)
    model = Sequential([Input(3), norm, Dense(2)], dtype="float64", seed=0)
    model.build()
    first = model.predict(X)
    model.set_weights([w * 2 if i >= 2 else w for i, w in enumerate(model.get_weights())])
    np.testing.assert_allclose(model.predict(X), layer_path_predict(model, X), rtol=1e-12)
    assert not np.allclose(model.predict(X), first)
    norm.adapt(X * 3 + 1)
    np.testing.assert_allclose(model.predict(X), layer_path_predict(model, X), rtol=1e-12)


def test_predict_returns_fresh_arrays():
    model = Sequential([Input(2), Dense(2)], seed=0)
    model.build()
    a = model.predict(np.ones((1, 2)))
    b = model.predict(np.zeros((1, 2)))
    assert not np.shares_memory(a, b)
    assert not np.array_equal(a, b)


def test_live_progress_bar_slices_the_epoch_without_changing_results(which_path):
    import io

    from fastdnn.callbacks import ProgbarLogger

    X, y, _ = data("binary_crossentropy", m=400)
    weights, updates = [], []
    for bar in (None, ProgbarLogger(stream=io.StringIO(), dynamic=True),
                ProgbarLogger(stream=io.StringIO(), dynamic=False)):
        model = Sequential([Input(5), Dense(4, activation="relu"),
                            Dense(1, activation="sigmoid")], dtype="float64", seed=0)
        model.compile(Adam(0.01), "binary_crossentropy")
        if bar is not None:
            calls = []
            original = bar.update
            bar.update = lambda step, logs=None, _o=original, _c=calls: (_c.append(step),
                                                                         _o(step, logs))
        model.fit(X, y, epochs=2, batch_size=8, seed=0, verbose=0 if bar is None else 1,
                  callbacks=[] if bar is None else [bar])
        weights.append(model.get_weights())
        updates.append(None if bar is None else calls)
    assert all(which_path)
    for w in weights[1:]:
        for a, b in zip(weights[0], w):
            np.testing.assert_array_equal(a, b)
    per_epoch = len(updates[1]) // 2                              # 50 steps per epoch
    assert 10 <= per_epoch <= 20 and updates[1][per_epoch - 1] == 50
    assert updates[2] == []                                       # no redraws off a terminal


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lam", [0.0, 0.5])
@pytest.mark.parametrize("opt", ["gd", "momentum", "rmsprop", "adam"])
def test_compiled_equals_layer_path_on_blas_sized_layers(dtype, lam, opt, which_path):
    """Layers whose products are packed: gradient descent folded into the dW product, the
    other optimizers' steps applied to each tile of dW in its epilogue."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 40)).astype(dtype)
    y = rng.integers(0, 5, size=300)
    results = []
    for compiled in (True, False):
        model = Sequential([Input(40), Dense(96, activation="relu", kernel_regularizer=lam or None),
                            Dense(48, activation="tanh", kernel_regularizer=lam or None),
                            Dense(5, activation="softmax")], dtype=dtype, seed=2)
        # RMSprop's g / (sqrt(s) + eps) with the default eps turns the two paths' rounding of
        # gradients near 0 into different steps: an eps above those gradients
        optimizer = RMSprop(0.005, epsilon=1e-3) if opt == "rmsprop" else OPTIMIZERS[opt]()
        model.compile(optimizer, "categorical_crossentropy", ["accuracy"], compiled=compiled)
        h = model.fit(X, y, epochs=3, batch_size=64, seed=1, verbose=0)
        results.append((model, h))
    assert which_path == [True, False]
    assert_same(results, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_size", [1, 2, 3, 4, 5])
def test_few_examples_through_large_layers_equal_the_layer_path(dtype, batch_size, which_path):
    """Batches of one to four examples through layers of 2^20 weights and more run their
    forward and dA products on the direct loops, streamed and split over the team (from 5,
    packed): the same training as the layer path, whatever the thread count."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 1024)).astype(dtype)
    y = rng.integers(0, 4, size=12)
    results = []
    try:
        for compiled, threads in ((True, 2), (True, 1), (False, 2)):
            fastdnn.set_num_threads(threads)
            model = Sequential([Input(1024), Dense(1024, activation="relu"),
                                Dense(64, activation="tanh"), Dense(4, activation="softmax")],
                               dtype=dtype, seed=4)
            # (Adam's g / (sqrt(v) + eps) turns float32 rounding of gradients near 0 into
            # steps of either sign: plain gradient descent compares the products)
            model.compile(GD(0.05), "categorical_crossentropy", compiled=compiled)
            h = model.fit(X, y, epochs=1, batch_size=batch_size, seed=1, verbose=0)
            results.append((model, h))
    finally:
        fastdnn.set_num_threads(None)
    assert which_path == [True, True, False]
    for a, b in zip(results[0][0].get_weights(), results[1][0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert_same([results[0], results[2]], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "linear"])
def test_backward_epilogue_forms_dZ_and_db_like_the_layer_path(dtype, hidden, which_path):
    """Hidden layers whose dA product is packed get dZ = dA * g'(A) and db from its epilogue
    (no dA written): the same training as the layer-by-layer path, for every activation."""
    from fastdnn._kernels._dense import SMALL_GEMM_MACS

    rng = np.random.default_rng(6)
    X = rng.normal(size=(256, 30)).astype(dtype)
    y = rng.integers(0, 3, size=256)
    assert 80 * 96 * 128 > SMALL_GEMM_MACS and 64 * 80 * 128 > SMALL_GEMM_MACS
    act = {"name": "leaky_relu", "alpha": 0.2} if hidden == "leaky_relu" else hidden
    results = []
    for compiled in (True, False):
        model = Sequential([Input(30), Dense(96, activation=act), Dense(80, activation=act),
                            Dense(64, activation="relu"), Dense(3, activation="softmax")],
                           dtype=dtype, seed=4)
        model.compile(Adam(1e-3), "categorical_crossentropy", ["accuracy"], compiled=compiled)
        h = model.fit(X, y, epochs=2, batch_size=128, seed=1, verbose=0)
        results.append((model, h))
    assert which_path == [True, False]
    assert_same(results, dtype)


@pytest.mark.filterwarnings("ignore:training diverged:RuntimeWarning")  # NaN in, on purpose
@pytest.mark.parametrize("loss, output", [("categorical_crossentropy", "softmax"),
                                          ("binary_crossentropy", "sigmoid"), ("mse", "linear")])
def test_nan_propagates_through_the_compiled_loop(loss, output, which_path):
    X, y, n_out = data(loss)
    X = X.copy()
    X[3, 1] = np.nan
    model = Sequential([Input(5), Dense(4, activation="relu"),
                        Dense(n_out, activation=output)], dtype="float64", seed=0)
    model.compile(GD(0.1), loss)
    h = model.fit(X, y, epochs=1, batch_size=10, shuffle=False, verbose=0, check_finite=False,
                  on_nan="continue")
    assert which_path == [True]
    assert np.isnan(h.batch_loss[0]) and np.isnan(h.history["loss"][0])
    assert np.isnan(model.get_weights()[0]).any()


def test_predict_after_rebuilding_layers_uses_the_new_weights():
    X = np.random.default_rng(1).normal(size=(3, 4))
    model = Sequential([Input(4), Dense(5, activation="relu"), Dense(2)], dtype="float64",
                       seed=0)
    model.build()
    before = model.predict(X)
    for layer in model.layers[1:]:          # new arrays, same shapes
        layer.build(layer.n_in, np.float64, np.random.default_rng(9))
    after = model.predict(X)
    np.testing.assert_allclose(after, layer_path_predict(model, X), rtol=1e-12)
    assert not np.allclose(before, after)


def test_a_used_model_pickles_and_deep_copies():
    import copy
    import pickle

    X, y, _ = data("binary_crossentropy")
    model = Sequential([Input(5), Dense(4, activation="relu"), Dense(1, activation="sigmoid")],
                       seed=0)
    model.compile("adam", "binary_crossentropy")
    model.fit(X, y, epochs=1, verbose=0)
    expected = model.predict(X)
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(other.predict(X), expected)
        other.fit(X, y, epochs=1, verbose=0)          # and trains on its own copy
    np.testing.assert_array_equal(model.predict(X), expected)


@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh"])
def test_training_does_not_depend_on_the_thread_count(activation):
    """One thread or two, the compiled loop's products and passes give the same weights,
    bit for bit (each element is summed in the same order whatever thread computes it;
    a GELU's or tanh's backward step over 300 x 256 is split over the threads and its bias
    gradient summed after them)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 300))
    y = rng.integers(0, 3, size=600)

    def fitted(dtype):
        model = Sequential([Input(300), Dense(256, activation=activation),
                            Dense(3, activation="softmax")], dtype=dtype, seed=0)
        model.compile(Adam(0.01), "categorical_crossentropy")
        model.fit(X, y, epochs=2, batch_size=300, seed=0, verbose=0)
        return model

    weights = _trained_on_threads((1, 2), [lambda d=d: fitted(d) for d in ("float32", "float64")],
                                  X)
    for one, two in zip(weights[:2], weights[2:]):
        for a, b in zip(one, two):
            np.testing.assert_array_equal(a, b)


def _trained_on_threads(counts, fits, X) -> list:
    """Each fit (a callable returning a model fitted in the compiled loop) on each thread
    count in turn: the weights and predictions of X, thread count by thread count."""
    results = []
    try:
        for threads in counts:
            fastdnn.set_num_threads(threads)
            for fit in fits:
                model = fit()
                assert model.history.engine == "compiled"
                results.append(model.get_weights() + [model.predict(X)])
    finally:
        fastdnn.set_num_threads(None)
    return results


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_layer_cut_by_its_weight_rows_trains_as_on_one_thread(optimizer):
    """A layer larger than a core's L2 (6 MiB here), trained on batches of up to 256
    examples, has its forward product and its update (folded into the product: gradient
    descent, or each tile's optimizer step) cut by W's rows on two threads: the weights
    and predictions are those of one thread, bit for bit."""
    from fastdnn._kernels._network import cut_by_weight_rows
    if not cut_by_weight_rows(768, 1024, 128, True):
        pytest.skip("a core's L2 here holds the 6 MiB layer")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(256, 1024))
    y = rng.integers(0, 3, size=256)

    def fitted():
        model = Sequential([Input(1024), Dense(768, activation="relu"),
                            Dense(64, activation="relu"), Dense(3, activation="softmax")],
                           dtype="float64", seed=0)
        model.compile(optimizer, "categorical_crossentropy")
        model.fit(X, y, epochs=1, batch_size=128, seed=0, verbose=0)
        return model

    results = _trained_on_threads((1, 2), [fitted], X)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_predict_from_several_threads_at_once():
    """The cached compiled plan's buffers are shared: concurrent predicts must not mix."""
    import threading

    rng = np.random.default_rng(0)
    model = Sequential([Input(50), Dense(64, activation="tanh"), Dense(3, activation="softmax")],
                       dtype="float64", seed=0)
    model.build()
    inputs = [rng.normal(size=(300, 50)) for _ in range(4)]
    expected = [layer_path_predict(model, X) for X in inputs]
    errors = []

    def work(i):
        for _ in range(30):
            got = model.predict(inputs[i])
            if not np.allclose(got, expected[i], rtol=1e-12, atol=1e-12):
                errors.append(i)
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("compiled", [True, False])
def test_recompiling_from_a_callback_takes_effect(compiled):
    X, y, _ = data("binary_crossentropy", m=80)

    class Switch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.model.compile(GD(0.5), "binary_crossentropy", ["mse", "accuracy"],
                                   compiled=compiled)

    def run(switch):
        model = Sequential([Input(5), Dense(8, activation="relu"),
                            Dense(1, activation="sigmoid")], dtype="float64", seed=1)
        model.compile("adam", "binary_crossentropy", ["accuracy"], compiled=compiled)
        if switch:
            return model, model.fit(X, y, epochs=3, shuffle=False, verbose=0,
                                    callbacks=[Switch()])
        model.fit(X, y, epochs=1, shuffle=False, verbose=0)
        model.compile(GD(0.5), "binary_crossentropy", ["mse", "accuracy"], compiled=compiled)
        return model, model.fit(X, y, epochs=3, initial_epoch=1, shuffle=False, verbose=0)

    (a, ha), (b, hb) = run(True), run(False)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-12)
    np.testing.assert_allclose(ha.history["loss"][1:], hb.history["loss"], rtol=1e-12)
    np.testing.assert_allclose(ha.history["mse"], hb.history["mse"], rtol=1e-12)
    np.testing.assert_allclose(ha.history["accuracy"][1:], hb.history["accuracy"])


def test_big_endian_input_predicts_right():
    X, y, _ = data("binary_crossentropy")
    model = Sequential([Input(5), Dense(4, activation="relu"), Dense(1, activation="sigmoid")],
                       seed=0)
    model.build()
    expected = model.predict(X)
    for dt in (">f8", ">f4"):
        np.testing.assert_allclose(model.predict(X.astype(dt)), expected, rtol=1e-6)


def test_concurrent_large_predicts_restore_the_thread_settings():
    import threading

    from fastdnn._kernels import _elementwise as _ew

    rng = np.random.default_rng(0)
    model = Sequential([Input(64), Dense(512, activation="relu"), Dense(3)], seed=0)
    model.build()
    X = rng.normal(size=(3000, 64)).astype(np.float32)
    before = _ew.get_user_threads()
    threads = [threading.Thread(target=lambda: [model.predict(X) for _ in range(10)])
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _ew.get_user_threads() == before


def test_plans_refuse_sizes_blas_cannot_take():
    """Layer sizes and the batch size go to BLAS as int: 2**31 and up is refused up front."""
    from fastdnn._kernels import _network
    huge = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape=(2**31, 1),
                                           strides=(0, 0))       # no memory behind it
    b = np.zeros(1, np.float32)
    with pytest.raises(ValueError, match="2\\*\\*31"):
        _network.Forward([(huge, b, 0, 0.0, False)], None, 1, np.float32)
    W = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="batch size must be < 2\\*\\*31"):
        _network.Forward([(W, np.zeros(2, np.float32), 0, 0.0, False)], None, 2**31,
                         np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_changing_an_activation_reaches_the_compiled_plans(dtype):
    """Assigning a Dense layer's activation after predict (whose plan is cached) and
    after fit: predict, the layer path and the next fit all use the new one."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 3)).astype(dtype)
    y = (X[:, 0] > 0).astype(dtype)
    model = Sequential([Input(3), Dense(5, activation="relu"), Dense(1, activation="sigmoid")],
                       dtype=dtype, seed=1)
    model.compile(GD(0.1), "binary_crossentropy")
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    before = model.predict(X[:3])
    hidden = model.layers[1]
    hidden.activation = {"name": "leaky_relu", "alpha": 0.3}
    after = model.predict(X[:3])
    W1, b1, W2, b2 = model.get_weights()
    Z1 = X[:3] @ W1.T + b1.reshape(-1)
    A1 = np.where(Z1 >= 0, Z1, 0.3 * Z1)
    expected = 1 / (1 + np.exp(-(A1 @ W2.T + b2.reshape(-1))))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(after, expected, rtol=rtol)
    assert not np.allclose(before, after, rtol=rtol)
    # the next fit trains the network as it is now: same weights on both paths
    twin = Sequential([Input(3), Dense(5, activation={"name": "leaky_relu", "alpha": 0.3}),
                       Dense(1, activation="sigmoid")], dtype=dtype, seed=1)
    twin.compile(GD(0.1), "binary_crossentropy", compiled=False)
    twin.build()
    twin.set_weights(model.get_weights())
    model.fit(X, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    twin.fit(X, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def test_leaky_relu_slope_is_fixed_at_construction():
    from fastdnn.activations import LeakyReLU
    act = LeakyReLU(0.2)
    with pytest.raises(AttributeError, match="fixed at construction"):
        act.alpha = 0.5
    assert act.alpha == 0.2


def _gd_reference(weights, X, y, lr, batch_size, acts, beta=0.0):
    """Plain NumPy float64 gradient descent on binary cross-entropy (a sigmoid output), the
    batches in order: the lecture's forward and backward passes; with beta, momentum
    (v = beta v + (1 - beta) g, p -= lr v)."""
    g = {"tanh": (np.tanh, lambda A: 1 - A * A), "relu": (lambda Z: np.maximum(Z, 0),
                                                      lambda A: (A > 0).astype(float))}
    Ws = [np.array(w, dtype=np.float64) for w in weights]
    Vs = [np.zeros_like(w) for w in Ws]
    for s in range(0, len(X), batch_size):
        A, Y = [X[s:s + batch_size].T.astype(np.float64)], y[s:s + batch_size][None, :]
        m = A[0].shape[1]
        for l, act in enumerate(acts):
            Z = Ws[2 * l] @ A[-1] + Ws[2 * l + 1]
            A.append(1 / (1 + np.exp(-Z)) if act == "sigmoid" else g[act][0](Z))
        dZ = (A[-1] - Y) / m
        for l in reversed(range(len(acts))):
            dW, db = dZ @ A[l].T, dZ.sum(axis=1, keepdims=True)
            if l > 0:
                dZ = (Ws[2 * l].T @ dZ) * g[acts[l - 1]][1](A[l])
            for k, grad in ((2 * l, dW), (2 * l + 1, db)):
                Vs[k] = beta * Vs[k] + (1 - beta) * grad
                Ws[k] -= lr * Vs[k]
    return Ws


@pytest.mark.parametrize("layers, n_x, batch_size, m, beta", [
    # one input feature (the first layer's forward product over K = 1) and one output
    # unit (the last dA product over K = 1, its epilogue forming dZ and db)
    ([(600, "tanh"), (600, "relu"), (1, "sigmoid")], 1, 512, 1024, 0.0),
    # a one-unit bottleneck (the next layer's forward over K = 1), with momentum (a batch of
    # one example, dW over K = 1, takes the direct loops: no fused step over K = 1)
    ([(1, "tanh"), (700, "relu"), (1, "sigmoid")], 300, 512, 1024, 0.9),
])
def test_products_over_one_index_train_as_numpy_does(layers, n_x, batch_size, m, beta,
                                                      which_path):
    """Products over K = 1 (the engine's outer-product route, with each of its epilogues)
    give NumPy's float64 gradient descent, and the same weights on 1 and 2 threads."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(m, n_x))
    y = (rng.random(m) < 0.5).astype(np.float64)
    biases = [rng.normal(size=(n, 1)) * 0.1 for n, _ in layers]
    results = []
    try:
        for threads in (1, 2):
            fastdnn.set_num_threads(threads)
            model = Sequential([Input(n_x)] + [Dense(n, activation=a) for n, a in layers],
                               dtype="float64", seed=2)
            model.build()
            model.set_weights([w if i % 2 == 0 else biases[i // 2]
                               for i, w in enumerate(model.get_weights())])
            start = model.get_weights()
            model.compile(Momentum(0.1, beta=beta) if beta else GD(0.1), "binary_crossentropy")
            model.fit(X, y, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
            results.append(model.get_weights())
    finally:
        fastdnn.set_num_threads(None)
    assert which_path == [True, True]
    want = _gd_reference(start, X, y, 0.1, batch_size, [a for _, a in layers], beta)
    for got, w in zip(results[0], want):
        np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-12)
    for a, b in zip(results[0], results[1]):
        np.testing.assert_array_equal(a, b)
