"""Benchmark fastdnn against plain NumPy (and torch, when installed).

Usage (from the repository root)::

    python bench/run.py                       # all sections, full sizes
    python bench/run.py --quick               # fewer sizes and samples (< 1 min)
    python bench/run.py --sections activations --threads 1
    python bench/run.py --quick --markdown    # table ready for README.md
    python bench/run.py --plot                # also a bar chart of the speed-ups (PNG)
    python bench/run.py --plot-only bench/results/latest.json --plot chart.png

Results go to ``bench/results/<UTC timestamp>-<hostname>.json`` and
``bench/results/latest.json`` (or only to ``--json PATH``). Progress is
printed on stderr, the header and tables on stdout.

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
import sys
import time
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:     # e.g. when imported as bench.run
    sys.path.insert(0, str(BENCH_DIR))

import fastdnn  # noqa: E402

import sections  # noqa: E402
from _case import Case, Config, run_case  # noqa: E402
from _report import (fmt_extra, fmt_n, fmt_us, machine_info, plot_ratios, render,  # noqa: E402
                     utc_now, write_json)

RESULTS_DIR = BENCH_DIR / "results"
SAMPLES, QUICK_SAMPLES = 15, 7
MIN_SAMPLE_MS = 2.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; ``--sections`` takes names separated by spaces or commas."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer sizes and samples")
    p.add_argument("--sections", nargs="+", default=list(sections.SECTIONS),
                   metavar="NAME", help=f"sections to run (default all: {', '.join(sections.SECTIONS)})")
    p.add_argument("--json", type=Path, metavar="PATH", help="write results here only")
    p.add_argument("--markdown", action="store_true", help="print GitHub markdown tables")
    p.add_argument("--threads", type=int, metavar="N", help="fastdnn.set_num_threads(N)")
    p.add_argument("--samples", type=int, help=f"samples per implementation "
                   f"(default {SAMPLES}, quick {QUICK_SAMPLES})")
    p.add_argument("--min-sample-ms", type=float, default=MIN_SAMPLE_MS,
                   help="minimum duration of one sample (default %(default)s)")
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
        args.samples = QUICK_SAMPLES if args.quick else SAMPLES
    if args.samples < 1:
        p.error("--samples must be >= 1")
    return args


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


def run_sections(names: list[str], cfg: Config, meta: dict) -> None:
    """Run the cases of every section, appending records and notes to ``meta``."""
    for name in names:
        for case in sections.load(name).cases(cfg):
            if hasattr(case, "measure"):     # measured by the section itself (e.g. memory)
                records, notes = case.measure()
                meta["measurements"] += records
                meta["notes"] += [f"{case.section}/{case.name} {case.dtype}: {n}" for n in notes]
                for note in notes:
                    print(f"  note: {case.name}: {note}", file=sys.stderr)
                measure_progress(records)
                del case
                continue
            results, ratios, notes = run_case(case, cfg.samples, cfg.target_ns)
            meta["results"] += results
            meta["ratios"] += ratios
            meta["notes"] += [f"{case.section}/{case.name} {case.dtype}: {n}" for n in notes]
            progress(case, results, ratios)
            del case   # drop its buffers before the next case allocates its own


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
    names = list(dict.fromkeys(
        [s for s in meta.get("args", {}).get("sections", []) if isinstance(s, str)]
        + [r["section"] for r in meta["results"] + meta["measurements"]]))
    if args.plot_only is None or args.markdown:
        print(render(meta, names, args.markdown))
    write_plot(args, meta, [args.from_json])
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections, write the JSON record and print the tables."""
    args = parse_args(argv)
    if args.from_json is not None:
        return replot(args)
    if args.threads is not None:
        fastdnn.set_num_threads(args.threads)
    torch = load_torch(fastdnn.get_num_threads())
    cfg = Config(quick=args.quick, samples=args.samples,
                 target_ns=int(args.min_sample_ms * 1e6), torch=torch)
    meta = {"machine": machine_info(torch), "fastdnn_info": fastdnn.info(),
            "date": utc_now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "results": [], "ratios": [], "measurements": [], "notes": []}
    start = time.perf_counter()
    run_sections(args.sections, cfg, meta)
    meta["elapsed_s"] = round(time.perf_counter() - start, 1)
    meta["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    paths = output_paths(args, meta)
    write_json(meta, paths)
    print(render(meta, args.sections, args.markdown))
    print(f"\n{meta['elapsed_s']} s; results written to {', '.join(map(str, paths))}",
          file=sys.stderr)
    write_plot(args, meta, paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
