"""Cost profiles: cycles per counted event, from published primitive costs.

Every unit cost cites a row of CALIBRATION.md (P* lock and CPU primitives, S* SLUB
base costs, F* facts) or is marked ``estimate``.  The profiles are inputs; the
end-to-end figures the engine reports are outputs and were not used to set them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BulksimError
from ..model.events import EV, N_EVENTS


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    clock_ghz: float
    estimated: bool
    # cycles for one obj-stock lock + unlock, by lock generation
    trylock_cycles: float  # local_trylock (preempt-disable) of current kernels
    irqsave_cycles: float  # local_lock_irqsave of the upfront generation
    lock_source: str
    units: dict = field(default_factory=dict)  # event -> (cycles, source)

    def unit_vector(self, strategy: str) -> np.ndarray:
        """Cycles per event for ``strategy`` (its lock generation picks the lock cost)."""
        u = np.zeros(N_EVENTS, dtype=np.float64)
        for name, (cycles, _src) in self.units.items():
            u[EV[name]] = cycles
        lock = self.irqsave_cycles if strategy == "upfront" else self.trylock_cycles
        u[EV["stock_locks"]] = lock
        if strategy == "upfront":
            # v6.12 (upfront's generation): one memcg-stock slot, whose stock_lock
            # is counted in stock_locks: a slot compare and an update (P7).
            for name in ("memcg_stock_hits", "memcg_stock_misses", "memcg_stock_refills"):
                u[EV[name]] = 3.0
        # A failed trylock still disables and re-enables preemption.
        u[EV["stock_lock_failures"]] = self.trylock_cycles
        return u

    def rows(self) -> list[tuple[str, float, str]]:
        out = [("stock_locks (trylock, current kernels)", self.trylock_cycles, self.lock_source),
               ("stock_locks (irq-save, upfront generation)", self.irqsave_cycles, self.lock_source)]
        out += [(k, v[0], v[1]) for k, v in self.units.items()]
        return out


def _common(xfer_local: float, xfer_remote: float, xfer_src: str) -> dict:
    """Unit costs shared by the profiles (cycles), with their sources."""
    return {
        "calls": (33.0, "S1: bulk API at size 1 (53) minus its asymptote (~20): per-call entry cost"),
        "virt_to_slab": (6.0, "P5: about one function call (estimate: page lookup + flag test)"),
        "obj_to_index": (4.0, "estimate: reciprocal multiply and shift"),
        "assigns": (1.0, "P7: a plain store (__this_cpu class op ~1)"),
        "obj_exts_allocs": (61.0, "S1: one single kmalloc alloc+free pair at size 1 (61)"),
        "consume_hits": (2.0, "P7: two __this_cpu class ops"),
        "consume_misses": (2.0, "P7: two __this_cpu class ops"),
        "refills": (3.0, "P7: three __this_cpu class ops"),
        "drains": (6.0, "P5: function call; its uncharges and flushes are counted separately"),
        "stat_updates": (3.0, "P7: three __this_cpu class ops"),
        "stat_flushes": (24.0, "P8 x2 + P5: two this_cpu RMW ops (9) and a call (6)"),
        "page_counter_charges": (18.0, "P7: locked add, uncontended (17-18)"),
        "page_counter_uncharges": (18.0, "P7: locked sub, uncontended (17-18)"),
        "page_counter_failcnt": (1.0, "P7: plain increment"),
        "memcg_stock_hits": (27.0, "P6 (preempt pair) + 7 slot compares (P7 ~1 each)"),
        "memcg_stock_misses": (27.0, "P6 (preempt pair) + 7 slot compares (P7 ~1 each)"),
        "memcg_stock_refills": (27.0, "P6 (preempt pair) + 7 slot compares (P7 ~1 each)"),
        "memcg_stock_drains": (6.0, "P5: function call; its uncharge is counted separately"),
        "objcg_ref_ops": (2.0, "P7: percpu_ref get/put, a __this_cpu op under RCU"),
        "nr_charged_atomics": (18.0, "P7: locked xchg / add (17-18)"),
        "reclaims": (20000.0, "estimate: one direct-reclaim pass (~5 us); not calibrated"),
        "sheaf_hits": (10.0, "S1: bulk API at 16 is 20 per alloc+free pair; half to alloc"),
        "sheaf_swaps": (2.0, "P7: pointer swap"),
        "barn_fetches": (39.0, "P4 spin_lock pair (33) + list ops (P5 6)"),
        "barn_puts": (39.0, "P4 spin_lock pair (33) + list ops (P5 6)"),
        "sheaf_flushes": (500.0, "P4 (33) + 26 objects at S3's bulk free cost (18)"),
        "slab_refill_objects": (25.0, "S1: looped single calls at 16 (49) per pair; half to alloc"),
        "new_slabs": (882.0, "S1/S2: the 32->34 step is 1764 cycles for a slab alloc+free; half"),
        "slab_discards": (882.0, "S1/S2: the other half of the slab step"),
        "kfence_objects": (500.0, "estimate: KFENCE pool allocation; rare by design"),
        "frees": (10.0, "S1: bulk API at 16 is 20 per alloc+free pair; half to free"),
        "remote_frees": (39.0, "S3: single-object free (49) minus the sheaf free (10)"),
        "line_transfers_local": (xfer_local, xfer_src),
        "line_transfers_remote": (xfer_remote, xfer_src),
        # kernel generations and the limit path (docs/model.md §5a-5b)
        "stat_guard_flushes": (0.0, "marker: the flush it causes is counted in stat_flushes"),
        "obj_stock_u16_releases": (0.0, "marker: the pages it releases are counted as refills/uncharges"),
        "drain_works": (500.0, "estimate: queue_work_on() of a drain to another CPU; not calibrated"),
        "memcg_ooms": (200000.0, "estimate: mem_cgroup_oom() with oom_lock and a task scan (~50 us)"),
    }


PROFILES: dict[str, Profile] = {
    "intel-skylake": Profile(
        name="intel-skylake",
        description="Skylake desktop at 4.0 GHz, current kernel (local_trylock, !PREEMPT_RT)",
        clock_ghz=4.0,
        estimated=False,
        trylock_cycles=22.0,
        irqsave_cycles=42.0,
        lock_source="P6 Skylake: preempt pair 5.08 ns, irq save/restore pair 10.62 ns at 4.0 GHz; "
                    "trylock adds two __this_cpu ops (P7)",
        units=_common(80.0, 432.0, "P9: i7-6700K same socket 20 ns; other socket >= 108 ns; at 4.0 GHz"),
    ),
    "amd-zen2": Profile(
        name="amd-zen2",
        description="Zen 2 at 3.5 GHz, current kernel (local_trylock, !PREEMPT_RT)",
        clock_ghz=3.5,
        estimated=False,
        trylock_cycles=24.0,
        irqsave_cycles=17.0,
        lock_source="P6 Zen2: preempt pair 6.23 ns, irq save/restore pair 4.90 ns at 3.5 GHz; "
                    "trylock adds two __this_cpu ops (P7)",
        units=_common(60.0, 378.0, "P9: Ryzen same CCX 17 ns; other socket >= 108 ns; at 3.5 GHz"),
    ),
    "preempt-rt": Profile(
        name="preempt-rt",
        description="PREEMPT_RT at 4.0 GHz: the stock lock is a per-CPU spinlock with "
                    "migration disabled (ESTIMATED)",
        clock_ghz=4.0,
        estimated=True,
        trylock_cycles=50.0,
        irqsave_cycles=50.0,
        lock_source="P10: estimated, 2 uncontended atomics + migrate_disable/enable (40-60)",
        units=_common(80.0, 432.0, "P9: i7-6700K same socket 20 ns; other socket >= 108 ns; at 4.0 GHz"),
    ),
}

DEFAULT_PROFILE = "intel-skylake"


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        import difflib

        close = difflib.get_close_matches(name, list(PROFILES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise BulksimError(f"unknown cost profile {name!r}{hint}; known: {', '.join(PROFILES)}")
    return PROFILES[name]


def phase_cycles(profile: Profile, strategy: str, counters: np.ndarray) -> np.ndarray:
    """Cycles per row of ``counters`` (phases, or calls): ``counters[row] . unit_costs``."""
    return counters.astype(np.float64) @ profile.unit_vector(strategy)
