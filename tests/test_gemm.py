"""fastdnn's own matrix product (csrc/fdnn_gemm_packed.h, csrc/fdnn_gemm_type.h) through
``_dense.matmul``, on every SIMD path, against an (almost) exact reference.

The reference is the float64 product for float32 operands and the long-double product
for float64 operands (falling back to float64, with its own error added to the bound,
where long double is no wider or the product is large). Every result is held to the
standard error bound of a length-K dot product,

    |C - C_exact| <= c * K * eps * (|alpha| |A| @ |B| + |beta| |C_0|)      (c = 2),

elementwise, so that a missing, doubled or misplaced term fails whatever the shape.
Small-integer operands, whose every partial sum is exact, must give the exact product
bit for bit (a dropped or doubled term shows in any order of summation). Results are
written into a C- or F-contiguous ``out`` in the middle of a larger buffer
whose guard cells must come back untouched (no store outside C), at an odd element
offset (unaligned vectors).
"""
import itertools
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastdnn
from fastdnn import functional as F
from fastdnn._kernels import _dense
from fastdnn._kernels import _elementwise as _ew

pytestmark = pytest.mark.usefixtures("one_blas_thread")

DTYPES = [np.float32, np.float64]
ACTIVATIONS = _ew.code_names("activation")
# an epilogue's act is the activation's forward code, its position among the unary ops
UNARY = _ew.code_names("unary")
KC = {np.float32: 384, np.float64: 256}   # K blocks of the packed engine
NB = {np.float32: 384, np.float64: 256}   # N blocks
MB = 1536                                 # M blocks
SMALL_GEMM = 1 << 18                      # direct loops up to this many multiply-adds
C_BOUND = 2.0
PAD = 3                                   # guard cells each side of out (odd: unaligned)
SENTINEL = -12345.5
LAYOUTS = {"NN": "CC", "NT": "CF", "TN": "FC", "TT": "FF"}   # name -> order of A, B
_EPS64 = float(np.finfo(np.float64).eps)
_LD = np.longdouble
_LD_EPS = float(np.finfo(_LD).eps)


@pytest.fixture(autouse=True)
def _restore_state():
    """Each test leaves the automatic SIMD path and the default thread count behind."""
    try:
        yield
    finally:
        _ew.set_simd_path("auto")
        fastdnn.set_num_threads(None)


# ------------------------------------------------------------------ helpers

def _eps(dtype):
    return float(np.finfo(dtype).eps)


_FORCED_TILE = [0]


@pytest.fixture(params=[0, 1], ids=["tile0", "tile1"])
def tile(request):
    """Run the test on each register tile of the path (forced; both the same tile on a
    path with one), so that every micro-kernel meets the edges of its own tile."""
    _ew.force_gemm_tile(request.param)
    _FORCED_TILE[0] = request.param
    try:
        yield request.param
    finally:
        _ew.force_gemm_tile(-1)
        _FORCED_TILE[0] = 0


def _tile(dtype):
    return _ew.gemm_tile(np.dtype(dtype) == np.float64, _FORCED_TILE[0])


def _operand(rng, shape, dtype, order="C", offset=0, integers=False):
    """A standard-normal (or small-integer) matrix of the order asked for; offset > 0
    puts it that many elements into a larger buffer (an unaligned but contiguous array)."""
    x = (rng.integers(-8, 9, shape) if integers else rng.standard_normal(shape)).astype(dtype)
    if offset:
        n = x.size
        buf = np.empty(n + offset, dtype)
        view = buf[offset:].reshape(shape, order=order)
        view[...] = x
        return view
    return np.asfortranarray(x) if order == "F" else np.ascontiguousarray(x)


def _guarded_out(shape, dtype, order, fill):
    """out (shape, order) inside a buffer with PAD guard cells on each side."""
    n = shape[0] * shape[1]
    buf = np.full(n + 2 * PAD, SENTINEL, dtype)
    out = buf[PAD:PAD + n].reshape(shape, order=order)
    out[...] = fill
    assert out.flags.c_contiguous if order == "C" else out.flags.f_contiguous
    return buf, out


def _check_guards(buf, what):
    assert np.all(buf[:PAD] == SENTINEL) and np.all(buf[len(buf) - PAD:] == SENTINEL), \
        f"{what}: a store outside C"


def _reference(A, B):
    """(the product of the operands' exact values, to the reference's precision; its eps)."""
    if A.dtype == np.float32:
        return A.astype(np.float64) @ B.astype(np.float64), _EPS64
    if _LD_EPS < _EPS64 and A.shape[0] * A.shape[1] * B.shape[1] <= 4_000_000:
        return A.astype(_LD) @ B.astype(_LD), _LD_EPS
    return A.astype(np.float64) @ B.astype(np.float64), _EPS64


def _assert_product(C, A, B, alpha=1.0, beta=0.0, C0=None, what=""):
    """C = alpha A B + beta C0 within the dot-product bound (NaN fails)."""
    dtype = A.dtype.type
    M, K = A.shape
    N = B.shape[1]
    assert C.shape == (M, N) and C.dtype == A.dtype, what
    ref, ref_eps = _reference(A, B)
    absprod = np.abs(A.astype(np.float64)) @ np.abs(B.astype(np.float64))
    expected = alpha * ref
    scale = abs(alpha) * absprod
    terms = K
    if alpha != 1.0:
        terms += 1
    if beta != 0.0:
        expected = expected + beta * C0.astype(ref.dtype)
        scale = scale + abs(beta) * np.abs(C0.astype(np.float64))
        terms += 1
    bound = C_BOUND * max(terms, 1) * (_eps(dtype) + ref_eps) * scale
    err = np.abs(C.astype(ref.dtype) - expected).astype(np.float64)
    bad = ~(err <= bound)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        pytest.fail(f"{what} M, N, K = {M}, {N}, {K}: {bad.sum()} elements off, e.g. "
                    f"C[{i}, {j}] = {C[i, j]!r}, expected {float(expected[i, j])!r} "
                    f"(error {err[i, j]:.3g} > bound {bound[i, j]:.3g})")


