"""What a run may ask for: memory for its state, and work per kernel call.

The driver asks two questions before it allocates anything or runs a kernel:

* :func:`state_bytes` estimates the memory of one pass's state (the arrays
  ``engine.model.state.make_fused`` allocates, the per-call detail and the copies the
  final state check makes); :func:`check_memory` refuses a run above the budget
  (default: half the machine's memory, ``max_memory`` / ``--max-memory`` to change
  it) with one error that names the parameter to lower.
* :func:`chunk_calls_for` bounds the calls of one kernel invocation by the work they
  can do (objects and charge retries), so a run reaches Python, and with it SIGINT
  and SIGTERM, every ~0.1 s whatever the parameters.  A single call is never split,
  so :func:`check_memory` also refuses scenarios whose one call could take longer
  than :data:`MAX_CALL_WORK`.
"""

from __future__ import annotations

import os
import re

from ..errors import BadInputError, BadTypeError, ResourceError
from ..inputs.scenario import Scenario

I64 = 8
# One unit ~ one object through the allocation, hook and free paths (~20 ns).
WORK_PER_CHUNK = 1 << 24
MAX_CALL_WORK = 1 << 26  # ~1.5 s: the longest single call a run may contain


def _scn_state_bytes(scn: Scenario, max_bulk: int, n_calls: int, trace=None,
                     strategies: int = 1) -> dict[str, int]:
    from ..model.events import N_EVENTS
    from ..model.state import N_CPU_COLS, N_MS_COLS, N_SL_COLS, slab_capacity

    cap = scn.resolved_sheaf_capacity
    ops = scn.resolved_objs_per_slab
    live = effective_live_objects(scn, n_calls, max_bulk)
    if trace is not None:
        slab_cap = trace.n_slabs
        slab_free_rows = 1
        trace_b = (trace.n_calls + 1) * 3 * I64 + len(trace.slab) * 2 * I64
    else:
        slab_cap = slab_capacity(scn.replace(live_objects=live), max_bulk)
        slab_free_rows = slab_cap
        trace_b = 0
    ring = live + max_bulk + scn.free_bulk  # state.make's ring
    return {
        "slab table (live_objects, cpus x sheaf_capacity, nodes x barn_max_full x sheaf_capacity)":
            # the table, and the copy each strategy's final state takes of it
            slab_cap * (2 * N_SL_COLS + 1) * I64 + slab_free_rows * ops * 4,
        # the ring, dump_state's copies of it for the final check, and each
        # strategy's objcg of every slot (engine.model.state.Stack)
        "live set (live_objects)": ring * (2 * I64 * 3 + 4 * strategies),
        "sheaves and barns (cpus, nodes, barn_max_full, sheaf_capacity)":
            (scn.cpus * 2 + scn.nodes * max(scn.barn_max_full, 1)) * cap * I64,
        "per-CPU and per-cgroup tables": (scn.cpus * (N_CPU_COLS + N_MS_COLS)
                                          + scn.memcgs * (3 + scn.nodes + 2) * scn.nodes
                                          + 4 * N_EVENTS) * I64 * 2 * (strategies + 1),
        "the trace": trace_b,
        "p[] (bulk_size)": max_bulk * 4 * I64,
        "free batch (free_bulk)": max(scn.free_bulk, max_bulk) * 4 * I64,
    }


def effective_live_objects(scn: Scenario, n_calls: int, max_bulk: int) -> int:
    """The live set a run of ``n_calls`` can reach: it never holds more objects than
    were ever allocated, so a smaller ring gives the identical run."""
    return int(min(scn.live_objects, n_calls * max_bulk))


def state_bytes(scn: Scenario, n_calls: int, *, trace=None, detail: bool = False,
                strategies: int = 1) -> dict[str, int]:
    """Estimated bytes of a run of ``strategies`` strategies in one pass, by part
    (see the module docstring)."""
    from ..model.events import N_EVENTS
    from ..model.kernel import PER_CALL_FIXED

    max_bulk = max(1, trace.max_bulk) if trace is not None else scn.bulk_size
    parts = _scn_state_bytes(scn, max_bulk, n_calls, trace, strategies)
    if detail:
        parts["per-call detail (calls)"] = n_calls * (PER_CALL_FIXED + N_EVENTS) * I64 * 2 * strategies
    return parts


