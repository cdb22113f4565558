"""How close NumPy's BLAS runs the [784, 256, 128, 10] training step's products to
this machine's floating-point peak (x86-64 with AVX2 and a C compiler with OpenMP).

The peak is a loop of 12 independent FMA chains per thread of the widest vectors
the CPU runs, AVX-512 or AVX2 (compiled here
into a temporary library, loaded with ctypes); the products are the eight GEMMs
of one float32 training step of the 784 network at m = 128 without dA0, as the
NumPy course code makes them. The two are timed alternately, in rounds, with a
pause for the BLAS threads to fall asleep before each peak, so that the
machine's drift cancels in the per-round efficiency.

What this says about the target of a 784 step 2x faster than NumPy's
(``bench/targets.py``): it needs the products at ``(numpy / its gemms) / 2``
of NumPy's time (``numpy/its gemms`` from ``bench/run.py --sections dense``),
i.e. at that factor times the efficiency printed here, with nothing else in
the step.

    python bench/peak.py [--rounds 12]

It also times the products on one core, alone and while every core runs its own copy:
what a core keeps of its rate when all of them work bounds what splitting the work over
threads can gain on this machine.

:func:`measure_peak` is the FMA peak alone, for other scripts (the ``gemm``
section of ``bench/run.py`` reports every product's share of it).
"""
from __future__ import annotations

import argparse
import ctypes
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ITERATIONS = 2_000_000     # of the FMA loop per call: ~3 ms per thread at 4 GHz

