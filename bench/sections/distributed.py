"""Distributed: data-parallel ``fit`` on 1 and 2 MPI ranks, one thread each.

Each network trains one epoch on a ``numpy.memmap`` (``np.load(mmap_mode="r")``
of a ``.npy`` file written once, chunk by chunk, to ``$FASTDNN_BENCH_CACHE``,
default ``<system temp dir>/fastdnn-bench``, and read once before the runs so
that the page cache is warm) with ``fit(..., distribute=fastdnn.distributed.MPI())``
under ``mpiexec -n P`` (P = 1: plain ``fit``; P = 2: each rank its half of the
rows), ``OMP_NUM_THREADS=1`` and ``fastdnn.set_num_threads(1)``, Adam, the same
local batch on every rank (so P = 2 trains with a global batch twice as large):

* ``20-64-1 sigmoid`` -- the memory section's network, on 5,000,000 x 20 float32
  rows (``--quick`` 500,000, ``--smoke`` 20,000), local batch 1000;
* ``784-256-128-10 softmax`` -- on 100,000 x 784 float32 rows (a 5,000,000-row
  file would be 15.7 GB; ``--quick`` 20,000, ``--smoke`` 2,000), local batch 128.

Columns: ``examples/s`` (rows over the slowest rank's epoch wall time, the
model built and rank 0's weights broadcast outside it), ``efficiency %``
(examples/s on P ranks over P times that on one), ``allreduce ms/step`` and
``% of step`` (the time each step spends in the gradient ``Allreduce``, mean over
the ranks: it includes waiting for the slower rank), ``gradient MB`` (the
buffer each step reduces). Both ranks share a 2-core machine with whatever
else runs on it; the scaling measured here is an upper bound on contention,
not on a cluster's network (``scripts/scale_plan.py`` models that).

Without mpi4py and ``mpiexec`` only the one-rank rows are measured, with a note.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .memory import MeasureCase, cache_dir, warm_page_cache

SECTION = "distributed"
TIMEOUT_S = 3600
SEED = 0
CHUNK_ROWS = 50_000

# name, layer sizes, rows (full, quick, smoke), local batch
NETS = (((20, 64, 1), (5_000_000, 500_000, 20_000), 1000),
        ((784, 256, 128, 10), (100_000, 20_000, 2_000), 128))

WORKER = r"""
import json, sys, time
import numpy as np
spec = json.load(open(sys.argv[1]))
import fastdnn
from fastdnn import Sequential
from fastdnn.layers import Dense
fastdnn.set_num_threads(1)
dist = None
if spec["mpi"]:
    from fastdnn.distributed import MPI
    dist = MPI()
rank, size = (dist.rank, dist.size) if dist is not None else (0, 1)
X = np.load(spec["X"], mmap_mode="r")
y = np.load(spec["y"], mmap_mode="r")
dims = spec["dims"]
out = dims[-1]
layers = [Dense(n, activation="relu") for n in dims[1:-1]]
layers.append(Dense(out, activation="sigmoid" if out == 1 else "softmax"))
model = Sequential(layers, seed=0)
model.compile("adam", "binary_crossentropy" if out == 1 else "sparse_categorical_crossentropy")
model.build(dims[0])
kw = dict(batch_size=spec["batch"], verbose=0, check_finite=False, seed=0, distribute=dist)
model.fit(X[:spec["batch"] * 4 * size], y[:spec["batch"] * 4 * size], epochs=1, **kw)  # warm-up
if dist is not None:
    dist.comm.Barrier()
t0 = time.perf_counter()
h = model.fit(X, y, epochs=1, **kw)
wall = time.perf_counter() - t0
session = dist.last_session if dist is not None and size > 1 else None
mine = {"wall": wall, "reduce_s": session.reduce_seconds if session else 0.0,
        "reduce_calls": session.reduce_calls if session else 0,
        "gradient_bytes": int(session.buffer.nbytes) if session else 0,
        "engine": h.engine, "loss": h.history["loss"][-1]}
every = dist.comm.gather(mine, root=0) if dist is not None else [mine]
if rank == 0:
    json.dump({"ranks": every, "size": size}, open(sys.argv[2], "w"))
"""


def _mpiexec() -> str | None:
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def _have_mpi() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return _mpiexec() is not None


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a launched rank: one thread, and this process's fastdnn first
    on ``PYTHONPATH``; plus ``extra``."""
    import fastdnn

    root = str(Path(fastdnn.__file__).resolve().parent.parent)
    return {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([root] + [p for p in os.environ.get(
                "PYTHONPATH", "").split(os.pathsep) if p]), **extra}


def _paths(rows: int, features: int, classes: int) -> tuple[Path, Path]:
    stem = cache_dir() / f"distributed-{rows}x{features}-{classes}-float32-seed{SEED}"
    return stem.with_name(stem.name + ".X.npy"), stem.with_name(stem.name + ".y.npy")


