"""bulksim report: an HTML page whose plots show the data they claim to show."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest

from engine import cli
from engine.errors import BulksimError
from engine.inputs.scenario import Scenario
from engine.results.report import build_report
from engine.run.sweep import read_sweep, run_sweep


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sw") / "s"
    run_sweep(Scenario(name="default", calls=300), {"bulk_size": [1, 4, 16], "nodes": [1, 2]}, [0, 1],
              out, workers=2)
    return out


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_report_files_captions_and_data(sweep, tmp_path):
    page = build_report(sweep, tmp_path / "rep")
    text = page.read_text()
    figs = re.findall(r'<img src="([^"]+)\.svg"', text)
    assert {"total_cycles_per_object_vs_bulk_size", "stock_locks_vs_bulk_size",
            "ratio_bulk_size_nodes", "runs_vs_bulk_size"} <= set(figs)
    assert text.count("<figcaption>") == len(figs)
    for name in figs:
        svg = (tmp_path / "rep" / f"{name}.svg").read_text()
        assert ET.fromstring(svg.encode()).tag == "{http://www.w3.org/2000/svg}svg"
        assert (tmp_path / "rep" / f"{name}.csv").exists()
    rows = read_sweep(sweep).to_pylist()
    # the line plot's data are the means over seeds and the other parameter
    acc = defaultdict(list)
    for r in rows:
        acc[(str(r["strategy"]), r["param_bulk_size"])].append(r["total_cycles_per_object"])
    for rec in _csv(tmp_path / "rep" / "total_cycles_per_object_vs_bulk_size.csv"):
        want = acc[(rec["strategy"], int(rec["bulk_size"]))]
        assert float(rec["end-to-end cycles / object"]) == pytest.approx(sum(want) / len(want))
    # the heatmap's data are batched / per_object ratios
    ratio = _csv(tmp_path / "rep" / "ratio_bulk_size_nodes.csv")
    assert len(ratio) == 6
    one = [r for r in ratio if r["bulk_size"] == "1"]
    assert all(float(r["ratio"]) == pytest.approx(1.0, abs=0.02) for r in one)
    assert any(float(r["ratio"]) < 0.97 for r in ratio if r["bulk_size"] == "16")


def test_report_from_a_single_run_with_run_lengths(tmp_path):
    out = tmp_path / "r.parquet"
    assert cli.main(["run", "--calls", "300", "--quiet", "--detail", "runs", "--out", str(out)]) == 0
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    data = _csv(tmp_path / "rep" / "run_lengths.csv")
    assert {r["strategy"] for r in data} == {"per_object", "batched_v1", "batched", "upfront"}
    assert all(r["run_length"] == "1" for r in data if r["strategy"] == "per_object")


def test_report_errors(sweep, tmp_path, capsys):
    with pytest.raises(BulksimError, match="not a sweep folder"):
        build_report(tmp_path, tmp_path / "x")
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "keep.txt").write_text("mine")
    assert cli.main(["report", str(sweep), "--out", str(tmp_path / "rep")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli.main(["report", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "y")]) == 2


def _texts(svg_path):
    root = ET.fromstring(svg_path.read_text().encode())
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_plots_carry_scales_units_and_provenance(sweep, tmp_path):
    page = build_report(sweep, tmp_path / "rep")
    text = page.read_text()
    for head in ("cost profile", "calls per run", "seeds", "commit"):
        assert f"<th>{head}</th>" in text
    assert "<td>0, 1</td>" in text and "<td>300</td>" in text and "intel-skylake" in text
    heat = _texts(tmp_path / "rep" / "ratio_bulk_size_nodes.svg")
    assert any("batched / per_object" in t for t in heat)  # the colour bar's label
    assert any("below 1: batched is cheaper" in t for t in heat)
    line = _texts(tmp_path / "rep" / "total_cycles_per_object_vs_bulk_size.svg")
    ticks = [t for t in line if re.fullmatch(r"[0-9.]+", t.strip())]
    assert {"1", "4", "16"} <= set(ticks)  # x ticks at the swept values (log2 axis)
    ys = sorted(float(t) for t in ticks if t not in ("1", "4", "16"))
    steps = {round(b - a, 6) for a, b in zip(ys, ys[1:])}
    assert len(steps) == 1  # evenly spaced y ticks ...
    step = next(iter(steps))
    mantissa = step / 10 ** __import__("math").floor(__import__("math").log10(step))
    assert round(mantissa, 6) in (1.0, 2.0, 2.5, 5.0)  # ... at nice values (not 376, 564, 753)
    svg = (tmp_path / "rep" / "total_cycles_per_object_vs_bulk_size.svg").read_text()
    # each strategy drawn with its own marker and line style, so coinciding lines stay visible
    assert svg.count('stroke-dasharray') >= 3


def test_single_run_report_has_a_cost_chart_and_log_run_lengths(tmp_path):
    out = tmp_path / "r.parquet"
    assert cli.main(["run", "--calls", "300", "--quiet", "--detail", "runs", "--out", str(out)]) == 0
    page = build_report(out, tmp_path / "rep")
    text = page.read_text()
    assert 'src="cost_per_strategy.svg"' in text and 'src="run_lengths.svg"' in text
    cost = _csv(tmp_path / "rep" / "cost_per_strategy.csv")
    for r in cost:
        parts = sum(float(r[k]) for k in ("hook_cycles_per_object", "free_hook_cycles_per_object",
                                          "slab_cycles_per_object"))
        # phases each priced alone bound the end-to-end region, where the hooks overlap
        assert parts >= float(r["total_cycles_per_object"]) * (1 - 1e-9)
    assert any("log scale" in t for t in _texts(tmp_path / "rep" / "run_lengths.svg"))
    assert "<th>commit</th>" in text


def test_report_without_matplotlib_is_one_clear_error(sweep, tmp_path, monkeypatch, capsys):
    import builtins

    real = builtins.__import__

    def no_mpl(name, *a, **k):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    assert cli.main(["report", str(sweep), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert "pip install '.[report]'" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no report folder, no temporary one


def test_detail_tables_of_another_run_are_never_drawn(tmp_path, capsys):
    """run --force removes the detail tables of the run it replaces, and report leaves
    out (with a warning) a run-length table whose identity is not the summary's."""
    import shutil

    out = tmp_path / "t.parquet"
    base = ["run", "--quiet", "--calls", "100", "--out", str(out)]
    assert cli.main(base + ["--detail", "calls,runs"]) == 0
    keep = tmp_path / "old.runs.parquet"
    shutil.copy(tmp_path / "t.runs.parquet", keep)
    assert cli.main(base + ["--seed", "3", "--force"]) == 0
    assert not (tmp_path / "t.runs.parquet").exists() and not (tmp_path / "t.calls.parquet").exists()
    assert "removed" in capsys.readouterr().out
    shutil.copy(keep, tmp_path / "t.runs.parquet")  # seed 0's table next to seed 3's summary
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    err = capsys.readouterr().err
    assert err.count("belongs to another run") == 1
    assert not (tmp_path / "rep" / "run_lengths.svg").exists()
    # its own run's table is drawn
    assert cli.main(base + ["--seed", "3", "--force", "--detail", "runs"]) == 0
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep2")]) == 0
    assert "another run" not in capsys.readouterr().err
    assert (tmp_path / "rep2" / "run_lengths.svg").exists()


