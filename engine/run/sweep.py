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

from ..errors import BulksimError
from ..inputs.scenario import Scenario, parse_value, split_setting
from .points import make_points, point_files, run_point
from .simulate import parse_strategies

MANIFEST = "_sweep.json"
SWEEP_FORMAT_VERSION = 1


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
        vals = [parse_value(key, v.strip()) for v in values.split(",") if v.strip()]
        if not vals:
            raise BulksimError(f"--grid {key} has no values")
        grid[key] = vals
    return grid


def parse_seeds(text: str) -> list[int]:
    """``"3"`` -> seeds 0, 1, 2; ``"5,9"`` -> seeds 5 and 9."""
    try:
        if "," in text:
            seeds = [int(s) for s in text.split(",") if s.strip()]
        else:
            seeds = list(range(int(text)))
    except ValueError:
        raise BulksimError(f"--seeds expects a count or a comma-separated list, got {text!r}") from None
    if not seeds or any(s < 0 or s >= 2**63 for s in seeds):
        raise BulksimError(f"--seeds must give at least one seed in [0, 2**63), got {text!r}")
    return seeds


def run_sweep(base: Scenario, grid: dict[str, list[Any]], seeds: list[int], out: str | os.PathLike, *,
              strategies="all", profile: str = "intel-skylake", workers: int | None = None,
              force: bool = False, progress: bool = False, scheduler: str | None = None,
              gather: bool = False) -> SweepReport:
    """Run (or resume) a sweep; returns what was done.  See the module docstring.

    ``scheduler``: None runs points in local threads (``workers`` of them);
    ``"local:N"`` starts a local Dask cluster of N worker processes; anything else is
    the address of a running Dask scheduler (``engine.distributed``).  With a Dask
    scheduler, workers write their points to ``out`` themselves (a filesystem they
    share with the client), or with ``gather=True`` send them back and the client
    writes them.
    """
    from ..inputs.costs import get_profile

    get_profile(profile)
    names = parse_strategies(strategies)
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise BulksimError(f"--workers must be >= 1, got {workers}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BulksimError(f"{out}: exists and is not a folder")
    if not out.parent.is_dir():
        raise BulksimError(f"{out}: folder {out.parent} does not exist")
    manifest = {"format_version": SWEEP_FORMAT_VERSION, "base": base.to_dict(), "grid": grid,
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
    out.mkdir(exist_ok=True)
    tmp = mpath.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str))
    os.replace(tmp, mpath)

    points = make_points(base, grid, seeds, profile, names)
    todo = [p for p in points if force or not all(f.exists() for f in point_files(out, base, p, names))]
    report = SweepReport(out, len(points), len(points) - len(todo))
    t0 = time.perf_counter()

    def show():
        if not progress:
            return
        done = report.done_before + report.computed
        el = time.perf_counter() - t0
        eta = el / report.computed * (len(todo) - report.computed) if report.computed else 0.0
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
        finally:
            if progress:
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
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if progress:
            sys.stderr.write("\n")
    return report


def read_sweep(out: str | os.PathLike) -> pa.Table:
    """The whole dataset as one table (scenario and strategy come back as columns)."""
    import pyarrow.dataset as ds

    out = Path(out)
    if not (out / MANIFEST).exists():
        raise BulksimError(f"{out}: not a sweep folder (no {MANIFEST})")
    return ds.dataset(out, format="parquet", partitioning="hive",
                      exclude_invalid_files=True).to_table()
