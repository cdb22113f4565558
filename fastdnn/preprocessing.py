"""Input normalization (lecture, item 8): learn ``mu`` and ``sigma^2`` on the training set.

The lecture subtracts the mean, ``x := x - mu`` with ``mu = (1/m) sum x``,
then divides by the standard deviation, ``sigma^2 = (1/m) sum x^2`` (of the
centred ``x``), ``x := x / sigma``, and applies the *same* ``mu`` and
``sigma^2``, learned on the training set, to the test set.
:class:`Normalizer` does exactly that on data laid out as ``X`` of shape
``(m, n_features)`` (one row per example, as NumPy, scikit-learn and Keras
users pass it).

Examples
--------
>>> import numpy as np
>>> from fastdnn.preprocessing import Normalizer
>>> X_train = np.array([[1.0, 10.0], [3.0, 10.0]])
>>> norm = Normalizer().fit(X_train)
>>> norm.mean_, norm.variance_
(array([ 2., 10.]), array([1., 0.]))
>>> norm.transform(np.array([[2.0, 10.0], [4.0, 10.0]])).round(6)
array([[0., 0.],
       [2., 0.]])
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_int, check_real

__all__ = ["Normalizer", "NotFittedError"]

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
else:
    ArrayLike = Any

# a chunk of rows holds at most this many values (32 MiB in float64), whatever chunk_rows says
_MAX_CHUNK_VALUES = 1 << 22


class NotFittedError(ValueError, AttributeError):
    """A :class:`Normalizer` was used before ``fit`` (or ``set_weights``).

    Subclass of both ``ValueError`` and ``AttributeError``, like scikit-learn's.

    Examples
    --------
    >>> try:
    ...     Normalizer().transform([[1.0]])
    ... except NotFittedError as e:
    ...     print(e)
    this Normalizer is not fitted yet; call fit(X) (or set_weights) before transform
    """


def _check_X(X: ArrayLike, what: str = "X") -> tuple[np.ndarray, np.dtype[Any]]:
    """``X`` as a 2-D real array, and the dtype of results (float32/64 kept, else float64)."""
    if not isinstance(X, np.ndarray):  # np.memmap is an ndarray: never copied here
        X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold real numbers (bool, int or float), got dtype {X.dtype}")
    if X.ndim != 2:
        hint = "; use X.reshape(-1, 1) for a single feature" if X.ndim == 1 else ""
        raise ValueError(f"{what} must be 2-D (m, n_features), one row per example, "
                         f"got shape {X.shape}{hint}")
    dt = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    return X, dt


class Normalizer:
    """Per-feature standardization ``(X - mean_) / sqrt(variance_ + epsilon)``.

    ``fit`` learns the mean and the (population, ``1/m``) variance of each
    feature, reading ``X`` in chunks of rows and accumulating in float64 (a
    two-pass mean/variance per chunk, chunks merged with Chan's parallel
    formula), so it never makes a full-size temporary: ``X`` may be a
    ``numpy.memmap`` larger than memory. ``transform`` applies the learned
    statistics unchanged, e.g. to the test set.

    Parameters
    ----------
    epsilon : float, default 1e-7
        Added to the variance before the square root so that a constant
        feature (variance 0) is mapped to 0 instead of dividing by zero. With
        ``epsilon=0`` a zero-variance feature is only centred (scale 1), as
        scikit-learn's ``StandardScaler`` does.
    chunk_rows : int, default 65536
        Rows read at a time by ``fit``; a chunk is further limited to 2**22
        values (32 MiB in float64) for wide data.

    Attributes
    ----------
    mean_ : ndarray (n_features,) of float64
    variance_ : ndarray (n_features,) of float64
    n_features_in_ : int

    Notes
    -----
    dtypes: float32 data gives float32 results and float64 gives float64;
    bool and integer data give float64 (as scikit-learn's ``StandardScaler``).
    The statistics are always float64. ``fit`` rejects NaN and inf; ``transform``
    lets NaN pass through.

    Examples
    --------
    >>> X = np.array([[0.0], [2.0], [4.0]], dtype=np.float32)
    >>> Z = Normalizer().fit_transform(X)
    >>> Z.dtype, float(Z.mean()), round(float(Z.std()), 5)
    (dtype('float32'), 0.0, 1.0)
    """

    # set by fit (or set_weights)
    mean_: np.ndarray
    variance_: np.ndarray
    n_features_in_: int
    _scale: np.ndarray | None

    def __init__(self, epsilon: float = 1e-7, chunk_rows: int = 65536):
        self.epsilon = check_real(epsilon, "epsilon", 0.0)
        self.chunk_rows = check_int(chunk_rows, "chunk_rows", 1)

    # ------------------------------------------------------------ fitting

    def fit(self, X: ArrayLike) -> "Normalizer":
        """Learn ``mean_`` and ``variance_`` of each column of ``X``.

        Parameters
        ----------
        X : array_like (m, n_features)
            Training inputs, one row per example; any real dtype, any memory
            order; a ``numpy.memmap`` is read chunk by chunk.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            ``X`` not 2-D, empty, or holding NaN or inf.

        Examples
        --------
        >>> Normalizer().fit([[1, 2], [3, 6]]).variance_
        array([1., 4.])
        """
        X, _ = _check_X(X)
        m, n = X.shape
        if m == 0 or n == 0:
            raise ValueError(f"X must hold at least one example and one feature, got shape "
                             f"{X.shape}")
        rows = max(1, min(self.chunk_rows, _MAX_CHUNK_VALUES // n))
        count = 0
        mean = np.zeros(n)
        m2 = np.zeros(n)  # sum of squared deviations from the mean
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            for start in range(0, m, rows):  # chunks of rows; each chunk is vectorized
                count, mean, m2 = self._merge_chunk(X[start:start + rows], start,
                                                    count, mean, m2)
        if not np.isfinite(m2).all():
            raise ValueError("X holds values so large that their squares overflow float64")
        self.mean_ = mean
        self.variance_ = m2 / count
        self.n_features_in_ = n
        self._scale = None
        return self

    def _merge_chunk(self, rows: np.ndarray, start: int, count: int, mean: np.ndarray,
                     m2: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        """Fold a chunk of rows into ``(count, mean, m2)`` (``m2``: sum of squared deviations)."""
        chunk = np.array(rows, dtype=np.float64)
        nb = chunk.shape[0]
        mean_b = chunk.mean(axis=0)
        if not np.isfinite(mean_b).all():
            self._raise_not_finite(chunk, start)
        chunk -= mean_b
        np.square(chunk, out=chunk)
        m2_b = chunk.sum(axis=0)
        if count == 0:
            return nb, mean_b, m2_b
        # Chan, Golub & LeVeque: merge (count, mean, m2) with the chunk's
        total = count + nb
        delta = mean_b - mean
        mean += delta * (nb / total)
        m2 += m2_b
        m2 += delta * delta * (count * nb / total)
        return total, mean, m2

    @staticmethod
    def _raise_not_finite(chunk: np.ndarray, start: int) -> None:
        bad = np.argwhere(~np.isfinite(chunk))
        if bad.size:
            row, col = (int(i) for i in bad[0])
            raise ValueError(f"X contains {chunk[row, col]} at row {start + row}, feature {col}; "
                             "Normalizer.fit needs finite values")
        raise ValueError("X holds values so large that their sum overflows float64 "
                         f"(rows from {start})")

    def fit_transform(self, X: ArrayLike) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``.

        Examples
        --------
        >>> Normalizer().fit_transform([[1.0], [3.0]]).round(6)
        array([[-1.],
               [ 1.]])
        """
        return self.fit(X).transform(X)

    # ------------------------------------------------------------ applying

    def _check_fitted(self, action: str) -> None:
        if not hasattr(self, "mean_"):
            raise NotFittedError(f"this Normalizer is not fitted yet; call fit(X) (or "
                                 f"set_weights) before {action}")

    def _get_scale(self) -> np.ndarray:
        if self._scale is None:
            scale = np.sqrt(self.variance_ + self.epsilon)
            scale[scale == 0] = 1.0
            self._scale = scale
        return self._scale

    def _check_features(self, X: ArrayLike, action: str) -> tuple[np.ndarray, np.dtype[Any]]:
        self._check_fitted(action)
        X, dt = _check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features (shape {X.shape}), but this "
                             f"Normalizer was fitted with n_features={self.n_features_in_}")
        return X, dt

    def transform(self, X: ArrayLike) -> np.ndarray:
        """``(X - mean_) / sqrt(variance_ + epsilon)`` with the statistics learned by ``fit``.

        Parameters
        ----------
        X : array_like (m, n_features)

        Returns
        -------
        ndarray (m, n_features), C-contiguous
            float32 for float32 ``X``, else float64. Its transpose is the
            lecture's ``(n_x, m)`` input without a copy.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            ``X`` with another number of features than seen by ``fit``.

        Examples
        --------
        >>> norm = Normalizer(epsilon=0.0).fit([[0.0], [2.0]])
        >>> norm.transform([[4.0]])
        array([[3.]])
        """
        X, dt = self._check_features(X, "transform")
        out = np.empty(X.shape, dtype=dt)
        np.subtract(X, self.mean_.astype(dt), out=out)
        np.divide(out, self._get_scale().astype(dt), out=out)
        return out

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Undo :meth:`transform`: ``X * sqrt(variance_ + epsilon) + mean_``.

        Examples
        --------
        >>> norm = Normalizer(epsilon=0.0).fit([[0.0], [2.0]])
        >>> norm.inverse_transform([[3.0]])
        array([[4.]])
        """
        X, dt = self._check_features(X, "inverse_transform")
        out = np.empty(X.shape, dtype=dt)
        np.multiply(X, self._get_scale().astype(dt), out=out)
        np.add(out, self.mean_.astype(dt), out=out)
        return out

    # ------------------------------------------------------------ saving

    def get_weights(self) -> list[np.ndarray]:
        """``[mean_, variance_]`` (copies), what ``set_weights`` takes back.

        Examples
        --------
        >>> Normalizer().fit([[0.0], [2.0]]).get_weights()
        [array([1.]), array([1.])]
        """
        self._check_fitted("get_weights")
        return [self.mean_.copy(), self.variance_.copy()]

    def set_weights(self, weights: list[ArrayLike] | tuple[ArrayLike, ...]) -> None:
        """Set ``[mean, variance]`` (1-D, same length, finite, variance ``>= 0``) as if fitted.

        Examples
        --------
        >>> norm = Normalizer(epsilon=0.0)
        >>> norm.set_weights([[1.0, 0.0], [4.0, 1.0]])
        >>> norm.transform([[3.0, 1.0]])
        array([[1., 1.]])
        """
        if not isinstance(weights, (list, tuple)) or len(weights) != 2:
            raise ValueError("weights must be a list [mean, variance], got "
                             f"{type(weights).__name__}"
                             + (f" of length {len(weights)}" if hasattr(weights, "__len__")
                                else ""))
        mean, variance = (np.asarray(w) for w in weights)
        for what, w in (("mean", mean), ("variance", variance)):
            if w.dtype.kind not in "biuf":
                raise TypeError(f"{what} must hold real numbers, got dtype {w.dtype}")
            if w.ndim != 1 or w.size == 0:
                raise ValueError(f"{what} must be 1-D (n_features,), got shape {w.shape}")
            if not np.isfinite(w).all():
                raise ValueError(f"{what} must be finite")
        if mean.shape != variance.shape:
            raise ValueError(f"mean has shape {mean.shape} but variance has shape "
                             f"{variance.shape}; both must be (n_features,)")
        if (variance < 0).any():
            raise ValueError("variance must be >= 0")
        self.mean_ = mean.astype(np.float64)
        self.variance_ = variance.astype(np.float64)
        self.n_features_in_ = int(mean.shape[0])
        self._scale = None

    def get_config(self) -> dict[str, Any]:
        """JSON-able constructor arguments; ``Normalizer.from_config`` rebuilds it (unfitted).

        Examples
        --------
        >>> Normalizer.from_config(Normalizer(epsilon=1e-3).get_config()).epsilon
        0.001
        """
        return {"name": "normalizer", "epsilon": self.epsilon, "chunk_rows": self.chunk_rows}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Normalizer":
        """Rebuild from :meth:`get_config` (the ``name`` key is optional)."""
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        config = dict(config)
        name = config.pop("name", "normalizer")
        if name != "normalizer":
            raise ValueError(f"config is for {name!r}, not 'normalizer'")
        try:
            return cls(**config)
        except TypeError:
            raise ValueError(f"bad config for Normalizer: {config!r}") from None

    def __repr__(self) -> str:
        return f"Normalizer(epsilon={self.epsilon!r}, chunk_rows={self.chunk_rows!r})"
