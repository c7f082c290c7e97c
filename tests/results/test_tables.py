"""Every table the engine writes: types, units, provenance, and real consumers."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import engine
from engine import cli
from engine.inputs.scenario import Scenario
from engine.model.events import EVENTS


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    d = tmp_path_factory.mktemp("tables")
    out = d / "r.parquet"
    assert cli.main(["run", "--calls", "500", "--seed", "4", "--quiet", "--set", "kfence_prob=0.1",
                     "--detail", "calls,runs", "--out", str(out)]) == 0
    assert cli.main(["run", "--calls", "500", "--seed", "4", "--quiet", "--set", "kfence_prob=0.1",
                     "--out", str(d / "r.feather")]) == 0
    return d


def test_summary_schema_units_and_provenance(written):
    t = pq.read_table(written / "r.parquet")
    meta = {k.decode(): v.decode() for k, v in t.schema.metadata.items()}
    for key in ("schema_version", "engine_version", "git_commit", "git_dirty", "numba_version",
                "numpy_version", "pyarrow_version", "scenario", "seed", "cost_profile", "host_cpu"):
        assert meta.get(key), key
    scn = json.loads(meta["scenario"])
    assert scn["kfence_prob"] == 0.1 and Scenario(**{k: v for k, v in scn.items()})
    assert pa.types.is_dictionary(t.schema.field("strategy").type)
    for ev in EVENTS:
        f = t.schema.field(ev)
        assert f.type == pa.int64() and f.metadata[b"unit"] == b"events"
    assert t.schema.field("total_ns_per_object").metadata[b"unit"] == b"ns/object"
    assert t.schema.field("hook_cycles_per_object_pct").metadata[b"unit"] == b"%"


def test_feather_and_parquet_hold_the_same_data(written):
    a = pq.read_table(written / "r.parquet").drop_columns(["sim_seconds"])
    b = feather.read_table(written / "r.feather").drop_columns(["sim_seconds"])
    assert a.replace_schema_metadata(None).equals(b.replace_schema_metadata(None))


def test_calls_table_matches_the_summary(written):
    calls = pq.read_table(written / "r.calls.parquet")
    summary = {r["strategy"]: r for r in pq.read_table(written / "r.parquet").to_pylist()}
    assert calls.num_rows == 500 * len(summary)  # long: one row per (call, strategy)
    rows = calls.to_pylist()
    for s, row in summary.items():
        mine = [r for r in rows if r["strategy"] == s]
        assert [r["call"] for r in mine] == list(range(500))
        assert sum(r["stock_locks"] for r in mine) == row["hook_stock_locks"]
        assert sum(r["runs"] for r in mine) == row["runs"]
        # each call alone is a region (max of chain and issue); the run's hook is one
        # region over all calls, where calls overlap: a sum of maxima >= the max of sums
        assert sum(r["hook_cycles"] for r in mine) >= row["hook_cycles"] * (1 - 1e-12)
        assert sum(r["bulk_size"] for r in mine) == row["objects"]
        # identity columns: every detail row says which run it belongs to
        assert {(r["scenario"], r["profile"], r["seed"]) for r in mine} == \
            {(row["scenario"], row["profile"], row["seed"])}
    assert calls.schema.field("hook_cycles").metadata[b"unit"] == b"cycles"
    assert calls.column_names[:5] == ["scenario", "overrides", "profile", "seed", "strategy"]


def test_runs_table_matches_the_summary(written):
    runs = pq.read_table(written / "r.runs.parquet").to_pylist()
    summary = {r["strategy"]: r for r in pq.read_table(written / "r.parquet").to_pylist()}
    for s, row in summary.items():
        assert sum(r["runs"] for r in runs if r["strategy"] == s) == row["runs"]
        if s == "none":  # no accounting, no charge runs: no rows
            assert row["runs"] == 0 and not [r for r in runs if r["strategy"] == s]
            continue
        assert {(r["scenario"], r["profile"], r["seed"]) for r in runs if r["strategy"] == s} == \
            {(row["scenario"], row["profile"], row["seed"])}
    assert all(r["run_length"] == 1 for r in runs if r["strategy"] == "per_object")


def test_pandas_polars_and_duckdb_read_every_file(written):
    import duckdb
    import pandas as pd
    import polars as pl

    for name in ("r.parquet", "r.calls.parquet", "r.runs.parquet"):
        path = written / name
        n = pq.read_metadata(path).num_rows
        assert len(pd.read_parquet(path)) == n
        assert pl.read_parquet(path).height == n
        assert duckdb.connect().execute(f"select count(*) from '{path}'").fetchone()[0] == n
    assert len(pd.read_feather(written / "r.feather")) == len(engine.STRATEGIES)
    assert pl.read_ipc(written / "r.feather").height == len(engine.STRATEGIES)
    got = duckdb.connect().execute(
        f"select strategy, hook_cycles_per_object_pct from '{written / 'r.parquet'}' "
        "where strategy = 'batched'").fetchall()
    assert got[0][1] < 0


def test_docs_list_every_summary_column():
    from pathlib import Path

    from engine.results.tables import summary_schema

    text = (Path(__file__).resolve().parents[2] / "docs" / "tables.md").read_text()
    missing = [f.name for f in summary_schema() if f"`{f.name}`" not in text]
    assert not missing


def test_per_object_columns_add_up_to_the_total():
    """hook + free hook + slab cycles per object bound the end-to-end figure, per
    strategy: each phase is a region of its own, end to end is one region (the hooks
    overlap the allocator, docs/costs.md), and the chain alone is additive."""
    import engine

    t = engine.simulate("default", calls=300, seed=2).summary.to_pylist()
    for r in t:
        parts = (r["hook_cycles_per_object"] + r["free_hook_cycles_per_object"]
                 + r["slab_cycles_per_object"])
        assert parts >= r["total_cycles_per_object"] * (1 - 1e-12)
        assert r["total_cycles_per_object"] >= max(r["hook_cycles_per_object"], r["slab_cycles_per_object"])
        assert r["free_hook_cycles_per_object"] == pytest.approx(r["free_hook_cycles"] / r["objects"])
        assert r["slab_cycles_per_object"] > 0
        # none: no accounting, so no hook work at either end
        assert (r["free_hook_cycles_per_object"] > 0) == (r["strategy"] != "none")
