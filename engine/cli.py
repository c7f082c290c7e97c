"""Command line: ``bulksim run | scenarios | profiles``.

The CLI only parses arguments and calls plain functions (``cmd_*``) that the tests
call directly.  Every expected error is one line on stderr and exit status 2;
a broken invariant exits with status 3.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from .calibrate import cli as calibrate_cli
from .errors import BulksimError, InvariantError
from .measure import cli as _measure_cli


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so files being written are cleaned up."""


class HungUp(Terminated):
    """SIGHUP (the terminal was closed), handled as SIGTERM is, with status 129.  Left
    alone when it starts ignored (``nohup``)."""


def _stop(e) -> tuple[str, int]:
    """The words and the exit status for a signal (an exception, or a signal number)."""
    import signal

    if isinstance(e, HungUp) or e == signal.SIGHUP:
        return "hung up (SIGHUP)", 129
    if isinstance(e, Terminated) or e == signal.SIGTERM:
        return "terminated (SIGTERM)", 143
    return "interrupted", 130


def _catch(signum: int, handler) -> None:
    """Install ``handler`` for ``signum``; SIGHUP only where it is not ignored (nohup)."""
    import signal

    if signum == signal.SIGHUP and signal.getsignal(signum) == signal.SIG_IGN:
        return
    signal.signal(signum, handler)


# Once the command's outcome is decided (done, or being reported as interrupted), a
# signal no longer raises: it is recorded here and sets the exit status, so a signal at
# the last print or at exit is never a traceback ("Exception ignored ...").
_SIGNALS = {"late": False, "got": None}


def _on_signal(signum, frame):
    import signal

    if _SIGNALS["late"]:
        _SIGNALS["got"] = _SIGNALS["got"] or signum
        return
    raise (HungUp() if signum == signal.SIGHUP else Terminated() if signum == signal.SIGTERM
           else KeyboardInterrupt())


_on_sigterm = _on_signal  # the name older callers use


def _unraisable(hook):
    """``sys.unraisablehook`` for one command: the exception a signal raised inside a
    ``__del__`` (an llvmlite object collected at that moment) is swallowed by Python,
    with an "Exception ignored" traceback; deliver the signal again instead, so that it
    stops the command at the next step, as everywhere else."""
    def unraisable(u):
        if u.exc_type is not None and issubclass(u.exc_type, KeyboardInterrupt):
            import os
            import signal
            import threading

            sig = (signal.SIGHUP if issubclass(u.exc_type, HungUp) else
                   signal.SIGTERM if issubclass(u.exc_type, Terminated) else signal.SIGINT)
            # from another thread, a moment later: raised here, it would be swallowed again
            threading.Timer(0.02, os.kill, (os.getpid(), sig)).start()
            return
        hook(u)
    return unraisable


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        # main() prints "bulksim: error: ..."; the subcommand says where, once
        sub = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        hint = (f" ('bulksim {sub} --help' lists the options)"
                if sub and ("unrecognized" in message or "required" in message) else "")
        raise BulksimError(f"{sub + ': ' if sub else ''}{message}{hint}")


