"""The anchor libraries' side of the benchmark, in processes of their own.

``sections/gemm.py``, ``sections/inference.py`` and ``sections/activations.py`` time NumPy,
PyTorch and ONNX Runtime here: :class:`AnchorWorker` starts this file as a worker
(``sys.executable``, one process per library: ``numpy``, ``torch`` or ``onnxruntime``, kept
for the run) that imports NumPy, the benchmark's ``_timing`` and that one library -- never
fastdnn -- so that each library's thread pool runs with its own default settings and no
other pool spins on the same cores (NumPy's OpenBLAS spins ~0.1 s after a product; ONNX
Runtime's pool spins; PyTorch bundles a ``libgomp.so.1`` that, in the benchmark process,
would be fastdnn's runtime). A :class:`RemoteCall` is one such call as ``_timing.measure``
takes it: it calibrates and takes its samples in its worker, and calling it returns one
result. The worker answers commands read from stdin (pickled tuples), one pickled reply each
on stdout:

* ``("setup", key, recipe, args, threads)`` -- the call of :data:`RECIPES` ``[recipe]`` for
  the worker's library, made from ``args``; with ``threads`` (torch: before every command
  on that key, ``torch.set_num_threads(threads)``; onnxruntime: the session's
  ``intra_op_num_threads``), else the library's default;
* ``("calibrate", key, target_ns)`` -- ``_timing.calibrate``: calls per sample;
* ``("run", key, warmup_ns, count, number)`` -- ``warmup_ns`` of untimed calls (none
  when 0), then ``count`` samples of ``number`` calls (GC off); the per-call times in ns;
* ``("output", key)`` -- one call's result, as a NumPy array (or, when the call has an
  ``output`` attribute, what ``output()`` returns after the call);
* ``("drop", key)``, ``("quit",)``.

Recipes: ``"gemm"`` -- ``(M, K, N, layout, dtype, seed)``: the product of
:func:`gemm_inputs` into its own preallocated output (``np.matmul(A, B, out=C)``;
``torch.mm(a, b, out=c)`` on tensors sharing the arrays' memory; ``run_with_iobinding`` of
a one-node ONNX ``MatMul`` session on C-ordered copies of A and B and an output bound
once). ``"forward"`` -- torch: ``(params, X)``, :func:`torch_model` of ``params`` (a list of
``(W, b)``) called as ``with torch.no_grad(): model(x).numpy()``; onnxruntime: ``(model,
X)``, ``sess.run(["Y"], {"X": X})[0]`` of a session of the serialized ONNX ``model``
(default ``SessionOptions``, CPU provider). ``"activation"`` -- torch: ``(name, n, dtype,
seed, step)``, one function of ``sections/activations.py`` (``_torch_anchor.recipes``).
"""
from __future__ import annotations

import atexit
import gc
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np


#: Bytes past a 64-byte line at which every operand and output of a product starts, in
#: every process: where NumPy puts a large array (glibc's mmap'ed blocks), and the same for
#: each library, so that none wins or loses by where its allocator put an array (a product
#: reads rows across cache lines or not: float32 128x256 by 256x1 1.3 us with A on a line,
#: 2.0 us 16 bytes past one).
GEMM_OFFSET = 16


def placed(values: np.ndarray) -> np.ndarray:
    """A C-ordered copy of ``values`` starting :data:`GEMM_OFFSET` bytes past a line."""
    n = values.nbytes
    buf = np.empty(n + 64 + GEMM_OFFSET, np.uint8)
    start = (GEMM_OFFSET - buf.ctypes.data) % 64
    out = buf[start:start + n].view(values.dtype).reshape(values.shape)
    out[...] = values
    return out


def gemm_output(M: int, N: int, dtype: Any) -> np.ndarray:
    """A NaN-filled C (M, N), C-ordered, placed like the operands (:func:`placed`)."""
    return placed(np.full((M, N), np.nan, dtype=dtype))


