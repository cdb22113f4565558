/* The driver of bench/engine_ab.py: builds of fastdnn's C kernels (each a shared library
 * of csrc/*.c) timed by turns on one product, in one process.
 *
 *   engine_ab THREADS f32|f64 M,N,K,LAYOUT SECONDS LIB...
 *
 * Each library's fdnn_gemm_f32/f64 computes C (M x N, row-major) = A B, A and B in the
 * layout (NN; NT: B a transposed view; TN: A a transposed view), on inputs of its own
 * (the same values, in buffers `offset` bytes past 64, LIB given as PATH[:OFFSET]).
 * Rounds of ~20 ms samples, one per library, alternate in order (forward, then backward)
 * until SECONDS have passed. Each library's C is first checked against a float64 product
 * (a failure prints "wrong" and exits 2). Printed, one line per library:
 *   lib <path> median_us <t> gflops <g> best_gflops <g> ratio <r> q1 <r> q3 <r> rounds <n>
 * ratio: the first library's time over this one's within each round, the median over
 * rounds (> 1: faster than the first), q1 and q3 its quartiles. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fdnn_kernels.h"

#define MAX_LIBS 16
#define MAX_ROUNDS 100000
#define SAMPLE_S 0.02

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* the q-quantile of v[0:n] (nearest rank) */
static double quantile(const double *v, int n, double q)
{
    double *w = malloc((size_t)n * sizeof *w);
    memcpy(w, v, (size_t)n * sizeof *w);
    qsort(w, (size_t)n, sizeof *w, by_value);
    const double r = w[(int)(q * (n - 1) + 0.5)];
    free(w);
    return r;
}

typedef void (*gemm_fn)(const void *g);

typedef struct {
    const char *path;
    long offset;
    gemm_fn gemm;
    char *a, *b, *c;
    fdnn_gemm_args_f32 g32;
    fdnn_gemm_args_f64 g64;
} lib_t;

static int load(lib_t *l, const char *spec, int threads, int f64)
{
    char *path = strdup(spec), *colon = strrchr(path, ':');
    l->offset = 0;
    if (colon != NULL) {
        *colon = '\0';
        l->offset = atol(colon + 1);
    }
    l->path = path;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "engine_ab: %s\n", dlerror());
        return 0;
    }
    void (*init)(void) = (void (*)(void))dlsym(h, "fdnn_init");
    void (*set_threads)(int) = (void (*)(int))dlsym(h, "fdnn_set_num_threads");
    l->gemm = (gemm_fn)dlsym(h, f64 ? "fdnn_gemm_f64" : "fdnn_gemm_f32");
    if (init == NULL || set_threads == NULL || l->gemm == NULL) {
        fprintf(stderr, "engine_ab: %s lacks fdnn_init, fdnn_set_num_threads or fdnn_gemm\n",
                path);
        return 0;
    }
    init();
    set_threads(threads);
    return 1;
}

static char *buffer(size_t bytes, long offset)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes + 64) != 0)
        return NULL;
    return (char *)p + offset;
}

