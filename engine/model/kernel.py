"""The call loop: one kernel simulates calls ``[c0, c1)`` of one or more strategies
on one allocator (docs/model.md §3, docs/performance.md "One pass for every strategy").

The allocator side of a call (the CPU and memcg draws, ``p[]`` from the sheaves and
slabs, the live set, the remote-free draws, the slab side of every free) is the same
for every strategy, as long as no strategy's hook fails (a failed call frees its
objects and changes the stream: the driver then runs one strategy per pass, see
``engine.run.simulate.fusable``).  So the kernel simulates it once, on the allocator's
tables (``A``), and runs each strategy's post-alloc and free hooks on that strategy's
own accounting tables (``X``, ``state.Stack``).  Only ``engine.run.simulate`` calls it.
"""

from __future__ import annotations

from .events import (
    N_EVENTS,
    PH_FREE_HOOK,
    PH_HOOK,
    PH_SLAB_ALLOC,
    PH_SLAB_FREE,
)
from .frees import fq_objcg, quiet_frees, uncharge_run
from .hooks import post_alloc_hook
from .jit import jit, likely, unlikely
from .memcg import run_pending_drains
from .rng import (
    S_CPU,
    S_FREE_CPU,
    S_FREE_OTHER,
    S_KFENCE,
    S_KFENCE_POS,
    S_MEMCG,
    S_SIZE,
    S_SWITCH,
    chance,
    draw_below,
    draw_below_magic,
)
from .slub import fill_from_sheaves_and_slabs, new_kfence_slab, slab_free_object
from .state import (
    ERR_FUSED_FAILURE,
    LVM_CPU_MASK,
    LVM_KFENCE_SHIFT,
    LVM_NODE_MASK,
    LVM_NODE_SHIFT,
    M_ERROR,
    M_FREE_SERIAL,
    M_LIVE_COUNT,
    M_LIVE_HEAD,
    M_NEXT_CALL,
    OBJ_SHIFT,
    Params,
    State,
)

PER_CALL_FIXED = 5  # cpu, memcg, size, pgdat runs, failed


@jit(inline="always")
def strategy_params(P, kp):
    """Strategy ``k``'s ``Params``: its own fields from ``kp = X.kp[k]``, the rest
    from the run's ``P``."""
    return Params(
        strategy=kp.strategy,
        gen=kp.gen,
        objcg_nodes=kp.objcg_nodes,
        n_objcgs=kp.n_objcgs,
        exts_bit=kp.exts_bit,
        exts_all=P.exts_all,
        seed=P.seed,
        cpus=P.cpus,
        nodes=P.nodes,
        memcgs=P.memcgs,
        depth=P.depth,
        n_counters=P.n_counters,
        reclaim_pages=P.reclaim_pages,
        reclaim_retries=P.reclaim_retries,
        ofs=P.ofs,
        objs_per_slab=P.objs_per_slab,
        reclaimable=P.reclaimable,
        sheaf_cap=P.sheaf_cap,
        barn_max=P.barn_max,
        bulk_size=P.bulk_size,
        bulk_uniform=P.bulk_uniform,
        switch_prob_t=P.switch_prob_t,
        gfp_nofail=P.gfp_nofail,
        gfp_allow_spin=P.gfp_allow_spin,
        gfp_allow_block=P.gfp_allow_block,
        gfp_high=P.gfp_high,
        remote_prob_t=P.remote_prob_t,
        kfence_prob_t=P.kfence_prob_t,
        exts_at_creation_t=P.exts_at_creation_t,
        exts_fail_prob_t=P.exts_fail_prob_t,
        live_cap=P.live_cap,
        remote_free_prob_t=P.remote_free_prob_t,
        irq_prob_t=P.irq_prob_t,
        get_many=P.get_many,
        run_cap_bytes=P.run_cap_bytes,
        trace_mode=P.trace_mode,
        slab_cap=P.slab_cap,
        cpus_m=P.cpus_m,
        cpus_sh=P.cpus_sh,
        others_m=P.others_m,
        others_sh=P.others_sh,
        free_bulk=P.free_bulk,
        free_batched=P.free_batched,
    )


@jit(inline="always")
def strategy_view(A, X, k):
    """Strategy ``k``'s ``State`` as its hooks see it: its rows of the accounting
    tables, the allocator's tables for the rest (views; nothing is copied)."""
    return State(counters=X.counters[k], run_hist=X.run_hist[k], misc=X.misc[k], cpu=X.cpu[k],
                 ms=X.ms[k], memcg=X.memcg[k], stat=X.stat[k], pc=X.pc[k], owner=X.owner[k],
                 sh_objs=A.sh_objs, barn_objs=A.barn_objs, barn_meta=A.barn_meta, slab=A.slab,
                 slab_free=A.slab_free, part=A.part, free_ids=A.free_ids, live=A.live, p=A.p,
                 fq=A.fq, tr_call=A.tr_call, tr_obj=A.tr_obj)


@jit(inline="always")
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
    return True


