"""``Network``: every weight of the estimator in one flat buffer, and the passes over it.

Layout of the flat vector (scikit-learn's ``_pack`` order: every weight matrix, then
every bias): ``W_0, ..., W_{L-1}, b_0, ..., b_{L-1}``, where ``W_l`` is fastdnn's
``(fan_out, fan_in)`` C-ordered matrix. ``coefs_[l]`` is the view ``W_l.T``
(scikit-learn's ``(fan_in, fan_out)`` orientation), ``intercepts_[l]`` the view ``b_l``,
and the ``Dense`` layers of :meth:`Network.sequential` hold views of the same memory:
an optimizer step on the flat vector moves all of them, nothing is copied.

:meth:`Network.loss_grad` computes the loss and writes its gradient into the matching
views of a flat gradient vector, with fastdnn's compiled dense kernels
(``fastdnn.functional``) layer by layer; scipy.sparse ``X`` is densified a chunk of rows
at a time, never as a whole, unless it is sparse enough for sparse products in the first
layer (``CSRRows``: a mini-batch's rows read in place from the CSR arrays).

Examples
--------
>>> import numpy as np
>>> net = Network([3, 4, 2], "relu", "softmax", np.float64)
>>> net.size, [W.shape for W in net.W], net.coefs[0].shape
(26, [(4, 3), (2, 4)], (3, 4))
>>> np.shares_memory(net.W[0], net.flat), net.flat.ctypes.data % 64
(True, 0)
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from .. import _aligned
from .. import functional as F
from .._kernels import _dense
from .._kernels import _elementwise as _ew
from .._kernels import _sparse
from ..layers import Dense, Normalizer
from ..models import Sequential
from ..regularizers import L2
from ._constraints import OUTPUT_ACTIVATIONS

# a sparse X is densified in chunks of at most this many elements (8 MB of float64) ...
DENSE_CHUNK_ELEMENTS = 1 << 20
# ... unless at most this fraction of its entries is stored: then the first layer's
# products are scipy.sparse's (nnz multiply-adds per unit; they beat the dense products
# of the densified rows below about 5 % density)
SPARSE_DENSITY = 0.05
# fastdnn losses matching the output, for the Sequential view (model_)
_FASTDNN_LOSS = {"logistic": "binary_crossentropy", "softmax": "categorical_crossentropy",
                 "identity": "mse"}

LossFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], float]


class CSRRows:
    """The rows ``rows`` of a CSR matrix, taken where they are: a mini-batch that the
    first layer's sparse products read from the matrix's arrays, never gathered.

    >>> X = sp.csr_matrix(np.eye(3))
    >>> CSRRows(X, np.array([2, 0])).shape, CSRRows(X, np.array([2, 0])).gathered().toarray()[0]
    ((2, 3), array([0., 0., 1.]))
    """

    __slots__ = ("matrix", "rows", "shape")

    def __init__(self, matrix: Any, rows: np.ndarray):
        self.matrix, self.rows = matrix, rows
        self.shape = (len(rows), matrix.shape[1])

    def gathered(self) -> Any:
        """The rows as a CSR matrix of their own (a copy)."""
        return self.matrix[self.rows]


class Network:
    """A fully connected network's weights in one flat buffer, and its passes.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_features, hidden..., n_outputs]``.
    hidden : str
        fastdnn name of the hidden activation (``relu``, ``tanh``, ``sigmoid``, ...).
    out : str
        scikit-learn name of the output activation: ``logistic``, ``softmax``,
        ``identity`` or ``exp``.
    dtype : float32 or float64
    normalizer : fastdnn.layers.Normalizer, optional
        Built and adapted; applied to every input before the first layer.

    Examples
    --------
    >>> import numpy as np
    >>> net = Network([2, 1], "relu", "identity", np.float64)
    >>> net.load([np.array([[2.0], [3.0]])], [np.array([1.0])])
    >>> net.predict(np.array([[1.0, 1.0]])).tolist()
    [[6.0]]
    """

    def __init__(self, sizes: Sequence[int], hidden: str, out: str, dtype: Any,
                 normalizer: Normalizer | None = None):
        self.sizes = tuple(int(s) for s in sizes)
        self.hidden = hidden
        self.out = out
        self.dtype = np.dtype(dtype)
        self.normalizer = normalizer
        shapes = list(zip(self.sizes[1:], self.sizes[:-1]))     # (fan_out, fan_in)
        spans, start = [], 0
        for fan_out, fan_in in shapes:
            spans.append((start, start + fan_out * fan_in, (fan_out, fan_in)))
            start += fan_out * fan_in
        self.n_coef = start
        for fan_out in self.sizes[1:]:
            spans.append((start, start + fan_out, (fan_out,)))
            start += fan_out
        self.size = start
        self._spans = spans
        self.flat = _aligned.zeros(self.size, self.dtype)
        self.grad = _aligned.zeros(self.size, self.dtype)
        self.W, self.b = self.views(self.flat)
        self._gW, self._gb = self.views(self.grad)
        self.coefs = tuple(W.T for W in self.W)       # (fan_in, fan_out) views
        self.intercepts = tuple(self.b)
        # per layer W (fan_out, fan_in) and b (fan_out, 1): a Sequential's parameter order
        self.param_parts = [p for W, b in zip(self.W, self.b) for p in (W, b.reshape(-1, 1))]
        self.grad_parts = [g for gW, gb in zip(self._gW, self._gb)
                           for g in (gW, gb.reshape(-1, 1))]
        self._model: Sequential | None = None

    # ------------------------------------------------------------ the flat layout
    @property
    def n_layers(self) -> int:
        """Weight layers (scikit-learn's ``n_layers_ - 1``)."""
        return len(self.sizes) - 1

    def views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(W list, b list)``: views of any flat vector of this layout (no copy)."""
        L = self.n_layers
        parts = [flat[s:e].reshape(shape) for s, e, shape in self._spans]
        return parts[:L], parts[L:]

    def holds(self, coefs: Any, intercepts: Any) -> bool:
        """True if ``coefs``/``intercepts`` are exactly this network's views."""
        return (type(coefs) is list and type(intercepts) is list
                and len(coefs) == len(self.coefs) == len(intercepts)
                and all(a is b for a, b in zip(coefs, self.coefs))
                and all(a is b for a, b in zip(intercepts, self.intercepts)))

    def fits(self, coefs: Sequence[Any], intercepts: Sequence[Any]) -> bool:
        """True if arrays of these shapes can be loaded into this network."""
        return (len(coefs) == len(intercepts) == self.n_layers
                and all(np.shape(c) == W.T.shape for c, W in zip(coefs, self.W))
                and all(np.size(i) == b.size for i, b in zip(intercepts, self.b)))

    def load(self, coefs: Sequence[Any], intercepts: Sequence[Any]) -> None:
        """Copy scikit-learn-oriented ``coefs``/``intercepts`` into the buffer (in place)."""
        if not self.fits(coefs, intercepts):
            raise ValueError(
                f"coefs_ and intercepts_ must have shapes "
                f"{[c.shape for c in self.coefs]} and {[i.shape for i in self.intercepts]}, "
                f"got {[np.shape(c) for c in coefs]} and {[np.shape(i) for i in intercepts]}")
        for W, c in zip(self.W, coefs):
            W[...] = np.asarray(c).T
        for b, i in zip(self.b, intercepts):
            b[...] = np.asarray(i).reshape(b.shape)

    @classmethod
    def from_arrays(cls, coefs: Sequence[Any], intercepts: Sequence[Any], hidden: str,
                    out: str, dtype: Any, normalizer: Normalizer | None = None) -> "Network":
        """A network of the shapes of ``coefs`` (``(fan_in, fan_out)`` each), loaded with them.

        Examples
        --------
        >>> import numpy as np
        >>> net = Network.from_arrays([np.ones((3, 2)), np.ones((2, 1))],
        ...                           [np.zeros(2), np.zeros(1)], "tanh", "identity", "float32")
        >>> net.sizes, net.flat.dtype
        ((3, 2, 1), dtype('float32'))
        """
        coefs, intercepts = list(coefs), list(intercepts)
        if not coefs or len(coefs) != len(intercepts) or any(np.ndim(c) != 2 for c in coefs):
            raise ValueError("coefs_ must be a non-empty list of 2-D arrays (fan_in, fan_out) "
                             "and intercepts_ a list of as many 1-D arrays")
        sizes = [np.shape(coefs[0])[0]] + [np.shape(c)[1] for c in coefs]
        net = cls(sizes, hidden, out, dtype, normalizer)
        net.load(coefs, intercepts)
        return net

    # ------------------------------------------------------------ passes
    def _kernels(self) -> list:
        """``(forward, backward, alpha, softmax)`` codes of every layer's activation."""
        kernels = self.__dict__.get("_kernel_codes")
        if kernels is None or kernels[0] != self.hidden:
            L = self.n_layers
            codes = [F._resolve(self.hidden if l < L - 1 else OUTPUT_ACTIVATIONS[self.out])[1]
                     for l in range(L)]
            kernels = self._kernel_codes = (self.hidden, codes)
        return kernels[1]

    def workspace(self, m: int) -> "Workspace":
        """The pass buffers for ``m`` examples (kept, and grown when a larger ``m`` comes)."""
        ws = self.__dict__.get("_workspace")
        if ws is None or ws.capacity < m:
            ws = self._workspace = Workspace(self.sizes, self.dtype, m)
        return ws

    def release(self) -> None:
        """Drop the pass buffers (after training: they may hold a whole data set's
        activations)."""
        self.__dict__.pop("_workspace", None)

    def sparse_first(self, X: Any) -> bool:
        """Whether scipy.sparse rows go through the first layer as sparse products: at
        most ``SPARSE_DENSITY`` of their entries stored, and no normalizer (centring would
        make them dense); else they are densified a chunk at a time."""
        if isinstance(X, CSRRows):      # rows of a matrix that was found sparse enough
            return self.normalizer is None
        return (sp.issparse(X) and self.normalizer is None
                and X.nnz <= SPARSE_DENSITY * X.shape[0] * X.shape[1])

    def _inputs(self, Xc: Any, ws: "Workspace") -> np.ndarray:
        """Rows of X as the first layer's input ``(n_features, m)`` of the network's dtype:
        a view of C-ordered rows of that dtype, else a copy (cast, densified, normalized) in
        the workspace."""
        m = Xc.shape[0]
        if sp.issparse(Xc):
            Xc = Xc.toarray()
        norm = self.normalizer
        if norm is None and Xc.dtype == self.dtype and Xc.flags.c_contiguous:
            return Xc.T
        A = ws.inputs(m)
        if norm is None:
            np.copyto(A.T, Xc)
        else:
            np.subtract(Xc.T, norm.mean, out=A)
            np.multiply(A, norm._inv_std, out=A)
        return A

    def loss_grad(self, X: Any, Y: np.ndarray, w: np.ndarray | None, total_weight: float,
                  alpha: float, loss: LossFn, params: np.ndarray | None = None,
                  grad: np.ndarray | None = None, l2_in_grad: bool = True,
                  first: tuple[np.ndarray, np.ndarray] | None = None) -> float:
        """scikit-learn's regularized loss on ``X, Y`` and its gradient, written into ``grad``.

        ``loss(Y, P, w) / total_weight + alpha/2 ||W||^2 / total_weight``, where
        ``total_weight`` is the number of examples (or the sum of ``w``); the gradient
        ``(X^T delta + alpha W) / total_weight`` of every layer goes into its views of
        ``grad`` (default: this network's ``grad``) for the parameters ``params``
        (default: this network's ``flat``); without the L2 term when ``l2_in_grad`` is
        False (an optimizer step that adds it itself). ``Y`` holds C-ordered rows of the
        network's dtype.

        ``first``: the first layer's weights and gradient held outside the buffer as
        ``(n_features, units)`` C-ordered arrays, the layout scipy.sparse's products read
        and write without a copy (``X`` must then be scipy.sparse, taken as sparse
        products); the gradient may be a ``RowsGradient`` (``X`` as ``CSRRows``, no L2 term
        in the gradient), which is then set to this batch's gradient for the optimizer
        to form a block of rows at a time.

        Examples
        --------
        >>> import numpy as np
        >>> from fastdnn.sklearn._losses import squared_error
        >>> net = Network([1, 1], "relu", "identity", np.float64)
        >>> net.load([np.array([[2.0]])], [np.array([0.0])])
        >>> X, Y = np.array([[1.0], [2.0]]), np.array([[1.0], [2.0]])
        >>> net.loss_grad(X, Y, None, 2, 0.0, squared_error), net.grad.tolist()
        (1.25, [2.5, 1.5])
        """
        if params is None:
            params, Ws, bs = self.flat, self.W, self.b
        else:
            Ws, bs = self.views(params)
        if grad is None:
            gWs, gbs = self._gW, self._gb
        else:
            gWs, gbs = self.views(grad)
        if first is not None:
            g0 = first[1] if isinstance(first[1], _sparse.RowsGradient) else first[1].T
            Ws, gWs = [first[0].T, *Ws[1:]], [g0, *gWs[1:]]
        m = X.shape[0]
        sparse_in = first is not None or self.sparse_first(X)
        rows = max(1, DENSE_CHUNK_ELEMENTS // max(1, X.shape[1])) \
            if sp.issparse(X) and not sparse_in else m
        decay = float(alpha) / total_weight if l2_in_grad else 0.0
        if rows >= m:
            value = self._chunk(X, Y, w, total_weight, Ws, bs, gWs, gbs, decay, True, loss,
                                sparse_in)
        else:
            value = 0.0
            for s in range(0, m, rows):
                e = min(m, s + rows)
                value += self._chunk(X[s:e], Y[s:e], None if w is None else w[s:e],
                                     total_weight, Ws, bs, gWs, gbs, decay, s == 0, loss,
                                     sparse_in)
        value /= total_weight
        if alpha:
            if first is None:
                squares = _ew.sum_of_squares(params[:self.n_coef])
            else:
                squares = (_ew.sum_of_squares(first[0])
                           + _ew.sum_of_squares(params[first[0].size:self.n_coef]))
            value += 0.5 * float(alpha) * squares / total_weight
        return value

    def _chunk(self, Xc: Any, Yc: np.ndarray, wc: np.ndarray | None, total_weight: float,
               Ws: list, bs: list, gWs: list, gbs: list, decay: float, first: bool,
               loss: LossFn, sparse_in: bool) -> float:
        """Forward and backward over some rows, in the workspace's buffers (the gradients
        straight into ``gWs``/``gbs`` for the first chunk, added to them for the others);
        returns the rows' (weighted) loss sum."""
        m = Xc.shape[0]
        ws = self.workspace(m)
        L = self.n_layers
        kernels = self._kernels()
        X0 = Xc if sparse_in else self._inputs(Xc, ws)
        As, dZs, dAs = ws.columns(m)
        A_prev = X0
        for l in range(L):
            fwd, _, act_alpha, softmax = kernels[l][:4]
            if l == 0 and sparse_in:
                _sparse_forward(Xc, Ws[0], bs[0], kernels[0], As[0])
            else:
                _dense.forward_into(A_prev, Ws[l], bs[l], fwd, act_alpha, softmax, As[l])
            A_prev = As[l]
        A = As[L - 1]
        if self.out == "exp":
            np.exp(A, out=A)            # dZ = exp(Z) - Y below
        value = loss(Yc, A.T, wc)
        scale = m / total_weight
        for l in range(L - 1, -1, -1):
            _, bwd, act_alpha, softmax = kernels[l][:4]
            if l == L - 1:
                if wc is None and scale == 1.0:
                    G, bwd = Yc.T, _ew.BW_OUTPUT_SUB     # dZ = A - Y, fused
                else:   # (A - Y) * w scaled so the kernels' 1/m makes it 1/total_weight
                    G = ws.delta(m)
                    np.subtract(A, Yc.T, out=G)
                    G *= (wc * scale) if wc is not None else scale
                    bwd, act_alpha, softmax = _ew.BW_LINEAR, 0.0, False
            else:
                G = dAs[l]
            gW, gb = (gWs[l], gbs[l]) if first else ws.scratch(l)
            dZ = dZs[l]
            if l == 0 and sparse_in:
                _sparse_backward(G, Xc, As[0], bwd, act_alpha, dZ, gW, gb)
            else:
                _dense.backward_into(G, As[l - 1] if l else X0, Ws[l], As[l], bwd, act_alpha,
                                     softmax, dZ, gW, gb, dAs[l - 1] if l else None)
            if first:
                if decay and isinstance(gW, _sparse.RowsGradient):
                    raise ValueError("a rows gradient takes its L2 term in the step")
                if decay:
                    F.sgd_update(gW, Ws[l], -decay, out=gW)     # gW + decay W in one pass
            else:
                gWs[l] += gW
                gbs[l] += gb
        return value

    def predict(self, X: Any) -> np.ndarray:
        """The output layer's activations ``(m, n_outputs)`` for ``X`` (dense or sparse).

        Dense ``X`` goes through the compiled forward plan of :meth:`sequential`. The
        result has the dtype NumPy gives ``X @ coefs_`` (float64 for float64 ``X`` and a
        float32 network, as scikit-learn's).
        """
        model = self.sequential()
        if sp.issparse(X):
            m = X.shape[0]
            out = np.empty((m, self.sizes[-1]), dtype=self.dtype)
            rows = max(1, DENSE_CHUNK_ELEMENTS // max(1, X.shape[1]))
            X = X.tocsr()
            for s in range(0, m, rows):
                out[s:s + rows] = model.predict(X[s:s + rows].toarray())
        else:
            out = model.predict(X)
        if self.out == "exp":
            np.exp(out, out=out)
        wider = np.result_type(X.dtype, self.dtype)   # as X @ coefs_ would give (scikit-learn)
        return out if wider == out.dtype or wider.kind != "f" else out.astype(wider)

    # ------------------------------------------------------------ fastdnn view
    def sequential(self, alpha: float = 0.0) -> Sequential:
        """A fastdnn ``Sequential`` whose ``Dense`` layers hold views of this buffer.

        Built once and cached: it predicts with whatever the buffer holds. With
        ``normalize=True`` a ``Normalizer`` holding the training statistics comes first; a
        Poisson network's last layer is linear, without the ``exp``. Compiled with the
        matching fastdnn loss where there is one.
        """
        model = self._model
        if model is None:
            model = self._model = self.new_sequential(alpha)
            if self.out in _FASTDNN_LOSS:
                model.compile(optimizer="adam", loss=_FASTDNN_LOSS[self.out])
        return model

    def training_sequential(self, alpha: float) -> Sequential:
        """A ``Sequential`` of this network for the compiled training loop (not ``model_``'s:
        the estimator compiles it with its own optimizer), kept for the next ``fit`` or
        ``partial_fit`` with the same ``alpha``."""
        cached = self.__dict__.get("_training_model")
        if cached is None or cached[0] != alpha or cached[1] != self.hidden:
            cached = self._training_model = (alpha, self.hidden, self.new_sequential(alpha))
        return cached[2]

    def new_sequential(self, alpha: float = 0.0) -> Sequential:
        """A new, uncompiled ``Sequential`` of this network whose ``Dense`` layers hold
        views of the buffer (L2 of strength ``alpha`` on their weights)."""
        reg = L2(float(alpha)) if alpha else None
        norm = self.normalizer
        # a layer belongs to one model: the model's Normalizer gets the same statistics
        layers: list = [] if norm is None else [Normalizer(epsilon=norm.epsilon)]
        L = self.n_layers
        for l, units in enumerate(self.sizes[1:]):
            act = self.hidden if l < L - 1 else OUTPUT_ACTIVATIONS[self.out]
            layers.append(Dense(units, activation=act, kernel_regularizer=reg))
        model = Sequential(layers, dtype=self.dtype, seed=0)
        model.build(self.sizes[0])
        if norm is not None:
            model.layers[0].set_weights(norm.get_weights())
        dense = [l for l in model.layers if isinstance(l, Dense)]
        for layer, W, b in zip(dense, self.W, self.b):
            layer.W, layer.b = W, b.reshape(-1, 1)
        return model


class Workspace:
    """The buffers of the passes over up to ``capacity`` examples, allocated once: per
    layer its activations ``A``, ``dZ`` and (hidden layers) the ``dA`` the next layer's
    backward step writes, each F-ordered ``(units, capacity)``; a batch of ``m`` examples
    uses their first ``m`` columns (still contiguous). Inputs to copy, a weighted output
    delta and the gradients of later chunks get buffers on first use.

    Examples
    --------
    >>> import numpy as np
    >>> ws = Workspace((3, 4, 2), np.float64, 10)
    >>> [A.shape for A in ws.A], ws.dA[0].flags.f_contiguous
    ([(4, 10), (2, 10)], True)
    """

    def __init__(self, sizes: Sequence[int], dtype: Any, capacity: int):
        self.sizes, self.dtype, self.capacity = tuple(sizes), np.dtype(dtype), int(capacity)
        self.A = [self._f(n) for n in self.sizes[1:]]
        self.dZ = [self._f(n) for n in self.sizes[1:]]
        self.dA = [self._f(n) for n in self.sizes[1:-1]]
        self._X: np.ndarray | None = None
        self._rows: np.ndarray | None = None
        self._Y: np.ndarray | None = None
        self._G: np.ndarray | None = None
        self._scratch: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._columns: tuple = (-1, None)

    def columns(self, m: int) -> tuple[list, list, list]:
        """The first ``m`` columns of ``A``, ``dZ`` and ``dA`` (cached for the last ``m``)."""
        last, views = self._columns
        if last != m:
            views = ([A[:, :m] for A in self.A], [Z[:, :m] for Z in self.dZ],
                     [D[:, :m] for D in self.dA])
            self._columns = (m, views)
        return views

    def _f(self, n: int) -> np.ndarray:
        return np.empty((n, self.capacity), dtype=self.dtype, order="F")

    def inputs(self, m: int) -> np.ndarray:
        """``(n_features, m)`` F-ordered: the first layer's input when it is copied."""
        if self._X is None:
            self._X = self._f(self.sizes[0])
        return self._X[:, :m]

    def rows(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """``(m, n_features)`` and ``(m, n_outputs)`` C-ordered: gathered mini-batch rows
        (the first is the same memory as :meth:`inputs`)."""
        if self._Y is None:
            self._Y = np.empty((self.capacity, self.sizes[-1]), dtype=self.dtype)
        return self.inputs(m).T, self._Y[:m]

    def delta(self, m: int) -> np.ndarray:
        """``(n_outputs, m)`` F-ordered: a weighted or scaled output delta."""
        if self._G is None:
            self._G = self._f(self.sizes[-1])
        return self._G[:, :m]

    def scratch(self, l: int) -> tuple[np.ndarray, np.ndarray]:
        """Gradient buffers of layer ``l`` for chunks after the first (then added)."""
        bufs = self._scratch.get(l)
        if bufs is None:
            fan_out, fan_in = self.sizes[l + 1], self.sizes[l]
            bufs = self._scratch[l] = (np.empty((fan_out, fan_in), dtype=self.dtype),
                                       np.empty(fan_out, dtype=self.dtype))
        return bufs


def _sparse_forward(X: Any, W: np.ndarray, b: np.ndarray, kernel: Any, A: np.ndarray) -> None:
    """``A = g(W X^T + b)`` for CSR rows ``X`` (or ``CSRRows``): the product sparse
    (``nnz`` multiply-adds per unit, where a dense product would take ``m n_features``;
    fastdnn's kernel for ``CSRRows`` and transposed weights, else scipy.sparse's), the bias
    and activation by fastdnn's kernels, in place in ``A`` ``(units, m)`` F-ordered."""
    fwd, _, alpha, softmax = kernel[:4]
    if isinstance(X, CSRRows) and W.T.flags.c_contiguous:
        _sparse.csr_forward(X.matrix, X.rows, W.T, A.T)
    else:
        X = X.gathered() if isinstance(X, CSRRows) else X
        np.copyto(A.T, X @ W.T)         # (m, units) C: A's memory
    A += b.reshape(-1, 1)
    if softmax:
        _ew.softmax(A, 0, A)
    else:
        _ew.unary(fwd, A, A, alpha)


def _sparse_backward(G: np.ndarray, X: Any, A: np.ndarray, bwd: int, alpha: float,
                     dZ: np.ndarray, gW: np.ndarray, gb: np.ndarray) -> None:
    """The first layer's gradients for CSR rows ``X``: ``dZ`` from ``G`` (``dA``, or
    ``A - Y`` fused), ``gb = mean(dZ)``, ``gW = dZ X / m`` sparse (as the forward
    product), or ``gW`` a ``RowsGradient`` set to it (``X`` as ``CSRRows``)."""
    m = X.shape[0]
    if bwd == _ew.BW_OUTPUT_SUB:
        np.subtract(A, G, out=dZ)
    else:
        _ew.binary(bwd, G, A, dZ, alpha)
    np.sum(dZ, axis=1, out=gb)
    gb *= 1.0 / m
    if isinstance(gW, _sparse.RowsGradient):
        gW.set(X.matrix, X.rows, dZ.T, 1.0 / m)
        return
    if isinstance(X, CSRRows) and gW.T.flags.c_contiguous:
        _sparse.csr_grad(X.matrix, X.rows, dZ.T, 1.0 / m, gW.T)
        return
    X = X.gathered() if isinstance(X, CSRRows) else X
    np.multiply((X.T @ dZ.T).T, 1.0 / m, out=gW)


def _weighted_stats(X: np.ndarray, w: np.ndarray, rows: int = 65536) -> tuple:
    """Per-column weighted mean and variance of dense ``X``, a chunk of rows at a time."""
    total = float(w.sum())
    mean = np.zeros(X.shape[1])
    for s in range(0, X.shape[0], rows):
        mean += w[s:s + rows] @ np.asarray(X[s:s + rows], dtype=np.float64)
    mean /= total
    var = np.zeros(X.shape[1])
    for s in range(0, X.shape[0], rows):
        d = np.asarray(X[s:s + rows], dtype=np.float64) - mean
        np.square(d, out=d)
        var += w[s:s + rows] @ d
    return mean, var / total


def make_normalizer(X: Any, dtype: Any, sample_weight: np.ndarray | None = None) -> Normalizer:
    """A fastdnn ``Normalizer`` built for ``X``'s columns with their mean and variance
    (weighted by ``sample_weight`` when given: weights act as repetitions).

    Dense ``X`` is read in chunks of rows; scipy.sparse ``X`` goes through scikit-learn's
    ``mean_variance_axis``, without densifying.

    Examples
    --------
    >>> import numpy as np
    >>> norm = make_normalizer(np.array([[0.0, 10.0], [2.0, 30.0]]), np.float64)
    >>> norm.mean.ravel().tolist(), norm.variance.ravel().tolist()
    ([1.0, 20.0], [1.0, 100.0])
    >>> make_normalizer(np.array([[0.0], [2.0]]), np.float64, np.array([1.0, 3.0])).mean.item()
    1.5
    """
    if sp.issparse(X):
        from sklearn.utils.sparsefuncs import mean_variance_axis

        mean, var = mean_variance_axis(X.astype(np.float64), axis=0, weights=sample_weight)
    elif sample_weight is not None:
        mean, var = _weighted_stats(X, np.asarray(sample_weight, dtype=np.float64))
    else:
        from ..preprocessing import Normalizer as Stats

        stats = Stats().fit(X)
        mean, var = stats.mean_, stats.variance_
    norm = Normalizer()
    norm.build(X.shape[1], dtype, np.random.default_rng(0))
    norm.set_weights([np.asarray(mean).reshape(-1, 1), np.asarray(var).reshape(-1, 1)])
    return norm
