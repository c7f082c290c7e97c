"""Independent pure-Python reference model of docs/model.md.

A slow, plainly written simulation of ``kmem_cache_alloc_bulk()`` with per-CPU
sheaves (mm/slub.c) followed by the memcg post-alloc hook (mm/memcontrol.c) in
four strategies, and of the free path.  It is written from docs/model.md alone
(engine/ is not consulted, apart from the event and phase names in
``engine.model.events``) so that the tests can demand that the Numba engine and this
model agree exactly.

Public API: :func:`simulate_reference`.

Points where docs/model.md leaves a choice open are marked ``# AMBIGUITY:``;
deliberate divergences from the kernel that model.md itself makes are marked
``# MODEL:``.
"""

from __future__ import annotations

import os
import sys
from collections import deque

try:
    from engine.model.events import EVENTS, PHASES, RUN_HIST_BUCKETS
except ImportError:  # run as a script: python tests/reference.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from engine.model.events import EVENTS, PHASES, RUN_HIST_BUCKETS

PAGE_SIZE = 4096
MEMCG_CHARGE_BATCH = 64
NR_MEMCG_STOCK = 7
INT_MAX = 2**31 - 1

_EV = {name: i for i, name in enumerate(EVENTS)}
_PH = {name: i for i, name in enumerate(PHASES)}
STRATEGIES = ("per_object", "batched_v1", "batched", "upfront", "none")
# Kernel generations (model.md section 5a) and where each strategy exists; the
# first one listed is the strategy's own.
GENERATIONS = ("v5.9", "v5.14", "v6.12", "mainline-2026", "mm-2026")
EXISTS_ON = {"per_object": ["mainline-2026", "mm-2026"], "batched_v1": ["mainline-2026", "mm-2026"],
             "batched": ["mainline-2026", "mm-2026"], "upfront": ["v6.12", "v5.9", "v5.14"],
             # no accounting: nothing of a generation's memcg machinery is used
             "none": ["mainline-2026", "v6.12", "mm-2026", "v5.9", "v5.14"]}
FREE_HOOKS = ("per_object", "batched")
NR_OBJ_STOCK = 5          # mm-2026 obj stock slots
U16_MAX, S16_MAX = 65535, 32767
COSTLY = 8                # 1 << PAGE_ALLOC_COSTLY_ORDER pages

# ---------------------------------------------------------------------------
# 1. Random numbers: splitmix64, counter based (model.md section 1)
# ---------------------------------------------------------------------------
M64 = 2**64 - 1
GOLDEN = 0x9E3779B97F4A7C15

S_CPU, S_SWITCH, S_MEMCG, S_SIZE, S_KFENCE, S_KFENCE_POS, S_REMOTE = 1, 2, 3, 4, 5, 6, 7
S_EXTS_CREATE, S_EXTS_FAIL, S_FREE_CPU, S_FREE_OTHER, S_EVICT, S_IRQ = 8, 9, 10, 11, 12, 13


def mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def draw_u64(seed: int, stream: int, index: int) -> int:
    h = mix64((seed + GOLDEN * (stream + 1)) & M64)
    return mix64((h + GOLDEN * (index + 1)) & M64)


def draw_u01(seed: int, stream: int, index: int) -> float:
    return (draw_u64(seed, stream, index) >> 11) * 2.0**-53


def draw_below(seed: int, stream: int, index: int, n: int) -> int:
    return draw_u64(seed, stream, index) % n


# ---------------------------------------------------------------------------
# The machine's pieces (model.md section 2)
# ---------------------------------------------------------------------------
class Slab:
    """struct slab: one node, a free list (a stack popped from the end), obj_exts."""

    __slots__ = ("sid", "node", "nobjs", "free", "has_exts", "kfence")

    def __init__(self, sid, node, nobjs, has_exts, kfence=False):
        self.sid, self.node, self.nobjs = sid, node, nobjs
        # [n-1, ..., 1, 0]: a fresh slab hands out objects 0, 1, 2, ... in order.
        self.free = [] if kfence else list(range(nobjs - 1, -1, -1))
        self.has_exts, self.kfence = has_exts, kfence


class Obj:
    """One entry of p[] and of the live FIFO (objcg -1: none; cpu: allocating CPU)."""

    __slots__ = ("slab", "idx", "node", "objcg", "cpu")

    def __init__(self, slab, idx, node):
        self.slab, self.idx, self.node, self.objcg, self.cpu = slab, idx, node, -1, -1


class ObjStock:
    """struct obj_stock_pcp (acc_r / acc_u: nr_slab_(un)reclaimable_b).

    v6.12 / mainline-2026 use objcg and nr_bytes (one cached objcg).  mm-2026 uses
    the slot lists instead, index (the slot the accumulators belong to), pgdat as
    the accumulators' node_id, and rr (the round-robin victim)."""

    __slots__ = ("objcg", "nr_bytes", "pgdat", "acc_r", "acc_u", "slots", "slot_bytes", "index", "rr")

    def __init__(self):
        self.objcg, self.nr_bytes, self.pgdat, self.acc_r, self.acc_u = -1, 0, -1, 0, 0
        self.slots = [-1] * NR_OBJ_STOCK
        self.slot_bytes = [0] * NR_OBJ_STOCK
        self.index = -1
        self.rr = 0


class MemcgStock:
    """struct memcg_stock_pcp: NR_MEMCG_STOCK slots of (memcg, nr_pages)."""

    def __init__(self):
        self.memcg = [-1] * NR_MEMCG_STOCK
        self.pages = [0] * NR_MEMCG_STOCK
        self.rr = 0  # mm-2026: round-robin victim


class PageCounter:
    """struct page_counter: usage, max (0 = unlimited), failcnt."""

    __slots__ = ("usage", "max", "failcnt")

    def __init__(self, limit):
        self.usage, self.max, self.failcnt = 0, limit, 0


class Sheaves:
    """struct slub_percpu_sheaves: main and spare sheaf, lists of (slab, idx)."""

    def __init__(self):
        self.main, self.spare = [], []


