"""Cost profiles: cycles per counted event, with ranges, sources and overlap.

Every unit cost has a low, a central and a high value, each with its source: the
posting (Message-ID), commit or paper that measured it, a kernel-source argument (file
and function), or ``estimate`` with the reasoning.  Where an in-situ, differential
measurement exists (the difference a primitive makes on a real hot path), the range is
built from those measurements (``Evidence``, tagged with their source family); a
back-to-back figure of the primitive in a tight loop is at most the high end.  The
profiles are inputs; the end-to-end figures the engine reports are outputs and were
not used to set them (docs/costs.md, docs/validation.md).

**Overlap** (docs/costs.md, "Chain and issue").  Each unit cost has two prices: its
*chain* price (``Profile.costs``: the cycles it adds to a dependent chain, what it
costs when nothing can run beside it) and its *issue* price (``Profile.issue``: its
instructions over the core's issue width, what it costs when it runs entirely beside
other work).  A region of work with counts ``a`` costs

    cycles = max(a . chain, a . issue)

i.e. the longer of its dependent chain and its issue time.  The post-alloc hook, the
free hook and the slab phases are each a region of their own in the per-phase figures;
an end-to-end figure is one region (the hooks overlap the allocator's own chain).
With an empty ``issue`` table this is the linear sum model.  The kernels only count
events; all of this is post-processing of the counters.

``coefficients`` builds ``a``: most unit costs price one counted event; a few price
work the kernel does on a counted event (the hook's per-call entry, the page-charge
work on each obj-stock consume miss, the statistics walk per level on each flush).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import BadInputError, BulksimError
from ..model.events import EV, N_EVENTS, PH_SLAB_ALLOC


@dataclass(frozen=True)
class Evidence:
    """One in-situ measurement of a unit cost, in cycles at the profile's clock:
    ``family`` names its source family (an author's series, a benchmark), so that a
    validation can leave it out (``Profile.without``)."""

    family: str
    low: float
    central: float
    high: float
    source: str


@dataclass(frozen=True)
class Cost:
    """One unit cost in cycles: low <= central <= high, and where the numbers come from.

    ``evidence`` lists the in-situ measurements the range was built from and ``base``
    the range without any of them (back-to-back figures and estimates), so that the
    cost can be rebuilt with a source family left out."""

    low: float
    central: float
    high: float
    source: str
    evidence: tuple = field(default=(), compare=False)
    base: "Cost | None" = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if not 0 <= self.low <= self.central <= self.high:
            raise ValueError(f"unit cost needs 0 <= low <= central <= high: {self}")

    @property
    def families(self) -> set[str]:
        return {e.family for e in self.evidence}

    def without(self, family: str) -> "Cost":
        """The cost rebuilt from its evidence minus ``family`` (its ``base`` if none is left)."""
        if family not in self.families:
            return self
        rest = tuple(e for e in self.evidence if e.family != family)
        if not rest:
            return replace(self.base, source=self.base.source + f" [in-situ evidence of {family} left out]")
        return from_evidence(self.base, *rest)


def C(low: float, central: float, high: float, source: str) -> Cost:
    return Cost(float(low), float(central), float(high), source)


def from_evidence(base: Cost, *evidence: Evidence, high: float | None = None,
                  why: str = "") -> Cost:
    """A unit cost from in-situ measurements: from the lowest low to the highest high of
    the evidence, central the median of their centrals; the high end is ``high`` (``why``
    says how it was chosen) or else ``base``'s, never below the evidence.  ``base`` (the
    back-to-back figure and estimates: an upper bound of what the primitive adds on a
    real path) is kept for ``Cost.without``."""
    lo = min(e.low for e in evidence)
    mid = statistics.median(e.central for e in evidence)
    hi = max(max(e.high for e in evidence), base.high if high is None else high)
    src = "in situ: " + "; ".join(f"{e.source} ({e.low:g}-{e.high:g}, {e.central:g})" for e in evidence)
    src += f"; high end {hi:g}{why}; without the in-situ figures: {base.source}"
    return Cost(float(lo), float(mid), float(hi), src, tuple(evidence), base)


# Unit costs that price work done on an existing counted event, not the event itself.
EXTRA_COSTS = ("hook_entry", "memcg_stock_scan", "stat_flush_level", "charge_pages_work",
               "high_check_level", "preempt")


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    clock_ghz: float
    estimated: bool
    costs: dict = field(default_factory=dict)  # unit-cost name -> Cost: chain prices
    issue: dict = field(default_factory=dict)  # unit-cost name -> Cost: issue prices (missing: 0)
    width: float = 4.0  # instructions per cycle the issue prices assume (documentation)

    @property
    def names(self) -> list[str]:
        """The unit costs in a fixed order: the coordinates of every linear form."""
        return list(self.costs)

    def vector(self, which: str = "central") -> np.ndarray:
        """The chain prices, one per unit cost (``names`` order)."""
        if which not in ("low", "central", "high"):
            raise BadInputError(f"unit-cost value must be low, central or high, got {which!r}")
        return np.array([getattr(c, which) for c in self.costs.values()], dtype=np.float64)

    def issue_vector(self, which: str = "central") -> np.ndarray:
        """The issue prices, one per unit cost (``names`` order; 0 where none is given)."""
        if which not in ("low", "central", "high"):
            raise BadInputError(f"unit-cost value must be low, central or high, got {which!r}")
        return np.array([getattr(self.issue[n], which) if n in self.issue else 0.0 for n in self.costs],
                        dtype=np.float64)

    def box(self):
        """``(chain low, chain high, issue low, issue high)``: the box every range is over."""
        return (self.vector("low"), self.vector("high"), self.issue_vector("low"), self.issue_vector("high"))

    @property
    def families(self) -> set[str]:
        """The source families of the in-situ evidence the profile's prices rest on."""
        out: set[str] = set()
        for c in list(self.costs.values()) + list(self.issue.values()):
            out |= c.families
        return out

    def without(self, family: str) -> "Profile":
        """This profile with every price rebuilt without the evidence of ``family``
        (leave-one-family-out validation)."""
        if family not in self.families:
            return self
        return replace(self, costs={k: c.without(family) for k, c in self.costs.items()},
                       issue={k: c.without(family) for k, c in self.issue.items()})

    @property
    def trylock_cycles(self) -> float:
        return self.costs["trylock"].central

    @property
    def irqsave_cycles(self) -> float:
        return self.costs["irqsave"].central

    def rows(self) -> list[tuple[str, float, float, float, str]]:
        """(unit cost, low, central, high, source) for every unit cost (chain prices)."""
        return [(k, c.low, c.central, c.high, c.source) for k, c in self.costs.items()]

    def issue_rows(self) -> list[tuple[str, float, float, float, str]]:
        """(unit cost, low, central, high, source) of every issue price."""
        return [(k, c.low, c.central, c.high, c.source) for k, c in self.issue.items()]


