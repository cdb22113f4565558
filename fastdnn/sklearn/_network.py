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
at a time, never as a whole.

Examples
--------
>>> import numpy as np
>>> net = Network([3, 4, 2], "relu", "softmax", np.float64)
>>> net.size, [W.shape for W in net.W], net.coefs[0].shape
(26, [(4, 3), (2, 4)], (3, 4))
>>> net.W[0].base is net.flat or net.W[0].base.base is net.flat
True
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from .. import functional as F
from ..layers import Dense, Normalizer
from ..models import Sequential
from ..regularizers import L2
from ._constraints import OUTPUT_ACTIVATIONS

# a sparse X is densified in chunks of at most this many elements (8 MB of float64)
DENSE_CHUNK_ELEMENTS = 1 << 20
# fastdnn losses matching the output, for the Sequential view (model_)
_FASTDNN_LOSS = {"logistic": "binary_crossentropy", "softmax": "categorical_crossentropy",
                 "identity": "mse"}

LossFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], float]


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
        self.flat = np.zeros(self.size, dtype=self.dtype)
        self.grad = np.zeros(self.size, dtype=self.dtype)
        self.W, self.b = self.views(self.flat)
        self._gW, self._gb = self.views(self.grad)
        self.coefs = tuple(W.T for W in self.W)       # (fan_in, fan_out) views
        self.intercepts = tuple(self.b)
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
    def _inputs(self, Xc: Any) -> np.ndarray:
        """Rows of X as the first layer's input ``(n_features, m)`` of the network's dtype."""
        if sp.issparse(Xc):
            Xc = Xc.toarray()
        if Xc.dtype != self.dtype:
            Xc = Xc.astype(self.dtype)
        A = Xc.T
        if self.normalizer is not None:
            A = self.normalizer.forward(A)
        return A

    def _chunk_rows(self, X: Any) -> int:
        if sp.issparse(X):
            return max(1, DENSE_CHUNK_ELEMENTS // max(1, X.shape[1]))
        return max(1, X.shape[0])

    def loss_grad(self, X: Any, Y: np.ndarray, w: np.ndarray | None, total_weight: float,
                  alpha: float, loss: LossFn, params: np.ndarray | None = None,
                  grad: np.ndarray | None = None) -> float:
        """scikit-learn's regularized loss on ``X, Y`` and its gradient, written into ``grad``.

        ``loss(Y, P, w) / total_weight + alpha/2 ||W||^2 / total_weight``, where
        ``total_weight`` is the number of examples (or the sum of ``w``); the gradient
        ``(X^T delta + alpha W) / total_weight`` of every layer goes into its views of
        ``grad`` (default: this network's ``grad``) for the parameters ``params``
        (default: this network's ``flat``).

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
        m = X.shape[0]
        rows = self._chunk_rows(X)
        decay = float(alpha) / total_weight
        value = 0.0
        for s in range(0, m, rows):
            e = min(m, s + rows)
            value += self._chunk(X[s:e], Y[s:e], None if w is None else w[s:e],
                                 total_weight, Ws, bs, gWs, gbs, decay, s == 0, loss)
        value /= total_weight
        if alpha:
            Wflat = params[:self.n_coef]
            value += 0.5 * float(alpha) * float(np.dot(Wflat, Wflat)) / total_weight
        return value

    def _chunk(self, Xc: Any, Yc: np.ndarray, wc: np.ndarray | None, total_weight: float,
               Ws: list, bs: list, gWs: list, gbs: list, decay: float, first: bool,
               loss: LossFn) -> float:
        """Forward and backward over some rows; returns their (weighted) loss sum."""
        A = self._inputs(Xc)
        L = len(Ws)
        out_act = OUTPUT_ACTIVATIONS[self.out]
        caches = []
        for l in range(L):
            A, cache = F.dense_forward(A, Ws[l], bs[l], self.hidden if l < L - 1 else out_act)
            caches.append(cache)
        if self.out == "exp":
            np.exp(A, out=A)            # the cache holds A: dZ = exp(Z) - Y below
        value = loss(Yc, A.T, wc)
        scale = A.shape[1] / total_weight
        if wc is None and scale == 1.0:
            dA, dW, db = F.dense_output_backward(Yc.T, caches[-1], L > 1)
        else:   # delta = (A - Y) * w scaled so the kernels' 1/m makes it 1/total_weight
            G = A - Yc.T
            G *= (wc * scale) if wc is not None else scale
            dA, dW, db = F.dense_backward(G, caches[-1]._replace(activation="linear"), L > 1)
        self._store(gWs[L - 1], gbs[L - 1], dW, db, Ws[L - 1], decay, first)
        for l in range(L - 2, -1, -1):
            dA, dW, db = F.dense_backward(dA, caches[l], l > 0)
            self._store(gWs[l], gbs[l], dW, db, Ws[l], decay, first)
        return value

    @staticmethod
    def _store(gW: np.ndarray, gb: np.ndarray, dW: np.ndarray, db: np.ndarray, W: np.ndarray,
               decay: float, first: bool) -> None:
        """gW = dW + decay * W (first chunk) or gW += dW; gb likewise, without the decay."""
        if first:
            if decay:
                F.sgd_update(dW, W, -decay, out=gW)     # dW - (-decay) W in one pass
            else:
                np.copyto(gW, dW)
            np.copyto(gb, db.reshape(gb.shape))
        else:
            gW += dW
            gb += db.reshape(gb.shape)

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
            rows = self._chunk_rows(X)
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
        if model is not None:
            return model
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
        if self.out in _FASTDNN_LOSS:
            model.compile(optimizer="adam", loss=_FASTDNN_LOSS[self.out])
        self._model = model
        return model


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
