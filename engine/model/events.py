"""Names and indices of the counted events and of the phases they are counted in.

Every kernel counts into one ``int64`` array ``counters[phase, event]``.  The order
below is part of the result format (it names the columns of the summary table), so
append new events at the end and bump ``engine.tables.SCHEMA_VERSION``.
"""

from __future__ import annotations

PHASES = ("hook", "free_hook", "slab_alloc", "slab_free")
PH_HOOK, PH_FREE_HOOK, PH_SLAB_ALLOC, PH_SLAB_FREE = range(4)

EVENTS = (
    "calls",
    "objects",
    "runs",
    "pgdat_runs",
    "virt_to_slab",
    "obj_to_index",
    "assigns",
    "obj_exts_allocs",
    "obj_exts_failures",
    "obj_exts_skipped",
    "stock_locks",
    "stock_lock_failures",
    "consume_hits",
    "consume_misses",
    "refills",
    "drains",
    "stat_updates",
    "stat_flushes",
    "page_counter_charges",
    "page_counter_uncharges",
    "page_counter_failcnt",
    "memcg_stock_hits",
    "memcg_stock_misses",
    "memcg_stock_refills",
    "memcg_stock_drains",
    "objcg_ref_ops",
    "nr_charged_atomics",
    "charge_failures",
    "forced_charges",
    "reclaims",
    "hook_failures",
    "sheaf_hits",
    "sheaf_swaps",
    "barn_fetches",
    "barn_puts",
    "sheaf_flushes",
    "slab_refill_objects",
    "new_slabs",
    "slab_discards",
    "remote_objects",
    "kfence_objects",
    "frees",
    "remote_frees",
    "line_transfers_local",
    "line_transfers_remote",
    # kernel generations (docs/model.md §5a) and the limit path
    "stat_guard_flushes",  # mm-2026: a statistics update flushed at the 16-bit guard
    "obj_stock_u16_releases",  # mm-2026: whole pages released at the 16-bit byte guard
    "drain_works",  # drain_all_stock: a drain work item queued on another CPU
    "memcg_ooms",  # try_charge_memcg: mem_cgroup_oom (the memcg OOM killer) invoked
    "objcg_uncharge_pages",  # obj_cgroup_uncharge_pages calls
    "drain_uncharge_pages",  # obj-stock drains that release whole pages
    "free_runs",  # the batched free hook: uncharge runs (docs/model.md §7a)
    "irq_saves",  # v5.x: irq-save pairs outside the obj stock's lock (memcg stock, mod_memcg_lruvec_state)
)
N_EVENTS = len(EVENTS)
EV = {name: i for i, name in enumerate(EVENTS)}

# Module-level integer constants for the kernels (numba freezes them at compile
# time, which is what we want for true constants).
(
    E_CALLS, E_OBJECTS, E_RUNS, E_PGDAT_RUNS, E_VIRT_TO_SLAB, E_OBJ_TO_INDEX,
    E_ASSIGNS, E_EXTS_ALLOCS, E_EXTS_FAILURES, E_EXTS_SKIPPED, E_STOCK_LOCKS,
    E_STOCK_LOCK_FAILURES, E_CONSUME_HITS, E_CONSUME_MISSES, E_REFILLS, E_DRAINS,
    E_STAT_UPDATES, E_STAT_FLUSHES, E_PC_CHARGES, E_PC_UNCHARGES, E_PC_FAILCNT,
    E_MSTOCK_HITS, E_MSTOCK_MISSES, E_MSTOCK_REFILLS, E_MSTOCK_DRAINS,
    E_OBJCG_REF_OPS, E_NR_CHARGED_ATOMICS, E_CHARGE_FAILURES, E_FORCED_CHARGES,
    E_RECLAIMS, E_HOOK_FAILURES, E_SHEAF_HITS, E_SHEAF_SWAPS, E_BARN_FETCHES,
    E_BARN_PUTS, E_SHEAF_FLUSHES, E_SLAB_REFILL_OBJECTS, E_NEW_SLABS,
    E_SLAB_DISCARDS, E_REMOTE_OBJECTS, E_KFENCE_OBJECTS, E_FREES, E_REMOTE_FREES,
    E_LINE_XFER_LOCAL, E_LINE_XFER_REMOTE, E_STAT_GUARD_FLUSHES, E_U16_RELEASES,
    E_DRAIN_WORKS, E_MEMCG_OOMS, E_OBJCG_UNCHARGE_PAGES, E_DRAIN_UNCHARGE_PAGES,
    E_FREE_RUNS, E_IRQ_SAVES,
) = range(N_EVENTS)

RUN_HIST_BUCKETS = 64  # bucket k counts runs of length k+1; the last is "64 or more"
