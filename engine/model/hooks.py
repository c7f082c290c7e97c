"""The post-alloc hook strategies (docs/model.md §6); the free hooks are in frees.py.

The hooks see the call's ``p[]`` as the rows of ``S.p``: the handle (``PP_OBJ``) and
the node of each object's slab (``PP_NODE``); they record the objcg they assign in
``PP_OBJCG``.
"""

from __future__ import annotations

from .constants import PAGE_SIZE
from .events import (
    PH_HOOK,
    RUN_HIST_BUCKETS,
)
from .jit import jit, likely, unlikely
from .memcg import (
    cached_bytes,
    charge_and_account,
    mod_objcg_state,
    obj_cgroup_charge,
    refill_obj_stock,
    set_cached_bytes,
    stock_lock,
)
from .rng import S_EXTS_FAIL, chance
from .state import (
    GEN_V59,
    GEN_V612,
    OBJ_SHIFT,
    ST_BATCHED,
    ST_BATCHED_V1,
    ST_NONE,
    ST_PER_OBJECT,
    ST_UPFRONT,
)


@jit
def _virt_to_slab(P, S, j):
    S.counters[PH_HOOK].virt_to_slab += 1
    return S.p[j].obj >> OBJ_SHIFT


@jit
def _ensure_exts(P, S, c, j, sid):
    """``slab_obj_exts(slab) || !alloc_slab_obj_exts(...)``: True if the slab has them.

    The failure draw is keyed by (call, index): asking again gives the same answer.
    """
    if likely((S.slab[sid].exts & P.exts_bit) != 0):
        return True
    S.counters[PH_HOOK].obj_exts_allocs += 1
    if P.exts_fail_prob_t > 0 and chance(P.seed, S_EXTS_FAIL, c * 65536 + j, P.exts_fail_prob_t):
        S.counters[PH_HOOK].obj_exts_failures += 1
        return False
    S.slab[sid].exts |= P.exts_bit  # this strategy's obj_exts (state.Stack)
    return True


@jit
def _has_exts(P, S, c, j):
    """``virt_to_slab`` of object ``j`` and ``_ensure_exts``; an object without
    obj_exts is counted as skipped."""
    if likely(_ensure_exts(P, S, c, j, _virt_to_slab(P, S, j))):
        return True
    S.counters[PH_HOOK].obj_exts_skipped += 1
    return False


@jit
def _count_run(P, S, length):
    S.counters[PH_HOOK].runs += 1
    S.run_hist[min(length, RUN_HIST_BUCKETS) - 1] += 1


@jit
def _assign_run(P, S, i, j, objcg, ref_op, lookups):
    """``obj_to_index`` + ``obj_cgroup_get`` + store the objcg in the slot, for
    objects ``i..j-1``, with ``lookups`` more ``virt_to_slab`` calls among them;
    the counts are added once per run rather than per object."""
    n = j - i
    S.counters[PH_HOOK].virt_to_slab += lookups
    S.counters[PH_HOOK].obj_to_index += n
    S.counters[PH_HOOK].assigns += n
    if ref_op:
        S.counters[PH_HOOK].objcg_ref_ops += n
    S.memcg[objcg].refs += n
    for k in range(i, j):
        S.p[k].objcg = objcg


@jit(inline="always")
def hook_runs(P, S, c, cpu, objcg, size):
    """``batched_v1`` and ``batched`` in one loop (one inlined copy of the charge
    path): find a run of objects on one node, charge and account it, assign it.

    - ``batched_v1`` (the first batching patch, 7ef269f): the run may grow while its
      *index* is below ``min(run_cap / ofs, size)`` -- an index compared with a
      count; an object without obj_exts ends the run and is skipped with it; every
      assigned object looks its slab up again.
    - ``batched`` (the optimised patch): hoisted cap on the run's *length*; an object
      without obj_exts ends the run and is retried as the next run's head; the
      head's slab is reused; ``get_many`` takes the run's references at once.
    """
    v1 = P.strategy == ST_BATCHED_V1
    many = P.strategy == ST_BATCHED and P.get_many
    max_run = P.run_cap_bytes // P.ofs
    i = 0
    while i < size:
        if unlikely(not _has_exts(P, S, c, i)):
            i += 1
            continue
        pgdat = S.p[i].node
        if v1:
            limit = min(max_run, size)
        else:
            limit = min(i + max_run, size)
        skip_next = False
        j = i + 1
        while j < limit:
            sj = _virt_to_slab(P, S, j)
            if S.p[j].node != pgdat:
                break
            if unlikely(not _ensure_exts(P, S, c, j, sj)):
                skip_next = v1
                break
            j += 1
        run_len = j - i
        _count_run(P, S, run_len)
        if unlikely(not charge_and_account(P, S, cpu, objcg, P.ofs * run_len, pgdat, PH_HOOK)):
            return False
        if many:
            S.counters[PH_HOOK].objcg_ref_ops += 1  # obj_cgroup_get_many
        # batched_v1 looks every slab up again; batched reuses the head's slab.
        _assign_run(P, S, i, j, objcg, not many, run_len if v1 else run_len - 1)
        i = j
        if skip_next:
            S.counters[PH_HOOK].obj_exts_skipped += 1
            i += 1
    return True


