# Stub for the compiled module _losses.pyx: the names the Python code uses.
from typing import Any

from numpy.typing import NDArray

def cost_sum(loss: int, A: NDArray[Any], Y: NDArray[Any], clip: bool = True) -> float: ...
def cost_sum_weighted(
    loss: int, A: NDArray[Any], Y: NDArray[Any], w: NDArray[Any], clip: bool = True
) -> float: ...
def clip_range(f32: bool) -> tuple[float, float]: ...