# Strategies without memcg accounting (engine.model.invariants.UNACCOUNTED).
UNACCOUNTED = ("none",)
# Generations whose memcg stock takes the obj stock's local_trylock (and a slot scan).
_TRYLOCK_GENERATIONS = ("mainline-2026", "mm-2026")
_V5 = ("v5.9", "v5.14")


def generation_of(strategy: str, kernel: str = "") -> str:
    from ..model.state import resolve_generation

    return resolve_generation(kernel, strategy)


def lock_cost_name(strategy: str, kernel: str = "", stock_lock: str = "") -> str:
    """The unit cost of one obj-stock lock round trip (``stock_locks``): the
    generation's lock, or the scenario's ``stock_lock`` where the generation had two."""
    from ..model.state import resolve_stock_lock

    return resolve_stock_lock(stock_lock, generation_of(strategy, kernel), strategy)


def coefficients(profile: Profile, strategy: str, counters: np.ndarray, *, depth: int,
                 entries: np.ndarray | None = None, kernel: str = "", stock_lock: str = "") -> np.ndarray:
    """Coefficient matrix ``[rows, unit costs]``: chain cycles ``= coefficients @ profile.vector()``,
    issue cycles ``= coefficients @ profile.issue_vector()``.

    ``counters`` is ``[rows, N_EVENTS]``.  ``entries[row]`` is the number of hook
    entries priced in that row (``hook_entry``): for the phase matrix of a run it is
    the calls in the hook phase row (``phase_entries``), for per-call rows one each.
    ``depth`` is the scenario's cgroup depth below the root; the walks that go to the
    root (statistics, memory.high) cover ``depth + 1`` levels.  ``kernel`` and
    ``stock_lock`` are the run's generation and lock kind ("" = the strategy's own).
    """
    counters = np.asarray(counters, dtype=np.float64)
    if counters.ndim != 2 or counters.shape[1] != N_EVENTS:
        raise BulksimError(f"counters must be [rows, {N_EVENTS}], got shape {counters.shape}")
    names = profile.names
    col = {n: i for i, n in enumerate(names)}
    out = np.zeros((counters.shape[0], len(names)), dtype=np.float64)
    gen = generation_of(strategy, kernel)
    lock = lock_cost_name(strategy, kernel, stock_lock)
    for ev, i in EV.items():
        if ev in col:
            out[:, col[ev]] += counters[:, i]
    # Stock locks of the generation's kind; a failed trylock still did preempt off/on and
    # read ->acquired (include/linux/local_lock_internal.h, __local_trylock).
    out[:, col[lock]] += counters[:, EV["stock_locks"]]
    out[:, col["trylock"]] += counters[:, EV["stock_lock_failures"]]
    # v5.x: irq-save pairs outside the obj stock's lock (consume_stock / refill_stock's
    # local_irq_save, mod_memcg_lruvec_state's): irq-save whatever the obj stock's kind.
    out[:, col["irqsave"]] += counters[:, EV["irq_saves"]]
    # memcg stock (consume_stock, refill_stock): its own lock, then a scan of 7 slots.
    # v5.9-v6.15: one slot, its lock round trips already counted (stock_locks on v6.12,
    # irq_saves on v5.x): no lock, no scan here.
    ms = (counters[:, EV["memcg_stock_hits"]] + counters[:, EV["memcg_stock_misses"]]
          + counters[:, EV["memcg_stock_refills"]])
    if gen in _TRYLOCK_GENERATIONS:
        out[:, col[lock]] += ms
        out[:, col["memcg_stock_scan"]] += ms
    # Per-flush statistics walk, leaf to root (memcg_rstat_updated, v6.1 on).  v5.x:
    # per-CPU counters with a threshold (v5.9-v5.12) or cgroup_rstat_updated's one
    # per-CPU test (v5.13-v6.0): the fixed part of stat_flushes, no walk per level.
    levels = float(depth + 1)
    walk = 0.0 if gen in _V5 else levels
    out[:, col["stat_flush_level"]] += counters[:, EV["stat_flushes"]] * walk
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
    out[:, col["stat_flush_level"]] += work * walk    # its memcg_rstat_updated walk
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


