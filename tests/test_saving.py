"""Model files: ``Sequential.save`` / ``fastdnn.load_model``.

A saved model predicts bit for bit what the original did, keeps training
exactly where it stopped (optimizer state, counters, schedule, dropout
stream), is written atomically, and anything that is not such a file is
rejected with a ValueError naming the file.
"""
import io
import json
import os
import pathlib
import re
import zipfile

import numpy as np
import pytest

from fastdnn import initializers, load_model, saving
from fastdnn.callbacks import Callback, ModelCheckpoint
from fastdnn.layers import Dense, Dropout, Input, Normalizer
from fastdnn.models import Sequential
from fastdnn.optimizers import GD, SGD, Adagrad, Adam, Adamax, AdamW, Momentum, Nadam, RMSprop
from fastdnn.saving import save_model
from fastdnn.schedules import ExponentialDecay, InverseTimeDecay, StepDecay

DTYPES = [np.float32, np.float64]
OPTIMIZERS = ["gd", "momentum", "rmsprop", "adam", "adamw", "nadam", "adagrad", "adamax", "sgd",
              "adam_clipnorm", "sgd_global_clipnorm"]


# ------------------------------------------------------------------ helpers

def make_data(kind="binary", m=48, n=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n)) * np.array([1.0, 3.0, 0.5, 10.0])[:n] + 2.0
    if kind == "binary":
        y = (X[:, 0] - 2 + (X[:, 1] - 2) / 3 > 0).astype(np.float64)
    elif kind == "categorical":
        y = (np.digitize(X[:, 0] - 2, [-0.5, 0.5])).astype(np.int64)   # 3 classes
    else:
        y = np.column_stack([np.sin(X[:, 0]), X[:, 2] - 2.0])
    return X, y


def make_optimizer(name):
    """Non-default hyperparameters and an epoch-based schedule, so that restoring
    them is actually tested."""
    lr = InverseTimeDecay(0.05 if name != "gd" else 0.2, decay_rate=0.5)
    if name == "gd":
        return GD(learning_rate=lr)
    if name == "momentum":
        return Momentum(learning_rate=lr, beta=0.8)
    if name == "rmsprop":
        return RMSprop(learning_rate=lr, beta=0.95, epsilon=1e-6)
    if name == "adamw":
        return AdamW(learning_rate=lr, beta1=0.85, beta2=0.99, epsilon=1e-7, weight_decay=0.2,
                     clipvalue=0.5)
    if name == "nadam":
        return Nadam(learning_rate=lr, beta1=0.85, beta2=0.99, epsilon=1e-7, momentum_decay=0.1)
    if name == "adagrad":
        return Adagrad(learning_rate=lr, initial_accumulator_value=0.05, epsilon=1e-6)
    if name == "adamax":
        return Adamax(learning_rate=lr, beta1=0.85, beta2=0.99, epsilon=1e-7)
    if name == "sgd":
        return SGD(learning_rate=lr, momentum=0.8, nesterov=True)
    if name == "sgd_global_clipnorm":
        return SGD(learning_rate=lr, momentum=0.7, global_clipnorm=0.2)
    if name == "adam_clipnorm":
        return Adam(learning_rate=lr, beta1=0.85, beta2=0.99, epsilon=1e-7, clipnorm=0.1)
    return Adam(learning_rate=lr, beta1=0.85, beta2=0.99, epsilon=1e-7)


def make_model(X, dtype=np.float64, optimizer="adam", kind="binary", seed=3, dropout=True,
               compiled=True):
    """Normalizer, leaky_relu (alpha 0.2) with L2, tanh, an output layer; with dropout
    the model trains layer by layer, without it through the compiled loop."""
    norm = Normalizer(epsilon=1e-6, name="norm")
    norm.adapt(X)
    out = {"binary": Dense(1, activation="sigmoid", name="out"),
           "categorical": Dense(3, activation="softmax", name="out"),
           "mse": Dense(2, name="out")}[kind]
    layers = [
        Input(X.shape[1]),
        norm,
        Dense(8, activation={"name": "leaky_relu", "alpha": 0.2}, kernel_regularizer=0.05,
              kernel_initializer="he_uniform", name="hidden1"),
        Dropout(0.2),                                     # shares the model's generator
        Dense(6, activation="tanh", kernel_initializer={"class_name": "RandomNormal",
                                                        "config": {"stddev": 0.3}},
              bias_initializer="ones"),
        Dropout(0.1),                                     # the same generator again
        out,
    ]
    if not dropout:
        layers = [l for l in layers if not isinstance(l, Dropout)]
    model = Sequential(layers, dtype=dtype, seed=seed, name="saved_net")
    loss, metrics = {"binary": ("binary_crossentropy", ["accuracy"]),
                     "categorical": ("categorical_crossentropy", ["accuracy"]),
                     "mse": ("mse", ["mae", "mse"])}[kind]
    model.compile(make_optimizer(optimizer), loss, metrics, compiled=compiled)
    return model


