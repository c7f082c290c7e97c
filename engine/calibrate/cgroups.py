"""Memory cgroups that ``bulksim calibrate --create-cgroups ROOT`` creates, and removes.

Only with that flag, and only under the ROOT the user names: a cgroup v2 folder (it
has ``cgroup.procs`` and ``cgroup.controllers``, and ``memory`` in its
``cgroup.subtree_control`` so that children are accounted) or a cgroup v1 memory
hierarchy folder (``cgroup.procs`` and ``tasks``, ``memory.usage_in_bytes``).  The
cgroups are ``ROOT/bulksim-calibrate-PID-K``; a workload process joins one by writing
its pid to the child's ``cgroup.procs`` before it runs (``join``), so bulksim itself
never changes cgroup.  On leaving (also on an error or an interrupt) every process
this run started has exited, and each child is removed with ``rmdir``, which a cgroup
file system allows once it is empty; a child that cannot be removed is named in one
line on stderr.

The tests run all of it against a temporary folder laid out like a cgroup file system
(tests/calibrate/test_cgroups.py), never against the machine's cgroups.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import BadInputError, BulksimError

PREFIX = "bulksim-calibrate"
# the two calls that create and remove a cgroup (the tests replace them with ones that
# also add and drop the interface files, as the kernel does)
_mkdir = os.mkdir
_rmdir = os.rmdir


def version_of(root: Path) -> int:
    """2 or 1 for a cgroup folder; BadInputError otherwise."""
    if not (root / "cgroup.procs").is_file():
        raise BadInputError(f"--create-cgroups {root}: not a cgroup folder (no cgroup.procs)")
    if (root / "cgroup.controllers").is_file():
        return 2
    if (root / "tasks").is_file():
        return 1
    raise BadInputError(f"--create-cgroups {root}: neither cgroup v2 (cgroup.controllers) nor v1 (tasks)")


def check_root(root) -> Path:
    """Refuse a ROOT that is not a writable cgroup folder with the memory controller."""
    root = Path(root)
    if not root.is_dir():
        raise BadInputError(f"--create-cgroups {root}: no such folder")
    v = version_of(root)
    if v == 2:
        try:
            sub = (root / "cgroup.subtree_control").read_text().split()
        except OSError as e:
            raise BadInputError(f"--create-cgroups {root}: cannot read cgroup.subtree_control "
                                f"({e.strerror or e})") from None
        if "memory" not in sub:
            raise BadInputError(f"--create-cgroups {root}: the memory controller is not enabled for its "
                                f"children (echo +memory > {root}/cgroup.subtree_control)")
    elif not (root / "memory.usage_in_bytes").is_file():
        raise BadInputError(f"--create-cgroups {root}: a cgroup v1 folder, but not of the memory hierarchy")
    if not os.access(root, os.W_OK):
        raise BadInputError(f"--create-cgroups {root}: not writable (creating cgroups needs root or a "
                            "delegated subtree)")
    return root


class CgroupSet:
    """``n`` child cgroups of ``root`` for the duration of a ``with`` block."""

    def __init__(self, root, n: int, *, tag: str | None = None):
        self.root = Path(root)
        self.version = version_of(self.root)
        if not 1 <= n <= 64:
            raise BadInputError(f"--cgroups must be in 1..64, got {n}")
        self.n = n
        self.tag = tag or str(os.getpid())
        self.paths: list[Path] = []
        self.pids: list[int] = []

    def __enter__(self) -> "CgroupSet":
        try:
            for k in range(self.n):
                p = self.root / f"{PREFIX}-{self.tag}-{k}"
                try:
                    _mkdir(p)
                except FileExistsError:
                    raise BulksimError(f"--create-cgroups: {p} exists already (another calibrate "
                                       "running, or one that was killed: remove it with rmdir)") from None
                except OSError as e:
                    raise BulksimError(f"--create-cgroups: cannot create {p} ({e.strerror or e})") from None
                self.paths.append(p)
                if not (p / "cgroup.procs").is_file():
                    raise BulksimError(f"--create-cgroups: {p} has no cgroup.procs after mkdir: "
                                       f"{self.root} is not a cgroup file system")
        except BaseException:
            self.remove()
            raise
        return self

    def procs_file(self, k: int) -> Path:
        return self.paths[k] / "cgroup.procs"

    def join(self, k: int, pid: int | None = None) -> None:
        """Move process ``pid`` (default: the calling process, e.g. in a child's
        preexec function) into cgroup ``k``."""
        pid = os.getpid() if pid is None else pid
        with open(self.procs_file(k), "w") as f:
            f.write(f"{pid}\n")
        self.pids.append(pid)

    def preexec(self, k: int):
        """A ``subprocess`` ``preexec_fn`` that puts the new child into cgroup ``k``."""
        path = str(self.procs_file(k))

        def _join():
            with open(path, "w") as f:
                f.write(f"{os.getpid()}\n")
        return _join

    def members(self, k: int) -> list[int]:
        try:
            return [int(t) for t in self.procs_file(k).read_text().split()]
        except (OSError, ValueError):
            return []

    def remove(self) -> list[str]:
        """rmdir every created child (in reverse order); problems, one line each, also on stderr."""
        problems = []
        for p in reversed(self.paths):
            try:
                _rmdir(p)
            except FileNotFoundError:
                pass
            except OSError as e:
                problems.append(f"bulksim: could not remove cgroup {p} ({e.strerror or e}); remove it "
                                "with rmdir once its processes have exited")
        for line in problems:
            print(line, file=sys.stderr)
        self.paths = [p for p in self.paths if p.exists()]
        return problems

    def __exit__(self, *exc) -> None:
        self.remove()


def measure_in_cgroups(M, root, n: int, *, workloads=None, seconds: float = 1.0, repeats: int = 3,
                       progress=None):
    """The measure workloads with their processes spread over ``n`` created cgroups
    (``engine.measure.measure(..., cgroups=CgroupSet)``), so the per-CPU stocks switch
    between cgroups.  The cgroups are removed afterwards."""
    import inspect

    if "cgroups" not in inspect.signature(M.measure).parameters:
        raise BulksimError("--create-cgroups: this bulksim measure cannot place its workloads in cgroups")
    with CgroupSet(root, n) as cg:
        return M.measure(workloads, seconds=seconds, repeats=repeats, progress=progress, cgroups=cg)