@jit(inline="always")
def _quiet_objects(P, S, cpu, objcg, j, size, charge):
    """The per-object hooks' common case for objects ``j, j+1, ...`` (below ``size``)
    at once: every event of ``charge_and_account`` (``charge``: per_object) or of
    ``mod_objcg_state`` (upfront) for an object that has obj_exts, lies on the obj
    stock's node, finds the stock on ``objcg`` (with the bytes for it, when charging)
    and leaves the statistics accumulator within +-PAGE_SIZE, so that nothing is
    flushed.  Stops at the first object that needs more and returns how many it took;
    the caller runs that one the full way.

    Same state and counts as the per-object path, in a loop with no stores but the
    objcg of each object: a call's objects mostly pass here, and the full path's
    stock, accumulator and counter updates per object cost ~40 instructions more.
    The objcg is stored in the scan itself: ``_assign_run`` after it (same counts, a
    second pass over ``p[]``) made per_object ~4% slower.
    """
    if (charge and P.irq_prob_t > 0) or (not charge and P.gen == GEN_V59):
        return 0  # a trylock that can fail, or v5.9's direct statistics: the full path
    slot, left, cached = cached_bytes(P, S, cpu, objcg)
    if not cached:
        return 0  # a stock switch (or mm-2026's accumulators on another slot): the full path
    pgdat = S.cpu[cpu].pgdat
    a = 0 if P.reclaimable else 1
    acc = S.cpu[cpu].acc[a]
    if acc + P.ofs < -PAGE_SIZE:
        return 0  # a batched free left more than a page below zero: the first step flushes
    # Each step keeps acc + ofs <= PAGE_SIZE, and acc + ofs >= -PAGE_SIZE holds from
    # the start (checked above: an accumulator is only ever outside +-PAGE_SIZE
    # holding a single update an empty one took (account_obj_stock), -ofs if negative,
    # or a whole run's -n*ofs after the batched free hook, frees.py).  So no step
    # takes |acc| past PAGE_SIZE: none flushes (nor passes mm-2026's 16-bit guard).
    k = j
    while k < size:
        sid = S.p[k].obj >> OBJ_SHIFT
        if (S.slab[sid].exts & P.exts_bit) == 0 or S.p[k].node != pgdat:
            break
        if acc + P.ofs > PAGE_SIZE or (charge and left < P.ofs):
            break
        acc += P.ofs
        left -= P.ofs
        S.p[k].objcg = objcg
        k += 1
    n = k - j
    if n > 0:
        S.cpu[cpu].acc[a] = acc
        if charge:
            set_cached_bytes(S, cpu, slot, left)
            S.counters[PH_HOOK].runs += n
            S.run_hist[0] += n
            S.counters[PH_HOOK].consume_hits += n
        S.counters[PH_HOOK].virt_to_slab += n
        S.counters[PH_HOOK].stock_locks += n
        S.counters[PH_HOOK].stat_updates += n
        S.counters[PH_HOOK].obj_to_index += n
        S.counters[PH_HOOK].assigns += n
        S.counters[PH_HOOK].objcg_ref_ops += n
        S.memcg[objcg].refs += n
    return n


@jit
def _next_full_object(P, S, c, cpu, objcg, j, size, charge):
    """The per-object hooks' walk from object ``j``: take the quiet objects
    (``_quiet_objects``), skip the ones without obj_exts, and return the next object
    that takes the full path, or ``size``.  A skipped object was charged up front
    when not ``charge`` (upfront): it gives its bytes back."""
    while j < size:
        j += _quiet_objects(P, S, cpu, objcg, j, size, charge)
        if j == size or likely(_has_exts(P, S, c, j)):
            return j
        if not charge:
            stock_lock(P, S, cpu, PH_HOOK)  # obj_cgroup_uncharge -> refill_obj_stock
            refill_obj_stock(P, S, cpu, True, objcg, P.ofs, True, PH_HOOK)
        j += 1
    return j


@jit(inline="always")
def hook_per_object(P, S, c, cpu, objcg, size):
    """Mainline ``__memcg_slab_post_alloc_hook``: charge and account each object.

    Its own loop rather than runs of one in ``hook_runs``: 5% faster for the
    mainline baseline (28.9 -> 27.3 ns/object) for ~2 s more cold compile."""
    j = 0
    while True:
        j = _next_full_object(P, S, c, cpu, objcg, j, size, True)
        if j == size:
            return True
        _count_run(P, S, 1)
        if unlikely(not charge_and_account(P, S, cpu, objcg, P.ofs, S.p[j].node, PH_HOOK)):
            return False
        _assign_run(P, S, j, j + 1, objcg, True, 0)
        j += 1


@jit(inline="always")
def hook_upfront(P, S, c, cpu, objcg, size):
    """v5.9-v6.15: charge ``size * ofs`` up front, then per-object statistics.  Before
    v6.7 the pre-alloc hook took a reference on the objcg (get_obj_cgroup_from_current:
    obj_cgroup_tryget) and the post-alloc hook dropped it (obj_cgroup_put)."""
    _count_run(P, S, size)
    if P.gen < GEN_V612:
        S.counters[PH_HOOK].objcg_ref_ops += 2
    if not obj_cgroup_charge(P, S, cpu, objcg, size * P.ofs, PH_HOOK):
        return False
    j = 0
    while True:
        j = _next_full_object(P, S, c, cpu, objcg, j, size, False)
        if j == size:
            return True
        _assign_run(P, S, j, j + 1, objcg, True, 0)
        mod_objcg_state(P, S, cpu, objcg, P.ofs, S.p[j].node, PH_HOOK)
        j += 1


@jit(inline="always")
def post_alloc_hook(P, S, c, cpu, objcg, size):
    """The strategy's hook; ``S.p[:size].objcg`` must be -1 on entry.  ``none``: no
    accounting at all (no hook work, no obj_exts, every objcg stays -1)."""
    if P.strategy == ST_NONE:
        return True
    if P.strategy == ST_UPFRONT:
        return hook_upfront(P, S, c, cpu, objcg, size)
    if P.strategy == ST_PER_OBJECT:
        return hook_per_object(P, S, c, cpu, objcg, size)
    return hook_runs(P, S, c, cpu, objcg, size)

