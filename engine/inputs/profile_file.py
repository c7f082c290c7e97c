"""Cost profiles in files: ``--profile FILE`` wherever a built-in profile name works.

A profile file is JSON (``bulksim calibrate`` writes them, docs/calibrate.md)::

    {"format": "bulksim-profile", "version": 1,
     "name": "host-...", "description": "...", "clock_ghz": 3.67, "estimated": false,
     "costs": {"calls": {"low": 30, "central": 33, "high": 42, "source": "..."}, ...},
     "provenance": {...}, "fit": {...}}

``costs`` must name every unit cost of the built-in profiles, each with
``0 <= low <= central <= high`` and a source; an optional ``issue`` table of the same
shape gives the overlap model's issue costs, with the ``width`` they assume (without
it, cycles are the sum of the costs); ``provenance`` and ``fit`` are kept for the reader (``bulksim profiles --show
FILE`` prints them) and not used in pricing.

``engine.inputs.costs.get_profile`` asks :func:`resolve` for any name that is not a
built-in profile: a name that names a file (or looks like a path: it has a ``/`` or
ends in ``.json``) is loaded from it.  The result and sweep tables record the name as
given, so a report or compare of those tables finds the file again from the same
folder.  A file that cannot be read or is malformed is a ``BadInputError`` (one line,
exit 2).  Loaded files are cached on (path, inode, modification time, size).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..errors import BadInputError, OutputError

FORMAT = "bulksim-profile"
VERSION = 1
MAX_BYTES = 4 << 20  # a profile is a few kB; refuse to parse anything huge
# A unit cost above this many cycles (a quarter of a second at 4 GHz for one event) is
# no measurement; bounding it keeps every priced total finite (events x cost < 1e300).
MAX_COST = 1e9

_cache: dict[tuple, object] = {}


def looks_like_file(name: str) -> bool:
    """Whether a profile name given by a user means a file rather than a built-in name."""
    return (os.sep in name or "/" in name or name.lower().endswith(".json")
            or (bool(name) and os.path.isfile(name)))


def resolve(name: str):
    """The :class:`~engine.inputs.costs.Profile` in file ``name``, or None if ``name``
    does not look like a file (the caller then reports an unknown profile name)."""
    if not isinstance(name, str) or not looks_like_file(name):
        return None
    path = Path(name)
    try:
        st = path.stat()
    except OSError as e:
        raise BadInputError(f"profile file {_short(name)}: cannot read it ({e.strerror or e})") from None
    if not path.is_file():
        raise BadInputError(f"profile file {_short(name)}: not a regular file")
    key = (str(path.resolve()), st.st_ino, st.st_mtime_ns, st.st_size)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    prof = load(path)
    _cache.clear()  # one entry per file is enough; a rewritten file replaces its entry
    _cache[key] = prof
    return prof


def _short(name: str) -> str:
    return name if len(name) <= 120 else name[:117] + "..."


def read_document(path) -> dict:
    """The parsed JSON document of a profile file, checked for format and version."""
    path = Path(path)
    where = f"profile file {_short(str(path))}"
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BadInputError(f"{where}: {size} bytes is too large for a profile (at most {MAX_BYTES})")
        raw = path.read_bytes()
    except OSError as e:
        raise BadInputError(f"{where}: cannot read it ({e.strerror or e})") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInputError(f"{where}: not UTF-8 text (a profile file is JSON)") from None
    except ValueError as e:
        raise BadInputError(f"{where}: not valid JSON ({e})") from None
    except RecursionError:  # '[[[[...' nested beyond Python's stack (the file may hold 4 MiB of it)
        raise BadInputError(f"{where}: not a bulksim profile (JSON nested too deeply)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadInputError(f"{where}: not a bulksim profile (no \"format\": \"{FORMAT}\")")
    ver = doc.get("version")
    if type(ver) is not int or ver != VERSION:  # true == 1 and 1.0 == 1 in Python: not a version
        raise BadInputError(f"{where}: profile format version {ver!r}, this bulksim reads version "
                            f"{VERSION}")
    return doc


def _number(v, what: str, where: str) -> float:
    bad = isinstance(v, bool) or not isinstance(v, (int, float))
    if not bad:
        try:
            bad = not math.isfinite(v)
        except OverflowError:  # a JSON integer with hundreds of digits
            bad = True
    if bad:
        text = str(v) if not isinstance(v, int) or isinstance(v, bool) or abs(v) < 10 ** 40 else "an integer of 40+ digits"
        raise BadInputError(f"{where}: {what} must be a finite number, got {text[:40]!r}")
    return float(v)


def check_name(name, where: str) -> str:
    """A profile's name as a file may hold it (``load``) and ``calibrate --name`` may give it."""
    if not isinstance(name, str) or not name.strip():
        raise BadInputError(f"{where}: \"name\" must be a non-empty string")
    if not name.isprintable():  # printed by profiles --show and in headers: one line, no escapes
        raise BadInputError(f"{where}: \"name\" must be printable text, got {name[:40]!r}")
    return name


