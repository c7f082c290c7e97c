"""``bulksim sweep``: a grid of scenario parameters x seeds, every strategy at each point.

Each point is simulated independently (all strategies on the identical stream).  The
dataset is one folder::

    OUT/_sweep.json            the sweep definition (a different sweep is never mixed in)
    OUT/summary.parquet        one row per (point, strategy): the columns and types of
                               ``run --out`` plus param_* and point; provenance once
    OUT/_units.parquet         type, unit and description of every column (the "_" keeps
                               it out of readers of OUT as a dataset, like _sweep.json)
    OUT/.parts/point-KEY.arrow a point computed since the last consolidation

A point is staged in ``.parts`` as soon as it completes, so an interrupted sweep keeps
what finished, and running the same command again resumes; when every point is done
the staged points are merged into ``summary.parquet`` (with its units sidecar, all or
nothing) and removed.  ``--force`` builds the new sweep in a folder beside ``OUT`` and
swaps it in at the end: interrupted or failed, the old sweep stays whole.
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
from .points import PART_STAMP, PARTS, make_points, part_stamp_problem, run_point
from .simulate import parse_strategies

MANIFEST = "_sweep.json"
DATA = "summary.parquet"
UNITS = "_units.parquet"
SWEEP_FORMAT_VERSION = 2  # 2: one summary.parquet (+ units), was one file per (point, strategy)
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
            items = [s.strip() for s in text.split(",")]
            if not all(items) and any(items):  # as in --grid: an item is never silently dropped
                raise BadInputError(f"--seeds: an empty item in {shown!r}")
            seeds = [int(s) for s in items if s]
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
        vals = [_plain(v) for v in vals]
        if _float_fields().get(key):
            # a float parameter (a probability) given as 0 or 1: the points and the
            # param_ column of 0.0 and 1.0, as the command line gives (never an int64
            # column, or one of int64 and double parts)
            vals = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in vals]
        if not vals:
            raise BadInputError(f"grid {key!r}: needs a non-empty list of values")
        dup = next((v for k, v in enumerate(vals) if v in vals[:k]), None)
        if dup is not None or len(set(map(repr, vals))) < len(vals):
            raise BadInputError(f"--grid {key} gives the value {short(dup)} twice (a point is computed once)")
        out[key] = vals
    return out


def _float_fields() -> dict[str, bool]:
    from dataclasses import fields

    from ..inputs.scenario import Scenario

    return {f.name: f.type in ("float", float) for f in fields(Scenario)}


def _plain(v: Any) -> Any:
    """A grid value as the Python type of its kind: numpy's integers, floats and
    booleans (``np.int64(4)``) are accepted wherever Python's are."""
    import numpy as np

    from ..checks import as_int

    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.floating):
        return float(v)
    n = as_int(v)
    return v if n is None or isinstance(v, int) else n


