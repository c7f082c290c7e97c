"""The memcg machinery shared by all strategies: page counters, the per-CPU memcg
stock, the per-CPU obj stock and the charge paths (docs/model.md §5).

Every function takes the run's ``Params`` ``P`` and ``State`` ``S``, the CPU doing
the work and the phase ``ph`` to count events in.  Names follow mm/memcontrol.c.
"""

from __future__ import annotations

import numpy as np

from .constants import (
    COSTLY_PAGES,
    MEMCG_CHARGE_BATCH,
    NR_MEMCG_STOCK,
    NR_OBJ_STOCK,
    PAGE_SIZE,
    S16_MAX,
    U16_MAX,
)
from .jit import jit, likely, unlikely
from .rng import S_EVICT, S_IRQ, chance, draw_below
from .state import (
    GEN_MM,
    GEN_V59,
    GEN_V612,
    M_EVICT_SERIAL,
    M_FORCED,
    M_TRYLOCK_SERIAL,
)

# -- shared cache lines -------------------------------------------------------------

@jit
def _line_write(P, S, line, cpu, ph):
    """A write to shared cache line ``line`` (see ``state.State.owner``): pay a
    transfer if another CPU owned it.

    Without branches: which CPU wrote a line last is as good as random, and a
    mispredicted branch here cost more than the few extra instructions."""
    prev = S.owner[line]
    S.owner[line] = cpu
    moved = np.int64(prev >= 0) & np.int64(prev != cpu)
    far = np.int64(S.cpu[max(prev, 0)].node != S.cpu[cpu].node)
    S.counters[ph].line_transfers[far] += moved


@jit
def _level_index(P, m, level):
    """Page-counter index of ``level`` (0 = leaf) on the path of leaf memcg ``m``;
    level ``P.depth`` is the root memcg's counter, shared by every memcg."""
    if level == 0:
        return m
    return P.memcgs + level - 1


# -- page counters (mm/page_counter.c) --------------------------------------------

@jit
def _pc_charge(P, S, c, n, cpu, ph):
    """``n`` pages onto page counter ``c`` (one level)."""
    S.pc[c].usage += n
    S.counters[ph].page_counter_charges += 1
    _line_write(P, S, c, cpu, ph)


@jit
def _pc_uncharge(P, S, c, n, cpu, ph):
    """``n`` pages off page counter ``c`` (one level)."""
    S.pc[c].usage -= n
    S.counters[ph].page_counter_uncharges += 1
    _line_write(P, S, c, cpu, ph)


@jit
def page_counter_try_charge(P, S, m, n, cpu, ph):
    """``page_counter_try_charge``: walk leaf to root (mm/page_counter.c: ``for (c =
    counter; c; c = c->parent)``; every top-level memcg's parent is the root's counter,
    ``mem_cgroup_css_alloc``); undo on exceeding a max.
    Returns -1, or the index of the counter that failed (``mem_over_limit``)."""
    for level in range(P.depth + 1):
        c = _level_index(P, m, level)
        _pc_charge(P, S, c, n, cpu, ph)
        if S.pc[c].usage > S.pc[c].max:
            _pc_uncharge(P, S, c, n, cpu, ph)
            S.counters[ph].page_counter_failcnt += 1
            S.pc[c].failcnt += 1
            for undo in range(level):
                _pc_uncharge(P, S, _level_index(P, m, undo), n, cpu, ph)
            return c
    return -1


@jit(inline="always")
def page_counter_charge(P, S, m, n, cpu, ph):
    """``page_counter_charge``: forced, no limit check."""
    for level in range(P.depth + 1):
        _pc_charge(P, S, _level_index(P, m, level), n, cpu, ph)


@jit
def page_counter_uncharge(P, S, m, n, cpu, ph):
    """``page_counter_uncharge`` (``memcg_uncharge``): every level."""
    for level in range(P.depth + 1):
        _pc_uncharge(P, S, _level_index(P, m, level), n, cpu, ph)