def machine_memory() -> int:
    """Physical memory, or the cgroup's limit if lower (bytes)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            text = f.read().strip()
        if text.isdigit():
            total = min(total, int(text))
    except OSError:
        pass
    return total


def default_budget() -> int:
    """Half the machine's memory: room for the rest of the system and a second run."""
    return machine_memory() // 2


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B?)?\s*", re.IGNORECASE)


def parse_size(text: str, what: str = "--max-memory") -> int:
    """``"512M"``, ``"4G"``, ``"1.5GiB"``, ``"1000000"`` -> bytes (powers of 1024)."""
    m = _SIZE.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise BadInputError(f"{what}: expected a size such as 512M or 4G, got {str(text)[:40]!r}")
    n = float(m.group(1)) * 1024 ** " KMGT".index((m.group(2) or " ").upper())
    if not 1 <= n <= 2**60:
        raise BadInputError(f"{what}: must be between 1 byte and 1 EiB, got {text!r}")
    return int(n)


def _fmt(n: int) -> str:
    for unit, div in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def check_budget_arg(max_memory) -> int:
    """The budget in bytes from ``None`` (the default) or a positive integer."""
    if max_memory is None:
        return default_budget()
    from ..checks import as_int

    if as_int(max_memory) is None:  # numpy's integers too, never a bool
        raise BadTypeError(f"max_memory must be an integer number of bytes, got {max_memory!r}")
    max_memory = as_int(max_memory)
    if max_memory < 1:
        raise BadInputError(f"max_memory must be >= 1 byte, got {max_memory}")
    return max_memory


def call_work(scn: Scenario, max_bulk: int) -> int:
    """Upper bound on the work of one call, in units of :data:`WORK_PER_CHUNK`.

    Each object passes the slab, hook and free paths (a remote refill may visit every
    node); with a limit, a failing charge retries ``reclaim_retries`` times at every
    level (``depth``) and drains every CPU's stock once.  The hook stops at the first
    failed charge, unless ``gfp_nofail``, where every object's charge may retry.
    """
    work = max_bulk * (4 + scn.nodes // 4)
    if scn.memcg_max_pages or scn.ancestor_max_pages:
        retry = (scn.reclaim_retries + 3) * (scn.depth + 1) + scn.cpus * 8
        work += retry * (max_bulk if scn.gfp_nofail else 4)
    return work


def chunk_calls_for(scn: Scenario, max_bulk: int, chunk_calls: int) -> int:
    """``chunk_calls``, lowered so one kernel invocation does at most WORK_PER_CHUNK."""
    return max(1, min(chunk_calls, WORK_PER_CHUNK // call_work(scn, max_bulk)))


def check_memory(scn: Scenario, n_calls: int, *, trace=None, detail: bool = False,
                 max_memory: int | None = None, runs_at_once: int = 1, strategies: int = 1) -> int:
    """Refuse (ResourceError) a run whose state exceeds the budget, or one of whose
    calls could run for seconds without reaching Python; returns the estimate."""
    budget = check_budget_arg(max_memory)
    max_bulk = max(1, trace.max_bulk) if trace is not None else scn.bulk_size
    if call_work(scn, max_bulk) > MAX_CALL_WORK:
        raise ResourceError(
            f"scenario {scn.name!r}: one call could run for seconds (bulk_size {max_bulk} x "
            f"reclaim_retries {scn.reclaim_retries} x depth {scn.depth} with gfp_nofail and a limit); "
            "lower reclaim_retries or bulk_size")
    parts = state_bytes(scn, n_calls, trace=trace, detail=detail, strategies=strategies)
    total = sum(parts.values()) * runs_at_once
    if total > budget:
        biggest = max(parts, key=parts.get)
        at_once = f" x {runs_at_once} points at once (--workers)" if runs_at_once > 1 else ""
        raise ResourceError(
            f"scenario {scn.name!r} needs about {_fmt(total)}{at_once}, over the memory budget of "
            f"{_fmt(budget)}; the largest part is the {biggest}: lower those parameters "
            "(or raise --max-memory)")
    return total
