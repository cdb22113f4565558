/* Stores that skip the caches, for outputs too large to stay in them. */
#ifndef FDNN_STREAM_H
#define FDNN_STREAM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the sizes of the last-level cache and of one core's L2 (fdnn_init, once). */
void fdnn_stream_init(void);
/* One core's L2 in bytes (the product engine's thread grid weighs it). */
size_t fdnn_l2_bytes(void);
/* Output bytes from which the element-wise passes stream their results to memory
   (0: never, as on CPUs without the stores). */
size_t fdnn_stream_from(void);
/* Sets it (tests force small sizes); 0 restores the last-level cache's size. */
void fdnn_set_stream_from(size_t bytes);
/* Whether non-temporal stores pay depends on the CPU and on the pass, so each kind of
   pass (a slot: the dispatch numbers them by op and type) learns it where it runs: its
   first FDNN_STREAM_TRIALS calls large enough to stream alternate ordinary and streamed
   stores, timed per byte, and later calls take the faster way. fdnn_stream_way gives
   the way of a call (1: stream) and sets *trial when the call is one of the trials,
   whose time the caller then reports with fdnn_stream_learn. A streaming size set with
   fdnn_set_stream_from streams every such call (tests). */
#define FDNN_STREAM_TRIALS 6
#define FDNN_STREAM_SLOTS 256
int fdnn_stream_way(int slot, int *trial);
void fdnn_stream_learn(int slot, int way, double seconds, size_t bytes);
/* What a slot learned: 0 ordinary stores, 1 streamed, -1 still trying. */
int fdnn_stream_learned(int slot);
/* Forgets what every slot learned (tests, and the SIMD path's change). */
void fdnn_stream_relearn(void);
/* Seconds on a monotonic clock. */
double fdnn_stream_clock(void);
/* Counts the element-wise calls that streamed (tests check the path was taken). */
void fdnn_stream_note(void);
long fdnn_stream_count(void);
/* Copies `bytes` (a multiple of 64) from src to dst (64-byte aligned) with non-temporal
   stores; callers end a series of them with fdnn_stream_fence. */
void fdnn_stream_copy(void *dst, const void *src, size_t bytes);
void fdnn_stream_fence(void);

#ifdef __cplusplus
}
#endif

#endif