def test_units_sidecar_is_an_output_like_the_others(tmp_path, capsys):
    (tmp_path / "r.units.parquet").write_bytes(b"mine")
    assert cli.main(["run", "--quiet", "--calls", "50", "--out", str(tmp_path / "r.parquet")]) == 2
    assert "r.units.parquet: exists already" in capsys.readouterr().err
    assert (tmp_path / "r.units.parquet").read_bytes() == b"mine" and not (tmp_path / "r.parquet").exists()


def test_sweep_over_text_parameters_gets_bars_and_unpooled_sensitivity(tmp_path):
    """A grid of a kernel generation and a GFP flag has no numeric axis: the report draws
    grouped bars per value combination, and a sensitivity chart per combination (counts
    never pooled across generations)."""
    out = tmp_path / "s"
    run_sweep(Scenario(name="default", calls=300), {"kernel": ["", "mm-2026"], "gfp_high": [False, True]},
              [0], out, strategies="per_object,batched", workers=1)
    page = build_report(out, tmp_path / "rep").read_text()
    data = _csv(tmp_path / "rep" / "total_cycles_by_kernel_gfp_high.csv")
    assert {r["point"] for r in data} == {"kernel=own gfp_high=False", "kernel=own gfp_high=True",
                                          "kernel=mm-2026 gfp_high=False", "kernel=mm-2026 gfp_high=True"}
    table = read_sweep(out).to_pylist()
    want = [r["total_cycles_per_object"] for r in table
            if r["strategy"] == "batched" and r["param_kernel"] == "mm-2026" and not r["param_gfp_high"]]
    got = [float(r["total_cycles_per_object"]) for r in data
           if r["strategy"] == "batched" and r["point"] == "kernel=mm-2026 gfp_high=False"]
    assert got == pytest.approx(want)
    assert "sensitivity_batched_kernel_mm-2026_gfp_high_False.svg" in page
    assert "sensitivity_batched_kernel_own_gfp_high_True.svg" in page


