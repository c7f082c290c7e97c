"""``bulksim bench``: how fast the engine simulates, measured the documented way.

Per strategy: simulated objects per second and ns per object (median and spread over
repeats, after a warm-up), the speed-up over the pure-Python reference model
(tests/reference.py, loaded from the source checkout when present, timed on a
smaller slice of the same scenario once its live set is full, the steady state the
engine's runs are timed in), and how independent replicas scale over threads (the
kernels release the GIL).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import BulksimError
from ..inputs.scenario import Scenario
from ..model.events import EV, PH_SLAB_ALLOC
from ..model.jit import kernel_target
from .simulate import fusable, parse_strategies, run_strategies, run_strategy


def reference_path(cwd: Path | None = None) -> Path | None:
    """``tests/reference.py`` of the source checkout of the running package
    (``engine.checkout.find_checkout``: next to the package, or the working folder or
    one above it when bulksim is installed as a package), or None."""
    from ..checkout import find_checkout

    root = find_checkout(cwd)
    path = None if root is None else root / "tests" / "reference.py"
    return path if path is not None and path.is_file() else None


def load_reference():
    """The reference model module from the source checkout (``reference_path``), or None."""
    path = reference_path()
    if path is None:
        return None
    spec = importlib.util.spec_from_file_location("_bulksim_reference", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def reference_params(scn: Scenario) -> dict:
    """The scenario as the reference model's ``params`` dict (automatic values resolved)."""
    d = scn.to_dict()
    for k in ("name", "description", "trace", "calls"):
        d.pop(k)
    d["objs_per_slab"] = scn.resolved_objs_per_slab
    d["sheaf_capacity"] = scn.resolved_sheaf_capacity
    return d


def warmup_calls(scn: Scenario) -> int:
    """Calls that fill the live set from empty: until then nothing is freed, so a
    call costs less than in the steady state the engine's long runs spend their time in."""
    mean_bulk = scn.bulk_size if scn.bulk_dist == "fixed" else (scn.bulk_size + 1) / 2
    return math.ceil(scn.live_objects / mean_bulk)


def reference_ns_per_object(ref, scn: Scenario, strategy: str, seed: int, calls: int,
                            repeat: int = 1) -> tuple[list[float], int]:
    """The reference model's ns per simulated object in steady state, per timed slice,
    and the warm-up.

    The model runs ``warmup_calls(scn)`` calls untimed, then ``repeat`` slices of
    ``calls`` timed calls one after another: the same regime as the engine's
    million-call runs (whose own warm-up is a 0.03% share).  Timing the first calls
    instead would compare the engine's steady state with the reference's cheaper fill
    phase (6-9% less time per object on ``default``).  One slice of 2000 calls is a
    fifth of a second, short enough for a noisy neighbour to move it by 20%: take
    the median of several.
    """
    warm = warmup_calls(scn)
    sim = ref.Sim(reference_params(scn), strategy, seed, None)
    for c in range(warm):
        sim.run_call(c, None)
    out = []
    c0 = warm
    for _ in range(repeat):
        n0 = sim.counters[PH_SLAB_ALLOC][EV["objects"]]
        t = time.perf_counter()
        for c in range(c0, c0 + calls):
            sim.run_call(c, None)
        elapsed = time.perf_counter() - t
        n = sim.counters[PH_SLAB_ALLOC][EV["objects"]] - n0
        out.append(elapsed / max(n, 1) * 1e9)
        c0 += calls
    return out, warm


_CHAIN_CYCLES = 4  # one step of the chain below: a 64-bit multiply (3 cycles) feeding an xor (1)


