"""Every Arrow schema the engine writes, with units and provenance.

One module owns the schemas (results go out as Apache Arrow tables; docs/tables.md).  Units
are in field metadata (``unit``), provenance in schema metadata.  Writes are atomic:
a temporary file in the target folder, then a rename.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..errors import BadInputError, BulksimError, OutputError
from ..inputs.costs import get_profile, phase_cycles, total_cycles
from ..model.events import EVENTS, PH_FREE_HOOK, PH_HOOK, PH_SLAB_ALLOC, PH_SLAB_FREE, RUN_HIST_BUCKETS
from .error import add_error_columns, error_fields
from .ranges import add_range_columns, range_fields

SMALL_TABLE_ROWS = 256  # Feather tables up to this many rows are written uncompressed
SCHEMA_VERSION = "7"  # 2: cost-range columns, free-hook and slab cycles per object;
#                       3: free_hook, free_bulk, free_runs
#                       4: irq_saves (the v5.x generations)
#                       5: simulation-error columns (*_se, engine.results.error)
#                       6: overrides
#                       7: paired errors of every difference from per_object (*_diff_se, *_pct_se)

_EVENT_DOC = {
    "calls": "kmem_cache_alloc_bulk() calls",
    "objects": "objects allocated",
    "runs": "charge operations of the hook (per_object: one per object; batched: one per run; upfront: one per call)",
    "pgdat_runs": "maximal same-node stretches of p[]",
    "stock_locks": "obj-stock lock acquisitions (alloc hook and free hook)",
    "stock_lock_failures": "failed trylocks (interrupt re-entry)",
    "stat_flushes": "updates of the memcg's per-node slab statistic",
    "page_counter_charges": "page-counter atomic adds (one per level)",
    "page_counter_uncharges": "page-counter atomic subs (one per level)",
    "line_transfers_local": "shared cache-line transfers between CPUs on one node",
    "line_transfers_remote": "shared cache-line transfers between nodes",
    "stat_guard_flushes": "mm-2026: statistics updates flushed directly at the 16-bit accumulator guard",
    "obj_stock_u16_releases": "mm-2026: obj-stock refills that released pages at the 16-bit byte guard",
    "drain_works": "drain_all_stock work items queued on other CPUs",
    "memcg_ooms": "memcg OOM killer invocations (mem_cgroup_oom)",
    "objcg_uncharge_pages": "obj_cgroup_uncharge_pages calls (whole pages returned to the memcg)",
    "drain_uncharge_pages": "obj-stock drains that released whole pages",
    "free_runs": "uncharge runs of the batched free hook (0 with the per-object free hook)",
    "irq_saves": "irq-save pairs outside the obj stock's lock: the v5.x memcg stock and "
                 "mod_memcg_lruvec_state (0 on v6.12 and later)",
}


def _field(name: str, typ: pa.DataType, unit: str, doc: str) -> pa.Field:
    return pa.field(name, typ, metadata={"unit": unit, "description": doc})


def _dict_str(name: str, doc: str) -> pa.Field:
    return _field(name, pa.dictionary(pa.int8(), pa.string()), "", doc)


OVERRIDES_DOC = ("the parameters that differ from the preset named in scenario, as "
                 "key=value,key=value in field order ('' for the preset as it is; calls is its own column)")


def summary_schema() -> pa.Schema:
    fields = [
        _dict_str("scenario", "scenario name: the preset the run started from"),
        _dict_str("overrides", OVERRIDES_DOC),
        _dict_str("strategy", "hook strategy"),
        _dict_str("profile", "cost profile"),
        _field("seed", pa.int64(), "", "random seed"),
        _dict_str("kernel", "kernel generation the strategy ran on (docs/model.md §5a)"),
        _dict_str("free_hook", "memcg free hook: per_object (mainline) or batched (per run of a free "
                               "call; docs/model.md §7a)"),
        _field("free_bulk", pa.int64(), "objects", "objects per kmem_cache_free_bulk() call of the "
                                                   "workload's frees (1: single frees)"),
    ]
    for ev in EVENTS:
        fields.append(_field(ev, pa.int64(), "events",
                             _EVENT_DOC.get(ev, ev.replace("_", " ")) + " (all phases)"))
    fields += [
        _field("hook_stock_locks", pa.int64(), "events", "obj-stock locks in the post-alloc hook"),
        _field("hook_stat_flushes", pa.int64(), "events", "statistic flushes in the post-alloc hook"),
        _field("hook_cycles", pa.float64(), "cycles", "post-alloc hook"),
        _field("free_hook_cycles", pa.float64(), "cycles", "free hook (normal frees and failed calls)"),
        _field("slab_cycles", pa.float64(), "cycles", "SLUB allocation and free without memcg"),
        _field("total_cycles", pa.float64(), "cycles", "end to end: bulk allocation + hook + free"),
        _field("hook_cycles_per_object", pa.float64(), "cycles/object", "hook_cycles / objects"),
        _field("total_cycles_per_object", pa.float64(), "cycles/object", "total_cycles / objects"),
        _field("free_hook_cycles_per_object", pa.float64(), "cycles/object", "free_hook_cycles / objects"),
        _field("slab_cycles_per_object", pa.float64(), "cycles/object",
               "slab_cycles / objects (hook + free hook + slab >= total: end to end is one region, "
               "where the hooks overlap the allocator; docs/costs.md)"),
        _field("hook_ns_per_object", pa.float64(), "ns/object", "at the profile's clock"),
        _field("total_ns_per_object", pa.float64(), "ns/object", "at the profile's clock"),
        _field("hook_cycles_per_object_diff", pa.float64(), "cycles/object",
               "minus per_object's value in the same run (null without per_object)"),
        _field("hook_cycles_per_object_pct", pa.float64(), "%", "relative to per_object"),
        _field("total_cycles_per_object_diff", pa.float64(), "cycles/object", "minus per_object"),
        _field("total_cycles_per_object_pct", pa.float64(), "%", "relative to per_object"),
        _field("sim_seconds", pa.float64(), "s", "host time the simulation took"),
    ]
    fields += range_fields()
    fields += error_fields()
    return pa.schema(fields)


@functools.lru_cache(maxsize=1)
def git_commit() -> tuple[str, bool]:
    """Commit and dirty flag of the source checkout (once per process: sweeps ask per point)."""
    from ..checkout import find_checkout

    here = find_checkout()  # None when installed without a checkout of these sources
    if here is None:
        return "unknown", False
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(here), "status", "--porcelain", "engine"],
                                    capture_output=True, text=True, timeout=5).stdout.strip())
        return commit or "unknown", dirty
    except (OSError, subprocess.SubprocessError):
        return "unknown", False


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def provenance(result) -> dict[str, str]:
    import numba

    from .. import __version__

    commit, dirty = git_commit()
    return {
        "schema_version": SCHEMA_VERSION,
        "engine_version": __version__,
        "git_commit": commit,
        "git_dirty": str(dirty).lower(),
        "numba_version": numba.__version__,
        "numpy_version": np.__version__,
        "pyarrow_version": pa.__version__,
        "scenario": result.scenario.to_json(),
        # what the scenario column alone does not say (docs/tables.md, "What ran")
        "scenario_label": result.scenario.label,
        "scenario_overrides": result.scenario.overrides_text(),
        "seed": str(result.seed),
        "cost_profile": result.profile,
        # a profile file's costs, so a report that prices the counts again sees an edited file
        **({"cost_profile_digest": d} if (d := _profile_digest(result.profile)) else {}),
        "host_cpu": _cpu_model(),
        # one pass over the allocator for every strategy, or one each (and why)
        "passes": getattr(result, "passes", "") or "",
        **_precision_provenance(getattr(result, "precision", None)),
    }


def _profile_digest(name) -> str | None:
    from ..inputs.profile_file import file_digest

    return file_digest(name)


def _precision_provenance(prec: dict | None) -> dict[str, str]:
    """What a precision-controlled run aimed at and reached (``simulate(precision=...)``)."""
    if not prec:
        return {}
    return {"precision_target": repr(prec["target"]), "precision_on": prec["on"],
            "precision_reached": repr(prec["reached"]), "precision_stop": prec["stop"],
            "precision_max_calls": str(prec["max_calls"]), "precision_confidence": repr(prec["confidence"])}


def summary_rows(result) -> list[dict]:
    prof = get_profile(result.profile)
    rows = []
    for name, run in result.runs.items():
        tot = run.counters.sum(axis=0)
        pricing = {"kernel": run.kernel, "stock_lock": result.scenario.stock_lock}
        cyc = phase_cycles(prof, name, run.counters, depth=result.scenario.depth, **pricing)
        objects = max(int(tot[EVENTS.index("objects")]), 1)
        row = {"scenario": result.scenario.name, "overrides": result.scenario.overrides_text(),
               "strategy": name, "profile": result.profile,
               "seed": result.seed, "kernel": run.kernel, "free_hook": result.scenario.free_hook,
               "free_bulk": result.scenario.free_bulk}
        row.update({ev: int(tot[i]) for i, ev in enumerate(EVENTS)})
        row["hook_stock_locks"] = int(run.counters[PH_HOOK, EVENTS.index("stock_locks")])
        row["hook_stat_flushes"] = int(run.counters[PH_HOOK, EVENTS.index("stat_flushes")])
        row["hook_cycles"] = float(cyc[PH_HOOK])
        row["free_hook_cycles"] = float(cyc[PH_FREE_HOOK])
        row["slab_cycles"] = float(cyc[PH_SLAB_ALLOC] + cyc[PH_SLAB_FREE])
        # one region end to end: the hooks overlap the allocator (docs/costs.md)
        row["total_cycles"] = total_cycles(prof, name, run.counters, depth=result.scenario.depth, **pricing)
        row["hook_cycles_per_object"] = row["hook_cycles"] / objects
        row["total_cycles_per_object"] = row["total_cycles"] / objects
        row["free_hook_cycles_per_object"] = row["free_hook_cycles"] / objects
        row["slab_cycles_per_object"] = row["slab_cycles"] / objects
        row["hook_ns_per_object"] = row["hook_cycles_per_object"] / prof.clock_ghz
        row["total_ns_per_object"] = row["total_cycles_per_object"] / prof.clock_ghz
        row["sim_seconds"] = run.elapsed_s
        rows.append(row)
    base = next((r for r in rows if r["strategy"] == "per_object"), None)
    for r in rows:
        for key in ("hook_cycles_per_object", "total_cycles_per_object"):
            if base is None:
                r[key + "_diff"] = r[key + "_pct"] = None
            else:
                r[key + "_diff"] = r[key] - base[key]
                r[key + "_pct"] = (100.0 * (r[key] - base[key]) / base[key]) if base[key] else None
    add_range_columns(result, rows)
    add_error_columns(result, rows, prof)
    return rows


def table_from_rows(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Build a table of ``schema`` from row dicts (dictionary columns encoded here)."""
    cols = {}
    for f in schema:
        vals = [r[f.name] for r in rows]
        if pa.types.is_dictionary(f.type):
            cols[f.name] = pa.array(vals, pa.string()).dictionary_encode().cast(f.type)
        else:
            cols[f.name] = pa.array(vals, f.type)
    return pa.Table.from_pydict(cols, schema=schema)


