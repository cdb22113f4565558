"""Everything fastdnn decides at import and fork time, and ``fastdnn.info()``, which says why.

- **OpenMP spinning.** GNU OpenMP threads spin ~300k iterations after each
  parallel region; when another process holds a core, a spinning team is
  descheduled for whole time slices and a 0.2 ms call takes 10 ms. While
  fastdnn's kernels load libgomp, ``GOMP_SPINCOUNT=10000`` is set (libgomp
  reads it once, at load), then the user's environment is restored, so child
  processes inherit nothing. ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` set by
  the user win; a libgomp loaded earlier by another library keeps its setting.
- **SIMD path.** The widest the CPU runs (``FASTDNN_SIMD`` overrides it).
- **Fork.** GNU OpenMP cannot run a parallel region in a child forked after
  the parent used its threads (the child hangs), and a compiled plan's lock may
  have been held by another thread at the fork: a forked child runs the kernels
  single-threaded and drops the models' compiled plans (rebuilt on use).
- **Product engine.** The GEMMs call OpenBLAS from the ``scipy-openblas64``
  package, the public packaging of the build NumPy and SciPy use (its newer
  releases, 10-50 % faster than SciPy's copy on small products), through its
  ILP64 ``scipy_sgemm_64_``/``scipy_dgemm_64_``; ``FASTDNN_BLAS=scipy``
  selects ``scipy.linalg.cython_blas``. OpenBLAS picks its kernels for the CPU
  (``OPENBLAS_CORETYPE`` overrides it); ``info()`` says which.

Examples
--------
>>> import fastdnn
>>> sorted(fastdnn.info()["decisions"])
['fork', 'gemm', 'openmp_spin', 'simd', 'threads']
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import platform
import sys
import weakref
from typing import Any, Iterator

_SPIN = "10000"
_decisions: dict[str, str] = {}


@contextlib.contextmanager
def _short_openmp_spin() -> Iterator[None]:
    """``GOMP_SPINCOUNT`` set for the duration (libgomp loading), then the environment as it was."""
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        _decisions["openmp_spin"] = "left to the user's OMP_WAIT_POLICY / GOMP_SPINCOUNT"
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


# ------------------------------------------------------------------ product engine
# OpenBLAS cores with AVX-512 kernels; on a CPU with AVX-512 that OpenBLAS does not know
# (e.g. AMD's newest EPYC), its detection falls back to AVX2 kernels at half the speed
_OPENBLAS: ctypes.CDLL | None = None   # kept: the GEMMs hold pointers into it


def _openblas_path() -> str:
    """The shared library of the ``scipy-openblas64`` package (OpenBLAS as NumPy and SciPy
    build against it, ILP64 with ``scipy_`` symbol prefixes)."""
    import scipy_openblas64

    names = glob.glob(os.path.join(scipy_openblas64.get_lib_dir(),
                                   f"*{scipy_openblas64.get_library()}*"))
    libs = [n for n in names if n.endswith((".so", ".dylib", ".dll")) or ".so." in n]
    if not libs:
        raise OSError(f"no shared library in {scipy_openblas64.get_lib_dir()}")
    return sorted(libs)[0]


def choose_blas() -> str:
    """Point the GEMMs at OpenBLAS (the ``scipy-openblas64`` package); returns ``"openblas"``,
    or ``"scipy"`` for ``scipy.linalg.cython_blas`` (``FASTDNN_BLAS=scipy``, or the package
    missing or unloadable), and records why.

    Examples
    --------
    >>> choose_blas() in ("openblas", "scipy")
    True
    """
    _ew.set_blas(0, 0)
    if os.environ.get("FASTDNN_BLAS", "").lower() == "scipy":
        _decisions["gemm"] = "scipy.linalg.cython_blas: FASTDNN_BLAS=scipy"
        return "scipy"
    try:
        lib = ctypes.CDLL(_openblas_path())
    except (ImportError, OSError) as exc:
        _decisions["gemm"] = f"scipy.linalg.cython_blas: scipy-openblas64 unusable ({exc})"
        return "scipy"
    global _OPENBLAS
    _OPENBLAS = lib
    _ew.set_blas(ctypes.cast(lib.scipy_sgemm_64_, ctypes.c_void_p).value,
                 ctypes.cast(lib.scipy_dgemm_64_, ctypes.c_void_p).value)
    corename = lib.scipy_openblas_get_corename64_
    corename.restype = ctypes.c_char_p
    core = os.environ.get("OPENBLAS_CORETYPE")
    _decisions["gemm"] = (f"OpenBLAS from scipy-openblas64 (public packaging, the build NumPy "
                          f"and SciPy use), {corename().decode()} kernels ("
                          + (f"OPENBLAS_CORETYPE={core} set by the user)" if core
                             else "OpenBLAS's CPU detection)"))
    return "openblas"


choose_blas()


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


def _scipy_blas() -> str:
    """The BLAS behind scipy.linalg.cython_blas, as threadpoolctl sees it."""
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS)
    from threadpoolctl import threadpool_info

    libs = [i for i in threadpool_info() if i["user_api"] == "blas"]
    scipy_dir = os.path.dirname(os.path.dirname(scipy.linalg.__file__))
    libs = [i for i in libs
            if os.path.basename(os.path.dirname(i.get("filepath", ""))) == "scipy.libs"
            or i.get("filepath", "").startswith(scipy_dir)] or libs
    if not libs:
        return "unknown (scipy.linalg.cython_blas)"
    i = libs[0]
    return f"{i['internal_api']} {i.get('version') or ''} ({i['num_threads']} threads)"


def info() -> dict:
    """Version, SIMD path, threads and BLAS of this installation, and under
    ``"decisions"`` what fastdnn chose at import and why.

    Examples
    --------
    >>> import fastdnn
    >>> sorted(fastdnn.info())[:3]
    ['blas', 'decisions', 'gemm_blas']
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
        "blas": _scipy_blas(),
        "gemm_blas": ("OpenBLAS (scipy-openblas64)" if _ew.blas_in_use() == "openblas"
                      else "scipy.linalg.cython_blas"),
        "decisions": {
            **_decisions,
            "simd": f"{_ew.simd_path()}: {simd_why}",
            "threads": (f"{user}: fastdnn.set_num_threads" if user else
                        "OMP_NUM_THREADS / threadpoolctl / the CPU count (OpenMP's default)"
                        if _ew.openmp_enabled() else "1: built without OpenMP"),
        },
    }