def region_cycles(profile: Profile, co: np.ndarray, which: str = "central") -> np.ndarray:
    """Cycles of each row of a coefficient matrix taken as one region each:
    ``max(chain, issue)`` at the ``which`` unit costs."""
    co = np.atleast_2d(np.asarray(co, dtype=np.float64))
    return np.maximum(co @ profile.vector(which), co @ profile.issue_vector(which))


# The sources the prices cite (docs/costs.md lists each with what it measured).
BROUER_2017 = "J. Brouer, time_bench, LKML 11 Jan 2017, <20170111134420.368efb9e@redhat.com>"
SIEWIOR_2022 = "S. A. Siewior, LKML 5 Jan 2022, <YdX+INO9gQje6d0S@linutronix.de>"
LAMETER = "C. Lameter, commit 8270137a0d50 (locked vs this_cpu ops); LLVM commit b1bdd97a2671"
C2C = "github.com/nviennot/core-to-core-latency README (CAS ping-pong medians)"
BULK_2016 = ("J. Brouer, '[PATCH V2 10/11] mm: new API kfree_bulk()', LKML 12 Jan 2016 (i7-4790K, v4.4; "
             "kmem_cache_alloc_bulk + free_bulk of 256 B, cycles per object by bulk size)")
BULK_FREE = "commit d0ecd894e3d5 (detached-freelist bulk free, cycles per object by bulk size)"
GROSS_2021 = ("commit ab234a260b1f, 'x86/pv: Rework arch_local_irq_restore() to not use popf' "
              "(J. Gross): local_irq_restore is a flags test and sti, no popf")
