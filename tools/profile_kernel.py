#!/usr/bin/env python3
"""Where the kernel's host time goes: per module, per kernel function, per source line.

Every helper is inlined into the one compiled kernel (``engine.model.kernel.run_calls``),
so an ordinary profiler sees a single opaque function.  This script compiles the
kernels with DWARF line tables (``NUMBA_DEBUGINFO=1``, into a scratch cache so the
normal cache is untouched), samples the running kernel with Linux ``perf``, and maps
every sampled instruction back to the Python line it was compiled from.

    python tools/profile_kernel.py                      # default scenario, batched
    python tools/profile_kernel.py --strategy per_object --calls 5000000 --top 30

Needs ``perf`` (linux-tools / the ``linux-perf`` package) and ``objdump`` (binutils),
and ``kernel.perf_event_paranoid`` <= 2 (the default) to sample one's own process.
The debug build takes about a minute to compile.  Samples are wall-clock
(``cpu-clock``), so read shares, not absolute times; lines with a share under 0.5%
are noise on a 5-second run.
"""

from __future__ import annotations

import argparse
import ast
import bisect
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "engine" / "model"  # the kernel sources


def _fail(msg: str) -> None:
    print(f"profile_kernel: {msg}", file=sys.stderr)
    sys.exit(2)


class _Terminated(KeyboardInterrupt):
    pass


class OneLineParser(argparse.ArgumentParser):
    """argparse with a bad argument as one line and exit 2 (no usage dump)."""

    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def run_guarded(prog: str, fn) -> int:
    """``fn()`` under bulksim's command-line contract, without importing the engine
    first (these tools set Numba's environment before it loads): SIGINT 130 and SIGTERM
    143 with one line, a full standard output one line and 2, a closed one 141."""
    def term(signum, frame):
        raise _Terminated()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, term)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        rc = fn()
        sys.stdout.flush()
        return rc
    except KeyboardInterrupt as e:
        term_ = isinstance(e, _Terminated)
        print(f"{prog}: {'terminated (SIGTERM)' if term_ else 'interrupted'}", file=sys.stderr)
        return 143 if term_ else 130
    except BrokenPipeError:
        _quiet_stdout()
        print(f"{prog}: error: standard output was closed", file=sys.stderr)
        return 141
    except OSError as e:
        if e.filename is not None:
            raise
        _quiet_stdout()
        print(f"{prog}: error: cannot write to standard output ({e.strerror or e})", file=sys.stderr)
        return 2


def _quiet_stdout() -> None:
    try:  # no second failure when Python flushes stdout at exit
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _line_table(obj: Path) -> tuple[list[int], list[tuple[str, int]]]:
    """(start offsets, (file, line)) of the object's DWARF line program, sorted."""
    out = subprocess.run(["objdump", "--dwarf=decodedline", str(obj)], capture_output=True,
                         text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 3 and p[0].endswith(".py") and p[1].isdigit() and (p[2].startswith("0x") or p[2] == "0"):
            rows.append((int(p[2], 16), p[0], int(p[1])))
    rows.sort()
    return [r[0] for r in rows], [(r[1], r[2]) for r in rows]


def kernel_end(addr: int, starts: list[int]) -> int:
    """End of the kernel's code: its last line-table row plus a page of slack."""
    return addr + (starts[-1] + 4096 if starts else 0)


def kernel_object(dest: Path | None) -> int:
    """The load address of the compiled ``run_calls`` in this process; with ``dest``,
    also write its object code there (possible only in the process that compiled
    it: a kernel loaded from the cache has none, and ``dest`` is left alone)."""
    from engine.model import kernel

    (cres,) = kernel.run_calls.overloads.values()
    if dest is not None:
        try:
            dest.write_bytes(cres.library._get_compiled_object())
        except RuntimeError:
            pass
    return cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)


def line_at(offset: int, starts: list[int], where: list[tuple[str, int]]) -> tuple[str, int]:
    """The (file, line) whose code holds the kernel's byte ``offset``, by the line
    table ``starts``/``where``; ``("?", 0)`` before its first row."""
    i = bisect.bisect_right(starts, offset) - 1
    return where[i] if i >= 0 else ("?", 0)


def attribute(ips, addr: int, starts: list[int], where: list[tuple[str, int]]) -> collections.Counter:
    """Count sampled instruction addresses ``ips`` per (file, line) of the kernel
    loaded at ``addr`` whose line table is ``starts``/``where``; samples outside the
    kernel are dropped."""
    hits = collections.Counter()
    if not starts:
        return hits
    end = kernel_end(addr, starts)
    for ip in ips:
        if addr <= ip < end:
            hits[line_at(ip - addr, starts, where)] += 1
    return hits


def line_label(key: tuple[str, int], src: dict, pkg: Path = PKG) -> str:
    """``module:line source text`` for a (file, line) of the package; ``src`` caches
    each file's lines between calls."""
    f, ln = key
    if f not in src:
        p = pkg / f
        src[f] = p.read_text().splitlines() if p.exists() else []
    text = src[f][ln - 1].strip() if 0 < ln <= len(src[f]) else ""
    return f"{Path(f).stem}:{ln} {text}"


