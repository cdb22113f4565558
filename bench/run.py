"""Benchmark fastdnn against plain NumPy (and torch, when installed).

Usage (from the repository root)::

    python bench/run.py                       # all sections, full sizes
    python bench/run.py --quick               # fewer sizes and samples
    python bench/run.py --smoke --check       # smallest sizes, 1 sample: results only
    python bench/run.py --sections activations --threads 1
    python bench/run.py --markdown            # tables ready for README.md
    python bench/run.py --check               # exit 1 on a wrong result or a missed target
    python bench/run.py --plot                # also a bar chart of the speed-ups (PNG)
    python bench/run.py --plot-only bench/results/latest.json --plot chart.png

Results go to ``bench/results/<UTC timestamp>-<hostname>.json`` and
``bench/results/latest.json`` (or only to ``--json PATH``). Progress is
printed on stderr, the header and tables on stdout.

Every case checks its results (each implementation against a reference, plus
the section's own checks); a check that finds something wrong is a *failure*,
printed (``FAILED: ...``) and kept in the JSON's ``failures``. The speed (and
memory) targets are the table in ``bench/targets.py``; each section's tables are
followed by a target table (target, measured, pass/miss). ``--check`` makes
the exit code 1 when there is a failure or an enforced target is missed (a
summary on stderr lists them); without it the run exits 0 all the same.
``--smoke`` runs every case at its smallest size with 1 sample and no warm-up:
its targets are shown but not enforced, its checks are. ``--quick`` does not
enforce the targets stated for full-size configurations it shrinks.

``--plot [PATH]`` draws fastdnn's speed-up over every other implementation,
one panel per section (needs matplotlib; without it a message says so and the
JSON is written all the same) to PATH, by default next to the JSON files:
``bench/results/<UTC timestamp>-<hostname>.png`` and ``latest.png``.
``--plot-only JSON`` (the same as ``--from-json JSON --plot``) re-plots a
saved run without running anything; ``--from-json JSON`` alone prints its
tables again.

A section yields ``_case.Case`` objects, timed here by ``_case.run_case``, or
objects with a ``measure()`` method (e.g. ``sections/memory.py``, which runs
each implementation in a fresh process): it returns ``(records, notes)``,
records that go to the JSON's ``measurements`` list -- the case's key fields
(section, name, dtype, n), ``impl``, ``unit``, ``values`` (column name ->
number, shown as a table), ``ratios`` (like the timing ratios, with a
``quantity``; drawn by ``--plot``), ``legend`` and whatever else they keep.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:     # e.g. when imported as bench.run
    sys.path.insert(0, str(BENCH_DIR))

import fastdnn  # noqa: E402

import sections  # noqa: E402
import targets  # noqa: E402
from _case import Case, Config, run_case  # noqa: E402
from _report import (fmt_extra, fmt_n, fmt_us, machine_info, plot_ratios, render,  # noqa: E402
                     utc_now, write_json)

RESULTS_DIR = BENCH_DIR / "results"
SAMPLES, QUICK_SAMPLES, SMOKE_SAMPLES = 15, 7, 1
MIN_SAMPLE_MS, SMOKE_MIN_SAMPLE_MS = 2.0, 0.05
ANCHORS = ("torch", "sklearn", "onnxruntime")   # optional packages sections compare with


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; ``--sections`` takes names separated by spaces or commas."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer sizes and samples")
    p.add_argument("--smoke", action="store_true",
                   help="smallest sizes, 1 sample, no warm-up: check results, not speed "
                        "(targets shown, not enforced)")
    p.add_argument("--check", action="store_true",
                   help="exit 1 when a result is wrong or an enforced target is missed")
    p.add_argument("--sections", nargs="+", default=list(sections.SECTIONS),
                   metavar="NAME", help=f"sections to run (default all: {', '.join(sections.SECTIONS)})")
    p.add_argument("--json", type=Path, metavar="PATH", help="write results here only")
    p.add_argument("--markdown", action="store_true", help="print GitHub markdown tables")
    p.add_argument("--threads", type=int, metavar="N", help="fastdnn.set_num_threads(N)")
    p.add_argument("--samples", type=int, help=f"samples per implementation "
                   f"(default {SAMPLES}, quick {QUICK_SAMPLES}, smoke {SMOKE_SAMPLES})")
    p.add_argument("--min-sample-ms", type=float,
                   help=f"minimum duration of one sample (default {MIN_SAMPLE_MS}, "
                        f"smoke {SMOKE_MIN_SAMPLE_MS})")
    p.add_argument("--plot", nargs="?", const="", type=str, metavar="PATH",
                   help="also draw the speed-ups as a bar chart (PNG; default "
                        "bench/results/<timestamp>-<host>.png and latest.png, or next to "
                        "--json/--from-json's file)")
    p.add_argument("--from-json", type=Path, metavar="JSON",
                   help="run nothing: print the tables of a saved run (and plot it with --plot)")
    p.add_argument("--plot-only", type=Path, metavar="JSON",
                   help="run nothing: plot a saved run (same as --from-json JSON --plot)")
    args = p.parse_args(argv)
    if args.plot_only is not None:
        if args.from_json is not None and args.from_json != args.plot_only:
            p.error("--plot-only and --from-json name different files")
        args.from_json = args.plot_only
        if args.plot is None:
            args.plot = ""
    args.sections = [s for item in args.sections for s in item.split(",") if s]
    unknown = sorted(set(args.sections) - set(sections.SECTIONS))
    if unknown:
        p.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(sections.SECTIONS)}")
    if args.samples is None:
        args.samples = SMOKE_SAMPLES if args.smoke else QUICK_SAMPLES if args.quick else SAMPLES
    if args.samples < 1:
        p.error("--samples must be >= 1")
    if args.min_sample_ms is None:
        args.min_sample_ms = SMOKE_MIN_SAMPLE_MS if args.smoke else MIN_SAMPLE_MS
    return args


def command_line(argv: list[str]) -> str:
    """The command that produced a run, as typed from the repository root."""
    return shlex.join(["python", "bench/run.py", *argv])


def load_torch(threads: int) -> ModuleType | None:
    """torch with ``threads`` intra-op threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def progress(case: Case, results: list[dict], ratios: list[dict]) -> None:
    """One stderr line per case: medians and ratios."""
    times = " ".join(f"{r['impl']}={fmt_us(r['median_ns'])}" for r in results)
    rats = " ".join(f"{r['label']}={r['value']:.2f}x" for r in ratios)
    print(f"[{case.section}] {case.name} {case.dtype} N={fmt_n(case.n)}: {times} µs  {rats}",
          file=sys.stderr, flush=True)


