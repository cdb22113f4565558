"""``single_blas_thread``: BLAS limited to one thread while an estimator trains.

fastdnn computes its products itself (OpenMP); what calls BLAS during ``fit`` is small
work around them -- scipy's L-BFGS-B update, a few dot products -- where OpenBLAS's own
thread pool only competes with fastdnn's threads (on a busy or small machine an ``lbfgs``
fit ran 20x slower with it). The limit is lifted when training ends.

Examples
--------
>>> with single_blas_thread():
...     pass
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

_controller: Any = None


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Limit the BLAS libraries loaded in the process to one thread for the ``with`` block.

    Examples
    --------
    >>> with single_blas_thread():
    ...     import numpy as np
    ...     float(np.dot(np.ones(3), np.ones(3)))
    3.0
    """
    global _controller
    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        limiter = _controller.limit(limits=1, user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing or unusable: no limit
        yield
        return
    with limiter:
        yield
