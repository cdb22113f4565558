/* The whole kernel table for one instruction set. A translation unit sets the
 * target (by pragma) and FDNN_ISA, then includes this file once. */
#include <math.h>

#include "fdnn_common.h"
#include "fdnn_kernels.h"
#include "fdnn_math.h"

#define FDNN_CAT_(a, b) a##b
#define FDNN_CAT(a, b) FDNN_CAT_(a, b)

#define T float
#define TS f32
#define FDNN_TBYTES 4
#define FDNN_ABS fabsf
#define FDNN_COPYSIGN copysignf
#define FDNN_SQRT sqrtf
#include "fdnn_ew_type.h"
#undef T
#undef TS
#undef FDNN_TBYTES
#undef FDNN_ABS
#undef FDNN_COPYSIGN
#undef FDNN_SQRT

#define T double
#define TS f64
#define FDNN_TBYTES 8
#define FDNN_ABS fabs
#define FDNN_COPYSIGN copysign
#define FDNN_SQRT sqrt
#include "fdnn_ew_type.h"
#undef T
#undef TS
#undef FDNN_TBYTES
#undef FDNN_ABS
#undef FDNN_COPYSIGN
#undef FDNN_SQRT

int FDNN_CAT(fdnn_fill_table_, FDNN_ISA)(fdnn_kernel_table *t)
{
    t->name = FDNN_ISA_NAME;
    fill_f32(t);
    fill_f64(t);
    return 1;
}
