/* Kernels for any CPU: baseline instruction set of the build (SSE2 on x86-64). */
#define FDNN_ISA portable
#define FDNN_ISA_NAME "portable"
#define FDNN_VBYTES 16
#include "fdnn_ew_impl.h"
