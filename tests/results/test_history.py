"""asv results -> one tidy Arrow table, on results written by a real `asv run`."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine import cli
from engine.errors import BulksimError
from engine.results.history import history_table

FIXTURE = Path(__file__).parents[1] / "fixtures" / "asv_results"


def _raw():
    files = [p for p in (FIXTURE / "bulksim-2core").glob("*.json") if p.name != "machine.json"]
    return [json.loads(p.read_text()) for p in files]


def test_every_result_becomes_one_row_with_its_value():
    table = history_table(FIXTURE)
    expected = 0
    for d in _raw():
        cols = d["result_columns"]
        for name, values in d["results"].items():
            rec = dict(zip(cols, values))
            combos = list(itertools.product(*rec["params"])) if rec["params"] else [()]
            expected += len(combos)
            rows = [r for r in table.to_pylist() if r["benchmark"] == name and r["commit"] == d["commit_hash"]]
            assert len(rows) == len(combos)
            assert [r["value"] for r in rows] == [float(v) if v is not None else None for v in rec["result"]]
    assert table.num_rows == expected


def test_units_params_and_metadata():
    table = history_table(FIXTURE)
    assert table.schema.metadata[b"schema_version"] == b"1"
    assert table.schema.field("duration_s").metadata[b"unit"] == b"s"
    rows = table.to_pylist()
    timing = [r for r in rows if r["benchmark"] == "bench_engine.TimeSimulate.time_million_objects"]
    assert timing and all(r["unit"] == "seconds" and r["benchmark_type"] == "time" for r in timing)
    assert {dict(r["params"])["strategy"] for r in timing} == {"per_object", "batched_v1", "batched", "upfront"}
    assert all(r["ci_99_low"] <= r["value"] <= r["ci_99_high"] for r in timing)
    tracks = [r for r in rows if r["benchmark"].endswith("track_stock_locks_per_object")]
    assert tracks and all(r["unit"] == "locks/object" for r in tracks)


def test_cli_export_is_queryable_with_duckdb(tmp_path, capsys):
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "history.parquet"
    assert cli.main(["history", str(FIXTURE), "--out", str(out)]) == 0
    assert "results of 1 commit" in capsys.readouterr().out
    con = duckdb.connect()
    got = con.execute(
        f"select params['strategy'] as s, value from read_parquet('{out}') "
        "where benchmark like '%track_hook_cycles_per_object' and params['scenario'] = 'default' "
        "order by s").fetchall()
    assert [s for s, _ in got] == ["batched", "batched_v1", "per_object", "upfront"]
    direct = {s: v for s, v in got}
    assert direct["batched"] < direct["per_object"]
    assert pq.read_table(out).num_rows == history_table(FIXTURE).num_rows


def test_bad_results_folders(tmp_path, capsys):
    with pytest.raises(BulksimError, match="no such folder"):
        history_table(tmp_path / "nope")
    with pytest.raises(BulksimError, match="benchmarks.json"):
        history_table(tmp_path)
    broken = tmp_path / "r"
    shutil.copytree(FIXTURE, broken)
    victim = next(p for p in (broken / "bulksim-2core").glob("*.json") if p.name != "machine.json")
    victim.write_text("{ not json")
    assert cli.main(["history", str(broken), "--out", str(tmp_path / "h.parquet")]) == 2
    assert "not a readable asv result file" in capsys.readouterr().err
    assert not (tmp_path / "h.parquet").exists()