@jit(inline="always")
def _margin(P, S, m):
    """``mem_cgroup_margin``: pages left below the tightest max on the path."""
    best = np.int64(2**62)
    for level in range(P.depth + 1):
        c = _level_index(P, m, level)
        left = S.pc[c].max - S.pc[c].usage
        if left < best:
            best = left
    return best


# -- memcg stock: 7 slots of pre-charged pages per CPU ------------------------------
# MODEL: the memcg stock's own local_trylock never fails here.
# v6.12: one slot (slot 0), under the obj stock's irq-save stock_lock (counted).

@jit
def _stock_slot(S, cpu, m):
    """The memcg stock slot holding memcg ``m`` (-1 for none) and the first empty one.

    Without branches: which slot a memcg sits in is as good as random, and a loop
    that stops at it mispredicts its exit.  A memcg holds one slot at most."""
    hit = -1
    empty = -1
    for i in range(NR_MEMCG_STOCK - 1, -1, -1):  # the last select keeps the first slot
        v = S.ms[cpu].memcg[i]
        hit = i if v == m else hit
        empty = i if v < 0 else empty
    return hit, empty


@jit
def consume_stock(P, S, cpu, m, n, ph):
    if n <= MEMCG_CHARGE_BATCH:
        if P.gen == GEN_V612:
            S.counters[ph].stock_locks += 1  # the shared stock_lock
        elif P.gen < GEN_V612:
            S.counters[ph].irq_saves += 1  # v5.x: consume_stock's own local_irq_save
        i, _ = _stock_slot(S, cpu, m)
        if i >= 0 and S.ms[cpu].pages[i] >= n:
            S.ms[cpu].pages[i] -= n
            S.counters[ph].memcg_stock_hits += 1
            return True
    S.counters[ph].memcg_stock_misses += 1
    return False


@jit
def drain_stock_slot(P, S, cpu, i, ph):
    S.counters[ph].memcg_stock_drains += 1
    pages = S.ms[cpu].pages[i]
    if pages > 0:
        page_counter_uncharge(P, S, S.ms[cpu].memcg[i], pages, cpu, ph)
    S.ms[cpu].memcg[i] = -1
    S.ms[cpu].pages[i] = 0


@jit
def refill_stock_locked(P, S, cpu, m, n, ph):
    """v6.12 ``__refill_stock`` (stock_lock held): the one slot adopts ``m``
    (draining another memcg), takes the pages and drains all of them above 64."""
    S.counters[ph].memcg_stock_refills += 1
    if S.ms[cpu].memcg[0] != m:
        if S.ms[cpu].memcg[0] >= 0:
            drain_stock_slot(P, S, cpu, 0, ph)
        S.ms[cpu].memcg[0] = m
    S.ms[cpu].pages[0] += n
    if S.ms[cpu].pages[0] > MEMCG_CHARGE_BATCH:
        drain_stock_slot(P, S, cpu, 0, ph)


@jit
def refill_stock(P, S, cpu, m, n, ph):
    """``refill_stock``: park ``n`` pages; evict a slot when all are taken (random
    in mainline, round-robin in mm-2026)."""
    if P.gen <= GEN_V612:
        if P.gen == GEN_V612:
            S.counters[ph].stock_locks += 1  # the shared stock_lock
        else:
            S.counters[ph].irq_saves += 1  # v5.x: refill_stock's own local_irq_save
        refill_stock_locked(P, S, cpu, m, n, ph)
        return
    S.counters[ph].memcg_stock_refills += 1
    if n > MEMCG_CHARGE_BATCH:
        page_counter_uncharge(P, S, m, n, cpu, ph)
        return
    i, empty = _stock_slot(S, cpu, m)
    if i >= 0:
        S.ms[cpu].pages[i] += n
        if S.ms[cpu].pages[i] > MEMCG_CHARGE_BATCH:
            drain_stock_slot(P, S, cpu, i, ph)
        return
    if empty < 0:
        if P.gen == GEN_MM:
            empty = S.ms[cpu].rr
            S.ms[cpu].rr = empty + 1 if empty + 1 < NR_MEMCG_STOCK else 0
        else:
            e = S.misc[M_EVICT_SERIAL]
            S.misc[M_EVICT_SERIAL] = e + 1
            empty = draw_below(P.seed, S_EVICT, e, NR_MEMCG_STOCK)
        drain_stock_slot(P, S, cpu, empty, ph)
    S.ms[cpu].memcg[empty] = m
    S.ms[cpu].pages[empty] = n


