"""The simulation (Monte-Carlo) error: batch means, paired ratios, and whether the
intervals cover as often as they say (engine/results/error.py, docs/tables.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from engine.model.events import EVENTS
from engine.results import error


@pytest.mark.parametrize("df, want", [(9, 2.2622), (15, 2.1314), (30, 2.0423), (63, 1.9983), (120, 1.9799)])
def test_t_quantile_matches_the_tables(df, want):
    assert error.t_quantile(0.975, df) == pytest.approx(want, abs=2e-3)


def test_ratio_se_estimates_the_spread_of_the_ratio_on_independent_batches():
    rng = np.random.default_rng(1)
    B, reps, sigma = 64, 2000, 3.0
    est, got = [], []
    for _ in range(reps):
        x = rng.integers(900, 1100, B).astype(float)
        y = 0.7 * x + rng.normal(0, sigma, B)
        got.append(y.sum() / x.sum())
        est.append(error.ratio_se(y, x))
    assert np.mean(np.square(est)) == pytest.approx(np.var(got), rel=0.1)


def test_paired_batches_see_the_shared_stream_cancel():
    rng = np.random.default_rng(2)
    common = rng.normal(0, 50, 64)  # what both strategies share (the stream)
    a = 1000 + common + rng.normal(0, 1, 64)
    b = 700 + 0.7 * common + rng.normal(0, 1, 64)
    paired = error.ratio_se(b, a)
    x = np.full(64, 1.0)
    r = b.sum() / a.sum()
    unpaired = r * math.hypot(error.ratio_se(b, x) / b.mean(), error.ratio_se(a, x) / a.mean())
    assert paired < unpaired / 10


def test_batches_do_not_depend_on_the_chunk_size_and_add_up_to_the_run():
    a = engine.simulate("default", strategies="per_object,batched", seed=4, calls=30_000)
    b = engine.simulate("default", strategies="per_object,batched", seed=4, calls=30_000, chunk_calls=777)
    for name, run in a.runs.items():
        assert np.array_equal(run.batches, b.runs[name].batches)
        assert np.array_equal(run.batches.sum(axis=0), run.counters)
        assert run.batch_calls.sum() == 30_000
        assert 64 <= len(run.batches) <= 128
    drop = ["sim_seconds"]
    assert a.summary.drop_columns(drop).equals(b.summary.drop_columns(drop))


def test_summary_errors_are_filled_and_consistent():
    res = engine.simulate("default", strategies="per_object,batched,none", seed=3, calls=40_000)
    rows = {r["strategy"]: r for r in res.summary.to_pylist()}
    b, p = rows["batched"], rows["per_object"]
    assert b["se_batches"] >= error.MIN_BATCHES and b["se_t95"] == pytest.approx(error.t95(b["se_batches"]))
    # paired: the ratio is far more precise than either figure's own error suggests
    unpaired = b["hook_ratio"] * math.hypot(b["hook_cycles_per_object_se"] / b["hook_cycles_per_object"],
                                             p["hook_cycles_per_object_se"] / p["hook_cycles_per_object"])
    assert 0 < b["hook_ratio_se"] < unpaired / 3
    assert b["hook_cycles_per_object_pct_se"] == pytest.approx(100 * b["hook_ratio_se"])
    assert b["hook_ns_per_object_se"] < b["hook_cycles_per_object_se"]
    assert b["hook_ratio_halfwidth"] == pytest.approx(
        b["se_t95"] * b["hook_ratio_se"] + abs(b["hook_ratio_transient"]))
    assert p["hook_ratio_se"] == 0.0  # per_object against itself
    assert rows["none"]["hook_cycles_per_object_se"] == 0.0 and rows["none"]["total_vs_none_ratio"] is None
    assert b["total_vs_none_ratio"] > 1 and b["total_vs_none_ratio_se"] > 0
    for ev in ("stock_locks", "virt_to_slab", "hook_stock_locks"):
        assert b[f"{ev}_per_object_se"] >= 0
    assert b["calls_per_object_se"] == 0.0  # fixed bulk size: exactly 1/16 per object
    assert rows["batched"]["precision_target"] is None and b["precision_reached"] > 0


def test_too_few_calls_give_no_estimate_rather_than_a_wrong_one():
    rows = engine.simulate("default", strategies="per_object,batched", calls=300).summary.to_pylist()
    assert rows[1]["hook_ratio_se"] is None and rows[1]["se_batches"] is None
    assert rows[1]["hook_ratio"] is not None


def test_short_batches_are_merged_up_to_the_models_memory_and_flagged():
    # io_uring: 2 CPUs, cgroup switch probability 0.001: a task stays ~2,000 calls in a cgroup
    short = engine.simulate("io_uring", strategies="per_object,batched", calls=20_000).summary.to_pylist()[1]
    long = engine.simulate("io_uring", strategies="per_object,batched", calls=300_000).summary.to_pylist()[1]
    assert short["se_short"] is True
    assert long["se_short"] is False and long["se_batch_calls"] >= 4_000


def _z_and_inside(rows, refs, se_scale=1.0, unpaired=False):
    z, inside = [], []
    for r, ref in zip(rows, refs):
        for m in ("hook", "total"):
            se = r[f"{m}_ratio_se"]
            if unpaired:  # what adding the two figures' errors would give
                base = ref["_base"]
                se = r[f"{m}_ratio"] * math.hypot(r[f"{m}_cycles_per_object_se"] / r[f"{m}_cycles_per_object"],
                                                   base[r["seed"]][f"{m}_cycles_per_object_se"]
                                                   / base[r["seed"]][f"{m}_cycles_per_object"])
            se *= se_scale
            d = r[f"{m}_ratio"] - ref[f"{m}_ratio"]
            z.append(d / se)
            hw = r["se_t95"] * se + abs(r[f"{m}_ratio_transient"])
            inside.append(abs(d) <= hw)
    return np.array(z), np.array(inside)


def _coverage_ok(z, inside):
    """The bounds a broken estimate fails: 95% intervals hold the reference at least 85%
    of the time, and the squared z-scores average near 1 (too small errors inflate it,
    too large ones shrink it)."""
    return inside.mean() >= 0.85 and 0.5 <= float(np.mean(z**2)) <= 2.0


def test_precision_runs_cover_the_million_call_ratios_as_often_as_stated():
    """A small grid (default and io_uring), 12 seeds each, run to +-0.002: the hook and
    end-to-end ratios of a 1 M-call run (another seed) fall inside the stated 95%
    intervals about 95% of the time.  Halved errors, or errors taken unpaired, fail."""
    rows, refs = [], []
    for scn in ("default", "io_uring"):
        ref = engine.simulate(scn, strategies="per_object,batched", seed=10**6, calls=1_000_000).summary
        ref = ref.to_pylist()[1]
        ref["_base"] = {}
        for seed in range(12):
            res = engine.simulate(scn, strategies="per_object,batched", seed=seed, precision=0.002)
            assert res.precision["stop"] == "reached"
            got = res.summary.to_pylist()
            ref["_base"][seed] = got[0]
            rows.append(got[1])
            refs.append(ref)
    z, inside = _z_and_inside(rows, refs)
    print(f"coverage {inside.mean():.3f} of {inside.size}, mean z^2 {np.mean(z**2):.2f}")
    assert _coverage_ok(z, inside), (inside.mean(), np.mean(z**2))
    assert not _coverage_ok(*_z_and_inside(rows, refs, se_scale=0.5))
    assert not _coverage_ok(*_z_and_inside(rows, refs, unpaired=True))
    assert not _coverage_ok(*_z_and_inside(rows, refs, se_scale=3.0))


def test_checkpoints_are_a_fixed_geometric_schedule_of_batch_boundaries():
    cps = error.checkpoints(16_384, 10_000_000)
    assert cps[:6] == [16_384, 20_480, 24_576, 28_672, 32_768, 40_960]
    assert cps[-1] == 10_000_000 and all(b / a <= 1.25 + 1e-12 for a, b in zip(cps, cps[1:-1]))
    rec = error.Batches(1)
    c = 0
    for n in cps[:-1]:  # each checkpoint is a boundary of the batches at that point
        while c < n:
            c1 = min(n, rec.next_boundary(c))
            c = c1
            if c == rec.next_boundary(c - 1):
                rec.record(c, np.zeros((1, 4, len(EVENTS)), dtype=np.int64))
        assert sum(rec.calls) == n


def _two(calls=20_000, **over):
    import dataclasses

    scn = dataclasses.replace(engine.Scenario.from_preset("default"), **over)
    return engine.simulate(scn, strategies="per_object,batched", calls=calls, seed=3)


def test_cost_terms_add_up_to_the_cycles_of_every_metric():
    s = error.estimate(_two())
    for name in s.names:
        for m in error.METRICS:
            np.testing.assert_allclose(s.cost_terms(name, m).sum(axis=1), s.cycles(name, m), rtol=1e-12)


def test_error_sources_shares_add_up_to_the_whole_variance():
    r = _two()
    src = error.error_sources(r, "batched", "hook")
    assert src, "a run of 20,000 calls has a simulation error to split"
    assert abs(sum(d["share"] for d in src) - 1.0) < 1e-9
    assert [d["share"] for d in src] == sorted((d["share"] for d in src), reverse=True)
    # the split is of the same residuals the half-width comes from: a cost priced at zero adds nothing
    assert all(np.isfinite(d["sd"]) and d["sd"] >= 0 for d in src)
    assert error.error_sources(r, "per_object", "hook") == [], "per_object against itself has no error"


def test_error_sources_name_remote_line_transfers_only_where_there_are_remote_nodes():
    one = {d["cost"] for d in error.error_sources(_two(nodes=1), "batched", "hook")}
    two = error.error_sources(_two(nodes=2), "batched", "hook")
    assert "line_transfers_remote" not in one  # one node: no transfer crosses nodes
    assert two[0]["cost"] == "line_transfers_remote"


def test_run_error_sources_prints_each_ratio_with_its_halfwidth(capsys):
    from engine.cli import main

    assert main(["run", "--calls", "20000", "--strategies", "per_object,batched", "--quiet", "--error-sources"]) == 0
    text = capsys.readouterr().out
    head, _, body = text.partition("Where the simulation error of each ratio comes from")
    assert body, text
    lines = [ln for ln in body.splitlines() if ln.startswith("  ") and not ln.startswith("   ")]
    assert [ln.split()[:2] for ln in lines[:2]] == [["batched", "hook"], ["batched", "total"]]
    assert all("±" in ln and "%" in ln for ln in lines[:2])
    assert max(len(ln) for ln in body.splitlines()) <= 100


def test_every_difference_from_per_object_has_its_paired_error():
    """Free-hook and slab cycles and every event rate carry the paired error of their
    difference from per_object (issue: every figure with its simulation error)."""
    r = engine.simulate("default", strategies="per_object,batched,none", calls=20_000, seed=5)
    rows = {d["strategy"]: d for d in r.summary.to_pylist()}
    s = error.estimate(r)
    b, base = rows["batched"], rows["per_object"]
    # the slab side is the same calls and the same allocator for every strategy: no error at all
    assert b["slab_cycles_per_object_diff_se"] == 0.0 and b["slab_cycles_per_object_pct_se"] == 0.0
    # free-hook cycles differ, and the paired error is far below the two errors combined
    assert 0 < b["free_hook_cycles_per_object_diff_se"] < 0.5 * math.hypot(
        b["free_hook_cycles_per_object_se"], base["free_hook_cycles_per_object_se"])
    want = error.ratio_se(s.event("batched", "stock_locks") - s.event("per_object", "stock_locks"),
                          s.objects("batched"))
    assert b["stock_locks_per_object_diff_se"] == pytest.approx(want, rel=1e-12)
    assert b["stock_locks_per_object_pct_se"] == pytest.approx(
        100 * error.ratio_se(s.event("batched", "stock_locks"), s.event("per_object", "stock_locks")), rel=1e-12)
    # an event per_object never has: no percentage, so no percentage error either
    assert base["free_runs"] == 0 and b["free_runs_per_object_pct_se"] is None
    assert base["stock_locks_per_object_diff_se"] == 0.0  # per_object against itself
    from engine.results.console import comparison_text

    text = comparison_text(r.summary)
    line = next(ln for ln in text.splitlines() if ln.startswith("free-hook cycles / object"))
    assert "±" in line and "%)" in line
    line = next(ln for ln in text.splitlines() if ln.startswith("page-counter uncharges / object"))
    assert "±" in line  # an absolute difference, where per_object's value is near zero


def test_run_json_carries_the_error_sources_and_the_sensitivity(capsys):
    """-o json with --error-sources or --sensitivity: the sections are in the document,
    not silently dropped."""
    import json

    from engine.cli import main

    assert main(["run", "--calls", "20000", "--strategies", "per_object,batched", "--quiet",
                 "--error-sources", "--sensitivity", "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    ratios = doc["error_sources"]["ratios"]
    assert [(r["strategy"], r["metric"]) for r in ratios] == [("batched", "hook"), ("batched", "total")]
    row = next(r for r in doc["strategies"] if r["strategy"] == "batched")
    assert ratios[0]["halfwidth"] == pytest.approx(row["hook_ratio_halfwidth"], rel=1e-12)
    assert abs(sum(d["share"] for d in ratios[0]["sources"]) - 1) < 1e-9
    sens = doc["sensitivity"]["strategies"]["batched"]["rows"]
    assert sens and {"unit_cost", "ratio_at_low", "ratio_at_high"} <= set(sens[0])


@pytest.mark.parametrize("strategies, calls, words", [
    ("per_object", 5000, "per_object alone"),
    ("batched,none", 5000, "run per_object too"),
    ("per_object,batched", 100, "too few calls"),
])
def test_run_error_sources_says_why_there_is_nothing_to_split(capsys, strategies, calls, words):
    from engine.cli import main

    assert main(["run", "--calls", str(calls), "--strategies", strategies, "--quiet", "--error-sources"]) == 0
    body = capsys.readouterr().out.split("shares of its variance):\n", 1)[1]
    assert words in body.splitlines()[0]


def test_ratio_se_columns_is_ratio_se_column_by_column():
    rng = np.random.default_rng(4)
    y = rng.poisson(5.0, size=(40, 6)).astype(float)
    y[:, 2] = 0.0  # no events: SE 0
    x = rng.uniform(10, 20, size=40)
    got = error.ratio_se_columns(y, x)
    want = [error.ratio_se(y[:, j], x) for j in range(6)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    xb = np.column_stack([x, np.zeros(40), x, x, -x, x])  # a zero and a negative denominator: NaN
    got = error.ratio_se_columns(y, xb)
    want = [error.ratio_se(y[:, j], xb[:, j]) for j in range(6)]
    assert np.isnan(got[1]) and np.isnan(want[1]) and np.isnan(got[4]) and np.isnan(want[4])
    np.testing.assert_allclose(got[[0, 2, 3, 5]], np.array(want)[[0, 2, 3, 5]], rtol=1e-12)
    assert np.isnan(error.ratio_se_columns(y[:5], x[:5])).all()  # too few batches


def test_the_tables_pm_and_the_ratios_pm_are_one_interval():
    """The hook row's (-x±h%) in the table and the ratio's ±h under it: the same half-width
    (the ratio's, start-up bias included), not two different intervals of one figure."""
    from engine.results.console import comparison_text

    r = engine.simulate("default", strategies="per_object,batched", calls=20_000, seed=1)
    row = next(d for d in r.summary.to_pylist() if d["strategy"] == "batched")
    line = next(ln for ln in comparison_text(r.summary).splitlines() if ln.startswith("hook cycles / object"))
    hw = 100 * row["hook_ratio_halfwidth"]
    assert f"±{hw:.1f}%)" in line if hw >= 0.05 else "±<0.1%)" in line, (line, hw)