class _Help(argparse.HelpFormatter):
    """Help that shows each option's default where it has one and the text does not say it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS) \
                or action.option_strings == [] or isinstance(action, argparse._VersionAction):
            return text
        return f"{text} (default: %(default)s)"


def _scenario_help(key: str) -> str:
    """An option's help from the parameter's unit and meaning, with the default preset's value."""
    from .inputs.scenario import PARAM_DOCS, Scenario

    unit, meaning = (t.replace("%", "%%") for t in PARAM_DOCS[key])  # argparse formats help with %
    value = getattr(Scenario.from_preset("default"), key)
    from .inputs.scenario import _value_text

    return f"{meaning} [{unit}] (default: the preset's; {_value_text(value)} in 'default')"


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="simulate the hook strategies and print the comparison table",
                       formatter_class=_Help,
                       description="Simulate every hook strategy on the identical seeded object "
                                   "stream and print events and cycles per object side by side. "
                                   "'bulksim scenarios --show NAME' lists every parameter with its "
                                   "unit and meaning.")
    p.add_argument("--scenario", default="default", help="preset name (see 'bulksim scenarios')")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any scenario parameter (repeatable); names, units and meanings as "
                        "'scenarios --show' prints them")
    for flag, key, typ in [
        ("--calls", "calls", int), ("--bulk-size", "bulk_size", int), ("--object-size", "object_size", int),
        ("--nodes", "nodes", int), ("--cpus", "cpus", int), ("--memcgs", "memcgs", int),
        ("--remote-prob", "remote_prob", float),
    ]:
        p.add_argument(flag, dest=key, type=str, default=None, help=_scenario_help(key),
                       metavar=typ.__name__.upper())
    p.add_argument("--trace", default=None, help="replay a trace file instead of the SLUB model")
    p.add_argument("--seed", type=str, default="0", help="random seed")
    p.add_argument("--profile", default=None, help="cost profile (see 'bulksim profiles'; default: intel-skylake)")
    p.add_argument("--strategies", default="all", help="'all' or a comma-separated list")
    p.add_argument("-o", "--output", default="table", choices=("table", "json"),
                   help="what to print: the table, or one JSON document (docs/tables.md, 'JSON output')")
    p.add_argument("--out", default=None, help="write the summary table (.parquet, .arrow, .feather)")
    p.add_argument("--detail", default=None, metavar="calls,runs",
                   help="also write per-call detail (OUT.calls.parquet) and/or the run-length "
                        "histogram (OUT.runs.parquet); needs --out")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--chunk-calls", type=str, default=None, help="calls per kernel invocation")
    p.add_argument("--check-every", type=str, default="0", metavar="N",
                   help="also check the invariants every N calls (soak runs); 0: at the end only")
    p.add_argument("--quiet", action="store_true",
                   help="no progress output (at a terminal a progress line; elsewhere a line every "
                        "15 s of work)")
    p.add_argument("--sensitivity", nargs="?", const="hook", default=None, choices=("hook", "total"),
                   help="also print which unit costs move each strategy/per_object ratio most "
                        "(hook cycles, or total = end to end)")
    p.add_argument("--error-sources", action="store_true",
                   help="also print, for each ratio to per_object, which unit costs carry most of "
                        "its simulation (Monte-Carlo) error: their shares of the variance")
    p.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse a run whose state needs more (e.g. 4G; default: half the machine's memory)")
    p.add_argument("--passes", default="auto", choices=("auto", "fused", "separate"),
                   help="auto (default): one pass over the allocator for all strategies where that "
                        "is exact, else one each; fused: refuse where not exact; separate: one each. "
                        "Results are identical")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also say how the strategies ran (one pass or one each, and why)")
    add_precision_arguments(p)


def add_precision_arguments(p) -> None:
    """``--precision``, ``--max-calls``, ``--precision-on`` (run and sweep)."""
    p.add_argument("--precision", default=None, metavar="REL",
                   help="run until the 95%% interval of every watched ratio is within +-REL of "
                        "per_object's cost (e.g. 0.001), instead of --calls; checked at fixed call "
                        "counts (docs/tables.md, 'Precision-controlled runs')")
    p.add_argument("--max-calls", default=None, metavar="N",
                   help="the cap of a --precision run (default 10,000,000)")
    p.add_argument("--precision-on", default=None, choices=("hook", "ratios"),
                   help="what --precision watches: hook (default: each strategy's hook ratio to "
                        "per_object) or ratios (every ratio printed: hook, end to end, against none)")


def precision_arguments(args) -> dict:
    """The keyword arguments of ``simulate`` for ``--precision``/``--max-calls``/``--precision-on``."""
    prec = getattr(args, "precision", None)
    cap = getattr(args, "max_calls", None)
    on = getattr(args, "precision_on", None)
    if prec is None:
        if cap is not None:
            raise BulksimError("--max-calls is the cap of a --precision run: give --precision too")
        if on is not None:  # a fixed run watches nothing: the option would be ignored
            raise BulksimError("--precision-on says what a --precision run watches: give --precision too")
        return {}
    try:
        value = float(prec)
    except ValueError:
        raise BulksimError(f"--precision: expected a number such as 0.001, got {prec!r}") from None
    if getattr(args, "calls", None) is not None:
        raise BulksimError("--calls and --precision exclude each other: a --precision run chooses "
                           "its calls (give the cap as --max-calls)")
    out = {"precision": value, "precision_on": on or "hook"}
    if cap is not None:
        out["max_calls"] = _int(cap, "--max-calls")
    return out


def _int(text: str, what: str) -> int:
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:
        raise BulksimError(f"{what}: expected an integer, got {text!r}") from None


def set_keys(args) -> dict[str, str]:
    """The scenario parameters ``--set`` names, each with the option that named it."""
    from .inputs.scenario import split_setting

    return {split_setting(item, "--set", "key=value")[0]: f"--set {item.strip()}" for item in args.set or []}


def refuse_set(args, keys, why: str) -> None:
    """One line if ``--set`` names one of ``keys``, which another option of the command
    decides (a ``--set`` that would be silently overridden)."""
    for key, given in set_keys(args).items():
        if key in keys:
            raise BulksimError(f"{given[:80]}: {why.format(key=key, opt=key.replace('_', '-'))}")


def calls_given(args) -> bool:
    """Whether the user chose the calls (``--calls`` or ``--set calls=``): with a trace
    they must equal its count (a trace is replayed whole), never silently replaced."""
    return getattr(args, "calls", None) is not None or "calls" in set_keys(args)


def check_trace_calls(scn) -> None:
    """A chosen ``calls`` against the trace's count, before anything runs (sweep)."""
    from .inputs.trace import load
    from .run.simulate import trace_calls

    trace_calls(load(scn.trace, scn), scn.calls)


def build_scenario(args):
    from .inputs.scenario import Scenario, parse_value

    scn = Scenario.from_preset(args.scenario)
    changes = {}
    for key in ("calls", "bulk_size", "object_size", "nodes", "cpus", "memcgs", "remote_prob"):
        v = getattr(args, key)
        if v is not None:
            changes[key] = parse_value(key, v)
    if args.trace:
        changes["trace"] = args.trace
    # an option and a --set of the same parameter: the option won silently
    refuse_set(args, changes, "--{opt} is given too; give the parameter once")
    if getattr(args, "precision", None) is not None:
        refuse_set(args, ("calls",), "a --precision run chooses its calls (give the cap as --max-calls)")
    scn = scn.with_settings(args.set) if args.set else scn
    return scn.replace(**changes) if changes else scn


# measured (docs/performance.md, "Compile time"): 24-30 s idle, 48 s and 176 s with busy cores
COMPILE_TIME = "20-60 s on an idle 2-core machine, a few minutes when its cores are busy"


def first_compile_notice() -> str | None:
    """One line to print before the kernels compile for the first time; None once they are cached."""
    from pathlib import Path

    from .model.jit import cache_dir

    import os

    # where Numba will look: a NUMBA_CACHE_DIR the user (or a parent bulksim) chose wins
    d = Path(os.environ.get("NUMBA_CACHE_DIR") or cache_dir())
    if d.is_dir() and any(d.rglob("*.nbc")):
        return None
    return (f"bulksim: compiling the simulation kernels for this CPU (first run only: {COMPILE_TIME}); "
            f"later runs load them from {d}")


# The files the command has written so far (a closed stdout says which, or that none were).
WRITTEN: list[str] = []


def _progress(args, what: str):
    """How long work reports progress: the terminal's progress line, else a Heartbeat
    line every 15 s (engine.progress); nothing with --quiet."""
    from .progress import Heartbeat

    quiet = getattr(args, "quiet", False)
    tty = sys.stderr.isatty()
    return Heartbeat(what, enabled=not quiet and not tty), (not quiet and tty)


def machine_notes(scn) -> list[str]:
    """Facts about a scenario that the user may not expect (printed on stderr, not errors)."""
    notes = []
    if scn.nodes > scn.cpus and not scn.trace:
        from .model.state import cpu_nodes

        used = set(cpu_nodes(scn.cpus, scn.nodes).tolist())
        empty = [n for n in range(scn.nodes) if n not in used]
        notes.append(f"bulksim: note: {scn.nodes} nodes on {scn.cpus} CPUs: node(s) "
                     f"{', '.join(map(str, empty[:8]))}{', ...' if len(empty) > 8 else ''} have no CPU "
                     "(memory-only) and hold no slab without a trace (docs/model.md §2)")
    return notes


def cmd_run(args, out=None) -> int:
    out = out or sys.stdout
    from .inputs.costs import DEFAULT_PROFILE
    from .results.console import comparison_text
    from .run.simulate import DEFAULT_CHUNK_CALLS, simulate

    scn = build_scenario(args)
    seed = _int(args.seed, "--seed")
    if args.detail is not None and not args.detail.replace(",", "").strip():
        raise BulksimError("--detail: no table named (calls and/or runs)")
    detail = [d for d in (x.strip() for x in (args.detail or "").split(",")) if d]
    for d in detail:
        if d not in ("calls", "runs"):
            raise BulksimError(f"--detail takes calls and/or runs, got {d!r}")
    if detail and not args.out:
        raise BulksimError("--detail needs --out (the detail tables are written next to it)")
    chunk = DEFAULT_CHUNK_CALLS if args.chunk_calls is None else _int(args.chunk_calls, "--chunk-calls")
    if args.out:
        from pathlib import Path

        from .results.tables import check_output_path, sidecar_path

        stem = Path(args.out).stem
        if any(stem.endswith(f".{kind}") for kind in ("calls", "runs", "units")):
            raise BulksimError(f"--out {args.out}: a name ending in .calls, .runs or .units is the "
                               "sidecar of another run's table; choose another name")
        from .results.tables import check_not_an_input

        for q in [args.out] + [sidecar_path(args.out, d) for d in [*detail, "units"]]:
            check_output_path(q, force=args.force)
            check_not_an_input(q, [scn.trace or None], "--out")  # the trace it replays
    # the checks simulate() makes first, made here too, so that bad input is still the only
    # line on stderr when the compile notice would come before it
    from .inputs.costs import get_profile
    from .model.state import resolve_generation
    from .run.simulate import parse_strategies

    get_profile(DEFAULT_PROFILE if args.profile is None else args.profile)
    for name in parse_strategies(args.strategies):
        resolve_generation(scn.kernel, name)
    notice = None if args.quiet else first_compile_notice()
    if notice:  # a start line, at a terminal or not: the compile is the longest silence
        print(notice, file=sys.stderr, flush=True)
    if not args.quiet:
        for line in machine_notes(scn):
            print(line, file=sys.stderr, flush=True)
    beat, bar = _progress(args, "compiling the simulation kernels" if notice else "simulating")
    with beat:
        result = simulate(scn, strategies=args.strategies,
                          profile=DEFAULT_PROFILE if args.profile is None else args.profile,
                          seed=seed, chunk_calls=chunk, progress=beat.progress if beat.enabled else bar,
                          check_every=_int(args.check_every, "--check-every"), detail="calls" in detail,
                          max_memory=_max_memory(args), calls=scn.calls if calls_given(args) else None,
                          passes=args.passes, **precision_arguments(args))
    if args.verbose:
        print(f"bulksim: {result.passes}", file=sys.stderr)
    table = result.summary
    from .results.ranges import accounting_cost_text, ranges_text, sensitivity_text

    # Everything that can still fail before the files; the files before any output:
    # a closed stdout (``| head -1``) must not lose them.
    rtext = ranges_text(table)
    if result.precision is not None and args.verbose:
        p = result.precision
        print(f"bulksim: --precision {p['target']:g}: {p['stop']} at {p['calls']:,} calls "
              f"(half-width {p['reached']:.5f}, cap {p['max_calls']:,})", file=sys.stderr)
    atext = accounting_cost_text(result)
    stext = sensitivity_text(result, args.sensitivity) if args.sensitivity else None
    etext = None
    if args.error_sources:
        from .results.error import error_sources_text

        etext = error_sources_text(result)
    wrote = _write_run_outputs(args, result, table, detail) if args.out else []
    if args.output == "json":
        from .results.jsonout import dumps, run_document

        doc = run_document(result, table, list(WRITTEN))
        if args.sensitivity:  # the sections the console prints, as data
            from .results.ranges import sensitivity_data

            doc["sensitivity"] = sensitivity_data(result, args.sensitivity)
        if args.error_sources:
            from .results.error import error_sources_data

            doc["error_sources"] = error_sources_data(result)
        print(dumps(doc), file=out)
        return 0
    print(comparison_text(table), file=out)
    if rtext:
        print("\n" + rtext, file=out)
    if atext:
        print("\n" + atext, file=out)
    if rtext or atext:
        import textwrap

        from .results.validate import trust_line

        print(textwrap.fill(trust_line(), 100, break_on_hyphens=False), file=out)
    if stext is not None:
        print("\nSensitivity of the ratio to each unit cost:\n" + stext, file=out)
    if etext is not None:
        print("\nWhere the simulation error of each ratio comes from (95% half-width; the unit\n"
              "costs' shares of its variance):\n" + etext, file=out)
    for line in wrote:
        print(line, file=out)
    return 0


def _max_memory(args):
    from .run.budget import parse_size

    text = getattr(args, "max_memory", None)
    return None if text is None else parse_size(text)


def _write_run_outputs(args, result, table, detail) -> list[str]:
    """Write ``run --out`` and its detail tables as one result (all or nothing, also on a
    signal: ``engine.results.tables.write_tables``); the lines to print afterwards."""
    from .results.tables import calls_table_long, sidecar_path, units_table, with_identity, write_tables

    extra = []
    if "calls" in detail:
        extra.append((with_identity(calls_table_long(result), result), sidecar_path(args.out, "calls")))
    if "runs" in detail:
        extra.append((with_identity(result.run_length_table(), result), sidecar_path(args.out, "runs")))
    units = {"summary": table}
    for t, q in extra:
        units[Path(q).stem.rsplit(".", 1)[-1]] = t
    # --force replaces the result: a detail table of an earlier run under the same name,
    # not written this time, would be read as this run's (bulksim report draws it)
    stale = [q for q in (sidecar_path(args.out, d) for d in ("calls", "runs") if d not in detail)
             if q.is_file() or q.is_symlink()]  # a folder of that name is never removed
    items = extra + [(units_table(units), sidecar_path(args.out, "units")), (table, args.out)]
    paths = write_tables(items, force=args.force, remove=stale, record=True)
    WRITTEN.extend(str(q) for q in paths)
    lines = [f"wrote {q} ({t.num_rows} rows)" for (t, _), q in zip(extra, paths)]
    lines += [f"removed {q} (a detail table of the run this one replaces)" for q in stale]
    lines.append(f"\nwrote {paths[-1]} ({table.num_rows} rows)")
    return lines


def cmd_scenarios(args, out=None) -> int:
    out = out or sys.stdout
    from .inputs.scenario import PRESETS, Scenario

    if args.show is not None:
        from .inputs.scenario import PARAM_DOCS, _value_text

        scn = Scenario.from_preset(args.show)
        print(f"# {scn.name}: {scn.description}", file=out)
        print("# set any of these with --set KEY=VALUE; [unit] meaning", file=out)
        items = [(k, _value_text(v)) for k, v in scn.to_dict().items() if k not in ("name", "description")]
        width = max(len(f"{k} = {v}") for k, v in items)
        for k, v in items:
            unit, meaning = PARAM_DOCS[k]
            print(f"{f'{k} = {v}'.ljust(width)}  # [{unit}] {meaning}", file=out)
        print(f"# derived: ofs = {scn.ofs} bytes, objs_per_slab = {scn.resolved_objs_per_slab}, "
              f"sheaf_capacity = {scn.resolved_sheaf_capacity}", file=out)
        return 0
    width = max(len(n) for n in PRESETS)
    for name, d in PRESETS.items():
        print(f"{name.ljust(width)}  {d['description']}", file=out)
    return 0


def cmd_profiles(args, out=None) -> int:
    out = out or sys.stdout
    from .inputs.costs import PROFILES, get_profile
    from .inputs.profile_file import show_lines

    names = [args.show] if args.show is not None else list(PROFILES)
    for name in names:
        p = get_profile(name)
        est = "  [ESTIMATED]" if p.estimated else ""
        print(f"{p.name}: {p.description}; clock {p.clock_ghz} GHz{est}", file=out)
        if args.show or args.verbose:
            # chain price (what the event adds to a dependent chain), then its issue price
            # (instructions over the width) as NAME:issue; a region costs max(chain, issue)
            print(f"  {'unit cost':28s} {'low':>7s} {'central':>7s} {'high':>7s}  source", file=out)
            issue = {k: (lo, mid, hi, src) for k, lo, mid, hi, src in p.issue_rows()}
            for ev, lo, mid, hi, src in p.rows():
                print(f"  {ev:28s} {lo:7.1f} {mid:7.1f} {hi:7.1f}  {src}", file=out)
                if ev in issue:
                    ilo, imid, ihi, isrc = issue[ev]
                    print(f"  {ev + ':issue':28s} {ilo:7.2f} {imid:7.2f} {ihi:7.2f}  {isrc}", file=out)
            for line in show_lines(name):  # a profile file: its provenance and fit
                print(line, file=out)
    if not (args.show or args.verbose):
        print("\n('bulksim profiles --show NAME' lists every unit cost, its chain and issue prices and the "
              "posting, commit or paper each comes from; docs/costs.md explains them)", file=out)
    return 0


def version_text() -> str:
    """``bulksim X.Y.Z (commit abc123def456[, with uncommitted changes in engine/])``."""
    from . import __version__
    from .results.tables import git_commit

    commit, dirty = git_commit()
    where = (f"commit {commit[:12]}{', with uncommitted changes in engine/' if dirty else ''}"
             if commit != "unknown" else "commit unknown: not run from a git checkout")
    return f"bulksim {__version__} ({where})"


class _Version(argparse.Action):
    """--version, with the commit looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None,
                 version=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def make_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="bulksim", description="What does memcg accounting of "
                     "kmem_cache_alloc_bulk() cost, and when? Simulates the hook strategies.")
    parser.add_argument("--version", action=_Version, version=f"bulksim {__version__}",
                        help="the version and the commit of the running code")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_run(sub)
    _measure_cli.setup_arguments(sub)  # bulksim measure (engine/measure/cli.py)
    s = sub.add_parser("scenarios", help="list the scenario presets", formatter_class=_Help)
    s.add_argument("--show", metavar="NAME", help="print every parameter of one preset")
    p = sub.add_parser("profiles", help="list the cost profiles and their sources")
    p.add_argument("--show", metavar="NAME|FILE", help="print every unit cost of one profile (a name, "
                   "or a profile file of 'bulksim calibrate')")
    p.add_argument("-v", "--verbose", action="store_true", help="print every profile in full")
    b = sub.add_parser("bench", help="measure simulation speed (objects/s, vs the reference model)",
                       formatter_class=_Help)
    b.add_argument("--scenario", default="default", help="preset name")
    b.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a scenario parameter (repeatable), as for 'run'")
    b.add_argument("--calls", default="1000000", help="calls per timed run")
    b.add_argument("--strategies", default="all", help="'all' or a comma-separated list")
    b.add_argument("--repeat", default="5", help="timed runs per strategy (median reported)")
    b.add_argument("--ref-calls", default=None, help="timed calls of the reference model, after the calls that fill its "
                   "live set (0: skip; default 2000)")
    b.add_argument("--workers", default=None, help="threads for the replica-scaling measurement (1: skip; default 2)")
    b.add_argument("-o", "--output", default="table", choices=("table", "json"),
                   help="what to print: the text, or one JSON document (docs/tables.md, 'JSON output')")
    b.add_argument("--precision", default=None, metavar="REL",
                   help="instead: time to a ±REL hook ratio against a fixed run of --calls, A/B in one "
                        "run, on each of the comma-separated --scenario presets")
    b.add_argument("--max-calls", default=None, metavar="N", help="with --precision: the cap of its runs")
    w = sub.add_parser("sweep", help="run a grid of scenario parameters x seeds (resumable)",
                       formatter_class=_Help)
    w.add_argument("--scenario", default="default", help="base preset")
    w.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a base scenario parameter (repeatable)")
    w.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a swept scenario parameter and its values (repeatable)")
    w.add_argument("--seeds", default="1", help="a count (0..N-1) or a comma-separated list")
    w.add_argument("--calls", dest="calls", default=None, help="calls per point")
    w.add_argument("--strategies", default="all", help="'all' or a comma-separated list")
    w.add_argument("--profile", default=None, help="cost profile")
    w.add_argument("--workers", default=None, help="parallel points (default: all cores)")
    w.add_argument("--out", required=True, help="dataset folder (hive-partitioned Parquet)")
    w.add_argument("--scheduler", default=None, metavar="ADDRESS|local:N",
                   help="run points on a Dask cluster (pip install 'bulksim[dask]')")
    w.add_argument("--gather", action="store_true",
                   help="with --scheduler: workers send points back and this process writes them "
                        "(workers without a shared filesystem)")
    w.add_argument("--force", action="store_true", help="recompute every point")
    w.add_argument("--quiet", action="store_true",
                   help="no progress (at a terminal a progress bar; elsewhere a line every 15 s)")
    w.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="memory budget for the points running at once (default: half the machine's memory)")
    add_precision_arguments(w)
    c = sub.add_parser("compare", help="compare two result tables, or strategies in one (veristat -C style)",
                       formatter_class=_Help,
                       description="One FILE: each strategy (B) against --base (A). Two FILEs: the same "
                                   "strategy in A and B, joined on strategy, scenario, seed (+ sweep "
                                   "parameters). See docs/tables.md.")
    c.add_argument("files", nargs="+", metavar="FILE", help=".parquet/.arrow/.feather file or Parquet folder")
    c.add_argument("--base", default=None, metavar="STRATEGY",
                   help="baseline strategy (one FILE only; default per_object)")
    c.add_argument("-e", "--emit", default=None, metavar="M1,M2", help="metrics to show (comma-separated)")
    c.add_argument("-s", "--sort", action="append", default=[], metavar="[^]NAME[_a|_b|_diff|_pct]",
                   help="sort key ('^': descending; repeatable, first is primary)")
    c.add_argument("-f", "--filter", action="append", default=[], metavar="[!]NAME OP VALUE",
                   help="keep rows where it holds; OP: = != < <= > >= (repeatable, all must hold)")
    c.add_argument("-o", "--output", default="table", metavar="table|csv|md|parquet|json",
                   help="output format; csv, parquet and json: numbers at full precision")
    c.add_argument("--fail-above", default=None, metavar="PCT",
                   help="exit with status 1 when a row's first metric (-e; hook_cycles_per_object) "
                        "grew by more than PCT percent from A to B (for CI)")
    c.add_argument("--out", default=None, metavar="FILE", help="file for -o parquet (.parquet/.arrow/.feather)")
    c.add_argument("--force", action="store_true", help="replace --out if it exists")
    c.add_argument("--per-seed", action="store_true",
                   help="one row per seed (default: rows that differ only in their seed are averaged)")
    r = sub.add_parser("report", help="a static HTML page of plots from a sweep or a result file",
                       formatter_class=_Help)
    r.add_argument("results", help="a sweep folder or a summary file")
    r.add_argument("--out", required=True, help="folder for index.html, the SVG plots and their data")
    r.add_argument("--force", action="store_true", help="replace an existing report folder")
    v = sub.add_parser("validate", help="published measurements next to the model's predictions and ranges",
                       description="Simulate a scenario per published end-to-end measurement and print "
                                   "the measured ratio next to the model's, with the model's exact range "
                                   "over the unit costs (docs/validation.md).",
                       formatter_class=_Help)
    v.add_argument("--calls", default="20000", help="calls per simulated row")
    v.add_argument("--seed", default="0", help="random seed")
    v.add_argument("--profile", default=None,
                   help="cost profile for every row (default: each row on the profile its hardware implies)")
    v.add_argument("--strict", action="store_true", help="exit 1 if a test row falls outside its range (CI)")
    v.add_argument("--rows", default=None, metavar="KEY,KEY", help="only these rows")
    v.add_argument("-o", "--output", default="table", metavar="table|md|json",
                   help="output format (json: docs/tables.md, 'JSON output')")
    _measure_cli.add_validate_arguments(v)  # --measured FILE (engine/measure/validate_rows.py)
    calibrate_cli.setup_arguments(sub)
    h = sub.add_parser("history", help="export asv results (results/) as one Arrow table",
                       formatter_class=_Help)
    h.add_argument("results", help="the asv results folder, e.g. results/")
    h.add_argument("--out", required=True, help="output file (.parquet, .arrow, .feather)")
    h.add_argument("--force", action="store_true", help="replace an existing output file")
    return parser


def cmd_bench(args, out=None) -> int:
    out = out or sys.stdout
    from .inputs.scenario import Scenario
    from .run.bench import format_text, measure

    if getattr(args, "precision", None) is not None:
        from .run.bench import format_precision, measure_precision

        try:
            prec = float(args.precision)
        except ValueError:
            raise BulksimError(f"--precision: expected a number such as 0.001, got {args.precision!r}") from None
        # options of the speed measurement that a --precision run does not use: never ignored
        if args.output != "table":
            raise BulksimError("bench --precision prints its table only; -o json is for the speed measurement")
        for flag, v in (("--ref-calls", args.ref_calls), ("--workers", args.workers)):
            if v is not None:
                raise BulksimError(f"{flag} belongs to the speed measurement; bench --precision does not use it")
        refuse_set(args, ("calls",), "bench times --calls calls (give them there)")
        names = [n.strip() for n in args.scenario.split(",")]
        if not all(names):
            raise BulksimError(f"--scenario: an empty preset name in {args.scenario[:60]!r}")
        if len(set(names)) < len(names):
            raise BulksimError(f"--scenario: a preset given twice in {args.scenario[:60]!r}")
        scns = [Scenario.from_preset(n) for n in names]
        scns = [s.with_settings(args.set) if args.set else s for s in scns]
        res = measure_precision(scns, args.strategies, precision=prec, fixed_calls=_int(args.calls, "--calls"),
                                repeat=_int(args.repeat, "--repeat"),
                                max_calls=None if args.max_calls is None else _int(args.max_calls, "--max-calls"))
        print(format_precision(res), file=out)
        return 0
    if args.max_calls is not None:
        raise BulksimError("--max-calls is the cap of a --precision run: give --precision too")
    refuse_set(args, ("calls",), "bench times --calls calls (give them there)")
    scn = Scenario.from_preset(args.scenario)
    scn = scn.with_settings(args.set) if args.set else scn
    if args.calls is not None:
        scn = scn.replace(calls=_int(args.calls, "--calls"))
    from .run.bench import check_measure_args, noise_warnings

    repeat, ref_calls, workers = (_int(args.repeat, "--repeat"), _int(args.ref_calls or "2000", "--ref-calls"),
                                  _int(args.workers or "2", "--workers"))
    check_measure_args(scn, args.strategies, repeat=repeat, ref_calls=ref_calls, workers=workers)
    beat, _ = _progress(args, f"bench: timing {args.strategies} strategies, {repeat} repeats "
                              f"of {scn.calls:,} calls")
    if not sys.stderr.isatty():
        print(f"bulksim: bench: timing the strategies ({repeat} repeats of {scn.calls:,} calls each, "
              "a line every 15 s)", file=sys.stderr, flush=True)
    with beat:
        res = measure(scn, args.strategies, repeat=repeat, ref_calls=ref_calls, workers=workers)
    if args.output == "json":
        from .results.jsonout import bench_document, dumps

        print(dumps(bench_document(res, noise_warnings(res))), file=out)
        return 0
    print(format_text(res), file=out)
    for line in noise_warnings(res):  # also where a script reading stdout does not look
        print(f"bulksim: {line}", file=sys.stderr)
    return 0


def cmd_sweep(args, out=None) -> int:
    out = out or sys.stdout
    from .inputs.costs import DEFAULT_PROFILE
    from .run.sweep import parse_grid, parse_seeds, run_sweep

    args.trace = None
    for key in ("bulk_size", "object_size", "nodes", "cpus", "memcgs", "remote_prob"):
        setattr(args, key, None)
    scn = build_scenario(args)
    if not args.grid:
        raise BulksimError("sweep needs at least one --grid key=v1,v2,...")
    grid = parse_grid(args.grid)
    # a base parameter that the grid sweeps: the grid's values won silently
    refuse_set(args, grid, "--grid {key} sweeps it too; give it in one of them")
    if args.calls is not None and "calls" in grid:
        raise BulksimError("--calls and --grid calls=...: give the calls in one of them")
    if scn.trace and calls_given(args):  # each point replays the whole trace
        check_trace_calls(scn)
    seeds = parse_seeds(args.seeds)
    workers = None if args.workers is None else _int(args.workers, "--workers")
    beat, bar = _progress(args, "sweep: starting")

    def sweep_progress(done, total, eta):
        beat.say(f"sweep: {done}/{total} points, ETA {eta:.0f} s")

    try:
        with beat:
            rep = run_sweep(scn, grid, seeds, args.out, strategies=args.strategies,
                            profile=DEFAULT_PROFILE if args.profile is None else args.profile,
                            workers=workers, force=args.force,
                            progress=sweep_progress if beat.enabled else bar,
                            scheduler=args.scheduler, gather=args.gather, max_memory=_max_memory(args),
                            **precision_arguments(args))
    except KeyboardInterrupt as e:
        _SIGNALS["late"] = True
        why, status = _stop(e)
        what = ("the new sweep is complete" if getattr(e, "swapped", False)
                else "the sweep it was to replace is kept as it was" if getattr(e, "replacing", False)
                else "no point was finished, and nothing is left" if getattr(e, "nothing", False)
                else "nothing was written: the folder is as it was" if getattr(e, "untouched", False)
                else "completed points are kept, run the same command to resume")
        _say(f"bulksim: {why}; {what}")
        return status
    WRITTEN.append(str(rep.out))
    print(f"{rep.total} points: {rep.done_before} already done, {rep.computed} computed; "
          f"dataset in {rep.out}", file=out)
    return 0


def cmd_report(args, out=None) -> int:
    out = out or sys.stdout
    from .results.report import write_report

    page = write_report(args.results, args.out, force=args.force)
    WRITTEN.append(str(page))
    print(f"wrote {page}", file=out)
    return 0


def cmd_history(args, out=None) -> int:
    out = out or sys.stdout
    from .results.history import history_table
    from .results.tables import check_output_path, write_table

    check_output_path(args.out, force=args.force)
    table = history_table(args.results)
    path = write_table(table, args.out, force=args.force)
    WRITTEN.append(str(path))
    commits = len(set(table.column("commit").to_pylist()))
    print(f"wrote {path}: {table.num_rows} results of {commits} commit(s)", file=out)
    return 0


def cmd_compare(args, out=None) -> int:
    out = out or sys.stdout
    import math

    from .results.compare import compare_checked

    limit = None
    if args.fail_above is not None:
        try:
            limit = float(args.fail_above.removesuffix("%"))  # "5%" is 5; "5%%" is refused
        except ValueError:
            limit = math.nan
        if not math.isfinite(limit):
            raise BulksimError(f"--fail-above takes a percentage (e.g. 5 or 2.5), got {args.fail_above!r}")
    text, failure = compare_checked(args.files, base=args.base, emit=args.emit, sort=args.sort,
                                    filters=args.filter, fmt=args.output, out=args.out, force=args.force,
                                    fail_above=limit, per_seed=getattr(args, "per_seed", False))
    if args.out and args.output == "parquet":
        WRITTEN.append(str(args.out))
    print(text, file=out)
    if failure:
        sys.stdout.flush()
        print(f"bulksim: compare: {failure}", file=sys.stderr)
        return 1
    return 0


def cmd_validate(args, out=None) -> int:
    out = out or sys.stdout
    from .inputs.costs import get_profile
    from .results.validate import strict_failures, validate, validation_text

    profile = args.profile  # None: each row on the profile its hardware implies
    if profile is not None:
        get_profile(profile)
    if args.output not in ("table", "md", "json"):
        raise BulksimError(f"validate: output format must be table, md or json, got {args.output!r}")
    only = [k.strip() for k in args.rows.split(",") if k.strip()] if args.rows is not None else None
    if only == []:
        raise BulksimError("--rows: no row named (bulksim validate lists them)")
    measured = _measure_cli.validate_rows(args)  # the rows of --measured FILE (read first: fails fast)
    rows = validate(calls=_int(args.calls, "--calls"), seed=_int(args.seed, "--seed"), profile=profile,
                    only=only)
    rows += measured
    if args.output == "json":
        from .results.jsonout import dumps, validate_document

        print(dumps(validate_document(rows)), file=out)
    else:
        print(validation_text(rows, args.output), file=out)
    bad = strict_failures(rows) if getattr(args, "strict", False) else []
    if bad:
        print(f"bulksim: validate --strict: {len(bad)} test row(s) outside the model's range: "
              f"{', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "scenarios": cmd_scenarios, "profiles": cmd_profiles,
            "history": cmd_history, "bench": cmd_bench, "sweep": cmd_sweep, "report": cmd_report,
            "compare": cmd_compare, "measure": lambda args: _measure_cli.run(args),
            "calibrate": calibrate_cli.run}


def main(argv: Sequence[str] | None = None, *, _restore_handlers: bool = True) -> int:
    """Run one command; the exit status (docs/errors.md).  SIGINT (130) and SIGTERM (143)
    at any moment end with their status and one line saying which files, if any, were
    written: all of a result or none of it (``engine.results.tables.write_tables``)."""
    return guarded(lambda: _dispatch(argv), "bulksim", _restore_handlers=_restore_handlers)


_PROG = ["bulksim"]  # the name on every line guarded() prints


def guarded(body, prog: str = "bulksim", *, _restore_handlers: bool = True) -> int:
    """Run ``body()`` (which returns an exit status) under the command-line contract:
    bad input (``BulksimError``) one line ``PROG: error: ...`` and 2, a broken invariant
    3, SIGINT 130 and SIGTERM 143 at any moment with one line, a failed standard output
    (``> /dev/full``) one line and 2, a closed one (``| true``) 141.  ``bulksim`` and the
    scripts in tools/ share it."""
    import signal
    import threading

    _PROG[0] = prog
    _SIGNALS.update(late=False, got=None)
    tables = sys.modules.get("engine.results.tables")
    if tables is not None:
        tables.COMMITTED.clear()
    WRITTEN.clear()
    saved = None
    if threading.current_thread() is threading.main_thread():
        # A shell starts background jobs with SIGINT ignored, and Python then keeps it
        # ignored; bulksim always stops cleanly on SIGINT (nothing half-written).
        saved = signal.signal(signal.SIGTERM, _on_signal), signal.signal(signal.SIGINT, _on_signal)
        saved_hup = signal.getsignal(signal.SIGHUP)
        _catch(signal.SIGHUP, _on_signal)
    saved_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable(saved_hook)
    saved_err = sys.stderr
    sys.stderr = _QuietStderr(saved_err)
    import engine

    try:
        early = engine._EARLY_SIGNALS
        if early:  # a signal during start-up (the imports): nothing was started
            early_signum = early[0]
            early.clear()
            raise (HungUp() if early_signum == signal.SIGHUP else Terminated()
                   if early_signum == signal.SIGTERM else KeyboardInterrupt())
        rc = _run_guarded(body)
    except KeyboardInterrupt as e:  # a signal while an error was being reported
        rc = _interrupted(e)
    _SIGNALS["late"] = True
    rc = _late_status(rc)
    if _restore_handlers:
        sys.unraisablehook = saved_hook
        sys.stderr = saved_err
    if saved is not None and _restore_handlers:  # called from Python: leave its handlers as they were
        signal.signal(signal.SIGTERM, saved[0])
        signal.signal(signal.SIGINT, saved[1])
        signal.signal(signal.SIGHUP, saved_hup)
    return rc


def _dispatch(argv) -> int:
    parser = make_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse would say it without the command's name
        cmd = f"{args.command}: " if args.command else ""
        hint = f" ('bulksim {args.command} --help' lists the options)" if args.command else ""
        raise BulksimError(f"{cmd}unrecognized arguments: {' '.join(extra)}{hint}")
    if not args.command:  # bad input like any other: one line on stderr, nothing on stdout
        raise BulksimError(f"a command is needed: {', '.join(sorted(COMMANDS))} ('bulksim --help' says what each does)")
    _check_path_options(args)
    return COMMANDS[args.command](args)


def _run_guarded(body) -> int:
    prog = _PROG[0]
    try:
        real = sys.stdout
        sys.stdout = _GuardedStdout(real)
        try:
            rc = body()
            sys.stdout.flush()  # a full device fails here, inside the contract, not at exit
            _SIGNALS["late"] = True  # the outcome is decided
        finally:
            sys.stdout = real
        return rc
    except InvariantError as e:
        _SIGNALS["late"] = True
        print(f"{prog}: error: {one_line(str(e))}", file=sys.stderr)
        return 3
    except BulksimError as e:
        _SIGNALS["late"] = True
        print(f"{prog}: error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        return _interrupted(e)
    except BrokenPipeError:
        _SIGNALS["late"] = True
        return _stdout_closed()
    except SystemExit as e:  # --help, --version: done, and still under the contract
        _SIGNALS["late"] = True
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            return _stdout_closed()
        except OSError as err:
            _silence_stdout()
            print(f"{prog}: error: cannot write to standard output ({err.strerror or err})", file=sys.stderr)
            return 2
        return e.code if isinstance(e.code, int) else 0 if e.code is None else 2


class _ToolParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line through guarded(), no usage dump
        raise BulksimError(message)


def tool_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An argument parser for a script in tools/: a bad argument is one line and exit 2
    (through ``guarded``), never a usage dump."""
    return _ToolParser(prog=prog, description=description)


def _interrupted(e: KeyboardInterrupt) -> int:
    """The line and status of a command stopped by SIGINT or SIGTERM."""
    _SIGNALS["late"] = True
    why, status = _stop(e)
    tables = sys.modules.get("engine.results.tables")
    done = list(tables.COMMITTED) if tables is not None else []
    if done:
        shown = ", ".join(str(p) for p in done)
        what = f"{shown} {'was' if len(done) == 1 else 'were'} written in full before it"
    else:
        what = "nothing was written"
    _say(f"{_PROG[0]}: {why}; {what}")
    return status


def _late_status(rc: int) -> int:
    """``rc``, or 129/130/143 when a signal arrived after the outcome was decided."""

    got = _SIGNALS["got"]
    if got is None or rc in (129, 130, 143):
        return rc
    why, status = _stop(got)
    _say(f"{_PROG[0]}: {why} as it finished; what it printed and wrote is complete")
    return status


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def entry() -> None:
    """The ``bulksim`` command: ``main()``, then exit without the interpreter's clean-up,
    where a signal or a failed flush could only be a traceback."""
    import os

    rc = main(_restore_handlers=False)
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError, AttributeError):  # a closed fd 2 (2>&-): sys.stderr is None
            pass
    os._exit(_late_status(rc))