def summary_table(result) -> pa.Table:
    return table_from_rows(summary_rows(result), summary_schema().with_metadata(provenance(result)))


def run_length_table(result) -> pa.Table:
    schema = pa.schema([
        _dict_str("strategy", "hook strategy"),
        _field("run_length", pa.int32(), "objects", "objects per charge (the last bucket is 64 or more)"),
        _field("runs", pa.int64(), "events", "charge operations of that length"),
    ]).with_metadata(provenance(result))
    strat, length, count = [], [], []
    for name, run in result.runs.items():
        for k in range(RUN_HIST_BUCKETS):
            if run.run_hist[k]:
                strat.append(name)
                length.append(k + 1)
                count.append(int(run.run_hist[k]))
    return pa.Table.from_pydict({
        "strategy": pa.array(strat, pa.string()).dictionary_encode().cast(schema.field("strategy").type),
        "run_length": pa.array(length, pa.int32()),
        "runs": pa.array(count, pa.int64()),
    }, schema=schema)


# The one rule for table file names, shared by every writer and reader: the extension,
# in any letter case (``X.PARQUET`` is Parquet), says the format.
TABLE_SUFFIXES = {".parquet": "parquet", ".arrow": "arrow", ".feather": "arrow"}


def table_format(path: str | os.PathLike) -> str | None:
    """``"parquet"``, ``"arrow"`` (Arrow IPC / Feather v2) or None, from the extension."""
    return TABLE_SUFFIXES.get(Path(path).suffix.lower())


