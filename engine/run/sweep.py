"""``bulksim sweep``: a grid of scenario parameters x seeds, every strategy at each point.

Each point is simulated independently (all strategies on the identical stream) and
written as soon as it completes, one Parquet file per (point, strategy), into a
hive-partitioned dataset ``OUT/scenario=NAME/strategy=S/point-KEY.parquet``.  A
point whose files all exist is complete: an interrupted sweep keeps what finished,
and running the same command again resumes.  ``OUT/_sweep.json`` records the sweep
definition so a different sweep cannot be mixed into the same folder.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import BadInputError, BadTypeError, BulksimError
from ..inputs.scenario import Scenario, _check_names, parse_value, split_setting
from . import simulate as _simulate
from .points import PART_STAMP, make_points, part_stamp_problem, point_files, run_point
from .simulate import parse_strategies

MANIFEST = "_sweep.json"
SWEEP_FORMAT_VERSION = 1
MAX_POINTS = 1_000_000  # grid points x seeds of one sweep
MAX_WORKERS = 1024


@dataclass
class SweepReport:
    out: Path
    total: int
    done_before: int
    computed: int = 0
    files: list[Path] = field(default_factory=list)
    interrupted: bool = False


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["bulk_size=1,8,16", "nodes=1,2"]`` -> ``{"bulk_size": [1, 8, 16], "nodes": [1, 2]}``."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, values = split_setting(item, "--grid", "key=v1,v2,...")
        if key in ("name", "description", "trace"):
            raise BulksimError(f"--grid cannot vary {key!r}")
        if key in grid:
            raise BulksimError(f"--grid {key} given twice")
        if not values.strip():
            raise BulksimError(f"--grid {key} has no values")
        # every item is a value: an empty one is kernel's "each strategy's own", and an
        # error for a number; never silently dropped
        vals = [parse_value(key, v.strip()) for v in values.split(",")]
        grid[key] = vals
    return check_grid(grid)  # the API's checks: distinct values, scenario fields


def parse_seeds(text: str) -> list[int]:
    """``"3"`` -> seeds 0, 1, 2; ``"5,9"`` -> seeds 5 and 9."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    try:
        if "," in text:
            seeds = [int(s) for s in text.split(",") if s.strip()]
        else:
            count = int(text)
            if count > MAX_POINTS:
                raise BadInputError(f"--seeds: at most {MAX_POINTS:,} seeds, got {shown}")
            seeds = list(range(count))
    except ValueError as e:
        if isinstance(e, BulksimError):
            raise
        raise BadInputError(f"--seeds expects a count or a comma-separated list, got {shown!r}") from None
    if not seeds or any(s < 0 or s >= 2**63 for s in seeds):
        raise BadInputError(f"--seeds must give at least one seed in [0, 2**63), got {shown!r}")
    if len(set(seeds)) < len(seeds):
        raise BadInputError(f"--seeds gives a seed twice, got {shown!r}")
    return seeds


def check_grid(grid: Any) -> dict[str, list[Any]]:
    """A grid for ``run_sweep`` (shared by the CLI's ``parse_grid`` and the API): a
    non-empty dict of scenario field names to non-empty lists of distinct values."""
    from ..checks import short

    if not isinstance(grid, dict):
        raise BadTypeError(f"grid must be a dict of parameter -> list of values, got {type(grid).__name__}")
    if not grid:
        raise BadInputError("a sweep needs a grid of at least one parameter")
    out = {}
    for key, vals in grid.items():
        if not isinstance(key, str):
            raise BadTypeError(f"grid keys must be scenario parameter names, got {short(key)}")
        if key in ("name", "description", "trace"):
            raise BadInputError(f"--grid cannot vary {key!r}")
        _check_names({key: None})  # a scenario field (with a suggestion)
        if isinstance(vals, (str, bytes)) or not isinstance(vals, (list, tuple)):
            raise BadTypeError(f"grid {key!r}: needs a list of values, got {type(vals).__name__}")
        vals = list(vals)
        if not vals:
            raise BadInputError(f"grid {key!r}: needs a non-empty list of values")
        dup = next((v for k, v in enumerate(vals) if v in vals[:k]), None)
        if dup is not None or len(set(map(repr, vals))) < len(vals):
            raise BadInputError(f"--grid {key} gives the value {short(dup)} twice (a point is computed once)")
        out[key] = vals
    return out