# -- obj stock: pre-charged bytes and statistics accumulators per CPU ---------------

@jit
def stock_lock(P, S, cpu, ph):
    """Take the obj stock's lock.  Returns False if the trylock failed.

    Current kernels use ``local_trylock``, which fails when an interrupt on this CPU
    re-entered the allocator; the ``upfront`` generation used an irq-save lock.
    """
    if P.gen > GEN_V612 and P.irq_prob_t > 0:
        # The trylock serial only indexes IRQ draws: without re-entry it is not kept.
        k = S.misc[M_TRYLOCK_SERIAL]
        S.misc[M_TRYLOCK_SERIAL] = k + 1
        if unlikely(chance(P.seed, S_IRQ, k, P.irq_prob_t)):
            S.counters[ph].stock_lock_failures += 1
            return False
    S.counters[ph].stock_locks += 1
    return True


@jit
def _flush_stat(P, S, objcg, pgdat, nbytes, cpu, ph):
    """``mod_objcg_mlstate``: update the objcg's memcg's per-node statistic.  The
    kernel (``__mod_memcg_lruvec_state``) writes only per-CPU counters here: no shared
    cache line is written, so no line transfer is counted."""
    m = S.memcg[objcg].memcg
    S.stat[m, pgdat] += nbytes
    S.counters[ph].stat_flushes += 1
    if P.gen < GEN_V612:
        S.counters[ph].irq_saves += 1  # v5.x mod_memcg_lruvec_state: local_irq_save


@jit
def _nr_charged_add(P, S, m, nbytes, cpu, ph):
    S.memcg[m].nr_charged += nbytes
    S.counters[ph].nr_charged_atomics += 1
    _line_write(P, S, P.n_counters + m, cpu, ph)


@jit
def _flush_accs(P, S, cpu, objcg, ph):
    """Flush the stock's two statistics accumulators (reclaimable, unreclaimable) for
    ``objcg`` at the stock's node, and empty them."""
    for k in range(2):
        if S.cpu[cpu].acc[k] != 0:
            _flush_stat(P, S, objcg, S.cpu[cpu].pgdat, S.cpu[cpu].acc[k], cpu, ph)
            S.cpu[cpu].acc[k] = 0


@jit
def _drain_oslot(P, S, cpu, i, ph):
    """mm-2026 ``drain_obj_stock_slot``: slot ``i``'s pages to the page counters, its
    remainder to ``nr_charged_bytes``, its statistics if the accumulators are its."""
    old = S.cpu[cpu].oslot[i]
    if old < 0:
        return
    S.counters[ph].drains += 1
    nbytes = S.cpu[cpu].obytes[i]
    if nbytes > 0:
        np_ = nbytes // PAGE_SIZE
        if np_ > 0:
            S.counters[ph].drain_uncharge_pages += 1
            page_counter_uncharge(P, S, S.memcg[old].memcg, np_, cpu, ph)
        _nr_charged_add(P, S, old, nbytes % PAGE_SIZE, cpu, ph)
        S.cpu[cpu].obytes[i] = 0
    if S.cpu[cpu].index == i:
        _flush_accs(P, S, cpu, old, ph)
        S.cpu[cpu].index = -1
        S.cpu[cpu].pgdat = -1
    S.cpu[cpu].oslot[i] = -1
    S.memcg[old].refs -= 1
    S.counters[ph].objcg_ref_ops += 1


