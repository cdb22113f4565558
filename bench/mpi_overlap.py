"""Whether a non-blocking ``Iallreduce`` of one layer's gradients overlaps with the
backward of the layer below it, on this machine's MPI (2 ranks, one thread each).

Each training step of a data-parallel ``fit`` sums the gradient buffer with one
blocking in-place ``Allreduce`` after the whole backward. A per-layer schedule would
start layer L's reduction (``Iallreduce``) as soon as its ``dW`` and ``db`` exist and
compute layer L-1's backward meanwhile; that pays only if the MPI library moves the
data while the rank computes.

The networks and local batches are the ``distributed`` section's (``NETS`` of
``bench/sections/distributed.py``); the products are fastdnn's ``matmul`` on the real
shapes (column layout, ``W`` of shape (out, in)), each split into ``--chunks`` row
blocks; the gradient buffer is the one ``fit`` reduces (``gradient_buffer``: every
layer's ``dW`` and ``db``, aligned, plus the three-number tail), float32.

Cases:

* ``layer L while backward L-1``: layer L's slot of the buffer, reduced while layer L-1's
  backward products run (``dW``, ``db``, ``dA`` below unless L-1 is the first layer).
  The first layer's slot (``layer 1 while backward 1``, 200,960 floats for the 784
  network) has no backward left below it in a step; it is timed against its own
  layer's backward (into other arrays) to see what the largest slot could overlap.
* ``step``: the forward and backward products of one step, then one ``Allreduce`` of
  the whole buffer (the schedule ``fit`` runs), against the per-layer schedule.

In a pair case the slot is ready on both ranks when the products start, so its
``sequential`` also waits for the slower rank's products and the other two schedules
need not: with ranks that share busy cores their efficiency can exceed 1 without any
overlap. ``step`` has no such bias (every slot waits for its layer's backward on both
ranks); it is the case that says whether the per-layer schedule makes a step faster.

Variants, run round-robin (``--rounds`` rounds, the order rotated each round; ranks
aligned by a ``Barrier`` before each; a sample is the slower rank's time):

* ``compute``: the products alone;
* ``allreduce``: the blocking ``Allreduce`` alone;
* ``sequential``: the products, then the ``Allreduce``;
* ``overlapped``: ``Iallreduce`` started (per layer for ``step``), the products,
  ``Waitall``;
* ``+ Test``: as ``overlapped`` with ``Testall`` on the pending requests after every
  chunk of products (progress driven by hand).

``--launch`` runs the probe under ``mpiexec -n 2`` (the helpers of the distributed
section), alternately without and with MPICH's progress thread
(``MPIR_CVAR_ASYNC_PROGRESS=1``: one more thread per rank, which on 2 cores with 2
ranks has no core of its own), ``--blocks`` launches of each, and prints the median,
10th percentile and quartiles of every variant (on a shared machine a variant's times
are often bimodal: rounds where both ranks ran undisturbed, and rounds where one of
them was descheduled and the other waited in the reduction), then per case: overlap
efficiency ``(sequential - overlapped) / min(compute, allreduce)`` from the medians
(1: the shorter of the two is hidden entirely; 0 or below: nothing is) and its
quartiles over the rounds (each round's variants run within milliseconds of each
other, so the machine's drift cancels in them), what the schedule saves on
``sequential`` within a round (median and quartiles, µs and %), and its median against
``sequential`` without the progress thread.

    mpiexec -n 2 python bench/mpi_overlap.py [--rounds 200] [--chunks 4]
    python bench/mpi_overlap.py --launch [--rounds 200] [--blocks 2] [--smoke]

Without mpi4py or ``mpiexec`` it says so and exits with status 0.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from sections.distributed import NETS, _have_mpi, _mpiexec, worker_env  # noqa: E402

RANKS = 2
VARIANTS = ("compute", "allreduce", "sequential", "overlapped", "+ Test")
MODES = {"plain": {}, "async": {"MPIR_CVAR_ASYNC_PROGRESS": "1"}}
TIMEOUT_S = 3600


# ------------------------------------------------------------------ the ranks

def _chunks(n: int, k: int) -> list[tuple[int, int]]:
    k = max(1, min(k, n))
    cuts = [n * i // k for i in range(k + 1)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


class Net:
    """One network's arrays at local batch m: weights, activations, deltas and the
    gradient buffer whose views the backward writes."""

    def __init__(self, dims: tuple[int, ...], m: int, chunks: int):
        import numpy as np

        from fastdnn._kernels._dense import matmul
        from fastdnn.distributed._session import _offsets, gradient_buffer

        f32 = np.float32
        rng = np.random.default_rng(0)
        L = len(dims) - 1
        self.dims, self.m, self.L, self.chunks = dims, m, L, chunks
        self.W = [rng.standard_normal((dims[l + 1], dims[l]), dtype=f32) for l in range(L)]
        self.A = [rng.standard_normal((n, m), dtype=f32) for n in dims[:-1]]
        self.Z = [np.empty((n, m), f32) for n in dims[1:]]
        self.dZ = [rng.standard_normal((n, m), dtype=f32) for n in dims[1:]]
        self.dA = [np.empty((n, m), f32) for n in dims[:-1]]
        shapes = [s for l in range(L) for s in ((dims[l + 1], dims[l]), (dims[l + 1], 1))]
        proto = [np.empty(s, f32) for s in shapes]
        self.buffer, _ = gradient_buffer(proto, np.dtype(f32))
        off = _offsets(proto)
        view = [self.buffer[off[i]:off[i] + p.size].reshape(p.shape)
                for i, p in enumerate(proto)]
        self.dW, self.db = view[0::2], view[1::2]
        # layer l's slot: its dW and db (the last layer's also the tail)
        self.slot = [self.buffer[off[2 * l]:(off[2 * l + 2] if l < L - 1 else None)]
                     for l in range(L)]
        self.scratch_dW = [np.empty_like(w) for w in self.W]
        self.scratch_db = [np.empty((w.shape[0], 1), f32) for w in self.W]
        # W's column blocks, contiguous: dA's row blocks as W[:, a:b].T @ dZ
        self.Wcols = [[np.ascontiguousarray(w[:, a:b]) for a, b in _chunks(w.shape[1], chunks)]
                      for w in self.W]
        self.matmul = matmul

    def forward(self) -> list[Callable[[], Any]]:
        mm = self.matmul
        return [lambda l=l, a=a, b=b: mm(self.W[l][a:b], self.A[l], out=self.Z[l][a:b])
                for l in range(self.L) for a, b in _chunks(self.W[l].shape[0], self.chunks)]

    def weight_grads(self, l: int, scratch: bool) -> list[Callable[[], Any]]:
        import numpy as np

        mm = self.matmul
        dW = self.scratch_dW[l] if scratch else self.dW[l]
        db = self.scratch_db[l] if scratch else self.db[l]
        ops: list[Callable[[], Any]] = [
            lambda a=a, b=b: mm(self.dZ[l][a:b], self.A[l].T, out=dW[a:b])
            for a, b in _chunks(dW.shape[0], self.chunks)]
        ops.append(lambda: np.add.reduce(self.dZ[l], axis=1, out=db[:, 0]))
        return ops

    def input_grads(self, l: int) -> list[Callable[[], Any]]:
        """dA of layer l's input (none for the first layer)."""
        if l == 0:
            return []
        mm = self.matmul
        blocks = _chunks(self.W[l].shape[1], self.chunks)
        return [lambda w=w, a=a, b=b: mm(w.T, self.dZ[l], out=self.dA[l][a:b])
                for w, (a, b) in zip(self.Wcols[l], blocks)]


