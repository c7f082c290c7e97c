"""bulksim bench: runs, reports every strategy, and finds the reference model."""

from __future__ import annotations

from engine import cli
from engine.bench import format_text, load_reference, measure
from engine.scenario import Scenario


def test_measure_reports_each_strategy_and_the_reference_speedup():
    res = measure(Scenario(calls=400), "per_object,batched", repeat=2, ref_calls=30, workers=2)
    assert [r["strategy"] for r in res["rows"]] == ["per_object", "batched"]
    assert res["reference_found"] and load_reference() is not None
    for r in res["rows"]:
        assert r["ns_min"] <= r["ns_per_object"] <= r["ns_max"]
        assert r["speedup_vs_reference"] > 1.0
    sc = res["scaling"]
    assert sc["workers"] == 2 and sc["repeats"] == 2 and sc["speedup"] > 0
    assert abs(sc["speedup"] - sc["serial_s"] / sc["parallel_s"]) < 1e-12
    assert "replicas of batched in threads (medians of 2)" in format_text(res)


def test_cli_bench_prints_table(capsys):
    assert cli.main(["bench", "--calls", "300", "--repeat", "1", "--ref-calls", "20",
                     "--workers", "1", "--strategies", "batched"]) == 0
    out = capsys.readouterr().out
    assert "Mobj/s" in out and "batched" in out and "x" in out
    assert cli.main(["bench", "--repeat", "0"]) == 2
