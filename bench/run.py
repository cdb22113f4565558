"""Benchmark fastdnn against plain NumPy (and torch, when installed).

Usage (from the repository root)::

    python bench/run.py                       # all sections, full sizes
    python bench/run.py --quick               # fewer sizes and samples (< 1 min)
    python bench/run.py --sections activations --threads 1
    python bench/run.py --quick --markdown    # table ready for README.md

Results go to ``bench/results/<UTC timestamp>-<hostname>.json`` and
``bench/results/latest.json`` (or only to ``--json PATH``). Progress is
printed on stderr, the header and tables on stdout.
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
from _report import fmt_n, fmt_us, machine_info, render, utc_now, write_json  # noqa: E402

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
    args = p.parse_args(argv)
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


def run_sections(names: list[str], cfg: Config, meta: dict) -> None:
    """Run the cases of every section, appending records and notes to ``meta``."""
    for name in names:
        for case in sections.load(name).cases(cfg):
            results, ratios, notes = run_case(case, cfg.samples, cfg.target_ns)
            meta["results"] += results
            meta["ratios"] += ratios
            meta["notes"] += [f"{case.section}/{case.name} {case.dtype}: {n}" for n in notes]
            progress(case, results, ratios)
            del case   # drop its buffers before the next case allocates its own


def output_paths(args: argparse.Namespace, meta: dict) -> list[Path]:
    """``--json PATH``, or a timestamped file plus ``latest.json`` in bench/results."""
    if args.json is not None:
        return [args.json]
    stamp = meta["date"].replace("-", "").replace(":", "").replace("+0000", "Z")
    return [RESULTS_DIR / f"{stamp}-{meta['machine']['hostname']}.json",
            RESULTS_DIR / "latest.json"]


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections, write the JSON record and print the tables."""
    args = parse_args(argv)
    if args.threads is not None:
        fastdnn.set_num_threads(args.threads)
    torch = load_torch(fastdnn.get_num_threads())
    cfg = Config(quick=args.quick, samples=args.samples,
                 target_ns=int(args.min_sample_ms * 1e6), torch=torch)
    meta = {"machine": machine_info(torch), "fastdnn_info": fastdnn.info(),
            "date": utc_now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "results": [], "ratios": [], "notes": []}
    start = time.perf_counter()
    run_sections(args.sections, cfg, meta)
    meta["elapsed_s"] = round(time.perf_counter() - start, 1)
    meta["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    paths = output_paths(args, meta)
    write_json(meta, paths)
    print(render(meta, args.sections, args.markdown))
    print(f"\n{meta['elapsed_s']} s; results written to {', '.join(map(str, paths))}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
