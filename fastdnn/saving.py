"""Saving and loading models as ``.npz`` files.

A file holds a JSON header (format name and version, the architecture, the
compile settings) and plain arrays: the weights and the optimizer's state.
It is read with ``allow_pickle=False`` and written to a temporary file in the
same directory that is then renamed over the target, so a crash mid-write
never leaves a half-written model behind.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from fastdnn.layers import Dense
>>> from fastdnn.models import Sequential
>>> model = Sequential([Dense(2, activation="softmax")], seed=0)
>>> model.compile(optimizer="adam", loss="categorical_crossentropy")
>>> model.build(3)
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> model.save(path)
>>> again = load_model(path)
>>> X = np.ones((4, 3))
>>> bool(np.array_equal(again.predict(X), model.predict(X)))
True
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

__all__ = ["save_model", "load_model", "FORMAT", "FORMAT_VERSION"]

FORMAT = "fastdnn.model"
FORMAT_VERSION = 1
_HEADER = "__fastdnn__"


def _compile_config(model: Any) -> dict | None:
    if model.optimizer is None or model.loss is None:
        return None
    from . import optimizers

    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": model.loss.get_config(),
            "metrics": [metric.get_config() for metric in model.metrics]}


def save_model(model: Any, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` (atomically; any existing file is replaced).

    Parameters
    ----------
    model : Sequential
    path : str or PathLike
        Written exactly as given (no suffix is added); ``.npz`` is customary.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastdnn.layers import Dense
    >>> from fastdnn.models import Sequential
    >>> model = Sequential([Dense(1)], seed=0)
    >>> model.build(2)
    >>> save_model(model, os.path.join(tempfile.mkdtemp(), "m.npz"))
    """
    from . import __version__

    path = os.fspath(path)
    if not model.built:
        raise ValueError("the model has no weights yet: build or fit it before saving")
    arrays: dict[str, np.ndarray] = {}
    for i, w in enumerate(model.get_weights()):
        arrays[f"weights/{i:04d}"] = w
    state_keys: list[str] = []
    if model.optimizer is not None and getattr(model.optimizer, "iterations", 0):
        for key, value in model.optimizer.get_state().items():
            arrays[f"optimizer/{key}"] = np.asarray(value)
            state_keys.append(key)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "fastdnn_version": __version__,
              "model": model.get_config(), "compile": _compile_config(model),
              "n_weights": len(model.get_weights()), "optimizer_state": state_keys}
    arrays[_HEADER] = np.array(json.dumps(header))
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastdnn-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _bad(path: str, why: str) -> ValueError:
    return ValueError(f"{path!r} is not a readable fastdnn model file: {why}")


def load_model(path: str | os.PathLike, compile: bool = True) -> Any:
    """Read a model written by ``Sequential.save``.

    The loaded model predicts exactly what the saved one did and, when it was
    compiled and trained, continues training where it stopped (optimizer state
    included).

    Parameters
    ----------
    path : str or PathLike
    compile : bool, default True
        Restore the optimizer (with its state), loss and metrics.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is corrupt, truncated, or not a fastdnn model.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "junk.npz")
    >>> _ = open(path, "wb").write(b"not a model")
    >>> load_model(path)
    Traceback (most recent call last):
    ...
    ValueError: '...junk.npz' is not a readable fastdnn model file: ...
    """
    from .models import Sequential

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path!r}")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":
        raise _bad(path, "not an .npz (zip) archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise _bad(path, "it is a single .npy array, not an .npz archive")
            if _HEADER not in data.files:
                raise _bad(path, "no fastdnn header (written by another program?)")
            header = json.loads(str(data[_HEADER][()]))
            arrays = {k: data[k] for k in data.files if k != _HEADER}
    except ValueError as exc:
        if str(exc).startswith(repr(path)):
            raise
        raise _bad(path, str(exc)) from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise _bad(path, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _bad(path, "wrong format name in the header")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise _bad(path, f"format version {version!r}; this fastdnn reads up to {FORMAT_VERSION}")
    try:
        model = Sequential.from_config(header["model"])
        n = int(header["n_weights"])
        weights = [arrays[f"weights/{i:04d}"] for i in range(n)]
        model.build(model.n_features, rng=0)
        model.set_weights(weights)
        comp = header.get("compile")
        if compile and comp is not None:
            model.compile(comp["optimizer"], comp["loss"], comp["metrics"])
            keys = header.get("optimizer_state") or []
            if keys:
                state = {k: arrays[f"optimizer/{k}"] for k in keys}
                params = [p for l in model._compute_layers for p in l.params]
                model.optimizer.set_state(state, params)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise _bad(path, f"{type(exc).__name__}: {exc}") from None
    return model