def fit(model, X, y, **kwargs):
    kwargs.setdefault("batch_size", 16)
    return model.fit(X, y, shuffle=False, verbose=0, **kwargs)


@pytest.fixture
def saved(tmp_path):
    """(path, model, X) of a trained Adam model saved to a file."""
    X, y = make_data()
    model = make_model(X, np.float64, "adam")
    fit(model, X, y, epochs=2)
    path = tmp_path / "model.npz"
    model.save(path)
    return path, model, X


def weights_equal(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(x.dtype == y.dtype and np.array_equal(x, y)
                                      for x, y in zip(wa, wb))


def not_readable(path):
    """pytest.raises(ValueError) whose message names the file and the problem."""
    return pytest.raises(ValueError, match=re.escape(repr(os.fspath(path)))
                         + " is not a readable fastdnn model file")


# ------------------------------------------------------------------ round trip

@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_predicts_bit_identically(tmp_path, dtype, optimizer):
    X, y = make_data()
    model = make_model(X, dtype, optimizer)
    fit(model, X, y, epochs=2)
    path = tmp_path / "m.npz"
    model.save(path)
    again = load_model(path)

    Xt = make_data(m=37, seed=1)[0]
    assert np.array_equal(again.predict(Xt), model.predict(Xt))
    assert again.predict(Xt).dtype == dtype
    assert weights_equal(again, model)

    # architecture
    assert again.get_config() == model.get_config()
    assert again.dtype == model.dtype and again.name == "saved_net" and again.seed == 3
    assert again.n_features == 4 and again.built
    assert [type(l) for l in again.layers] == [type(l) for l in model.layers]
    for a, b in zip(again.layers, model.layers):
        assert a.name == b.name and a.units == b.units
        if isinstance(b, Dense):
            assert a.activation == b.activation
            assert a.kernel_regularizer == b.kernel_regularizer
            assert initializers.serialize(a.kernel_initializer) == \
                initializers.serialize(b.kernel_initializer)
            assert initializers.serialize(a.bias_initializer) == \
                initializers.serialize(b.bias_initializer)
    hidden = again.layers[2]
    assert hidden.activation.name == "leaky_relu" and hidden.activation.alpha == 0.2
    assert hidden.kernel_regularizer.lam == 0.05
    assert type(again.layers[4].kernel_initializer).__name__ == "RandomNormal"
    assert again.layers[4].kernel_initializer.stddev == 0.3
    assert again.layers[1].epsilon == 1e-6 and again.layers[3].rate == 0.2

    # compile settings and optimizer state
    assert type(again.optimizer) is type(model.optimizer)
    assert again.optimizer.get_config() == model.optimizer.get_config()
    assert isinstance(again.optimizer._lr, InverseTimeDecay)
    assert again.optimizer.iterations == model.optimizer.iterations == 6
    assert again.optimizer.epoch == model.optimizer.epoch == 1
    state_a, state_b = again.optimizer.get_state(), model.optimizer.get_state()
    assert sorted(state_a) == sorted(state_b)
    for key in state_b:
        assert state_a[key].dtype == state_b[key].dtype
        assert np.array_equal(state_a[key], state_b[key])
    assert again.loss == model.loss
    assert [m.get_config() for m in again.metrics] == [m.get_config() for m in model.metrics]
    assert again.evaluate(X, y, return_dict=True) == model.evaluate(X, y, return_dict=True)


@pytest.mark.parametrize("kind", ["binary", "categorical", "mse"])
def test_round_trip_every_loss_with_its_metrics(tmp_path, kind):
    X, y = make_data(kind)
    model = make_model(X, np.float32, "rmsprop", kind=kind)
    fit(model, X, y, epochs=1)
    model.save(tmp_path / "m.npz")
    again = load_model(tmp_path / "m.npz")
    assert np.array_equal(again.predict(X), model.predict(X))
    assert again.loss == model.loss and again.loss.name == model.loss.name
    assert [m.name for m in again.metrics] == [m.name for m in model.metrics]
    assert again.evaluate(X, y) == model.evaluate(X, y)
    if kind != "mse":
        assert np.array_equal(again.predict_classes(X), model.predict_classes(X))


@pytest.mark.parametrize("schedule", [
    ExponentialDecay(0.05, decay_rate=0.7), StepDecay(0.05, drop=0.5, step_size=2), 0.01])
def test_learning_rate_schedules_are_restored(tmp_path, schedule):
    X, y = make_data()
    model = Sequential([Dense(3, activation="relu"), Dense(1, activation="sigmoid")], seed=0)
    model.compile(Momentum(learning_rate=schedule), "binary_crossentropy")
    fit(model, X, y, epochs=3)
    model.save(tmp_path / "m.npz")
    again = load_model(tmp_path / "m.npz")
    assert again.optimizer.get_config() == model.optimizer.get_config()
    assert again.optimizer.learning_rate == model.optimizer.learning_rate


def test_uncompiled_and_untrained_models_round_trip(tmp_path):
    X, y = make_data()
    model = Sequential([Dense(4, activation="relu", input_dim=4), Dense(1)], seed=1)
    model.build()
    model.save(tmp_path / "plain.npz")
    again = load_model(tmp_path / "plain.npz")
    assert again.optimizer is None and again.loss is None
    assert weights_equal(again, model) and np.array_equal(again.predict(X), model.predict(X))

    # compiled but never trained: loads, then trains exactly like the original
    model.compile(make_optimizer("adam"), "mse")
    model.save(tmp_path / "fresh.npz")
    again = load_model(tmp_path / "fresh.npz")
    assert again.optimizer.iterations == 0
    fit(model, X, y, epochs=2)
    fit(again, X, y, epochs=2)
    assert weights_equal(again, model)


def test_numpy_scalars_in_configs_are_saved(tmp_path):
    X, _ = make_data()
    model = Sequential([Dense(np.int64(3), activation="tanh"), Dropout(np.float32(0.5),
                                                                      seed=np.int64(4)),
                        Dense(1)], seed=0)
    model.build(4)
    model.save(tmp_path / "m.npz")
    again = load_model(tmp_path / "m.npz")
    assert again.layers[1].seed == 4 and again.layers[1].rate == 0.5
    assert np.array_equal(again.predict(X), model.predict(X))


def test_a_config_that_is_not_json_raises_before_writing(tmp_path):
    model = Sequential([Dense(1, kernel_initializer=lambda shape, dtype, rng:
                              np.zeros(shape, dtype))])
    model.build(2)
    with pytest.raises(TypeError):
        model.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ continue training

@pytest.mark.parametrize("path", ["layers", "compiled"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_loaded_model_continues_training_exactly(tmp_path, dtype, optimizer, path):
    """"layers": with dropout (the layer-by-layer loop, dropout stream restored);
    "compiled": the same net without dropout (the whole-network compiled loop)."""
    X, y = make_data()
    dropout = path == "layers"
    A = make_model(X, dtype, optimizer, dropout=dropout)
    fit(A, X, y, epochs=2)
    A.save(tmp_path / "a.npz")
    B = load_model(tmp_path / "a.npz")
    hist_b = fit(B, X, y, initial_epoch=2, epochs=4)

    C = make_model(X, dtype, optimizer, dropout=dropout)
    hist_c = fit(C, X, y, epochs=4)

    # same steps, same state, same schedule, same dropout masks: the same numbers
    assert weights_equal(B, C)
    assert B.optimizer.iterations == C.optimizer.iterations == 12
    assert B.optimizer.epoch == C.optimizer.epoch == 3
    assert hist_b.history["loss"] == hist_c.history["loss"][2:]
    assert hist_b.history["learning_rate"] == hist_c.history["learning_rate"][2:]

    # and the comparison is sensitive: a fresh optimizer continues differently
    # (gd has no state besides the epoch, which fit sets from initial_epoch)
    D = load_model(tmp_path / "a.npz", compile=False)
    D.compile(make_optimizer(optimizer), "binary_crossentropy", ["accuracy"])
    fit(D, X, y, initial_epoch=2, epochs=4)
    assert weights_equal(D, C) == (optimizer == "gd")


def test_the_compiled_flag_is_restored(tmp_path):
    """compile(compiled=False) trains layer by layer; so does the loaded model, so it
    continues exactly as the original would (the two loops agree only to rounding)."""
    X, y = make_data()
    A = make_model(X, np.float32, "adam", dropout=False, compiled=False)
    fit(A, X, y, epochs=1)
    A.save(tmp_path / "a.npz")
    B = load_model(tmp_path / "a.npz")
    assert B.compiled is False
    fit(B, X, y, initial_epoch=1, epochs=3)
    C = make_model(X, np.float32, "adam", dropout=False, compiled=False)
    fit(C, X, y, epochs=3)
    assert weights_equal(B, C)
    assert load_model(tmp_path / "a.npz", compile=False).compiled is True   # the default


def test_dropout_streams_are_restored_per_generator(tmp_path):
    """Seeded and unseeded dropout layers; the model built by fit(seed=...)."""
    X, y = make_data()

    def build():
        model = Sequential([Dense(8, activation="relu"), Dropout(0.3), Dense(8, activation="relu"),
                            Dropout(0.3, seed=11), Dense(1, activation="sigmoid")])
        model.compile(Adam(0.01), "binary_crossentropy")
        return model

    A = build()
    fit(A, X, y, epochs=1, seed=5)
    A.save(tmp_path / "a.npz")
    B = load_model(tmp_path / "a.npz")
    assert B.layers[1]._rng is not B.layers[3]._rng
    fit(B, X, y, initial_epoch=1, epochs=3)
    C = build()
    fit(C, X, y, epochs=3, seed=5)
    assert weights_equal(B, C)

    # without the saved stream (fresh generators) the masks, and so the weights, differ
    D = load_model(tmp_path / "a.npz")
    D.layers[1]._rng = np.random.default_rng(0)
    fit(D, X, y, initial_epoch=1, epochs=3)
    assert not weights_equal(D, C)


def test_load_without_compile_predicts_but_cannot_fit(saved):
    path, model, X = saved
    again = load_model(path, compile=False)
    assert again.optimizer is None and again.loss is None and again.metrics == []
    assert np.array_equal(again.predict(X), model.predict(X))
    with pytest.raises(RuntimeError, match=r"compile\(optimizer, loss\) before fit"):
        again.fit(X, np.zeros(len(X)), verbose=0)


# ------------------------------------------------------------------ atomic write

def test_saving_over_a_file_replaces_it_and_leaves_no_temporary(tmp_path):
    X, y = make_data()
    first = make_model(X, np.float32, "gd")
    second = make_model(X, np.float32, "gd", seed=9)
    first.build()
    second.build()
    path = tmp_path / "m.npz"
    first.save(path)
    second.save(path)
    assert os.listdir(tmp_path) == ["m.npz"]
    again = load_model(path)
    assert weights_equal(again, second) and not weights_equal(again, first)


@pytest.mark.parametrize("where", ["savez", "replace"])
def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch, where):
    X, _ = make_data()
    old = make_model(X, np.float64, "adam")
    old.build()
    path = tmp_path / "m.npz"
    old.save(path)
    before = path.read_bytes()

    if where == "savez":
        def broken(file, *args, **kwargs):
            file.write(b"PK\x03\x04 half an archive")   # something reached the disk
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(np, "savez", broken)
    else:
        def broken(src, dst):
            raise OSError(5, "Input/output error")
        monkeypatch.setattr(os, "replace", broken)
    new = make_model(X, np.float64, "adam", seed=8)
    new.build()
    with pytest.raises(OSError):
        new.save(path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.npz"]
    assert path.read_bytes() == before
    assert weights_equal(load_model(path), old)


def test_interrupted_save_leaves_no_temporary(tmp_path, monkeypatch):
    model = Sequential([Dense(1)], seed=0)
    model.build(2)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="process ids of leftovers are checked on POSIX")
def test_a_killed_saves_leftover_is_removed_by_the_next_save(tmp_path):
    """A save killed with SIGKILL cannot clean up: the next save of the same target removes
    its temporary file (process gone and old), and nothing else."""
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "m.npz"
    code = ("import os, signal, sys, numpy as np\n"
            "from fastdnn import saving\n"
            "saving._anonymous_temporary = lambda directory: None\n"
            "real = np.savez\n"
            "def killed(f, **arrays):\n"
            "    real(f, **arrays)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "np.savez = killed\n"
            "from fastdnn import Sequential\n"
            "from fastdnn.layers import Dense\n"
            "m = Sequential([Dense(1)], seed=0)\n"
            "m.build(2)\n"
            f"m.save({str(path)!r})\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert res.returncode == -signal.SIGKILL, res.stderr
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert len(leftovers) == 1 and not path.exists()
    old = time.time() - 2 * saving.STALE_TEMPORARY_S
    os.utime(tmp_path / leftovers[0], (old, old))
    mine = tmp_path / f".m.npz.{os.getpid()}-{'0' * 12}.tmp"        # a live writer's
    young = tmp_path / leftovers[0].replace(".tmp", "").rsplit("-", 1)[0]
    young = pathlib.Path(f"{young}-{'1' * 12}.tmp")                 # the dead one's, but new
    other = tmp_path / ".other.npz.1-000000000000.tmp"               # another target's
    for p in (mine, young, other):
        p.write_bytes(b"x")
        os.utime(p, (old, old) if p != young else None)
    model = Sequential([Dense(1)], seed=0)
    model.build(2)
    model.save(path)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.npz", mine.name, young.name, other.name])
    assert weights_equal(load_model(path), model)


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="O_TMPFILE is Linux only")
def test_saves_killed_in_a_loop_leave_no_temporary_files(tmp_path):
    """kill -9 at random moments of a save loop: the target always loads, complete, and
    the unnamed temporary files vanish with their writer (at most the microseconds between
    naming and renaming could leave one behind; a named temporary would leave one per kill)."""
    import signal
    import subprocess
    import sys
    import time

    if saving._anonymous_temporary(str(tmp_path)) is None:
        pytest.skip("this file system has no unnamed files")
    path = tmp_path / "m.npz"
    code = ("import sys\n"
            "from fastdnn import Sequential\n"
            "from fastdnn.layers import Dense\n"
            "m = Sequential([Dense(512), Dense(512), Dense(1)], seed=0)\n"
            "m.build(2048)\n"
            "print('ready', flush=True)\n"
            "while True:\n"
            f"    m.save({str(path)!r})\n")
    rng = np.random.default_rng(0)
    kills = 12
    for _ in range(kills):
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.2))
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
        child.stdout.close()
        if path.exists():
            assert load_model(path).layers[0].W.shape == (512, 2048)
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert len(leftovers) <= 1, leftovers


