"""``CSVLogger``: write the epoch logs to a CSV file, one row per epoch.

Examples
--------
>>> _csv_value([1, 2])
'[1, 2]'
"""
from __future__ import annotations

import csv
import os
import warnings
from typing import Any, TextIO

import numpy as np

from .callback import Callback

__all__ = ["CSVLogger"]


def _csv_value(value: Any) -> Any:
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.ndim == 0:
        return value if np.isscalar(value) else arr[()]
    return "[" + ", ".join(str(v) for v in arr.ravel().tolist()) + "]"


class CSVLogger(Callback):
    """Write the epoch logs to a CSV file, one row per epoch.

    The header is ``epoch`` then the log keys of the first epoch, sorted; a key
    missing in a later epoch is written ``NA``. The file is flushed every epoch
    and closed at the end of training.

    Parameters
    ----------
    filename : str or os.PathLike
        The CSV file.
    separator : str, default ","
        One-character field separator.
    append : bool, default False
        Append to an existing file (no second header) instead of overwriting it.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> logger = CSVLogger(path)
    >>> logger.on_train_begin()
    >>> logger.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})
    >>> logger.on_epoch_end(1, {"loss": 0.25, "accuracy": 0.875})
    >>> logger.on_train_end()
    >>> print(open(path).read(), end="")
    epoch,accuracy,loss
    0,0.75,0.5
    1,0.875,0.25
    """

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",",
                 append: bool = False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"filename must be a str or os.PathLike, got {type(filename).__name__}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be a single character, got {separator!r}")
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._file: TextIO | None = None
        self._writer: Any = None
        self._write_header = True
        self._ignored: set[str] = set()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.close()
        self._write_header = not (self.append and os.path.isfile(self.filename)
                                  and os.path.getsize(self.filename) > 0)
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator, lineterminator="\n")
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self._file is None:  # used without on_train_begin
            self.on_train_begin()
        if self.keys is None:
            keys = set(logs)
            if self.params.get("do_validation") and not any(k.startswith("val_") for k in keys):
                # fit(validation_freq=k): the first epoch was not validated, later ones are
                keys |= {"val_" + k for k in keys if k != "learning_rate"}
            self.keys = sorted(keys)
            if self._write_header:
                self._writer.writerow(["epoch", *self.keys])
        extra = set(logs).difference(self.keys, self._ignored)
        if extra:
            self._ignored |= extra
            warnings.warn(f"CSVLogger: keys {sorted(extra)} were not in the first epoch's logs "
                          "and are not written", RuntimeWarning, stacklevel=2)
        self._writer.writerow([epoch, *(_csv_value(logs.get(k, "NA")) for k in self.keys)])
        self._file.flush()  # type: ignore[union-attr]  # opened by on_train_begin

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (done at the end of training).

        Examples
        --------
        >>> CSVLogger("never-opened.csv").close()  # nothing open: a no-op
        """
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None