def load(path):
    """Read and check a profile file; a :class:`~engine.inputs.costs.Profile`."""
    return from_document(read_document(path), f"profile file {_short(str(path))}")


def from_document(doc: dict, where: str):
    """Check a parsed profile document (``load``, and ``write`` before it writes one)."""
    from .costs import DEFAULT_PROFILE, PROFILES, Cost, Profile

    name = check_name(doc.get("name"), where)
    desc = doc.get("description", "")
    if not isinstance(desc, str):
        raise BadInputError(f"{where}: \"description\" must be a string")
    clock = _number(doc.get("clock_ghz"), "clock_ghz", where)
    if not 0.1 <= clock <= 20:
        raise BadInputError(f"{where}: clock_ghz must be in 0.1..20, got {clock}")
    est = doc.get("estimated", False)
    if not isinstance(est, bool):
        raise BadInputError(f"{where}: \"estimated\" must be true or false")
    costs = doc.get("costs")
    if not isinstance(costs, dict):
        raise BadInputError(f"{where}: \"costs\" must be an object of unit costs")
    want = PROFILES[DEFAULT_PROFILE].names
    missing = [n for n in want if n not in costs]
    if missing:
        raise BadInputError(f"{where}: lacks unit cost(s) {', '.join(missing[:5])}"
                            f"{' ...' if len(missing) > 5 else ''} (written by another bulksim version?)")
    extra = [n for n in costs if n not in want]
    if extra:
        raise BadInputError(f"{where}: unknown unit cost(s) {', '.join(map(str, extra[:5]))}")
    out = {n: _cost(costs[n], n, where, Cost) for n in want}  # the built-in order: vectors line up
    extra_fields = {}
    issue = doc.get("issue")
    if issue:  # the overlap model's issue costs (optional; without them: the sum model)
        import dataclasses

        if "issue" not in {f.name for f in dataclasses.fields(Profile)}:
            raise BadInputError(f"{where}: has issue costs (the overlap model), which this bulksim "
                                "does not have")
        if not isinstance(issue, dict):
            raise BadInputError(f"{where}: \"issue\" must be an object of unit costs")
        unknown = [n for n in issue if n not in want]
        if unknown:
            raise BadInputError(f"{where}: unknown unit cost(s) in issue: {', '.join(map(str, unknown[:5]))}")
        extra_fields["issue"] = {n: _cost(issue[n], f"issue.{n}", where, Cost) for n in want if n in issue}
        if "width" in doc:
            extra_fields["width"] = _number(doc["width"], "width", where)
            if not 0.5 <= extra_fields["width"] <= 16:
                raise BadInputError(f"{where}: width must be in 0.5..16, got {extra_fields['width']:g}")
    return Profile(name=name, description=desc, clock_ghz=clock, estimated=est, costs=out, **extra_fields)


def _cost(c, n: str, where: str, Cost):
    if not isinstance(c, dict):
        raise BadInputError(f"{where}: unit cost {n} must be an object with low, central, high, source")
    lo, mid, hi = (_number(c.get(k), f"{n}.{k}", where) for k in ("low", "central", "high"))
    if not 0 <= lo <= mid <= hi:
        raise BadInputError(f"{where}: unit cost {n} needs 0 <= low <= central <= high, got "
                            f"{lo:g}, {mid:g}, {hi:g}")
    if hi > MAX_COST:
        raise BadInputError(f"{where}: unit cost {n} high {hi:g} is beyond {MAX_COST:g} cycles an event "
                            "(the priced totals would overflow)")
    src = c.get("source")
    if not isinstance(src, str) or not src.strip():
        raise BadInputError(f"{where}: unit cost {n} needs a source")
    if not src.isprintable():  # printed by profiles --show, one line a cost
        raise BadInputError(f"{where}: unit cost {n}'s source must be printable text, got {src[:40]!r}")
    return Cost(lo, mid, hi, src)


def digest(profile) -> str:
    """A short hash of what prices counts in ``profile`` (clock, every unit cost's low,
    central and high, the issue costs and width): a table priced with a profile file
    records it, so a reader that prices the table's counts again (a report's
    sensitivity figures) can tell that the file at that path has changed since."""
    import hashlib

    doc = document(profile)
    priced = {k: doc.get(k) for k in ("clock_ghz", "costs", "issue", "width")}
    for table in (priced.get("costs") or {}, priced.get("issue") or {}):
        for c in table.values():
            c.pop("source", None)
    return hashlib.sha256(json.dumps(priced, sort_keys=True).encode()).hexdigest()[:16]


