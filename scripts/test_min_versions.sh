#!/usr/bin/env bash
# The support floor, tested: the suite against the oldest NumPy and SciPy that
# pyproject.toml declares (numpy>=1.25, scipy>=1.10), on this machine's Python.
# Usage: scripts/test_min_versions.sh [WHEEL [PYTEST ARGS...]]
#   (default: builds a wheel from the tree)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
deps=$(grep '^dependencies' "$here/pyproject.toml")   # the runtime requirements line
numpy_min=$(sed -n 's/.*"numpy>=\([0-9.]*\)".*/\1/p' <<<"$deps")
scipy_min=$(sed -n 's/.*"scipy>=\([0-9.]*\)".*/\1/p' <<<"$deps")
"$python" -m venv "$work/env"
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
# the oldest releases of those series, then fastdnn without letting pip upgrade them
"$pip" install -q "numpy==$numpy_min.*" "scipy==$scipy_min.*"
"$pip" install -q --no-deps "$wheel"
"$pip" install -q "pytest>=7" "hypothesis>=6" "threadpoolctl>=3"
"$work/env/bin/python" -c "import numpy, scipy; print('numpy', numpy.__version__, 'scipy', scipy.__version__)"
cd "$work" && "$work/env/bin/python" -m pytest -q -p no:cacheprovider "$here/tests" "$@"