def one_line(message: str) -> str:
    """An error message as exactly one printable line: every control character (a
    newline or escape sequence in a foreign table's value or a file name) and every
    unprintable character is shown escaped, as repr shows it."""
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


PATH_OPTIONS = {"out": "--out", "trace": "--trace", "results": "RESULTS", "files": "FILE"}


def _check_path_options(args) -> None:
    """An empty path (``--out ""``) is bad input for every path option of every command,
    never an option silently ignored; so is one the OS cannot use (``engine.checks.need_path``)."""
    from .checks import need_path

    for attr, flag in PATH_OPTIONS.items():
        v = getattr(args, attr, None)
        for one in (v if isinstance(v, list) else [v]):
            if one is not None:
                need_path(one, flag)  # empty, not UTF-8, a name too long: one line, exit 2


class _QuietStderr:
    """``sys.stderr`` for one command: standard error is where a command says what went
    wrong, so a closed (``2>&-``, where Python sets ``sys.stderr`` to None and ``print``
    would write the error line to standard output), full (``2>/dev/full``) or broken
    one drops the line and never changes the exit status or reaches standard output."""

    def __init__(self, real):
        self._real = real

    def write(self, text):
        if self._real is None:
            return len(text)
        try:
            return self._real.write(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self):
        if self._real is not None:
            try:
                self._real.flush()
            except (OSError, ValueError):
                pass

    def isatty(self):
        try:
            return self._real is not None and self._real.isatty()
        except (OSError, ValueError):
            return False

    def __getattr__(self, name):
        if self._real is None:
            raise AttributeError(name)
        return getattr(self._real, name)


