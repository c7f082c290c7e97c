"""The workloads of ``bulksim measure``: what each one makes the running kernel allocate.

Each workload is one loop of the C driver (``driver.c``, built at run time) and the
call sites, by function, of the slab entry points that allocate and free its object.
Samples are attributed to a workload's object only under those sites
(``engine.measure.attribute``); what else the syscalls allocate (the LSM blob of a
file, the name buffer of open(), the ring's own memory) is left out.  Facts are from
the v6.18 sources (file:function named) and this kernel's kallsyms (docs/measure.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    cache: str              # the slab cache of the object (as /proc/slabinfo names it)
    object_size: int        # its object size in bytes (slabinfo objsize; read at run time when possible)
    bulk_size: int          # objects per slab allocation call
    live_objects: int       # objects live at once (what the model's FIFO live set holds)
    alloc_sites: frozenset  # (slab entry point, calling function) of the object's allocation
    free_sites: frozenset   # the same for its free; empty: the free is not captured
    not_captured: str = ""  # what is not captured, and why
    needs_io_uring: bool = False
    reason: str = ""        # why this workload

    @property
    def phases_captured(self) -> tuple[str, ...]:
        ph = ("post_alloc_hook", "slab_alloc")
        return ph + ("free_hook", "slab_free") if self.free_sites else ph


WORKLOADS: dict[str, Workload] = {
    "io_uring_nop": Workload(
        name="io_uring_nop",
        description="io_uring rings of 256 entries, 256 NOPs submitted in one io_uring_enter() "
                    "per ring, then torn down",
        cache="io_kiocb", object_size=256, bulk_size=8, live_objects=256,
        # io_uring/io_uring.c:__io_alloc_req_refill: kmem_cache_alloc_bulk(req_cachep, gfp,
        # ARRAY_SIZE(reqs) = IO_REQ_ALLOC_BATCH = 8, reqs); req_cachep is SLAB_ACCOUNT.
        alloc_sites=frozenset({("kmem_cache_alloc_bulk_noprof", "__io_alloc_req_refill")}),
        free_sites=frozenset(),
        not_captured="free_hook and slab_free: completed requests go back to the ring's own "
                     "cache (io_req_add_to_cache), and the cache is freed only when the ring is "
                     "torn down, by kmem_cache_free() in __io_req_caches_free(), called from "
                     "io_ring_exit_work() in a kworker, which perf does not record (only the "
                     "workload's own process is recorded)",
        needs_io_uring=True,
        reason="the path the model simulates: a bulk allocation of 8 from an accounted cache"),
    "open_close": Workload(
        name="open_close",
        description="open('/dev/null') and close() in a loop",
        cache="filp", object_size=192, bulk_size=1, live_objects=0,
        # fs/file_table.c:alloc_empty_file -> kmem_cache_alloc(filp_cachep, ..) (SLAB_ACCOUNT);
        # close() -> fput_close_sync -> __fput -> file_free (inlined) -> kmem_cache_free().
        alloc_sites=frozenset({("kmem_cache_alloc_noprof", "alloc_empty_file")}),
        free_sites=frozenset({("kmem_cache_free", "__x64_sys_close"), ("kmem_cache_free", "__fput"),
                              ("kmem_cache_free", "____fput"), ("kmem_cache_free", "file_free")}),
        reason="single allocation and free (bulk 1) of an accounted object, both in the task"),
    "eventfd_dentry": Workload(
        name="eventfd_dentry",
        description="eventfd() and close() in a loop; the object is the anonymous file's dentry",
        cache="dentry", object_size=192, bulk_size=1, live_objects=0,
        # fs/file_table.c:alloc_file_pseudo -> d_alloc_pseudo -> fs/dcache.c:__d_alloc ->
        # kmem_cache_alloc_lru(dentry_cache, ..) (SLAB_ACCOUNT); a pseudo dentry is
        # DCACHE_NORCU, so __dentry_kill -> dentry_free frees it at once, in the task.
        alloc_sites=frozenset({("kmem_cache_alloc_lru_noprof", "__d_alloc")}),
        free_sites=frozenset({("kmem_cache_free", "__dentry_kill"), ("kmem_cache_free", "dentry_free"),
                              ("kmem_cache_free", "__d_free")}),
        reason="another cache, allocated through kmem_cache_alloc_lru(): its post-alloc hook "
               "also allocates the memcg's list_lru (memcg_list_lru_alloc), which the model "
               "does not simulate; freed without RCU in the task. (The eventfd_ctx itself is "
               "kmalloc'd without __GFP_ACCOUNT on 6.18: no hook ran under do_eventfd here; an "
               "epoll item or a socket is freed after an RCU grace period, outside the task.)"),
}

PHASES = ("post_alloc_hook", "free_hook", "slab_alloc", "slab_free")
