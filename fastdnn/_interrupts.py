"""Ctrl-C during ``fit`` lands between two training steps, never inside one.

While ``fit`` runs in the main thread with Python's default SIGINT handler, ``steps``
puts a handler in its place that raises ``KeyboardInterrupt`` at once outside a step,
and inside one (the layer-by-layer trainer's forward, backward and update) only once
the step is complete. The compiled loop runs the handlers itself between mini-batches
(``_network.Plan.run``), where it is always outside a step.

Examples
--------
>>> guard = StepGuard()
>>> with guard.steps():
...     with guard.step():
...         pass          # a KeyboardInterrupt here would be raised on leaving the step
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator

__all__ = ["StepGuard"]


class StepGuard:
    """Defers SIGINT's KeyboardInterrupt to the end of the current training step."""

    def __init__(self) -> None:
        self._in_step = False
        self._pending = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self._in_step:
            self._pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def steps(self) -> Iterator[None]:
        """Install the handler for the duration (main thread, default handler only)."""
        installed = (threading.current_thread() is threading.main_thread()
                     and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        if installed:
            signal.signal(signal.SIGINT, self._handler)
        try:
            yield
        finally:
            if installed:
                signal.signal(signal.SIGINT, signal.default_int_handler)

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        """One training step: an interrupt inside it is raised when it ends."""
        self._in_step = True
        try:
            yield
        finally:
            self._in_step = False
        if self._pending:
            self._pending = False
            raise KeyboardInterrupt
