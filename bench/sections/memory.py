"""Memory: the peak resident memory of a fit, and one epoch on a ``numpy.memmap``.

Two of the project's memory targets (``bench/targets.py``), each measured in a *fresh*
subprocess (``sys.executable``), so that what one implementation imports or
allocates never counts for another, nor does anything the benchmark runner
itself holds:

* ``digits fit`` -- "peak memory of a fit no more than PyTorch's for the same
  network and data". The configuration of the ``train`` section
  (``sections/train.py``): ``fastdnn._datasets.load("digits")``, the 75/25
  ``train_test_split`` with seed 0, inputs normalized (fastdnn: a
  ``Normalizer`` layer adapted on the training split; the others: the same
  float32 arrays, precomputed), network ``[64, 128 relu, 10 softmax]``,
  Adam α = 1e-3, mini-batches of 32 in a new shuffled order every epoch, E
  epochs (100, ``--quick`` 5, ``--smoke`` 1), float32, seed 0. Implementations: fastdnn
  (``Sequential.fit``), PyTorch (``nn.Sequential`` of ``Linear``/``ReLU``,
  ``CrossEntropyLoss``, ``optim.Adam``, batches of ``torch.randperm``
  indices, torch's thread count as ``bench/run.py`` sets it), scikit-learn
  (``MLPClassifier`` with the same settings, ``alpha=0``, no early stopping)
  and the NumPy reference (``fastdnn/reference.py``'s ``train``, loaded from
  its file, so that its process holds NumPy only, not fastdnn's compiled
  modules; the same initial weights as fastdnn). torch and scikit-learn are
  skipped, with a note, when they are not installed.

* ``memmap epoch`` -- "training on a numpy.memmap of 5,000,000 x 20 float32
  examples runs an epoch with resident memory bounded (well under the file
  size)". A ``.npy`` file of 5,000,000 x 20 float32 (``--quick``: 500,000 x
  20, ``--smoke``: 20,000 x 20) standard normal examples and float32 0/1 labels of a fixed linear
  teacher with noise, written once in chunks (never held in memory) to
  ``$FASTDNN_BENCH_CACHE`` (default: ``<system temp dir>/fastdnn-bench``) and
  reused by later runs (delete it by hand; the run prints where it is); it is
  not created when less than 2 GB of disk are free. The file is read once
  before the run (untimed, with plain reads, not mapped), so it is in the page
  cache: the epoch time is that of a warm cache, not of the disk. The worker
  opens it with ``np.load(mmap_mode="r")`` (a read-only memmap) and fits
  ``[20, 64 relu, 1 sigmoid]``, Adam (default α = 1e-3), batch 1000,
  ``shuffle=True``, ``check_finite=False``, one epoch.

What each worker reports (Linux ``/proc/self/status``):

* ``start MiB`` -- VmRSS when the interpreter has started, before any import;
  ``baseline MiB`` -- VmRSS after importing NumPy and the implementation and
  loading the data. Their difference is mostly the imports: torch's alone is
  several hundred MiB, which its absolute peak carries.
* ``peak MiB`` -- the peak RSS (VmHWM) during the measured region: the peak is
  reset (``/proc/self/clear_refs`` = 5) after the baseline, then the model is
  built and fitted; ``peak incr MiB`` = peak - baseline, what the target
  compares (``incr/fastdnn``, its ratio to fastdnn's, at least one page each). Where the peak cannot be reset, the process's lifetime peak
  (``ru_maxrss``) is used and a note says so.
* ``anon incr MiB`` / ``file incr MiB`` -- the largest RssAnon (the process's
  own allocations) and RssFile (pages of mapped files: shared libraries' code
  touched for the first time, the memmap's pages) seen by a thread sampling
  ``/proc/self/status`` every 2 ms during the fit, minus their baseline. Being
  sampled, they can miss a short spike (peak RSS cannot).
* ``tracemalloc MiB`` -- the peak of ``tracemalloc`` over a second, identical
  build-and-fit in the same process (not the one whose RSS is measured, which
  tracemalloc would slow down and inflate): Python objects and NumPy arrays.
  torch's tensors and C allocations (BLAS' and fastdnn's product engine's
  packing buffers, scikit-learn's) are not traced.
* ``fit s`` -- the wall time of the measured build-and-fit (first fit in a
  fresh process: one-time costs included; the ``train`` section times warm
  fits). ``test acc`` -- accuracy on the test split, to show the fit worked.

The ``memmap`` row adds the file size, examples/s, the peaks as a share of
the file and the page faults of the epoch (major faults read the disk; a
warm page cache gives minor ones only). RSS counts the file's pages the
process has mapped in (RssFile): clean page-cache pages the kernel can drop
under memory pressure, growing towards the file size as a shuffled epoch
touches every page; the process's own memory is RssAnon.

Failures of the run: a worker that fails, inputs that differ from what the
``train`` section checks, a memmap worker that got a writeable array. Missing
anchors (torch, scikit-learn), a missing ``/proc`` or too little disk for the
memmap file are notes.
"""
from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

