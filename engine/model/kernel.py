"""The call loop: one kernel simulates calls ``[c0, c1)`` of one strategy
(docs/model.md §3).  Only ``engine.driver`` calls it."""

from __future__ import annotations

from .events import (
    N_EVENTS,
    PH_HOOK,
    PH_SLAB_ALLOC,
)
from .frees import free_batches
from .hooks import post_alloc_hook
from .jit import jit, unlikely
from .memcg import run_pending_drains
from .rng import (
    S_CPU,
    S_KFENCE,
    S_KFENCE_POS,
    S_MEMCG,
    S_SIZE,
    S_SWITCH,
    chance,
    draw_below,
    draw_below_magic,
)
from .slub import fill_from_sheaves_and_slabs, new_kfence_slab
from .state import (
    LVM_KFENCE_SHIFT,
    LVM_NODE_SHIFT,
    LVM_OBJCG_SHIFT,
    M_ERROR,
    M_FREE_SERIAL,
    M_LIVE_COUNT,
    M_LIVE_HEAD,
    M_NEXT_CALL,
    OBJ_SHIFT,
)


@jit
def _fill_p(P, S, c, cpu, size):
    """SLUB model: ``p[0:size)`` from sheaves, slabs and maybe one KFENCE object."""
    kf = -1
    if P.kfence_prob_t > 0 and chance(P.seed, S_KFENCE, c, P.kfence_prob_t):
        kf = draw_below(P.seed, S_KFENCE_POS, c, size)
    need = size if kf < 0 else size - 1
    kf_sid = -1
    if kf >= 0:
        kf_sid = new_kfence_slab(P, S)  # its slab id is taken before any new slab
        if kf_sid < 0:
            return False
    if not fill_from_sheaves_and_slabs(P, S, c, cpu, need, PH_SLAB_ALLOC):
        return False
    if kf >= 0:
        for j in range(size - 1, kf, -1):
            S.p[j].obj = S.p[j - 1].obj
        S.p[kf].obj = kf_sid << OBJ_SHIFT
        S.counters[PH_SLAB_ALLOC].kfence_objects += 1
    for j in range(size):
        sid = S.p[j].obj >> OBJ_SHIFT
        S.p[j].node = S.slab[sid].node
        S.p[j].kfence = 1 if j == kf else 0
        S.p[j].objcg = -1  # the hook records the objcg it assigns
    return True


PER_CALL_FIXED = 5  # cpu, memcg, size, pgdat runs, failed


