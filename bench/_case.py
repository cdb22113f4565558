"""What a benchmark section produces: cases, each a dict of callables per implementation.

A section yields :class:`Case` objects; the runner checks their outputs agree,
times them with :func:`_timing.measure` and turns the result into JSON records
with :func:`run_case`. Sections never time anything themselves.

What a check finds wrong is a *failure* (``bench/run.py --check`` exits 1 on
any); what is merely worth knowing is a *note*.

A case with ``repeats > 0`` is a *run* case: each call is a whole run (a
training of many epochs, seconds long), so it is not calibrated, compared or
repeated thousands of times; :func:`measure_runs` times exactly ``repeats``
calls per implementation instead (see there).
"""
from __future__ import annotations

import gc
import statistics
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, NamedTuple

import numpy as np

from _timing import Stats, Thunk, _stats, _time_loop, measure


@dataclass(frozen=True)
class Config:
    """Settings shared by all sections.

    ``smoke`` (which implies ``quick``) asks for the smallest sizes and no untimed
    warm-up: a run that checks results, not speed.
    """

    quick: bool
    samples: int          # samples per implementation
    target_ns: int        # minimum duration of one sample
    torch: ModuleType | None = None   # the optional competitor, when importable
    smoke: bool = False

    def warmup(self, ns: int) -> int:
        """A section's untimed warm-up before each run of samples: ``ns``, none in smoke mode."""
        return 0 if self.smoke else ns


@dataclass(frozen=True)
class Ratio:
    """``numerator``'s time over ``denominator``'s, reported under ``label``: the median
    over rounds of the ratio of their samples in the same round (see :func:`paired_ratio`)."""

    label: str
    numerator: str
    denominator: str


@dataclass
class Case:
    """One benchmarked operation at one size and dtype, in several implementations.

    ``impls`` maps an implementation name (``"fastdnn"``, ``"numpy"``, ...) to a
    zero-argument callable; its inputs are bound in advance. The output of each
    implementation is compared with that of ``reference`` before timing;
    ``check``, when given, is a further verification run once before timing
    that returns the failures it found (an empty list: all is well). ``notes``
    collects what the section wants reported without failing the run.

    Run cases (``repeats > 0``, see :func:`measure_runs`) are not compared:
    ``before[impl]`` is called untimed before every timed call (warm-up, fresh
    state), ``after[impl]`` after it (e.g. scoring the trained model; it returns
    an array whose dtype is recorded, or None), and ``check`` runs once after
    all timed calls. ``extras[impl]`` holds values (filled by the section, for
    example in ``after`` or ``check``) reported next to the implementation's
    time; ``unit`` names what ``n`` counts (e.g. ``"epoch"``), so that the
    report can show the time per unit. ``measured`` holds the statistics of
    the timed calls by the time ``check`` runs.
    """

    section: str
    name: str
    dtype: str
    n: int
    impls: dict[str, Thunk]
    ratios: tuple[Ratio, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    reference: str = "fastdnn"
    unchecked: frozenset[str] = frozenset()   # impls whose output is not comparable
    check: Callable[[], list[str]] | None = None   # extra check of the section; returns failures
    warmup_ns: int = 0   # > 0: time in rounds, each after this much untimed warm-up (_timing)
    rounds: int = 3      # with warmup_ns: the samples are spread over this many rounds
    repeats: int = 0     # > 0: a run case, this many single timed calls per implementation
    before: dict[str, Thunk] = field(default_factory=dict)    # run cases: untimed, before each
    after: dict[str, Thunk] = field(default_factory=dict)     # run cases: untimed, after each
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)   # reported per impl
    unit: str = ""       # what ``n`` counts, e.g. "epoch" (run cases)
    measured: dict[str, Stats] = field(default_factory=dict)  # run cases: set before check
    notes: list[str] = field(default_factory=list)   # informational, filled by the section

    @property
    def key(self) -> dict[str, Any]:
        """The fields identifying this case in every JSON record."""
        return {"section": self.section, "name": self.name, "dtype": self.dtype, "n": self.n}


_TOLERANCE = {"float32": dict(rtol=1e-4, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-13)}


def check_outputs(case: Case) -> tuple[dict[str, str | None], list[str]]:
    """Call each implementation once; return its result dtypes and the failures found.

    A result fails when its dtype differs from the case dtype (for example
    NumPy promoting float32 to float64), or when its values differ from the
    reference implementation beyond a dtype-dependent tolerance; then
    ``case.check`` adds its own failures.
    """
    outputs = {name: fn() for name, fn in case.impls.items()}
    expected = np.asarray(outputs[case.reference])
    tol = _TOLERANCE.get(case.dtype, {})
    dtypes: dict[str, str | None] = {}
    failures: list[str] = []
    for name, out in outputs.items():
        if out is None or name in case.unchecked:
            dtypes[name] = None
            continue
        arr = np.asarray(out)
        dtypes[name] = str(arr.dtype)
        if str(arr.dtype) != case.dtype:
            failures.append(f"{name} returns {arr.dtype}")
        if arr.shape != expected.shape:
            failures.append(f"{name} returns shape {arr.shape}, {case.reference} {expected.shape}")
        elif not np.allclose(arr, expected, equal_nan=True, **tol):
            worst = float(np.max(np.abs(arr.astype(np.float64) - expected)))
            failures.append(f"{name} differs from {case.reference} (max abs diff {worst:.3g})")
    if case.check is not None:
        failures.extend(case.check())
    return dtypes, failures