def check_regular_file(path: str | os.PathLike) -> None:
    """Refuse a path that exists but is not a regular file (after symlinks): pyarrow reads
    a folder named ``x.parquet`` as a dataset of every file below it, and a FIFO or a
    device blocks or streams; a missing path is left to the reader's own error."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode):
        raise BadInputError(f"{path}: is a folder, not a table file")
    if not stat.S_ISREG(mode):
        raise BadInputError(f"{path}: not a regular file (a FIFO, a device or a socket)")


def read_table_file(path: str | os.PathLike, columns: list[str] | None = None) -> pa.Table:
    """Read a table file by the extension rule (``table_format``); pyarrow's errors pass
    through (OSError, ValueError, ArrowException) for the caller to name the file."""
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    fmt = table_format(path)
    if fmt is None:
        raise BadInputError(f"{path}: expected a .parquet, .arrow or .feather file")
    check_regular_file(path)
    return pq.read_table(path, columns=columns) if fmt == "parquet" else feather.read_table(path, columns=columns)


# Output files made whole by a commit; the CLI names them when a signal arrives after it.
COMMITTED: list[Path] = []


@contextlib.contextmanager
def signals_held():
    """Hold SIGINT and SIGTERM for a few renames, so that they happen all or none: a
    signal that arrives meanwhile is recorded and raised again, to the handler that was
    in place, right after.  (Python-level handlers, not a thread's signal mask: the
    kernel may deliver a process signal to any thread that does not block it.)"""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def record(signum, frame):
        got.append(signum)

    old = {s: signal.signal(s, record) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
           if signal.getsignal(s) != signal.SIG_IGN}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        for s in dict.fromkeys(got):
            signal.raise_signal(s)


def _write_temporary(table: pa.Table, path: Path) -> str:
    """``table`` in a temporary file next to ``path`` (removed again on any failure)."""
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise OutputError(f"{path}: cannot write there ({e.strerror or e})") from None
    os.close(fd)
    try:
        if table_format(path) == "parquet":
            pq.write_table(table, tmp, compression="zstd")
        else:
            # a summary's few rows gain nothing from compression (the file is even larger)
            # and zstd took 7x as long: a sweep writes one such part per point
            feather.write_feather(table, tmp, compression="zstd" if table.num_rows > SMALL_TABLE_ROWS
                                  else "uncompressed")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results follow the umask
    except (OSError, pa.ArrowException) as e:
        _unlink_quietly(tmp)
        raise OutputError(f"{path}: cannot write it ({_os_reason(e)}); nothing was written") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def committed(*paths) -> None:
    """Record outputs made whole (the CLI names them if a signal comes after)."""
    COMMITTED.extend(Path(p) for p in paths)
    del COMMITTED[:-64]  # a long-lived Python process: only the latest matter


def write_table(table: pa.Table, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write Parquet (``.parquet``) or Arrow IPC (``.arrow``/``.feather``) atomically."""
    return write_tables([(table, path)], force=force)[0]


