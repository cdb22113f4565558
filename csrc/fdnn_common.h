/* Shared helpers for the portable C kernels: inlining, bit casts, loop hints. */
#ifndef FDNN_COMMON_H
#define FDNN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#define FDNN_INLINE static __forceinline
#else
#define FDNN_INLINE static inline __attribute__((always_inline))
#endif

/* Element-wise loops read x[i] before writing y[i]; x == y (in place) is allowed,
   partial overlap is not (the Python layer copies first). So there is no
   loop-carried dependence and the vectorizer may ignore the possible aliasing. */
#if defined(__clang__)
#define FDNN_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define FDNN_IVDEP _Pragma("GCC ivdep")
#else
#define FDNN_IVDEP
#endif

FDNN_INLINE uint32_t fdnn_bits_f32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
FDNN_INLINE float fdnn_from_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
FDNN_INLINE uint64_t fdnn_bits_f64(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }
FDNN_INLINE double fdnn_from_bits_f64(uint64_t u) { double f; memcpy(&f, &u, 8); return f; }

#endif