WIDTH = ("A. Fog, 'The microarchitecture of Intel, AMD and VIA CPUs': Skylake renames 4 fused uops a "
         "clock, Zen 2 decodes 4 and dispatches 6 (5 used); high end: a sustained 2 instructions a clock")


def _chain_and_ops() -> dict:
    """Per unit cost: its chain price (clock-independent cycles; the lock prices are set
    per profile) and its instruction count (low, central, high) with the reasoning."""
    off = "off the loop-carried chain (nothing later waits for it: priced by issue)"
    return {
        "calls": (C(30, 33, 42, f"{BULK_2016}: 53 at bulk 1 minus the ~20 asymptote (33); fits of "
                   "c(n) = F/n + a to sizes 1 and 2..16 give F = 35-42; a loop's throughput"),
                  (20, 30, 45), "kmem_cache_alloc_bulk/free_bulk entry, set-up and return"),
        "virt_to_slab": (C(0, 0, 12, f"{off}; high: {BROUER_2017} function call (6) + a struct "
                           "page miss, back to back"), (3, 5, 8),
                         "virt_to_slab: address arithmetic, page flags load and test"),
        "obj_to_index": (C(0, 0, 6, f"{off}; high: reciprocal multiply and shift back to back "
                           "(mm/slab.h obj_to_index)"), (3, 4, 6), "sub, multiply, shift"),
        "assigns": (C(0, 0, 4, f"{off}; high: obj_exts line not in L1"), (1, 2, 3), "one store"),
        "obj_exts_allocs": (C(50, 61, 120, f"{BULK_2016}: one single kmalloc alloc+free pair at "
                              "bulk 1 (61); high: a zeroed array of a page (estimate)"),
                            (80, 150, 300), "kcalloc of the array and its cmpxchg"),
        "consume_hits": (C(0, 0, 4, f"{off}; high: two __this_cpu ops back to back ({LAMETER})"),
                         (3, 4, 6), "compare objcg and bytes, subtract, store"),
        "consume_misses": (C(0, 0, 4, f"{off}; high: as consume_hits"), (2, 3, 5), "two compares"),
        "refills": (C(0, 0, 6, f"{off}; high: three __this_cpu ops back to back ({LAMETER})"),
                    (4, 6, 10), "compare, add, compare with PAGE_SIZE, store"),
        "drains": (C(6, 6, 12, f"{BROUER_2017}: a function call (6); its uncharges and flushes are "
                   "counted separately"), (15, 25, 40), "drain_obj_stock body"),
        "stat_updates": (C(0, 0, 6, f"{off}; high: three __this_cpu ops back to back "
                           "(__account_obj_stock)"), (5, 8, 12), "select, add, abs compare, store"),
        "stat_flushes": (C(0, 6, 60, "mm/memcontrol.c mod_objcg_mlstate -> __mod_memcg_lruvec_state: "
                           "three calls (6 each back to back, " + BROUER_2017 + "), get_cpu/put_cpu, two "
                           "this_cpu_add, css_rstat_updated; central: one call's exposed return; high: "
                           "all of it back to back"), (30, 45, 70), "three calls and their bodies"),
        "page_counter_charges": (C(17, 18, 25, f"locked add, uncontended 17-18 ({LAMETER}); a locked "
                                   "op drains the store buffer: on the chain; high: watermark stores"),
                                 (8, 12, 20), "page_counter_try_charge per level"),
        "page_counter_uncharges": (C(17, 18, 25, f"locked sub, uncontended 17-18 ({LAMETER}); high: "
                                     "propagate_protected_usage reads"), (8, 12, 20), "per level"),
        "page_counter_failcnt": (C(0, 1, 2, "plain increment"), (1, 2, 3), "increment"),
        "memcg_stock_hits": (C(0, 0, 4, f"{off}; lock and scan priced apart"), (2, 3, 5), "update"),
        "memcg_stock_refills": (C(0, 0, 4, f"{off}; lock and scan priced apart"), (2, 3, 5), "update"),
        "memcg_stock_drains": (C(6, 6, 12, f"{BROUER_2017}: a function call; its uncharge is counted "
                               "separately"), (15, 25, 40), "drain_stock body"),
        "objcg_ref_ops": (C(0, 0, 6, f"{off}: percpu_ref get/put, a this_cpu op under RCU; high: "
                            "PREEMPT_RCU nesting counter back to back (estimate)"), (3, 4, 8),
                          "rcu_read_lock, __ref_is_percpu test, this_cpu add"),
        "nr_charged_atomics": (C(10, 18, 25, f"locked xchg / add 17-18 ({LAMETER}); low: Zen-class "
                                 "locked ops (estimate); its line transfer is counted separately"),
                               (2, 3, 5), "atomic_xchg"),
        "reclaims": (C(5000, 20000, 80000, "estimate: one direct-reclaim pass (~5 us); not calibrated"),
                     None, ""),
        "sheaf_hits": (C(8, 10, 12, f"{BULK_2016}: the bulk API at 16-32 is 19-20 per alloc+free pair; "
                         "half to alloc"), (6, 10, 15), "sheaf pop"),
        "sheaf_swaps": (C(1, 2, 4, "pointer swap (estimate)"), (3, 5, 8), "swap main and spare"),
        "barn_fetches": (C(33, 39, 62, f"{BROUER_2017}: spin_lock pair (33) + list ops (a call, 6); "
                           "high: spin_lock_irqsave pair (62)"), (25, 40, 60), "barn_get_full_sheaf"),
        "barn_puts": (C(33, 39, 62, f"{BROUER_2017}: spin_lock pair (33) + list ops (6); high: "
                        "spin_lock_irqsave pair (62)"), (25, 40, 60), "barn_put_empty_sheaf"),
        "sheaf_flushes": (C(450, 500, 1000, f"spin_lock pair ({BROUER_2017}, 33) + 26 objects at "
                            f"{BULK_FREE}'s bulk free cost (17-18); high: its figure at 250 (37)"),
                          (250, 400, 600), "sheaf_flush_unused"),
        "slab_refill_objects": (C(20, 25, 50, f"{BULK_2016}: looped single calls at 16 (49) per pair; "
                                  "half to alloc; high: the whole pair"), (10, 20, 30), "per object"),
        "new_slabs": (C(600, 882, 1500, f"{BULK_2016}: the 32->34 step (a slab boundary at 256 B) is "
                        "1764 cycles for a slab alloc+free; half (estimate range)"), None, ""),
        "slab_discards": (C(600, 882, 1500, f"{BULK_2016}: the other half of the slab step"), None, ""),
        "kfence_objects": (C(200, 500, 2000, "estimate: KFENCE pool allocation; rare by design"), None, ""),
        "frees": (C(8, 10, 12, f"{BULK_2016}: the bulk API at 16-32 is 19-20 per alloc+free pair; half "
                    "to free"), (6, 10, 15), "sheaf push"),
        "remote_frees": (C(30, 39, 80, f"{BULK_FREE}: single-object free (49) minus the sheaf free (10); "
                           "high: a cross-node slab lock (estimate)"), (20, 30, 50), "slab free path"),
        # kernel generations and the limit path (docs/model.md §5a-5b)
        "stat_guard_flushes": (C(0, 0, 0, "marker: the flush it causes is counted in stat_flushes"),
                               None, ""),
        "obj_stock_u16_releases": (C(0, 0, 0, "marker: the pages it releases are counted as refills and "
                                   "uncharges"), None, ""),
        "drain_works": (C(200, 500, 2000, "estimate: queue_work_on() of a drain to another CPU (a "
                          "cross-CPU wakeup, line transfers plus the workqueue's locks); not calibrated"),
                        None, ""),
        "memcg_ooms": (C(50000, 200000, 1000000, "estimate: mem_cgroup_oom() with oom_lock and a task "
                         "scan (~50 us); not calibrated, rare by design"), None, ""),
        "objcg_uncharge_pages": (C(0, 0, 0, "marker: each call is priced in coefficients() as "
                                   "charge_pages_work + 2 objcg_ref_ops + a stat_flushes with its levels "
                                   "(mm/memcontrol.c obj_cgroup_uncharge_pages)"), None, ""),
        "drain_uncharge_pages": (C(0, 0, 0, "marker: each is priced in coefficients() as "
                                   "charge_pages_work + 2 objcg_ref_ops + a stat_flushes with its levels "
                                   "(mm/memcontrol.c drain_obj_stock: get_mem_cgroup_from_objcg, "
                                   "mod_memcg_state, memcg_uncharge, css_put)"), None, ""),
        "free_runs": (C(0, 0, 0, "marker: a batched free-hook run's lock, refill, statistics update and "
                        "reference put are counted as stock_locks, refills, stat_updates, objcg_ref_ops"),
                      None, ""),
        "hook_entry": (C(0, 2, 35, "mm/slub.c memcg_slab_post_alloc_hook: static key, flag tests, the "
                         "out-of-line __memcg_slab_post_alloc_hook, current_obj_cgroup() loads; off the "
                         "chain but a call and return (central 2); high: all of it back to back (9-35 "
                         f"with {BROUER_2017}'s call, 6)"), (15, 25, 40), "entry, tests, loads, call"),
        "memcg_stock_scan": (C(0, 0, 14, f"{off}: 7 compares of one line; high: the line not in L1"),
                             (8, 12, 16), "7 compares"),
        "stat_flush_level": (C(0, 1.5, 15, "mm/memcontrol.c memcg_rstat_updated per level: "
                               "this_cpu_add_return and a read of the shared stats_updates, every ~64 "
                               "updates a locked add (18) and a line transfer (80) = ~1.5 per level "
                               "on the chain on average; high: the read misses"), (3, 5, 8), "per level"),
        "charge_pages_work": (C(0, 6, 20, "mm/memcontrol.c obj_cgroup_charge_pages / "
                                "obj_cgroup_uncharge_pages: two calls (6 each back to back, "
                                f"{BROUER_2017}); central: one exposed; css ops and the statistic are "
                                "priced apart"), (15, 25, 40), "the calls and try_charge_memcg"),
        "high_check_level": (C(0, 4, 80, "mm/memcontrol.c try_charge_memcg done_restock: per level, 4 "
                               "reads of usage and high; central: one L1 load latency exposed; high: "
                               "the usage line written by another CPU (one transfer)"), (4, 6, 10),
                             "4 loads and compares per level"),
    }