def test_report_of_a_run_of_zero_calls(tmp_path, capsys):
    """Nothing simulated costs nothing: the page says so without a plotting warning
    (the suite turns warnings into errors)."""
    assert cli.main(["run", "--quiet", "--calls", "0", "--out", str(tmp_path / "z.parquet")]) == 0
    assert cli.main(["report", str(tmp_path / "z.parquet"), "--out", str(tmp_path / "rep")]) == 0
    assert capsys.readouterr().err == ""
    assert (tmp_path / "rep" / "cost_per_strategy.svg").exists()


@pytest.mark.parametrize("args", [["--calls", "0"], ["--calls", "60", "--strategies", "none"]],
                         ids=["zero_calls", "none_alone"])
def test_an_empty_run_length_table_of_the_same_run_is_no_other_run(tmp_path, capsys, args):
    """A run with no charges (0 calls, or ``none`` alone) writes an empty runs sidecar:
    report must not call it another run's; an empty one left by another run still is."""
    import shutil

    out = tmp_path / "e.parquet"
    assert cli.main(["run", "--quiet", *args, "--out", str(out), "--detail", "runs"]) == 0
    assert (tmp_path / "e.runs.parquet").exists()
    capsys.readouterr()
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    assert "another run" not in capsys.readouterr().err
    # the same empty sidecar next to the summary of another seed is another run's
    keep = tmp_path / "keep.parquet"
    shutil.copy(tmp_path / "e.runs.parquet", keep)
    assert cli.main(["run", "--quiet", *args, "--seed", "4", "--out", str(out), "--force"]) == 0
    shutil.copy(keep, tmp_path / "e.runs.parquet")
    capsys.readouterr()
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep2")]) == 0
    assert capsys.readouterr().err.count("belongs to another run") == 1


def test_run_length_line_leaves_out_strategies_without_charges(sweep, tmp_path):
    """none charges nothing: objects / max(charges, 1) would plot its whole object
    count as a "run length" (and push the axis to a log scale); it is left out and
    the caption says so."""
    page = build_report(sweep, tmp_path / "rep")
    recs = _csv(tmp_path / "rep" / "runs_vs_bulk_size.csv")
    assert {r["strategy"] for r in recs} == {"per_object", "batched_v1", "batched", "upfront"}
    # a run never holds more objects than a call
    assert all(1 <= float(r["objects per charge"]) <= int(r["bulk_size"]) for r in recs)
    assert all(float(r["objects per charge"]) == 1 for r in recs if r["strategy"] == "per_object")
    assert "Not drawn (no charges, so no run length): none." in page.read_text()
    # the other line plots keep none (its hook costs 0 cycles, a value)
    assert "none" in {r["strategy"] for r in _csv(tmp_path / "rep" / "stock_locks_vs_bulk_size.csv")}
