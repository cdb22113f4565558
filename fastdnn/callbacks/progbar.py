"""``Progbar``: a Keras-style text progress bar, and the number formats it prints.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> bar = Progbar(2, width=4, stream=out)
>>> bar.update(2, {"loss": 0.5})
>>> out.getvalue().startswith("2/2 [====] - ")
True
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any, Iterable, Mapping, TextIO

from .._validation import check_int, check_real
from ._utils import as_scalar

__all__ = ["Progbar"]


def _format_value(value: Any) -> str:
    x = as_scalar(value)
    if x is None:
        return str(value)
    if x == 0 or not math.isfinite(x) or abs(x) >= 1e-3:
        return f"{x:.4f}"
    return f"{x:.4e}"


def _format_logs(logs: Mapping[str, Any]) -> str:
    return "".join(f" - {k}: {_format_value(v)}" for k, v in logs.items())


def _format_duration(seconds: float) -> str:
    """Elapsed time: ``0.12s``, ``12.3s``, ``2m 05s``, ``1h 02m 03s``."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


def _format_eta(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if s >= 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s}s"


def _format_per_unit(seconds: float, unit: str) -> str:
    if seconds >= 1:
        return f"{seconds:.1f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _is_interactive(stream: Any) -> bool:
    """Whether ``stream`` renders carriage returns (a terminal or a notebook)."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    return stream is sys.stdout and "ipykernel" in sys.modules


class Progbar:
    """A Keras-style text progress bar.

    In a terminal (or notebook) the bar is redrawn in place with ``\\r`` at
    most every ``interval`` seconds; elsewhere (files, CI logs) only the final
    line is written. Values given to :meth:`update` are shown as they are
    (pass running means, not per-batch values).

    Parameters
    ----------
    target : int or None
        Total number of steps; None if unknown.
    width : int, default 30
        Characters of the bar itself.
    interval : float, default 0.05
        Minimum seconds between two redraws.
    stream : text stream, optional
        Where to write; ``sys.stdout`` by default.
    dynamic : bool, optional
        Redraw in place; by default True when ``stream`` is a terminal.
    unit_name : str, default "step"
        Unit of the time per step in the final line.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progbar(4, width=10, stream=out)
    >>> for step in range(1, 5):
    ...     bar.update(step, {"loss": 1.0 / step})
    >>> print(out.getvalue(), end="")  # doctest: +ELLIPSIS
    4/4 [==========] - ...s/step - loss: 0.2500
    """

    def __init__(self, target: int | None, width: int = 30, interval: float = 0.05,
                 stream: TextIO | None = None, dynamic: bool | None = None,
                 unit_name: str = "step"):
        self.target = check_int(target, "target", 0, allow_none=True)
        self.width = check_int(width, "width", 1)
        self.interval = check_real(interval, "interval", 0.0)
        self.stream = sys.stdout if stream is None else stream
        self.dynamic = _is_interactive(self.stream) if dynamic is None else bool(dynamic)
        self.unit_name = unit_name
        self._start = time.perf_counter()
        self._last_draw = -math.inf
        self._current = 0
        self._values: Mapping[str, Any] | Iterable[tuple[str, Any]] = {}
        self._prev_width = 0
        self._finalized = False

    def update(self, current: int,
               values: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
               finalize: bool | None = None) -> None:
        """Set the progress to ``current`` steps and the shown ``values``.

        Parameters
        ----------
        current : int
            Steps done so far.
        values : dict or list of (name, value) pairs, optional
            Metrics to show; kept until the next call that passes some.
        finalize : bool, optional
            Write the final line (with a newline). Default: ``current >= target``.

        Examples
        --------
        >>> import io
        >>> out = io.StringIO()
        >>> Progbar(None, stream=out).update(3, [("loss", 0.5)], finalize=True)
        >>> out.getvalue().startswith("3/3 [")
        True
        """
        self._current = current
        if values is not None:
            self._values = values
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if not finalize:
            if not self.dynamic:
                return
            now = time.perf_counter()
            if now - self._last_draw < self.interval:
                return
            self._last_draw = now
            self._draw(self._line(now, final=False), end="")
        elif not self._finalized:
            self._finalized = True
            self._draw(self._line(time.perf_counter(), final=True), end="\n")

    def _line(self, now: float, final: bool) -> str:
        values = self._values
        if not isinstance(values, Mapping):
            values = dict(values)
        current, target = self._current, self.target
        elapsed = now - self._start
        if target is None and final:
            target = current
        if target is None:
            head = f"{current:7d}/Unknown"
        else:
            digits = len(str(target))
            prog = 1.0 if target == 0 else min(current / target, 1.0)
            filled = int(self.width * prog)
            bar = "=" * max(filled - 1, 0)
            if filled > 0:
                bar += "=" if current >= target else ">"
            bar += "." * (self.width - filled)
            head = f"{current:{digits}d}/{target} [{bar}]"
        per_unit = elapsed / current if current else 0.0
        if final:
            info = f" - {_format_duration(elapsed)}"
            if current:
                info += " " + _format_per_unit(per_unit, self.unit_name)
        elif target is not None:
            info = f" - ETA: {_format_eta(per_unit * max(target - current, 0))}"
        else:
            info = f" - {_format_duration(elapsed)}"
        return head + info + _format_logs(values)

    def _draw(self, line: str, end: str) -> None:
        if self.dynamic:
            pad = max(self._prev_width - len(line), 0)
            self._prev_width = len(line)
            text = "\r" + line + " " * pad + end
        else:
            text = line + end
        self.stream.write(text)
        flush = getattr(self.stream, "flush", None)
        if flush is not None:
            flush()
