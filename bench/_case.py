"""What a benchmark section produces: cases, each a dict of callables per implementation.

A section yields :class:`Case` objects; the runner checks their outputs agree,
times them with :func:`_timing.measure` and turns the result into JSON records
with :func:`run_case`. Sections never time anything themselves.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

import numpy as np

from _timing import Stats, Thunk, measure


@dataclass(frozen=True)
class Config:
    """Settings shared by all sections."""

    quick: bool
    samples: int          # samples per implementation
    target_ns: int        # minimum duration of one sample
    torch: ModuleType | None = None   # the optional competitor, when importable


@dataclass(frozen=True)
class Ratio:
    """``median(numerator) / median(denominator)``, reported under ``label``."""

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
    that returns notes on what it found wrong.
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
    check: Callable[[], list[str]] | None = None   # extra check of the section; returns notes
    warmup_ns: int = 0   # > 0: time in rounds, each after this much untimed warm-up (_timing)

    @property
    def key(self) -> dict[str, Any]:
        """The fields identifying this case in every JSON record."""
        return {"section": self.section, "name": self.name, "dtype": self.dtype, "n": self.n}


_TOLERANCE = {"float32": dict(rtol=1e-4, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-13)}


def check_outputs(case: Case) -> tuple[dict[str, str | None], list[str]]:
    """Call each implementation once; return its result dtypes and notes on disagreements.

    A note is made when a result's dtype differs from the case dtype (for
    example NumPy promoting float32 to float64), or when its values differ from
    the reference implementation beyond a dtype-dependent tolerance; then
    ``case.check`` adds its own notes.
    """
    outputs = {name: fn() for name, fn in case.impls.items()}
    expected = np.asarray(outputs[case.reference])
    tol = _TOLERANCE.get(case.dtype, {})
    dtypes: dict[str, str | None] = {}
    notes: list[str] = []
    for name, out in outputs.items():
        if out is None or name in case.unchecked:
            dtypes[name] = None
            continue
        arr = np.asarray(out)
        dtypes[name] = str(arr.dtype)
        if str(arr.dtype) != case.dtype:
            notes.append(f"{name} returns {arr.dtype}")
        if not np.allclose(arr, expected, equal_nan=True, **tol):
            worst = float(np.max(np.abs(arr.astype(np.float64) - expected)))
            notes.append(f"{name} differs from {case.reference} (max abs diff {worst:.3g})")
    if case.check is not None:
        notes.extend(case.check())
    return dtypes, notes


def run_case(case: Case, samples: int, target_ns: int) -> tuple[list[dict], list[dict], list[str]]:
    """Check and time ``case``; return its timing records, ratio records and notes."""
    dtypes, notes = check_outputs(case)
    for note in notes:
        print(f"  note: {case.name} {case.dtype} n={case.n}: {note}", file=sys.stderr)
    stats = measure(case.impls, samples, target_ns, case.warmup_ns)
    results = [_timing_record(case, impl, st, dtypes[impl]) for impl, st in stats.items()]
    ratios = [{**case.key, "label": r.label, "numerator": r.numerator,
               "denominator": r.denominator,
               "value": stats[r.numerator].median_ns / stats[r.denominator].median_ns}
              for r in case.ratios]
    return results, ratios, notes


def _timing_record(case: Case, impl: str, st: Stats, out_dtype: str | None) -> dict:
    """The JSON record of one implementation of ``case``."""
    return {**case.key, "impl": impl, "median_ns": st.median_ns, "min_ns": st.min_ns,
            "q1_ns": st.q1_ns, "q3_ns": st.q3_ns,
            "samples": st.samples, "number": st.number, "warmup_ns": case.warmup_ns,
            "out_dtype": out_dtype,
            "sample_ns": [round(t, 1) for t in st.sample_ns], "params": case.params}
