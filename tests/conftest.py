"""Shared fixtures: every available SIMD kernel path, and the ULP report."""
import pytest

from fastdnn._kernels import _elementwise as _ew

SIMD_PATHS = [p for p in ("portable", "avx2", "avx512") if _ew.simd_available(p)]

# (function, dtype, simd) -> max ULP error, filled by test_accuracy.py
ULP_REPORT = {}


@pytest.fixture(params=SIMD_PATHS)
def simd(request):
    """Run the test once per kernel variant this CPU can execute."""
    _ew.set_simd_path(request.param)
    try:
        yield request.param
    finally:
        _ew.set_simd_path("auto")


@pytest.fixture(scope="module")
def one_blas_thread():
    """Many tiny GEMMs: with numpy's and scipy's OpenBLAS pools spinning against
    each other on a busy machine they run many times slower; one BLAS thread
    keeps a module fast. fastdnn's own (OpenMP) kernels are not limited, and
    results may differ only in the order of sums, which tolerances cover."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def pytest_terminal_summary(terminalreporter):
    if not ULP_REPORT:
        return
    tr = terminalreporter
    tr.section("max ULP error vs correctly rounded reference")
    tr.write_line(f"{'function':34s}{'dtype':9s}{'simd':10s}max ULP")
    for (name, dtype, simd), ulp in sorted(ULP_REPORT.items()):
        tr.write_line(f"{name:34s}{dtype:9s}{simd:10s}{ulp:.3f}")