class Case:
    """A program of compute chunks and reduction starts, and the buffer that the
    blocking schedule reduces in one call."""

    def __init__(self, name: str, floats: int, program: list, whole: Any):
        self.name, self.floats, self.program, self.whole = name, floats, program, whole
        self.compute = [op for kind, op in program if kind == "c"]


def make_cases(chunks: int) -> list[Case]:
    cases = []
    for dims, _rows, batch in NETS:
        net = Net(dims, batch, chunks)
        tag = "-".join(map(str, dims))
        for l in reversed(range(net.L)):
            below = max(l - 1, 0)
            ops = net.weight_grads(below, scratch=True) + net.input_grads(below)
            slot = net.slot[l]
            slot[:] = 0
            cases.append(Case(f"{tag} layer {l + 1} while backward {below + 1}", slot.size,
                              [("r", slot)] + [("c", op) for op in ops], slot))
        program = [("c", op) for op in net.forward()]
        for l in reversed(range(net.L)):
            program += [("c", op) for op in net.weight_grads(l, scratch=False)]
            program.append(("r", net.slot[l]))
            program += [("c", op) for op in net.input_grads(l)]
        cases.append(Case(f"{tag} step", net.buffer.size, program, net.buffer))
    return cases


def run_variant(case: Case, variant: str, comm: Any, MPI: Any) -> float:
    comm.Barrier()
    t0 = time.perf_counter()
    if variant == "compute":
        for op in case.compute:
            op()
    elif variant == "allreduce":
        comm.Allreduce(MPI.IN_PLACE, case.whole, op=MPI.SUM)
    elif variant == "sequential":
        for op in case.compute:
            op()
        comm.Allreduce(MPI.IN_PLACE, case.whole, op=MPI.SUM)
    else:
        test = variant == "+ Test"
        reqs = []
        for kind, op in case.program:
            if kind == "r":
                reqs.append(comm.Iallreduce(MPI.IN_PLACE, op, op=MPI.SUM))
            else:
                op()
                if test and reqs:
                    MPI.Request.Testall(reqs)
        MPI.Request.Waitall(reqs)
    return time.perf_counter() - t0


