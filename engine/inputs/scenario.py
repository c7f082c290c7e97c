"""Scenario parameters: the simulated machine, cache, call stream and model choices.

A :class:`Scenario` is a frozen dataclass validated on construction.  Presets are in
:data:`PRESETS`; ``Scenario.from_preset(name, **overrides)`` builds one.  Every field
can be set from the command line as ``--set name=value``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import BadInputError, BadTypeError
from ..model.constants import (  # noqa: F401 - re-exported for users of the scenario
    INT_MAX,
    MAX_BULK,
    MAX_OBJECT_SIZE,
    MEMCG_CHARGE_BATCH,
    NR_MEMCG_STOCK,
    PAGE_SIZE,
)

BULK_DISTS = ("fixed", "uniform")
FREE_HOOKS = ("per_object", "batched")  # engine.model.state.FREE_HOOKS
# Upper bounds that keep every derived value and counter inside int64 and every
# kernel loop short (docs/errors.md): a kernel only ever sees values within them.
MAX_OBJS_PER_SLAB = 1024  # the object handle keeps the index in slab in 10 bits
MAX_CALLS = 10**12  # calls x MAX_BULK objects stay far below 2**63
MAX_PAGES = 2**40  # limits and page cache (4 PiB); x 4096 memcgs stays below 2**63
MAX_RECLAIM_RETRIES = 1024  # the charge loop runs at most this many extra rounds
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")


@dataclass(frozen=True)
class Scenario:
    """Everything that defines a simulated workload (docs/model.md §2-§4; every field's
    unit and meaning is in :data:`PARAM_DOCS`, which ``bulksim scenarios --show`` prints).

    Units are in the names; probabilities are in [0, 1].  ``0`` means "automatic"
    for ``objs_per_slab`` and ``sheaf_capacity`` and "unlimited" for the limits.
    """

    name: str = "custom"
    # the machine
    cpus: int = 4
    nodes: int = 2
    memcgs: int = 4
    depth: int = 2
    memcg_max_pages: int = 0
    ancestor_max_pages: int = 0
    pagecache_pages: int = 0
    reclaim_pages: int = 32  # SWAP_CLUSTER_MAX: pages one reclaim pass frees (choice)
    reclaim_retries: int = 16  # MAX_RECLAIM_RETRIES
    # the accounted cache
    object_size: int = 256
    objs_per_slab: int = 0
    reclaimable: bool = False
    sheaf_capacity: int = 0
    barn_max_full: int = 10  # MAX_FULL_SHEAVES
    # the call stream
    calls: int = 100_000
    bulk_size: int = 16
    bulk_dist: str = "fixed"
    cgroup_switch_prob: float = 0.01
    gfp_nofail: bool = False
    gfp_allow_spin: bool = True
    gfp_allow_block: bool = True  # __GFP_DIRECT_RECLAIM (needs gfp_allow_spin)
    gfp_high: bool = False  # __GFP_HIGH: forced past the limit like __GFP_NOFAIL
    # the frees (docs/model.md §3, §7a): objects per kmem_cache_free_bulk() call of the
    # workload (1: single frees), and the memcg free hook: per object or per run
    free_bulk: int = 1
    free_hook: str = "per_object"
    # the kernel generation ("" = each strategy's own; docs/model.md §5a)
    kernel: str = ""
    # the obj stock's lock kind ("" = the generation's own; v5.14 also has "irqsave":
    # docs/model.md §5a).  Counts do not depend on it; the cost profile prices it.
    stock_lock: str = ""
    # SLUB
    # remote_node_defrag_ratio's default of 1000 out of 1024 (mm/slub.c: kmem_cache_open
    # sets s->remote_node_defrag_ratio = 1000; get_any_partial compares it with
    # get_cycles() % 1024)
    remote_prob: float = 1000 / 1024
    kfence_prob: float = 0.0
    exts_at_creation: float = 1.0
    exts_fail_prob: float = 0.0
    live_objects: int = 4096
    remote_free_prob: float = 0.1
    # memcg hook
    irq_reentry_prob: float = 0.0
    get_many: bool = False
    run_cap_bytes: int = INT_MAX - PAGE_SIZE
    trace: str = ""
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _normalise_numbers(self)
        _validate(self)

    # -- derived values -------------------------------------------------------
    @property
    def ofs(self) -> int:
        """obj_full_size: bytes charged per object (object + 8-byte objcg pointer)."""
        return self.object_size + 8

    @property
    def resolved_objs_per_slab(self) -> int:
        if self.objs_per_slab:
            return self.objs_per_slab
        # MODEL: at most MAX_OBJS_PER_SLAB (the object handle's index field); objects
        # under 8 bytes would otherwise derive more (SLUB itself rounds them up to 8).
        return max(4, min(MAX_OBJS_PER_SLAB, 8192 // self.object_size))

    @property
    def resolved_sheaf_capacity(self) -> int:
        if self.sheaf_capacity:
            return self.sheaf_capacity
        s = self.object_size
        return 4 if s >= 4096 else 12 if s >= 1024 else 26 if s >= 256 else 60

    # -- what ran ------------------------------------------------------------
    def overrides(self) -> dict[str, Any]:
        """Every parameter that differs from the preset the scenario is named after (from
        the defaults for a name that is no preset), in field order.  Derived from the
        values, not from how they were set: ``--set``, ``--nodes`` and ``replace`` count
        alike, and setting a value back to the preset's is no override."""
        ref = {f.name: f.default for f in fields(Scenario)}
        ref.update(PRESETS.get(self.name, {}))
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("name", "description") and getattr(self, f.name) != ref[f.name]}

    def overrides_text(self) -> str:
        """The overrides as ``key=value,key=value`` ("" for the preset as it is): the
        ``overrides`` column of every table, and the part after ``+`` in :attr:`label`."""
        return ",".join(f"{k}={_value_text(v)}" for k, v in self.overrides().items()
                        if k != "calls")

    @property
    def label(self) -> str:
        """The preset's name and what was changed: ``default`` or
        ``default+object_size=64,nodes=4`` (``calls`` is its own column everywhere and
        is left out)."""
        extra = self.overrides_text()
        return f"{self.name}+{extra}" if extra else self.name

    def describe(self, changes: bool = True) -> str:
        """A description true of the values: the preset's own text when nothing was
        changed, else the simulated machine and stream in words, with what changed from
        the preset (``changes``; the console prints those on a line of their own)."""
        changed = {k: v for k, v in self.overrides().items() if k != "calls"}
        if not changed and (self.description or self.name in PRESETS):
            return self.description or PRESETS[self.name].get("description", "")
        facts = (f"{self.cpus} CPU{'s' * (self.cpus != 1)} on {self.nodes} node{'s' * (self.nodes != 1)}, "
                 f"{self.memcgs} cgroup{'s' * (self.memcgs != 1)} {self.depth} level{'s' * (self.depth != 1)} deep, "
                 f"bulk {self.bulk_size} ({self.bulk_dist}) of {self.object_size}-byte objects, "
                 f"cgroup switch probability {_value_text(self.cgroup_switch_prob)} per call, "
                 f"{_value_text(self.remote_free_prob)} of frees on another CPU")
        if self.memcg_max_pages:
            facts += f", a limit of {self.memcg_max_pages} pages per cgroup"
        if not changed or not changes:
            return facts
        what = ", ".join(f"{k}={_value_text(v)}" for k, v in changed.items())
        origin = f"preset {self.name!r}" if self.name in PRESETS else "the defaults"
        return f"{facts} ({origin} with {what})"

    # -- conversions ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def provenance_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` as a result's provenance records it: with the description true
        of the values (:meth:`describe`).  ``Scenario(**d)`` rebuilds the scenario."""
        d = self.to_dict()
        d["description"] = self.describe()
        return d

    def to_json(self) -> str:
        """The scenario as a result's provenance records it (:meth:`provenance_dict`)."""
        return json.dumps(self.provenance_dict(), sort_keys=True)

    def replace(self, **changes: Any) -> "Scenario":
        _check_names(changes)
        return dataclasses.replace(self, **changes)

    def with_settings(self, settings: list[str]) -> "Scenario":
        """Apply ``key=value`` strings (the CLI's ``--set``)."""
        if isinstance(settings, str) or not isinstance(settings, (list, tuple)) \
                or not all(isinstance(x, str) for x in settings):
            raise BadTypeError(f"settings must be a list of 'key=value' strings, got {_short(settings)}")
        changes: dict[str, Any] = {}
        for item in settings:
            key, value = split_setting(item, "--set", "key=value")
            if key in changes:  # the later one would win silently: say which to keep
                raise BadInputError(f"--set {key} given twice ({_short(item)} after an earlier {key}=); "
                                    "give it once")
            changes[key] = parse_value(key, value)
        return self.replace(**changes)

    @classmethod
    def from_preset(cls, name: str, /, **overrides: Any) -> "Scenario":
        if not isinstance(name, str):
            raise BadTypeError(f"scenario must be a Scenario or a preset name, got {_short(name)}")
        if name not in PRESETS:
            raise BadInputError(f"unknown scenario {name!r}{_suggest(name, PRESETS)}; "
                               f"known: {', '.join(PRESETS)}")
        base = {"name": name, **PRESETS[name]}
        base.update(overrides)  # name=... renames the scenario built from the preset
        _check_names(base)
        return cls(**base)


