"""Element-wise passes split their arrays before a 64-byte line of the output (or, in a
binary pass, of its two inputs when they share their place in a line and the output does
not), so that the vectors store whole lines. Where the split falls must not change a
result: at every offset of the output and of the inputs from a line, on one and two
threads, each element equals, bit for bit, the element computed with every array on a
line, and nothing is written outside the output."""
from __future__ import annotations

import numpy as np
import pytest

import fastdnn
from fastdnn import functional as F
from fastdnn._kernels import _elementwise as _ew

DTYPES = [np.float32, np.float64]
UNARY = _ew.code_names("unary")
BINARY = [name for name in _ew.code_names("binary") if name != "bw_output_sub"]
ALPHA = 0.05
SENTINEL = -12345.5
# around the bound from which a pass is split (4096 bytes) and a few lines past it
SIZES_BYTES = (4032, 4096, 4160, 20_000)


@pytest.fixture(autouse=True)
def _restore_threads():
    try:
        yield
    finally:
        fastdnn.set_num_threads(None)


def _placed(values: np.ndarray, offset: int, fill: float | None = None):
    """(buffer, view): ``values`` (or ``fill``) ``offset`` elements past a 64-byte line
    inside a buffer of sentinels."""
    line = 64 // values.itemsize
    buf = np.full(values.size + 3 * line, SENTINEL, values.dtype)
    start = (-buf.ctypes.data % 64) // values.itemsize + line + offset
    view = buf[start:start + values.size]
    view[...] = values if fill is None else fill
    return buf, view


def _check_outside(buf: np.ndarray, view: np.ndarray, what: str) -> None:
    start = (view.ctypes.data - buf.ctypes.data) // buf.itemsize
    outside = np.ones(buf.size, bool)
    outside[start:start + view.size] = False
    assert np.all(buf[outside] == SENTINEL), f"{what}: a store outside out"


def _inputs(rng: np.random.Generator, n: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    z = rng.uniform(-6.0, 6.0, n).astype(dtype)
    z[::97] = 0.0
    dA = rng.standard_normal(n).astype(dtype)
    return z, dA


def _at_every_offset(run, want: np.ndarray, like: np.ndarray, cases, what: str) -> None:
    """On 1 and 2 threads, for each tuple of offsets in ``cases`` (the inputs', then the
    output's, in elements past a line), ``run(*input_offsets, out)`` into an output placed
    among sentinels equals ``want`` bit for bit and writes nothing outside it."""
    for threads in (1, 2):
        fastdnn.set_num_threads(threads)
        for offsets in cases:
            label = f"{what} offsets {offsets} {threads}t"
            buf, out = _placed(like, offsets[-1], np.nan)
            got = run(*offsets[:-1], out)
            np.testing.assert_array_equal(got, want, err_msg=label)
            _check_outside(buf, out, label)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNARY)
def test_unary_pass_at_every_offset(simd, name, dtype):
    op = UNARY.index(name)
    line = 64 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(3)
    for nbytes in SIZES_BYTES:
        n = nbytes // np.dtype(dtype).itemsize
        z, _ = _inputs(rng, n, dtype)
        want = _ew.unary(op, _placed(z, 0)[1], _placed(z, 0, 0.0)[1], ALPHA).copy()
        cases = [(k, k) for k in range(line)] + [(0, 3 % line), (1, 0)]
        _at_every_offset(lambda z_off, out: _ew.unary(op, _placed(z, z_off)[1], out, ALPHA),
                         want, z, cases, f"{name} {np.dtype(dtype).name} n={n} z, out")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", BINARY)
def test_binary_pass_at_every_offset(simd, name, dtype):
    op = _ew.code_names("binary").index(name)
    line = 64 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(5)
    for nbytes in SIZES_BYTES:
        n = nbytes // np.dtype(dtype).itemsize
        z, dA = _inputs(rng, n, dtype)
        a = 0.5 * np.tanh(z).astype(dtype) + 0.5   # in (0, 1): a valid output of every form
        want = _ew.binary(op, _placed(dA, 0)[1], _placed(a, 0)[1], _placed(a, 0, 0.0)[1],
                          ALPHA).copy()
        cases = [(k, k, k) for k in range(line)] + [(0, 0, 1 % line), (2 % line, 2 % line, 0),
                                                    (1 % line, 0, 0)]
        _at_every_offset(lambda d_off, a_off, out: _ew.binary(op, _placed(dA, d_off)[1],
                                                              _placed(a, a_off)[1], out, ALPHA),
                         want, a, cases, f"{name} {np.dtype(dtype).name} n={n} dA, a, out")


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_at_every_offset(simd, dtype):
    """softmax and softmax_backward along contiguous rows store each row's elements before
    a 64-byte line apart: at every offset of the arrays the results equal, bit for bit,
    those of arrays on a line."""
    line = 64 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(7)
    for units, n in [(3, 4096 // np.dtype(dtype).itemsize + 5),
                     (2, 20_000 // np.dtype(dtype).itemsize)]:
        z = rng.uniform(-8.0, 8.0, units * n).astype(dtype)
        dA = rng.standard_normal(units * n).astype(dtype)
        shape = (units, n)

        def forward(off, out):
            return F.softmax(_placed(z, off)[1].reshape(shape), axis=1, out=out.reshape(shape))

        def backward(off, out):
            return F.softmax_backward(_placed(dA, off)[1].reshape(shape),
                                      _placed(want.ravel(), off)[1].reshape(shape), axis=1,
                                      out=out.reshape(shape))

        want = forward(0, _placed(z, 0, 0.0)[1]).copy()
        want_bw = backward(0, _placed(z, 0, 0.0)[1]).copy()
        cases = [(k, k) for k in range(line)]
        what = f"{np.dtype(dtype).name} {shape}"
        _at_every_offset(forward, want, z, cases, what)
        _at_every_offset(backward, want_bw, z, cases, what + ", backward")
