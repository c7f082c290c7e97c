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
        with open(self.procs_file(k), "a") as f:
            f.write(f"{pid}\n")
        self.pids.append(pid)

    def preexec(self, k: int):
        """A ``subprocess`` ``preexec_fn`` that puts the new child into cgroup ``k``."""
        path = str(self.procs_file(k))

        def _join():
            with open(path, "a") as f:  # O_APPEND, as echo PID >> cgroup.procs
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


SWITCH_SOURCE = Path(__file__).with_name("switch.c")
SWITCH_WORKLOAD = "open_close"  # the measure workload whose object and call sites it drives


def switch_driver(cc: str | None = None) -> Path:
    """``switch.c`` compiled once into the measure cache (named after its source hash)."""
    from .extra import build_driver

    return build_driver(SWITCH_SOURCE, "switch", cc)


def switch_name(n: int) -> str:
    return f"{SWITCH_WORKLOAD}@{n}cgroups"


def measure_in_cgroups(root, n: int, *, seconds: float = 1.0, repeats: int = 3, progress=None,
                       cpu: int = -1, period_ns: int | None = None, cgroup_set=None):
    """open()/close() in ``n`` processes, each in its own cgroup created under ``root``,
    taking turns on one CPU at random (``switch.c``): the per-CPU stocks switch objcg
    on most turns.  Sampled and attributed like ``bulksim measure``'s ``open_close``
    (its call sites, its symbol sets); the matching scenario is open_close's with
    ``memcgs = n`` and ``cgroup_switch_prob = 1``.  The cgroups are removed afterwards
    (``cgroup_set``: a CgroupSet factory, for the tests)."""
    from ..measure import attribute, env, model
    from ..measure import run as mrun
    from ..measure.symbols import symbol_set
    from ..measure.workloads import WORKLOADS
    from .extra import ExtraMeasurement, record_driver, rows_of

    w = WORKLOADS[SWITCH_WORKLOAD]
    e = env.check_environment([w])
    sset = symbol_set(e.release)
    driver = switch_driver()
    period = period_ns or mrun.PERIOD_NS
    say = progress or (lambda line: None)
    parts, objects, calls = [], 0, 0
    make = cgroup_set or (lambda: CgroupSet(root, n))
    with make() as cg:
        procs = [str(cg.procs_file(k)) for k in range(n)]
        for r in range(repeats):
            say(f"calibrate: {switch_name(n)} under {root}, repeat {r + 1} of {repeats} ({seconds:g} s)")
            rec = record_driver(e.perf, driver, [repr(float(seconds)), str(10**9), str(cpu), *procs],
                                what="the cgroup-switch workload", seconds=seconds, period_ns=period)
            samples = attribute.parse_script(rec.script)
            phase, per = attribute.classify(samples, w, sset, filter_sites=True)
            parts.append(attribute.batches(phase, per, rec.objects))
            objects += rec.objects
            calls += rec.calls
    name = switch_name(n)
    size = env.slab_object_size(w.cache) or w.object_size
    over = model.scenario_overrides(w, object_size=size, nodes=env.numa_nodes())
    over.update(memcgs=n, cgroup_switch_prob=1.0)
    return ExtraMeasurement(rows_of(name, w, parts, objects, calls), {name: over},
                            {"cgroup_root": str(root), "cgroups": n})
