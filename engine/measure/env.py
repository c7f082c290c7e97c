"""What ``bulksim measure`` needs from the machine, checked before anything runs, and
the facts about the machine it records.

Every missing piece is one line naming it and how to get it (``MeasureEnvError``,
exit status 2).  The paths are module attributes so that tests can point them at a
fake ``/proc`` or ``/sys`` laid out like the real ones.
"""

from __future__ import annotations

import gzip
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from ..errors import BulksimError

PROC = "/proc"
SYS = "/sys"


class MeasureEnvError(BulksimError):
    """The machine lacks something ``bulksim measure`` needs (exit status 2)."""


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


@dataclass
class Memcg:
    version: str = ""      # "v1" or "v2"; "" when there is none
    path: str = ""         # the process's memory cgroup, relative to the hierarchy's root
    mounted: bool = False

    @property
    def is_root(self) -> bool:
        return self.path in ("", "/")


def memcg_of_self(proc: str | None = None, sys_: str | None = None) -> Memcg:
    """The memory cgroup this process is in, from ``/proc/self/cgroup``: a v1 line whose
    controllers include ``memory``, else the v2 line (``0::``) if the unified hierarchy
    has the memory controller (``/sys/fs/cgroup/cgroup.controllers``)."""
    proc, sys_ = proc or PROC, sys_ or SYS
    text = _read(os.path.join(proc, "self", "cgroup")) or ""
    v2 = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, ctrls, path = parts
        if "memory" in ctrls.split(","):
            return Memcg("v1", path, True)
        if hid == "0" and ctrls == "":
            v2 = path
    if v2 is not None:
        ctl = _read(os.path.join(sys_, "fs", "cgroup", "cgroup.controllers")) or ""
        if "memory" in ctl.split():
            return Memcg("v2", v2, True)
    return Memcg()


def kallsyms(proc: str | None = None) -> dict[str, int]:
    """Name -> address of every text symbol of the running kernel (zero addresses are kept:
    they mean kptr_restrict hides them)."""
    proc = proc or PROC
    out: dict[str, int] = {}
    text = _read(os.path.join(proc, "kallsyms"))
    if text is None:
        return out
    for line in text.splitlines():
        p = line.split()
        if len(p) >= 3 and p[1] in ("t", "T") and len(p) == 3:
            try:
                out.setdefault(p[2], int(p[0], 16))
            except ValueError:
                pass
    return out


@dataclass
class Environment:
    perf: str
    release: str
    memcg: Memcg
    symbols: dict[str, int] = field(default_factory=dict)


def check_environment(workloads, *, unaccounted: bool = False, proc: str | None = None,
                      sys_: str | None = None, path: str | None = None, euid: int | None = None) -> Environment:
    """Refuse, with one line saying what is missing and how to get it, a machine where the
    measurement cannot be made; return what was found."""
    from .symbols import symbol_set

    proc, sys_ = proc or PROC, sys_ or SYS
    path = os.environ.get("PATH", os.defpath) if path is None else path
    euid = os.geteuid() if euid is None else euid
    perf = shutil.which("perf", path=path)
    if not perf:
        raise MeasureEnvError("measure: perf is not installed (not on PATH); install it (Debian: "
                              "apt-get install linux-perf; tools/install_test_deps.sh does it)")
    if euid != 0:
        raise MeasureEnvError("measure: needs root (perf samples kernel call chains of the workload "
                              "and reads kernel symbols); run it as root or with sudo")
    kr = (_read(os.path.join(proc, "sys", "kernel", "kptr_restrict")) or "0").strip()
    syms = kallsyms(proc)
    if not syms:
        raise MeasureEnvError(f"measure: cannot read {proc}/kallsyms (kernel built without "
                              "CONFIG_KALLSYMS?); perf needs it to name kernel functions")
    release = (_read(os.path.join(proc, "sys", "kernel", "osrelease")) or platform.release()).strip()
    sset = symbol_set(release)
    need = sorted(sset.required())
    if kr == "2" or all(syms.get(s, 0) == 0 for s in need if s in syms) and any(s in syms for s in need):
        raise MeasureEnvError(f"measure: {proc}/kallsyms hides kernel addresses (kernel.kptr_restrict="
                              f"{kr}); allow them with 'sysctl kernel.kptr_restrict=0' (as root), then rerun")
    missing = [s for s in need if s not in syms]
    if missing:
        raise MeasureEnvError(f"measure: the running kernel has no {', '.join(missing)} (built without "
                              "CONFIG_MEMCG?): there is no memcg accounting to measure")
    memcg = memcg_of_self(proc, sys_)
    if not memcg.mounted:
        raise MeasureEnvError("measure: no memory cgroup: the memory controller is not mounted (cgroup "
                              "v1 'memory' or v2 with 'memory' in cgroup.controllers); slab objects are "
                              "accounted only inside a memory cgroup")
    cmdline = _read(os.path.join(proc, "cmdline")) or ""
    if re.search(r"(^|\s)cgroup\.memory=\S*nokmem", cmdline):
        raise MeasureEnvError("measure: kernel memory accounting is off (cgroup.memory=nokmem on the "
                              "kernel command line): no slab object is accounted; boot without it")
    if memcg.is_root and not unaccounted:
        raise MeasureEnvError("measure: this process is in the root memory cgroup, where slab objects "
                              "are not accounted (no objcg): run it in a non-root memory cgroup, or pass "
                              "--unaccounted to measure the unaccounted path only")
    if unaccounted and not memcg.is_root:
        raise MeasureEnvError(f"measure: --unaccounted is for the root memory cgroup; this process is in "
                              f"{memcg.path}, where slab objects are accounted: leave --unaccounted out")
    if any(w.needs_io_uring for w in workloads):
        dis = (_read(os.path.join(proc, "sys", "kernel", "io_uring_disabled")) or "0").strip()
        if dis == "2":
            names = ",".join(w.name for w in workloads if not w.needs_io_uring) or "open_close"
            raise MeasureEnvError("measure: io_uring is disabled (kernel.io_uring_disabled=2); enable it "
                                  "with 'sysctl kernel.io_uring_disabled=0', or leave io_uring_nop out "
                                  f"(--workloads {names})")
    return Environment(perf=perf, release=release, memcg=memcg, symbols=syms)


