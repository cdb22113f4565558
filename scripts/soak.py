#!/usr/bin/env python
"""Soak test: fastdnn's fit, predict, save and load, concurrently, for a while.

Usage::

    python scripts/soak.py                      # 600 s
    python scripts/soak.py --seconds 120        # what README.md's "Soak test" reports
    python scripts/soak.py --seconds 60 --threads 4 --processes 2 --json soak.json

Run it from the repository root after ``pip install -e .``; it is not part of the test
suite (``tests/``) and takes ``--seconds`` plus a few seconds of final checks.

Until ``--seconds`` have passed:

- ``--threads`` worker threads in this process (default 4) and, in each of
  ``--processes`` worker processes (default 2, started with multiprocessing's spawn
  method), one worker thread repeat: draw a model (dtype, layers, activations,
  output and loss, optimizer, Normalizer, Dropout, batch size, engine), train it for
  1 to 3 epochs on data of its own, predict, save it to a temporary file of its own,
  load it and predict again. Each worker has its own models and files.
- In every process ``--predictors`` threads (default 2) predict on one shared trained
  model (batches of 1 to 1500 rows, with and without ``batch_size``), and the workers
  also predict on it and on copies loaded from its file, all compared with the
  predictions computed single-threaded before the threads started.

Checks (a failed one is a *difference*):

- shared model: every concurrent prediction equals, bit for bit, the single-threaded
  one (the reference is computed twice before the threads start, with the default
  OpenMP threads and with ``fastdnn.set_num_threads(1)``, which must agree too);
- workers: the loaded model predicts exactly what the saved one did; after the threads
  have stopped, the last models of each worker predict single-threaded exactly what
  they predicted concurrently, and their recipes trained again single-threaded give
  bit-identical weights.

Any exception in a worker is an *error* (its traceback is printed); a worker process
that dies is one too. The report gives per process the iterations, errors,
differences and resident memory (VmRSS from /proc/self/status, sampled every 0.2 s):
at start, after the warm-up (the first tenth of the run, at most 15 s), its peak after
the warm-up and at the end; the growth is peak after warm-up minus after warm-up.

Exit status: 0 when there was no error and no difference, 1 otherwise (2: bad
arguments).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
import traceback
import warnings
from typing import Any

import numpy as np

KEEP = 3            # models per worker re-checked single-threaded at the end
MAX_TRACEBACKS = 20  # per process; every error is counted
SAMPLE_S = 0.2      # RSS sampling period


# ---------------------------------------------------------------------- memory

def rss_mib() -> float:
    """Resident memory of this process now (VmRSS), in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    # no /proc: the peak is the best resource offers (KiB on Linux, bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


class RssSampler(threading.Thread):
    """VmRSS every SAMPLE_S seconds: at start, after the warm-up, peak after it, at end."""

    def __init__(self, warmup_until: float, start: float, deadline: float):
        super().__init__(daemon=True, name="rss-sampler")
        self.warmup_until = warmup_until
        # VmRSS at each tenth of the run: a plateau or a steady climb
        self.marks = [start + (deadline - start) * i / 10 for i in range(1, 11)]
        self.timeline: list[float] = []
        self.start_mib = rss_mib()
        self.baseline_mib: float | None = None
        self.peak_mib = 0.0
        self.end_mib = self.start_mib
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_S):
            self._sample()

    def _sample(self) -> None:
        now, value = time.time(), rss_mib()
        while self.marks and now >= self.marks[0]:
            self.marks.pop(0)
            self.timeline.append(value)
        if now < self.warmup_until:
            return
        if self.baseline_mib is None:
            self.baseline_mib = value
        self.peak_mib = max(self.peak_mib, value)

    def stop(self) -> dict:
        self._halt.set()
        self.join()
        self._sample()
        self.end_mib = rss_mib()
        base = self.baseline_mib if self.baseline_mib is not None else self.start_mib
        peak = max(self.peak_mib, base)
        return {"rss_start_mib": self.start_mib, "rss_baseline_mib": base,
                "rss_peak_mib": peak, "rss_end_mib": self.end_mib,
                "rss_growth_mib": peak - base, "rss_timeline_mib": self.timeline}