def test_save_into_a_missing_folder_raises_and_writes_nothing(tmp_path):
    model = Sequential([Dense(1)], seed=0)
    model.build(2)
    with pytest.raises(FileNotFoundError):
        model.save(tmp_path / "nope" / "m.npz")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_file_permissions_are_those_of_a_normal_write(tmp_path):
    model = Sequential([Dense(1)], seed=0)
    model.build(2)
    path = tmp_path / "m.npz"
    old = os.umask(0o022)
    try:
        model.save(path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644        # not mkstemp's 0o600
    os.chmod(path, 0o640)
    model.save(path)                                   # replacing keeps the file's mode
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="POSIX symlinks")
def test_saving_through_a_symlink_updates_its_target(tmp_path):
    X, _ = make_data()
    model = Sequential([Dense(1)], seed=0)
    model.build(4)
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "m.npz"
    target.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    model.save(link)
    assert link.is_symlink() and os.listdir(tmp_path / "real") == ["m.npz"]
    assert np.array_equal(load_model(target).predict(X), model.predict(X))


# ------------------------------------------------------------------ paths

def test_paths(tmp_path):
    X, _ = make_data()
    model = Sequential([Dense(2, activation="softmax")], seed=0)
    model.build(4)
    for name in ["model", "model.bin", "with space.npz"]:
        save_model(model, str(tmp_path / name))
        assert (tmp_path / name).is_file()
        assert np.array_equal(load_model(str(tmp_path / name)).predict(X), model.predict(X))
    assert sorted(os.listdir(tmp_path)) == ["model", "model.bin", "with space.npz"]
    model.save(pathlib.Path(tmp_path) / "p.npz")
    assert np.array_equal(load_model(pathlib.Path(tmp_path) / "p.npz").predict(X),
                          model.predict(X))
    assert not (tmp_path / "model.npz").exists()      # no suffix was added