def probe(rounds: int, warmup: int, chunks: int) -> dict | None:
    """Every variant of every case, ``rounds`` times round-robin; on rank 0 the slower
    rank's times, None on the others."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import fastdnn
    from mpi4py import MPI

    fastdnn.set_num_threads(1)
    comm = MPI.COMM_WORLD
    cases = make_cases(chunks)
    pairs = [(c, v) for c in cases for v in VARIANTS]
    times = {(c.name, v): [] for c, v in pairs}
    for r in range(warmup + rounds):
        k = r % len(pairs)
        for case, variant in pairs[k:] + pairs[:k]:
            t = run_variant(case, variant, comm, MPI)
            if r >= warmup:
                times[case.name, variant].append(t)
    every = comm.gather(times, root=0)
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        threads = None
    if comm.Get_rank() != 0:
        return None
    slowest = {key: [max(ts) for ts in zip(*(e[key] for e in every))] for key in times}
    return {"async": os.environ.get("MPIR_CVAR_ASYNC_PROGRESS") == "1",
            "threads": threads, "ranks": comm.Get_size(),
            "mpi": " ".join(MPI.Get_library_version().split()[:3]),
            "cases": [{"name": c.name, "floats": int(c.floats),
                       "samples": {v: slowest[c.name, v] for v in VARIANTS}} for c in cases]}


# ------------------------------------------------------------------ the table

def _q(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    at = q * (len(xs) - 1)
    i = int(at)
    return xs[i] if i + 1 >= len(xs) else xs[i] + (at - i) * (xs[i + 1] - xs[i])


def _eff(t: dict[str, float], variant: str) -> float:
    return (t["sequential"] - t[variant]) / min(t["compute"], t["allreduce"])


def render(runs: dict[str, list[dict]]) -> str:
    """Two tables from the launches' results by mode (``plain``, ``async``)."""
    cases: dict[str, int] = {}
    samples: dict[tuple[str, str, str], list[float]] = {}
    for mode, results in runs.items():
        for res in results:
            for c in res["cases"]:
                cases[c["name"]] = c["floats"]
                for v, ts in c["samples"].items():
                    samples.setdefault((mode, c["name"], v), []).extend(ts)
    lines = ["| case | floats | progress | variant | median µs | p10 µs | q1 µs | q3 µs "
             "| samples |",
             "| :--- | ---: | :--- | :--- | ---: | ---: | ---: | ---: | ---: |"]
    for name, floats in cases.items():
        for mode in runs:
            for v in VARIANTS:
                ts = samples[mode, name, v]
                lines.append(f"| {name} | {floats:,} | {mode} | {v} | "
                             f"{1e6 * statistics.median(ts):.1f} | {1e6 * _q(ts, .1):.1f} | "
                             f"{1e6 * _q(ts, .25):.1f} | "
                             f"{1e6 * _q(ts, .75):.1f} | {len(ts)} |")
    lines += ["", "| case | progress | schedule | efficiency | per round q1 | per round q3 | "
              "saved µs | saved q1 | saved q3 | saved % | vs plain sequential % |",
              "| :--- | :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in cases:
        base = statistics.median(samples.get(("plain", name, "sequential"), [float("nan")]))
        for mode in runs:
            med = {v: statistics.median(samples[mode, name, v]) for v in VARIANTS}
            rounds = [dict(zip(VARIANTS, r)) for r in zip(*(samples[mode, name, v]
                                                            for v in VARIANTS))]
            for v in ("overlapped", "+ Test"):
                per = [_eff(r, v) for r in rounds]
                saved = [r["sequential"] - r[v] for r in rounds]
                mid = statistics.median(saved)
                lines.append(
                    f"| {name} | {mode} | {v} | {_eff(med, v):.2f} | {_q(per, .25):.2f} | "
                    f"{_q(per, .75):.2f} | {1e6 * mid:.1f} | {1e6 * _q(saved, .25):.1f} | "
                    f"{1e6 * _q(saved, .75):.1f} | {100 * mid / med['sequential']:.1f} | "
                    f"{100 * (base - med[v]) / base:.1f} |")
    return "\n".join(lines)


def legend(runs: dict[str, list[dict]]) -> str:
    first = next(r for rs in runs.values() for r in rs)
    threads = {m: sorted({r["threads"] for r in rs}) for m, rs in runs.items()}
    return (f"{first['mpi']}; {first['ranks']} ranks, one compute thread each "
            f"(threads per rank process: {threads}). A sample is the slower rank's time "
            "after a Barrier. efficiency: (sequential - schedule) / min(compute, allreduce), "
            "from the medians, and its quartiles over the rounds. saved: sequential minus the "
            "schedule within each round (> 0: the schedule is faster), its median and "
            "quartiles, and the median as % of sequential's; vs plain sequential: the "
            "schedule's median against sequential's without the progress thread.")


# ------------------------------------------------------------------ the launcher

def launch(rounds: int, warmup: int, chunks: int, blocks: int) -> dict[str, list[dict]]:
    """``blocks`` launches of each mode, alternating; their results by mode."""
    runs: dict[str, list[dict]] = {m: [] for m in MODES}
    script = str(Path(__file__).resolve())
    for b in range(blocks):
        order = list(MODES) if b % 2 == 0 else list(MODES)[::-1]
        for mode in order:
            with tempfile.TemporaryDirectory(prefix="fastdnn-overlap-") as tmp:
                out = Path(tmp) / "out.json"
                cmd = [_mpiexec() or "mpiexec", "-n", str(RANKS), sys.executable, script,
                       "--rounds", str(rounds), "--warmup", str(warmup),
                       "--chunks", str(chunks), "--out", str(out)]
                print(f"[mpi_overlap] block {b + 1}/{blocks}: {mode} ...", file=sys.stderr,
                      flush=True)
                proc = subprocess.run(cmd, cwd=tmp, env=worker_env(**MODES[mode]),
                                      capture_output=True, text=True, timeout=TIMEOUT_S)
                if proc.returncode != 0 or not out.exists():
                    raise RuntimeError(f"{mode} launch failed (exit {proc.returncode}): "
                                       + proc.stderr.strip()[-2000:])
                runs[mode].append(json.loads(out.read_text(encoding="utf-8")))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launch", action="store_true",
                        help=f"run under mpiexec -n {RANKS}, with and without async progress")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--chunks", type=int, default=4, help="row blocks per product")
    parser.add_argument("--blocks", type=int, default=2, help="launches per mode (--launch)")
    parser.add_argument("--smoke", action="store_true", help="a few rounds, one block")
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.warmup, args.blocks = 3, 1, 1
    if args.launch:
        if not _have_mpi():
            print("mpi4py or mpiexec missing (pip install 'fastdnn[mpi]'): nothing measured")
            return 0
        runs = launch(args.rounds, args.warmup, args.chunks, args.blocks)
        print(render(runs))
        print()
        print(legend(runs))
        return 0
    try:
        from mpi4py import MPI
    except ImportError:
        print("mpi4py missing (pip install 'fastdnn[mpi]'): nothing measured")
        return 0
    if MPI.COMM_WORLD.Get_size() < 2:
        print(f"one rank: run under mpiexec -n {RANKS}, or with --launch")
        return 0
    res = probe(args.rounds, args.warmup, args.chunks)
    if res is not None:
        if args.out:
            Path(args.out).write_text(json.dumps(res), encoding="utf-8")
        else:
            runs = {"async" if res["async"] else "plain": [res]}
            print(render(runs))
            print()
            print(legend(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
