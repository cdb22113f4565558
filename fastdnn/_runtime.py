"""Everything fastdnn decides at import and fork time, and ``fastdnn.info()``, which says why.

- **OpenMP spinning.** GNU OpenMP threads spin ~300k iterations after each
  parallel region (3-10 ms here); when another process holds a core, a spinning
  team is descheduled for whole time slices and a 0.2 ms call takes 10 ms. While
  fastdnn's kernels load libgomp, ``GOMP_SPINCOUNT=10000`` (~0.3 ms) is set
  (libgomp reads it once, at load), then the user's environment is restored, so
  child processes inherit nothing. ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` set
  by the user win; a libgomp loaded earlier by another library keeps its setting.
  Measured on this 2-core VM (10k / 100k / 300k): back-to-back calls cost the
  same; after a pause of 1-3 ms the worker wakes in 20-40 µs instead of ~1 µs;
  with another process busy on one core, three epochs of a 784-256-128-10 fit
  took 87-113 / 121-125 / 139-208 ms and a 1e6 sigmoid's 99th percentile was
  1.1-1.5 / 5.6-6.7 / 4.3-11.8 ms. A short spin costs tens of microseconds after
  pauses and saves milliseconds under contention, so it stays.
- **SIMD path.** The widest the CPU runs (``FASTDNN_SIMD`` overrides it).
- **Fork.** GNU OpenMP cannot run a parallel region in a child forked after
  the parent used its threads (the child hangs), and a compiled plan's lock may
  have been held by another thread at the fork: a forked child runs the kernels
  single-threaded and drops the models' compiled plans (rebuilt on use).
- **Threads.** One OpenMP team runs the products and the element-wise passes;
  each call takes as many threads as its size pays for (``fastdnn.set_num_threads``,
  ``OMP_NUM_THREADS`` and threadpoolctl's ``"openmp"`` limits bound it).
- **Product engine.** fastdnn's own (``csrc/fdnn_gemm_packed.h``), on the SIMD
  path's micro-kernels; no BLAS is called.

Examples
--------
>>> import fastdnn
>>> sorted(fastdnn.info()["decisions"])
['fork', 'gemm', 'openmp_spin', 'simd', 'streaming', 'threads']
"""
from __future__ import annotations

import contextlib
import os
import platform
import sys
import weakref
from typing import Any, Iterator

_SPIN = "10000"
_decisions: dict[str, str] = {}


