"""``require_sklearn``: the one place that says scikit-learn is missing or too old.

Examples
--------
>>> require_sklearn() is None
True
"""
from __future__ import annotations

MIN_VERSION = (1, 6)
_HINT = ("fastdnn.sklearn needs scikit-learn >= {v}; install it with "
         "pip install 'fastdnn[sklearn]' (or pip install 'scikit-learn>={v}')")


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def require_sklearn() -> None:
    """Raise ``ImportError`` naming the ``[sklearn]`` extra unless scikit-learn >= 1.6 imports.

    Examples
    --------
    >>> require_sklearn()   # scikit-learn is installed here: nothing happens
    """
    wanted = ".".join(map(str, MIN_VERSION))
    try:
        import sklearn
    except ImportError as exc:
        raise ImportError(_HINT.format(v=wanted)) from exc
    version = getattr(sklearn, "__version__", "0")
    if _version_tuple(version) < MIN_VERSION:
        raise ImportError(_HINT.format(v=wanted) + f"; found scikit-learn {version}")
