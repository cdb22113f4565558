"""Registry of benchmark sections.

A section is a module ``sections/<name>.py`` with a function
``cases(cfg: _case.Config) -> Iterator[_case.Case]``; add its name to
``SECTIONS`` (in run order) to make it selectable with ``--sections``.
``cfg.quick`` asks for fewer or smaller cases, ``cfg.smoke`` (``--smoke``, which
implies ``quick``) for the smallest ones, seconds in all, that still run every
check; ``tests/test_bench.py`` runs each section so. Its speed targets go in
``bench/targets.py``.
Modules are imported lazily, so a section's extra dependencies are only
needed when it runs.
"""
from __future__ import annotations

import importlib
from types import ModuleType

SECTIONS: tuple[str, ...] = ("activations", "dense", "gemm", "train", "estimators",
                             "inference", "memory", "keras", "distributed")


def load(name: str) -> ModuleType:
    """Import the module of section ``name``."""
    if name not in SECTIONS:
        raise KeyError(f"unknown section {name!r}; known: {', '.join(SECTIONS)}")
    return importlib.import_module(f"{__name__}.{name}")