@jit
def oslot_find(S, cpu, objcg):
    """The mm-2026 obj stock slot caching ``objcg`` (-1 for none) and the first
    empty one; an objcg is in one slot at most."""
    hit = -1
    empty = -1
    for i in range(NR_OBJ_STOCK - 1, -1, -1):
        v = S.cpu[cpu].oslot[i]
        hit = i if v == objcg else hit
        empty = i if v < 0 else empty
    return hit, empty


@jit(forceinline=False)
def drain_oslot_call(P, S, cpu, i, ph):
    """``_drain_oslot`` as a real call: an eviction is rare, and one compiled copy
    instead of one per inlined call site keeps the cold compile short."""
    _drain_oslot(P, S, cpu, i, ph)


@jit(forceinline=False)
def drain_obj_stock_mm(P, S, cpu, ph):
    """mm-2026 ``drain_obj_stock``: all five slots (a real call, as above)."""
    for i in range(NR_OBJ_STOCK):
        _drain_oslot(P, S, cpu, i, ph)


@jit
def drain_obj_stock(P, S, cpu, ph):
    if P.gen == GEN_MM:
        drain_obj_stock_mm(P, S, cpu, ph)
        return
    old = S.cpu[cpu].objcg
    if old < 0:
        return
    S.counters[ph].drains += 1
    nbytes = S.cpu[cpu].bytes
    if nbytes > 0:
        np_ = nbytes // PAGE_SIZE
        if np_ > 0:
            S.counters[ph].drain_uncharge_pages += 1
            if P.gen == GEN_V612:
                # v6.12: the pages go to this CPU's memcg stock (__refill_stock,
                # stock_lock already held), not to the page counters.
                refill_stock_locked(P, S, cpu, S.memcg[old].memcg, np_, ph)
            elif P.gen < GEN_V612:
                # v5.x: the same through refill_stock(), with its own local_irq_save
                refill_stock(P, S, cpu, S.memcg[old].memcg, np_, ph)
            else:
                page_counter_uncharge(P, S, S.memcg[old].memcg, np_, cpu, ph)
        _nr_charged_add(P, S, old, nbytes % PAGE_SIZE, cpu, ph)
        S.cpu[cpu].bytes = 0
    _flush_accs(P, S, cpu, old, ph)
    S.cpu[cpu].pgdat = -1
    S.cpu[cpu].objcg = -1
    S.memcg[old].refs -= 1
    S.counters[ph].objcg_ref_ops += 1


@jit
def _adopt(P, S, cpu, objcg, ph):
    """Switch the stock to ``objcg``: drain, take a reference, pull the remainder."""
    drain_obj_stock(P, S, cpu, ph)
    S.memcg[objcg].refs += 1
    S.counters[ph].objcg_ref_ops += 1
    if S.memcg[objcg].nr_charged != 0:
        S.cpu[cpu].bytes = S.memcg[objcg].nr_charged
        S.memcg[objcg].nr_charged = 0
        S.counters[ph].nr_charged_atomics += 1
        _line_write(P, S, P.n_counters + objcg, cpu, ph)
    else:
        S.cpu[cpu].bytes = 0
    S.cpu[cpu].objcg = objcg


@jit(inline="always")
def obj_cgroup_uncharge_pages(P, S, cpu, objcg, np_, ph):
    # The kernel parks uncharged pages in the memcg stock (refill_stock).
    S.counters[ph].objcg_uncharge_pages += 1
    refill_stock(P, S, cpu, S.memcg[objcg].memcg, np_, ph)