def gemm_inputs(M: int, K: int, N: int, layout: str, dtype: str,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``U(-1, 1)`` A (M, K) and B (K, N) in the layout: transposed views of
    C-ordered arrays for the T operands (NT: B, TN: A), each placed (:func:`placed`)."""
    rng = np.random.default_rng(seed)
    A = placed(rng.uniform(-1, 1, (K, M)).astype(dtype)).T if layout == "TN" \
        else placed(rng.uniform(-1, 1, (M, K)).astype(dtype))
    B = placed(rng.uniform(-1, 1, (N, K)).astype(dtype)).T if layout == "NT" \
        else placed(rng.uniform(-1, 1, (K, N)).astype(dtype))
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
    C = gemm_output(A.shape[0], B.shape[1], A.dtype)
    return lambda: np.matmul(A, B, out=C)


def _torch_call(A: np.ndarray, B: np.ndarray, threads: int | None) -> Callable[[], Any]:
    import torch

    a, b = torch.from_numpy(A), torch.from_numpy(B)
    c = torch.from_numpy(gemm_output(A.shape[0], B.shape[1], A.dtype))
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
    a, b = (x if x.flags.c_contiguous else placed(x) for x in (A, B))
    out = gemm_output(M, N, dtype)
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


def _gemm(library: str, args: tuple, threads: int | None) -> Callable[[], Any]:
    M, K, N, layout, dtype, seed = args
    A, B = gemm_inputs(M, K, N, layout, dtype, seed)
    make = {"numpy": _numpy_call, "torch": _torch_call, "onnxruntime": _ort_call}[library]
    return make(A, B, threads)


def torch_model(torch: Any, params: list) -> Any:
    """``params`` (a list of ``(W, b)``) as ``nn.Sequential`` in eval mode: ``Linear`` layers,
    ``ReLU`` between them, ``Softmax(dim=1)`` last."""
    nn = torch.nn
    layers: list[Any] = []
    for l, (W, b) in enumerate(params):
        lin = nn.Linear(W.shape[1], W.shape[0], dtype=torch.float32)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b.ravel()))
        layers.append(lin)
        layers.append(nn.ReLU() if l < len(params) - 1 else nn.Softmax(dim=1))
    return nn.Sequential(*layers).eval()


def _forward(library: str, args: tuple, threads: int | None) -> Callable[[], Any]:
    if library == "torch":
        import torch

        params, X = args
        model, x, no_grad = torch_model(torch, params), torch.from_numpy(X), torch.no_grad

        def torch_call() -> np.ndarray:
            with no_grad():
                return model(x).numpy()

        return torch_call
    if library == "onnxruntime":
        import onnxruntime as ort

        model_bytes, X = args
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        sess = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        run, outputs, feed = sess.run, ["Y"], {"X": X}
        return lambda: run(outputs, feed)[0]
    raise ValueError(f"no forward recipe for {library}")


_ACTIVATION_INPUTS: dict[tuple, tuple[dict, dict]] = {}   # the latest size's only


def _activation(library: str, args: tuple, threads: int | None) -> Callable[[], Any]:
    """torch: ``(name, n, dtype, seed, step)``, function ``name`` of
    ``sections/activations.py`` (``_torch_anchor.recipes``) on the inputs of size ``n``
    (made once per size and dtype, shared by that size's calls) into its own output; its
    ``output()`` is a subsample ``out[:, ::step]`` of the result (of the tensor the call
    returns for the functions of ``_torch_anchor.RETURNS_NEW``), for the checks."""
    if library != "torch":
        raise ValueError(f"no activation recipe for {library}")
    import torch
    from _torch_anchor import RETURNS_NEW, base_inputs, out_order, recipes, torch_inputs

    name, n, dtype, seed, step = args
    key = (n, dtype, seed)
    if key not in _ACTIVATION_INPUTS:
        _ACTIVATION_INPUTS.clear()          # free the previous size first
        gc.collect()
        tensors = torch_inputs(torch, base_inputs(n, dtype, seed))
        _ACTIVATION_INPUTS[key] = (tensors, recipes(torch, tensors))
    tensors, recipe = _ACTIVATION_INPUTS[key]
    out = torch.from_numpy(np.empty_like(tensors["z"].numpy(), order=out_order(name)))
    f = recipe[name]

    def call() -> Any:
        return f(out)

    call.output = lambda: np.array((f(out) if name in RETURNS_NEW else out).numpy()[:, ::step])
    return call


RECIPES = {"gemm": _gemm, "forward": _forward, "activation": _activation}


# ------------------------------------------------------------------ the benchmark's side

class PipeWorker:
    """A worker process running ``script`` (a file beside this one) with ``args``, answering
    pickled commands with pickled ``(status, reply)`` pairs; it does not inherit the OpenMP
    spin setting fastdnn gives its own runtime."""

    def __init__(self, script: str, *args: str, name: str = "worker"):
        env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
        here = Path(__file__).resolve().parent
        self.name = name
        self.proc = subprocess.Popen([sys.executable, str(here / script), *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def call(self, *cmd: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        pickle.dump(cmd, self.proc.stdin)
        self.proc.stdin.flush()
        status, reply = pickle.load(self.proc.stdout)
        if status != "ok":
            raise RuntimeError(f"{self.name}: {reply}")
        return reply

    def close(self) -> None:
        try:
            self.call("quit")
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
            self.proc.wait()


class AnchorWorker(PipeWorker):
    """The worker process of one anchor library, started on first use and kept for the
    run (:meth:`get`); :meth:`close_all` ends them (also at exit)."""

    _running: dict[str, "AnchorWorker"] = {}

    def __init__(self, library: str):
        super().__init__(Path(__file__).name, library, name=f"{library} worker")
        self.library = library
        self.keys = 0

    @classmethod
    def get(cls, library: str) -> "AnchorWorker":
        worker = cls._running.get(library)
        if worker is None or worker.proc.poll() is not None:
            worker = cls._running[library] = cls(library)
        return worker

    @classmethod
    def stop(cls, library: str) -> None:
        """End ``library``'s worker, if running (the next :meth:`get` starts a new one)."""
        worker = cls._running.pop(library, None)
        if worker is not None:
            worker.close()

    @classmethod
    def close_all(cls) -> None:
        for worker in list(cls._running.values()):
            worker.close()
        cls._running.clear()


atexit.register(AnchorWorker.close_all)


class RemoteCall:
    """One anchor's call (``RECIPES[recipe]`` made from ``args``), made and timed in its
    library's worker: ``_timing.measure`` takes its samples there; calling it returns the
    worker's result, for the checks. :meth:`drop` frees it in the worker."""

    def __init__(self, library: str, recipe: str, args: tuple, threads: int | None = None):
        self.worker = AnchorWorker.get(library)
        self.worker.keys += 1
        self.key = self.worker.keys
        self.worker.call("setup", self.key, recipe, args, threads)

    def __call__(self) -> np.ndarray:
        return self.worker.call("output", self.key)

    def remote_calibrate(self, target_ns: int) -> int:
        return self.worker.call("calibrate", self.key, target_ns)

    def remote_samples(self, warmup_ns: int, count: int, number: int) -> list[float]:
        return self.worker.call("run", self.key, warmup_ns, count, number)

    def drop(self) -> None:
        self.worker.call("drop", self.key)


# ------------------------------------------------------------------ the worker's side

SETTLE_WINDOW_S = 0.001     # CPU use is judged over windows this long
SETTLE_BUSY = 0.2           # cores' worth of CPU time per window that still counts as busy
SETTLE_QUIET = 20           # quiet windows in a row that count as settled
SETTLE_LIMIT_S = 0.5        # NumPy's OpenBLAS spins a core ~115 ms after its last call (Zen 3)


def settle() -> None:
    """Return once this process's threads have stopped using the CPU (``SETTLE_QUIET``
    quiet windows in a row), at most after ``SETTLE_LIMIT_S``: the anchor's thread pool
    spins after its last call (libgomp's default, in torch, for ~12 ms after each call;
    OpenBLAS's, in NumPy, ~115 ms on a Zen 3 core; onnxruntime's, a core for 40-60 ms,
    after a first millisecond that can look quiet), and fastdnn's samples, taken next,
    would share the cores with it (a 256^3 product took 2.6x its time alone right after
    torch's samples; one window sufficed to end the wait, and a 128 x 128 x 256 product
    right after onnxruntime's calls took 94-100 us for 130-200 ms, 51-66 after)."""
    end = time.perf_counter() + SETTLE_LIMIT_S
    quiet = 0
    while time.perf_counter() < end and quiet < SETTLE_QUIET:
        cpu, wall = time.process_time(), time.perf_counter()
        time.sleep(SETTLE_WINDOW_S)
        busy = time.process_time() - cpu >= SETTLE_BUSY * (time.perf_counter() - wall)
        quiet = 0 if busy else quiet + 1


def main() -> None:
    """Answer the benchmark process's commands until ``quit`` or end of input."""
    # Ctrl-C in the terminal reaches the whole process group: the benchmark process
    # handles it and closes its workers (end of input, or "quit")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    library = sys.argv[1]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from _timing import _time_loop, calibrate, warm_up

    torch = None
    if library == "torch":
        import torch
    elif library == "onnxruntime":
        import onnxruntime  # noqa: F401
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    calls: dict[Any, Callable[[], Any]] = {}
    threads: dict[Any, int | None] = {}
    while True:
        try:
            cmd = pickle.load(stdin)
        except EOFError:
            return
        kind = None
        try:
            kind = cmd[0]
            if torch is not None and kind in ("calibrate", "run", "output"):
                n = threads.get(cmd[1])
                if n is not None and torch.get_num_threads() != n:
                    torch.set_num_threads(n)
            if kind == "quit":
                reply: Any = None
            elif kind == "setup":
                _, key, recipe, args, threads[key] = cmd
                calls[key] = RECIPES[recipe](library, args, threads[key])
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
                fn = calls[cmd[1]]
                result = fn()
                reply = np.array(fn.output() if hasattr(fn, "output") else result)
            elif kind == "drop":
                calls.pop(cmd[1], None)
                threads.pop(cmd[1], None)
                gc.collect()
                reply = None
            else:
                raise ValueError(f"unknown command {kind!r}")
            answer = ("ok", reply)
        except Exception as exc:   # reported to the benchmark process as a failure
            answer = ("error", f"{type(exc).__name__}: {exc}")
        if kind in ("calibrate", "run", "output"):
            settle()
        try:
            pickle.dump(answer, stdout)
            stdout.flush()
        except BrokenPipeError:    # the benchmark process has gone
            return
        if cmd and cmd[0] == "quit":
            return


if __name__ == "__main__":
    main()
