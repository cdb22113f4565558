# ------------------------------------------------------------------ the unit-split step
#
# Included by _network.pyx. A network of one hidden layer and a narrow output (a
# scikit-learn MLP's default shape) is split by hidden units rather than by examples: the
# hidden layer's units are cut into pieces of whole cache lines, and each thread runs its
# pieces' units through the whole batch: their activations, their share W2[:, U] A[U] of
# the output's product; then (one thread) the output, its cost and its dZ; then each
# piece's dA, dZ, dW and db and the optimizer's step on its own rows of W1 and b1 and
# columns of W2. A piece's weights, gradients and optimizer state stay in its thread's
# cache from step to step; what the threads pass each other is the output's partial
# products and its dZ (n_y values per example), where the column split passes every
# piece's dW and half of every updated W (each line fetched from the other core: on two
# cores of a VM, summing the other core's 74 KB of dW took 20 us of a 123 us step of
# the [64, 128, 10] digits net at m = 200).
#
# The pieces depend on the hidden layer's width only and their output products are
# added in piece order whatever thread made them: the results do not depend on the
# thread count, bit for bit.

cdef enum:
    # hidden units a piece has at least: scikit-learn's default 100 units make two pieces
    # (float64 digits fit, 64-100-10, m = 200, two threads: adam 0.874 -> 0.795 ms per
    # epoch, sgd 0.923 -> 0.785; 96 units 0.781 -> 0.748)
    UNIT_LEAST = 48
    UNIT_PIECES = 8       # pieces a hidden layer is cut into at most
    UNIT_COLUMNS = 16     # examples a batch has at least to be split by units
# multiply-adds per weight pass (batch size x weights) from which a step is split by units
cdef double UNIT_STEP = <double>(1 << 20)
# the largest piece's units over the mean up to which a step is split by units
cdef double UNIT_UNEVEN = 1.15


def unit_step_least(least: float | None = None) -> float:
    """The multiply-adds per weight matrix pass (batch size x weights) from which a
    training step of a one-hidden-layer network is split by hidden units; with ``least``,
    set it first (inf: never split by units, for tests and benchmarks). Returns the value
    in force before the call."""
    global UNIT_STEP
    cdef double before = UNIT_STEP
    if least is not None:
        if not least >= 0:
            raise ValueError(f"least must be a number >= 0, got {least!r}")
        UNIT_STEP = least
    return before


cdef inline int _unit_count(Py_ssize_t n_hidden) noexcept nogil:
    """The pieces a hidden layer of n_hidden units is cut into (a power of two)."""
    cdef int p = 1
    while 2 * p <= UNIT_PIECES and n_hidden >= 2 * p * UNIT_LEAST:
        p *= 2
    return p