@jit(kernel=True)
def run_calls(P, S, c0, c1, per_call):
    """Simulate calls ``c0 <= c < c1``.

    Parameters
    ----------
    P : Params
    S : State as ``state.kernel_view`` gives it (tables of records), updated in place.
    c0, c1 : int64 call indices; ``c0`` must equal ``S.misc[M_NEXT_CALL]``.
    per_call : int64 [c1 - c0, PER_CALL_FIXED + N_EVENTS] or [0, same]: when
        non-empty, per call the CPU, the memcg, the bulk size, the number of
        same-node runs, whether the hook failed, then the call's hook-phase events.

    Returns 0, or a capacity error code (also left in ``S.misc[M_ERROR]``).
    """
    ring = S.live.shape[0]
    record = per_call.shape[0] > 0
    free_serial = S.misc[M_FREE_SERIAL]  # kept in a register; stored back below
    for c in range(c0, c1):
        if unlikely(P.trace_mode != 0):
            t0 = S.tr_call[c].off
            size = S.tr_call[c + 1].off - t0
            cpu = S.tr_call[c].cpu
            if cpu < 0:
                cpu = draw_below_magic(P.seed, S_CPU, c, P.cpus, P.cpus_m, P.cpus_sh)
            if S.tr_call[c].memcg >= 0:
                S.cpu[cpu].memcg = S.tr_call[c].memcg
            elif chance(P.seed, S_SWITCH, c, P.switch_prob_t):
                S.cpu[cpu].memcg = draw_below(P.seed, S_MEMCG, c, P.memcgs)
            for j in range(size):
                S.p[j].obj = S.tr_obj[t0 + j].slab << OBJ_SHIFT
                S.p[j].node = S.tr_obj[t0 + j].node
                S.p[j].kfence = 0
                S.p[j].objcg = -1
        else:
            cpu = draw_below_magic(P.seed, S_CPU, c, P.cpus, P.cpus_m, P.cpus_sh)
            if unlikely(chance(P.seed, S_SWITCH, c, P.switch_prob_t)):
                S.cpu[cpu].memcg = draw_below(P.seed, S_MEMCG, c, P.memcgs)
            size = P.bulk_size
            if P.bulk_uniform:
                size = 1 + draw_below(P.seed, S_SIZE, c, P.bulk_size)
            if not _fill_p(P, S, c, cpu, size):
                S.misc[M_FREE_SERIAL] = free_serial
                return S.misc[M_ERROR]
        node = S.cpu[cpu].node
        # Per-node objcg (2026 on): the task's objcg is its memcg's on this CPU's node.
        objcg = S.cpu[cpu].memcg * P.objcg_nodes + (node if P.objcg_nodes > 1 else 0)
        if unlikely(S.cpu[cpu].pending != 0):
            run_pending_drains(P, S, cpu, PH_HOOK)  # drain_all_stock's work item

        runs = 0
        remote = 0
        for j in range(size):
            if j == 0 or S.p[j].node != S.p[j - 1].node:
                runs += 1
            if S.p[j].node != node:
                remote += 1
        S.counters[PH_SLAB_ALLOC].calls += 1
        S.counters[PH_SLAB_ALLOC].objects += size
        S.counters[PH_SLAB_ALLOC].pgdat_runs += runs
        S.counters[PH_SLAB_ALLOC].remote_objects += remote

        if unlikely(record):
            r = c - c0
            for e in range(N_EVENTS):
                per_call[r, PER_CALL_FIXED + e] = -S.counters[PH_HOOK].events[e]
        ok = post_alloc_hook(P, S, c, cpu, objcg, size)
        if unlikely(record):
            per_call[r, 0] = cpu
            per_call[r, 1] = S.cpu[cpu].memcg
            per_call[r, 2] = size
            per_call[r, 3] = runs
            per_call[r, 4] = 0 if ok else 1
            for e in range(N_EVENTS):
                per_call[r, PER_CALL_FIXED + e] += S.counters[PH_HOOK].events[e]

        head = S.misc[M_LIVE_HEAD]
        count = S.misc[M_LIVE_COUNT]
        n_failed = 0
        if unlikely(not ok):
            # The allocator frees the whole call again (kmem_cache_free_bulk).
            S.counters[PH_HOOK].hook_failures += 1
            n_failed = size
            # MODEL: the workload keeps freeing at its own pace, so a failed call
            # still lets `size` of the oldest objects go; otherwise a cgroup at its
            # limit with a full live set could never recover.
            target = max(0, count - size)
        else:
            for j in range(size):
                k = head + count  # count < ring: one wrap at most
                if k >= ring:
                    k -= ring
                S.live[k].obj = S.p[j].obj
                S.live[k].meta = (cpu | (S.p[j].node << LVM_NODE_SHIFT)
                                  | ((S.p[j].objcg + 1) << LVM_OBJCG_SHIFT)
                                  | (S.p[j].kfence << LVM_KFENCE_SHIFT))
                count += 1
            target = P.live_cap
        head, count, free_serial = free_batches(P, S, cpu, n_failed, head, count, target, free_serial)
        S.misc[M_LIVE_HEAD] = head
        S.misc[M_LIVE_COUNT] = count
    S.misc[M_FREE_SERIAL] = free_serial
    S.misc[M_NEXT_CALL] = c1
    return 0
