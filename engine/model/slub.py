"""The SLUB model with per-CPU sheaves: filling ``p[]`` and freeing objects
(docs/model.md §4 and §7, mm/slub.c).

An object is a *handle* ``slab << OBJ_SHIFT | index`` (shift, not multiply:
the hot path turns handles into slabs for every object, and a division costs ~25 cycles).  Slabs live in
driver-owned arrays; a slab id is reused once its slab is discarded.
"""

from __future__ import annotations

from .jit import jit, likely, unlikely
from .rng import S_EXTS_CREATE, S_REMOTE, chance
from .state import (
    ERR_SLAB_TABLE_FULL,
    M_ERROR,
    M_FREE_IDS,
    M_NEW_SLAB_SERIAL,
    M_NEXT_SLAB_ID,
    OBJ_MASK,
    OBJ_SHIFT,
)

# -- the slab table and the per-node partial lists -----------------------------------

@jit
def _new_slab_id(P, S):
    if S.misc[M_FREE_IDS] > 0:
        S.misc[M_FREE_IDS] -= 1
        return S.free_ids[S.misc[M_FREE_IDS]]
    sid = S.misc[M_NEXT_SLAB_ID]
    if sid >= P.slab_cap:
        S.misc[M_ERROR] = ERR_SLAB_TABLE_FULL
        return -1
    S.misc[M_NEXT_SLAB_ID] = sid + 1
    return sid


@jit
def _partial_link(S, node, prv, nxt):
    """Make ``prv`` and ``nxt`` neighbours on ``node``'s partial list (-1: the list's
    head or tail end)."""
    if prv >= 0:
        S.slab[prv].next = nxt
    else:
        S.part[node].head = nxt
    if nxt >= 0:
        S.slab[nxt].prev = prv
    else:
        S.part[node].tail = prv


@jit
def _partial_remove(S, sid):
    _partial_link(S, S.slab[sid].node, S.slab[sid].prev, S.slab[sid].next)
    S.slab[sid].prev = -1
    S.slab[sid].next = -1
    S.slab[sid].on_partial = 0


@jit
def _partial_insert(S, sid, prv, nxt):
    """Put slab ``sid`` on its node's partial list between ``prv`` and ``nxt``."""
    node = S.slab[sid].node
    _partial_link(S, node, prv, sid)
    _partial_link(S, node, sid, nxt)
    S.slab[sid].on_partial = 1


@jit(inline="always")
def _partial_add_head(S, sid):
    _partial_insert(S, sid, -1, S.part[S.slab[sid].node].head)


@jit(inline="always")
def _partial_add_tail(S, sid):
    _partial_insert(S, sid, S.part[S.slab[sid].node].tail, -1)


@jit(inline="always")
def new_slab(P, S, node, ph):
    """``allocate_slab``: a fresh slab whose objects come out in index order."""
    sid = _new_slab_id(P, S)
    if sid < 0:
        return -1
    S.counters[ph].new_slabs += 1
    serial = S.misc[M_NEW_SLAB_SERIAL]
    S.misc[M_NEW_SLAB_SERIAL] = serial + 1
    S.slab[sid].node = node
    S.slab[sid].kfence = 0
    exts = chance(P.seed, S_EXTS_CREATE, serial, P.exts_at_creation_t)
    S.slab[sid].exts = P.exts_all if exts else 0  # every strategy's bit
    n = P.objs_per_slab
    for k in range(n):
        S.slab_free[sid, k] = n - 1 - k  # top of the stack is index 0
    S.slab[sid].nfree = n
    return sid


@jit(inline="always")
def new_kfence_slab(P, S):
    """A KFENCE object: its own one-object slab on node 0 with obj_exts."""
    sid = _new_slab_id(P, S)
    if sid < 0:
        return -1
    S.slab[sid].node = 0
    S.slab[sid].kfence = 1
    S.slab[sid].exts = P.exts_all
    S.slab[sid].nfree = 0
    return sid


@jit(inline="always")
def _discard_slab(P, S, sid, ph):
    S.counters[ph].slab_discards += 1
    S.free_ids[S.misc[M_FREE_IDS]] = sid
    S.misc[M_FREE_IDS] += 1


@jit
def free_to_slab(P, S, handle, ph):
    """Return an object to its slab (``__slab_free``)."""
    sid = handle >> OBJ_SHIFT
    if S.slab[sid].kfence:
        # Back to the KFENCE pool: the id is reused, no slab_discards (nor new_slabs).
        S.free_ids[S.misc[M_FREE_IDS]] = sid
        S.misc[M_FREE_IDS] += 1
        return
    S.slab_free[sid, S.slab[sid].nfree] = handle & OBJ_MASK
    S.slab[sid].nfree += 1
    if S.slab[sid].nfree == 1:
        _partial_add_tail(S, sid)
    if S.slab[sid].nfree == P.objs_per_slab:
        # MODEL: discard a free slab at once (the kernel keeps min_partial of them).
        if S.slab[sid].on_partial:
            _partial_remove(S, sid)
        _discard_slab(P, S, sid, ph)


# -- the per-CPU sheaves ------------------------------------------------------------