def _config(proc: str) -> dict[str, str]:
    try:
        with gzip.open(os.path.join(proc, "config.gz"), "rt") as f:
            text = f.read()
    except (OSError, EOFError, gzip.BadGzipFile):
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def preempt_model(proc: str | None = None, sys_: str | None = None) -> str:
    """The preemption model: debugfs's current choice when readable, else the build's
    (PREEMPT_DYNAMIC: the boot default from /proc/config.gz and any preempt= parameter)."""
    proc, sys_ = proc or PROC, sys_ or SYS
    cur = _read(os.path.join(sys_, "kernel", "debug", "sched", "preempt"))
    if cur:
        m = re.search(r"\((\w+)\)", cur)
        if m:
            return f"{m.group(1)} (sched/preempt)"
    version = (_read(os.path.join(proc, "sys", "kernel", "version")) or platform.version()).strip()
    cfg = _config(proc)
    default = next((name for key, name in (("CONFIG_PREEMPT_NONE", "none"), ("CONFIG_PREEMPT_VOLUNTARY", "voluntary"),
                                           ("CONFIG_PREEMPT_LAZY", "lazy"), ("CONFIG_PREEMPT", "full"))
                    if cfg.get(key) == "y"), "")
    m = re.search(r"(^|\s)preempt=(\S+)", _read(os.path.join(proc, "cmdline")) or "")
    if "PREEMPT_DYNAMIC" in version or cfg.get("CONFIG_PREEMPT_DYNAMIC") == "y":
        if m:
            return f"dynamic: {m.group(2)} (preempt= on the command line)"
        return f"dynamic: {default or 'unknown'} (boot default of the build, /proc/config.gz; no preempt=)"
    if "PREEMPT_RT" in version:
        return "rt"
    return default or ("full" if "PREEMPT" in version else "none or voluntary (uname -v)")


def config_facts(proc: str | None = None) -> dict[str, str]:
    proc = proc or PROC
    cfg = _config(proc)
    keys = ("CONFIG_MEMCG", "CONFIG_MEMCG_V1", "CONFIG_SLUB_CPU_PARTIAL", "CONFIG_SLAB_FREELIST_HARDENED",
            "CONFIG_SLAB_FREELIST_RANDOM", "CONFIG_KFENCE", "CONFIG_INIT_ON_ALLOC_DEFAULT_ON",
            "CONFIG_MEM_ALLOC_PROFILING", "CONFIG_NUMA", "CONFIG_UNWINDER_ORC", "CONFIG_SLUB_DEBUG_ON")
    return {k: cfg.get(k, "n") for k in keys} if cfg else {}


def perf_version(perf: str) -> str:
    try:
        r = subprocess.run([perf, "--version"], capture_output=True, text=True, timeout=20)
        return r.stdout.strip().replace("perf version ", "") or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model(proc: str | None = None) -> str:
    text = _read(os.path.join(proc or PROC, "cpuinfo")) or ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def numa_nodes(sys_: str | None = None) -> int:
    try:
        names = os.listdir(os.path.join(sys_ or SYS, "devices", "system", "node"))
    except OSError:
        return 1
    return max(1, sum(1 for n in names if re.fullmatch(r"node\d+", n)))


def slab_object_size(cache: str, proc: str | None = None) -> int | None:
    """objsize of a cache in /proc/slabinfo (root only), or None."""
    text = _read(os.path.join(proc or PROC, "slabinfo")) or ""
    for line in text.splitlines():
        p = line.split()
        if p and p[0] == cache and len(p) > 3:
            try:
                return int(p[3])
            except ValueError:
                return None
    return None


def slab_attrs(cache: str, sys_: str | None = None) -> dict[str, int]:
    """objs_per_slab, order, cpu_partial and sheaf_capacity of a cache from /sys/kernel/slab
    (those that exist; sheaf_capacity is there from 6.18, 0 for a cache without sheaves)."""
    out = {}
    for key in ("objs_per_slab", "order", "cpu_partial", "sheaf_capacity", "object_size"):
        text = _read(os.path.join(sys_ or SYS, "kernel", "slab", cache, key))
        if text is not None:
            try:
                out[key] = int(text.split()[0])
            except (ValueError, IndexError):
                pass
    return out
