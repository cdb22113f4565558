"""How far data-parallel training of the benchmark's networks scales, on paper.

Usage (from the repository root)::

    python scripts/scale_plan.py                         # measure compute here, print, plot
    python scripts/scale_plan.py --cores 32              # nodes with 32 such cores
    python scripts/scale_plan.py --from-json bench/results/latest.json --no-plot

The model: one synchronous step on P nodes with local batch b takes
``t_step = b * t_ex + t_allreduce(P)``: the local forward and backward (``t_ex`` per
example on one node, measured here: fastdnn's compiled ``fit`` on one thread,
divided by ``--cores``, i.e. cores within a node assumed to scale linearly), then a
ring allreduce of the gradient buffer of S bytes,
``t_allreduce = 2 (P - 1) alpha + 2 (P - 1) / P * S / beta``, with no overlap of
the two (fastdnn reduces after the whole backward). Networks: 10 Gbit/s
(alpha 30 us, TCP over Ethernet) and 100 Gbit/s (alpha 3 us, RDMA), beta the
line rate times 0.9. Efficiency is ``b t_ex / t_step``: the share of a step spent
computing, i.e. the throughput of P nodes over P times one node's.

It prints, per network and interconnect, for P = 8 ... 256 nodes:

* the efficiency at the benchmark's local batch (1000 and 128 rows);
* the smallest local batch (and global batch P b) that keeps efficiency >= 80 %;
* for a fixed global batch (strong scaling: the batch the optimizer was tuned for),
  the speed-up over one node, and where the network stops scaling: the node count
  past which efficiency falls below 50 %.

With matplotlib it also draws these (``--plot PATH``, default ``scale_plan.png``).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

NETS = {"20-64-1 sigmoid": ((20, 64, 1), 1000), "784-256-128-10 softmax": ((784, 256, 128, 10),
                                                                           128)}
LINKS = {"10 Gbit/s": (30e-6, 0.9 * 10e9 / 8), "100 Gbit/s": (3e-6, 0.9 * 100e9 / 8)}
NODES = (8, 16, 32, 64, 128, 256)
GLOBAL_BATCHES = (4096, 65536)
TARGET = 0.8


def n_params(dims: tuple[int, ...]) -> int:
    """Weights and biases of the dense network ``dims``."""
    return sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))


def allreduce_s(P: int, nbytes: float, alpha: float, beta: float) -> float:
    """A ring allreduce of ``nbytes`` over ``P`` nodes: latency and bandwidth terms."""
    if P == 1:
        return 0.0
    return 2 * (P - 1) * alpha + 2 * (P - 1) / P * nbytes / beta


def efficiency(b: float, t_ex: float, t_ar: float) -> float:
    return b * t_ex / (b * t_ex + t_ar)


def batch_for(t_ex: float, t_ar: float, target: float = TARGET) -> int:
    """The smallest local batch whose efficiency is >= target."""
    return max(1, math.ceil(target / (1 - target) * t_ar / t_ex))


def measure_t_ex(dims: tuple[int, ...], batch: int, rows: int) -> float:
    """Seconds per example of one epoch of fastdnn's compiled fit on one thread."""
    import fastdnn
    from fastdnn import Sequential
    from fastdnn.layers import Dense

    fastdnn.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, dims[0]), dtype=np.float32)
    out = dims[-1]
    y = rng.integers(0, 2, rows).astype(np.float32) if out == 1 else rng.integers(0, out, rows)
    layers = [Dense(n, activation="relu") for n in dims[1:-1]]
    layers.append(Dense(out, activation="sigmoid" if out == 1 else "softmax"))
    model = Sequential(layers, seed=0)
    model.compile("adam", "binary_crossentropy" if out == 1 else "sparse_categorical_crossentropy")
    model.fit(X[:batch * 4], y[:batch * 4], batch_size=batch, verbose=0)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        model.fit(X, y, batch_size=batch, verbose=0, check_finite=False)
        best = min(best, time.perf_counter() - t0)
    return best / rows


def from_json(path: Path) -> dict[str, float]:
    """Seconds per example of the one-rank rows of a bench run's distributed section."""
    meta = json.loads(path.read_text(encoding="utf-8"))
    found = {}
    for r in meta.get("measurements", []):
        if r.get("section") == "distributed" and r["values"].get("ranks") == 1:
            found[r["name"]] = 1.0 / r["values"]["examples/s"]
    return found


