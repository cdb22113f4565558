"""Saving and loading models as ``.npz`` files.

A file holds a JSON header (format name and version, the architecture, the
compile settings, the state of the dropout masks' random generators) and
plain arrays: the weights and the optimizer's state. It is read without
pickle and written to a temporary file in the same directory that is then
renamed over the target, so a crash mid-write never leaves a half-written
model behind.

Reading checks before it allocates: each array's declared size against the
bytes the archive holds, the number of weights against the architecture. A
corrupt, truncated or foreign file raises ``ValueError`` naming the file
(never another exception type, and no forged size makes it allocate memory
the file's data could not fill).

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
import math
import os
import re
import secrets
import stat
import threading
import time
import zipfile
from typing import IO, TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from .models import Sequential

__all__ = ["save_model", "load_model", "FORMAT", "FORMAT_VERSION"]

FORMAT = "fastdnn.model"
FORMAT_VERSION = 1
_HEADER = "__fastdnn__"
_ZIP_MAGIC = b"PK\x03\x04"
# bit generators whose state a file may restore (names looked up in numpy.random)
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
# deflate cannot expand data by more than about 1032:1; a larger claim is a zip bomb
_MAX_DEFLATE_RATIO = 1100
# NumPy parses every .npy header with ast.literal_eval. CPython 3.11 keeps the AST
# constructor's recursion counter in per-interpreter state: when the garbage collector runs
# Python code in the middle of one parse (a weakref callback, a __del__) and another thread
# parses meanwhile, the first parse fails with "SystemError: AST constructor recursion depth
# mismatch" (fixed in later CPython releases), and a valid file would be reported unreadable.
# Models loaded from several threads at once take turns reading their arrays, and a parse
# that fails so because some other code of the process parsed at that moment is retried.
_ARRAY_LOCK = threading.Lock()
_AST_RETRIES = 5


class _Invalid(Exception):
    """The file's content is not a fastdnn model (converted to ValueError)."""


# ------------------------------------------------------------------ writing

def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store a {type(obj).__name__} ({obj!r}) in the model file's "
                    "JSON header; layers, initializers, optimizers, schedules and metrics "
                    "must have JSON-compatible configs")


def _compile_config(model: Sequential) -> dict[str, Any] | None:
    if model.optimizer is None or model.loss is None:
        return None
    from . import optimizers

    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": model.loss.get_config(),
            "metrics": [metric.get_config() for metric in model.metrics],
            "compiled": bool(getattr(model, "compiled", True))}


def _rng_states(model: Sequential) -> list[dict[str, Any]]:
    """States of the layers' own generators (dropout masks), one entry per
    generator with the indices of the layers sharing it."""
    groups: dict[int, dict[str, Any]] = {}
    for i, layer in enumerate(model.layers):
        rng = getattr(layer, "_rng", None)
        if not isinstance(rng, np.random.Generator):
            continue
        entry = groups.get(id(rng))
        if entry is None:
            state = rng.bit_generator.state
            if state.get("bit_generator") not in _BIT_GENERATORS:
                continue   # an exotic generator: saved models restart its stream
            entry = groups[id(rng)] = {"layers": [], "state": state}
        entry["layers"].append(i)
    return list(groups.values())


# a temporary file of a save whose process is gone and which is older than this (seconds)
# is a killed save's leftover: the next save of the same target removes it
STALE_TEMPORARY_S = 60.0


def _temporary_pattern(base: str) -> "re.Pattern[str]":
    return re.compile(re.escape(f".{base[:100]}.") + r"(\d+)-[0-9a-f]{12}\.tmp\Z")


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:   # exists, owned by someone else
        return False
    return False


