"""Interleaved wall-clock timing, robust to a small and shared machine.

Every implementation of a case is calibrated once (an inner loop long enough
for one sample to last ``target_ns``), then samples are taken round-robin
(A, B, C, A, B, C, ...) so that a burst of load from another process hits all
implementations alike. Medians and minima are reported per call.
"""
from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Mapping

Thunk = Callable[[], object]


@dataclass(frozen=True)
class Stats:
    """Per-call times of one implementation, in nanoseconds."""

    median_ns: float
    min_ns: float
    q1_ns: float                   # first and third quartiles: the spread of the samples
    q3_ns: float
    number: int                    # calls per sample
    sample_ns: tuple[float, ...]   # per-call time of each sample

    @property
    def samples(self) -> int:
        """How many samples were taken."""
        return len(self.sample_ns)


def _time_loop(fn: Thunk, number: int) -> int:
    """Wall time in ns of ``number`` back-to-back calls of ``fn``."""
    start = time.perf_counter_ns()
    for _ in range(number):
        fn()
    return time.perf_counter_ns() - start


def calibrate(fn: Thunk, target_ns: int) -> int:
    """Warm ``fn`` up and return the call count that makes a sample last ``>= target_ns``.

    The count doubles until a loop lasts a quarter of the target, then is scaled
    up from that estimate; a function slower than the target gets 1 call.
    """
    fn()  # first call: page faults of fresh buffers, lazy initialisation
    number = 1
    while True:
        elapsed = max(_time_loop(fn, number), 1)
        if elapsed >= target_ns // 4:
            return max(1, math.ceil(number * target_ns / elapsed))
        number *= 2


def measure(impls: Mapping[str, Thunk], samples: int, target_ns: int) -> dict[str, Stats]:
    """Time every implementation ``samples`` times, interleaved; GC is off meanwhile."""
    numbers = {name: calibrate(fn, target_ns) for name, fn in impls.items()}
    per_call: dict[str, list[float]] = {name: [] for name in impls}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(samples):
            for name, fn in impls.items():
                per_call[name].append(_time_loop(fn, numbers[name]) / numbers[name])
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: _stats(times, numbers[name]) for name, times in per_call.items()}


def _stats(times: list[float], number: int) -> Stats:
    """Summary of per-call sample times (quartiles are the median for a single sample)."""
    q1, _, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else (times[0],) * 3
    return Stats(statistics.median(times), min(times), q1, q3, number, tuple(times))