# Lock primitives: instructions (for the issue price) and the kernel text.
_LOCK_OPS = {
    "trylock": ((5, 7, 9), "include/linux/local_lock_internal.h __local_trylock on !PREEMPT_RT: "
                "preempt_count inc, read and write of ->acquired, unlock: write, preempt_count dec "
                "and resched test"),
    "irqsave": ((5, 6, 8), "pushf; pop; cli ... test; jz; sti (arch/x86/include/asm/irqflags.h after "
                "ab234a260b1f)"),
    "preempt": ((2, 3, 4), "preempt_disable/preempt_enable: incl/decl of the per-CPU preempt_count, "
                "resched test"),
}


def _ns(ns: float, ghz: float) -> float:
    return round(ns * ghz, 1)


def _lock_costs(ghz: float, b2b_preempt_ns: float, b2b_irq_ns: float, insitu: dict) -> dict:
    """trylock / irqsave / preempt chain prices at ``ghz``: in-situ evidence (``insitu``:
    kind -> [(family, low ns, central ns, high ns, source)]).  The high end is twice the
    largest in-situ figure, but never above the back-to-back figure (Siewior's loop with
    interrupts already off), which bounds what a pair can add on any path."""
    out = {}
    base = {
        "preempt": C(0, _ns(b2b_preempt_ns, ghz) / 2, _ns(b2b_preempt_ns, ghz),
                     f"back to back: {SIEWIOR_2022} preempt off/on {b2b_preempt_ns} ns a pair; "
                     f"{BROUER_2017}: 11 cycles with CONFIG_PREEMPT, ~0 without (preempt_disable is "
                     "barrier() without CONFIG_PREEMPT_COUNT, include/linux/preempt.h); without an "
                     "in-situ figure the central value is half the back-to-back one (estimate)"),
        "irqsave": C(0, _ns(b2b_irq_ns, ghz) / 2, _ns(b2b_irq_ns, ghz),
                     f"back to back: {SIEWIOR_2022} irq save/restore {b2b_irq_ns} ns a pair, measured "
                     f"with interrupts already off (no sti); {BROUER_2017}: 38 cycles, popf era "
                     f"(before {GROSS_2021}); without an in-situ figure the central value is half the "
                     "back-to-back one (estimate)"),
    }
    base["trylock"] = C(0, base["preempt"].central + 1, base["preempt"].high + 3,
                        "back to back: the preempt pair + the ->acquired read and write (3 plain "
                        "ops, " + LAMETER + ")")
    for kind in ("preempt", "irqsave", "trylock"):
        src_kind = "preempt" if kind == "trylock" else kind
        extra = 1.0 if kind == "trylock" else 0.0  # ->acquired: a load and a store, off the chain
        ev = [Evidence(f, _ns(lo, ghz), _ns(mid, ghz) + extra / 2, _ns(hi, ghz) + extra,
                       src + (" + the ->acquired load and store (0-1 cycle)" if extra else ""))
              for f, lo, mid, hi, src in insitu.get(src_kind, [])]
        if not ev:
            out[kind] = base[kind]
            continue
        b = base[kind]
        cap = min(b.high, 2 * max(e.high for e in ev))
        out[kind] = from_evidence(b, *ev, high=cap, why=": twice the largest in-situ figure, at most "
                                  "the back-to-back one")
    return out