@jit(kernel=True)
def run_calls(P, A, X, c0, c1, per_call):
    """Simulate calls ``c0 <= c < c1`` of every strategy of ``X``.

    Parameters
    ----------
    P : Params of the run (its per-strategy fields are those of strategy 0; each
        strategy's come from ``X.kp``).
    A : the allocator's State as ``state.kernel_view`` gives it, updated in place.
    X : the strategies' accounting tables as ``state.stack_view`` gives them.
    c0, c1 : int64 call indices; ``c0`` must equal ``A.misc[M_NEXT_CALL]``.
    per_call : int64 [c1 - c0, K, PER_CALL_FIXED + N_EVENTS] or [0, K, same]: when
        non-empty, per call and strategy the CPU, the memcg, the bulk size, the
        number of same-node runs, whether the hook failed, then the call's hook-phase
        events.

    Returns 0, or an error code (also left in ``A.misc[M_ERROR]``): the slab table
    is full, or a hook failed in a run of several strategies.
    """
    ring = A.live.shape[0]
    record = per_call.shape[0] > 0
    K = X.kp.shape[0]
    several = K > 1
    free_serial = A.misc[M_FREE_SERIAL]  # kept in a register; stored back below
    for c in range(c0, c1):
        if unlikely(P.trace_mode != 0):
            t0 = A.tr_call[c].off
            size = A.tr_call[c + 1].off - t0
            cpu = A.tr_call[c].cpu
            if cpu < 0:
                cpu = draw_below_magic(P.seed, S_CPU, c, P.cpus, P.cpus_m, P.cpus_sh)
            if A.tr_call[c].memcg >= 0:
                A.cpu[cpu].memcg = A.tr_call[c].memcg
            elif chance(P.seed, S_SWITCH, c, P.switch_prob_t):
                A.cpu[cpu].memcg = draw_below(P.seed, S_MEMCG, c, P.memcgs)
            for j in range(size):
                A.p[j].obj = A.tr_obj[t0 + j].slab << OBJ_SHIFT
                A.p[j].node = A.tr_obj[t0 + j].node
                A.p[j].kfence = 0
        else:
            cpu = draw_below_magic(P.seed, S_CPU, c, P.cpus, P.cpus_m, P.cpus_sh)
            if unlikely(chance(P.seed, S_SWITCH, c, P.switch_prob_t)):
                A.cpu[cpu].memcg = draw_below(P.seed, S_MEMCG, c, P.memcgs)
            size = P.bulk_size
            if P.bulk_uniform:
                size = 1 + draw_below(P.seed, S_SIZE, c, P.bulk_size)
            if not _fill_p(P, A, c, cpu, size):
                A.misc[M_FREE_SERIAL] = free_serial
                return A.misc[M_ERROR]
        node = A.cpu[cpu].node

        runs = 0
        remote = 0
        for j in range(size):
            if j == 0 or A.p[j].node != A.p[j - 1].node:
                runs += 1
            if A.p[j].node != node:
                remote += 1
        A.counters[PH_SLAB_ALLOC].calls += 1
        A.counters[PH_SLAB_ALLOC].objects += size
        A.counters[PH_SLAB_ALLOC].pgdat_runs += runs
        A.counters[PH_SLAB_ALLOC].remote_objects += remote

        # Every strategy's post-alloc hook on the call's p[]; each records the objcg
        # it gave object j in its lobjcg row, at the ring slot the object will take.
        # (Written out here, not in a helper: every level of jit function re-optimises
        # all the code inlined into it, seconds of cold compile per level.)
        head = A.misc[M_LIVE_HEAD]
        count = A.misc[M_LIVE_COUNT]
        r = c - c0
        memcg = A.cpu[cpu].memcg
        ok = True
        for k in range(K):
            Pk = strategy_params(P, X.kp[k])
            Sk = strategy_view(A, X, k)
            # Per-node objcg (2026 on): the task's objcg is its memcg's on this CPU's node.
            objcg = memcg * Pk.objcg_nodes + (node if Pk.objcg_nodes > 1 else 0)
            if unlikely(Sk.cpu[cpu].pending != 0):
                run_pending_drains(Pk, Sk, cpu, PH_HOOK)  # drain_all_stock's work item
            for j in range(size):
                A.p[j].objcg = -1  # the hook records the objcg it assigns
            if unlikely(record):
                per_call[r, k, 0] = cpu
                per_call[r, k, 1] = memcg
                per_call[r, k, 2] = size
                per_call[r, k, 3] = runs
                for e in range(N_EVENTS):
                    per_call[r, k, PER_CALL_FIXED + e] = -Sk.counters[PH_HOOK].events[e]
            ok_k = post_alloc_hook(Pk, Sk, c, cpu, objcg, size)
            if unlikely(record):
                per_call[r, k, 4] = 0 if ok_k else 1
                for e in range(N_EVENTS):
                    per_call[r, k, PER_CALL_FIXED + e] += Sk.counters[PH_HOOK].events[e]
            if likely(ok_k):
                lo = X.lobjcg[k]
                q = head + count
                for j in range(size):
                    if q >= ring:
                        q -= ring
                    lo[q] = A.p[j].objcg
                    q += 1
            else:
                Sk.counters[PH_HOOK].hook_failures += 1
                ok = False

        n_failed = 0
        if unlikely(not ok):
            if several:
                A.misc[M_ERROR] = ERR_FUSED_FAILURE
                A.misc[M_FREE_SERIAL] = free_serial
                return ERR_FUSED_FAILURE
            # The allocator frees the whole call again (kmem_cache_free_bulk).
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
                A.live[k].obj = A.p[j].obj
                A.live[k].meta = (cpu | (A.p[j].node << LVM_NODE_SHIFT)
                                  | (A.p[j].kfence << LVM_KFENCE_SHIFT))
                count += 1
            target = P.live_cap
        # The slab side of every free, in kmem_cache_free_bulk() calls (frees.py; one
        # inlined copy of the free path): first the failed call's p[] as one call on
        # this CPU, then the oldest live objects down to the target in calls of
        # free_bulk, each on one CPU: its first object's allocating CPU or, drawn with
        # that object's free serial, another.  After a successful call only whole
        # calls: up to free_bulk - 1 objects wait for the next.  Each object goes on
        # the free queue for the strategies' free hooks.
        excess = count - target
        if P.free_bulk > 1 and n_failed == 0 and excess > 0:
            excess -= excess % P.free_bulk
        nq = 0
        j = 0
        left = 0  # objects still to take for the current free call of live objects
        fcpu = cpu
        while j < n_failed or left > 0 or excess > 0:
            first = 0
            if j < n_failed:
                first = 1 if j == 0 else 0
                handle = A.p[j].obj
                fnode = A.p[j].node
                fkf = A.p[j].kfence
                pos = -1 - j
                j += 1
            else:
                if left == 0:
                    left = min(P.free_bulk, excess)
                    excess -= left
                    s = free_serial
                    free_serial += left  # serials advance once per object
                    acpu = A.live[head].meta & LVM_CPU_MASK
                    fcpu = acpu
                    if unlikely(P.cpus > 1 and chance(P.seed, S_FREE_CPU, s, P.remote_free_prob_t)):
                        fcpu = acpu + 1 + draw_below_magic(P.seed, S_FREE_OTHER, s, P.cpus - 1,
                                                           P.others_m, P.others_sh)
                        if fcpu >= P.cpus:  # (...) % cpus of a value < 2 * cpus, no division
                            fcpu -= P.cpus
                    first = 1
                meta = A.live[head].meta
                handle = A.live[head].obj
                fnode = (meta >> LVM_NODE_SHIFT) & LVM_NODE_MASK
                fkf = meta >> LVM_KFENCE_SHIFT
                pos = head
                head += 1
                if head == ring:
                    head = 0
                count -= 1
                left -= 1
            A.fq[nq].cpu = fcpu
            A.fq[nq].node = fnode
            A.fq[nq].pos = pos
            A.fq[nq].first = first
            nq += 1
            if likely(not P.trace_mode):
                slab_free_object(P, A, fcpu, handle, fnode, fkf, PH_SLAB_FREE)
        A.counters[PH_SLAB_FREE].frees += nq
        # Every strategy's memcg free hook on the freed objects, in order: per object
        # (the common case taken a run at a time, frees.quiet_frees), or batched: per
        # run of one free call's objects with the same objcg and node, objects
        # without an objcg skipped (they neither join nor end a run).
        for k in range(K if nq > 0 else 0):
            Pk = strategy_params(P, X.kp[k])
            Sk = strategy_view(A, X, k)
            lo = X.lobjcg[k]
            batched = P.free_batched != 0
            run_len = 0
            i = 0
            while i < nq:
                objcg = fq_objcg(A, lo, i)
                if likely(objcg >= 0):
                    fcpu = A.fq[i].cpu
                    fnode = A.fq[i].node
                    if likely(not batched):
                        n = quiet_frees(Pk, Sk, lo, i, nq, fcpu, objcg, fnode)
                        if likely(n > 0):
                            i += n
                            continue
                    run_len += 1
                    more = False
                    if batched:
                        m = i + 1  # the call's next object that holds an objcg
                        while m < nq and A.fq[m].first == 0 and fq_objcg(A, lo, m) < 0:
                            m += 1
                        more = (m < nq and A.fq[m].first == 0 and fq_objcg(A, lo, m) == objcg
                                and A.fq[m].node == fnode)
                    if not more:
                        uncharge_run(Pk, Sk, fcpu, objcg, fnode, run_len)
                        if batched:
                            Sk.counters[PH_FREE_HOOK].free_runs += 1
                        run_len = 0
                i += 1
        A.misc[M_LIVE_HEAD] = head
        A.misc[M_LIVE_COUNT] = count
    A.misc[M_FREE_SERIAL] = free_serial
    A.misc[M_NEXT_CALL] = c1
    return 0