def test_saving_an_unbuilt_model_raises(tmp_path):
    model = Sequential([Dense(1)])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="no weights yet"):
        model.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_nonexistent_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_model(tmp_path / "missing.npz")


# ------------------------------------------------------------------ bad files

def _arrays(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _header(path):
    return json.loads(str(_arrays(path)["__fastdnn__"][()]))


def _forge(src, dst, header=None, set_arrays=None, drop=(), raw_header=None):
    """Rewrite a valid model file with a modified header and/or arrays."""
    arrays = _arrays(src)
    h = _header(src)
    if header:
        h = header(h)
    arrays["__fastdnn__"] = np.array(json.dumps(h)) if raw_header is None else raw_header
    for name in drop:
        del arrays[name]
    arrays.update(set_arrays or {})
    np.savez(dst, **arrays)   # pickle allowed when writing: object arrays go in


def _set(key, value):
    def change(h):
        h[key] = value
        return h
    return change


def _transposed_weight(src):
    return {"weights/0002": _arrays(src)["weights/0002"].T.copy()}   # same size, wrong shape


FORGERIES = {
    "wrong format name": dict(header=_set("format", "keras.model")),
    "no format name": dict(header=lambda h: {k: v for k, v in h.items() if k != "format"}),
    "future format version": dict(header=_set("format_version", saving.FORMAT_VERSION + 1)),
    "version as string": dict(header=_set("format_version", "1")),
    "version as bool": dict(header=_set("format_version", True)),
    "version zero": dict(header=_set("format_version", 0)),
    "invalid JSON": dict(raw_header=np.array("{'format': 'fastdnn.model',")),
    "JSON list": dict(raw_header=np.array("[1, 2, 3]")),
    "header of numbers": dict(raw_header=np.arange(3.0)),
    "header as bytes": dict(raw_header=np.array(b'{"format": "fastdnn.model"}')),
    "header as object": dict(raw_header=np.array({"format": "fastdnn.model"}, dtype=object)),
    "no model config": dict(header=_set("model", None)),
    "model config a list": dict(header=_set("model", [1, 2])),
    "unknown layer class": dict(header=lambda h: {**h, "model": {
        **h["model"], "layers": h["model"]["layers"] + [{"class_name": "Conv2D"}]}}),
    "bad layer config": dict(header=lambda h: {**h, "model": {
        **h["model"], "layers": [{"class_name": "Dense", "config": {"units": -3}}]}}),
    "bad dtype": dict(header=lambda h: {**h, "model": {**h["model"], "dtype": "int8"}}),
    "no input size": dict(header=lambda h: {**h, "model": {
        **h["model"], "n_features": None, "layers": h["model"]["layers"][1:]}}),
    "missing weights": dict(drop=["weights/0003"]),
    "n_weights too small": dict(header=_set("n_weights", 2)),
    "n_weights not an int": dict(header=_set("n_weights", "six")),
    "weights of the wrong shape": dict(set_arrays=_transposed_weight),
    "weights of the wrong size": dict(set_arrays={"weights/0002": np.zeros((8, 5))}),
    "weights of strings": dict(set_arrays={"weights/0000": np.full((4, 1), "x")}),
    "weights of objects": dict(set_arrays={"weights/0000": np.array(
        [[1.0], [2.0], [3.0], [None]], dtype=object)}),
    "compile settings a string": dict(header=_set("compile", "adam")),
    "unknown optimizer": dict(header=lambda h: {**h, "compile": {
        **h["compile"], "optimizer": {"class_name": "Lion", "config": {}}}}),
    "bad optimizer config": dict(header=lambda h: {**h, "compile": {
        **h["compile"], "optimizer": {"class_name": "Adam", "config": {"beta1": 3}}}}),
    "unknown loss": dict(header=lambda h: {**h, "compile": {**h["compile"],
                                                            "loss": {"name": "kl_divergence"}}}),
    "metrics not a list": dict(header=lambda h: {**h, "compile": {**h["compile"],
                                                                  "metrics": "acc"}}),
    "compiled not a bool": dict(header=lambda h: {**h, "compile": {**h["compile"],
                                                                   "compiled": "yes"}}),
    "missing optimizer state": dict(drop=["optimizer/m/0"]),
    "optimizer state of the wrong shape": dict(set_arrays={"optimizer/v/1": np.zeros(3)}),
    "optimizer state names not a list": dict(header=_set("optimizer_state", 5)),
    "iterations not an int": dict(set_arrays={"optimizer/iterations": np.array(2.5)}),
    "unknown bit generator": dict(header=_set("rng_states", [
        {"layers": [3], "state": {"bit_generator": "os.system"}}])),
    "rng state for a layer without one": dict(header=lambda h: {**h, "rng_states": [
        {**h["rng_states"][0], "layers": [2]}]}),
    "bad rng state": dict(header=lambda h: {**h, "rng_states": [
        {**h["rng_states"][0], "state": {"bit_generator": "PCG64", "state": 7}}]}),
}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_headers_and_arrays_raise_value_error(saved, tmp_path, name):
    src = saved[0]
    spec = dict(FORGERIES[name])
    if callable(spec.get("set_arrays")):
        spec["set_arrays"] = spec["set_arrays"](src)
    bad = tmp_path / "forged.npz"
    _forge(src, bad, **spec)
    with not_readable(bad):
        load_model(bad)
    # the same file without compile still fails where the problem is not in
    # the compile settings, and never with another exception type
    try:
        load_model(bad, compile=False)
    except ValueError as exc:
        assert "is not a readable fastdnn model file" in str(exc)


def test_the_forgery_helper_itself_writes_a_loadable_file(saved, tmp_path):
    _forge(saved[0], tmp_path / "same.npz")
    assert weights_equal(load_model(tmp_path / "same.npz"), saved[1])


def test_a_recompressed_file_still_loads(saved, tmp_path):
    """Deflated members (np.savez_compressed of the same arrays) are read too."""
    path, model, X = saved
    with open(tmp_path / "z.npz", "wb") as f:
        np.savez_compressed(f, **_arrays(path))
    with zipfile.ZipFile(tmp_path / "z.npz") as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
    again = load_model(tmp_path / "z.npz")
    assert weights_equal(again, model) and np.array_equal(again.predict(X), model.predict(X))


def test_specific_messages(saved, tmp_path):
    src = saved[0]
    cases = [(dict(header=_set("format_version", 99)), "newer fastdnn"),
             (dict(header=_set("format", "other")), "wrong format name 'other'"),
             (dict(raw_header=np.array("{oops")), "not valid JSON"),
             (dict(drop=["weights/0001"]), "'weights/0001' is missing"),
             (dict(set_arrays={"weights/0000": np.array([[1.0], [2.0], [3.0], [None]],
                                                        dtype=object)}), "pickle")]
    for i, (spec, text) in enumerate(cases):
        bad = tmp_path / f"bad{i}.npz"
        _forge(src, bad, **spec)
        with pytest.raises(ValueError, match=re.escape(text)):
            load_model(bad)


def _write(path, content):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", ["empty", "random bytes", "random after zip magic", "text",
                                  "npy", "foreign npz", "zip of text", "zip with a bad header"])
