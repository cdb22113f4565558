/* Run-time choice of the kernel table (SIMD width) and of the thread count.
 *
 * The table is picked once from the CPU's features (overridable with the
 * environment variable FASTDNN_SIMD or fdnn_set_simd). Large element-wise
 * calls are split into contiguous chunks over OpenMP threads; below a per-op
 * size threshold the call runs on the caller's thread only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fdnn_kernels.h"
#include "fdnn_stream.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static fdnn_kernel_table g_tables[3];
static int g_have[3];
static const fdnn_kernel_table *g_cur = NULL;
static int g_user_threads = 0;

static const char *const g_names[3] = {"portable", "avx2", "avx512"};

static int cpu_supports(int level)
{
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (level == 1)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (level == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("fma");
#endif
    return level == 0;
}

static int level_of(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, g_names[i]) == 0)
            return i;
    return -1;
}

static int best_level(void)
{
    for (int i = 2; i > 0; i--)
        if (g_have[i])
            return i;
    return 0;
}

void fdnn_init(void)
{
    if (g_cur != NULL)
        return;
    g_have[0] = fdnn_fill_table_portable(&g_tables[0]);
    /* the fill functions are compiled for their own instruction set: ask the CPU first */
    g_have[1] = cpu_supports(1) && fdnn_fill_table_avx2(&g_tables[1]);
    g_have[2] = cpu_supports(2) && fdnn_fill_table_avx512(&g_tables[2]);
    int level = best_level();
    const char *env = getenv("FASTDNN_SIMD");
    if (env != NULL && env[0] != '\0' && strcmp(env, "auto") != 0) {
        int want = level_of(env);
        /* an unavailable request falls back to the best available level */
        if (want >= 0 && g_have[want])
            level = want;
    }
    g_cur = &g_tables[level];
    fdnn_stream_init();
}

const char *fdnn_simd_name(void) { return g_cur->name; }

int fdnn_simd_available(const char *name)
{
    int level = level_of(name);
    return level >= 0 && g_have[level];
}

int fdnn_set_simd(const char *name)
{
    int level = strcmp(name, "auto") == 0 ? best_level() : level_of(name);
    if (level < 0)
        return -1;
    if (!g_have[level])
        return -2;
    if (g_cur != &g_tables[level])
        fdnn_stream_relearn(); /* other kernels: their own trials */
    g_cur = &g_tables[level];
    return 0;
}

int fdnn_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fdnn_get_num_threads(void)
{
#ifdef _OPENMP
    return g_user_threads > 0 ? g_user_threads : omp_get_max_threads();
#else
    return 1;
#endif
}

void fdnn_set_num_threads(int n) { g_user_threads = n > 0 ? n : 0; }

/* Threads a kernel may start: 1 when called from a thread of an enclosing parallel region
   (a training step that splits its own work over the team runs each piece's kernels on
   the thread that owns it), else fdnn_get_num_threads(). */
static int team_size(void)
{
#ifdef _OPENMP
    if (omp_in_parallel())
        return 1;
#endif
    return fdnn_get_num_threads();
}
int fdnn_get_user_threads(void) { return g_user_threads; }

/* threads a parallel region uses at most */
#define FDNN_MAX_TEAM 256
/* elements from which an element-wise pass always uses the team (milliseconds) */
#define FDNN_LONG_PASS ((ptrdiff_t)1 << 22)

#ifdef _OPENMP
/* Another library's threads spinning on our cores (NumPy's OpenBLAS spins ~0.1 s after
   each product) hold a team's thread off for whole time slices: a 13 us product took
   0.56 ms. When a thread of the team starts its share late, work shorter than a time
   slice runs on the calling thread alone for a while. Late is more than FDNN_LATE_S
   after the first thread when the previous region ended less than FDNN_SPINNING_S
   before (the threads should still be spinning: they start within microseconds), else
   more than FDNN_WAKE_S (waking a sleeping thread takes 20-90 us here; one held off by
   another library's spinning thread, 0.5 ms to a time slice), in FDNN_LATE_STREAK
   regions in a row. The team's first region (thread creation) is not judged.

   The back-off lasts FDNN_BACKOFF_MIN_S, doubled (up to FDNN_BACKOFF_MAX_S) each time
   threads are late again within FDNN_BACKOFF_MAX_S of the last one ending: spinning
   threads keep it long, while a lone stall costs little. This VM's host stalls a virtual
   CPU now and then (a thread 0.3-4 ms late, in bursts, with nothing else running): a
   fixed 20 ms back-off left the element-wise benchmark's 2 ms samples on one thread for
   whole rounds. Its quick run missed 37-44 of its targets so, 22-25 with this rule and 20
   with no back-off at all; a 128^3 product after NumPy products took 61-69 us with this
   rule, 63-68 with the fixed one, 340 with none. */
#define FDNN_LATE_S 100e-6
#define FDNN_WAKE_S 250e-6
#define FDNN_SPINNING_S 20e-6
#define FDNN_BACKOFF_MIN_S 250e-6
#define FDNN_BACKOFF_MAX_S 20e-3
#define FDNN_LATE_STREAK 2
static double g_team_off_until = 0;
static double g_backoff_s = FDNN_BACKOFF_MIN_S;
static int g_team_late = 0;
static double g_team_last_end = -1;
static int g_team_started = 0;
static long g_team_backoffs = 0;

static int team_usable(void) { return omp_get_wtime() >= g_team_off_until; }

static void note_lateness(const double *start, int nt)
{
    if (nt > FDNN_MAX_TEAM)
        nt = FDNN_MAX_TEAM;
    if (!g_team_started) {
        g_team_started = 1;
        g_team_last_end = omp_get_wtime();
        return;
    }
    double first = start[0], last = start[0];
    for (int t = 1; t < nt; t++) {
        if (start[t] < 0) /* a thread the team did not get */
            continue;
        first = start[t] < first ? start[t] : first;
        last = start[t] > last ? start[t] : last;
    }
    const double now = omp_get_wtime();
    const int spinning = g_team_last_end >= 0 && first - g_team_last_end < FDNN_SPINNING_S;
    if (last - first > (spinning ? FDNN_LATE_S : FDNN_WAKE_S)) {
        if (++g_team_late >= FDNN_LATE_STREAK) { /* a lone hiccup is not contention */
            const int again = now - g_team_off_until < FDNN_BACKOFF_MAX_S;
            double b = again ? 2 * g_backoff_s : FDNN_BACKOFF_MIN_S;
            b = b > FDNN_BACKOFF_MAX_S ? FDNN_BACKOFF_MAX_S : b; /* callers race: bound a local */
            g_backoff_s = b;
            g_team_off_until = now + b;
            g_team_late = 0;
            g_team_backoffs++;
        }
    } else {
        g_team_late = 0;
    }
    g_team_last_end = now;
}