def measure_progress(records: list[dict]) -> None:
    """One stderr line per record of a measured case: its first values."""
    for r in records:
        vals = ", ".join(f"{k} {fmt_extra(v)}" for k, v in list(r["values"].items())[:7])
        print(f"[{r['section']}] {r['name']} {r['impl']}: {vals}", file=sys.stderr, flush=True)


def _case_label(case: Any) -> str:
    """How notes and failures name a case: ``section/name dtype N=n``."""
    return f"{case.section}/{case.name} {case.dtype} N={fmt_n(case.n)}"


def measure_case(case: Any) -> tuple[list[dict], list[str], list[str]]:
    """Records, notes and failures of a case measured by its section (``measure()``
    returns ``(records, notes)`` or ``(records, notes, failures)``)."""
    records, notes, *rest = case.measure()
    failures = list(rest[0]) if rest else []
    for note in notes:
        print(f"  note: {case.name}: {note}", file=sys.stderr)
    for failure in failures:
        print(f"  FAILED: {case.name}: {failure}", file=sys.stderr)
    measure_progress(records)
    return records, notes, failures


def run_sections(names: list[str], cfg: Config, meta: dict) -> None:
    """Run the cases of every section, appending records, notes and failures to ``meta``."""
    for name in names:
        for case in sections.load(name).cases(cfg):
            if hasattr(case, "measure"):     # measured by the section itself (e.g. memory)
                records, notes, failures = measure_case(case)
                meta["measurements"] += records
            else:
                results, ratios, notes, failures = run_case(case, cfg.samples, cfg.target_ns)
                meta["results"] += results
                meta["ratios"] += ratios
                progress(case, results, ratios)
            meta["notes"] += [f"{_case_label(case)}: {n}" for n in notes]
            meta["failures"] += [f"{_case_label(case)}: {f}" for f in failures]
            del case   # drop its buffers before the next case allocates its own


def anchors(torch: ModuleType | None) -> dict[str, bool]:
    """Which optional packages this run could compare with."""
    found = {name: targets.installed(name) for name in ANCHORS}
    found["torch"] = torch is not None
    return found


def target_summary(outcomes: list[targets.Outcome]) -> str:
    """E.g. ``3 met, 1 missed (not enforced), 2 not run``."""
    names = {targets.PASS: "met", targets.MISS: "missed"}
    counts: dict[str, int] = {}
    for o in outcomes:
        status = names.get(o.status, o.status)
        if not o.enforced and o.status in (targets.MISS, targets.NOT_MEASURED):
            status += " (not enforced)"
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in counts.items()) or "none"


