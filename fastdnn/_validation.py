"""Argument checks of the public entry points, with one message style.

Every check names the argument and says what was expected and what was given:
a value of the wrong kind raises ``TypeError`` (``"epochs must be an int >= 0,
got str"``), a value of the right kind out of range raises ``ValueError``
(``"epochs must be an int >= 0, got -1"``). Kernels trust their inputs; these
checks are what stands before them.

Examples
--------
>>> check_int(3, "epochs", 0)
3
>>> check_real(0.5, "rate", 0.0, 1.0, high_open=True)
0.5
>>> check_int(-1, "epochs", 0)
Traceback (most recent call last):
...
ValueError: epochs must be an int >= 0, got -1
"""
from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Iterable, overload

import numpy as np

if TYPE_CHECKING:
    from typing import Literal

    from numpy.typing import ArrayLike, NDArray

__all__ = ["CHECK_ROWS", "is_int", "is_real", "check_int", "check_real", "check_bool", "check_range",
           "check_choice", "check_dtype", "check_seed", "as_matrix", "check_finite",
           "float_array", "real_array", "check_sample_weight", "check_class_weight"]

# rows checked for NaN/inf at a time (bounded temporaries on large or memmapped X)
CHECK_ROWS = 65536


def is_int(value: Any) -> bool:
    """An integer that is not a bool (Python or NumPy)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """A real number that is not a bool (Python or NumPy)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool,
           fmt: str) -> str:
    if low is not None and high is not None and high != math.inf:
        return (f" in {'(' if low_open else '['}{low:{fmt}}, "
                f"{high:{fmt}}{')' if high_open else ']'}")
    if low is not None:
        return f" {'>' if low_open else '>='} {low:{fmt}}"
    if high is not None and high != math.inf:
        return f" {'<' if high_open else '<='} {high:{fmt}}"
    return ""


@overload
def check_int(value: Any, name: str, minimum: int | None = None, maximum: int | None = None,
              *, allow_none: Literal[False] = False) -> int: ...
@overload
def check_int(value: Any, name: str, minimum: int | None = None, maximum: int | None = None,
              *, allow_none: bool) -> int | None: ...
def check_int(value: Any, name: str, minimum: int | None = None, maximum: int | None = None,
              *, allow_none: bool = False) -> int | None:
    """``value`` as an int in ``[minimum, maximum]`` (``None`` passes with ``allow_none``).

    Examples
    --------
    >>> check_int(None, "seed", 0, allow_none=True) is None
    True
    """
    if value is None and allow_none:
        return None
    ok_type = is_int(value)
    if ok_type and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return int(value)
    expected = "an int" + _range(minimum, maximum, False, False, "d") + \
        (" or None" if allow_none else "")
    if not ok_type:
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")
    raise ValueError(f"{name} must be {expected}, got {value!r}")


@overload
def check_real(value: Any, name: str, minimum: float | None = None,
               maximum: float | None = None, *, low_open: bool = False,
               high_open: bool = False, finite: bool = True,
               allow_none: Literal[False] = False) -> float: ...
@overload
def check_real(value: Any, name: str, minimum: float | None = None,
               maximum: float | None = None, *, low_open: bool = False,
               high_open: bool = False, finite: bool = True,
               allow_none: bool) -> float | None: ...
