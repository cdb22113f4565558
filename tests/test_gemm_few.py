"""Products with a few rows of C (one to four examples), one column, or a few columns of a
transposed A: the direct loops stream the long operand (csrc/fdnn_gemm_type.h's
``gemm_few``) at any size, split across the team when large. Checked against float64
NumPy on every SIMD path, around the vector, chunk and depth edges, and bit for bit
between one and two threads.
"""
import numpy as np
import pytest

import fastdnn
from fastdnn._kernels import _dense

# (K, N) with K * N * itemsize past the 32 KiB from which the loops stream: tails of
# the 4-deep k steps, of the vectors and of the 4 KiB chunks of columns
WIDE = [(128, 256), (97, 333), (33, 1030), (784, 257), (5, 2051), (1, 8200)]
# (M, K) of a transposed A with a few columns of C
TALL = [(256, 128), (333, 97), (1030, 33), (257, 784), (16, 2049)]


def _check(C, A, B, alpha, dtype):
    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    expected = alpha * (A64 @ B64)
    # a length-K sum of products, rounded at each step: |error| <= K eps |alpha| |A| |B|
    bound = A.shape[1] * np.finfo(dtype).eps * abs(alpha) * (np.abs(A64) @ np.abs(B64))
    assert C.dtype == dtype and C.shape == expected.shape
    assert np.all(np.abs(C - expected) <= bound), np.max(np.abs(C - expected) - bound)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("M", [1, 2, 3, 4])
def test_few_rows(simd, dtype, M):
    rng = np.random.default_rng(M)
    for K, N in WIDE:
        A = rng.standard_normal((M, K)).astype(dtype)
        B = rng.standard_normal((K, N)).astype(dtype)
        _check(_dense.matmul(A, B, 0.75, True), A, B, 0.75, dtype)
        # x W^T: B a transposed view (dot products along K)
        Bt = np.ascontiguousarray(B.T).T
        _check(_dense.matmul(A, Bt, 0.75, True), A, Bt, 0.75, dtype)
        # A read through a transposed view, into a given C
        At = np.ascontiguousarray(A.T).T
        out = np.full((M, N), np.nan, dtype)
        assert _dense.matmul(At, B, -1.5, True, out=out) is out
        _check(out, At, B, -1.5, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5, 7])
def test_few_columns_of_a_transposed_A(simd, dtype, N):
    rng = np.random.default_rng(N)
    for M, K in TALL:
        A = rng.standard_normal((K, M)).astype(dtype).T      # rows of A^T are contiguous
        B = rng.standard_normal((K, N)).astype(dtype)
        _check(_dense.matmul(A, B, 1.25, True), A, B, 1.25, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,transposed", [
    ((1, 2048, 1024), False), ((3, 1024, 1030), False), ((4, 777, 1500), False),
    ((2048, 1024, 1), True), ((1500, 777, 3), True), ((2048, 1024, 1), False)])
@pytest.mark.parametrize("b_transposed", [False, True])
def test_large_few_products_do_not_depend_on_threads(simd, dtype, shape, transposed,
                                                     b_transposed):
    M, K, N = shape
    rng = np.random.default_rng(M + N)
    A = rng.standard_normal((K, M)).astype(dtype).T if transposed else \
        rng.standard_normal((M, K)).astype(dtype)
    B = rng.standard_normal((N, K)).astype(dtype).T if b_transposed else \
        rng.standard_normal((K, N)).astype(dtype)
    threads = fastdnn.get_num_threads()
    try:
        fastdnn.set_num_threads(1)
        one = _dense.matmul(A, B, 1.0, True)
        fastdnn.set_num_threads(2)
        two = _dense.matmul(A, B, 1.0, True)
    finally:
        fastdnn.set_num_threads(threads)
    _check(one, A, B, 1.0, dtype)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_few_rows_equal_the_register_tiles(dtype):
    """Streamed or tiled (B within L1), each element is the same chain of multiply-adds."""
    rng = np.random.default_rng(5)
    A = rng.standard_normal((3, 200)).astype(dtype)
    B = rng.standard_normal((200, 64)).astype(dtype)
    streamed = _dense.matmul(A, B, 0.5, True)                  # K * N past 32 KiB
    for j in range(0, 64, 16):                                 # 16 columns: within L1
        tiled = _dense.matmul(A, np.ascontiguousarray(B[:, j:j + 16]), 0.5, True)
        np.testing.assert_array_equal(streamed[:, j:j + 16], tiled)