def run_sweep(base: Scenario, grid: dict[str, list[Any]], seeds: list[int], out: str | os.PathLike, *,
              strategies="all", profile: str = "intel-skylake", workers: int | None = None,
              force: bool = False, progress: bool = False, scheduler: str | None = None,
              gather: bool = False, max_memory: int | None = None, precision: float | None = None,
              max_calls: int | None = None, precision_on: str = "hook") -> SweepReport:
    """Run (or resume) a sweep; returns what was done.  See the module docstring.

    ``scheduler``: None runs points in local threads (``workers`` of them);
    ``"local:N"`` starts a local Dask cluster of N worker processes; anything else is
    the address of a running Dask scheduler (``engine.distributed``).  With a Dask
    scheduler, workers write their points to ``out`` themselves (a filesystem they
    share with the client), or with ``gather=True`` send them back and the client
    writes them.  ``precision``: every point runs until its ratios are that precise
    (``simulate(precision=...)``), at most ``max_calls`` calls.
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
    from ..checks import as_int

    if max_memory is not None and as_int(max_memory) is None:
        raise BadTypeError(f"max_memory must be an integer number of bytes or None, got {max_memory!r}")
    max_memory = None if max_memory is None else as_int(max_memory)
    names = parse_strategies(strategies)
    if workers is not None and scheduler is not None:  # the cluster's workers run the points
        raise BadInputError("workers (--workers) counts local threads; with a Dask --scheduler the cluster's "
                            "workers run the points (local:N sets how many)")
    if workers is None:
        workers = os.cpu_count() or 1
    if as_int(workers) is None:
        raise BadTypeError(f"--workers must be an integer, got {workers!r}")
    workers = as_int(workers)
    if not 1 <= workers <= MAX_WORKERS:
        raise BadInputError(f"--workers must be in 1..{MAX_WORKERS}, got {workers}")
    options = ()
    if base.trace and "calls" in grid:  # every point replays the whole trace: calls=200 ran 100
        raise BadInputError("a sweep of a trace replays it whole at every point: calls cannot be in its grid")
    if precision is not None:
        from .simulate import check_precision_args

        precision, cap = check_precision_args(precision, max_calls, precision_on, None, None, base)
        if "calls" in grid:  # every point would run to the precision, whatever its calls
            raise BadInputError("a precision-controlled sweep chooses each point's calls: calls cannot be "
                                "in its grid (its cap is max_calls)")
        base = base.replace(calls=cap)  # what the memory check and the manifest see
        options = (("max_calls", cap), ("precision", precision), ("precision_on", precision_on))
    elif max_calls is not None:
        raise BadInputError("max_calls is the cap of a precision-controlled sweep: give precision too")
    # Every point is built and checked (parameters, memory) before --out is created.
    try:
        points = check_sweep(base, grid, seeds, profile, names, workers, max_memory, options)
    except KeyboardInterrupt as e:
        e.untouched = True  # the CLI says the folder was not touched
        raise
    if scheduler is not None:
        from .cluster import check_scheduler

        check_scheduler(scheduler)
    elif gather:  # local threads write their own points: the option would do nothing
        raise BadInputError("gather (--gather) applies to a Dask --scheduler only")
    from ..results.tables import check_utf8_path

    check_utf8_path(out)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BulksimError(f"{out}: exists and is not a folder")
    if not out.parent.is_dir():
        raise BulksimError(f"{out}: folder {out.parent} does not exist")
    manifest = {"format_version": SWEEP_FORMAT_VERSION, "base": base.provenance_dict(), "grid": grid,
                "grid_order": list(grid),  # the file's keys are sorted; the columns keep this order
                "seeds": seeds, "strategies": names, "profile": profile}
    if options:
        manifest["precision"] = dict(options)
    from ..inputs.profile_file import file_digest

    if (digest := file_digest(profile)) is not None:
        # the path alone does not say the costs: a profile file edited between an
        # interrupted sweep and its resume would price the new points with other costs
        manifest["profile_digest"] = digest
    try:
        return _write_sweep(out, manifest, base, points, names, grid, force, workers, profile,
                            progress, scheduler, gather)
    except KeyboardInterrupt as e:
        if not getattr(e, "started", False):
            e.untouched = True  # interrupted before the folder was changed
        raise


def _write_sweep(out: Path, manifest, base, points, names, grid, force, workers, profile,
                 progress, scheduler, gather) -> SweepReport:
    mpath = out / MANIFEST
    nonempty = out.is_dir() and any(out.iterdir())
    if nonempty and not mpath.exists():
        raise BulksimError(f"{out}: folder is not empty and holds no sweep; --force replaces only "
                           "a sweep folder (use another --out)")
    if mpath.exists() and not force:
        try:
            old = json.loads(mpath.read_text())
        except (OSError, ValueError):
            raise BulksimError(f"{mpath}: unreadable sweep manifest (use --force to start over)") from None
        if old != json.loads(json.dumps(manifest, default=str)):
            raise BulksimError(f"{out}: holds a different sweep; use another --out, or --force to "
                               "replace it")
    _remove_stale_builds(out)
    replacing = force and nonempty
    if replacing and out.is_symlink():
        raise BulksimError(f"{out}: is a symbolic link; give the sweep folder itself to replace it")
    created = not out.exists()
    # from here on the folder (or a build folder beside it) changes: an interrupt says how
    # --force on an existing sweep builds the new one beside it and swaps it in at the
    # end: interrupted or failed, the old sweep stays as it was (never a mix of both)
    work = _new_build_folder(out) if replacing else out
    try:
        _write_manifest(work, work / MANIFEST, manifest)
        _remove_stale_temporaries(work)
        done = {} if replacing else _done_points(work, base, points, names, grid, warn=True)
        todo = [p for p in points if p.key not in done]
        report = SweepReport(out, len(points), len(points) - len(todo))
        _compute(report, todo, names, profile, work, base, grid, workers, progress, scheduler, gather)
        _consolidate(work, base, points, names, grid, manifest)
        old = _swap_in(work, out) if replacing else None
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            e.started = True
        if replacing:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
            if isinstance(e, KeyboardInterrupt):
                e.replacing = True  # the CLI says the old sweep is kept
        elif not nonempty and not _has_results(work):
            _remove_empty_sweep(work, created)  # a full disk, a lost scheduler: no empty tree left
            if isinstance(e, KeyboardInterrupt):
                e.nothing = True  # the CLI says nothing was computed
        raise
    if old is not None:
        import shutil

        try:
            shutil.rmtree(old, ignore_errors=True)
        except KeyboardInterrupt as e:  # the new sweep is in place; a rerun removes the rest
            e.swapped = True
            raise
    return report


def _compute(report: SweepReport, todo, names, profile, out: Path, base, grid, workers, progress,
             scheduler, gather) -> None:
    """Compute the points ``todo`` into ``out``'s staging folder, ``workers`` at a time."""
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
    if not todo:
        return
    if scheduler:
        from .cluster import run_points

        def done(paths):
            report.files.extend(paths)
            report.computed += 1
            show()

        show()
        try:
            run_points(scheduler, todo, names, profile, out, base, grid_types, gather, done)
        finally:
            if progress is True:
                sys.stderr.write("\n")
        return
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