# ---------------------------------------------------------------------- results

class Tally:
    """Counts, errors and differences of one process (shared by its threads)."""

    def __init__(self, role: str):
        self.role = role
        self.lock = threading.Lock()
        self.counts = {"iterations": 0, "fits": 0, "predicts": 0, "saves": 0, "loads": 0,
                       "shared_predicts": 0, "rechecks": 0}
        self.errors = 0
        self.tracebacks: list[str] = []
        self.differences: list[str] = []

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def error(self, where: str) -> None:
        text = f"[{self.role} pid {os.getpid()} {where}]\n{traceback.format_exc()}"
        with self.lock:
            self.errors += 1
            if len(self.tracebacks) < MAX_TRACEBACKS:
                self.tracebacks.append(text)

    def compare(self, where: str, got: np.ndarray, expected: np.ndarray) -> None:
        if got.shape == expected.shape and got.dtype == expected.dtype and \
                np.array_equal(got, expected, equal_nan=True):
            return
        if got.shape == expected.shape:
            with np.errstate(all="ignore"):
                diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
            detail = (f"max |diff| {np.nanmax(diff):.3g}, {int(np.count_nonzero(diff))} of "
                      f"{diff.size} values differ")
        else:
            detail = f"shape {got.shape} {got.dtype} vs {expected.shape} {expected.dtype}"
        with self.lock:
            self.differences.append(f"[{self.role} pid {os.getpid()}] {where}: {detail}")

    def report(self) -> dict:
        return {"role": self.role, "pid": os.getpid(), **self.counts, "errors": self.errors,
                "tracebacks": self.tracebacks, "differences": self.differences}


# ---------------------------------------------------------------------- models

def recipe(rng: np.random.Generator) -> dict:
    """A random model, its data and how to train it (all plain values: re-runnable)."""
    big = rng.random() < 0.08      # products large enough for the OpenMP team
    kind = str(rng.choice(["binary", "multiclass", "regression"]))
    return {
        "seed": int(rng.integers(2**31)),
        "dtype": str(rng.choice(["float32", "float64"])),
        "m": int(rng.integers(1500, 3000)) if big else int(rng.integers(8, 400)),
        "n": 64 if big else int(rng.integers(1, 33)),
        "hidden": [256, 128] if big else [int(u) for u in
                                           rng.integers(1, 65, size=rng.integers(0, 4))],
        "activation": str(rng.choice(["relu", "tanh", "sigmoid", "leaky_relu", "linear"])),
        "kind": kind,
        "k": 1 if kind == "binary" else int(rng.integers(2, 6)),
        "optimizer": str(rng.choice(["gd", "momentum", "rmsprop", "adam"])),
        "learning_rate": float(rng.choice([1e-4, 1e-3, 1e-2])),
        "lam": float(rng.choice([0.0, 0.0, 0.01])),
        "normalizer": bool(rng.random() < 0.5),
        "dropout": float(rng.choice([0.0, 0.2])) if rng.random() < 0.25 else None,
        "batch_size": None if rng.random() < 0.15 else int(rng.choice([1, 8, 32, 128])
                                                             if not big else 128),
        "epochs": int(rng.integers(1, 4)),
        "engine": str(rng.choice(["auto", "auto", "python"])),
        "shuffle": bool(rng.random() < 0.7),
        "validation_split": float(rng.choice([0.0, 0.0, 0.2])),
        "checkpoint": bool(rng.random() < 0.2),
        "early_stopping": bool(rng.random() < 0.2),
    }


def recipe_data(r: dict) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(r["seed"])
    X = rng.normal(size=(r["m"], r["n"])) * 2.0 + 1.0
    if r["kind"] == "binary":
        y = (X[:, 0] + rng.normal(size=r["m"]) > 1.0).astype(np.float64)
    elif r["kind"] == "multiclass":
        y = rng.integers(0, r["k"], size=r["m"])
    else:
        y = np.tanh(X[:, :1] @ rng.normal(size=(1, r["k"])))
    return X.astype(r["dtype"]), y