PEAK_C = r"""
#include <immintrin.h>
#include <time.h>
#include <string.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
                          return t.tv_sec + 1e-9 * t.tv_nsec; }
__attribute__((target("avx2,fma"))) static float chains(long n) {
    __m256 x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
    /* distinct starting values, so that no two chains are the same computation */
    __m256 a0 = _mm256_set1_ps(0.1f), a1 = _mm256_set1_ps(0.2f), a2 = _mm256_set1_ps(0.3f),
           a3 = _mm256_set1_ps(0.4f), a4 = _mm256_set1_ps(0.5f), a5 = _mm256_set1_ps(0.6f),
           a6 = _mm256_set1_ps(0.7f), a7 = _mm256_set1_ps(0.8f), a8 = _mm256_set1_ps(0.9f),
           a9 = _mm256_set1_ps(1.1f), a10 = _mm256_set1_ps(1.2f), a11 = _mm256_set1_ps(1.3f);
    for (long k = 0; k < n; k++) {
        a0 = _mm256_fmadd_ps(a0, x, y); a1 = _mm256_fmadd_ps(a1, x, y);
        a2 = _mm256_fmadd_ps(a2, x, y); a3 = _mm256_fmadd_ps(a3, x, y);
        a4 = _mm256_fmadd_ps(a4, x, y); a5 = _mm256_fmadd_ps(a5, x, y);
        a6 = _mm256_fmadd_ps(a6, x, y); a7 = _mm256_fmadd_ps(a7, x, y);
        a8 = _mm256_fmadd_ps(a8, x, y); a9 = _mm256_fmadd_ps(a9, x, y);
        a10 = _mm256_fmadd_ps(a10, x, y); a11 = _mm256_fmadd_ps(a11, x, y);
    }
    __m256 s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    return s[0];
}
__attribute__((target("avx512f"))) static float chains512(long n) {
    __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    __m512 a[12];
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps(0.1f * (i + 1));
    for (long k = 0; k < n; k++) {
        a[0] = _mm512_fmadd_ps(a[0], x, y); a[1] = _mm512_fmadd_ps(a[1], x, y);
        a[2] = _mm512_fmadd_ps(a[2], x, y); a[3] = _mm512_fmadd_ps(a[3], x, y);
        a[4] = _mm512_fmadd_ps(a[4], x, y); a[5] = _mm512_fmadd_ps(a[5], x, y);
        a[6] = _mm512_fmadd_ps(a[6], x, y); a[7] = _mm512_fmadd_ps(a[7], x, y);
        a[8] = _mm512_fmadd_ps(a[8], x, y); a[9] = _mm512_fmadd_ps(a[9], x, y);
        a[10] = _mm512_fmadd_ps(a[10], x, y); a[11] = _mm512_fmadd_ps(a[11], x, y);
    }
    __m512 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
/* The same FMAs as a matrix product's register tile makes them, its operands fed from L1:
   per step of k, the vectors of one row of a packed B panel, a broadcast of each of the
   tile's rows of a packed A panel and a multiply-add of every pair into the tile's
   accumulators (12 x 32 floats with AVX-512: 2 loads and 12 broadcasts per 24 FMAs; 6 x 16
   with AVX2: 2 and 6 per 12). TILE_K steps of both panels (3 + 8 KiB with AVX-512) stay in
   L1: no cache misses, no packing, no C; what a product's inner loop can reach at most.
   (The panels live on the stack: as thread-locals, GCC kept the accumulators there too.) */
#define TILE_K 64
#define TILE_DECL(r) VT c##r##_0 = ZERO, c##r##_1 = ZERO;
#define TILE_STEP(r) { VT x = SET1(ap[r]); c##r##_0 = FMA(x, b0, c##r##_0);                \
                       c##r##_1 = FMA(x, b1, c##r##_1); }
#define TILE_SUM(r) s = ADD(s, ADD(c##r##_0, c##r##_1));
#define TILE_FN(name, isa, ROWS, MR, VL)                                                 \
__attribute__((target(isa))) static float name(long n) {                                \
    float a[TILE_K * MR] __attribute__((aligned(64)));                                  \
    float b[TILE_K * 2 * VL] __attribute__((aligned(64)));                              \
    for (int i = 0; i < TILE_K * MR; i++) a[i] = 1e-3f * (i % 7);                       \
    for (int i = 0; i < TILE_K * 2 * VL; i++) b[i] = 1e-3f * (i % 5);                   \
    ROWS(TILE_DECL)                                                                     \
    for (long t = 0; t < n; t++) {                                                      \
        const float *ap = a, *bp = b;                                                   \
        for (int k = 0; k < TILE_K; k++, ap += MR, bp += 2 * VL) {                      \
            VT b0 = LOAD(bp), b1 = LOAD(bp + VL);                                       \
            ROWS(TILE_STEP)                                                             \
        }                                                                               \
    }                                                                                   \
    VT s = ZERO;                                                                        \
    ROWS(TILE_SUM)                                                                      \
    float out[VL];                                                                      \
    memcpy(out, &s, sizeof out);                                                        \
    float r = 0;                                                                        \
    for (int i = 0; i < VL; i++) r += out[i];                                           \
    return r;                                                                           \
}
#define ROWS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define VT __m512
#define ZERO _mm512_setzero_ps()
#define LOAD _mm512_load_ps
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
TILE_FN(tile512, "avx512f", ROWS12, 12, 16)
#undef VT
#undef ZERO
#undef LOAD
#undef SET1
#undef FMA
#undef ADD
#define VT __m256
#define ZERO _mm256_setzero_ps()
#define LOAD _mm256_load_ps
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
TILE_FN(tile256, "avx2,fma", ROWS6, 6, 8)
/* bits of the widest FMA vectors this CPU runs: 512 (AVX-512F) or 256 (AVX2 + FMA) */
int width(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 512 : 256;
}
/* GFLOP/s of `threads` threads each running f(n), which makes `flops` per unit of n */
static double rate(int threads, float (*f)(long), long n, double flops) {
    float sink = 0;
    double t0 = now();
    #pragma omp parallel num_threads(threads) reduction(+:sink)
    sink += f(n);
    double t = now() - t0;
    return threads * (double)n * flops / t / 1e9 + 0 * sink;
}
/* GFLOP/s of `threads` threads each running n iterations of 12 FMAs of the widest vectors */
double peak(int threads, long n) {
    int wide = width() == 512;
    return rate(threads, wide ? chains512 : chains, n, 12.0 * (wide ? 32 : 16));
}
/* GFLOP/s of `threads` threads each running n passes of the L1-fed register tile */
double tile_peak(int threads, long n) {
    int wide = width() == 512;
    return rate(threads, wide ? tile512 : tile256, n, (double)TILE_K * (wide ? 24 * 32 : 12 * 16));
}
"""


