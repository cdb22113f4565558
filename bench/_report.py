"""Machine description, result and target tables (plain text or GitHub markdown), the JSON file."""
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

import targets as _targets

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
        f"OpenMP {fi.get('openmp')}, {fi.get('threads')} threads, products: {fi.get('gemm')}",
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
    rounds = (f" Samples in rounds, each implementation's after {warm / 1e9:g} s of its untimed"
              " calls (thread pools of the previous implementation asleep)." if warm else "")
    return ("Ratios (median over rounds of the two implementations' time ratio within the "
            "round, so that the machine's drift cancels): " + "; ".join(defs)
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


fmt_extra = _fmt_extra


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


def _right_aligned(n_cols: int, text_cols: int, right: Iterable[int] | None) -> set[int]:
    """The right-aligned columns: ``right`` when given, else all from ``text_cols`` on."""
    return set(range(text_cols, n_cols)) if right is None else set(right)


def render_plain(header: Row, groups: list[list[Row]], text_cols: int = 3,
                 right: Iterable[int] | None = None) -> str:
    """An aligned text table, a blank line between groups; the first ``text_cols``
    columns (section, function, dtype) left-aligned, the others right-aligned (or
    just the columns ``right``)."""
    rows = [row for group in groups for row in group]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    rjust = _right_aligned(len(header), text_cols, right)

    def line(row: Row) -> str:
        return "  ".join(c.rjust(w) if i in rjust else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(header), "-" * len(line(header))]
    for i, group in enumerate(groups):
        if i:
            out.append("")
        out.extend(line(row) for row in group)
    return "\n".join(out)


def render_markdown(header: Row, groups: list[list[Row]], text_cols: int = 3,
                    right: Iterable[int] | None = None) -> str:
    """A GitHub markdown table (text columns left-aligned, numbers right-aligned)."""
    rjust = _right_aligned(len(header), text_cols, right)
    align = ["---:" if i in rjust else ":---" for i in range(len(header))]
    rows = [header, align] + [row for group in groups for row in group]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


# ------------------------------------- measured cases (e.g. memory, per process)

def measurement_tables(section: str, records: list[dict]) -> list[tuple[Row, list[list[Row]]]]:
    """One table per case of ``section``'s measurement records (their columns differ
    from case to case), or per ``table`` for records that name one (cases of one kind,
    e.g. the products of one network): the case, the implementation, its dtype and
    ``n`` (named by the unit), then the record's ``values`` in their order."""
    records = [r for r in records if r["section"] == section]
    tables = []
    for table in _ordered(r.get("table") or r["name"] for r in records):
        rows_in = [r for r in records if (r.get("table") or r["name"]) == table]
        units = _ordered(r.get("unit") or "" for r in rows_in)
        unit = units[0] if len(units) == 1 else ""
        cols = _ordered(k for r in rows_in for k in r.get("values", {}))
        header = ["section", "case", "impl", "dtype", f"{unit}s" if unit else "N"] + cols
        rows = [[section, r["name"], r["impl"], r["dtype"], fmt_n(r["n"])]
                + [_fmt_measure(r.get("values", {}).get(c)) for c in cols] for r in rows_in]
        tables.append((header, [rows]))
    return tables


def _fmt_measure(value: Any) -> str:
    """Measured values: integers with separators, floats as they were rounded."""
    if isinstance(value, bool) or value is None:
        return _fmt_extra(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) >= 1e4 else f"{value:g}"
    return str(value)


def measurement_legend(section: str, records: list[dict]) -> str:
    """The legends the records of ``section`` carry, each once."""
    return " ".join(_ordered(r["legend"] for r in records
                             if r["section"] == section and r.get("legend")))


# ------------------------------------------------------------------ targets

TARGET_LEGEND = (
    "Targets: the table in bench/targets.py. measured: the case's worst value of the "
    "quantity (a 'median' target: the median over the cases of its group); 'not enforced': "
    "a --smoke run enforces no target, a --quick run none stated for the full-size "
    "configuration it shrinks; skipped: the anchor is not installed.")


def target_table(section: str, outcomes: list[_targets.Outcome]) -> tuple[Row, list[list[Row]]]:
    """Header and rows of ``section``'s targets: the case, the target, the measured
    value, the result (pass / miss / ...) and the goal in words."""
    header = ["section", "case", "target", "measured", "result", "goal"]
    rows = []
    for o in outcomes:
        t = o.target
        if t.section != section:
            continue
        case = t.case + ("" if t.n is None else f" (N={fmt_n(t.n)})")
        rows.append([section, case, t.text, o.measured_text, o.result, t.description])
    return header, [rows] if rows else []


def command_line(meta: dict, markdown: bool) -> str:
    """The line naming the command that produced the tables ("" when unknown)."""
    cmd = meta.get("command")
    if not cmd:
        return ""
    return f"Produced by `{cmd}`" if markdown else f"Produced by: {cmd}"


def render(meta: dict, sections: list[str], markdown: bool) -> str:
    """The header and the tables of every section (results, then targets), the failed
    checks and the notes."""
    head = header_lines(meta) + [line for line in [command_line(meta, markdown)] if line]
    parts = ["\n".join(f"- {h}" for h in head) if markdown else "\n".join(head)]
    measured = meta.get("measurements", [])
    outcomes = _targets.evaluate(meta)
    for section in sections:
        draw = render_markdown if markdown else render_plain
        if any(r["section"] == section for r in meta["results"]):
            if any(_is_run(r) for r in meta["results"] if r["section"] == section):
                header, groups = runs_table(section, meta["results"], meta["ratios"])
                legend, text_cols = runs_legend(section, meta["ratios"], meta["results"]), 4
            else:
                header, groups = section_table(section, meta["results"], meta["ratios"])
                legend, text_cols = ratio_legend(section, meta["ratios"], meta["results"]), 3
            if groups:
                parts.append(draw(header, groups, text_cols))
                parts.append(legend)
        tables = measurement_tables(section, measured)
        for header, groups in tables:
            parts.append(draw(header, groups, 4))
        if tables:
            parts.append(measurement_legend(section, measured))
        parts.append(render_targets(section, outcomes, markdown))
    if meta.get("failures"):
        parts.append("Failed checks:\n" + "\n".join(f"- {f}" for f in meta["failures"]))
    if meta["notes"]:
        parts.append("Notes:\n" + "\n".join(f"- {n}" for n in _ordered(meta["notes"])))
    return "\n\n".join(parts)


def render_targets(section: str, outcomes: list[_targets.Outcome], markdown: bool) -> str:
    """``section``'s target table and its legend, or a line saying it has no target."""
    header, groups = target_table(section, outcomes)
    if not groups:
        return f"Targets ({section}): none declared in bench/targets.py."
    draw = render_markdown if markdown else render_plain
    return draw(header, groups, 3, right=[3]) + "\n\n" + TARGET_LEGEND


# --------------------------------------------------------------------- plot

def _is_fastdnn(impl: str) -> bool:
    """fastdnn's own implementations: ``fastdnn``, ``fastdnn.functional``, ``fastdnn(out=)``..."""
    return impl.startswith("fastdnn")


def plot_panels(meta: dict) -> list[dict]:
    """What ``plot_ratios`` draws: per section, the ratios that are fastdnn's advantage over
    another implementation (denominator a fastdnn implementation, numerator not), by case.

    Timing ratios (``meta["ratios"]``) give the speed-up, other time / fastdnn time;
    ratios of measured cases (``meta["measurements"]``) their ``quantity`` (e.g. the peak
    memory of a fit), other / fastdnn. Ratios between two non-fastdnn implementations or of
    fastdnn over a building block (e.g. ``fastdnn/gemm``) are left out.
    """
    results = meta.get("results", [])
    units = {(r["section"], r["name"], r["dtype"], r["n"]): r.get("unit") or "" for r in results}
    sources = [(r, "fastdnn's speed-up: other's time / fastdnn's time") for r in meta.get("ratios", [])]
    for rec in meta.get("measurements", []):
        for q in rec.get("ratios", []):
            sources.append(({**{k: rec[k] for k in ("section", "name", "dtype", "n")}, **q},
                            q.get("quantity", "other / fastdnn")))
            units[(rec["section"], rec["name"], rec["dtype"], rec["n"])] = rec.get("unit") or ""
    panels: dict[tuple[str, str], dict] = {}
    for r, quantity in sources:
        if not _is_fastdnn(r["denominator"]) or _is_fastdnn(r["numerator"]):
            continue
        panel = panels.setdefault((r["section"], quantity),
                                  {"section": r["section"], "quantity": quantity,
                                   "cases": {}, "labels": []})
        key = (r["name"], r["dtype"], r["n"])
        panel["cases"].setdefault(key, {})[r["label"]] = r["value"]
        if r.get("detail"):
            panel.setdefault("details", {})[(key, r["label"])] = r["detail"]
        if r["label"] not in panel["labels"]:
            panel["labels"].append(r["label"])
        panel.setdefault("units", {})[key] = units.get((r["section"], *key), "")
    return list(panels.values())


_DTYPES = {"float32": "f32", "float64": "f64"}


def _case_label(key: tuple, unit: str) -> str:
    name, dtype, n = key
    size = f"{fmt_n(n)} {unit}{'s' if unit and n != 1 else ''}" if unit else f"N={fmt_n(n)}"
    return f"{name}  {_DTYPES.get(dtype, dtype)}  {size}"


def plot_title(meta: dict) -> str:
    """The machine line of the chart."""
    m, fi = meta["machine"], meta.get("fastdnn_info", {})
    quick = " (--quick)" if meta.get("args", {}).get("quick") else ""
    torch = m.get("torch") or "not installed"
    return (f"fastdnn {fi.get('version', '?')} vs other implementations{quick}, "
            f"{meta['date'][:16].replace('T', ' ')} UTC\n"
            f"{m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
            f"fastdnn {fi.get('threads', '?')} threads, SIMD {fi.get('simd', '?')}; "
            f"Python {m['python']}, NumPy {m['numpy']}, torch {torch}")


def plot_ratios(meta: dict, paths: Iterable[Path]) -> bool:
    """Write a horizontal bar chart of ``plot_panels(meta)`` to every path (PNG).

    One panel per section (and quantity), one row per case, one bar per ratio label,
    drawn from the 1x line on a log scale and labelled with its value. Returns False
    (writing nothing) when there is nothing to draw; raises ImportError without
    matplotlib.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = plot_panels(meta)
    if not panels:
        return False
    all_labels = _ordered(label for p in panels for label in p["labels"])
    cmap = plt.get_cmap("tab10")
    colors = {label: cmap(i % 10) for i, label in enumerate(all_labels)}
    heights = [0.9 + 0.16 * sum(len(v) for v in p["cases"].values()) + 0.12 * len(p["cases"])
               for p in panels]
    total = sum(heights) + 0.8
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, total), squeeze=False,
                             gridspec_kw={"height_ratios": heights}, layout="constrained")
    for ax, panel in zip(axes[:, 0], panels):
        _draw_panel(ax, panel, colors)
    fig.suptitle(plot_title(meta), fontsize=9)
    for path in paths:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _draw_panel(ax: Any, panel: dict, colors: dict) -> None:
    """Bars of one panel: cases top to bottom, the labels of a case side by side."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    cases = list(panel["cases"].items())
    y = 0.0
    ticks, tick_labels, values = [], [], []
    seen: set[str] = set()
    for key, by_label in cases:
        labels = [l for l in panel["labels"] if l in by_label]
        bar = 0.8 / max(1, len(labels)) if len(labels) > 1 else 0.6
        start = y - bar * (len(labels) - 1) / 2
        for j, label in enumerate(labels):
            v = by_label[label]
            yy = start + j * bar
            ax.barh(yy, v - 1, left=1, height=bar * 0.92, color=colors[label],
                    label=None if label in seen else label)
            seen.add(label)
            detail = panel.get("details", {}).get((key, label))
            ax.text(v * (1.03 if v >= 1 else 1 / 1.03), yy,
                    f"{v:.3g}x" + (f" ({detail})" if detail else ""), va="center",
                    ha="left" if v >= 1 else "right", fontsize=6.5)
            values.append(v)
        ticks.append(y)
        tick_labels.append(_case_label(key, panel["units"].get(key, "")))
        y += 1.0
    ax.set_xscale("log")
    lo, hi = min(values + [1.0]), max(values + [1.0])
    right = hi * (4.0 if panel.get("details") else 2.2)    # room for the value labels
    ax.set_xlim(lo / 1.8, right)
    ticks_x = [m * 10.0 ** e for e in range(-4, 6) for m in (1, 2, 5)
               if lo / 1.8 <= m * 10.0 ** e <= right]
    ax.xaxis.set_major_locator(FixedLocator(ticks_x))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(y - 0.5, -0.5)     # first case on top
    ax.set_yticks(ticks)
    ax.set_yticklabels(tick_labels, fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.axvline(1.0, color="black", linewidth=0.9)
    ax.grid(axis="x", which="major", linewidth=0.4, alpha=0.5)
    ax.set_title(f"{panel['section']} -- {panel['quantity']} (> 1: fastdnn better; log scale)",
                 fontsize=8.5, loc="left")
    ax.legend(fontsize=7, loc="best", framealpha=0.8)


# --------------------------------------------------------------------- JSON

def write_json(meta: dict, paths: Iterable[Path]) -> None:
    """Write the run record to every path (parents are created)."""
    text = json.dumps(meta, indent=1, ensure_ascii=False)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
