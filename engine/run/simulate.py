"""Runs strategies over a scenario in chunks and gathers the results.

The only module that calls kernels from plain Python.  State lives in arrays owned
here (``engine.state``), so memory does not grow with the number of calls and the
chunk size cannot change a result.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from ..errors import BadInputError, BadTypeError, InvariantError
from ..inputs.costs import DEFAULT_PROFILE, get_profile
from ..inputs.scenario import Scenario
from ..model import invariants
from ..model import state as st_mod
from ..model.events import EVENTS, N_EVENTS, PH_HOOK
from ..model.state import STRATEGIES

DEFAULT_CHUNK_CALLS = 1 << 16

# Set by a sweep that is interrupted: runs in worker threads stop after their current
# kernel chunk (signals reach only the main thread).
_STOP = threading.Event()


class Cancelled(KeyboardInterrupt):
    """A run in a worker thread stopped because its sweep was interrupted."""
MAX_DETAIL_CALLS = 1_000_000


@dataclass
class StrategyRun:
    """One strategy's outcome: counters, final state, cycles per phase."""

    strategy: str
    counters: np.ndarray  # int64 [4, N_EVENTS]
    run_hist: np.ndarray  # int64 [RUN_HIST_BUCKETS]
    state: dict
    per_call: np.ndarray | None
    elapsed_s: float
    # counters of consecutive batches of calls, int64 [B, 4, N_EVENTS], and the calls
    # in each (engine.results.error: the Monte-Carlo error is estimated from them)
    batches: np.ndarray | None = None
    batch_calls: np.ndarray | None = None

    @property
    def kernel(self) -> str:
        """The kernel generation the strategy ran on."""
        return self.state["kernel"]


@dataclass
class Result:
    scenario: Scenario
    seed: int
    profile: str
    runs: dict[str, StrategyRun] = field(default_factory=dict)
    passes: str = ""  # how the strategies ran: one pass for all, or one each (and why)
    # a precision-controlled run: target, what it watched, what it reached and why it
    # stopped (``simulate(precision=...)``); None for a run of fixed length
    precision: dict | None = None

    @property
    def summary(self):
        from ..results.tables import summary_table

        return summary_table(self)

    def run_length_table(self):
        from ..results.tables import run_length_table

        return run_length_table(self)


