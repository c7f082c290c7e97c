"""Trace input: recorded or hand-written calls that replace the SLUB model.

A trace is a table (Parquet, Arrow IPC/Feather or CSV) with one row per object:

=========  ======  ==============================================================
column     type    meaning
=========  ======  ==============================================================
call       int     call id; rows of one call are consecutive, ids non-decreasing
slab       int     slab id (>= 0); a slab lives on one node
node       int     NUMA node of the slab, in ``[0, nodes)``
has_exts   bool    whether the slab had obj_exts (taken from its first row)
cpu        int     optional: CPU of the call (constant within a call), else drawn
memcg      int     optional: memcg the call charges (constant within a call)
=========  ======  ==============================================================

See docs/trace.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInputError, BadTypeError
from .scenario import MAX_BULK, Scenario

REQUIRED = ("call", "slab", "node", "has_exts")


@dataclass(frozen=True)
class Trace:
    offsets: np.ndarray  # int64 [n_calls + 1]
    slab: np.ndarray  # int64 [n_objects]
    node: np.ndarray  # int64 [n_objects]
    cpu: np.ndarray  # int64 [n_calls], -1 = draw
    memcg: np.ndarray  # int64 [n_calls], -1 = draw
    slab_node: np.ndarray  # int64 [n_slabs]
    slab_exts: np.ndarray  # int64 [n_slabs]

    @property
    def n_calls(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_slabs(self) -> int:
        return len(self.slab_node)

    @property
    def max_bulk(self) -> int:
        return int(np.diff(self.offsets).max()) if self.n_calls else 1


def _read_table(path: Path):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    if not path.exists():
        from ..checks import why_missing

        raise BadInputError(f"trace {path}: {why_missing(path)}")
    if not path.is_file():
        raise BadInputError(f"trace {path}: not a file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pq.read_table(path)
        if suffix in (".arrow", ".feather", ".ipc"):
            return feather.read_table(path)
        if suffix == ".csv":
            return pacsv.read_csv(path)
    except PermissionError:
        raise BadInputError(f"trace {path}: permission denied") from None
    except (pa.ArrowException, OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadInputError(f"trace {path}: cannot read it ({first})") from None
    raise BadInputError(f"trace {path}: unknown format; use .parquet, .arrow, .feather or .csv")


def _int_column(table, name: str, path) -> np.ndarray:
    import pyarrow as pa

    col = table.column(name)
    if col.null_count:
        raise BadInputError(f"trace {path}: column {name!r} has missing values")
    flag = name == "has_exts"  # the one column a boolean fits
    if not ((flag and pa.types.is_boolean(col.type)) or pa.types.is_integer(col.type)):
        raise BadInputError(f"trace {path}: column {name!r} must be integer, got {col.type}")
    if pa.types.is_uint64(col.type) and len(col):
        import pyarrow.compute as pc

        if pc.max(col).as_py() > 2**63 - 1:  # would wrap to a negative int64
            raise BadInputError(f"trace {path}: column {name!r} holds {pc.max(col).as_py()}, out of range")
    # A writeable copy: Arrow's zero-copy arrays are read-only, which Numba types
    # differently (a second compiled signature of the kernel).
    return np.array(col.to_numpy(zero_copy_only=False), dtype=np.int64)


def from_table(table, scn: Scenario, path="<table>") -> Trace:
    """Validate a ``pyarrow.Table`` against the scenario and build a :class:`Trace`."""
    import pyarrow as pa

    from ..checks import need_scenario

    scn = need_scenario(scn)
    if not isinstance(table, pa.Table):
        raise BadTypeError(f"trace: table must be a pyarrow.Table, got {type(table).__name__}")
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise BadInputError(f"trace {path}: missing column(s) {', '.join(missing)}; "
                           f"needs {', '.join(REQUIRED)} (cpu, memcg optional)")
    if table.num_rows == 0:
        raise BadInputError(f"trace {path}: has no rows")
    call = _int_column(table, "call", path)
    slab = _int_column(table, "slab", path)
    node = _int_column(table, "node", path)
    exts = _int_column(table, "has_exts", path)
    if np.any(np.diff(call) < 0):
        raise BadInputError(f"trace {path}: rows must be ordered by call")
    if slab.min() < 0 or slab.max() > 50_000_000:
        raise BadInputError(f"trace {path}: slab ids must be in 0..50000000")
    if node.min() < 0 or node.max() >= scn.nodes:
        raise BadInputError(f"trace {path}: node {int(node.max() if node.max() >= scn.nodes else node.min())} "
                           f"out of range for {scn.nodes} node(s)")
    if not np.isin(exts, (0, 1)).all():
        raise BadInputError(f"trace {path}: has_exts must be 0/1 or true/false")
    starts = np.flatnonzero(np.r_[True, call[1:] != call[:-1]])
    offsets = np.r_[starts, len(call)].astype(np.int64)
    if np.diff(offsets).max() > MAX_BULK:
        raise BadInputError(f"trace {path}: a call has more than {MAX_BULK} objects")
    n_slabs = int(slab.max()) + 1
    slab_node = np.full(n_slabs, -1, dtype=np.int64)
    slab_exts = np.zeros(n_slabs, dtype=np.int64)
    first = np.unique(slab, return_index=True)[1]
    slab_node[slab[first]] = node[first]
    slab_exts[slab[first]] = exts[first]
    if np.any(slab_node[slab] != node):
        bad = int(slab[np.flatnonzero(slab_node[slab] != node)[0]])
        raise BadInputError(f"trace {path}: slab {bad} appears on two nodes")
    slab_node[slab_node < 0] = 0

    def per_call(name: str, limit: int) -> np.ndarray:
        if name not in table.column_names:
            return np.full(len(starts), -1, dtype=np.int64)
        v = _int_column(table, name, path)
        if v.min() < 0 or v.max() >= limit:
            raise BadInputError(f"trace {path}: {name} must be in 0..{limit - 1}")
        if np.any(np.repeat(v[starts], np.diff(offsets)) != v):
            raise BadInputError(f"trace {path}: {name} must be the same on every row of a call")
        return v[starts].astype(np.int64)

    return Trace(offsets, slab, node, per_call("cpu", scn.cpus), per_call("memcg", scn.memcgs),
                 slab_node, slab_exts)


MAX_TRACE_SLAB = 50_000_000


def check_fits(trace: Trace, scn: Scenario) -> None:
    """Refuse a trace the scenario's state cannot hold (BadInputError / BadTypeError).

    ``from_table`` checks a trace against the scenario it is read for; a ``Trace``
    can also be built by hand or replayed on another, smaller scenario (fewer
    nodes, CPUs or cgroups).  Every index the kernels read from it is checked here,
    so no trace makes a kernel read or write outside its state.
    """
    if not isinstance(trace, Trace):
        raise BadTypeError(f"trace must be an engine.inputs.trace.Trace, got {type(trace).__name__}")
    arrays = {}
    for name in ("offsets", "slab", "node", "cpu", "memcg", "slab_node", "slab_exts"):
        a = getattr(trace, name)
        if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype != np.int64:
            raise BadTypeError(f"trace: {name} must be a 1-D int64 numpy array")
        arrays[name] = a
    off, slab, node = arrays["offsets"], arrays["slab"], arrays["node"]
    n_calls = len(off) - 1

    def need(cond, msg: str) -> None:
        if not cond:
            raise BadInputError(f"trace does not fit scenario {scn.name!r}: {msg}")

    need(n_calls >= 0 and off[0] == 0 and off[-1] == len(slab) == len(node),
         "offsets must run from 0 to the number of objects")
    sizes = np.diff(off)
    need(n_calls == 0 or (sizes.min() >= 1 and sizes.max() <= MAX_BULK),
         f"every call must have 1..{MAX_BULK} objects")
    need(len(arrays["cpu"]) == n_calls and len(arrays["memcg"]) == n_calls,
         "cpu and memcg need one value per call")
    n_slabs = len(arrays["slab_node"])
    need(len(arrays["slab_exts"]) == n_slabs and n_slabs <= MAX_TRACE_SLAB + 1,
         f"slab tables must have one row per slab id (at most {MAX_TRACE_SLAB + 1})")

    def within(a: np.ndarray, lo: int, hi: int) -> bool:
        return a.size == 0 or (int(a.min()) >= lo and int(a.max()) < hi)

    need(within(slab, 0, n_slabs), f"slab ids must be in 0..{n_slabs - 1}")
    need(within(node, 0, scn.nodes) and within(arrays["slab_node"], 0, scn.nodes),
         f"nodes must be in 0..{scn.nodes - 1} (the trace uses "
         f"{int(max(node.max(initial=0), arrays['slab_node'].max(initial=0)))})")
    need(np.array_equal(arrays["slab_node"][slab], node), "an object's node differs from its slab's")
    need(within(arrays["slab_exts"], 0, 2), "slab_exts must be 0 or 1")
    need(within(arrays["cpu"], -1, scn.cpus),
         f"cpu must be -1 (draw) or in 0..{scn.cpus - 1} (the trace uses {int(arrays['cpu'].max(initial=-1))})")
    need(within(arrays["memcg"], -1, scn.memcgs),
         f"memcg must be -1 (draw) or in 0..{scn.memcgs - 1} "
         f"(the trace uses {int(arrays['memcg'].max(initial=-1))})")


def load(path: str | Path, scn: Scenario) -> Trace:
    """Read a trace file (.parquet, .arrow, .feather, .csv) for ``scn`` (a Scenario or a
    preset name)."""
    from ..checks import need_path, need_scenario

    path = Path(need_path(path, "trace path"))
    scn = need_scenario(scn)
    return from_table(_read_table(path), scn, path)


def from_calls(calls: list[list[tuple[int, int, bool]]], scn: Scenario,
               cpus: list[int] | None = None, memcgs: list[int] | None = None) -> Trace:
    """Build a trace from Python lists: ``calls[k] = [(slab, node, has_exts), ...]``."""
    import pyarrow as pa

    from ..checks import need_scenario

    scn = need_scenario(scn)
    for what, v in (("calls", calls), ("cpus", cpus), ("memcgs", memcgs)):
        if (v is not None or what == "calls") and (isinstance(v, (str, bytes))
                                                   or not isinstance(v, (list, tuple))):
            raise BadTypeError(f"trace: {what} must be a list, got {type(v).__name__}")

    rows: dict[str, list] = {"call": [], "slab": [], "node": [], "has_exts": []}
    if cpus is not None:
        rows["cpu"] = []
    if memcgs is not None:
        rows["memcg"] = []
    try:
        for k, objs in enumerate(calls):
            for slab, node, exts in objs:
                rows["call"].append(k)
                rows["slab"].append(slab)
                rows["node"].append(node)
                rows["has_exts"].append(bool(exts))
                if cpus is not None:
                    rows["cpu"].append(cpus[k])
                if memcgs is not None:
                    rows["memcg"].append(memcgs[k])
        table = pa.table({k: pa.array(v, pa.int64() if k != "has_exts" else pa.bool_())
                          for k, v in rows.items()})
    except (TypeError, ValueError, IndexError, KeyError, OverflowError, pa.ArrowException) as e:
        raise BadTypeError(f"trace: calls must be lists of (slab, node, has_exts) integer tuples "
                           f"and cpus/memcgs one integer per call ({type(e).__name__})") from None
    return from_table(table, scn)
