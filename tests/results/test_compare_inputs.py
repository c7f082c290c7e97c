"""compare reads files it did not write: each misfit is one line and exit 2, and two
files that do not describe the same setup say how they differ (never a dropped key)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import engine
from engine import cli
from engine.errors import BadInputError
from engine.results.compare import run_compare

STRATS = "per_object,batched"


@pytest.fixture(scope="module")
def summaries(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    one = engine.simulate("default", strategies=STRATS, calls=300, seed=1).summary
    eight = engine.simulate(engine.Scenario.from_preset("default").replace(free_bulk=8),
                            strategies=STRATS, calls=300, seed=1).summary
    pq.write_table(one, d / "one.parquet")
    pq.write_table(eight, d / "eight.parquet")
    return d, one


def _put(t: pa.Table, col: str, arr) -> pa.Table:
    i = t.schema.get_field_index(col)
    return t.append_column(col, arr) if i < 0 else t.set_column(i, col, arr)


def _floats(t, col, row, value):
    v = t.column(col).to_pylist()
    v[row] = value
    return pa.array(v, pa.float64())


FOREIGN = {
    "list column": lambda t: _put(t, "extra", pa.array([[1, 2]] * t.num_rows)),
    "list metric": lambda t: _put(t, "stock_locks", pa.array([[1]] * t.num_rows)),
    "struct key": lambda t: _put(t, "mykey", pa.array([{"a": 1}] * t.num_rows)),
    "struct seed": lambda t: _put(t, "seed", pa.array([{"a": 1}] * t.num_rows)),
    "text seed": lambda t: _put(t, "seed", pa.array(["1"] * t.num_rows)),
    "text metric": lambda t: _put(t, "hook_cycles_per_object", pa.array(["1"] * t.num_rows)),
    "bool metric": lambda t: _put(t, "stock_locks", pa.array([True] * t.num_rows)),
    "inf in a metric": lambda t: _put(t, "hook_cycles_per_object", _floats(t, "hook_cycles_per_object", 1, float("inf"))),
    "inf in the base row": lambda t: _put(t, "total_cycles_per_object",
                                          _floats(t, "total_cycles_per_object", 0, float("inf"))),
    "-inf in a metric": lambda t: _put(t, "hook_cycles_per_object", _floats(t, "hook_cycles_per_object", 1, float("-inf"))),
    "null strategy": lambda t: _put(t, "strategy", pa.array([None] * t.num_rows, pa.string())),
}


@pytest.mark.parametrize("case", list(FOREIGN))
@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_foreign_tables_are_one_line(summaries, tmp_path, capsys, case, fmt):
    from pyarrow import feather

    d, one = summaries
    bad = tmp_path / f"bad.{fmt}"
    t = FOREIGN[case](one)
    pq.write_table(t, bad) if fmt == "parquet" else feather.write_feather(t, bad)
    for argv in (["compare", str(bad)], ["compare", str(d / "one.parquet"), str(bad)],
                 ["compare", str(bad), str(d / "one.parquet"), "-o", "csv"]):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and str(bad) in err, err
    with pytest.raises(BadInputError):
        run_compare([str(bad)])
    if case != "null strategy":  # report reads the same files with the same checks
        assert cli.main(["report", str(bad), "--out", str(tmp_path / "rep")]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert not (tmp_path / "rep").exists()


def test_a_huge_finite_ratio_is_no_traceback(summaries, tmp_path):
    d, one = summaries
    t = _put(one, "hook_cycles_per_object", _floats(one, "hook_cycles_per_object", 0, 1e-300))
    t = _put(t, "hook_cycles_per_object", _floats(t, "hook_cycles_per_object", 1, 1e300))
    pq.write_table(t, tmp_path / "huge.parquet")
    text = run_compare([str(tmp_path / "huge.parquet")], emit="hook_cycles_per_object")
    assert "Rows compared: 1" in text


@pytest.mark.parametrize("dropped", [["free_bulk"], ["free_hook"], ["kernel"], ["free_bulk", "free_hook", "kernel"]])
@pytest.mark.parametrize("side", ["a", "b"])
def test_a_missing_identity_column_is_a_difference_shown(summaries, tmp_path, capsys, dropped, side):
    """A file without free_bulk (an older table) against a free_bulk=8 file: the rows
    are matched, but every row shows ``N/A -> 8`` and a line names what differs."""
    d, _ = summaries
    old = pq.read_table(d / "eight.parquet").drop_columns(dropped)
    pq.write_table(old, tmp_path / "old.parquet")
    files = [str(tmp_path / "old.parquet"), str(d / "eight.parquet")]
    if side == "b":
        files.reverse()
    assert cli.main(["compare", *files]) == 0
    out = capsys.readouterr().out
    for col in dropped:
        assert f"{'A' if side == 'a' else 'B'} has no {col!r} column" in out
    head = out.splitlines()[0].split()
    assert all(c in head for c in dropped)
    shown = "N/A -> " if side == "a" else " -> N/A"
    assert shown in out.splitlines()[2]
    assert cli.main(["compare", *files, "-o", "csv"]) == 0
    csv = capsys.readouterr().out
    assert all(c in csv.splitlines()[0] for c in dropped) and shown in csv.splitlines()[1]


def test_no_rows_in_common_says_what_differs(summaries, capsys):
    d, _ = summaries
    assert cli.main(["compare", str(d / "one.parquet"), str(d / "eight.parquet")]) == 2
    err = capsys.readouterr().err
    assert "they differ in free_bulk: A 1, B 8" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("damage", ["text run_length", "list runs", "null runs", "no strategy"])
def test_a_foreign_run_length_sidecar_is_left_out_with_a_warning(tmp_path, capsys, damage):
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.parquet"
    assert cli.main(["run", "--calls", "300", "--quiet", "--detail", "runs", "--out", str(out)]) == 0
    side = tmp_path / "r.runs.parquet"
    t = pq.read_table(side)
    meta = t.schema.metadata
    if damage == "text run_length":
        t = _put(t, "run_length", t.column("run_length").cast(pa.string()))
    elif damage == "list runs":
        t = _put(t, "runs", pa.array([[1]] * t.num_rows))
    elif damage == "null runs":
        t = _put(t, "runs", pa.array([None] * t.num_rows, pa.int64()))
    else:
        t = t.drop_columns(["strategy"])
    pq.write_table(t.replace_schema_metadata(meta), side)
    capsys.readouterr()
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    err = capsys.readouterr().err
    assert "run-length chart is left out" in err and len(err.strip().splitlines()) == 1
    assert not list((tmp_path / "rep").glob("run_lengths*"))


def test_runs_of_different_scenario_parameters_say_so(tmp_path, capsys):
    """Two runs under one scenario name but with other parameters (their provenance
    says which) are compared with a line naming each difference; the same setup under
    two profiles gets none."""
    a, b, c = (tmp_path / f"{n}.parquet" for n in "abc")
    base = ["run", "--calls", "300", "--quiet", "--strategies", STRATS]
    assert cli.main(base + ["--out", str(a)]) == 0
    assert cli.main(base + ["--object-size", "64", "--set", "cgroup_switch_prob=0.3", "--out", str(b)]) == 0
    assert cli.main(base + ["--profile", "amd-zen2", "--out", str(c)]) == 0
    capsys.readouterr()
    assert cli.main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Setups differ in scenario parameters"))
    assert "object_size: A 256, B 64" in line and "cgroup_switch_prob: A" in line
    assert cli.main(["compare", str(a), str(c)]) == 0
    assert "Setups differ" not in capsys.readouterr().out