def _issue(ops_table: dict, width: float) -> dict:
    out = {}
    for name, (lo, mid, hi), src in ops_table:
        out[name] = C(round(lo / width, 2), round(mid / width, 2), round(hi / (width / 2) if width > 2
                                                                         else hi / width, 2),
                      f"~{lo}-{hi} instructions ({src}) over width {width:g}; high at 2 a clock "
                      f"({WIDTH})")
    return out


def _profile_costs(ghz: float, width: float, xfer_local: Cost, xfer_remote: Cost, locks: dict) -> tuple:
    table = _chain_and_ops()
    chain = {k: v[0] for k, v in table.items()}
    chain["line_transfers_local"] = xfer_local
    chain["line_transfers_remote"] = xfer_remote
    chain.update(locks)
    ops = [(k, v[1], v[2]) for k, v in table.items() if v[1] is not None]
    ops += [("line_transfers_local", (1, 1, 2), "the access itself; its latency is the chain price"),
            ("line_transfers_remote", (1, 1, 2), "the access itself; its latency is the chain price")]
    ops += [(k, o, src) for k, (o, src) in _LOCK_OPS.items()]
    # one coordinate order for every profile
    order = list(table) + ["line_transfers_local", "line_transfers_remote", "trylock", "irqsave",
                           "preempt"]
    chain = {k: chain[k] for k in order}
    return chain, _issue(ops, width)