_FIELD_TYPES = {f.name: f.type for f in fields(Scenario)}
_SETTABLE = [f.name for f in fields(Scenario) if f.name != "description"]


def split_setting(item: str, option: str, form: str) -> tuple[str, str]:
    """``(key, value)`` of a ``key=value`` command-line item (``--set``, ``--grid``);
    the key normalised (``-`` to ``_``) and checked to be a scenario field."""
    if "=" not in item:
        raise BadInputError(f"{option} expects {form}, got {item!r}")
    key, value = item.split("=", 1)
    key = key.strip().replace("-", "_")
    _check_names({key: None})
    return key, value.strip()


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_names(d: dict[str, Any]) -> None:
    for key in d:
        if key not in _FIELD_TYPES:
            raise BadInputError(f"unknown scenario parameter {key!r}{_suggest(key, _SETTABLE)}")


def parse_value(key: str, text: str) -> Any:
    """Parse a CLI string into the type of scenario field ``key``."""
    kind = _FIELD_TYPES[key]
    try:
        if kind in ("bool", bool):
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind in ("int", int):
            return int(text.replace("_", ""), 0)
        if kind in ("float", float):
            return float(text)
        return text
    except ValueError:
        raise BadInputError(f"{key}: expected {kind}, got {text!r}") from None


