"""What bounds a training step's speed against PyTorch's and NumPy's: the step beside its
products, each timed alone, and beside the machine's peak.

A step of ``bench/run.py``'s dense section (ReLU, softmax, categorical cross-entropy,
plain GD; by default 1024-2048-2048-1024 at m = 512, float32) is eight products (three
forward, three weight gradients, two input gradients) and little else. For fastdnn,
PyTorch and NumPy, each in a process of its own with its default threads, this times the
whole step (``fit``'s compiled loop; ``optim.SGD`` with autograd; the course's NumPy code)
and each of its eight products alone in the layout the library's own step makes it
(fastdnn's with their fused bias, activation and update and the plan's cut of large
layers; NumPy's by ``np.matmul``), then prints the time a ratio over each other library's
step asks of fastdnn's as GFLOP/s, against ``bench/peak.py``'s FMA peak and L1 tile
ceiling and against the products' own rates:

    python bench/step_limit.py [--rounds 15] [--repeat 3] [--ratio 1.2]
    python bench/step_limit.py --layers 784,256,128,10 --m 128 --ratio 2

Each library runs ``--repeat`` times, by turns, ``--rounds`` calls of each thing a time;
printed are the best of all and the median of the runs' medians. Without PyTorch
installed, its column is left out.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from typing import Callable

import numpy as np

from _timing import call_times

HERE = os.path.dirname(os.path.abspath(__file__))
LAYERS, M = (1024, 2048, 2048, 1024), 512     # the defaults of --layers and --m


def _timed(f: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Best and median seconds of ``rounds`` calls of f, after three untimed ones."""
    ts = call_times(f, rounds)
    return min(ts), statistics.median(ts)


def fastdnn_calls(net, start) -> tuple[Callable[[], object], list[tuple[str, Callable]]]:
    """fastdnn's step and its products as the step's plan makes them (dense.PlanGemms)."""
    from sections import dense
    from fastdnn._kernels._dense import matmul
    step = dense.CompiledTrainer(net, start, dense.LR).step
    p = dense.PlanGemms(net, start, dense.LR)
    A, W, dZ, dA = p.A, p.W, p.dZ, p.dA
    calls = [(f"Z{l + 1} = W{l + 1} A{l}",
              lambda l=l: matmul(W[l], A[l], direct=False, out=A[l + 1], act=p.acts[l],
                                 bias=p.b[l], split=p.split[l])) for l in range(len(W))]
    for l in reversed(range(len(W))):
        calls.append((f"W{l + 1} -= (lr/m) dZ{l + 1} A{l}^T",
                      lambda l=l: matmul(dZ[l], A[l].T, alpha=p.step_lr, direct=False,
                                         out=W[l], beta=1.0, split=p.split[l])))
        if l > 0:
            calls.append((f"dA{l} = W{l + 1}^T dZ{l + 1}",
                          lambda l=l: matmul(dZ[l].T, W[l], direct=False, out=dA[l - 1].T)))
    return step, calls


def torch_calls(net, start) -> tuple[Callable[[], object], list[tuple[str, Callable]]]:
    """PyTorch's step and its products in its layout: x (m, n) rows, Linear's W (out, in)."""
    import torch
    from sections import dense
    step = dense.TorchTrainer(torch, net, start, dense.LR).step
    W = [torch.from_numpy(np.ascontiguousarray(w)) for w in start.W]
    b = [torch.from_numpy(np.ascontiguousarray(v.ravel())) for v in start.b]
    A = [torch.from_numpy(np.ascontiguousarray(start.X.T))]
    A += [torch.empty(M, n) for n in LAYERS[1:]]
    G = [torch.randn(M, n) for n in LAYERS[1:]]
    dW = [torch.empty_like(w) for w in W]
    dA = [torch.empty(M, n) for n in LAYERS[1:-1]]
    calls = [(f"Z{l + 1} = W{l + 1} A{l}",
              lambda l=l: torch.addmm(b[l], A[l], W[l].t(), out=A[l + 1]))
             for l in range(len(W))]
    for l in reversed(range(len(W))):
        calls.append((f"W{l + 1} -= (lr/m) dZ{l + 1} A{l}^T",
                      lambda l=l: torch.mm(G[l].t(), A[l], out=dW[l])))
        if l > 0:
            calls.append((f"dA{l} = W{l + 1}^T dZ{l + 1}",
                          lambda l=l: torch.mm(G[l], W[l], out=dA[l - 1])))
    return step, calls