def build(r: dict, X: np.ndarray) -> Any:
    import fastdnn
    from fastdnn.layers import Dense, Dropout, Input, Normalizer

    layers: list = [Input(r["n"])]
    if r["normalizer"]:
        norm = Normalizer()
        norm.adapt(X)
        layers.append(norm)
    reg = r["lam"] or None
    for units in r["hidden"]:
        layers.append(Dense(units, activation=r["activation"], kernel_regularizer=reg))
        if r["dropout"] is not None:
            layers.append(Dropout(r["dropout"]))
    output, loss = {"binary": ("sigmoid", "binary_crossentropy"),
                    "multiclass": ("softmax", "categorical_crossentropy"),
                    "regression": ("linear", "mse")}[r["kind"]]
    layers.append(Dense(r["k"], activation=output, kernel_regularizer=reg))
    model = fastdnn.Sequential(layers, dtype=r["dtype"], seed=r["seed"] % 1000)
    opt = fastdnn.optimizers.get(r["optimizer"])
    opt.learning_rate = r["learning_rate"]
    model.compile(opt, loss, metrics=["accuracy"] if r["kind"] != "regression" else ["mae"])
    return model


def train(r: dict, folder: str) -> tuple[Any, np.ndarray, np.ndarray]:
    """The model of recipe ``r``, trained; and its data."""
    from fastdnn.callbacks import EarlyStopping, ModelCheckpoint

    X, y = recipe_data(r)
    model = build(r, X)
    callbacks = []
    if r["checkpoint"]:
        callbacks.append(ModelCheckpoint(os.path.join(folder, "ckpt-{epoch}.npz")))
    if r["early_stopping"]:
        callbacks.append(EarlyStopping(monitor="loss", patience=0, restore_best_weights=True))
    model.fit(X, y, epochs=r["epochs"], batch_size=r["batch_size"], shuffle=r["shuffle"],
              seed=r["seed"], validation_split=r["validation_split"], callbacks=callbacks,
              verbose=0, engine=r["engine"])
    return model, X, y


# ---------------------------------------------------------------------- shared model

def shared_setup(folder: str) -> dict:
    """A trained model, its file, input batches and their single-threaded predictions."""
    import fastdnn
    from fastdnn.layers import Dense, Input

    rng = np.random.default_rng(12345)
    X = rng.normal(size=(1500, 64)).astype(np.float32)
    y = rng.integers(0, 10, size=1500)
    model = fastdnn.Sequential([Input(64), Dense(256, activation="relu"),
                                Dense(128, activation="tanh"),
                                Dense(10, activation="softmax")], seed=0)
    model.compile("adam", "categorical_crossentropy")
    model.fit(X, y, epochs=2, batch_size=64, verbose=0, seed=0)
    path = os.path.join(folder, "shared.npz")
    model.save(path)
    # batches: one row (the low-latency path), small ones, more rows than one compiled
    # call takes (fastdnn._inference.PLAN_COLUMNS), the same in chunks of 100
    # (predict(..., batch_size=100)), a non-contiguous view, float64 input cast per batch
    batches = [X[:1], X[1:4], X[:32], X[:257], X, X, X[::3], X[:100].astype(np.float64)]
    chunks = [None] * len(batches)
    chunks[5] = 100
    refs = [model.predict(b, batch_size=c) for b, c in zip(batches, chunks)]
    fastdnn.set_num_threads(1)       # process-wide: no other thread runs yet
    try:
        refs1 = [model.predict(b, batch_size=c) for b, c in zip(batches, chunks)]
    finally:
        fastdnn.set_num_threads(None)
    return {"model": model, "path": path, "batches": batches, "chunks": chunks,
            "refs": refs, "refs_one_thread": refs1}


def shared_predict(shared: dict, tally: Tally, rng: np.random.Generator,
                   model: Any = None, where: str = "shared") -> None:
    i = int(rng.integers(len(shared["batches"])))
    got = (model or shared["model"]).predict(shared["batches"][i],
                                              batch_size=shared["chunks"][i])
    tally.add("shared_predicts")
    tally.compare(f"{where} predict of batch {i}", got, shared["refs"][i])


