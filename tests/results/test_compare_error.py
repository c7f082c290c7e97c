"""bulksim compare and the simulation error: the SIG marker and count, seeds
aggregated on a sweep, grid order, none out of the histogram (docs/tables.md)."""

from __future__ import annotations

import pytest

import engine
from engine import cli
from engine.results.compare import (aggregate_seeds, compare_tables, compare_within, diff_halfwidth,
                                    run_compare, significant, summary_lines)
from engine.results.tables import write_table
from engine.run.sweep import run_sweep


def _result(tmp_path, name, **kw):
    kw.setdefault("calls", 30_000)
    res = engine.simulate("default", **kw)
    return write_table(res.summary, tmp_path / name)


def test_one_file_marks_rows_whose_difference_exceeds_the_paired_error(tmp_path):
    p = _result(tmp_path, "a.parquet", strategies="per_object,batched_v1,batched", seed=1)
    from engine.results.compare import load_table

    comp = compare_within(load_table(p))
    rows = {r.key["strategy"]: r for r in comp.rows}
    # batched vs per_object: -28% with a paired error of a fraction of a cycle
    hw = diff_halfwidth(comp, rows["batched"], "hook_cycles_per_object")
    assert 0 < hw < 1 and significant(comp, rows["batched"], "hook_cycles_per_object") is True
    assert hw == pytest.approx(rows["batched"].b["se_t95"] * rows["batched"].b["hook_cycles_per_object_diff_se"])
    text = run_compare([str(p)], emit="hook_cycles_per_object")
    assert "SIG" in text.splitlines()[0]
    assert "Differences larger than the simulation error (95%, paired, one run): 2 of 2 rows" in text
    assert all(line.rstrip().endswith("*") for line in text.splitlines()[2:4])


def test_one_file_a_difference_within_the_error_is_not_marked(tmp_path):
    # batched_v1 and batched differ by a fraction of a cycle: base batched_v1, batched within?
    p = _result(tmp_path, "a.parquet", strategies="batched_v1,batched", seed=2, calls=5_000)
    text = run_compare([str(p)], base="batched_v1", emit="stat_flushes")
    # the same stat flushes exactly: a zero difference is never significant
    assert "0 of 1 rows" in text


def test_two_files_of_other_seeds_use_independent_errors_and_count_them(tmp_path):
    a = _result(tmp_path, "a.parquet", strategies="per_object,batched", seed=1)
    b = _result(tmp_path, "b.parquet", strategies="per_object,batched", seed=1, calls=60_000)
    from engine.results.compare import load_table

    comp = compare_tables(load_table(a), load_table(b))
    row = comp.rows[0]
    ta, tb = row.a["se_t95"], row.b["se_t95"]
    want = (ta**2 * row.a["hook_cycles_per_object_se"] ** 2 + tb**2 * row.b["hook_cycles_per_object_se"] ** 2) ** 0.5
    assert diff_halfwidth(comp, row, "hook_cycles_per_object") == pytest.approx(want)
    text = run_compare([str(a), str(b)], emit="hook_cycles_per_object")
    assert "(95%, A and B independent)" in text and "±" in text


def test_cli_compare_two_files_marks_significant_rows(tmp_path, capsys):
    a = _result(tmp_path, "a.parquet", strategies="per_object,batched,upfront", seed=1)
    b = tmp_path / "b.parquet"
    res = engine.simulate("default", strategies="per_object,batched,upfront", seed=1, calls=30_000,
                          profile="amd-zen2")
    write_table(res.summary, b)
    assert cli.main(["compare", str(a), str(b), "-e", "hook_cycles_per_object"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].rstrip().endswith("SIG")
    marked = [ln for ln in lines[2:5] if ln.rstrip().endswith("*")]
    assert marked and "Differences larger than the simulation error" in out


def test_an_old_file_without_errors_says_so_instead_of_guessing(tmp_path):
    p = _result(tmp_path, "a.parquet", strategies="per_object,batched", seed=1, calls=3_000)
    from engine.results.compare import load_table

    t = load_table(p)
    t = t.drop_columns([c for c in t.column_names if c.endswith("_se") or c == "se_t95"])
    write_table(t, tmp_path / "old.parquet")
    text = run_compare([str(tmp_path / "old.parquet")], emit="hook_cycles_per_object")
    assert "no simulation error in the input" in text and text.splitlines()[2].rstrip().endswith("?")


def test_csv_and_parquet_carry_the_half_width_and_the_flag(tmp_path):
    p = _result(tmp_path, "a.parquet", strategies="per_object,batched", seed=1)
    run_compare([str(p)], emit="hook_cycles_per_object", fmt="parquet", out=str(tmp_path / "c.parquet"))
    import pyarrow.parquet as pq

    t = pq.read_table(tmp_path / "c.parquet")
    assert t.column("hook_cycles_per_object_significant").to_pylist() == [True]
    assert 0 < t.column("hook_cycles_per_object_diff_halfwidth")[0].as_py() < 1


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sw") / "s"
    run_sweep(engine.Scenario(name="default", calls=3000), {"bulk_size": [16, 4], "nodes": [2, 1]},
              [0, 1, 2], out, strategies="per_object,batched,none", workers=1)
    return out


def test_a_sweep_is_sorted_by_its_grid_and_seeds_are_aggregated(sweep):
    text = run_compare([str(sweep)], emit="hook_cycles_per_object")
    body = [ln.split() for ln in text.splitlines()[2:10]]
    head = text.splitlines()[0].split()
    i_b, i_n = head.index("param_bulk_size"), head.index("param_nodes")
    # "mean of 3" takes three cells where the header has one "seed"
    grid = [(int(r[i_b + 2]), int(r[i_n + 2])) for r in body]
    assert grid == sorted(grid) and len(set(grid)) == 4
    assert all("mean" in " ".join(r) and "sd" in " ".join(r) for r in body)
    assert "seed-aggregated" in text


def test_seed_aggregation_gives_mean_and_spread(sweep):
    from engine.results.compare import load_table

    comp = compare_within(load_table(sweep))
    agg_comp, agg = aggregate_seeds(comp, comp.rows)
    assert len(agg) == len(comp.rows) // 3 and all(r.seeds == 3 for r in agg)
    r = agg[0]
    same = [x for x in comp.rows if all(x.key[k] == r.key[k] for k in comp.keys if k != "seed")]
    d = [x.b["hook_cycles_per_object"] - x.a["hook_cycles_per_object"] for x in same]
    assert r.b["hook_cycles_per_object"] - r.a["hook_cycles_per_object"] == pytest.approx(sum(d) / 3)
    import statistics

    assert r.spread["hook_cycles_per_object"] == pytest.approx(statistics.stdev(d))


def test_none_is_left_out_of_the_percentage_histogram(sweep):
    from engine.results.compare import load_table

    comp = compare_within(load_table(sweep))
    lines = summary_lines(comp.rows, "hook_cycles_per_object")
    assert "Rows of strategy none (no accounting) left out of the histogram: 12" in lines
    assert not any(line.startswith("-100 ..") for line in lines)
    assert lines[0] == f"Rows compared: {len(comp.rows)}"


def test_per_seed_keeps_every_row(sweep):
    text = run_compare([str(sweep)], emit="hook_cycles_per_object", per_seed=True)
    assert "Rows compared: 24" in text and "mean of" not in text
