/* Kernels for x86-64 CPUs with AVX2 and FMA, chosen at run time. */
#include "fdnn_kernels.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define FDNN_HAVE_AVX2 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#define FDNN_ISA avx2
#define FDNN_ISA_NAME "avx2"
#define FDNN_VBYTES 32
#include "fdnn_ew_impl.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
int fdnn_fill_table_avx2(fdnn_kernel_table *t) { (void)t; return 0; }
#endif
