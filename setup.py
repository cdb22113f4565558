"""Build the Cython/C kernels.

Flags: -O3, -fno-trapping-math (lets the vectorizer turn the kernels'
branch-free selects into blends; results and NaN propagation are unchanged),
-fno-math-errno (sqrt need not set errno, so loops that call it, such as
the optimizer updates, vectorize; results are unchanged) and -fwrapv, as Python's own
flags have it (the register allocation of the AVX2 tiles was measured with it).
Never a native-CPU target or fast-math (they break portable wheels and NaN):
wider SIMD variants are compiled per translation unit with target pragmas and
chosen at run time. OpenMP is used
when the compiler supports it, otherwise the build is single-threaded.
"""
import glob
import os
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "csrc"
KERNEL_SOURCES = [
    os.path.join(CSRC, name)
    for name in ("fdnn_dispatch.c", "fdnn_stream.c", "fdnn_ew_portable.c", "fdnn_ew_avx2.c", "fdnn_ew_avx512.c")
]


def _compiler_has_openmp(compiler, flag):
    """Compile and link a tiny OpenMP program; True if that works."""
    code = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "omp_check.c")
        with open(src, "w") as f:
            f.write(code)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=[flag])
            compiler.link_executable(objs, os.path.join(tmp, "omp_check"), extra_postargs=[flag])
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        omp_flag = "/openmp" if msvc else "-fopenmp"
        use_omp = os.environ.get("FASTDNN_NO_OPENMP", "") == "" and _compiler_has_openmp(
            self.compiler, omp_flag)
        if not use_omp:
            print("fastdnn: building without OpenMP (kernels will run single-threaded)")
        # -fwrapv as in Python's own flags, stated so that no build goes without it: GCC 12
        # compiled the AVX2 float32 tile with an accumulator on the stack without it (AMD
        # Zen 2, one core, float32 512^3 TN 45 instead of 98 GF/s)
        cflags = ["/O2"] if msvc else ["-O3", "-fno-trapping-math", "-fno-math-errno",
                                      "-fwrapv"]
        if not msvc and os.environ.get("FASTDNN_DEBUG", "") == "":
            cflags.append("-g0")   # no debug info in the modules (the wheel stays small)
        for ext in self.extensions:
            ext.extra_compile_args = cflags + ([omp_flag] if use_omp else [])
            ext.extra_link_args = [omp_flag] if use_omp and not msvc else []
        super().build_extensions()


HEADERS = glob.glob(os.path.join(CSRC, "*.h"))   # every module compiles codes from them
COMMON = dict(
    include_dirs=[CSRC, np.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
)
extensions = [
    # The C kernels and their dispatch state (SIMD path, threads) live in this one
    # module; the others cimport its entry points.
    Extension("fastdnn._kernels._elementwise",
              sources=["fastdnn/_kernels/_elementwise.pyx"] + KERNEL_SOURCES,
              depends=HEADERS, **COMMON),
    Extension("fastdnn._kernels._dense", sources=["fastdnn/_kernels/_dense.pyx"],
              depends=HEADERS + ["fastdnn/_kernels/_blas.pxd",
                                 "fastdnn/_kernels/_elementwise.pxd",
                                 "fastdnn/_kernels/_dense.pxd"],
              **COMMON),
    Extension("fastdnn._kernels._course", sources=["fastdnn/_kernels/_course.pyx"],
              depends=HEADERS + ["fastdnn/_kernels/_dense.pxd"], **COMMON),
    Extension("fastdnn._kernels._losses", sources=["fastdnn/_kernels/_losses.pyx"],
              depends=HEADERS + ["fastdnn/_kernels/_loss.pxd"], **COMMON),
    Extension("fastdnn._kernels._metrics", sources=["fastdnn/_kernels/_metrics.pyx"],
              depends=["fastdnn/_kernels/_metric.pxd"], **COMMON),
    Extension("fastdnn._kernels._optim", sources=["fastdnn/_kernels/_optim.pyx"],
              depends=HEADERS + ["fastdnn/_kernels/_optim_kernels.pxi",
                                 "fastdnn/_kernels/_sparse.pxd"], **COMMON),
    Extension("fastdnn._kernels._network", sources=["fastdnn/_kernels/_network.pyx"],
              depends=HEADERS + ["fastdnn/_kernels/_optim_kernels.pxi",
                                 "fastdnn/_kernels/_unit_step.pxi",
                                 "fastdnn/_kernels/_elementwise.pxd",
                                 "fastdnn/_kernels/_loss.pxd",
                                 "fastdnn/_kernels/_metric.pxd",
                                 "fastdnn/_kernels/_norm.pxd"],
              **COMMON),
    Extension("fastdnn._kernels._norm", sources=["fastdnn/_kernels/_norm.pyx"],
              depends=HEADERS + ["fastdnn/_kernels/_elementwise.pxd",
                                 "fastdnn/_kernels/_norm.pxd"], **COMMON),
    Extension("fastdnn._kernels._sparse", sources=["fastdnn/_kernels/_sparse.pyx"],
              depends=["fastdnn/_kernels/_elementwise.pxd", "fastdnn/_kernels/_sparse.pxd"],
              **COMMON),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False},
    ),
    cmdclass={"build_ext": BuildExt},
)