def measure_runs(case: Case) -> tuple[dict[str, Stats], dict[str, str | None]]:
    """Time ``case.repeats`` single calls of every implementation of a run case.

    The implementations take turns (A B C, A B C, ...); each timed call comes
    right after the implementation's untimed ``before`` call (its warm-up, so a
    thread pool left spinning by the previous implementation has gone quiet
    and the implementation's own pools and caches are warm) and a garbage
    collection, with the collector off while it runs; ``after`` follows,
    untimed. Returns the statistics of the calls and the dtype of the array
    each implementation's last ``after`` returned (None when it returned None).
    """
    times: dict[str, list[float]] = {name: [] for name in case.impls}
    dtypes: dict[str, str | None] = {name: None for name in case.impls}
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(case.repeats):
            for name, fn in case.impls.items():
                if name in case.before:
                    case.before[name]()
                gc.collect()
                gc.disable()
                times[name].append(float(_time_loop(fn, 1)))
                if gc_was_enabled:
                    gc.enable()
                out = case.after[name]() if name in case.after else None
                dtypes[name] = None if out is None else str(np.asarray(out).dtype)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: _stats(t, 1) for name, t in times.items()}, dtypes


class CaseResult(NamedTuple):
    """What :func:`run_case` returns."""

    results: list[dict]     # one timing record per implementation
    ratios: list[dict]      # one record per ``case.ratios``
    notes: list[str]        # informational
    failures: list[str]     # failed checks


def run_case(case: Case, samples: int, target_ns: int) -> CaseResult:
    """Check and time ``case``; return its records, notes and failed checks.

    A run case (``repeats > 0``) is timed by :func:`measure_runs` (``samples``
    and ``target_ns`` do not apply), then checked: dtypes, then ``check``.
    """
    if case.repeats > 0:
        stats, dtypes = measure_runs(case)
        case.measured = stats
        failures = [f"{impl} returns {dt}" for impl, dt in dtypes.items()
                    if dt is not None and dt != case.dtype and impl not in case.unchecked]
        if case.check is not None:
            failures.extend(case.check())
    else:
        dtypes, failures = check_outputs(case)
    for note in case.notes:
        print(f"  note: {case.name} {case.dtype} n={case.n}: {note}", file=sys.stderr)
    for failure in failures:
        print(f"  FAILED: {case.name} {case.dtype} n={case.n}: {failure}", file=sys.stderr)
    if case.repeats <= 0:
        stats = measure(case.impls, samples, target_ns, case.warmup_ns, case.rounds)
    results = [_timing_record(case, impl, st, dtypes[impl]) for impl, st in stats.items()]
    ratios = [{**case.key, "label": r.label, "numerator": r.numerator,
               "denominator": r.denominator,
               "value": paired_ratio(stats[r.numerator], stats[r.denominator]),
               "ratio_of_medians": stats[r.numerator].median_ns / stats[r.denominator].median_ns}
              for r in case.ratios]
    return CaseResult(results, ratios, list(case.notes), failures)


def paired_ratio(num: Stats, den: Stats) -> float:
    """Median over rounds of ``num``'s sample time / ``den``'s sample time in that round.

    Sample i of every implementation is taken in the same round, seconds apart at most,
    so a stretch in which the whole machine runs slower (this VM drifts by up to 2x for
    seconds) slows both terms of a pair alike and cancels, where a ratio of two medians
    could compare one implementation's fast stretch with the other's slow one.
    """
    if len(num.sample_ns) != len(den.sample_ns) or not num.sample_ns:
        return num.median_ns / den.median_ns
    return statistics.median(a / b for a, b in zip(num.sample_ns, den.sample_ns))


def _timing_record(case: Case, impl: str, st: Stats, out_dtype: str | None) -> dict:
    """The JSON record of one implementation of ``case``."""
    record = {**case.key, "impl": impl, "median_ns": st.median_ns, "min_ns": st.min_ns,
              "q1_ns": st.q1_ns, "q3_ns": st.q3_ns,
              "samples": st.samples, "number": st.number, "warmup_ns": case.warmup_ns,
              "out_dtype": out_dtype,
              "sample_ns": [round(t, 1) for t in st.sample_ns], "params": case.params}
    if case.repeats > 0:
        record.update(repeats=case.repeats, unit=case.unit, extra=case.extras.get(impl, {}))
    return record