@jit(inline="always")
def _refill_mm(P, S, cpu, objcg, nbytes, allow_uncharge, ph):
    """mm-2026 ``__refill_obj_stock`` with the stock locked: the objcg's slot, else
    the first empty one, else a round-robin victim; 16-bit byte count.  Returns the
    whole pages to release (``obj_cgroup_uncharge_pages``, done by the caller)."""
    i, empty = oslot_find(S, cpu, objcg)
    if i >= 0:
        v = S.cpu[cpu].obytes[i]
    else:
        if empty < 0:
            empty = S.cpu[cpu].orr
            S.cpu[cpu].orr = empty + 1 if empty + 1 < NR_OBJ_STOCK else 0
            drain_oslot_call(P, S, cpu, empty, ph)
        i = empty
        S.memcg[objcg].refs += 1
        S.counters[ph].objcg_ref_ops += 1
        v = 0
        if S.memcg[objcg].nr_charged != 0:
            v = S.memcg[objcg].nr_charged
            S.memcg[objcg].nr_charged = 0
            S.counters[ph].nr_charged_atomics += 1
            _line_write(P, S, P.n_counters + objcg, cpu, ph)
        S.cpu[cpu].oslot[i] = objcg
        allow_uncharge = True
    v += nbytes
    np_ = 0
    if (allow_uncharge and v > PAGE_SIZE) or v > U16_MAX:
        if v > U16_MAX:
            S.counters[ph].obj_stock_u16_releases += 1
        np_ = v // PAGE_SIZE
        v = v % PAGE_SIZE
    S.cpu[cpu].obytes[i] = v
    return np_


@jit
def refill_obj_stock(P, S, cpu, locked, objcg, nbytes, allow_uncharge, ph):
    """``__refill_obj_stock``; ``locked`` False means the trylock failed (no stock).
    Every path ends in the one ``obj_cgroup_uncharge_pages`` call site."""
    S.counters[ph].refills += 1
    np_ = 0
    if unlikely(not locked):
        _nr_charged_add(P, S, objcg, nbytes % PAGE_SIZE, cpu, ph)
        np_ = nbytes // PAGE_SIZE
    elif P.gen == GEN_MM:
        np_ = _refill_mm(P, S, cpu, objcg, nbytes, allow_uncharge, ph)
    else:
        if unlikely(S.cpu[cpu].objcg != objcg):
            _adopt(P, S, cpu, objcg, ph)
            allow_uncharge = True
        S.cpu[cpu].bytes += nbytes
        if unlikely(P.gen == GEN_V59 and S.cpu[cpu].bytes > PAGE_SIZE):
            drain_obj_stock(P, S, cpu, ph)  # v5.9-v5.13: the whole stock goes
        elif unlikely(allow_uncharge and S.cpu[cpu].bytes > PAGE_SIZE):
            np_ = S.cpu[cpu].bytes // PAGE_SIZE
            S.cpu[cpu].bytes = S.cpu[cpu].bytes % PAGE_SIZE
    if unlikely(np_ > 0):
        obj_cgroup_uncharge_pages(P, S, cpu, objcg, np_, ph)


@jit(inline="always")
def _account_mm(P, S, cpu, locked, objcg, nbytes, pgdat, ph):
    """mm-2026 ``__account_obj_stock``: the stock caches the objcg if one of its slots
    does; the accumulators are tagged with a slot and a node and flushed to the
    *tagged* objcg when either changes; 16-bit, so an update that would pass S16_MAX
    is flushed directly.  Returns the bytes to flush directly (0: none)."""
    i = -1
    if locked:
        i, _ = oslot_find(S, cpu, objcg)
    flush = nbytes
    if i >= 0:
        idx = S.cpu[cpu].index
        if idx >= 0 and (idx != i or S.cpu[cpu].pgdat != pgdat):
            _flush_accs(P, S, cpu, S.cpu[cpu].oslot[idx], ph)
        S.cpu[cpu].index = i
        S.cpu[cpu].pgdat = pgdat
        a = 0 if P.reclaimable else 1
        old = S.cpu[cpu].acc[a]
        if abs(nbytes + old) > S16_MAX:
            S.counters[ph].stat_guard_flushes += 1
            S.cpu[cpu].acc[a] = 0
            flush = nbytes + old
        else:
            acc = old + nbytes
            full = (old != 0) & (abs(acc) > PAGE_SIZE)
            S.cpu[cpu].acc[a] = 0 if full else acc
            flush = acc if full else 0
    return flush


