"""Element-wise passes that write past the caches (non-temporal stores) give the same
bits as ordinary stores: every op, both dtypes, outputs at every alignment, in place.

The streaming size is forced down to a few lines here; in use it is the last-level
cache's size, so only arrays larger than it take that path."""
import time

import numpy as np
import pytest

import fastdnn
from fastdnn._kernels import _elementwise as _ew

pytestmark = pytest.mark.skipif(_ew.stream_from() == 0,
                                reason="no non-temporal stores on this CPU")

UNARY = _ew.code_names("unary")
# bw_output_sub is the losses' own kernel: not a table entry binary() runs
BINARY = [name for name in _ew.code_names("binary") if name != "bw_output_sub"]
# large enough for two threads on every op (the cheap ones split from 49,152 float32
# elements), odd so that the last block is partial
N_TEAM = 100_003
# the kernels that stream (memory-bound) on two threads; the others never do
COMPUTE_BOUND = {"sigmoid", "tanh", "elu", "selu", "gelu", "gelu_tanh", "silu", "softplus",
                 "mish", "bw_gelu", "bw_gelu_tanh", "bw_silu", "bw_mish"}
COMPUTE_BOUND |= {f"d_{name}_z" for name in ("sigmoid", "tanh", "elu", "selu", "gelu",
                                             "gelu_tanh", "silu", "softplus", "mish")}


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


def _both(stream_from, fn, name=None):
    """fn() with streaming off, then forced on; with ``name``, also that the forced call
    streamed exactly when the op is memory-bound (tries for up to 2 s: the team backs off
    to one thread after late starts, e.g. while a larger team of an earlier test still
    spins on the cores, and one thread streams only copies)."""
    stream_from(2**31 - 1)
    plain = fn()
    stream_from(256)
    expect = name is not None and name not in COMPUTE_BOUND and _ew.openmp_enabled()
    deadline = time.monotonic() + 2.0
    while True:
        before = _ew.stream_count()
        streamed = fn()
        took = _ew.stream_count() > before
        if name is None or took == expect or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    if name is not None:
        assert took == expect, f"{name}: streamed {took}, expected {expect}"
    return plain, streamed


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
    for shift in (0, 1, 3):   # the output starts at different offsets in its first line
        src = x[shift:shift + N_TEAM]
        buf = np.full(N_TEAM + 16, 7, dtype)

        def run(src=src, buf=buf, shift=shift):
            buf[:] = 7
            _ew.unary(op, src, out=buf[shift:shift + N_TEAM], alpha=0.01)
            return buf.copy()

        plain, streamed = _both(stream_from, run, UNARY[op])
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

        plain, streamed = _both(stream_from, run, BINARY[op])
        np.testing.assert_array_equal(streamed, plain, err_msg=f"{BINARY[op]} shift {shift}")
        assert np.all(streamed[:shift] == -3) and np.all(streamed[shift + N_TEAM:] == -3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "d_relu_a", "bw_relu", "sgd_step"])
def test_streamed_in_place(stream_from, name, dtype):
    rng = np.random.default_rng(5)
    z, _, dA = _inputs(N_TEAM, dtype, rng)

    def run():
        y = z.copy()
        if name in BINARY:
            _ew.binary(BINARY.index(name), dA, y, out=y)
        else:
            _ew.unary(UNARY.index(name), y, out=y)
        return y

    plain, streamed = _both(stream_from, run, name)
    np.testing.assert_array_equal(streamed, plain)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", [1, 15, 16, 17, 1000, 4099, 70_003])
def test_streamed_copy_every_length(stream_from, threads, n, dtype):
    # a copy streams on one thread too: head, whole lines, tail; every head length (the
    # output's start in its 64-byte line), and on two threads chunks with their own heads
    fastdnn.set_num_threads(threads)
    x = np.arange(n + 20, dtype=dtype)
    for shift in range(64 // x.itemsize):
        out = np.zeros(n + 20, dtype)
        stream_from(1)
        before = _ew.stream_count()
        fastdnn.functional.linear(x[1:1 + n], out=out[shift:shift + n])
        assert _ew.stream_count() == before + 1
        np.testing.assert_array_equal(out[shift:shift + n], x[1:1 + n])
        assert not out[:shift].any() and not out[shift + n:].any()


LLC = _ew.stream_from()
TRIALS = 6  # FDNN_STREAM_TRIALS


@pytest.mark.skipif(LLC > 64 << 20, reason="a last-level cache too large to fill in a test")
@pytest.mark.parametrize("name", ["linear", "d_linear", "relu"])
def test_large_passes_learn_their_stores(name):
    """A pass at least the last-level cache's size times ordinary and streamed stores on
    alternate calls, TRIALS in all, then keeps one way; every call writes the same. (A
    copy is a candidate on any thread count, the others on two threads, which the team
    may drop to one after late starts: those calls are no trials.)"""
    if name != "linear" and not _ew.openmp_enabled():
        pytest.skip("only copies stream on one thread")
    fastdnn.set_num_threads(2)
    op = UNARY.index(name)
    x = np.random.default_rng(3).normal(size=LLC // 4 + 1000).astype(np.float32)
    expect = _ew.unary(op, x, out=np.empty_like(x)).copy()
    out = np.empty_like(x)

    def call():
        out[:] = np.nan
        before = _ew.stream_count()
        _ew.unary(op, x, out=out)
        np.testing.assert_array_equal(out, expect)
        return _ew.stream_count() - before

    try:
        _ew.stream_relearn()
        assert _ew.store_learned("unary", op, np.float32) is None
        streams = [call() for _ in range(TRIALS)]
        for _ in range(40):
            if _ew.store_learned("unary", op, np.float32) is not None:
                break
            streams.append(call())
        learned = _ew.store_learned("unary", op, np.float32)
        assert learned in ("stored", "streamed")
        assert sum(streams) == TRIALS // 2  # half the trials streamed
        if name == "linear":
            assert streams == [0, 1] * (TRIALS // 2)
        assert any(call() == (learned == "streamed") for _ in range(20))
        # the other dtype keeps its own record
        assert _ew.store_learned("unary", op, np.float64) is None
    finally:
        _ew.stream_relearn()
        fastdnn.set_num_threads(None)


def test_a_new_simd_path_learns_again():
    paths = [p for p in ("portable", "avx2", "avx512") if _ew.simd_available(p)]
    if len(paths) < 2 or LLC > 64 << 20:
        pytest.skip("one SIMD path only")
    op = UNARY.index("linear")
    x = np.ones(LLC // 4 + 64, np.float32)
    before = _ew.simd_path()
    try:
        for _ in range(TRIALS):
            fastdnn.functional.linear(x, out=np.empty_like(x))
        assert _ew.store_learned("unary", op, np.float32) is not None
        _ew.set_simd_path(paths[0] if paths[0] != before else paths[1])
        assert _ew.store_learned("unary", op, np.float32) is None
    finally:
        _ew.set_simd_path(before)
        _ew.stream_relearn()


def test_store_learned_rejects_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        _ew.store_learned("ternary", 0, np.float32)
    with pytest.raises(ValueError, match="op"):
        _ew.store_learned("unary", len(UNARY), np.float32)