def parse_strategies(spec: str | Iterable[str] | None) -> list[str]:
    if spec is None or spec == "all":
        return list(STRATEGIES)
    if not isinstance(spec, str):
        try:
            spec = list(spec)
        except TypeError:
            raise BadTypeError(f"strategies must be 'all', a comma-separated string or a list of "
                               f"names, got {type(spec).__name__}") from None
        if not all(isinstance(n, str) for n in spec):
            raise BadTypeError("strategies must be strategy names (strings)")
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else spec
    out = []
    for n in names:
        if n not in STRATEGIES:
            import difflib

            close = difflib.get_close_matches(n, STRATEGIES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise BadInputError(f"unknown strategy {n[:40]!r}{hint}; known: {', '.join(STRATEGIES)}")
        if n not in out:
            out.append(n)
    if not out:
        raise BadInputError("no strategy given")
    return out


def dump_state(P: st_mod.Params, S: st_mod.State) -> dict:
    """The final state in the layout the invariants and the reference tests use,
    read by the names the kernels use (``state.kernel_view``)."""
    K = st_mod.kernel_view(S)
    ring = K.live.shape[0]
    head, count = S.misc[st_mod.M_LIVE_HEAD], S.misc[st_mod.M_LIVE_COUNT]
    live = K.live[(head + np.arange(count)) % ring]
    _, live_node, live_objcg, _ = st_mod.unpack_live_meta(live["meta"])
    nc, m, no = P.n_counters, P.memcgs, P.n_objcgs
    return {
        "counters": S.counters.copy(),
        "run_hist": S.run_hist.copy(),
        "pc_usage": K.pc["usage"].copy(),
        "pc_failcnt": K.pc["failcnt"].copy(),
        "pc_max": K.pc["max"].copy(),
        "stock_objcg": K.cpu["objcg"].copy(),
        "stock_nr_bytes": K.cpu["bytes"].copy(),
        "stock_pgdat": K.cpu["pgdat"].copy(),
        "stock_acc_r": K.cpu["acc"][:, 0].copy(),
        "stock_acc_u": K.cpu["acc"][:, 1].copy(),
        "mstock_memcg": K.ms["memcg"].copy(),
        "mstock_pages": K.ms["pages"].copy(),
        "oslot_objcg": K.cpu["oslot"].copy(),
        "oslot_bytes": K.cpu["obytes"].copy(),
        "stock_index": K.cpu["index"].copy(),
        "stock_rr": K.cpu["orr"].copy(),
        "mstock_rr": K.ms["rr"].copy(),
        "drain_pending": K.cpu["pending"].copy(),
        "objcg_refs": K.memcg["refs"].copy(),
        "nr_charged_bytes": K.memcg["nr_charged"].copy(),
        "objcg_memcg": K.memcg["memcg"].copy(),
        "pagecache": K.pc["pagecache"][:m].copy(),
        "stat": S.stat.copy(),
        "live_slab": live["obj"] >> st_mod.OBJ_SHIFT,
        "live_node": live_node,
        "live_objcg": live_objcg,
        "line_owner_pc": S.owner[:nc].copy(),
        "line_owner_objcg": S.owner[nc:nc + no].copy(),
        "line_owner_stat": S.owner[nc + no:].copy(),
        "forced": int(S.misc[st_mod.M_FORCED]),
        "kernel": st_mod.GENERATIONS[P.gen],
    }


PASSES = ("auto", "fused", "separate")


def fusable(scn: Scenario) -> tuple[bool, str]:
    """Whether one pass over the allocator gives every strategy exactly the run it
    would have alone, and if not, why (docs/performance.md, "One pass for every
    strategy").

    The strategies share everything but their hooks' state, except when a hook
    fails: the allocator then frees the call's objects (``kmem_cache_free_bulk``)
    and that strategy's live set, slabs and sheaves go their own way.  A hook fails
    only when a charge fails (``try_charge_memcg``), which needs a page-counter
    limit (``memcg_max_pages`` or ``ancestor_max_pages``) and a request that may not
    be forced over it (neither ``gfp_nofail`` nor ``gfp_high``).
    """
    if not isinstance(scn, Scenario):
        raise BadTypeError(f"scenario must be an engine Scenario, got {type(scn).__name__}")
    limited = bool(scn.memcg_max_pages or scn.ancestor_max_pages)
    if limited and not (scn.gfp_nofail or scn.gfp_high):
        return False, ("a memory limit is set, so a charge can fail, and a failed call frees "
                       "its objects: that strategy's allocator stream differs")
    return True, ""


def choose_passes(scn: Scenario, names: list[str], passes: str = "auto") -> tuple[list[list[str]], str]:
    """How the strategies run: groups of strategies that share one pass, and a line
    that says so (``Result.passes``)."""
    if not isinstance(passes, str):
        raise BadTypeError(f"passes must be one of {', '.join(PASSES)} (a string), got {type(passes).__name__}")
    if passes not in PASSES:
        raise BadInputError(f"passes must be one of {', '.join(PASSES)}, got {passes[:40]!r}")
    ok, why = fusable(scn)
    if passes == "fused" and not ok and len(names) > 1:  # one strategy: its own pass is exact
        raise BadInputError(f"passes=fused: the strategies cannot share one pass here: {why}")
    if len(names) > 1 and ok and passes != "separate":
        return [list(names)], f"one pass for {len(names)} strategies (fused)"
    if len(names) == 1:
        return [list(names)], "one pass (one strategy)"
    reason = "asked for" if passes == "separate" else why
    return [[n] for n in names], f"one pass per strategy (separate: {reason})"


def run_strategy(
    scn: Scenario,
    strategy: str,
    seed: int,
    **kwargs,
) -> StrategyRun:
    """Simulate one strategy from the initial state; returns its counters and state.
    Keyword arguments as ``run_strategies``."""
    if not isinstance(strategy, str):
        raise BadInputError(f"unknown strategy {str(strategy)[:40]!r}; known: {', '.join(STRATEGIES)}")
    return run_strategies(scn, [strategy], seed, **kwargs)[strategy]


def run_strategies(
    scn: Scenario,
    strategies: list[str],
    seed: int,
    *,
    calls: int | None = None,
    trace=None,
    chunk_calls: int = DEFAULT_CHUNK_CALLS,
    detail: bool = False,
    progress: Callable[[int, int], None] | None = None,
    check: bool = True,
    check_every: int = 0,
    max_memory: int | None = None,
) -> dict[str, StrategyRun]:
    """Simulate ``strategies`` in one pass over the allocator, from the initial state:
    each strategy's hooks run on its own memcg state (``state.Stack``).  The caller
    makes sure the pass is exact for them (``fusable``, ``choose_passes``); a hook
    that fails in a pass of several strategies raises InvariantError.

    ``check_every`` > 0 also checks the invariants every that many calls (soak runs).
    ``max_memory``: the memory budget in bytes (default: half the machine's memory).
    Raises BadInputError (a ValueError) or BadTypeError (also a TypeError) for bad
    arguments, ResourceError over the budget, before anything is allocated.
    ``elapsed_s`` of each run is the pass's time.
    """
    p = Pass(scn, strategies, seed, calls=calls, trace=trace, chunk_calls=chunk_calls, detail=detail,
             progress=progress, check_every=check_every, max_memory=max_memory)
    p.advance(p.n_calls)
    return p.finish(check=check)


class Pass:
    """One pass over the allocator for one or more strategies, advanced in steps.

    ``advance(c)`` simulates calls up to ``c`` (in kernel chunks, each ending at a batch
    boundary of ``engine.results.error.Batches`` so that the batches, and the errors
    estimated from them, do not depend on the chunk size); ``finish()`` checks the
    final state and returns each strategy's ``StrategyRun``.  A precision-controlled
    run (``simulate(precision=...)``) advances its passes checkpoint by checkpoint.
    """

    def __init__(self, scn: Scenario, strategies: list[str], seed: int, *, calls: int | None = None,
                 trace=None, chunk_calls: int = DEFAULT_CHUNK_CALLS, detail: bool = False,
                 progress: Callable[[int, int], None] | None = None, check_every: int = 0,
                 max_memory: int | None = None):
        from ..model.kernel import PER_CALL_FIXED
        from ..results.error import Batches
        from . import budget

        if isinstance(strategies, (str, bytes)) or not isinstance(strategies, (list, tuple)):
            # a string would be split into letters ("unknown strategy 'p'")
            raise BadTypeError(f"strategies must be a list of strategy names, got {type(strategies).__name__}")
        names = list(strategies)
        n_calls = check_run_args(scn, names, seed, calls, trace, chunk_calls, check_every, detail, progress)
        if not names or len(set(names)) != len(names) or len(names) > st_mod.MAX_FUSED:
            raise BadInputError(f"a pass runs 1 to {st_mod.MAX_FUSED} distinct strategies, got {names!r}")
        K = len(names)
        budget.check_memory(scn, n_calls, trace=trace, detail=detail, max_memory=max_memory, strategies=K)
        max_bulk = max(1, trace.max_bulk) if trace is not None else scn.bulk_size
        self.chunk_calls = max(1, budget.chunk_calls_for(scn, max_bulk, chunk_calls) // K)
        live = budget.effective_live_objects(scn, n_calls, max_bulk)
        # A live set larger than every object the run allocates is never reached: the
        # smaller ring gives the identical run in less memory.
        self.Ps, self.A, self.X = _interruptible(
            st_mod.make_fused, scn if live == scn.live_objects else scn.replace(live_objects=live),
            names, seed, trace)
        self.P = self.Ps[0]
        width = PER_CALL_FIXED + N_EVENTS
        if detail and n_calls > MAX_DETAIL_CALLS:
            raise BadInputError(f"per-call detail is kept in memory: at most {MAX_DETAIL_CALLS:,} calls, "
                               f"got {n_calls:,}")
        self.per_call = np.zeros((n_calls if detail else 0, K, width), dtype=np.int64)
        self.empty = np.zeros((0, K, width), dtype=np.int64)
        self.KA, self.KX = st_mod.kernel_view(self.A), st_mod.stack_view(self.X)
        self.scn, self.names, self.n_calls, self.detail = scn, names, n_calls, detail
        self.progress, self.check_every = progress, check_every
        self.batches = Batches(K)
        self.c = 0
        self.elapsed = 0.0

    def cumulative(self) -> np.ndarray:
        """Every strategy's counters so far, ``int64 [K, 4, N_EVENTS]``."""
        return self.A.counters[None] + self.X.counters

    def states(self) -> dict:
        return {name: dump_state(self.Ps[k], st_mod.strategy_state(self.A, self.X, k))
                for k, name in enumerate(self.names)}

    def advance(self, target: int) -> None:
        """Simulate calls ``[self.c, target)``; ``target`` at most ``n_calls``."""
        from ..model.kernel import run_calls

        target = min(int(target), self.n_calls)
        names, check_every = self.names, self.check_every
        t0 = time.perf_counter()
        c = self.c
        while c < target:
            c1 = min(target, c + self.chunk_calls, self.batches.next_boundary(c))
            if check_every:
                c1 = min(c1, (c // check_every + 1) * check_every)
            out = self.per_call[c:c1] if self.detail else self.empty
            err = run_calls(self.P, self.KA, self.KX, np.int64(c), np.int64(c1), out)
            if err == st_mod.ERR_FUSED_FAILURE:
                raise InvariantError(
                    f"a hook failed at call {c}..{c1} in one pass of {', '.join(names)}: this scenario "
                    "cannot share a pass (engine.run.simulate.fusable); please report it")
            if err:
                raise InvariantError(
                    f"slab table full at call {c}..{c1} (strategies {', '.join(names)}): the scenario "
                    f"holds more slabs than the model's bound of {self.P.slab_cap}; please report this scenario")
            c = self.c = c1
            if c == self.batches.next_boundary(c - 1):
                self.batches.record(c, self.cumulative())
            if _STOP.is_set() and threading.current_thread() is not threading.main_thread():
                raise Cancelled()
            if check_every and c % check_every == 0:
                for name, state in self.states().items():
                    invariants.check(self.scn, name, state)
            if self.progress is not None:
                self.progress(c, self.n_calls)
        self.elapsed += time.perf_counter() - t0

    def snapshot(self) -> dict[str, StrategyRun]:
        """Each strategy's counters and batches so far, without the final-state checks
        (what a precision-controlled run's stopping rule reads between chunks)."""
        counts, calls = self.batches.final(self.c, self.cumulative())
        return {name: StrategyRun(name, self.A.counters + self.X.counters[k], self.X.run_hist[k].copy(),
                                  {"kernel": st_mod.GENERATIONS[self.Ps[k].gen]}, None, self.elapsed,
                                  counts[:, k], calls)
                for k, name in enumerate(self.names)}

    def finish(self, check: bool = True) -> dict[str, StrategyRun]:
        """Check the final state of every strategy; their runs, batches included."""
        counts, calls = self.batches.final(self.c, self.cumulative())
        out = {}
        for k, name in enumerate(self.names):
            state = dump_state(self.Ps[k], st_mod.strategy_state(self.A, self.X, k))
            if check:
                invariants.check(self.scn, name, state)
            per_call = self.per_call[:self.c, k].copy() if self.detail else None
            out[name] = StrategyRun(name, self.A.counters + self.X.counters[k], self.X.run_hist[k].copy(),
                                    state, per_call, self.elapsed, counts[:, k].copy(), calls.copy())
        return out


def _interruptible(fn, *args):
    """``fn(*args)`` in a helper thread while the main thread waits in short steps, so a
    signal (SIGTERM, Ctrl-C) is handled within a fraction of a second even while numpy
    initialises a state of gigabytes (seconds in one call the interpreter cannot
    interrupt).  The helper is a daemon: an interrupted process exits without it.
    Outside the main thread (sweep workers) ``fn`` runs directly and the sweep's stop
    flag is checked right after it."""
    if threading.current_thread() is not threading.main_thread():
        out = fn(*args)
        if _STOP.is_set():
            raise Cancelled()
        return out
    box: dict = {}

    def work():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=work, name="bulksim-make-state", daemon=True)
    t.start()
    while t.is_alive():
        t.join(0.05)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _need_int(value, what: str, lo: int, hi: int) -> int:
    from ..checks import need_int

    return need_int(value, what, lo, hi)


def check_run_args(scn, strategies, seed, calls, trace, chunk_calls, check_every, detail,
                   progress=None) -> int:
    """Validate ``run_strategies``' arguments (every strategy name, and the trace
    against the scenario, once); the number of calls the run will simulate."""
    from ..inputs.scenario import MAX_CALLS
    from ..inputs.trace import check_fits

    if not isinstance(scn, Scenario):
        raise BadTypeError(f"scenario must be an engine Scenario, got {type(scn).__name__}")
    for strategy in strategies:
        if not isinstance(strategy, str) or strategy not in STRATEGIES:
            raise BadInputError(f"unknown strategy {str(strategy)[:40]!r}; known: {', '.join(STRATEGIES)}")
    _need_int(seed, "seed", 0, 2**63 - 1)
    _need_int(chunk_calls, "chunk size", 1, 2**62)
    _need_int(check_every, "check interval", 0, 2**62)
    if not isinstance(detail, bool):
        raise BadTypeError(f"detail must be True or False, got {detail!r}")
    if progress is not None and not callable(progress):
        raise BadTypeError(f"progress must be a callable (done, total) or None, "
                           f"got {type(progress).__name__}")
    if calls is not None:
        calls = _need_int(calls, "calls", 0, MAX_CALLS)
    if trace is not None:
        check_fits(trace, scn)
        return trace_calls(trace, calls)
    return scn.calls if calls is None else calls


def trace_calls(trace, calls: int | None) -> int:
    """The calls a trace replay runs: all of the trace's.  A ``calls`` value given with a
    trace must equal the trace's count (never silently replaced by it)."""
    if calls is not None and calls != trace.n_calls:
        raise BadInputError(f"calls: the trace has {trace.n_calls:,} calls, got calls={calls:,}; "
                            "a trace is replayed whole (omit calls, or give its count)")
    return trace.n_calls


class _Progress:
    """A one-line progress report on stderr for runs longer than a second or two."""

    def __init__(self, label: str, enabled: bool):
        self.label, self.enabled = label, enabled
        self.t0 = time.perf_counter()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if callable(self.enabled):  # off a terminal: the caller reports (engine.progress)
            self.enabled(self.label, done, total)
            return
        if not self.enabled:
            return
        t = time.perf_counter() - self.t0
        if t < 1.0 and not self.shown:
            return
        self.shown = True
        eta = t / done * (total - done) if done else 0.0
        sys.stderr.write(f"\r{self.label}: {done:,}/{total:,} calls ({100 * done / total:.0f}%), "
                         f"ETA {eta:.0f} s   ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def simulate(
    scenario: Scenario | str = "default",
    strategies: str | Iterable[str] | None = "all",
    profile: str = DEFAULT_PROFILE,
    seed: int = 0,
    *,
    calls: int | None = None,
    trace=None,
    chunk_calls: int = DEFAULT_CHUNK_CALLS,
    detail: bool = False,
    progress: bool | Callable[[str, int, int], None] = False,
    check_every: int = 0,
    max_memory: int | None = None,
    passes: str = "auto",
    precision: float | None = None,
    max_calls: int | None = None,
    precision_on: str = "hook",
) -> Result:
    """Run every strategy on the identical seeded object stream.

    Parameters
    ----------
    scenario : Scenario or preset name.
    strategies : "all", a comma-separated string or a list of strategy names.
    profile : cost profile name (``engine.costs.PROFILES``).
    seed : non-negative integer below 2**63.
    calls : override ``scenario.calls``.
    trace : an ``engine.trace.Trace`` to replay instead of the SLUB model.
    detail : keep per-call figures (for the per-call table).
    progress : True for a progress line on stderr (a terminal's: it rewrites itself),
        or a callable ``(label, done_calls, total_calls)`` called after every chunk
        (``engine.progress.Heartbeat.progress`` prints a line now and then off a terminal).
    max_memory : memory budget in bytes (default: half the machine's memory).
    passes : "auto" (one pass over the allocator for all strategies when that is
        exact, ``fusable``; else one pass each), "fused" (refused where not exact)
        or "separate".  ``Result.passes`` says which ran; results are identical.

    Returns
    -------
    Result, whose ``.summary`` is a ``pyarrow.Table`` with one row per strategy.
    Raises (engine.errors, docs/errors.md) BadInputError, a ValueError, on bad input;
    BadTypeError, also a TypeError, for an argument of the wrong type; ResourceError
    if the state would exceed ``max_memory``; InvariantError if a run breaks an
    invariant.  Every argument is checked before anything is allocated or run.
    """
    scn = Scenario.from_preset(scenario) if isinstance(scenario, str) else scenario
    if not isinstance(scn, Scenario):
        raise BadTypeError(f"scenario must be a Scenario or a preset name, got {type(scn).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise BadTypeError(f"seed must be an integer in [0, 2**63), got {str(seed)[:40]!r}")
    if not 0 <= seed < 2**63:
        raise BadInputError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    if not isinstance(profile, str):
        raise BadTypeError(f"profile must be a profile name, got {type(profile).__name__}")
    get_profile(profile)
    names = parse_strategies(strategies)
    for flag, v in (("detail", detail), ("progress", progress)):
        if not isinstance(v, bool) and not (flag == "progress" and callable(v)):
            raise BadTypeError(f"{flag} must be True or False{' or a callable' * (flag == 'progress')}, "
                               f"got {v!r}")
    for name in names:  # a strategy asked for on a generation it does not exist on
        st_mod.resolve_stock_lock(scn.stock_lock, st_mod.resolve_generation(scn.kernel, name), name)
    if precision is not None:
        precision, max_calls = check_precision_args(precision, max_calls, precision_on, calls, trace, scn)
        scn = scn.replace(calls=max_calls)
    elif max_calls is not None:
        raise BadInputError("max_calls is the cap of a precision-controlled run: give precision too")
    if calls is not None:
        from ..inputs.scenario import MAX_CALLS

        calls = _need_int(calls, "calls", 0, MAX_CALLS)
        scn = scn.replace(calls=calls)
    if trace is None and scn.trace:
        from ..inputs.trace import load

        trace = load(scn.trace, scn)
    if trace is not None:
        from ..inputs.trace import check_fits

        check_fits(trace, scn)
        trace_calls(trace, calls)
    # Every strategy's arguments, the trace and the memory budget, before any run.
    from . import budget

    groups, how = choose_passes(scn, names, passes)
    n_calls = check_run_args(scn, names, seed, None, trace, chunk_calls, check_every, detail)
    budget.check_memory(scn, n_calls, trace=trace, detail=detail, max_memory=max_memory,
                        strategies=max(len(g) for g in groups),
                        runs_at_once=len(groups) if precision is not None else 1)
    result = Result(scn, int(seed), profile, passes=how)
    if precision is not None:
        result = _run_to_precision(result, groups, trace, precision, precision_on, chunk_calls=chunk_calls,
                                   detail=detail, progress=progress, check_every=check_every,
                                   max_memory=max_memory)
    for k, group in enumerate(groups if precision is None else []):
        label = ", ".join(group) if len(group) < 3 else f"{len(group)} strategies"
        bar = _Progress(f"[{k + 1}/{len(groups)}] {label}" if len(groups) > 1 else label, progress)
        runs = run_strategies(scn, group, int(seed), trace=trace, chunk_calls=chunk_calls,
                              detail=detail, progress=bar, check_every=check_every,
                              max_memory=max_memory)
        bar.close()
        result.runs.update(runs)
    invariants.check_across(scn, {n: r.state for n, r in result.runs.items()},
                            {n: int(r.counters[PH_HOOK, EVENTS.index("hook_failures")])
                             for n, r in result.runs.items()})
    return result


PRECISION_MAX_CALLS = 10_000_000  # the default cap of a precision-controlled run
PRECISION_MIN_CALLS = 16_384  # its first checkpoint
PRECISION_ON = ("hook", "ratios")


def check_precision_args(precision, max_calls, precision_on, calls, trace, scn) -> tuple[float, int]:
    """Validate a precision-controlled run's arguments; ``(precision, cap)``."""
    from ..inputs.scenario import MAX_CALLS

    if isinstance(precision, bool) or not isinstance(precision, (int, float, np.floating, np.integer)):
        raise BadTypeError(f"precision must be a number (a fraction, e.g. 0.001), got {str(precision)[:40]!r}")
    precision = float(precision)
    if not 0 < precision < 1:
        raise BadInputError(f"precision must be a fraction in (0, 1), e.g. 0.001 for +-0.1%, got {precision!r}")
    if calls is not None:
        raise BadInputError("calls and precision exclude each other: a precision-controlled run "
                            "chooses its calls (give the cap as max_calls)")
    if trace is not None or scn.trace:
        raise BadInputError("precision: a trace is replayed whole, so its calls cannot be chosen")
    if precision_on not in PRECISION_ON:
        raise BadInputError(f"precision_on must be one of {', '.join(PRECISION_ON)}, got {str(precision_on)[:40]!r}")
    cap = PRECISION_MAX_CALLS if max_calls is None else _need_int(max_calls, "max_calls", 1, MAX_CALLS)
    return precision, cap


def _run_to_precision(result: Result, groups, trace, precision: float, precision_on: str,
                      **kwargs) -> Result:
    """Advance every pass checkpoint by checkpoint until the watched ratios are precise
    enough or the cap is reached (``engine.results.error``: the rule and the schedule)."""
    from ..results import error

    scn = result.scenario
    cap = scn.calls
    progress = kwargs.pop("progress")
    bar = _Progress(f"to +-{100 * precision:g}%", progress)
    passes = [Pass(scn, g, result.seed, trace=trace, progress=None, **kwargs) for g in groups]
    reached, stop, n = math.inf, "cap", 0
    for n in error.checkpoints(PRECISION_MIN_CALLS, cap):
        for p in passes:
            p.advance(n)
        bar(n, cap)
        probe = Result(scn, result.seed, result.profile)
        for p in passes:
            probe.runs.update(p.snapshot())
        reached = error.worst_precision(probe, which=precision_on)
        if reached <= precision:
            stop = "reached"
            break
    bar.close()
    out = Result(scn.replace(calls=n), result.seed, result.profile, passes=result.passes)
    for p in passes:
        out.runs.update(p.finish())
    out.precision = {"target": precision, "confidence": error.CONFIDENCE, "on": precision_on,
                     "reached": reached, "calls": n, "max_calls": cap, "stop": stop}
    return out


__all__ = ["simulate", "run_strategy", "run_strategies", "fusable", "Result", "StrategyRun", "N_EVENTS"]
