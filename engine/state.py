"""Driver-owned simulation state: every array the kernels read and write.

All state that persists across chunks lives here, so a run can be cut into chunks
(and checkpointed) without changing a single draw.  ``Params`` holds the scalars a
kernel needs; ``State`` the arrays.  Both are plain ``NamedTuple``s so Numba can take
them as arguments and cache the compiled kernels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .events import N_EVENTS, RUN_HIST_BUCKETS
from .scenario import NR_MEMCG_STOCK, Scenario

STRATEGIES = ("per_object", "batched_v1", "batched", "upfront")
STRATEGY_CODE = {name: i for i, name in enumerate(STRATEGIES)}
ST_PER_OBJECT, ST_BATCHED_V1, ST_BATCHED, ST_UPFRONT = range(4)

UNLIMITED = np.int64(2**62)

# Indices into State.misc (run-wide serials and bookkeeping).
M_NEW_SLAB_SERIAL = 0
M_FREE_SERIAL = 1
M_EVICT_SERIAL = 2
M_TRYLOCK_SERIAL = 3
M_LIVE_HEAD = 4
M_LIVE_COUNT = 5
M_NEXT_SLAB_ID = 6
M_FREE_IDS = 7  # number of ids on the free-id stack
M_ERROR = 8  # non-zero: the kernel stopped on a capacity error (code)
M_FORCED = 9
M_NEXT_CALL = 10  # first call index not yet simulated
N_MISC = 11

ERR_SLAB_TABLE_FULL = 1


class Params(NamedTuple):
    """Scalars of one run (int64 / float64 only, so one compiled signature)."""

    strategy: int
    seed: int
    cpus: int
    nodes: int
    memcgs: int
    depth: int
    n_counters: int
    reclaim_pages: int
    reclaim_retries: int
    ofs: int
    objs_per_slab: int
    reclaimable: int
    sheaf_cap: int
    barn_max: int
    bulk_size: int
    bulk_uniform: int
    switch_prob: float
    gfp_nofail: int
    gfp_allow_spin: int
    remote_prob: float
    kfence_prob: float
    exts_at_creation: float
    exts_fail_prob: float
    live_cap: int
    remote_free_prob: float
    irq_prob: float
    get_many: int
    run_cap_bytes: int
    trace_mode: int
    slab_cap: int


class State(NamedTuple):
    """Every mutable array of a run; shapes in the comments."""

    counters: np.ndarray  # int64 [4 phases, N_EVENTS]
    run_hist: np.ndarray  # int64 [RUN_HIST_BUCKETS]
    misc: np.ndarray  # int64 [N_MISC]
    node_of: np.ndarray  # int64 [cpus]
    cpu_memcg: np.ndarray  # int64 [cpus]: the memcg the CPU's task charges
    # obj stock per CPU
    st_objcg: np.ndarray  # int64 [cpus], -1 = none
    st_bytes: np.ndarray  # int64 [cpus]
    st_pgdat: np.ndarray  # int64 [cpus], -1 = none
    st_acc: np.ndarray  # int64 [cpus, 2]: reclaimable, unreclaimable bytes
    # memcg stock per CPU
    ms_memcg: np.ndarray  # int64 [cpus, 7], -1 = empty
    ms_pages: np.ndarray  # int64 [cpus, 7]
    # objcgs and memcgs
    objcg_refs: np.ndarray  # int64 [memcgs]
    nr_charged: np.ndarray  # int64 [memcgs]: objcg->nr_charged_bytes
    pagecache: np.ndarray  # int64 [memcgs]: reclaimable page-cache pages left
    stat: np.ndarray  # int64 [memcgs, nodes]: flushed slab statistics, bytes
    pc_usage: np.ndarray  # int64 [n_counters]
    pc_max: np.ndarray  # int64 [n_counters]
    pc_failcnt: np.ndarray  # int64 [n_counters]
    owner_pc: np.ndarray  # int64 [n_counters]: cache-line owner CPU, -1 none
    owner_objcg: np.ndarray  # int64 [memcgs]
    owner_stat: np.ndarray  # int64 [memcgs]
    # sheaves: two per CPU; sh_main[cpu] says which of the two is main
    sh_objs: np.ndarray  # int64 [cpus, 2, sheaf_cap]: object handles
    sh_size: np.ndarray  # int64 [cpus, 2]
    sh_main: np.ndarray  # int64 [cpus]
    barn_objs: np.ndarray  # int64 [nodes, barn_max, sheaf_cap]
    barn_size: np.ndarray  # int64 [nodes, barn_max]
    barn_count: np.ndarray  # int64 [nodes]
    # slabs (handle of an object = slab * objs_per_slab + index)
    slab_node: np.ndarray  # int64 [slab_cap]
    slab_exts: np.ndarray  # int64 [slab_cap]: 1 if obj_exts present
    slab_kfence: np.ndarray  # int64 [slab_cap]
    slab_nfree: np.ndarray  # int64 [slab_cap]
    slab_free: np.ndarray  # int32 [slab_cap, objs_per_slab]: free-list stack
    slab_on_partial: np.ndarray  # int64 [slab_cap]
    part_next: np.ndarray  # int64 [slab_cap]
    part_prev: np.ndarray  # int64 [slab_cap]
    part_head: np.ndarray  # int64 [nodes]
    part_tail: np.ndarray  # int64 [nodes]
    free_ids: np.ndarray  # int64 [slab_cap]: discarded slab ids (stack)
    # the live set, a ring buffer (FIFO)
    live_obj: np.ndarray  # int64 [ring]: handle
    live_node: np.ndarray  # int64 [ring]
    live_objcg: np.ndarray  # int64 [ring]
    live_cpu: np.ndarray  # int64 [ring]
    live_kfence: np.ndarray  # int64 [ring]
    # per-call scratch
    p_obj: np.ndarray  # int64 [max_bulk]
    p_node: np.ndarray  # int64 [max_bulk]
    p_kfence: np.ndarray  # int64 [max_bulk]
    p_objcg: np.ndarray  # int64 [max_bulk]: objcg assigned by the hook, -1
    # trace input (empty arrays when not replaying a trace)
    tr_off: np.ndarray  # int64 [n_calls + 1]
    tr_slab: np.ndarray  # int64 [n_objects]
    tr_node: np.ndarray  # int64 [n_objects]
    tr_cpu: np.ndarray  # int64 [n_calls], -1 = draw
    tr_memcg: np.ndarray  # int64 [n_calls], -1 = draw


def slab_capacity(scn: Scenario, max_bulk: int) -> int:
    """Upper bound on slabs alive at once.

    A slab is discarded as soon as all its objects are free (docs/model.md §4), so
    every slab in the table holds at least one object that is live, in flight in
    ``p[]``, in a sheaf or in a barn.
    """
    cap = scn.resolved_sheaf_capacity
    return int(scn.live_objects + max_bulk + scn.cpus * 2 * cap
               + scn.nodes * scn.barn_max_full * cap + 4)


def make(scn: Scenario, strategy: str, seed: int, trace=None) -> tuple[Params, State]:
    """Fresh initial state (SPEC §5: stocks empty, counters at page cache only)."""
    i64 = np.int64
    cpus, nodes, memcgs, depth = scn.cpus, scn.nodes, scn.memcgs, scn.depth
    n_counters = memcgs + depth - 1
    ops = scn.resolved_objs_per_slab
    cap = scn.resolved_sheaf_capacity
    if trace is not None:
        max_bulk = max(1, int(trace.max_bulk))
        slab_cap = int(trace.n_slabs)
    else:
        max_bulk = scn.bulk_size
        slab_cap = slab_capacity(scn, max_bulk)
    ring = scn.live_objects + max_bulk + 1

    pc_max = np.full(n_counters, UNLIMITED, dtype=i64)
    if scn.memcg_max_pages:
        pc_max[:memcgs] = scn.memcg_max_pages
    if scn.ancestor_max_pages:
        pc_max[memcgs:] = scn.ancestor_max_pages
    pc_usage = np.zeros(n_counters, dtype=i64)
    pc_usage[:memcgs] = scn.pagecache_pages
    pc_usage[memcgs:] = scn.pagecache_pages * memcgs

    st = State(
        counters=np.zeros((4, N_EVENTS), dtype=i64),
        run_hist=np.zeros(RUN_HIST_BUCKETS, dtype=i64),
        misc=np.zeros(N_MISC, dtype=i64),
        node_of=(np.arange(cpus, dtype=i64) * nodes) // cpus,
        cpu_memcg=np.arange(cpus, dtype=i64) % memcgs,
        st_objcg=np.full(cpus, -1, dtype=i64),
        st_bytes=np.zeros(cpus, dtype=i64),
        st_pgdat=np.full(cpus, -1, dtype=i64),
        st_acc=np.zeros((cpus, 2), dtype=i64),
        ms_memcg=np.full((cpus, NR_MEMCG_STOCK), -1, dtype=i64),
        ms_pages=np.zeros((cpus, NR_MEMCG_STOCK), dtype=i64),
        objcg_refs=np.zeros(memcgs, dtype=i64),
        nr_charged=np.zeros(memcgs, dtype=i64),
        pagecache=np.full(memcgs, scn.pagecache_pages, dtype=i64),
        stat=np.zeros((memcgs, nodes), dtype=i64),
        pc_usage=pc_usage,
        pc_max=pc_max,
        pc_failcnt=np.zeros(n_counters, dtype=i64),
        owner_pc=np.full(n_counters, -1, dtype=i64),
        owner_objcg=np.full(memcgs, -1, dtype=i64),
        owner_stat=np.full(memcgs, -1, dtype=i64),
        sh_objs=np.zeros((cpus, 2, cap), dtype=i64),
        sh_size=np.zeros((cpus, 2), dtype=i64),
        sh_main=np.zeros(cpus, dtype=i64),
        barn_objs=np.zeros((nodes, max(scn.barn_max_full, 1), cap), dtype=i64),
        barn_size=np.zeros((nodes, max(scn.barn_max_full, 1)), dtype=i64),
        barn_count=np.zeros(nodes, dtype=i64),
        slab_node=np.zeros(slab_cap, dtype=i64),
        slab_exts=np.zeros(slab_cap, dtype=i64),
        slab_kfence=np.zeros(slab_cap, dtype=i64),
        slab_nfree=np.zeros(slab_cap, dtype=i64),
        slab_free=np.zeros((slab_cap if trace is None else 1, ops), dtype=np.int32),
        slab_on_partial=np.zeros(slab_cap, dtype=i64),
        part_next=np.full(slab_cap, -1, dtype=i64),
        part_prev=np.full(slab_cap, -1, dtype=i64),
        part_head=np.full(nodes, -1, dtype=i64),
        part_tail=np.full(nodes, -1, dtype=i64),
        free_ids=np.zeros(slab_cap, dtype=i64),
        live_obj=np.zeros(ring, dtype=i64),
        live_node=np.zeros(ring, dtype=i64),
        live_objcg=np.zeros(ring, dtype=i64),
        live_cpu=np.zeros(ring, dtype=i64),
        live_kfence=np.zeros(ring, dtype=i64),
        p_obj=np.zeros(max_bulk, dtype=i64),
        p_node=np.zeros(max_bulk, dtype=i64),
        p_kfence=np.zeros(max_bulk, dtype=i64),
        p_objcg=np.zeros(max_bulk, dtype=i64),
        tr_off=np.zeros(1, dtype=i64) if trace is None else trace.offsets,
        tr_slab=np.zeros(0, dtype=i64) if trace is None else trace.slab,
        tr_node=np.zeros(0, dtype=i64) if trace is None else trace.node,
        tr_cpu=np.zeros(0, dtype=i64) if trace is None else trace.cpu,
        tr_memcg=np.zeros(0, dtype=i64) if trace is None else trace.memcg,
    )
    if trace is not None:
        st.slab_node[:] = trace.slab_node
        st.slab_exts[:] = trace.slab_exts

    p = Params(
        strategy=STRATEGY_CODE[strategy],
        seed=int(seed),
        cpus=cpus,
        nodes=nodes,
        memcgs=memcgs,
        depth=depth,
        n_counters=n_counters,
        reclaim_pages=scn.reclaim_pages,
        reclaim_retries=scn.reclaim_retries,
        ofs=scn.ofs,
        objs_per_slab=ops,
        reclaimable=int(scn.reclaimable),
        sheaf_cap=cap,
        barn_max=scn.barn_max_full,
        bulk_size=scn.bulk_size,
        bulk_uniform=int(scn.bulk_dist == "uniform"),
        switch_prob=float(scn.cgroup_switch_prob),
        gfp_nofail=int(scn.gfp_nofail),
        gfp_allow_spin=int(scn.gfp_allow_spin),
        remote_prob=float(scn.remote_prob),
        kfence_prob=float(scn.kfence_prob),
        exts_at_creation=float(scn.exts_at_creation),
        exts_fail_prob=float(scn.exts_fail_prob),
        live_cap=scn.live_objects,
        remote_free_prob=float(scn.remote_free_prob),
        irq_prob=float(scn.irq_reentry_prob),
        get_many=int(scn.get_many),
        run_cap_bytes=scn.run_cap_bytes,
        trace_mode=int(trace is not None),
        slab_cap=slab_cap,
    )
    return p, st