# ---------------------------------------------------------------------- loops

def worker_loop(name: str, seed: int, deadline: float, shared: dict, tally: Tally,
                kept: list) -> None:
    """Fit/predict/save/load on models of its own until ``deadline``."""
    import fastdnn

    rng = np.random.default_rng(seed)
    folder = tempfile.mkdtemp(prefix=f"fastdnn-soak-{name}-")
    try:
        while time.time() < deadline:
            r = recipe(rng)
            try:
                model, X, _ = train(r, folder)
                tally.add("fits")
                pred = model.predict(X)
                one = model.predict(X[:1])     # the one-example path (its own loops)
                tally.add("predicts", 2)
                path = os.path.join(folder, "model.npz")
                model.save(path)
                tally.add("saves")
                loaded = fastdnn.load_model(path)
                tally.add("loads")
                tally.compare(f"{name}: loaded vs saved model, recipe {r}",
                              loaded.predict(X), pred)
                tally.add("predicts")
                kept.append((r, loaded, X, pred, one, model.get_weights()))
                del kept[:-KEEP]
                shared_predict(shared, tally, rng, where=f"{name} shared")
                if rng.random() < 0.2:
                    again = fastdnn.load_model(shared["path"])
                    tally.add("loads")
                    shared_predict(shared, tally, rng, model=again,
                                   where=f"{name} loaded shared")
            except Exception:
                tally.error(f"{name}, recipe {r}")
            tally.add("iterations")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def predictor_loop(name: str, seed: int, deadline: float, shared: dict, tally: Tally) -> None:
    rng = np.random.default_rng(seed)
    while time.time() < deadline:
        try:
            shared_predict(shared, tally, rng, where=name)
        except Exception:
            tally.error(name)


