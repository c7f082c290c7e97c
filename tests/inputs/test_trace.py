"""Trace input: replay, and one clear error per malformed file."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from engine import cli
from engine.errors import BulksimError
from engine.inputs.scenario import Scenario
from engine.inputs.trace import from_calls, load
from engine.model.events import EV, PH_HOOK
from engine.run.simulate import simulate

from ..conftest import assert_same_state, run_reference

SCN = Scenario(cpus=2, nodes=2, memcgs=2, live_objects=20, remote_free_prob=0.3)


def _random_calls(seed: int, n: int):
    rng = np.random.default_rng(seed)
    calls = []
    for _ in range(n):
        size = int(rng.integers(1, 20))
        calls.append([(int(s), int(s % 2), bool(s % 3)) for s in rng.integers(0, 12, size)])
    return calls


@pytest.mark.parametrize("strategy", ["per_object", "batched_v1", "batched", "upfront"])
def test_trace_replay_matches_reference(strategy):
    calls = _random_calls(1, 60)
    trace = from_calls(calls, SCN.replace(exts_fail_prob=0.3))
    scn = SCN.replace(exts_fail_prob=0.3, calls=len(calls))
    from engine.run.simulate import run_strategy

    run = run_strategy(scn, strategy, 4, trace=trace)
    ref_trace = [{"cpu": None, "memcg": None, "objects": objs} for objs in calls]
    assert_same_state(run.state, run_reference(scn, strategy, 4, ref_trace), strategy)


def test_trace_file_formats_give_identical_results(tmp_path):
    calls = _random_calls(2, 30)
    rows = {"call": [], "slab": [], "node": [], "has_exts": [], "cpu": []}
    for k, objs in enumerate(calls):
        for s, n, e in objs:
            rows["call"].append(k)
            rows["slab"].append(s)
            rows["node"].append(n)
            rows["has_exts"].append(e)
            rows["cpu"].append(k % 2)
    table = pa.table(rows)
    pq.write_table(table, tmp_path / "t.parquet")
    pacsv.write_csv(table, tmp_path / "t.csv")
    import pyarrow.feather as feather

    feather.write_feather(table, tmp_path / "t.feather")
    sums = []
    for name in ("t.parquet", "t.csv", "t.feather"):
        res = simulate(SCN.replace(trace=str(tmp_path / name)), seed=1)
        assert res.summary.column("overrides")[0].as_py().endswith(f"trace={tmp_path / name}")
        # the overrides name the trace file (what ran); every result column is the same
        sums.append(res.summary.drop_columns(["sim_seconds", "overrides"]))
    assert sums[0].equals(sums[1]) and sums[0].equals(sums[2])
    assert sums[0].column("calls").to_pylist()[0] == 30
    assert sums[0].column("objects").to_pylist()[0] == len(rows["call"])


def test_trace_worked_example_runs():
    objs = [(0, 0, True), (0, 0, True), (0, 0, True), (1, 1, True), (1, 1, True), (2, 0, True)]
    scn = Scenario(cpus=1, nodes=2, memcgs=1, depth=1, cgroup_switch_prob=0.0)
    res = simulate(scn, trace=from_calls([objs], scn), strategies="per_object,batched_v1,batched")
    v2s = {n: int(r.counters[PH_HOOK, EV["virt_to_slab"]]) for n, r in res.runs.items()}
    assert v2s == {"per_object": 6, "batched_v1": 14, "batched": 11}


@pytest.mark.parametrize("content, words", [
    ("call,slab,node\n0,1,0\n", "missing column"),
    ("call,slab,node,has_exts\n", "no rows"),
    ("call,slab,node,has_exts\n0,1,5,1\n", "out of range"),
    ("call,slab,node,has_exts\n1,1,0,1\n0,2,0,1\n", "ordered by call"),
    ("call,slab,node,has_exts\n0,1,0,1\n0,1,1,1\n", "two nodes"),
    ("call,slab,node,has_exts\n0,x,0,1\n", "must be integer"),
    ("call,slab,node,has_exts\n0,-1,0,1\n", "slab ids"),
    ("call,slab,node,has_exts\n0,1,0,7\n", "has_exts"),
    ("call,slab,node,has_exts,cpu\n0,1,0,1,0\n0,2,0,1,1\n", "same on every row"),
    ("call,slab,node,has_exts,cpu\n0,1,0,1,9\n", "cpu must be"),
    ("call,slab,node,has_exts\n0,1,,1\n", "missing values"),
])
def test_malformed_csv_traces(tmp_path, content, words):
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(BulksimError, match=words):
        load(path, SCN)


def test_unreadable_traces(tmp_path, capsys):
    bad = tmp_path / "t.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(BulksimError, match="cannot read"):
        load(bad, SCN)
    odd = tmp_path / "t.json"
    odd.write_text("{}")
    with pytest.raises(BulksimError, match="unknown format"):
        load(odd, SCN)
    with pytest.raises(BulksimError, match="no such file"):
        load(tmp_path / "missing.csv", SCN)
    assert cli.main(["run", "--trace", str(bad)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_foreign_trace_columns_are_one_line(tmp_path, capsys):
    """Nested, text, float, boolean (outside has_exts) and wrapping uint64 columns of a
    trace file are refused by name, in one line, before anything runs."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from engine import cli

    base = {"call": [0, 0, 1], "slab": [0, 0, 1], "node": [0, 0, 0], "has_exts": [1, 1, 1]}
    cases = {"call": pa.array([[0], [0], [1]]), "slab": pa.array([{"a": 1}] * 3),
             "node": pa.array([True, True, False]), "cpu": pa.array(["0", "0", "1"])}
    for col, arr in cases.items():
        pq.write_table(pa.table({**base, col: arr}), tmp_path / "t.parquet")
        assert cli.main(["run", "--quiet", "--trace", str(tmp_path / "t.parquet")]) == 2, col
        err = capsys.readouterr().err
        assert f"column {col!r} must be integer" in err and len(err.strip().splitlines()) == 1, err
    pq.write_table(pa.table({**base, "call": pa.array([0, 0, 2**64 - 1], pa.uint64())}), tmp_path / "t.parquet")
    assert cli.main(["run", "--quiet", "--trace", str(tmp_path / "t.parquet")]) == 2
    assert "out of range" in capsys.readouterr().err
    pq.write_table(pa.table({**base, "has_exts": pa.array([True, True, False])}), tmp_path / "ok.parquet")
    assert cli.main(["run", "--quiet", "--calls", "2", "--trace", str(tmp_path / "ok.parquet")]) == 0
