"""``Poisson``: the negative log-likelihood of counts ``y`` under rates ``a``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .._validation import check_bool
from .loss import Loss, _check_pair, _compiled_gradient, _compiled_sum, _regression_targets, _spec

if TYPE_CHECKING:
    from typing import Any

    import numpy as np

    from .._compiled import LossKernel
    from .loss import ArrayLike

__all__ = ["Poisson"]


class Poisson(Loss):
    """Poisson loss ``L = sum_k (a_k - y_k log(a_k + 1e-7))`` for rates ``a > 0`` (Keras'
    ``Poisson``; PyTorch's ``poisson_nll_loss`` with ``log_input=False, eps=1e-7``).

    The output must be positive (e.g. a sigmoid or softplus unit); a negative
    rate gives NaN. With ``log_input=True`` the output is the log of the rate
    ``z`` (a linear output, for any ``z``): ``L = sum_k (e^z_k - y_k z_k)``, whose
    gradient ``e^z - y`` is the exponential output's ``dZ = A - Y`` (PyTorch's
    ``log_input=True``).

    Targets: as :class:`MeanSquaredError`'s, non-negative (counts or rates).

    Parameters
    ----------
    log_input : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> round(Poisson().cost(np.array([[2.0]]), np.array([[1.0]])), 6)  # 2 - log 2
    1.306853
    >>> round(Poisson(log_input=True).cost(np.array([[np.log(2.0)]]), np.array([[1.0]])), 6)
    1.306853
    """

    name = "poisson"

    def __init__(self, log_input: bool = False):
        self.log_input = check_bool(log_input, "log_input")

    def _cost_sum(self, A: np.ndarray, Y: np.ndarray) -> float:
        return _compiled_sum(Poisson, A, Y, self.log_input)

    def gradient(self, A: ArrayLike, Y: ArrayLike) -> np.ndarray:
        A, Y = _check_pair(A, Y)
        return _compiled_gradient(Poisson, A, Y, self.log_input)

    def _prepare(self, y: np.ndarray, n: int, what: str, dt: np.dtype[Any]) -> np.ndarray:
        y = _regression_targets(y, n, what)
        if y.min() < 0:
            raise ValueError(f"poisson needs non-negative targets (counts or rates); {what} "
                             f"holds {y.min()}")
        return y

    def compiled_spec(self) -> LossKernel:
        return _spec(self, Poisson, Poisson.name, self.log_input)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "log_input": self.log_input}