def _remove_stale_temporaries(directory: str, base: str) -> None:
    """Delete the temporary files of earlier saves of ``base`` killed mid-write (their
    process gone, older than ``STALE_TEMPORARY_S``); POSIX only, best effort."""
    if os.name != "posix":  # pragma: no cover
        return
    pattern = _temporary_pattern(base)
    try:
        names = os.listdir(directory)
    except OSError:  # pragma: no cover
        return
    now = time.time()
    for name in names:
        match = pattern.match(name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        full = os.path.join(directory, name)
        try:
            if now - os.stat(full).st_mtime > STALE_TEMPORARY_S and \
                    _process_gone(int(match.group(1))):
                os.unlink(full)
        except OSError:
            pass


def _temporary(directory: str, base: str) -> tuple[int, str]:
    """A new file next to the target, created with the default permissions
    (``0o666`` less the umask, as ``open`` gives) and never an existing one; its name
    holds the writer's process id, so that a later save can tell a killed save's leftover."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory,
                           f".{base[:100]}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); best effort."""
    if os.name != "posix":  # pragma: no cover
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write_atomically(path: str, arrays: dict[str, np.ndarray]) -> None:
    def write(f: IO[bytes]) -> None:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # arrays named by their keys
    _write_file_atomically(path, write)


def _anonymous_temporary(directory: str) -> int | None:
    """An unnamed file in ``directory`` (Linux ``O_TMPFILE``) that the kernel removes when
    the writer dies, unless it was linked; ``None`` where the OS or file system has none."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY, 0o666)
    except OSError:   # e.g. EOPNOTSUPP: a file system without unnamed files
        return None


def _link_anonymous(fd: int, directory: str, base: str) -> str:
    """Give the unnamed file ``fd`` a temporary name next to the target (``linkat`` through
    ``/proc/self/fd``, which needs no privilege, unlike ``AT_EMPTY_PATH``). A directory
    descriptor is passed because only then does ``os.link`` call ``linkat`` and honour
    ``follow_symlinks``."""
    dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        while True:
            name = f".{base[:100]}.{os.getpid()}-{secrets.token_hex(6)}.tmp"
            try:
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
                return os.path.join(directory, name)
            except FileExistsError:  # pragma: no cover - 48 random bits collided
                continue
    finally:
        os.close(dir_fd)


def _write_file_atomically(path: str, write: Callable[[IO[bytes]], object]) -> None:
    """``write(f)`` into a temporary file next to ``path``, renamed over it: a crash mid-write
    never leaves a half-written file (a symbolic link is kept and its target replaced).

    On Linux the data goes into an unnamed ``O_TMPFILE`` file, named only once complete
    and renamed over the target microseconds later, so a killed writer leaves nothing
    behind; elsewhere a named temporary file is used, and a killed save's leftover is
    removed by the next save of the same target."""
    if os.path.islink(path):   # update the file the link points to, keep the link
        path = os.path.realpath(path)
    directory, base = os.path.split(os.path.abspath(path))
    _remove_stale_temporaries(directory, base)
    fd = _anonymous_temporary(directory)
    tmp: str | None = None
    if fd is None:
        fd, tmp = _temporary(directory, base)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            if tmp is None:
                tmp = _link_anonymous(f.fileno(), directory, base)
        try:  # replacing a file keeps its permissions, as writing into it would
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    _fsync_directory(directory)


def save_model(model: Sequential, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` (atomically; any existing file is replaced).

    The file holds the architecture, the weights and, for a compiled model,
    the optimizer, loss and metrics with the optimizer's state (moving
    averages, step and epoch counters), so a loaded model continues training
    where this one stopped.

    Parameters
    ----------
    model : Sequential
        A built model (fitted, or ``build`` called).
    path : str or PathLike
        Written exactly as given (no suffix is added); ``.npz`` is customary.

    Raises
    ------
    ValueError
        The model has no weights yet.
    TypeError
        A configuration value cannot be stored as JSON.

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

    path = os.fsdecode(os.fspath(path))
    if not model.built:
        raise ValueError("the model has no weights yet: build or fit it before saving")
    weights = model.get_weights()
    arrays: dict[str, np.ndarray] = {f"weights/{i:04d}": w for i, w in enumerate(weights)}
    compile_config = _compile_config(model)
    state_keys: list[str] = []
    if compile_config is not None:
        # a compile configuration: the model has its optimizer
        for key, value in model.optimizer.get_state().items():  # type: ignore[union-attr]
            arrays[f"optimizer/{key}"] = np.asarray(value)
            state_keys.append(key)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "fastdnn_version": __version__,
              "model": model.get_config(), "compile": compile_config,
              "n_weights": len(weights), "optimizer_state": state_keys,
              "rng_states": _rng_states(model)}
    arrays[_HEADER] = np.array(json.dumps(header, default=_json_default))
    _write_atomically(path, arrays)


# ------------------------------------------------------------------ reading

def _bad(path: str, why: str) -> ValueError:
    return ValueError(f"{path!r} is not a readable fastdnn model file: {why}")


class _Archive:
    """The ``.npy`` members of an open zip file, read one by one with every
    size checked before anything is allocated, and never with pickle."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.members = {info.filename[:-4]: info for info in zf.infolist()
                        if info.filename.endswith(".npy")}

    def __contains__(self, name: str) -> bool:
        return name in self.members

    def array(self, name: str) -> np.ndarray:
        info = self.members.get(name)
        if info is None:
            raise _Invalid(f"the array {name!r} is missing")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Invalid(f"the array {name!r} uses an unsupported compression method")
        if (info.compress_type == zipfile.ZIP_DEFLATED
                and info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 4096):
            raise _Invalid(f"the array {name!r} claims an impossible compression ratio")
        for attempt in range(_AST_RETRIES):
            try:
                with _ARRAY_LOCK:
                    return self._read(name, info)
            except SystemError as exc:
                # another thread of the process (not a fastdnn load) parsed at the same
                # time: the header was fine, the parse is simply done again
                if "AST constructor recursion depth" not in str(exc) \
                        or attempt == _AST_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _read(self, name: str, info: zipfile.ZipInfo) -> np.ndarray:
        fmt = np.lib.format
        with self.zf.open(info) as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = fmt.read_array_header_2_0(f)
            else:
                raise _Invalid(f"the array {name!r} has .npy format version {version}")
            if dtype.hasobject:
                raise _Invalid(f"the array {name!r} holds Python objects (it would need pickle)")
            nbytes = dtype.itemsize * math.prod(shape)
            if nbytes != info.file_size - f.tell():
                raise _Invalid(f"the array {name!r} declares shape {shape} of {dtype} "
                               f"({nbytes} bytes) but holds {info.file_size - f.tell()} bytes")
        with self.zf.open(info) as f:   # sizes agree: now read it (allocates nbytes)
            a = fmt.read_array(f, allow_pickle=False)
            f.read(1)   # reach the end of the member, where its CRC is checked
        return a


