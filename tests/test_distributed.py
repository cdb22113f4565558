"""fastdnn.distributed: data-parallel fit over MPI, run as real MPI jobs.

Each test writes a small script and runs it with ``mpiexec -n P`` (a subprocess with
a timeout, so a hang fails the test instead of blocking it). They skip when mpi4py
or ``mpiexec`` is missing; the import test runs everywhere.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 120

try:
    import mpi4py  # noqa: F401
    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False


def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else shutil.which("mpiexec")


needs_mpi = pytest.mark.skipif(not HAVE_MPI4PY or _mpiexec() is None,
                               reason="mpi4py and mpiexec are needed (pip install 'fastdnn[mpi]')")

HEADER = """
import json, os, sys
import numpy as np
import fastdnn
from fastdnn import Sequential
from fastdnn.layers import Dense
from fastdnn.distributed import MPI
dist = MPI(check_weights=True)
rank, P = dist.rank, dist.size
def out(**kw):
    with open(f"result.{rank}.json", "w") as f:
        json.dump(dict(rank=rank, **kw), f)
"""


def _run(tmp_path, body, n, *args, timeout=TIMEOUT):
    script = tmp_path / "job.py"
    script.write_text(HEADER + textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    cmd = [_mpiexec(), "-n", str(n), sys.executable, str(script), *map(str, args)]
    if n == 0:
        cmd = [sys.executable, str(script), *map(str, args)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=timeout)
    results = [json.loads(f.read_text()) for f in tmp_path.glob("result.*.json")]
    for f in tmp_path.glob("result.*.json"):
        f.unlink()
    return proc, sorted(results, key=lambda r: r["rank"])


def _ok(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


EQUIVALENCE = """
engine, b, opt, dtype = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = np.random.default_rng(0)
m = 101
X = rng.normal(size=(m, 6))
y = (X[:, 0] - X[:, 1] > 0).astype(np.float64)
def make():
    model = Sequential([Dense(8, activation="tanh", kernel_regularizer=0.01),
                        Dense(5, activation="relu"), Dense(1, activation="sigmoid")],
                       dtype=dtype, seed=3)
    model.compile(opt, "binary_crossentropy", metrics=["accuracy"])
    return model
model = make()
h = model.fit(X, y, epochs=3, batch_size=b, shuffle=False, verbose=0, engine=engine,
              distribute=dist)