def _loaded_libgomp() -> str | None:
    """The path of a GNU OpenMP runtime already mapped into this process (Linux), or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                path = line.split(None, 5)[-1].strip()
                if os.path.basename(path).startswith("libgomp"):
                    return path
    except OSError:
        pass
    return None


@contextlib.contextmanager
def _short_openmp_spin() -> Iterator[None]:
    """``GOMP_SPINCOUNT`` set for the duration (libgomp loading), then the environment as it was."""
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        _decisions["openmp_spin"] = "left to the user's OMP_WAIT_POLICY / GOMP_SPINCOUNT"
        yield
        return
    earlier = _loaded_libgomp()
    if earlier is not None:
        # libgomp reads its settings once: another library (e.g. PyTorch, which brings its
        # own libgomp.so.1) loaded it first, and fastdnn's kernels run on that runtime
        _decisions["openmp_spin"] = (f"left to the OpenMP runtime loaded before fastdnn "
                                     f"({earlier}): its spin setting applies")
        yield
        return
    os.environ["GOMP_SPINCOUNT"] = _SPIN
    try:
        yield
    finally:
        os.environ.pop("GOMP_SPINCOUNT", None)
    _decisions["openmp_spin"] = (f"GOMP_SPINCOUNT={_SPIN} while libgomp loaded (short spin: "
                                 "fast back to back, graceful under contention); the "
                                 "environment is left unchanged")


with _short_openmp_spin():
    try:
        from ._kernels import _elementwise as _ew
    except ImportError as exc:  # only on a broken or unbuilt tree
        raise ImportError(
            "fastdnn's compiled kernels are not available "
            f"({exc}). If you are in the source tree, build them with "
            "`pip install -e .`, or run from another directory after `pip install .`."
        ) from exc

# ------------------------------------------------------------------ fork
# objects holding compiled plans, each with a method dropping them
_PLAN_HOLDERS: "weakref.WeakSet[Any]" = weakref.WeakSet()


def track_plans(holder: Any) -> None:
    """Have ``holder._drop_plans()`` called in a forked child (its plans' locks may be held)."""
    _PLAN_HOLDERS.add(holder)


def _after_fork_in_child() -> None:
    _ew.set_num_threads(1)
    for holder in list(_PLAN_HOLDERS):
        holder._drop_plans()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
    _decisions["fork"] = ("a forked child runs the kernels on 1 thread (GNU OpenMP hangs in a "
                          "child forked after its threads ran) and drops compiled plans")
else:
    _decisions["fork"] = "no os.register_at_fork on this platform: nothing to do"


# ------------------------------------------------------------------ threads, info
def set_num_threads(n: int | None) -> None:
    """Set how many threads fastdnn's kernels use for large arrays.

    Parameters
    ----------
    n : int or None
        A count ``>= 1``, or ``None`` to follow ``OMP_NUM_THREADS`` and
        ``threadpoolctl`` again (the default).

    Examples
    --------
    >>> import fastdnn
    >>> fastdnn.set_num_threads(1); fastdnn.get_num_threads()
    1
    >>> fastdnn.set_num_threads(None)
    """
    from ._validation import check_int

    n = check_int(n, "n", 1, allow_none=True)
    _ew.set_num_threads(0 if n is None else min(n, 1 << 16))


def get_num_threads() -> int:
    """Threads the kernels use for large arrays (1 when built without OpenMP).

    Examples
    --------
    >>> import fastdnn
    >>> fastdnn.get_num_threads() >= 1
    True
    """
    return _ew.get_num_threads()


def _gemm_engine() -> str:
    """The product engine and its register tiles on the current SIMD path."""
    def tiles(f64: bool) -> str:
        shapes = dict.fromkeys(_ew.gemm_tile(f64, which) for which in (0, 1))
        return ", ".join(f"{rows}x{cols}" for rows, cols in shapes)

    return (f"fastdnn packed, {_ew.simd_path()} micro-kernels, tiles {tiles(False)} "
            f"(float32) and {tiles(True)} (float64)")


def info() -> dict[str, Any]:
    """Version, SIMD path, threads and product engine of this installation, and under
    ``"decisions"`` what fastdnn chose at import and why.

    Examples
    --------
    >>> import fastdnn
    >>> sorted(fastdnn.info())[:3]
    ['decisions', 'gemm', 'numpy']
    """
    import numpy
    import scipy

    from . import __version__

    paths = [p for p in ("avx512", "avx2", "portable") if _ew.simd_available(p)]
    forced = os.environ.get("FASTDNN_SIMD", "")
    simd_why = (f"FASTDNN_SIMD={forced}" if forced and forced != "auto"
                else f"the widest of {', '.join(paths)} this CPU and build run")
    user = _ew.get_user_threads()
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "platform": f"{platform.system()} {platform.machine()}",
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "simd": _ew.simd_path(),
        "simd_available": ", ".join(paths),
        "openmp": _ew.openmp_enabled(),
        "threads": get_num_threads(),
        "gemm": _gemm_engine(),
        "streaming": (f"outputs from {_ew.stream_from() / 2**20:g} MiB" if _ew.stream_from()
                      else "off"),
        "decisions": {
            **_decisions,
            "simd": f"{_ew.simd_path()}: {simd_why}",
            "gemm": "fastdnn's own packed engine on the SIMD path (no BLAS call)",
            "streaming": ("element-wise outputs at least the last-level cache's size may "
                          "be written with non-temporal stores (copies always, other "
                          "memory-bound passes on 2+ threads): each pass times both kinds "
                          "of store on its first such calls and keeps the faster"
                          if _ew.stream_from() else "off: no non-temporal stores on this CPU"),
            "threads": (f"{user}: fastdnn.set_num_threads" if user else
                        "OMP_NUM_THREADS / threadpoolctl / the CPU count (OpenMP's default)"
                        if _ew.openmp_enabled() else "1: built without OpenMP"),
        },
    }
