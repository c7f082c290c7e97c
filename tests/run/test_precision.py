"""Precision-controlled runs: the stopping rule, its independence of the chunk size,
the cap, and the run of the reached call count (engine.run.simulate, docs/tables.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine import cli
from engine.errors import BadInputError
from engine.inputs.scenario import Scenario
from engine.results import error
from engine.run.sweep import read_sweep, run_sweep

PAIR = "per_object,batched"
VOLATILE = ["sim_seconds"]


def test_same_seed_same_stopping_point_whatever_the_chunk_size():
    a = engine.simulate("default", strategies=PAIR, seed=7, precision=0.002)
    b = engine.simulate("default", strategies=PAIR, seed=7, precision=0.002, chunk_calls=999)
    assert a.precision["stop"] == "reached" and a.precision["reached"] <= 0.002
    assert a.scenario.calls == b.scenario.calls == a.precision["calls"]
    assert a.scenario.calls in error.checkpoints(16_384, 10_000_000)
    for name in a.runs:
        assert np.array_equal(a.runs[name].counters, b.runs[name].counters)
    assert a.summary.drop_columns(VOLATILE).equals(b.summary.drop_columns(VOLATILE))


def test_a_fixed_run_of_the_reached_calls_gives_identical_counters_and_errors():
    p = engine.simulate("io_uring", strategies=PAIR, seed=3, precision=0.002)
    f = engine.simulate("io_uring", strategies=PAIR, seed=3, calls=p.scenario.calls)
    for name in p.runs:
        assert np.array_equal(p.runs[name].counters, f.runs[name].counters)
        assert np.array_equal(p.runs[name].batches, f.runs[name].batches)
        assert p.runs[name].state.keys() == f.runs[name].state.keys()
    cols = [c for c in p.summary.column_names if c.endswith("_se") or c.endswith("_ratio")]
    assert p.summary.select(cols).equals(f.summary.select(cols))
    # what a fixed run reports as reached is what the precision run stopped on
    assert f.summary.column("precision_reached")[0].as_py() == pytest.approx(p.precision["reached"])


def test_a_tighter_target_runs_longer_and_an_earlier_checkpoint_was_not_precise_enough():
    loose = engine.simulate("default", strategies=PAIR, seed=1, precision=0.004)
    tight = engine.simulate("default", strategies=PAIR, seed=1, precision=0.002)
    assert loose.scenario.calls < tight.scenario.calls
    cps = error.checkpoints(16_384, 10_000_000)
    before = cps[cps.index(tight.scenario.calls) - 1]
    shorter = engine.simulate("default", strategies=PAIR, seed=1, calls=before)
    assert error.worst_precision(shorter, which="hook") > 0.002


def test_the_cap_stops_a_run_and_says_so():
    res = engine.simulate("default", strategies=PAIR, seed=1, precision=1e-6, max_calls=20_000)
    assert res.precision["stop"] == "cap" and res.scenario.calls == 20_000
    row = res.summary.to_pylist()[1]
    assert row["calls"] == 20_000 and row["precision_stop"] == "cap" and row["precision_target"] == 1e-6
    meta = {k.decode(): v.decode() for k, v in res.summary.schema.metadata.items()}
    assert meta["precision_stop"] == "cap" and meta["precision_max_calls"] == "20000"
    assert json.loads(meta["scenario"])["calls"] == 20_000


def test_precision_on_ratios_watches_every_printed_ratio():
    hook = engine.simulate("default", strategies="per_object,batched,none", seed=2, precision=0.003)
    every = engine.simulate("default", strategies="per_object,batched,none", seed=2, precision=0.003,
                            precision_on="ratios", max_calls=3_000_000)
    assert every.scenario.calls > hook.scenario.calls  # the ratio to none is the noisiest
    iv = error.ratio_intervals(every, which="ratios")
    assert {d["figure"] for d in iv} >= {"batched/none total", "batched/per_object total"}
    assert every.precision["stop"] == "cap" or max(d["precision"] for d in iv) <= 0.003


@pytest.mark.parametrize("kwargs, msg", [
    ({"precision": 0}, "fraction"), ({"precision": 1.5}, "fraction"), ({"precision": "x"}, "number"),
    ({"precision": 0.01, "calls": 1000}, "exclude"), ({"max_calls": 1000}, "give precision"),
    ({"precision": 0.01, "precision_on": "all"}, "precision_on"),
    ({"precision": 0.01, "max_calls": 0}, "max_calls"),
])
def test_bad_precision_arguments_are_refused_before_anything_runs(kwargs, msg):
    with pytest.raises((BadInputError, TypeError), match=msg):
        engine.simulate("default", **kwargs)


@pytest.mark.parametrize("argv, msg", [
    (["run", "--precision", "0.01", "--calls", "100"], "exclude"),
    (["run", "--precision", "abc"], "expected a number"),
    (["run", "--max-calls", "100"], "give --precision"),
])
def test_cli_refuses_bad_precision_in_one_line(argv, msg, capsys):
    rc = cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and msg in err[0] and err[0].startswith("bulksim")


def test_bulksim_run_prints_pm_for_every_ratio(capsys):
    assert cli.main(["run", "--precision", "0.004", "--strategies", "per_object,batched,upfront,none",
                     "--quiet", "--max-calls", "200000"]) == 0
    text = capsys.readouterr().out
    import re

    ratio_lines = [ln for ln in text.splitlines() if re.search(r"ratio [0-9]|[0-9]x (none|±)", ln)]
    assert len(ratio_lines) >= 6 + 3
    assert all("±" in ln for ln in ratio_lines), ratio_lines
    assert "run to ±0.004 on the ratios" in text


def test_a_sweep_runs_each_point_to_the_precision(tmp_path):
    base = Scenario(name="default", calls=1000)
    run_sweep(base, {"bulk_size": [2, 32]}, [0], tmp_path / "p", strategies=PAIR, workers=1,
              precision=0.004)
    t = read_sweep(tmp_path / "p")
    rows = t.to_pylist()
    assert {r["precision_target"] for r in rows} == {0.004}
    assert all(r["precision_stop"] == "reached" and r["precision_reached"] <= 0.004 for r in rows)
    calls = {r["param_bulk_size"]: r["calls"] for r in rows}
    assert calls[2] != calls[32]  # each point stops where its own ratios are precise
    again = run_sweep(base, {"bulk_size": [2, 32]}, [0], tmp_path / "p", strategies=PAIR, workers=1,
                      precision=0.004)
    assert again.computed == 0 and again.done_before == 2  # resumes: the points are recognised
    manifest = json.loads((tmp_path / "p" / "_sweep.json").read_text())
    assert manifest["precision"]["precision"] == 0.004
    fixed = run_sweep(base, {"bulk_size": [8]}, [0], tmp_path / "f", strategies=PAIR, workers=1)
    assert fixed.computed == 1
    keys_fixed = set(read_sweep(tmp_path / "f").column("point").to_pylist())
    assert not keys_fixed & set(t.column("point").to_pylist())


def test_cli_sweep_passes_precision_through(tmp_path):
    rc = cli.main(["sweep", "--grid", "nodes=1,2", "--strategies", PAIR, "--precision", "0.005",
                   "--out", str(tmp_path / "s"), "--quiet", "--workers", "1"])
    assert rc == 0
    t = read_sweep(tmp_path / "s")
    assert set(t.column("precision_target").to_pylist()) == {0.005}
    assert cli.main(["sweep", "--grid", "nodes=1", "--calls", "100", "--precision", "0.01",
                     "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
