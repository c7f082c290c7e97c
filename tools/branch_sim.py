#!/usr/bin/env python3
"""Which of the kernel's branches are mispredicted, per source line, on a machine
without hardware counters: valgrind's simulated branch predictor.

The development VM exposes no PMU (``perf stat -e branch-misses`` is "not
supported"), so ``tools/profile_kernel.py`` shows where time is spent but not why.
This script runs the kernel under ``valgrind --tool=callgrind --branch-sim=yes
--dump-instr=yes``, which counts, per machine instruction, the conditional branches
executed (``Bc``) and mispredicted (``Bcm``) by a simple simulated predictor, and
maps every instruction of the kernel back to its Python line with the DWARF line
table, as ``profile_kernel.py`` does for samples.

    python tools/branch_sim.py --strategy batched --calls 20000 --top 25

Read it with care: the simulated predictor is a per-branch two-bit counter, so it
also mispredicts the exit of every loop with a fixed trip count (the loops over a
call's 16 objects), which a modern core's history-based predictor gets right; the
data-dependent branches (a remote free, a stock switch, a threshold crossed at a
random place) are mispredicted by both.  The kernel is compiled for a generic
x86-64 CPU (``NUMBA_CPU_NAME=generic``) with line tables, into a scratch cache, and
natively first: compiling under valgrind would take an hour.  Needs ``valgrind`` and
``objdump``; about three minutes.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("profile_kernel", ROOT / "tools" / "profile_kernel.py")
_pk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pk)

EVENTS_WANTED = ("Ir", "Bc", "Bcm")


def _fail(msg: str) -> None:
    print(f"branch_sim: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_callgrind(lines, lo: int, hi: int) -> tuple[list[str], dict[int, list[int]]]:
    """Per-instruction costs from a callgrind output written with ``--dump-instr=yes``
    (positions ``instr line``), for instruction addresses in ``[lo, hi)``, keyed by
    offset from ``lo``.  Returns the event names and {offset: [cost per event]}.

    Positions are absolute (``0x...``), relative to the previous one (``+n``, ``-n``)
    or the same (``*``); the cost line after a ``calls=`` line is a call's inclusive
    cost and is skipped (the callee's own lines carry it)."""
    events: list[str] = []
    costs: dict[int, list[int]] = collections.defaultdict(lambda: [0] * len(events))
    instr = line_no = 0
    skip_next = False

    def position(tok: str, prev: int) -> int:
        if tok == "*":
            return prev
        if tok[0] in "+-":
            return prev + int(tok, 0)
        return int(tok, 0)

    for raw in lines:
        if raw.startswith("events:"):
            events = raw.split()[1:]
            continue
        if raw.startswith("calls="):
            skip_next = True
            continue
        if not raw or not (raw[0].isdigit() or raw[0] in "+-*"):
            continue
        parts = raw.split()
        instr = position(parts[0], instr)
        line_no = position(parts[1], line_no)
        if skip_next:
            skip_next = False
            continue
        if lo <= instr < hi:
            row = costs[instr - lo]
            for k, v in enumerate(parts[2:]):
                row[k] += int(v)
    return events, dict(costs)


def per_source_line(events: list[str], costs: dict[int, list[int]], line_of) -> dict:
    """``[instructions, conditional branches, mispredicted]`` per source line, from
    per-offset costs and ``line_of(offset)``."""
    ix = [events.index(e) for e in EVENTS_WANTED]
    per_line: dict = collections.defaultdict(lambda: [0, 0, 0])
    for off, row in costs.items():
        acc = per_line[line_of(off)]
        for k, i in enumerate(ix):
            acc[k] += row[i]
    return per_line


def top_lines(per_line: dict, by: str, n: int) -> list:
    """The ``n`` source lines with the most mispredictions (``by="mispredicts"``) or
    instructions (``by="instructions"``), largest first."""
    col = {"instructions": 0, "mispredicts": 2}[by]
    return sorted(per_line.items(), key=lambda kv: -kv[1][col])[:n]


def _child(args) -> int:
    """Inside the measured process: load (or compile) the kernel, record where it
    is, run the scenario."""
    sys.path.insert(0, str(ROOT))
    from engine.inputs.scenario import Scenario
    from engine.model.events import E_OBJECTS, PH_SLAB_ALLOC
    from engine.run import simulate as driver

    scn = Scenario.from_preset(args.scenario, calls=args.calls)
    warm = driver.run_strategy(scn.replace(calls=100), args.strategy, args.seed)
    out = Path(args.child)
    # loaded from the cache under valgrind: the object was saved by the compiling run
    addr = _pk.kernel_object(out / "kernel.o")
    nobj = int(warm.counters[PH_SLAB_ALLOC, E_OBJECTS])
    if args.calls > 0:
        run = driver.run_strategy(scn, args.strategy, args.seed)
        nobj += int(run.counters[PH_SLAB_ALLOC, E_OBJECTS])
    (out / "where.txt").write_text(f"{addr:#x} {nobj}\n")
    return 0


def main(argv=None) -> int:
    return _pk.run_guarded("branch_sim", lambda: _main(argv))


def _main(argv=None) -> int:
    ap = _pk.OneLineParser(prog="branch_sim", description=__doc__.split("\n\n")[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--strategy", default="batched")
    ap.add_argument("--calls", type=int, default=20000, help="calls run under valgrind (default 20000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=25, help="source lines to list (default 25)")
    ap.add_argument("--by", choices=("mispredicts", "instructions"), default="mispredicts",
                    help="order the source lines by simulated mispredictions (default) or by "
                         "instructions executed")
    ap.add_argument("--child", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)

    sys.path.insert(0, str(ROOT))
    from engine.errors import BulksimError
    from engine.inputs.scenario import Scenario
    from engine.run.simulate import parse_strategies

    try:
        Scenario.from_preset(args.scenario, calls=max(args.calls, 1))
        parse_strategies(args.strategy)
    except BulksimError as e:
        _fail(str(e))
    if args.calls < 1:
        _fail(f"--calls must be >= 1, got {args.calls}")
    if args.top < 1:
        _fail(f"--top must be >= 1, got {args.top}")
    for tool in ("valgrind", "objdump"):
        if shutil.which(tool) is None:
            _fail(f"'{tool}' not found on PATH")

    scratch = Path(tempfile.mkdtemp(prefix="bulksim-branch-sim-"))
    env = dict(os.environ, NUMBA_DEBUGINFO="1", NUMBA_CPU_NAME="generic",
               BULKSIM_CACHE_DIR=str(scratch / "cache"))
    env.pop("NUMBA_CACHE_DIR", None)
    me = [sys.executable, str(Path(__file__).resolve()), "--scenario", args.scenario,
          "--strategy", args.strategy, "--seed", str(args.seed)]
    try:
        native, measured = scratch / "native", scratch / "valgrind"
        native.mkdir()
        measured.mkdir()
        print("compiling the kernel for a generic x86-64 with line tables (about a minute) ...",
              file=sys.stderr)
        subprocess.run(me + ["--calls", "0", "--child", str(native)], env=env, check=True)
        print(f"running {args.calls:,} calls under callgrind (a few minutes) ...", file=sys.stderr)
        cg_out = scratch / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes", "--branch-sim=yes",
                        f"--callgrind-out-file={cg_out}", "-q"]
                       + me + ["--calls", str(args.calls), "--child", str(measured)],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        addr_s, nobj_s = (measured / "where.txt").read_text().split()
        addr, nobj = int(addr_s, 16), int(nobj_s)
        starts, where = _pk._line_table(native / "kernel.o")
        with open(cg_out) as f:
            events, costs = parse_callgrind(f, addr, _pk.kernel_end(addr, starts))
    except subprocess.CalledProcessError as e:
        _fail(f"{Path(e.cmd[0]).name} failed with exit status {e.returncode}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not costs or any(e not in events for e in EVENTS_WANTED):
        _fail("no branch counts for the kernel in the callgrind output")
    per_line = per_source_line(events, costs, lambda off: _pk.line_at(off, starts, where))
    tot = [sum(v[k] for v in per_line.values()) for k in range(3)]
    print(f"\n{args.scenario}, {args.strategy}: {nobj:,} objects (warm-up included); per object "
          f"{tot[0] / nobj:.0f} instructions, {tot[1] / nobj:.1f} conditional branches, "
          f"{tot[2] / nobj:.2f} mispredicted by the simulated predictor\n")
    src: dict = {}
    print(f"{'instr/obj':>9} {'mispredicted/obj':>16} {'rate':>6} {'share':>6}  source line")
    for key, (ir, bc, bcm) in top_lines(per_line, args.by, args.top):
        print(f"{ir / nobj:9.1f} {bcm / nobj:16.4f} {100 * bcm / max(bc, 1):5.1f}% "
              f"{100 * bcm / max(tot[2], 1):5.1f}%  {_pk.line_label(key, src)[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
