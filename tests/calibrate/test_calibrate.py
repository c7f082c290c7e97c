"""bulksim calibrate on this machine, for real: short measure runs of the running
kernel, the fit, the profile file and its use by bulksim run."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from engine import cli
from engine.calibrate import core
from engine.inputs.costs import PROFILES, coefficients, get_profile, phase_entries, region_cycles
from engine.results.ranges import run_pricing
from engine.calibrate.extra import msg_workload
from engine.measure import WORKLOADS as MEASURE_WORKLOADS, measure, write_measurement

# calibrate runs measure's workloads and its own msg_4k (4 KB objects: page charges)
WORKLOADS = {**MEASURE_WORKLOADS, "msg_4k": msg_workload()}
from engine.model.events import EVENTS


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """One fresh calibrate: every measure workload and msg_4k, 2 repeats of 0.3 s."""
    d = tmp_path_factory.mktemp("cal")
    path = d / "host.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(["calibrate", "--seconds", "0.3", "--repeats", "2", "--calls", "3000",
                       "--out", str(path), "--quiet"])
    assert rc == 0
    return path, json.loads(path.read_text()), buf.getvalue()


def test_a_fresh_calibrate_writes_a_profile_with_full_provenance(calibrated):
    path, doc, text = calibrated
    assert doc["format"] == "bulksim-profile" and doc["version"] == 1
    prov = doc["provenance"]
    assert prov["kernel"] == os.uname().release
    assert prov["cpu"] and prov["date"].startswith("20") and prov["git_commit"]
    assert 0.3 < float(prov["clock_ghz"]) < 8 and float(prov["clock_ghz"]) == doc["clock_ghz"]
    assert json.loads(prov["measure_settings"]) == {"seconds": 0.3, "repeats": 2}
    sim = json.loads(prov["simulation"])
    assert sim["calls"] == 3000 and set(sim["strategy_by_workload"].values()) == {"per_object"}
    base = PROFILES[prov["base_profile"]]
    prof = get_profile(str(path))
    assert prof.names == base.names
    fitted = set(doc["fit"]["fitted"])
    for n, c in prof.costs.items():
        b = base.costs[n]
        if n in fitted:
            assert c.source.startswith(f"fitted on host {prov['host']}, {prov['cpu']}, kernel {prov['kernel']}")
            assert b.low <= c.low <= c.central <= c.high <= b.high  # inside the published range
        else:
            assert c.source.startswith(f"published ({base.name}; ") and (c.low, c.central, c.high) == \
                (b.low, b.central, b.high)
    assert "Residuals (ns/object):" in text and f"wrote {path}" in text


def test_the_rows_are_the_measured_phases_and_the_file_reproduces_its_fit(calibrated):
    path, doc, _ = calibrated
    res = doc["fit"]["residuals"]
    works = {r["workload"] for r in res}
    assert works == set(WORKLOADS)
    for r in res:
        assert r["phase"] in WORKLOADS[r["workload"]].phases_captured
        assert r["measured_ns"] > 0 and r["measured_sd_ns"] >= 0
    # io_uring's frees run in a kworker: never a row
    assert {r["phase"] for r in res if r["workload"] == "io_uring_nop"} <= {"post_alloc_hook", "slab_alloc"}
    # the profile file, priced on a fresh simulation of each scenario, gives the fitted values
    prof = get_profile(str(path))
    sim = json.loads(doc["provenance"]["simulation"])
    from engine.inputs.scenario import Scenario
    from engine.run.simulate import simulate

    for w in works:
        fields = {k: v for k, v in sim["scenario_by_workload"][w].items()}
        scn = Scenario(**fields)
        result = simulate(scn, strategies=["per_object"], seed=0, calls=sim["calls"])
        run = result.runs["per_object"]
        co = coefficients(prof, "per_object", run.counters, depth=scn.depth, entries=phase_entries(run.counters),
                          **run_pricing(result, "per_object"))
        objects = run.counters[:, EVENTS.index("objects")].sum()
        cyc = region_cycles(prof, co)  # each phase one region: max(chain, issue)
        for r in res:
            if r["workload"] == w:
                ph = core.PHASE_INDEX[r["phase"]]
                assert cyc[ph] / objects / prof.clock_ghz == pytest.approx(r["fitted_ns"], rel=1e-9)


def test_leave_one_out_predicts_every_workload_from_the_others(calibrated):
    _, doc, text = calibrated
    loo = doc["fit"]["leave_one_out"]
    meas = {(r["workload"], r["phase"]): r["measured_ns"] for r in doc["fit"]["residuals"]}
    assert {r["workload"] for r in loo} == set(WORKLOADS)
    for r in loo:
        assert math.isfinite(r["predicted_ns"]) and r["predicted_ns"] > 0
        assert r["relative"] == pytest.approx((r["predicted_ns"] - r["measured_ns"]) / r["measured_ns"])
        if r["phase"] != "total":
            assert r["measured_ns"] == meas[(r["workload"], r["phase"])]
    for w in WORKLOADS:
        tot = next(r for r in loo if r["workload"] == w and r["phase"] == "total")
        assert tot["measured_ns"] == pytest.approx(sum(v for (ww, _), v in meas.items() if ww == w))
    assert "Leave one workload out" in text


def test_run_and_profiles_with_the_host_profile(calibrated, capsys):
    path, doc, text = calibrated
    assert cli.main(["run", "--profile", str(path), "--scenario", "io_uring", "--calls", "3000", "--quiet",
                     "--strategies", "per_object,batched_v1,batched"]) == 0
    out = capsys.readouterr().out
    all_lines = out.splitlines()
    at = [i for i, ln in enumerate(all_lines) if ln.strip().startswith(("batched_v1", "batched "))
          and "cycles/object [" in ln]
    assert len(at) == 4  # hook and end-to-end, two strategies: each with a range and a verdict
    verdicts = [all_lines[i + 1] for i in at]  # the ratio and the verdict under each difference
    assert all(("cheaper" in ln or "dearer" in ln or "depends on" in ln) for ln in verdicts)
    assert cli.main(["profiles", "--show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert f"kernel: {os.uname().release}" in shown and "left out " in shown
    # calibrate's own closing table names both profiles for both scenarios
    q = text[text.index("The batched hooks on this host"):]
    assert all(f"{s}" in q for s in ("default", "io_uring", doc["provenance"]["base_profile"], "host"))


def test_calibrate_from_a_measurement_file_and_bad_input(tmp_path, capsys):
    m = measure(["open_close"], seconds=0.2, repeats=1)
    mpath = tmp_path / "m.parquet"
    write_measurement(m, mpath)
    out = tmp_path / "p.json"
    assert cli.main(["calibrate", "--measurement", str(mpath), "--out", str(out), "--calls", "2000",
                     "--quiet", "--no-question"]) == 0
    text = capsys.readouterr().out
    assert "needs at least two workloads" in text and out.exists()
    doc = json.loads(out.read_text())
    assert json.loads(doc["provenance"]["measure_settings"]) == {"measurement_file": str(mpath)}
    for argv, msg in ((["--measurement", str(mpath), "--out", str(out)], "exists (--force replaces it)"),
                      (["--workloads", "nope", "--out", str(tmp_path / "q.json")], "unknown workload"),
                      (["--seconds", "0", "--out", str(tmp_path / "q.json")], "--seconds must be in"),
                      (["--base", "nope", "--out", str(tmp_path / "q.json")], "unknown cost profile"),
                      (["--base", "preempt-rt", "--out", str(tmp_path / "q.json")], "is an estimate"),
                      (["--measurement", str(tmp_path / "none.parquet"), "--out", str(tmp_path / "q.json")], "")):
        assert cli.main(["calibrate", "--quiet", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("bulksim: error:") and msg in err, err
    assert not (tmp_path / "q.json").exists()


def test_msg_4k_is_the_workload_that_charges_pages(calibrated):
    """msg_4k: 4 KB objects freed in the task: all four phases measured, and in its scenario
    the model charges pages on most allocations, where measure's 192-byte objects rarely do."""
    _, doc, _ = calibrated
    rows = {r["phase"]: r for r in doc["fit"]["residuals"] if r["workload"] == "msg_4k"}
    assert set(rows) == {"post_alloc_hook", "free_hook", "slab_alloc", "slab_free"}
    sim = json.loads(doc["provenance"]["simulation"])["scenario_by_workload"]
    assert sim["msg_4k"]["object_size"] == 4096 and sim["msg_4k"]["bulk_size"] == 1
    from engine.inputs.scenario import Scenario
    from engine.run.simulate import simulate

    def misses(w):
        run = simulate(Scenario(**sim[w]), strategies=["per_object"], calls=2000).runs["per_object"]
        c = run.counters.sum(axis=0)
        return c[EVENTS.index("consume_misses")] / c[EVENTS.index("objects")]

    assert misses("msg_4k") > 0.5 > 10 * misses("open_close")
