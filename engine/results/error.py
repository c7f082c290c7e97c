"""The Monte-Carlo (simulation) error of every per-object figure, from batch means.

A run is one sample path of a random workload, so each figure (cycles per object,
an event rate, a ratio between strategies) is an estimate with a sampling error.  The
error is estimated by *batch means* over the run's own calls (docs/tables.md,
"Simulation error"):

* The run is cut into consecutive batches at call counts that depend only on the
  number of calls simulated, never on the kernel chunk size: batches start at
  ``BASE_BATCH_CALLS`` calls each, and whenever ``MAX_BATCHES`` batches are full,
  neighbours are merged in pairs and the batch size doubles (so a run ends with 64 to
  128 batches of ``64 * 2**j`` calls).  The driver stops every kernel chunk at the
  next boundary and stores each batch's counters (``StrategyRun.batches``).
* A figure is a ratio of sums ``F = sum(y) / sum(x)`` over batches (cycles / objects,
  events / objects, or one strategy's cycles / another's).  Its variance comes from the
  batch residuals ``z_b = (y_b - F x_b) / mean(x)``: ``SE^2 = sum(z^2) / (B (B - 1))``,
  the delta method for a ratio of means.  A difference or ratio between two strategies
  is computed from the *paired* batches (the same calls for both), which is what makes
  it much more precise than either figure: the shared stream cancels.
* Batch means assume the batches are nearly independent.  The live set, the stocks and
  the sheaves carry state from batch to batch, so a batch-size rule merges neighbours in
  pairs while the lag-1 autocorrelation of the residuals of the run's headline series
  exceeds ``3 / sqrt(B)``, down to ``MIN_BATCHES``.
* Intervals are ``F +- t(0.975, B - 1) * SE`` (``CONFIDENCE`` = 95%).

Why batch means and not replicas with independent seeds: the strategies share one
stream, and a precision-controlled run can extend one run until it is precise enough;
replicas would each start from the empty initial state (a start-up transient in every
replica) and cost a run each, and the figure a user reads is that of one run.
"""

from __future__ import annotations

import functools
import math
import textwrap

import numpy as np

from ..model.events import EVENTS, PH_FREE_HOOK, PH_HOOK, PH_SLAB_ALLOC, PH_SLAB_FREE

CONFIDENCE = 0.95
BASE_BATCH_CALLS = 64
MAX_BATCHES = 128  # a full set is merged into 64 of twice the size
MIN_BATCHES = 16  # the batch-size rule never merges below this
MIN_ESTIMATE_BATCHES = 8  # fewer batches: no error estimate (null)
BASE = "per_object"
NO_ACCOUNTING = "none"

_CALLS, _OBJECTS = EVENTS.index("calls"), EVENTS.index("objects")
_LOCKS, _FLUSHES = EVENTS.index("stock_locks"), EVENTS.index("stat_flushes")