def _new_build_folder(out: Path) -> Path:
    import tempfile

    from ..errors import OutputError

    try:
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    except OSError as e:
        raise OutputError(f"{out}: cannot build the new sweep beside it ({e.strerror or e})") from None


def _remove_stale_builds(out: Path) -> None:
    """Folders of a ``--force`` sweep killed with SIGKILL before its swap (one sweep per
    folder at a time): ``.OUT.new-*`` and ``.OUT.old-*`` beside ``out``, holding a sweep."""
    import shutil

    import glob

    name = glob.escape(out.name)
    for d in list(out.parent.glob(f".{name}.new-*")) + list(out.parent.glob(f".{name}.old-*")):
        # an old one may be half removed already (a signal during its removal)
        if d.is_dir() and not d.is_symlink() and ((d / MANIFEST).is_file() or ".old-" in d.name
                                                   or not any(d.iterdir())):
            shutil.rmtree(d, ignore_errors=True)


def _swap_in(new: Path, out: Path) -> Path:
    """Replace the sweep ``out`` by ``new`` with two renames, SIGINT and SIGTERM held;
    returns where the old sweep went (for the caller to remove)."""
    from ..errors import OutputError
    from ..results.tables import signals_held

    old = out.parent / f".{out.name}.old-{os.getpid()}"
    try:
        with signals_held():
            os.replace(out, old)
            try:
                os.replace(new, out)
            except OSError:
                os.replace(old, out)
                raise
    except OSError as e:
        raise OutputError(f"{out}: cannot replace it ({e.strerror or e}); the old sweep is kept") from None
    return old