SECTION = "memory"
SEED = 0
BATCH = 32
LR = 1e-3
EPOCHS, QUICK_EPOCHS, SMOKE_EPOCHS = 100, 5, 1
MEMMAP_ROWS, QUICK_MEMMAP_ROWS, SMOKE_MEMMAP_ROWS = 5_000_000, 500_000, 20_000
MEMMAP_FEATURES = 20
MEMMAP_HIDDEN = 64
MEMMAP_BATCH = 1000
MIN_FREE_BYTES = 2 * 10**9          # do not create the file with less disk free
PAGE = 4096                         # the least peak increase a ratio divides by
SAMPLE_S = 0.002                    # /proc sampling interval during a fit
TIMEOUT_S = 3600
CHUNK_ROWS = 250_000                # rows generated / read per chunk (20 MB)
MiB = 2**20

_STATUS_KEYS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem")


# ====================================================== worker (subprocess)
# Everything up to the parent's part below runs in the fresh process; this
# module is loaded there from its file with only the standard library
# imported, so that each job's imports are its own.

def _status() -> dict[str, int] | None:
    """VmRSS, VmHWM, RssAnon, RssFile, RssShmem of this process in bytes (None off Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            out = {}
            for line in f:
                key, _, rest = line.partition(":")
                if key in _STATUS_KEYS:
                    out[key] = int(rest.split()[0]) * 1024
            return out
    except (OSError, ValueError, IndexError):
        return None


def _maxrss() -> int:
    """The lifetime peak RSS in bytes (``ru_maxrss``: kB on Linux, bytes on macOS)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r) if sys.platform == "darwin" else int(r) * 1024


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    st = _status()
    return st is not None and st["VmHWM"] <= st["VmRSS"] + 1024 * 1024


class _Sampler(threading.Thread):
    """Largest RssAnon and RssFile seen while running (polls /proc/self/status)."""

    def __init__(self, interval: float = SAMPLE_S) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.done = threading.Event()
        self.peak = {"RssAnon": 0, "RssFile": 0, "VmRSS": 0}
        self.samples = 0

    def _take(self) -> None:
        st = _status()
        if st is not None:
            for key in self.peak:
                self.peak[key] = max(self.peak[key], st.get(key, 0))
            self.samples += 1

    def run(self) -> None:
        while not self.done.is_set():
            self._take()
            self.done.wait(self.interval)

    def stop(self) -> None:
        self.done.set()
        self.join()
        self._take()    # the state at the end of the fit


def _job_digits_fastdnn(spec: dict) -> tuple[Callable[[], None], Callable[[], dict]]:
    import numpy as np

    import fastdnn
    from fastdnn.layers import Dense, Input, Normalizer
    from fastdnn.models import Sequential
    from fastdnn.optimizers import Adam

    if spec.get("threads") and spec["threads"] != fastdnn.get_num_threads():
        fastdnn.set_num_threads(spec["threads"])
    with np.load(spec["data"]) as d:
        Xtr, ytr, Xte, yte = d["Xtr"], d["ytr"], d["Xte"], d["yte"]
    n, *hidden, k = spec["layers"]
    state: dict[str, Any] = {}

    def fit() -> None:
        norm = Normalizer()
        norm.adapt(Xtr)
        model = Sequential([Input(n), norm] + [Dense(h, activation="relu") for h in hidden]
                           + [Dense(k, activation="softmax")], dtype="float32", seed=SEED)
        model.compile(optimizer=Adam(LR), loss="categorical_crossentropy")
        hist = model.fit(Xtr, ytr, epochs=spec["epochs"], batch_size=BATCH, shuffle=True,
                         seed=SEED, verbose=0)
        state.update(model=model, loss=hist.history["loss"][-1])

    def score() -> dict:
        P = state["model"].predict(Xte)
        return {"test acc": float(np.mean(np.argmax(P, axis=1) == yte)),
                "train loss": float(state["loss"]), "version": fastdnn.__version__,
                "threads": fastdnn.get_num_threads()}
    return fit, score


