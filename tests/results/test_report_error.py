"""bulksim report shows the simulation error and the seeds' spread, and never averages a
grid dimension away without showing how much it varies."""

from __future__ import annotations

import csv
import math
import statistics

import pytest

pytest.importorskip("matplotlib")

import engine  # noqa: E402
from engine.results.error import t_quantile  # noqa: E402
from engine.results.report import build_report  # noqa: E402
from engine.results.tables import write_table  # noqa: E402
from engine.run.sweep import read_sweep, run_sweep  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    run_sweep(engine.Scenario(name="default", calls=3000), {"bulk_size": [4, 16], "nodes": [1, 2]},
              [0, 1, 2], d / "s", strategies="per_object,batched", workers=1)
    build_report(d / "s", d / "r")
    return d


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_line_charts_carry_the_seed_interval_and_the_range_over_the_averaged_dimension(report):
    rows = _csv(report / "r" / "hook_cycles_per_object_vs_bulk_size.csv")
    t = read_sweep(report / "s").to_pylist()
    got = next(r for r in rows if r["strategy"] == "batched" and r["bulk_size"] == "4")
    cells = {}
    for r in t:
        if str(r["strategy"]) == "batched" and r["param_bulk_size"] == 4:
            cells.setdefault(r["param_nodes"], []).append(r["hook_cycles_per_object"])
    means = {k: sum(v) / len(v) for k, v in cells.items()}
    hws = [t_quantile(0.975, 2) * statistics.stdev(v) / math.sqrt(3) for v in cells.values()]
    assert float(got["min_over_nodes"]) == pytest.approx(min(means.values()))
    assert float(got["max"]) == pytest.approx(max(means.values()))
    assert float(got["halfwidth_95"]) == pytest.approx(math.sqrt(sum(h * h for h in hws)) / 2)
    page = (report / "r" / "index.html").read_text()
    assert "Band: the range over nodes" in page and "from the spread over 3 seeds" in page
    svg = (report / "r" / "hook_cycles_per_object_vs_bulk_size.svg").read_text()
    assert svg.count("<path") > 20  # lines, markers, bands and error bars


def test_the_heatmap_gives_each_cells_interval(report):
    rows = _csv(report / "r" / "ratio_bulk_size_nodes.csv")
    assert rows and all(float(r["halfwidth_95"]) >= 0 for r in rows)
    assert "±" in (report / "r" / "ratio_bulk_size_nodes.svg").read_text()


def test_a_single_result_shows_the_simulation_error_of_each_total(tmp_path):
    res = engine.simulate("default", strategies="per_object,batched", calls=20_000, seed=1)
    p = write_table(res.summary, tmp_path / "r.parquet")
    build_report(p, tmp_path / "rep")
    svg = (tmp_path / "rep" / "cost_per_strategy.svg").read_text()
    row = res.summary.to_pylist()[1]
    assert f"±{row['se_t95'] * row['total_cycles_per_object_se']:.2f}" in svg
    assert "95% interval from the simulation error" in (tmp_path / "rep" / "index.html").read_text()