def build_peak() -> ctypes.CDLL:
    """The FMA loop, compiled with $CC (default cc) and loaded (the files are removed)."""
    with tempfile.TemporaryDirectory(prefix="fastdnn-peak-") as tmp:
        src, lib = os.path.join(tmp, "peak.c"), os.path.join(tmp, "peak.so")
        with open(src, "w") as f:
            f.write(PEAK_C)
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-O2", "-fopenmp", "-shared", "-fPIC", src, "-o", lib], check=True)
        dll = ctypes.CDLL(lib)
    dll.peak.restype = ctypes.c_double
    dll.peak.argtypes = [ctypes.c_int, ctypes.c_long]
    dll.width.restype = ctypes.c_int
    dll.tile_peak.restype = ctypes.c_double
    dll.tile_peak.argtypes = [ctypes.c_int, ctypes.c_long]
    return dll


def _has_avx2_fma() -> bool:
    """Whether the CPU runs AVX2 and FMA (``/proc/cpuinfo``; True where it cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return "avx2" in flags and "fma" in flags
    except OSError:
        pass
    return True


def fma_peak(dll: ctypes.CDLL, threads: int, iterations: int = ITERATIONS) -> float:
    """One run of the FMA loop on ``threads`` threads: their float32 GFLOP/s."""
    return dll.peak(threads, iterations)


def tile_peak(dll: ctypes.CDLL, threads: int, iterations: int = ITERATIONS) -> float:
    """One run of the L1-fed register tile on ``threads`` threads (as many FMAs per thread
    as :func:`fma_peak`'s with AVX2, twice as many with AVX-512): their float32 GFLOP/s."""
    return dll.tile_peak(threads, max(1, iterations // 64))


def measure_peak(threads: int | None = None, repeats: int = 9,
                 iterations: int = ITERATIONS, pause: float = 0.0) -> dict | None:
    """This machine's float32 FMA peak in GFLOP/s, the best of ``repeats`` runs of the
    loop on ``threads`` threads (default: the CPU count) and of as many on one thread,
    ``pause`` seconds apart (spread over time, so that a short burst of other work does
    not hit them all); None when it cannot be measured (not x86-64, no C compiler with
    OpenMP).

    Returns ``{"threads", "gflops", "median_gflops", "single_thread_gflops", "samples",
    "bits", "tile_gflops", "single_thread_tile_gflops"}`` (bits: 512 for AVX-512 chains,
    256 for AVX2); the best run is the peak (a busy or throttled machine only makes runs
    slower). The float64 peak is half of it (half as many lanes per vector). ``tile_*``:
    the best runs of a matrix product's register tile fed from L1 (``tile_peak`` in the
    C source), the most a product's inner loop reaches on this machine.
    """
    if platform.machine().lower() not in ("x86_64", "amd64") or not _has_avx2_fma():
        return None
    try:
        dll = build_peak()
    except (OSError, subprocess.CalledProcessError):
        return None
    threads = threads or os.cpu_count() or 1
    samples, single, tile, single_tile = [], [], [], []
    for _ in range(repeats):
        samples.append(fma_peak(dll, threads, iterations))
        single.append(fma_peak(dll, 1, iterations))
        tile.append(tile_peak(dll, threads, iterations))
        single_tile.append(tile_peak(dll, 1, iterations))
        time.sleep(pause)
    return {"threads": threads, "gflops": max(samples),
            "median_gflops": statistics.median(samples),
            "single_thread_gflops": max(single), "samples": samples, "bits": dll.width(),
            "tile_gflops": max(tile), "single_thread_tile_gflops": max(single_tile)}


def step_products(m: int = 128) -> tuple[callable, float]:
    """The eight products of one [784, 256, 128, 10] step (no dA0) and their FLOPs."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    dims = (784, 256, 128, 10)
    W = [rng.random((dims[l + 1], dims[l]), dtype=f32) for l in range(3)]
    A = [rng.random((n, m), dtype=f32) for n in dims]          # A0 = X .. A3
    dZ = [rng.random((n, m), dtype=f32) for n in dims[1:]]
    Z = [np.empty((n, m), f32) for n in dims[1:]]
    dW = [np.empty_like(w) for w in W]
    dA = [np.empty((n, m), f32) for n in dims[1:3]]

    def run() -> None:
        for l in range(3):
            np.matmul(W[l], A[l], out=Z[l])
        for l in reversed(range(3)):
            np.matmul(dZ[l], A[l].T, out=dW[l])
            if l > 0:
                np.matmul(W[l].T, dZ[l], out=dA[l - 1])

    # forward, dW and dA of every layer, less dA0
    flops = 3 * 2.0 * m * sum(dims[l] * dims[l + 1] for l in range(3))
    flops -= 2.0 * m * dims[0] * dims[1]
    return run, flops


def per_core_rates(threads: int, seconds: float = 1.0) -> tuple[float, float]:
    """GFLOP/s of one core running the step's products on one BLAS thread, alone and while
    every one of ``threads`` cores runs its own copy at once (Python threads, each on its
    own arrays; NumPy's matmul releases the GIL). Their ratio is what one core keeps of
    its rate when all work: below 1, the cores share something (a host's SMT siblings,
    caches or memory bandwidth), and no split of a product over them can gain more than
    ``threads`` times that ratio."""
    import threading

    from threadpoolctl import threadpool_limits

    def rate(run: callable, flops: float, out: list[float], i: int) -> None:
        for _ in range(3):
            run()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            run()
            n += 1
        out[i] = flops * n / (time.perf_counter() - t0) / 1e9

    with threadpool_limits(limits=1, user_api="blas"):
        work = [step_products() for _ in range(threads)]
        alone = [0.0]
        rate(*work[0], alone, 0)
        together = [0.0] * threads
        pool = [threading.Thread(target=rate, args=(*work[i], together, i))
                for i in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    return alone[0], statistics.median(together)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    if platform.machine().lower() not in ("x86_64", "amd64"):
        print("needs an x86-64 CPU with AVX2")
        return 0
    try:
        dll = build_peak()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"could not build the FMA loop ({exc}); a C compiler with OpenMP is needed")
        return 0
    run, flops = step_products()
    threads = os.cpu_count() or 1
    print(f"step products: {flops / 1e6:.1f} MFLOP; {threads} threads")
    peaks, rates, effs = [], [], []
    for _ in range(args.rounds):
        for _ in range(5):
            run()
        t0 = time.perf_counter()
        for _ in range(20):
            run()
        rate = flops / ((time.perf_counter() - t0) / 20) / 1e9
        time.sleep(0.3)                       # BLAS threads asleep before the FMA loop
        p = fma_peak(dll, threads)
        peaks.append(p)
        rates.append(rate)
        effs.append(rate / p)
    single = fma_peak(dll, 1)
    print(f"FMA peak ({dll.width()}-bit vectors): {single:.0f} GF/s on 1 thread, {np.median(peaks):.0f} GF/s "
          f"(min {min(peaks):.0f}, max {max(peaks):.0f}) on {threads}")
    tiles = [tile_peak(dll, 1) for _ in range(5)]
    print(f"a product's register tile fed from L1: {max(tiles):.0f} GF/s on 1 thread, "
          f"{max(tiles) / single:.0%} of the FMA peak: the most a matrix product's inner "
          "loop reaches here")
    print(f"NumPy's BLAS on the step's products: {np.median(rates):.0f} GF/s, "
          f"{np.median(effs):.0%} of peak (per round: {min(effs):.0%} to {max(effs):.0%})")
    if threads > 1:
        try:
            alone, together = per_core_rates(threads)
        except ImportError:
            print("per-core rates need threadpoolctl")
            return 0
        print(f"the products on one core: {alone:.0f} GF/s alone, {together:.0f} GF/s per core "
              f"with all {threads} cores at work ({together / alone:.0%}): "
              f"{threads} cores give at most {threads * together / alone:.2f}x one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