def _job_digits_torch(spec: dict) -> tuple[Callable[[], None], Callable[[], dict]]:
    import numpy as np
    import torch

    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    with np.load(spec["data"]) as d:
        x, y = torch.from_numpy(d["Xtr_n"]), torch.from_numpy(d["ytr"].astype(np.int64))
        x_test, yte = torch.from_numpy(d["Xte_n"]), d["yte"]
    n, *hidden, k = spec["layers"]
    state: dict[str, Any] = {}

    def fit() -> None:
        nn = torch.nn
        torch.manual_seed(SEED)
        layers: list[Any] = []
        width = n
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        model = nn.Sequential(*layers, nn.Linear(width, k))
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        loss_fn = nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(SEED)
        m = x.shape[0]
        model.train()
        running = 0.0
        for _ in range(spec["epochs"]):
            perm = torch.randperm(m, generator=gen)
            running = 0.0
            for s in range(0, m, BATCH):
                idx = perm[s:s + BATCH]
                opt.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
                running += loss.item() * len(idx)
        state.update(model=model, loss=running / m)

    def score() -> dict:
        model = state["model"]
        model.eval()
        with torch.no_grad():
            pred = model(x_test).argmax(dim=1).numpy()
        return {"test acc": float(np.mean(pred == yte)), "train loss": float(state["loss"]),
                "version": torch.__version__, "threads": torch.get_num_threads()}
    return fit, score


def _job_digits_sklearn(spec: dict) -> tuple[Callable[[], None], Callable[[], dict]]:
    import warnings

    import numpy as np
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    with np.load(spec["data"]) as d:
        Xtr, ytr, Xte, yte = d["Xtr_n"], d["ytr"], d["Xte_n"], d["yte"]
    _, *hidden, _ = spec["layers"]
    epochs = spec["epochs"]
    state: dict[str, Any] = {}

    def fit() -> None:
        clf = MLPClassifier(hidden_layer_sizes=tuple(hidden), activation="relu", solver="adam",
                            batch_size=BATCH, learning_rate_init=LR, max_iter=epochs,
                            shuffle=True, tol=0, n_iter_no_change=epochs + 1,
                            early_stopping=False, alpha=0, random_state=SEED)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(Xtr, ytr)
        state["clf"] = clf

    def score() -> dict:
        clf = state["clf"]
        return {"test acc": float(np.mean(clf.predict(Xte) == yte)),
                "train loss": float(clf.loss_curve_[-1]), "version": sklearn.__version__,
                "epochs_run": int(clf.n_iter_)}
    return fit, score


