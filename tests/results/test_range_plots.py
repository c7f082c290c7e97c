"""The report's band and sensitivity plots show the numbers the ranges module computes."""

from __future__ import annotations

import csv

import pytest

import engine
from engine.results.ranges import sensitivity
from engine.results.report import build_report
from engine.results.tables import write_table


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_single_result_tornado_equals_the_run_sensitivity(tmp_path):
    res = engine.simulate("default", strategies="per_object,batched", seed=1, calls=600)
    write_table(res.summary, tmp_path / "r.parquet")
    build_report(tmp_path / "r.parquet", tmp_path / "rep")
    rows = _csv(tmp_path / "rep" / "sensitivity_batched.csv")
    want = [r for r in sensitivity(res, "batched", "total") if r["swing"] > 0][: len(rows)]
    assert [r["unit_cost"] for r in rows] == [w["unit_cost"] for w in want]
    for r, w in zip(rows, want):
        assert float(r["ratio_at_low"]) == pytest.approx(w["ratio_at_low"], rel=1e-12)
        assert float(r["ratio_at_high"]) == pytest.approx(w["ratio_at_high"], rel=1e-12)
    import xml.etree.ElementTree as ET

    root = ET.fromstring((tmp_path / "rep" / "sensitivity_batched.svg").read_bytes())
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert all(r["unit_cost"] in texts for r in rows)  # one labelled bar per unit cost
    assert "end-to-end batched / per_object" in texts


def test_sweep_band_brackets_the_central_ratio(tmp_path):
    from engine.inputs.scenario import Scenario
    from engine.run.sweep import run_sweep

    run_sweep(Scenario(name="default", calls=300), {"bulk_size": [1, 16]}, [0], tmp_path / "s",
              strategies="per_object,batched", workers=1)
    page = build_report(tmp_path / "s", tmp_path / "rep")
    assert "total_ratio_band_vs_bulk_size.svg" in page.read_text()
    band = _csv(tmp_path / "rep" / "total_ratio_band_vs_bulk_size.csv")
    assert [int(r["bulk_size"]) for r in band] == [1, 16]
    for r in band:
        assert float(r["ratio_min"]) <= float(r["ratio"]) <= float(r["ratio_max"])
    # at bulk 1 batched does exactly per_object's work: ratio 1 under every unit cost
    assert float(band[0]["ratio_min"]) == pytest.approx(1.0) == float(band[0]["ratio_max"])
    assert float(band[1]["ratio_min"]) < float(band[1]["ratio_max"])
    assert (tmp_path / "rep" / "sensitivity_batched_bulk_size_16.svg").exists()
    assert not (tmp_path / "rep" / "sensitivity_batched_bulk_size_1.svg").exists()  # nothing moves it