def _normalise_numbers(s: Scenario) -> None:
    """Integers of any kind (numpy's ``np.int64(4)`` included) become Python ints, and
    numpy floats Python floats, so that every check, the JSON provenance and the kernels
    see one type; booleans stay refused where an integer is expected."""
    import numpy as np

    from ..checks import as_int

    for f in fields(s):
        v = getattr(s, f.name)
        if f.type in ("int", int, "float", float) and not isinstance(v, (int, float)):
            n = as_int(v)
            if n is None and f.type in ("float", float) and isinstance(v, np.floating):
                n = float(v)
            if n is not None:
                object.__setattr__(s, f.name, n)
        elif f.type in ("bool", bool) and isinstance(v, np.bool_):
            object.__setattr__(s, f.name, bool(v))


def _validate(s: Scenario) -> None:
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise BadInputError(f"scenario {str(s.name)[:100]!r}: {msg}")

    def need_type(cond: bool, msg: str) -> None:
        if not cond:
            raise BadTypeError(f"scenario {str(s.name)[:100]!r}: {msg}")

    for f in fields(s):
        v = getattr(s, f.name)
        if f.type in ("int", int):
            need_type(isinstance(v, int) and not isinstance(v, bool),
                      f"{f.name} must be an integer, got {_short(v)}")
            need(-2**62 <= v <= 2**62, f"{f.name} is out of range, got {_short(v)}")
        elif f.type in ("float", float):
            need_type(isinstance(v, (int, float)) and not isinstance(v, bool),
                      f"{f.name} must be a number, got {_short(v)}")
            # an int compares exactly (10**400 would overflow math.isfinite)
            need(isinstance(v, int) or math.isfinite(v), f"{f.name} must be a finite number, got {v!r}")
            need(0 <= v <= 1, f"{f.name} is a probability and must be in [0, 1], got {_short(v)}")
            if isinstance(v, int):  # 1 and 1.0 are one scenario: one provenance, one point key
                object.__setattr__(s, f.name, float(v))
        elif f.type in ("bool", bool):
            need_type(isinstance(v, bool), f"{f.name} must be true or false, got {_short(v)}")
        else:
            need_type(isinstance(v, str), f"{f.name} must be a string, got {_short(v)}")
    # The name becomes a file-name component (sweep partitions): no '/', no '..'.
    need(NAME_RE.fullmatch(s.name) is not None,
         f"name must be 1-100 letters, digits or _.+- and start with a letter or digit, got {s.name[:100]!r}")
    need("\0" not in s.trace and len(s.trace) <= 4096, "trace must be a file path")
    # printed under the scenario line, in reports and the JSON: one line, no escape sequence
    need(s.description.isprintable() and len(s.description) <= 1000,
         f"description must be one line of printable text (at most 1000 characters), "
         f"got {_short(s.description)}")
    need(1 <= s.cpus <= 1024, f"cpus must be in 1..1024, got {s.cpus}")
    # Nodes without CPUs are allowed (memory-only nodes; traces may use them).
    need(1 <= s.nodes <= 64, f"nodes must be in 1..64, got {s.nodes}")
    need(1 <= s.memcgs <= 4096, f"memcgs must be in 1..4096, got {s.memcgs}")
    need(1 <= s.depth <= 16, f"depth must be in 1..16, got {s.depth}")
    for name in ("memcg_max_pages", "ancestor_max_pages", "pagecache_pages", "reclaim_pages",
                 "reclaim_retries", "objs_per_slab", "sheaf_capacity"):
        need(getattr(s, name) >= 0, f"{name} must be >= 0, got {getattr(s, name)}")
    need(1 <= s.object_size <= MAX_OBJECT_SIZE,
         f"object_size must be in 1..{MAX_OBJECT_SIZE} bytes, got {s.object_size}")
    need(s.objs_per_slab <= 1024, f"objs_per_slab must be <= 1024, got {s.objs_per_slab}")
    need(s.objs_per_slab == 0 or s.objs_per_slab >= 2, "objs_per_slab must be 0 (auto) or >= 2")
    need(s.sheaf_capacity <= 1024, f"sheaf_capacity must be <= 1024, got {s.sheaf_capacity}")
    need(0 <= s.barn_max_full <= 1024, f"barn_max_full must be in 0..1024, got {s.barn_max_full}")
    need(0 <= s.calls <= MAX_CALLS, f"calls must be in 0..{MAX_CALLS:.0e}, got {s.calls}")
    for name in ("memcg_max_pages", "ancestor_max_pages", "pagecache_pages", "reclaim_pages"):
        need(getattr(s, name) <= MAX_PAGES, f"{name} must be <= 2**40, got {getattr(s, name)}")
    need(s.reclaim_retries <= MAX_RECLAIM_RETRIES,
         f"reclaim_retries must be in 0..{MAX_RECLAIM_RETRIES}, got {s.reclaim_retries}")
    need(1 <= s.bulk_size <= MAX_BULK, f"bulk_size must be in 1..{MAX_BULK}, got {s.bulk_size}")
    need(s.bulk_dist in BULK_DISTS, f"bulk_dist must be one of {', '.join(BULK_DISTS)}, got {s.bulk_dist!r}")
    need(1 <= s.free_bulk <= MAX_BULK, f"free_bulk must be in 1..{MAX_BULK}, got {s.free_bulk}")
    need(s.free_hook in FREE_HOOKS,
         f"free_hook must be one of {', '.join(FREE_HOOKS)}, got {str(s.free_hook)[:40]!r}")
    need(0 <= s.live_objects <= 50_000_000, f"live_objects must be in 0..50000000, got {s.live_objects}")
    need(s.run_cap_bytes >= s.ofs, f"run_cap_bytes must be at least one object ({s.ofs}), got {s.run_cap_bytes}")
    need(s.run_cap_bytes <= INT_MAX, f"run_cap_bytes must be <= INT_MAX, got {s.run_cap_bytes}")
    from ..model.state import GENERATIONS

    need(s.kernel in ("",) + GENERATIONS,
         f"kernel must be one of {', '.join(GENERATIONS)} (or empty: each strategy's own), "
         f"got {s.kernel!r}")
    need(s.stock_lock in ("", "irqsave", "preempt", "trylock"),
         f"stock_lock must be irqsave, preempt or trylock (or empty: the generation's own), "
         f"got {str(s.stock_lock)[:40]!r}")
    if s.memcg_max_pages and s.pagecache_pages > s.memcg_max_pages:
        need(False, "pagecache_pages cannot exceed memcg_max_pages")
    # Every ancestor counter starts with the page cache of all the leaves below it: a
    # start above ancestor_max_pages is a state no kernel reaches (and breaks usage <= max).
    if s.depth > 1 and s.ancestor_max_pages and s.pagecache_pages * s.memcgs > s.ancestor_max_pages:
        need(False, f"pagecache_pages x memcgs ({s.pagecache_pages} x {s.memcgs}) cannot exceed "
                    f"ancestor_max_pages ({s.ancestor_max_pages}): the ancestors hold every leaf's page cache")
    # Derived values the kernels' encodings depend on (engine/model/state.py).
    need(2 <= s.resolved_objs_per_slab <= MAX_OBJS_PER_SLAB,
         f"objs_per_slab resolves to {s.resolved_objs_per_slab}, outside 2..{MAX_OBJS_PER_SLAB}")
    need(1 <= s.resolved_sheaf_capacity <= 1024,
         f"sheaf_capacity resolves to {s.resolved_sheaf_capacity}, outside 1..1024")