def write_tables(items: list[tuple[pa.Table, str | os.PathLike]], *, force: bool = False,
                 remove: list[Path] = (), record: bool = True) -> list[Path]:
    """Write several tables as one result: every file to a temporary first, then all the
    renames (and the removal of ``remove``, stale files of the result being replaced)
    with SIGINT and SIGTERM held.  Interrupted or failed anywhere, the old files stay
    as they were and no temporary is left; done, only the new ones are there.
    ``record``: add the paths to ``COMMITTED`` (the CLI's last word on a late signal);
    off for the staged parts of a sweep, which are not a result of their own."""
    paths = [check_output_path(p, force=force) for _, p in items]
    tmps: list[str] = []
    # a signal between mkstemp and the bookkeeping must not leave a temporary either:
    # on failure, every temporary of these names made since now is removed
    before = {q for p in paths for q in _temporaries(p)}
    done = False
    try:
        for (table, _), path in zip(items, paths):
            tmps.append(_write_temporary(table, path))
        with signals_held():
            for tmp, path in zip(tmps, paths):
                os.replace(tmp, path)
            tmps, done = [], True
            for stale in remove:
                Path(stale).unlink(missing_ok=True)
            if record:
                committed(*paths)
    except OutputError:
        raise
    except OSError as e:
        raise OutputError(f"{paths[0]}: cannot write it ({_os_reason(e)}); nothing was written") from None
    finally:
        for tmp in tmps:
            _unlink_quietly(tmp)
        if not done:
            for p in paths:
                for q in _temporaries(p) - before:
                    _unlink_quietly(str(q))
    return paths