int fdnn_team_threads(void) { return team_usable() ? team_size() : 1; }
void fdnn_team_barrier(void)
{
#pragma omp barrier
}
int fdnn_region_threads(void) { return omp_get_num_threads(); }
void fdnn_team_note(const double *start, int nt) { note_lateness(start, nt); }
double fdnn_team_clock(void) { return omp_get_wtime(); }
long fdnn_team_backoffs(void) { return g_team_backoffs; }
#else
static int team_usable(void) { return 1; }
int fdnn_team_threads(void) { return 1; }
void fdnn_team_barrier(void) {}
int fdnn_region_threads(void) { return 1; }
void fdnn_team_note(const double *start, int nt) { (void)start; (void)nt; }
long fdnn_team_backoffs(void) { return 0; }
double fdnn_team_clock(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        return 0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#endif

/* ---- interrupts (fdnn_kernels.h) ---- */
#if defined(_MSC_VER)
#define FDNN_THREAD_LOCAL __declspec(thread)
#else
#define FDNN_THREAD_LOCAL _Thread_local
#endif
/* multiply-adds per piece of a product cut for polling: ~15 ms on two cores (each piece
   packs again the operand it does not cut: 2^28 cost a 1024-2048-2048-1024 step at
   m = 512 ~10 % more packing) */
#define FDNN_POLL_GEMM ((double)(1 << 30))
static FDNN_THREAD_LOCAL int (*t_poll)(void *) = NULL;
static FDNN_THREAD_LOCAL void *t_poll_ctx = NULL;
static FDNN_THREAD_LOCAL double t_poll_interval = 0, t_poll_next = 0;
static FDNN_THREAD_LOCAL int t_poll_armed = 0, t_interrupted = 0;

void fdnn_interrupt_set(int (*fn)(void *), void *ctx, double interval)
{
    t_poll = fn;
    t_poll_ctx = ctx;
    t_poll_interval = interval;
    t_poll_next = fdnn_team_clock() + interval;
    t_poll_armed = 0;
    t_interrupted = 0;
}

void fdnn_interrupt_arm(int armed) { t_poll_armed = armed; }

int fdnn_interrupt_poll(void)
{
    if (t_poll == NULL || t_interrupted)
        return t_interrupted;
    const double now = fdnn_team_clock();
    if (now >= t_poll_next) {
        t_poll_next = now + t_poll_interval;
        t_interrupted = t_poll(t_poll_ctx) != 0;
    }
    return t_interrupted;
}

int fdnn_interrupted(void) { return t_interrupted; }

/* ---- the element-wise passes' thread policy ----
 * A call of n elements runs on the calling thread alone below `from` elements, the size
 * from which two threads beat one for that kernel (measured per kernel: the table at
 * ew_from, numbers next to each entry), and on min(team, 2 n / from) threads above it;
 * the work is cut into chunks of about n / (4 nt) elements (a multiple of 64, so threads
 * never share a cache line, and at least FDNN_MIN_CHUNK); each thread takes its own run
 * of them first, then the others' leftovers (FDNN_PARALLEL_CHUNKS): if one core is busy
 * with another process, the threads that do run take its chunks. */
#define FDNN_MIN_CHUNK 4096
/* Thresholds measured on the 2-core AMD EPYC (Zen 3, AVX2, 512 KiB L2 per core) VM the
   benchmarks now run on: best of 25 interleaved rounds of each size, 1 thread against 2
   (speed-up = time on 1 thread / time on 2; two runs where they disagree):
     kernel               dtype  8k         16k        32k        48k   64k
     sigmoid, tanh, elu,  f32    0.85-1.26  1.10-1.54  1.24-1.61  -     1.80
       their z-derivs     f64    1.51       1.79       1.87       -     1.89
     gelu, silu's deriv,  f32    1.15-1.54  1.52-1.71  1.69-1.76  -     1.87
       backward from z    f64    1.73       1.76       1.80       -     1.82
     relu, a-derivatives  f32    0.55       0.71       1.09       -     1.20
                          f64    0.53       0.62       0.83-0.88  0.97-1.04  1.09-1.21
     backward from a      f32    0.41-0.78  0.56-1.04  0.61-1.23  -     1.23-1.37
                          f64    0.46-0.51  0.65-0.74  0.91-1.22  1.06-1.12  1.11-1.27
     linear (memcpy)      f32    0.50       0.67       1.11       -     1.15
                          f64    0.40       0.62       0.74-0.82  0.96  1.06-1.13
     softmax, each axis   both   1.1-1.5  1.4-1.7  1.4-1.7  1.7-1.8 (Ice Lake; 4k: 0.7-0.8)
     softmax_backward     both   0.7-1.4  1.05-1.6 1.1-1.7  1.5-1.8 (Ice Lake; 4k: 0.6-0.8)
   A second thread costs 2-3 us here (its wake-up, the dynamic chunks, the end barrier), so
   it pays once one thread has ~5 us of work: the kernels of ~1 ns per element from 8k
   elements, sigmoid-like ones from 16k float32 (8k float64), cheap unary ones from 48k,
   binary ones from 32k / 40k float64, a copy from 64k. (The 2-core Intel Xeon (Ice Lake-SP)
   VM measured before wanted 16k / 8k for every costly kernel, 48k / 24k cheap unary, 32k /
   24k binary, 64k / 32k a copy; the AMD EPYC (Zen 4) VM before it about twice those. Under
   a load of ~4 from other processes no size gains below 512k for the memory-bound ops: the
   second core is then mostly taken, and the team's back-off keeps such calls on one thread
   anyway.) */
/* the backward steps that take z (their derivative cannot be written in a) */
#define FDNN_TAKES_a 0
#define FDNN_TAKES_z 1
#define FDNN_CASE_BW_TAKES_(A, name, derivative, takes)                                \
    case FDNN_BW_##A:                                                                  \
        return FDNN_TAKES_##takes;
static int bw_from_z(int op)
{
    switch (op) {
    FDNN_ACTIVATIONS(FDNN_CASE_BW_TAKES_)
    default:
        return 0;
    }
}

/* The costly kernels of about 1 ns per element or more on one core (float32): the GELUs',
   softplus's and mish's forward, the derivatives on z that are not a sigmoid. */
static int unary_heavy(int op)
{
    switch (op) {
    case FDNN_GELU: case FDNN_GELU_TANH: case FDNN_SOFTPLUS: case FDNN_MISH:
    case FDNN_D_GELU_Z: case FDNN_D_GELU_TANH_Z: case FDNN_D_SILU_Z: case FDNN_D_MISH_Z:
        return 1;
    default:
        return 0;
    }
}

static ptrdiff_t unary_from(int op, int f64)
{
    if (unary_heavy(op) || (f64 && fdnn_unary_costly(op)))
        return 8192;
    if (fdnn_unary_costly(op))
        return 16384;
    return op == FDNN_LINEAR ? 65536 : 49152;
}

/* the backward steps that take z are as costly as their derivative */
static ptrdiff_t binary_from(int op, int f64)
{
    if (bw_from_z(op))
        return 8192;
    return f64 ? 40960 : 32768;
}

static ptrdiff_t softmax_from(int backward) { return (ptrdiff_t)1 << (backward ? 14 : 13); }

static int ew_threads(ptrdiff_t n, ptrdiff_t from)
{
#ifdef _OPENMP
    if (n < from || (n < FDNN_LONG_PASS && !team_usable()))
        return 1;
    int nt = team_size();
    ptrdiff_t most = 2 * n / from;
    if (most < nt)
        nt = (int)most;
    return nt < 1 ? 1 : nt;
#else
    (void)n;
    (void)from;
    return 1;
#endif
}

/* Whole rows (slices) per chunk: the chunk's size in rows, rounded down, at least one
   (rounded up, 10 rows of 10^4 float32 went 6 to one thread and 4 to the other) */
#define FDNN_ATLEAST1(q) ((q) < 1 ? (ptrdiff_t)1 : (q))

static ptrdiff_t ew_chunk(ptrdiff_t n, int nt)
{
    ptrdiff_t c = n / (4 * (ptrdiff_t)nt);
    c = (c + 63) / 64 * 64;
    return c < FDNN_MIN_CHUNK ? FDNN_MIN_CHUNK : c;
}

static int threads_for(ptrdiff_t n, ptrdiff_t grain)
{
#ifdef _OPENMP
    if (n < 4 * grain || (n < FDNN_LONG_PASS && !team_usable()))
        return 1;
    int nt = team_size();
    ptrdiff_t most = n / grain;
    if (most < nt)
        nt = (int)most;
    return nt < 1 ? 1 : nt;
#else
    (void)n;
    (void)grain;
    return 1;
#endif
}

/* Large calls are cut into chunks of `grain` elements (a multiple of 64, so threads
   never share a cache line). Thread t owns the t-th of nt equal runs of chunks and takes
   them from the front, so that from call to call it touches the same part of the arrays,
   which then stays in its core's cache (handed out first come, first served, the chunks
   went to either core from call to call: leaky_relu on 10^5 float64, whose halves fit
   each core's L2, took 15-22 us per call instead of 11). A thread done with its own
   run takes the others' remaining chunks from their back: if one core is busy with
   another process, the threads that do run take its work instead of waiting for it. */
#ifdef _OPENMP
/* words per run of chunks (each run alone in its cache lines), and runs at most (a
   thread me >= owners starts on run me % owners) */
#define FDNN_CHUNK_WORDS 16
#define FDNN_CHUNK_OWNERS 16

/* a run of chunks [lo, hi) in one word, taken from either end */
static ptrdiff_t chunk_take(uint64_t *run, int back)
{
#if defined(__GNUC__)
    uint64_t v = __atomic_load_n(run, __ATOMIC_RELAXED);
    for (;;) {
        const uint64_t lo = v & 0xffffffffu, hi = v >> 32;
        if (lo >= hi)
            return -1;
        const uint64_t w = back ? ((hi - 1) << 32) | lo : (hi << 32) | (lo + 1);
        if (__atomic_compare_exchange_n(run, &v, w, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return (ptrdiff_t)(back ? hi - 1 : lo);
    }
#else
    ptrdiff_t c = -1;
#pragma omp critical(fdnn_chunks)
    {
        const uint64_t lo = *run & 0xffffffffu, hi = *run >> 32;
        if (lo < hi) {
            c = (ptrdiff_t)(back ? hi - 1 : lo);
            *run = back ? ((hi - 1) << 32) | lo : (hi << 32) | (lo + 1);
        }
    }
    return c;
#endif
}

/* n < 2^31 chunks in `owners` equal runs */
static void chunks_init(uint64_t *runs, int owners, ptrdiff_t n)
{
    for (int t = 0; t < owners; t++) {
        const uint64_t lo = (uint64_t)(n * t / owners), hi = (uint64_t)(n * (t + 1) / owners);
        runs[t * FDNN_CHUNK_WORDS] = (hi << 32) | lo;
    }
}

/* thread me's next chunk: from its own run's front, else from another's back; -1: none */
static ptrdiff_t chunk_next(uint64_t *runs, int owners, int me)
{
    for (int k = 0; k < owners; k++) {
        const ptrdiff_t c = chunk_take(runs + (me + k) % owners * FDNN_CHUNK_WORDS, k > 0);
        if (c >= 0)
            return c;
    }
    return -1;
}

#define FDNN_CHUNKS_LOOP_(nt, n, grain, body)                                   \
    ptrdiff_t grain_ = (grain);                                                 \
    ptrdiff_t nchunks_ = ((n) + grain_ - 1) / grain_;                           \
    if (nchunks_ > (ptrdiff_t)0x7fffffff) { /* a multiple of the grain */       \
        grain_ *= (nchunks_ + 0x7ffffffe) / 0x7fffffff;                         \
        nchunks_ = ((n) + grain_ - 1) / grain_;                                 \
    }                                                                           \
    const int owners_ = (nt) < FDNN_CHUNK_OWNERS ? (nt) : FDNN_CHUNK_OWNERS;    \
    uint64_t runs_[FDNN_CHUNK_WORDS * FDNN_CHUNK_OWNERS];                       \
    chunks_init(runs_, owners_, nchunks_);                                      \
    _Pragma("omp parallel num_threads(nt)")                                     \
    {                                                                           \
        const int me_ = omp_get_thread_num();                                   \
        if (me_ < FDNN_MAX_TEAM)                                                \
            start_[me_] = omp_get_wtime();                                      \
        for (ptrdiff_t c_; (c_ = chunk_next(runs_, owners_, me_)) >= 0;) {      \
            ptrdiff_t lo = c_ * grain_;                                         \
            ptrdiff_t hi = lo + grain_ < (n) ? lo + grain_ : (n);               \
            body;                                                               \
        }                                                                       \
    }
#define FDNN_PARALLEL_CHUNKS(nt, n, grain, body)                                \
    {                                                                           \
        double start_[FDNN_MAX_TEAM];                                           \
        for (int t_ = 0; t_ < (nt) && t_ < FDNN_MAX_TEAM; t_++)                 \
            start_[t_] = -1;                                                    \
        FDNN_CHUNKS_LOOP_(nt, n, grain, body)                                   \
        note_lateness(start_, nt);                                              \
    }
#else
#define FDNN_PARALLEL_CHUNKS(nt, n, grain, body) { ptrdiff_t lo = 0, hi = n; (void)(grain); body; }
#endif

/* Elements before y's first 64-byte line (all of them when y is not aligned to its
   element: such an output is never streamed). */
static ptrdiff_t stream_head(const void *y, ptrdiff_t n, size_t size)
{
    if ((uintptr_t)y % size != 0)
        return n;
    const ptrdiff_t head = fdnn_to_line(y, size);
    return head < n ? head : n;
}

/* The array of a binary pass to align: its two inputs where they share their place in a
   line and y does not (two streams of loads split rather than one of stores: float32
   sigmoid_backward 10^5, two threads, 7.2-7.5 against 9.2-9.4 us), y otherwise */
static const void *ew_lead(const void *dA, const void *a, const void *y)
{
    const uintptr_t od = (uintptr_t)dA % 64, oa = (uintptr_t)a % 64, oy = (uintptr_t)y % 64;
    return od == oa && oy != od ? dA : y;
}

/* A streamed pass (fdnn_stream.c) computes FDNN_STREAM_BLOCK bytes at a time into a
   buffer that stays in L1, then streams them to y: STEP(out, i, len) computes elements
   [i, i + len) into out. */
#define FDNN_STREAM_BLOCK 4096
#define FDNN_STREAMED(T, y, n, STEP)                                                   \
    {                                                                                  \
        enum { B = FDNN_STREAM_BLOCK / sizeof(T) };                                    \
        T raw_[B + 64 / sizeof(T)];                                                    \
        T *buf_ = raw_ + stream_head(raw_, B, sizeof(T));                              \
        ptrdiff_t i_ = stream_head(y, n, sizeof(T));                                   \
        STEP(y, 0, i_);                                                                \
        for (; i_ + B <= (n); i_ += B) {                                               \
            STEP(buf_, i_, B);                                                         \
            fdnn_stream_copy((y) + i_, buf_, sizeof(T) * B);                           \
        }                                                                              \
        STEP((y) + i_, i_, (n) - i_);                                                  \
        fdnn_stream_fence();                                                           \
    }
#define FDNN_UNARY_STEP_(out, i, len) f(x + (i), out, len, alpha)
#define FDNN_BINARY_STEP_(out, i, len) f(dA + (i), a + (i), out, len, alpha)

/* A copy: the C library's memcpy (faster than the kernel's loop), or straight from x
   past the caches. */
#define FDNN_DEF_STREAMED(TS, T)                                                       \
    static void linear_copy_##TS(const T *x, T *y, ptrdiff_t n, T alpha)               \
    {                                                                                  \
        (void)alpha;                                                                   \
        memcpy(y, x, (size_t)n * sizeof(T));                                           \
    }                                                                                  \
    static void linear_stream_##TS(const T *x, T *y, ptrdiff_t n, T alpha)             \
    {                                                                                  \
        const ptrdiff_t line = 64 / sizeof(T);                                         \
        ptrdiff_t head = stream_head(y, n, sizeof(T));                                 \
        ptrdiff_t bulk = (n - head) / line * line;                                     \
        linear_copy_##TS(x, y, head, alpha);                                           \
        fdnn_stream_copy(y + head, x + head, (size_t)bulk * sizeof(T));                \
        linear_copy_##TS(x + head + bulk, y + head + bulk, n - head - bulk, alpha);    \
        fdnn_stream_fence();                                                           \
    }                                                                                  \
    static void unary_stream_##TS(fdnn_unary_##TS##_t f, const T *x, T *y, ptrdiff_t n, \
                                  T alpha)                                             \
        FDNN_STREAMED(T, y, n, FDNN_UNARY_STEP_)                                       \
    static void unary_aligned_##TS(fdnn_unary_##TS##_t f, const T *x, T *y, ptrdiff_t n, \
                                   T alpha)                                            \
    {                                                                                  \
        const ptrdiff_t h = fdnn_line_head(y, n, sizeof(T));                           \
        if (h > 0)                                                                     \
            f(x, y, h, alpha);                                                         \
        f(x + h, y + h, n - h, alpha);                                                 \
    }                                                                                  \
    static void binary_aligned_##TS(fdnn_binary_##TS##_t f, const T *dA, const T *a,   \
                                    T *y, ptrdiff_t n, T alpha)                        \
    {                                                                                  \
        const ptrdiff_t h = fdnn_line_head(ew_lead(dA, a, y), n, sizeof(T));           \
        if (h > 0)                                                                     \
            f(dA, a, y, h, alpha);                                                     \
        f(dA + h, a + h, y + h, n - h, alpha);                                         \
    }                                                                                  \
    static void binary_stream_##TS(fdnn_binary_##TS##_t f, const T *dA, const T *a,    \
                                   T *y, ptrdiff_t n, T alpha)                         \
        FDNN_STREAMED(T, y, n, FDNN_BINARY_STEP_)

