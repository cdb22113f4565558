"""Builds of fastdnn's C kernels timed by turns on the same products, in one process: a
change to the GEMM engine measured to about 1 % on a machine whose speed drifts by 10 %
between runs (a shared VM), where timing two builds one after the other cannot tell them
apart.

    python bench/engine_ab.py -v kc=-DPK_KC=512 --shapes 1024,1024,1024,NN 2048,512,1024,TN
    python bench/engine_ab.py -v before=@HEAD~1 -v after= --dtypes f32 f64 --threads 1

A variant is ``NAME=SPEC``: compiler flags added to the build's (``-DPK_KC=512`` sets one
of the engine's ``#ifndef``-guarded constants, ``-DSOMETHING`` enables code a change put
under ``#ifdef SOMETHING``), optionally after ``@REV``, a git revision whose ``csrc/`` is
built instead of the worktree's. Without ``base`` among them, ``base=`` (the worktree as
it is) comes first; the first variant is the reference of the ratios. Each variant is the
C sources of ``csrc/`` compiled as ``setup.py`` compiles them (``-O3``, OpenMP) into a
shared library, kept under ``bench/results/engine_ab/`` by a hash of its sources and
flags, so that a second run reuses it.

A shape is ``M,N,K[,LAYOUT]``: C (M x N) = A (M x K) B (K x N), LAYOUT NN (default), NT
(B a transposed view) or TN (A a transposed view). Per shape and dtype, the driver
(``engine_ab.c``) checks each variant's C against a float64 product (a wrong variant
stops the run: a fast wrong build is the easiest mistake to make), then times rounds of
~20 ms per variant, in alternating order, for ``--seconds``. Printed per variant: median
µs and GFLOP/s, the best GFLOP/s and ``vs first``: the first variant's time over this
one's within each round, the median over rounds (> 1: faster), with its quartiles.
Variants are loaded side by side (``dlopen``), so they share one OpenMP runtime, as
fastdnn's threads would. A revision whose ``fdnn_gemm_args`` differs from the worktree's
cannot be compared (the check then fails).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
DRIVER = Path(__file__).resolve().parent / "engine_ab.c"
CACHE = Path(__file__).resolve().parent / "results" / "engine_ab"
# as setuptools compiles setup.py's extensions: Python's own CFLAGS and CCSHARED, then
# BuildExt's flags (its -O3 line). Python's flags matter: without its -fwrapv, GCC 12 kept
# an accumulator of the AVX2 float32 tile on the stack (AMD Zen 2, one core, 512^3 TN
# 45 against 98 GF/s), so that a build without them timed other code than fastdnn runs.
CFLAGS = [*shlex.split(sysconfig.get_config_var("CFLAGS") or ""),
          *shlex.split(sysconfig.get_config_var("CCSHARED") or "-fPIC"),
          "-O3", "-fno-trapping-math", "-fno-math-errno", "-fwrapv", "-g0", "-fopenmp"]
LAYOUTS = ("NN", "NT", "TN")
DTYPES = ("f32", "f64")


@dataclass(frozen=True)
class Variant:
    """A build of the kernels: the worktree's csrc/ or a revision's, with extra flags."""

    name: str
    rev: str | None
    flags: tuple[str, ...]


def parse_variant(text: str) -> Variant:
    """``NAME=[@REV] [FLAGS...]`` -> a Variant.

    >>> parse_variant("kc=@HEAD~1 -DPK_KC=512")
    Variant(name='kc', rev='HEAD~1', flags=('-DPK_KC=512',))
    """
    name, sep, spec = text.partition("=")
    if not sep or not name:
        raise ValueError(f"a variant is NAME=SPEC, got {text!r}")
    words = spec.split()
    rev = None
    if words and words[0].startswith("@"):
        rev = words.pop(0)[1:]
        if not rev:
            raise ValueError(f"variant {name!r}: '@' needs a revision")
    return Variant(name, rev, tuple(words))


def parse_shape(text: str) -> tuple[int, int, int, str]:
    """``M,N,K[,LAYOUT]`` -> (M, N, K, LAYOUT).

    >>> parse_shape("256,1024,784,NT")
    (256, 1024, 784, 'NT')
    """
    parts = text.split(",")
    if len(parts) not in (3, 4):
        raise ValueError(f"a shape is M,N,K[,LAYOUT], got {text!r}")
    try:
        M, N, K = (int(p) for p in parts[:3])
    except ValueError:
        raise ValueError(f"a shape is M,N,K[,LAYOUT] with integer M, N, K, got {text!r}")
    layout = parts[3].upper() if len(parts) == 4 else "NN"
    if min(M, N, K) < 1 or layout not in LAYOUTS:
        raise ValueError(f"shape {text!r}: M, N, K >= 1 and a layout in {LAYOUTS} expected")
    return M, N, K, layout


def _sources(variant: Variant, into: Path) -> Path:
    """The csrc/ directory the variant builds: the worktree's, or its revision's in `into`."""
    if variant.rev is None:
        return CSRC
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", variant.rev,
                          "csrc"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        if hasattr(tarfile, "data_filter"):      # Python >= 3.10.12 / 3.11.4
            t.extractall(into, filter="data")
        else:
            t.extractall(into)
    return into / "csrc"


def _digest(src: Path, flags: tuple[str, ...], cc: str) -> str:
    h = hashlib.sha256(" ".join((cc, *CFLAGS, *flags)).encode())
    for f in sorted(src.iterdir()):
        if f.suffix in (".c", ".h"):
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def build(variant: Variant, cc: str, jobs: int = 2) -> Path:
    """The variant's shared library (built, or found in the cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = _sources(variant, Path(tmp))
        lib = CACHE / f"kernels-{_digest(src, variant.flags, cc)}.so"
        if lib.exists():
            return lib
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"building {variant.name} ({' '.join(variant.flags) or 'no flags'}"
              f"{', ' + variant.rev if variant.rev else ''})...", file=sys.stderr, flush=True)

        def compile_one(c: Path) -> Path:
            o = Path(tmp) / (c.stem + ".o")
            subprocess.run([cc, *CFLAGS, *variant.flags, "-I", str(src), "-c", str(c),
                            "-o", str(o)], check=True)
            return o

        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            objs = list(pool.map(compile_one, sorted(src.glob("*.c"))))
        part = lib.with_suffix(".part")
        subprocess.run([cc, "-shared", "-fopenmp", *map(str, objs), "-o", str(part)],
                       check=True)
        os.replace(part, lib)      # whole or absent, if the run is stopped
        return lib


