/* Kernels for x86-64 CPUs with AVX-512 (F, DQ, BW, VL), chosen at run time. */
#include "fdnn_kernels.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h> /* before the target pragma: the header sets its own targets */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,prefer-vector-width=512")
#endif
#define FDNN_ISA avx512
#define FDNN_ISA_NAME "avx512"
#define FDNN_VBYTES 64
#include "fdnn_recip_avx512.h"
#include "fdnn_ew_impl.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
int fdnn_fill_table_avx512(fdnn_kernel_table *t) { (void)t; return 0; }
#endif
