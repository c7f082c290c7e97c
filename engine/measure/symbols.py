"""Symbol sets of the four phases, per kernel release (docs/measure.md).

A sample belongs to a phase by its kernel call chain: under a slab entry point called
from one of the workload's call sites (``Workload.alloc_sites``/``free_sites``), it is
``post_alloc_hook`` if ``__memcg_slab_post_alloc_hook`` is on the chain below the entry
point, ``free_hook`` if ``__memcg_slab_free_hook`` is, else ``slab_alloc`` or
``slab_free`` by the entry point (slab time without its hooks: inclusive under the
entry point minus the hook).

What is inlined where (v6.18, mm/slub.c and mm/memcontrol.c; checked against this
kernel's kallsyms, where an inlined function has no symbol):
- kmem_cache_alloc_bulk_noprof -> slab_post_alloc_hook -> memcg_slab_post_alloc_hook
  are inlined into the entry point; __kmem_cache_alloc_bulk stays a function of its own
  (slab time); __memcg_slab_post_alloc_hook is out of line (mm/memcontrol.c).
- kmem_cache_alloc_noprof / kmem_cache_alloc_lru_noprof / __kmalloc_cache_noprof ->
  slab_alloc_node (inlined) -> ___slab_alloc (out of line on the slow path).
- kmem_cache_free / kfree -> slab_free -> memcg_slab_free_hook, do_slab_free: inlined;
  __memcg_slab_free_hook is out of line; __slab_free (slow path) too.
- Inside the hooks: obj_cgroup_charge_account, __account_obj_stock, refill_obj_stock,
  obj_cgroup_charge_pages, try_charge_memcg are out of line, consume_obj_stock is
  inlined into obj_cgroup_charge_account (inclusive accounting makes this irrelevant
  to the phases; it matters to anyone reading a flat profile).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SymbolSet:
    releases: str
    post_alloc_hook: frozenset
    free_hook: frozenset
    alloc_entries: frozenset
    free_entries: frozenset
    note: str = ""

    def required(self) -> set[str]:
        return set(self.post_alloc_hook | self.free_hook)


# v6.10 renamed the allocation entry points *_noprof (memory allocation profiling,
# include/linux/alloc_tag.h alloc_hooks()); the memcg hooks have had their names since v6.1.
_NOPROF = SymbolSet(
    releases="6.10-6.18",
    post_alloc_hook=frozenset({"__memcg_slab_post_alloc_hook"}),
    free_hook=frozenset({"__memcg_slab_free_hook"}),
    alloc_entries=frozenset({"kmem_cache_alloc_bulk_noprof", "kmem_cache_alloc_noprof",
                             "kmem_cache_alloc_lru_noprof", "kmem_cache_alloc_node_noprof",
                             "__kmalloc_cache_noprof", "__kmalloc_noprof", "__kmalloc_cache_node_noprof",
                             "__kmalloc_node_noprof"}),
    free_entries=frozenset({"kmem_cache_free", "kfree", "kmem_cache_free_bulk"}),
    note="checked on 6.18 (6.18.44 here); 6.10-6.17 have the same entry points and hook names",
)

_OLD = SymbolSet(
    releases="6.1-6.9",
    post_alloc_hook=frozenset({"__memcg_slab_post_alloc_hook"}),
    free_hook=frozenset({"__memcg_slab_free_hook"}),
    alloc_entries=frozenset({"kmem_cache_alloc_bulk", "kmem_cache_alloc", "kmem_cache_alloc_lru",
                             "kmem_cache_alloc_node", "kmalloc_trace", "__kmalloc"}),
    free_entries=frozenset({"kmem_cache_free", "kfree", "kmem_cache_free_bulk"}),
    note="not tried on a running kernel of this range",
)


def release_tuple(release: str) -> tuple[int, int]:
    """'6.18.44-fc-v1300' -> (6, 18); unparsable -> (0, 0)."""
    import re

    m = re.match(r"(\d+)\.(\d+)", release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def symbol_set(release: str) -> SymbolSet:
    return _NOPROF if release_tuple(release) >= (6, 10) else _OLD


def entry_name(sym: str, entries: frozenset) -> str | None:
    """The entry point a kallsyms name stands for (``kfree`` or a compiler clone such as
    ``kmem_cache_free_bulk.part.0``), or None."""
    if sym in entries:
        return sym
    base = sym.split(".", 1)[0]
    return base if base in entries else None