@jit
def account_obj_stock(P, S, cpu, locked, objcg, nbytes, pgdat, ph):
    """``__account_obj_stock``: batch per-node slab statistics in the stock.  One call
    site for the direct flush (compile time); the mainline path kept separate from
    mm-2026's: merged, it made per_object's simulation ~9% slower."""
    S.counters[ph].stat_updates += 1
    if P.gen == GEN_MM:
        flush = _account_mm(P, S, cpu, locked, objcg, nbytes, pgdat, ph)
    elif unlikely(not locked or S.cpu[cpu].objcg != objcg):
        flush = nbytes
    else:
        if unlikely(S.cpu[cpu].pgdat != pgdat):
            _flush_accs(P, S, cpu, objcg, ph)
            S.cpu[cpu].pgdat = pgdat
        a = 0 if P.reclaimable else 1
        old = S.cpu[cpu].acc[a]
        acc = old + nbytes
        # An empty accumulator takes ``nbytes`` whatever its size; a full one flushes.
        # A select, not a branch: allocations and frees keep bringing it back to zero.
        full = (old != 0) & (abs(acc) > PAGE_SIZE)
        S.cpu[cpu].acc[a] = 0 if full else acc
        flush = acc if full else 0
    if unlikely(flush != 0):
        _flush_stat(P, S, objcg, pgdat, flush, cpu, ph)


@jit(inline="always")
def mod_objcg_state(P, S, cpu, objcg, nbytes, pgdat, ph):
    """The ``upfront`` generation's separate statistics update (one lock); v5.9-v5.13:
    no stock, ``mod_memcg_lruvec_state`` at once (mm/slab.h mod_objcg_state)."""
    if P.gen == GEN_V59:
        _flush_stat(P, S, objcg, pgdat, nbytes, cpu, ph)
        return
    stock_lock(P, S, cpu, ph)
    if S.cpu[cpu].objcg != objcg:
        _adopt(P, S, cpu, objcg, ph)
    account_obj_stock(P, S, cpu, True, objcg, nbytes, pgdat, ph)


@jit
def _in_subtree(P, S, m, over):
    """Is memcg ``m`` in the subtree of page counter ``over`` (a leaf is its own
    subtree; every leaf is below every ancestor level)?"""
    return m >= 0 and (over >= P.memcgs or m == over)


@jit(inline="always")
def _obj_stock_in_subtree(P, S, c, over):
    """``obj_stock_flush_required``: does CPU ``c``'s obj stock cache an objcg of
    the subtree of ``over``?"""
    if P.gen == GEN_MM:
        for i in range(NR_OBJ_STOCK):
            o = S.cpu[c].oslot[i]
            if o >= 0 and _in_subtree(P, S, S.memcg[o].memcg, over):
                return True
        return False
    o = S.cpu[c].objcg
    return o >= 0 and _in_subtree(P, S, S.memcg[o].memcg, over)


@jit
def drain_local(P, S, c, bits, ph):
    """The drain work of CPU ``c`` (``drain_local_memcg_stock`` for bit 0,
    ``drain_local_obj_stock`` for bit 1; v6.12's ``drain_local_stock`` does both,
    the obj stock first, whose pages go into the memcg stock)."""
    if P.gen <= GEN_V612:
        drain_obj_stock(P, S, c, ph)
        if S.ms[c].memcg[0] >= 0:
            drain_stock_slot(P, S, c, 0, ph)
        return
    if bits & 1:
        for i in range(NR_MEMCG_STOCK):
            if S.ms[c].memcg[i] >= 0:
                drain_stock_slot(P, S, c, i, ph)
    if bits & 2:
        drain_obj_stock(P, S, c, ph)


