/* Non-temporal stores for large element-wise outputs.
 *
 * An ordinary store first reads its cache line (3 memory streams for a unary pass: x,
 * y read, y written); a non-temporal store writes the whole line past the caches (2).
 * Once the output is larger than the last-level cache nothing it writes would be found
 * there by the next pass anyway. This VM (AMD EPYC, 32 MiB L3, 2 cores), copying 10^7
 * float32: one thread's memcpy 4.4 ms, two threads' 3.3 ms, two threads streaming 2.2.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define FDNN_HAVE_STREAM 1
#endif

#include "fdnn_stream.h"

/* the last-level cache when neither sysfs nor the C library can say */
#define FDNN_LLC_GUESS ((size_t)8 << 20)

#ifdef FDNN_HAVE_STREAM
static size_t g_llc = 0; /* set once by fdnn_stream_init */
#endif
static size_t g_stream_from = 0; /* a size the tests set, 0: g_llc */
static long g_streamed = 0;

/* What each kind of pass learned (fdnn_stream_way): its trial calls so far, and the best
   time per byte seen each way */
typedef struct {
    int calls;
    double best[2];
} stream_slot;
static stream_slot g_slots[FDNN_STREAM_SLOTS];

#if defined(__linux__)
/* an unsigned number from a sysfs file, with its K/M/G suffix; 0 when unreadable */
static size_t sysfs_size(int index, const char *name)
{
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", index, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    unsigned long value = 0;
    char unit = 0;
    int got = fscanf(f, "%lu%c", &value, &unit);
    fclose(f);
    if (got < 1)
        return 0;
    return (size_t)value << (unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : 0);
}
#endif

/* the second-level cache when neither sysfs nor the C library can say */
#define FDNN_L2_GUESS ((size_t)1 << 20)
static size_t g_l2 = 0; /* set once by fdnn_stream_init */

/* what the C library says of a cache (0: nothing) */
#if defined(_SC_LEVEL2_CACHE_SIZE)
#define FDNN_SYSCONF_L2 sysconf(_SC_LEVEL2_CACHE_SIZE)
#else
#define FDNN_SYSCONF_L2 0L
#endif
#if defined(_SC_LEVEL3_CACHE_SIZE)
#define FDNN_SYSCONF_L3 sysconf(_SC_LEVEL3_CACHE_SIZE)
#else
#define FDNN_SYSCONF_L3 0L
#endif

/* A cache's size: Linux's sysfs, the largest of `level` (0: of the highest level from 2;
   on this VM the C library's sysconf says 256 MiB for a 32 MiB L3), else `said` (the C
   library's, 0: unknown), else `guess`. */
static size_t cache_bytes(size_t level, long said, size_t guess)
{
#if defined(__linux__)
    size_t best = 0, best_level = 0;
    for (int index = 0; index < 8; index++) {
        size_t at = sysfs_size(index, "level"), size = sysfs_size(index, "size");
        if (size > 0 && at >= 2 && (level == 0 || at == level) &&
            (at > best_level || (at == best_level && size > best))) {
            best_level = at;
            best = size;
        }
    }
    if (best > 0)
        return best;
#endif
    return said > 0 ? (size_t)said : guess;
}

size_t fdnn_l2_bytes(void)
{
    return g_l2 != 0 ? g_l2 : FDNN_L2_GUESS;
}

void fdnn_stream_init(void)
{
    if (g_l2 == 0)
        g_l2 = cache_bytes(2, FDNN_SYSCONF_L2, FDNN_L2_GUESS);
#ifdef FDNN_HAVE_STREAM
    if (g_llc == 0)
        g_llc = cache_bytes(0, FDNN_SYSCONF_L3, FDNN_LLC_GUESS);
#endif
}

size_t fdnn_stream_from(void)
{
#ifdef FDNN_HAVE_STREAM
    return g_stream_from != 0 ? g_stream_from : g_llc;
#else
    return 0;
#endif
}

void fdnn_set_stream_from(size_t bytes) { g_stream_from = bytes; }

