"""Argument checks shared by every public entry point (docs/errors.md).

``engine.simulate``, ``engine.run.simulate.run_strategy``, ``engine.run.sweep.run_sweep``,
the trace loaders and the ``Scenario`` constructors check their arguments at the top
with these helpers, so a wrong type is always a :class:`BadTypeError` (also a
``TypeError``) and a bad value a :class:`BadInputError` (a ``ValueError``), with one
line of message, before anything is allocated, run or written.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import BadInputError, BadTypeError


def short(v: Any) -> str:
    """``repr(v)`` cut to one short line."""
    if isinstance(v, int) and not isinstance(v, bool) and len(str(v)) > 24:
        return f"an integer of {len(str(v))} digits"
    text = repr(v).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def as_int(value: Any) -> int | None:
    """``value`` as a Python int if it is an integer of any kind a user can pass (int,
    numpy's int8..uint64, anything with ``__index__``), else None; a boolean (Python's
    or numpy's) is never an integer here, and neither is a float, even 2.0."""
    import operator

    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) or not hasattr(type(value), "__index__"):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def need_int(value: Any, what: str, lo: int, hi: int) -> int:
    """An integer (not a bool; numpy's integers too) in ``lo..hi``."""
    v = as_int(value)
    if v is None:
        raise BadTypeError(f"{what} must be an integer, got {type(value).__name__} {short(value)}")
    if not lo <= v <= hi:
        raise BadInputError(f"{what} must be in {lo}..{hi}, got {short(v)}")
    return v


def need_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise BadTypeError(f"{what} must be True or False, got {short(value)}")
    return value


def need_str(value: Any, what: str, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise BadTypeError(f"{what} must be a string, got {type(value).__name__} {short(value)}")
    if not empty and not value.strip():
        raise BadInputError(f"{what} must not be empty")
    return value


def need_path(value: Any, what: str) -> str:
    """A non-empty ``str`` or ``os.PathLike`` path, valid UTF-8, without NUL."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise BadTypeError(f"{what} must be a path (str or os.PathLike), got {type(value).__name__} "
                           f"{short(value)}")
    if not value.strip():
        raise BadInputError(f"{what}: empty path")
    if "\0" in value:
        raise BadInputError(f"{what}: a path cannot hold a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInputError(f"{what}: {short(value.encode('utf-8', 'surrogateescape'))} is not "
                            "valid UTF-8; use a UTF-8 path") from None
    try:  # a path the OS cannot even look up: a name too long, a symlink loop
        os.lstat(value)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        pass
    except OSError as e:
        raise BadInputError(f"{what}: {short(value)}: cannot use this path ({e.strerror or e})") from None
    return value


def why_missing(path, default: str = "no such file") -> str:
    """Why ``path`` (which ``exists()`` says is not there) cannot be read: a symlink
    loop or a dangling link, a folder in the path that is a file, no permission to
    look, or ``default``."""
    import errno

    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a loop of symbolic links"
        if e.errno == errno.ENOENT and os.path.islink(path):
            return "a symbolic link to nothing"
        if e.errno == errno.ENOTDIR:
            return "a part of the path is not a folder"
        if e.errno == errno.EACCES:
            return "permission denied"
    return default


def need_callable(value: Any, what: str):
    if value is not None and not callable(value):
        raise BadTypeError(f"{what} must be callable or None, got {type(value).__name__}")
    return value


def need_scenario(value: Any, what: str = "scenario", *, preset_names: bool = True):
    """A ``Scenario``, or (``preset_names``) the name of a preset."""
    from .inputs.scenario import Scenario

    if isinstance(value, Scenario):
        return value
    if preset_names and isinstance(value, str):
        return Scenario.from_preset(value)
    kind = "a Scenario or a preset name" if preset_names else "an engine Scenario"
    raise BadTypeError(f"{what} must be {kind}, got {type(value).__name__}")


def need_seeds(seeds: Any, what: str = "seeds") -> list[int]:
    """A non-empty list of distinct integer seeds in [0, 2**63)."""
    import numpy as np

    if isinstance(seeds, np.ndarray) and seeds.ndim == 1:  # np.arange(3): a list of integers too
        seeds = seeds.tolist()
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (list, tuple, range)):
        raise BadTypeError(f"{what} must be a list of integers, got {type(seeds).__name__} {short(seeds)}")
    out = [need_int(s, what[:-1] if what.endswith("s") else what, 0, 2**63 - 1) for s in seeds]
    if not out:
        raise BadInputError(f"{what} must give at least one seed")
    if len(set(out)) < len(out):
        raise BadInputError(f"{what} gives a seed twice ({short(list(seeds))})")
    return out


def need_printable_output(path: Any) -> None:
    """An output path without control characters: every command names its outputs in
    lines (``wrote r.parquet``, ``dataset in OUT``, the line of a signal), and a newline
    or an escape sequence in the name would split or rewrite them."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    if not text.isprintable():
        raise BadInputError(f"{short(text)}: an output name with a control character (a newline, a tab, "
                            "an escape sequence) would split the lines that name it; choose another name")