@jit(forceinline=False)  # the limit path only: a real call keeps the cold compile short
def drain_all_stock(P, S, cpu, over, ph):
    """``drain_all_stock(mem_over_limit)``: every CPU whose stock holds pages (memcg
    stock) or an objcg (obj stock) of the subtree of the counter that failed drains
    its whole stock: the current CPU at once, the others in a work item that runs
    before their next call (``S.cpu[c].pending``).  A stock with a drain pending
    (FLUSHING set) is skipped.  MODEL: the mutex trylock always succeeds."""
    for c in range(P.cpus):
        need_m = False
        for i in range(NR_MEMCG_STOCK):
            if S.ms[c].pages[i] > 0 and _in_subtree(P, S, S.ms[c].memcg[i], over):
                need_m = True
        need_o = _obj_stock_in_subtree(P, S, c, over)
        if P.gen <= GEN_V612:
            bits = 3 if need_m or need_o else 0  # one stock, one FLUSHING bit
        else:
            bits = (1 if need_m else 0) | (2 if need_o else 0)
        bits &= ~S.cpu[c].pending
        if bits == 0:
            continue
        if c == cpu:
            drain_local(P, S, c, bits, ph)
        else:
            S.cpu[c].pending |= bits
            S.counters[ph].drain_works += 1 if P.gen <= GEN_V612 or bits != 3 else 2


@jit(forceinline=False)  # rare: only after a drain_all_stock on another CPU
def run_pending_drains(P, S, cpu, ph):
    """The drain work queued for ``cpu`` runs (before its next call)."""
    bits = S.cpu[cpu].pending
    S.cpu[cpu].pending = 0
    drain_local(P, S, cpu, bits, ph)


@jit
def try_charge_memcg(P, S, cpu, m, n, ph):
    """``try_charge_memcg`` for ``n`` pages of memcg ``m``; returns False on failure.
    Its first attempt here; once that fails, the limit path (``_try_charge_limited``)."""
    batch = n
    if (P.gfp_allow_spin or P.gen <= GEN_V612) and n < MEMCG_CHARGE_BATCH:
        batch = MEMCG_CHARGE_BATCH
    if consume_stock(P, S, cpu, m, n, ph):
        return True
    over = page_counter_try_charge(P, S, m, batch, cpu, ph)
    if likely(over < 0):
        if batch > n:
            refill_stock(P, S, cpu, m, batch - n, ph)
        return True
    return _try_charge_limited(P, S, cpu, m, n, batch, over, ph)


@jit(forceinline=False)  # the limit path: a real call keeps the cold compile short
def _try_charge_limited(P, S, cpu, m, n, batch, over, ph):
    """``try_charge_memcg`` after an attempt to charge ``batch`` pages failed at page
    counter ``over``: a smaller batch, reclaim, drains, retries, the OOM killer, then a
    forced charge or the failure."""
    drained = False
    passed_oom = False
    retries = P.reclaim_retries
    while True:
        # what the failed attempt leads to: another attempt, or the end of the loop
        if batch > n:
            batch = n
        elif not P.gfp_allow_block:
            break
        else:
            S.counters[ph].reclaims += 1
            r = min(P.reclaim_pages, S.pc[m].pagecache)
            if r > 0:
                S.pc[m].pagecache -= r
                page_counter_uncharge(P, S, m, r, cpu, ph)
            if _margin(P, S, m) >= n:
                pass
            elif not drained:
                drain_all_stock(P, S, cpu, over, ph)
                drained = True
            elif r > 0 and n <= COSTLY_PAGES:
                pass  # progress on a small charge: no retry spent
            elif retries > 0:
                retries -= 1
            elif passed_oom or n > COSTLY_PAGES:
                break  # task_is_dying after the OOM kill, or mem_cgroup_oom refuses
            else:
                # MODEL: the OOM killer picks the allocating task and frees nothing
                # the model tracks: one more round of retries, then -ENOMEM
                # (task_is_dying).
                S.counters[ph].memcg_ooms += 1
                passed_oom = True
                retries = P.reclaim_retries
        # the next attempt
        if consume_stock(P, S, cpu, m, n, ph):
            return True
        over = page_counter_try_charge(P, S, m, batch, cpu, ph)
        if over < 0:
            if batch > n:
                refill_stock(P, S, cpu, m, batch - n, ph)
            return True
    if P.gfp_nofail or P.gfp_high:
        page_counter_charge(P, S, m, n, cpu, ph)
        S.counters[ph].forced_charges += 1
        S.misc[M_FORCED] += 1
        return True
    S.counters[ph].charge_failures += 1
    return False