cdef inline void _unit_piece(Net *net, int c, int pieces, Py_ssize_t *u0,
                             Py_ssize_t *u1) noexcept nogil:
    """Piece c's hidden units [u0, u1): whole cache lines of the hidden layer's rows."""
    _share(net.layer[0].n_out, c, pieces, 64 // (4 if net.f32 else 8), u0, u1)


cdef inline int _unit_pieces(Net *net, Py_ssize_t k, double weights) noexcept nogil:
    """The pieces the unit-split step cuts the hidden layer into for a batch of k
    examples, or 0 when the step is not split by units: not one hidden layer, a
    normalization, a softmax hidden layer, a norm clip (it needs every gradient), a data
    parallel step, a batch of fewer than UNIT_COLUMNS examples, a step outside
    [UNIT_STEP, COLUMN_STEP], an output whose products outweigh half the weights, or
    pieces of whole cache lines more than UNIT_UNEVEN times the mean apart (float32, 100
    units: pieces of 64 and 36, 0.563 -> 0.577 ms per epoch against the column split)."""
    cdef DenseL *h = &net.layer[0]
    cdef Py_ssize_t u0, u1
    cdef int p, c
    if (net.L != 2 or net.split or h.norm or net.layer[1].norm or h.softmax
            or net.hyper.clipnorm > 0 or net.hyper.global_clipnorm > 0
            or k < UNIT_COLUMNS or weights * k > COLUMN_STEP or weights * k < UNIT_STEP
            or 2.0 * net.n_y * k > weights):
        return 0
    p = _unit_count(h.n_out)
    if not 1 < p <= net.unit_pieces_kept:
        return 0
    for c in range(p):
        _unit_piece(net, c, p, &u0, &u1)
        if (u1 - u0) * p > UNIT_UNEVEN * h.n_out:
            return 0
    return p


cdef inline real *_at(char *p, Py_ssize_t offset, real dummy) noexcept nogil:
    """p's element offset as real, or NULL for a NULL p (an optimizer slot not used)."""
    return <real *>p + offset if p != NULL else NULL


cdef inline real *_unit_batch(Net *net, const char *X, Py_ssize_t rs, Py_ssize_t start,
                              int c, bint in_place, real dummy) noexcept nogil:
    """Piece c's copy of the batch (n_x, k) F: X's rows where they lie, or its own."""
    if in_place:
        return <real *>(X + start * rs)
    if c == 0:
        return <real *>net.Xb
    return <real *>net.Xu + (c - 1) * net.n_x * net.B


cdef void _unit_forward(Net *net, int c, int pieces, const char *X, Py_ssize_t rs,
                        Py_ssize_t cs, int x_f32, const real *Y, const long long *perm,
                        Py_ssize_t start, Py_ssize_t k, const real *SW, bint in_place,
                        double *sq) noexcept nogil:
    """Piece c's forward: its batch (gathered unless in place; piece 0 also gathers the
    targets and weights), its units' activations A[U] and its share W2[:, U] A[U] of the
    output's product (no bias) into Zu; sq[2c] and sq[2c + 1], the sums of squares of its
    weights of each layer (the L2 penalty, before the step)."""
    cdef DenseL *h = &net.layer[0]
    cdef DenseL *o = &net.layer[1]
    cdef Py_ssize_t u0, u1, n, r, H = h.n_out, n_x = net.n_x, n_y = net.n_y, B = net.B
    cdef real *Xb = _unit_batch(net, X, rs, start, c, in_place, <real>0)
    cdef real *W1
    cdef real *A
    cdef real *Z
    cdef const real *b1
    cdef double s
    _unit_piece(net, c, pieces, &u0, &u1)
    n = u1 - u0
    if not in_place and c == 0:   # the targets and weights too
        _gather(net, X, rs, cs, x_f32, Y, perm, start, k, SW, 0, Xb)
    elif not in_place:
        _gather(net, X, rs, cs, x_f32, <const real *>NULL, perm, start, k, <const real *>NULL,
                0, Xb)
    W1 = <real *>h.W + u0 * n_x
    b1 = <const real *>h.b + u0 if h.b != NULL else NULL
    A = <real *>h.A + u0 * B
    if h.on_z:
        Z = <real *>h.act_in + u0 * B
        _dense_forward(W1, n_x, b1, FDNN_LINEAR, <real>0, Xb, Z, n, n_x, k)
        if real is float:
            unary_f32(h.act, <const float *>Z, A, n * k, <float>h.alpha)
        else:
            unary_f64(h.act, <const double *>Z, A, n * k, h.alpha)
    else:
        _dense_forward(W1, n_x, b1, h.act, <real>h.alpha, Xb, A, n, n_x, k)
    _dense_forward(<real *>o.W + u0, H, NULL, FDNN_LINEAR, <real>0, A,
                   <real *>net.Zu + c * n_y * B, n_y, n, k)
    sq[2 * c] = sq[2 * c + 1] = 0
    if h.lam != 0:
        if real is float:
            sq[2 * c] = sq_sum_f32(<const float *>W1, n * n_x)
        else:
            sq[2 * c] = sq_sum_f64(<const double *>W1, n * n_x)
    if o.lam != 0:
        s = 0
        for r in range(n_y):
            if real is float:
                s += sq_sum_f32(<const float *>o.W + r * H + u0, n)
            else:
                s += sq_sum_f64(<const double *>o.W + r * H + u0, n)
        sq[2 * c + 1] = s


cdef inline Py_ssize_t _unit_out_ld(Py_ssize_t n_y) noexcept nogil:
    """The stride of the shares' sums of dZ2 in dbo: n_y values rounded up to whole lines
    of either type (16 values)."""
    return (n_y + 15) // 16 * 16


cdef double _unit_output(Net *net, int c, int pieces, Py_ssize_t k, real *Yb,
                         const real *w, real scale) noexcept nogil:
    """Share c of the output's columns (examples): its pieces' products summed in piece
    order, plus the bias, through the activation; the gradient dZ2 of those columns and
    (with a bias) scale times their sums in row c of dbo. Returns the loss summed over
    them."""
    cdef DenseL *o = &net.layer[1]
    cdef Py_ssize_t j0, j1, kc, i, n_y = net.n_y, ld = net.n_y * net.B
    cdef int p, out_op
    cdef real *out
    cdef real *Z
    cdef real *G
    cdef real *db = NULL
    cdef const real *P
    cdef const real *cached
    cdef const real *wc = NULL
    cdef double loss
    _share(k, c, pieces, 1, &j0, &j1)
    kc = j1 - j0
    if o.b != NULL:
        db = <real *>net.dbo + c * _unit_out_ld(n_y)
    if kc <= 0:   # an empty share's sums (act_backward sets them otherwise)
        if db != NULL:
            for i in range(n_y):
                db[i] = 0
        return 0
    out = <real *>o.A + j0 * n_y
    Z = (<real *>o.act_in + j0 * n_y) if o.on_z else out
    P = <const real *>net.Zu + j0 * n_y
    for i in range(kc * n_y):
        Z[i] = P[i]
    for p in range(1, pieces):
        for i in range(kc * n_y):
            Z[i] = Z[i] + P[p * ld + i]
    if real is float:
        bias_act_f32(FDNN_LINEAR if (o.on_z or o.softmax) else o.act, <float *>Z, kc, n_y,
                     <const float *>o.b, False, <float>o.alpha)
        if o.on_z:
            unary_f32(o.act, <const float *>Z, <float *>out, kc * n_y, <float>o.alpha)
        if o.softmax:
            softmax_columns_f32(<float *>out, n_y, kc)
    else:
        bias_act_f64(FDNN_LINEAR if (o.on_z or o.softmax) else o.act, <double *>Z, kc, n_y,
                     <const double *>o.b, False, o.alpha)
        if o.on_z:
            unary_f64(o.act, <const double *>Z, <double *>out, kc * n_y, o.alpha)
        if o.softmax:
            softmax_columns_f64(<double *>out, n_y, kc)
    if w != NULL:
        wc = w + j0
    loss = _loss_sum(net, <const real *>out, <const real *>Yb + j0 * n_y, wc, kc)
    G = _output_gradient(net, <const real *>out, Yb + j0 * n_y, wc, <real *>net.G + j0 * n_y,
                         kc, &out_op)
    cached = (<const real *>(o.act_in if (o.on_z and not net.fused) else o.A)) + j0 * n_y
    if real is float:
        act_backward_f32(out_op, <const float *>G, <const float *>cached,
                         <float *>o.dZ + j0 * n_y, kc, n_y, <float *>db, False, scale,
                         <float>o.alpha)
    else:
        act_backward_f64(out_op, <const double *>G, <const double *>cached,
                         <double *>o.dZ + j0 * n_y, kc, n_y, <double *>db, False, scale,
                         o.alpha)
    return loss


cdef void _unit_backward(Net *net, int c, int pieces, const char *X, Py_ssize_t rs,
                         Py_ssize_t start, Py_ssize_t k, bint in_place, real scale,
                         const double *base, double K) noexcept nogil:
    """Piece c's backward and update: dA[U] = W2[:, U]^T dZ2 (W2 before its step), dZ[U]
    and db1[U], dW1[U] and dW2[:, U], then the optimizer's step on W1's rows, b1's
    values and W2's columns of its units (piece 0 also on b2, from the output shares' sums
    of dZ2, in share order). db1[U] is summed on lines
    of the piece's own (dbu) and copied to b1's gradient once: a db array that does not
    start on a cache line would have its two pieces add into a shared line per example."""
    cdef DenseL *h = &net.layer[0]
    cdef DenseL *o = &net.layer[1]
    cdef Py_ssize_t u0, u1, n, r, at, H = h.n_out, n_x = net.n_x, n_y = net.n_y, B = net.B
    cdef real *Xb = _unit_batch(net, X, rs, start, c, in_place, <real>0)
    cdef real *A
    cdef real *dA
    cdef real *dZ
    cdef const real *cached
    cdef real *db = NULL
    _unit_piece(net, c, pieces, &u0, &u1)
    n = u1 - u0
    if h.b != NULL:
        db = <real *>net.dbu + u0
    A = <real *>h.A + u0 * B
    dA = <real *>o.dA_prev + u0 * B
    dZ = <real *>h.dZ + u0 * B
    cached = <const real *>(h.act_in if h.on_z else h.A) + u0 * B
    _gemm_dA(<real *>o.W + u0, H, <real *>o.dZ, dA, n_y, n, k)
    if real is float:
        act_backward_f32(h.bwd, <const float *>dA, <const float *>cached, <float *>dZ, k, n,
                         <float *>db, False, scale, <float>h.alpha)
    else:
        act_backward_f64(h.bwd, <const double *>dA, <const double *>cached, <double *>dZ, k,
                         n, <double *>db, False, scale, h.alpha)
    _gemm_dW(dZ, Xb, <real *>h.dW + u0 * n_x, n_x, n, n_x, k, scale, True)
    _apply(net.opt, <real *>h.W + u0 * n_x, <const real *>h.dW + u0 * n_x,
           _at(h.slot[0][0], u0 * n_x, scale), _at(h.slot[0][1], u0 * n_x, scale), n * n_x,
           base, h.lam / K, 1.0)
    if h.b != NULL:
        _apply(net.opt, <real *>h.b + u0, db, _at(h.slot[1][0], u0, scale),
               _at(h.slot[1][1], u0, scale), n, base, 0, 1.0)
        memcpy(<real *>h.db + u0, db, n * sizeof(real))
    _gemm_dW(<real *>o.dZ, A, <real *>o.dW + u0, H, n_y, n, k, scale, True)
    for r in range(n_y):
        at = r * H + u0
        _apply(net.opt, <real *>o.W + at, <const real *>o.dW + at,
               _at(o.slot[0][0], at, scale), _at(o.slot[0][1], at, scale), n, base,
               o.lam / K, 1.0)
    if c == 0 and o.b != NULL:
        # db2: the shares' sums, in share order
        db = <real *>o.db
        for r in range(n_y):
            db[r] = (<const real *>net.dbo)[r]
        for at in range(1, pieces):
            for r in range(n_y):
                db[r] = db[r] + (<const real *>net.dbo)[at * _unit_out_ld(n_y) + r]
        _apply(net.opt, <real *>o.b, <const real *>o.db, _at(o.slot[1][0], 0, scale),
               _at(o.slot[1][1], 0, scale), n_y, base, 0, 1.0)


cdef int _unit_team(Net *net, int tid, int nt, int pieces, const char *X, Py_ssize_t rs,
                    Py_ssize_t cs, int x_f32, const real *Y, const long long *perm,
                    Py_ssize_t start, Py_ssize_t k, const real *SW, bint in_place, real *Yb,
                    const real *w, double *cost, double *metric_sums, double K,
                    const double *base, double *sq, double *losses) noexcept nogil:
    """Thread tid's part of a unit-split step on a team of nt (pieces tid, tid + nt, ...),
    in three phases with a barrier between them: the pieces' forward, the output's shares
    of columns, then the pieces' backward and update. Every thread sums the cost over the
    shares (in order) and takes the same decision on a non-finite one; thread 0 records
    it and the metrics."""
    cdef DenseL *h = &net.layer[0]
    cdef DenseL *o = &net.layer[1]
    cdef int c
    cdef real scale = <real>(1.0 / K)
    cdef double loss = 0, reg = 0, s0 = 0, s1 = 0
    cdef bint diverged
    c = tid
    while c < pieces:
        _unit_forward(net, c, pieces, X, rs, cs, x_f32, Y, perm, start, k, SW, in_place, sq)
        c += nt
    if nt > 1:
        team_barrier()
    c = tid
    while c < pieces:
        losses[c] = _unit_output(net, c, pieces, k, Yb, w, scale)
        c += nt
    if nt > 1:
        team_barrier()
    for c in range(pieces):
        loss += losses[c]
        s0 += sq[2 * c]
        s1 += sq[2 * c + 1]
    if h.lam != 0:
        reg += h.lam / (2.0 * K) * s0
    if o.lam != 0:
        reg += o.lam / (2.0 * K) * s1
    diverged = net.stop_on_nan and not isfinite(loss / K + reg)
    if tid == 0:
        _cost_and_metrics(net, loss, reg, K, cost, metric_sums, <const real *>o.A,
                          <const real *>Yb, w, k)
    if diverged:
        return STEP_DIVERGED
    c = tid
    while c < pieces:
        _unit_backward(net, c, pieces, X, rs, start, k, in_place, scale, base, K)
        c += nt
    return STEP_DONE


cdef int _step_units(Net *net, real dummy, const char *X, Py_ssize_t rs, Py_ssize_t cs,
                     int x_f32, const real *Y, const long long *perm, Py_ssize_t start,
                     Py_ssize_t k, double lr, long long t, double *cost,
                     double *metric_sums, const real *SW, double K,
                     int pieces) noexcept nogil:
    """_step's work for a one-hidden-layer network cut into `pieces` pieces of hidden
    units (see above), in one parallel region."""
    cdef int l, st = 0, tid = 0, nt = team_threads()
    cdef double base[FDNN_N_OC]
    cdef double sq[2 * UNIT_PIECES]
    cdef double losses[UNIT_PIECES]
    cdef int status[1]
    cdef bint in_place = (perm == NULL and net.mean == NULL
                          and (x_f32 != 0) == (sizeof(real) == 4)
                          and cs == sizeof(real) and rs == cs * net.n_x)
    cdef real *Yb = (<real *>Y + start * net.n_y) if in_place else <real *>net.Yb
    cdef const real *w = NULL
    net.steps_by_units += 1
    if in_place:
        net.batches_in_place += 1
    if SW != NULL:
        w = SW + start if in_place else <const real *>net.wb
    _step_scalars(&net.hyper, lr, t, base)
    for l in range(net.L):
        net.layer[l].w_done = False
    if nt > pieces:
        nt = pieces
    if nt > 1:
        # piece c runs on thread c % nt in every phase, next to its batch's copy
        # the team the region got, which may be smaller than asked for
        with parallel(num_threads=nt):
            tid = threadid()
            st = _unit_team(net, tid, region_threads(), pieces, X, rs, cs, x_f32, Y, perm,
                            start, k, SW, in_place, Yb, w, cost, metric_sums, K, base, sq,
                            losses)
            if tid == 0:
                status[0] = st
        return status[0]
    return _unit_team(net, 0, 1, pieces, X, rs, cs, x_f32, Y, perm, start, k, SW, in_place,
                      Yb, w, cost, metric_sums, K, base, sq, losses)