def _run(rng, M, N, K, dtype, direct, a_order="C", b_order="C", out_order="C",
         alpha=1.0, beta=0.0, offset=0, integers=False):
    """One product into a guarded out, checked against the reference: within the bound
    for normal operands; exactly for small integers (entries in [-8, 8], K <= 2^17 and
    alpha, beta multiples of 1/4: every partial sum is exact in float32)."""
    A = _operand(rng, (M, K), dtype, a_order, offset, integers)
    B = _operand(rng, (K, N), dtype, b_order, offset, integers)
    A_copy, B_copy = A.copy(), B.copy()
    C0 = _operand(rng, (M, N), dtype, "C", 0, integers) if beta != 0.0 else None
    buf, out = _guarded_out((M, N), dtype, out_order, C0 if beta != 0.0 else np.nan)
    what = (f"[{_ew.simd_path()} {np.dtype(dtype).name} direct={direct} A:{a_order} "
            f"B:{b_order} out:{out_order} alpha={alpha} beta={beta} integers={integers}]")
    C = _dense.matmul(A, B, alpha, direct, out, beta)
    assert C is out, what
    _check_guards(buf, what)
    np.testing.assert_array_equal(A, A_copy, err_msg=f"{what}: A modified")
    np.testing.assert_array_equal(B, B_copy, err_msg=f"{what}: B modified")
    if integers:
        assert 4 * alpha == int(4 * alpha) and 4 * beta == int(4 * beta) and K <= 1 << 17
        exact = alpha * (A.astype(np.float64) @ B.astype(np.float64))
        if beta != 0.0:
            exact += beta * C0.astype(np.float64)
        np.testing.assert_array_equal(C, exact, err_msg=f"{what} M, N, K = {M}, {N}, {K}")
    else:
        _assert_product(C, A, B, alpha, beta, C0, what)
    return C


def _sweep_shapes(dtype):
    """Every size 1..33 in each dimension with the other two at a few values, and sizes
    around the register tile of the current path."""
    mr, nr = _tile(dtype)
    shapes = set()
    for s in range(1, 34):
        for x, y in [(1, 5), (nr + 1, 17), (mr + 1, 33)]:
            shapes.add((s, x, y))          # M sweep: (N, K) = (x, y)
        for x, y in [(1, 5), (mr + 1, 17), (2 * mr + 1, 33)]:
            shapes.add((x, s, y))          # N sweep: (M, K) = (x, y)
        for x, y in [(1, 1), (mr + 1, nr + 1), (2 * mr - 1, 2 * nr + 3)]:
            shapes.add((x, y, s))          # K sweep: (M, N) = (x, y)
    m_edge = {mr - 1, mr, mr + 1, 2 * mr - 1, 2 * mr, 2 * mr + 1} - {0}
    n_edge = {nr - 1, nr, nr + 1, 2 * nr - 1, 2 * nr, 2 * nr + 1} - {0}
    for M, N in itertools.product(m_edge, n_edge):
        shapes.add((M, N, 7))
    return sorted(shapes)


def _block_shapes(dtype):
    """K, N and M around the cache blocks (K blocks of KC: 383, 384, 385, 769 for float32)."""
    mr, nr = _tile(dtype)
    kc, nb = KC[dtype], NB[dtype]
    shapes = [(mr + 1, nr + 1, k) for k in (kc - 1, kc, kc + 1, 2 * kc + 1)]
    shapes += [(mr + 1, n, 9) for n in (nb - 1, nb, nb + 1, 2 * nb + 1)]
    shapes += [(m, nr + 1, 3) for m in (MB - 1, MB, MB + 1)]
    shapes.append((3 * mr + 1, nb + 1, kc + 1))   # all three at once
    return shapes


# ------------------------------------------------------------------ 1. sizes