@jit(inline="always")
def cached_bytes(P, S, cpu, objcg):
    """The obj stock's bytes for ``objcg`` when it caches ``objcg`` with its
    accumulators (mm-2026: the objcg's slot, the one the accumulators are tagged
    with): ``(slot, bytes, True)``, ``slot`` -1 before mm-2026; ``(-1, 0, False)``
    when it does not (a stock switch or a flush would follow).  The quiet paths'
    common test (``hooks._quiet_objects``, ``frees.quiet_frees``)."""
    if P.gen == GEN_MM:
        slot, _ = oslot_find(S, cpu, objcg)
        if slot < 0 or S.cpu[cpu].index != slot:
            return -1, 0, False
        return slot, S.cpu[cpu].obytes[slot], True
    if S.cpu[cpu].objcg != objcg:
        return -1, 0, False
    return -1, S.cpu[cpu].bytes, True


@jit(inline="always")
def set_cached_bytes(S, cpu, slot, nbytes):
    """Store what ``cached_bytes`` read: the slot's bytes (mm-2026) or the stock's."""
    if slot >= 0:
        S.cpu[cpu].obytes[slot] = nbytes
    else:
        S.cpu[cpu].bytes = nbytes


@jit(inline="always")
def consume_obj_stock(P, S, cpu, objcg, nbytes):
    """``__consume_obj_stock`` (stock locked): take ``nbytes`` if the stock (the
    objcg's slot, mm-2026) caches ``objcg`` with that many bytes."""
    if P.gen == GEN_MM:
        i, _ = oslot_find(S, cpu, objcg)
        if i >= 0 and S.cpu[cpu].obytes[i] >= nbytes:
            S.cpu[cpu].obytes[i] -= nbytes
            return True
        return False
    if S.cpu[cpu].objcg == objcg and S.cpu[cpu].bytes >= nbytes:
        S.cpu[cpu].bytes -= nbytes
        return True
    return False


@jit
def charge_and_account(P, S, cpu, objcg, nbytes, pgdat, ph):
    """``obj_cgroup_charge_account`` (current kernels): one lock on a stock hit, two on a miss."""
    locked = stock_lock(P, S, cpu, ph)
    if likely(locked and consume_obj_stock(P, S, cpu, objcg, nbytes)):
        S.counters[ph].consume_hits += 1
    else:
        S.counters[ph].consume_misses += 1
        np_ = (nbytes + PAGE_SIZE - 1) // PAGE_SIZE
        if not try_charge_memcg(P, S, cpu, S.memcg[objcg].memcg, np_, ph):
            return False
        locked = stock_lock(P, S, cpu, ph)
        rest = nbytes % PAGE_SIZE
        if rest:
            refill_obj_stock(P, S, cpu, locked, objcg, PAGE_SIZE - rest, False, ph)
    account_obj_stock(P, S, cpu, locked, objcg, nbytes, pgdat, ph)
    return True


@jit(inline="always")
def obj_cgroup_charge(P, S, cpu, objcg, nbytes, ph):
    """``obj_cgroup_charge`` of the ``upfront`` generation (irq-save lock, never fails)."""
    stock_lock(P, S, cpu, ph)
    if S.cpu[cpu].objcg == objcg and S.cpu[cpu].bytes >= nbytes:
        S.cpu[cpu].bytes -= nbytes
        S.counters[ph].consume_hits += 1
        return True
    S.counters[ph].consume_misses += 1
    np_ = (nbytes + PAGE_SIZE - 1) // PAGE_SIZE
    if not try_charge_memcg(P, S, cpu, S.memcg[objcg].memcg, np_, ph):
        return False
    rest = nbytes % PAGE_SIZE
    if rest:
        stock_lock(P, S, cpu, ph)
        refill_obj_stock(P, S, cpu, True, objcg, PAGE_SIZE - rest, False, ph)
    return True