class _StdoutFailed(BulksimError):
    """Writing standard output failed (not a closed pipe): ENOSPC, EIO, ..."""


class _GuardedStdout:
    """``sys.stdout`` for one command: a failed write or flush (``>/dev/full``) becomes
    one line on stderr and exit 2; a closed pipe stays BrokenPipeError (exit 141)."""

    def __init__(self, real):
        self._real = real

    def _guard(self, fn, *a):
        try:
            return fn(*a)
        except BrokenPipeError:
            raise
        except OSError as e:
            _silence_stdout()
            files = _written_first()
            raise _StdoutFailed(f"cannot write to standard output ({e.strerror or e}){files}") from None

    def write(self, text):
        return self._guard(self._real.write, text)

    def flush(self):
        return self._guard(self._real.flush)

    def __getattr__(self, name):
        return getattr(self._real, name)


def _written_first() -> str:
    """The files this command wrote (all before its first print), for the line on a
    failed or closed standard output; nothing for a command that wrote none
    (``scenarios``, ``compare``, the tools), which must not claim any."""
    tables = sys.modules.get("engine.results.tables")
    done = list(dict.fromkeys([str(p) for p in (tables.COMMITTED if tables is not None else [])]
                              + WRITTEN))
    if not done:
        return ""
    return f"; {', '.join(str(p) for p in done)} {'was' if len(done) == 1 else 'were'} written in full before it"


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so Python's flush at exit does not fail a second time."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _stdout_closed() -> int:
    """Standard output was closed early (``| head -1``): every file was written
    before anything was printed, so nothing is lost; say on one line which files
    (or that the command wrote none), exit 141."""
    import os

    try:  # no second BrokenPipeError when Python flushes stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    files = _written_first()
    if _PROG[0] != "bulksim":  # a script in tools/: it writes no result files
        what = "the output was cut short"
    else:
        what = files[2:] if files else "the output was cut short; this command wrote no file"
    print(f"{_PROG[0]}: standard output was closed early; {what}", file=sys.stderr)
    return 141


if __name__ == "__main__":
    entry()
