"""Machine description, result tables (plain text or GitHub markdown) and the JSON file."""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import socket
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import numpy as np

Row = list[str]


# ------------------------------------------------------------------ machine

def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo``, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info(torch: ModuleType | None) -> dict[str, Any]:
    """What the numbers depend on, besides fastdnn itself."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        usable = os.cpu_count()
    return {
        "hostname": socket.gethostname(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": None if torch is None else f"{torch.__version__} ({torch.get_num_threads()} threads)",
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def utc_now() -> _dt.datetime:
    """The current time in UTC, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


def header_lines(meta: dict[str, Any]) -> list[str]:
    """A few human-readable lines on the machine, fastdnn and the run."""
    m, fi = meta["machine"], meta["fastdnn_info"]
    torch = m["torch"] or "not installed (competitor skipped)"
    load = "n/a" if m["loadavg"] is None else ", ".join(f"{x:.2f}" for x in m["loadavg"])
    if meta.get("loadavg_end"):
        load += " (at the end: " + ", ".join(f"{x:.2f}" for x in meta["loadavg_end"]) + ")"
    return [
        f"fastdnn {fi.get('version')} benchmark, {meta['date']} on {m['hostname']}",
        f"CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), load avg {load}",
        f"fastdnn: SIMD {fi.get('simd')} (available: {fi.get('simd_available')}), "
        f"OpenMP {fi.get('openmp')}, {fi.get('threads')} threads, BLAS {fi.get('blas')}",
        f"Python {m['python']}, NumPy {m['numpy']}, torch {torch}",
        f"Timing: median per call of {meta['args']['samples']} interleaved samples "
        f"of >= {meta['args']['min_sample_ms']} ms",
    ]


# ------------------------------------------------------------------- tables

def fmt_us(ns: float | None) -> str:
    """Nanoseconds as microseconds with about 3 significant digits."""
    if ns is None:
        return ""
    us = ns / 1e3
    if us < 10:
        return f"{us:.2f}"
    if us < 1000:
        return f"{us:.1f}"
    return f"{us:,.0f}"


def fmt_n(n: int) -> str:
    """``10000`` as ``1e4``; other sizes with thousands separators."""
    exp = len(str(n)) - 1
    return f"1e{exp}" if n == 10**exp and n >= 1000 else f"{n:,}"


def _ordered(items: Iterable[str]) -> list[str]:
    """Distinct items in order of first appearance."""
    return list(dict.fromkeys(items))


def section_table(section: str, results: list[dict], ratios: list[dict]) -> tuple[Row, list[list[Row]]]:
    """Header and rows of one section, grouped by function (then dtype, then N)."""
    results = [r for r in results if r["section"] == section]
    ratios = [r for r in ratios if r["section"] == section]
    impls = _ordered(r["impl"] for r in results)
    labels = _ordered(r["label"] for r in ratios)
    header = ["section", "function", "dtype", "N"] + [f"{i} µs" for i in impls] + labels + ["IQR"]
    median = {(r["name"], r["dtype"], r["n"], r["impl"]): r["median_ns"] for r in results}
    spread = _row_spread(results)
    ratio = {(r["name"], r["dtype"], r["n"], r["label"]): r["value"] for r in ratios}
    groups = []
    for name in _ordered(r["name"] for r in results):
        keys = sorted({(r["dtype"], r["n"]) for r in results if r["name"] == name})
        groups.append([
            [section, name, dtype, fmt_n(n)]
            + [fmt_us(median.get((name, dtype, n, i))) for i in impls]
            + [_fmt_ratio(ratio.get((name, dtype, n, label))) for label in labels]
            + [f"{100 * spread[name, dtype, n]:.0f}%"]
            for dtype, n in keys])
    return header, groups


def _row_spread(results: list[dict]) -> dict[tuple, float]:
    """Per (name, dtype, n): the largest ``(q3 - q1) / median`` among the implementations."""
    spread: dict[tuple, float] = {}
    for r in results:
        key = (r["name"], r["dtype"], r["n"])
        spread[key] = max(spread.get(key, 0.0), (r["q3_ns"] - r["q1_ns"]) / r["median_ns"])
    return spread


def ratio_legend(section: str, ratios: list[dict], results: list[dict] = ()) -> str:
    """One line defining each ratio column of ``section``, e.g. ``vs numpy = numpy / fastdnn``."""
    defs = _ordered(f"{r['label']} = {r['numerator']} / {r['denominator']}"
                    for r in ratios if r["section"] == section)
    warm = max((r.get("warmup_ns", 0) for r in results if r["section"] == section), default=0)
    rounds = (f" Samples in rounds per implementation, each after {warm / 1e9:g} s of untimed"
              " calls (thread pools of the previous implementation asleep)." if warm else "")
    return ("Ratios of median times: " + "; ".join(defs)
            + " (a 'vs' column > 1: fastdnn faster). IQR: largest (q3 - q1) / median"
            " of the row's implementations; a large one flags a noisy row." + rounds) if defs else ""


def _fmt_ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


# ------------------------------------------------------ run cases (whole fits)

def _is_run(record: dict) -> bool:
    """A record of a run case (one timed call = a whole run, e.g. a training)."""
    return record.get("repeats", 0) > 0