def _read_header(archive: _Archive) -> dict[str, Any]:
    if _HEADER not in archive:
        raise _Invalid("no fastdnn header (written by another program?)")
    h = archive.array(_HEADER)
    if h.shape != () or h.dtype.kind != "U":
        raise _Invalid(f"the header is a {h.dtype} array of shape {h.shape}, not a JSON string")
    try:
        header = json.loads(str(h[()]))
    except (ValueError, RecursionError) as exc:
        raise _Invalid(f"the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise _Invalid(f"wrong format name {found!r} in the header (expected {FORMAT!r})")
    version = header.get("format_version")
    if type(version) is not int or version < 1:
        raise _Invalid(f"invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise _Invalid(f"format version {version} was written by a newer fastdnn "
                       f"(this one reads up to version {FORMAT_VERSION})")
    return header


def _restore_rngs(model: Any, groups: Any) -> None:
    if groups is None:
        return
    if not isinstance(groups, list):
        raise _Invalid("rng_states must be a list")
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("layers"), list) \
                or not isinstance(group.get("state"), dict):
            raise _Invalid(f"bad rng_states entry {group!r}")
        name = group["state"].get("bit_generator")
        if name not in _BIT_GENERATORS:
            raise _Invalid(f"unknown bit generator {name!r} in rng_states")
        bit_generator = getattr(np.random, name)()
        bit_generator.state = group["state"]
        rng = np.random.Generator(bit_generator)
        for i in group["layers"]:
            if type(i) is not int or not 0 <= i < len(model.layers) \
                    or not isinstance(getattr(model.layers[i], "_rng", None), np.random.Generator):
                raise _Invalid(f"rng_states names layer {i!r}, which has no random generator")
            model.layers[i]._rng = rng


def _read_model(archive: _Archive, compile: bool) -> Sequential:
    from .models import Sequential

    header = _read_header(archive)
    config = header.get("model")
    if not isinstance(config, dict):
        raise _Invalid("the header has no model configuration")
    model = Sequential.from_config(config)
    if model.n_features is None:
        raise _Invalid("the configuration does not give the number of input features")
    n = header.get("n_weights")
    expected = sum(len(layer.weights_names) for layer in model._compute_layers)
    if type(n) is not int or n != expected:
        raise _Invalid(f"the header lists {n!r} weight arrays, the architecture has {expected}")
    weights = [archive.array(f"weights/{i:04d}") for i in range(n)]
    # the numbers in the file must fill the architecture before it is built,
    # so a forged configuration cannot make build allocate more than the file holds
    size, needed = sum(w.size for w in weights), model.count_params()
    if size != needed:
        raise _Invalid(f"the weights hold {size} numbers, the architecture needs {needed}")
    model.build(model.n_features, rng=0)
    model.set_weights(weights)
    _restore_rngs(model, header.get("rng_states"))
    comp = header.get("compile")
    if compile and comp is not None:
        if not isinstance(comp, dict):
            raise _Invalid("the compile settings are not a JSON object")
        options = {} if "compiled" not in comp else {"compiled": comp["compiled"]}
        if type(options.get("compiled", True)) is not bool:
            raise _Invalid(f"compiled must be true or false, got {comp['compiled']!r}")
        model.compile(comp["optimizer"], comp["loss"], comp["metrics"], **options)
        keys = header.get("optimizer_state") or []
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _Invalid("optimizer_state must be a list of names")
        if keys:
            state = {k: archive.array(f"optimizer/{k}") for k in keys}
            params = [p for layer in model._compute_layers for p in layer.params]
            model.optimizer.set_state(state, params)  # type: ignore[union-attr]  # compiled
    return model


def load_model(path: str | os.PathLike[str], compile: bool = True) -> Sequential:
    """Read a model written by ``Sequential.save``.

    The loaded model predicts exactly what the saved one did and, when it was
    compiled and trained, continues training where it stopped (optimizer
    state and the dropout masks' random stream included).

    Parameters
    ----------
    path : str or PathLike
    compile : bool, default True
        Restore the optimizer (with its state), loss and metrics. With False
        the model predicts but must be compiled before ``fit``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is corrupt, truncated, or not a fastdnn model; the message
        names the file and the reason.

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
    path = os.fsdecode(os.fspath(path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path!r}")
    with open(path, "rb") as f:   # a directory or an unreadable file: OSError, as open gives
        if f.read(4) != _ZIP_MAGIC:
            raise _bad(path, "not an .npz (zip) archive")
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as zf:
                return _read_model(_Archive(zf), compile)
        except _Invalid as exc:
            raise _bad(path, str(exc)) from None
        except Exception as exc:   # whatever a damaged archive or forged header triggers
            raise _bad(path, f"{type(exc).__name__}: {exc}") from exc