def test_foreign_and_corrupt_files_raise_value_error(tmp_path, name):
    path = tmp_path / "file.npz"
    rng = np.random.default_rng(0)
    if name == "empty":
        _write(path, b"")
    elif name == "random bytes":
        _write(path, rng.bytes(3000))
    elif name == "random after zip magic":
        _write(path, b"PK\x03\x04" + rng.bytes(3000))
    elif name == "text":
        _write(path, b"layers: dense 64 relu\nweights: 0.1 0.2\n")
    elif name == "npy":
        with open(path, "wb") as f:
            np.save(f, np.arange(10.0))
    elif name == "foreign npz":
        with open(path, "wb") as f:
            np.savez(f, a=rng.normal(size=(3, 3)), b=np.arange(4))
    elif name == "zip of text":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "hello")
    else:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("__fastdnn__.npy", b"\x93NUMPY\x01\x00garbage")
    with not_readable(path):
        load_model(path)


def test_truncated_copies_raise_value_error(saved, tmp_path):
    data = saved[0].read_bytes()
    n = len(data)
    cuts = sorted({1, 3, 4, 10, 30, 100, 500, n // 4, n // 3, n // 2, 2 * n // 3, n - 200,
                   n - 100, n - 23, n - 22, n - 1})
    for cut in cuts:
        path = _write(tmp_path / f"cut{cut}.npz", data[:cut])
        with not_readable(path):
            load_model(path)