assert h.engine == engine, h.engine
# the same batches in one process: global step s is every shard's rows s*b..(s+1)*b
shards = [np.arange(m)[m * r // P:m * (r + 1) // P] for r in range(P)]
steps = -(-max(len(s) for s in shards) // b)
order = np.concatenate([s[i * b:(i + 1) * b] for i in range(steps) for s in shards])
single = make()
hs = single.fit(X[order], y[order], epochs=3, batch_size=P * b, shuffle=False, verbose=0,
                engine=engine)
diff = max(float(np.max(np.abs(a - c))) for a, c in zip(model.get_weights(),
                                                         single.get_weights()))
out(diff=diff, loss=h.history["loss"], single_loss=hs.history["loss"],
    acc=h.history["accuracy"], single_acc=hs.history["accuracy"],
    batch_loss=list(h.batch_loss), single_batch_loss=list(hs.batch_loss),
    crc=float(sum(float(np.sum(w)) for w in model.get_weights())))
"""


@needs_mpi
@pytest.mark.parametrize("n,engine,b,opt,dtype", [(2, "compiled", 16, "adam", "float64"),
                                                  (2, "python", 16, "adam", "float64"),
                                                  (3, "compiled", 17, "sgd", "float64"),
                                                  (3, "python", 11, "rmsprop", "float64"),
                                                  (2, "compiled", 8, "adam", "float32")])
def test_ranks_equal_one_process_with_global_batch(tmp_path, n, engine, b, opt, dtype):
    proc, res = _run(tmp_path, EQUIVALENCE, n, engine, b, opt, dtype)
    _ok(proc)
    assert len(res) == n
    tol = 1e-11 if dtype == "float64" else 2e-5
    for r in res:
        assert r["diff"] < tol, r["diff"]
        np.testing.assert_allclose(r["loss"], r["single_loss"], rtol=tol)
        np.testing.assert_allclose(r["batch_loss"], r["single_batch_loss"], rtol=tol)
        if dtype == "float64":
            np.testing.assert_allclose(r["acc"], r["single_acc"], rtol=1e-12)
        assert r["crc"] == res[0]["crc"]      # every rank holds the same weights


SHUFFLED = """
rng = np.random.default_rng(1)
X = rng.normal(size=(300, 5)).astype(np.float32)
y = rng.integers(0, 3, size=300)
from fastdnn.layers import Normalizer
norm = Normalizer()
norm.adapt(dist.shard(X))     # each rank its own statistics: rank 0's are broadcast
model = Sequential([norm, Dense(8, activation="relu"), Dense(3, activation="softmax")],
                   seed=rank)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
h = model.fit(X, y, epochs=3, batch_size=20, seed=5, verbose=0, validation_split=0.2,
              distribute=dist)
out(loss=h.history["loss"], val=h.history["val_loss"], engine=h.engine,
    w=[float(np.sum(w)) for w in model.get_weights()])
"""


@needs_mpi
def test_shuffled_ranks_share_weights_and_logs(tmp_path):
    # different initial weights on each rank: rank 0's are broadcast; check_weights
    # compares the ranks' checksums after every epoch
    proc, res = _run(tmp_path, SHUFFLED, 3)
    _ok(proc)
    assert len(res) == 3
    for r in res[1:]:
        assert r == dict(res[0], rank=r["rank"])
    assert res[0]["loss"][-1] < res[0]["loss"][0]
    assert res[0]["engine"] == "compiled"


MEMMAP = """
path, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
X = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, cols))
y = np.zeros(rows, np.float32)
y[::2] = 1
model = Sequential([Dense(4, activation="relu"), Dense(1, activation="sigmoid")], seed=0)
model.compile("adam", "binary_crossentropy")
model.build(cols)
before = rss()
h = model.fit(X, y, epochs=2, batch_size=2048, seed=0, verbose=0, distribute=dist)
out(growth=rss() - before, engine=h.engine)
"""


@needs_mpi
def test_memmap_ranks_hold_only_their_shard(tmp_path):
    rows, cols = 100_000, 400          # 160 MB of float32
    path = tmp_path / "X.f32"
    X = np.lib.format.open_memmap  # noqa: F841  (plain raw file below)
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(rows, cols))
    for s in range(0, rows, 10_000):
        mm[s:s + 10_000] = np.random.default_rng(s).normal(size=(10_000, cols))
    mm.flush()
    del mm
    proc, res = _run(tmp_path, MEMMAP, 2, path, rows, cols)
    _ok(proc)
    total = rows * cols * 4
    assert len(res) == 2
    for r in res:
        assert r["engine"] == "compiled"
        # a shard is half the file; the whole file would be 160 MB
        assert r["growth"] < 0.5 * total + 30e6, (r["growth"], total)


CHECKPOINT = """
from fastdnn.callbacks import ModelCheckpoint
mode, path = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(2)
X = rng.normal(size=(240, 4))
y = X @ np.array([1.0, -2.0, 0.5, 0.0])
def fresh():
    model = Sequential([Dense(6, activation="tanh"), Dense(1)], dtype="float64", seed=0)
    model.compile("adam", "mse")
    return model
kw = dict(batch_size=10, seed=7, verbose=0, distribute=dist)
if mode == "straight":
    model = fresh()
    model.fit(X, y, epochs=4, **kw)
else:
    model = fresh()
    model.fit(X, y, epochs=2, callbacks=[ModelCheckpoint(path, monitor="loss")], **kw)
    assert os.path.exists(path) == (rank == 0) or os.path.exists(path)
    model = fastdnn.load_model(path)
    model.fit(X, y, epochs=4, initial_epoch=2, **kw)
out(w=[w.ravel().tolist() for w in model.get_weights()])
"""


@needs_mpi
def test_checkpoint_and_resume(tmp_path):
    path = tmp_path / "model.fdnn"
    proc, straight = _run(tmp_path, CHECKPOINT, 2, "straight", path)
    _ok(proc)
    proc, resumed = _run(tmp_path, CHECKPOINT, 2, "resume", path)
    _ok(proc)
    assert path.exists()
    assert len(straight) == len(resumed) == 2
    for a, b in zip(straight, resumed):
        for wa, wb in zip(a["w"], b["w"]):
            np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-14)


DECISIONS = """
from fastdnn.callbacks import EarlyStopping, LearningRateScheduler
rng = np.random.default_rng(4)
X = rng.normal(size=(200, 4)).astype(np.float32)
y = (X[:, 0] > 0).astype(np.float32)
model = Sequential([Dense(4, activation="tanh"), Dense(1, activation="sigmoid")], seed=0)
model.compile("adam", "binary_crossentropy")
# only rank 0 runs callbacks: its learning rates and its decision to stop reach every rank
stop = EarlyStopping(monitor="loss", min_delta=100.0, patience=2)
schedule = LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
h = model.fit(X, y, epochs=10, batch_size=25, verbose=0, distribute=dist,
              callbacks=[stop, schedule])
out(epochs=len(h.history["loss"]), lr=h.history["learning_rate"],
    final_lr=float(model.optimizer.learning_rate))
"""


@needs_mpi
def test_rank_0_decides_for_every_rank(tmp_path):
    proc, res = _run(tmp_path, DECISIONS, 2)
    _ok(proc)
    assert len(res) == 2
    for r in res:
        assert r["epochs"] == 3                  # no improvement of 100 for 2 epochs
        np.testing.assert_allclose(r["lr"], [0.1, 0.05, 0.1 / 3])
        assert r["final_lr"] == res[0]["final_lr"]


DROPOUT = """
from fastdnn.layers import Dropout
rng = np.random.default_rng(4)
X = rng.normal(size=(120, 4)).astype(np.float32)
y = (X[:, 0] > 0).astype(np.float32)
drop = Dropout(0.5, seed=1)
model = Sequential([Dense(8, activation="relu"), drop, Dense(1, activation="sigmoid")],
                   seed=0)
model.compile("adam", "binary_crossentropy")
h = model.fit(X, y, epochs=2, batch_size=20, verbose=0, distribute=dist)
out(engine=h.engine, draw=float(drop._rng.random()))
"""


@needs_mpi
def test_dropout_masks_differ_across_ranks_weights_do_not(tmp_path):
    proc, res = _run(tmp_path, DROPOUT, 2)    # check_weights compares the weights
    _ok(proc)
    assert [r["engine"] for r in res] == ["python", "python"]
    assert res[0]["draw"] != res[1]["draw"]


FAULTS = """
from fastdnn.activations import Tanh
from fastdnn.callbacks import Callback
case = sys.argv[1]
rng = np.random.default_rng(0)
X = rng.normal(size=(400, 5)).astype(np.float32)
y = (X[:, 0] > 0).astype(np.float32)

class Boom(Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise ValueError("checkpoint disk is full")

class Recompile(Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.compile("sgd", "binary_crossentropy")

class Fragile(Tanh):   # its own forward: trains on the layer path; fails on rank 1
    calls = 0
    def forward(self, z, out=None):
        Fragile.calls += 1
        if rank == 1 and Fragile.calls == 7:
            raise ArithmeticError("rank 1 cannot go on")
        return super().forward(z, out)

hidden = Fragile() if case == "activation" else "relu"
model = Sequential([Dense(4, activation=hidden), Dense(1, activation="sigmoid")], seed=0)
model.compile("adam", "binary_crossentropy")
if case == "nan" and rank == 1:
    X[len(X) // 2 + 3, 2] = np.nan
if case == "mismatch" and rank == 1:
    model = Sequential([Dense(5, activation="relu"), Dense(1, activation="sigmoid")], seed=0)
    model.compile("adam", "binary_crossentropy")
if case == "outside" and rank == 1:
    raise KeyError("rank 1 failed before fit")
try:
    model.fit(X, y, epochs=4, batch_size=16, verbose=0, distribute=dist,
              callbacks={"callback": [Boom()], "recompile": [Recompile()]}.get(case))
except Exception as exc:
    out(error=type(exc).__name__, message=str(exc)[:400])
    raise
out(error=None)
"""


@needs_mpi
@pytest.mark.parametrize("case,origin,text", [
    ("callback", 0, "checkpoint disk is full"),
    ("activation", 1, "rank 1 cannot go on"),
    ("nan", 1, "NaN"),
    ("recompile", 0, "re-compiled or rebuilt the model during fit with distribute="),
])
def test_a_failing_rank_stops_every_rank(tmp_path, case, origin, text):
    proc, res = _run(tmp_path, FAULTS, 2, case, timeout=60)
    assert proc.returncode != 0
    assert len(res) == 2, proc.stdout + proc.stderr
    for r in res:
        assert r["error"] is not None
        assert text in r["message"], r
        if r["rank"] != origin:
            assert r["error"] == "RankError"
            assert f"rank {origin} raised" in r["message"]


@needs_mpi
def test_mismatched_models_are_detected_before_training(tmp_path):
    proc, res = _run(tmp_path, FAULTS, 2, "mismatch", timeout=60)
    assert proc.returncode != 0
    assert len(res) == 2
    for r in res:
        assert r["error"] == "ValueError"
        assert "disagree before the first step" in r["message"]
        assert "rank 1's" in r["message"]


@needs_mpi
def test_an_exception_outside_fit_aborts_every_rank(tmp_path):
    proc, res = _run(tmp_path, FAULTS, 2, "outside", timeout=60)
    assert proc.returncode != 0
    assert "rank 1 failed before fit" in proc.stderr
    assert "aborting all 2 ranks" in proc.stderr


@needs_mpi
def test_one_rank_without_mpiexec_is_plain_fit(tmp_path):
    proc, res = _run(tmp_path, SHUFFLED, 0)
    _ok(proc)
    assert len(res) == 1 and res[0]["rank"] == 0


def test_fastdnn_imports_without_mpi4py():
    code = textwrap.dedent("""
        import sys
        sys.modules["mpi4py"] = None     # as if it were not installed
        import fastdnn
        try:
            fastdnn.distributed.MPI()
        except ImportError as exc:
            print(exc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr
    assert "fastdnn[mpi]" in proc.stdout


FEATURES = """
from fastdnn.layers import BatchNormalization, LayerNormalization
from fastdnn.optimizers import Adam
engine, b, feature = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(1)
m, mv = 97, 41
X = rng.normal(size=(m, 5))
y = (X[:, 0] + X[:, 2] > 0).astype(np.float64)
w = rng.uniform(0.2, 2.0, size=m)
Xv = rng.normal(size=(mv, 5))
yv = (Xv[:, 0] + Xv[:, 2] > 0).astype(np.float64)
wv = rng.uniform(0.2, 2.0, size=mv)
clip = {"clipnorm": dict(clipnorm=0.05), "global_clipnorm": dict(global_clipnorm=0.05)}
def make():
    if feature in ("layer_norm", "batch_norm"):
        norm = LayerNormalization() if feature == "layer_norm" else BatchNormalization()
        layers = [Dense(7, use_bias=False, kernel_regularizer=0.01), norm,
                  Dense(1, activation="sigmoid")]
    else:
        layers = [Dense(7, activation="tanh", kernel_regularizer=0.01,
                        use_bias=feature != "no_bias"), Dense(1, activation="sigmoid")]
    model = Sequential(layers, dtype="float64", seed=5)
    model.compile(Adam(0.02, **clip.get(feature, {})), "binary_crossentropy",
                  metrics=["accuracy", "auc"])
    return model
kw = {}
if feature == "sample_weight":
    kw = dict(sample_weight=w, validation_data=(Xv, yv, wv), validation_freq=2)
elif feature == "class_weight":
    kw = dict(class_weight={0: 0.5, 1: 2.0}, validation_data=(Xv, yv), validation_freq=2)
model = make()
h = model.fit(X, y, epochs=3, batch_size=b, shuffle=False, verbose=0, engine=engine,
              distribute=dist, **kw)
assert h.engine == engine, h.engine
shards = [np.arange(m)[m * r // P:m * (r + 1) // P] for r in range(P)]
steps = -(-max(len(s) for s in shards) // b)
order = np.concatenate([s[i * b:(i + 1) * b] for i in range(steps) for s in shards])
single = make()
skw = dict(kw)
if "sample_weight" in skw:
    skw["sample_weight"] = w[order]
hs = single.fit(X[order], y[order], epochs=3, batch_size=P * b, shuffle=False, verbose=0,
                engine=engine, **skw)
diff = max(float(np.max(np.abs(a - c))) for a, c in zip(model.get_weights(),
                                                         single.get_weights()))
out(diff=diff, history=h.history, single_history=hs.history,
    batch_loss=list(h.batch_loss), single_batch_loss=list(hs.batch_loss),
    crc=float(sum(float(np.sum(a)) for a in model.get_weights())),
    moving=[float(v) for v in np.ravel(getattr(model.layers[1], "moving_mean", []))])
"""


@needs_mpi
@pytest.mark.parametrize("engine", ["compiled", "python"])
@pytest.mark.parametrize("feature", ["sample_weight", "class_weight", "clipnorm",
                                     "global_clipnorm", "no_bias", "layer_norm"])
def test_features_equal_one_process_with_global_batch(tmp_path, engine, feature):
    """Weights, clipping on the summed gradients, layers without bias and a normalization
    with per-example statistics train as one process on the global batches; validation
    (every second epoch, weighted) and the count metrics (AUC) are those of all the rows."""
    proc, res = _run(tmp_path, FEATURES, 3, engine, 8, feature)   # shards 32, 32, 33: a last
    # step where ranks 0 and 1 have no rows left
    _ok(proc)
    assert len(res) == 3
    for r in res:
        assert r["diff"] < 1e-11, r["diff"]
        np.testing.assert_allclose(r["batch_loss"], r["single_batch_loss"], rtol=1e-11)
        assert sorted(r["history"]) == sorted(r["single_history"])
        for key, values in r["single_history"].items():
            np.testing.assert_allclose(r["history"][key], values, rtol=1e-10, err_msg=key)
        assert r["crc"] == res[0]["crc"]


@needs_mpi
@pytest.mark.parametrize("engine", ["compiled", "python"])
def test_batch_normalization_ranks_agree(tmp_path, engine):
    """Batch statistics are each rank's own (as each rank's batch): the ranks still hold the
    same weights (check_weights), moving statistics included, averaged over the ranks."""
    proc, res = _run(tmp_path, FEATURES, 2, engine, 10, "batch_norm")
    _ok(proc)
    assert len(res) == 2
    assert res[0]["crc"] == res[1]["crc"]
    assert res[0]["moving"] == res[1]["moving"] and any(v != 0 for v in res[0]["moving"])
    assert all(np.isfinite(r["history"]["loss"]).all() for r in res)