def _job_digits_numpy(spec: dict) -> tuple[Callable[[], None], Callable[[], dict]]:
    import importlib.util

    import numpy as np

    # fastdnn/reference.py imports only NumPy: load it from its file, without the package
    mod_spec = importlib.util.spec_from_file_location("fastdnn_reference", spec["reference"])
    reference = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(reference)
    with np.load(spec["data"]) as d:
        A0 = np.ascontiguousarray(d["Xtr_n"].T)
        ytr, Xte_n, yte = d["ytr"], d["Xte_n"], d["yte"]
        L = len(spec["layers"]) - 1
        initial = [(d[f"W{l}"], d[f"b{l}"]) for l in range(1, L + 1)]
    k = spec["layers"][-1]
    Y = np.ascontiguousarray(np.eye(k, dtype=np.float32)[ytr].T)
    acts = ["relu"] * (L - 1) + ["softmax"]
    m = A0.shape[1]
    state: dict[str, Any] = {}

    def fit() -> None:
        rng = np.random.default_rng(SEED)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            params, costs = reference.train(
                A0, Y, initial, acts, loss="categorical_crossentropy", optimizer="adam",
                learning_rate=LR, epochs=spec["epochs"], batch_size=BATCH,
                permutations=lambda epoch: rng.permutation(m))
        state.update(params=params, costs=costs)

    def score() -> dict:
        with np.errstate(over="ignore"):
            P = reference.network_forward(np.ascontiguousarray(Xte_n.T), state["params"],
                                          acts)[-1]
        steps = -(-m // BATCH)
        return {"test acc": float(np.mean(np.argmax(P, axis=0) == yte)),
                "train loss": float(np.mean(state["costs"][-steps:])),
                "version": np.__version__}
    return fit, score


def _job_memmap(spec: dict) -> tuple[Callable[[], None], Callable[[], dict]]:
    import numpy as np

    import fastdnn
    from fastdnn.layers import Dense, Input
    from fastdnn.models import Sequential
    from fastdnn.optimizers import Adam

    if spec.get("threads") and spec["threads"] != fastdnn.get_num_threads():
        fastdnn.set_num_threads(spec["threads"])
    X = np.load(spec["X"], mmap_mode="r")
    y = np.load(spec["y"], mmap_mode="r")
    state: dict[str, Any] = {}

    def fit() -> None:
        model = Sequential([Input(X.shape[1]), Dense(spec["hidden"], activation="relu"),
                            Dense(1, activation="sigmoid")], dtype="float32", seed=SEED)
        model.compile(optimizer=Adam(), loss="binary_crossentropy")
        hist = model.fit(X, y, epochs=1, batch_size=spec["batch"], shuffle=True, seed=SEED,
                         check_finite=False, verbose=0)
        state.update(model=model, loss=hist.history["loss"][-1])

    def score() -> dict:
        head = np.asarray(X[:100_000])
        acc = float(np.mean((state["model"].predict(head)[:, 0] >= 0.5) == (y[:100_000] >= 0.5)))
        return {"train loss": float(state["loss"]), "train acc (first 1e5)": acc,
                "memmap": type(X).__name__, "writeable": bool(X.flags.writeable),
                "version": fastdnn.__version__, "threads": fastdnn.get_num_threads()}
    return fit, score


_JOBS: dict[str, Callable[[dict], tuple[Callable[[], None], Callable[[], dict]]]] = {
    "fastdnn": _job_digits_fastdnn, "torch": _job_digits_torch, "sklearn": _job_digits_sklearn,
    "numpy": _job_digits_numpy, "memmap": _job_memmap}


def worker(spec_path: str, out_path: str) -> None:
    """Run one job of a fresh process: imports and data, then the measured build-and-fit,
    then a second one under tracemalloc; write what was measured as JSON to ``out_path``."""
    start = _status()
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    fit, score = _JOBS[spec["job"]](spec)
    gc.collect()
    base = _status()
    reset = _reset_peak()
    sampler = _Sampler(spec.get("sample_s", SAMPLE_S))
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    sampler.start()
    t0 = time.perf_counter()
    fit()
    elapsed = time.perf_counter() - t0
    sampler.stop()
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    after = _status()
    peak = after["VmHWM"] if (reset and after is not None) else _maxrss()
    values = score()
    # the Python-visible part, in a second identical build-and-fit
    gc.collect()
    tracemalloc.start()
    fit()
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    result = {"start": start, "baseline": base, "after": after, "peak_rss": peak,
              "peak_reset": reset, "sampled_peak": sampler.peak, "samples": sampler.samples,
              "fit_s": elapsed, "tracemalloc_peak": traced_peak,
              "minor_faults": ru1.ru_minflt - ru0.ru_minflt,
              "major_faults": ru1.ru_majflt - ru0.ru_majflt,
              "score": values}
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


_BOOT = ("import importlib.util, sys\n"
         "spec = importlib.util.spec_from_file_location('fastdnn_bench_memory_worker', sys.argv[1])\n"
         "mod = sys.modules[spec.name] = importlib.util.module_from_spec(spec)\n"
         "spec.loader.exec_module(mod)\n"
         "mod.worker(sys.argv[2], sys.argv[3])\n")


# ====================================================== parent (bench/run.py)

@dataclass
class MeasureCase:
    """A case whose implementations are measured, not timed by the runner: ``measure()``
    returns its records (see ``bench/run.py``), notes and failures."""

    section: str
    name: str
    dtype: str
    n: int
    measure: Callable[[], tuple[list[dict], list[str], list[str]]]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> dict[str, Any]:
        return {"section": self.section, "name": self.name, "dtype": self.dtype, "n": self.n}


def run_worker(spec: dict, tmp: Path) -> tuple[dict | None, str | None]:
    """Run ``spec["job"]`` in a fresh interpreter; its measurements, or None and why not."""
    import fastdnn

    job = spec["job"]
    spec_path, out_path = tmp / f"{job}.spec.json", tmp / f"{job}.out.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, **spec.get("env", {})}
    root = str(Path(fastdnn.__file__).resolve().parent.parent)   # the same fastdnn as ours
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    try:
        proc = subprocess.run([sys.executable, "-c", _BOOT, str(Path(__file__).resolve()),
                               str(spec_path), str(out_path)], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"{job}: the worker took more than {TIMEOUT_S} s and was stopped"
    if proc.returncode != 0 or not out_path.exists():
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return None, f"{job}: the worker failed (exit {proc.returncode}): {tail}"
    return json.loads(out_path.read_text(encoding="utf-8")), None


def _mib(nbytes: float | None) -> float | None:
    return None if nbytes is None else round(nbytes / MiB, 1)


def _common_values(r: dict) -> dict[str, Any]:
    """The columns every worker reports, in MiB (None where /proc is missing)."""
    start, base, sampled = r["start"] or {}, r["baseline"] or {}, r["sampled_peak"]
    have = bool(base)
    return {
        "fit s": round(r["fit_s"], 3),
        "start MiB": _mib(start.get("VmRSS")),
        "baseline MiB": _mib(base.get("VmRSS")),
        "peak MiB": _mib(r["peak_rss"]),
        "peak incr MiB": _mib(r["peak_rss"] - base["VmRSS"]) if have else None,
        "anon incr MiB": _mib(sampled["RssAnon"] - base["RssAnon"]) if have else None,
        "file incr MiB": _mib(sampled["RssFile"] - base["RssFile"]) if have else None,
        "tracemalloc MiB": _mib(r["tracemalloc_peak"]),
    }


def _worker_notes(impl: str, r: dict) -> list[str]:
    notes = []
    if r["baseline"] is None:
        notes.append(f"{impl}: no /proc/self/status: only the lifetime peak RSS (ru_maxrss) is "
                     "known; baseline, increase and RssAnon/RssFile not measured")
    elif not r["peak_reset"]:
        notes.append(f"{impl}: the peak RSS could not be reset after the imports "
                     "(/proc/self/clear_refs): peak = lifetime peak (ru_maxrss), imports "
                     "included (on Linux it can even carry the parent's peak across fork/exec)")
    return notes


# ------------------------------------------------------------ digits fit

def _installed(name: str) -> bool:
    """Whether ``name`` can be imported (checked without importing it here)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):   # e.g. sys.modules[name] = None
        return False


def _epochs(cfg: Any) -> int:
    """E of this run: full, ``--quick`` or ``--smoke``."""
    return SMOKE_EPOCHS if cfg.smoke else QUICK_EPOCHS if cfg.quick else EPOCHS


def _digits_case(cfg: Any) -> MeasureCase:
    import numpy as np

    import fastdnn
    from fastdnn import reference

    from .train import FastdnnImpl, Problem, make_data

    problem = Problem("digits", (128,))
    epochs = _epochs(cfg)
    data, data_failures = make_data(problem)
    dims = [data.n, *problem.hidden, data.n_out]
    name = f"digits fit {'-'.join(map(str, dims))} softmax"
    fast_threads = fastdnn.get_num_threads()
    torch_threads = None if cfg.torch is None else cfg.torch.get_num_threads()
    impls: dict[str, dict] = {"fastdnn": {"threads": fast_threads}}
    skipped = []
    if cfg.torch is not None:
        impls["torch"] = {"threads": torch_threads}
    else:
        skipped.append("torch not installed: its column and the target (fastdnn's peak "
                       "memory of a fit <= PyTorch's) not measured")
    if _installed("sklearn"):
        impls["sklearn"] = {}
    else:
        skipped.append("scikit-learn not installed: its column skipped")
    impls["numpy"] = {"reference": str(Path(reference.__file__).resolve())}
    params = {
        "dataset": data.description, "m_train": int(data.Xtr.shape[0]),
        "m_test": int(data.Xte.shape[0]), "layers": dims, "hidden": "relu",
        "output": "softmax", "loss": "categorical_crossentropy", "optimizer": "adam",
        "learning_rate": LR, "batch_size": BATCH, "epochs": epochs, "shuffle": True,
        "seed": SEED, "threads": {"fastdnn": fast_threads, "torch": torch_threads},
        "measured": "build + fit, first fit of a fresh process; peak RSS by VmHWM reset after "
                    "the imports and data load; RssAnon/RssFile sampled every "
                    f"{SAMPLE_S * 1e3:g} ms; tracemalloc over a second identical fit"}

    def measure() -> tuple[list[dict], list[str], list[str]]:
        notes, failures = list(skipped), list(data_failures)
        results: dict[str, dict] = {}
        with tempfile.TemporaryDirectory(prefix="fastdnn-bench-memory-") as tmpdir:
            tmp = Path(tmpdir)
            initial = FastdnnImpl(data, problem.hidden).initial_params(SEED)
            arrays = {"Xtr": data.Xtr, "Xte": data.Xte, "ytr": data.ytr, "yte": data.yte,
                      "Xtr_n": data.Xtr_n, "Xte_n": data.Xte_n}
            for l, (W, b) in enumerate(initial, 1):
                arrays[f"W{l}"], arrays[f"b{l}"] = W, b
            np.savez(tmp / "digits.npz", **arrays)
            for impl, extra in impls.items():
                print(f"[{SECTION}] {name}: {impl} in a fresh process ...", file=sys.stderr,
                      flush=True)
                spec = {"job": impl, "data": str(tmp / "digits.npz"), "layers": dims,
                        "epochs": epochs, **extra}
                r, why = run_worker(spec, tmp)
                if r is None:
                    failures.append(why)
                    continue
                results[impl] = r
                notes += _worker_notes(impl, r)
        records = []
        fast = results.get("fastdnn")
        fast_incr = None
        if fast is not None and fast["baseline"]:
            fast_incr = max(fast["peak_rss"] - fast["baseline"]["VmRSS"], PAGE)
        for impl, r in results.items():
            values = _common_values(r)
            values["test acc"] = round(r["score"]["test acc"], 4)
            values["train loss"] = float(f"{r['score']['train loss']:.4g}")
            ratios = []
            incr = None if not r["baseline"] else r["peak_rss"] - r["baseline"]["VmRSS"]
            if impl != "fastdnn" and fast_incr and incr is not None:
                value = max(incr, PAGE) / fast_incr
                values["incr/fastdnn"] = round(value, 2)
                ratios.append({"label": f"{impl}/fastdnn", "numerator": impl,
                               "denominator": "fastdnn", "value": value,
                               "quantity": "peak RSS increase during the fit: other / fastdnn",
                               "detail": f"{incr / MiB:.1f} vs {fast_incr / MiB:.1f} MiB"})
            records.append({**case.key, "impl": impl, "unit": "epoch", "values": values,
                            "ratios": ratios, "raw": r, "params": params,
                            "legend": DIGITS_LEGEND})
        notes += _digits_detail(results)
        return records, notes, failures

    case = MeasureCase(SECTION, name, "float32", epochs, measure, params)
    return case


DIGITS_LEGEND = (
    "Each implementation in a fresh process. start: RSS of the bare interpreter; baseline: "
    "after the imports and the data load; peak: peak RSS (VmHWM) of building and fitting the "
    "model, reset after the baseline; peak incr = peak - baseline (what the target compares); "
    "anon/file incr: sampled peak RssAnon (own allocations) / RssFile (mapped files, e.g. "
    "library code touched by the fit) minus baseline; tracemalloc: peak of Python objects and "
    "NumPy arrays over a second identical fit (torch tensors, BLAS' and fastdnn's packing buffers not traced); fit s: "
    "wall time of the first fit (one-time costs included); incr/fastdnn: peak incr of the row "
    "over fastdnn's (> 1: fastdnn needs less).")


def _digits_detail(results: dict[str, dict]) -> list[str]:
    """A note putting fastdnn's peak memory of a fit next to torch's (the target's
    comparison, evaluated from ``incr/fastdnn`` by ``bench/targets.py``)."""
    f, t = results.get("fastdnn"), results.get("torch")
    if f is None or t is None or not f["baseline"] or not t["baseline"]:
        return []
    fi = f["peak_rss"] - f["baseline"]["VmRSS"]
    ti = t["peak_rss"] - t["baseline"]["VmRSS"]
    imports = t["baseline"]["VmRSS"] - (t["start"] or t["baseline"])["VmRSS"]
    fimports = f["baseline"]["VmRSS"] - (f["start"] or f["baseline"])["VmRSS"]
    return [f"peak memory of a fit, fastdnn vs PyTorch (same network and data): "
            f"peak RSS increase during the fit fastdnn "
            f"{fi / MiB:.1f} MiB vs torch {ti / MiB:.1f} MiB; absolute peaks fastdnn "
            f"{f['peak_rss'] / MiB:.0f} MiB vs torch {t['peak_rss'] / MiB:.0f} MiB, of which "
            f"imports and data {fimports / MiB:.0f} MiB vs {imports / MiB:.0f} MiB "
            "(torch's import alone is that large)"]


# ------------------------------------------------------------ memmap epoch

def cache_dir() -> Path:
    """Where the memmap files are kept between runs."""
    root = os.environ.get("FASTDNN_BENCH_CACHE") or os.path.join(tempfile.gettempdir(),
                                                                 "fastdnn-bench")
    return Path(root)


def _memmap_paths(rows: int) -> tuple[Path, Path, Path]:
    stem = cache_dir() / f"memmap-{rows}x{MEMMAP_FEATURES}-float32-seed{SEED}"
    return (stem.with_name(stem.name + ".X.npy"), stem.with_name(stem.name + ".y.npy"),
            stem.with_name(stem.name + ".json"))


def _memmap_valid(rows: int) -> bool:
    """The cached files exist, are complete and hold what this version writes."""
    import numpy as np

    xp, yp, meta = _memmap_paths(rows)
    if not (xp.exists() and yp.exists() and meta.exists()):
        return False
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        X = np.load(xp, mmap_mode="r")
        y = np.load(yp, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return (info.get("complete") and X.shape == (rows, MEMMAP_FEATURES) and X.dtype == np.float32
            and y.shape == (rows,) and y.dtype == np.float32)


def make_memmap(rows: int) -> tuple[Path, Path]:
    """Write ``rows x 20`` float32 examples and their 0/1 labels as ``.npy`` files, chunk by
    chunk with plain writes (the array is never in memory, nor mapped here)."""
    import numpy as np

    xp, yp, meta = _memmap_paths(rows)
    xp.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    teacher = rng.standard_normal(MEMMAP_FEATURES).astype(np.float32)
    tmp_x, tmp_y = xp.with_suffix(".tmp"), yp.with_suffix(".tmp")
    with open(tmp_x, "wb") as fx, open(tmp_y, "wb") as fy:
        np.lib.format.write_array_header_1_0(
            fx, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                 "fortran_order": False, "shape": (rows, MEMMAP_FEATURES)})
        np.lib.format.write_array_header_1_0(
            fy, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                 "fortran_order": False, "shape": (rows,)})
        for s in range(0, rows, CHUNK_ROWS):
            k = min(CHUNK_ROWS, rows - s)
            X = rng.standard_normal((k, MEMMAP_FEATURES), dtype=np.float32)
            z = X @ teacher + 0.5 * rng.standard_normal(k, dtype=np.float32)
            fx.write(np.ascontiguousarray(X).data)
            fy.write((z > 0).astype(np.float32).data)
        fx.flush(), fy.flush()
        os.fsync(fx.fileno()), os.fsync(fy.fileno())
    os.replace(tmp_x, xp)
    os.replace(tmp_y, yp)
    meta.write_text(json.dumps({"complete": True, "rows": rows, "features": MEMMAP_FEATURES,
                                "dtype": "float32", "seed": SEED,
                                "labels": "(X @ teacher + 0.5 noise > 0), teacher ~ N(0, 1)"}),
                    encoding="utf-8")
    return xp, yp


def warm_page_cache(path: Path) -> float:
    """Read ``path`` once with plain reads (into the page cache, not into our RSS); seconds."""
    buf = bytearray(16 * MiB)
    t0 = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass
    return time.perf_counter() - t0


def _memmap_case(cfg: Any) -> MeasureCase:
    import fastdnn

    rows = SMOKE_MEMMAP_ROWS if cfg.smoke else QUICK_MEMMAP_ROWS if cfg.quick else MEMMAP_ROWS
    dims = [MEMMAP_FEATURES, MEMMAP_HIDDEN, 1]
    name = f"memmap epoch {'-'.join(map(str, dims))} sigmoid"
    xp, yp, _ = _memmap_paths(rows)
    file_bytes = rows * MEMMAP_FEATURES * 4
    params = {"rows": rows, "features": MEMMAP_FEATURES, "dtype": "float32",
              "layers": dims, "optimizer": "adam", "learning_rate": 1e-3,
              "batch_size": MEMMAP_BATCH, "epochs": 1, "shuffle": True, "check_finite": False,
              "X": str(xp), "y": str(yp), "X_bytes": file_bytes, "mmap_mode": "r",
              "page_cache": "warm (file read once before the run)",
              "threads": fastdnn.get_num_threads()}
    # fastdnn as configured, and on one thread when it has more: on a machine whose cores
    # are partly busy, an OpenMP team waiting on a descheduled thread can make the default
    # many times slower
    runs = [("fastdnn", params["threads"], {})]
    if params["threads"] > 1:
        runs.append(("fastdnn 1 thread", 1, {k: "1" for k in ONE_THREAD_ENV}))

    def measure() -> tuple[list[dict], list[str], list[str]]:
        notes: list[str] = []
        failures: list[str] = []
        if not _memmap_valid(rows):
            where = cache_dir()
            while not where.exists() and where != where.parent:
                where = where.parent
            free = shutil.disk_usage(where).free
            if free < MIN_FREE_BYTES:
                return [], [f"memmap entry skipped: {free / 1e9:.1f} GB free under "
                            f"{cache_dir()}, the benchmark wants {MIN_FREE_BYTES / 1e9:g} GB to "
                            f"write its {file_bytes / 1e6:.0f} MB file (set FASTDNN_BENCH_CACHE "
                            "to another directory)"], []
            print(f"[{SECTION}] writing {rows:,} x {MEMMAP_FEATURES} float32 "
                  f"({file_bytes / 1e6:.0f} MB) to {xp} (kept for later runs) ...",
                  file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            make_memmap(rows)
            print(f"[{SECTION}] written in {time.perf_counter() - t0:.1f} s", file=sys.stderr,
                  flush=True)
        else:
            print(f"[{SECTION}] reusing {xp} and {yp.name} (delete them to free "
                  f"{(file_bytes + rows * 4) / 1e6:.0f} MB)", file=sys.stderr, flush=True)
        params["warm_read_s"] = round(warm_page_cache(xp) + warm_page_cache(yp), 3)
        records = []
        for impl, threads, env in runs:
            spec = {"job": "memmap", "X": str(xp), "y": str(yp), "hidden": MEMMAP_HIDDEN,
                    "batch": MEMMAP_BATCH, "threads": threads, "env": env}
            print(f"[{SECTION}] {name}: {impl}, one epoch over {rows:,} rows in a fresh "
                  "process ...", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory(prefix="fastdnn-bench-memory-") as tmpdir:
                r, why = run_worker(spec, Path(tmpdir))
            if r is None:
                failures.append(why)
                continue
            notes += _worker_notes(impl, r)
            values, note, failed = _memmap_values(r, rows, file_bytes, impl)
            notes += note
            failures += failed
            records.append({**case.key, "impl": impl, "unit": "example", "values": values,
                            "ratios": [], "raw": r, "params": {**params, "threads": threads,
                                                               "env": env},
                            "legend": MEMMAP_LEGEND})
        return records, notes, failures

    case = MeasureCase(SECTION, name, "float32", rows, measure, params)
    return case


# OMP_NUM_THREADS: fastdnn's OpenMP team; the others: NumPy's BLAS, which fastdnn does not
# call, so that the whole worker process runs on one thread
ONE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _memmap_values(r: dict, rows: int, file_bytes: int, impl: str
                   ) -> tuple[dict[str, Any], list[str], list[str]]:
    """The columns of a memmap row (``anon incr % file`` is what the target bounds),
    a note on its memory and the failures found."""
    values = _common_values(r)
    epoch_s = values.pop("fit s")
    base, sampled = r["baseline"] or {}, r["sampled_peak"]
    values = {"file MiB": _mib(file_bytes), "epoch s": epoch_s,
              "examples/s": round(rows / r["fit_s"]), **values,
              "peak RssAnon MiB": _mib(sampled["RssAnon"]) if base else None,
              "peak RssFile MiB": _mib(sampled["RssFile"]) if base else None}
    notes, failures = [], []
    values["anon incr % file"] = values["peak RSS % file"] = None
    if base:
        anon_incr = sampled["RssAnon"] - base["RssAnon"]
        values["anon incr % file"] = round(100 * anon_incr / file_bytes, 1)
        values["peak RSS % file"] = round(100 * r["peak_rss"] / file_bytes, 1)
        notes.append(
            f"memory of an epoch on a {rows:,} x {MEMMAP_FEATURES} float32 memmap, {impl}: "
            f"RssAnon +{anon_incr / MiB:.1f} MiB "
            f"({100 * anon_incr / file_bytes:.1f} % of the {file_bytes / MiB:.0f} MiB file), "
            f"peak RSS {r['peak_rss'] / MiB:.0f} MiB of which mapped file pages "
            f"(RssFile, reclaimable page cache) {sampled['RssFile'] / MiB:.0f} MiB; "
            f"epoch {r['fit_s']:.2f} s, {rows / r['fit_s']:,.0f} examples/s (warm page cache)"
            + ("" if rows == MEMMAP_ROWS else f"; a reduced size, not the target's "
               f"{MEMMAP_ROWS:,} rows"))
    values["major faults"] = r["major_faults"]
    values["train loss"] = float(f"{r['score']['train loss']:.4g}")
    if r["score"].get("writeable"):
        failures.append(f"{impl}: the worker's X was writeable, not the read-only memmap meant")
    return values, notes, failures


MEMMAP_LEGEND = (
    "memmap: one epoch (fit(epochs=1), model built inside the timed region) on a read-only "
    "np.load(mmap_mode='r') of the cached .npy file, page cache warm; peak: VmHWM during the "
    "epoch; peak RssAnon/RssFile: sampled, absolute; anon incr % file: growth of the process's "
    "own memory during the epoch relative to the file size; RssFile counts the file's pages "
    "mapped in (clean page cache, reclaimable), so peak RSS approaches the file size after a "
    "shuffled epoch. 'fastdnn 1 thread': the same with fastdnn.set_num_threads(1) and "
    "OMP_NUM_THREADS=1 (fastdnn's OpenMP team; its sensitivity to busy cores), and "
    "OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1 so that NumPy's BLAS, which fastdnn does not "
    "call, starts no threads either.")


def cases(cfg: Any) -> Iterator[MeasureCase]:
    """The digits fit (fastdnn, torch, sklearn, numpy), then the memmap epoch (fastdnn)."""
    yield _digits_case(cfg)
    yield _memmap_case(cfg)
