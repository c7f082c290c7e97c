"""bulksim validate: every published row is simulated and judged against the model's range."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import cli
from engine.results.validate import ROWS, validate, validation_text


@pytest.fixture(scope="module")
def rows():
    return validate(calls=400)


def test_every_row_is_predicted_with_an_exact_range(rows):
    assert [r["key"] for r in rows] == [r.key for r in ROWS] and len(rows) >= 4
    for r in rows:
        assert r["low"] <= r["predicted"] <= r["high"]
        assert r["inside"] == (r["low"] <= r["measured"] <= r["high"])
        assert r["source"] and r["setup"] and r["compared"]
    by = {r["key"]: r for r in rows}
    # the measured values are the published numbers, not fitted ones
    assert by["zhu-2026-bulk32"]["measured"] == pytest.approx(174 / 215)
    assert by["babka-2025-after"]["measured"] == pytest.approx(658_723_808 / 581_390_144)
    # at bulk 1 batched_v1 does per_object's work plus two slab lookups: never cheaper in the model
    assert by["zhu-2026-bulk1"]["low"] > 1.0


def test_text_and_docs_list_every_row(rows):
    text = validation_text(rows, "md")
    assert text.count("\n|") == len(rows) + 1
    docs = (Path(__file__).resolve().parents[2] / "docs" / "validation.md").read_text()
    for r in ROWS:
        assert f"`{r.key}`" in docs


def test_cli_validate_and_bad_input(capsys):
    assert cli.main(["validate", "--calls", "300", "--rows", "zhu-2026-bulk32"]) == 0
    out = capsys.readouterr().out
    assert "zhu-2026-bulk32" in out and " of 1 measurements inside" in out
    assert cli.main(["validate", "--rows", "nope"]) == 2
    assert cli.main(["validate", "-o", "csv"]) == 2
    assert cli.main(["validate", "--calls", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 3 and "Traceback" not in err


def test_validate_gives_the_simulation_error_of_each_prediction():
    from engine.results.validate import predict

    row = next(r for r in ROWS if r.key == "babka-2025-before")
    got = [predict(row, calls=20_000, seed=s) for s in range(4)]
    hw = [g["sim_halfwidth"] for g in got]
    assert all(h is not None and h > 0 for h in hw)
    # the seeds' predictions lie within each other's stated intervals (both half-widths)
    p = [g["predicted"] for g in got]
    assert max(p) - min(p) <= 2 * max(hw)
    text = validation_text(got[:1])
    assert f"{got[0]['predicted']:.3f} ±{hw[0]:.3f}" in text and "simulation error" in text
