"""The SLUB model with per-CPU sheaves: filling ``p[]`` and freeing objects
(docs/model.md §4 and §7, mm/slub.c).

An object is a *handle* ``slab << OBJ_SHIFT | index`` (shift, not multiply:
the hot path turns handles into slabs for every object, and a division costs ~25 cycles).  Slabs live in
driver-owned arrays; a slab id is reused once its slab is discarded.
"""

from __future__ import annotations

from .events import (
    E_BARN_FETCHES,
    E_BARN_PUTS,
    E_NEW_SLABS,
    E_REMOTE_FREES,
    E_SHEAF_FLUSHES,
    E_SHEAF_HITS,
    E_SHEAF_SWAPS,
    E_SLAB_DISCARDS,
    E_SLAB_REFILL_OBJECTS,
    N_EVENTS,
)
from .jit import jit, likely, unlikely
from .rng import S_EXTS_CREATE, S_REMOTE, chance
from .state import (
    CPU_NODE,
    CPU_SH_MAIN,
    CPU_SH_MAIN_SIZE,
    CPU_SH_SPARE,
    CPU_SH_SPARE_SIZE,
    ERR_SLAB_TABLE_FULL,
    M_ERROR,
    M_FREE_IDS,
    M_NEW_SLAB_SERIAL,
    M_NEXT_SLAB_ID,
    N_CPU_COLS,
    N_PART_COLS,
    N_PP_COLS,
    N_SL_COLS,
    OBJ_MASK,
    OBJ_SHIFT,
    PP_OBJ,
    SL_EXTS,
    SL_KFENCE,
    SL_NEXT,
    SL_NFREE,
    SL_NODE,
    SL_ON_PARTIAL,
    SL_PREV,
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
def _partial_remove(S, sid):
    node = S.slab[sid * N_SL_COLS + SL_NODE]
    prv = S.slab[sid * N_SL_COLS + SL_PREV]
    nxt = S.slab[sid * N_SL_COLS + SL_NEXT]
    if prv >= 0:
        S.slab[prv * N_SL_COLS + SL_NEXT] = nxt
    else:
        S.part[node * N_PART_COLS + 0] = nxt
    if nxt >= 0:
        S.slab[nxt * N_SL_COLS + SL_PREV] = prv
    else:
        S.part[node * N_PART_COLS + 1] = prv
    S.slab[sid * N_SL_COLS + SL_PREV] = -1
    S.slab[sid * N_SL_COLS + SL_NEXT] = -1
    S.slab[sid * N_SL_COLS + SL_ON_PARTIAL] = 0


@jit
def _partial_add_head(S, sid):
    node = S.slab[sid * N_SL_COLS + SL_NODE]
    head = S.part[node * N_PART_COLS + 0]
    S.slab[sid * N_SL_COLS + SL_PREV] = -1
    S.slab[sid * N_SL_COLS + SL_NEXT] = head
    if head >= 0:
        S.slab[head * N_SL_COLS + SL_PREV] = sid
    else:
        S.part[node * N_PART_COLS + 1] = sid
    S.part[node * N_PART_COLS + 0] = sid
    S.slab[sid * N_SL_COLS + SL_ON_PARTIAL] = 1


@jit
def _partial_add_tail(S, sid):
    node = S.slab[sid * N_SL_COLS + SL_NODE]
    tail = S.part[node * N_PART_COLS + 1]
    S.slab[sid * N_SL_COLS + SL_NEXT] = -1
    S.slab[sid * N_SL_COLS + SL_PREV] = tail
    if tail >= 0:
        S.slab[tail * N_SL_COLS + SL_NEXT] = sid
    else:
        S.part[node * N_PART_COLS + 0] = sid
    S.part[node * N_PART_COLS + 1] = sid
    S.slab[sid * N_SL_COLS + SL_ON_PARTIAL] = 1


@jit
def new_slab(P, S, node, ph):
    """``allocate_slab``: a fresh slab whose objects come out in index order."""
    sid = _new_slab_id(P, S)
    if sid < 0:
        return -1
    S.counters[ph * N_EVENTS + E_NEW_SLABS] += 1
    serial = S.misc[M_NEW_SLAB_SERIAL]
    S.misc[M_NEW_SLAB_SERIAL] = serial + 1
    S.slab[sid * N_SL_COLS + SL_NODE] = node
    S.slab[sid * N_SL_COLS + SL_KFENCE] = 0
    exts = chance(P.seed, S_EXTS_CREATE, serial, P.exts_at_creation_t)
    S.slab[sid * N_SL_COLS + SL_EXTS] = 1 if exts else 0
    n = P.objs_per_slab
    for k in range(n):
        S.slab_free[sid, k] = n - 1 - k  # top of the stack is index 0
    S.slab[sid * N_SL_COLS + SL_NFREE] = n
    return sid


@jit
def new_kfence_slab(P, S):
    """A KFENCE object: its own one-object slab on node 0 with obj_exts."""
    sid = _new_slab_id(P, S)
    if sid < 0:
        return -1
    S.slab[sid * N_SL_COLS + SL_NODE] = 0
    S.slab[sid * N_SL_COLS + SL_KFENCE] = 1
    S.slab[sid * N_SL_COLS + SL_EXTS] = 1
    S.slab[sid * N_SL_COLS + SL_NFREE] = 0
    return sid


@jit
def _discard_slab(P, S, sid, ph):
    S.counters[ph * N_EVENTS + E_SLAB_DISCARDS] += 1
    S.free_ids[S.misc[M_FREE_IDS]] = sid
    S.misc[M_FREE_IDS] += 1


@jit
def free_to_slab(P, S, handle, ph):
    """Return an object to its slab (``__slab_free``)."""
    sid = handle >> OBJ_SHIFT
    if S.slab[sid * N_SL_COLS + SL_KFENCE]:
        # Back to the KFENCE pool: the id is reused, no slab_discards (nor new_slabs).
        S.free_ids[S.misc[M_FREE_IDS]] = sid
        S.misc[M_FREE_IDS] += 1
        return
    S.slab_free[sid, S.slab[sid * N_SL_COLS + SL_NFREE]] = handle & OBJ_MASK
    S.slab[sid * N_SL_COLS + SL_NFREE] += 1
    if S.slab[sid * N_SL_COLS + SL_NFREE] == 1:
        _partial_add_tail(S, sid)
    if S.slab[sid * N_SL_COLS + SL_NFREE] == P.objs_per_slab:
        # MODEL: discard a free slab at once (the kernel keeps min_partial of them).
        if S.slab[sid * N_SL_COLS + SL_ON_PARTIAL]:
            _partial_remove(S, sid)
        _discard_slab(P, S, sid, ph)


# -- the per-CPU sheaves ------------------------------------------------------------

@jit
def _swap_sheaves(S, rc):
    """Main becomes spare and spare main (offsets and sizes; ``rc``: the CPU's row)."""
    main, size = S.cpu[rc + CPU_SH_MAIN], S.cpu[rc + CPU_SH_MAIN_SIZE]
    S.cpu[rc + CPU_SH_MAIN] = S.cpu[rc + CPU_SH_SPARE]
    S.cpu[rc + CPU_SH_MAIN_SIZE] = S.cpu[rc + CPU_SH_SPARE_SIZE]
    S.cpu[rc + CPU_SH_SPARE] = main
    S.cpu[rc + CPU_SH_SPARE_SIZE] = size


# -- allocation -------------------------------------------------------------------

@jit
def fill_from_sheaves_and_slabs(P, S, c, cpu, need, ph):
    """Put ``need`` object handles into the first ``need`` rows of ``S.p``
    (``alloc_from_pcs_bulk`` then the slab refill).  Returns False on a slab-table
    capacity error."""
    rc = cpu * N_CPU_COLS  # this CPU's row of S.cpu
    node = S.cpu[rc + CPU_NODE]
    got = 0
    while got < need:
        size = S.cpu[rc + CPU_SH_MAIN_SIZE]
        if likely(size > 0):
            b = min(need - got, size)
            base = size - b
            main = S.cpu[rc + CPU_SH_MAIN] + base
            for k in range(b):
                S.p[(got + k) * N_PP_COLS + PP_OBJ] = S.sh_objs[main + k]
            S.cpu[rc + CPU_SH_MAIN_SIZE] = base
            S.counters[ph * N_EVENTS + E_SHEAF_HITS] += b
            got += b
            continue
        if S.cpu[rc + CPU_SH_SPARE_SIZE] > 0:
            _swap_sheaves(S, rc)
            S.counters[ph * N_EVENTS + E_SHEAF_SWAPS] += 1
            continue
        nb = S.barn_meta[node, 0]
        if nb > 0:
            nb -= 1
            bsize = S.barn_meta[node, 1 + nb]
            main = S.cpu[rc + CPU_SH_MAIN]
            for k in range(bsize):
                S.sh_objs[main + k] = S.barn_objs[node, nb, k]
            S.cpu[rc + CPU_SH_MAIN_SIZE] = bsize
            S.barn_meta[node, 0] = nb
            S.counters[ph * N_EVENTS + E_BARN_FETCHES] += 1
            continue
        break
    step = 0
    while got < need:
        sid = S.part[node * N_PART_COLS + 0]
        if sid < 0:
            if P.nodes > 1 and chance(P.seed, S_REMOTE, c * 65536 + step, P.remote_prob_t):
                for d in range(1, P.nodes):
                    other = (node + d) % P.nodes
                    if S.part[other * N_PART_COLS + 0] >= 0:
                        sid = S.part[other * N_PART_COLS + 0]
                        break
            if sid < 0:
                sid = new_slab(P, S, node, ph)
                if sid < 0:
                    return False
                _partial_add_head(S, sid)
        while got < need and S.slab[sid * N_SL_COLS + SL_NFREE] > 0:
            S.slab[sid * N_SL_COLS + SL_NFREE] -= 1
            idx = S.slab_free[sid, S.slab[sid * N_SL_COLS + SL_NFREE]]
            S.p[got * N_PP_COLS + PP_OBJ] = (sid << OBJ_SHIFT) + idx
            got += 1
            S.counters[ph * N_EVENTS + E_SLAB_REFILL_OBJECTS] += 1
        if S.slab[sid * N_SL_COLS + SL_NFREE] == 0:
            _partial_remove(S, sid)
        step += 1
    return True


# -- freeing ----------------------------------------------------------------------

@jit
def _flush_spare(P, S, rc, ph):
    """``sheaf_flush_unused`` of the spare sheaf: every object back to its slab, in
    array order."""
    spare = S.cpu[rc + CPU_SH_SPARE]
    for k in range(S.cpu[rc + CPU_SH_SPARE_SIZE]):
        free_to_slab(P, S, S.sh_objs[spare + k], ph)
    S.cpu[rc + CPU_SH_SPARE_SIZE] = 0


@jit
def slab_free_object(P, S, cpu, handle, obj_node, kfence, ph):
    """``slab_free``: local objects go to the CPU's main sheaf, remote ones to their slab.

    ``obj_node`` is the node of the object's slab, kept with the live object (a
    slab's node never changes while it holds a live object), so the hot path does
    not read the slab table.
    """
    rc = cpu * N_CPU_COLS
    if unlikely(kfence != 0):
        free_to_slab(P, S, handle, ph)
        return
    node = S.cpu[rc + CPU_NODE]
    if unlikely(obj_node != node):
        S.counters[ph * N_EVENTS + E_REMOTE_FREES] += 1
        free_to_slab(P, S, handle, ph)
        return
    size = S.cpu[rc + CPU_SH_MAIN_SIZE]
    if unlikely(size == P.sheaf_cap):
        if S.cpu[rc + CPU_SH_SPARE_SIZE] == 0:
            _swap_sheaves(S, rc)
            S.counters[ph * N_EVENTS + E_SHEAF_SWAPS] += 1
        elif S.barn_meta[node, 0] < P.barn_max:
            nb = S.barn_meta[node, 0]
            main = S.cpu[rc + CPU_SH_MAIN]
            for k in range(P.sheaf_cap):
                S.barn_objs[node, nb, k] = S.sh_objs[main + k]
            S.barn_meta[node, 1 + nb] = P.sheaf_cap
            S.barn_meta[node, 0] = nb + 1
            S.cpu[rc + CPU_SH_MAIN_SIZE] = 0
            S.counters[ph * N_EVENTS + E_BARN_PUTS] += 1
        else:
            # Barn full: flush the (full) spare, the full main becomes the spare.
            S.counters[ph * N_EVENTS + E_SHEAF_FLUSHES] += 1
            _flush_spare(P, S, rc, ph)
            _swap_sheaves(S, rc)
        size = S.cpu[rc + CPU_SH_MAIN_SIZE]
    S.sh_objs[S.cpu[rc + CPU_SH_MAIN] + size] = handle
    S.cpu[rc + CPU_SH_MAIN_SIZE] = size + 1