class Batches:
    """Counters of consecutive batches of calls, at boundaries that depend only on the
    call count (module docstring).  ``K`` strategies are recorded side by side."""

    def __init__(self, k: int):
        self.size = BASE_BATCH_CALLS
        self.counts: list[np.ndarray] = []  # each int64 [K, 4, N_EVENTS]
        self.calls: list[int] = []
        self.last: np.ndarray | None = None
        self.last_call = 0
        self.k = k

    def next_boundary(self, c: int) -> int:
        """The first batch boundary after call count ``c``."""
        return (c // self.size + 1) * self.size

    def record(self, c: int, cumulative: np.ndarray) -> None:
        """Close the batch that ends at boundary ``c``; ``cumulative`` are the counters so far."""
        prev = 0 if self.last is None else self.last
        self.counts.append(cumulative - prev)
        self.calls.append(c - self.last_call)
        self.last, self.last_call = cumulative.copy(), c
        if len(self.counts) == MAX_BATCHES:
            self.counts = [self.counts[i] + self.counts[i + 1] for i in range(0, MAX_BATCHES, 2)]
            self.calls = [self.calls[i] + self.calls[i + 1] for i in range(0, MAX_BATCHES, 2)]
            self.size *= 2

    def final(self, c: int, cumulative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All batches at the end of a run of ``c`` calls: ``[B, K, 4, N_EVENTS]`` and the
        calls of each.  Calls after the last boundary join the last batch (or form the only
        one), so the batches always add up to the run's counters."""
        counts, calls = list(self.counts), list(self.calls)
        if c > self.last_call:
            rest = cumulative - (0 if self.last is None else self.last)
            if counts:
                counts[-1] = counts[-1] + rest
                calls[-1] += c - self.last_call
            else:
                counts, calls = [rest], [c - self.last_call]
        if not counts:
            return (np.zeros((0,) + cumulative.shape, dtype=np.int64), np.zeros(0, dtype=np.int64))
        return np.stack(counts), np.asarray(calls, dtype=np.int64)


def checkpoints(start: int, cap: int):
    """The call counts at which a precision-controlled run checks its stopping rule: the
    batch boundaries ``size * m`` for ``m`` in 64, 80, 96, 112 (a geometric schedule,
    at most 25% apart), from ``start`` on, and then ``cap``.  Every one is a batch
    boundary of ``Batches``, so a run stopped there has only full batches."""
    size = BASE_BATCH_CALLS
    out = []
    while True:
        for m in (64, 80, 96, 112):
            n = size * m
            if n >= cap:
                out.append(cap)
                return out
            if n >= start:
                out.append(n)
        size *= 2


@functools.lru_cache(maxsize=1024)
def t_quantile(p: float, df: int) -> float:
    """Student's t quantile (Cornish-Fisher expansion around the normal quantile; within
    1e-3 of the exact value for df >= 5, which the estimates here always have)."""
    z = _norm_ppf(p)
    v = float(df)
    if not v >= 1:
        return math.nan
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


def _norm_ppf(p: float) -> float:
    """The standard normal quantile (bisection on erf: exact to double precision)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def t95(batches: int) -> float:
    """The factor from a standard error to the 95% interval's half-width."""
    return t_quantile(0.5 + CONFIDENCE / 2, batches - 1) if batches >= 2 else math.nan


def merge_pairs(a: np.ndarray) -> np.ndarray:
    """Neighbouring batches summed in pairs (an odd last one joins the pair before it)."""
    n = a.shape[0]
    out = a[: n - n % 2].reshape((n // 2, 2) + a.shape[1:]).sum(axis=1)
    if n % 2:
        out[-1] += a[-1]
    return out


def ratio_se(y: np.ndarray, x: np.ndarray) -> float:
    """Standard error of ``sum(y) / sum(x)`` from paired batch sums (delta method)."""
    y, x = np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)
    n = y.shape[0]
    if n < MIN_ESTIMATE_BATCHES or not x.sum() > 0:
        return math.nan
    r = y.sum() / x.sum()
    z = (y - r * x) / x.mean()
    return float(math.sqrt((z @ z) / (n * (n - 1))))


def ratio_se_columns(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``ratio_se`` of every column of ``y`` ``[B, E]`` against ``x`` (``[B]``, or
    ``[B, E]`` column by column) at once: NaN where ``ratio_se`` gives NaN."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = np.broadcast_to(x[:, None], y.shape)
    n = y.shape[0]
    out = np.full(y.shape[1], math.nan)
    if n < MIN_ESTIMATE_BATCHES:
        return out
    sx = x.sum(axis=0)
    ok = sx > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(ok, y.sum(axis=0) / np.where(ok, sx, 1.0), 0.0)
        z = (y - r * x) / np.where(ok, x.mean(axis=0), 1.0)
    out[ok] = np.sqrt((z * z).sum(axis=0) / (n * (n - 1)))[ok]
    return out


def lag1(z: np.ndarray) -> float:
    """Lag-1 autocorrelation of a series (0 for a constant one)."""
    z = np.asarray(z, dtype=np.float64) - np.mean(z)
    d = float(z @ z)
    return float(z[1:] @ z[:-1]) / d if d > 0 else 0.0


class Series:
    """One run's batch series, per strategy: objects, calls, cycles per phase (central
    unit costs) and events (all phases), each ``[B, ...]``."""

    def __init__(self, result, profile=None):
        from ..inputs.costs import coefficients, get_profile

        prof = profile or get_profile(result.profile)
        self.clock_ghz = prof.clock_ghz
        self.names = list(result.runs)
        self.cost_names = list(prof.names)
        self.batches = {}
        self.active = {}  # per strategy: the price vector of each phase's region and the total's
        for name, run in result.runs.items():
            b = run.batches
            if b is None or b.shape[0] == 0:
                b = run.counters[None]
            n = b.shape[0]
            rows = b.reshape(n * 4, -1)
            entries = np.zeros(n * 4)
            entries[PH_HOOK::4] = b[:, PH_SLAB_ALLOC, _CALLS]
            kernel = run.state.get("kernel", "") if isinstance(run.state, dict) else ""
            co = coefficients(prof, name, rows, depth=result.scenario.depth, entries=entries, kernel=kernel,
                              stock_lock=getattr(result.scenario, "stock_lock", ""))
            # each phase a region of its own, end to end one region, as the summary prices them
            # (engine.inputs.costs.phase_cycles, total_cycles: max(chain, issue)).  The max is
            # taken on the whole run's sums and its active side priced batch by batch (the delta
            # method's linearisation of the max), so the batches add up to the run's figure;
            # a max per batch would add noise the run's figure does not have.
            co = co.reshape(n, 4, -1)
            chain, issue = prof.vector("central"), prof.issue_vector("central")

            def active(run_co):
                return chain if run_co @ chain >= run_co @ issue else issue
            phase_run = co.sum(axis=0)
            cyc = np.stack([co[:, ph] @ active(phase_run[ph]) for ph in range(4)], axis=1)
            act = [active(phase_run[ph]) for ph in range(4)] + [active(phase_run.sum(axis=0))]
            total = co.sum(axis=1) @ act[4]
            self.active[name] = act
            self.batches[name] = {"counts": b.astype(np.float64), "cycles": cyc, "total": total[:, None],
                                  "coefficients": co}
        self.n = min(v["counts"].shape[0] for v in self.batches.values())
        self.merges = 0
        self.memory, self.warmup = memory_calls(result)

    @property
    def batch_calls(self) -> float:
        """Calls of the first batch (every batch but the last has as many)."""
        return float(self.calls(self.names[0])[0]) if self.names else 0.0

    @property
    def short(self) -> bool:
        """Batches shorter than twice the model's memory: the error may be optimistic."""
        return self.batch_calls < 2 * self.memory

    def transient(self, y: np.ndarray, x: np.ndarray) -> float:
        """The start-up transient's share of ``sum(y) / sum(x)``: the figure minus the same
        figure without the batches of the first ``warmup`` calls (the run starts from
        empty stocks and an empty live set).  NaN when those are half the run or more."""
        calls = self.calls(self.names[0])
        k = int(np.searchsorted(np.cumsum(calls), self.warmup))  # batch k ends at >= warmup
        k += 1
        if k > self.n // 2 or not np.sum(x[k:]) > 0:
            return math.nan
        return float(np.sum(y) / np.sum(x) - np.sum(y[k:]) / np.sum(x[k:]))

    def halfwidth(self, y: np.ndarray, x: np.ndarray) -> float:
        """The 95% half-width of ``sum(y) / sum(x)``: t * SE plus the transient's share."""
        return t95(self.n) * ratio_se(y, x) + abs(self.transient(y, x))

    def merged(self) -> "Series":
        out = object.__new__(Series)
        out.clock_ghz, out.names, out.merges = self.clock_ghz, self.names, self.merges + 1
        out.cost_names, out.active = self.cost_names, self.active
        out.memory, out.warmup = self.memory, self.warmup
        out.batches = {k: {kk: merge_pairs(vv) for kk, vv in v.items()} for k, v in self.batches.items()}
        out.n = min(v["counts"].shape[0] for v in out.batches.values())
        return out

    # the figures, each as (numerator series, denominator series)
    def objects(self, s: str) -> np.ndarray:
        return self.batches[s]["counts"][:, :, _OBJECTS].sum(axis=1)

    def calls(self, s: str) -> np.ndarray:
        return self.batches[s]["counts"][:, :, _CALLS].sum(axis=1)

    def cycles(self, s: str, metric: str) -> np.ndarray:
        c = self.batches[s]["cycles"]
        if metric == "total":
            return self.batches[s]["total"][:, 0]
        return {"hook": c[:, PH_HOOK], "free_hook": c[:, PH_FREE_HOOK],
                "slab": c[:, PH_SLAB_ALLOC] + c[:, PH_SLAB_FREE]}[metric]

    def cost_terms(self, s: str, metric: str) -> np.ndarray:
        """``[B, unit costs]``: what each unit cost adds to ``cycles(s, metric)`` in each
        batch (its coefficient times its price in the region's active side), so that
        ``cost_terms(s, m).sum(axis=1) == cycles(s, m)``."""
        co, act = self.batches[s]["coefficients"], self.active[s]
        if metric == "total":
            return co.sum(axis=1) * act[4]
        phases = {"hook": (PH_HOOK,), "free_hook": (PH_FREE_HOOK,), "slab": (PH_SLAB_ALLOC, PH_SLAB_FREE)}[metric]
        return sum(co[:, ph] * act[ph] for ph in phases)

    def event(self, s: str, ev: str) -> np.ndarray:
        c = self.batches[s]["counts"]
        if ev == "hook_stock_locks":
            return c[:, PH_HOOK, _LOCKS]
        if ev == "hook_stat_flushes":
            return c[:, PH_HOOK, _FLUSHES]
        return c[:, :, EVENTS.index(ev)].sum(axis=1)

    def headline(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The series the batch-size rule watches: every strategy's hook and end-to-end
        cycles per object, and each one's ratio to per_object (paired)."""
        out = []
        for s in self.names:
            for m in ("hook", "total"):
                out.append((self.cycles(s, m), self.objects(s)))
                if BASE in self.names and s != BASE:
                    out.append((self.cycles(s, m), self.cycles(BASE, m)))
        return out


def residual_lag1(y: np.ndarray, x: np.ndarray) -> float:
    if not np.sum(x) > 0:
        return 0.0
    return lag1(y - (np.sum(y) / np.sum(x)) * x)


def memory_calls(result) -> tuple[float, float]:
    """How long the model remembers, in calls, and how long its start-up lasts.

    Memory: the longer of the live set's turnover (an object is freed ``live_objects``
    allocations after it was allocated) and the time a CPU's task stays in one cgroup
    (``cpus / cgroup_switch_prob`` calls: each call's CPU switches with that probability).
    Start-up: twice the live set's turnover (the run starts with an empty live set and
    empty stocks, and frees begin once the live set is full)."""
    scn = result.scenario
    run = next(iter(result.runs.values()), None)
    calls = objects = 0
    if run is not None:
        calls = int(run.counters[:, _CALLS].sum())
        objects = int(run.counters[:, _OBJECTS].sum())
    bulk = objects / calls if calls and objects else max(scn.bulk_size, 1)
    turnover = scn.live_objects / bulk
    switch = scn.cpus / scn.cgroup_switch_prob if scn.cgroup_switch_prob > 0 else 0.0
    return max(turnover, switch), 2 * turnover


def choose(series: Series) -> Series:
    """The batch-size rule: merge neighbours in pairs while the batches are shorter than
    twice the model's memory (``memory_calls``), then while any headline series'
    residuals have a lag-1 autocorrelation above ``3 / sqrt(B)`` (batches too short to
    be nearly independent), but never below ``MIN_BATCHES`` batches."""
    s = series
    while s.n >= 2 * MIN_BATCHES and s.short:
        s = s.merged()
    while s.n >= 2 * MIN_BATCHES:
        worst = max((residual_lag1(y, x) for y, x in s.headline()), default=0.0)
        if worst <= 3.0 / math.sqrt(s.n):
            break
        s = s.merged()
    return s


def estimate(result, profile=None) -> Series:
    """The run's batch series after the batch-size rule."""
    return choose(Series(result, profile))


METRICS = ("hook", "total", "free_hook", "slab")
EVENT_SE = tuple(EVENTS) + ("hook_stock_locks", "hook_stat_flushes")


def error_fields():
    """The summary table's error columns (``engine.results.tables.summary_schema``)."""
    import pyarrow as pa

    def f(name, typ, unit, doc):
        return pa.field(name, typ, metadata={"unit": unit, "description": doc})

    out = [
        f("se_batches", pa.int64(), "batches",
          "batches of calls the simulation error is estimated from (batch means; null: too few calls)"),
        f("se_batch_calls", pa.int64(), "calls", "calls per batch (the last batch may hold more)"),
        f("se_t95", pa.float64(), "",
          "Student t quantile: a 95% interval is the figure +- se_t95 * its standard error"),
        f("se_short", pa.bool_(), "",
          "true: the batches are shorter than twice the model's memory (live-set turnover, "
          "cgroup switches): the errors may be optimistic; run longer"),
    ]
    for m, what in (("hook", "post-alloc hook"), ("total", "end to end"), ("free_hook", "free hook"),
                    ("slab", "SLUB allocation and free")):
        out.append(f(f"{m}_cycles_per_object_se", pa.float64(), "cycles/object",
                     f"{what}: standard error of the simulation (Monte-Carlo) of {m}_cycles_per_object"))
    for m in ("hook", "total"):
        out.append(f(f"{m}_ns_per_object_se", pa.float64(), "ns/object",
                     f"standard error of {m}_ns_per_object"))
        out.append(f(f"{m}_cycles_per_object_diff_se", pa.float64(), "cycles/object",
                     f"standard error of {m}_cycles_per_object_diff, from the paired batches"))
        out.append(f(f"{m}_cycles_per_object_pct_se", pa.float64(), "%",
                     f"standard error of {m}_cycles_per_object_pct, from the paired batches"))
        out.append(f(f"{m}_ratio_se", pa.float64(), "",
                     f"standard error of {m}_ratio (delta method on the paired batches)"))
        out.append(f(f"{m}_ratio_transient", pa.float64(), "",
                     f"{m}_ratio minus the same ratio without the start-up (the first calls, twice "
                     "the live set's turnover)"))
        out.append(f(f"{m}_ratio_halfwidth", pa.float64(), "",
                     f"95% half-width of {m}_ratio: se_t95 * {m}_ratio_se + abs({m}_ratio_transient)"))
    out.append(f("total_vs_none_ratio", pa.float64(), "",
                 "end-to-end cycles / none's (the cost of accounting as a factor; null without none)"))
    out.append(f("total_vs_none_ratio_se", pa.float64(), "", "standard error of total_vs_none_ratio"))
    out += [
        f("precision_target", pa.float64(), "",
          "a precision-controlled run's target: 95% half-width of the watched ratios, as a "
          "fraction of the baseline's cost (null: a run of fixed length)"),
        f("precision_reached", pa.float64(), "",
          "the largest 95% half-width of the watched ratios at the end of the run "
          "(fixed runs: of the hook ratios against per_object)"),
        f("precision_stop", pa.string(), "",
          "why a precision-controlled run stopped: reached (the target) or cap (max_calls); null: fixed"),
    ]
    for ev in EVENT_SE:
        out.append(f(f"{ev}_per_object_se", pa.float64(), "events/object",
                     f"standard error of {ev} / objects"))
    # every other difference from per_object the console prints, with its paired error
    for m, what in (("free_hook", "free-hook"), ("slab", "SLUB allocation and free")):
        out.append(f(f"{m}_cycles_per_object_diff_se", pa.float64(), "cycles/object",
                     f"{what} cycles per object minus per_object's: standard error from the paired batches"))
        out.append(f(f"{m}_cycles_per_object_pct_se", pa.float64(), "%",
                     f"{what} cycles per object as a percentage difference from per_object's: "
                     "standard error from the paired batches"))
    for ev in EVENT_SE:
        out.append(f(f"{ev}_per_object_diff_se", pa.float64(), "events/object",
                     f"{ev} / objects minus per_object's: standard error from the paired batches"))
        out.append(f(f"{ev}_per_object_pct_se", pa.float64(), "%",
                     f"{ev} / objects as a percentage difference from per_object's: standard error "
                     "from the paired batches (null where per_object has none)"))
    return out


def _nan_to_none(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def add_error_columns(result, rows: list[dict], profile=None) -> None:
    """Fill the error columns of ``summary_rows``' rows in place."""
    s = estimate(result, profile)
    ok = s.n >= MIN_ESTIMATE_BATCHES
    prec = getattr(result, "precision", None)
    reached = prec["reached"] if prec else worst_precision(result, profile, "hook", s)
    events = {name: np.column_stack([s.event(name, e) for e in EVENT_SE]) for name in s.names}
    for r in rows:
        name = r["strategy"]
        r["se_batches"] = s.n if ok else None
        r["se_batch_calls"] = int(s.calls(name)[0]) if ok else None
        r["se_t95"] = t95(s.n) if ok else None
        r["se_short"] = bool(s.short) if ok else None
        r["precision_target"] = prec["target"] if prec else None
        r["precision_reached"] = _nan_to_none(reached)
        r["precision_stop"] = prec["stop"] if prec else None
        x = s.objects(name)
        for m in METRICS:
            r[f"{m}_cycles_per_object_se"] = _nan_to_none(ratio_se(s.cycles(name, m), x))
        for m in ("hook", "total"):
            se = r[f"{m}_cycles_per_object_se"]
            r[f"{m}_ns_per_object_se"] = None if se is None else se / s.clock_ghz
            for k in ("diff_se", "pct_se"):
                r[f"{m}_cycles_per_object_{k}"] = None
            for k in ("ratio_se", "ratio_transient", "ratio_halfwidth"):
                r[f"{m}_{k}"] = None
            if BASE in s.names and r.get(f"{m}_cycles_per_object_diff") is not None:
                d = s.cycles(name, m) - s.cycles(BASE, m)
                r[f"{m}_cycles_per_object_diff_se"] = _nan_to_none(ratio_se(d, x))
                rse = _nan_to_none(ratio_se(s.cycles(name, m), s.cycles(BASE, m)))
                if r.get(f"{m}_ratio") is not None and rse is not None:
                    r[f"{m}_ratio_se"] = rse
                    tr = _nan_to_none(s.transient(s.cycles(name, m), s.cycles(BASE, m)))
                    r[f"{m}_ratio_transient"] = tr
                    if tr is not None:
                        r[f"{m}_ratio_halfwidth"] = t95(s.n) * rse + abs(tr)
                if r.get(f"{m}_cycles_per_object_pct") is not None and rse is not None:
                    r[f"{m}_cycles_per_object_pct_se"] = 100.0 * rse
        r["total_vs_none_ratio"] = r["total_vs_none_ratio_se"] = None
        if NO_ACCOUNTING in s.names and name != NO_ACCOUNTING:
            den = s.cycles(NO_ACCOUNTING, "total")
            if den.sum() > 0:
                r["total_vs_none_ratio"] = float(s.cycles(name, "total").sum() / den.sum())
                r["total_vs_none_ratio_se"] = _nan_to_none(ratio_se(s.cycles(name, "total"), den))
        # the event rates, their differences from per_object and those as percentages: all
        # columns at once (ratio_se_columns), the same figures as ratio_se one by one
        ev = events[name]
        for e, v in zip(EVENT_SE, ratio_se_columns(ev, x)):
            r[f"{e}_per_object_se"] = _nan_to_none(v)
        cols = [f"{m}_cycles_per_object" for m in ("free_hook", "slab")] + [f"{e}_per_object" for e in EVENT_SE]
        for col in cols:
            r[f"{col}_diff_se"] = r[f"{col}_pct_se"] = None
        if BASE not in s.names or not ok:
            continue
        y = np.column_stack([s.cycles(name, "free_hook"), s.cycles(name, "slab"), ev])
        yb = np.column_stack([s.cycles(BASE, "free_hook"), s.cycles(BASE, "slab"), events[BASE]])
        diff = ratio_se_columns(y - yb, x)
        pct = ratio_se_columns(y, yb)
        has = yb.sum(axis=0) > 0
        for j, col in enumerate(cols):
            r[f"{col}_diff_se"] = _nan_to_none(diff[j])
            if has[j]:
                r[f"{col}_pct_se"] = _nan_to_none(100.0 * pct[j])


def ratio_intervals(result, profile=None, which: str = "ratios", series: Series | None = None) -> list[dict]:
    """Every ratio a run reports, with its 95% half-width: each strategy's hook and
    end-to-end cycles against per_object's, and end-to-end against none's
    (``which="hook"``: the hook ratios only).  Without any such ratio (per_object and
    none both absent) each strategy's cycles per object stand in.  ``rel`` is the
    The half-width is ``t * SE`` plus the start-up transient's share (``Series.halfwidth``);
    ``precision`` is inf while the batches are shorter than twice the model's memory.
    ``precision`` is the half-width as a fraction of the baseline's cost: for a ratio
    ``a / b`` its half-width itself (0.001: +-0.1% of b), for a stand-in cycles per
    object the half-width over the figure.  ``series``: the run's ``estimate`` when the
    caller already has it."""
    s = series if series is not None else estimate(result, profile)
    out = []

    def add(label, y, x, relative=False):
        den = float(np.sum(x))
        if not den > 0:
            return
        f = float(np.sum(y)) / den
        hw = s.halfwidth(y, x)
        if not math.isfinite(hw) or s.short:  # batches shorter than the model's memory
            prec = math.inf
        elif relative:
            prec = 0.0 if hw == 0 else (hw / abs(f) if f else math.inf)
        else:
            prec = hw  # a ratio's half-width is already a fraction of the baseline's cost
        out.append({"figure": label, "value": f, "halfwidth": hw, "precision": prec})

    for name in s.names:
        if BASE in s.names and name != BASE:
            for m in ("hook", "total") if which == "ratios" else ("hook",):
                add(f"{name}/{BASE} {m}", s.cycles(name, m), s.cycles(BASE, m))
        if NO_ACCOUNTING in s.names and name != NO_ACCOUNTING and which == "ratios":
            add(f"{name}/{NO_ACCOUNTING} total", s.cycles(name, "total"), s.cycles(NO_ACCOUNTING, "total"))
    if not out:
        for name in s.names:
            for m in ("hook", "total") if which == "ratios" else ("hook",):
                add(f"{name} {m} cycles/object", s.cycles(name, m), s.objects(name), relative=True)
    return out


def worst_precision(result, profile=None, which: str = "ratios", series: Series | None = None) -> float:
    """The largest 95% half-width of the run's ratios (``ratio_intervals``' precision);
    inf when it cannot be estimated yet."""
    iv = ratio_intervals(result, profile, which, series)
    return max((d["precision"] for d in iv), default=math.inf)


def error_sources(result, strategy: str, metric: str = "hook", profile=None, base: str = BASE) -> list[dict]:
    """Where the simulation error of ``strategy``'s ``metric`` ratio to ``base`` comes from.

    The ratio's error is that of the batch residuals ``z_b = y_b - F x_b`` (module
    docstring), and ``z_b`` is a sum over unit costs of ``term_b = ya_b - F xa_b`` (what
    the cost adds to each side).  A cost's share of the variance is ``cov(term, z) /
    var(z)``: the shares add up to 1 exactly; a share can be negative (a cost whose
    noise cancels part of the others').  Returns one dict per unit cost with a
    non-zero term, largest share first: ``cost``, ``share``, ``sd`` (the term's standard
    deviation over batches, as a fraction of ``base``'s cycles per batch).  Empty when
    the error is zero or cannot be estimated."""
    return _sources(estimate(result, profile), strategy, metric, base)


def _sources(s: Series, strategy: str, metric: str, base: str = BASE) -> list[dict]:
    """``error_sources`` on a run's batch series (estimated once for all its ratios)."""
    if strategy not in s.names or base not in s.names or s.n < MIN_ESTIMATE_BATCHES:
        return []
    y, x = s.cycles(strategy, metric), s.cycles(base, metric)
    if not x.sum() > 0:
        return []
    f = y.sum() / x.sum()
    terms = (s.cost_terms(strategy, metric) - f * s.cost_terms(base, metric)) / x.mean()
    z = terms.sum(axis=1)
    zc = z - z.mean()
    var = float(zc @ zc)
    if not var > 0:
        return []
    tc = terms - terms.mean(axis=0)
    out = []
    for j, name in enumerate(s.cost_names):
        if not np.any(tc[:, j]):
            continue
        out.append({"cost": name, "share": float(tc[:, j] @ zc) / var, "sd": float(np.std(terms[:, j]))})
    out.sort(key=lambda d: -d["share"])
    return out


def _ratio_sources(s: Series):
    """Each ratio to per_object (every other strategy, hook then total): ``(strategy,
    metric, 95% half-width, error_sources)``."""
    for name in s.names:
        if name == BASE:
            continue
        for m in ("hook", "total"):
            yield name, m, s.halfwidth(s.cycles(name, m), s.cycles(BASE, m)), _sources(s, name, m)


def error_sources_data(result, profile=None) -> dict:
    """``bulksim run --error-sources -o json``: per strategy and ratio to per_object
    (hook, total), its 95% half-width and every unit cost's share (``error_sources``)."""
    s = estimate(result, profile)
    out = {"base": BASE, "confidence": CONFIDENCE, "batches": s.n, "ratios": []}
    if BASE not in s.names or s.n < MIN_ESTIMATE_BATCHES:
        return out
    out["ratios"] = [{"strategy": name, "metric": m, "halfwidth": _nan_to_none(hw), "sources": every}
                     for name, m, hw, every in _ratio_sources(s)]
    return out


def error_sources_text(result, profile=None, top: int = 3) -> str:
    """The console section of ``bulksim run --error-sources``: for each ratio to
    per_object (hook and end to end), its 95% half-width and the unit costs that carry
    most of its simulation variance (``error_sources``)."""
    s = estimate(result, profile)
    if BASE not in s.names:
        return "(no ratio to per_object: run per_object too)"
    if len(s.names) < 2:
        return "(per_object alone: no ratio to per_object; run another strategy too)"
    if s.n < MIN_ESTIMATE_BATCHES:
        return f"(too few calls for an error estimate: fewer than {MIN_ESTIMATE_BATCHES} batches)"
    lines = []
    width = max(len(n) for n in s.names) + 6
    for name, m, hw, every in _ratio_sources(s):
        src = [d for d in every if d["share"] >= 0.005][:top]
        what = ", ".join(f"{d['cost']} {100 * d['share']:.0f}%" for d in src) or "no simulation error"
        cancel = [d for d in reversed(every) if d["share"] <= -0.05][:top]
        if cancel:  # the shares add up to 100% with these
            what += "; cancelling: " + ", ".join(f"{d['cost']} {100 * d['share']:.0f}%" for d in cancel)
        lines += textwrap.wrap(f"{f'{name} {m}':<{width}} ±{hw:.5f}: {what}", 98, initial_indent="  ",
                               subsequent_indent=" " * (width + 3), break_on_hyphens=False)
    return "\n".join(lines)


def pm(se: float | None, t: float | None, digits: int = 3) -> str:
    """``±h``: the 95% half-width ``t * se``, or '' without an estimate."""
    if se is None or t is None or not math.isfinite(se) or not math.isfinite(t):
        return ""
    return f"±{t * se:.{digits}f}"