def run_sweep(base: Scenario, grid: dict[str, list[Any]], seeds: list[int], out: str | os.PathLike, *,
              strategies="all", profile: str = "intel-skylake", workers: int | None = None,
              force: bool = False, progress: bool = False, scheduler: str | None = None,
              gather: bool = False, max_memory: int | None = None) -> SweepReport:
    """Run (or resume) a sweep; returns what was done.  See the module docstring.

    ``scheduler``: None runs points in local threads (``workers`` of them);
    ``"local:N"`` starts a local Dask cluster of N worker processes; anything else is
    the address of a running Dask scheduler (``engine.distributed``).  With a Dask
    scheduler, workers write their points to ``out`` themselves (a filesystem they
    share with the client), or with ``gather=True`` send them back and the client
    writes them.
    """
    from ..checks import need_bool, need_path, need_scenario, need_seeds, need_str
    from ..inputs.costs import get_profile

    # Every argument first (docs/errors.md): nothing is created for a bad call.
    base = need_scenario(base, "base")
    grid = check_grid(grid)
    seeds = need_seeds(seeds)
    need_path(out, "out")
    get_profile(need_str(profile, "profile"))
    for flag, v in (("force", force), ("progress", progress), ("gather", gather)):
        if not (flag == "progress" and callable(v)):  # or (done, total, eta_s), off a terminal
            need_bool(v, flag)
    if max_memory is not None and (isinstance(max_memory, bool) or not isinstance(max_memory, int)):
        raise BadTypeError(f"max_memory must be an integer number of bytes or None, got {max_memory!r}")
    names = parse_strategies(strategies)
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise BadTypeError(f"--workers must be an integer, got {workers!r}")
    if not 1 <= workers <= MAX_WORKERS:
        raise BadInputError(f"--workers must be in 1..{MAX_WORKERS}, got {workers}")
    # Every point is built and checked (parameters, memory) before --out is created.
    points = check_sweep(base, grid, seeds, profile, names, workers, max_memory)
    if scheduler is not None:
        from .cluster import check_scheduler

        check_scheduler(scheduler)
    from ..results.tables import check_utf8_path

    check_utf8_path(out)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BulksimError(f"{out}: exists and is not a folder")
    if not out.parent.is_dir():
        raise BulksimError(f"{out}: folder {out.parent} does not exist")
    manifest = {"format_version": SWEEP_FORMAT_VERSION, "base": base.provenance_dict(), "grid": grid,
                "seeds": seeds, "strategies": names, "profile": profile}
    mpath = out / MANIFEST
    if mpath.exists() and not force:
        try:
            old = json.loads(mpath.read_text())
        except (OSError, ValueError):
            raise BulksimError(f"{mpath}: unreadable sweep manifest (use --force to start over)") from None
        if old != json.loads(json.dumps(manifest, default=str)):
            raise BulksimError(f"{out}: holds a different sweep; use another --out, or --force to "
                               "start over")
    elif out.exists() and any(out.iterdir()) and not mpath.exists() and not force:
        raise BulksimError(f"{out}: folder is not empty and holds no sweep (use --force)")
    created = not out.exists()
    _write_manifest(out, mpath, manifest)
    _remove_stale_temporaries(out)

    todo = points if force else [p for p in points if not _point_done(out, base, p, names, grid)]
    report = SweepReport(out, len(points), len(points) - len(todo))
    t0 = time.perf_counter()

    def show():
        if not progress:
            return
        done = report.done_before + report.computed
        el = time.perf_counter() - t0
        eta = el / report.computed * (len(todo) - report.computed) if report.computed else 0.0
        if callable(progress):  # off a terminal: the caller reports now and then (engine.progress)
            progress(done, report.total, eta)
            return
        width = 30
        fill = int(width * done / max(report.total, 1))
        sys.stderr.write(f"\rsweep [{'#' * fill}{'.' * (width - fill)}] {done}/{report.total} points, "
                         f"ETA {eta:.0f} s  ")
        sys.stderr.flush()

    grid_types = {k: type(v[0]) for k, v in grid.items()}
    if scheduler:
        from .cluster import run_points

        def done(paths):
            report.files.extend(paths)
            report.computed += 1
            show()

        show()
        try:
            run_points(scheduler, todo, names, profile, out, base, grid_types, gather, done)
        except BulksimError:
            if created and not report.computed:  # e.g. the scheduler cannot be reached
                _remove_empty_sweep(out, mpath)
            raise
        finally:
            if progress is True:
                sys.stderr.write("\n")
        return report
    pool = ThreadPoolExecutor(max_workers=workers)
    pending = set()
    it = iter(todo)
    try:
        for p in itertools.islice(it, workers * 2):
            pending.add(pool.submit(run_point, p, names, profile, out, base, grid_types))
        show()
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for f in finished:
                report.files.extend(f.result())
                report.computed += 1
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(pool.submit(run_point, nxt, names, profile, out, base, grid_types))
            if finished:
                show()
    except BaseException:
        report.interrupted = True
        for f in pending:
            f.cancel()
        _simulate._STOP.set()  # running points stop after their current kernel chunk
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _simulate._STOP.clear()
        if progress is True:
            sys.stderr.write("\n")
    return report


