"""Every example in the public docstrings runs and prints what it shows."""
import doctest
import importlib

import pytest

MODULES = ["fastdnn", "fastdnn.functional", "fastdnn.activations", "fastdnn.reference",
           "fastdnn.course", "fastdnn.gradcheck", "fastdnn._config"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def test_every_public_name_has_a_docstring():
    import fastdnn

    missing = [n for n in fastdnn.__all__ if n != "__version__"
               and not (getattr(fastdnn, n).__doc__ or "").strip()]
    assert missing == []
