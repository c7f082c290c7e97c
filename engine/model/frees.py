"""Freeing: ``kmem_cache_free_bulk()`` calls and the memcg free hooks (docs/model.md §7, §7a).

After each call the kernel (``kernel.run_calls``) frees objects in free calls: the
objects of a call whose hook failed, as one call on its CPU, then the oldest live
objects in calls of ``free_bulk``, each on one CPU.  The slab side of every freed
object runs once, and each freed object goes on ``State.fq`` (its CPU, node, where its
objcg is, and whether it starts a free call).  Then each strategy runs its memcg free
hook over ``fq``: per object (mainline ``__memcg_slab_free_hook``), or per run of one
free call (``free_hook = batched``).  ``free_to_pcs_bulk()`` runs every hook first;
hooks and slab frees touch disjoint state (memcg stocks and counters; sheaves and
slabs), so the order between them changes no count and no state (the reference model
does the hooks first).

One call site per path (engine/model/jit.py): ``run_calls`` has the one call site of
``uncharge_run`` and of the slab free.
"""

from __future__ import annotations

from .constants import PAGE_SIZE
from .events import PH_FREE_HOOK
from .jit import jit, likely
from .memcg import (
    _flush_stat,
    account_obj_stock,
    cached_bytes,
    refill_obj_stock,
    set_cached_bytes,
    stock_lock,
)
from .state import GEN_V59, GEN_V612


@jit(inline="always")
def uncharge_run(P, S, cpu, objcg, node, n):
    """``__memcg_slab_free_hook`` for ``n`` objects on ``node`` that hold ``objcg``.

    ``n = 1`` is mainline's per-object hook (mm/memcontrol.c: ``obj_to_index``, then
    under one stock lock ``refill_obj_stock(objcg, obj_full_size, ..., -obj_full_size,
    pgdat)``, then ``obj_cgroup_put``).  ``n > 1`` is the batched hook's run: still one
    ``obj_to_index`` per object (each slot is read and cleared), but one stock lock, one
    refill of ``n * ofs`` bytes, one statistics update of ``-n * ofs`` and one
    ``obj_cgroup_put_many`` (``percpu_ref_put_many``) for the run.
    """
    ph = PH_FREE_HOOK
    nbytes = n * P.ofs
    S.counters[ph].obj_to_index += n
    locked = stock_lock(P, S, cpu, ph)
    refill_obj_stock(P, S, cpu, locked, objcg, nbytes, True, ph)
    if P.gen == GEN_V59:
        # v5.9-v5.13: mod_objcg_state is mod_memcg_lruvec_state at once (mm/slab.h)
        _flush_stat(P, S, objcg, node, -nbytes, cpu, ph)
    else:
        if P.gen <= GEN_V612:
            # v5.14-v6.15: refill_obj_stock, then mod_objcg_state under a second
            # lock round trip (that lock never fails: ``locked`` is True, and
            # the refill has just switched the stock to ``objcg``).
            stock_lock(P, S, cpu, ph)
        account_obj_stock(P, S, cpu, locked, objcg, -nbytes, node, ph)
    S.memcg[objcg].refs -= n
    S.counters[ph].objcg_ref_ops += 1


@jit(inline="always")
def fq_objcg(S, lo, i):
    """The objcg of the ``i``-th object the call frees (``S.fq``), for the strategy
    whose live-ring objcgs are ``lo``: from its ring slot, or from ``p[]`` when the
    call's hook failed."""
    pos = S.fq[i].pos
    return lo[pos] if likely(pos >= 0) else S.p[-1 - pos].objcg


@jit(inline="always")
def quiet_frees(P, S, lo, i, nq, cpu, objcg, node):
    """``uncharge_run``'s common case (one object at a time, per-object free hook) for the freed objects ``i, i+1, ...`` (below
    ``nq``) at once, as ``_quiet_objects`` is the post-alloc hooks': objects freed
    on ``cpu``, of ``objcg`` on ``node``, where the stock's lock cannot fail, the
    stock caches ``objcg`` (its accumulators' slot and node, mm-2026: the objcg's
    slot), the bytes given back stay within a page (nothing is uncharged) and the
    accumulator ends each step within +-PAGE_SIZE (nothing is flushed, no 16-bit
    guard; a batched charge can leave it far above a page, and the next update
    flushes it).  Returns how
    many it took (0: the caller runs object ``i`` the full way).

    Same state and counts as ``uncharge_run`` of one object each: a call frees the objects of an
    earlier call, mostly one CPU's and one objcg's, and the full path's lock, refill
    and accounting calls per object cost ~3 ns of the simulation's ~17.
    """
    if (P.gen > GEN_V612 and P.irq_prob_t > 0) or P.gen == GEN_V59:
        return 0  # a trylock that can fail, or v5.9's direct statistics: the full path
    slot, left, cached = cached_bytes(P, S, cpu, objcg)
    if not cached or S.cpu[cpu].pgdat != node:
        return 0
    a = 0 if P.reclaimable else 1
    acc = S.cpu[cpu].acc[a]
    k = i
    while k < nq:
        if S.fq[k].cpu != cpu or S.fq[k].node != node or fq_objcg(S, lo, k) != objcg:
            break
        if left + P.ofs > PAGE_SIZE or abs(acc - P.ofs) > PAGE_SIZE:
            break
        left += P.ofs
        acc -= P.ofs
        k += 1
    n = k - i
    if n > 0:
        S.cpu[cpu].acc[a] = acc
        set_cached_bytes(S, cpu, slot, left)
        ph = PH_FREE_HOOK
        S.counters[ph].obj_to_index += n
        S.counters[ph].stock_locks += n if P.gen > GEN_V612 else 2 * n
        S.counters[ph].refills += n
        S.counters[ph].stat_updates += n
        S.counters[ph].objcg_ref_ops += n
        S.memcg[objcg].refs -= n
    return n