# In-situ lock measurements: (family, low ns, central ns, high ns, source) per lock kind.
# S. A. Siewior's kfree(kmalloc(128, GFP_ATOMIC | __GFP_ACCOUNT)) loop, 100M iterations,
# medians of 5, task context, v5.14 hooks with the obj-stock sites (4 an iteration) taking
# local_irq_save (NO-OPT) or preempt_disable (OPT): (NO-OPT - OPT) / 1e8 / 4 per site.
# PREEMPT_NONE: preempt_disable is a barrier, so the difference is the irq-save pair itself:
# Sandy Bridge 1.33 ns, Zen 2 1.56 ns.  CONFIG_PREEMPT: irq-save pair - preempt pair =
# Sandy Bridge 1.43 ns, Zen 2 0.56 ns, so a preempt pair in situ is about 0 (Sandy Bridge)
# to 1.56 - 0.56 = 1.0 ns (Zen 2).  These rows are training rows of bulksim validate.
_S = f"{SIEWIOR_2022}, kfree(kmalloc(128, GFP_ATOMIC | __GFP_ACCOUNT)) NO-OPT - OPT per site"
_INSITU_SKL = {
    "irqsave": [("siewior-2022", 1.33, 1.38, 1.43, f"{_S}, Sandy Bridge: 1.33 ns (PREEMPT_NONE), "
                 "1.43 ns + the preempt pair (CONFIG_PREEMPT)")],
    "preempt": [("siewior-2022", 0.0, 0.25, 1.0, f"{_S}: 0 (PREEMPT_NONE: a barrier); CONFIG_PREEMPT: "
                 "the irq pair less the difference, ~0 (Sandy Bridge) to 1.0 ns (Zen 2)")],
}
_INSITU_ZEN2 = {
    "irqsave": [("siewior-2022", 0.56, 1.06, 1.56, f"{_S}, Zen 2: 1.56 ns (PREEMPT_NONE), 0.56 ns + "
                 "the preempt pair (CONFIG_PREEMPT)")],
    "preempt": [("siewior-2022", 0.0, 0.5, 1.0, f"{_S}, Zen 2: 0 (PREEMPT_NONE: a barrier); "
                 "CONFIG_PREEMPT: 1.56 - 0.56 = 1.0 ns")],
}