@jit
def _swap_sheaves(S, cpu):
    """Main becomes spare and spare main (offsets and sizes)."""
    main, size = S.cpu[cpu].sh_main, S.cpu[cpu].sh_main_size
    S.cpu[cpu].sh_main = S.cpu[cpu].sh_spare
    S.cpu[cpu].sh_main_size = S.cpu[cpu].sh_spare_size
    S.cpu[cpu].sh_spare = main
    S.cpu[cpu].sh_spare_size = size


# -- allocation -------------------------------------------------------------------

@jit(inline="always")
def fill_from_sheaves_and_slabs(P, S, c, cpu, need, ph):
    """Put ``need`` object handles into the first ``need`` rows of ``S.p``
    (``alloc_from_pcs_bulk`` then the slab refill).  Returns False on a slab-table
    capacity error."""
    node = S.cpu[cpu].node
    got = 0
    while got < need:
        size = S.cpu[cpu].sh_main_size
        if likely(size > 0):
            b = min(need - got, size)
            base = size - b
            main = S.cpu[cpu].sh_main + base
            for k in range(b):
                S.p[got + k].obj = S.sh_objs[main + k]
            S.cpu[cpu].sh_main_size = base
            S.counters[ph].sheaf_hits += b
            got += b
            continue
        if S.cpu[cpu].sh_spare_size > 0:
            _swap_sheaves(S, cpu)
            S.counters[ph].sheaf_swaps += 1
            continue
        nb = S.barn_meta[node, 0]
        if nb > 0:
            nb -= 1
            bsize = S.barn_meta[node, 1 + nb]
            main = S.cpu[cpu].sh_main
            for k in range(bsize):
                S.sh_objs[main + k] = S.barn_objs[node, nb, k]
            S.cpu[cpu].sh_main_size = bsize
            S.barn_meta[node, 0] = nb
            S.counters[ph].barn_fetches += 1
            continue
        break
    step = 0
    while got < need:
        sid = S.part[node].head
        if sid < 0:
            if P.nodes > 1 and chance(P.seed, S_REMOTE, c * 65536 + step, P.remote_prob_t):
                for d in range(1, P.nodes):
                    other = (node + d) % P.nodes
                    if S.part[other].head >= 0:
                        sid = S.part[other].head
                        break
            if sid < 0:
                sid = new_slab(P, S, node, ph)
                if sid < 0:
                    return False
                _partial_add_head(S, sid)
        while got < need and S.slab[sid].nfree > 0:
            S.slab[sid].nfree -= 1
            idx = S.slab_free[sid, S.slab[sid].nfree]
            S.p[got].obj = (sid << OBJ_SHIFT) + idx
            got += 1
            S.counters[ph].slab_refill_objects += 1
        if S.slab[sid].nfree == 0:
            _partial_remove(S, sid)
        step += 1
    return True


# -- freeing ----------------------------------------------------------------------

@jit(inline="always")
def _flush_spare(P, S, cpu, ph):
    """``sheaf_flush_unused`` of the spare sheaf: every object back to its slab, in
    array order."""
    spare = S.cpu[cpu].sh_spare
    for k in range(S.cpu[cpu].sh_spare_size):
        free_to_slab(P, S, S.sh_objs[spare + k], ph)
    S.cpu[cpu].sh_spare_size = 0


@jit(inline="always")
def slab_free_object(P, S, cpu, handle, obj_node, kfence, ph):
    """``slab_free``: local objects go to the CPU's main sheaf, remote ones to their slab.

    ``obj_node`` is the node of the object's slab, kept with the live object (a
    slab's node never changes while it holds a live object), so the hot path does
    not read the slab table.
    """
    if unlikely(kfence != 0):
        free_to_slab(P, S, handle, ph)
        return
    node = S.cpu[cpu].node
    if unlikely(obj_node != node):
        S.counters[ph].remote_frees += 1
        free_to_slab(P, S, handle, ph)
        return
    size = S.cpu[cpu].sh_main_size
    if unlikely(size == P.sheaf_cap):
        if S.cpu[cpu].sh_spare_size == 0:
            _swap_sheaves(S, cpu)
            S.counters[ph].sheaf_swaps += 1
        elif S.barn_meta[node, 0] < P.barn_max:
            nb = S.barn_meta[node, 0]
            main = S.cpu[cpu].sh_main
            for k in range(P.sheaf_cap):
                S.barn_objs[node, nb, k] = S.sh_objs[main + k]
            S.barn_meta[node, 1 + nb] = P.sheaf_cap
            S.barn_meta[node, 0] = nb + 1
            S.cpu[cpu].sh_main_size = 0
            S.counters[ph].barn_puts += 1
        else:
            # Barn full: flush the (full) spare, the full main becomes the spare.
            S.counters[ph].sheaf_flushes += 1
            _flush_spare(P, S, cpu, ph)
            _swap_sheaves(S, cpu)
        size = S.cpu[cpu].sh_main_size
    S.sh_objs[S.cpu[cpu].sh_main + size] = handle
    S.cpu[cpu].sh_main_size = size + 1