@pytest.mark.parametrize("direct", [False, True], ids=["packed", "direct"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_small_size(simd, tile, dtype, direct):
    rng = np.random.default_rng(1)
    for (M, N, K), integers in itertools.product(_sweep_shapes(dtype), (False, True)):
        _run(rng, M, N, K, dtype, direct, integers=integers)


@pytest.mark.parametrize("direct", [False, True], ids=["packed", "direct"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cache_block_boundaries(simd, tile, dtype, direct):
    rng = np.random.default_rng(2)
    for (M, N, K), integers in itertools.product(_block_shapes(dtype), (False, True)):
        _run(rng, M, N, K, dtype, direct, integers=integers)


# ------------------------------------------------------------------ 2. layouts, alpha, beta

@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_layouts_alpha_beta(simd, tile, dtype, layout):
    """NN, NT, TN, TT operands, out in either order, alpha != 1, beta != 0 (out read),
    beta = 0 (out prefilled with NaN must not be read), one K of several blocks."""
    a_order, b_order = LAYOUTS[layout]
    mr, nr = _tile(dtype)
    rng = np.random.default_rng(3)
    shapes = [(1, 1, 1), (mr + 1, nr - 1, 5), (2 * mr + 3, 2 * nr + 5, 37), (7, 1, 40),
              (1, 19, 40), (mr + 1, nr + 1, 2 * KC[dtype] + 3)]
    for (M, N, K), direct, out_order in itertools.product(shapes, (False, True), "CF"):
        for (alpha, beta), integers in itertools.product(
                [(1.0, 0.0), (-0.75, 0.0), (1.5, -0.5), (0.5, 1.0)], (False, True)):
            _run(rng, M, N, K, dtype, direct, a_order, b_order, out_order, alpha, beta,
                 offset=1 if M % 2 else 0, integers=integers)


@pytest.mark.parametrize("dtype", DTYPES)
def test_other_strides_are_copied(dtype):
    """Neither C- nor F-contiguous operands (slices, negative strides) give the product."""
    rng = np.random.default_rng(4)
    big_a = rng.standard_normal((40, 90)).astype(dtype)
    big_b = rng.standard_normal((90, 60)).astype(dtype)
    A, B = big_a[::2, 5:80:3], big_b[::-3, 1::2][:25]
    assert not (A.flags.c_contiguous or A.flags.f_contiguous)
    for direct in (False, True):
        _assert_product(_dense.matmul(A, B, 1.0, direct), A, B, what=f"direct={direct}")


def test_default_out_is_c_ordered_and_beta_needs_out():
    A, B = np.ones((3, 4)), np.ones((4, 5))
    C = _dense.matmul(A, B)
    assert C.flags.c_contiguous and C.shape == (3, 5) and C.dtype == np.float64
    with pytest.raises(ValueError, match="beta"):
        _dense.matmul(A, B, 1.0, False, None, 0.5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_transposed_a_in_place_and_packed_give_the_same_bits(simd, tile, dtype):
    """A transposed A (TN) is read in place where a share's columns fit in one block of B
    and packed where they do not: the product cut into column shares (A in place) equals
    the uncut one (A packed) bit for bit, and both the reference."""
    rng = np.random.default_rng(29)
    for M, N, K in [(24, 600, 389), (13, 1000, 97), (30, 700, 64)]:
        A = rng.standard_normal((K, M)).astype(dtype).T
        B = rng.standard_normal((K, N)).astype(dtype)
        whole = _dense.matmul(A, B, 0.5, False)
        _assert_product(whole, A, B, alpha=0.5, what=f"{M}x{K} by {K}x{N} TN")
        for shares in (2, 3):
            np.testing.assert_array_equal(_dense.matmul(A, B, 0.5, False, shares=shares),
                                          whole, err_msg=f"{M}x{K} by {K}x{N}, {shares} shares")


def test_shares_need_the_packed_engine_and_a_count():
    A, B = np.ones((3, 4)), np.ones((4, 5))
    with pytest.raises(ValueError, match="shares must be >= 0, got -1"):
        _dense.matmul(A, B, 1.0, False, shares=-1)
    with pytest.raises(ValueError, match="shares needs direct=False"):
        _dense.matmul(A, B, 1.0, True, shares=2)
    np.testing.assert_array_equal(_dense.matmul(A, B, 1.0, False, shares=4), A @ B)


# ------------------------------------------------------------------ 3. aliasing

@pytest.mark.parametrize("direct", [False, True], ids=["packed", "direct"])
def test_out_overlapping_an_operand_is_refused(direct):
    n = 6
    q = n * n
    buf = np.arange(5 * q, dtype=np.float32) / 100
    A = buf[:q].reshape(n, n)
    B = buf[2 * q: 3 * q].reshape(n, n)
    cases = {
        "out is A": A,
        "out is B": B,
        "out is A^T (F-ordered view)": A.T,
        "out's first element is A's last": buf[q - 1: 2 * q - 1].reshape(n, n),
        "out's last element is B's first": buf[q + 1: 2 * q + 1].reshape(n, n),
        "out ends in B's last element": buf[2 * q + 5: 3 * q + 5].reshape(n, n, order="F"),
    }
    before = buf.copy()
    for what, out in cases.items():
        with pytest.raises(ValueError, match="overlap"):
            _dense.matmul(A, B, 1.0, direct, out)
        np.testing.assert_array_equal(buf, before, err_msg=f"{what}: memory written")
    # out touching both operands but overlapping neither: accepted, and nothing else written
    out = buf[q: 2 * q].reshape(n, n)
    C = _dense.matmul(A, B, 1.0, direct, out)
    assert C is out
    _assert_product(C, A, B, what="adjacent out")
    np.testing.assert_array_equal(buf[:q], before[:q])
    np.testing.assert_array_equal(buf[2 * q:], before[2 * q:])


# ------------------------------------------------------------------ 4. epilogue

def _unfused(C0, bias, act, act_alpha):
    Z = C0 if bias is None else C0 + bias[:, None]
    name = UNARY[act]
    if name in ("leaky_relu", "elu"):   # the two with a parameter
        return getattr(F, name)(Z, alpha=act_alpha)
    return getattr(F, name)(Z)


@pytest.mark.parametrize("act_name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_epilogue_matches_unfused(simd, tile, dtype, act_name):
    """g(alpha A B + bias) fused into the product equals the product, then + bias, then
    fastdnn.functional's activation. (direct=True without bias is left to
    test_direct_epilogue_without_bias: it crashes the interpreter.)"""
    act = UNARY.index(act_name)
    act_alpha = 0.25           # leaky_relu's slope, elu's alpha; the others must ignore it
    mr, nr = _tile(dtype)
    eps, tiny = _eps(dtype), float(np.finfo(dtype).tiny)
    rng = np.random.default_rng(5)
    shapes = [(1, 1, 3), (23, 37, 19), (mr + 1, nr + 3, KC[dtype] + 5), (40, 70, 100)]
    for (M, N, K), direct, out_order, with_bias in itertools.product(
            shapes, (False, True), "CF", (False, True)):
        if direct and not with_bias:
            continue
        what = (f"[{simd} {np.dtype(dtype).name} {act_name} direct={direct} out:{out_order} "
                f"bias={with_bias} M, N, K = {M}, {N}, {K}]")
        A = _operand(rng, (M, K), dtype, "F" if M % 2 else "C")
        B = _operand(rng, (K, N), dtype, "C" if N % 2 else "F")
        bias = (3 * rng.standard_normal(M)).astype(dtype) if with_bias else None
        alpha = 0.5 if K > 50 else 1.0
        # the same product route without the epilogue: the direct loops only up to
        # SMALL_GEMM when an epilogue is asked for, and only into a C-ordered out
        ref_direct = direct and M * N * K <= SMALL_GEMM
        C0 = _dense.matmul(A, B, alpha, ref_direct,
                           np.empty((M, N), dtype, order=out_order))
        _assert_product(C0, A, B, alpha, what=what)
        expected = _unfused(C0, bias, act, act_alpha)
        buf, out = _guarded_out((M, N), dtype, out_order, np.nan)
        C = _dense.matmul(A, B, alpha, direct, out, 0.0, act, act_alpha, bias)
        assert C is out, what
        _check_guards(buf, what)
        np.testing.assert_allclose(C, expected, rtol=4 * eps, atol=tiny, err_msg=what)

        # NaN in A: its row of C is NaN whatever g is, and no other
        A_nan = A.copy(order="K")
        A_nan[M // 2, K // 3] = np.nan
        C = _dense.matmul(A_nan, B, alpha, direct, np.empty((M, N), dtype, order=out_order),
                          0.0, act, act_alpha, bias)
        assert np.isnan(C[M // 2]).all(), what
        assert not np.isnan(np.delete(C, M // 2, axis=0)).any(), what


@pytest.mark.parametrize("dtype", DTYPES)
def test_epilogue_with_alpha_beta_and_several_k_blocks(dtype):
    """beta * out is added before g (and before the bias), once, across K blocks."""
    rng = np.random.default_rng(6)
    M, N, K = 9, 21, 3 * KC[dtype] + 7
    A, B = _operand(rng, (M, K), dtype), _operand(rng, (K, N), dtype, "F")
    bias = rng.standard_normal(M).astype(dtype)
    C0 = rng.standard_normal((M, N)).astype(dtype)
    relu = UNARY.index("relu")
    for out_order in "CF":
        lin = _dense.matmul(A, B, -0.5, False, np.array(C0, order=out_order), 2.0)
        _assert_product(lin, A, B, -0.5, 2.0, C0, what=f"out:{out_order}")
        for direct in (False, True):
            C = _dense.matmul(A, B, -0.5, direct, np.array(C0, order=out_order), 2.0,
                              relu, 0.0, bias)
            np.testing.assert_allclose(C, F.relu(lin + bias[:, None]),
                                       rtol=4 * _eps(dtype), atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_and_linear_epilogues_are_the_unfused_sums(simd, tile, dtype):
    """ReLU or linear after a bias (per row, per column of the stored C, or none), alpha =
    1, over several K blocks: whole tiles take their epilogue on the way to C, edge tiles
    after it; both give the bare product, then + bias, then g, bit for bit."""
    mr, nr = _tile(dtype)
    rng = np.random.default_rng(8)
    M, N, K = 3 * mr + 1, 2 * nr + 5, 2 * KC[dtype] + 5
    A, B = _operand(rng, (M, K), dtype), _operand(rng, (K, N), dtype, "F")
    bias = rng.standard_normal(M).astype(dtype)
    for out_order in "CF":
        bare = _dense.matmul(A, B, 1.0, False, np.empty((M, N), dtype, order=out_order))
        for name in ("relu", "linear"):
            for b in (bias, None):
                C = _dense.matmul(A, B, 1.0, False, np.empty((M, N), dtype, order=out_order),
                                  0.0, UNARY.index(name), 0.0, b)
                want = bare if b is None else bare + b[:, None]
                if name == "relu":
                    want = np.where(want <= 0, dtype(0), want)
                np.testing.assert_array_equal(C, want, err_msg=f"{name} bias={b is not None} "
                                                               f"out:{out_order}")


def test_direct_epilogue_without_bias():
    """In a child process: reading a NULL bias would kill the interpreter."""
    code = textwrap.dedent("""
        import numpy as np
        from fastdnn import functional as F
        from fastdnn._kernels import _dense, _elementwise as _ew
        rng = np.random.default_rng(0)
        for dtype in (np.float32, np.float64):
            A = rng.standard_normal((5, 7)).astype(dtype)
            B = rng.standard_normal((7, 9)).astype(dtype)
            C0 = _dense.matmul(A, B, 1.0, True)
            for name in _ew.code_names("activation"):
                act = _ew.code_names("unary").index(name)
                C = _dense.matmul(A, B, 1.0, True, None, 0.0, act, 0.25, None)
                g = getattr(F, name)
                want = g(C0, alpha=0.25) if name in ("leaky_relu", "elu") else g(C0)
                np.testing.assert_allclose(C, want, rtol=4 * np.finfo(dtype).eps, atol=0)
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", \
        f"exit status {r.returncode}\n{r.stderr[-2000:]}"


@pytest.mark.parametrize("direct", [False, True], ids=["packed", "direct"])
def test_leaky_relu_zero_slope_epilogue_propagates_nan(direct):
    A = np.ones((4, 6), np.float32)
    A[1, 2] = np.nan
    B = np.ones((6, 5), np.float32)
    C = _dense.matmul(A, B, 1.0, direct, None, 0.0, UNARY.index("leaky_relu"), 0.0,
                      np.zeros(4, np.float32))
    assert np.isnan(C[1]).all()


# ------------------------------------------------------------------ few rows, B's columns contiguous

# A batch of a few examples against a layer's weights (B = W^T, its columns contiguous):
# the engine computes C^T = B^T A^T there, reading B in place, and stores C's tiles
# transposed (fdnn_gemm_swapped, csrc/fdnn_kernels.h). The shapes straddle that rule's
# bounds (C's rows 64, the register tile's sides) so both orders are checked side by side.
FEW_ROWS = [1, 5, 11, 12, 13, 24, 31, 32, 33, 48, 64, 65]
# Where K has at least 2048 bytes the rule reaches up to 256 rows (FDNN_GEMM_SWAP_LONG_M,
# FDNN_GEMM_SWAP_LONG_K): K just under and at that bound, and C's rows around 256.
LONG_K_BYTES, LONG_ROWS = 2048, [65, 128, 130, 255, 256, 257]


@pytest.mark.parametrize("dtype", DTYPES)
def test_few_rows_against_transposed_weights(simd, tile, dtype):
    rng = np.random.default_rng(11)
    for M, N, K in itertools.product(FEW_ROWS, (1, 10, 13, 100, 300), (1, 7, 300)):
        _run(rng, M, N, K, dtype, False, "C", "F", "C", alpha=0.5 if K > 1 else 1.0)
        _run(rng, M, N, K, dtype, False, "C", "F", "C", alpha=1.0, beta=-0.75,
             integers=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rows_against_transposed_weights_of_a_long_k(simd, tile, dtype):
    rng = np.random.default_rng(14)
    k_long = LONG_K_BYTES // np.dtype(dtype).itemsize
    for M, N, K in itertools.product(LONG_ROWS, (13, 100), (k_long - 1, k_long)):
        _run(rng, M, N, K, dtype, False, "C", "F", "C", alpha=0.5)
    _run(rng, 200, 70, 3 * k_long // 2, dtype, False, "C", "F", "C", alpha=1.0, beta=-0.75,
         integers=True)


def _check_epilogue_on_threads(A, B, bias, act, act_alpha):
    """g(A B + bias) fused equals the unfused sequence on 1, 2 and 3 threads (within
    4 ulp), and 2 and 3 threads give the single thread's result bit for bit, as does the
    product cut in 2 and 3 shares (the split those threads make where the thread rule
    gives a product that small one thread)."""
    (M, K), N, dtype = A.shape, B.shape[1], A.dtype.type
    what = f"M, N, K = {M}, {N}, {K}"
    eps, tiny = _eps(dtype), float(np.finfo(dtype).tiny)
    C0 = _dense.matmul(A, B, 1.0, False)
    _assert_product(C0, A, B, what=what)
    want = _unfused(C0, bias, act, act_alpha)
    results = []
    for threads in (1, 2, 3):
        fastdnn.set_num_threads(threads)
        buf, out = _guarded_out((M, N), dtype, "C", np.nan)
        C = _dense.matmul(A, B, 1.0, False, out, 0.0, act, act_alpha, bias)
        _check_guards(buf, f"{what}: {threads} threads")
        np.testing.assert_allclose(C, want, rtol=4 * eps, atol=tiny, err_msg=what)
        results.append(C.copy())
    for threads, C in zip((2, 3), results[1:]):
        np.testing.assert_array_equal(C, results[0], err_msg=f"{what}: {threads} threads vs 1")
    for shares in (2, 3):
        C = _dense.matmul(A, B, 1.0, False, np.full((M, N), np.nan, dtype), 0.0, act,
                          act_alpha, bias, shares=shares)
        np.testing.assert_array_equal(C, results[0], err_msg=f"{what}: {shares} shares vs 1")


@pytest.mark.parametrize("act_name", ["relu", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_few_rows_epilogue_and_threads(simd, dtype, act_name):
    """Bias (per row and, through a column-major out, per column of the stored C) and
    activation on each transposed tile equal the unfused sequence; 2 and 3 threads give
    the single thread's result bit for bit."""
    act = UNARY.index(act_name)
    rng = np.random.default_rng(12)
    eps, tiny = _eps(dtype), float(np.finfo(dtype).tiny)
    # (dot products along K: the last three)
    for M, N, K in [(32, 256, 784), (24, 1030, 70), (64, 13, 200), (5, 300, 33),
                    (128, 100, 600), (10, 128, 1024), (16, 300, 784), (3, 1000, 200)]:
        A = _operand(rng, (M, K), dtype, "C")
        B = _operand(rng, (N, K), dtype, "C").T           # W^T: columns contiguous
        bias = rng.standard_normal(M).astype(dtype)
        _check_epilogue_on_threads(A, B, bias, act, 0.25)
        # C^T = B^T A^T into a column-major out: the bias then runs along C's columns
        bias_t = rng.standard_normal(N).astype(dtype)
        Ct = _dense.matmul(B.T, A.T, 1.0, False, np.empty((N, M), dtype, order="F"), 0.0,
                           act, 0.25, bias_t)
        plain = _dense.matmul(B.T, A.T, 1.0, False, np.empty((N, M), dtype, order="F"))
        want_t = _unfused(plain, bias_t, act, 0.25)
        np.testing.assert_allclose(Ct, want_t, rtol=4 * eps, atol=tiny)


# ------------------------------------------------------------------ few rows as dot products

# A few rows of C with A's rows and B's columns contiguous along k (x W^T for a few
# examples, dZ A_prev^T for a narrow layer) run as dot products along K, without packing
# (fdnn_gemm_dots, csrc/fdnn_kernels.h: up to 20 rows, from 64 bytes of K per row of C
# counted in fours, and 256 at least). The shapes straddle that rule: rows 1-21, K just
# under, at and over its bound, C's columns around the tiles and the 64-column strips.
def _dot_shapes(dtype):
    size = np.dtype(dtype).itemsize
    shapes = []
    for M in range(1, 22):
        k_min = max(256, 64 * ((M + 3) // 4 * 4)) // size
        for K, N in itertools.product((k_min - 1, k_min, k_min + 7), (1, 3, 5, 64, 131)):
            shapes.append((M, N, K))
    return shapes


@pytest.mark.parametrize("dtype", DTYPES)
def test_few_rows_as_dot_products(simd, dtype):
    rng = np.random.default_rng(14)
    for M, N, K in _dot_shapes(dtype):
        _run(rng, M, N, K, dtype, False, "C", "F", "C", alpha=0.5)
        _run(rng, M, N, K, dtype, False, "C", "F", "C", alpha=1.0, beta=-0.75,
             integers=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_last_columns_tile_matches_a_whole_tile(simd, tile, dtype):
    """The last column tile runs on as many vectors as its columns fill: each of its
    columns equals, bit for bit, the same column computed inside a whole tile."""
    mr, nr = _tile(dtype)
    rng = np.random.default_rng(17)
    # two K blocks, a partial row tile, too many rows to run as C^T
    M, K = (256 // mr + 1) * mr + 1, KC[dtype] + 9
    A = _operand(rng, (M, K), dtype)
    for b_order in "CF":
        B = _operand(rng, (K, 2 * nr), dtype, b_order)
        whole = _dense.matmul(A, B, 0.75, False)
        for N in range(nr + 1, 2 * nr):
            C = _dense.matmul(A, np.array(B[:, :N], order=b_order), 0.75, False)
            np.testing.assert_array_equal(C, whole[:, :N], err_msg=f"N = {N}, B {b_order}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_few_row_panels_read_b_in_place(simd, tile, dtype):
    """With C at most four of the tile's row panels high (FDNN_B_IN_PLACE_PANELS) and B's
    rows contiguous, the micro-kernel reads B's rows where they are instead of packing B
    (a last panel narrower than whole vectors is still packed, and so is B whose rows are
    a multiple of 4 KiB apart). Each row of C equals, bit for bit, the same row
    of a product tall enough for B to be packed, and stays within the error bound; B
    unaligned, several K blocks, columns around the tile's width and its vectors."""
    mr, nr = _tile(dtype)
    four_k = 4096 // np.dtype(dtype).itemsize
    rng = np.random.default_rng(29)
    K = 2 * KC[dtype] + 5
    tall = 8 * mr + 3
    A = _operand(rng, (tall, K), dtype)
    for N in (1, nr // 2, nr - 1, nr, nr + 3, 2 * nr + nr // 2, NB[dtype] + nr + 1, four_k):
        B = _operand(rng, (K, N), dtype, offset=1)
        packed = _dense.matmul(A, B, 0.5, False)
        for M in (1, mr - 1, mr, mr + 1, 2 * mr + 1, 4 * mr):
            C = _dense.matmul(A[:M], B, 0.5, False)
            np.testing.assert_array_equal(C, packed[:M], err_msg=f"M = {M}, N = {N}")
            _assert_product(C, A[:M], B, alpha=0.5, what=f"M = {M}, N = {N}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_short_k_into_an_unaligned_out(simd, tile, dtype):
    """Up to a depth of 4 (FDNN_GEMM_ALIGN_K) each share of C starts with its columns up
    to a 64-byte line as a block of their own: at every offset of out from a line, with
    its rows a multiple of a line apart or not, on 1, 2 and 3 threads, with and without a
    fused bias and activation, C equals, bit for bit, the product into an aligned out, and
    stays within the error bound; nothing is stored outside C."""
    mr, nr = _tile(dtype)
    size = np.dtype(dtype).itemsize
    line = 64 // size
    rng = np.random.default_rng(41)
    act = UNARY.index("relu")
    for K, M, N in [(1, 3 * mr + 1, 4 * nr), (2, 2 * mr, 3 * nr + line), (4, 5 * mr + 2, 2 * nr),
                    (5, 2 * mr + 1, 2 * nr), (1, mr + 1, 3 * nr + 3), (3, 7 * mr, line - 1)]:
        A = _operand(rng, (M, K), dtype)
        for b_order in "CF":
            B = _operand(rng, (K, N), dtype, b_order)
            bias = rng.standard_normal(M).astype(dtype)
            aligned = np.empty(M * N + line, dtype)
            start = (-aligned.ctypes.data % 64) // size
            ref = aligned[start:start + M * N].reshape(M, N)
            _dense.matmul(A, B, 0.5, False, ref)
            _assert_product(ref, A, B, alpha=0.5, what=f"M, N, K = {M}, {N}, {K}")
            ref_act = _dense.matmul(A, B, 0.5, False, np.empty((M, N), dtype), 0.0, act, 0.0,
                                    bias)
            for offset in range(line):
                for threads in (1, 2, 3):
                    fastdnn.set_num_threads(threads)
                    what = (f"M, N, K = {M}, {N}, {K}, B {b_order}, out {offset} elements "
                            f"past a line, {threads} threads")
                    buf = np.full(M * N + 3 * line, SENTINEL, dtype)
                    base = (-buf.ctypes.data % 64) // size + line
                    out = buf[base + offset:base + offset + M * N].reshape(M, N)
                    C = _dense.matmul(A, B, 0.5, False, out)
                    np.testing.assert_array_equal(C, ref, err_msg=what)
                    out[...] = np.nan
                    C = _dense.matmul(A, B, 0.5, False, out, 0.0, act, 0.0, bias)
                    np.testing.assert_array_equal(C, ref_act, err_msg=what + ", relu")
                    outside = np.ones(buf.shape, bool)
                    outside[base + offset:base + offset + M * N] = False
                    assert np.all(buf[outside] == SENTINEL), what + ": a store outside C"


# ------------------------------------------------------------------ many rows of a narrow C

# A batch through a narrow layer (x W^T with fewer outputs than the path's narrow bound,
# gemm_narrow_*: 32 with AVX-512, a vector below) runs on the dot products' kernel too, its
# rows split over the team in blocks of 16 (fdnn_gemm_narrow, csrc/fdnn_kernels.h). Rows
# around the block and the thread shares (a share of one partial block), columns around
# each path's vector and the bound, K around its 256 bytes.
def _narrow_shapes(dtype):
    k_min = 256 // np.dtype(dtype).itemsize
    return [(M, N, K) for M, N, K in itertools.product(
        (21, 25, 47, 49, 97, 300), (1, 2, 3, 4, 7, 8, 9, 10, 15, 16, 17, 24, 31, 32, 33),
        (k_min - 1, k_min, 3 * k_min + 5))]


@pytest.mark.parametrize("dtype", DTYPES)
def test_narrow_products_against_the_reference(simd, dtype):
    rng = np.random.default_rng(15)
    for M, N, K in _narrow_shapes(dtype):
        _run(rng, M, N, K, dtype, False, "C", "F", "C", alpha=0.5)
        _run(rng, M, N, K, dtype, False, "C", "F", "C", alpha=1.0, beta=-0.75,
             integers=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_narrow_products_epilogue_and_threads(simd, dtype):
    """Bias and activation equal the unfused sequence; 2 and 3 threads give the single
    thread's result bit for bit (each share takes the whole product's choice of kernel)."""
    act = UNARY.index("sigmoid")
    rng = np.random.default_rng(16)
    for M, N, K in [(25, 10, 128), (49, 10, 784), (1024, 10, 128), (300, 3, 200),
                    (97, 24, 64), (1000, 31, 100), (26, 16, 300)]:
        A = _operand(rng, (M, K), dtype, "C")
        B = _operand(rng, (N, K), dtype, "C").T
        bias = rng.standard_normal(M).astype(dtype)
        fastdnn.set_num_threads(1)
        _check_epilogue_on_threads(A, B, bias, act, 0.0)


# Matrix-vector products along K (one row of A, or fewer columns of B than the nt tile's)
# align the loads of the matrix's rows when they are long: the terms before the first
# vector boundary are added one by one (nt_head_, csrc/fdnn_gemm_type.h), for the whole
# product at once. Every start within a vector, on each route that takes dot products:
# one row against many, C of one to three columns (rows past and under a tile), and
# products that keep the plain sums (a few rows, a narrow C, short rows).
@pytest.mark.parametrize("dtype", DTYPES)
def test_dot_products_from_every_start_within_a_vector(simd, dtype):
    """Against the reference; the product cut as 2 and 3 threads cut it, and made on 2
    threads, gives the single thread's result bit for bit; with C narrower than a tile
    each row of A gets, bit for bit, the result it gets alone (whatever its row stride)."""
    rng = np.random.default_rng(19)
    vl = 64 // np.dtype(dtype).itemsize
    narrow = 4 if simd == "avx512" else 2   # columns of the dot-product tile (NT_NR)
    fastdnn.set_num_threads(1)
    for M, N, K in [(1, 40, 256), (1, 9, 512), (300, 1, 784), (256, 1, 784), (49, 3, 512),
                    (25, 2, 1024), (5, 1, 640), (6, 37, 256), (20, 70, 128), (97, 10, 320),
                    (49, 3, 96), (1, 9, 2 * vl + 64), (40, 2, 1004)]:
        for offset in range(vl):
            A = _operand(rng, (M, K), dtype, "C", offset)
            B = _operand(rng, (N, K), dtype, "C", (offset * 5) % vl).T
            what = f"M, N, K = {M}, {N}, {K}, offset {offset}"
            whole = _dense.matmul(A, B, 0.5, False, np.full((M, N), np.nan, dtype))
            _assert_product(whole, A, B, alpha=0.5, what=what)
            for shares in (2, 3):
                C = _dense.matmul(A, B, 0.5, False, np.full((M, N), np.nan, dtype),
                                  shares=shares)
                np.testing.assert_array_equal(C, whole, err_msg=f"{what}: {shares} shares")
            fastdnn.set_num_threads(2)
            C = _dense.matmul(A, B, 0.5, False, np.full((M, N), np.nan, dtype))
            fastdnn.set_num_threads(1)
            np.testing.assert_array_equal(C, whole, err_msg=f"{what}: 2 threads")
            if N < narrow:
                for i in sorted({0, M // 2, M - 1}):
                    for row in (A[i:i + 1], A[i][None, :]):   # row strides lda and 0
                        alone = _dense.matmul(row, B, 0.5, False)
                        np.testing.assert_array_equal(alone[0], whole[i],
                                                      err_msg=f"{what}: row {i} alone")


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_products_against_the_reference(simd, dtype):
    """K = 1 (an outer product, swept row by row): every layout of A, B and out, alpha and
    beta, strided columns of B, sizes up to and past the threading grain."""
    rng = np.random.default_rng(17)
    shapes = [(1, 1, 1), (3, 700, 1), (9, 257, 1), (256, 784, 1), (700, 5, 1), (33, 1000, 1)]
    for (M, N, K), (a_order, b_order, out_order) in itertools.product(
            shapes, [("C", "C", "C"), ("F", "F", "C"), ("C", "F", "F"), ("F", "C", "F")]):
        _run(rng, M, N, K, dtype, False, a_order, b_order, out_order, alpha=-0.75)
        _run(rng, M, N, K, dtype, False, a_order, b_order, out_order, alpha=0.5, beta=1.5,
             offset=1, integers=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_products_epilogue_and_threads(simd, dtype):
    """K = 1 with bias and activation equals the unfused sequence; 2 and 3 threads give
    the single thread's result bit for bit; a NaN of A stays in its row."""
    rng = np.random.default_rng(18)
    for act_name in ("relu", "sigmoid"):
        act = UNARY.index(act_name)
        for M, N in [(256, 784), (1000, 37), (8, 4000)]:
            A = _operand(rng, (M, 1), dtype, "C")
            B = _operand(rng, (N, 1), dtype, "C").T
            bias = rng.standard_normal(M).astype(dtype)
            fastdnn.set_num_threads(1)
            _check_epilogue_on_threads(A, B, bias, act, 0.0)
            A[M // 2, 0] = np.nan
            C = _dense.matmul(A, B, 1.0, False, np.empty((M, N), dtype), 0.0, act, 0.0, bias)
            assert np.isnan(C[M // 2]).all() and not np.isnan(np.delete(C, M // 2, 0)).any()


# ------------------------------------------------------------------ 5. threads

@pytest.mark.parametrize("dtype", DTYPES)
def test_result_does_not_depend_on_thread_count(simd, tile, dtype):
    """A product split over threads in 2-D gives bit for bit the single-thread result;
    also from 1024 rows of C, where the K blocks are longer."""
    for M, N, K in [(301, 503, 701),     # ~1e8 multiply-adds: far above the threading grain
                    (1031, 67, 1000)]:
        _check_thread_count(np.random.default_rng(7), M, N, K, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_split_asked_for_gives_the_same_bits(simd, dtype):
    """C cut by its rows only or by its columns only (what the training step asks for a
    large layer, to keep each core on its own rows of W) gives the engine's own result bit
    for bit, on a team of 2 or 3 and by shares, with C in either order (a column-major C
    is the row-major C^T: its rows are C^T's columns); the paths that cut C their own way
    (C^T's tiles for few rows, dot products, a narrow C, K = 1) give it too."""
    rng = np.random.default_rng(31)
    cases = [(128, 256, 784, "F"),    # few rows, W^T: C^T's tiles (swapped) where they pay
             (256, 784, 128, "C"), (301, 503, 91, "F"), (70, 33, 260, "C"),
             (10, 300, 200, "F"),     # dot products
             (200, 5, 300, "F"),      # a narrow C
             (64, 300, 1, "C")]       # an outer product
    try:
        for M, N, K, order_b in cases:
            A, B = _operand(rng, (M, K), dtype), _operand(rng, (K, N), dtype, order_b)
            for order_c in "CF":
                fastdnn.set_num_threads(1)
                whole = _dense.matmul(A, B, 0.5, False, np.empty((M, N), dtype, order_c))
                _assert_product(whole, A, B, 0.5, what=f"{M}x{K} by {K}x{N}, C {order_c}")
                for split in ("rows", "columns"):
                    for threads in (2, 3):
                        fastdnn.set_num_threads(threads)
                        got = _dense.matmul(A, B, 0.5, False, np.empty((M, N), dtype, order_c),
                                            split=split)
                        np.testing.assert_array_equal(
                            got, whole, err_msg=f"{M}x{K} by {K}x{N}, {split}, C {order_c}, "
                                                f"{threads} threads")
                    for shares in (2, 3):
                        got = _dense.matmul(A, B, 0.5, False, np.empty((M, N), dtype, order_c),
                                            shares=shares, split=split)
                        np.testing.assert_array_equal(
                            got, whole, err_msg=f"{M}x{K} by {K}x{N}, {split}, C {order_c}, "
                                                f"{shares} shares")
    finally:
        fastdnn.set_num_threads(None)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_split_asked_for_is_the_grid(simd, dtype):
    """The team cuts C as asked (rows: all threads across C's rows; columns: none) where C
    has a tile row or column for each thread, else as its cost model says; the paths with
    their own cut (dot products, K = 1) and a column sum keep it."""
    f64 = np.dtype(dtype) == np.float64
    mr, nr = _ew.gemm_tile(f64, 0)
    M, N, K = 40 * mr, 40 * nr, 300                  # a product the cost model cuts 2-D
    for nt in (2, 3, 4):
        assert _ew.gemm_grid_rows(f64, M, N, K, K, 1, N, 1, 1, nt) == nt
        assert _ew.gemm_grid_rows(f64, M, N, K, K, 1, N, 1, 2, nt) == 1
        by_cost = _ew.gemm_grid_rows(f64, M, N, K, K, 1, N, 1, 0, nt)
        assert nt % by_cost == 0
        # one tile row (column) for fewer threads than the team: by cost
        assert (_ew.gemm_grid_rows(f64, mr * (nt - 1), N, K, K, 1, N, 1, 1, nt)
                == _ew.gemm_grid_rows(f64, mr * (nt - 1), N, K, K, 1, N, 1, 0, nt))
    # dot products: all of C's rows on each share, whatever was asked
    assert _ew.gemm_grid_rows(f64, 10, 300, 200, 200, 1, 1, 200, 1, 2) == 1


def test_a_split_must_be_named():
    A, B = np.ones((3, 4)), np.ones((4, 5))
    with pytest.raises(ValueError, match="split must be one of 'cost', 'rows', 'columns', "
                                         "got 'units'"):
        _dense.matmul(A, B, 1.0, False, split="units")
    with pytest.raises(TypeError, match="split must be a str, got int"):
        _dense.matmul(A, B, 1.0, False, split=1)
    with pytest.raises(ValueError, match="split needs direct=False"):
        _dense.matmul(A, B, 1.0, True, split="rows")
    np.testing.assert_array_equal(_dense.matmul(A, B, 1.0, True, split="cost"), A @ B)


def _check_thread_count(rng, M, N, K, dtype):
    A, B = _operand(rng, (M, K), dtype), _operand(rng, (K, N), dtype, "F")
    C0 = rng.standard_normal((M, N)).astype(dtype)
    bias = rng.standard_normal(M).astype(dtype)
    sigmoid = UNARY.index("sigmoid")

    def products():
        return [_dense.matmul(A, B, 1.0, False),
                _dense.matmul(A, B, 0.75, False, np.array(C0, order="F"), -1.5,
                              sigmoid, 0.0, bias)]

    fastdnn.set_num_threads(1)
    single = products()
    if dtype == np.float32:   # (the float64 bound is checked on smaller shapes elsewhere)
        _assert_product(single[0], A, B, what="1 thread")
    for n in (2, 3):
        fastdnn.set_num_threads(n)
        for got, want in zip(products(), single):
            np.testing.assert_array_equal(got, want, err_msg=f"{n} threads vs 1")


@pytest.mark.parametrize("dtype", DTYPES)
def test_tiles_agree_and_the_pick_follows_the_padding(simd, dtype):
    """Both register tiles make each element of C as the same chain over k: with K in
    one block their results are the same bit for bit, and so is the product on the tile
    the engine picks. It picks tile 1 only where tile 0 pads C much more."""
    f64 = np.dtype(dtype) == np.float64
    rng = np.random.default_rng(13)
    for M, N, K in [(256, 32, 300), (10, 128, 128), (37, 70, 384), (64, 13, 200),
                    (5, 300, 33), (130, 200, 17)]:
        A = _operand(rng, (M, K), dtype, "F" if M % 2 else "C")
        B = _operand(rng, (K, N), dtype, "F" if N % 2 else "C")
        got = []
        for which in (0, 1, -1):
            _ew.force_gemm_tile(which)
            got.append(_dense.matmul(A, B, 0.5, False))
        _ew.force_gemm_tile(-1)
        _assert_product(got[0], A, B, 0.5, what=f"M, N, K = {M}, {N}, {K}")
        np.testing.assert_array_equal(got[1], got[0], err_msg=f"tile 1 vs 0, {M}, {N}, {K}")
        np.testing.assert_array_equal(got[2], got[0], err_msg=f"picked vs 0, {M}, {N}, {K}")
    (mr0, nr0), (mr1, nr1) = _ew.gemm_tile(f64, 0), _ew.gemm_tile(f64, 1)
    # a C as wide as tile 1 and half as wide as tile 0: tile 0 would pad it to twice
    wide = _ew.gemm_tile_for(f64, 12 * mr0 * mr1, nr1, 500, nr1)
    square = _ew.gemm_tile_for(f64, 4 * mr0 * mr1, 4 * nr0 * nr1, 500, 4 * nr0 * nr1)
    assert square == 0
    assert wide == (1 if 2 * nr1 == nr0 else 0)


# ------------------------------------------------------------------ 6. empty

@pytest.mark.parametrize("direct", [False, True], ids=["packed", "direct"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_products(dtype, direct):
    M, N = 5, 7
    A, B = np.ones((M, 0), dtype), np.ones((0, N), dtype)
    for a, b in [(A, B), (np.asfortranarray(A), np.asfortranarray(B))]:
        C = _dense.matmul(a, b, 2.0, direct)
        assert C.shape == (M, N) and C.dtype == dtype
        np.testing.assert_array_equal(C, np.zeros((M, N)))
    for out_order in "CF":
        buf, out = _guarded_out((M, N), dtype, out_order, np.nan)
        np.testing.assert_array_equal(_dense.matmul(A, B, 2.0, direct, out), np.zeros((M, N)))
        _check_guards(buf, out_order)
        C0 = np.arange(M * N, dtype=dtype).reshape(M, N)
        out = np.array(C0, order=out_order)
        np.testing.assert_array_equal(_dense.matmul(A, B, 2.0, direct, out, -0.5), -0.5 * C0)
        # the epilogue on K = 0: g(0 + bias)
        bias = np.linspace(-2, 2, M).astype(dtype)
        out = np.full((M, N), np.nan, dtype, order=out_order)
        C = _dense.matmul(A, B, 1.0, direct, out, 0.0, UNARY.index("tanh"), 0.0, bias)
        np.testing.assert_allclose(C, np.broadcast_to(F.tanh(bias)[:, None], (M, N)),
                                   rtol=4 * _eps(dtype), atol=0)
    for m, k, n in [(0, 4, 3), (3, 4, 0), (0, 0, 0), (0, 5, 0)]:
        C = _dense.matmul(np.ones((m, k), dtype), np.ones((k, n), dtype), 1.0, direct)
        assert C.shape == (m, n) and C.dtype == dtype
        out = np.empty((m, n), dtype)
        assert _dense.matmul(np.ones((m, k), dtype), np.ones((k, n), dtype), 1.0, direct,
                             out, 0.5, UNARY.index("relu"), 0.0,
                             np.zeros(m, dtype)).shape == (m, n)


# ------------------------------------------------------------------ 7. forced paths

@pytest.mark.parametrize("path", ["portable", "avx2", "avx512"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_forced_path_with_several_k_blocks(path, dtype):
    if not _ew.simd_available(path):
        pytest.skip(f"{path} is not available on this CPU/build")
    _ew.set_simd_path(path)
    assert _ew.simd_path() == path
    mr, nr = _tile(dtype)
    rng = np.random.default_rng(8)
    M, N, K = 5 * mr + 1, 3 * nr + 1, 2 * KC[dtype] + 45
    for layout, out_order in itertools.product(LAYOUTS.values(), "CF"):
        for direct, integers in itertools.product((False, True), (False, True)):
            _run(rng, M, N, K, dtype, direct, layout[0], layout[1], out_order,
                 integers=integers)


# ------------------------------------------------------------------ property test

def test_random_products_property():
    """Random shapes (0 to 40), orders, alpha, beta and routes, on the default path."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    @hypothesis.settings(max_examples=120, deadline=None, derandomize=True,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(M=st.integers(0, 40), N=st.integers(0, 40), K=st.integers(0, 40),
                      dtype=st.sampled_from(DTYPES), layout=st.sampled_from(list(LAYOUTS)),
                      out_order=st.sampled_from("CF"), direct=st.booleans(),
                      alpha=st.sampled_from([1.0, -1.0, 0.3, 7.0]),
                      beta=st.sampled_from([0.0, 1.0, -0.25]), integers=st.booleans(),
                      seed=st.integers(0, 2**16))
    def check(M, N, K, dtype, layout, out_order, direct, alpha, beta, integers, seed):
        a_order, b_order = LAYOUTS[layout]
        _run(np.random.default_rng(seed), M, N, K, dtype, direct, a_order, b_order,
             out_order, alpha, beta, integers=integers and alpha != 0.3)

    check()