def report_check(meta: dict) -> int:
    """``--check``'s verdict on stderr; 1 when there is a problem, else 0."""
    outcomes = targets.evaluate(meta)
    problems = list(meta.get("failures", [])) + targets.failures(outcomes)
    if problems:
        print(f"\n--check: FAILED, {len(problems)} problem(s):", file=sys.stderr)
        for line in problems:
            print(f"  - {line}", file=sys.stderr)
        return 1
    print(f"\n--check: passed, no failed check; targets: {target_summary(outcomes)}",
          file=sys.stderr)
    return 0


def _stamp(meta: dict) -> str:
    return meta["date"].replace("-", "").replace(":", "").replace("+0000", "Z")


def output_paths(args: argparse.Namespace, meta: dict) -> list[Path]:
    """``--json PATH``, or a timestamped file plus ``latest.json`` in bench/results."""
    if args.json is not None:
        return [args.json]
    return [RESULTS_DIR / f"{_stamp(meta)}-{meta['machine']['hostname']}.json",
            RESULTS_DIR / "latest.json"]


def plot_paths(args: argparse.Namespace, meta: dict, json_paths: list[Path]) -> list[Path]:
    """``--plot PATH``; else the JSON file's name with ``.png`` (plus ``latest.png`` for the
    default files in bench/results)."""
    if args.plot:
        return [Path(args.plot)]
    if args.from_json is not None:
        return [args.from_json.with_suffix(".png")]
    if args.json is not None:
        return [args.json.with_suffix(".png")]
    return [RESULTS_DIR / f"{_stamp(meta)}-{meta['machine']['hostname']}.png",
            RESULTS_DIR / "latest.png"]


def write_plot(args: argparse.Namespace, meta: dict, json_paths: list[Path]) -> None:
    """Draw the chart when ``--plot`` was given; a message instead when it cannot be."""
    if args.plot is None:
        return
    paths = plot_paths(args, meta, json_paths)
    try:
        drawn = plot_ratios(meta, paths)
    except ImportError as exc:
        print(f"--plot: matplotlib is not installed ({exc}); no chart written "
              f"(pip install matplotlib, or the bench extra, then re-plot with "
              f"python bench/run.py --plot-only {json_paths[0]})", file=sys.stderr)
        return
    if drawn:
        print(f"chart written to {', '.join(map(str, paths))}", file=sys.stderr)
    else:
        print("--plot: no ratios to draw in this run (no section compared fastdnn with another "
              "implementation); no chart written", file=sys.stderr)


def replot(args: argparse.Namespace) -> int:
    """``--from-json`` / ``--plot-only``: the tables (and chart) of a saved run."""
    import json

    try:
        meta = json.loads(args.from_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.from_json}: {exc}", file=sys.stderr)
        return 1
    meta.setdefault("measurements", [])
    meta.setdefault("failures", [])
    names = list(dict.fromkeys(
        [s for s in meta.get("args", {}).get("sections", []) if isinstance(s, str)]
        + [r["section"] for r in meta["results"] + meta["measurements"]]))
    if args.plot_only is None or args.markdown:
        print(render(meta, names, args.markdown))
    write_plot(args, meta, [args.from_json])
    return report_check(meta) if args.check else 0


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections, write the JSON record and print the tables; the exit
    code (with ``--check``: 1 on a failed check or a missed target)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.from_json is not None:
        return replot(args)
    if args.threads is not None:
        fastdnn.set_num_threads(args.threads)
    torch = load_torch(fastdnn.get_num_threads())
    cfg = Config(quick=args.quick or args.smoke, samples=args.samples,
                 target_ns=int(args.min_sample_ms * 1e6), torch=torch, smoke=args.smoke)
    meta = {"machine": machine_info(torch), "fastdnn_info": fastdnn.info(),
            "date": utc_now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "command": command_line(argv), "anchors": anchors(torch),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "results": [], "ratios": [], "measurements": [], "notes": [], "failures": []}
    start = time.perf_counter()
    run_sections(args.sections, cfg, meta)
    meta["elapsed_s"] = round(time.perf_counter() - start, 1)
    meta["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    meta["targets"] = [o.record() for o in targets.evaluate(meta)]
    paths = output_paths(args, meta)
    write_json(meta, paths)
    print(render(meta, args.sections, args.markdown))
    print(f"\n{meta['elapsed_s']} s; results written to {', '.join(map(str, paths))}",
          file=sys.stderr)
    write_plot(args, meta, paths)
    return report_check(meta) if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