def _has_results(out: Path) -> bool:
    return (out / DATA).is_file() or any((out / PARTS).glob("point-*.arrow"))


def _remove_stale_temporaries(out: Path) -> None:
    """Remove the temporary files of writes that never finished (a sweep killed with
    SIGKILL mid-write): ``.*.tmp`` in the folder and its staging folder.  Only this
    sweep's writers make them, and none is running when a sweep starts."""
    for tmp in list(out.glob(".*.tmp")) + list((out / PARTS).glob(".point-*.tmp")):
        try:
            if tmp.is_file() and not tmp.is_symlink():
                tmp.unlink()
        except OSError:
            pass


def _remove_empty_sweep(out: Path, created: bool) -> None:
    """Undo a sweep that computed nothing: remove the folder this call created, or empty
    again the one it found empty (its manifest, staging folder and temporaries)."""
    import shutil

    if created:
        shutil.rmtree(out, ignore_errors=True)
        return
    for p in list(out.iterdir()) if out.is_dir() else []:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _write_manifest(out: Path, mpath: Path, manifest: dict) -> None:
    """Create ``out`` and write the manifest atomically; a failure is one OutputError
    and a folder this call created is removed again."""
    from ..errors import OutputError

    created = not out.exists()
    tmp = out / f".{MANIFEST}.tmp"
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
                names: list[str], workers: int, max_memory: int | None, options: tuple = ()) -> list:
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
    points = make_points(base, grid, seeds, profile, names, options)
    at_once = min(workers, len(points))
    from ..model.state import resolve_generation

    for p in points:
        for name in names:  # every strategy must exist on the point's kernel generation
            resolve_generation(p.scenario.kernel, name)
        check_memory(p.scenario, p.scenario.calls, max_memory=max_memory, runs_at_once=at_once)
    return points


_DICT_COLUMNS = ("scenario", "strategy", "profile", "kernel", "free_hook")


def _want_columns(grid_keys) -> list[str]:
    from ..results.tables import summary_schema

    return [f.name for f in summary_schema()] + [f"param_{k}" for k in grid_keys] + ["point"]


def _table_problem(t: pa.Table, grid_keys) -> str | None:
    """Why a table does not have the rows of a sweep: columns and the types it relies on."""
    from ..results.tables import summary_schema

    schema = summary_schema()
    have = set(t.column_names)  # (a list, built anew on each access: a set, built once)
    missing = [c for c in _want_columns(grid_keys) if c not in have]
    if missing:
        return f"not a part of this sweep (missing column {missing[0]!r})"
    types = t.schema
    for f in schema:
        got = types.field(f.name).type
        if pa.types.is_dictionary(f.type):
            ok = pa.types.is_dictionary(got) and pa.types.is_string(got.value_type) or pa.types.is_string(got)
        else:
            ok = got == f.type
        if not ok:
            return f"column {f.name!r} is {got}, not {f.type}"
    if t.schema.field("point").type != pa.string():
        return "column 'point' is not a string"
    return None


def _read(path: Path) -> tuple[pa.Table | None, str | None]:
    from ..results.tables import read_table_file

    try:
        return read_table_file(path), None
    except (OSError, ValueError, pa.ArrowException) as e:
        return None, f"unreadable ({(str(e).strip().splitlines() or [type(e).__name__])[0][:120]})"


def _point_problem(t: pa.Table, point, names: list[str], scenario: str) -> str | None:
    """Why the rows ``t`` are not exactly point ``point``'s (one per strategy), or None."""
    if t.num_rows != len(names):
        return f"{t.num_rows} rows where {len(names)} (one per strategy) are expected"
    rows = t.select(["scenario", "strategy", "seed", "point"]).to_pylist()
    if [r["strategy"] for r in rows] != list(names):
        return "holds other strategies than the sweep's"
    if any(r["point"] != point.key or r["seed"] != point.seed for r in rows):
        return "belongs to another point or sweep"
    if any(r["scenario"] != scenario for r in rows):
        return f"holds scenario {str(rows[0]['scenario'])[:40]!r}, not {scenario[:40]!r}"
    return None


