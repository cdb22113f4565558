"""Threads and build information."""
from __future__ import annotations

import os
import platform
import sys

from ._kernels import _elementwise as _ew


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
    if n is None:
        _ew.set_num_threads(0)
        return
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int >= 1 or None, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1 (or None for the default), got {n}")
    _ew.set_num_threads(min(n, 1 << 16))


def get_num_threads() -> int:
    """Threads the kernels use for large arrays (1 when built without OpenMP).

    Examples
    --------
    >>> import fastdnn
    >>> fastdnn.get_num_threads() >= 1
    True
    """
    return _ew.get_num_threads()


def _blas_info() -> str:
    """The BLAS behind scipy.linalg.cython_blas, which the dense kernels call."""
    try:
        import scipy.linalg  # noqa: F401  (loads scipy's BLAS)
        from threadpoolctl import threadpool_info

        libs = [i for i in threadpool_info() if i["user_api"] == "blas"]
        scipy_dir = os.path.dirname(os.path.dirname(scipy.linalg.__file__))
        libs = [i for i in libs
                if os.path.basename(os.path.dirname(i.get("filepath", ""))) == "scipy.libs"
                or i.get("filepath", "").startswith(scipy_dir)] or libs
        if libs:
            i = libs[0]
            return f"{i['internal_api']} {i.get('version') or ''} ({i['num_threads']} threads)"
    except Exception:  # threadpoolctl is optional
        pass
    try:
        import scipy

        blas = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}"
    except Exception:
        return "unknown (scipy.linalg.cython_blas)"


def info() -> dict:
    """Version, SIMD path, threads and BLAS of this installation.

    Examples
    --------
    >>> import fastdnn
    >>> sorted(fastdnn.info())[:3]
    ['blas', 'gemm_blas', 'numpy']
    """
    import numpy
    import scipy

    from . import __version__

    paths = [p for p in ("avx512", "avx2", "portable") if _ew.simd_available(p)]
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
        "blas": _blas_info(),
        "gemm_blas": _gemm_blas(),
    }


def _gemm_blas() -> str:
    """The BLAS fastdnn's GEMMs call."""
    return ("NumPy's OpenBLAS (scipy-openblas64)" if _ew.blas_in_use() == "numpy"
            else "scipy.linalg.cython_blas")
