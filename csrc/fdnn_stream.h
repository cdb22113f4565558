/* Stores that skip the caches, for outputs too large to stay in them. */
#ifndef FDNN_STREAM_H
#define FDNN_STREAM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the last-level cache's size (fdnn_init, once). */
void fdnn_stream_init(void);
/* Output bytes from which the element-wise passes stream their results to memory
   (0: never, as on CPUs without the stores). */
size_t fdnn_stream_from(void);
/* Sets it (tests force small sizes); 0 restores the last-level cache's size. */
void fdnn_set_stream_from(size_t bytes);
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