def plan(t_ex: dict[str, float], cores: int) -> tuple[list[str], dict]:
    """The printed report and the curves to plot."""
    lines = [f"compute per example on one node (measured here, one thread / {cores} cores):"]
    for name, t in t_ex.items():
        dims, b = NETS[name]
        lines.append(f"  {name}: {t * 1e6 / cores:.3f} us/example; gradient buffer "
                     f"{n_params(dims) * 4 / 1e6:.3f} MB (float32), local batch {b}")
    curves: dict = {}
    for name, t in t_ex.items():
        dims, b = NETS[name]
        t = t / cores
        S = n_params(dims) * 4
        for link, (alpha, beta) in LINKS.items():
            lines.append(f"\n{name} on {link} (alpha {alpha * 1e6:g} us, "
                         f"beta {beta * 8 / 1e9:.0f} Gbit/s effective):")
            lines.append(f"  {'nodes':>5} {'allreduce':>11} {'eff@b=' + str(b):>10} "
                         f"{'b for 80%':>10} {'global':>10} "
                         + " ".join(f"{'speedup@' + str(G):>14}" for G in GLOBAL_BATCHES))
            effs, b80s, speed = [], [], {G: [] for G in GLOBAL_BATCHES}
            for P in NODES:
                t_ar = allreduce_s(P, S, alpha, beta)
                e = efficiency(b, t, t_ar)
                b80 = batch_for(t, t_ar)
                effs.append(e)
                b80s.append(P * b80)
                cells = []
                for G in GLOBAL_BATCHES:
                    s = G * t / (G / P * t + t_ar)
                    speed[G].append(s)
                    cells.append(f"{s:>8.1f} ({100 * s / P:>3.0f}%)")
                lines.append(f"  {P:>5} {t_ar * 1e3:>9.3f}ms {100 * e:>9.1f}% {b80:>10,} "
                             f"{P * b80:>10,} " + " ".join(f"{c:>14}" for c in cells))
            for G in GLOBAL_BATCHES:
                stop = next((P for P in range(2, 4097)
                             if G / P * t / (G / P * t + allreduce_s(P, S, alpha, beta)) < 0.5),
                            None)
                best = max(range(1, 4097), key=lambda P: G * t / (
                    G / P * t + allreduce_s(P, S, alpha, beta)))
                lines.append(f"  global batch {G:,}: below 50 % efficiency from "
                             f"{stop if stop else '> 4096'} nodes; fastest at {best} nodes")
            curves[(name, link)] = {"eff": effs, "b80": b80s, "speed": speed}
    return lines, curves


def plot(curves: dict, path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot", file=sys.stderr)
        return False
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (name, link), c in curves.items():
        style = "-" if link.startswith("100") else "--"
        ax1.plot(NODES, [100 * e for e in c["eff"]], style, marker="o",
                 label=f"{name}, {link}")
        ax2.plot(NODES, c["b80"], style, marker="o", label=f"{name}, {link}")
    ax1.set(xscale="log", xlabel="nodes", ylabel="efficiency % at the bench's local batch",
            title="efficiency (no overlap, ring allreduce)")
    ax1.axhline(80, color="grey", lw=0.8)
    ax2.set(xscale="log", yscale="log", xlabel="nodes", ylabel="global batch",
            title="global batch for >= 80 % efficiency")
    for ax in (ax1, ax2):
        ax.set_xticks(NODES, [str(P) for P in NODES])
        ax.grid(alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cores", type=int, default=1,
                   help="cores per node, each as fast as one measured here (default 1)")
    p.add_argument("--from-json", type=Path,
                   help="a bench run's JSON with the distributed section's one-rank rows")
    p.add_argument("--rows", type=int, default=20_000, help="rows per timed epoch")
    p.add_argument("--plot", type=Path, default=Path("scale_plan.png"))
    p.add_argument("--no-plot", action="store_true")
    args = p.parse_args(argv)
    t_ex = from_json(args.from_json) if args.from_json else {}
    for name, (dims, b) in NETS.items():
        if name not in t_ex:
            t_ex[name] = measure_t_ex(dims, b, args.rows if dims[0] > 100 else 10 * args.rows)
    lines, curves = plan(t_ex, args.cores)
    print("\n".join(lines))
    if not args.no_plot and plot(curves, args.plot):
        print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
