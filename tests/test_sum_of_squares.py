"""The sum of squares kernel (the L2 penalty's ||W||^2): accurate, the same on any thread
count and SIMD path, NaN and infinities propagated, bad input refused."""
import numpy as np
import pytest

import fastdnn
from fastdnn._kernels import _elementwise as _ew

# around the kernel's 32 running sums, its blocks of 8192 values, its rounds of 256 blocks
# and the size from which it splits over the team
SIZES = [0, 1, 31, 32, 33, 8191, 8192, 8193, 2 * 8192 + 5, 131072, 256 * 8192 + 3]


def _exact(x):
    return float(np.sum(x.astype(np.longdouble) ** 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_sum_of_squares_against_long_double(n, dtype):
    x = np.random.default_rng(n).normal(size=n).astype(dtype)
    got = _ew.sum_of_squares(x)
    assert isinstance(got, float)
    # double sums of n positive terms: within a few units of 2^-53 times n's log
    assert got == pytest.approx(_exact(x), rel=1e-14, abs=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [8193, 131072 + 17, 256 * 8192 + 3])
def test_sum_of_squares_does_not_depend_on_threads_or_path(n, dtype):
    x = np.random.default_rng(1).uniform(-3, 3, size=n).astype(dtype)
    before = _ew.simd_path()
    results = []
    try:
        for path in ("portable", "avx2", "avx512"):
            if not _ew.simd_available(path):
                continue
            _ew.set_simd_path(path)
            for threads in (1, 2, 3):
                fastdnn.set_num_threads(threads)
                results.append(_ew.sum_of_squares(x))
    finally:
        fastdnn.set_num_threads(None)
        _ew.set_simd_path(before)
    # the same blocks on every thread count; the paths' vector widths change only rounding
    assert results[0] == pytest.approx(_exact(x), rel=1e-14, abs=0)
    for r in results:
        assert r == pytest.approx(results[0], rel=1e-14, abs=0)
    per_path = [results[i:i + 3] for i in range(0, len(results), 3)]
    for same_path in per_path:
        assert same_path[0] == same_path[1] == same_path[2]


def test_sum_of_squares_shapes_and_orders():
    x = np.random.default_rng(2).normal(size=(37, 53))
    expected = _exact(x)
    assert _ew.sum_of_squares(x) == pytest.approx(expected, rel=1e-14)
    assert _ew.sum_of_squares(np.asfortranarray(x)) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_of_squares_propagates_nan_and_infinity(dtype):
    x = np.ones(20000, dtype=dtype)
    x[15000] = np.nan
    assert np.isnan(_ew.sum_of_squares(x))
    x[15000] = -np.inf
    assert _ew.sum_of_squares(x) == np.inf
    big = np.full(3, np.finfo(dtype).max, dtype=dtype)
    if dtype == np.float32:   # squares past float32's range, summed in double
        assert _ew.sum_of_squares(big) == pytest.approx(3.0 * float(np.finfo(dtype).max) ** 2)
    else:                     # past double's: infinity, as NumPy's
        assert _ew.sum_of_squares(big) == np.inf


@pytest.mark.parametrize("bad", [np.ones(5, dtype=np.int64), np.ones(5).astype(">f8"),
                                 np.ones((4, 6))[:, ::2], [1.0, 2.0]])
def test_sum_of_squares_refuses_what_it_cannot_read(bad):
    with pytest.raises(TypeError, match="contiguous native float32 or float64"):
        _ew.sum_of_squares(bad)