def check_real(value: Any, name: str, minimum: float | None = None,
               maximum: float | None = None, *, low_open: bool = False,
               high_open: bool = False, finite: bool = True,
               allow_none: bool = False) -> float | None:
    """``value`` as a float within the bounds (finite unless ``finite=False``).

    Examples
    --------
    >>> check_real(2, "lam", 0.0)
    2.0
    >>> check_real(0.0, "epsilon", 0.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: epsilon must be a finite number > 0, got 0.0
    """
    if value is None and allow_none:
        return None
    ok_type = type(value) is float or is_real(value)
    if ok_type:
        x = float(value)
        ok = x == x and (not finite or -math.inf < x < math.inf)
        if ok and minimum is not None:
            ok = x > minimum if low_open else x >= minimum
        if ok and maximum is not None:
            ok = x < maximum if high_open else x <= maximum
        if ok:
            return x
    bounds = _range(minimum, maximum, low_open, high_open, "g") + \
        (" or None" if allow_none else "")
    if not ok_type:
        raise TypeError(f"{name} must be a real number{bounds}, got {type(value).__name__}")
    expected = ("a finite number" if finite else "a number") + bounds
    raise ValueError(f"{name} must be {expected}, got {value!r}")


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool (Python or NumPy bools only).

    Examples
    --------
    >>> check_bool(np.True_, "shuffle")
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Iterable[str], hint: str = "") -> str:
    """``value``, one of the strings ``choices``.

    Examples
    --------
    >>> check_choice("min", "mode", ("auto", "min", "max"))
    'min'
    """
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, "
                         f"got {value!r}{hint}")
    return value


def check_dtype(dtype: Any, name: str = "dtype") -> np.dtype[np.floating[Any]]:
    """float32 or float64 as a ``numpy.dtype``.

    Examples
    --------
    >>> check_dtype("float32")
    dtype('float32')
    """
    try:
        dt: np.dtype[Any] = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {dt}")
    return dt


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """A seed: a non-negative int or None.

    Examples
    --------
    >>> check_seed(7)
    7
    """
    return check_int(seed, name, 0, allow_none=True)


def as_matrix(X: ArrayLike, name: str = "X") -> np.ndarray:
    """``X`` as a 2-D ndarray of real numbers; an ndarray (memmap, view) is never copied.

    Examples
    --------
    >>> as_matrix([[1, 2]]).shape
    (1, 2)
    """
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except Exception as exc:  # ragged lists and the like: numpy says what is wrong
            raise TypeError(f"{name} must be array-like of numbers: {exc}") from None
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (m examples, n_features), got shape {X.shape}")
    return X


def float_array(x: Any, name: str) -> NDArray[np.floating[Any]]:
    """``x`` as a float32/float64 array: arrays must already be; lists/scalars are converted.

    Examples
    --------
    >>> float_array([1, 2], "A")
    array([1., 2.])
    >>> float_array(np.zeros(2, dtype=np.int64), "A")
    Traceback (most recent call last):
    ...
    TypeError: A must be a float32 or float64 array, got dtype int64
    """
    if isinstance(x, np.ndarray):
        if x.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} must be a float32 or float64 array, got dtype {x.dtype}")
        return x
    arr = np.asarray(x)
    if arr.dtype in (np.float32, np.float64):
        return arr
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64)
    raise TypeError(f"{name} must be a float32 or float64 array, got {type(x).__name__} "
                    f"of dtype {arr.dtype}")


