"""What bounds ``predict``'s speed against an ONNX Runtime session: the forward pass beside
its products, each timed alone, and beside the machine's peak.

``bench/run.py``'s inference section runs ``Sequential.predict`` of 784-256-128-10 (ReLU,
softmax, float32) against an ONNX Runtime session of the same weights. A forward pass is
three products and little else (bias, ReLU and softmax in their epilogues or after them).
In a process of its own each, this times fastdnn's ``predict``, its three products alone
as its inference plan makes them (with their fused bias and activation, then bare) and
the ONNX Runtime session (default CPU options), then prints the time a ratio over the
session asks of ``predict`` as GFLOP/s, against ``bench/peak.py``'s FMA peak and L1 tile
ceiling and against the products' own rates:

    python bench/predict_limit.py [--m 1024] [--ratio 1.1] [--rounds 30] [--repeat 3]

Each side runs ``--repeat`` times, by turns; printed are the best of all calls and the
median of the runs' medians. Without onnx and onnxruntime, fastdnn's side alone.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

import numpy as np

from step_limit import _timed, print_asks

HERE = os.path.dirname(os.path.abspath(__file__))
DIMS = (784, 256, 128, 10)


def _net(m: int):
    from sections import inference
    net = inference.Net("", DIMS, m)
    params, X = inference.make_params(net)
    return net, params, X, inference.fastdnn_model(net, params)


def fastdnn_worker(m: int, rounds: int) -> dict:
    """predict and its products: Z = g(W A + b) with the plan's layout (examples in
    columns), fused as the plan makes them, and bare."""
    from fastdnn._kernels._dense import matmul
    from sections.dense import ACT
    net, params, X, model = _net(m)
    A = [X.T] + [np.empty((n, m), np.float32, order="F") for n in DIMS[1:]]
    W = [np.ascontiguousarray(p[0]) for p in params]
    b = [np.ascontiguousarray(p[1].ravel()) for p in params]
    acts = [ACT["relu"]] * (len(W) - 1) + [ACT["linear"]]
    record = {"predict": _timed(lambda: model.predict(X), rounds), "fused": [], "bare": []}
    for l in range(len(W)):
        record["fused"].append(_timed(lambda l=l: matmul(W[l], A[l], direct=False,
                                                         out=A[l + 1], act=acts[l],
                                                         bias=b[l]), rounds))
        record["bare"].append(_timed(lambda l=l: matmul(W[l], A[l], direct=False,
                                                        out=A[l + 1]), rounds))
    return record


def ort_worker(m: int, rounds: int) -> dict:
    """The ONNX Runtime session of the same weights (default CPU options)."""
    from sections import inference
    onnx, ort, why = inference.load_onnxruntime()
    if onnx is None:
        raise ModuleNotFoundError(why)
    net, params, X, model = _net(m)
    session = ort.InferenceSession(inference.onnx_model(onnx, model),
                                   providers=["CPUExecutionProvider"])
    return {"session": _timed(lambda: session.run(None, {"X": X}), rounds)}


WORKERS = {"fastdnn": fastdnn_worker, "onnxruntime": ort_worker}


def _run_worker(name: str, m: int, rounds: int) -> dict | None:
    out = subprocess.run([sys.executable, __file__, "--worker", name, "--m", str(m),
                          "--rounds", str(rounds)], capture_output=True, text=True)
    if out.returncode != 0:
        if name == "onnxruntime" and "ModuleNotFoundError" in out.stderr:
            return None
        raise RuntimeError(f"{name} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.splitlines()[-1])


def _merged(records: list[dict]) -> dict:
    """The best of the runs' bests and the median of their medians, key by key."""
    def both(times: list) -> tuple[float, float]:
        return min(t[0] for t in times), statistics.median(t[1] for t in times)
    merged = {}
    for key, value in records[0].items():
        if isinstance(value[0], list):
            merged[key] = [both([r[key][i] for r in records]) for i in range(len(value))]
        else:
            merged[key] = both([r[key] for r in records])
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=1024, help="the batch size")
    parser.add_argument("--ratio", type=float, default=1.1)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side, by turns")
    parser.add_argument("--worker", choices=tuple(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.m < 1 or args.rounds < 1 or args.repeat < 1 or not args.ratio > 0:
        parser.error("--m, --rounds and --repeat must be >= 1, --ratio > 0")
    sys.path.insert(0, HERE)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.m, args.rounds)))
        return
    from peak import measure_peak
    runs: dict[str, list[dict]] = {name: [] for name in WORKERS}
    for _ in range(args.repeat):     # by turns: the machine drifts
        for name in WORKERS:
            record = _run_worker(name, args.m, args.rounds)
            if record is not None:
                runs[name].append(record)
    fd = _merged(runs["fastdnn"])
    ort = _merged(runs["onnxruntime"]) if runs["onnxruntime"] else None
    peak = measure_peak(repeats=9, pause=0.05)
    flops = [2.0 * args.m * n_in * n_out for n_in, n_out in zip(DIMS[:-1], DIMS[1:])]
    flop = sum(flops)
    print(f"{'-'.join(map(str, DIMS))} at m = {args.m}, float32: {flop / 1e6:.1f} MFLOP "
          f"per forward pass")

    def cell(t: tuple[float, float], f: float) -> str:
        return (f"{t[0] * 1e6:9.1f} ({f / t[0] / 1e9:5.1f}) "
                f"{t[1] * 1e6:9.1f} ({f / t[1] / 1e9:5.1f})")

    print(f"{'us (GF/s)':40s}{'best':>18s}{'median':>18s}")
    for l, f in enumerate(flops):
        print(f"  Z{l + 1} = g(W{l + 1} A{l} + b{l + 1}), fused".ljust(40)
              + cell(fd["fused"][l], f))
        print(f"  Z{l + 1} = W{l + 1} A{l}, bare".ljust(40) + cell(fd["bare"][l], f))
    for what in ("fused", "bare"):
        best = sum(t[0] for t in fd[what])
        median = sum(t[1] for t in fd[what])
        print(f"  the products, {what}, summed".ljust(40) + cell((best, median), flop))
    print("  fastdnn predict".ljust(40) + cell(fd["predict"], flop))
    if ort is not None:
        print("  onnxruntime session".ljust(40) + cell(ort["session"], flop))
    if peak:
        print(f"peak ({peak['threads']} threads): FMA chains {peak['gflops']:.0f} GF/s, "
              f"L1-fed register tile {peak['tile_gflops']:.0f} GF/s (bench/peak.py)")
    if ort is None:
        return
    fastest = max(f / t[0] for f, t in zip(flops, fd["bare"])) / 1e9
    print_asks("the session's", "call", ort["session"], args.ratio, flop, peak,
               f"the fastest bare product alone ran {fastest:.0f} GF/s", unit="us")


if __name__ == "__main__":
    main()
