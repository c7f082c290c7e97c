"""One sweep point: its identity, its computation and its files.

Shared by the local sweep (``engine.run.sweep``) and the Dask runner
(``engine.run.cluster``): a point is computed anywhere (a local thread, or a Dask
worker, pickled by reference) and written atomically where it runs or where it is
gathered.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..inputs.scenario import Scenario
from .simulate import simulate

PART_STAMP = "sweep_part"  # schema metadata key of a staged point: what it holds
PARTS = ".parts"  # staging folder of a sweep: points computed since the last consolidation


def part_stamp(scenario: str, strategies: list[str], point_key: str) -> str:
    """The identity a staged point carries in its schema metadata (``PART_STAMP``)."""
    return json.dumps({"scenario": scenario, "strategies": list(strategies), "point": point_key},
                      sort_keys=True)


def part_stamp_problem(meta: dict | None, scenario: str, strategies: list[str], point_key: str) -> str | None:
    """Why a part's schema metadata does not say it holds (scenario, strategies, point), or None."""
    raw = (meta or {}).get(PART_STAMP.encode())
    if raw is None:
        return "carries no record of its point, strategies and scenario"
    try:
        got = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError):
        return "has an unreadable record of its point, strategies and scenario"
    if not isinstance(got, dict):
        return "has an unreadable record of its point, strategies and scenario"
    for k, want in (("scenario", scenario), ("strategies", list(strategies)), ("point", point_key)):
        if got.get(k) != want:
            return f"holds {k} {str(got.get(k))[:40]!r}, but {str(want)[:40]!r} is expected"
    return None


@dataclass(frozen=True)
class Point:
    params: dict[str, Any]
    seed: int
    scenario: Scenario
    key: str
    # keyword arguments of ``simulate`` the point runs with (a precision-controlled
    # sweep: precision, max_calls, precision_on), as sorted (name, value) pairs
    options: tuple = ()


def make_points(base: Scenario, grid: dict[str, list[Any]], seeds: list[int], profile: str,
                strategies: list[str], options: tuple = ()) -> list[Point]:
    keys = list(grid)
    points = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, combo))
        scn = base.replace(**params)
        for seed in seeds:
            # the values define a point, not the description (compare=False on the field):
            # the manifest records a description written from the values (docs/tables.md)
            values = {k: v for k, v in scn.to_dict().items() if k != "description"}
            ident = {"scenario": values, "seed": seed, "profile": profile, "strategies": strategies}
            if options:  # a fixed-length point keeps the key it always had
                ident["options"] = dict(options)
            ident = json.dumps(ident, sort_keys=True, default=str)
            key = hashlib.sha256(ident.encode()).hexdigest()[:16]
            points.append(Point(params, seed, scn, key, tuple(options)))
    return points


def part_path(out: Path, point: Point) -> Path:
    """Where a computed point waits until the sweep consolidates it (``summary.parquet``)."""
    return out / PARTS / f"point-{point.key}.arrow"


def point_files(out: Path, base: Scenario, point: Point, strategies: list[str]) -> list[Path]:
    return [part_path(out, point)]


def _point_table(point: Point, summary: pa.Table, grid_types: dict[str, Any]) -> pa.Table:
    from ..results.tables import _field

    t = summary
    for k, v in point.params.items():
        typ = {bool: pa.bool_(), int: pa.int64(), float: pa.float64()}.get(type(v), pa.string())
        t = t.append_column(_field(f"param_{k}", typ, "", f"swept scenario parameter {k}"),
                            pa.array([v] * t.num_rows, typ))
    t = t.append_column(_field("point", pa.string(), "", "sweep point key (parameters, seed, profile)"),
                        pa.array([point.key] * t.num_rows, pa.string()))
    return t


def compute_point(point: Point, strategies: list[str], profile: str, base: Scenario,
                   grid_types) -> list[tuple[str, bytes]]:
    """Simulate one point; return its (relative path, Arrow IPC bytes): one table with a
    row per strategy, the columns and types of ``run --out`` plus ``param_*`` and ``point``.

    Runs anywhere: in a local thread, or on a Dask worker (pickled by reference).
    """
    result = simulate(point.scenario, strategies=strategies, profile=profile, seed=point.seed,
                      **dict(point.options))
    table = _point_table(point, result.summary, grid_types)
    # The part says inside itself which point, strategies and scenario it holds, so a
    # part renamed or copied from another sweep is caught on resume and by read_sweep.
    meta = dict(table.schema.metadata or {})
    meta[PART_STAMP.encode()] = part_stamp(base.name, strategies, point.key).encode()
    table = table.replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    rel = part_path(Path("."), point)
    return [(str(rel), sink.getvalue().to_pybytes())]
def write_point(out: Path, items: list[tuple[str, bytes]]) -> list[Path]:
    """Write a computed point's files (each atomically)."""
    from ..results.tables import write_tables

    written = []
    for rel, data in items:
        path = out / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            from ..errors import OutputError

            raise OutputError(f"{path.parent}: cannot create it ({e.strerror or e})") from None
        write_tables([(pa.ipc.open_stream(data).read_all(), path)], force=True, record=False)
        written.append(path)
    return written


def run_point(point: Point, strategies: list[str], profile: str, out: Path, base: Scenario,
               grid_types) -> list[Path]:
    """Compute a point and write it where the computation runs (shared filesystem)."""
    return write_point(out, compute_point(point, strategies, profile, base, grid_types))
