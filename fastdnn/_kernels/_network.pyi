# Stub for the compiled module _network.pyx: the names the Python code uses.
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

BATCH_NORM: int
LAYER_NORM: int

def cut_by_weight_rows(n_out: int, n_in: int, m: int, f64: bool) -> bool: ...
def column_step_limit(limit: float | None = None) -> float: ...

class Plan:
    steps_done: int
    diverged: bool
    n_accumulators: int
    @property
    def batches_read_in_place(self) -> int: ...
    @property
    def steps_split_by_columns(self) -> int: ...
    def __init__(
        self,
        layers: list[tuple[Any, ...]],
        normalizer: tuple[NDArray[Any], NDArray[Any]] | None,
        loss: int | tuple[int, bool, float],
        fused: bool,
        opt: int,
        hyper: tuple[float, float, float, float, float, bool, float, float, float],
        slots: list[Any],
        metrics: list[tuple[int, float, int, bool]],
        B: int,
        dtype: DTypeLike,
    ) -> None: ...
    def run(
        self,
        X: NDArray[Any],
        Y: NDArray[Any],
        perm: NDArray[np.int64] | None,
        m: int,
        step0: int,
        step1: int,
        lr: float,
        t0: int,
        costs: NDArray[np.float64],
        metric_sums: NDArray[np.float64],
        counter: object = None,
        stop_on_nan: bool = False,
        sample_weight: NDArray[Any] | None = None,
        reduce: Callable[[float], float] | None = None,
        global_sizes: NDArray[np.float64] | None = None,
    ) -> int: ...
    def gradient(
        self,
        X: NDArray[Any],
        Y: NDArray[Any],
        m: int,
        sample_weight: NDArray[Any] | None = None,
        K: float = 0,
    ) -> float: ...

class Forward:
    @property
    def capacity(self) -> int: ...
    def __init__(
        self,
        layers: list[tuple[Any, ...]],
        normalizer: tuple[NDArray[Any], NDArray[Any]] | None,
        capacity: int,
        dtype: DTypeLike,
    ) -> None: ...
    def predict_current(
        self, X: object, layers: tuple[Any, ...], Ws: tuple[Any, ...], codes: tuple[Any, ...]
    ) -> NDArray[np.floating[Any]] | None: ...
    def run(self, X: NDArray[Any], out: NDArray[Any]) -> None: ...
