# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Whole-network training in one compiled loop.

A ``Plan`` holds raw pointers to every array a ``Sequential`` of ``Dense``
layers (optionally led by a ``Normalizer``) touches while training: weights,
gradients, activation buffers for one mini-batch, optimizer state. ``run``
then trains a range of mini-batches without the GIL and without returning to
Python: per batch it gathers the examples (normalizing them on the way),
runs forward (GEMM + bias and activation pass, softmax), the cost and the
metrics, backward (dZ and db in one pass, two GEMMs) and the optimizer's
update of every array (plain gradient descent is folded into the dW GEMM,
``W = W - (lr/m) dZ A_prev^T``, so ``dW`` is not formed). Nothing is
allocated after the plan is made.

Layouts are the lecture's: activations are F-ordered ``(n_l, B)`` (column j is
example j), ``W`` is C-ordered ``(n_l, n_prev)``. Products of up to
``SMALL_GEMM`` multiply-adds, where packing the operands costs more than it saves, run on
fastdnn's own register-blocked kernels (``csrc/fdnn_gemm_type.h``).
"""
import numpy as np

cimport numpy as cnp
from cpython.pythread cimport (WAIT_LOCK, PyThread_acquire_lock, PyThread_allocate_lock,
                               PyThread_free_lock, PyThread_release_lock, PyThread_type_lock)
from libc.math cimport fabs, isfinite, pow
from libc.string cimport memcpy, memset
from fastdnn._kernels._blas cimport (FDNN_FEW_ROWS, FDNN_INT_MAX, FDNN_SPLIT_COLS,
                                     FDNN_SPLIT_COST, FDNN_SPLIT_ROWS, SMALL_GEMM, colmajor_gemm)
from fastdnn._kernels._loss cimport (LossArgs, loss_args, loss_gradient, loss_sum,
                                     smoothed_targets)
from fastdnn._kernels._metric cimport auc_counts, confusion_counts, top_k_hits
from fastdnn._kernels._norm cimport (bn_backward, bn_forward, bn_moving_update,
                                     ln_backward, ln_forward)

from fastdnn._kernels._elementwise cimport (act_backward_f32, act_backward_f64, bias_act_f32,
                                            bias_act_f64, gemm_nn_f32, gemm_nn_f64, gemm_nt_f32,
                                            gemm_nt_f64, softmax_columns_f32,
                                            softmax_columns_f64, sq_sum_f32, sq_sum_f64,
                                            region_threads, team_barrier, team_clock,
                                            team_note,
                                            team_threads, unary_f32, unary_f64,
                                            interrupt_set, interrupt_arm, interrupt_poll,
                                            interrupted, l2_bytes)
from cython.parallel cimport parallel, prange, threadid

from fastdnn import _aligned
from fastdnn._kernels import _elementwise as _ew

include "_optim_kernels.pxi"

cnp.import_array()

cdef extern from "Python.h":
    int PyErr_CheckSignals() except -1

# seconds between two looks for a signal (Ctrl-C) in the compiled loops
cdef double SIGNAL_POLL_S = 0.02
# multiply-adds (batch size x weights) from which a training step also looks for signals
# within its products (about 30 ms on two cores in float32), until the first update of a
# W: gradient descent folded into a dW product (a separate dW and update pass cost a
# [1024, 2048, 2048, 1024] step at m = 512 6-10 %); other optimizers update after all the
# products, not in the epilogue of each layer's dW product
cdef double LONG_STEP = <double>(1 << 29)


cdef int _poll_signals(void *owner) noexcept nogil:
    """Run the Python signal handlers (from the calling thread, between products or their
    pieces); 1, and the exception kept in owner._raised, when one raised."""
    with gil:
        try:
            PyErr_CheckSignals()
        except BaseException as e:
            (<_Buffers>owner)._raised = e
            return 1
    return 0

cdef enum:
    FEW_LARGE = 1 << 20      # weights from which a batch of 3-4 runs on the direct loops
    PARALLEL_GEMV = 1 << 15  # weights from which one example's product is split over threads
    MAX_TEAM = 64            # threads one example's product is split over at most
    MAX_LAYERS = 64
    MAX_METRICS = 8
    NORM_BATCH = 1           # DenseL.norm: batch normalization between product and activation
    NORM_LAYER = 2           # layer normalization there
    # examples up to which a dW product on one thread (a piece of a column-split step) runs
    # on the direct loops whatever its size: dZ (F) is read as packed A panels and X^T's
    # rows as B's, so packing saves nothing. One core, packed time / direct time, dW
    # (n_out, n_in) from m examples: float64 m = 64-256 1.04-1.14 (64x128 .. 256x128,
    # 784x256 0.98-1.03), m = 512-1024 1.02-4.5, m = 2048 0.89-4.6; float32 1.02-1.19,
    # 1.07-3.8 and 0.94-3.9
    PIECE_DW_DIRECT = 1024
    # values of dW a thread sums over the pieces and steps the optimizer on at a time
    # (a multiple of a cache line: the sums read back from L1)
    SUM_BLOCK = 1024

# the kinds of Plan's normalizations, for Python
BATCH_NORM = NORM_BATCH
LAYER_NORM = NORM_LAYER

cdef extern from "fdnn_codes.h" nogil:
    enum:
        FDNN_LINEAR
        FDNN_BW_LINEAR
        FDNN_BW_OUTPUT_SUB
        FDNN_METRIC_BINARY
        FDNN_METRIC_ARGMAX
        FDNN_METRIC_MAE
        FDNN_METRIC_PRECISION
        FDNN_METRIC_RECALL
        FDNN_METRIC_AUC
        FDNN_METRIC_TOP_K



cdef struct DenseL:
    Py_ssize_t n_in, n_out
    int act, bwd
    double alpha, lam              # activation parameter; L2 strength (0: none)
    bint softmax
    char *W
    char *b
    char *dW
    char *db
    char *A                        # (n_out, B) F
    char *dZ                       # (n_out, B) F
    char *dA_prev                  # (n_in, B) F, NULL for the first layer
    char *slot[2][2]               # optimizer state [W, b][first, second]
    bint w_done                    # this step's GD update of W was folded into its GEMM
    bint dz_done                   # this step's dZ and db were made in the epilogue of dA's GEMM
    # a normalization between the product and the activation (norm != 0):
    # A = g(gamma normalized(Z) + beta) with Z = W A_prev + b
    int norm                       # 0, NORM_BATCH or NORM_LAYER
    double norm_eps, momentum
    bint train_gamma, train_beta   # scale, center
    char *Z                        # (n_out, B) F: the product, when norm or on_z
    char *gamma                    # (n_out) each
    char *beta
    char *dgamma
    char *dbeta
    char *moving_mean              # (n_out), batch normalization only
    char *moving_var
    double *mean                   # the batch's statistics: n_out (batch) or B (layer) each
    double *var
    double *inv_std
    double *work                   # 2 n_out
    char *nslot[2][2]              # optimizer state [gamma, beta][first, second]
    bint on_z                      # bwd takes g's input (dZ = dA * g'(x)): training keeps it
    char *act_in                   # (n_out, B) F when on_z: g's input (Z, or Z normalized)
    char *dWp                      # (pieces, n_out, n_in) C: dW of each piece of columns
    char *dbp                      # (pieces, n_out): db of each piece (NULL without b)


cdef struct Net:
    int L, f32, loss, fused, opt, n_metrics
    bint stop_on_nan               # a non-finite cost ends the step before its update
    bint split                     # data parallel: gradients formed whole, no update in _step
    double reg                     # split: the step's L2 penalty of the weights before it
    Py_ssize_t n_x, n_y, B
    Py_ssize_t batches_in_place    # mini-batches read from X's rows where they lie
    Py_ssize_t steps_by_columns    # steps split by columns (_step_columns)
    int pieces_kept                # pieces whose dW and db the layers' dWp and dbp hold
    Py_ssize_t steps_by_units      # steps split by hidden units (_step_units)
    int unit_pieces_kept           # pieces Xu and Zu hold room for (_step_units)
    char *Xu                       # (unit pieces - 1, n_x, B): the other pieces' batches
    char *Zu                       # (unit pieces, n_y, B) F: the pieces' output products
    char *dbu                      # (n_hidden): the pieces' db, on lines of their own
    char *dbo                      # (unit pieces, UNIT_OUT_LD): each share's sums of dZ2
    char *Xb                       # (n_x, B) F
    char *Yb                       # (n_y, B) F
    bint stats_fresh               # the normalizations' batch statistics are this step's
    char *G                        # (n_y, B) F: dL/dA (times the weights), or the targets a
                                   # fused output subtracts (smoothed, or weighted A - Y)
    char *wb                       # (B): the mini-batch's sample weights
    LossArgs lf                    # the loss, its parameter and its clipping of A
    char *mean                     # normalizer (n_x), or NULL
    char *inv_std
    OptHyper hyper                 # the optimizer's hyperparameters and gradient clipping
    int metric[MAX_METRICS]
    double threshold[MAX_METRICS]  # a threshold; AUC's number of thresholds; top-k's k
    Py_ssize_t metric_at[MAX_METRICS]   # where each metric's accumulators start
    bint metric_logits[MAX_METRICS]     # the metric reads sigmoid(A) (AUC's from_logits)
    DenseL layer[MAX_LAYERS]


# ------------------------------------------------------------------ pieces

cdef inline bint _few(Py_ssize_t m, Py_ssize_t n_out, Py_ssize_t n_in) noexcept nogil:
    """A batch the direct loops take whatever the layer's size (they stream W, split over
    the team; the packed engine pads m to its tiles): one or two examples, or up to
    FDNN_FEW_ROWS through a layer of FEW_LARGE weights or more. Steps measured (2 threads,
    float32): 784-256-128-10 at m = 2 98 -> 75 us, at m = 4 110 -> 124-130 with the
    direct loops (so packed there); 1024-2048-2048-1024 at m = 4 4.5-4.9 -> 4.1-4.4 ms."""
    return m <= 2 or (m <= FDNN_FEW_ROWS and n_out * n_in >= FEW_LARGE)


cdef inline bint _direct(Py_ssize_t m, Py_ssize_t n_out, Py_ssize_t n_in) noexcept nogil:
    """Whether a layer's forward and dA products for m examples run on the direct loops:
    a few examples (_few), or up to SMALL_GEMM multiply-adds."""
    return _few(m, n_out, n_in) or n_out * n_in * m <= SMALL_GEMM


cdef enum:
    # examples up to which a training step cuts large layers by W's rows (_by_w_rows)
    W_ROWS_SPLIT_M = 256


cdef inline bint _by_w_rows(Py_ssize_t n_out, Py_ssize_t n_in, Py_ssize_t m,
                            size_t size) noexcept nogil:
    """Whether a training step of m examples has its team cut a layer's forward product
    and W's update by W's rows (the layer's units), so that each core reads in the
    forward the rows of W it wrote in the last update, and writes in the next update rows
    no other core has read: for a W larger than a core's L2 and up to W_ROWS_SPLIT_M
    examples. Cut by examples, each core read all of W in the forward, and the update's
    writes then took back every line the other core had read (AMD Zen 2, two threads,
    512 KiB of L2, float32 784-256-128-10 at m = 128: the update of W1, 800 KB, 311-401 us
    in the step against 284 alone; cut by W's rows 284 in the step, its forward 287 -> 320
    alone but no slower in the step). Steps, us, by examples -> by W's rows: m = 64 520-533 ->
    491-495, m = 128 970-1053 -> 933-960, m = 256 1808-1849 -> 1785-1798; but m = 512
    3436-3483 -> 3486-3502, and 1024-2048-2048-1024 at m = 512 0.2-1.6 % slower; fit of
    4,096 examples in batches of 128, ms per epoch: sgd 38.0-39.0 -> 36.2, adam 42.0-42.6
    -> 38.0-38.3, float64 sgd 70.9-71.7 -> 69.2-69.3. W2, 128 KB, cut by its rows: its
    forward 61 -> 69 us alone, 73 -> 88 in the step."""
    return m <= W_ROWS_SPLIT_M and <size_t>(n_out * n_in) * size > l2_bytes()


cdef inline int _update_split(Py_ssize_t n_out, Py_ssize_t n_in, Py_ssize_t m,
                              size_t size) noexcept nogil:
    """The split of an update product's column-major W^T (n_in, n_out): W's rows are its
    columns."""
    return FDNN_SPLIT_COLS if _by_w_rows(n_out, n_in, m, size) else FDNN_SPLIT_COST


def cut_by_weight_rows(Py_ssize_t n_out, Py_ssize_t n_in, Py_ssize_t m, bint f64) -> bool:
    """Whether a training step of m examples has its threads cut a layer of n_out x n_in
    weights by W's rows (the layer's units), its forward product and its update both
    (matmul's ``split="rows"`` of Z and of W), as the compiled step decides.

    >>> cut_by_weight_rows(10, 10, 128, False)    # 400 bytes: within any core's L2
    False
    """
    return _by_w_rows(n_out, n_in, m, 8 if f64 else 4)


cdef inline void _dense_forward(real *W, Py_ssize_t ldw, const real *b, int act, real alpha,
                                real *X, real *Z, Py_ssize_t n_out, Py_ssize_t n_in,
                                Py_ssize_t m, int split=FDNN_SPLIT_COST) noexcept nogil:
    """Z (n_out, m) F = g(W (n_out, n_in) C, rows ldw apart, @ X (n_in, m) F + b): the packed
    product applies the bias and activation to each tile; the direct loops, one pass after
    them (none for a linear product without a bias). split: how the packed product's team
    cuts Z (FDNN_SPLIT_ROWS: by units)."""
    cdef real one = 1, zero = 0
    cdef Py_ssize_t blk, nblk, rows
    cdef int nt = team_threads() if m == 1 and n_out * n_in >= PARALLEL_GEMV else 1
    cdef double start[MAX_TEAM]
    if nt > 1:
        # one example through a large layer: each thread reads its own rows of W,
        # which then stay in that core's cache from call to call
        nt = nt if nt < MAX_TEAM else MAX_TEAM
        nblk = nt if nt < n_out else n_out
        rows = (n_out + nblk - 1) // nblk
        for blk in range(nblk):
            start[blk] = -1
        for blk in prange(nblk, nogil=True, num_threads=nt, schedule="static", chunksize=1):
            start[blk] = team_clock()
            if real is float:
                gemm_nt_f32(1, min(rows, n_out - blk * rows), n_in, 1, X, n_in,
                            W + blk * rows * ldw, ldw, Z + blk * rows, n_out)
            else:
                gemm_nt_f64(1, min(rows, n_out - blk * rows), n_in, 1, X, n_in,
                            W + blk * rows * ldw, ldw, Z + blk * rows, n_out)
        team_note(start, <int>nblk)
    elif _direct(m, n_out, n_in):
        # row-major: Z^T (m, n_out) = X^T (m, n_in) @ W^T
        if real is float:
            gemm_nt_f32(m, n_out, n_in, 1, X, n_in, W, ldw, Z, n_out)
        else:
            gemm_nt_f64(m, n_out, n_in, 1, X, n_in, W, ldw, Z, n_out)
    else:
        colmajor_gemm(b'T'[0], b'N'[0], n_out, m, n_in, one, W, ldw, X, n_in, zero, Z, n_out,
                      act, alpha, b, -1, NULL, 0, NULL, 0, -1, NULL, NULL, NULL, NULL, -1, 0,
                      split)
        return
    if act == FDNN_LINEAR and b == NULL:
        return
    if real is float:
        bias_act_f32(act, Z, m, n_out, b, False, alpha)
    else:
        bias_act_f64(act, Z, m, n_out, b, False, alpha)


cdef inline bint _small_dW(Py_ssize_t n_out, Py_ssize_t n_in, Py_ssize_t m) noexcept nogil:
    """dW's product runs on the direct loops (_gemm_dW), whole on one thread, and W's
    update apart from it."""
    return m == 1 or n_out * n_in * m <= SMALL_GEMM


cdef inline void _gemm_dW(real *dZ, real *X, real *dW, Py_ssize_t ldw, Py_ssize_t n_out,
                          Py_ssize_t n_in, Py_ssize_t m, real scale,
                          bint one_thread=False) noexcept nogil:
    """dW (n_out, n_in) C, rows ldw apart, = scale * dZ (n_out, m) F @ X (n_in, m) F ^T;
    one_thread: the caller runs it on one thread (the direct loops up to PIECE_DW_DIRECT
    examples)."""
    cdef int M = <int>n_in, N = <int>n_out, K = <int>m
    cdef real zero = 0
    if _small_dW(n_out, n_in, m) or (one_thread and m <= PIECE_DW_DIRECT):
        if real is float:
            gemm_nn_f32(n_out, n_in, m, scale, dZ, 1, n_out, X, n_in, dW, ldw)
        else:
            gemm_nn_f64(n_out, n_in, m, scale, dZ, 1, n_out, X, n_in, dW, ldw)
    else:
        # column-major dW^T (n_in, n_out) = X (n_in, m) @ dZ^T
        colmajor_gemm(b'N'[0], b'T'[0], M, N, K, scale, X, M, dZ, N, zero, dW, <int>ldw)


cdef inline void _gemm_update_W(real *dZ, real *X, real *W, Py_ssize_t n_out, Py_ssize_t n_in,
                                Py_ssize_t m, real alpha, real beta) noexcept nogil:
    """W (n_out, n_in) C = beta * W + alpha * dZ (n_out, m) F @ X (n_in, m) F ^T, cut by
    W's rows when _by_w_rows."""
    cdef int M = <int>n_in, N = <int>n_out, K = <int>m
    colmajor_gemm(b'N'[0], b'T'[0], M, N, K, alpha, X, M, dZ, N, beta, W, M, -1, 0, NULL, -1,
                  NULL, 0, NULL, 0, -1, NULL, NULL, NULL, NULL, -1, 0,
                  _update_split(n_out, n_in, m, sizeof(real)))


cdef inline bint _dW_step_fused(Net *net, DenseL *d, real *X, Py_ssize_t m, real scale,
                                const double *base) noexcept nogil:
    """dW = scale * dZ X^T with the optimizer's step on W applied to each tile of dW in the
    product's epilogue (threaded with it, dW read back from L1); False, and nothing done,
    for gradient descent (folded into the product instead), the direct loops and a norm
    clip (the norm of dW is needed before its update)."""
    cdef real c[FDNN_N_OC]
    cdef int q
    if (net.opt == FDNN_OPT_GD or _small_dW(d.n_out, d.n_in, m)
            or net.hyper.clipnorm > 0 or net.hyper.global_clipnorm > 0):
        return False
    for q in range(FDNN_N_OC):
        c[q] = <real>base[q]
    c[FDNN_OC_DECAY] = <real>(d.lam / m)
    # column-major dW^T (n_in, n_out) = X (n_in, m) @ dZ^T
    colmajor_gemm(b'N'[0], b'T'[0], d.n_in, d.n_out, m, scale, X, d.n_in, <real *>d.dZ,
                  d.n_out, <real>0, <real *>d.dW, d.n_in, -1, <real>0, NULL, -1, NULL, 0, NULL,
                  <real>0, net.opt, <real *>d.W, <real *>d.slot[0][0], <real *>d.slot[0][1], c,
                  -1, 0, _update_split(d.n_out, d.n_in, m, sizeof(real)))
    return True


cdef inline void _gemm_dA(real *W, Py_ssize_t ldw, real *dZ, real *dA, Py_ssize_t n_out,
                          Py_ssize_t n_in, Py_ssize_t m) noexcept nogil:
    """dA (n_in, m) F = W (n_out, n_in) C, rows ldw apart, ^T @ dZ (n_out, m) F."""
    cdef int M = <int>n_in, N = <int>m, K = <int>n_out
    cdef real one = 1, zero = 0
    if _direct(m, n_out, n_in):
        # row-major: dA^T (m, n_in) = dZ^T (m, n_out) @ W
        if real is float:
            gemm_nn_f32(m, n_in, n_out, 1, dZ, n_out, 1, W, ldw, dA, n_in)
        else:
            gemm_nn_f64(m, n_in, n_out, 1, dZ, n_out, 1, W, ldw, dA, n_in)
    else:
        colmajor_gemm(b'N'[0], b'N'[0], M, N, K, one, W, <int>ldw, dZ, K, zero, dA, M)


cdef inline bint _dZ_prev_fused(DenseL *d, DenseL *prev, Py_ssize_t m, real scale,
                                Py_ssize_t at=0, bint with_db=True) noexcept nogil:
    """prev's dZ = (W^T dZ) * g'(A_prev) over columns at..at+m-1 and (with_db) db = scale *
    its sums over the examples, in the epilogue of the packed product (so dA_prev is never
    written nor read back); False, and nothing done, for products on the direct loops and
    for a softmax below."""
    if _direct(m, d.n_out, d.n_in) or prev.softmax or prev.norm:
        return False
    colmajor_gemm(b'N'[0], b'N'[0], d.n_in, m, d.n_out, <real>1, <real *>d.W, d.n_in,
                  <real *>d.dZ + at * d.n_out, d.n_out, <real>0, <real *>prev.dZ + at * d.n_in,
                  d.n_in, -1, <real>prev.alpha, NULL, prev.bwd,
                  <real *>(prev.act_in if prev.on_z else prev.A) + at * d.n_in, d.n_in,
                  <real *>prev.db if with_db else NULL, scale)
    return True


cdef inline void _gather(Net *net, const char *X, Py_ssize_t rs, Py_ssize_t cs, int x_f32,
                         const real *Y, const long long *perm, Py_ssize_t start,
                         Py_ssize_t k, const real *SW, Py_ssize_t at=0,
                         real *Xto=NULL) noexcept nogil:
    """Columns at..at+k-1 of Xb (or of Xto) and Yb from examples perm[start:start+k] (or
    start.. in order); the targets only when Y is not NULL, the sample weights into wb
    when SW is not NULL."""
    cdef real *Xb = (<real *>net.Xb if Xto == NULL else Xto) + at * net.n_x
    cdef real *Yb = <real *>net.Yb + at * net.n_y
    cdef real *wb = <real *>net.wb + at if net.wb != NULL else NULL
    cdef const real *mean = <const real *>net.mean
    cdef const real *inv_std = <const real *>net.inv_std
    cdef Py_ssize_t j, i, row, n_x = net.n_x, n_y = net.n_y
    cdef const char *xr
    cdef const real *xs
    cdef real *xb
    cdef real v
    cdef bint rows = cs == sizeof(real) and (x_f32 != 0) == (sizeof(real) == 4)
    for j in range(k):
        row = perm[start + j] if perm != NULL else start + j
        xr = X + row * rs
        if rows and mean == NULL:   # a contiguous row of the model's dtype: copied whole
            memcpy(Xb + j * n_x, xr, n_x * sizeof(real))
        elif rows:   # normalized in one loop the compiler vectorizes
            xs = <const real *>xr
            xb = Xb + j * n_x
            for i in range(n_x):
                xb[i] = (xs[i] - mean[i]) * inv_std[i]
        else:
            for i in range(n_x):
                if x_f32:
                    v = <real>(<const float *>(xr + i * cs))[0]
                else:
                    v = <real>(<const double *>(xr + i * cs))[0]
                if mean != NULL:
                    v = (v - mean[i]) * inv_std[i]
                Xb[j * n_x + i] = v
        if Y != NULL:
            for i in range(n_y):
                Yb[j * n_y + i] = Y[row * n_y + i]
        if SW != NULL:
            wb[j] = SW[row]


cdef inline void _metric_add(int kind, double threshold, bint logits, const real *A,
                             const real *Y, Py_ssize_t n_y, Py_ssize_t k, double *acc,
                             const real *w) noexcept nogil:
    """Add one batch to a metric's accumulators: its numerator (_metric_sum), or the counts
    (fastdnn/_kernels/_metric.pxd) the metric object finishes; each example's share times
    its weight w[j] (w NULL: 1)."""
    cdef Py_ssize_t j
    if kind == FDNN_METRIC_PRECISION or kind == FDNN_METRIC_RECALL or kind == FDNN_METRIC_AUC \
            or kind == FDNN_METRIC_TOP_K:
        if w == NULL:
            _count_add(kind, threshold, logits, A, Y, n_y, k, acc, 1.0)
        else:
            for j in range(k):
                _count_add(kind, threshold, logits, A + j * n_y, Y + j * n_y, n_y, 1, acc,
                           w[j])
    else:
        acc[0] += _metric_sum(kind, threshold, A, Y, n_y, k, w)


cdef inline void _count_add(int kind, double threshold, bint logits, const real *A,
                            const real *Y, Py_ssize_t n_y, Py_ssize_t k, double *acc,
                            double weight) noexcept nogil:
    """The counts of the metrics kept as counts, each counted ``weight`` times."""
    if kind == FDNN_METRIC_PRECISION or kind == FDNN_METRIC_RECALL:
        confusion_counts(A, Y, n_y * k, threshold, acc, weight)
    elif kind == FDNN_METRIC_AUC:
        auc_counts(A, Y, n_y * k, <Py_ssize_t>threshold, logits, acc, weight)
    else:
        acc[0] += weight * top_k_hits(A, Y, n_y, k, <Py_ssize_t>threshold)


cdef inline double _metric_sum(int kind, double threshold, const real *A, const real *Y,
                               Py_ssize_t n_y, Py_ssize_t k, const real *w) noexcept nogil:
    """Numerator of one metric over a batch, each example's terms times its weight w[j]
    (w NULL: 1); the denominators are counted in Python."""
    cdef Py_ssize_t i, j, ia, iy
    cdef double s = 0, d, wj = 1
    cdef const real *a
    cdef const real *y
    cdef bint nan
    if kind == FDNN_METRIC_BINARY:
        for j in range(k):
            if w != NULL:
                wj = w[j]
            for i in range(j * n_y, (j + 1) * n_y):
                if A[i] != A[i]:
                    continue
                if (A[i] > threshold) == (Y[i] > 0.5):
                    s += wj
        return s
    if kind == FDNN_METRIC_ARGMAX:
        for j in range(k):
            if w != NULL:
                wj = w[j]
            a, y = A + j * n_y, Y + j * n_y
            ia = iy = 0
            nan = a[0] != a[0]
            for i in range(1, n_y):
                if a[i] != a[i]:
                    nan = True
                if a[i] > a[ia]:
                    ia = i
                if y[i] > y[iy]:
                    iy = i
            if not nan and ia == iy:
                s += wj
        return s
    for j in range(k):
        if w != NULL:
            wj = w[j]
        for i in range(j * n_y, (j + 1) * n_y):
            d = <double>A[i] - <double>Y[i]
            s += wj * (fabs(d) if kind == FDNN_METRIC_MAE else d * d)
    return s


cdef inline void _sub(const real *A, const real *Y, real *G, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        G[i] = A[i] - Y[i]


cdef inline void _scale_columns(real *G, const real *w, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """Column j of G (n, k) F times w[j]: each example's dA by its sample weight."""
    cdef Py_ssize_t i, j
    for j in range(k):
        for i in range(j * n, (j + 1) * n):
            G[i] = G[i] * w[j]


cdef inline double _weighted_loss_sum(const LossArgs *f, const real *A, const real *Y,
                                      const real *w, Py_ssize_t n_y,
                                      Py_ssize_t k) noexcept nogil:
    """sum_j w[j] * (the loss summed over example j's n_y outputs)."""
    cdef Py_ssize_t j
    cdef double s = 0
    for j in range(k):
        s += <double>w[j] * loss_sum(f, A + j * n_y, Y + j * n_y, n_y, 1, False)
    return s


cdef double _grad_sq_norm(DenseL *d, int which, double decay, real dummy) noexcept nogil:
    """The sum of squares of W's (which = 0) or b's (which = 1) gradient with its L2 term."""
    if which == 0:
        return _sq_norm(<const real *>d.W, <const real *>d.dW, d.n_out * d.n_in, <real>decay)
    return _sq_norm(<const real *>d.b, <const real *>d.db, d.n_out, <real>0)


cdef void _update(Net *net, DenseL *d, int which, double decay, const double *base,
                  double gscale, real dummy) noexcept nogil:
    """The optimizer's step on W (which = 0) or b (which = 1) of layer d with the step's
    coefficients base and the norm clip's scale: every update but plain gradient descent
    is the C kernel of its code (csrc/fdnn_ew_type.h)."""
    cdef real *p = <real *>(d.W if which == 0 else d.b)
    cdef real *g = <real *>(d.dW if which == 0 else d.db)
    cdef Py_ssize_t n = d.n_out * (d.n_in if which == 0 else 1)
    _apply(net.opt, p, g, <real *>d.slot[which][0], <real *>d.slot[which][1], n, base, decay,
           gscale)


cdef void _norm_forward(DenseL *d, const real *Z, real *N, Py_ssize_t k, int act,
                        real *A) noexcept nogil:
    """N = gamma normalized(Z) + beta with the batch's statistics (training), then (act >= 0)
    A = g(N); a batch normalization's moving statistics take them when the step is applied
    (_step)."""
    if d.norm == NORM_BATCH:
        bn_forward(Z, d.n_out, k, True, d.norm_eps, d.mean, d.var, d.inv_std,
                   <const real *>d.gamma, <const real *>d.beta, N, act, A, d.alpha)
        return
    ln_forward(Z, d.n_out, k, d.norm_eps, <const real *>d.gamma, <const real *>d.beta, N,
               d.mean, d.inv_std)
    if act < 0:
        return
    if real is float:
        unary_f32(act, <const float *>N, A, d.n_out * k, <float>d.alpha)
    else:
        unary_f64(act, <const double *>N, A, d.n_out * k, d.alpha)


cdef void _norm_backward(DenseL *d, int op, const real *G, const real *cached, Py_ssize_t k,
                         real scale) noexcept nogil:
    """d.dZ = the gradient of the normalization's input, from G, the gradient of the layer's
    output, through g' (the backward op, on cached) and the normalization; dgamma, dbeta
    and (a layer with a bias: d.db not NULL) db = scale * dZ's sums over the examples."""
    cdef real *dZ = <real *>d.dZ
    cdef real *db = <real *>d.db
    cdef Py_ssize_t i, j, n = d.n_out
    if d.norm == NORM_BATCH:
        bn_backward(op, G, cached, d.alpha, <const real *>d.Z, n, k, d.mean, d.inv_std,
                    <const real *>d.gamma, dZ, <real *>d.dgamma, <real *>d.dbeta, db, scale,
                    d.work)
        return
    if real is float:
        act_backward_f32(op, <const float *>G, <const float *>cached, <float *>dZ, k, n, NULL,
                         False, scale, <float>d.alpha)
    else:
        act_backward_f64(op, <const double *>G, <const double *>cached, <double *>dZ, k, n,
                         NULL, False, scale, d.alpha)
    ln_backward(<const real *>dZ, <const real *>d.Z, n, k, d.mean, d.inv_std,
                <const real *>d.gamma, dZ, <real *>d.dgamma, <real *>d.dbeta, scale,
                d.work, d.work + n)
    if db == NULL:
        return
    for i in range(n):
        d.work[i] = 0
    for j in range(k):
        for i in range(n):
            d.work[i] += dZ[j * n + i]
    for i in range(n):
        db[i] = <real>(d.work[i] * scale)


cdef void _update_norm(Net *net, DenseL *d, int which, const double *base, double gscale,
                       real dummy) noexcept nogil:
    """The optimizer's step on gamma (which = 0) or beta (which = 1) of layer d (no L2)."""
    cdef real *p = <real *>(d.gamma if which == 0 else d.beta)
    cdef real *g = <real *>(d.dgamma if which == 0 else d.dbeta)
    _apply(net.opt, p, g, <real *>d.nslot[which][0], <real *>d.nslot[which][1], d.n_out, base,
           0, gscale)


cdef double _norm_grad_sq(DenseL *d, int which, real dummy) noexcept nogil:
    """The sum of squares of gamma's (which = 0) or beta's (which = 1) gradient."""
    if which == 0:
        return _sq_norm(<const real *>d.gamma, <const real *>d.dgamma, d.n_out, <real>0)
    return _sq_norm(<const real *>d.beta, <const real *>d.dbeta, d.n_out, <real>0)


cdef void _forward(Net *net, real *X_l, real *out, Py_ssize_t k, Py_ssize_t at=0,
                   bint training=False) noexcept nogil:
    """Every layer on the k columns of X_l; the last one writes into out (n_y, k) F, the
    others into their buffers' columns at..at+k-1. A normalization (training plans only,
    at = 0) normalizes with the batch's statistics. A layer whose backward takes g's input
    (on_z) keeps it (act_in) and then applies g. training: the forward of a step that
    updates W (cut by W's rows when _by_w_rows)."""
    cdef int l, split
    cdef DenseL *d
    cdef real *A
    cdef real *Z
    cdef real *act_in
    for l in range(net.L):
        d = &net.layer[l]
        A = out if l == net.L - 1 else <real *>d.A + at * d.n_out
        Z = <real *>d.Z + at * d.n_out if d.Z != NULL else NULL
        act_in = <real *>d.act_in + at * d.n_out if d.act_in != NULL else NULL
        split = (FDNN_SPLIT_ROWS if training and _by_w_rows(d.n_out, d.n_in, k, sizeof(real))
                 else FDNN_SPLIT_COST)
        if d.norm:
            _dense_forward(<real *>d.W, d.n_in, <const real *>d.b, FDNN_LINEAR, <real>d.alpha, X_l,
                           Z, d.n_out, d.n_in, k, split)
            if d.on_z:
                _norm_forward(d, Z, act_in, k, d.act, A)
            else:
                _norm_forward(d, Z, A, k, -1 if d.softmax else d.act, A)
        elif d.on_z:
            _dense_forward(<real *>d.W, d.n_in, <const real *>d.b, FDNN_LINEAR, <real>0, X_l,
                           Z, d.n_out, d.n_in, k, split)
            if real is float:
                unary_f32(d.act, <const float *>Z, A, d.n_out * k, <float>d.alpha)
            else:
                unary_f64(d.act, <const double *>Z, A, d.n_out * k, d.alpha)
        else:
            _dense_forward(<real *>d.W, d.n_in, <const real *>d.b,
                           FDNN_LINEAR if d.softmax else d.act,
                           <real>d.alpha, X_l, A, d.n_out, d.n_in, k, split)
        if d.softmax:
            if real is float:
                softmax_columns_f32(A, d.n_out, k)
            else:
                softmax_columns_f64(A, d.n_out, k)
        X_l = A


cdef void _forward_one_part(Net *net, int tid, int nt, real *X, real *out,
                            double *start) noexcept nogil:
    """Thread tid's part of one example through every layer on a team of nt (an
    inference plan: no normalization, g applied in place): its share of whole cache lines
    of each large layer's outputs (a small layer's all on thread 0), with a barrier after
    every layer whose outputs the next one reads, and before a softmax (thread 0's) over
    outputs the threads shared."""
    cdef int l
    cdef DenseL *d
    cdef real *A
    cdef real *X_l = X
    cdef Py_ssize_t r0, r1
    cdef bint split
    start[tid] = team_clock()
    for l in range(net.L):
        d = &net.layer[l]
        A = out if l == net.L - 1 else <real *>d.A
        split = d.n_out * d.n_in >= PARALLEL_GEMV
        if split:
            _share(d.n_out, tid, nt, 64 // sizeof(real), &r0, &r1)
        else:
            r0, r1 = 0, (d.n_out if tid == 0 else 0)
        if r1 > r0:
            if real is float:
                gemm_nt_f32(1, r1 - r0, d.n_in, 1, X_l, d.n_in,
                            <const float *>d.W + r0 * d.n_in, d.n_in, A + r0, d.n_out)
                bias_act_f32(FDNN_LINEAR if d.softmax else d.act, A + r0, 1, r1 - r0,
                             <const float *>d.b + r0 if d.b != NULL else NULL, False,
                             <float>d.alpha)
            else:
                gemm_nt_f64(1, r1 - r0, d.n_in, 1, X_l, d.n_in,
                            <const double *>d.W + r0 * d.n_in, d.n_in, A + r0, d.n_out)
                bias_act_f64(FDNN_LINEAR if d.softmax else d.act, A + r0, 1, r1 - r0,
                             <const double *>d.b + r0 if d.b != NULL else NULL, False,
                             d.alpha)
        if d.softmax:
            if split:
                team_barrier()
            if tid == 0:
                if real is float:
                    softmax_columns_f32(A, d.n_out, 1)
                else:
                    softmax_columns_f64(A, d.n_out, 1)
        if l < net.L - 1:
            team_barrier()
        X_l = A


cdef void _forward_one(Net *net, real *X, real *out) noexcept nogil:
    """One example through an inference plan's layers: in one parallel region, with a
    barrier between layers (a fork and a join per large layer otherwise), when a layer is
    large enough to be split; else _forward."""
    cdef int l, tid = 0, nt = team_threads()
    cdef bint large = False
    cdef double start[MAX_TEAM]
    for l in range(net.L):
        large = large or net.layer[l].n_out * net.layer[l].n_in >= PARALLEL_GEMV
    nt = nt if nt < MAX_TEAM else MAX_TEAM
    if nt < 2 or not large:
        _forward(net, X, out, 1)
        return
    for l in range(nt):
        start[l] = -1
    with parallel(num_threads=nt):
        tid = threadid()
        _forward_one_part(net, tid, region_threads(), X, out, start)
    team_note(start, nt)


cdef double _l2_cost(Net *net, double K, real dummy) noexcept nogil:
    """The L2 penalty, sum over layers of lam/(2K) sum(W^2), of the weights as they are."""
    cdef int l
    cdef double reg = 0
    cdef DenseL *d
    for l in range(net.L):
        d = &net.layer[l]
        if d.lam == 0:
            continue
        if real is float:
            reg += d.lam / (2.0 * K) * sq_sum_f32(<const float *>d.W, d.n_out * d.n_in)
        else:
            reg += d.lam / (2.0 * K) * sq_sum_f64(<const double *>d.W, d.n_out * d.n_in)
    return reg


cdef void _zero_grads(Net *net, real dummy) noexcept nogil:
    """Every parameter gradient = 0: the share of a rank whose shard has no rows left."""
    cdef int l
    cdef DenseL *d
    for l in range(net.L):
        d = &net.layer[l]
        memset(d.dW, 0, d.n_out * d.n_in * sizeof(real))
        if d.db != NULL:
            memset(d.db, 0, d.n_out * sizeof(real))
        if d.norm and d.dgamma != NULL:
            memset(d.dgamma, 0, d.n_out * sizeof(real))
        if d.norm and d.dbeta != NULL:
            memset(d.dbeta, 0, d.n_out * sizeof(real))
        d.w_done = False


cdef void _update_all(Net *net, const double *base, double K, real dummy) noexcept nogil:
    """The optimizer's step on every parameter whose update was not folded into a product,
    with the L2 decay lam/K and the gradient clipping (a global norm over every array,
    taken before any update)."""
    cdef int l, q
    cdef DenseL *d
    cdef double gscale = 1, sq = 0
    cdef real scale = 0
    # the step is applied whole: a batch normalization's moving statistics move with it
    # (not on a rank whose shard had no rows for this step: no statistics of its own)
    for l in range(net.L):
        d = &net.layer[l]
        if d.norm == NORM_BATCH and net.stats_fresh:
            bn_moving_update(<real *>d.moving_mean, <real *>d.moving_var, d.mean, d.var,
                             d.n_out, d.momentum)
    net.stats_fresh = False
    if net.hyper.global_clipnorm > 0:
        for l in range(net.L):
            d = &net.layer[l]
            sq += _grad_sq_norm(d, 0, d.lam / K, scale)
            if d.b != NULL:
                sq += _grad_sq_norm(d, 1, 0, scale)
            if d.norm and d.train_gamma:
                sq += _norm_grad_sq(d, 0, scale)
            if d.norm and d.train_beta:
                sq += _norm_grad_sq(d, 1, scale)
        gscale = _clip_scale(sq, net.hyper.global_clipnorm)
    for l in range(net.L):
        d = &net.layer[l]
        if not d.w_done:
            if net.hyper.clipnorm > 0:
                gscale = _clip_scale(_grad_sq_norm(d, 0, d.lam / K, scale), net.hyper.clipnorm)
            _update(net, d, 0, d.lam / K, base, gscale, scale)
        if d.b != NULL:
            if net.hyper.clipnorm > 0:
                gscale = _clip_scale(_grad_sq_norm(d, 1, 0, scale), net.hyper.clipnorm)
            _update(net, d, 1, 0, base, gscale, scale)
        for q in range(2):
            if d.norm and (d.train_gamma if q == 0 else d.train_beta):
                if net.hyper.clipnorm > 0:
                    gscale = _clip_scale(_norm_grad_sq(d, q, scale), net.hyper.clipnorm)
                _update_norm(net, d, q, base, gscale, scale)


cdef inline double _loss_sum(Net *net, const real *A, const real *Y, const real *w,
                             Py_ssize_t k) noexcept nogil:
    """The loss summed over k examples (columns of A and Y), each times w[j] unless w is
    NULL."""
    if w == NULL:
        return loss_sum(&net.lf, A, Y, net.n_y, k, False)
    return _weighted_loss_sum(&net.lf, A, Y, w, net.n_y, k)


cdef bint _cost_and_metrics(Net *net, double loss, double reg, double K, double *cost,
                            double *metric_sums, const real *A, const real *Y,
                            const real *w, Py_ssize_t k) noexcept nogil:
    """cost[0] = loss / K and reg, the L2 penalty of the weights as they are (_l2_cost;
    kept in net.reg instead with net.split), then the metrics' sums over the k examples;
    True when the cost is not finite and the step stops there (net.stop_on_nan)."""
    cdef int q
    cost[0] = loss / K
    if net.split:
        net.reg = reg
    else:
        cost[0] += reg
    if net.stop_on_nan and not net.split and not isfinite(cost[0]):
        return True
    for q in range(net.n_metrics):
        _metric_add(net.metric[q], net.threshold[q], net.metric_logits[q], A, Y, net.n_y, k,
                    metric_sums + net.metric_at[q], w)
    return False


cdef inline real *_output_gradient(Net *net, const real *A, real *Y, const real *w,
                                   real *G, Py_ssize_t k, int *out_op) noexcept nogil:
    """What the output layer's backward op (*out_op) reads for k examples: the targets a
    fused output subtracts (Y itself, or Y smoothed into G; weighted: dZ = (A - T) w formed
    in G, passed through as linear), or dL/dA (times w) in G."""
    cdef Py_ssize_t n_y = net.n_y
    out_op[0] = FDNN_BW_OUTPUT_SUB if net.fused else net.layer[net.L - 1].bwd
    if net.fused and net.lf.param == 0 and w == NULL:
        return Y
    if net.fused:
        smoothed_targets(&net.lf, <const real *>Y, G, n_y, k)
        if w != NULL:
            _sub(A, G, G, n_y * k)
            out_op[0] = FDNN_BW_LINEAR
    else:
        loss_gradient(&net.lf, A, <const real *>Y, G, n_y, k)
    if w != NULL:
        _scale_columns(G, w, n_y, k)
    return G


cdef enum:
    STEP_DONE
    STEP_DIVERGED     # the cost is not finite (net.stop_on_nan): nothing updated
    STEP_INTERRUPTED  # a signal handler raised within its products: nothing updated


cdef int _step(Net *net, real dummy, const char *X, Py_ssize_t rs, Py_ssize_t cs, int x_f32,
               const real *Y, const long long *perm, Py_ssize_t start, Py_ssize_t k,
               double lr, long long t, double *cost, double *metric_sums,
               const real *SW, double K) noexcept nogil:
    """One mini-batch of k examples: forward, cost, metrics, backward, update; returns a
    STEP_* status. A long step (LONG_STEP) looks for signals within its products. SW: the
    m examples' sample weights, or NULL (unweighted). K: the batch size the cost and the
    gradients are divided by (k, or with net.split the global batch's).

    With net.split (data parallel, K summed over the ranks), the gradients are this
    rank's share of the global batch's, every dW, db, dgamma and dbeta formed whole
    (scale 1/K), cost[0] is its share of the cost without the L2 penalty (in net.reg),
    and nothing is updated: the caller sums the shares, then calls _update_all."""
    cdef int l, L = net.L, q
    cdef DenseL *d
    cdef real *X_l
    cdef real *G
    cdef bint fused_out
    cdef char *cached
    cdef Py_ssize_t n_y = net.n_y
    cdef double base[FDNN_N_OC]
    cdef bint norm_clip = net.hyper.clipnorm > 0 or net.hyper.global_clipnorm > 0
    cdef real scale = <real>(1.0 / K)
    cdef real *Xb = <real *>net.Xb
    cdef real *Yb = <real *>net.Yb
    cdef double weights = 0
    cdef bint long_step
    cdef bint w_changed = False
    cdef const real *w = NULL
    cdef int out_op
    for l in range(L):
        weights += <double>net.layer[l].n_out * net.layer[l].n_in
    q = _unit_pieces(net, k, weights)
    if q:
        return _step_units(net, dummy, X, rs, cs, x_f32, Y, perm, start, k, lr, t, cost,
                           metric_sums, SW, K, q)
    q = _column_pieces(net, k, weights)
    if q:
        return _step_columns(net, dummy, X, rs, cs, x_f32, Y, perm, start, k, lr, t, cost,
                             metric_sums, SW, K, q)
    long_step = weights * k >= LONG_STEP
    interrupt_arm(long_step)
    if (perm == NULL and net.mean == NULL and (x_f32 != 0) == (sizeof(real) == 4)
            and cs == sizeof(real) and rs == cs * net.n_x):
        # the batch is k consecutive C-ordered rows of the model's dtype, i.e. an F-ordered
        # (n_x, k) block already: read in place (only ever read). A copy would cost more
        # than the rows' bytes suggest, its lines being cached by the BLAS threads' core.
        Xb = <real *>(X + start * rs)
        Yb = <real *>(Y + start * n_y)
        if SW != NULL:
            w = SW + start
        net.batches_in_place += 1
    else:
        _gather(net, X, rs, cs, x_f32, Y, perm, start, k, SW)
        if SW != NULL:
            w = <const real *>net.wb
    _forward(net, Xb, <real *>net.layer[L - 1].A, k, 0, True)
    net.stats_fresh = True
    if interrupted():
        return STEP_INTERRUPTED
    # cost (with the L2 penalty of the weights before this step's update) and metrics
    d = &net.layer[L - 1]
    if _cost_and_metrics(net, _loss_sum(net, <const real *>d.A, <const real *>Yb, w, k),
                         _l2_cost(net, K, <real>0), K, cost, metric_sums, <const real *>d.A,
                         <const real *>Yb, w, k):
        return STEP_DIVERGED
    # backward from the output's dZ = A - T (fused), or its dA = dL/dA through g'
    G = _output_gradient(net, <const real *>d.A, Yb, w, <real *>net.G, k, &out_op)
    # the step's coefficients (bias corrections, ...) once, in double
    _step_scalars(&net.hyper, lr, t, base)
    net.layer[L - 1].dz_done = False
    for l in range(L - 1, -1, -1):
        d = &net.layer[l]
        X_l = Xb if l == 0 else <real *>net.layer[l - 1].A
        # the fused output's dZ = A - Y reads A; the other backward ops A, or Z (on_z)
        fused_out = l == L - 1 and net.fused
        cached = d.act_in if (d.on_z and not fused_out) else d.A
        if d.dz_done:
            pass
        elif d.norm:
            _norm_backward(d, out_op if l == L - 1 else d.bwd, G, <const real *>cached, k, scale)
        elif real is float:
            act_backward_f32(out_op if l == L - 1 else d.bwd,
                             <const float *>G, <const float *>cached, <float *>d.dZ, k, d.n_out,
                             <float *>d.db, False, scale, <float>d.alpha)
        else:
            act_backward_f64(out_op if l == L - 1 else d.bwd,
                             <const double *>G, <const double *>cached, <double *>d.dZ, k,
                             d.n_out, <double *>d.db, False, scale, d.alpha)
        if l > 0:   # before W changes
            net.layer[l - 1].dz_done = _dZ_prev_fused(d, &net.layer[l - 1], k, scale)
            if not net.layer[l - 1].dz_done:
                _gemm_dA(<real *>d.W, d.n_in, <real *>d.dZ, <real *>d.dA_prev, d.n_out, d.n_in,
                         k)
                G = <real *>d.dA_prev
        d.w_done = (not net.split and net.opt == FDNN_OPT_GD and not _small_dW(d.n_out, d.n_in, k)
                    and not norm_clip and not net.hyper.clipvalue > 0)
        if d.w_done and long_step and not w_changed:
            # the first W to change: a signal seen so far stops the step with nothing
            # updated; from here on the step runs to its end (its signal is seen after it)
            interrupt_arm(False)
            if interrupted():
                return STEP_INTERRUPTED
        if d.w_done:
            w_changed = True
            # gradient descent folded into the GEMM: W = (1 - lr lam/k) W - (lr/k) dZ X^T
            _gemm_update_W(<real *>d.dZ, X_l, <real *>d.W, d.n_out, d.n_in, k,
                           <real>(-lr / k), <real>(1.0 - lr * d.lam / k))
        else:
            d.w_done = (not long_step and not net.split
                        and _dW_step_fused(net, d, X_l, k, scale, base))
            if not d.w_done:
                _gemm_dW(<real *>d.dZ, X_l, <real *>d.dW, d.n_in, d.n_out, d.n_in, k, scale)
    interrupt_arm(False)
    if interrupted():
        return STEP_INTERRUPTED
    if net.split:
        return STEP_DONE
    _update_all(net, base, <double>k, scale)
    return STEP_DONE


# ------------------------------------------------------------------ Python side

# ------------------------------------------------------------------ the column-split step
#
# A small network's products are too small to split well one at a time: on two cores a
# [64, 128, 10] step at m = 200 spent 44 % of its time with one thread busy and the other
# waiting (its three small products ran on one thread, each larger one was cut in two
# with a fork and a join around it). Its examples are independent up to the gradients,
# so such a step runs in two parallel regions instead of a dozen: the batch is cut into
# COLUMN_PIECES pieces of columns, and each thread runs its pieces through forward, the
# output's gradient, every layer's dZ and the piece's own dW and db (each product on its
# own thread, while the piece's columns are in its core's cache); after the cost, the
# threads sum the pieces' dW and db (each a share of whole cache lines), and each steps
# the optimizer over its share of the parameters right after, in the same region (unless
# a norm clip needs every gradient first): scikit-learn's digits fit (float64, adam,
# m = 200, 100 epochs, 2 threads) 97-100 ms with the step on one thread after the sums,
# 91-94 with it shared out. When the threads split every dW product by tiles
# instead, each read every piece's columns of dZ and of the layer's input, so the next
# step's writes of them took each line back from the other core: float64 digits fits
# (64-128-10, m = 200, 30 epochs, 2 threads) took 35.6-36.4 ms against 32.1-33.2 now,
# 62-69 against 56 while the VM's second core was slow; one thread 48.5 against 50.3.
# The pieces depend on the batch size only, and the pieces' sums are added in piece
# order whatever thread makes them: the results do not depend on the thread count, bit
# for bit.

cdef enum:
    # columns a piece has at least: more in float32, whose products take half the time
    # for the same fixed costs (in float32 at m = 128, two pieces of 64 columns trained a
    # [64, 128, 10] net 5-7 % slower than the unsplit step; two of 100 at m = 200 and four
    # of 128 at m = 512 10 % faster; float64 from two pieces of 64 columns 2-36 %)
    COLUMN_PIECE_F64 = 64
    COLUMN_PIECE_F32 = 100
    COLUMN_PIECES = 8            # pieces a batch is cut into at most
# batch size x weights up to which a step is split by columns (larger steps split each
# product over the team, which then pays for its fork and join)
cdef double COLUMN_STEP = <double>(1 << 23)


def column_step_limit(limit: float | None = None) -> float:
    """The multiply-adds per weight matrix pass (batch size x weights) up to which a
    training step is split by columns; with ``limit``, set it first (0: never split, for
    tests and benchmarks). Returns the limit in force before the call."""
    global COLUMN_STEP
    cdef double before = COLUMN_STEP
    if limit is not None:
        if not limit >= 0:
            raise ValueError(f"limit must be a number >= 0, got {limit!r}")
        COLUMN_STEP = limit
    return before


cdef inline int _column_pieces(Net *net, Py_ssize_t k, double weights) noexcept nogil:
    """The pieces the column-split step cuts a batch of k examples into (a power of two),
    or 0 when the step is not split by columns: a normalization or a data-parallel
    step over COLUMN_STEP, fewer than two pieces of COLUMN_PIECE_* columns, or more than
    the plan kept room for (COLUMN_STEP raised after it was made)."""
    cdef int l, p = 1
    cdef Py_ssize_t least = COLUMN_PIECE_F32 if net.f32 else COLUMN_PIECE_F64
    if weights * k > COLUMN_STEP:
        return 0
    for l in range(net.L):
        if net.layer[l].norm:
            return 0
    while 2 * p <= COLUMN_PIECES and k >= 2 * p * least:
        p *= 2
    return p if 1 < p <= net.pieces_kept else 0


cdef double _columns(Net *net, real dummy, const char *X, Py_ssize_t rs, Py_ssize_t cs,
                     int x_f32, const real *Y, const long long *perm, Py_ssize_t start,
                     Py_ssize_t at, Py_ssize_t kc, const real *SW, bint in_place,
                     real scale, int piece) noexcept nogil:
    """Columns at..at+kc-1 of the step over examples start..: gathered (unless in place),
    forward, the output's gradient and every layer's dZ, and with piece >= 0 the piece's
    dW and db (_piece_grads); returns their loss, summed (weighted) over these examples."""
    cdef int l, L = net.L, out_op
    cdef DenseL *d
    cdef Py_ssize_t n_y = net.n_y, n_x = net.n_x
    cdef real *Xb
    cdef real *Yb
    cdef const real *w = NULL
    cdef real *A
    cdef real *G
    cdef real *cached
    cdef bint dz_done = False, fused_out
    cdef double loss
    if in_place:
        Xb = <real *>(X + start * rs) + at * n_x
        Yb = <real *>(Y + start * n_y) + at * n_y
        if SW != NULL:
            w = SW + start + at
    else:
        _gather(net, X, rs, cs, x_f32, Y, perm, start + at, kc, SW, at)
        Xb = <real *>net.Xb + at * n_x
        Yb = <real *>net.Yb + at * n_y
        if SW != NULL:
            w = <const real *>net.wb + at
    A = <real *>net.layer[L - 1].A + at * n_y
    _forward(net, Xb, A, kc, at)
    loss = _loss_sum(net, <const real *>A, <const real *>Yb, w, kc)
    G = _output_gradient(net, <const real *>A, Yb, w, <real *>net.G + at * n_y, kc, &out_op)
    for l in range(L - 1, -1, -1):
        d = &net.layer[l]
        fused_out = l == L - 1 and net.fused
        cached = <real *>(d.act_in if (d.on_z and not fused_out) else d.A) + at * d.n_out
        if not dz_done:
            if real is float:
                act_backward_f32(out_op if l == L - 1 else d.bwd, <const float *>G,
                                 <const float *>cached, <float *>d.dZ + at * d.n_out, kc,
                                 d.n_out, NULL, False, scale, <float>d.alpha)
            else:
                act_backward_f64(out_op if l == L - 1 else d.bwd, <const double *>G,
                                 <const double *>cached, <double *>d.dZ + at * d.n_out, kc,
                                 d.n_out, NULL, False, scale, d.alpha)
        if l > 0:
            dz_done = _dZ_prev_fused(d, &net.layer[l - 1], kc, scale, at, False)
            if not dz_done:
                G = <real *>d.dA_prev + at * d.n_in
                _gemm_dA(<real *>d.W, d.n_in, <real *>d.dZ + at * d.n_out, G, d.n_out,
                         d.n_in, kc)
    if piece >= 0:
        for l in range(L):
            d = &net.layer[l]
            _piece_grads(d, <real *>d.dZ + at * d.n_out,
                         Xb if l == 0 else <real *>net.layer[l - 1].A + at * d.n_in,
                         kc, piece, scale)
    return loss


cdef void _piece_grads(DenseL *d, real *dZ, real *X, Py_ssize_t kc, int piece,
                       real scale) noexcept nogil:
    """Piece `piece`'s share of dW and db, from its kc columns of dZ and of the layer's
    input while they are in this core's cache: dWp[piece] = scale dZ X^T, dbp[piece] =
    scale * dZ's sums over the columns (in order)."""
    cdef Py_ssize_t i, j, n = d.n_out
    cdef real *db
    _gemm_dW(dZ, X, <real *>d.dWp + piece * n * d.n_in, d.n_in, n, d.n_in, kc, scale, True)
    if d.dbp == NULL:
        return
    db = <real *>d.dbp + piece * n
    for i in range(n):
        db[i] = 0
    for j in range(kc):
        for i in range(n):
            db[i] += dZ[j * n + i]
    for i in range(n):
        db[i] *= scale


cdef inline void _share(Py_ssize_t n, int id, int nt, Py_ssize_t line, Py_ssize_t *i0,
                        Py_ssize_t *i1) noexcept nogil:
    """[i0, i1): share id of nt of n values, cut at whole cache lines of `line` values."""
    i0[0] = (n * id // nt + line - 1) // line * line if id > 0 else 0
    i1[0] = (n * (id + 1) // nt + line - 1) // line * line if id < nt - 1 else n
    if i1[0] > n:
        i1[0] = n
    if i0[0] > i1[0]:
        i0[0] = i1[0]


cdef void _piece_sums(Net *net, real dummy, int pieces, int id, int nt,
                      const double *base, double K) noexcept nogil:
    """Share id of nt of every layer's dW and db: the sums of the pieces' (dWp, dbp), in
    piece order whatever the thread count; shares of whole cache lines. With base, the
    optimizer's step on the same share of W and b right after (every update reads only its
    own gradient and state: the same values as one step over the whole arrays)."""
    cdef int l, c, q
    cdef DenseL *d
    cdef Py_ssize_t i, n, i0, i1, line = 64 // sizeof(real)
    cdef real *out
    cdef real *p
    cdef real *s1
    cdef real *s2
    cdef const real *part
    cdef Py_ssize_t b0, b1
    for l in range(net.L):
        d = &net.layer[l]
        for q in range(2):
            if q == 0:
                n, out, part, p = d.n_out * d.n_in, <real *>d.dW, <const real *>d.dWp, <real *>d.W
            elif d.dbp != NULL:
                n, out, part, p = d.n_out, <real *>d.db, <const real *>d.dbp, <real *>d.b
            else:
                break
            _share(n, id, nt, line, &i0, &i1)
            s1 = <real *>d.slot[q][0]
            s2 = <real *>d.slot[q][1]
            # a block at a time, whose sums the step then reads from L1
            b0 = i0
            while b0 < i1:
                b1 = b0 + SUM_BLOCK if b0 + SUM_BLOCK < i1 else i1
                for i in range(b0, b1):
                    out[i] = part[i]
                for c in range(1, pieces):
                    for i in range(b0, b1):
                        out[i] = out[i] + part[c * n + i]
                if base != NULL:
                    _apply(net.opt, p + b0, <const real *>out + b0,
                           s1 + b0 if s1 != NULL else NULL, s2 + b0 if s2 != NULL else NULL,
                           b1 - b0, base, d.lam / K if q == 0 else 0, 1.0)
                b0 = b1


cdef int _step_columns(Net *net, real dummy, const char *X, Py_ssize_t rs, Py_ssize_t cs,
                       int x_f32, const real *Y, const long long *perm, Py_ssize_t start,
                       Py_ssize_t k, double lr, long long t, double *cost,
                       double *metric_sums, const real *SW, double K,
                       int pieces) noexcept nogil:
    """_step's work for a batch cut into `pieces` pieces of columns (see above)."""
    cdef int l, c, nt = team_threads()
    cdef DenseL *d
    cdef real scale = <real>(1.0 / K)
    cdef double loss
    cdef double losses[COLUMN_PIECES]
    cdef double base[FDNN_N_OC]
    cdef bint in_place = (perm == NULL and net.mean == NULL
                          and (x_f32 != 0) == (sizeof(real) == 4)
                          and cs == sizeof(real) and rs == cs * net.n_x)
    cdef const real *Yb = (Y + start * net.n_y) if in_place else <const real *>net.Yb
    cdef const real *w = NULL
    cdef bint fold
    net.steps_by_columns += 1
    if in_place:
        net.batches_in_place += 1
    if SW != NULL:
        w = SW + start if in_place else <const real *>net.wb
    if nt > pieces:
        nt = pieces
    if nt > 1:
        # dynamic: a thread that starts late (woken from sleep) leaves its pieces to the
        # others; which thread runs a piece changes nothing in its results
        for c in prange(pieces, nogil=True, num_threads=nt, schedule="dynamic", chunksize=1):
            losses[c] = _columns(net, dummy, X, rs, cs, x_f32, Y, perm, start,
                                 k * c // pieces, k * (c + 1) // pieces - k * c // pieces, SW,
                                 in_place, scale, c)
    else:
        for c in range(pieces):
            losses[c] = _columns(net, dummy, X, rs, cs, x_f32, Y, perm, start,
                                 k * c // pieces, k * (c + 1) // pieces - k * c // pieces, SW,
                                 in_place, scale, c)
    d = &net.layer[net.L - 1]
    loss = 0
    for c in range(pieces):
        loss += losses[c]
    if _cost_and_metrics(net, loss, _l2_cost(net, K, <real>0), K, cost, metric_sums,
                         <const real *>d.A, Yb, w, k):
        return STEP_DIVERGED
    _step_scalars(&net.hyper, lr, t, base)
    for l in range(net.L):
        net.layer[l].w_done = False
    # the update goes with the sums unless a norm clip needs every gradient first
    fold = not net.split and net.hyper.clipnorm <= 0 and net.hyper.global_clipnorm <= 0
    nt = team_threads()
    if nt > 1:
        for c in prange(nt, nogil=True, num_threads=nt, schedule="static", chunksize=1):
            _piece_sums(net, dummy, pieces, c, nt, base if fold else NULL, <double>k)
    else:
        _piece_sums(net, dummy, pieces, 0, 1, base if fold else NULL, <double>k)
    if not net.split and not fold:
        _update_all(net, base, <double>k, scale)
    return STEP_DONE


include "_unit_step.pxi"


cdef inline int _x_view(object X, const char **px, Py_ssize_t *rs, Py_ssize_t *cs):
    """X's data and its strides in bytes (rows, columns); 1 when X is float32."""
    px[0] = <const char *>cnp.PyArray_DATA(<cnp.ndarray>X)
    rs[0] = cnp.PyArray_STRIDE(<cnp.ndarray>X, 0)
    cs[0] = cnp.PyArray_STRIDE(<cnp.ndarray>X, 1)
    return cnp.PyArray_TYPE(<cnp.ndarray>X) == cnp.NPY_FLOAT32


cdef char *_ptr(object a):
    return <char *>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef char *_ptr_or_null(object a):
    """A layer's b or db, NULL for a layer without a bias."""
    return NULL if a is None else _ptr(a)


cdef class _Buffers:
    """What both plans hold: the network's pointers, the arrays they point into
    (kept alive here) and a lock, since run() works in shared buffers without the GIL."""

    cdef Net net
    cdef list keep
    cdef PyThread_type_lock lock
    cdef object _raised   # what a signal handler raised within a call (_poll_signals)

    def __cinit__(self):
        self.keep = []
        self.lock = PyThread_allocate_lock()
        if self.lock == NULL:
            raise MemoryError("cannot allocate a lock")

    def __dealloc__(self):
        if self.lock != NULL:
            PyThread_free_lock(self.lock)

    cdef _set_norm(self, DenseL *d, object norm, object dt, Py_ssize_t B):
        """Layer d's normalization between its product and activation, or none (None)."""
        cdef Py_ssize_t n = d.n_out, k
        cdef int which, s
        d.norm = 0
        if norm is None:
            return
        (kind, eps, momentum, gamma, beta, dgamma, dbeta, mm, mv, train_gamma, train_beta,
         nslots) = norm
        if kind not in (NORM_BATCH, NORM_LAYER):
            raise ValueError(f"plan: unknown normalization {kind!r}")
        k = n if kind == NORM_BATCH else B
        stats = np.zeros(3 * k + 2 * n)
        arrays = [gamma, beta, dgamma, dbeta] + ([mm, mv] if kind == NORM_BATCH else [])
        for a in arrays:
            if a.dtype != dt or a.size != n or not a.flags.c_contiguous:
                raise ValueError(f"plan: normalization arrays must be {n} contiguous {dt}")
        self.keep += arrays + [stats]
        d.norm, d.norm_eps, d.momentum = kind, eps, momentum
        d.train_gamma, d.train_beta = train_gamma, train_beta
        d.Z = _ptr(self._buffer(n * B, dt))
        d.gamma, d.beta, d.dgamma, d.dbeta = _ptr(gamma), _ptr(beta), _ptr(dgamma), _ptr(dbeta)
        d.moving_mean = _ptr(mm) if kind == NORM_BATCH else NULL
        d.moving_var = _ptr(mv) if kind == NORM_BATCH else NULL
        d.mean = <double *>_ptr(stats)
        d.var, d.inv_std, d.work = d.mean + k, d.mean + 2 * k, d.mean + 3 * k
        for which in range(2):
            for s in range(2):
                arr = nslots[which][s]
                if arr is None:
                    d.nslot[which][s] = NULL
                else:
                    self.keep.append(arr)
                    d.nslot[which][s] = _ptr(arr)

    cdef object _buffer(self, Py_ssize_t size, object dt):
        """A kept buffer of size values starting on a cache line (_aligned), so that
        vector loads never straddle two lines and the threads of a split step, writing
        neighbouring pieces, never share one; and each buffer a different number of lines
        (0-31) past its block's first line: buffers of one size otherwise sit at one offset
        in a 4 KiB page, and a pass that reads two of them while writing a third (dA and A
        into dZ) has its loads wait on stores to another buffer (one core, the unit-split
        digits step's backward activation pass 8 -> 5.5 us)."""
        cdef Py_ssize_t item = np.dtype(dt).itemsize
        cdef Py_ssize_t skew = (len(self.keep) * 7) % 32 * _aligned.LINE // item
        a = _aligned.empty(size + skew, dt)
        self.keep.append(a)
        return a[skew:skew + size]

    cdef _set_normalizer(self, object normalizer, object dt):
        """Normalize gathered examples with (mean, inv_std), or not (None)."""
        if normalizer is not None:
            mean = np.ascontiguousarray(normalizer[0], dtype=dt).reshape(-1)
            inv = np.ascontiguousarray(normalizer[1], dtype=dt).reshape(-1)
            self.keep += [mean, inv]
            self.net.mean, self.net.inv_std = _ptr(mean), _ptr(inv)
        else:
            self.net.mean = self.net.inv_std = NULL


cdef int _check_blas_dims(list layers, Py_ssize_t batch) except -1:
    """The loops pass layer sizes and the batch size to BLAS as int: each must be < 2**31."""
    cdef Py_ssize_t n
    for layer in layers:
        for n in layer[0].shape:
            if n >= FDNN_INT_MAX:
                raise ValueError(f"layer of shape {layer[0].shape}: sizes must be < 2**31")
    if batch >= FDNN_INT_MAX:
        raise ValueError(f"batch size must be < 2**31, got {batch}")
    return 0


cdef class Plan(_Buffers):
    """Pointers and buffers for training one model with mini-batches of ``B``.

    Built by ``fastdnn.models`` from arrays it has checked (dtypes, shapes,
    contiguity); keeps a reference to each so the pointers stay valid.
    """

    cdef public Py_ssize_t steps_done
    cdef public bint diverged
    cdef readonly Py_ssize_t n_accumulators   # metric_sums' length

    @property
    def batches_read_in_place(self) -> int:
        """Mini-batches trained so far from X's own rows, without a copy."""
        return self.net.batches_in_place

    @property
    def steps_split_by_columns(self) -> int:
        """Steps trained so far split by columns (a small network's step, see
        ``column_step_limit``)."""
        return self.net.steps_by_columns

    @property
    def steps_split_by_units(self) -> int:
        """Steps trained so far split by hidden units (a network of one hidden layer and
        a narrow output, see ``unit_step_least``)."""
        return self.net.steps_by_units

    def __init__(self, list layers, object normalizer, object loss, bint fused, int opt,
                 tuple hyper, list slots, list metrics, Py_ssize_t B, object dtype):
        """layers: [(W, b, dW, db, act, bwd, alpha, softmax, lam, norm, on_z)] (b and db None
        for a layer without a bias), normalizer: None or (mean, inv_std) 1-D; hyper: (beta1,
        beta2, epsilon, weight_decay, momentum_decay, nesterov, clipnorm, global_clipnorm,
        clipvalue), 0 where not used; slots: per layer [[W_s1, W_s2], [b_s1, b_s2]] (None where
        the optimizer has no such slot); metrics: [(kind, threshold, accumulators, logits)]
        (fastdnn._compiled.MetricKernel); loss: its code, or (code, logits, param)
        (fastdnn._compiled.LossKernel). norm: None, or the normalization between the
        layer's product and its activation: (kind, epsilon, momentum, gamma, beta, dgamma,
        dbeta, moving_mean, moving_var, train_gamma, train_beta, [[gamma_s1, gamma_s2],
        [beta_s1, beta_s2]]) with kind NORM_BATCH or NORM_LAYER (moving_mean and moving_var
        None for the latter). on_z: the activation's backward takes its input, not A."""
        cdef Net *net = &self.net
        cdef DenseL *d
        cdef Py_ssize_t L = len(layers), l
        cdef int which, s
        cdef OptHyper *h
        if not 0 < L <= MAX_LAYERS or len(metrics) > MAX_METRICS:
            raise ValueError("plan: unsupported number of layers or metrics")
        _check_blas_dims(layers, B)
        dt = np.dtype(dtype)
        net.f32 = dt == np.float32
        code, logits, param = (loss, False, 0.0) if isinstance(loss, int) else loss
        net.L, net.loss, net.fused, net.opt = <int>L, code, fused, opt
        net.lf = loss_args(code, dt == np.float32, True, logits, param)
        h = &net.hyper
        (h.beta1, h.beta2, h.eps, h.weight_decay, h.momentum_decay, h.nesterov, h.clipnorm,
         h.global_clipnorm, h.clipvalue) = hyper
        if opt == FDNN_OPT_SGD and h.beta1 == 0:   # SGD without momentum is gradient descent
            opt = net.opt = FDNN_OPT_GD
        h.op, h.mu_t, h.mu_product = opt, 0, 1.0
        net.B = B
        first_W = layers[0][0]
        net.n_x = first_W.shape[1]
        net.n_y = layers[L - 1][0].shape[0]

        def buf(n):
            return self._buffer(n * B, dt)

        net.Xb, net.Yb = _ptr(buf(net.n_x)), _ptr(buf(net.n_y))
        net.G, net.wb = _ptr(buf(net.n_y)), _ptr(buf(1))
        self._set_normalizer(normalizer, dt)
        for l in range(L):
            W, b, dW, db, act, bwd, alpha, softmax, lam, norm, on_z = layers[l]
            self.keep += [W, b, dW, db]
            d = &net.layer[l]
            d.n_out, d.n_in = W.shape
            self._set_norm(d, norm, dt, B)
            d.act, d.bwd, d.alpha, d.softmax, d.lam = act, bwd, alpha, softmax, lam
            d.W, d.b, d.dW, d.db = _ptr(W), _ptr_or_null(b), _ptr(dW), _ptr_or_null(db)
            d.A, d.dZ = _ptr(buf(d.n_out)), _ptr(buf(d.n_out))
            d.on_z = on_z
            if on_z and not d.norm:
                d.Z = _ptr(buf(d.n_out))
            d.act_in = (d.Z if not d.norm else _ptr(buf(d.n_out))) if on_z else NULL
            d.dA_prev = _ptr(buf(d.n_in)) if l > 0 else NULL
            for which in range(2):
                for s in range(2):
                    arr = slots[l][which][s]
                    if arr is None:
                        d.slot[which][s] = NULL
                    else:
                        self.keep.append(arr)
                        d.slot[which][s] = _ptr(arr)
        self._keep_pieces(dt, B)
        self._keep_units(dt, B)
        net.n_metrics = <int>len(metrics)
        at = 0
        for l in range(len(metrics)):
            net.metric[l], net.threshold[l], n_acc, net.metric_logits[l] = metrics[l]
            net.metric_at[l] = at
            at += n_acc
        self.n_accumulators = at

    cdef _keep_pieces(self, object dt, Py_ssize_t B):
        """Room for each piece's dW and db (_piece_grads) when a batch of up to B examples
        may be split by columns (_column_pieces, at the limit in force now)."""
        cdef Net *net = &self.net
        cdef DenseL *d
        cdef int l, kept = 1
        cdef Py_ssize_t least = COLUMN_PIECE_F32 if net.f32 else COLUMN_PIECE_F64
        cdef double weights = 0
        for l in range(net.L):
            weights += <double>net.layer[l].n_out * net.layer[l].n_in
            if net.layer[l].norm:
                return
        while 2 * kept <= COLUMN_PIECES and B >= 2 * kept * least:
            kept *= 2
        if kept < 2 or weights * 2 * least > COLUMN_STEP:
            return
        for l in range(net.L):
            d = &net.layer[l]
            d.dWp = _ptr(self._buffer(kept * d.n_out * d.n_in, dt))
            if d.b != NULL:
                d.dbp = _ptr(self._buffer(kept * d.n_out, dt))
        net.pieces_kept = kept

    cdef _keep_units(self, object dt, Py_ssize_t B):
        """Room for the unit-split step's batches and output products (_step_units) when
        the network has one hidden layer wide enough for two pieces or more."""
        cdef Net *net = &self.net
        cdef int p
        cdef double weights = 0
        if net.L != 2 or net.layer[0].norm or net.layer[1].norm:
            return
        for p in range(2):
            weights += <double>net.layer[p].n_out * net.layer[p].n_in
        if weights * UNIT_COLUMNS > COLUMN_STEP:   # no batch of this plan is split by units
            return
        p = _unit_count(net.layer[0].n_out)
        if p < 2:
            return
        net.Xu = _ptr(self._buffer((p - 1) * net.n_x * B, dt))
        net.Zu = _ptr(self._buffer(p * net.n_y * B, dt))
        net.dbu = _ptr(self._buffer(net.layer[0].n_out, dt))
        net.dbo = _ptr(self._buffer(p * _unit_out_ld(net.n_y), dt))
        net.unit_pieces_kept = p

    cdef const char *_weights(self, object sample_weight, Py_ssize_t m) except? NULL:
        """The data of sample_weight, a contiguous (m,) array of the plan's dtype, or NULL
        (None)."""
        if sample_weight is None:
            return NULL
        if not (cnp.PyArray_Check(sample_weight)
                and cnp.PyArray_TYPE(<cnp.ndarray>sample_weight)
                == (cnp.NPY_FLOAT32 if self.net.f32 else cnp.NPY_FLOAT64)
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>sample_weight)
                and cnp.PyArray_SIZE(<cnp.ndarray>sample_weight) == m):
            raise TypeError(f"sample_weight must be a contiguous ({m},) array of the "
                            "plan's dtype")
        return <const char *>cnp.PyArray_DATA(<cnp.ndarray>sample_weight)

    def gradient(self, X, Y, Py_ssize_t m, sample_weight=None, double K=0) -> float:
        """Forward and backward over the first m examples of X and Y as one batch (m at
        most the plan's batch size; X and Y as in ``run``): every dW and db is formed whole
        and divided by K (default m), nothing is updated (neither the parameters nor the
        optimizer's state). Returns the batch's cost divided by K, without the L2
        penalty (its term is in no gradient either). A full-batch optimizer's evaluation
        (L-BFGS). Signals are handled as in ``run`` (an exception a handler raises is
        raised here, the gradients then unfinished)."""
        cdef Net *net = &self.net
        cdef const char *px
        cdef Py_ssize_t rs, cs
        cdef int x_f32 = _x_view(X, &px, &rs, &cs)
        cdef const char *py = <const char *>cnp.PyArray_DATA(<cnp.ndarray>Y)
        cdef const char *pw = self._weights(sample_weight, m)
        cdef double cost = 0
        if not 0 < m <= net.B:
            raise ValueError(f"m must be in [1, {net.B}] (the plan's batch size), got {m}")
        if K == 0:
            K = <double>m
        self._raised = None
        with nogil:
            PyThread_acquire_lock(self.lock, WAIT_LOCK)
            interrupt_set(_poll_signals, <void *>self, SIGNAL_POLL_S)
            net.split, net.stop_on_nan = True, False
            if net.f32:
                _step(net, <float>0, px, rs, cs, x_f32, <const float *>py, NULL, 0, m, 0, 0,
                      &cost, NULL, <const float *>pw, K)
            else:
                _step(net, <double>0, px, rs, cs, x_f32, <const double *>py, NULL, 0, m, 0, 0,
                      &cost, NULL, <const double *>pw, K)
            net.split = False
            interrupt_set(NULL, NULL, 0)
            PyThread_release_lock(self.lock)
        if self._raised is not None:
            raised, self._raised = self._raised, None
            raise raised
        return cost

    def run(self, X, Y, perm, Py_ssize_t m, Py_ssize_t step0, Py_ssize_t step1, double lr,
            long long t0, double[::1] costs, double[::1] metric_sums, object counter=None,
            bint stop_on_nan=False, sample_weight=None, object reduce=None,
            double[::1] global_sizes=None):
        """Train mini-batches step0 .. step1-1 of an epoch over the m examples of X; returns
        how many were trained (also in ``steps_done``).

        X: (m, n_x) float32/float64 with any strides; Y: the model's C-ordered (m, n_y)
        targets; perm: int64 (m,) order of the examples or None; t0: optimizer steps
        done before step0. costs[step] receives each batch's cost; metric_sums
        (n_accumulators) accumulates the metrics' numerators and counts. counter: an object whose ``_iterations``
        becomes t0 + the steps trained (the optimizer), or None. stop_on_nan: a batch
        whose cost is not finite ends the call before its update (``diverged`` is then
        True, and costs[step0 + steps_done] holds that cost). sample_weight: None, or the
        m examples' weights, a contiguous (m,) array of the model's dtype: each batch's cost
        is sum_j w_j L_j / k, its metric sums weigh each example by w_j and the output's
        dZ column j is scaled by w_j.

        Every 20 ms, between mini-batches and, in a long mini-batch (``LONG_STEP``),
        between the pieces of its products, the loop runs the Python signal handlers:
        when one raises (Ctrl-C's KeyboardInterrupt), it stops (within the mini-batch,
        before its update, or after it), sets ``steps_done`` (and the counter) and raises
        that exception, so the weights, the optimizer's state and its step count are
        those of ``steps_done`` whole steps.

        Data parallel (``reduce`` a callable, ``global_sizes[step]`` the step's batch size
        summed over the ranks): after each mini-batch's backward, with every dW, db,
        dgamma and dbeta formed whole as this rank's share of the global batch's gradients
        (a step past the end of X contributes zeros), the loop calls ``reduce(cost_share)``
        with the GIL; it sums the gradients and the cost shares over the ranks in place and
        returns the global batch's cost (without the L2 penalty, added here); then every
        parameter is updated (clipping on the summed gradients). An exception ``reduce``
        raises stops the loop before that step's update and is raised here.
        """
        cdef Net *net = &self.net
        cdef const char *px
        cdef Py_ssize_t rs, cs
        cdef int x_f32 = _x_view(X, &px, &rs, &cs)
        cdef const char *py = <const char *>cnp.PyArray_DATA(<cnp.ndarray>Y)
        cdef const long long *pp = NULL
        cdef const char *pw = NULL
        cdef Py_ssize_t step, start, k, B = net.B, done = 0
        cdef double *pc = &costs[0]
        cdef double *pm = &metric_sums[0] if metric_sums.shape[0] else NULL
        cdef int status = STEP_DONE
        cdef bint split = reduce is not None, failed = False
        cdef double K, total = 0
        cdef double base[FDNN_N_OC]
        cdef long long t
        if split and (global_sizes is None or global_sizes.shape[0] < step1):
            raise ValueError("reduce needs global_sizes for every step")
        if metric_sums.shape[0] < self.n_accumulators:
            raise ValueError(f"metric_sums must hold {self.n_accumulators} accumulators")
        net.stop_on_nan = stop_on_nan
        net.split = split
        if perm is not None:
            pp = <const long long *>cnp.PyArray_DATA(<cnp.ndarray>perm)
        pw = self._weights(sample_weight, m)
        self.steps_done = 0
        self.diverged = False
        self._raised = None
        net.stats_fresh = False
        with nogil:
            PyThread_acquire_lock(self.lock, WAIT_LOCK)
            interrupt_set(_poll_signals, <void *>self, SIGNAL_POLL_S)
            for step in range(step0, step1):
                start = step * B
                k = B if m - start > B else m - start
                t = t0 + (step - step0) + 1
                K = global_sizes[step] if split else <double>k
                if split and k <= 0:
                    if net.f32:
                        _zero_grads(net, <float>0)
                        net.reg = _l2_cost(net, K, <float>0)
                    else:
                        _zero_grads(net, <double>0)
                        net.reg = _l2_cost(net, K, <double>0)
                    pc[step] = 0
                elif net.f32:
                    status = _step(net, <float>0, px, rs, cs, x_f32, <const float *>py, pp,
                                   start, k, lr, t, pc + step, pm, <const float *>pw, K)
                else:
                    status = _step(net, <double>0, px, rs, cs, x_f32, <const double *>py, pp,
                                   start, k, lr, t, pc + step, pm, <const double *>pw, K)
                if status != STEP_DONE:
                    break
                if split:
                    with gil:
                        try:
                            total = reduce(pc[step])
                        except BaseException as e:
                            self._raised = e
                            failed = True
                    if failed:
                        break
                    pc[step] = total + net.reg
                    if stop_on_nan and not isfinite(pc[step]):
                        status = STEP_DIVERGED
                        break
                    _step_scalars(&net.hyper, lr, t, base)
                    if net.f32:
                        _update_all(net, base, K, <float>0)
                    else:
                        _update_all(net, base, K, <double>0)
                done += 1
                if step + 1 < step1 and interrupt_poll():
                    break
            interrupt_set(NULL, NULL, 0)
            PyThread_release_lock(self.lock)
        # no Python code runs between the loop and these (no signal handler can cut in)
        self.steps_done = done
        self.diverged = status == STEP_DIVERGED
        if counter is not None:
            counter._iterations = t0 + done
        if self._raised is not None:
            raised, self._raised = self._raised, None
            raise raised
        return done


cdef class Forward(_Buffers):
    """Inference through every layer in one nogil call, for up to ``capacity``
    examples at a time, with buffers allocated once (``predict``'s fast path)."""

    cdef readonly Py_ssize_t capacity

    def __init__(self, list layers, object normalizer, Py_ssize_t capacity, object dtype):
        """layers: [(W, b, act, alpha, softmax)] (b None: no bias); normalizer: None or
        (mean, inv_std)."""
        cdef Net *net = &self.net
        cdef DenseL *d
        cdef Py_ssize_t L = len(layers), l
        if not 0 < L <= MAX_LAYERS:
            raise ValueError("forward plan: unsupported number of layers")
        _check_blas_dims(layers, capacity)
        dt = np.dtype(dtype)
        net.f32 = dt == np.float32
        net.L = <int>L
        net.B = self.capacity = capacity
        net.n_x = layers[0][0].shape[1]
        net.n_y = layers[L - 1][0].shape[0]
        xb = np.empty(net.n_x * capacity, dtype=dt)
        self.keep.append(xb)
        net.Xb = _ptr(xb)
        net.Yb = net.G = net.wb = NULL
        self._set_normalizer(normalizer, dt)
        for l in range(L):
            W, b, act, alpha, softmax = layers[l]
            d = &net.layer[l]
            d.n_out, d.n_in = W.shape
            d.act, d.alpha, d.softmax = act, alpha, softmax
            d.norm = 0         # inference plans hold no normalization layer
            d.on_z, d.Z, d.act_in = False, NULL, NULL  # inference applies g in the epilogue
            d.W, d.b = _ptr(W), _ptr_or_null(b)
            self.keep += [W, b]
            # on lines of their own: threads write neighbouring shares (_forward_one)
            d.A = _ptr(self._buffer(d.n_out * capacity, dt)) if l < L - 1 else NULL

    cdef bint _takes(self, cnp.ndarray x):
        """x is a native float32/float64 (k, n_x) array with k <= capacity."""
        cdef int t = cnp.PyArray_TYPE(x)
        return ((t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64) and cnp.PyArray_ISNOTSWAPPED(x)
                and cnp.PyArray_NDIM(x) == 2 and cnp.PyArray_DIM(x, 1) == self.net.n_x
                and cnp.PyArray_DIM(x, 0) <= self.capacity)

    cdef int _run(self, cnp.ndarray x, cnp.ndarray out) except -1:
        """The network on x (checked by _takes) into out (k, n_y) C-ordered, plan's dtype.
        Long products look for signals every 20 ms: a handler's exception is raised here."""
        cdef Net *net = &self.net
        cdef Py_ssize_t k = cnp.PyArray_DIM(x, 0)
        cdef const char *px = <const char *>cnp.PyArray_DATA(x)
        cdef Py_ssize_t rs = cnp.PyArray_STRIDE(x, 0), cs = cnp.PyArray_STRIDE(x, 1)
        cdef int x_f32 = cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32
        cdef char *po = <char *>cnp.PyArray_DATA(out)
        cdef bint direct = (net.mean == NULL and (x_f32 == net.f32)
                            and cs == (4 if x_f32 else 8) and rs == cs * net.n_x)
        self._raised = None
        with nogil:
            PyThread_acquire_lock(self.lock, WAIT_LOCK)
            interrupt_set(_poll_signals, <void *>self, SIGNAL_POLL_S)
            interrupt_arm(True)
            if net.f32:
                if not direct:
                    _gather(net, px, rs, cs, x_f32, <const float *>NULL, NULL, 0, k,
                            <const float *>NULL)
                if k == 1:
                    _forward_one(net, <float *>(px if direct else net.Xb), <float *>po)
                else:
                    _forward(net, <float *>(px if direct else net.Xb), <float *>po, k)
            else:
                if not direct:
                    _gather(net, px, rs, cs, x_f32, <const double *>NULL, NULL, 0, k,
                            <const double *>NULL)
                if k == 1:
                    _forward_one(net, <double *>(px if direct else net.Xb), <double *>po)
                else:
                    _forward(net, <double *>(px if direct else net.Xb), <double *>po, k)
            interrupt_set(NULL, NULL, 0)
            PyThread_release_lock(self.lock)
        if self._raised is not None:
            raised, self._raised = self._raised, None
            raise raised
        return 0

    def predict_current(self, X, tuple layers, tuple Ws, tuple codes):
        """A new (k, n_y) array: the network on X, if each of ``layers`` still holds the
        ``W`` and activation codes this plan was made from (``Ws``, ``codes``) and X is a
        native float32/float64 ndarray (k, n_x) with k <= capacity; else None.

        ``predict``'s low-latency path: its checks cost less here than in Python.
        """
        cdef Py_ssize_t i
        cdef cnp.npy_intp dims[2]
        for i in range(len(layers)):
            layer = layers[i]
            if layer.W is not Ws[i] or layer._kernel is not codes[i]:
                return None
        if type(X) is not np.ndarray or not self._takes(<cnp.ndarray>X):
            return None
        dims[0], dims[1] = cnp.PyArray_DIM(<cnp.ndarray>X, 0), self.net.n_y
        out = cnp.PyArray_EMPTY(2, dims, cnp.NPY_FLOAT32 if self.net.f32 else cnp.NPY_FLOAT64, 0)
        self._run(<cnp.ndarray>X, <cnp.ndarray>out)
        return out

    def run(self, cnp.ndarray X not None, cnp.ndarray out not None):
        """out (k, n_y) C-ordered of the plan's dtype = the network on X (k, n_x), k <= capacity.

        X may have any float dtype and strides; a C-ordered X of the plan's dtype
        without a normalizer is read in place.
        """
        cdef Net *net = &self.net
        cdef Py_ssize_t k
        if not self._takes(X):
            if cnp.PyArray_NDIM(X) == 2 and cnp.PyArray_DIM(X, 0) > self.capacity:
                raise ValueError(f"at most {self.capacity} examples per call, "
                                 f"got {cnp.PyArray_DIM(X, 0)}")
            raise TypeError(f"X must be a native float32/float64 (k, {net.n_x}) array")
        k = cnp.PyArray_DIM(X, 0)
        if not (cnp.PyArray_TYPE(out) == (cnp.NPY_FLOAT32 if net.f32 else cnp.NPY_FLOAT64)
                and cnp.PyArray_IS_C_CONTIGUOUS(out) and cnp.PyArray_NDIM(out) == 2
                and cnp.PyArray_DIM(out, 0) == k and cnp.PyArray_DIM(out, 1) == net.n_y):
            raise TypeError(f"out must be a C-contiguous ({k}, {net.n_y}) array of the plan's dtype")
        self._run(X, out)
