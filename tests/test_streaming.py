"""Element-wise passes that write past the caches (non-temporal stores) give the same
bits as ordinary stores: every op, both dtypes, outputs at every alignment, in place.

The streaming size is forced down to a few lines here; in use it is the last-level
cache's size, so only arrays larger than it take that path."""
import numpy as np
import pytest

import fastdnn
from fastdnn._kernels import _elementwise as _ew

UNARY = _ew.code_names("unary")
# bw_output_sub is the losses' own kernel: not a table entry binary() runs
BINARY = [name for name in _ew.code_names("binary") if name != "bw_output_sub"]
# large enough for two threads on every op (the cheap ones split from 49,152 float32
# elements), odd so that the last block is partial
N_TEAM = 100_003


@pytest.fixture
def stream_from():
    """Set the streaming size; restore the default afterwards."""
    fastdnn.set_num_threads(2)
    yield _ew.set_stream_from
    _ew.set_stream_from(0)
    fastdnn.set_num_threads(None)


def _inputs(n, dtype, rng):
    # positive a for the derivatives written in a (their domain), mixed signs for z
    z = rng.normal(scale=3.0, size=n).astype(dtype)
    a = rng.uniform(0.01, 0.99, size=n).astype(dtype)
    dA = rng.normal(size=n).astype(dtype)
    return z, a, dA


def _both(stream_from, fn):
    """fn() with streaming off, then forced on."""
    stream_from(1 << 60)
    plain = fn()
    stream_from(256)
    return plain, fn()


def test_stream_size_is_the_cache():
    size = _ew.stream_from()
    assert size == 0 or size >= 1 << 16
    _ew.set_stream_from(4096)
    try:
        assert _ew.stream_from() == 4096
    finally:
        _ew.set_stream_from(0)
    assert _ew.stream_from() == size


def test_stream_size_rejects_negative():
    with pytest.raises(ValueError, match="nbytes"):
        _ew.set_stream_from(-1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", range(len(UNARY)), ids=UNARY)
def test_unary_streamed_equals_stored(stream_from, simd, op, dtype):
    rng = np.random.default_rng(op)
    z, a, _ = _inputs(N_TEAM + 16, dtype, rng)
    x = a if UNARY[op].endswith("_a") else z
    for shift in (0, 1, 3):   # the output's first element at every offset in a line
        src = x[shift:shift + N_TEAM]
        buf = np.full(N_TEAM + 16, 7, dtype)

        def run(src=src, buf=buf, shift=shift):
            buf[:] = 7
            _ew.unary(op, src, out=buf[shift:shift + N_TEAM], alpha=0.01)
            return buf.copy()

        plain, streamed = _both(stream_from, run)
        np.testing.assert_array_equal(streamed, plain, err_msg=f"{UNARY[op]} shift {shift}")
        assert np.all(streamed[:shift] == 7) and np.all(streamed[shift + N_TEAM:] == 7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", range(len(BINARY)), ids=BINARY)
def test_binary_streamed_equals_stored(stream_from, simd, op, dtype):
    rng = np.random.default_rng(100 + op)
    z, a, dA = _inputs(N_TEAM, dtype, rng)
    x = a if BINARY[op] in ("bw_sigmoid", "bw_tanh") else z
    for shift in (0, 2):
        buf = np.full(N_TEAM + 8, -3, dtype)

        def run(buf=buf, shift=shift):
            buf[:] = -3
            _ew.binary(op, dA, x, out=buf[shift:shift + N_TEAM], alpha=0.01)
            return buf.copy()

        plain, streamed = _both(stream_from, run)
        np.testing.assert_array_equal(streamed, plain, err_msg=f"{BINARY[op]} shift {shift}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "linear", "bw_relu"])
def test_streamed_in_place(stream_from, name, dtype):
    rng = np.random.default_rng(5)
    z, _, dA = _inputs(N_TEAM, dtype, rng)

    def run():
        y = z.copy()
        if name.startswith("bw_"):
            _ew.binary(BINARY.index(name), dA, y, out=y)
        else:
            _ew.unary(UNARY.index(name), y, out=y)
        return y

    plain, streamed = _both(stream_from, run)
    np.testing.assert_array_equal(streamed, plain)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 1000, 4099])
def test_streamed_copy_every_length(stream_from, threads, n):
    # a copy streams on one thread too: head, whole lines, tail
    fastdnn.set_num_threads(threads)
    x = np.arange(n + 5, dtype=np.float32)
    for shift in range(4):
        out = np.zeros(n + 5, np.float32)
        stream_from(64)
        fastdnn.functional.linear(x[1:1 + n], out=out[shift:shift + n])
        np.testing.assert_array_equal(out[shift:shift + n], x[1:1 + n])
        assert not out[:shift].any() and not out[shift + n:].any()
