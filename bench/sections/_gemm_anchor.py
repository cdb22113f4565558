"""An anchor library's side of ``sections/gemm.py``, in a process of its own.

``gemm.py`` starts this file as a worker (``sys.executable``, one process per anchor
library: ``numpy``, ``torch`` or ``onnxruntime``) that imports NumPy, the benchmark's
``_timing`` and that one library -- never fastdnn -- so that each library's thread
pool runs with its own default settings and no other pool spins on the same cores
(NumPy's OpenBLAS spins ~0.1 s after a product; ONNX Runtime's pool spins; PyTorch
bundles a ``libgomp.so.1`` that, in the benchmark process, would be fastdnn's runtime).
The worker answers commands read from stdin (pickled tuples), one pickled reply each on
stdout:

* ``("setup", key, M, K, N, layout, dtype, seed, threads)`` -- the product's
  operands (:func:`gemm_inputs`, the same numbers the benchmark process draws) and its call,
  each writing into its own preallocated output: ``np.matmul(A, B, out=C)``;
  ``torch.mm(a, b, out=c)`` on tensors sharing the arrays' memory, after
  ``torch.set_num_threads(threads)``; ``run_with_iobinding`` of a one-node ONNX
  ``MatMul`` session (default ``SessionOptions``; ``intra_op_num_threads = threads``
  only when ``threads`` is not None) on C-ordered copies of A and B and an output bound
  once;
* ``("calibrate", key, target_ns)`` -- ``_timing.calibrate``: calls per sample;
* ``("run", key, warmup_ns, count, number)`` -- ``warmup_ns`` of untimed calls (none
  when 0), then ``count`` samples of ``number`` calls (GC off); the per-call times in ns;
* ``("output", key)`` -- one call's result, as a NumPy array;
* ``("drop", key)``, ``("quit",)``.
"""
from __future__ import annotations

import gc
import pickle
import signal
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np


def gemm_inputs(M: int, K: int, N: int, layout: str, dtype: str,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``U(-1, 1)`` A (M, K) and B (K, N) in the layout: transposed views of
    C-ordered arrays for the T operands (NT: B, TN: A)."""
    rng = np.random.default_rng(seed)
    A = rng.uniform(-1, 1, (K, M)).astype(dtype).T if layout == "TN" \
        else rng.uniform(-1, 1, (M, K)).astype(dtype)
    B = rng.uniform(-1, 1, (N, K)).astype(dtype).T if layout == "NT" \
        else rng.uniform(-1, 1, (K, N)).astype(dtype)
    return A, B


def matmul_model(onnx: Any, M: int, K: int, N: int, dtype: str) -> bytes:
    """A one-node ONNX ``MatMul`` model, A (M, K) and B (K, N) both inputs."""
    helper, tp = onnx.helper, onnx.TensorProto
    elem = tp.FLOAT if dtype == "float32" else tp.DOUBLE
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["C"])], "matmul",
        [helper.make_tensor_value_info("A", elem, [M, K]),
         helper.make_tensor_value_info("B", elem, [K, N])],
        [helper.make_tensor_value_info("C", elem, [M, N])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8        # read by every onnxruntime of the last years
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _numpy_call(A: np.ndarray, B: np.ndarray, threads: int | None) -> Callable[[], Any]:
    C = np.full((A.shape[0], B.shape[1]), np.nan, dtype=A.dtype)
    return lambda: np.matmul(A, B, out=C)


def _torch_call(A: np.ndarray, B: np.ndarray, threads: int | None) -> Callable[[], Any]:
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    a, b = torch.from_numpy(A), torch.from_numpy(B)
    c = torch.from_numpy(np.full((A.shape[0], B.shape[1]), np.nan, dtype=A.dtype))
    mm = torch.mm
    return lambda: mm(a, b, out=c)


def _ort_call(A: np.ndarray, B: np.ndarray, threads: int | None) -> Callable[[], Any]:
    import onnx
    import onnxruntime as ort

    (M, K), N, dtype = A.shape, B.shape[1], str(A.dtype)
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    sess = ort.InferenceSession(matmul_model(onnx, M, K, N, dtype), options,
                                providers=["CPUExecutionProvider"])
    a, b = np.ascontiguousarray(A), np.ascontiguousarray(B)
    out = np.full((M, N), np.nan, dtype=dtype)
    values = [ort.OrtValue.ortvalue_from_numpy(x) for x in (a, b, out)]
    binding = sess.io_binding()
    binding.bind_ortvalue_input("A", values[0])
    binding.bind_ortvalue_input("B", values[1])
    binding.bind_ortvalue_output("C", values[2])
    run = sess.run_with_iobinding

    def call() -> np.ndarray:
        run(binding)
        return out

    call.keep = (sess, a, b, values, binding)     # alive as long as the callable
    return call


CALLS = {"numpy": _numpy_call, "torch": _torch_call, "onnxruntime": _ort_call}


def main() -> None:
    """Answer the benchmark process's commands until ``quit`` or end of input."""
    # Ctrl-C in the terminal reaches the whole process group: the benchmark process
    # handles it and closes its workers (end of input, or "quit")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    library = sys.argv[1]
    make_call = CALLS[library]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from _timing import _time_loop, calibrate, warm_up

    if library != "numpy":
        __import__("onnxruntime" if library == "onnxruntime" else "torch")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    calls: dict[Any, Callable[[], Any]] = {}
    while True:
        try:
            cmd = pickle.load(stdin)
        except EOFError:
            return
        try:
            kind = cmd[0]
            if kind == "quit":
                reply: Any = None
            elif kind == "setup":
                _, key, M, K, N, layout, dtype, seed, threads = cmd
                A, B = gemm_inputs(M, K, N, layout, dtype, seed)
                calls[key] = make_call(A, B, threads)
                reply = None
            elif kind == "calibrate":
                _, key, target_ns = cmd
                reply = calibrate(calls[key], target_ns)
            elif kind == "run":
                _, key, warmup_ns, count, number = cmd
                fn = calls[key]
                if warmup_ns > 0:
                    warm_up(fn, warmup_ns)
                gc.disable()
                try:
                    reply = [_time_loop(fn, number) / number for _ in range(count)]
                finally:
                    gc.enable()
            elif kind == "output":
                reply = np.array(calls[cmd[1]]())
            elif kind == "drop":
                calls.pop(cmd[1], None)
                gc.collect()
                reply = None
            else:
                raise ValueError(f"unknown command {kind!r}")
            answer = ("ok", reply)
        except Exception as exc:   # reported to the benchmark process as a failure
            answer = ("error", f"{type(exc).__name__}: {exc}")
        try:
            pickle.dump(answer, stdout)
            stdout.flush()
        except BrokenPipeError:    # the benchmark process has gone
            return
        if cmd and cmd[0] == "quit":
            return


if __name__ == "__main__":
    main()