FDNN_DEF_STREAMED(f32, float)
FDNN_DEF_STREAMED(f64, double)

/* Whether a pass writing n elements of `size` bytes streams its output: a copy once it
   outgrows the last-level cache, the other memory-bound kernels when two threads or more
   run them (on one, streaming did not pay). The compute-bound kernels (the costly
   activations' forward and derivative on z, the backward steps that take z) lose 2-12 %
   to the extra pass over L1. 10^7 elements on this VM (AMD EPYC, 32 MiB L3), 2 threads,
   best of 7, stored normally / streamed:
     float32  copy 1.48-1.61, d_linear 1.03-1.44, relu 1.09-1.31, the a-derivatives
              1.10-1.24, softsign/hard_sigmoid 1.10-1.12, the backward steps from a
              0.91-1.06 in one run, 1.11-1.27 in the next, sgd_step 1.22;
              sigmoid, tanh, elu, silu, their z-derivatives 0.87-0.93, GELUs and mish
              0.94-0.99, backward steps from z 0.97-1.06
     float64  copy 1.61, relu 1.31, backward steps from a 1.20-1.29, sigmoid 0.91,
              backward steps from z 0.92-0.99 */
static int streamed(ptrdiff_t n, size_t size, int copy, int nt, int compute_bound)
{
    size_t from = fdnn_stream_from();
    if (from == 0 || (size_t)n * size < from)
        return 0;
    return copy || (nt >= 2 && !compute_bound);
}

/* Those passes then stream or not as their kind learned on this CPU (fdnn_stream.h):
   on the AMD Zen 4 VM that replaced the one above, ordinary stores of a fill
   (linear_derivative's ones, 10^7 float32) took 640 us against 1,420 streamed (the CPU
   writes whole lines without reading them; its non-temporal stores ran at 28 GB/s),
   while a copy and relu still streamed faster (1,500-1,540 us against 1,740-1,870). */
#define FDNN_SLOT_UNARY(op, f64) (2 * (op) + (f64))
#define FDNN_SLOT_BINARY(op, f64) (2 * FDNN_N_UNARY + 2 * (op) + (f64))
typedef char fdnn_slots_fit_[2 * (FDNN_N_UNARY + FDNN_N_BINARY) <= FDNN_STREAM_SLOTS ? 1
                                                                                  : -1];

int fdnn_store_learned(int binary, int op, int f64)
{
    f64 = f64 != 0;
    return fdnn_stream_learned(binary ? FDNN_SLOT_BINARY(op, f64) : FDNN_SLOT_UNARY(op, f64));
}

/* Runs `body` with `stream` set to the way this call stores (0 when it is no candidate),
   timing the call when it is one of its kind's trials. */
#define FDNN_STORE_WAY(candidate, slot, bytes, body)                                   \
    {                                                                                  \
        int trial_ = 0;                                                                \
        const int stream = (candidate) ? fdnn_stream_way((slot), &trial_) : 0;         \
        const double t0_ = trial_ ? fdnn_stream_clock() : 0;                           \
        if (stream)                                                                    \
            fdnn_stream_note();                                                        \
        body;                                                                          \
        if (trial_)                                                                    \
            fdnn_stream_learn((slot), stream, fdnn_stream_clock() - t0_, (bytes));     \
    }

/* Softmax over a long slice of few columns (an F-ordered (p, m) array over axis 1, p <=
   FDNN_PERIOD): the slice's rows in segments, each pass of fdnn_kernels.h run on the
   segments by the threads, the segments' maxima and sums combined in segment order in
   between. The segments depend on the row count only, never on the threads, so results
   are the same on any thread count. At least FDNN_PERIOD_SEG_ROWS rows each, at most
   FDNN_PERIOD_SEGS of them (their values stay on the stack). One thread did it all
   before (the column chunks are wider than the slice): (10, m) over axis 1, 2 threads,
   best of 7, forward / backward: float32 m = 10^5 590 / 300 -> 310-330 / 147-150 us,
   m = 10^6 9.6-9.9 / 9.4-10.0 -> 5.8 / 5.8 ms (PyTorch's backward 8.9); float64 m = 10^6
   21.5 / 19.9-20.1 -> 11.8-12.6 / 12.8-14.0 ms (PyTorch's backward 16.4); on one thread
   within 2 % (the per-column patterns are set without a division per element). */
#define FDNN_PERIOD_SEG_ROWS 2048
#define FDNN_PERIOD_SEGS 64

static int period_split(ptrdiff_t n, ptrdiff_t inner)
{
    return inner > 1 && inner <= FDNN_PERIOD && n >= 2 * FDNN_PERIOD_SEG_ROWS;
}

/* rows per segment; the last one also takes the remainder */
static ptrdiff_t period_seg_rows(ptrdiff_t n)
{
    ptrdiff_t r = (n + FDNN_PERIOD_SEGS - 1) / FDNN_PERIOD_SEGS;
    r = (r + 15) / 16 * 16; /* whole 16-row blocks of the kernels: segments stay aligned */
    return r < FDNN_PERIOD_SEG_ROWS ? FDNN_PERIOD_SEG_ROWS : r;
}

/* NaN wins, as the kernels' maxima */
static double period_max(double v, double m) { return (v > m || v != v) ? v : m; }

/* the segments' sums of each column, compensated, in segment order */
static void period_sums(const double *v, ptrdiff_t nseg, ptrdiff_t p, double *s)
{
    for (ptrdiff_t j = 0; j < p; j++) {
        double sum = 0, c = 0;
        for (ptrdiff_t k = 0; k < nseg; k++) {
            const double y = v[k * FDNN_PERIOD + j] - c, t = sum + y;
            c = (t - sum) - y;
            sum = t;
        }
        s[j] = sum - c;
    }
}

#define FDNN_DEF_PERIOD_DISPATCH(TS, T)                                                \
    static void period_segs_##TS(int pass, const T *x, const T *g, T *y, ptrdiff_t n,  \
                                 ptrdiff_t p, ptrdiff_t rows, ptrdiff_t nseg,          \
                                 const double *in, double *out, ptrdiff_t lo,          \
                                 ptrdiff_t hi)                                         \
    {                                                                                  \
        fdnn_softmax_period_##TS##_t f = g_cur->softmax_period_##TS;                   \
        for (ptrdiff_t k = lo; k < hi; k++) {                                          \
            const ptrdiff_t at = k * rows * p;                                         \
            f(pass, x + at, g ? g + at : NULL, y ? y + at : NULL,                      \
              k == nseg - 1 ? n - k * rows : rows, p, in, out ? out + k * FDNN_PERIOD : NULL); \
        }                                                                              \
    }                                                                                  \
    static void period_run_##TS(int nt, int pass, const T *x, const T *g, T *y,        \
                                ptrdiff_t n, ptrdiff_t p, const double *in, double *out) \
    {                                                                                  \
        const ptrdiff_t rows = period_seg_rows(n), nseg = n / rows;                    \
        if (nt <= 1) {                                                                 \
            period_segs_##TS(pass, x, g, y, n, p, rows, nseg, in, out, 0, nseg);       \
            return;                                                                    \
        }                                                                              \
        FDNN_PARALLEL_CHUNKS(nt, nseg, 1,                                              \
            period_segs_##TS(pass, x, g, y, n, p, rows, nseg, in, out, lo, hi))        \
    }                                                                                  \
    /* g NULL: the softmax of x; else softmax_backward, x = a, g = dA */               \
    static void period_softmax_##TS(int nt, const T *x, const T *g, T *y, ptrdiff_t n, \
                                    ptrdiff_t p)                                       \
    {                                                                                  \
        const ptrdiff_t nseg = n / period_seg_rows(n);                                 \
        double v[FDNN_PERIOD_SEGS * FDNN_PERIOD], s[FDNN_PERIOD];                      \
        nt = nt < nseg ? nt : (int)nseg;                                               \
        if (g) {                                                                       \
            period_run_##TS(nt, FDNN_SMP_DOT, x, g, NULL, n, p, NULL, v);              \
            period_sums(v, nseg, p, s);                                                \
            period_run_##TS(nt, FDNN_SMP_BW, x, g, y, n, p, s, NULL);                  \
            return;                                                                    \
        }                                                                              \
        period_run_##TS(nt, FDNN_SMP_MAX, x, NULL, NULL, n, p, NULL, v);               \
        for (ptrdiff_t j = 0; j < p; j++) {                                            \
            s[j] = v[j];                                                               \
            for (ptrdiff_t k = 1; k < nseg; k++)                                       \
                s[j] = period_max(v[k * FDNN_PERIOD + j], s[j]);                       \
        }                                                                              \
        period_run_##TS(nt, FDNN_SMP_EXP, x, NULL, y, n, p, s, v);                     \
        period_sums(v, nseg, p, s);                                                    \
        for (ptrdiff_t j = 0; j < p; j++)                                              \
            s[j] = 1.0 / s[j];                                                         \
        period_run_##TS(nt, FDNN_SMP_SCALE, x, NULL, y, n, p, s, NULL);                \
    }

FDNN_DEF_PERIOD_DISPATCH(f32, float)
FDNN_DEF_PERIOD_DISPATCH(f64, double)