def _remove_stale_temporaries(out: Path) -> None:
    """Remove the temporary files of writes that never finished (a sweep killed with
    SIGKILL mid-write): ``.point-*.parquet.*.tmp`` in the partition folders.  Only this
    sweep's writers make them, and none is running when a sweep starts."""
    for tmp in out.glob("scenario=*/strategy=*/.point-*.tmp"):
        try:
            if tmp.is_file() and not tmp.is_symlink():
                tmp.unlink()
        except OSError:
            pass


def _remove_empty_sweep(out: Path, mpath: Path) -> None:
    """Remove a sweep folder this call created when nothing was computed into it."""
    try:
        if any(p.is_file() for p in out.rglob("*") if p != mpath):
            return
        mpath.unlink(missing_ok=True)
        for d in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            d.rmdir()
        out.rmdir()
    except OSError:
        pass


def _write_manifest(out: Path, mpath: Path, manifest: dict) -> None:
    """Create ``out`` and write the manifest atomically; a failure is one OutputError
    and a folder this call created is removed again."""
    from ..errors import OutputError

    created = not out.exists()
    tmp = mpath.with_suffix(".tmp")
    try:
        out.mkdir(exist_ok=True)
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str))
        os.replace(tmp, mpath)
    except OSError as e:
        if out.is_dir():
            tmp.unlink(missing_ok=True)
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise OutputError(f"{out}: cannot write the sweep there ({e.strerror or e})") from None


def check_sweep(base: Scenario, grid: dict[str, list[Any]], seeds: list[int], profile: str,
                names: list[str], workers: int, max_memory: int | None) -> list:
    """Every point of the sweep, each validated (its scenario, the memory of the points
    running at once); raises before anything is written."""
    from .budget import check_memory

    if not isinstance(grid, dict) or not grid:
        raise BadInputError("a sweep needs a grid of at least one parameter")
    n = len(seeds)
    for key, vals in grid.items():
        if not isinstance(vals, (list, tuple)) or not vals:
            raise BadInputError(f"grid {key!r}: needs a non-empty list of values")
        n *= len(vals)
    if n > MAX_POINTS:
        raise BadInputError(f"the sweep has {n:,} points (grid x seeds), more than {MAX_POINTS:,}")
    points = make_points(base, grid, seeds, profile, names)
    at_once = min(workers, len(points))
    from ..model.state import resolve_generation

    for p in points:
        for name in names:  # every strategy must exist on the point's kernel generation
            resolve_generation(p.scenario.kernel, name)
        check_memory(p.scenario, p.scenario.calls, max_memory=max_memory, runs_at_once=at_once)
    return points


def _part_problem(path: Path, point, grid: dict, scenario: str, strategy: str) -> str | None:
    """Why a part file cannot be kept as the point's result, or None if it can."""
    import pyarrow.parquet as pq

    from ..results.tables import summary_schema

    try:
        t = pq.read_table(path)
    except (OSError, ValueError, pa.ArrowException) as e:
        return f"unreadable ({(str(e).strip().splitlines() or [type(e).__name__])[0][:120]})"
    want = ([f.name for f in summary_schema() if f.name not in ("scenario", "strategy")]
            + [f"param_{k}" for k in grid] + ["point"])
    missing = [c for c in want if c not in t.column_names]
    if missing:
        return f"not a part of this sweep (missing column {missing[0]!r})"
    if t.num_rows != 1:
        return f"{t.num_rows} rows where one is expected"
    row = t.to_pylist()[0]
    if row["point"] != point.key or row["seed"] != point.seed:
        return "belongs to another point or sweep"
    return part_stamp_problem(t.schema.metadata, scenario, strategy, point.key)