def _done_points(out: Path, base: Scenario, points: list, names: list[str], grid: dict, *,
                 warn: bool | None) -> dict[str, pa.Table]:
    """The points of this sweep found complete and verified in ``out``, by key: the rows
    of ``summary.parquet``, then the staged points.  With ``warn``, whatever cannot be
    kept (damaged, foreign, another point's) is reported on stderr and recomputed;
    without, it is refused (BadInputError naming it): never dropped or doubled silently."""
    by_key = {p.key: p for p in points}
    done: dict[str, pa.Table] = {}
    bad: list[tuple[Path, str]] = []

    def problem(path: Path, why: str) -> None:
        if warn:
            print(f"bulksim: warning: {path}: {why}; recomputing the point", file=sys.stderr)
        elif warn is not None:  # None: keep what verifies, quietly (consolidation)
            bad.append((path, why))

    data = out / DATA
    if data.exists():
        t, why = _read(data)
        why = why or _table_problem(t, grid)
        if why is not None:
            problem(data, why)
        else:
            keys = t.column("point").to_pylist()
            order: dict[str, list[int]] = {}
            for i, k in enumerate(keys):
                order.setdefault(k, []).append(i)
            for k, idx in order.items():
                p = by_key.get(k)
                rows = t.take(idx)
                why = "holds rows of a point that is not in this sweep" if p is None else \
                    _point_problem(rows, p, names, base.name)
                if why is not None:
                    problem(data, f"point {k[:16]!r} {why}")
                else:
                    done[k] = rows
    parts = out / PARTS
    found = sorted(parts.iterdir()) if parts.is_dir() else []
    for path in found:
        if path.name.startswith("."):
            continue
        key = path.name[len("point-"):-len(".arrow")] if path.name.startswith("point-") and \
            path.name.endswith(".arrow") else None
        p = by_key.get(key)
        if p is None or not path.is_file():
            problem(path, "not a point of this sweep")
            continue
        t, why = _read(path)
        why = why or _table_problem(t, grid) or _point_problem(t, p, names, base.name) \
            or part_stamp_problem(t.schema.metadata, base.name, names, p.key)
        if why is not None:
            problem(path, why)
        elif key not in done:
            done[key] = t
    if bad:
        p, why = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise BadInputError(f"{p}: {why}{more}; rerun the sweep command to recompute damaged points, "
                            "or remove foreign files")
    return done