def _functions(path: Path) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of each top-level function of a module."""
    tree = ast.parse(path.read_text())
    return [(n.lineno, n.end_lineno, n.name) for n in tree.body if isinstance(n, ast.FunctionDef)]


def function_of(file: str, line: int, cache: dict, pkg: Path = PKG) -> str:
    """``module.function`` whose source holds ``line`` of ``file`` (a kernel module)."""
    if file not in cache:
        path = pkg / file
        cache[file] = _functions(path) if path.exists() else []
    for lo, hi, name in cache[file]:
        if lo <= line <= hi:
            return f"{Path(file).stem}.{name}"
    return f"{Path(file).stem}.<other>"


def main(argv=None) -> int:
    return run_guarded("profile_kernel", lambda: _main(argv))


def _main(argv=None) -> int:
    ap = OneLineParser(prog="profile_kernel", description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--strategy", default="batched")
    ap.add_argument("--calls", type=int, default=3_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=25, help="source lines to list (default 25)")
    ap.add_argument("--freq", type=int, default=4999, help="samples per second (default 4999)")
    ap.add_argument("--keep", metavar="DIR", help="keep kernel.o (with line tables), perf.data and the "
                    "kernel's load address there, for objdump -dl / perf annotate")
    args = ap.parse_args(argv)
    for flag, v, lo in (("--calls", args.calls, 1), ("--top", args.top, 1), ("--freq", args.freq, 1)):
        if v < lo:
            _fail(f"{flag} must be at least {lo}, got {v}")

    scratch = Path(tempfile.mkdtemp(prefix="bulksim-profile-"))
    os.environ["NUMBA_DEBUGINFO"] = "1"
    os.environ["BULKSIM_CACHE_DIR"] = str(scratch / "cache")
    os.environ.pop("NUMBA_CACHE_DIR", None)
    sys.path.insert(0, str(ROOT))
    try:
        from engine.errors import BulksimError
        from engine.inputs.scenario import Scenario
        from engine.run import simulate as driver

        try:
            scn = Scenario.from_preset(args.scenario, calls=args.calls)
            driver.parse_strategies(args.strategy)
        except BulksimError as e:
            _fail(str(e))
        for tool in ("perf", "objdump"):
            if shutil.which(tool) is None:
                _fail(f"'{tool}' not found on PATH")
        print("compiling the kernel with line tables (about a minute) ...", file=sys.stderr)
        t0 = time.perf_counter()
        driver.run_strategy(scn.replace(calls=100), args.strategy, args.seed)
        print(f"compiled in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        obj = scratch / "kernel.o"
        addr = kernel_object(obj)
        if not obj.exists():
            _fail("the kernel was loaded from a cache: no object code to map")
        starts, where = _line_table(obj)

        data = scratch / "perf.data"
        rec = subprocess.Popen(["perf", "record", "-q", "-F", str(args.freq), "-p", str(os.getpid()),
                                "-o", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # let perf attach
        if rec.poll() is not None:
            _fail("perf record failed: " + rec.stderr.read().decode().strip().splitlines()[-1])
        t0 = time.perf_counter()
        run = driver.run_strategy(scn, args.strategy, args.seed)
        elapsed = time.perf_counter() - t0
        rec.send_signal(signal.SIGINT)
        rec.wait(timeout=60)
        ips = [int(x, 16) for x in subprocess.run(["perf", "script", "-i", str(data), "-F", "ip"],
                                                  capture_output=True, text=True).stdout.split()]
        hits = attribute(ips, addr, starts, where)
        total_in = sum(hits.values())
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(obj, keep / "kernel.o")
            shutil.copy(data, keep / "perf.data")
            (keep / "kernel_address.txt").write_text(f"{addr:#x}\n")
            end = kernel_end(addr, starts)
            (keep / "samples.txt").write_text("".join(f"{ip - addr:#x}\n" for ip in ips if addr <= ip < end))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if total_in == 0:
        _fail("no samples landed in the kernel (is perf allowed to sample this process?)")

    from engine.model.events import E_OBJECTS, PH_SLAB_ALLOC

    nobj = int(run.counters[PH_SLAB_ALLOC, E_OBJECTS])
    print(f"\n{args.scenario}, {args.strategy}: {args.calls:,} calls, {nobj:,} objects in {elapsed:.2f} s "
          f"({1e9 * elapsed / nobj:.1f} ns/object with line tables); {total_in:,} samples in the kernel "
          f"of {len(ips):,}\n")
    by_mod, by_fn, cache = collections.Counter(), collections.Counter(), {}
    for (f, ln), n in hits.items():
        by_mod[f] += n
        by_fn[function_of(f, ln, cache) if ln else f"{Path(f).stem}.<no line>"] += n
    ns = 1e9 * elapsed / nobj

    def show(title, counter, limit, label):
        print(f"{title:<44} {'share':>6} {'ns/obj':>7}")
        for key, n in counter.most_common(limit):
            share = n / total_in
            print(f"{label(key)[:44]:<44} {100 * share:5.1f}% {share * ns:7.2f}")
        print()

    show("module", by_mod, None, str)
    show("function (inlined into run_calls)", by_fn, None, str)
    src: dict = {}
    print(f"{'source line':<44} {'share':>6} {'ns/obj':>7}")
    for key, n in hits.most_common(args.top):
        share = n / total_in
        print(f"{100 * share:5.1f}% {share * ns:6.2f}  {line_label(key, src)[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
