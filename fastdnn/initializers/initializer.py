"""``Initializer``: the base class, and the shape, seed and fan conventions of all initializers."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .. import _registry
from .._validation import check_dtype, check_seed, is_int

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

__all__ = ["Initializer", "fan_in_and_fan_out"]

RngLike = Union[None, int, np.random.Generator]
Shape = Union[int, tuple[int, ...], list[int]]


def _check_shape(shape: Any) -> tuple[int, ...]:
    if is_int(shape):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(is_int(n) for n in shape):
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}")
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"shape must not have negative dimensions, got {shape}")
    return shape  # type: ignore[no-any-return]  # a tuple of ints


def _resolve_rng(rng: RngLike, default: np.random.Generator | None) -> np.random.Generator:
    if rng is None:
        return default if default is not None else np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if is_int(rng):
        if rng < 0:
            raise ValueError(f"rng seed must be >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError("rng must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(rng).__name__}")


def fan_in_and_fan_out(shape: Shape) -> tuple[int, int]:
    """Fan-in and fan-out of a parameter of the given shape (lecture layout).

    * ``(n_l, n_prev)`` -- a weight matrix ``W``: ``fan_in = n_prev`` (``shape[1]``),
      ``fan_out = n_l`` (``shape[0]``).
    * ``(n_l, 1)`` or ``(n_l,)`` -- a bias: the weights of a constant input 1,
      so ``fan_in = 1`` and ``fan_out = n_l`` (a 1-D shape is read as a column).
    * ``()`` -- a scalar: ``(1, 1)``.
    * more than two dimensions ``(out, in, *k)``: each fan is multiplied by
      ``prod(k)`` (the PyTorch convention for weights with a receptive field).

    Parameters
    ----------
    shape : int or tuple of int

    Returns
    -------
    (fan_in, fan_out) : tuple of int

    Examples
    --------
    >>> fan_in_and_fan_out((3, 5))
    (5, 3)
    >>> fan_in_and_fan_out((3, 1)), fan_in_and_fan_out(3)
    ((1, 3), (1, 3))
    """
    shape = _check_shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return 1, shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


class Initializer:
    """Base class: a callable ``init(shape, dtype=np.float32, rng=None) -> ndarray``.

    Subclasses set ``name`` (their registry name) and implement ``_draw``.
    Random subclasses take ``seed`` in the constructor (see the module notes).

    Examples
    --------
    >>> class Halves(Initializer):
    ...     name = "halves"
    ...     def _draw(self, shape, dtype, rng):
    ...         return np.full(shape, 0.5, dtype)
    >>> Halves()((2,))
    array([0.5, 0.5], dtype=float32)
    """

    name: str = ""
    _random = False

    def __init__(self, seed: int | None = None):
        self.seed = check_seed(seed)
        self._generator: np.random.Generator | None = None

    def __call__(self, shape: Shape, dtype: DTypeLike = np.float32, rng: RngLike = None
                 ) -> np.ndarray:
        """A new array of ``shape`` and ``dtype`` (float32 or float64).

        Parameters
        ----------
        shape : int or tuple of int
            ``(n_l, n_prev)`` for a weight matrix, ``(n_l, 1)`` for a bias.
        dtype : float32 or float64, default float32
        rng : None, int or numpy.random.Generator
            Source of randomness; wins over the constructor's ``seed``.
            Ignored by the constant initializers (but still type-checked).
        """
        shape = _check_shape(shape)
        dt = check_dtype(dtype)
        if not self._random:
            if not (rng is None or isinstance(rng, np.random.Generator)):
                _resolve_rng(rng, None)  # type and range check only
            return self._draw(shape, dt, None)  # type: ignore[arg-type]  # constants draw nothing
        default = None
        if rng is None and self.seed is not None:
            if self._generator is None:
                self._generator = np.random.default_rng(self.seed)
            default = self._generator
        gen = _resolve_rng(rng, default)
        if math.prod(shape) == 0:
            return np.empty(shape, dt)
        return self._draw(shape, dt, gen)

    def _draw(self, shape: tuple[int, ...], dtype: np.dtype[Any],
              rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """JSON-able description; ``get(config)`` or ``from_config`` rebuilds it."""
        config: dict[str, Any] = {"name": self.name}
        if self._random:
            config["seed"] = self.seed
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Initializer":
        """Rebuild an initializer from :meth:`get_config` (the ``name`` key is optional).

        Examples
        --------
        >>> from fastdnn.initializers import HeNormal
        >>> HeNormal.from_config(HeNormal(seed=3).get_config()).seed
        3
        """
        from . import _lookup  # the registry is the package's, which imports this module

        return _registry.from_config(  # type: ignore[no-any-return]  # an instance of cls
            cls, config, _lookup, "initializer")

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"
