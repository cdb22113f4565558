"""Every example in the public docstrings runs and prints what it shows."""
import doctest
import importlib

import pytest

import pkgutil

import fastdnn

# every public module of the package (new modules are picked up automatically)
MODULES = ["fastdnn"] + sorted(
    m.name for m in pkgutil.walk_packages(fastdnn.__path__, "fastdnn.")
    if not m.name.startswith("fastdnn._kernels") and m.name != "fastdnn.__main__")


# modules whose examples need an optional package (an extra)
NEEDS = {"fastdnn.sklearn": "sklearn", "fastdnn.onnx": "onnx"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    for prefix, package in NEEDS.items():
        if name == prefix or name.startswith(prefix + "."):
            pytest.importorskip(package)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    if not name.rpartition(".")[2].startswith("_"):
        assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def test_every_public_name_has_a_docstring():
    import fastdnn

    missing = [n for n in fastdnn.__all__ if n != "__version__"
               and not (getattr(fastdnn, n).__doc__ or "").strip()]
    assert missing == []