#define FDNN_DEF_UNARY_DISPATCH(TS, T)                                                 \
    void fdnn_unary_##TS(int op, const T *x, T *y, ptrdiff_t n, T alpha)               \
    {                                                                                  \
        fdnn_unary_##TS##_t f = g_cur->unary_##TS[op];                                 \
        const int copy = op == FDNN_LINEAR;                                            \
        if (copy && x == y)                                                            \
            return;                                                                    \
        const int nt = ew_threads(n, unary_from(op, sizeof(T) == 8));                  \
        const ptrdiff_t grain = ew_chunk(n, nt);                                       \
        FDNN_STORE_WAY(streamed(n, sizeof(T), copy, nt, fdnn_unary_costly(op)),        \
                       FDNN_SLOT_UNARY(op, sizeof(T) == 8), (size_t)n * sizeof(T), {  \
            if (copy)                                                                  \
                f = stream ? linear_stream_##TS : linear_copy_##TS;                    \
            if (stream && !copy) {                                                     \
                FDNN_PARALLEL_CHUNKS(nt, n, grain,                                     \
                    unary_stream_##TS(f, x + lo, y + lo, hi - lo, alpha))              \
            } else if (nt > 1 && copy) {                                               \
                FDNN_PARALLEL_CHUNKS(nt, n, grain, f(x + lo, y + lo, hi - lo, alpha))  \
            } else if (nt > 1) {                                                       \
                FDNN_PARALLEL_CHUNKS(nt, n, grain,                                     \
                    unary_aligned_##TS(f, x + lo, y + lo, hi - lo, alpha))             \
            } else if (copy) {                                                         \
                f(x, y, n, alpha);                                                     \
            } else {                                                                   \
                unary_aligned_##TS(f, x, y, n, alpha);                                 \
            }                                                                          \
        })                                                                             \
    }                                                                                  \
    void fdnn_binary_##TS(int op, const T *dA, const T *a, T *y, ptrdiff_t n, T alpha) \
    {                                                                                  \
        fdnn_binary_##TS##_t f = g_cur->binary_##TS[op];                               \
        if (op == FDNN_BW_LINEAR) { /* dA * 1: the forward's copy of dA */              \
            fdnn_unary_##TS(FDNN_LINEAR, dA, y, n, alpha);                             \
            return;                                                                    \
        }                                                                              \
        const int nt = ew_threads(n, binary_from(op, sizeof(T) == 8));                 \
        const ptrdiff_t grain = ew_chunk(n, nt);                                       \
        FDNN_STORE_WAY(streamed(n, sizeof(T), 0, nt, bw_from_z(op)),                   \
                       FDNN_SLOT_BINARY(op, sizeof(T) == 8), (size_t)n * sizeof(T), { \
            if (stream) {                                                              \
                FDNN_PARALLEL_CHUNKS(nt, n, grain,                                     \
                    binary_stream_##TS(f, dA + lo, a + lo, y + lo, hi - lo, alpha))    \
            } else if (nt > 1) {                                                       \
                FDNN_PARALLEL_CHUNKS(nt, n, grain,                                     \
                    binary_aligned_##TS(f, dA + lo, a + lo, y + lo, hi - lo, alpha))   \
            } else {                                                                   \
                binary_aligned_##TS(f, dA, a, y, n, alpha);                            \
            }                                                                          \
        })                                                                             \
    }                                                                                  \
    int fdnn_softmax_##TS(const T *x, T *y, ptrdiff_t outer, ptrdiff_t n, ptrdiff_t inner) \
    {                                                                                  \
        fdnn_softmax_##TS##_t f = g_cur->softmax_##TS;                                 \
        if (period_split(n, inner)) {                                                  \
            const int nt = ew_threads(n * inner, softmax_from(0));                     \
            for (ptrdiff_t o = 0; o < outer; o++)                                      \
                period_softmax_##TS(nt, x + o * n * inner, NULL, y + o * n * inner, n, inner); \
            return 0;                                                                  \
        }                                                                              \
        if (inner == 1) { /* rows: chunks of whole rows go to the threads */           \
            int nt = ew_threads(outer * n, softmax_from(0));                            \
            ptrdiff_t rows = n > 0 ? FDNN_ATLEAST1(ew_chunk(outer * n, nt) / n) : outer;          \
            if (nt <= 1) {                                                             \
                f(x, y, outer, n, 1, 1);                                               \
                return 0;                                                              \
            }                                                                          \
            FDNN_PARALLEL_CHUNKS(nt, outer, rows,                                      \
                                 f(x + lo * n, y + lo * n, hi - lo, n, 1, 1))          \
            return 0;                                                                  \
        }                                                                              \
        const ptrdiff_t slice = n * inner;                                             \
        int nt = ew_threads(outer * slice, softmax_from(0));                            \
        const ptrdiff_t chunk = ew_chunk(outer * slice, nt);                           \
        if (nt > 1 && slice < chunk) { /* small slices: whole ones */                  \
            ptrdiff_t per = slice > 0 ? FDNN_ATLEAST1(chunk / slice) : outer;                     \
            FDNN_PARALLEL_CHUNKS(nt, outer, per,                                       \
                f(x + lo * slice, y + lo * slice, hi - lo, n, inner, inner))           \
            return 0;                                                                  \
        }                                                                              \
        /* columns: chunks of (a multiple of 64) columns of each outer slice (at least 64: \
           with n > 2^14 rows the quotient is 0, a chunk of 0 columns divided by zero) */ \
        ptrdiff_t cols = n > 0 ? (chunk / n + 63) / 64 * 64 : inner;                   \
        cols = cols < 64 ? 64 : cols;                                                  \
        for (ptrdiff_t o = 0; o < outer; o++) {                                        \
            const T *xo = x + o * n * inner;                                           \
            T *yo = y + o * n * inner;                                                 \
            if (nt <= 1) {                                                             \
                f(xo, yo, 1, n, inner, inner);                                         \
                continue;                                                              \
            }                                                                          \
            FDNN_PARALLEL_CHUNKS(nt, inner, cols,                                      \
                                 f(xo + lo, yo + lo, 1, n, hi - lo, inner))            \
        }                                                                              \
        return 0;                                                                      \
    }                                                                                  \
    int fdnn_softmax_bw_##TS(const T *dA, const T *a, T *y, ptrdiff_t outer, ptrdiff_t n, \
                             ptrdiff_t inner)                                          \
    {                                                                                  \
        fdnn_softmax_bw_##TS##_t f = g_cur->softmax_bw_##TS;                           \
        const ptrdiff_t slice = n * inner;                                             \
        if (period_split(n, inner)) {                                                  \
            const int nt = ew_threads(slice, softmax_from(1));                         \
            for (ptrdiff_t o = 0; o < outer; o++)                                      \
                period_softmax_##TS(nt, a + o * slice, dA + o * slice, y + o * slice, n, inner); \
            return 0;                                                                  \
        }                                                                              \
        int nt = ew_threads(outer * slice, softmax_from(1));                            \
        if (nt <= 1) {                                                                 \
            f(dA, a, y, outer, n, inner, inner);                                       \
            return 0;                                                                  \
        }                                                                              \
        const ptrdiff_t chunk = ew_chunk(outer * slice, nt);                           \
        if (inner == 1 || slice < chunk) { /* whole slices */                          \
            ptrdiff_t per = slice > 0 ? FDNN_ATLEAST1(chunk / slice) : outer;                     \
            FDNN_PARALLEL_CHUNKS(nt, outer, per,                                       \
                f(dA + lo * slice, a + lo * slice, y + lo * slice, hi - lo, n, inner,  \
                  inner))                                                              \
            return 0;                                                                  \
        }                                                                              \
        ptrdiff_t cols = n > 0 ? (chunk / n + 63) / 64 * 64 : inner;                   \
        cols = cols < 64 ? 64 : cols;                                                  \
        for (ptrdiff_t o = 0; o < outer; o++) {                                        \
            const ptrdiff_t off = o * slice;                                           \
            FDNN_PARALLEL_CHUNKS(nt, inner, cols,                                      \
                f(dA + off + lo, a + off + lo, y + off + lo, 1, n, hi - lo, inner))    \
        }                                                                              \
        return 0;                                                                      \
    }

FDNN_DEF_UNARY_DISPATCH(f32, float)
FDNN_DEF_UNARY_DISPATCH(f64, double)

/* The backward steps whose derivative has an exponential, a logarithm or erfc: they split
   over threads from their forward's size (unary_from), also when db sums across lines,
   which the calling thread then adds up after them in the kernel's order (lines of at
   least FDNN_BW_SUMS_AFTER elements, which the kernels sum line by line): a GELU layer's
   128 x 512 float32 backward ran on one thread for its column sums. */
#define FDNN_BW_SUMS_AFTER 64

/* Lines are independent except when db sums across lines (F order): then one thread, but
   for the costly backward steps (bw_costly). */
#define FDNN_DEF_DENSE_DISPATCH(TS, T)                                                 \
    void fdnn_bias_act_##TS(int act, T *Z, ptrdiff_t lines, ptrdiff_t len, const T *b,  \
                            int bias_per_line, T alpha)                                \
    {                                                                                  \
        fdnn_bias_act_##TS##_t f = g_cur->bias_act_##TS;                               \
        ptrdiff_t per = len > 0 ? (1 << 15) / len + 1 : lines;                         \
        int nt = threads_for(lines, per);                                              \
        if (fdnn_unary_costly(act) && len > 0) { /* act: an activation's forward op */ \
            /* the costly activations split from their unary_from size */              \
            nt = ew_threads(lines * len, unary_from(act, sizeof(T) == 8));            \
            per = (lines + 2 * nt - 1) / (2 * nt);                                     \
        }                                                                              \
        if (nt <= 1) {                                                                 \
            f(act, Z, lines, len, b, bias_per_line, alpha);                            \
            return;                                                                    \
        }                                                                              \
        FDNN_PARALLEL_CHUNKS(nt, lines, per,                                           \
            f(act, Z + lo * len, hi - lo, len, bias_per_line && b ? b + lo : b,             \
              bias_per_line, alpha))                                                   \
    }                                                                                  \
    void fdnn_act_backward_##TS(int op, const T *dA, const T *a, T *dZ, ptrdiff_t lines, \
                                ptrdiff_t len, T *db, int db_per_line, T scale, T alpha) \
    {                                                                                  \
        fdnn_act_backward_##TS##_t f = g_cur->act_backward_##TS;                       \
        const int sums = db != NULL && !db_per_line; /* db sums across lines */         \
        ptrdiff_t per = len > 0 ? (1 << 16) / len + 1 : lines;                         \
        int nt;                                                                        \
        if (fdnn_bw_costly(op) && len >= FDNN_BW_SUMS_AFTER) {                         \
            nt = ew_threads(lines * len, unary_from(FDNN_SIGMOID, sizeof(T) == 8));       \
            per = (lines + 2 * nt - 1) / (2 * nt);                                     \
        } else {                                                                       \
            nt = sums ? 1 : threads_for(lines, per);                                   \
        }                                                                              \
        if (nt <= 1) {                                                                 \
            f(op, dA, a, dZ, lines, len, db, db_per_line, scale, alpha);               \
            return;                                                                    \
        }                                                                              \
        FDNN_PARALLEL_CHUNKS(nt, lines, per,                                           \
            f(op, dA + lo * len, a + lo * len, dZ + lo * len, hi - lo, len,            \
              sums ? NULL : db ? db + lo : db, db_per_line, scale, alpha))             \
        if (sums) { /* as the kernel sums: lines in order, then the scale */            \
            for (ptrdiff_t i = 0; i < len; i++)                                        \
                db[i] = 0;                                                             \
            for (ptrdiff_t r = 0; r < lines; r++)                                      \
                for (ptrdiff_t i = 0; i < len; i++)                                    \
                    db[i] += dZ[r * len + i];                                          \
            for (ptrdiff_t i = 0; i < len; i++)                                        \
                db[i] *= scale;                                                        \
        }                                                                              \
    }

FDNN_DEF_DENSE_DISPATCH(f32, float)
FDNN_DEF_DENSE_DISPATCH(f64, double)

/* Batch normalization: the team splits the features, in chunks of a multiple of
   FDNN_BN_ALIGN (a cache line of float32 when n is a multiple of it: then no two threads
   write one line of an aligned array); a thread joins from FDNN_BN_FROM elements. */
#define FDNN_BN_ALIGN 16
#define FDNN_BN_FROM (1 << 14)
static int bn_threads(ptrdiff_t n, ptrdiff_t m, ptrdiff_t *grain)
{
    int nt = ew_threads(n * m, FDNN_BN_FROM);
    if (nt > n / FDNN_BN_ALIGN)
        nt = (int)(n / FDNN_BN_ALIGN);
    if (nt < 1)
        nt = 1;
    ptrdiff_t g = (n + 2 * nt - 1) / (2 * nt);
    *grain = (g + FDNN_BN_ALIGN - 1) / FDNN_BN_ALIGN * FDNN_BN_ALIGN;
    return nt;
}

#define FDNN_DEF_BN_DISPATCH(TS, T)                                                    \
    static void bn_forward_part_##TS(const T *Z, ptrdiff_t n, ptrdiff_t m, int stats,   \
                                     double eps, double *mean, double *var,            \
                                     double *inv_std, const T *gamma, const T *beta,   \
                                     T *N, int act, T *A, T alpha, ptrdiff_t lo,       \
                                     ptrdiff_t hi)                                     \
    {                                                                                  \
        if (stats)                                                                     \
            g_cur->bn_stats_##TS(Z + lo, hi - lo, m, n, eps, mean + lo, var + lo,      \
                                 inv_std + lo);                                        \
        g_cur->bn_apply_##TS(Z + lo, hi - lo, m, n, mean + lo, inv_std + lo, gamma + lo, \
                             beta + lo, N + lo);                                       \
        if (act < 0 || (act == FDNN_LINEAR && A == N))                                 \
            return;                                                                    \
        for (ptrdiff_t j = 0; j < m; j++)                                              \
            g_cur->unary_##TS[act](N + lo + j * n, A + lo + j * n, hi - lo, alpha);    \
    }                                                                                  \
    void fdnn_bn_forward_##TS(const T *Z, ptrdiff_t n, ptrdiff_t m, int stats, double eps, \
                              double *mean, double *var, double *inv_std, const T *gamma, \
                              const T *beta, T *N, int act, T *A, T alpha)             \
    {                                                                                  \
        ptrdiff_t grain;                                                               \
        int nt = bn_threads(n, m, &grain);                                             \
        if (nt <= 1) {                                                                 \
            bn_forward_part_##TS(Z, n, m, stats, eps, mean, var, inv_std, gamma, beta, \
                                 N, act, A, alpha, 0, n);                              \
            return;                                                                    \
        }                                                                              \
        FDNN_PARALLEL_CHUNKS(nt, n, grain,                                             \
            bn_forward_part_##TS(Z, n, m, stats, eps, mean, var, inv_std, gamma, beta, \
                                 N, act, A, alpha, lo, hi))                            \
    }                                                                                  \
    static void bn_backward_part_##TS(int op, const T *G, const T *a, T alpha,          \
                                      const T *Z, ptrdiff_t n, ptrdiff_t m,            \
                                      const double *mean, const double *inv_std,       \
                                      const T *gamma, T *dX, T *dgamma, T *dbeta, T *db, \
                                      double scale, double *work, ptrdiff_t lo,        \
                                      ptrdiff_t hi)                                    \
    {                                                                                  \
        const T *dN = G;                                                               \
        if (op >= 0) {                                                                 \
            for (ptrdiff_t j = 0; j < m; j++)                                          \
                g_cur->act_backward_##TS(op, G + lo + j * n, a + lo + j * n,           \
                                         dX + lo + j * n, 1, hi - lo, NULL, 0, 1, alpha); \
            dN = dX;                                                                   \
        }                                                                              \
        g_cur->bn_backward_##TS(dN + lo, Z + lo, hi - lo, m, n, mean + lo, inv_std + lo,  \
                                gamma + lo, dX ? dX + lo : NULL, dgamma + lo, dbeta + lo, \
                                dX && db ? db + lo : NULL, scale, work + lo,           \
                                work + n + lo);                                        \
    }                                                                                  \
    void fdnn_bn_backward_##TS(int op, const T *G, const T *a, T alpha, const T *Z,     \
                               ptrdiff_t n, ptrdiff_t m, const double *mean,           \
                               const double *inv_std, const T *gamma, T *dX, T *dgamma, \
                               T *dbeta, T *db, double scale, double *work)            \
    {                                                                                  \
        ptrdiff_t grain;                                                               \
        if (op >= 0 && dX == NULL) /* dN has nowhere to go */                          \
            return;                                                                    \
        int nt = bn_threads(n, m, &grain);                                             \
        if (nt <= 1) {                                                                 \
            bn_backward_part_##TS(op, G, a, alpha, Z, n, m, mean, inv_std, gamma, dX,  \
                                  dgamma, dbeta, db, scale, work, 0, n);               \
            return;                                                                    \
        }                                                                              \
        FDNN_PARALLEL_CHUNKS(nt, n, grain,                                             \
            bn_backward_part_##TS(op, G, a, alpha, Z, n, m, mean, inv_std, gamma, dX,  \
                                  dgamma, dbeta, db, scale, work, lo, hi))             \
    }