def _fmt_s(ns: float) -> str:
    """Nanoseconds as seconds with about 3 significant digits."""
    s = ns / 1e9
    return f"{s:.3f}" if s < 10 else f"{s:.1f}" if s < 100 else f"{s:,.0f}"


def _fmt_ms(ns: float) -> str:
    """Nanoseconds as milliseconds with about 3 significant digits."""
    ms = ns / 1e6
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 \
        else f"{ms:,.0f}"


def _fmt_extra(value: Any) -> str:
    """A value a section reports next to a time: floats to 4 significant digits."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def runs_table(section: str, results: list[dict], ratios: list[dict]
               ) -> tuple[Row, list[list[Row]]]:
    """Header and rows of a section of run cases: one row per implementation.

    Columns: the implementation, the dtype its result had, ``n`` (named by the
    case's unit, e.g. epochs), the median run time in seconds and per unit in
    ms, the section's extra values, the ratios whose numerator is the row's
    implementation (e.g. ``sklearn/fastdnn 4.21x``) and the runs' IQR.
    """
    results = [r for r in results if r["section"] == section]
    ratios = [r for r in ratios if r["section"] == section]
    units = _ordered(r.get("unit") or "" for r in results)
    unit = units[0] if len(units) == 1 else ""
    extras = _ordered(k for r in results for k in r.get("extra", {}))
    header = (["section", "function", "impl", "dtype", f"{unit}s" if unit else "N", "time s"]
              + ([f"ms/{unit}"] if unit else []) + extras + ["time ratio", "IQR"])
    groups = []
    for name in _ordered(r["name"] for r in results):
        rows = []
        for r in (r for r in results if r["name"] == name):
            key = (r["name"], r["dtype"], r["n"])
            rats = ", ".join(f"{q['label']} {_fmt_ratio(q['value'])}" for q in ratios
                             if (q["name"], q["dtype"], q["n"]) == key
                             and q["numerator"] == r["impl"])
            extra = r.get("extra", {})
            rows.append([section, name, r["impl"], r.get("out_dtype") or r["dtype"], fmt_n(r["n"]),
                         _fmt_s(r["median_ns"])]
                        + ([_fmt_ms(r["median_ns"] / r["n"])] if unit else [])
                        + [_fmt_extra(extra.get(k)) for k in extras]
                        + [rats, f"{100 * (r['q3_ns'] - r['q1_ns']) / r['median_ns']:.0f}%"])
        groups.append(rows)
    return header, groups


def runs_legend(section: str, ratios: list[dict], results: list[dict]) -> str:
    """What the columns of a runs table mean."""
    results = [r for r in results if r["section"] == section]
    repeats = _ordered(str(r["repeats"]) for r in results)
    defs = _ordered(f"{r['label']} = {r['numerator']} / {r['denominator']}"
                    for r in ratios if r["section"] == section)
    return (f"time: wall time of one whole run, median of {'/'.join(repeats)} run(s) per "
            "implementation, implementations taking turns, each run after an untimed "
            "warm-up/preparation. dtype: of the implementation's trained parameters. "
            + ("time ratio: of median times, " + "; ".join(defs) + " (> 1: fastdnn faster). "
               if defs else "")
            + "IQR: (q3 - q1) / median of the runs (with 3 runs: (max - min) / median).")


def render_plain(header: Row, groups: list[list[Row]], text_cols: int = 3) -> str:
    """An aligned text table, a blank line between groups; the first ``text_cols``
    columns (section, function, dtype) left-aligned, the others right-aligned."""
    rows = [row for group in groups for row in group]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]

    def line(row: Row) -> str:
        return "  ".join(c.ljust(w) if i < text_cols else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(header), "-" * len(line(header))]
    for i, group in enumerate(groups):
        if i:
            out.append("")
        out.extend(line(row) for row in group)
    return "\n".join(out)


def render_markdown(header: Row, groups: list[list[Row]], text_cols: int = 3) -> str:
    """A GitHub markdown table (text columns left-aligned, numbers right-aligned)."""
    align = [":---" if i < text_cols else "---:" for i in range(len(header))]
    rows = [header, align] + [row for group in groups for row in group]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def render(meta: dict, sections: list[str], markdown: bool) -> str:
    """The header and one table per section, plus the notes the checks made."""
    head = header_lines(meta)
    parts = ["\n".join(f"- {h}" for h in head) if markdown else "\n".join(head)]
    for section in sections:
        if any(_is_run(r) for r in meta["results"] if r["section"] == section):
            header, groups = runs_table(section, meta["results"], meta["ratios"])
            legend, text_cols = runs_legend(section, meta["ratios"], meta["results"]), 4
        else:
            header, groups = section_table(section, meta["results"], meta["ratios"])
            legend, text_cols = ratio_legend(section, meta["ratios"], meta["results"]), 3
        if groups:
            parts.append((render_markdown if markdown else render_plain)(header, groups, text_cols))
            parts.append(legend)
    if meta["notes"]:
        parts.append("Notes:\n" + "\n".join(f"- {n}" for n in _ordered(meta["notes"])))
    return "\n\n".join(parts)


# --------------------------------------------------------------------- JSON

def write_json(meta: dict, paths: Iterable[Path]) -> None:
    """Write the run record to every path (parents are created)."""
    text = json.dumps(meta, indent=1, ensure_ascii=False)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