@functools.cache
def _chain_kernel():
    """The clock probe, compiled (or loaded from the cache) once per process."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def chain(n, x, m):
        for _ in range(n):
            x = (x * m) ^ (x >> 7)  # each step waits for the last: latency, not throughput
        return x

    return chain


def clock_ghz(steps: int = 20_000_000, repeat: int = 3) -> float:
    """The core's clock while busy, in GHz, estimated from a chain of dependent
    multiply-xor steps (4 cycles each on current x86-64 cores: ``imul`` 3, ``xor`` 1).

    ns per object depends on the clock, which a VM's ``/proc/cpuinfo`` does not show
    under boost (this machine's says 2.6 GHz and runs at ~3.7): cycles per object
    (ns x GHz) is the figure to compare between machines.  Best of ``repeat``.
    """
    import numpy as np

    chain = _chain_kernel()
    x, m = np.uint64(1), np.uint64(0x9E3779B97F4A7C15)
    chain(10, x, m)  # compile or load
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        chain(steps, x, m)
        best = min(best, time.perf_counter() - t)
    return _CHAIN_CYCLES * steps / best / 1e9


def changed_settings(scn: Scenario) -> dict:
    """The parameters in which ``scn`` differs from its preset (``--set``), but its length."""
    try:
        base = Scenario.from_preset(scn.name).to_dict()
    except BulksimError:  # not a preset's name
        return {}
    return {k: v for k, v in scn.to_dict().items() if k != "calls" and base.get(k) != v}


def _objects(run) -> int:
    return int(run.counters[:, EV["objects"]].sum())


def check_measure_args(scn: Scenario, strategies="all", *, repeat: int = 5, ref_calls: int = 2000,
                       workers: int = 2) -> list[str]:
    """The checks :func:`measure` makes before it times anything; the strategies' names."""
    if not 1 <= repeat <= 1000:
        raise BulksimError(f"--repeat must be in 1..1000, got {repeat}")
    if not 1 <= workers <= 1024:
        raise BulksimError(f"--workers must be in 1..1024, got {workers}")
    if isinstance(scn.calls, bool) or not isinstance(scn.calls, int) or scn.calls < 1:
        raise BulksimError(f"--calls must be at least 1 (a speed needs calls to time), got {scn.calls}")
    if not 0 <= ref_calls <= 10**7:
        raise BulksimError(f"--ref-calls must be in 0..10000000, got {ref_calls}")
    if scn.trace:  # never silently ignored: the timed runs and the reference are the SLUB model's
        raise BulksimError(f"bench times the SLUB model, not a trace replay; drop trace={scn.trace[:60]!r} "
                           "(bulksim run --trace replays it)")
    from .budget import check_memory

    # every replica thread holds its own state at once
    check_memory(scn, scn.calls, runs_at_once=max(workers, 1))
    return parse_strategies(strategies)


def measure(scn: Scenario, strategies="all", *, repeat: int = 5, ref_calls: int = 2000,
            workers: int = 2, seed: int = 0) -> dict:
    names = check_measure_args(scn, strategies, repeat=repeat, ref_calls=ref_calls, workers=workers)
    ghz = clock_ghz()
    t0 = time.perf_counter()
    for name in names:
        run_strategy(scn, name, seed, calls=10, check=False)
    warmup_s = time.perf_counter() - t0
    ref = load_reference() if ref_calls else None
    # Round-robin over the strategies, so that a slow phase of a shared machine
    # (runs of bench differ by up to ~8%) falls on all of them alike; and, for
    # several strategies, A/B against one pass for all of them (interleaved, the
    # order swapped every round).
    fuse_ok, why_not = fusable(scn)
    do_fused = len(names) > 1 and fuse_ok
    times: dict = {name: [] for name in names}
    objects: dict = {}
    fused_s: list = []
    separate_s: list = []
    for r in range(repeat):
        for fused in ((True, False) if r % 2 else (False, True)):
            if fused:
                if do_fused:
                    runs = run_strategies(scn, names, seed, check=False)
                    fused_s.append(next(iter(runs.values())).elapsed_s)
                continue
            total = 0.0
            for name in names:
                run = run_strategy(scn, name, seed, check=False)
                objects[name] = _objects(run)
                times[name].append(run.elapsed_s / max(objects[name], 1) * 1e9)
                total += run.elapsed_s
            separate_s.append(total)
    whole = None
    if len(names) > 1:
        work = sum(objects.values())  # objects x strategies
        sep = statistics.median(separate_s)
        whole = {"strategies": len(names), "object_strategies": work, "separate_s": sep,
                 "separate_rate": work / sep if sep else float("inf"), "fused": do_fused,
                 "why_not": why_not, "repeats": repeat}
        if do_fused:
            fu = statistics.median(fused_s)
            whole.update(fused_s=fu, fused_rate=work / fu if fu else float("inf"),
                         speedup=sep / fu if fu else float("inf"),
                         fused_min=min(fused_s), fused_max=max(fused_s),
                         separate_min=min(separate_s), separate_max=max(separate_s))
    rows = []
    for name in names:
        ns = times[name]
        med = statistics.median(ns)
        row = {"strategy": name, "ns_per_object": med, "ns_min": min(ns), "ns_max": max(ns),
               "objects_per_second": 1e9 / med if med else float("inf"),
               "cycles_per_object": med * ghz,
               "objects_per_run": objects[name], "ref_ns_per_object": None, "ref_warmup_calls": None,
               "speedup_vs_reference": None}
        if ref is not None:
            ref_ns, warm = reference_ns_per_object(ref, scn, name, seed, ref_calls, repeat)
            ref_ns = statistics.median(ref_ns)
            row["ref_ns_per_object"] = ref_ns
            row["ref_warmup_calls"] = warm
            row["speedup_vs_reference"] = ref_ns / med
        rows.append(row)

    scaling = None
    if workers > 1:
        name = "batched" if "batched" in names else names[0]

        def one(k):
            return run_strategy(scn, name, seed + k, check=False)

        serials, parallels = [], []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in range(repeat):  # alternate, so a noisy neighbour hits both alike
                t = time.perf_counter()
                for k in range(workers):
                    one(k)
                serials.append(time.perf_counter() - t)
                t = time.perf_counter()
                list(pool.map(one, range(workers)))
                parallels.append(time.perf_counter() - t)
        serial, parallel = statistics.median(serials), statistics.median(parallels)
        scaling = {"strategy": name, "workers": workers, "serial_s": serial, "parallel_s": parallel,
                   "speedup": serial / parallel, "repeats": repeat}
    return {"scenario": scn.name, "settings": changed_settings(scn), "calls": scn.calls, "warmup_s": warmup_s,
            "clock_ghz": ghz, "kernel_target": kernel_target(), "repeats": repeat, "rows": rows, "ref_calls": ref_calls,
            "scaling": scaling, "reference_found": ref is not None, "whole": whole}


NOISE_LIMIT = 0.10  # spread (max - min) / median above which bench warns


def noise_warnings(res: dict, limit: float = NOISE_LIMIT) -> list[str]:
    """One line per strategy whose timings spread more than ``limit`` of their median:
    on a shared machine its figures are not worth quoting as they are."""
    out = []
    for r in res["rows"]:
        med = r["ns_per_object"]
        spread = (r["ns_max"] - r["ns_min"]) / med if med else 0.0
        if spread > limit:
            out.append(f"warning: {r['strategy']}'s timings spread {100 * spread:.0f}% "
                       f"({r['ns_min']:.1f}-{r['ns_max']:.1f} ns/object over {res['repeats']} repeats), "
                       f"more than {100 * limit:.0f}%: other work shares the cores; rerun when the "
                       "machine is quiet, or raise --repeat")
    return out


def format_text(res: dict) -> str:
    settings = "".join(f", {k}={v}" for k, v in res["settings"].items())
    out = [f"scenario {res['scenario']}{settings}, {res['calls']:,} calls per run; warm-up (compile or cache load) "
           f"{res['warmup_s']:.2f} s", ""]
    head = ["strategy", "Mobj/s", "ns/object (median)", "spread (min-max)", "cycles/object", "reference ns/obj",
            "speed-up"]
    table = [head]
    for r in res["rows"]:
        table.append([
            r["strategy"], f"{r['objects_per_second'] / 1e6:.1f}", f"{r['ns_per_object']:.1f}",
            f"{r['ns_min']:.1f}-{r['ns_max']:.1f}", f"~{r['cycles_per_object']:.0f}",
            "-" if r["ref_ns_per_object"] is None else f"{r['ref_ns_per_object']:,.0f}",
            "-" if r["speedup_vs_reference"] is None else f"{r['speedup_vs_reference']:,.0f}x",
        ])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for k, row in enumerate(table):
        out.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    if not res.get("ref_calls", 1):
        out.append("\n(reference model not timed: --ref-calls 0)")
    elif not res["reference_found"]:
        out.append("\n(reference model not found: run from a source checkout to measure the speed-up)")
    elif res["rows"] and res["rows"][0]["ref_warmup_calls"] is not None:
        out.append(f"\nreference model: median of {res['repeats']} slices of {res['ref_calls']:,} calls, "
                   f"timed after the {res['rows'][0]['ref_warmup_calls']:,} that fill its live set")
    out.append(f"\ncycles/object at the busy core's clock, ~{res['clock_ghz']:.2f} GHz "
               f"(estimated from a chain of dependent multiplies); kernels compiled for "
               f"{res['kernel_target']}")
    w = res.get("whole")
    if w:
        if w["fused"]:
            out.append(f"\nall {w['strategies']} strategies, medians of {w['repeats']} interleaved rounds: "
                       f"one pass for all {w['fused_s']:.3f} s ({w['fused_rate'] / 1e6:.1f} M objects x "
                       f"strategies/s), one pass each {w['separate_s']:.3f} s "
                       f"({w['separate_rate'] / 1e6:.1f} M/s): {w['speedup']:.2f}x")
        else:
            out.append(f"\nall {w['strategies']} strategies: one pass each {w['separate_s']:.3f} s "
                       f"({w['separate_rate'] / 1e6:.1f} M objects x strategies/s); not run in one "
                       f"pass: {w['why_not']}")
    s = res["scaling"]
    if s:
        out.append(f"\n{s['workers']} independent replicas of {s['strategy']} in threads "
                   f"(medians of {s['repeats']}): {s['serial_s']:.2f} s one after another, "
                   f"{s['parallel_s']:.2f} s at once: {s['speedup']:.2f}x")
    warnings = noise_warnings(res)
    if warnings:
        out += [""] + warnings
    return "\n".join(out)


def measure_precision(scenarios: list[Scenario], strategies="per_object,batched", *, precision: float = 0.001,
                      fixed_calls: int = 1_000_000, repeat: int = 5, seed: int = 0,
                      max_calls: int | None = None) -> dict:
    """Time to a +-``precision`` ratio against a fixed run of ``fixed_calls``, A/B in one
    run: per scenario and round, a precision-controlled ``simulate`` (engine.results.error:
    the stopping rule) and a fixed one, interleaved with the order swapped every round so
    that a slow phase of a shared machine falls on both alike; medians of the host times
    (the whole ``simulate``: checkpoints, error estimates and invariant checks included)."""
    from .simulate import simulate

    if not 1 <= repeat <= 1000:
        raise BulksimError(f"--repeat must be in 1..1000, got {repeat}")
    if isinstance(fixed_calls, bool) or not isinstance(fixed_calls, int) or fixed_calls < 1:
        raise BulksimError(f"--calls must be at least 1, got {fixed_calls}")
    names = parse_strategies(strategies)
    if not scenarios:  # an empty table would look like a measurement
        raise BulksimError("bench --precision needs at least one scenario")
    if len({repr(s.to_dict()) for s in scenarios}) < len(scenarios):  # its row would be shown twice
        raise BulksimError("bench --precision: a scenario given twice")
    rows = []
    for scn in scenarios:
        simulate(scn, strategies=names, seed=seed, calls=10)  # compile or load the kernels
        t_prec, t_fixed = [], []
        reached = None
        for r in range(repeat):
            for prec_first in ((True, False) if r % 2 == 0 else (False, True)):
                t = time.perf_counter()
                if prec_first:
                    res = simulate(scn, strategies=names, seed=seed, precision=precision, max_calls=max_calls)
                    t_prec.append(time.perf_counter() - t)
                    reached = res.precision
                else:
                    simulate(scn, strategies=names, seed=seed, calls=fixed_calls)
                    t_fixed.append(time.perf_counter() - t)
        tp, tf = statistics.median(t_prec), statistics.median(t_fixed)
        rows.append({"scenario": scn.name, "precision_s": tp, "precision_min": min(t_prec),
                     "precision_max": max(t_prec), "fixed_s": tf, "fixed_min": min(t_fixed),
                     "fixed_max": max(t_fixed), "speedup": tf / tp if tp else math.inf,
                     "calls": reached["calls"], "reached": reached["reached"], "stop": reached["stop"]})
    return {"precision": precision, "fixed_calls": fixed_calls, "strategies": names, "repeats": repeat,
            "seed": seed, "rows": rows}


def format_precision(res: dict) -> str:
    out = [f"time to a ±{res['precision']:g} hook ratio ({', '.join(res['strategies'])}; seed {res['seed']}) "
           f"against a fixed run of {res['fixed_calls']:,} calls, medians of {res['repeats']} interleaved rounds:",
           ""]
    head = ["scenario", "calls reached", "half-width", "to precision s (min-max)", "fixed s (min-max)", "speed-up"]
    table = [head] + [[r["scenario"], f"{r['calls']:,}" + ("" if r["stop"] == "reached" else " (cap)"),
                       f"{r['reached']:.5f}", f"{r['precision_s']:.3f} ({r['precision_min']:.3f}-{r['precision_max']:.3f})",
                       f"{r['fixed_s']:.3f} ({r['fixed_min']:.3f}-{r['fixed_max']:.3f})", f"{r['speedup']:.1f}x"]
                      for r in res["rows"]]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for k, row in enumerate(table):
        out.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