_SKL_XFER = (C(68, 80, 188, f"{C2C}: same socket 17-47 ns (i7-6700K 20 ns central) at 4.0 GHz"),
             C(432, 432, 788, f"{C2C}: other socket 108-197 ns at 4.0 GHz"))
_ZEN2_XFER = (C(60, 60, 298, f"{C2C}: Ryzen same CCX 17 ns, other CCX 85 ns, at 3.5 GHz"),
              C(378, 378, 690, f"{C2C}: other socket 108-197 ns at 3.5 GHz"))


def _make(name, description, ghz, width, estimated, xfer, locks) -> Profile:
    chain, issue = _profile_costs(ghz, width, *xfer, locks)
    return Profile(name=name, description=description, clock_ghz=ghz, estimated=estimated,
                   costs=chain, issue=issue, width=width)


_RT = C(40, 50, 60, "estimated (no isolated measurement found): 2 uncontended atomics + "
        "migrate_disable/enable, 40-60 cycles")

PROFILES: dict[str, Profile] = {
    "intel-skylake": _make(
        "intel-skylake", "Skylake desktop at 4.0 GHz, current kernel (local_trylock, !PREEMPT_RT)",
        4.0, 4.0, False, _SKL_XFER, _lock_costs(4.0, 5.08, 10.62, _INSITU_SKL)),
    "amd-zen2": _make(
        "amd-zen2", "Zen 2 at 3.5 GHz, current kernel (local_trylock, !PREEMPT_RT)",
        3.5, 5.0, False, _ZEN2_XFER, _lock_costs(3.5, 6.23, 4.90, _INSITU_ZEN2)),
    "preempt-rt": _make(
        "preempt-rt", "PREEMPT_RT at 4.0 GHz: the stock lock is a per-CPU spinlock with "
        "migration disabled (ESTIMATED)", 4.0, 4.0, True, _SKL_XFER,
        {"trylock": _RT, "irqsave": _RT, "preempt": C(0, 2, 20, "estimated: migrate_disable/enable")}),
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
                 per_call: bool = False, which: str = "central", kernel: str = "",
                 stock_lock: str = "") -> np.ndarray:
    """Cycles per row of ``counters``, each row a region of its own (``max(chain,
    issue)``): a run's phases ``[4, N_EVENTS]``, or per-call hook rows (``per_call=True``:
    one hook entry each), at the ``which`` unit costs."""
    entries = np.ones(counters.shape[0]) if per_call else phase_entries(counters)
    co = coefficients(profile, strategy, counters, depth=depth, entries=entries, kernel=kernel,
                      stock_lock=stock_lock)
    return region_cycles(profile, co, which)


def total_cycles(profile: Profile, strategy: str, counters: np.ndarray, *, depth: int,
                 which: str = "central", kernel: str = "", stock_lock: str = "") -> float:
    """End-to-end cycles of a run's ``[4, N_EVENTS]`` phases as one region: the hooks
    overlap the allocator's own chain, so this is at most the sum of the phases."""
    co = coefficients(profile, strategy, counters, depth=depth, entries=phase_entries(counters),
                      kernel=kernel, stock_lock=stock_lock)
    return float(region_cycles(profile, co.sum(axis=0), which)[0])