def _point_done(out: Path, base: Scenario, point, names: list[str], grid: dict) -> bool:
    """Whether every part of ``point`` exists and verifies; a bad part is reported on
    stderr and the point is recomputed (never kept as done)."""
    files = point_files(out, base, point, names)
    if not all(f.exists() for f in files):
        return False
    for f, name in zip(files, names):
        why = _part_problem(f, point, grid, base.name, name)
        if why is not None:
            print(f"bulksim: warning: {f}: {why}; recomputing the point", file=sys.stderr)
            return False
    return True


def read_sweep(out: str | os.PathLike) -> pa.Table:
    """The whole dataset as one table (scenario and strategy come back as columns).

    Every part file must be readable and have the sweep's columns: a damaged or
    foreign part is refused (BadInputError naming it), never dropped silently.
    """
    import pyarrow.dataset as ds

    out = Path(out)
    if not (out / MANIFEST).exists():
        raise BadInputError(f"{out}: not a sweep folder (no {MANIFEST})")
    try:
        manifest = json.loads((out / MANIFEST).read_text())
        grid_keys = list(manifest["grid"])
    except (OSError, ValueError, KeyError, TypeError):
        raise BadInputError(f"{out / MANIFEST}: unreadable sweep manifest") from None
    parts = sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    if not parts:
        raise BadInputError(f"{out}: the sweep has no results yet")
    from ..results.tables import summary_schema

    want = ([f.name for f in summary_schema() if f.name not in ("scenario", "strategy")]
            + [f"param_{k}" for k in grid_keys] + ["point"])
    bad = []
    metas = []
    for p in parts:
        rel = p.relative_to(out).parts
        if (len(rel) != 3 or not rel[0].startswith("scenario=") or not rel[1].startswith("strategy=")
                or p.suffix != ".parquet"):
            bad.append((p, "not a part of a sweep"))
            continue
        try:
            import pyarrow.parquet as pq

            schema = pq.read_schema(p)
            names = schema.names
            metas.append(schema.metadata or {})
            if any(c not in names for c in want):
                bad.append((p, "columns do not fit the sweep"))
                continue
            keys = pq.read_table(p, columns=["point"]).column("point").to_pylist()
        except (OSError, ValueError, pa.ArrowException):
            bad.append((p, "unreadable"))
            continue
        if keys != [p.stem[len("point-"):]]:
            bad.append((p, "holds another point than its name says"))
            continue
        why = part_stamp_problem(schema.metadata, rel[0][len("scenario="):], rel[1][len("strategy="):],
                                 keys[0])
        if why is not None:
            bad.append((p, why))
    if bad:
        p, why = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise BadInputError(f"{p}: {why}{more}; rerun the sweep command to recompute damaged points, "
                            "or remove foreign files")
    try:
        table = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    except (OSError, ValueError, pa.ArrowException) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise BadInputError(f"{out}: cannot read the sweep ({first})") from None
    return table.replace_schema_metadata(sweep_provenance(manifest, metas, table))


def sweep_provenance(manifest: dict, metas: list[dict], table: pa.Table) -> dict[str, str]:
    """Schema metadata describing the whole sweep, not one of its points.

    Every part carries its own point's provenance (its scenario, its seed); the dataset
    a reader gets from pyarrow would show whichever part came first.  Here the
    scenario is the sweep's base with each swept field replaced by the list of its
    values, ``sweep`` is the manifest (grid, seeds, strategies, profile) with the
    number of points, and a value the parts do not agree on (a commit, when a sweep
    was resumed after a change) lists every value found."""
    def values(key: bytes) -> str:
        found = sorted({m[key].decode() for m in metas if key in m})
        return found[0] if len(found) == 1 else "mixed: " + ", ".join(found)

    meta = {k.decode(): values(k) for k in sorted({k for m in metas for k in m})
            if k not in (b"scenario", b"seed", b"scenario_label", b"scenario_overrides", PART_STAMP.encode())}
    scenario = dict(manifest.get("base", {}))
    scenario.update({k: list(v) for k, v in manifest["grid"].items()})
    meta["scenario"] = json.dumps(scenario, sort_keys=True, default=str)
    meta["seed"] = json.dumps(manifest.get("seeds", []))
    points = table.column("point").unique().to_pylist() if "point" in table.column_names else []
    meta["sweep"] = json.dumps({**manifest, "points": len(points), "rows": table.num_rows},
                               sort_keys=True, default=str)
    return meta