FDNN_DEF_BN_DISPATCH(f32, float)
FDNN_DEF_BN_DISPATCH(f64, double)


/* the register tile every product runs on (tests), or -1: fdnn_gemm_pick's */
static int g_forced_tile = -1;
void fdnn_gemm_force_tile(int which)
{
    g_forced_tile = which >= 0 && which < FDNN_GEMM_TILES ? which : -1;
}

/* Multiply-adds per thread (with the memory moved, FDNN_GEMM_MOVE_COST) below which
   another thread costs more than it saves in a packed product: about 2.3 us on one core of the AMD Zen 4 VM, float64 taking twice as
   long per multiply-add. From 2^19 for both (the grain of the earlier hosts): float64
   128x128x32 21 -> 12 us, 100x64x128 34 -> 21, 64^3 11.7 -> 8.4, float32 10x784x128 35 ->
   20, 128x64x64 11 -> 7-8, 2 threads, a 4 us float32 product taking 3.6-4.2; the
   training steps of the benchmark alike. (The direct loops below SMALL_GEMM stay on one
   thread: split there too, a [64, 128, 10] step at m = 32 lost 10-25 %, the halves of
   each product's output being in the other core's cache for the next pass.) */
#define FDNN_GEMM_GRAIN(size) ((double)((size) == 8 ? 1 << 16 : 1 << 17))
/* Multiply-adds each element of C (written) and of A and B (read) moved counts for in
   that measure: a product with K = 1 (an outer product) or N = 1 (a matrix-vector
   product) is as long as the memory it moves, which one multiply-add per element
   undercounts. Two threads (Sapphire Rapids-class Xeon VM), us before -> after: float32
   256x784 @ 784x1 10.9 -> 7.2, 256x1 @ 1x784 22.5 -> 13.4, 128x2 @ 2x784 11.9 -> 7.6;
   float64 256x1 @ 1x256 13.5 -> 8.6, 128x1 @ 1x784 22.2 -> 12.7; products with K of 24 to
   64 near the grain even. Reading A for a matrix-vector product costs less since its rows
   load aligned (nt_head_): one / two threads, us, float32 128x256 @ 256x1 2.7 / 3.4-3.5,
   256x256 4.2-4.3 / 4.2-4.4, 256x512 5.9-6.0 / 5.1-5.4; float64 64x256 2.0 / 2.9-3.0,
   128x256 3.2 / 3.6-3.7, 256x256 5.3-5.4 / 4.7: 2 per element of A and B puts the line
   between those (8 sent the float32 128x256 and float64 128x256 to two threads). */
#ifndef FDNN_GEMM_MOVE_COST
#define FDNN_GEMM_MOVE_COST 8.0
#endif
#ifndef FDNN_GEMM_READ_COST
#define FDNN_GEMM_READ_COST 2.0
#endif
/* multiply-adds from which a product always uses the team (~0.5 ms on one core: a late
   thread costs it little) */
#define FDNN_LONG_GEMM ((double)(1 << 26))

/* Threads for a direct product whose C has few rows (or, with a transposed A, few
   columns): the direct loops stream B's rows (fdnn_gemm_type.h's gemm_few), and a large
   one (a matrix-vector product past SMALL_GEMM) is split across the team along the long
   side of C, in pieces of whole FDNN_FEW_SPLIT lines; each element is computed as uncut. */
#define FDNN_FEW_SPLIT 64
/* multiply-adds per thread from which such a product is split: it streams its operand
   once (no reuse to lose), so threads pay off sooner than for a packed product (float32
   256 x 784 x 1: 11.6 -> 7.1 us, 1 x 256 x 512: 5.2 -> 3.9, 2 x 784 x 128: 6.4 -> 5.3) */
#define FDNN_FEW_GRAIN ((double)(1 << 16))
/* threads for `few` lines of C against `len` (C is few x len or len x few) over depth K */
static int few_threads(ptrdiff_t few, ptrdiff_t len, ptrdiff_t K)
{
    const double work = (double)few * (double)len * (double)(K > 0 ? K : 1);
    /* a matrix-vector product from FDNN_FEW_GRAIN per thread; with 2-4 lines, 4 times
       that: inside a training step a smaller split cost more than it saved (784-256-128-10
       at m = 4, its 4 x 256 x 128 dA split: 110 -> 124 us a step) */
    const double grain = few == 1 ? FDNN_FEW_GRAIN : 4 * FDNN_FEW_GRAIN;
    int nt = 1;
#ifdef _OPENMP
    if (work >= 2 * grain && !omp_in_parallel() &&
        (work >= FDNN_LONG_GEMM || team_usable())) {
        nt = team_size();
        if (nt > FDNN_MAX_TEAM)
            nt = FDNN_MAX_TEAM;
        if (work / grain < nt)
            nt = (int)(work / grain);
        if (len / FDNN_FEW_SPLIT < nt)
            nt = (int)(len / FDNN_FEW_SPLIT);
    }
#else
    (void)work;
    (void)len;
#endif
    return nt < 1 ? 1 : nt;
}

/* lines [*lo, *hi) of len for share id of nt, in whole FDNN_FEW_SPLIT lines */
static void few_share(ptrdiff_t len, int id, int nt, ptrdiff_t *lo, ptrdiff_t *hi)
{
    const ptrdiff_t units = len / FDNN_FEW_SPLIT;
    *lo = units * id / nt * FDNN_FEW_SPLIT;
    *hi = id == nt - 1 ? len : units * (id + 1) / nt * FDNN_FEW_SPLIT;
}

#ifdef _OPENMP
#define FDNN_FEW_PARALLEL(nt, len, CALL)                                                \
    _Pragma("omp parallel num_threads(nt)")                                             \
    {                                                                                   \
        ptrdiff_t lo, hi;                                                               \
        few_share(len, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);          \
        CALL;                                                                           \
    }
#else
#define FDNN_FEW_PARALLEL(nt, len, CALL) { ptrdiff_t lo = 0, hi = len; CALL; }
#endif