def file_digest(name) -> str | None:
    """:func:`digest` of the profile file ``name``, None for a built-in profile name."""
    from .costs import PROFILES, get_profile

    if not isinstance(name, str) or name in PROFILES or not looks_like_file(name):
        return None
    return digest(get_profile(name))


def document(profile, *, provenance: dict | None = None, fit: dict | None = None) -> dict:
    """The JSON document of ``profile`` (what :func:`write` stores)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": profile.name,
        "description": profile.description,
        "clock_ghz": float(profile.clock_ghz),
        "estimated": bool(profile.estimated),
        "costs": {n: {"low": c.low, "central": c.central, "high": c.high, "source": c.source}
                  for n, c in profile.costs.items()},
        **({"issue": {n: {"low": c.low, "central": c.central, "high": c.high, "source": c.source}
                      for n, c in profile.issue.items()},
            "width": float(profile.width)} if getattr(profile, "issue", None) else {}),
        "provenance": provenance or {},
        "fit": fit or {},
    }


def check_output(path, *, force: bool = False) -> Path:
    """Refuse a profile output path before anything is measured."""
    from ..checks import need_printable_output

    need_printable_output(path)
    path = Path(path)
    if path.suffix.lower() != ".json":
        raise BadInputError(f"{_short(str(path))}: a profile file must end in .json")
    if path.is_dir():
        raise BadInputError(f"{_short(str(path))}: is a folder")
    if (path.exists() or path.is_symlink()) and not force:  # a dangling link exists too
        raise BadInputError(f"{_short(str(path))}: exists (--force replaces it)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise BadInputError(f"{_short(str(path))}: folder {parent} does not exist")
    return path


def write(doc: dict, path, *, force: bool = False) -> Path:
    """Write a profile document atomically (a temporary file renamed into place)."""
    import tempfile

    path = check_output(path, force=force)
    text = json.dumps(doc, indent=1, sort_keys=False, allow_nan=False) + "\n"
    # never a file that load() refuses (a name with a newline, a cost out of order, ...)
    from_document(json.loads(text), f"profile {_short(str(path))} (not written)")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise OutputError(f"{path}: cannot write there ({e.strerror or e})") from None
    try:
        from ..results.tables import _umask

        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a profile follows the umask as tables do
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OutputError(f"{path}: cannot write it ({e.strerror or e})") from None
        raise
    return path


def show_lines(name: str) -> list[str]:
    """For ``bulksim profiles --show FILE``: the file's provenance and fit summary, one
    item a line (nothing for a built-in profile)."""
    from .costs import PROFILES

    if name in PROFILES or not looks_like_file(name):
        return []
    doc = read_document(name)
    out = []
    lines = _show_lines(doc)
    # foreign text, one line each: a newline or an escape sequence in a provenance value
    # would forge a line ('bulksim: error: ...') or rewrite the terminal
    return ["".join(c if c.isprintable() else repr(c)[1:-1] for c in ln) for ln in lines]


def _show_lines(doc: dict) -> list[str]:
    out = []
    prov = doc.get("provenance") or {}
    if isinstance(prov, dict) and prov:
        out.append("  provenance:")
        for k, v in prov.items():
            out.append(f"    {k}: {v if not isinstance(v, (dict, list)) else json.dumps(v, sort_keys=True)}")
    fit = doc.get("fit") or {}
    if isinstance(fit, dict) and fit:
        out.append("  fit:")
        for k in ("method", "rows", "fitted", "kept", "rms_relative_residual", "chi2_per_dof"):
            if k in fit:
                v = fit[k]
                out.append(f"    {k}: {', '.join(v) if isinstance(v, list) else v}")
        for r in fit.get("residuals", []) if isinstance(fit.get("residuals"), list) else []:
            try:
                out.append(f"    residual {r['workload']}/{r['phase']}: measured {r['measured_ns']:.2f} ns, "
                           f"fitted {r['fitted_ns']:.2f} ns ({r['relative']:+.1%})")
            except (KeyError, TypeError, ValueError):
                continue
        for r in fit.get("leave_one_out", []) if isinstance(fit.get("leave_one_out"), list) else []:
            try:
                out.append(f"    left out {r['workload']}/{r['phase']}: measured {r['measured_ns']:.2f} ns, "
                           f"predicted {r['predicted_ns']:.2f} ns ({r['relative']:+.1%})")
            except (KeyError, TypeError, ValueError):
                continue
    return out
