"""The package's annotations pass ``mypy --strict`` with the repository's settings
(``[tool.mypy]`` in pyproject.toml: strict, and the relaxations listed there).

mypy reads the imported package (``fastdnn.__file__``'s directory), so an installed
wheel is checked with the type stubs it ships (``fastdnn/_kernels/*.pyi``). Its cache
lives in pytest's cache directory (a temporary one with ``-p no:cacheprovider``): a
warm run takes about a second, a cold one 5 to 20 s.
"""
import re
from pathlib import Path

import numpy as np
import pytest

import fastdnn

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
PACKAGE = Path(fastdnn.__file__).resolve().parent

# the oldest versions the annotations are checked against: older NumPy stubs lack the
# defaults of ndarray's type parameters (every bare ``np.ndarray`` is an error there) and
# type less of NumPy, older mypy versions infer less (narrowing by ``type(a) is type(b)``)
MIN_MYPY = (2, 0)
MIN_NUMPY = (2, 4)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def _cache_dir(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("mypy"))
    return tmp_path_factory.mktemp("mypy_cache")


def test_mypy_strict(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> None:
    api = pytest.importorskip("mypy.api", reason="mypy is not installed (pip install mypy)")
    from mypy.version import __version__ as mypy_version

    if not (PYPROJECT.is_file() and "[tool.mypy]" in PYPROJECT.read_text(encoding="utf-8")):
        pytest.skip(f"no [tool.mypy] settings at {PYPROJECT} (not run from the source tree)")
    if not (PACKAGE / "__init__.py").is_file() or not (PACKAGE / "models.py").is_file():
        pytest.skip(f"the Python sources of fastdnn are not present in {PACKAGE}")
    if _version(mypy_version) < MIN_MYPY or _version(np.__version__) < MIN_NUMPY:
        pytest.skip(f"the annotations are checked with mypy >= {'.'.join(map(str, MIN_MYPY))} "
                    f"and NumPy >= {'.'.join(map(str, MIN_NUMPY))}; this is mypy "
                    f"{mypy_version} with NumPy {np.__version__}")

    stdout, stderr, status = api.run(["--config-file", str(PYPROJECT),
                                      "--cache-dir", str(_cache_dir(request, tmp_path_factory)),
                                      str(PACKAGE)])
    assert status == 0, f"mypy --strict reports errors in {PACKAGE}:\n{stdout}{stderr}"
