#!/usr/bin/env bash
# Old and mid CPUs, emulated: part of the test suite under qemu-user as a Nehalem
# (SSE4.2, no AVX: the portable kernels) and a Haswell (AVX2 + FMA, no AVX-512), to show
# that the run-time dispatch picks a path the CPU has and that the path computes right.
# The tests run in a fresh virtual environment, and OpenBLAS (NumPy's) detects the
# emulated CPU itself: an OPENBLAS_CORETYPE set for the host would make it run kernels the
# emulated CPU lacks.
# Needs qemu-user (apt-get install qemu-user).
# Usage: scripts/test_qemu.sh [WHEEL [PYTEST ARGS...]]   (default: builds a wheel;
#        the element-wise, product and small-network tests, a few minutes per CPU)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
qemu=$(command -v qemu-x86_64 || true)
if [ -z "$qemu" ]; then
    echo "qemu-x86_64 not found: apt-get install qemu-user" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${PYTHON:-python3}" -m venv "$work/env"
pip="$work/env/bin/pip"
"$pip" install -q --upgrade pip
if [ $# -ge 1 ]; then
    wheel=$1
    shift
else
    "$pip" install -q build
    "$work/env/bin/python" -m build --wheel --outdir "$work/dist" "$here" >/dev/null
    wheel=$(ls "$work"/dist/fastdnn-*.whl)
fi
"$pip" install -q numpy scipy "pytest>=7" "hypothesis>=6"
"$pip" install -q --no-deps "$wheel"
# the interpreter itself (qemu runs ELF binaries, not a shell shim such as pyenv's)
python=$("$work/env/bin/python" -c "import sys, os; print(os.path.realpath(sys.executable))")
export PYTHONPATH="$("$work/env/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")"
if [ $# -eq 0 ]; then
    set -- "$here/tests/test_functional.py" "$here/tests/test_small_gemm.py" \
           "$here/tests/test_gemm.py" -k "not random_products and not thread" -x
fi
unset OPENBLAS_CORETYPE
for cpu in Nehalem Haswell; do
    echo "== $cpu"
    (cd "$work" &&
     "$qemu" -cpu "$cpu" "$python" -c "import fastdnn; i = fastdnn.info(); print('simd path:', i['simd'], '| available:', i['simd_available'], '|', i['gemm'])" 2> >(grep -v "TCG doesn't support" >&2) &&
     "$qemu" -cpu "$cpu" "$python" -m pytest -q -p no:cacheprovider "$@" 2> >(grep -v "TCG doesn't support" >&2))
done