def _as_dataset(tables: list[pa.Table], grid_keys) -> pa.Table:
    """One table of the sweep's rows, every column typed as ``run --out`` (and its
    field metadata: units, descriptions) plus ``param_*`` and ``point``."""
    from ..results.tables import summary_schema

    want = _want_columns(grid_keys)
    plain = []
    for t in tables:
        t = t.select(want).replace_schema_metadata(None)
        for c in _DICT_COLUMNS:
            i = t.schema.get_field_index(c)
            t = t.set_column(i, pa.field(c, pa.string()), t.column(c).cast(pa.string()))
        plain.append(t)
    table = pa.concat_tables(plain, promote_options="permissive") if len(plain) > 1 else plain[0]
    schema = summary_schema()
    fields, cols = [], []
    for c in want:
        f = schema.field(c) if c in schema.names else next(
            t.schema.field(c) for t in tables)
        col = table.column(c)
        if pa.types.is_dictionary(f.type):
            col = col.combine_chunks().dictionary_encode().cast(f.type)
        fields.append(f.with_type(f.type if c in schema.names else col.type))
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def _consolidate(out: Path, base: Scenario, points: list, names: list[str], grid: dict,
                 manifest: dict) -> None:
    """Merge every verified point into ``summary.parquet`` and its units sidecar (one
    commit, all or nothing), then remove the staged points."""
    from ..results.tables import units_table, write_tables

    staged = sorted((out / PARTS).iterdir()) if (out / PARTS).is_dir() else []
    if (out / DATA).exists() and (out / UNITS).exists() and not staged:
        try:
            _done_points(out, base, points, names, grid, warn=False)
            return  # nothing to merge, nothing foreign to drop
        except BadInputError:
            pass
    done = _done_points(out, base, points, names, grid, warn=None)
    if len(done) < len(points):
        return  # an incomplete sweep stays staged (resume)
    metas = [t.schema.metadata or {} for t in done.values()]
    table = _as_dataset([done[p.key] for p in points], grid)
    table = table.replace_schema_metadata(sweep_provenance(manifest, metas, table))
    write_tables([(table, out / DATA), (units_table({"summary": table}), out / UNITS)], force=True,
                 record=False)  # the sweep's own line says what is kept
    for f in staged:
        if f.is_dir() and not f.is_symlink():
            import shutil

            shutil.rmtree(f, ignore_errors=True)
        else:
            f.unlink(missing_ok=True)
    try:
        (out / PARTS).rmdir()
    except OSError:
        pass


def read_sweep(out: str | os.PathLike) -> pa.Table:
    """The whole dataset as one table, typed as ``run --out`` (plus param_* and point).

    Every row must be verified: a damaged or foreign part is refused (BadInputError
    naming it), never dropped silently.  Points still staged (an interrupted sweep) are
    read too.
    """
    out = Path(out)
    if not (out / MANIFEST).exists():
        raise BadInputError(f"{out}: not a sweep folder (no {MANIFEST})")
    try:
        manifest = json.loads((out / MANIFEST).read_text())
        order = manifest.get("grid_order") or list(manifest["grid"])
        grid = {k: manifest["grid"][k] for k in order}
        names = list(manifest["strategies"])
        base = Scenario(**manifest["base"])
        seeds = list(manifest["seeds"])
        points = make_points(base, grid, seeds, manifest["profile"], names,
                             tuple(sorted(manifest.get("precision", {}).items())))  # --precision
        if manifest.get("format_version") != SWEEP_FORMAT_VERSION:
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError, BulksimError):
        raise BadInputError(f"{out / MANIFEST}: unreadable sweep manifest, or one of an older "
                            "bulksim (rerun the sweep command with --force)") from None
    done = _done_points(out, base, points, names, grid, warn=False)
    if not done:
        raise BadInputError(f"{out}: the sweep has no results yet")
    keep = [done[p.key] for p in points if p.key in done]
    metas = [t.schema.metadata or {} for t in keep]
    table = _as_dataset(keep, grid)
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
        found = sorted({v for m in metas if key in m for v in _mixed(m[key].decode())})
        return found[0] if len(found) == 1 else "mixed: " + ", ".join(found)

    meta = {k.decode(): values(k) for k in sorted({k for m in metas for k in m})
            if k not in (b"scenario", b"seed", b"sweep", b"scenario_label", b"scenario_overrides",
                         PART_STAMP.encode())}
    scenario = dict(manifest.get("base", {}))
    scenario.update({k: list(v) for k, v in manifest["grid"].items()})
    meta["scenario"] = json.dumps(scenario, sort_keys=True, default=str)
    meta["seed"] = json.dumps(manifest.get("seeds", []))
    points = table.column("point").unique().to_pylist() if "point" in table.column_names else []
    meta["sweep"] = json.dumps({**manifest, "points": len(points), "rows": table.num_rows},
                               sort_keys=True, default=str)
    return meta


def _mixed(value: str) -> list[str]:
    """The values of a provenance entry: one, or those of ``mixed: a, b``."""
    return value[len("mixed: "):].split(", ") if value.startswith("mixed: ") else [value]