#define FDNN_DEF_GEMM_DIRECT(TS, T)                                                    \
    void fdnn_gemm_nn_##TS(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, T alpha, const T *a,  \
                           ptrdiff_t rs_a, ptrdiff_t cs_a, const T *b, ptrdiff_t ldb,    \
                           T *c, ptrdiff_t ldc)                                          \
    {                                                                                   \
        int nt;                                                                         \
        if (M <= FDNN_FEW_ROWS && (nt = few_threads(M, N, K)) > 1) {                    \
            FDNN_FEW_PARALLEL(nt, N, g_cur->gemm_nn_##TS(M, hi - lo, K, alpha, a, rs_a, \
                                                         cs_a, b + lo, ldb, c + lo, ldc)) \
            return;                                                                     \
        }                                                                               \
        if (N <= FDNN_FEW_ROWS && rs_a == 1 && (nt = few_threads(N, M, K)) > 1) {       \
            FDNN_FEW_PARALLEL(nt, M, g_cur->gemm_nn_##TS(hi - lo, N, K, alpha, a + lo,   \
                                                         rs_a, cs_a, b, ldb,            \
                                                         c + lo * ldc, ldc))            \
            return;                                                                     \
        }                                                                               \
        g_cur->gemm_nn_##TS(M, N, K, alpha, a, rs_a, cs_a, b, ldb, c, ldc);              \
    }                                                                                   \
                                                                                        \
    void fdnn_gemm_nt_##TS(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, T alpha, const T *a,  \
                           ptrdiff_t lda, const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc) \
    {                                                                                   \
        int nt;                                                                         \
        if (M <= FDNN_FEW_ROWS && (nt = few_threads(M, N, K)) > 1) {                    \
            FDNN_FEW_PARALLEL(nt, N, g_cur->gemm_nt_##TS(M, hi - lo, K, alpha, a, lda,   \
                                                         b + lo * ldb, ldb, c + lo, ldc)) \
            return;                                                                     \
        }                                                                               \
        g_cur->gemm_nt_##TS(M, N, K, alpha, a, lda, b, ldb, c, ldc);                     \
    }

FDNN_DEF_GEMM_DIRECT(f32, float)
FDNN_DEF_GEMM_DIRECT(f64, double)


/* The thread's share of the grid tm x tn over C's register tiles: tile rows
   [*i0, *i1) and tile columns [*j0, *j1), scaled to elements and clipped. */
static void gemm_share(int id, int tm, int tn, ptrdiff_t M, ptrdiff_t N, int mr, int nr,
                       ptrdiff_t *i0, ptrdiff_t *i1, ptrdiff_t *j0, ptrdiff_t *j1)
{
    const ptrdiff_t rt = (M + mr - 1) / mr, ct = (N + nr - 1) / nr;
    const int im = id / tn, in = id % tn;
    *i0 = rt * im / tm * mr;
    *i1 = rt * (im + 1) / tm * mr;
    *j0 = ct * in / tn * nr;
    *j1 = ct * (in + 1) / tn * nr;
    if (*i1 > M)
        *i1 = M;
    if (*j1 > N)
        *j1 = N;
}


/* How much a row of A weighs, per thread, against a column of B it packs: each thread
   reads its rows of A (packed or in place) for every block of its columns, from further
   away than its own packed B, and threads that split C's rows write apart (split
   columns, they share the lines where their halves of each row meet). Counting A's rows
   at 1 (or at 0 when read in place), the grid split C's columns nearly everywhere; rows
   ran faster on all but the products of a few rows (AMD Zen 4, 2 threads, us, columns ->
   rows): float32 128^3 29.6 -> 23.5, 512^3 1,374 -> 1,206, 256x784x128 281 -> 243,
   2048x2048x512 NN 1.09x faster, float64 256^3 355 -> 316, 1024^3 1.10x, 128x32x256 NT
   2.5x, 256x1x784 NT 5.9x; the other way float64 10x128x1024 NN 1.2x, where C has two
   tile rows. At 8 the grid picks rows from about 1.8 (float64 256^3) up to about 85 (C
   of two tile rows). With an L2 below FDNN_GRID_SMALL_L2 a row weighs twice that: rows
   ran faster still (AMD Zen 2, 512 KiB of L2, two threads, weight 8 -> 16: float32
   256x256 by 256x1024 +7.8 %, 256x784 by 784x1024 +4.4 %; float64
   64x784 by 784x256 +8.6 %; the rest within 1.1 %; 32 and 64 no better). */
#ifndef FDNN_GRID_A_ROWS
#define FDNN_GRID_A_ROWS 8
#endif
#define FDNN_GRID_SMALL_L2 ((size_t)1 << 20)
/* A grid that splits C's rows more replaces one that splits them less only when it costs
   this much less: where C has about 8 times more columns than rows, the two splits come
   out within 2 % and the columns ran faster (Sapphire Rapids-class Xeon, two threads,
   float32, us, rows -> columns: 128x256 by 256x1024 262-276 -> 240-247, 256x256 by
   256x1024 469-485 -> 442-443, 512x512 by 512x2048 3,724-3,849 -> 3,561-3,644, 64x784 by
   784x256 111-117 -> 106-107), from a depth of FDNN_GRID_MARGIN_K. Shallower, where
   writing C is most of the work, rows ran faster (128x10 by 10x1024 14.5 against 36 us,
   128x32 by 32x1024 32-34 against 43-44; even at K = 64 and 128). */
#define FDNN_GRID_MARGIN 0.98
#define FDNN_GRID_MARGIN_K 256
/* tm x tn = nt: the grid whose busiest thread has the least work, counting its tiles
   whole (a partial tile costs a full one) and the operands it reads: its columns of B,
   which it packs, and its rows of A (FDNN_GRID_A_ROWS) */
static int gemm_grid_rows(int nt, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, int mr, int nr)
{
    const ptrdiff_t rt = (M + mr - 1) / mr, ct = (N + nr - 1) / nr;
    const double k = (double)(K > 0 ? K : 1);
    const double a_rows = fdnn_l2_bytes() < FDNN_GRID_SMALL_L2 ? 2 * FDNN_GRID_A_ROWS
                                                                 : FDNN_GRID_A_ROWS;
    int best = 1;
    double best_cost = -1;
    for (int tm = 1; tm <= nt; tm++) {
        if (nt % tm != 0)
            continue;
        const int tn = nt / tm;
        const double rows = (double)((rt + tm - 1) / tm * mr), cols = (double)((ct + tn - 1) / tn * nr);
        const double cost = rows * cols * k + FDNN_PACK_COST * (a_rows * rows + cols) * k;
        if (best_cost < 0 || cost < (K >= FDNN_GRID_MARGIN_K ? FDNN_GRID_MARGIN : 1.0) * best_cost) {
            best_cost = cost;
            best = tm;
        }
    }
    return best;
}

/* Threads across C's rows (tm of a tm x nt/tm grid) for the split a caller asked for
   (FDNN_SPLIT_*), where C has a tile row (column) for each thread, else by cost; a column
   sum (db) stays with one thread per column */
static int gemm_split_rows(int split, int db, int nt, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                           int mr, int nr)
{
    if (db || (split == FDNN_SPLIT_COLS && (N + nr - 1) / nr >= nt))
        return 1;
    if (split == FDNN_SPLIT_ROWS && (M + mr - 1) / mr >= nt)
        return nt;
    return gemm_grid_rows(nt, M, N, K, mr, nr);
}

#ifdef _OPENMP
/* a team smaller than asked for (nested, or out of threads): the first thread does it all */
/* C[I0:I0+M, J0:J0+N] on nt threads */
#define FDNN_GEMM_THREADS(nt, f, g, I0, M, J0, N, mr, nr)                                \
    {                                                                                   \
        const int tm = gemm_split_rows(split_, g->db != NULL, nt, M, N, g->K, mr, nr); \
        const int tn = nt / tm;                                                         \
        double start_[FDNN_MAX_TEAM];                                                   \
        for (int t_ = 0; t_ < nt; t_++)                                                 \
            start_[t_] = -1;                                                            \
        _Pragma("omp parallel num_threads(nt)")                                         \
        {                                                                               \
            ptrdiff_t i0, i1, j0, j1;                                                   \
            const int id_ = omp_get_thread_num();                                       \
            start_[id_] = omp_get_wtime();                                              \
            gemm_share(id_, tm, tn, M, N, mr, nr, &i0, &i1, &j0, &j1);                  \
            if (omp_get_num_threads() == nt && i0 < i1 && j0 < j1)                      \
                f(g, (I0) + i0, (I0) + i1, (J0) + j0, (J0) + j1);                                     \
            else if (omp_get_num_threads() != nt && id_ == 0)                           \
                f(g, I0, (I0) + (M), J0, (J0) + (N));                                             \
        }                                                                               \
        note_lateness(start_, nt);                                                      \
    }
#else
#define FDNN_GEMM_THREADS(nt, f, g, I0, M, J0, N, mr, nr)                                \
    { (void)(mr); (void)(nr); (void)split_; f(g, I0, (I0) + (M), J0, (J0) + (N)); }
#endif

/* C[I0:I0+M, J0:J0+N]: on the calling thread, or the team */
#define FDNN_GEMM_PART(nt, f, g, I0, M, J0, N, mr, nr)                                \
    {                                                                                   \
        if (nt <= 1)                                                                    \
            f(g, I0, (I0) + (M), J0, (J0) + (N));                                                 \
        else                                                                            \
            FDNN_GEMM_THREADS(nt, f, g, I0, M, J0, N, mr, nr)                       \
    }

/* The product's register tile (tile_), its kernel f, the tile's rows and columns as the
   thread grid counts them (C^T's when the kernel runs C^T; all rows by a few columns for
   dot products) and whether A is packed (a transposed A counts as packed: whether its
   panels are read in place, fdnn_gemm_at_in_place, depends on each piece's columns):
   what the dispatch and each share of it (fdnn_gemm_share_*) agree on. */