# ---------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------
class Sim:
    def __init__(self, params: dict, strategy: str, seed: int, trace):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}")
        P = params
        self.strategy, self.trace, self.seed = strategy, trace, int(seed)
        kernel = P.get("kernel") or EXISTS_ON[strategy][0]
        if kernel not in EXISTS_ON[strategy]:
            raise ValueError(f"{strategy} does not exist on {kernel}")
        self.gen = kernel
        self.current_gen = kernel in ("mainline-2026", "mm-2026")  # trylock generation
        # v5.9-v5.13 / v5.14-v6.6: the memcg stock's own local_irq_save, one in
        # mod_memcg_lruvec_state, and an objcg reference across the pre/post hooks.
        self.v5 = kernel in ("v5.9", "v5.14")
        # Per-node objcg from 2026 on: objcg = memcg * nodes + node.
        self.objcgs_per_memcg = int(P["nodes"]) if self.current_gen else 1
        self.pending = [0] * int(P["cpus"])  # queued drain work: 1 memcg stock, 2 obj stock
        for k in ("cpus", "nodes", "memcgs", "depth", "reclaim_pages", "reclaim_retries",
                  "objs_per_slab", "sheaf_capacity", "barn_max_full", "bulk_size",
                  "live_objects", "run_cap_bytes"):
            setattr(self, k, int(P[k]))
        for k in ("remote_prob", "kfence_prob", "exts_at_creation", "exts_fail_prob",
                  "remote_free_prob"):
            setattr(self, k, float(P[k]))
        self.switch_prob = float(P["cgroup_switch_prob"])
        self.irq_prob = float(P["irq_reentry_prob"])
        self.reclaimable, self.get_many = bool(P["reclaimable"]), bool(P["get_many"])
        self.nofail, self.allow_spin = bool(P["gfp_nofail"]), bool(P["gfp_allow_spin"])
        # No reclaim bits means no direct reclaim either.
        self.allow_block = bool(P.get("gfp_allow_block", True)) and self.allow_spin
        self.high = bool(P.get("gfp_high", False))
        self.bulk_uniform = P["bulk_dist"] == "uniform"
        # The frees (model.md sections 3 and 7a): kmem_cache_free_bulk() calls of
        # free_bulk objects; the memcg free hook per object or per run.
        self.free_bulk = int(P.get("free_bulk", 1))
        self.free_hook_kind = P.get("free_hook", "per_object")
        if self.free_hook_kind not in FREE_HOOKS or self.free_bulk < 1:
            raise ValueError(f"bad free_bulk/free_hook {self.free_bulk}/{self.free_hook_kind}")
        self.ofs = int(P["object_size"]) + 8  # obj_full_size()

        self.counters = [[0] * len(EVENTS) for _ in PHASES]
        self.run_hist = [0] * RUN_HIST_BUCKETS
        self.phase = _PH["slab_alloc"]

        # Page counters: leaf m at index m, ancestor level l at memcgs + l - 1, and
        # last the root memcg's counter (no limit), which every charge also reaches.
        leaf_max = int(P["memcg_max_pages"])
        anc_max = int(P["ancestor_max_pages"])
        self.pcs = [PageCounter(leaf_max) for _ in range(self.memcgs)]
        self.pcs += [PageCounter(anc_max) for _ in range(self.depth - 1)]
        self.pcs.append(PageCounter(0))
        root = len(self.pcs) - 1
        self.pc_owner = [-1] * len(self.pcs)
        self.levels = [[m] + [self.memcgs + l for l in range(self.depth - 1)] + [root]
                       for m in range(self.memcgs)]
        # AMBIGUITY: the pre-charged page cache counts no events and writes no
        # cache line (owners stay -1): it predates the run.
        pagecache = int(P["pagecache_pages"])
        self.pagecache = [pagecache] * self.memcgs
        for m in range(self.memcgs):
            for li in self.levels[m]:
                self.pcs[li].usage += pagecache

        self.task_memcg = [k % self.memcgs for k in range(self.cpus)]
        self.ostock = [ObjStock() for _ in range(self.cpus)]
        self.mstock = [MemcgStock() for _ in range(self.cpus)]
        n_objcgs = self.memcgs * self.objcgs_per_memcg
        self.objcg_refs = [0] * n_objcgs
        self.nr_charged_bytes = [0] * n_objcgs
        self.owner_objcg = [-1] * n_objcgs  # line of objcg->nr_charged_bytes
        # The memcg's statistics line: never written (the kernel's statistics are per-CPU
        # counters), so it stays -1; kept so the snapshot still compares it.
        self.owner_stat = [-1] * self.memcgs
        self.stat = [[0] * self.nodes for _ in range(self.memcgs)]
        self.forced = 0

        # SLUB state
        self.sheaves = [Sheaves() for _ in range(self.cpus)]
        self.barn = [[] for _ in range(self.nodes)]      # full sheaves, stack
        self.partial = [[] for _ in range(self.nodes)]   # slab ids, head = [0]
        self.slabs = {}                                  # id -> Slab
        self.free_ids = []                               # discarded ids, stack
        self.next_id = 0

        self.live = deque()
        # Run-wide serials (model.md section 1): used, then incremented.
        self.newslab_serial = self.free_serial = self.evict_serial = self.trylock_serial = 0

        if trace is not None:
            # A slab's obj_exts state comes from its first appearance (section 8).
            for call in trace:
                for ent in call["objects"]:
                    sid, node, has_exts = _trace_entry(ent)
                    if sid not in self.slabs:
                        self.slabs[sid] = Slab(sid, node, 0, bool(has_exts))

    # -- bookkeeping ---------------------------------------------------------
    def count(self, ev, n=1):
        self.counters[self.phase][_EV[ev]] += n

    def memcg_of(self, objcg):
        return objcg // self.objcgs_per_memcg

    def objcg_of(self, memcg, node):
        """The task's objcg: its memcg's, on its CPU's node from 2026 on."""
        if self.objcgs_per_memcg == 1:
            return memcg
        return memcg * self.objcgs_per_memcg + node

    def node_of(self, cpu):
        return cpu * self.nodes // self.cpus

    def line_write(self, owners, i, cpu):
        """A write to a shared cache line: count a transfer if another CPU owned it."""
        old = owners[i]
        if old != cpu:
            if old >= 0:
                if self.node_of(old) == self.node_of(cpu):
                    self.count("line_transfers_local")
                else:
                    self.count("line_transfers_remote")
            owners[i] = cpu

    # -- page counters (mm/page_counter.c) -------------------------------------
    def pc_try_charge(self, cpu, m, n):
        """page_counter_try_charge(): walk leaf -> ancestors, undo on overflow."""
        levels = self.levels[m]
        for k, li in enumerate(levels):
            pc = self.pcs[li]
            pc.usage += n
            self.count("page_counter_charges")
            self.line_write(self.pc_owner, li, cpu)
            if pc.max and pc.usage > pc.max:
                pc.usage -= n
                self.count("page_counter_uncharges")
                self.line_write(self.pc_owner, li, cpu)
                pc.failcnt += 1
                self.count("page_counter_failcnt")
                for lj in levels[:k]:  # page_counter_cancel() the levels below
                    self.pcs[lj].usage -= n
                    self.count("page_counter_uncharges")
                    self.line_write(self.pc_owner, lj, cpu)
                return li      # the counter that failed: mem_over_limit
        return None

    def pc_force_charge(self, cpu, m, n):
        """page_counter_charge() under __GFP_NOFAIL (try_charge_memcg 'force:')."""
        for li in self.levels[m]:
            self.pcs[li].usage += n
            self.count("page_counter_charges")
            self.line_write(self.pc_owner, li, cpu)
        self.count("forced_charges")
        self.forced += 1

    def pc_uncharge(self, cpu, m, n):
        """page_counter_uncharge() (memcg_uncharge())."""
        for li in self.levels[m]:
            self.pcs[li].usage -= n
            self.count("page_counter_uncharges")
            self.line_write(self.pc_owner, li, cpu)

    def margin(self, m):
        """mem_cgroup_margin(), over every limited level of m (inf if none)."""
        rooms = [self.pcs[li].max - self.pcs[li].usage for li in self.levels[m] if self.pcs[li].max]
        return min(rooms) if rooms else float("inf")

    # -- memcg stock (consume_stock / refill_stock / drain_stock) --------------
    # MODEL: the memcg stock's lock never fails.
    def consume_stock(self, cpu, m, n):
        ms = self.mstock[cpu]
        if n <= MEMCG_CHARGE_BATCH:
            if self.gen == "v6.12":
                self.count("stock_locks")  # local_lock_irqsave(&memcg_stock.stock_lock)
            elif self.v5:
                self.count("irq_saves")  # v5.x consume_stock(): local_irq_save()
            for i in range(NR_MEMCG_STOCK):
                if ms.memcg[i] == m:
                    if ms.pages[i] >= n:
                        ms.pages[i] -= n
                        self.count("memcg_stock_hits")
                        return True
                    break  # only the first slot caching m is looked at
        # AMBIGUITY: a slot emptied by consume keeps caching m with 0 pages (as
        # the kernel's consume_stock() does); it only becomes (-1, 0) in
        # drain_slot().
        self.count("memcg_stock_misses")
        return False

    def drain_slot(self, cpu, i):
        """drain_stock(stock, i); cpu is the CPU that owns (and drains) the stock."""
        ms = self.mstock[cpu]
        self.count("memcg_stock_drains")
        if ms.pages[i]:
            self.pc_uncharge(cpu, ms.memcg[i], ms.pages[i])
        ms.memcg[i] = -1
        ms.pages[i] = 0

    def refill_stock_v612(self, cpu, m, n):
        """v6.12 __refill_stock() (stock_lock held): one slot."""
        self.count("memcg_stock_refills")
        ms = self.mstock[cpu]
        if ms.memcg[0] != m:
            if ms.memcg[0] >= 0:
                self.drain_slot(cpu, 0)   # drain_stock(): another memcg leaves
            ms.memcg[0] = m
        ms.pages[0] += n
        if ms.pages[0] > MEMCG_CHARGE_BATCH:
            self.drain_slot(cpu, 0)       # all of it, the new pages too

    def refill_stock(self, cpu, m, n):
        if not self.current_gen:
            # v6.12: the shared stock_lock; v5.x: refill_stock()'s local_irq_save()
            self.count("irq_saves" if self.v5 else "stock_locks")
            self.refill_stock_v612(cpu, m, n)
            return
        self.count("memcg_stock_refills")
        if n > MEMCG_CHARGE_BATCH:
            self.pc_uncharge(cpu, m, n)
            return
        ms = self.mstock[cpu]
        empty = -1
        for i in range(NR_MEMCG_STOCK):
            if ms.memcg[i] == -1 and empty < 0:
                empty = i
            if ms.memcg[i] == m:
                ms.pages[i] += n
                if ms.pages[i] > MEMCG_CHARGE_BATCH:
                    self.drain_slot(cpu, i)
                return
        i = empty
        if i < 0:
            if self.gen == "mm-2026":
                i = ms.rr                     # round-robin victim (c0cafe24)
                ms.rr = (ms.rr + 1) % NR_MEMCG_STOCK
            else:
                i = draw_below(self.seed, S_EVICT, self.evict_serial, NR_MEMCG_STOCK)
                self.evict_serial += 1
            self.drain_slot(cpu, i)
        ms.memcg[i] = m
        ms.pages[i] = n

    def in_subtree(self, memcg, over):
        """Is memcg in the subtree of page counter `over`?  A leaf counter's
        subtree is that memcg; every memcg is below every ancestor level."""
        if memcg < 0:
            return False
        return over >= self.memcgs or memcg == over

    def drain_all_stock(self, cpu, over):
        """drain_all_stock(mem_over_limit): stocks with pages / objcgs of the
        subtree drain; this CPU at once, others by a work item run before their
        next call.  A stock whose drain is pending is skipped (FLUSHING bit).
        MODEL: the percpu_charge_mutex trylock always succeeds."""
        for k in range(self.cpus):
            ms = self.mstock[k]
            memcg_needed = any(ms.pages[i] > 0 and self.in_subtree(ms.memcg[i], over)
                               for i in range(NR_MEMCG_STOCK))
            st = self.ostock[k]
            cached = st.slots if self.gen == "mm-2026" else [st.objcg]
            obj_needed = any(o >= 0 and self.in_subtree(self.memcg_of(o), over) for o in cached)
            if not self.current_gen:
                want = 3 if (memcg_needed or obj_needed) else 0
            else:
                want = (1 if memcg_needed else 0) + (2 if obj_needed else 0)
            want = want & ~self.pending[k]
            if not want:
                continue
            if k == cpu:
                self.drain_local(k, want)
            else:
                self.pending[k] |= want
                if not self.current_gen or want != 3:
                    self.count("drain_works")
                else:
                    self.count("drain_works", 2)  # two work items

    def drain_local(self, k, what):
        """drain_local_memcg_stock() (1) / drain_local_obj_stock() (2) on CPU k;
        v6.12's drain_local_stock() does the obj stock, then the memcg stock."""
        ms = self.mstock[k]
        if not self.current_gen:
            self.drain(k)
            if ms.memcg[0] >= 0:
                self.drain_slot(k, 0)
            return
        if what & 1:
            for i in range(NR_MEMCG_STOCK):
                if ms.memcg[i] >= 0:
                    self.drain_slot(k, i)
        if what & 2:
            self.drain(k)

    def try_charge_memcg(self, cpu, m, n):
        """try_charge_memcg() for n pages of memcg m; True on success."""
        if self.allow_spin or not self.current_gen:
            batch = max(MEMCG_CHARGE_BATCH, n)
        else:
            batch = n
        drained = False
        passed_oom = False
        retries = self.reclaim_retries
        while True:
            if self.consume_stock(cpu, m, n):
                return True
            over = self.pc_try_charge(cpu, m, batch)
            if over is None:
                if batch > n:
                    self.refill_stock(cpu, m, batch - n)
                return True
            if batch > n:
                batch = n
                continue
            if not self.allow_block:
                break
            # try_to_free_mem_cgroup_pages(): reclaim page cache.
            self.count("reclaims")
            r = min(self.reclaim_pages, self.pagecache[m])
            if r:
                self.pagecache[m] -= r
                self.pc_uncharge(cpu, m, r)
            if self.margin(m) >= n:
                continue
            if not drained:
                self.drain_all_stock(cpu, over)
                drained = True
                continue
            if r and n <= COSTLY:
                continue
            if retries > 0:
                retries -= 1
                continue
            if passed_oom:
                break   # task_is_dying(): the OOM victim was this task
            if n > COSTLY:
                break   # mem_cgroup_oom() refuses costly orders
            # MODEL: mem_cgroup_oom() kills the allocating task; nothing the model
            # tracks is freed, the charge retries once more and then fails.
            self.count("memcg_ooms")
            passed_oom = True
            retries = self.reclaim_retries
        # nomem:
        if self.nofail or self.high:
            self.pc_force_charge(cpu, m, n)
            return True
        self.count("charge_failures")
        return False

    # -- obj stock (drain_obj_stock, refill_obj_stock, __account_obj_stock) ----
    def lock(self, cpu):
        """local_trylock(&obj_stock.lock) (current) / local_lock_irqsave (upfront)."""
        if self.current_gen:
            s = self.trylock_serial
            self.trylock_serial += 1
            if draw_u01(self.seed, S_IRQ, s) < self.irq_prob:
                self.count("stock_lock_failures")
                return False
        self.count("stock_locks")
        return True

    def ncb_add(self, cpu, m, nbytes):
        """atomic_add(nbytes, &objcg->nr_charged_bytes)."""
        self.nr_charged_bytes[m] += nbytes
        self.count("nr_charged_atomics")
        self.line_write(self.owner_objcg, m, cpu)

    def stat_flush(self, cpu, m, pgdat, nbytes):
        """mod_objcg_mlstate(): write the memcg's per-node slab statistic."""
        self.count("stat_flushes")
        if self.v5:
            self.count("irq_saves")  # mod_memcg_lruvec_state(): local_irq_save()
        memcg = self.memcg_of(m)   # m is the objcg
        self.stat[memcg][pgdat] += nbytes
        # The kernel adds to this CPU's own counters here: no shared line changes hands.

    def flush_accs(self, cpu, st):
        if st.acc_r:
            self.stat_flush(cpu, st.objcg, st.pgdat, st.acc_r)
            st.acc_r = 0
        if st.acc_u:
            self.stat_flush(cpu, st.objcg, st.pgdat, st.acc_u)
            st.acc_u = 0

    def drain_slot_mm(self, cpu, i):
        """mm-2026 drain_obj_stock_slot()."""
        st = self.ostock[cpu]
        old = st.slots[i]
        if old < 0:
            return
        self.count("drains")
        if st.slot_bytes[i]:
            np_, rest = divmod(st.slot_bytes[i], PAGE_SIZE)
            if np_:
                self.count("drain_uncharge_pages")
                self.pc_uncharge(cpu, self.memcg_of(old), np_)
            self.ncb_add(cpu, old, rest)
            st.slot_bytes[i] = 0
        if st.index == i:  # drain_obj_stock_stats()
            for name in ("acc_r", "acc_u"):
                if getattr(st, name):
                    self.stat_flush(cpu, old, st.pgdat, getattr(st, name))
                    setattr(st, name, 0)
            st.index = -1
            st.pgdat = -1
        st.slots[i] = -1
        self.objcg_refs[old] -= 1
        self.count("objcg_ref_ops")

    def drain(self, cpu):
        """drain_obj_stock()."""
        st = self.ostock[cpu]
        if self.gen == "mm-2026":
            for i in range(NR_OBJ_STOCK):
                self.drain_slot_mm(cpu, i)
            return
        old = st.objcg
        if old < 0:
            return
        self.count("drains")
        if st.nr_bytes > 0:
            np_, rest = divmod(st.nr_bytes, PAGE_SIZE)
            if np_:
                self.count("drain_uncharge_pages")
            if np_ and self.v5:
                # v5.x: refill_stock(), with its own local_irq_save()
                self.refill_stock(cpu, self.memcg_of(old), np_)
            elif np_ and self.gen == "v6.12":
                # v6.12: __refill_stock() into this CPU's memcg stock (lock held)
                self.refill_stock_v612(cpu, self.memcg_of(old), np_)
            elif np_:
                self.pc_uncharge(cpu, self.memcg_of(old), np_)  # memcg_uncharge()
            self.ncb_add(cpu, old, rest)          # even when rest == 0
            st.nr_bytes = 0
        self.flush_accs(cpu, st)
        st.pgdat = -1
        st.objcg = -1
        self.objcg_refs[old] -= 1               # obj_cgroup_put(old)
        self.count("objcg_ref_ops")

    def adopt(self, cpu, objcg):
        """The 'cached_objcg != objcg' block of refill_obj_stock()/mod_objcg_state()."""
        self.drain(cpu)
        st = self.ostock[cpu]
        self.objcg_refs[objcg] += 1              # obj_cgroup_get()
        self.count("objcg_ref_ops")
        if self.nr_charged_bytes[objcg]:
            st.nr_bytes = self.nr_charged_bytes[objcg]  # atomic_xchg(.., 0)
            self.nr_charged_bytes[objcg] = 0
            self.count("nr_charged_atomics")
            self.line_write(self.owner_objcg, objcg, cpu)
        else:
            st.nr_bytes = 0
        st.objcg = objcg

    def consume(self, cpu, objcg, n):
        """consume_obj_stock() (lock already taken)."""
        st = self.ostock[cpu]
        if self.gen == "mm-2026":
            for i in range(NR_OBJ_STOCK):
                if st.slots[i] == objcg:   # the first slot of objcg decides
                    if st.slot_bytes[i] >= n:
                        st.slot_bytes[i] -= n
                        return True
                    return False
            return False
        if st.objcg == objcg and st.nr_bytes >= n:
            st.nr_bytes -= n
            return True
        return False

    def uncharge_pages(self, cpu, objcg, np_):
        """obj_cgroup_uncharge_pages(): park the pages in the memcg stock."""
        self.count("objcg_uncharge_pages")
        self.refill_stock(cpu, self.memcg_of(objcg), np_)

    def refill(self, cpu, locked, objcg, n, allow_uncharge):
        """refill_obj_stock() without its accounting part."""
        self.count("refills")
        if not locked:
            np_, rest = divmod(n, PAGE_SIZE)
            self.ncb_add(cpu, objcg, rest)
            if np_:
                self.uncharge_pages(cpu, objcg, np_)
            return
        st = self.ostock[cpu]
        if self.gen == "mm-2026":
            self.refill_mm(cpu, objcg, n, allow_uncharge)
            return
        if st.objcg != objcg:
            self.adopt(cpu, objcg)
            allow_uncharge = True
        st.nr_bytes += n
        if self.gen == "v5.9":
            if st.nr_bytes > PAGE_SIZE:  # v5.9 refill_obj_stock(): drain it all
                self.drain(cpu)
            return
        if allow_uncharge and st.nr_bytes > PAGE_SIZE:
            np_ = st.nr_bytes // PAGE_SIZE
            st.nr_bytes %= PAGE_SIZE
            self.uncharge_pages(cpu, objcg, np_)

    def refill_mm(self, cpu, objcg, n, allow_uncharge):
        """mm-2026 __refill_obj_stock() with the stock locked."""
        st = self.ostock[cpu]
        slot = -1
        first_empty = -1
        for i in range(NR_OBJ_STOCK):
            if st.slots[i] == -1 and first_empty < 0:
                first_empty = i
            if st.slots[i] == objcg:
                slot = i
                break
        if slot < 0:
            slot = first_empty
            if slot < 0:
                slot = st.rr
                st.rr = (st.rr + 1) % NR_OBJ_STOCK
                self.drain_slot_mm(cpu, slot)
            self.objcg_refs[objcg] += 1      # obj_cgroup_get()
            self.count("objcg_ref_ops")
            value = 0
            if self.nr_charged_bytes[objcg]:
                value = self.nr_charged_bytes[objcg]   # atomic_xchg(.., 0)
                self.nr_charged_bytes[objcg] = 0
                self.count("nr_charged_atomics")
                self.line_write(self.owner_objcg, objcg, cpu)
            st.slots[slot] = objcg
            allow_uncharge = True
        else:
            value = st.slot_bytes[slot]
        value += n
        np_ = 0
        if (allow_uncharge and value > PAGE_SIZE) or value > U16_MAX:
            if value > U16_MAX:
                self.count("obj_stock_u16_releases")
            np_ = value // PAGE_SIZE
            value = value % PAGE_SIZE
        st.slot_bytes[slot] = value
        if np_:
            self.uncharge_pages(cpu, objcg, np_)

    def account_mm(self, cpu, locked, objcg, nbytes, pgdat):
        """mm-2026 __account_obj_stock(): accumulators tagged (slot, node), 16 bits."""
        st = self.ostock[cpu]
        slot = st.slots.index(objcg) if (locked and objcg in st.slots) else -1
        if slot < 0:
            self.stat_flush(cpu, objcg, pgdat, nbytes)
            return
        if st.index >= 0 and (st.index != slot or st.pgdat != pgdat):
            holder = st.slots[st.index]   # flush to the old slot's objcg and node
            if st.acc_r:
                self.stat_flush(cpu, holder, st.pgdat, st.acc_r)
                st.acc_r = 0
            if st.acc_u:
                self.stat_flush(cpu, holder, st.pgdat, st.acc_u)
                st.acc_u = 0
        st.index = slot
        st.pgdat = pgdat
        acc = st.acc_r if self.reclaimable else st.acc_u
        if abs(nbytes + acc) > S16_MAX:
            self.count("stat_guard_flushes")
            self.stat_flush(cpu, objcg, pgdat, nbytes + acc)
            self.set_acc(st, 0)
        else:
            self.acc_add(cpu, st, objcg, pgdat, nbytes)

    def set_acc(self, st, acc):
        if self.reclaimable:
            st.acc_r = acc
        else:
            st.acc_u = acc

    def acc_add(self, cpu, st, objcg, pgdat, nbytes):
        """Add to the stock's accumulator: an empty one takes ``nbytes`` whatever its
        size, a sum past a page is flushed."""
        acc = st.acc_r if self.reclaimable else st.acc_u
        if acc == 0:
            acc = nbytes
        else:
            acc += nbytes
            if abs(acc) > PAGE_SIZE:
                self.stat_flush(cpu, objcg, pgdat, acc)
                acc = 0
        self.set_acc(st, acc)

    def account(self, cpu, locked, objcg, nbytes, pgdat):
        """__account_obj_stock(), or mod_objcg_mlstate() directly without a stock."""
        self.count("stat_updates")
        if self.gen == "mm-2026":
            self.account_mm(cpu, locked, objcg, nbytes, pgdat)
            return
        st = self.ostock[cpu]
        if not locked or st.objcg != objcg:
            # AMBIGUITY: a direct update counts as a flush (stat_flushes += 1
            # and a write of the memcg's stat line), like every other write of
            # stat[] - it is the same mod_objcg_mlstate() call in the kernel.
            self.stat_flush(cpu, objcg, pgdat, nbytes)
            return
        if st.pgdat != pgdat:
            self.flush_accs(cpu, st)
            st.pgdat = pgdat
        self.acc_add(cpu, st, objcg, pgdat, nbytes)

    def charge_and_account(self, cpu, objcg, nbytes, pgdat):
        """obj_cgroup_charge_account() (current generation)."""
        locked = self.lock(cpu)
        if locked and self.consume(cpu, objcg, nbytes):
            self.count("consume_hits")
            self.account(cpu, True, objcg, nbytes, pgdat)
            return True
        self.count("consume_misses")
        np_ = -(-nbytes // PAGE_SIZE)
        if not self.try_charge_memcg(cpu, self.memcg_of(objcg), np_):
            return False
        locked = self.lock(cpu)
        if nbytes % PAGE_SIZE:
            self.refill(cpu, locked, objcg, PAGE_SIZE - nbytes % PAGE_SIZE, False)
        self.account(cpu, locked, objcg, nbytes, pgdat)
        return True

    # -- hook helpers ----------------------------------------------------------
    def find_slab(self, o):
        """virt_to_slab()."""
        self.count("virt_to_slab")
        return self.slabs[o.slab]

    def ensure_exts(self, c, j, slab):
        """slab_obj_exts(slab) || !alloc_slab_obj_exts(slab, ...)."""
        if slab.has_exts:
            return True
        self.count("obj_exts_allocs")
        if draw_u01(self.seed, S_EXTS_FAIL, c * 65536 + j) < self.exts_fail_prob:
            self.count("obj_exts_failures")
            return False
        slab.has_exts = True
        return True

    def assign(self, o, objcg, ref_op=True):
        """obj_to_index(); obj_cgroup_get(); slab_obj_exts(slab)[off].objcg = objcg."""
        self.count("obj_to_index")
        if ref_op:
            self.count("objcg_ref_ops")
        self.objcg_refs[objcg] += 1
        self.count("assigns")
        o.objcg = objcg

    def count_run(self, n):
        self.count("runs")
        self.run_hist[min(n, RUN_HIST_BUCKETS) - 1] += 1

    # -- 6. the hook strategies (__memcg_slab_post_alloc_hook) ----------------
    def hook_none(self, c, cpu, objcg, p):
        """No memcg accounting: the cache is not accounted, nothing is looked up,
        charged or assigned; every object keeps objcg -1."""
        return True

    def hook_per_object(self, c, cpu, objcg, p):
        for j, o in enumerate(p):
            slab = self.find_slab(o)
            if not self.ensure_exts(c, j, slab):
                self.count("obj_exts_skipped")
                continue
            self.count_run(1)
            if not self.charge_and_account(cpu, objcg, self.ofs, o.node):
                return False
            self.assign(o, objcg)
        return True

    def hook_batched_v1(self, c, cpu, objcg, p):
        size = len(p)
        # AMBIGUITY: get_many only changes the batched strategy (docs/model.md §6,
        # the counts-per-run table); batched_v1 / per_object / upfront take one ref per object.
        i = 0
        while i < size:
            slab = self.find_slab(p[i])
            if not self.ensure_exts(c, i, slab):
                self.count("obj_exts_skipped")
                i += 1
                continue
            # The cap quirk: an absolute index compared with a count.
            cap = min(self.run_cap_bytes // self.ofs, size)
            j = i + 1
            skip_next = False
            while j < cap:
                sj = self.find_slab(p[j])
                if p[j].node != p[i].node:
                    break
                if not self.ensure_exts(c, j, sj):
                    skip_next = True
                    break
                j += 1
            L = j - i
            self.count_run(L)
            if not self.charge_and_account(cpu, objcg, L * self.ofs, p[i].node):
                return False
            for k in range(i, j):
                self.find_slab(p[k])  # slab = virt_to_slab(p[i + j]) again
                self.assign(p[k], objcg)
            i += L
            if skip_next:
                # AMBIGUITY: the marked object counts obj_exts_skipped when it is
                # stepped over (after the run), so not at all if the charge failed.
                self.count("obj_exts_skipped")
                i += 1
        return True

    def hook_batched(self, c, cpu, objcg, p):
        size = len(p)
        cap = self.run_cap_bytes // self.ofs  # max_run, hoisted
        i = 0
        while i < size:
            slab = self.find_slab(p[i])
            if not self.ensure_exts(c, i, slab):
                self.count("obj_exts_skipped")
                i += 1
                continue
            end = min(i + cap, size)
            j = i + 1
            while j < end:
                sj = self.find_slab(p[j])
                if p[j].node != p[i].node or not self.ensure_exts(c, j, sj):
                    break
                j += 1
            L = j - i
            self.count_run(L)
            if not self.charge_and_account(cpu, objcg, L * self.ofs, p[i].node):
                return False
            if self.get_many:
                self.count("objcg_ref_ops")  # obj_cgroup_get_many(objcg, L)
            self.assign(p[i], objcg, not self.get_many)  # slab from the loop head
            for k in range(i + 1, j):
                self.find_slab(p[k])
                self.assign(p[k], objcg, not self.get_many)
            i = j
        return True

    def hook_upfront(self, c, cpu, objcg, p):
        size = len(p)
        ofs = self.ofs
        # obj_cgroup_charge(objcg, flags, size * obj_full_size(s))
        self.count_run(size)
        if self.v5:
            # get_obj_cgroup_from_current() (obj_cgroup_tryget) in the pre-alloc
            # hook, obj_cgroup_put() at the end of the post-alloc hook
            self.count("objcg_ref_ops", 2)
        nbytes = size * ofs
        self.lock(cpu)
        if self.consume(cpu, objcg, nbytes):
            self.count("consume_hits")
        else:
            self.count("consume_misses")
            if not self.try_charge_memcg(cpu, self.memcg_of(objcg), -(-nbytes // PAGE_SIZE)):
                return False
            rest = nbytes % PAGE_SIZE
            if rest:
                self.lock(cpu)
                self.refill(cpu, True, objcg, PAGE_SIZE - rest, False)
        for j, o in enumerate(p):
            slab = self.find_slab(o)
            if not self.ensure_exts(c, j, slab):
                self.count("obj_exts_skipped")
                self.lock(cpu)  # obj_cgroup_uncharge(objcg, obj_full_size(s))
                self.refill(cpu, True, objcg, ofs, True)
                continue
            self.assign(o, objcg)
            self.mod_objcg_state(cpu, objcg, ofs, o.node)
        return True

    def mod_objcg_state(self, cpu, objcg, nbytes, pgdat):
        """Old-generation mod_objcg_state(): irq-save lock, switch objcg, account.
        v5.9: no stock at all, mod_memcg_lruvec_state() at once."""
        if self.gen == "v5.9":
            self.stat_flush(cpu, objcg, pgdat, nbytes)
            return
        self.lock(cpu)
        if self.ostock[cpu].objcg != objcg:
            self.adopt(cpu, objcg)
        self.account(cpu, True, objcg, nbytes, pgdat)

    # -- 7. freeing ------------------------------------------------------------
    def free_hook(self, o, fc):
        """__memcg_slab_free_hook() for one object."""
        if o.objcg < 0:
            return
        objcg = o.objcg
        self.count("obj_to_index")
        o.objcg = -1
        if self.current_gen:
            locked = self.lock(fc)
            self.refill(fc, locked, objcg, self.ofs, True)
            self.account(fc, locked, objcg, -self.ofs, o.node)
        else:
            self.lock(fc)  # obj_cgroup_uncharge()
            self.refill(fc, True, objcg, self.ofs, True)
            self.mod_objcg_state(fc, objcg, -self.ofs, o.node)
        self.objcg_refs[objcg] -= 1  # obj_cgroup_put()
        self.count("objcg_ref_ops")

    def free_hook_run(self, objcg, node, n, fc):
        """The batched free hook for a run of n objects holding objcg, all on node:
        each object's slot is still read and cleared (obj_to_index), but the run
        takes one stock lock, one uncharge of n * ofs bytes, one statistics update
        of -n * ofs and one reference put for all n (obj_cgroup_put_many)."""
        nbytes = n * self.ofs
        self.count("obj_to_index", n)
        if self.current_gen:
            locked = self.lock(fc)
            self.refill(fc, locked, objcg, nbytes, True)
            self.account(fc, locked, objcg, -nbytes, node)
        else:
            self.lock(fc)
            self.refill(fc, True, objcg, nbytes, True)
            self.mod_objcg_state(fc, objcg, -nbytes, node)
        self.objcg_refs[objcg] -= n
        self.count("objcg_ref_ops")
        self.count("free_runs")

    def free_bulk_call(self, objs, fc):
        """kmem_cache_free_bulk(objs) on CPU fc: the memcg free hook for all the
        objects (free_to_pcs_bulk() runs the hooks first), then each slab free.
        AMBIGUITY (harmless): hooks before slab frees rather than interleaved; the
        two touch disjoint state, so the order cannot change a result."""
        self.phase = _PH["free_hook"]
        if self.free_hook_kind == "per_object":
            for o in objs:
                self.free_hook(o, fc)
        else:
            # Runs: consecutive charged objects with the same objcg and node; an
            # object without objcg is skipped and neither ends nor joins a run.
            run = []  # the objects of the current run
            for o in objs:
                if o.objcg < 0:
                    continue
                if run and (o.objcg != run[0].objcg or o.node != run[0].node):
                    self.free_hook_run(run[0].objcg, run[0].node, len(run), fc)
                    for r in run:
                        r.objcg = -1
                    run = []
                run.append(o)
            if run:
                self.free_hook_run(run[0].objcg, run[0].node, len(run), fc)
                for r in run:
                    r.objcg = -1
        self.phase = _PH["slab_free"]
        for o in objs:
            self.slab_free(o, fc)

    def slab_free(self, o, fc):
        """slab_free() -> free_to_pcs() / __slab_free()."""
        self.count("frees")
        if self.trace is not None:
            # AMBIGUITY: trace frees count only 'frees' (no remote_frees, no
            # sheaf or slab work), as model.md section 8 lists.
            return
        slab = self.slabs[o.slab]
        if slab.kfence:
            # kfence_free(). AMBIGUITY: the KFENCE slab's id returns to the pool
            # but slab_discards is not counted (KFENCE slabs do not count
            # new_slabs either; they are not real slab pages).
            self.release_slab(slab)
            return
        node = self.node_of(fc)
        if o.node == node:
            sh = self.sheaves[fc]
            if len(sh.main) >= self.sheaf_capacity:
                if not sh.spare:
                    sh.main, sh.spare = sh.spare, sh.main
                    self.count("sheaf_swaps")
                elif len(self.barn[node]) < self.barn_max_full:
                    self.barn[node].append(sh.main)  # barn_put_full_sheaf()
                    sh.main = []
                    self.count("barn_puts")
                else:
                    self.count("sheaf_flushes")  # sheaf_flush_unused()
                    for sid, idx in sh.spare:
                        self.free_to_slab(sid, idx)
                    emptied = sh.spare
                    emptied.clear()
                    sh.spare = sh.main
                    sh.main = emptied
            sh.main.append((o.slab, o.idx))
        else:
            self.count("remote_frees")
            self.free_to_slab(o.slab, o.idx)

    def free_to_slab(self, sid, idx):
        """__slab_free(): back on the free list; partial list tail; discard."""
        slab = self.slabs[sid]
        was_full = not slab.free
        slab.free.append(idx)
        plist = self.partial[slab.node]
        if was_full:
            plist.append(sid)  # add_partial(n, slab, DEACTIVATE_TO_TAIL)
        if len(slab.free) == slab.nobjs:
            plist.remove(sid)
            # MODEL: discarded at once (no min_partial empty slabs kept).
            self.release_slab(slab)
            self.count("slab_discards")

    def release_slab(self, slab):
        del self.slabs[slab.sid]
        self.free_ids.append(slab.sid)

    # -- 4. filling p[] ----------------------------------------------------------
    def new_slab_id(self):
        """Slab ids: the most recently discarded first, else the next new one."""
        if self.free_ids:
            return self.free_ids.pop()
        self.next_id += 1
        return self.next_id - 1

    def fill(self, c, cpu, size):
        """kmem_cache_alloc_bulk() with sheaves: returns p[] as a list of Obj."""
        node = self.node_of(cpu)
        kf = -1
        kobj = None
        if size > 0 and self.kfence_prob > 0 and draw_u01(self.seed, S_KFENCE, c) < self.kfence_prob:
            kf = draw_below(self.seed, S_KFENCE_POS, c, size)
            # AMBIGUITY: the KFENCE slab takes its id before any new slab of
            # the normal path (step 1 comes before step 2 in model.md).
            sid = self.new_slab_id()
            self.slabs[sid] = Slab(sid, 0, 1, True, kfence=True)
            kobj = Obj(sid, 0, 0)
            self.count("kfence_objects")
        need = size - (1 if kobj is not None else 0)
        out = []
        sh = self.sheaves[cpu]
        # alloc_from_pcs_bulk(): main sheaf, spare, barn.
        while need > 0:
            if sh.main:
                b = min(need, len(sh.main))
                taken = sh.main[len(sh.main) - b:]  # in array order
                del sh.main[len(sh.main) - b:]
                out.extend(taken)
                need -= b
                self.count("sheaf_hits", b)
            elif sh.spare:
                sh.main, sh.spare = sh.spare, sh.main
                self.count("sheaf_swaps")
            elif self.barn[node]:
                sh.main = self.barn[node].pop()  # barn_replace_empty_sheaf()
                self.count("barn_fetches")
            else:
                break
        # __refill_objects() / get_partial() / new_slab() for the rest.
        t = 0
        while need > 0:
            sid = -1
            if self.partial[node]:
                sid = self.partial[node][0]
            else:
                if draw_u01(self.seed, S_REMOTE, c * 65536 + t) < self.remote_prob:
                    for k in range(1, self.nodes):
                        other = (node + k) % self.nodes
                        if self.partial[other]:
                            sid = self.partial[other][0]
                            break
                if sid < 0:
                    sid = self.new_slab_id()
                    has = draw_u01(self.seed, S_EXTS_CREATE, self.newslab_serial) < self.exts_at_creation
                    self.newslab_serial += 1
                    self.slabs[sid] = Slab(sid, node, self.objs_per_slab, has)
                    self.partial[node].insert(0, sid)
                    self.count("new_slabs")
            slab = self.slabs[sid]
            while need > 0 and slab.free:
                out.append((sid, slab.free.pop()))
                self.count("slab_refill_objects")
                need -= 1
            if not slab.free:
                self.partial[slab.node].pop(0)  # it was the head of its list
            t += 1
        p = [Obj(sid, idx, self.slabs[sid].node) for sid, idx in out]
        if kobj is not None:
            p.insert(kf, kobj)
        return p

    # -- 3. one call ---------------------------------------------------------------
    def run_call(self, c, tcall):
        seed = self.seed
        if tcall is not None and tcall.get("cpu") is not None:
            cpu = int(tcall["cpu"])
        else:
            cpu = draw_below(seed, S_CPU, c, self.cpus)
        node = self.node_of(cpu)
        if tcall is not None and tcall.get("memcg") is not None:
            # AMBIGUITY: a trace memcg replaces the SWITCH/MEMCG draws and, like
            # a switch, stays the CPU's memcg for later calls.
            self.task_memcg[cpu] = int(tcall["memcg"])
        elif draw_u01(seed, S_SWITCH, c) < self.switch_prob:
            self.task_memcg[cpu] = draw_below(seed, S_MEMCG, c, self.memcgs)
        objcg = self.objcg_of(self.task_memcg[cpu], node)
        if self.pending[cpu]:
            # drain_all_stock()'s work item for this CPU runs before the call.
            self.phase = _PH["hook"]
            what = self.pending[cpu]
            self.pending[cpu] = 0
            self.drain_local(cpu, what)

        self.phase = _PH["slab_alloc"]
        if tcall is not None:
            p = [Obj(sid, -1, onode) for sid, onode, _ in map(_trace_entry, tcall["objects"])]
        else:
            size = self.bulk_size
            if self.bulk_uniform:
                size = 1 + draw_below(seed, S_SIZE, c, self.bulk_size)
            p = self.fill(c, cpu, size)
        size = len(p)
        self.count("calls")
        self.count("objects", size)
        runs = 0
        for j, o in enumerate(p):
            if j == 0 or o.node != p[j - 1].node:
                runs += 1
            if o.node != node:
                self.count("remote_objects")
        self.count("pgdat_runs", runs)

        self.phase = _PH["hook"]
        # AMBIGUITY: an empty call (trace only) runs no hook at all (the
        # kernel's bulk path returns before slab_post_alloc_hook()).
        ok = size == 0 or getattr(self, "hook_" + self.strategy)(c, cpu, objcg, p)

        if not ok:
            self.count("hook_failures")
            # memcg_slab_post_alloc_hook() frees the whole array on the same CPU in
            # one kmem_cache_free_bulk() call.
            self.free_bulk_call(p, cpu)
            # The workload keeps freeing at its pace: a failed call still lets
            # `size` of the oldest live objects go (docs/model.md section 3), in free
            # calls of free_bulk objects, the last one shorter.
            to_free = min(size, len(self.live))
        else:
            for o in p:
                o.cpu = cpu
                self.live.append(o)
            # Only whole free calls: up to free_bulk - 1 objects wait above the
            # live-set size for the next call.
            over = len(self.live) - self.live_objects
            to_free = (over // self.free_bulk) * self.free_bulk if over > 0 else 0
        while to_free > 0:
            n = min(self.free_bulk, to_free)
            to_free -= n
            objs = [self.live.popleft() for _ in range(n)]
            # One CPU per call: the first object's allocating CPU, or another one
            # drawn with the first object's free serial.  Serials count objects.
            s = self.free_serial
            self.free_serial += n
            fc = objs[0].cpu
            if self.cpus > 1 and draw_u01(seed, S_FREE_CPU, s) < self.remote_free_prob:
                fc = (fc + 1 + draw_below(seed, S_FREE_OTHER, s, self.cpus - 1)) % self.cpus
            self.free_bulk_call(objs, fc)

    # -- 9. result -------------------------------------------------------------------
    def result(self):
        st = self.ostock
        return {
            "counters": [list(row) for row in self.counters],
            "run_hist": list(self.run_hist),
            "pc_usage": [pc.usage for pc in self.pcs],
            "pc_failcnt": [pc.failcnt for pc in self.pcs],
            "stock_objcg": [s.objcg for s in st],
            "stock_nr_bytes": [s.nr_bytes for s in st],
            "stock_pgdat": [s.pgdat for s in st],
            "stock_acc_r": [s.acc_r for s in st],
            "stock_acc_u": [s.acc_u for s in st],
            "mstock_memcg": [list(ms.memcg) for ms in self.mstock],
            "mstock_pages": [list(ms.pages) for ms in self.mstock],
            "oslot_objcg": [list(s.slots) for s in st],
            "oslot_bytes": [list(s.slot_bytes) for s in st],
            "stock_index": [s.index for s in st],
            "stock_rr": [s.rr for s in st],
            "mstock_rr": [ms.rr for ms in self.mstock],
            "drain_pending": list(self.pending),
            "objcg_refs": list(self.objcg_refs),
            "nr_charged_bytes": list(self.nr_charged_bytes),
            "pagecache": list(self.pagecache),
            "stat": [list(row) for row in self.stat],
            "live_slab": [o.slab for o in self.live],
            "live_node": [o.node for o in self.live],
            "live_objcg": [o.objcg for o in self.live],
            "line_owner_pc": list(self.pc_owner),
            "line_owner_objcg": list(self.owner_objcg),
            "line_owner_stat": list(self.owner_stat),
            "forced": self.forced,
        }


def _trace_entry(ent):
    """(slab_id, node, has_exts) from a tuple/list or a dict trace entry."""
    if isinstance(ent, dict):
        return int(ent["slab"]), int(ent["node"]), bool(ent["has_exts"])
    sid, node, has_exts = ent
    return int(sid), int(node), bool(has_exts)


def simulate_reference(params: dict, strategy: str, seed: int, calls: int,
                       trace: list | None = None) -> dict:
    """Run docs/model.md for ``calls`` calls (or over ``trace``); see the module docstring.

    ``trace``: per call ``{"cpu": int|None, "memcg": int|None, "objects":
    [(slab, node, has_exts), ...]}``; it replaces the SLUB model (section 8).
    Returns the final state of section 9 as plain lists of ints.
    """
    sim = Sim(params, strategy, seed, trace)
    if trace is not None:
        for c, tcall in enumerate(trace):
            sim.run_call(c, tcall)
    else:
        for c in range(int(calls)):
            sim.run_call(c, None)
    return sim.result()


# ---------------------------------------------------------------------------
# Self-check: docs/model.md §6's worked example through the trace path
# ---------------------------------------------------------------------------
def _default_params(**over):
    p = dict(
        cpus=1, nodes=1, memcgs=1, depth=2, memcg_max_pages=0, ancestor_max_pages=0,
        pagecache_pages=0, reclaim_pages=32, reclaim_retries=5, object_size=256,
        objs_per_slab=32, reclaimable=False, sheaf_capacity=26, barn_max_full=10,
        bulk_size=16, bulk_dist="fixed", cgroup_switch_prob=0.0, gfp_nofail=False,
        gfp_allow_spin=True, remote_prob=1000 / 1024, kfence_prob=0.0,
        exts_at_creation=1.0, exts_fail_prob=0.0, live_objects=1000,
        remote_free_prob=0.0, irq_reentry_prob=0.0, get_many=False,
        run_cap_bytes=INT_MAX - PAGE_SIZE,
    )
    p.update(over)
    return p


def _selfcheck():
    import time

    params = _default_params(cpus=1, nodes=2)
    nodes = [0, 0, 0, 1, 1, 0]
    main = {"cpu": 0, "memcg": 0, "objects": [(10 + j, n, True) for j, n in enumerate(nodes)]}
    warm = {"cpu": 0, "memcg": 0, "objects": [(0, 0, True)]}  # leaves 3832 bytes in stock
    names = ("virt_to_slab", "stock_locks", "stat_updates", "stat_flushes",
             "consume_hits", "consume_misses", "runs")
    hook = _PH["hook"]
    expect_hit = {"per_object": (6, 6, 6, 2), "batched_v1": (14, 3, 3, 2),
                  "batched": (11, 3, 3, 2), "upfront": (6, 7, 6, 2)}
    expect_miss = {"per_object": (6, 7, 6, 2), "batched_v1": (14, 4, 3, 2),
                   "batched": (11, 4, 3, 2), "upfront": (6, 10, 6, 2)}
    # upfront on v6.12: the charge miss also takes stock_lock in consume_stock()
    # and refill_stock() (the memcg stock shares it), 8 + 2.
    for strat in STRATEGIES:
        base = simulate_reference(params, strat, 1, 0, [warm])["counters"][hook]
        both = simulate_reference(params, strat, 1, 0, [warm, main])
        d = {n: both["counters"][hook][_EV[n]] - base[_EV[n]] for n in names}
        cold = simulate_reference(params, strat, 1, 0, [main])
        dc = {n: cold["counters"][hook][_EV[n]] for n in names}
        print(f"{strat:11s} hit : " + " ".join(f"{n}={d[n]}" for n in names)
              + f"  acc_u={both['stock_acc_u'][0]} pgdat={both['stock_pgdat'][0]}")
        print(f"{strat:11s} miss: " + " ".join(f"{n}={dc[n]}" for n in names))
        got = tuple(d[n] for n in names[:4])
        assert got == expect_hit[strat], (strat, got)
        assert d["consume_misses"] == 0, strat
        gotc = tuple(dc[n] for n in names[:4])
        assert gotc == expect_miss[strat], (strat, gotc)
        assert both["stock_acc_u"][0] == 264 and both["stock_pgdat"][0] == 0
        # Batching changes how often the stock is touched, not the statistics.
        assert both["stat"] == [[792 + 264, 528]], both["stat"]

    # A few invariants on seeded SLUB runs (docs/model.md §6, 8).
    t0 = time.time()
    for strat, kernel in [(s, k) for s in STRATEGIES for k in EXISTS_ON[s]]:
        prm = _default_params(kernel=kernel, cpus=4, nodes=2, memcgs=3, depth=3, live_objects=300,
                              remote_free_prob=0.3, kfence_prob=0.05,
                              exts_at_creation=0.7, exts_fail_prob=0.2,
                              cgroup_switch_prob=0.1, irq_reentry_prob=0.05,
                              bulk_dist="uniform", bulk_size=16)
        r = simulate_reference(prm, strat, 12345, 2000)
        _check_invariants(prm, r)
    print(f"4 x 2000 calls in {time.time() - t0:.2f}s; invariants hold")
    print("selfcheck OK")


def _check_invariants(prm, r):
    """docs/model.md §10: references, bytes against pages, statistics per node,
    with every objcg's bytes in whole pages and its pages on its memcg."""
    ofs, memcgs, nodes = prm["object_size"] + 8, prm["memcgs"], prm["nodes"]
    n_objcgs = len(r["objcg_refs"])
    per = n_objcgs // memcgs
    held = [0] * n_objcgs
    on_node = [[0] * nodes for _ in range(memcgs)]
    for objcg, node in zip(r["live_objcg"], r["live_node"]):
        if objcg >= 0:
            held[objcg] += 1
            on_node[objcg // per][node] += 1
    # (objcg, bytes) of every cached objcg; (objcg, node, acc) of every accumulator pair
    cached, accs = [], []
    for k in range(len(r["stock_objcg"])):
        cached.append((r["stock_objcg"][k], r["stock_nr_bytes"][k]))
        cached += list(zip(r["oslot_objcg"][k], r["oslot_bytes"][k]))
        holder = r["stock_objcg"][k]
        if r["stock_index"][k] >= 0:
            holder = r["oslot_objcg"][k][r["stock_index"][k]]
        accs.append((holder, r["stock_pgdat"][k], r["stock_acc_r"][k] + r["stock_acc_u"][k]))
    pages_of = [0] * memcgs
    for o in range(n_objcgs):
        assert r["objcg_refs"][o] == held[o] + sum(1 for c in cached if c[0] == o), o
        nbytes = held[o] * ofs + r["nr_charged_bytes"][o] + sum(c[1] for c in cached if c[0] == o)
        assert nbytes % PAGE_SIZE == 0, (o, nbytes)
        pages_of[o // per] += nbytes // PAGE_SIZE
    for m in range(memcgs):
        pages = r["pc_usage"][m] - r["pagecache"][m] - sum(
            pg for row_m, row_p in zip(r["mstock_memcg"], r["mstock_pages"])
            for mm, pg in zip(row_m, row_p) if mm == m)
        assert pages == pages_of[m], (m, pages, pages_of[m])
        for n in range(nodes):
            acc = sum(a[2] for a in accs if a[2] and a[0] // per == m and a[1] == n)
            assert r["stat"][m][n] + acc == on_node[m][n] * ofs, (m, n)


if __name__ == "__main__":
    _selfcheck()