def _write(rows: int, features: int, classes: int) -> tuple[Path, Path]:
    """Examples and labels of a fixed linear teacher as .npy files, chunk by chunk; kept."""
    import numpy as np

    xp, yp = _paths(rows, features, classes)
    if xp.exists() and yp.exists():
        return xp, yp
    xp.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    teacher = rng.standard_normal((features, max(classes, 1))).astype(np.float32)
    ydt = np.float32 if classes == 1 else np.int64
    tmp_x, tmp_y = xp.with_suffix(".tmp"), yp.with_suffix(".tmp")
    with open(tmp_x, "wb") as fx, open(tmp_y, "wb") as fy:
        np.lib.format.write_array_header_1_0(
            fx, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                 "fortran_order": False, "shape": (rows, features)})
        np.lib.format.write_array_header_1_0(
            fy, {"descr": np.lib.format.dtype_to_descr(np.dtype(ydt)),
                 "fortran_order": False, "shape": (rows,)})
        for s in range(0, rows, CHUNK_ROWS):
            k = min(CHUNK_ROWS, rows - s)
            X = rng.standard_normal((k, features), dtype=np.float32)
            z = X @ teacher
            labels = (z[:, 0] > 0) if classes == 1 else np.argmax(z, axis=1)
            fx.write(np.ascontiguousarray(X).data)
            fy.write(np.ascontiguousarray(labels.astype(ydt)).data)
    os.replace(tmp_x, xp)
    os.replace(tmp_y, yp)
    return xp, yp


def _run(spec: dict, ranks: int, tmp: Path) -> tuple[dict | None, str | None]:
    spec_path, out_path, script = tmp / "spec.json", tmp / "out.json", tmp / "worker.py"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    script.write_text(WORKER, encoding="utf-8")
    cmd = [sys.executable, str(script), str(spec_path), str(out_path)]
    if spec["mpi"]:
        cmd = [_mpiexec() or "mpiexec", "-n", str(ranks)] + cmd
    try:
        proc = subprocess.run(cmd, cwd=tmp, env=worker_env(), capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"{ranks} rank(s): stopped after {TIMEOUT_S} s"
    if proc.returncode != 0 or not out_path.exists():
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return None, f"{ranks} rank(s) failed (exit {proc.returncode}): {tail}"
    return json.loads(out_path.read_text(encoding="utf-8")), None


LEGEND = ("one epoch on a warm-cache memmap, one thread per rank, the same local batch on "
          "every rank; examples/s over the slowest rank's wall time; efficiency: examples/s "
          "over ranks x one rank's; allreduce: time per step in the gradient Allreduce "
          "(mean over ranks, waiting for the slower rank included)")


def _case(cfg: Any, dims: tuple[int, ...], rows3: tuple[int, int, int], batch: int
          ) -> MeasureCase:
    rows = rows3[2] if cfg.smoke else rows3[1] if cfg.quick else rows3[0]
    name = "-".join(map(str, dims)) + (" sigmoid" if dims[-1] == 1 else " softmax")
    params = {"dims": list(dims), "rows": rows, "batch": batch, "optimizer": "adam",
              "threads per rank": 1}

    def measure() -> tuple[list[dict], list[str], list[str]]:
        notes: list[str] = []
        failures: list[str] = []
        mpi = _have_mpi()
        if not mpi:
            notes.append(f"{name}: mpi4py or mpiexec missing (pip install 'fastdnn[mpi]'): "
                         "one rank only")
        print(f"[{SECTION}] {name}: {rows:,} rows ...", file=sys.stderr, flush=True)
        xp, yp = _write(rows, dims[0], dims[-1])
        warm_page_cache(xp)
        warm_page_cache(yp)
        records, base = [], None
        for ranks in ((1, 2) if mpi else (1,)):
            spec = {"X": str(xp), "y": str(yp), "dims": list(dims), "batch": batch,
                    "mpi": mpi}
            with tempfile.TemporaryDirectory(prefix="fastdnn-bench-dist-") as tmpdir:
                r, why = _run(spec, ranks, Path(tmpdir))
            if r is None:
                failures.append(f"{name}: {why}")
                continue
            every = r["ranks"]
            wall = max(x["wall"] for x in every)
            rate = rows / wall
            base = rate if ranks == 1 else base
            steps = max(1, max(x["reduce_calls"] for x in every))
            reduce_s = sum(x["reduce_s"] for x in every) / len(every)
            step_s = wall / steps
            values = {"ranks": ranks, "epoch s": round(wall, 3), "examples/s": round(rate),
                      "efficiency %": (round(100 * rate / (ranks * base), 1)
                                       if base else None),
                      "allreduce ms/step": round(1e3 * reduce_s / steps, 3) if ranks > 1
                      else 0.0,
                      "% of step": round(100 * reduce_s / steps / step_s, 1) if ranks > 1
                      else 0.0,
                      "gradient MB": round(every[0]["gradient_bytes"] / 1e6, 3),
                      "engine": every[0]["engine"], "loss": round(every[0]["loss"], 4)}
            if any(x["engine"] != "compiled" for x in every):
                failures.append(f"{name}: {ranks} rank(s) did not train in the compiled loop")
            records.append({"section": SECTION, "name": name, "dtype": "float32", "n": rows,
                            "impl": f"fastdnn {ranks} rank{'s' if ranks > 1 else ''}",
                            "unit": "example", "values": values, "ratios": [], "raw": r,
                            "params": params, "legend": LEGEND})
        return records, notes, failures

    return MeasureCase(SECTION, name, "float32", rows, measure, params)


def cases(cfg: Any) -> Iterator[MeasureCase]:
    """The two networks, one case each (1 and 2 ranks)."""
    for dims, rows3, batch in NETS:
        yield _case(cfg, dims, rows3, batch)