#define FDNN_GEMM_PLAN(TS)                                                             \
    const int tile_ = fdnn_gemm_tile_for(sizeof(*g->c) == 8, g->M, g->N, g->K, g->rs_b); \
    fdnn_gemm_##TS##_t f = g_cur->gemm_##TS[tile_];                                    \
    int mr = g_cur->gemm_tile_##TS[tile_][0], nr = g_cur->gemm_tile_##TS[tile_][1];    \
    int a_packed = !fdnn_gemm_a_in_place(g->rs_a, g->cs_a, sizeof(*g->c), mr);         \
    int split_ = g->split;                                                             \
    if (fdnn_gemm_outer(g->K)) {                                                       \
        /* rows swept whole, in shares of a few rows by many columns */                \
        f = g_cur->gemm_outer_##TS;                                                    \
        mr = FDNN_OUTER_ROWS;                                                          \
        nr = FDNN_OUTER_COLS;                                                          \
        a_packed = 1;                                                                  \
        split_ = FDNN_SPLIT_COST;                                                      \
    } else if (fdnn_gemm_dots(g->M, g->K, g->cs_a, g->rs_b, sizeof(*g->c))) {          \
        /* all of C's rows on each share, its columns split */                         \
        f = g_cur->gemm_dots_##TS;                                                     \
        mr = (int)g->M;                                                                \
        nr = FDNN_DOT_SPLIT;                                                           \
        a_packed = 0;                                                                  \
        split_ = FDNN_SPLIT_COST;                                                      \
    } else if (fdnn_gemm_narrow(g->M, g->N, g->K, g->cs_a, g->rs_b, sizeof(*g->c),     \
                                g_cur->gemm_narrow_##TS)) {                            \
        /* C's rows split, all its columns on each share; cut into pieces of rows */   \
        f = g_cur->gemm_dots_##TS;                                                     \
        mr = FDNN_NARROW_ROWS;                                                         \
        nr = (int)g->N;                                                                \
        a_packed = 1;                                                                  \
        split_ = FDNN_SPLIT_COST;                                                      \
    } else if (fdnn_gemm_swapped(g->M, g->N, g->K, g->rs_b, sizeof(*g->c), mr, nr)) { \
        /* C^T's tiles: NR of C's rows by MR of its columns */                         \
        const int t_ = mr;                                                             \
        mr = nr;                                                                       \
        nr = t_;                                                                       \
        a_packed = 1;                                                                  \
    }

#define FDNN_DEF_GEMM_DISPATCH(TS)                                                     \
    void fdnn_gemm_##TS(const fdnn_gemm_args_##TS *g)                                   \
    {                                                                                  \
        const ptrdiff_t M = g->M, N = g->N;                                            \
        if (M <= 0 || N <= 0 || t_interrupted)                                         \
            return;                                                                    \
        FDNN_GEMM_PLAN(TS)                                                             \
        if (g->bwd >= 0 && g->db != NULL)                                              \
            memset(g->db, 0, (size_t)N * sizeof(*g->db));                              \
        const double work = (double)M * (double)N * (double)(g->K > 0 ? g->K : 1);     \
        const double moved_ = work + FDNN_GEMM_MOVE_COST * (double)M * (double)N       \
                              + FDNN_GEMM_READ_COST * (double)(M + N)                  \
                                * (double)(g->K > 0 ? g->K : 0);                       \
        int nt = 1;                                                                    \
        const double grain_ = FDNN_GEMM_GRAIN(sizeof(*g->c));                          \
        if (moved_ >= 2 * grain_ && (work >= FDNN_LONG_GEMM || team_usable())) {       \
            nt = team_size();                                                          \
            if (nt > FDNN_MAX_TEAM)                                                    \
                nt = FDNN_MAX_TEAM;                                                    \
            if (moved_ / grain_ < nt)                                                  \
                nt = (int)(moved_ / grain_);                                           \
            if (nt < 1)                                                                \
                nt = 1;                                                                \
        }                                                                              \
        if (t_poll_armed && g->opt < 0 && work >= 2 * FDNN_POLL_GEMM) {                 \
            /* pieces of whole tiles, with a poll after each; each element of C is       \
               computed as it would be uncut. Each piece packs the operand it does not   \
               cut again, so the cut is across the longer side of C: pieces of rows      \
               repack B (K x N), pieces of columns A (M x K) when A is packed. (Columns  \
               only, this cost a 1024-2048-2048-1024 step at m = 512 25 % over its      \
               products alone.) Swapped products are cut into columns. */                \
            const double k_ = (double)(g->K > 0 ? g->K : 1);                           \
            /* (piece_, width_, rows_: names the macros below do not declare) */        \
            if (M > N && a_packed && !fdnn_gemm_swapped(M, N, g->K, g->rs_b, sizeof(*g->c), \
                                                        g_cur->gemm_tile_##TS[tile_][0], \
                                                        g_cur->gemm_tile_##TS[tile_][1])) { \
                ptrdiff_t h = (ptrdiff_t)(FDNN_POLL_GEMM / ((double)N * k_));          \
                h = (h + mr - 1) / mr * mr;                                            \
                for (ptrdiff_t piece_ = 0; piece_ < M && !fdnn_interrupt_poll(); piece_ += h) { \
                    const ptrdiff_t rows_ = M - piece_ < h ? M - piece_ : h;           \
                    FDNN_GEMM_PART(nt, f, g, piece_, rows_, 0, N, mr, nr)              \
                }                                                                      \
            } else {                                                                   \
                ptrdiff_t w = (ptrdiff_t)(FDNN_POLL_GEMM / ((double)M * k_));          \
                w = (w + nr - 1) / nr * nr;                                            \
                for (ptrdiff_t piece_ = 0; piece_ < N && !fdnn_interrupt_poll(); piece_ += w) { \
                    const ptrdiff_t width_ = N - piece_ < w ? N - piece_ : w;          \
                    FDNN_GEMM_PART(nt, f, g, 0, M, piece_, width_, mr, nr)             \
                }                                                                      \
            }                                                                          \
        } else {                                                                       \
            FDNN_GEMM_PART(nt, f, g, 0, M, 0, N, mr, nr)                             \
        }                                                                              \
        if (g->bwd >= 0 && g->db != NULL)                                              \
            for (ptrdiff_t j = 0; j < N; j++)                                          \
                g->db[j] *= g->db_scale;                                               \
    }

FDNN_DEF_GEMM_DISPATCH(f32)
FDNN_DEF_GEMM_DISPATCH(f64)

/* Share `id` of `nt` of the product, on the calling thread: the tiles of C the dispatch's
   thread grid gives thread `id` of a team of nt, so that nt callers, one share each,
   compute the whole product as the dispatch does (bit for bit, whatever nt). No db: a
   bias gradient is summed over the whole of C's columns. */
#define FDNN_DEF_GEMM_SHARE(TS)                                                        \
    void fdnn_gemm_share_##TS(const fdnn_gemm_args_##TS *g, int id, int nt)            \
    {                                                                                  \
        if (g->M <= 0 || g->N <= 0 || id < 0 || id >= nt || t_interrupted)             \
            return;                                                                    \
        FDNN_GEMM_PLAN(TS)                                                             \
        (void)tile_;                                                                   \
        (void)a_packed;                                                                \
        if (nt == 1) {                                                                 \
            f(g, 0, g->M, 0, g->N);                                                    \
            return;                                                                    \
        }                                                                              \
        const int tm = gemm_split_rows(split_, 0, nt, g->M, g->N, g->K, mr, nr);       \
        ptrdiff_t i0, i1, j0, j1;                                                      \
        gemm_share(id, tm, nt / tm, g->M, g->N, mr, nr, &i0, &i1, &j0, &j1);           \
        if (i0 < i1 && j0 < j1)                                                        \
            f(g, i0, i1, j0, j1);                                                      \
    }

FDNN_DEF_GEMM_SHARE(f32)
FDNN_DEF_GEMM_SHARE(f64)

/* the team's tm (threads across C's rows) of the thread grid for g on nt threads */
#define FDNN_DEF_GEMM_GRID_ROWS(TS)                                                    \
    int fdnn_gemm_grid_rows_##TS(const fdnn_gemm_args_##TS *g, int nt)                \
    {                                                                                  \
        FDNN_GEMM_PLAN(TS)                                                             \
        (void)tile_;                                                                   \
        (void)a_packed;                                                                \
        (void)f;                                                                       \
        return nt <= 1 ? 1 : gemm_split_rows(split_, g->db != NULL, nt, g->M, g->N, g->K, \
                                             mr, nr);                                  \
    }

FDNN_DEF_GEMM_GRID_ROWS(f32)
FDNN_DEF_GEMM_GRID_ROWS(f64)

int fdnn_gemm_tile_for(int f64, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, ptrdiff_t rs_b)
{
    if (g_forced_tile >= 0)
        return g_forced_tile;
    return f64 ? fdnn_gemm_pick(M, N, K, rs_b, sizeof(double), (const int(*)[2])g_cur->gemm_tile_f64)
               : fdnn_gemm_pick(M, N, K, rs_b, sizeof(float), (const int(*)[2])g_cur->gemm_tile_f32);
}

void fdnn_gemm_tile(int f64, int which, int *rows, int *cols)
{
    which = which < 0 || which >= FDNN_GEMM_TILES ? 0 : which;
    const int *t = f64 ? g_cur->gemm_tile_f64[which] : g_cur->gemm_tile_f32[which];
    *rows = t[0];
    *cols = t[1];
}

/* An optimizer's step over n parameters: each one's update reads only its own gradient
   and state, so a long one is split over the team as the element-wise passes are (the
   results do not depend on the thread count); called from a thread of a parallel region
   (a training step that shares its updates out), on that thread. Adam on 2 threads
   against 1, best of 9: float64 8,192 parameters 4.9 / 7.6 us, 320,000 160 / 309;
   float32 32,768 7.5 / 11.9, 320,000 47 / 90; float32 16,384 and float64 4,096 even. */
static ptrdiff_t optim_from(int f64) { return f64 ? 8192 : 32768; }

#define FDNN_DEF_OPTIM_DISPATCH(TS, T)                                                 \
    static void optim_part_##TS(fdnn_optim_##TS##_t f, int op, T *p, const T *g, T *s1, \
                                T *s2, const T *c, ptrdiff_t lo, ptrdiff_t hi)         \
    {                                                                                  \
        f(op, p + lo, g + lo, s1 ? s1 + lo : NULL, s2 ? s2 + lo : NULL, hi - lo, c);   \
    }                                                                                  \
    void fdnn_optim_##TS(int op, T *p, const T *g, T *s1, T *s2, ptrdiff_t n, const T *c) \
    {                                                                                  \
        fdnn_optim_##TS##_t f = g_cur->optim_##TS;                                     \
        const int nt = ew_threads(n, optim_from(sizeof(T) == 8));                      \
        if (nt <= 1) {                                                                 \
            f(op, p, g, s1, s2, n, c);                                                 \
            return;                                                                    \
        }                                                                              \
        FDNN_PARALLEL_CHUNKS(nt, n, ew_chunk(n, nt),                                   \
                             optim_part_##TS(f, op, p, g, s1, s2, c, lo, hi))          \
    }

FDNN_DEF_OPTIM_DISPATCH(f32, float)
FDNN_DEF_OPTIM_DISPATCH(f64, double)

/* A sum of squares: blocks of FDNN_SQ_BLOCK values, up to FDNN_SQ_ROUND blocks' sums at a
   time, then added in block order. Split over the team from sq_sum_from() values: 2
   threads against 1, best of 7, float64 65,536 5.9 / 5.4 us, 131,072 9.3 / 12.8,
   10^6 48 / 91; float32 65,536 5.8 / 5.5, 131,072 8.6 / 10.7. */
#define FDNN_SQ_BLOCK 8192
#define FDNN_SQ_ROUND 256
static ptrdiff_t sq_sum_from(void) { return (ptrdiff_t)1 << 17; }

#define FDNN_DEF_SQ_SUM_DISPATCH(TS, T)                                                \
    double fdnn_sq_sum_##TS(const T *x, ptrdiff_t n)                                   \
    {                                                                                  \
        fdnn_sq_sum_##TS##_t f = g_cur->sq_sum_##TS;                                   \
        const int nt = ew_threads(n, sq_sum_from());                                   \
        double part[FDNN_SQ_ROUND];                                                    \
        double total = 0;                                                              \
        for (ptrdiff_t at = 0; at < n; at += FDNN_SQ_BLOCK * FDNN_SQ_ROUND) {           \
            const ptrdiff_t len = n - at < FDNN_SQ_BLOCK * FDNN_SQ_ROUND                \
                                      ? n - at : FDNN_SQ_BLOCK * FDNN_SQ_ROUND;         \
            const ptrdiff_t blocks = (len + FDNN_SQ_BLOCK - 1) / FDNN_SQ_BLOCK;         \
            if (nt <= 1 || blocks < 2) {                                               \
                for (ptrdiff_t b = 0; b < blocks; b++) {                               \
                    const ptrdiff_t i = at + b * FDNN_SQ_BLOCK;                        \
                    part[b] = f(x + i, n - i < FDNN_SQ_BLOCK ? n - i : FDNN_SQ_BLOCK);  \
                }                                                                      \
            } else {                                                                   \
                FDNN_PARALLEL_CHUNKS(nt < blocks ? nt : (int)blocks, blocks, 1,        \
                    for (ptrdiff_t b = lo; b < hi; b++) {                              \
                        const ptrdiff_t i = at + b * FDNN_SQ_BLOCK;                    \
                        part[b] = f(x + i, n - i < FDNN_SQ_BLOCK ? n - i : FDNN_SQ_BLOCK); \
                    })                                                                 \
            }                                                                          \
            for (ptrdiff_t b = 0; b < blocks; b++)                                     \
                total += part[b];                                                      \
        }                                                                              \
        return total;                                                                  \
    }

FDNN_DEF_SQ_SUM_DISPATCH(f32, float)
FDNN_DEF_SQ_SUM_DISPATCH(f64, double)

/* Sparse rows by a dense matrix: the batch's rows shared out over the threads; the
   transposed product by ranges of features, each thread zeroing its rows of gW and adding
   every entry that falls in them (it reads all the entries, writes only its own rows:
   no line of gW is written by two threads, and each sum runs in the order of the rows
   on any thread count). On one thread until 2^16 multiply-adds. */
#define FDNN_CSR_FROM ((ptrdiff_t)1 << 16)
#define FDNN_DEF_CSR_DISPATCH(TS, T)                                                   \
    void fdnn_csr_mm_##TS(int idx64, const void *indptr, const void *indices,          \
                          const T *data, const int64_t *rows, ptrdiff_t m, ptrdiff_t nnz, \
                          const T *W, ptrdiff_t units, T *Z)                           \
    {                                                                                  \
        fdnn_csr_mm_##TS##_t f = g_cur->csr_mm_##TS;                                   \
        const int nt = ew_threads(nnz * units, FDNN_CSR_FROM);                         \
        if (nt <= 1 || m < 2) {                                                        \
            f(idx64, indptr, indices, data, rows, m, W, units, Z);                     \
            return;                                                                    \
        }                                                                              \
        FDNN_PARALLEL_CHUNKS(nt, m, (m + 4 * nt - 1) / (4 * nt),                       \
            f(idx64, indptr, indices, data, rows + lo, hi - lo, W, units, Z + lo * units)) \
    }                                                                                  \
    void fdnn_csr_mtm_##TS(int idx64, const void *indptr, const void *indices,         \
                           const T *data, const int64_t *rows, ptrdiff_t m, ptrdiff_t nnz, \
                           const T *dZ, ptrdiff_t units, T scale, T *gW,               \
                           ptrdiff_t n_features)                                       \
    {                                                                                  \
        fdnn_csr_mtm_##TS##_t f = g_cur->csr_mtm_##TS;                                 \
        const int nt = ew_threads((nnz + n_features) * units, FDNN_CSR_FROM);          \
        if (nt <= 1) {                                                                 \
            f(idx64, indptr, indices, data, rows, m, dZ, units, scale, gW, 0, n_features); \
            return;                                                                    \
        }                                                                              \
        /* ranges of at least 16 rows */                                             \
        const ptrdiff_t per = (n_features + nt - 1) / nt;                              \
        FDNN_PARALLEL_CHUNKS(nt, n_features, per < 16 ? 16 : per,                      \
            f(idx64, indptr, indices, data, rows, m, dZ, units, scale, gW, lo, hi))    \
    }