def recheck(kept_all: list, tally: Tally) -> None:
    """Single-threaded, after the threads stopped: the kept models predict what they did,
    and their recipes train to the same weights."""
    folder = tempfile.mkdtemp(prefix="fastdnn-soak-recheck-")
    try:
        for name, kept in kept_all:
            for r, loaded, X, pred, one, weights in kept:
                try:
                    tally.compare(f"{name}: single-threaded predict of a kept model, recipe {r}",
                                  loaded.predict(X), pred)
                    tally.compare(f"{name}: single-threaded predict of one example, recipe {r}",
                                  loaded.predict(X[:1]), one)
                    model, _, _ = train(r, folder)
                    for i, (a, b) in enumerate(zip(model.get_weights(), weights)):
                        tally.compare(f"{name}: weights {i} trained again single-threaded, "
                                      f"recipe {r}", a, b)
                    tally.add("rechecks")
                except Exception:
                    tally.error(f"{name} recheck, recipe {r}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_process(role: str, threads: int, predictors: int, seed: int, start: float,
                deadline: float, warmup_until: float) -> dict:
    """Everything one process does: shared model, threads until the deadline, rechecks."""
    # a recipe whose loss diverges is a legitimate run, not an error: fit warns and stops
    warnings.filterwarnings("ignore", message="training diverged", category=RuntimeWarning)
    sampler = RssSampler(warmup_until, start, deadline)
    sampler.start()
    tally = Tally(role)
    folder = tempfile.mkdtemp(prefix=f"fastdnn-soak-{role}-")
    try:
        try:
            shared = shared_setup(folder)
        except Exception:
            tally.error("shared model setup")
            return {**tally.report(), **sampler.stop()}
        tally.compare("shared model: predictions with 1 OpenMP thread vs the default",
                      np.concatenate([a.ravel() for a in shared["refs_one_thread"]]),
                      np.concatenate([a.ravel() for a in shared["refs"]]))
        kept_all = [(f"worker {i}", []) for i in range(threads)]
        pool = [threading.Thread(target=worker_loop, name=name,
                                 args=(name, seed * 100 + i, deadline, shared, tally, kept))
                for i, (name, kept) in enumerate(kept_all)]
        pool += [threading.Thread(target=predictor_loop, name=f"predictor {i}",
                                  args=(f"predictor {i}", seed * 100 + 50 + i, deadline,
                                        shared, tally))
                 for i in range(predictors)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        recheck(kept_all, tally)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {**tally.report(), **sampler.stop()}


# ---------------------------------------------------------------------- main

def machine() -> dict:
    import fastdnn

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    info = fastdnn.info()
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "cores": os.cpu_count(),
            "cpu": cpu, "python": platform.python_version(), "numpy": np.__version__,
            "fastdnn": fastdnn.__version__, "simd": info.get("simd"),
            "threads": fastdnn.get_num_threads()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0,
                        help="how long the threads run (default 600)")
    parser.add_argument("--threads", type=int, default=4,
                        help="worker threads in this process (default 4)")
    parser.add_argument("--processes", type=int, default=2,
                        help="worker processes, each with one worker thread (default 2)")
    parser.add_argument("--predictors", type=int, default=2,
                        help="threads per process predicting on the shared model (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.threads < 1 or args.processes < 0 or args.predictors < 0:
        parser.error("--seconds must be > 0, --threads >= 1, --processes and "
                     "--predictors >= 0")

    start = time.time()
    deadline = start + args.seconds
    warmup_until = start + min(15.0, args.seconds / 10)
    print(f"soak: {args.seconds:g} s, {args.threads} threads here, {args.processes} "
          f"processes, {args.predictors} shared-model predictors per process", flush=True)

    reports, crashed = [], []
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=max(1, args.processes), mp_context=ctx) as ex:
        futures = [ex.submit(run_process, f"process {i + 1}", 1, args.predictors,
                             args.seed * 10 + i + 1, start, deadline, warmup_until)
                   for i in range(args.processes)]
        reports.append(run_process("main", args.threads, args.predictors, args.seed * 10,
                                   start, deadline, warmup_until))
        for i, fut in enumerate(futures):
            try:
                reports.append(fut.result(timeout=max(60.0, args.seconds)))
            except Exception:
                crashed.append(f"[process {i + 1}]\n{traceback.format_exc()}")
    elapsed = time.time() - start

    errors = sum(r["errors"] for r in reports) + len(crashed)
    differences = sum(len(r["differences"]) for r in reports)
    info = machine()
    print(f"\n{info['date']}: {info['cores']} cores ({info['cpu']}), Python {info['python']}, "
          f"NumPy {info['numpy']}, fastdnn {info['fastdnn']} ({info['simd']}, "
          f"{info['threads']} threads); ran {elapsed:.0f} s")
    header = ("process", "pid", "iter", "fits", "predicts", "shared", "saves", "loads",
              "rechecks", "errors", "diffs", "RSS start", "warm", "peak", "end", "growth")
    print(" | ".join(header))
    for r in reports:
        print(" | ".join(str(v) for v in (
            r["role"], r["pid"], r["iterations"], r["fits"], r["predicts"],
            r["shared_predicts"], r["saves"], r["loads"], r["rechecks"], r["errors"],
            len(r["differences"]), f"{r['rss_start_mib']:.1f}", f"{r['rss_baseline_mib']:.1f}",
            f"{r['rss_peak_mib']:.1f}", f"{r['rss_end_mib']:.1f}",
            f"{r['rss_growth_mib']:+.1f} MiB")))
    print("VmRSS (MiB) at each tenth of the run:")
    for r in reports:
        print(f"  {r['role']}: " + " ".join(f"{v:.0f}" for v in r["rss_timeline_mib"]))
    for r in reports:
        for text in r["tracebacks"]:
            print("\nERROR " + text)
        for text in r["differences"]:
            print("\nDIFFERENCE " + text)
    for text in crashed:
        print("\nERROR (worker process died) " + text)
    print(f"\nerrors: {errors}, differences: {differences}; RSS growth after warm-up: "
          + ", ".join(f"{r['role']} {r['rss_growth_mib']:+.1f} MiB" for r in reports))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "seconds": args.seconds, "elapsed": elapsed,
                       "errors": errors, "differences": differences, "processes": reports,
                       "crashed": crashed}, f, indent=1)
    return 1 if errors or differences else 0


if __name__ == "__main__":
    sys.exit(main())
