"""The lists that must agree: what the C kernels know (csrc/fdnn_codes.h, read through
fastdnn._compiled.CODES), the Python registries, reference.py and docs/ARCHITECTURE.md."""
import re
from pathlib import Path

import pytest

from fastdnn import _compiled, activations, functional, losses, metrics, optimizers, reference

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
C = _compiled.CODES


def test_activations_agree():
    # softmax runs as a linear pass followed by the column softmax, so it has no C entry
    assert set(C["activation"]) | {"softmax"} == set(activations.names())
    for name in activations.names():
        assert callable(getattr(reference, name)) and callable(getattr(functional, name))
        assert callable(getattr(reference, name + "_backward"))
        assert callable(getattr(functional, name + "_backward"))
    for name in C["activation"]:
        for form in ("", "_derivative"):
            assert callable(getattr(reference, name + form)), name + form
            assert callable(getattr(functional, name + form)), name + form
        assert {name, f"bw_{name}"} <= set(C["unary"]) | set(C["binary"])


def test_losses_agree():
    kernels = {losses.get(name).compiled_spec().code for name in losses.names()}
    assert kernels == set(C["loss"].values())
    assert set(C["loss"]) <= {losses.get(name).name for name in losses.names()}
    assert set(reference.COSTS) == set(C["loss"]) == set(reference.LOSS_GRADIENTS)
    for name in C["loss"]:
        assert losses.get(name).compiled_spec().code == C["loss"][name]


def test_optimizers_agree():
    canonical = {type(cls()).__name__.lower() for cls in set(optimizers._REGISTRY.values())}
    assert canonical == set(C["optimizer"])
    for name, code in C["optimizer"].items():
        assert optimizers.get(name).compiled_spec().code == code
        assert callable(getattr(reference, f"{name}_step"))


def test_metrics_agree():
    for name, code in C["metric"].items():
        metric = metrics.get(name)
        assert metric.compiled_spec(3).code == code
    kernels = {metrics.get(name).compiled_spec(3).code for name in metrics.names()}
    assert kernels == set(C["metric"].values())


def test_the_documented_files_exist():
    text = DOC.read_text()
    paths = set(re.findall(r"`((?:fastdnn|csrc|bench|tests|docs)/[\w./]+)`", text))
    assert len(paths) > 15
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == []


@pytest.mark.parametrize("kind", ["FDNN_UNARY_OPS", "FDNN_ACTIVATIONS", "FDNN_LOSSES",
                                  "FDNN_OPTIMIZERS", "FDNN_METRICS"])
def test_the_documented_lists_are_the_c_lists(kind):
    assert f"`{kind}`" in DOC.read_text()
    header = (ROOT / "csrc" / "fdnn_codes.h").read_text()
    assert f"#define {kind}(X)" in header