/* The batch's entries grouped by feature: a counting sort, stable (each feature's entries
   in the order of the batch's rows); first[j] the first of feature j's, then the nnz
   batch rows in `first + n_features + 1` and the values in `value`. */
#define FDNN_CSR_GROUP_BODY(I)                                                         \
    {                                                                                  \
        const I *ip_ = (const I *)indptr, *ix_ = (const I *)indices;                   \
        for (ptrdiff_t r = 0; r < m; r++) {                                            \
            const ptrdiff_t s_ = (ptrdiff_t)ip_[rows[r]], e_ = (ptrdiff_t)ip_[rows[r] + 1]; \
            for (ptrdiff_t k = s_; k < e_; k++)                                        \
                first[(ptrdiff_t)ix_[k] + 1]++;                                        \
        }                                                                              \
        for (ptrdiff_t j = 0; j < n_features; j++)                                     \
            first[j + 1] += first[j];                                                  \
        for (ptrdiff_t r = 0; r < m; r++) {                                            \
            const ptrdiff_t s_ = (ptrdiff_t)ip_[rows[r]], e_ = (ptrdiff_t)ip_[rows[r] + 1]; \
            for (ptrdiff_t k = s_; k < e_; k++) {                                      \
                const ptrdiff_t at = first[(ptrdiff_t)ix_[k]]++;                       \
                row[at] = r;                                                           \
                value[at] = data[k];                                                   \
            }                                                                          \
        }                                                                              \
    }
#define FDNN_DEF_CSR_GROUP(TS, T)                                                      \
    static void csr_group_##TS(int idx64, const void *indptr, const void *indices,     \
                               const T *data, const int64_t *rows, ptrdiff_t m,        \
                               ptrdiff_t n_features, ptrdiff_t *first, T *value)       \
    {                                                                                  \
        ptrdiff_t *row = first + n_features + 1;                                       \
        memset(first, 0, ((size_t)n_features + 1) * sizeof(ptrdiff_t));               \
        if (idx64)                                                                     \
            FDNN_CSR_GROUP_BODY(int64_t)                                               \
        else                                                                           \
            FDNN_CSR_GROUP_BODY(int32_t)                                               \
        for (ptrdiff_t j = n_features; j > 0; j--) /* each moved past its feature's */ \
            first[j] = first[j - 1];                                                   \
        first[0] = 0;                                                                  \
    }

/* values of the gradient block the sparse step forms at a time (16 KB in float64) */
#define FDNN_CSR_OPT_BLOCK 2048
#define FDNN_DEF_CSR_OPTIM(TS, T)                                                      \
    static void csr_optim_blocks_##TS(int op, const T *c, T *p, T *s1, T *s2,          \
                                      const ptrdiff_t *first, const T *value,         \
                                      const T *dZ, ptrdiff_t units, T scale,           \
                                      ptrdiff_t n_features, ptrdiff_t per, ptrdiff_t w, \
                                      ptrdiff_t b0, ptrdiff_t b1)                      \
    {                                                                                  \
        T g[FDNN_CSR_OPT_BLOCK];                                                       \
        const ptrdiff_t *row = first + n_features + 1;                                 \
        for (ptrdiff_t b = b0; b < b1; b++) {                                          \
            const ptrdiff_t j0 = b * per, j1 = j0 + per < n_features ? j0 + per : n_features; \
            for (ptrdiff_t u0 = 0; u0 < units; u0 += w) {                              \
                const ptrdiff_t wu = units - u0 < w ? units - u0 : w;                  \
                /* per > 1 only when w == units: the block is contiguous in p */       \
                const ptrdiff_t at = j0 * units + u0;                                  \
                g_cur->csr_grouped_##TS(first, row, value, dZ, units, scale, j0, j1, u0, wu, g); \
                g_cur->optim_##TS(op, p + at, g, s1 ? s1 + at : NULL, s2 ? s2 + at : NULL, \
                                  (j1 - j0) * wu, c);                                  \
            }                                                                          \
        }                                                                              \
    }                                                                                  \
    void fdnn_csr_optim_##TS(int op, const T *c, T *p, T *s1, T *s2, int idx64,        \
                             const void *indptr, const void *indices, const T *data,   \
                             const int64_t *rows, ptrdiff_t m, const T *dZ,             \
                             ptrdiff_t units, T scale, ptrdiff_t n_features, ptrdiff_t *first, \
                             T *value)                                                 \
    {                                                                                  \
        if (units <= 0 || n_features <= 0)                                             \
            return;                                                                    \
        csr_group_##TS(idx64, indptr, indices, data, rows, m, n_features, first, value); \
        const ptrdiff_t w = units < FDNN_CSR_OPT_BLOCK ? units : FDNN_CSR_OPT_BLOCK;   \
        const ptrdiff_t per = units < FDNN_CSR_OPT_BLOCK ? FDNN_CSR_OPT_BLOCK / units : 1; \
        const ptrdiff_t blocks = (n_features + per - 1) / per;                         \
        const int nt = ew_threads(n_features * units, optim_from(sizeof(T) == 8));     \
        if (nt <= 1 || blocks < 2) {                                                   \
            csr_optim_blocks_##TS(op, c, p, s1, s2, first, value, dZ, units, scale,    \
                                  n_features, per, w, 0, blocks);                      \
            return;                                                                    \
        }                                                                              \
        FDNN_PARALLEL_CHUNKS(nt < blocks ? nt : (int)blocks, blocks,                   \
                             blocks / (4 * nt) > 1 ? blocks / (4 * nt) : 1,            \
            csr_optim_blocks_##TS(op, c, p, s1, s2, first, value, dZ, units, scale,    \
                                  n_features, per, w, lo, hi))                         \
    }

FDNN_DEF_CSR_GROUP(f32, float)
FDNN_DEF_CSR_GROUP(f64, double)
#undef FDNN_CSR_GROUP_BODY
FDNN_DEF_CSR_OPTIM(f32, float)
FDNN_DEF_CSR_OPTIM(f64, double)

FDNN_DEF_CSR_DISPATCH(f32, float)
FDNN_DEF_CSR_DISPATCH(f64, double)

/* ---- names of the codes (fdnn_codes.h) ---- */
#define FDNN_NAME_(CODE, name, ...) #name,
#define FDNN_BW_NAME_(CODE, name, ...) "bw_" #name,
static const char *const unary_names[] = {FDNN_UNARY_OPS(FDNN_NAME_) NULL};
static const char *const binary_names[] = {
    FDNN_ACTIVATIONS(FDNN_BW_NAME_) FDNN_OTHER_BINARY_OPS(FDNN_NAME_) "bw_output_sub", NULL};
static const char *const activation_names[] = {FDNN_ACTIVATIONS(FDNN_NAME_) NULL};
#define FDNN_INPUT_NAME_(CODE, name, deriv, on) #on,
static const char *const backward_inputs[] = {FDNN_ACTIVATIONS(FDNN_INPUT_NAME_) NULL};
static const char *const loss_names[] = {FDNN_LOSSES(FDNN_NAME_) NULL};
static const char *const optimizer_names[] = {FDNN_OPTIMIZERS(FDNN_NAME_) NULL};
static const char *const metric_names[] = {FDNN_METRICS(FDNN_NAME_) NULL};

const char *fdnn_code_name(const char *kind, int code)
{
    static const struct {
        const char *kind;
        const char *const *names;
        int n;
    } lists[] = {
        {"unary", unary_names, FDNN_N_UNARY},       {"binary", binary_names, FDNN_N_BINARY},
        {"activation", activation_names, FDNN_N_ACTIVATION},
        {"loss", loss_names, FDNN_N_LOSS},         {"optimizer", optimizer_names, FDNN_N_OPT},
        {"metric", metric_names, FDNN_N_METRIC},
        {"backward_input", backward_inputs, FDNN_N_ACTIVATION},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (strcmp(kind, lists[i].kind) == 0)
            return code >= 0 && code < lists[i].n ? lists[i].names[code] : NULL;
    return NULL;
}

#define FDNN_SLOTS_(CODE, name, slots) slots,
int fdnn_optimizer_slots(int code)
{
    static const int slots[] = {FDNN_OPTIMIZERS(FDNN_SLOTS_) 0};
    return code >= 0 && code < FDNN_N_OPT ? slots[code] : -1;
}
