"""Interleaved wall-clock timing, robust to a small and shared machine.

Every implementation of a case is calibrated once (an inner loop long enough
for one sample to last ``target_ns``), then samples are taken round-robin
(A, B, C, A, B, C, ...) so that a burst of load from another process hits all
implementations alike. Medians and minima are reported per call.

Implementations that run on thread pools which keep spinning after a call
(OpenBLAS workers busy-wait about 0.1 s for more work; NumPy and SciPy each
load their own OpenBLAS) slow down whichever implementation runs next. For
them ``measure`` takes a ``warmup_ns``: samples are then grouped in a few
rounds (A A A, B B B, C C C, A A A, ...), each run of samples preceded by
untimed calls of the same implementation lasting ``warmup_ns``, so that the
previous implementation's threads have gone to sleep before timing starts.
A case may ask for as many rounds as samples (one sample per turn): on a VM
whose speed drifts by up to 2x for seconds at a time, that spreads every
implementation's samples over the same stretch of time, so their medians
(and ratios) see the same mixture of fast and slow periods.
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


def call_times(fn: Thunk, count: int, warmup: int = 3) -> list[float]:
    """Seconds of each of ``count`` single calls of ``fn``, after ``warmup`` untimed ones
    (for calls long enough to time one by one)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def calibrate(fn: Thunk, target_ns: int) -> int:
    """Warm ``fn`` up and return the call count that makes a sample last ``>= target_ns``.

    The count doubles until a loop lasts a quarter of the target, then is scaled
    up from the fastest of that loop and two more of the same count (one stalled loop
    alone had made samples of 2 calls of ~0.1 ms where 20 were due); a function slower
    than the target gets 1 call.
    """
    fn()  # first call: page faults of fresh buffers, lazy initialisation
    number = 1
    while True:
        elapsed = max(_time_loop(fn, number), 1)
        if elapsed >= target_ns // 4:
            if number > 1:
                elapsed = min(elapsed, *(max(_time_loop(fn, number), 1) for _ in range(2)))
            return max(1, math.ceil(number * target_ns / elapsed))
        number *= 2


def warm_up(fn: Thunk, duration_ns: int) -> None:
    """Call ``fn`` untimed, at least once, until ``duration_ns`` have passed."""
    end = time.perf_counter_ns() + duration_ns
    fn()
    while time.perf_counter_ns() < end:
        fn()


def _runs(samples: int, warmup_ns: int, rounds: int) -> list[int]:
    """Samples per turn of an implementation: 1 each (fully interleaved) without warm-up,
    else ``samples`` split into at most ``rounds`` nearly equal runs."""
    if warmup_ns <= 0:
        return [1] * samples
    k = max(1, min(rounds, samples))
    return [samples // k + (i < samples % k) for i in range(k)]


def _remote(fn: Thunk) -> bool:
    """An implementation timed in a process of its own: it calibrates and takes its
    samples there (``remote_calibrate(target_ns)`` -> calls per sample,
    ``remote_samples(warmup_ns, count, number)`` -> per-call times in ns, after its own
    warm-up), and calling it returns its output."""
    return hasattr(fn, "remote_samples")


def measure(impls: Mapping[str, Thunk], samples: int, target_ns: int,
            warmup_ns: int = 0, rounds: int = 3) -> dict[str, Stats]:
    """Time every implementation ``samples`` times, interleaved; GC is off meanwhile.

    With ``warmup_ns > 0`` the samples come in at most ``rounds`` runs per
    implementation, each after ``warmup_ns`` of untimed calls (see the module doc).
    An implementation in a process of its own (``_remote``) takes its turns there.
    """
    numbers = {name: fn.remote_calibrate(target_ns) if _remote(fn) else calibrate(fn, target_ns)
               for name, fn in impls.items()}
    per_call: dict[str, list[float]] = {name: [] for name in impls}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for run in _runs(samples, warmup_ns, rounds):
            for name, fn in impls.items():
                if _remote(fn):
                    per_call[name] += fn.remote_samples(warmup_ns, run, numbers[name])
                    continue
                if warmup_ns > 0:
                    warm_up(fn, warmup_ns)
                for _ in range(run):
                    per_call[name].append(_time_loop(fn, numbers[name]) / numbers[name])
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: _stats(times, numbers[name]) for name, times in per_call.items()}


def _stats(times: list[float], number: int) -> Stats:
    """Summary of per-call sample times (quartiles are the median for a single sample)."""
    q1, _, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else (times[0],) * 3
    return Stats(statistics.median(times), min(times), q1, q3, number, tuple(times))