def _temporaries(path: Path) -> set[Path]:
    folder = path.parent if str(path.parent) else Path(".")
    try:
        import glob

        return set(folder.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return set()


def check_output_path(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Refuse an output path before anything is computed: the extension, an existing
    file without ``force``, a folder in its place, a missing folder."""
    if str(os.fspath(path)).endswith(("/", os.sep)):  # Path() drops the slash: a folder was meant
        raise BadInputError(f"{os.fspath(path)}: ends in '/', a folder; give a file name (.parquet, .arrow "
                            "or .feather)")
    path = Path(path)
    if table_format(path) is None:
        raise BadInputError(f"{path}: output must end in .parquet, .arrow or .feather")
    check_utf8_path(path)
    try:
        return _check_output_path(path, force)
    except OSError as e:  # ENAMETOOLONG, ELOOP, EACCES on a parent, ...
        raise BadInputError(f"{str(path)[:120]}: cannot use this output path ({e.strerror or e})") from None


def check_not_an_input(out: str | os.PathLike, inputs, what: str = "--out") -> None:
    """Refuse an output that is one of the command's inputs (the same path, or another
    name of the same file: a symlink, a hard link), or a file inside an input folder:
    ``--force`` would replace what the result was computed from."""
    out = Path(out)
    try:
        dst = out.resolve()
    except (OSError, RuntimeError):
        return
    for src in inputs:
        if src is None:
            continue
        src = Path(src)
        try:
            same = dst == src.resolve() or (out.exists() and src.exists() and os.path.samefile(out, src))
            inside = src.is_dir() and src.resolve() in dst.parents
        except (OSError, RuntimeError):
            continue
        if same or inside:
            raise BadInputError(f"{what} {out}: {'is' if same else 'is inside'} the input {src}; "
                                "write the result elsewhere")


def check_utf8_path(path: str | os.PathLike) -> None:
    """Refuse an output path that is not valid UTF-8 (Arrow's writers and readers need
    UTF-8) or holds a control character (``engine.checks.need_printable_output``)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(path).encode("utf-8", "surrogateescape")[:120]
        raise BadInputError(f"{shown!r}: the path is not valid UTF-8; use a UTF-8 path") from None
    from ..checks import need_printable_output

    need_printable_output(path)


def _check_output_path(path: Path, force: bool) -> Path:
    if path.is_dir():
        raise BadInputError(f"{path}: is a folder; give a file name")
    if (path.exists() or path.is_symlink()) and not force:
        raise BadInputError(f"{path}: exists already (use --force to replace it)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BadInputError(f"{path}: folder {folder} does not exist")
    return path


def _umask() -> int:
    """The process's umask (read without changing it where /proc says it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # not thread-safe for a moment; only without /proc
    os.umask(mask)
    return mask


def _os_reason(e: BaseException) -> str:
    """A one-line reason: strerror of an OSError (ENOSPC, EFBIG, ...) or the first line."""
    import errno

    if isinstance(e, OSError) and e.errno:
        return os.strerror(e.errno) + f" [{errno.errorcode.get(e.errno, e.errno)}]"
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def calls_table(result) -> pa.Table:
    """Per-call detail (``--detail calls``): one row per call, one column group per strategy.

    The call stream (CPU, memcg, bulk size, same-node runs) is identical for every
    strategy; each strategy adds its hook's stock locks, statistic flushes, charge
    runs, cycles and whether the call failed.
    """
    from ..model.kernel import PER_CALL_FIXED

    runs = list(result.runs.items())
    if not runs or runs[0][1].per_call is None:
        raise BulksimError("no per-call detail was recorded (simulate(..., detail=True))")
    first = runs[0][1].per_call
    fields = [
        _field("call", pa.int64(), "", "call index"),
        _field("cpu", pa.int32(), "", "CPU of the call"),
        _field("memcg", pa.int32(), "", "memcg (objcg) the call charges"),
        _field("bulk_size", pa.int32(), "objects", "objects in p[]"),
        _field("pgdat_runs", pa.int32(), "runs", "maximal same-node stretches of p[]"),
    ]
    cols = {
        "call": np.arange(first.shape[0], dtype=np.int64),
        "cpu": first[:, 0].astype(np.int32),
        "memcg": first[:, 1].astype(np.int32),
        "bulk_size": first[:, 2].astype(np.int32),
        "pgdat_runs": first[:, 3].astype(np.int32),
    }
    prof = get_profile(result.profile)
    for name, run in runs:
        ev = run.per_call[:, PER_CALL_FIXED:]
        cycles = phase_cycles(prof, name, ev, depth=result.scenario.depth, per_call=True,
                              kernel=run.kernel, stock_lock=result.scenario.stock_lock)
        for col, vals, typ, unit, doc in [
            ("stock_locks", ev[:, EVENTS.index("stock_locks")], pa.int32(), "events", "hook stock locks"),
            ("stat_flushes", ev[:, EVENTS.index("stat_flushes")], pa.int32(), "events", "hook stat flushes"),
            ("runs", ev[:, EVENTS.index("runs")], pa.int32(), "events", "hook charge operations"),
            ("hook_cycles", cycles, pa.float64(), "cycles", "post-alloc hook cost of the call"),
            ("failed", run.per_call[:, 4].astype(bool), pa.bool_(), "", "the hook failed"),
        ]:
            fields.append(_field(f"{name}_{col}", typ, unit, f"{name}: {doc}"))
            cols[f"{name}_{col}"] = vals
    schema = pa.schema(fields).with_metadata(provenance(result))
    return pa.Table.from_pydict({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)


def sidecar_path(out: str | os.PathLike, kind: str) -> Path:
    """``result.parquet`` -> ``result.calls.parquet`` (kind = calls or runs)."""
    p = Path(out)
    return p.with_name(f"{p.stem}.{kind}{p.suffix}")


def units_table(tables: dict[str, pa.Table]) -> pa.Table:
    """One row per column of each named table: its type, unit and description.

    Units live in Arrow field metadata, which pandas and polars drop and DuckDB shows
    as a blob; this table, written beside the data (``result.units.parquet``), carries
    them to every reader. The provenance (schema metadata) of the first table is kept
    as this table's own metadata and as rows whose ``column`` is empty and ``table``
    is ``provenance``.
    """
    rows: dict[str, list] = {"table": [], "column": [], "type": [], "unit": [], "description": []}

    def add(t, c, ty, u, d):
        for k, v in zip(rows, (t, c, ty, u, d)):
            rows[k].append(v)

    meta = {}
    for name, table in tables.items():
        for f in table.schema:
            md = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
            add(name, f.name, str(f.type), md.get("unit", ""), md.get("description", ""))
        if not meta:
            meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    for k, v in meta.items():
        add("provenance", "", "", "", f"{k}={v}")
    return pa.table(rows).replace_schema_metadata(meta or None)


def calls_table_long(result) -> pa.Table:
    """Per-call detail in long form (``--detail calls``): one row per (call, strategy).

    Long like the summary and run-length tables, so a reader filters or groups by
    ``strategy`` instead of picking ``S_*`` columns; built from :func:`calls_table`.
    """
    wide = calls_table(result)
    names = list(result.runs)
    stream = ["call", "cpu", "memcg", "bulk_size", "pgdat_runs"]
    per = ["stock_locks", "stat_flushes", "runs", "hook_cycles", "failed"]
    n = wide.num_rows
    fields = [_dict_str("strategy", "hook strategy")] + [wide.schema.field(c) for c in stream]
    cols: dict[str, pa.Array] = {
        "strategy": pa.array(np.repeat(np.array(names, dtype=object), n).tolist(), pa.string())
        .dictionary_encode().cast(fields[0].type)}
    for c in stream:
        cols[c] = pa.concat_arrays([wide.column(c).combine_chunks()] * len(names))
    for c in per:
        f = wide.schema.field(f"{names[0]}_{c}")
        doc = (f.metadata or {}).get(b"description", b"").decode().split(": ", 1)[-1]
        fields.append(_field(c, f.type, (f.metadata or {}).get(b"unit", b"").decode(), doc))
        cols[c] = pa.concat_arrays([wide.column(f"{s}_{c}").combine_chunks() for s in names])
    schema = pa.schema(fields).with_metadata(wide.schema.metadata)
    return pa.Table.from_pydict({f.name: cols[f.name] for f in schema}, schema=schema)


def with_identity(table: pa.Table, result) -> pa.Table:
    """``table`` with ``scenario``, ``overrides``, ``profile`` and ``seed`` first, as in the summary, so each
    detail row says which run it belongs to (and detail files of several runs can be stacked)."""
    n = table.num_rows
    ident = [(_dict_str("scenario", "scenario name: the preset the run started from"), str(result.scenario.name)),
             (_dict_str("overrides", OVERRIDES_DOC), result.scenario.overrides_text()),
             (_dict_str("profile", "cost profile"), str(result.profile)),
             (_field("seed", pa.int64(), "", "random seed"), int(result.seed))]
    out = table
    for k, (f, v) in enumerate(ident):
        arr = pa.array([v] * n, pa.string()).dictionary_encode().cast(f.type) if f.name != "seed" \
            else pa.array([v] * n, pa.int64())
        out = out.add_column(k, f, arr)
    return out.replace_schema_metadata(table.schema.metadata)