def test_corrupted_bytes_never_raise_anything_but_value_error(saved, tmp_path):
    """Flip single bits anywhere: the file loads (the flip hit a byte nothing
    reads) or raises ValueError; weights that load are the saved ones (CRC)."""
    path, model, X = saved
    data = saved[0].read_bytes()
    rng = np.random.default_rng(1)
    bad = tmp_path / "flipped.npz"
    failures = 0
    for _ in range(150):
        b = bytearray(data)
        i = int(rng.integers(len(b)))
        b[i] ^= 1 << int(rng.integers(8))
        bad.write_bytes(bytes(b))
        try:
            again = load_model(bad)
        except ValueError as exc:
            assert "is not a readable fastdnn model file" in str(exc)
            failures += 1
        else:
            assert weights_equal(again, model)
    assert failures > 100


def _zip_with_member(path, name, payload, src):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = payload if info.filename == name else zin.read(info)
            zout.writestr(info.filename, data)


def test_declared_sizes_are_checked_before_allocating(saved, tmp_path):
    """A forged .npy header claiming 80 TB must not be allocated (MemoryError)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**7)})
    bad = tmp_path / "huge.npz"
    _zip_with_member(bad, "weights/0000.npy", buf.getvalue() + bytes(64), saved[0])
    with pytest.raises(ValueError, match="declares shape"):
        load_model(bad)


def test_a_forged_architecture_is_not_built_bigger_than_its_weights(saved, tmp_path):
    """n_features x units far beyond the stored weights: rejected before build
    (it would otherwise allocate, and initialize, the whole matrix)."""
    def bigger(h):
        h["model"]["n_features"] = 5000
        h["model"]["layers"][0]["config"]["shape"] = 5000
        for layer in h["model"]["layers"]:
            if layer["class_name"] == "Dense":
                layer["config"]["units"] = 5000
        return h
    bad = tmp_path / "big.npz"
    _forge(saved[0], bad, header=bigger)
    with pytest.raises(ValueError, match="the architecture needs"):
        load_model(bad)


def test_a_directory_is_not_a_model_file(tmp_path):
    with pytest.raises(OSError):
        load_model(tmp_path)


# ------------------------------------------------------------------ ModelCheckpoint

def test_model_checkpoint_best_file_loads_with_the_best_epochs_predictions(tmp_path):
    X, y = make_data()
    # validation on flipped labels: the better the model fits, the worse val_loss
    # gets, so the best epoch is an early one and the file differs from the end
    X_val, y_val = X[:24], 1 - y[:24]

    class Record(Callback):
        def __init__(self):
            super().__init__()
            self.predictions, self.val_loss = [], []

        def on_epoch_end(self, epoch, logs=None):
            self.predictions.append(self.model.predict(X))
            self.val_loss.append(logs["val_loss"])

    record = Record()
    path = tmp_path / "ckpt" / "best.npz"
    model = make_model(X, np.float32, "adam")
    ckpt = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    fit(model, X, y, epochs=6, validation_data=(X_val, y_val), callbacks=[ckpt, record])
    best = int(np.argmin(record.val_loss))
    assert best < 5
    again = load_model(path)
    assert np.array_equal(again.predict(X), record.predictions[best])
    assert not np.array_equal(again.predict(X), model.predict(X))
    assert ckpt.best == record.val_loss[best]
    assert os.listdir(path.parent) == ["best.npz"]


def test_a_dense_layer_pickled_before_the_kernel_specs_had_names_still_runs():
    import pickle

    from fastdnn.layers import Dense

    layer = Dense(3, activation={"name": "leaky_relu", "alpha": 0.2})
    layer.build(2, np.float64, np.random.default_rng(0))
    X = np.array([[1.0, -2.0], [0.5, 3.0]])
    want = layer.forward(X)
    state = layer.__dict__.copy()
    state["_codes"] = tuple(state.pop("_kernel"))      # the old positional form
    old = Dense.__new__(Dense)
    old.__setstate__(state)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(old)).forward(X), want)
    assert old._kernel.alpha == 0.2


def test_models_load_from_several_threads_at_once(tmp_path):
    """NumPy parses .npy headers with ast.literal_eval; on CPython 3.11 a parse that the
    garbage collector interrupts (here: weakref callbacks of cyclic garbage, as models in
    fastdnn's plan registry are) while another thread parses fails with SystemError.
    Concurrent loads must all succeed. The switch interval and GC threshold are lowered
    to make that interleaving frequent."""
    import gc
    import sys
    import threading
    import time
    import weakref

    X, y = make_data()
    model = Sequential([Dense(3, activation="relu"), Dense(1, activation="sigmoid")], seed=0)
    model.compile("adam", "binary_crossentropy")
    fit(model, X, y, epochs=1)
    path = tmp_path / "m.npz"
    model.save(path)
    expected = model.predict(X)

    class Node:
        pass

    registry = weakref.WeakSet()
    stop = threading.Event()
    failures = []

    def garbage():
        while not stop.is_set():
            for _ in range(100):
                node = Node()
                node.me = node
                registry.add(node)

    def load():
        while not stop.is_set():
            try:
                assert np.array_equal(load_model(path).predict(X), expected)
            except Exception as exc:   # noqa: BLE001 - every failure is reported
                failures.append(repr(exc))

    switch, threshold = sys.getswitchinterval(), gc.get_threshold()
    threads = [threading.Thread(target=load) for _ in range(3)] + [threading.Thread(target=garbage)]
    sys.setswitchinterval(1e-6)
    gc.set_threshold(10)
    try:
        for t in threads:
            t.start()
        time.sleep(2.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
        sys.setswitchinterval(switch)
        gc.set_threshold(*threshold)
    assert not failures, failures[:3]
