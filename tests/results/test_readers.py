"""What a reader of the written tables sees: units from pandas, polars and DuckDB, and a
run table whose rows explain the end-to-end cost and whose differences do not mislead."""

from __future__ import annotations

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

import engine
from engine import cli
from engine.results.console import NEAR_ZERO, _delta, comparison_text


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("units") / "r.parquet"
    assert cli.main(["run", "--calls", "400", "--quiet", "--detail", "calls,runs", "--out", str(out)]) == 0
    return out


def test_units_table_lists_every_column_of_every_file(written):
    units = pq.read_table(written.with_name("r.units.parquet")).to_pylist()
    for kind, path in (("summary", written), ("calls", written.with_name("r.calls.parquet")),
                       ("runs", written.with_name("r.runs.parquet"))):
        schema = pq.read_schema(path)
        mine = {u["column"]: u for u in units if u["table"] == kind}
        assert set(mine) == set(schema.names), kind
        for f in schema:
            assert mine[f.name]["unit"] == (f.metadata or {}).get(b"unit", b"").decode()
            assert mine[f.name]["description"] == (f.metadata or {}).get(b"description", b"").decode()
    prov = {u["description"].split("=", 1)[0] for u in units if u["table"] == "provenance"}
    assert {"git_commit", "cost_profile", "seed"} <= prov


def test_the_documented_queries(written):
    d = written.parent
    # pandas
    u = pd.read_parquet(d / "r.units.parquet")
    unit = u.set_index(["table", "column"]).loc[("summary", "hook_cycles_per_object"), "unit"]
    assert unit == "cycles/object"
    # polars
    p = pl.read_parquet(d / "r.units.parquet").filter(pl.col("column") == "total_cycles_per_object")
    assert p["unit"].to_list() == ["cycles/object"]
    # DuckDB: each value with its unit, by a join on the column name
    rows = duckdb.sql(f"""
        select s.strategy, u.unit, s.hook_cycles_per_object as value
        from '{d / "r.parquet"}' s, '{d / "r.units.parquet"}' u
        where u."table" = 'summary' and u."column" = 'hook_cycles_per_object'
        order by s.strategy""").fetchall()
    assert len(rows) == len(engine.STRATEGIES) and all(r[1] == "cycles/object" for r in rows)


def test_run_table_explains_end_to_end_cost(written):
    table = pq.read_table(written)
    text = comparison_text(table)
    assert "free-hook cycles / object" in text and "slab alloc+free cycles / object" in text
    for r in table.to_pylist():
        parts = (r["hook_cycles"] + r["free_hook_cycles"] + r["slab_cycles"]) / r["objects"]
        # each phase priced alone bounds the one end-to-end region (docs/costs.md)
        assert parts >= r["total_cycles_per_object"] * (1 - 1e-12)
    assert "at most their sum" in text


def test_near_zero_base_shows_an_absolute_difference():
    assert _delta(0.017, 0.002) == "(+0.015)"          # not "+750.0%"
    assert _delta(0.0021, 0.002) == "(=)"
    assert _delta(90.0, 60.0) == "(+50.0%)"
    assert _delta(0.1, NEAR_ZERO) == "(+100.0%)"         # at the threshold: a percentage again