def real_array(x: Any, name: str) -> np.ndarray:
    """``x`` as an array of bool, int or float (no object, complex or strings).

    Examples
    --------
    >>> real_array([True, False], "Y").dtype
    dtype('bool')
    >>> real_array(["a"], "Y")
    Traceback (most recent call last):
    ...
    TypeError: Y must hold real numbers (bool, int or float), got dtype <U1
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers (bool, int or float), got dtype "
                        f"{arr.dtype}")
    return arr


def check_finite(X: np.ndarray, name: str = "X", hint: str = "", dtype: Any = None) -> None:
    """Raise ``ValueError`` naming the first row of ``X`` with a NaN or infinity, or, when
    ``dtype`` is a narrower float than ``X``'s, with a value that becomes infinite in it.

    ``X`` is read ``CHECK_ROWS`` rows at a time, so a large or memory-mapped
    array needs no temporary of its size.

    Examples
    --------
    >>> check_finite(np.array([[0.0], [np.nan]]))
    Traceback (most recent call last):
    ...
    ValueError: X contains NaN or infinity (first in row 1)
    >>> check_finite(np.array([[0.0], [1e39]]), dtype=np.float32)
    Traceback (most recent call last):
    ...
    ValueError: X has values beyond float32's range (first in row 1: 1e+39); the model computes in float32
    """
    if X.dtype.kind != "f":
        return
    for start in range(0, X.shape[0], CHECK_ROWS):
        chunk = X[start:start + CHECK_ROWS]
        ok = np.isfinite(chunk)
        if not ok.all():
            bad = start + int(np.nonzero(~ok.reshape(len(chunk), -1).all(axis=1))[0][0])
            raise ValueError(f"{name} contains NaN or infinity (first in row {bad}){hint}")
    check_range(X, dtype, name)


def check_range(X: np.ndarray, dtype: Any, name: str = "X") -> None:
    """Raise ``ValueError`` when ``X`` holds finite values that the narrower float ``dtype``
    cannot hold (they would become infinite in the cast); NaN and infinity pass.

    Examples
    --------
    >>> check_range(np.array([1e300]), np.float64)
    >>> check_range(np.array([-1e39, 0.0]), np.float32)
    Traceback (most recent call last):
    ...
    ValueError: X has values beyond float32's range (first in row 0: -1e+39); the model computes in float32
    """
    if dtype is None or X.dtype.kind != "f" or np.dtype(dtype).itemsize >= X.dtype.itemsize:
        return
    big = float(np.finfo(dtype).max)
    for start in range(0, X.shape[0], CHECK_ROWS):
        chunk = X[start:start + CHECK_ROWS]
        with np.errstate(invalid="ignore"):
            over = np.abs(chunk) > big
        if over.any():
            row = int(np.nonzero(over.reshape(len(chunk), -1).any(axis=1))[0][0])
            value = chunk.reshape(len(chunk), -1)[row][over.reshape(len(chunk), -1)[row]][0]
            raise ValueError(f"{name} has values beyond {np.dtype(dtype).name}'s range (first "
                             f"in row {start + row}: {value:.3g}); the model computes in "
                             f"{np.dtype(dtype).name}")


def check_sample_weight(sample_weight: Any, m: int, name: str = "sample_weight",
                        x_name: str = "X") -> NDArray[np.float64]:
    """One weight per example of ``x_name``: a float64 array ``(m,)`` of finite numbers
    >= 0 (``(m, 1)`` is taken as ``(m,)``).

    Examples
    --------
    >>> check_sample_weight([1, 2, 0.5], 3)
    array([1. , 2. , 0.5])
    >>> check_sample_weight([1.0, -1.0], 2)
    Traceback (most recent call last):
    ...
    ValueError: sample_weight must hold finite numbers >= 0, got -1.0 (example 1)
    """
    w = real_array(sample_weight, name)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 1:
        raise ValueError(f"{name} must have shape ({m},): one weight per example of "
                         f"{x_name}, got shape {w.shape}")
    if w.shape[0] != m:
        raise ValueError(f"{name} has {w.shape[0]} weights but {x_name} has {m} examples: "
                         "one weight per example")
    w = w.astype(np.float64)
    bad = ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must hold finite numbers >= 0, got {float(w[i])!r} (example {i})")
    return w


def check_class_weight(class_weight: Any, n_classes: int | None,
                       name: str = "class_weight") -> dict[int, float]:
    """``{class: weight}`` with int classes (in ``[0, n_classes)`` when ``n_classes`` is
    given) and finite weights >= 0.

    Examples
    --------
    >>> check_class_weight({0: 1, 1: 3.0}, 2)
    {0: 1.0, 1: 3.0}
    >>> check_class_weight({2: 1.0}, 2)
    Traceback (most recent call last):
    ...
    ValueError: class_weight has class 2, but the model's classes are 0 to 1
    """
    from collections.abc import Mapping

    if not isinstance(class_weight, Mapping):
        raise TypeError(f"{name} must be a dict {{class: weight}}, got "
                        f"{type(class_weight).__name__}")
    out = {}
    for key, value in class_weight.items():
        if not is_int(key):
            raise TypeError(f"{name} keys must be int class labels, got {key!r}")
        if n_classes is not None and not 0 <= key < n_classes:
            raise ValueError(f"{name} has class {key}, but the model's classes are 0 to "
                             f"{n_classes - 1}")
        out[int(key)] = check_real(value, f"{name}[{key}]", 0.0)
    return out