def build_driver(cc: str) -> Path:
    """engine_ab.c compiled against the worktree's csrc/ headers (cached)."""
    h = hashlib.sha256(DRIVER.read_bytes() + (CSRC / "fdnn_kernels.h").read_bytes()
                       + cc.encode()).hexdigest()[:16]
    exe = CACHE / f"driver-{h}"
    if not exe.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        part = exe.with_suffix(".part")
        subprocess.run([cc, "-O2", "-I", str(CSRC), str(DRIVER), "-o", str(part), "-ldl",
                        "-lm"], check=True)
        os.replace(part, exe)
    return exe


def compare(driver: Path, libs: list[Path], threads: int, dtype: str,
            shape: tuple[int, int, int, str], seconds: float) -> list[dict]:
    """One shape and dtype: the driver's line per library, parsed."""
    M, N, K, layout = shape
    out = subprocess.run([str(driver), str(threads), dtype, f"{M},{N},{K},{layout}",
                          str(seconds), *map(str, libs)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{M},{N},{K},{layout} {dtype}: "
                           f"{(out.stdout + out.stderr).strip()}")
    rows = []
    for line in out.stdout.splitlines():
        words = line.split()
        if words and words[0] == "lib":
            rows.append({words[i]: words[i + 1] for i in range(0, len(words) - 1, 2)})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-v", "--variant", action="append", default=[],
                    help="NAME=[@REV] [FLAGS...] (repeatable)")
    ap.add_argument("--shapes", nargs="+", default=["1024,1024,1024,NN"],
                    help="M,N,K[,LAYOUT] ...")
    ap.add_argument("--dtypes", nargs="+", default=["f32"], choices=DTYPES)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seconds", type=float, default=5.0, help="per shape and dtype")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    args = ap.parse_args(argv)
    try:
        variants = [parse_variant(v) for v in args.variant]
        shapes = [parse_shape(s) for s in args.shapes]
    except ValueError as e:
        ap.error(str(e))
    if args.threads < 1 or args.seconds <= 0:
        ap.error("--threads >= 1 and --seconds > 0 expected")
    if "base" not in {v.name for v in variants}:
        variants.insert(0, Variant("base", None, ()))
    if len({v.name for v in variants}) != len(variants):
        ap.error("variant names must differ")
    if shutil.which(args.cc) is None:
        ap.error(f"no C compiler {args.cc!r} (set --cc or CC)")
    libs = [build(v, args.cc) for v in variants]
    driver = build_driver(args.cc)
    width = max(len(v.name) for v in variants)
    print(f"{'product':28s} {'dtype':5s} {'variant':{width}s} {'µs':>10s} {'GFLOP/s':>8s} "
          f"{'best':>7s}  vs first [q1, q3]")
    for M, N, K, layout in shapes:
        for dtype in args.dtypes:
            try:
                rows = compare(driver, libs, args.threads, dtype, (M, N, K, layout),
                               args.seconds)
            except RuntimeError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            name = f"{M}x{K} @ {K}x{N} {layout}"
            for v, r in zip(variants, rows):
                print(f"{name:28s} {dtype:5s} {v.name:{width}s} {float(r['median_us']):10.1f} "
                      f"{float(r['gflops']):8.1f} {float(r['best_gflops']):7.1f}  "
                      f"{float(r['ratio']):.3f} [{float(r['q1']):.3f}, {float(r['q3']):.3f}]")
                name = ""
    return 0


if __name__ == "__main__":
    sys.exit(main())
