"""The memcg machinery shared by all strategies: page counters, the per-CPU memcg
stock, the per-CPU obj stock and the charge paths (docs/model.md §5).

Every function takes the run's ``Params`` ``P`` and ``State`` ``S``, the CPU doing
the work and the phase ``ph`` to count events in.  Names follow mm/memcontrol.c.
"""

from __future__ import annotations

import numpy as np

from .constants import MEMCG_CHARGE_BATCH, NR_MEMCG_STOCK, PAGE_SIZE

from .jit import jit, likely, unlikely
from .rng import S_EVICT, S_IRQ, chance, draw_below
from .state import (
    M_EVICT_SERIAL,
    M_FORCED,
    M_TRYLOCK_SERIAL,
    ST_UPFRONT,
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
    """Page-counter index of ``level`` (0 = leaf) on the path of leaf memcg ``m``."""
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
    """``page_counter_try_charge``: walk leaf to top; undo on exceeding a max."""
    for level in range(P.depth):
        c = _level_index(P, m, level)
        _pc_charge(P, S, c, n, cpu, ph)
        if S.pc[c].usage > S.pc[c].max:
            _pc_uncharge(P, S, c, n, cpu, ph)
            S.counters[ph].page_counter_failcnt += 1
            S.pc[c].failcnt += 1
            for undo in range(level):
                _pc_uncharge(P, S, _level_index(P, m, undo), n, cpu, ph)
            return False
    return True


@jit
def page_counter_charge(P, S, m, n, cpu, ph):
    """``page_counter_charge``: forced, no limit check."""
    for level in range(P.depth):
        _pc_charge(P, S, _level_index(P, m, level), n, cpu, ph)


@jit
def page_counter_uncharge(P, S, m, n, cpu, ph):
    """``page_counter_uncharge`` (``memcg_uncharge``): every level."""
    for level in range(P.depth):
        _pc_uncharge(P, S, _level_index(P, m, level), n, cpu, ph)


@jit
def _margin(P, S, m):
    """``mem_cgroup_margin``: pages left below the tightest max on the path."""
    best = np.int64(2**62)
    for level in range(P.depth):
        c = _level_index(P, m, level)
        left = S.pc[c].max - S.pc[c].usage
        if left < best:
            best = left
    return best


# -- memcg stock: 7 slots of pre-charged pages per CPU ------------------------------
# MODEL: the memcg stock's own local_trylock never fails here.

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
def refill_stock(P, S, cpu, m, n, ph):
    """``refill_stock``: park ``n`` pages; evict a random slot when all are taken."""
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
    if P.strategy != ST_UPFRONT and P.irq_prob_t > 0:
        # The trylock serial only indexes IRQ draws: without re-entry it is not kept.
        k = S.misc[M_TRYLOCK_SERIAL]
        S.misc[M_TRYLOCK_SERIAL] = k + 1
        if unlikely(chance(P.seed, S_IRQ, k, P.irq_prob_t)):
            S.counters[ph].stock_lock_failures += 1
            return False
    S.counters[ph].stock_locks += 1
    return True


@jit
def _flush_stat(P, S, m, pgdat, nbytes, cpu, ph):
    """``mod_objcg_mlstate``: update the memcg's per-node statistic."""
    S.stat[m, pgdat] += nbytes
    S.counters[ph].stat_flushes += 1
    _line_write(P, S, P.n_counters + P.memcgs + m, cpu, ph)


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
def drain_obj_stock(P, S, cpu, ph):
    old = S.cpu[cpu].objcg
    if old < 0:
        return
    S.counters[ph].drains += 1
    nbytes = S.cpu[cpu].bytes
    if nbytes > 0:
        np_ = nbytes // PAGE_SIZE
        if np_ > 0:
            page_counter_uncharge(P, S, old, np_, cpu, ph)
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


@jit
def obj_cgroup_uncharge_pages(P, S, cpu, objcg, np_, ph):
    # The kernel parks uncharged pages in the memcg stock (refill_stock).
    refill_stock(P, S, cpu, objcg, np_, ph)


@jit
def refill_obj_stock(P, S, cpu, locked, objcg, nbytes, allow_uncharge, ph):
    """``__refill_obj_stock``; ``locked`` False means the trylock failed (no stock)."""
    S.counters[ph].refills += 1
    if unlikely(not locked):
        _nr_charged_add(P, S, objcg, nbytes % PAGE_SIZE, cpu, ph)
        if nbytes >= PAGE_SIZE:
            obj_cgroup_uncharge_pages(P, S, cpu, objcg, nbytes // PAGE_SIZE, ph)
        return
    if unlikely(S.cpu[cpu].objcg != objcg):
        _adopt(P, S, cpu, objcg, ph)
        allow_uncharge = True
    S.cpu[cpu].bytes += nbytes
    if unlikely(allow_uncharge and S.cpu[cpu].bytes > PAGE_SIZE):
        np_ = S.cpu[cpu].bytes // PAGE_SIZE
        S.cpu[cpu].bytes = S.cpu[cpu].bytes % PAGE_SIZE
        obj_cgroup_uncharge_pages(P, S, cpu, objcg, np_, ph)


@jit
def account_obj_stock(P, S, cpu, locked, objcg, nbytes, pgdat, ph):
    """``__account_obj_stock``: batch per-node slab statistics in the stock."""
    S.counters[ph].stat_updates += 1
    if unlikely(not locked or S.cpu[cpu].objcg != objcg):
        _flush_stat(P, S, objcg, pgdat, nbytes, cpu, ph)
        return
    if unlikely(S.cpu[cpu].pgdat != pgdat):
        _flush_accs(P, S, cpu, objcg, ph)
        S.cpu[cpu].pgdat = pgdat
    a = 0 if P.reclaimable else 1
    old = S.cpu[cpu].acc[a]
    acc = old + nbytes
    # An empty accumulator takes ``nbytes`` whatever its size; a full one flushes.
    # A select, not a branch: allocations and frees keep bringing it back to zero.
    flush = (old != 0) & (abs(acc) > PAGE_SIZE)
    S.cpu[cpu].acc[a] = 0 if flush else acc
    if unlikely(flush):
        _flush_stat(P, S, objcg, pgdat, acc, cpu, ph)


@jit
def mod_objcg_state(P, S, cpu, objcg, nbytes, pgdat, ph):
    """The ``upfront`` generation's separate statistics update (one lock)."""
    stock_lock(P, S, cpu, ph)
    if S.cpu[cpu].objcg != objcg:
        _adopt(P, S, cpu, objcg, ph)
    account_obj_stock(P, S, cpu, True, objcg, nbytes, pgdat, ph)


@jit
def drain_all_stock(P, S, m, ph):
    """``drain_all_stock``. MODEL: immediate on every CPU (the kernel uses work items)."""
    for c in range(P.cpus):
        for i in range(NR_MEMCG_STOCK):
            if S.ms[c].memcg[i] == m:
                drain_stock_slot(P, S, c, i, ph)
        if S.cpu[c].objcg == m:
            drain_obj_stock(P, S, c, ph)


@jit
def try_charge_memcg(P, S, cpu, m, n, ph):
    """``try_charge_memcg`` for ``n`` pages; returns False on failure."""
    batch = n
    if P.gfp_allow_spin and n < MEMCG_CHARGE_BATCH:
        batch = MEMCG_CHARGE_BATCH
    drained = False
    retries = P.reclaim_retries
    while True:
        if consume_stock(P, S, cpu, m, n, ph):
            return True
        if page_counter_try_charge(P, S, m, batch, cpu, ph):
            if batch > n:
                refill_stock(P, S, cpu, m, batch - n, ph)
            return True
        if batch > n:
            batch = n
            continue
        if not P.gfp_allow_spin:
            break
        S.counters[ph].reclaims += 1
        r = min(P.reclaim_pages, S.memcg[m].pagecache)
        if r > 0:
            S.memcg[m].pagecache -= r
            page_counter_uncharge(P, S, m, r, cpu, ph)
        if _margin(P, S, m) >= n:
            continue
        if not drained:
            drain_all_stock(P, S, m, ph)
            drained = True
            continue
        if retries > 0:
            retries -= 1
            continue
        break
    if P.gfp_nofail:
        page_counter_charge(P, S, m, n, cpu, ph)
        S.counters[ph].forced_charges += 1
        S.misc[M_FORCED] += 1
        return True
    S.counters[ph].charge_failures += 1
    return False


@jit
def charge_and_account(P, S, cpu, objcg, nbytes, pgdat, ph):
    """``obj_cgroup_charge_account`` (current kernels): one lock on a stock hit, two on a miss."""
    locked = stock_lock(P, S, cpu, ph)
    if likely(locked and S.cpu[cpu].objcg == objcg and S.cpu[cpu].bytes >= nbytes):
        S.cpu[cpu].bytes -= nbytes
        S.counters[ph].consume_hits += 1
    else:
        S.counters[ph].consume_misses += 1
        np_ = (nbytes + PAGE_SIZE - 1) // PAGE_SIZE
        if not try_charge_memcg(P, S, cpu, objcg, np_, ph):
            return False
        locked = stock_lock(P, S, cpu, ph)
        rest = nbytes % PAGE_SIZE
        if rest:
            refill_obj_stock(P, S, cpu, locked, objcg, PAGE_SIZE - rest, False, ph)
    account_obj_stock(P, S, cpu, locked, objcg, nbytes, pgdat, ph)
    return True


@jit
def obj_cgroup_charge(P, S, cpu, objcg, nbytes, ph):
    """``obj_cgroup_charge`` of the ``upfront`` generation (irq-save lock, never fails)."""
    stock_lock(P, S, cpu, ph)
    if S.cpu[cpu].objcg == objcg and S.cpu[cpu].bytes >= nbytes:
        S.cpu[cpu].bytes -= nbytes
        S.counters[ph].consume_hits += 1
        return True
    S.counters[ph].consume_misses += 1
    np_ = (nbytes + PAGE_SIZE - 1) // PAGE_SIZE
    if not try_charge_memcg(P, S, cpu, objcg, np_, ph):
        return False
    rest = nbytes % PAGE_SIZE
    if rest:
        stock_lock(P, S, cpu, ph)
        refill_obj_stock(P, S, cpu, True, objcg, PAGE_SIZE - rest, False, ph)
    return True
