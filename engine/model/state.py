"""Driver-owned simulation state: every array the kernels read and write.

All state that persists across chunks lives here, so a run can be cut into chunks
(and checkpointed) without changing a single draw.  ``Params`` holds the scalars a
kernel needs; ``State`` the arrays.  Both are plain ``NamedTuple``s so Numba can take
them as arguments and cache the compiled kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .constants import NR_MEMCG_STOCK, NR_OBJ_STOCK
from .events import E_LINE_XFER_LOCAL, EVENTS, N_EVENTS, RUN_HIST_BUCKETS
from .rng import divisor_magic, threshold

if TYPE_CHECKING:
    from ..inputs.scenario import Scenario

STRATEGIES = ("per_object", "batched_v1", "batched", "upfront", "none")
STRATEGY_CODE = {name: i for i, name in enumerate(STRATEGIES)}
ST_PER_OBJECT, ST_BATCHED_V1, ST_BATCHED, ST_UPFRONT, ST_NONE = range(5)
# The free-side strategies (scenario field ``free_hook``, docs/model.md §7a): the
# memcg free hook per object (mainline) or per run of one kmem_cache_free_bulk() call.
FREE_HOOKS = ("per_object", "batched")

# Kernel generations (docs/model.md §5a): whose memcg machinery a run follows.
# In release order, so that ``P.gen <= GEN_V612`` is "the one-slot memcg stock under
# the obj stock's irq-off lock" (v5.9 to v6.15) and ``P.gen < GEN_V612`` the v5.x hooks.
GENERATIONS = ("v5.9", "v5.14", "v6.12", "mainline-2026", "mm-2026")
GEN_CODE = {name: i for i, name in enumerate(GENERATIONS)}
GEN_V59, GEN_V514, GEN_V612, GEN_MAINLINE, GEN_MM = range(5)
# The generations each strategy exists on; the first is its own (the default).
STRATEGY_GENERATIONS = {
    "per_object": ("mainline-2026", "mm-2026"),
    "batched_v1": ("mainline-2026", "mm-2026"),
    "batched": ("mainline-2026", "mm-2026"),
    # charge up front, then statistics per object: v5.9 to v6.15
    "upfront": ("v6.12", "v5.9", "v5.14"),
    # No accounting: the allocator alone, the baseline of the cost of accounting.  It
    # does no memcg work, so it runs unchanged on every generation.
    "none": ("mainline-2026", "v6.12", "mm-2026", "v5.9", "v5.14"),
}
# The obj stock's lock kind (scenario ``stock_lock``): the kernels count the same
# events either way, the cost profile prices them (engine.inputs.costs).  v5.14 to
# v5.18 took preempt_disable() in task context (W. Long, "mm/memcg: Optimize user
# context object stock access"); the same code with local_irq_save() is what v5.19 to
# v6.6 ran and what S. A. Siewior's and W. Long's postings compared it with.  On
# mainline-2026 "irqsave" is v6.16's localtry_lock_irqsave (bc730030f956, V. Babka): the
# same sites as local_trylock, each an irq-save pair.
STOCK_LOCKS = {"v5.9": ("irqsave",), "v5.14": ("preempt", "irqsave"), "v6.12": ("irqsave",),
               "mainline-2026": ("trylock", "irqsave"), "mm-2026": ("trylock",)}


def resolve_stock_lock(stock_lock: str, kernel: str, strategy: str) -> str:
    """The lock kind ``strategy`` pays on ``kernel`` (already resolved) for the scenario's
    ``stock_lock`` ("" = the generation's own); a BulksimError if that generation never
    had it.  ``none`` takes no lock: any kind is accepted and ignored."""
    from ..errors import BadInputError

    kinds = STOCK_LOCKS[kernel]
    if not stock_lock or strategy == "none":
        return kinds[0]
    if stock_lock not in kinds:
        raise BadInputError(f"stock_lock={stock_lock} does not exist on kernel {kernel} "
                            f"(it has: {', '.join(kinds)})")
    return stock_lock


def resolve_generation(kernel: str, strategy: str) -> str:
    """The generation ``strategy`` runs on for the scenario's ``kernel`` ("" = its own);
    a BulksimError naming the pair if the strategy does not exist on that generation."""
    from ..errors import BadInputError

    own = STRATEGY_GENERATIONS[strategy]
    if not kernel:
        return own[0]
    if kernel not in GEN_CODE:
        raise BadInputError(f"unknown kernel generation {kernel!r}; known: {', '.join(GENERATIONS)}")
    if kernel not in own:
        raise BadInputError(f"strategy {strategy} does not exist on kernel {kernel} "
                            f"(it exists on: {', '.join(own)})")
    return kernel

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
ERR_FUSED_FAILURE = 2  # a hook failed in a run of several strategies (see make_fused)


class Params(NamedTuple):
    """Scalars of one run (int64 / float64 only, so one compiled signature).

    The first ``N_STRATEGY_PARAMS`` fields belong to one strategy; a run of several
    strategies (``make_fused``) keeps them per strategy in ``Stack.kp`` and the kernel
    builds each strategy's ``Params`` from them (``kernel.strategy_params``).
    """

    strategy: int
    gen: int  # GEN_*: the kernel generation
    objcg_nodes: int  # objcgs per memcg: nodes (per-node objcg, 2026 on) or 1 (v6.12)
    n_objcgs: int  # memcgs * objcg_nodes; objcg = memcg * objcg_nodes + node
    exts_bit: int  # this strategy's bit of ``State.slab[sid].exts``
    exts_all: int  # every strategy's bit: a slab born with obj_exts has them for all
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
    # *_t: rng.threshold of the scenario's probability (integer comparison in kernels)
    switch_prob_t: int
    gfp_nofail: int
    gfp_allow_spin: int
    gfp_allow_block: int
    gfp_high: int
    remote_prob_t: int
    kfence_prob_t: int
    exts_at_creation_t: int
    exts_fail_prob_t: int
    live_cap: int
    remote_free_prob_t: int
    irq_prob_t: int
    get_many: int
    run_cap_bytes: int
    trace_mode: int
    slab_cap: int
    # rng.divisor_magic of cpus and of cpus - 1 (1 when there is a single CPU): the
    # CPU of each call and the other CPU of a remote free, drawn without a division
    cpus_m: int
    cpus_sh: int
    others_m: int
    others_sh: int
    free_bulk: int  # objects per kmem_cache_free_bulk() call of the workload's frees
    free_batched: int  # 1: the batched free hook (free_hook="batched"), 0: per object


N_STRATEGY_PARAMS = 5  # strategy .. exts_bit
# The per-strategy fields of ``Params``, one record per strategy of a run (``Stack.kp``).
STRATEGY_PARAM_FIELDS = Params._fields[:N_STRATEGY_PARAMS]

# Object handles: slab id << OBJ_SHIFT | index in slab (objs_per_slab <= 1024).
OBJ_SHIFT = 10
OBJ_MASK = (1 << OBJ_SHIFT) - 1

# Columns of the per-CPU table ``State.cpu``.
CPU_NODE, CPU_MEMCG, CPU_OBJCG, CPU_BYTES, CPU_PGDAT, CPU_ACC = 0, 1, 2, 3, 4, 5  # CPU_ACC + 0/1:
#                                                      reclaimable, unreclaimable
# The main and the spare sheaf: where each starts in the (flat) ``State.sh_objs`` and
# how many objects it holds.  A swap exchanges both pairs, so the hot path reads the
# main sheaf's size and slot without first reading which of the two is main.
CPU_SH_MAIN, CPU_SH_SPARE, CPU_SH_MAIN_SIZE, CPU_SH_SPARE_SIZE = 7, 8, 9, 10
# The mm-2026 obj stock (NR_OBJ_STOCK slots: objcg, bytes; the slot the accumulators
# belong to, -1 none; the round-robin victim), and the drain work queued for this
# CPU by drain_all_stock (bit 0: memcg stock, bit 1: obj stock).
CPU_OSLOT = 11
CPU_OBYTES = CPU_OSLOT + NR_OBJ_STOCK
CPU_INDEX = CPU_OBYTES + NR_OBJ_STOCK
CPU_ORR, CPU_PENDING = CPU_INDEX + 1, CPU_INDEX + 2
N_CPU_COLS = CPU_INDEX + 3
# Columns of ``State.memcg`` (one row per objcg: memcg * objcg_nodes + node).
MG_REFS, MG_NR_CHARGED, MG_MEMCG = 0, 1, 2  # MG_MEMCG: the objcg's memcg
N_MG_COLS = 3
# Columns of ``State.pc`` (one row per page counter; page cache: leaf counters only).
PC_USAGE, PC_MAX, PC_FAILCNT, PC_PAGECACHE = 0, 1, 2, 3
N_PC_COLS = 4
# Columns of ``State.slab``.
SL_NODE, SL_EXTS, SL_KFENCE, SL_NFREE, SL_ON_PARTIAL, SL_NEXT, SL_PREV = range(7)
N_SL_COLS = 7
# Columns of ``State.live`` (the live FIFO) and ``State.p`` (the call's p[]).
LV_OBJ, LV_META = 0, 1
# ``State.live[:, LV_META]`` packs what the free path needs besides the handle (16
# bytes per live object instead of 40: the live set is the largest table the hot
# loop streams through).  Field widths follow the limits in scenario._validate.
LVM_NODE_SHIFT, LVM_OBJCG_SHIFT, LVM_KFENCE_SHIFT = 10, 16, 40
LVM_CPU_MASK, LVM_NODE_MASK, LVM_OBJCG_MASK = 1023, 63, (1 << 24) - 1  # cpus <= 1024, nodes <= 64,
#                                                      objcg + 1 <= 4096 * 64 (memcgs x nodes)


def unpack_live_meta(meta):
    """(cpu, node, objcg, kfence) of packed ``LV_META`` values (numpy or int)."""
    return (meta & LVM_CPU_MASK, (meta >> LVM_NODE_SHIFT) & LVM_NODE_MASK,
            ((meta >> LVM_OBJCG_SHIFT) & LVM_OBJCG_MASK) - 1, meta >> LVM_KFENCE_SHIFT)


N_LV_COLS = 2
PP_OBJ, PP_NODE, PP_KFENCE, PP_OBJCG = range(4)
N_PP_COLS = 4
# ``State.fq``: the objects freed after one call, in order, in kmem_cache_free_bulk()
# calls (engine/model/frees.py), for the strategies' free hooks: the freeing CPU, the
# object's node, where its objcg is (a position in the live ring, >= 0, or ``-1 - j``
# for ``p[j]`` of a call whose hook failed), and 1 on the first object of a free call.
FQ_CPU, FQ_NODE, FQ_POS, FQ_FIRST = range(4)
N_FQ_COLS = 4
N_MS_COLS = 2 * NR_MEMCG_STOCK + 1  # State.ms: memcg of slot i at i, pages at NR_MEMCG_STOCK + i,
#                                     then the round-robin victim (mm-2026)
N_PART_COLS = 2  # State.part: head, tail
# Columns of the trace tables.
TC_OFF, TC_CPU, TC_MEMCG = range(3)
N_TC_COLS = 3
TO_SLAB, TO_NODE = range(2)
N_TO_COLS = 2


class State(NamedTuple):
    """Every mutable array of a run, grouped by what a row describes.

    Few arrays with named columns rather than one array per field: every array a
    kernel helper receives is passed as ~10 machine words, so fewer arrays means
    cheaper calls and much faster compilation.  The kernels get ``kernel_view(S)``,
    where the fixed-width tables are 1-D arrays of records (``S.slab[sid].exts``,
    see ``RECORDS``) and ``sh_objs`` is flat, indexed from the per-CPU sheaf offsets.
    """

    counters: np.ndarray  # int64 [4 phases, N_EVENTS]
    run_hist: np.ndarray  # int64 [RUN_HIST_BUCKETS]
    misc: np.ndarray  # int64 [N_MISC]: run-wide serials and bookkeeping (M_*)
    cpu: np.ndarray  # int64 [cpus, N_CPU_COLS]: node, task memcg, obj stock, sheaf sizes
    ms: np.ndarray  # int64 [cpus, N_MS_COLS]: memcg stock, memcg of slot i at i, pages at 7 + i
    memcg: np.ndarray  # int64 [n_objcgs, N_MG_COLS]: objcg refs, nr_charged_bytes
    stat: np.ndarray  # int64 [memcgs, nodes]: flushed slab statistics, bytes
    pc: np.ndarray  # int64 [n_counters, N_PC_COLS]: page counters (and the leaves' page cache)
    owner: np.ndarray  # int64 [n_counters + n_objcgs + memcgs]: shared-line owner CPU, -1 none;
    #                    page counters, then objcg nr_charged_bytes, then memcg stats (never
    #                    written: a statistics flush writes only per-CPU counters)
    sh_objs: np.ndarray  # int64 [cpus, 2, sheaf_cap]: object handles; kernels index it flat
    #                      from the offsets CPU_SH_MAIN / CPU_SH_SPARE
    barn_objs: np.ndarray  # int64 [nodes, barn_max, sheaf_cap]
    barn_meta: np.ndarray  # int64 [nodes, 1 + barn_max]: count, then each sheaf's size
    slab: np.ndarray  # int64 [slab_cap, N_SL_COLS]; handle = slab << OBJ_SHIFT | index
    slab_free: np.ndarray  # int32 [slab_cap, objs_per_slab]: free-list stack
    part: np.ndarray  # int64 [nodes, 2]: partial list head, tail
    free_ids: np.ndarray  # int64 [slab_cap]: discarded slab ids (stack)
    live: np.ndarray  # int64 [ring, 2]: the live set, a ring buffer (FIFO): handle, LV_META
    p: np.ndarray  # int64 [max_bulk, 4]: the call's p[]
    fq: np.ndarray  # int64 [free_rows(scn, max_bulk), N_FQ_COLS]: the objects freed after a call
    tr_call: np.ndarray  # int64 [n_calls + 1, 3]: trace offsets, cpu, memcg (-1 = draw)
    tr_obj: np.ndarray  # int64 [n_objects, 2]: trace slab, node


def slab_capacity(scn: Scenario, max_bulk: int) -> int:
    """Upper bound on slabs alive at once.

    A slab is discarded as soon as all its objects are free (docs/model.md §4), so
    every slab in the table holds at least one object that is live, in flight in
    ``p[]``, in a sheaf or in a barn.
    """
    cap = scn.resolved_sheaf_capacity
    return int(scn.live_objects + max_bulk + scn.free_bulk - 1 + scn.cpus * 2 * cap
               + scn.nodes * scn.barn_max_full * cap + 4)


def free_rows(scn: Scenario, max_bulk: int) -> int:
    """Rows of ``State.fq``: after a successful call, whole free calls of the excess
    over ``live_objects`` (at most ``free_bulk - 1`` waiting plus the call's objects);
    after a failed one, its ``p[]`` and as many of the oldest live objects."""
    return max(2 * max_bulk, max_bulk + scn.free_bulk)


# The tables each strategy keeps for itself in a run of several (``Stack``): its memcg
# machinery, its counters and serials.  The rest of ``State`` is the allocator's, one
# copy for every strategy (``make_fused``).
ACCOUNTING_TABLES = ("counters", "run_hist", "misc", "cpu", "ms", "memcg", "stat", "pc", "owner")
# ``State.cpu`` columns the allocator owns; the others are the strategy's stocks.
ALLOC_CPU_COLUMNS = (CPU_NODE, CPU_MEMCG, CPU_SH_MAIN, CPU_SH_SPARE, CPU_SH_MAIN_SIZE,
                     CPU_SH_SPARE_SIZE)
MAX_FUSED = 62  # strategies of one run: one bit each in ``State.slab[sid].exts``


class Stack(NamedTuple):
    """The accounting tables of every strategy of a run, stacked: row ``k`` of each
    is strategy ``k``'s table of the same name in ``State`` (a table whose size
    depends on the generation is padded to the largest).  ``kp[k]`` holds its
    ``Params`` fields, ``lobjcg[k]`` the objcg it gave each object of the live ring.
    The kernel runs strategy ``k``'s hooks on ``strategy_state(A, X, k)``: these
    rows with the allocator's tables (``A``) beside them."""

    kp: np.ndarray  # int64 [K, N_STRATEGY_PARAMS]
    counters: np.ndarray  # int64 [K, 4, N_EVENTS]
    run_hist: np.ndarray  # int64 [K, RUN_HIST_BUCKETS]
    misc: np.ndarray  # int64 [K, N_MISC]
    cpu: np.ndarray  # int64 [K, cpus, N_CPU_COLS]
    ms: np.ndarray  # int64 [K, cpus, N_MS_COLS]
    memcg: np.ndarray  # int64 [K, max n_objcgs, N_MG_COLS]
    stat: np.ndarray  # int64 [K, memcgs, nodes]
    pc: np.ndarray  # int64 [K, n_counters, N_PC_COLS]
    owner: np.ndarray  # int64 [K, max owner lines]
    lobjcg: np.ndarray  # int32 [K, ring]: objcg of each live-ring slot, -1 none


def cpu_nodes(cpus: int, nodes: int) -> np.ndarray:
    """The node of each CPU: the CPUs split evenly, in order."""
    return (np.arange(cpus, dtype=np.int64) * nodes) // cpus


def _strategy_params(scn: Scenario, strategy: str, k: int) -> dict:
    gen = GEN_CODE[resolve_generation(scn.kernel, strategy)]
    objcg_nodes = 1 if gen <= GEN_V612 else scn.nodes
    return dict(strategy=STRATEGY_CODE[strategy], gen=gen, objcg_nodes=objcg_nodes,
                n_objcgs=scn.memcgs * objcg_nodes, exts_bit=1 << k)


def _accounting(scn: Scenario, kp: dict) -> dict:
    """One strategy's accounting tables, fresh (docs/model.md §2: stocks empty, counters
    at page cache only)."""
    i64 = np.int64
    cpus, nodes, memcgs, depth = scn.cpus, scn.nodes, scn.memcgs, scn.depth
    n_objcgs, objcg_nodes = kp["n_objcgs"], kp["objcg_nodes"]
    n_counters = memcgs + depth  # leaves, depth - 1 ancestor levels, the root
    pc_max = np.full(n_counters, UNLIMITED, dtype=i64)
    if scn.memcg_max_pages:
        pc_max[:memcgs] = scn.memcg_max_pages
    if scn.ancestor_max_pages:
        pc_max[memcgs:-1] = scn.ancestor_max_pages  # the root's max stays unlimited
    pc_usage = np.zeros(n_counters, dtype=i64)
    pc_usage[:memcgs] = scn.pagecache_pages
    pc_usage[memcgs:] = scn.pagecache_pages * memcgs
    cpu = np.zeros((cpus, N_CPU_COLS), dtype=i64)
    cpu[:, CPU_NODE] = cpu_nodes(cpus, nodes)  # read by the hooks (a line's owner is local or far)
    cpu[:, CPU_OBJCG] = -1
    cpu[:, CPU_PGDAT] = -1
    cpu[:, CPU_OSLOT:CPU_OSLOT + NR_OBJ_STOCK] = -1
    cpu[:, CPU_INDEX] = -1
    ms = np.zeros((cpus, N_MS_COLS), dtype=i64)
    ms[:, :NR_MEMCG_STOCK] = -1
    memcg = np.zeros((n_objcgs, N_MG_COLS), dtype=i64)
    memcg[:, MG_MEMCG] = np.arange(n_objcgs, dtype=i64) // objcg_nodes
    pc = np.zeros((n_counters, N_PC_COLS), dtype=i64)
    pc[:, PC_USAGE] = pc_usage
    pc[:, PC_MAX] = pc_max
    pc[:memcgs, PC_PAGECACHE] = scn.pagecache_pages
    return dict(counters=np.zeros((4, N_EVENTS), dtype=i64),
                run_hist=np.zeros(RUN_HIST_BUCKETS, dtype=i64),
                misc=np.zeros(N_MISC, dtype=i64), cpu=cpu, ms=ms, memcg=memcg,
                stat=np.zeros((memcgs, nodes), dtype=i64), pc=pc,
                owner=np.full(n_counters + n_objcgs + memcgs, -1, dtype=i64))


def _padded_stack(tables: list, fill) -> np.ndarray:
    """Stack same-shaped-but-for-the-first-axis tables, padding with ``fill``."""
    rows = max(t.shape[0] for t in tables)
    out = np.full((len(tables), rows) + tables[0].shape[1:], fill, dtype=tables[0].dtype)
    for k, t in enumerate(tables):
        out[k, :t.shape[0]] = t
    return out


def make_fused(scn: Scenario, strategies, seed: int, trace=None) -> tuple[list, State, Stack]:
    """Fresh initial state of a run of ``strategies`` on one allocator: each
    strategy's ``Params``, the allocator's ``State`` (``A``; its accounting tables
    are empty) and the strategies' accounting tables (``Stack``).
    ``strategy_state`` gives strategy ``k``'s whole ``State`` back."""
    i64 = np.int64
    strategies = list(strategies)
    if not 1 <= len(strategies) <= MAX_FUSED:
        raise ValueError(f"a run holds 1 to {MAX_FUSED} strategies, got {len(strategies)}")
    cpus, nodes = scn.cpus, scn.nodes
    ops = scn.resolved_objs_per_slab
    cap = scn.resolved_sheaf_capacity
    if trace is not None:
        max_bulk = max(1, int(trace.max_bulk))
        slab_cap = int(trace.n_slabs)
    else:
        max_bulk = scn.bulk_size
        slab_cap = slab_capacity(scn, max_bulk)
    # The live set may hold up to free_bulk - 1 objects above live_objects waiting for
    # a full free call (docs/model.md §3), then a call's max_bulk more.
    ring = scn.live_objects + max_bulk + scn.free_bulk
    exts_all = (1 << len(strategies)) - 1

    cpu = np.zeros((cpus, N_CPU_COLS), dtype=i64)
    cpu[:, CPU_NODE] = cpu_nodes(cpus, nodes)
    cpu[:, CPU_MEMCG] = np.arange(cpus, dtype=i64) % scn.memcgs
    cpu[:, CPU_SH_MAIN] = np.arange(cpus, dtype=i64) * 2 * cap
    cpu[:, CPU_SH_SPARE] = cpu[:, CPU_SH_MAIN] + cap
    slab = np.zeros((slab_cap, N_SL_COLS), dtype=i64)
    slab[:, SL_NEXT] = -1
    slab[:, SL_PREV] = -1
    barn_max = max(scn.barn_max_full, 1)
    if trace is None:
        tr_call = np.zeros((1, N_TC_COLS), dtype=i64)
        tr_obj = np.zeros((0, N_TO_COLS), dtype=i64)
    else:
        tr_call = np.full((trace.n_calls + 1, N_TC_COLS), -1, dtype=i64)
        tr_call[:, TC_OFF] = trace.offsets
        tr_call[:-1, TC_CPU] = trace.cpu
        tr_call[:-1, TC_MEMCG] = trace.memcg
        tr_obj = np.stack([trace.slab, trace.node], axis=1).astype(i64)
        slab[:, SL_NODE] = trace.slab_node
        slab[:, SL_EXTS] = trace.slab_exts * exts_all

    A = State(
        counters=np.zeros((4, N_EVENTS), dtype=i64),
        run_hist=np.zeros(RUN_HIST_BUCKETS, dtype=i64),
        misc=np.zeros(N_MISC, dtype=i64),
        cpu=cpu,
        ms=np.zeros((0, N_MS_COLS), dtype=i64),
        memcg=np.zeros((0, N_MG_COLS), dtype=i64),
        stat=np.zeros((0, nodes), dtype=i64),
        pc=np.zeros((0, N_PC_COLS), dtype=i64),
        owner=np.zeros(0, dtype=i64),
        sh_objs=np.zeros((cpus, 2, cap), dtype=i64),
        barn_objs=np.zeros((nodes, barn_max, cap), dtype=i64),
        barn_meta=np.zeros((nodes, 1 + barn_max), dtype=i64),
        slab=slab,
        slab_free=np.zeros((slab_cap if trace is None else 1, ops), dtype=np.int32),
        part=np.full((nodes, N_PART_COLS), -1, dtype=i64),
        free_ids=np.zeros(slab_cap, dtype=i64),
        live=np.zeros((ring, N_LV_COLS), dtype=i64),
        p=np.zeros((max_bulk, N_PP_COLS), dtype=i64),
        fq=np.zeros((free_rows(scn, max_bulk), N_FQ_COLS), dtype=i64),
        tr_call=np.ascontiguousarray(tr_call),
        tr_obj=np.ascontiguousarray(tr_obj),
    )
    kps = [_strategy_params(scn, s, k) for k, s in enumerate(strategies)]
    acct = [_accounting(scn, kp) for kp in kps]
    X = Stack(kp=np.array([[kp[f] for f in STRATEGY_PARAM_FIELDS] for kp in kps], dtype=i64),
              **{name: _padded_stack([t[name] for t in acct], 0 if name != "owner" else -1)
                 for name in ACCOUNTING_TABLES},
              lobjcg=np.full((len(strategies), ring), -1, dtype=np.int32))

    cpus_magic, others_magic = divisor_magic(cpus), divisor_magic(max(cpus - 1, 1))
    shared = dict(
        exts_all=exts_all,
        seed=int(seed),
        cpus=cpus,
        nodes=nodes,
        memcgs=scn.memcgs,
        depth=scn.depth,
        n_counters=scn.memcgs + scn.depth,
        reclaim_pages=scn.reclaim_pages,
        reclaim_retries=scn.reclaim_retries,
        ofs=scn.ofs,
        objs_per_slab=ops,
        reclaimable=int(scn.reclaimable),
        sheaf_cap=cap,
        barn_max=scn.barn_max_full,
        bulk_size=scn.bulk_size,
        bulk_uniform=int(scn.bulk_dist == "uniform"),
        switch_prob_t=threshold(scn.cgroup_switch_prob),
        gfp_nofail=int(scn.gfp_nofail),
        gfp_allow_spin=int(scn.gfp_allow_spin),
        gfp_allow_block=int(scn.gfp_allow_block and scn.gfp_allow_spin),
        gfp_high=int(scn.gfp_high),
        remote_prob_t=threshold(scn.remote_prob),
        kfence_prob_t=threshold(scn.kfence_prob),
        exts_at_creation_t=threshold(scn.exts_at_creation),
        exts_fail_prob_t=threshold(scn.exts_fail_prob),
        live_cap=scn.live_objects,
        remote_free_prob_t=threshold(scn.remote_free_prob),
        irq_prob_t=threshold(scn.irq_reentry_prob),
        get_many=int(scn.get_many),
        run_cap_bytes=scn.run_cap_bytes,
        trace_mode=int(trace is not None),
        slab_cap=slab_cap,
        cpus_m=cpus_magic[0],
        cpus_sh=cpus_magic[1],
        others_m=others_magic[0],
        others_sh=others_magic[1],
        free_bulk=scn.free_bulk,
        free_batched=int(scn.free_hook == "batched"),
    )
    return [Params(**kp, **shared) for kp in kps], A, X


def strategy_state(A: State, X: Stack, k: int) -> State:
    """Strategy ``k``'s whole ``State`` in the driver's layout (copies; the layout
    ``dump_state``, the invariants and the reference tests read): the allocator's
    tables with the strategy's accounting tables, its obj_exts bit of each slab and
    its objcg of each live object."""
    n_objcgs = int(X.kp[k, STRATEGY_PARAM_FIELDS.index("n_objcgs")])
    n_counters = X.pc.shape[1]
    memcgs = X.stat.shape[1]
    cpu = X.cpu[k].copy()
    cols = list(ALLOC_CPU_COLUMNS)
    cpu[:, cols] = A.cpu[:, cols]
    slab = A.slab.copy()
    slab[:, SL_EXTS] = (slab[:, SL_EXTS] >> k) & 1
    live = A.live.copy()
    objcg = X.lobjcg[k].astype(np.int64)
    live[:, LV_META] = ((live[:, LV_META] & ~(LVM_OBJCG_MASK << LVM_OBJCG_SHIFT))
                        | ((objcg + 1) << LVM_OBJCG_SHIFT))
    return A._replace(
        counters=A.counters + X.counters[k],  # each side counts its own phases only
        run_hist=X.run_hist[k].copy(),
        misc=A.misc + X.misc[k],  # each side keeps its own serials only
        cpu=cpu,
        ms=X.ms[k].copy(),
        memcg=X.memcg[k, :n_objcgs].copy(),
        stat=X.stat[k].copy(),
        pc=X.pc[k].copy(),
        owner=X.owner[k, :n_counters + n_objcgs + memcgs].copy(),
        slab=slab,
        live=live,
    )


def make(scn: Scenario, strategy: str, seed: int, trace=None) -> tuple[Params, State]:
    """Fresh initial state of one strategy, as one ``State`` (docs/model.md §2: stocks
    empty, counters at page cache only)."""
    Ps, A, X = make_fused(scn, [strategy], seed, trace)
    return Ps[0], strategy_state(A, X, 0)


# Tables the kernels see one-dimensional: the fixed-width ones as arrays of records
# (``RECORDS``), ``sh_objs`` flat, indexed from the per-CPU sheaf offsets.  Not 2-D:
# Numba's 2-D indexing multiplies by the run-time shape, an ``imul`` per access and
# one more live value per table in the kernel's register-starved loop, where a
# record's size is a compile-time stride.
FLAT_TABLES = ("counters", "cpu", "ms", "memcg", "pc", "slab", "part", "live", "p", "fq", "tr_call", "tr_obj",
               "sh_objs")


def _record(*fields, overlays=()) -> np.dtype:
    """A record of int64 fields laid out one after the other: each field is a name
    or ``(name, width)`` (a subarray).  ``overlays`` are ``(name, first, width)``
    subarrays over fields already laid out (``counters[ph].events[e]``)."""
    names, formats, offsets, off = [], [], [], 0
    for f in fields:
        name, width = (f, 1) if isinstance(f, str) else f
        names.append(name)
        formats.append("<i8" if width == 1 else ("<i8", (width,)))
        offsets.append(8 * off)
        off += width
    for name, first, width in overlays:
        names.append(name)
        formats.append(("<i8", (width,)))
        offsets.append(8 * first)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": 8 * off})


# What one row of each fixed-width table is, as the kernels name it: ``S.slab[sid].exts``,
# ``S.cpu[cpu].objcg``, ``S.ms[cpu].pages[i]``, ``S.counters[ph].stock_locks``.  A
# record field is a constant offset and the row stride the record's size, so the
# machine code is that of the hand-written ``row * N_*_COLS + column`` it replaced
# (A/B in one session, docs/performance.md: all four strategies within 0.3%, the
# cold compile unchanged).  Chosen over one array per column (some 50 arrays, each
# ~10 machine words at every helper's boundary and more compile time) and over
# accessor functions (``count(S, ph, E_X)``: the layout arithmetic stays, hidden).
CPU_RECORD = _record("node", "memcg", "objcg", "bytes", "pgdat",
                     ("acc", 2),  # the stock's accumulators: reclaimable, unreclaimable
                     "sh_main", "sh_spare", "sh_main_size", "sh_spare_size",
                     ("oslot", NR_OBJ_STOCK), ("obytes", NR_OBJ_STOCK), "index", "orr", "pending")
MS_RECORD = _record(("memcg", NR_MEMCG_STOCK), ("pages", NR_MEMCG_STOCK), "rr")  # memcg stock slots
MEMCG_RECORD = _record("refs", "nr_charged", "memcg")
PC_RECORD = _record("usage", "max", "failcnt", "pagecache")
SLAB_RECORD = _record("node", "exts", "kfence", "nfree", "on_partial", "next", "prev")
PART_RECORD = _record("head", "tail")
LIVE_RECORD = _record("obj", "meta")
P_RECORD = _record("obj", "node", "kfence", "objcg")
FQ_RECORD = _record("cpu", "node", "pos", "first")
KP_RECORD = _record(*STRATEGY_PARAM_FIELDS)  # Stack.kp: one strategy's Params fields
TR_CALL_RECORD = _record("off", "cpu", "memcg")
TR_OBJ_RECORD = _record("slab", "node")
# One phase's counters, a field per event named as in the summary table, plus two
# views for code that picks the event at run time: ``events[e]`` (every event) and
# ``line_transfers[far]`` (local, remote).
COUNTERS_RECORD = _record(*EVENTS, overlays=(("events", 0, N_EVENTS),
                                             ("line_transfers", E_LINE_XFER_LOCAL, 2)))

# Record type of each table the kernels index by row (``kernel_view``).
RECORDS = {"counters": COUNTERS_RECORD, "cpu": CPU_RECORD, "ms": MS_RECORD, "memcg": MEMCG_RECORD,
           "pc": PC_RECORD, "slab": SLAB_RECORD, "part": PART_RECORD, "live": LIVE_RECORD,
           "p": P_RECORD, "fq": FQ_RECORD, "tr_call": TR_CALL_RECORD, "tr_obj": TR_OBJ_RECORD}


# Where each record field sits among the driver's columns (``S.cpu[:, CPU_OBJCG]`` is
# ``kernel_view(S).cpu["objcg"]``); checked below, and on data in tests/run/test_simulate.py.
RECORD_COLUMNS = {
    "cpu": {"node": CPU_NODE, "memcg": CPU_MEMCG, "objcg": CPU_OBJCG, "bytes": CPU_BYTES, "pgdat": CPU_PGDAT,
            "acc": CPU_ACC, "sh_main": CPU_SH_MAIN, "sh_spare": CPU_SH_SPARE,
            "sh_main_size": CPU_SH_MAIN_SIZE, "sh_spare_size": CPU_SH_SPARE_SIZE,
            "oslot": CPU_OSLOT, "obytes": CPU_OBYTES, "index": CPU_INDEX, "orr": CPU_ORR,
            "pending": CPU_PENDING},
    "ms": {"memcg": 0, "pages": NR_MEMCG_STOCK, "rr": 2 * NR_MEMCG_STOCK},
    "memcg": {"refs": MG_REFS, "nr_charged": MG_NR_CHARGED, "memcg": MG_MEMCG},
    "pc": {"usage": PC_USAGE, "max": PC_MAX, "failcnt": PC_FAILCNT, "pagecache": PC_PAGECACHE},
    "slab": {"node": SL_NODE, "exts": SL_EXTS, "kfence": SL_KFENCE, "nfree": SL_NFREE,
             "on_partial": SL_ON_PARTIAL, "next": SL_NEXT, "prev": SL_PREV},
    "part": {"head": 0, "tail": 1},
    "live": {"obj": LV_OBJ, "meta": LV_META},
    "p": {"obj": PP_OBJ, "node": PP_NODE, "kfence": PP_KFENCE, "objcg": PP_OBJCG},
    "fq": {"cpu": FQ_CPU, "node": FQ_NODE, "pos": FQ_POS, "first": FQ_FIRST},
    "tr_call": {"off": TC_OFF, "cpu": TC_CPU, "memcg": TC_MEMCG},
    "tr_obj": {"slab": TO_SLAB, "node": TO_NODE},
    "counters": {**{name: i for i, name in enumerate(EVENTS)}, "events": 0,
                 "line_transfers": E_LINE_XFER_LOCAL},
}
ROW_WIDTH = {"cpu": N_CPU_COLS, "ms": N_MS_COLS, "memcg": N_MG_COLS, "pc": N_PC_COLS, "slab": N_SL_COLS,
             "part": N_PART_COLS, "live": N_LV_COLS, "p": N_PP_COLS, "fq": N_FQ_COLS, "tr_call": N_TC_COLS,
             "tr_obj": N_TO_COLS, "counters": N_EVENTS}
assert RECORDS.keys() == RECORD_COLUMNS.keys() == ROW_WIDTH.keys()
for _name, _rec in RECORDS.items():
    assert _rec.itemsize == 8 * ROW_WIDTH[_name], _name
    assert set(_rec.names) == set(RECORD_COLUMNS[_name]), _name
    for _field, _col in RECORD_COLUMNS[_name].items():
        assert _rec.fields[_field][1] == 8 * _col, (_name, _field)
del _name, _rec, _field, _col


# Record type of each stacked table: what ``RECORDS`` gives its ``State`` table.
STACK_RECORDS = {"kp": KP_RECORD, **{n: RECORDS[n] for n in ACCOUNTING_TABLES if n in RECORDS}}


def _as_records(table: np.ndarray, rec, what: str) -> np.ndarray:
    """``table`` with its last axis read as one record ``rec`` (a view of the same
    memory); refused unless C-contiguous, since a copy would take the kernel's writes."""
    if not table.flags.c_contiguous:
        raise ValueError(f"{what} must be C-contiguous")
    return table if rec is None else table.view(rec).reshape(table.shape[:-1])


def stack_view(X: Stack) -> Stack:
    """``X`` as the kernels see it: row ``k`` of each table is what ``kernel_view``
    makes of strategy ``k``'s table (``X.cpu[k][cpu].objcg``), views of the same memory."""
    return X._replace(**{name: _as_records(getattr(X, name), STACK_RECORDS.get(name), f"Stack.{name}")
                         for name in Stack._fields})


def kernel_view(S: State) -> State:
    """``S`` as the kernels see it, views of the same memory: the tables in ``RECORDS``
    as 1-D arrays of records (a row is a record, a column a field), ``sh_objs`` flat.
    The driver, invariants and tables keep indexing ``S`` in 2-D with the column
    constants (``S.cpu[:, CPU_OBJCG]``)."""
    return S._replace(**{name: _as_records(getattr(S, name), RECORDS.get(name), f"State.{name}").reshape(-1)
                         for name in FLAT_TABLES})
