"""bulksim sweep: the dataset, resuming, worker-count independence, interruption."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from engine import cli
from engine.errors import BulksimError
from engine.inputs.scenario import Scenario
from engine.model.state import STRATEGIES
from engine.run.sweep import parse_grid, parse_seeds, read_sweep, run_sweep

BASE = Scenario(name="default", calls=400)
GRID = {"bulk_size": [1, 8, 16], "nodes": [1, 2]}


def _sorted(t: pa.Table) -> pa.Table:
    t = t.drop_columns(["sim_seconds"])
    t = t.cast(pa.schema([f.with_type(pa.string()) if pa.types.is_dictionary(f.type) else f
                          for f in t.schema]))
    return t.sort_by([("point", "ascending"), ("strategy", "ascending")]).replace_schema_metadata(None)


def test_sweep_writes_one_row_per_point_and_strategy(tmp_path):
    rep = run_sweep(BASE, GRID, [0, 1], tmp_path / "s", workers=2)
    assert rep.total == 12 and rep.computed == 12
    t = read_sweep(tmp_path / "s")
    assert t.num_rows == 12 * len(STRATEGIES)
    assert set(t.column("strategy").to_pylist()) == set(STRATEGIES)
    assert set(t.column("param_bulk_size").to_pylist()) == {1, 8, 16}
    row = t.filter(pa.compute.equal(t.column("param_bulk_size"), 8)).to_pylist()[0]
    assert row["objects"] == 8 * 400 and row["calls"] == 400


def test_every_consumer_reads_the_dataset(tmp_path):
    """One summary.parquet with the units sidecar; every reader gets the rows, and the
    same column types as from a ``run --out`` file (dictionary where that has one)."""
    run_sweep(BASE, {"bulk_size": [4, 16]}, [0], tmp_path / "s", workers=1)
    assert cli.main(["run", "--calls", "400", "--quiet", "--out", str(tmp_path / "r.parquet")]) == 0
    import duckdb
    import pandas as pd
    import polars as pl
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    s = tmp_path / "s"
    assert sorted(p.name for p in s.iterdir()) == ["_sweep.json", "_units.parquet", "summary.parquet"]
    data, run = s / "summary.parquet", tmp_path / "r.parquet"
    rows = 2 * len(STRATEGIES)
    n = duckdb.connect().execute(
        f"select count(*), count(distinct strategy) from read_parquet('{data}')").fetchone()
    assert n == (rows, len(STRATEGIES))
    assert len(pd.read_parquet(data)) == rows and pl.read_parquet(data).height == rows
    # the folder as a dataset: the manifest, the units table and staging are skipped
    assert len(pd.read_parquet(s)) == rows and pq.read_table(s).num_rows == rows
    shared = pq.read_schema(run).names
    for name, read in [("read_sweep", lambda p: read_sweep(s) if p == data else pq.read_table(p)),
                       ("pyarrow", pq.read_table), ("dataset", lambda p: ds.dataset(p).to_table())]:
        a, b = read(data).schema, read(run).schema
        assert [a.field(c).type for c in shared] == [b.field(c).type for c in shared], name
    pa_, pr = pd.read_parquet(data).dtypes, pd.read_parquet(run).dtypes
    assert [str(pa_[c]) for c in shared] == [str(pr[c]) for c in shared]
    assert str(pa_["strategy"]) == "category"
    la, lr = pl.read_parquet(data).schema, pl.read_parquet(run).schema
    assert [la[c] for c in shared] == [lr[c] for c in shared]
    def duck(p):
        return {r[0]: r[1] for r in duckdb.connect().execute(f"describe select * from read_parquet('{p}')").fetchall()}
    da, dr = duck(data), duck(run)
    assert [da[c] for c in shared] == [dr[c] for c in shared]
    # the units sidecar, as run --out writes one
    units = pq.read_table(s / "_units.parquet").to_pylist()
    unit = {r["column"]: r["unit"] for r in units if r["table"] == "summary"}
    assert unit["hook_cycles_per_object"] == "cycles/object" and "param_bulk_size" in unit and "point" in unit
    # metadata once: the file is far smaller than one file per point and strategy was
    assert data.stat().st_size < 250_000  # (one file per point and strategy: megabytes)


def test_worker_count_does_not_change_results(tmp_path):
    run_sweep(BASE, GRID, [3], tmp_path / "a", workers=1)
    run_sweep(BASE, GRID, [3], tmp_path / "b", workers=3)
    assert _sorted(read_sweep(tmp_path / "a")).equals(_sorted(read_sweep(tmp_path / "b")))


def test_resume_computes_only_missing_points(tmp_path):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = tmp_path / "s"
    run_sweep(BASE, GRID, [0], out, workers=2)
    full = _sorted(read_sweep(out))
    t = pq.read_table(out / "summary.parquet")
    keys = sorted(set(t.column("point").to_pylist()))
    gone = keys[::3]
    pq.write_table(t.filter(pc.invert(pc.is_in(t.column("point"), pa.array(gone)))), out / "summary.parquet")
    rep = run_sweep(BASE, GRID, [0], out, workers=2)
    assert rep.computed == len(gone) and rep.done_before == 6 - len(gone)
    assert _sorted(read_sweep(out)).equals(full)
    assert not (out / ".parts").exists()


def test_a_different_sweep_is_refused_unless_forced(tmp_path):
    out = tmp_path / "s"
    run_sweep(BASE, {"bulk_size": [2]}, [0], out, workers=1)
    with pytest.raises(BulksimError, match="different sweep"):
        run_sweep(BASE, {"bulk_size": [3]}, [0], out, workers=1)
    rep = run_sweep(BASE, {"bulk_size": [2]}, [0], out, workers=1, force=True)
    assert rep.computed == 1


@pytest.mark.parametrize("items, words", [
    (["bulk_size"], "key=v1"), (["bulk_sise=1,2"], "did you mean"), (["bulk_size="], "no values"),
    (["bulk_size=1,x"], "bulk_size"), (["trace=a,b"], "cannot vary"), (["nodes=1", "nodes=2"], "twice"),
])
def test_bad_grids(items, words):
    with pytest.raises(BulksimError, match=words):
        parse_grid(items)


def test_seeds_parsing():
    assert parse_seeds("3") == [0, 1, 2] and parse_seeds("5,9") == [5, 9]
    with pytest.raises(BulksimError):
        parse_seeds("x")


def test_cli_sweep_and_errors(tmp_path, capsys):
    argv = ["sweep", "--grid", "bulk_size=2,4", "--calls", "100", "--quiet", "--out", str(tmp_path / "s")]
    assert cli.main(argv) == 0
    assert "2 points: 0 already done, 2 computed" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert "2 already done, 0 computed" in capsys.readouterr().out
    assert cli.main(["sweep", "--out", str(tmp_path / "t")]) == 2
    assert "--grid" in capsys.readouterr().err


def test_interrupted_sweep_keeps_finished_points_and_resumes(tmp_path):
    out = tmp_path / "s"
    argv = [sys.executable, "-m", "engine", "sweep", "--grid", "bulk_size=" + ",".join(map(str, range(1, 41))),
            "--calls", "40000", "--workers", "1", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(out.glob(".parts/point-*.arrow"))) < 8:
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "resume" in err and len(err.strip().splitlines()) == 1
    kept = list(out.glob(".parts/point-*.arrow"))
    assert 8 <= len(kept) < 40 and not (out / "summary.parquet").exists()
    assert not [p for p in out.rglob("*") if p.suffix == ".tmp"]
    assert read_sweep(out).num_rows == len(kept) * len(STRATEGIES)  # a partial sweep reads
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"40 points: {len(kept)} already done, {40 - len(kept)} computed" in done.stdout, done.stdout
    assert read_sweep(out).num_rows == 40 * len(STRATEGIES)
    assert Path(out / "_sweep.json").exists()


def test_dataset_provenance_describes_the_whole_sweep(tmp_path):
    """A 1,4,8 sweep over two seeds: the dataset's provenance names all three bulk sizes,
    both seeds and every point, not the scenario of whichever part was read first."""
    import json

    from engine.run.sweep import read_sweep, run_sweep

    out = tmp_path / "s"
    run_sweep(Scenario(name="prov", calls=30), {"bulk_size": [1, 4, 8]}, [0, 3], out, workers=1)
    t = read_sweep(out)
    meta = {k.decode(): v.decode() for k, v in t.schema.metadata.items()}
    scn = json.loads(meta["scenario"])
    assert scn["bulk_size"] == [1, 4, 8] and scn["name"] == "prov" and scn["calls"] == 30
    assert json.loads(meta["seed"]) == [0, 3]
    sweep = json.loads(meta["sweep"])
    assert sweep["grid"] == {"bulk_size": [1, 4, 8]} and sweep["points"] == 6
    assert sweep["rows"] == t.num_rows == 6 * len(sweep["strategies"])
    assert "mixed" not in meta["git_commit"] and meta["cost_profile"] == sweep["profile"]


def test_sweep_provenance_lists_values_the_parts_disagree_on():
    from engine.run.sweep import sweep_provenance

    manifest = {"base": {"bulk_size": 16, "name": "x"}, "grid": {"nodes": [1, 2]}, "seeds": [0]}
    metas = [{b"git_commit": b"aaa", b"scenario": b"{}", b"seed": b"0"},
             {b"git_commit": b"bbb", b"scenario": b"{}", b"seed": b"0"}]
    table = pa.table({"point": ["p1", "p2", "p2"]})
    meta = sweep_provenance(manifest, metas, table)
    assert meta["git_commit"] == "mixed: aaa, bbb"
    assert '"nodes": [1, 2]' in meta["scenario"] and '"bulk_size": 16' in meta["scenario"]
    assert '"points": 2' in meta["sweep"]


def test_sweep_points_run_their_strategies_in_one_pass(tmp_path):
    """Each point simulates every strategy in one pass where that is exact; the
    dataset's provenance names both ways the points ran (a limited point runs one pass
    each)."""
    run_sweep(BASE, {"memcg_max_pages": [0, 12]}, [0], tmp_path / "s", workers=1)
    meta = read_sweep(tmp_path / "s").schema.metadata[b"passes"].decode()
    assert meta.startswith("mixed: ")
    assert "one pass for 5 strategies (fused)" in meta
    assert "one pass per strategy (separate: a memory limit is set" in meta


def test_sweep_over_the_free_hook_and_its_report(tmp_path):
    """``--grid free_hook=per_object,batched`` with bulk frees: one row per point and
    strategy (none included), the free hook named in both the parameter and the
    summary column, fewer locks with the batched hook, none unchanged; the report
    draws the string parameter as groups of bars."""
    from engine.results.report import build_report

    out = tmp_path / "s"
    grid = parse_grid(["free_hook=per_object,batched"])
    run_sweep(BASE.replace(free_bulk=8), grid, [0], out, workers=1)
    rows = read_sweep(out).to_pylist()
    assert len(rows) == 2 * len(STRATEGIES)
    by = {(str(r["strategy"]), r["param_free_hook"]): r for r in rows}
    assert all(r["free_hook"] == r["param_free_hook"] and r["free_bulk"] == 8 for r in rows)
    po, bt = by[("per_object", "per_object")], by[("per_object", "batched")]
    assert bt["stock_locks"] < po["stock_locks"] and bt["free_runs"] > 0 == po["free_runs"]
    assert bt["total_cycles_per_object"] < po["total_cycles_per_object"]
    n_po, n_bt = by[("none", "per_object")], by[("none", "batched")]
    assert n_po["total_cycles_per_object"] == n_bt["total_cycles_per_object"] and n_po["stock_locks"] == 0
    page = build_report(out, tmp_path / "rep")
    assert "free_hook" in page.read_text()


def test_force_replaces_the_whole_sweep(tmp_path, capsys):
    """``sweep --force`` with another grid leaves only the new sweep: the dataset, the
    manifest and what compare reads agree (the old points are gone, not read as new)."""
    import json

    out = tmp_path / "s"
    base = ["sweep", "--quiet", "--calls", "200", "--out", str(out)]
    assert cli.main(base + ["--grid", "bulk_size=1,2"]) == 0
    assert cli.main(base + ["--grid", "bulk_size=4", "--force"]) == 0
    assert json.loads((out / "_sweep.json").read_text())["grid"] == {"bulk_size": [4]}
    t = read_sweep(out)
    assert set(t.column("param_bulk_size").to_pylist()) == {4} and t.num_rows == len(STRATEGIES)
    capsys.readouterr()
    assert cli.main(["compare", str(out), "-o", "csv"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    assert len(rows) == len(STRATEGIES) - 1  # each strategy against per_object, at one point
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no build folder left
    # a folder that is not a sweep is never replaced, --force or not
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert cli.main(["sweep", "--quiet", "--calls", "20", "--grid", "bulk_size=1", "--force",
                     "--out", str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_force_that_fails_keeps_the_old_sweep(tmp_path, capsys, monkeypatch):
    from engine.errors import OutputError
    from engine.run import points

    out = tmp_path / "s"
    run_sweep(BASE, {"bulk_size": [1, 2]}, [0], out, workers=1)
    before = read_sweep(out)

    def fail(*a, **k):
        raise OutputError("disk gone")
    monkeypatch.setattr(points, "write_point", fail)
    with pytest.raises(OutputError):
        run_sweep(BASE, {"bulk_size": [4]}, [0], out, workers=1, force=True)
    assert read_sweep(out).column("objects") == before.column("objects")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_report_of_a_sweep_of_zero_calls(tmp_path, capsys):
    """``--calls 0``: per_object costs nothing, so there is no batched / per_object ratio
    to draw; the report is written without the heatmap (it divided by zero)."""
    out = tmp_path / "s"
    assert cli.main(["sweep", "--quiet", "--calls", "0", "--grid", "bulk_size=1,2", "--grid", "nodes=1,2",
                     "--out", str(out)]) == 0
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    assert not list((tmp_path / "rep").glob("ratio_*"))
    assert cli.main(["sweep", "--quiet", "--calls", "200", "--grid", "bulk_size=1,2", "--grid", "nodes=1,2",
                     "--out", str(tmp_path / "t")]) == 0
    assert cli.main(["report", str(tmp_path / "t"), "--out", str(tmp_path / "rep2")]) == 0
    assert list((tmp_path / "rep2").glob("ratio_*"))  # with calls, the heatmap is there


@pytest.mark.parametrize("name", ["a/b", "../x", ".hidden"])
def test_a_name_that_is_a_path_is_refused_by_run_and_sweep_alike(tmp_path, capsys, name):
    assert cli.main(["run", "--quiet", "--calls", "20", "--set", f"name={name}"]) == 2
    run_err = capsys.readouterr().err
    assert cli.main(["sweep", "--quiet", "--calls", "20", "--grid", "bulk_size=1", "--set", f"name={name}",
                     "--out", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err == run_err and "name must be" in run_err
    assert not (tmp_path / "s").exists()


def test_report_of_the_summary_file_is_the_report_of_the_folder(tmp_path, capsys):
    """``report DIR/summary.parquet`` draws the sweep (its param_* columns), the same
    figures as ``report DIR``, never the points as one run's strategies."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "s"
    run_sweep(BASE, {"bulk_size": [1, 4], "nodes": [1, 2]}, [0], out, workers=1)
    assert cli.main(["report", str(out), "--out", str(tmp_path / "a")]) == 0
    assert cli.main(["report", str(out / "summary.parquet"), "--out", str(tmp_path / "b")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert any(n.startswith("ratio_bulk_size_nodes") for n in names)
    assert not any(n.startswith("cost_per_strategy") for n in names)
