"""The name/config registries shared by initializers, losses and metrics.

Examples
--------
>>> from fastdnn import losses
>>> resolve("mse", losses.Loss, losses._lookup, "loss").name
'mse'
"""
from __future__ import annotations

from typing import Any, Callable


def from_config(cls: type[Any], config: Any, lookup: Callable[[str], type[Any]], what: str) -> Any:
    """``cls(**config)`` after checking the config names ``cls`` (its ``"name"`` key)."""
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    config = dict(config)
    name = config.pop("name", cls.name)
    if lookup(name) is not cls:
        raise ValueError(f"config is for {what} {name!r}, not {cls.name!r}")
    try:
        return cls(**config)
    except TypeError:
        raise ValueError(f"bad config for {what} {cls.name!r}: {config!r}") from None


def resolve(identifier: Any, base: type, lookup: Callable[[str], type[Any]], what: str) -> Any:
    """An instance of ``base`` from an instance, a subclass, a name or a config dict
    (``{"name": ...}`` or ``{"class_name": ..., "config": {...}}``); None for anything else."""
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    if isinstance(identifier, str):
        return lookup(identifier)()
    if isinstance(identifier, dict):
        if "class_name" in identifier:
            config = identifier.get("config") or {}
            if not isinstance(config, dict):
                raise ValueError(f"bad {what} config {identifier!r}")
            return lookup(identifier["class_name"]).from_config(
                {k: v for k, v in config.items() if k != "name"})
        if "name" not in identifier:
            raise ValueError(f"{what} config needs a 'name' key, got {identifier!r}")
        return lookup(identifier["name"]).from_config(identifier)
    return None
