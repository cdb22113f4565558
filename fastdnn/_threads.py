"""Thread use while a model trains.

Two thread teams live in the process: scipy's OpenBLAS (the GEMMs) and
fastdnn's OpenMP kernels (the element-wise passes). Each keeps its threads
spinning for a while after a call, so running both on the same cores makes
them fight (on a 2-core machine a step can take 10x longer). While ``fit``
runs, products too small to gain from a second thread get one BLAS thread
(their element-wise passes are too small for OpenMP anyway); networks with
large products keep BLAS's threads and run the element-wise passes on the
calling thread, which costs little next to the GEMMs.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from ._kernels import _elementwise as _ew

# multiply-adds per product from which a second BLAS thread pays off. Measured on
# 2 cores (compiled training step, float32): 1.3M no gain, 11M at most 1.15x and
# lost whenever another process holds a core, 26M 1.5x, 100M 1.6x.
PARALLEL_GEMM_WORK = 1 << 24

_controller = None
_lock = threading.Lock()
_active = 0    # calls inside for_products (the outermost one owns the settings)


def _blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries."""
    global _controller
    if _controller is None:
        import scipy.linalg  # noqa: F401  (scipy's BLAS must be loaded to be found)
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


@contextlib.contextmanager
def for_products(work: int) -> Iterator[None]:
    """Thread settings for a run whose largest product has ``work`` multiply-adds.

    Examples
    --------
    >>> with for_products(100):
    ...     pass
    """
    global _active
    with _lock:
        outer = _active == 0
        _active += 1
    try:
        if not outer:   # another thread set the policy already; it restores the settings
            yield
            return
        with _policy(work):
            yield
    finally:
        with _lock:
            _active -= 1


@contextlib.contextmanager
def _policy(work: int) -> Iterator[None]:
    if work < PARALLEL_GEMM_WORK:
        with _blas_controller().limit(limits=1, user_api="blas"):
            yield
        return
    saved = _ew.get_user_threads()
    _ew.set_num_threads(1)
    try:
        yield
    finally:
        _ew.set_num_threads(saved)