def numpy_calls(net, start) -> tuple[Callable[[], object], list[tuple[str, Callable]]]:
    """NumPy's step (the course's code) and its products by ``np.matmul(out=)`` (its own
    BLAS), in the course's layout: examples in columns, ``dW`` apart from ``W``."""
    from sections import dense
    step = dense.NumpyTrainer(net, start, dense.LR).step
    g = dense.NumpyGemms(net, start)
    A, W, dZ, dW, dA = g.A, g.W, g.dZ, g.dW, g.dA
    calls = [(f"Z{l + 1} = W{l + 1} A{l}",
              lambda l=l: np.matmul(W[l], A[l], out=A[l + 1])) for l in range(len(W))]
    for l in reversed(range(len(W))):
        calls.append((f"W{l + 1} -= (lr/m) dZ{l + 1} A{l}^T",
                      lambda l=l: np.matmul(dZ[l], A[l].T, out=dW[l])))
        if l > 0:
            calls.append((f"dA{l} = W{l + 1}^T dZ{l + 1}",
                          lambda l=l: np.matmul(W[l].T, dZ[l], out=dA[l - 1])))
    return step, calls


WORKERS = {"fastdnn": fastdnn_calls, "torch": torch_calls, "numpy": numpy_calls}
LIBRARIES = (("fastdnn", "fastdnn"), ("PyTorch", "torch"), ("NumPy", "numpy"))


def worker(library: str, rounds: int) -> None:
    """Prints one JSON record: the step's and each product's best and median seconds."""
    sys.path.insert(0, HERE)
    if library == "torch":
        import torch    # noqa: F401  (first, with its own OpenMP runtime)
    from sections import dense
    net = dense.Net(LAYERS, M, gemm_only=True)
    start = dense.make_start(net)
    step, calls = WORKERS[library](net, start)
    record = {"step": _timed(step, rounds),
              "products": [(name, _product_flop(name), _timed(f, rounds))
                           for name, f in calls]}
    print(json.dumps(record))