def _value_text(v: Any) -> str:
    """A parameter value as a command line writes it (``true``, ``0.3``, ``64``)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        # the shortest text that reads back as the same float (6 digits printed 0.9765625,
        # remote_prob of 'default', as 0.976562: copied into --set it made another scenario,
        # and two runs 1e-8 apart shared one overrides label, a compare join key)
        text = repr(v)
        return text[:-2] if text.endswith(".0") else text
    return str(v)


def _short(v: Any) -> str:
    """``repr(v)`` cut to one short line (error messages stay one line)."""
    text = repr(v)
    if isinstance(v, int) and not isinstance(v, bool) and len(text) > 24:
        return f"an integer of {len(text)} digits"
    text = text.replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


PRESETS: dict[str, dict[str, Any]] = {
    "default": dict(
        description="4 CPUs on 2 nodes, 4 cgroups, bulk 16 of 256-byte objects, 10% remote frees",
    ),
    "io_uring": dict(
        description="io_uring request cache refill: bulk 8 of 256-byte accounted objects on 1 node "
                    "(io_uring/io_uring.c IO_REQ_ALLOC_BATCH; io_kiocb ~256 B)",
        cpus=2, nodes=1, memcgs=2, bulk_size=8, object_size=256, live_objects=1024,
        remote_free_prob=0.05, cgroup_switch_prob=0.001,
    ),
    "numa_mixed": dict(
        description="4 nodes, frequent remote frees and remote partial refills: runs are short",
        cpus=8, nodes=4, remote_free_prob=0.6, live_objects=8192,
    ),
    "many_cgroups": dict(
        description="64 cgroups and a cgroup switch on every third call: stocks drain often",
        memcgs=64, cgroup_switch_prob=0.3, depth=3,
    ),
    "tight_limit": dict(
        description="one cgroup one page above its live set: batched charges (2 pages at once) "
                    "hit the limit where per-object charges still fit; failed calls are freed again",
        cpus=2, nodes=1, memcgs=1, live_objects=1024, bulk_size=16, cgroup_switch_prob=0.0,
        memcg_max_pages=68, pagecache_pages=0, reclaim_retries=2,
    ),
    "single": dict(
        description="bulk size 1: the batched hook can gain nothing, only its overhead shows",
        bulk_size=1,
    ),
    # Where the kernel generations differ (docs/model.md §5a); run with --set kernel=...
    "numa_spread": dict(
        description="one cgroup's tasks on both nodes, half the frees on another CPU: per-node "
                    "objcgs make mainline-2026's one-slot obj stock switch, mm-2026's five slots keep both",
        cpus=4, nodes=2, memcgs=1, cgroup_switch_prob=0.0, remote_free_prob=0.5,
    ),
    "switch_storm": dict(
        description="12 cgroups switching on one CPU every other call: v6.12's one-slot memcg "
                    "stock drains on each refill for another cgroup, 2026's seven slots keep them",
        cpus=1, nodes=1, memcgs=12, cgroup_switch_prob=0.5, bulk_size=8, live_objects=2048,
    ),
    "kib_runs": dict(
        description="bulk 64 of 1 KiB objects on one node: batched runs pass mm-2026's 16-bit "
                    "statistics guard (32+ objects) and its 16-bit byte count (64 KiB)",
        cpus=2, nodes=1, memcgs=2, object_size=1024, bulk_size=64, live_objects=8192,
        cgroup_switch_prob=0.001,
    ),
}



# Every parameter's unit and meaning, as ``bulksim scenarios --show`` and ``run --help``
# print them (docs/model.md has the full rules; the section is named where it helps).
# Probabilities are per event named; 0 means "automatic" or "unlimited" where it says so.
PARAM_DOCS: dict[str, tuple[str, str]] = {
    "name": ("", "the preset the scenario starts from (a file-name component of sweeps)"),
    "cpus": ("CPUs", "simulated CPUs; CPU k is on node k*nodes//cpus (docs/model.md §2)"),
    "nodes": ("nodes", "NUMA nodes; with more nodes than CPUs the nodes without a CPU are "
                       "memory-only: no slab is made there unless a trace puts objects there"),
    "memcgs": ("cgroups", "leaf memory cgroups; CPU k's task starts in cgroup k % memcgs"),
    "depth": ("levels", "page-counter levels per leaf (the leaf and its ancestors; the root "
                        "counter comes on top)"),
    "memcg_max_pages": ("pages", "limit of each leaf's page counter (0: unlimited)"),
    "ancestor_max_pages": ("pages", "limit of each ancestor's page counter (0: unlimited)"),
    "pagecache_pages": ("pages", "reclaimable page cache each leaf starts with, charged at every level"),
    "reclaim_pages": ("pages", "pages one reclaim pass frees at most (SWAP_CLUSTER_MAX = 32)"),
    "reclaim_retries": ("retries", "rounds of reclaim before the charge fails or OOMs "
                                   "(MAX_RECLAIM_RETRIES = 16; docs/model.md §5b)"),
    "object_size": ("bytes", "size of one object of the accounted cache; 8 more bytes are "
                             "charged per object (the objcg pointer)"),
    "objs_per_slab": ("objects", "objects per slab (0: automatic, max(4, min(1024, 8192 // object_size)))"),
    "reclaimable": ("true/false", "the cache is SLAB_RECLAIM_ACCOUNT (counted as reclaimable slab)"),
    "sheaf_capacity": ("objects", "objects per per-CPU sheaf (0: automatic, by object_size: 60, 26, 12 or 4)"),
    "barn_max_full": ("sheaves", "full sheaves a node's barn keeps at most (MAX_FULL_SHEAVES = 10)"),
    "calls": ("calls", "kmem_cache_alloc_bulk() calls simulated"),
    "bulk_size": ("objects", "objects per kmem_cache_alloc_bulk() call (the largest, with bulk_dist uniform)"),
    "bulk_dist": ("fixed/uniform", "every call asks for bulk_size objects, or 1..bulk_size uniformly"),
    "cgroup_switch_prob": ("probability per call", "the CPU's task switches to a random cgroup "
                                                   "before the call (0.01: rarely; 0.3: every third call; "
                                                   "0.5: every other call)"),
    "gfp_nofail": ("true/false", "__GFP_NOFAIL: a charge over the limit is forced, never failed"),
    "gfp_allow_spin": ("true/false", "any reclaim bit set (gfpflags_allow_spinning): charges may "
                                     "reclaim; false: the charge takes only what is free"),
    "gfp_allow_block": ("true/false", "__GFP_DIRECT_RECLAIM (gfpflags_allow_blocking); needs gfp_allow_spin"),
    "gfp_high": ("true/false", "__GFP_HIGH: forced past the limit like __GFP_NOFAIL"),
    "free_bulk": ("objects", "objects per kmem_cache_free_bulk() call of the workload's frees "
                             "(1: single frees; docs/model.md §7a)"),
    "free_hook": ("per_object/batched", "the memcg free hook: per object (mainline) or once per run "
                                        "of a free call's objects with one objcg and node"),
    "kernel": ("generation", "kernel generation for every strategy: v5.9, v5.14, v6.12, mainline-2026 or mm-2026 "
                             "('': each strategy's own; docs/model.md §5a)"),
    "stock_lock": ("lock kind", "the obj stock's lock where a generation had two: v5.14 preempt (its "
                                "own) or irqsave, mainline-2026 trylock (its own) or irqsave ('': the "
                                "generation's own; docs/model.md §5a)"),
    "remote_prob": ("probability per refill step", "take a remote node's partial slab once the local "
                                                   "node has none (remote_node_defrag_ratio / 1024)"),
    "kfence_prob": ("probability per call", "the call gets one KFENCE object at a random position"),
    "exts_at_creation": ("probability per new slab", "a new slab gets its obj_exts vector when it is made"),
    "exts_fail_prob": ("probability per object", "allocating a missing obj_exts vector fails"),
    "live_objects": ("objects", "objects kept allocated (a FIFO); older ones are freed"),
    "remote_free_prob": ("probability per free call", "the objects are freed on another CPU "
                                                      "than the one that allocated the first of them"),
    "irq_reentry_prob": ("probability per trylock", "the obj-stock trylock fails (an interrupt "
                                                    "holds the stock; not on v6.12)"),
    "get_many": ("true/false", "batched takes one objcg reference per run (obj_cgroup_get_many) "
                               "instead of one per object"),
    "run_cap_bytes": ("bytes", "the largest run batched charges at once (default INT_MAX - PAGE_SIZE)"),
    "trace": ("file", "a trace file replayed instead of the SLUB model (docs/trace.md; '': none)"),
    "description": ("", "what the scenario is, in words"),
}