#define FILL_ARGS(G, T)                                                                 \
    do {                                                                                \
        memset(&(G), 0, sizeof(G));                                                     \
        (G).M = M; (G).N = N; (G).K = K; (G).alpha = 1; (G).beta = 0;                   \
        (G).a = (const T *)l->a; (G).b = (const T *)l->b; (G).c = (T *)l->c; (G).ldc = N; \
        (G).rs_a = ta ? 1 : K; (G).cs_a = ta ? M : 1;                                   \
        (G).rs_b = tb ? 1 : N; (G).cs_b = tb ? K : 1;                                   \
        (G).act = -1; (G).bwd = -1; (G).opt = -1;                                       \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: engine_ab THREADS f32|f64 M,N,K,LAYOUT SECONDS LIB...\n");
        return 1;
    }
    const int threads = atoi(argv[1]), f64 = strcmp(argv[2], "f64") == 0;
    long M = 0, N = 0, K = 0;
    char layout[3] = "NN";
    if (sscanf(argv[3], "%ld,%ld,%ld,%2s", &M, &N, &K, layout) < 3 || M < 1 || N < 1 || K < 1) {
        fprintf(stderr, "engine_ab: shape M,N,K[,LAYOUT] expected, got %s\n", argv[3]);
        return 1;
    }
    const int ta = layout[0] == 'T', tb = layout[1] == 'T';
    const double seconds = atof(argv[4]);
    const int n = argc - 5 < MAX_LIBS ? argc - 5 : MAX_LIBS;
    const size_t ts = f64 ? sizeof(double) : sizeof(float);
    static lib_t libs[MAX_LIBS];

    /* the inputs as doubles (A row-major M x K, B row-major K x N), then each library's */
    double *a = malloc((size_t)(M * K) * sizeof *a), *b = malloc((size_t)(K * N) * sizeof *b);
    unsigned long long s = 12345;
    for (long i = 0; i < M * K + K * N; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double v = (double)(s >> 11) / 9007199254740992.0 - 0.5;
        if (!f64)
            v = (double)(float)v;   /* float32 inputs exactly */
        if (i < M * K)
            a[i] = v;
        else
            b[i - M * K] = v;
    }
    for (int k = 0; k < n; k++) {
        lib_t *l = &libs[k];
        if (!load(l, argv[5 + k], threads, f64))
            return 1;
        l->a = buffer((size_t)(M * K) * ts, l->offset);
        l->b = buffer((size_t)(K * N) * ts, l->offset);
        l->c = buffer((size_t)(M * N) * ts, l->offset);
        if (l->a == NULL || l->b == NULL || l->c == NULL)
            return 1;
        for (long i = 0; i < M; i++)
            for (long p = 0; p < K; p++) {
                const long at = ta ? p * M + i : i * K + p;
                if (f64) ((double *)l->a)[at] = a[i * K + p];
                else ((float *)l->a)[at] = (float)a[i * K + p];
            }
        for (long p = 0; p < K; p++)
            for (long j = 0; j < N; j++) {
                const long at = tb ? j * K + p : p * N + j;
                if (f64) ((double *)l->b)[at] = b[p * N + j];
                else ((float *)l->b)[at] = (float)b[p * N + j];
            }
        FILL_ARGS(l->g32, float);
        FILL_ARGS(l->g64, double);
    }

    /* each library's C against the float64 product on up to 4096 elements */
    const double eps = f64 ? 2.220446049250313e-16 : 1.1920928955078125e-07;
    for (int k = 0; k < n; k++) {
        lib_t *l = &libs[k];
        const void *g = f64 ? (const void *)&l->g64 : (const void *)&l->g32;
        l->gemm(g);
        const long count = M * N < 4096 ? M * N : 4096;
        for (long e = 0; e < count; e++) {
            const long at = count == M * N ? e : (long)((e * 2654435761UL) % (unsigned long)(M * N));
            const long i = at / N, j = at % N;
            double want = 0, scale = 0;
            for (long p = 0; p < K; p++) {
                want += a[i * K + p] * b[p * N + j];
                scale += fabs(a[i * K + p] * b[p * N + j]);
            }
            const double got = f64 ? ((double *)l->c)[at] : (double)((float *)l->c)[at];
            if (!(fabs(got - want) <= 10.0 * (double)K * eps * scale + 1e-300)) {
                printf("wrong %s C[%ld, %ld] = %.17g, the float64 product %.17g\n", l->path,
                       i, j, got, want);
                return 2;
            }
        }
    }

    /* calls per sample: ~SAMPLE_S seconds of the first library */
    for (int k = 0; k < n; k++)
        for (int r = 0; r < 3; r++)
            libs[k].gemm(f64 ? (const void *)&libs[k].g64 : (const void *)&libs[k].g32);
    int calls = 0;
    for (double t0 = now(); now() - t0 < SAMPLE_S || calls == 0; calls++)
        libs[0].gemm(f64 ? (const void *)&libs[0].g64 : (const void *)&libs[0].g32);

    static double t[MAX_LIBS][MAX_ROUNDS];
    int rounds = 0;
    for (double start = now(); rounds < MAX_ROUNDS && (now() - start < seconds || rounds < 2);
         rounds++)
        for (int o = 0; o < n; o++) {
            lib_t *l = &libs[rounds % 2 ? n - 1 - o : o];
            const void *g = f64 ? (const void *)&l->g64 : (const void *)&l->g32;
            const double t0 = now();
            for (int c = 0; c < calls; c++)
                l->gemm(g);
            t[l - libs][rounds] = (now() - t0) / calls;
        }

    const double flop = 2.0 * (double)M * (double)N * (double)K;
    double *ratio = malloc((size_t)rounds * sizeof *ratio);
    for (int k = 0; k < n; k++) {
        for (int r = 0; r < rounds; r++)
            ratio[r] = t[0][r] / t[k][r];
        const double med = quantile(t[k], rounds, 0.5);
        printf("lib %s median_us %.2f gflops %.2f best_gflops %.2f ratio %.4f q1 %.4f q3 %.4f "
               "rounds %d\n", libs[k].path, 1e6 * med, flop / med / 1e9,
               flop / quantile(t[k], rounds, 0.0) / 1e9, quantile(ratio, rounds, 0.5),
               quantile(ratio, rounds, 0.25), quantile(ratio, rounds, 0.75), rounds);
    }
    return 0;
}