def _run_worker(library: str, rounds: int) -> dict | None:
    out = subprocess.run([sys.executable, __file__, "--worker", library, "--rounds",
                          str(rounds), "--layers", ",".join(map(str, LAYERS)), "--m", str(M)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        if library == "torch" and "No module named 'torch'" in out.stderr:
            return None
        raise RuntimeError(f"{library} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.splitlines()[-1])


def _merged(records: list[dict]) -> dict:
    """One record of a library's runs: the best of their bests, the median of their
    medians."""
    def both(times: list) -> tuple[float, float]:
        return min(t[0] for t in times), statistics.median(t[1] for t in times)
    first = records[0]["products"]
    return {"step": both([r["step"] for r in records]),
            "products": [(name, flop, both([r["products"][i][2] for r in records]))
                         for i, (name, flop, _) in enumerate(first)]}


def _product_flop(name: str) -> float:
    """2 m n_l n_(l-1) for the product named after layer l's Z, W or dA (dA_(l-1))."""
    number = re.match(r"d?[ZWA](\d+)", name)
    l = int(number.group(1)) + name.startswith("dA")
    return 2.0 * M * LAYERS[l] * LAYERS[l - 1]


def _flop() -> float:
    """The step's multiply-adds times two: three forward products, three dW, two dA."""
    pairs = list(zip(LAYERS[:-1], LAYERS[1:]))
    return 2.0 * M * (2 * sum(a * b for a, b in pairs) + sum(a * b for a, b in pairs[1:]))


def print_asks(whose: str, what: str, times: tuple[float, float], ratio: float, flop: float,
               peak: dict | None, fastest: str, unit: str = "ms") -> None:
    """For the best and the median of ``times`` (seconds), what ``ratio`` times faster asks:
    the time (in ms or us) and GFLOP/s for ``flop``, against ``peak`` (measure_peak's)."""
    scale, digits = (1e3, 2) if unit == "ms" else (1e6, 1)
    for label, t in (("best", times[0]), ("median", times[1])):
        need = t / ratio
        rate = flop / need / 1e9
        line = (f"{ratio:g}x {whose} {label} {what} ({t * scale:.{digits}f} {unit}) asks "
                f"{need * scale:.{digits}f} {unit} = {rate:.0f} GF/s")
        if peak:
            line += (f" = {100 * rate / peak['gflops']:.0f} % of the FMA peak, "
                     f"{100 * rate / peak['tile_gflops']:.0f} % of the L1 tile")
        print(f"{line}; {fastest}")


def main() -> None:
    global LAYERS, M
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--ratio", type=float, default=1.2)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each library's process, by turns")
    parser.add_argument("--layers", default=",".join(map(str, LAYERS)),
                        help="the network's layer sizes, comma-separated")
    parser.add_argument("--m", type=int, default=M, help="the batch size")
    parser.add_argument("--worker", choices=tuple(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1 or args.repeat < 1 or not args.ratio > 0 or args.m < 1:
        parser.error("--rounds, --repeat and --m must be >= 1, --ratio > 0")
    try:
        LAYERS = tuple(int(n) for n in args.layers.split(","))
    except ValueError:
        parser.error(f"--layers must be comma-separated integers, got {args.layers!r}")
    if len(LAYERS) < 2 or min(LAYERS) < 1:
        parser.error(f"--layers must be two or more sizes >= 1, got {args.layers!r}")
    M = args.m
    if args.worker:
        worker(args.worker, args.rounds)
        return
    sys.path.insert(0, HERE)
    from peak import measure_peak
    records: dict[str, list[dict]] = {lib: [] for lib, _ in LIBRARIES}
    for _ in range(args.repeat):     # the libraries by turns: the machine drifts
        for lib, worker_name in LIBRARIES:
            record = _run_worker(worker_name, args.rounds)
            if record is not None:
                records[lib].append(record)
    runs = {lib: _merged(r) for lib, r in records.items() if r}
    peak = measure_peak(repeats=9, pause=0.05)
    flop = _flop()
    names = [n for n, _, _ in runs["fastdnn"]["products"]]
    product_flop = {n: f for n, f, _ in runs["fastdnn"]["products"]}
    print(f"{'-'.join(map(str, LAYERS))} at m = {M}, float32: {flop / 1e6:.3f} MFLOP per step")
    head = "".join(f"{lib + ' ms (GF/s)':>24s}" for lib in runs)
    print(f"{'best of ' + str(args.rounds * args.repeat):34s}{head}")

    def cell(seconds: float, f: float) -> str:
        return f"{seconds * 1e3:9.3f} ({f / seconds / 1e9:5.1f})".rjust(24)

    sums = {lib: 0.0 for lib in runs}
    for i, name in enumerate(names):
        row = ""
        for lib, r in runs.items():
            best = r["products"][i][2][0]
            sums[lib] += best
            row += cell(best, product_flop[name])
        print(f"  {name:32s}{row}")
    print(f"  {'the products, summed':32s}" + "".join(cell(sums[l], flop) for l in runs))
    print(f"  {'the step':32s}" + "".join(cell(r['step'][0], flop) for r in runs.values()))
    print(f"  {'the step, median':32s}"
          + "".join(cell(r['step'][1], flop) for r in runs.values()))
    print(f"  {'step / its products (best)':32s}"
          + "".join(f"{r['step'][0] / sums[l]:24.3f}" for l, r in runs.items()))
    if peak:
        print(f"peak ({peak['threads']} threads): FMA chains {peak['gflops']:.0f} GF/s, "
              f"L1-fed register tile {peak['tile_gflops']:.0f} GF/s (bench/peak.py)")
    fastest = max(product_flop[n] / r["products"][i][2][0]
                  for r in runs.values() for i, n in enumerate(names)) / 1e9
    for lib in runs:
        if lib != "fastdnn":
            print_asks(f"{lib}'s", "step", runs[lib]["step"], args.ratio, flop, peak,
                       f"the fastest product alone ran {fastest:.0f} GF/s")


if __name__ == "__main__":
    main()