/* slots are read and written by concurrent callers: relaxed atomics (a lost update only
   costs or skips one trial) */
#if defined(__GNUC__) || defined(__clang__)
#define FDNN_LOAD_(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define FDNN_TAKE_(p) __atomic_fetch_add((p), 1, __ATOMIC_RELAXED)
static double load_best(const double *p)
{
    double v;
    __atomic_load(p, &v, __ATOMIC_RELAXED);
    return v;
}
static void store_best(double *p, double v) { __atomic_store(p, &v, __ATOMIC_RELAXED); }
#else
#define FDNN_LOAD_(p) (*(p))
#define FDNN_TAKE_(p) ((*(p))++)
static double load_best(const double *p) { return *p; }
static void store_best(double *p, double v) { *p = v; }
#endif

int fdnn_stream_learned(int slot)
{
    if (slot < 0 || slot >= FDNN_STREAM_SLOTS ||
        FDNN_LOAD_(&g_slots[slot].calls) < FDNN_STREAM_TRIALS)
        return -1;
    const stream_slot *s = &g_slots[slot];
    double stored = load_best(&s->best[0]), streamed = load_best(&s->best[1]);
    if (stored == 0 || streamed == 0)
        return -1;
    return stored < streamed ? 0 : 1;
}

int fdnn_stream_way(int slot, int *trial)
{
    *trial = 0;
    if (g_stream_from != 0 || slot < 0 || slot >= FDNN_STREAM_SLOTS)
        return 1;
    stream_slot *s = &g_slots[slot];
    if (FDNN_LOAD_(&s->calls) < FDNN_STREAM_TRIALS) {
        /* concurrent callers may take the same number: one more trial of that way */
        int call = FDNN_TAKE_(&s->calls);
        if (call < FDNN_STREAM_TRIALS) {
            *trial = 1;
            return call % 2;
        }
    }
    /* until the trials still running have reported, stream */
    return fdnn_stream_learned(slot) != 0;
}

void fdnn_stream_learn(int slot, int way, double seconds, size_t bytes)
{
    if (slot < 0 || slot >= FDNN_STREAM_SLOTS || bytes == 0 || seconds <= 0)
        return;
    double per_byte = seconds / (double)bytes, *best = &g_slots[slot].best[way != 0];
    const double was = load_best(best);
    if (was == 0 || per_byte < was)
        store_best(best, per_byte);
}

void fdnn_stream_relearn(void) { memset(g_slots, 0, sizeof g_slots); }

double fdnn_stream_clock(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
#else
    struct timespec t;
    timespec_get(&t, TIME_UTC);
#endif
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void fdnn_stream_note(void)
{
#if defined(__GNUC__) || defined(__clang__)
    __atomic_fetch_add(&g_streamed, 1, __ATOMIC_RELAXED);
#else
    g_streamed++;
#endif
}

long fdnn_stream_count(void) { return g_streamed; }

void fdnn_stream_copy(void *dst, const void *src, size_t bytes)
{
#ifdef FDNN_HAVE_STREAM
    __m128i *d = (__m128i *)dst;
    const __m128i *s = (const __m128i *)src;
    size_t i = 0;
    for (; i + 4 <= bytes / 16; i += 4) {
        __m128i a = _mm_loadu_si128(s + i), b = _mm_loadu_si128(s + i + 1);
        __m128i c = _mm_loadu_si128(s + i + 2), e = _mm_loadu_si128(s + i + 3);
        _mm_stream_si128(d + i, a);
        _mm_stream_si128(d + i + 1, b);
        _mm_stream_si128(d + i + 2, c);
        _mm_stream_si128(d + i + 3, e);
    }
    memcpy(d + i, s + i, bytes - 16 * i); /* callers pass whole lines: nothing left */
#else
    memcpy(dst, src, bytes);
#endif
}

void fdnn_stream_fence(void)
{
#ifdef FDNN_HAVE_STREAM
    _mm_sfence();
#endif
}
