"""Cost profiles: cycles per counted event, from published primitive costs.

Every unit cost has a low, a central and a high value, each with its source: a row
of CALIBRATION.md (P* lock and CPU primitives, S* SLUB base costs), a kernel-source
argument (file and function), or ``estimate`` with the reasoning.  The central value
is what a single figure uses; the low and high values bound it (engine.results.ranges
computes the exact range of every figure and ratio over the box they span).  The
profiles are inputs; the end-to-end figures the engine reports are outputs and were
not used to set them (docs/costs.md, docs/validation.md).

Cycles are linear in the unit costs: ``cycles[row] = coefficients(...)[row] . x``
where ``x`` holds one value per unit cost.  Most unit costs price one counted event;
a few price work the kernel does on a counted event (the hook's per-call entry on
each call, the page-charge work on each obj-stock consume miss, the statistics
walk per level on each flush): see ``coefficients``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BadInputError, BulksimError
from ..model.events import EV, N_EVENTS, PH_SLAB_ALLOC


@dataclass(frozen=True)
class Cost:
    """One unit cost in cycles: low <= central <= high, and where the numbers come from."""

    low: float
    central: float
    high: float
    source: str

    def __post_init__(self):
        if not 0 <= self.low <= self.central <= self.high:
            raise ValueError(f"unit cost needs 0 <= low <= central <= high: {self}")


def C(low: float, central: float, high: float, source: str) -> Cost:
    return Cost(float(low), float(central), float(high), source)


# Unit costs that price work done on an existing counted event, not the event itself.
EXTRA_COSTS = ("hook_entry", "memcg_stock_scan", "stat_flush_level", "charge_pages_work",
               "high_check_level")


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    clock_ghz: float
    estimated: bool
    costs: dict = field(default_factory=dict)  # unit-cost name -> Cost

    @property
    def names(self) -> list[str]:
        """The unit costs in a fixed order: the coordinates of every linear form."""
        return list(self.costs)

    def vector(self, which: str = "central") -> np.ndarray:
        if which not in ("low", "central", "high"):
            raise BadInputError(f"unit-cost value must be low, central or high, got {which!r}")
        return np.array([getattr(c, which) for c in self.costs.values()], dtype=np.float64)

    @property
    def trylock_cycles(self) -> float:
        return self.costs["trylock"].central

    @property
    def irqsave_cycles(self) -> float:
        return self.costs["irqsave"].central

    def rows(self) -> list[tuple[str, float, float, float, str]]:
        """(unit cost, low, central, high, source) for every unit cost."""
        return [(k, c.low, c.central, c.high, c.source) for k, c in self.costs.items()]


# The stock lock's event prices by lock generation: current kernels pay the
# local_trylock, the upfront generation (v6.10-v6.15) paid local_lock_irqsave.
# Strategies without memcg accounting (engine.model.invariants.UNACCOUNTED).
UNACCOUNTED = ("none",)


def lock_cost_name(strategy: str) -> str:
    return "irqsave" if strategy == "upfront" else "trylock"


def coefficients(profile: Profile, strategy: str, counters: np.ndarray, *, depth: int,
                 entries: np.ndarray | None = None) -> np.ndarray:
    """Coefficient matrix ``[rows, unit costs]``: ``cycles = coefficients @ profile.vector()``.

    ``counters`` is ``[rows, N_EVENTS]``.  ``entries[row]`` is the number of hook
    entries priced in that row (``hook_entry``): for the phase matrix of a run it is
    the calls in the hook phase row (``phase_entries``), for per-call rows one each.
    ``depth`` is the scenario's cgroup depth below the root; the walks that go to the
    root (statistics, memory.high) cover ``depth + 1`` levels.
    """
    counters = np.asarray(counters, dtype=np.float64)
    if counters.ndim != 2 or counters.shape[1] != N_EVENTS:
        raise BulksimError(f"counters must be [rows, {N_EVENTS}], got shape {counters.shape}")
    names = profile.names
    col = {n: i for i, n in enumerate(names)}
    out = np.zeros((counters.shape[0], len(names)), dtype=np.float64)
    lock = lock_cost_name(strategy)
    for ev, i in EV.items():
        if ev in col:
            out[:, col[ev]] += counters[:, i]
    # Stock locks of either generation; a failed trylock still did preempt off/on and
    # read ->acquired (include/linux/local_lock_internal.h, __local_trylock).
    out[:, col[lock]] += counters[:, EV["stock_locks"]]
    out[:, col["trylock"]] += counters[:, EV["stock_lock_failures"]]
    # memcg stock (consume_stock, refill_stock): its own lock, then a scan of 7 slots.
    # v6.12 (upfront's generation): one slot under the obj stock's own stock_lock,
    # whose round trips the kernels already count in stock_locks: no lock, no scan.
    ms = (counters[:, EV["memcg_stock_hits"]] + counters[:, EV["memcg_stock_misses"]]
          + counters[:, EV["memcg_stock_refills"]])
    if strategy != "upfront":
        out[:, col[lock]] += ms
        out[:, col["memcg_stock_scan"]] += ms
    # Per-flush statistics walk, leaf to root (memcg_rstat_updated).
    levels = float(depth + 1)
    out[:, col["stat_flush_level"]] += counters[:, EV["stat_flushes"]] * levels
    # Page charges: every obj-stock consume miss calls obj_cgroup_charge_pages once.
    # Successful page-counter walks of try_charge_memcg = memcg-stock misses minus
    # failures (each retry consumes again); each one runs the restock memory.high loop.
    walks = np.maximum(counters[:, EV["memcg_stock_misses"]] - counters[:, EV["page_counter_failcnt"]], 0)
    charges = counters[:, EV["consume_misses"]]
    # obj_cgroup_uncharge_pages calls are counted (objcg_uncharge_pages), and so are the
    # obj-stock drains that release whole pages (drain_uncharge_pages): drain_obj_stock
    # does the same get_mem_cgroup_from_objcg / mod_memcg_state / css_put around it.
    uncharges = counters[:, EV["objcg_uncharge_pages"]] + counters[:, EV["drain_uncharge_pages"]]
    work = charges + uncharges
    out[:, col["charge_pages_work"]] += work
    out[:, col["objcg_ref_ops"]] += 2 * work          # css_tryget + css_put
    out[:, col["stat_flushes"]] += work               # mod_memcg_state(MEMCG_KMEM)
    out[:, col["stat_flush_level"]] += work * levels  # its memcg_rstat_updated walk
    out[:, col["high_check_level"]] += walks * levels
    if entries is not None and strategy not in UNACCOUNTED:
        # ``none`` (no accounting) never enters the post-alloc hook: an unaccounted cache
        # returns at memcg_slab_post_alloc_hook's flag test (a cycle or two, not priced).
        out[:, col["hook_entry"]] += np.asarray(entries, dtype=np.float64)
    return out


def phase_entries(counters: np.ndarray) -> np.ndarray:
    """Hook entries per phase row of a run's ``[4, N_EVENTS]`` counters: every call
    enters the post-alloc hook once (calls are counted in the slab-alloc phase)."""
    from ..model.events import PH_HOOK

    e = np.zeros(counters.shape[0], dtype=np.float64)
    e[PH_HOOK] = counters[PH_SLAB_ALLOC, EV["calls"]]
    return e


def _common(xfer_local: Cost, xfer_remote: Cost) -> dict:
    """Unit costs shared by the profiles (cycles), with their sources."""
    return {
        "calls": C(30, 33, 42, "S1: bulk API per-call entry; 53 at size 1 minus the ~20 asymptote (33); "
                   "fits of c(n) = F/n + a to sizes 1 and 2..16 give F = 35-42"),
        "virt_to_slab": C(3, 6, 12, "P5: about one function call (estimate: page lookup + flag test; "
                          "low inlined, high a struct page miss)"),
        "obj_to_index": C(3, 4, 6, "estimate: reciprocal multiply and shift (mm/slab.h obj_to_index)"),
        "assigns": C(1, 1, 4, "P7: a plain store (__this_cpu class op ~1); high: obj_exts line not in L1"),
        "obj_exts_allocs": C(50, 61, 120, "S1: one single kmalloc alloc+free pair at size 1 (61); "
                             "high: a zeroed array of a page (estimate)"),
        "consume_hits": C(1, 2, 4, "P7: two __this_cpu class ops"),
        "consume_misses": C(1, 2, 4, "P7: two __this_cpu class ops"),
        "refills": C(2, 3, 6, "P7: three __this_cpu class ops"),
        "drains": C(6, 6, 12, "P5: function call; its uncharges and flushes are counted separately"),
        "stat_updates": C(2, 3, 6, "P7: three __this_cpu class ops (__account_obj_stock)"),
        "stat_flushes": C(15, 30, 60,
                          "mm/memcontrol.c mod_objcg_mlstate -> __mod_memcg_lruvec_state: get_cpu/put_cpu "
                          "(P3: 0 or 11), two this_cpu_add (P7: ~1 each), 3 calls (P5: 6 each), "
                          "css_rstat_updated; no shared write (the walk is stat_flush_level)"),
        "page_counter_charges": C(17, 18, 25, "P7: locked add, uncontended (17-18); high: + watermark "
                                  "stores of mm/page_counter.c page_counter_try_charge while usage grows"),
        "page_counter_uncharges": C(17, 18, 25, "P7: locked sub, uncontended (17-18); high: "
                                    "propagate_protected_usage reads"),
        "page_counter_failcnt": C(1, 1, 2, "P7: plain increment"),
        "memcg_stock_hits": C(1, 2, 4, "P7: the nr_pages update; lock and scan are trylock/"
                              "memcg_stock_scan"),
        "memcg_stock_refills": C(1, 2, 4, "P7: the nr_pages update; lock and scan are trylock/"
                                 "memcg_stock_scan"),
        "memcg_stock_drains": C(6, 6, 12, "P5: function call; its uncharge is counted separately"),
        "objcg_ref_ops": C(2, 2, 6, "P7: percpu_ref get/put, a __this_cpu op under RCU; high: "
                           "PREEMPT_RCU read-side nesting counter (estimate)"),
        "nr_charged_atomics": C(10, 18, 25, "P7: locked xchg / add (17-18); low: Zen-class locked ops "
                                "(estimate); its line transfer is counted separately"),
        "reclaims": C(5000, 20000, 80000, "estimate: one direct-reclaim pass (~5 us); not calibrated"),
        "sheaf_hits": C(8, 10, 12, "S1: bulk API at 16-32 is 19-20 per alloc+free pair; half to alloc"),
        "sheaf_swaps": C(1, 2, 4, "P7: pointer swap"),
        "barn_fetches": C(33, 39, 62, "P4 spin_lock pair (33) + list ops (P5 6); high: spin_lock_irqsave (62)"),
        "barn_puts": C(33, 39, 62, "P4 spin_lock pair (33) + list ops (P5 6); high: spin_lock_irqsave (62)"),
        "sheaf_flushes": C(450, 500, 1000, "P4 (33) + 26 objects at S3's bulk free cost (17-18); high: "
                           "S3 at 250 (37)"),
        "slab_refill_objects": C(20, 25, 50, "S1: looped single calls at 16 (49) per pair; half to alloc; "
                                 "high: the whole pair"),
        "new_slabs": C(600, 882, 1500, "S1/S2: the 32->34 step is 1764 cycles for a slab alloc+free; half "
                       "(estimate range)"),
        "slab_discards": C(600, 882, 1500, "S1/S2: the other half of the slab step (estimate range)"),
        "kfence_objects": C(200, 500, 2000, "estimate: KFENCE pool allocation; rare by design"),
        "frees": C(8, 10, 12, "S1: bulk API at 16-32 is 19-20 per alloc+free pair; half to free"),
        "remote_frees": C(30, 39, 80, "S3: single-object free (49) minus the sheaf free (10); high: "
                          "a cross-node slab lock (estimate)"),
        "line_transfers_local": xfer_local,
        "line_transfers_remote": xfer_remote,
        # kernel generations and the limit path (docs/model.md §5a-5b)
        "stat_guard_flushes": C(0, 0, 0, "marker: the flush it causes is counted in stat_flushes"),
        "obj_stock_u16_releases": C(0, 0, 0, "marker: the pages it releases are counted as refills and "
                                    "uncharges"),
        "drain_works": C(200, 500, 2000, "estimate: queue_work_on() of a drain to another CPU (a cross-CPU "
                         "wakeup, P9 transfers plus the workqueue's locks); not calibrated"),
        "memcg_ooms": C(50000, 200000, 1000000, "estimate: mem_cgroup_oom() with oom_lock and a task scan "
                        "(~50 us); not calibrated, rare by design"),
        "objcg_uncharge_pages": C(0, 0, 0, "marker: each call is priced in coefficients() as "
                                  "charge_pages_work + 2 objcg_ref_ops + a stat_flushes with its levels "
                                  "(mm/memcontrol.c obj_cgroup_uncharge_pages)"),
        "drain_uncharge_pages": C(0, 0, 0, "marker: each is priced in coefficients() as charge_pages_work "
                                  "+ 2 objcg_ref_ops + a stat_flushes with its levels (mm/memcontrol.c "
                                  "drain_obj_stock: get_mem_cgroup_from_objcg, mod_memcg_state, "
                                  "memcg_uncharge, css_put)"),
        "free_runs": C(0, 0, 0, "marker: a batched free-hook run's lock, refill, statistics update and "
                       "reference put are counted as stock_locks, refills, stat_updates, objcg_ref_ops"),
        "trylock": C(3, 14, 23,
                     "include/linux/local_lock_internal.h __local_trylock on !PREEMPT_RT: preempt_disable "
                     "+ a per-CPU read and write of ->acquired, unlock a write + preempt_enable; no atomic, "
                     "no irq-off. Low: !CONFIG_PREEMPT_COUNT, preempt_disable is a barrier (3 plain ops, "
                     "P7); central: P3 CONFIG_PREEMPT pair 11 + 3; high: P6 Skylake preempt pair "
                     "5.08 ns = 20 at 4 GHz + 3"),
        "irqsave": C(38, 42, 50, "local_lock_irqsave on !RT (upfront generation): P1 38 (Haswell), "
                     "P6 Skylake 10.62 ns = 42; high: + flags save/restore and the stock pointer "
                     "reload (estimate +20%)"),
        "hook_entry": C(9, 17, 35,
                        "mm/slub.c memcg_slab_post_alloc_hook: static key memcg_kmem_online + flag tests "
                        "(1-5), out-of-line __memcg_slab_post_alloc_hook (P5 6), current_obj_cgroup "
                        "(~5 loads: current->objcg, in_task, active_memcg), obj_cgroup_is_root; "
                        "same for every strategy, once per call"),
        "memcg_stock_scan": C(4, 7, 14, "mm/memcontrol.c consume_stock/refill_stock: compare 7 slots of "
                              "one line (P7 ~1 each); low: the hit is early; high: line not in L1"),
        "stat_flush_level": C(3, 6, 15,
                              "mm/memcontrol.c memcg_rstat_updated, per level up to and including the "
                              "root: this_cpu_add_return (P7) + a read of the shared stats_updates "
                              "(L1 hit unless another CPU added); every ~64 updates per CPU a locked add "
                              "(P7 18) and a line transfer (P9) = ~1.5 per level on average; high: the "
                              "read misses"),
        "charge_pages_work": C(8, 12, 20,
                               "mm/memcontrol.c obj_cgroup_charge_pages / obj_cgroup_uncharge_pages: the "
                               "calls themselves (P5 6 each: the function and try_charge_memcg or "
                               "refill_stock); their css_tryget/css_put are objcg_ref_ops, "
                               "mod_memcg_state(MEMCG_KMEM) is a stat_flushes with its levels"),
        "high_check_level": C(4, 10, 80,
                              "mm/memcontrol.c try_charge_memcg done_restock: per level up to the root, "
                              "page_counter_read of memory and swap usage and READ_ONCE of their high "
                              "(4 reads); low: L1 hits; high: the usage line was written by another CPU "
                              "(one same-node transfer, P9 20 ns at 4 GHz)"),
    }


def _with_lock(common: dict, **over: Cost) -> dict:
    d = dict(common)
    d.update(over)
    return d


_SKL_XFER = (C(68, 80, 188, "P9: same socket 17-47 ns (i7-6700K 20 ns central) at 4.0 GHz"),
             C(432, 432, 788, "P9: other socket 108-197 ns at 4.0 GHz"))

PROFILES: dict[str, Profile] = {
    "intel-skylake": Profile(
        name="intel-skylake",
        description="Skylake desktop at 4.0 GHz, current kernel (local_trylock, !PREEMPT_RT)",
        clock_ghz=4.0,
        estimated=False,
        costs=_common(*_SKL_XFER),
    ),
    "amd-zen2": Profile(
        name="amd-zen2",
        description="Zen 2 at 3.5 GHz, current kernel (local_trylock, !PREEMPT_RT)",
        clock_ghz=3.5,
        estimated=False,
        costs=_with_lock(
            _common(C(60, 60, 298, "P9: Ryzen same CCX 17 ns, other CCX 85 ns, at 3.5 GHz"),
                    C(378, 378, 690, "P9: other socket 108-197 ns at 3.5 GHz")),
            trylock=C(3, 14, 25, "as intel-skylake (local_lock_internal.h; P3 central); high: P6 Zen2 "
                      "preempt pair 6.23 ns = 22 at 3.5 GHz + 3"),
            irqsave=C(17, 17, 34, "P6 Zen2: irq save/restore pair 4.90 ns = 17 at 3.5 GHz; high: P2/P1 "
                      "ratio on Haswell applied (estimate x2)")),
    ),
    "preempt-rt": Profile(
        name="preempt-rt",
        description="PREEMPT_RT at 4.0 GHz: the stock lock is a per-CPU spinlock with "
                    "migration disabled (ESTIMATED)",
        clock_ghz=4.0,
        estimated=True,
        costs=_with_lock(
            _common(*_SKL_XFER),
            trylock=C(40, 50, 60, "P10: estimated, 2 uncontended atomics + migrate_disable/enable (40-60)"),
            irqsave=C(40, 50, 60, "P10: estimated, 2 uncontended atomics + migrate_disable/enable (40-60)")),
    ),
}

DEFAULT_PROFILE = "intel-skylake"


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        from .profile_file import resolve  # a profile file (bulksim calibrate, docs/calibrate.md)

        prof = resolve(name)
        if prof is not None:
            return prof
        import difflib

        close = difflib.get_close_matches(name, list(PROFILES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise BadInputError(f"unknown cost profile {name!r}{hint}; known: {', '.join(PROFILES)}")
    return PROFILES[name]


def phase_cycles(profile: Profile, strategy: str, counters: np.ndarray, *, depth: int,
                 per_call: bool = False, which: str = "central") -> np.ndarray:
    """Cycles per row of ``counters``: a run's phases ``[4, N_EVENTS]``, or per-call
    hook rows (``per_call=True``: one hook entry each), at the ``which`` unit costs."""
    entries = np.ones(counters.shape[0]) if per_call else phase_entries(counters)
    return coefficients(profile, strategy, counters, depth=depth, entries=entries) @ profile.vector(which)
