"""The register-blocked direct products (csrc/fdnn_gemm_type.h) against float64 NumPy.

Shapes are chosen around the tile edges of every SIMD path (vectors of 2 to 16
lanes, 6-row nn tiles, 4x2 nt tiles, the packed-B^T path), in every memory
order, so the overlapping edge tiles and the scalar paths are all exercised.
"""
import itertools

import numpy as np
import pytest

from fastdnn._kernels import _dense

SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 40)
K_SIZES = (1, 2, 5, 8, 9, 16, 17, 33, 64, 100)
ORDERS = ("CC", "CF", "FC", "FF")


def _operands(rng, M, N, K, dtype, order):
    A = rng.standard_normal((M, K)).astype(dtype)
    B = rng.standard_normal((K, N)).astype(dtype)
    A = np.asfortranarray(A) if order[0] == "F" else A
    B = np.asfortranarray(B) if order[1] == "F" else B
    return A, B


def _check(C, A, B, alpha, dtype):
    expected = alpha * (A.astype(np.float64) @ B.astype(np.float64))
    # error of a length-K sum of products of unit normals: ~ eps * sqrt(K) * |terms|
    scale = np.sqrt(A.shape[1]) * np.finfo(dtype).eps * 8
    np.testing.assert_allclose(C, expected, rtol=0, atol=scale * max(1.0, abs(alpha)) * 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ORDERS)
def test_direct_product_matches_numpy(simd, dtype, order):
    rng = np.random.default_rng(7)
    for M, N in itertools.product(SIZES, SIZES):
        K = K_SIZES[(M * 7 + N) % len(K_SIZES)]
        A, B = _operands(rng, M, N, K, dtype, order)
        C = _dense.matmul(A, B, 0.5, True)
        assert C.dtype == dtype
        _check(C, A, B, 0.5, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("K", K_SIZES)
def test_direct_product_every_depth(simd, dtype, K):
    rng = np.random.default_rng(K)
    for M, N in [(1, 40), (6, 16), (7, 17), (13, 9), (40, 3), (25, 33), (64, 8)]:
        for order in ORDERS:
            A, B = _operands(rng, M, N, K, dtype, order)
            _check(_dense.matmul(A, B, -1.25, True), A, B, -1.25, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_equals_blas_to_rounding(dtype):
    rng = np.random.default_rng(3)
    A, B = _operands(rng, 30, 256, 16, dtype, "CC")
    np.testing.assert_allclose(_dense.matmul(A, B, 1.0, True), _dense.matmul(A, B, 1.0, False),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_packed_product(simd, dtype):
    """B^T larger than the buffer a thread keeps (256 KiB): packed into a fresh block."""
    rng = np.random.default_rng(5)
    A, B = _operands(rng, 40, 233, 300, dtype, "CF")  # nt: K*N = 69,900 elements
    _check(_dense.matmul(A, B, 1.0, True), A, B, 1.0, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N", [8, 9, 15, 17, 40])
def test_one_row_equals_its_row_of_a_block(simd, dtype, N):
    """A B^T by dot products: one row of A alone (8 rows of B per tile) gives bit for
    bit the row it gets among other rows (4 x 2 tiles), so one example's prediction
    does not depend on the tiling."""
    rng = np.random.default_rng(N)
    A, B = _operands(rng, 5, N, 100, dtype, "CF")  # 5 rows, K = 100: the dot-product path
    C = _dense.matmul(A, B, 0.75, True)
    for i in range(5):
        np.testing.assert_array_equal(_dense.matmul(A[i:i + 1], B, 0.75, True)[0], C[i])


@pytest.mark.parametrize("order", ORDERS)
def test_nan_and_inf_propagate(simd, order):
    rng = np.random.default_rng(11)
    A, B = _operands(rng, 9, 20, 12, np.float32, order)
    A = np.array(A, order="F" if order[0] == "F" else "C")
    A[2, 3] = np.nan
    A[5, 0] = np.inf
    C = _dense.matmul(A, B, 1.0, True)
    assert np.isnan(C[2]).all()
    expected = A.astype(np.float64) @ B.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(C), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(C), np.isinf(expected))


def test_matmul_rejects_bad_input():
    A = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="shape"):
        _dense.matmul(A, np.ones((5, 2), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        _dense.matmul(A, np.ones((4, 2), np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a_order", ["C", "F", "T"])
def test_matrix_times_vector(simd, dtype, a_order):
    """C (M, 1) = A b runs as the row vector b^T A^T, along A's contiguous axis."""
    rng = np.random.default_rng(3)
    for M, K in itertools.product((2, 3, 7, 8, 9, 17, 33, 256), (1, 5, 16, 33, 100, 784)):
        A = rng.standard_normal((M, K)).astype(dtype)
        if a_order == "F":
            A = np.asfortranarray(A)
        elif a_order == "T":
            A = np.ascontiguousarray(A.T).T          # a transposed view, as W^T in dA = W^T dZ
        b = rng.standard_normal((K, 1)).astype(dtype)
        for alpha in (1.0, -0.5):
            C = _dense.matmul(A, b, alpha)
            assert C.shape == (M, 1) and C.dtype == dtype
            A64, b64 = A.astype(np.float64), b.astype(np.float64)
            # the standard bound of a length-K dot product: K eps sum |a_i b_i|
            bound = K * np.finfo(dtype).eps * abs(alpha) * (np.abs(A64) @ np.abs(b64))
            assert np.all(np.abs(C - alpha * (A64 @ b64)) <= bound), (M, K)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("K", [17, 64, 128])
def test_a_value_does_not_depend_on_the_columns_beside_it(simd, dtype, K):
    """The direct product's vector tiles (whole vectors, then a vector and a half vector,
    or vectors overlapping the last ones: a 10-class output layer is one of these) give
    each element of C the same chain of multiply-adds whatever the width of C: the first
    vector's columns of a wider product equal, bit for bit, a product of those alone."""
    VL = {"avx512": 64, "avx2": 32}.get(simd, 16) // np.dtype(dtype).itemsize
    rng = np.random.default_rng(K)
    for M in (6, 13, 100):
        for order in ("CC", "FC"):
            A, B = _operands(rng, M, 2 * VL + VL // 2 + 1, K, dtype, order)
            alone = _dense.matmul(A, np.ascontiguousarray(B[:, :VL]), 1.0, True)
            for N in range(VL + 1, B.shape[1] + 1):
                C = _dense.matmul(A, np.ascontiguousarray(B[:, :N]), 1.0, True)
                _check(C, A, B[:, :N], 1.0, dtype)
                np.testing.assert_array_equal(C[:, :VL], alone)
