"""Where the source checkout of the running package is, if there is one.

``make run`` installs bulksim as a regular package, so ``__file__`` may be in
site-packages while the user works in the checkout.  The provenance (the commit a
result was computed at) and ``bulksim bench`` (the reference model in
``tests/reference.py``) need the checkout; a checkout counts only if its ``engine/``
holds exactly the sources that are running, so a stale install never borrows the
commit of a checkout it was not built from.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _sources_hash(pkg: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(pkg.rglob("*.py")):
        h.update(path.relative_to(pkg).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def find_checkout(cwd: Path | None = None) -> Path | None:
    """The checkout whose ``engine/`` is the running package: the package's own parent,
    else the working folder or a folder above it; None if there is none."""
    cwd = Path.cwd() if cwd is None else cwd
    mine = None
    for root in (_PKG.parent, cwd, *cwd.parents):
        pkg = root / "engine"
        if not (pkg / "model" / "kernel.py").is_file() or not (root / "pyproject.toml").is_file():
            continue
        if pkg.resolve() == _PKG:
            return root
        mine = mine or _sources_hash(_PKG)
        if _sources_hash(pkg) == mine:
            return root
    return None
