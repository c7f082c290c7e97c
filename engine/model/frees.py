"""Freeing: ``kmem_cache_free_bulk()`` calls and the memcg free hook (docs/model.md §7, §7a).

The objects of one free call are gathered in ``S.fb`` (obj, node, objcg, kfence), then
freed on one CPU: the memcg free hook for every object that holds an objcg, per object
(mainline ``__memcg_slab_free_hook``) or per run (``free_hook = batched``), and the slab
free of each object in call order.  ``free_to_pcs_bulk()`` runs every hook first; the
two touch disjoint state (memcg stocks and counters; sheaves and slabs), so
``free_call`` does both in one pass with the same counts and state (docs/model.md §7a;
the reference model does the hooks first).

Cost: per_object at ``free_bulk = 1`` ran 16.1-16.8 ns/object before this module
(the per-object loop in ``run_calls``) and 18.0-18.8 with it, on the shared 2-core
machine; the cold compile grew ~1 s (29.3 -> 30.4 s, same load).

One call site per path (engine/model/jit.py): ``free_batches`` has the one call site of
``free_call``, which has the one call site of ``uncharge_run`` and of the slab free.
"""

from __future__ import annotations

from .events import PH_FREE_HOOK, PH_SLAB_FREE
from .jit import jit, likely, unlikely
from .memcg import account_obj_stock, refill_obj_stock, stock_lock
from .rng import S_FREE_CPU, S_FREE_OTHER, chance, draw_below_magic
from .slub import slab_free_object
from .state import (
    GEN_V612,
    LVM_CPU_MASK,
    LVM_KFENCE_SHIFT,
    LVM_NODE_MASK,
    LVM_NODE_SHIFT,
    LVM_OBJCG_MASK,
    LVM_OBJCG_SHIFT,
)


@jit
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
    if P.gen == GEN_V612:
        # That generation: refill_obj_stock, then mod_objcg_state under a second
        # lock round trip (its irq-save lock never fails: ``locked`` is True, and
        # the refill has just switched the stock to ``objcg``).
        stock_lock(P, S, cpu, ph)
    account_obj_stock(P, S, cpu, locked, objcg, -nbytes, node, ph)
    S.memcg[objcg].refs -= n
    S.counters[ph].objcg_ref_ops += 1


@jit
def free_call(P, S, cpu, n):
    """One ``kmem_cache_free_bulk()`` of the ``n`` objects in ``S.fb`` on ``cpu``.

    The free hook: an object without an objcg (no obj_exts, a failed call's uncharged
    tail, strategy ``none``) is skipped, as ``__memcg_slab_free_hook`` skips a NULL
    objcg, and neither joins nor ends a run.  Per object (``free_hook = per_object``)
    every charged object is its own uncharge; batched, a run is a maximal stretch of
    charged objects, in call order, with the same objcg and the same node (the slab
    statistic is per node, the charge per objcg).  KFENCE objects are charged like any
    other and take part in runs; their slab free discards their KFENCE slab.
    """
    batched = P.free_batched != 0
    run_len = 0
    # One pass: object k joins the current run; the run is uncharged at its last
    # object (per object: at once), then object k goes to its slab.  Hook and slab work
    # touch disjoint state, so this order gives the counts and state of all hooks
    # first (free_to_pcs_bulk()), with nothing kept across the slab free.
    for k in range(n):
        objcg = S.fb[k].objcg
        node = S.fb[k].node
        if likely(objcg >= 0):
            run_len += 1
            more = False
            if batched:
                j = k + 1  # the next object that holds an objcg
                while j < n and S.fb[j].objcg < 0:
                    j += 1
                more = j < n and S.fb[j].objcg == objcg and S.fb[j].node == node
            if not more:
                uncharge_run(P, S, cpu, objcg, node, run_len)
                if batched:
                    S.counters[PH_FREE_HOOK].free_runs += 1
                run_len = 0
        if likely(not P.trace_mode):
            slab_free_object(P, S, cpu, S.fb[k].obj, node, S.fb[k].kfence, PH_SLAB_FREE)
    S.counters[PH_SLAB_FREE].frees += n


@jit
def free_batches(P, S, cpu, n_failed, head, count, target, free_serial):
    """The frees after one call, in ``kmem_cache_free_bulk()`` calls; returns the live
    FIFO's new ``head`` and ``count`` and the next free serial.

    First, if the hook failed, the call's ``p[0:n_failed)`` in one free call on the
    allocating CPU ``cpu`` (``memcg_slab_post_alloc_hook`` frees the whole array with
    ``kmem_cache_free_bulk``).  Then the oldest live objects down to ``target``, in calls
    of ``P.free_bulk`` objects: after a successful call only whole calls (up to
    ``free_bulk - 1`` objects wait above ``target`` for the next one); after a failed one
    every object down to ``target``, the last call shorter.  Each call is freed on
    one CPU: its first (oldest) object's allocating CPU, or, drawn with that object's
    free serial ``s``, another CPU (``FREE_CPU``/``FREE_OTHER`` at ``s``, as a single
    free draws).  Serials advance by one per object, so ``free_bulk = 1`` draws what
    single frees always drew.
    """
    ring = S.live.shape[0]
    excess = count - target
    if P.free_bulk > 1 and n_failed == 0 and excess > 0:
        excess -= excess % P.free_bulk
    pending = n_failed
    while True:
        if unlikely(pending > 0):
            for k in range(pending):
                S.fb[k].obj = S.p[k].obj
                S.fb[k].node = S.p[k].node
                S.fb[k].objcg = S.p[k].objcg
                S.fb[k].kfence = S.p[k].kfence
            n = pending
            fcpu = cpu
            pending = 0
        elif excess > 0:
            n = min(P.free_bulk, excess)
            excess -= n
            s = free_serial
            free_serial += n
            acpu = S.live[head].meta & LVM_CPU_MASK
            fcpu = acpu
            if unlikely(P.cpus > 1 and chance(P.seed, S_FREE_CPU, s, P.remote_free_prob_t)):
                fcpu = acpu + 1 + draw_below_magic(P.seed, S_FREE_OTHER, s, P.cpus - 1,
                                                   P.others_m, P.others_sh)
                if fcpu >= P.cpus:  # (...) % cpus of a value < 2 * cpus, without a division
                    fcpu -= P.cpus
            for k in range(n):
                meta = S.live[head].meta
                S.fb[k].obj = S.live[head].obj
                S.fb[k].node = (meta >> LVM_NODE_SHIFT) & LVM_NODE_MASK
                S.fb[k].objcg = ((meta >> LVM_OBJCG_SHIFT) & LVM_OBJCG_MASK) - 1
                S.fb[k].kfence = meta >> LVM_KFENCE_SHIFT
                head += 1
                if head == ring:
                    head = 0
            count -= n
        else:
            break
        free_call(P, S, fcpu, n)
    return head, count, free_serial
