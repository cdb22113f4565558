"""``SparseCategoricalCrossentropy``: the categorical cross-entropy of integer class labels."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._validation import check_bool
from .categorical_crossentropy import CategoricalCrossentropy

if TYPE_CHECKING:
    from typing import Any

    import numpy as np

__all__ = ["SparseCategoricalCrossentropy"]


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy of integer class labels, fused with a softmax output.

    The loss of :class:`CategoricalCrossentropy` (the same kernel): the targets
    are class indices, shape ``(m,)`` or ``(m, 1)``, in ``[0, n_outputs)``
    (int, or float with integral values), one-hot encoded by
    :meth:`prepare_targets`; one-hot rows are refused (use
    ``categorical_crossentropy`` for those).

    Parameters
    ----------
    from_logits : bool, default False
        ``A`` holds logits (a linear output): ``L = logsumexp(z) - z_y``.

    Examples
    --------
    >>> import numpy as np
    >>> scce = SparseCategoricalCrossentropy()
    >>> scce.prepare_targets([1, 0], n_outputs=2, dtype=np.float64)
    array([[0., 1.],
           [1., 0.]])
    >>> round(scce([1, 0], np.array([[0.5, 0.5], [0.5, 0.5]])), 6)
    0.693147
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False):
        super().__init__(check_bool(from_logits, "from_logits"))

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"{what} has shape {y.shape}; sparse_categorical_crossentropy "
                             f"needs integer class labels of shape (m,); for one-hot rows use "
                             "categorical_crossentropy")
        return self._one_hot(y, n, what, dt)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "from_logits": self.from_logits}
