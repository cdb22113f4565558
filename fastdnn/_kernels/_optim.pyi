# Stub for the compiled module _optim.pyx: the names the Python code uses.
from collections.abc import Sequence
from typing import Any

from numpy.typing import NDArray

def check_params(params: Sequence[NDArray[Any]]) -> None: ...
def nadam_mu_product(
    beta1: float, momentum_decay: float, t: int, known_t: int = 0, known: float = 1.0
) -> float: ...
def update(
    op: int,
    params: list[NDArray[Any]],
    grads: list[NDArray[Any]],
    slots: tuple[list[NDArray[Any]], ...],
    slot_names: tuple[str, ...],
    decays: Sequence[float] | NDArray[Any] | None,
    learning_rate: float,
    beta1: float = 0.0,
    beta2: float = 0.0,
    epsilon: float = 0.0,
    t: int = 1,
    *,
    weight_decay: float = 0.0,
    momentum_decay: float = 0.0,
    nesterov: bool = False,
    mu_product: float = 1.0,
    clipnorm: float = 0.0,
    global_clipnorm: float = 0.0,
    clipvalue: float = 0.0,
) -> None: ...
