"""Exact ranges over the box of unit costs: linear figures, ratios (Dinkelbach against
brute force over every vertex), verdicts and sensitivity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.errors import BulksimError
from engine.inputs.costs import C, Profile
from engine.results.ranges import (
    linear_range,
    ratio_extremes,
    ratio_extremes_brute,
    sensitivity,
    strategy_forms,
    verdict,
)

_val = st.floats(min_value=0.0, max_value=100.0, allow_nan=False, allow_infinity=False)


@st.composite
def boxes(draw):
    n = draw(st.integers(1, 8))
    a = np.array(draw(st.lists(_val, min_size=n, max_size=n)))
    b = np.array(draw(st.lists(_val, min_size=n, max_size=n)))
    lo = np.array(draw(st.lists(st.floats(0.01, 50.0), min_size=n, max_size=n)))
    width = np.array(draw(st.lists(st.floats(0.0, 50.0), min_size=n, max_size=n)))
    b[draw(st.integers(0, n - 1))] += 1.0  # the denominator stays positive on the box
    return a, b, lo, lo + width


@settings(max_examples=300, deadline=None)
@given(boxes())
def test_ratio_extremes_equal_brute_force_on_random_boxes(box):
    a, b, lo, hi = box
    tmin, xmin, tmax, xmax = ratio_extremes(a, b, lo, hi)
    bmin, bmax = ratio_extremes_brute(a, b, lo, hi)
    assert tmin == pytest.approx(bmin, rel=1e-12, abs=1e-12)
    assert tmax == pytest.approx(bmax, rel=1e-12, abs=1e-12)
    # the returned points are vertices that attain the extremes
    for x, t in ((xmin, tmin), (xmax, tmax)):
        assert np.all((x == lo) | (x == hi))
        assert float(a @ x) / float(b @ x) == pytest.approx(t, rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(boxes(), st.lists(st.floats(-50, 50), min_size=8, max_size=8))
def test_linear_range_is_exact(box, signs):
    _, _, lo, hi = box
    c = np.array(signs[: len(lo)])
    got = linear_range(c, lo, hi)
    import itertools

    vals = [float(c @ np.where(np.array(bits), hi, lo)) for bits in itertools.product((0, 1), repeat=len(c))]
    assert got[0] == pytest.approx(min(vals), abs=1e-9)
    assert got[1] == pytest.approx(max(vals), abs=1e-9)


def test_ratio_extremes_reject_a_box_where_the_denominator_can_vanish():
    with pytest.raises(BulksimError, match="denominator"):
        ratio_extremes([1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 2.0])
    with pytest.raises(BulksimError, match="low <= high"):
        ratio_extremes([1.0], [1.0], [2.0], [1.0])


@pytest.fixture(scope="module")
def small_result():
    return engine.simulate("default", strategies="per_object,batched,upfront", seed=3, calls=800)


def test_real_profile_ratio_extremes_equal_brute_force(small_result):
    """The batched/per_object hook ratio of a real run: the 12 unit costs that move it
    most span their ranges, the others sit at central (a box of 4096 vertices)."""
    prof = engine.inputs.costs.get_profile(small_result.profile)
    a = strategy_forms(small_result, "batched").hook
    b = strategy_forms(small_result, "per_object").hook
    lo, mid, hi = prof.vector("low"), prof.vector("central"), prof.vector("high")
    swing = np.abs(a - (a @ mid) / (b @ mid) * b) * (hi - lo)
    keep = np.argsort(-swing)[:12]
    slo, shi = mid.copy(), mid.copy()
    slo[keep], shi[keep] = lo[keep], hi[keep]
    tmin, _, tmax, _ = ratio_extremes(a, b, slo, shi)
    # brute force over the full coordinates of the small box (fixed ones have low == high)
    import itertools

    vals = []
    for bits in itertools.product((0, 1), repeat=len(keep)):
        x = mid.copy()
        x[keep] = np.where(np.array(bits), hi[keep], lo[keep])
        vals.append(float(a @ x) / float(b @ x))
    assert tmin == pytest.approx(min(vals), rel=1e-12)
    assert tmax == pytest.approx(max(vals), rel=1e-12)
    assert tmin < (a @ mid) / (b @ mid) < tmax


def test_summary_range_columns_bracket_the_central_figures(small_result):
    rows = {r["strategy"]: r for r in small_result.summary.to_pylist()}
    for r in rows.values():
        for m in ("hook", "total"):
            assert r[f"{m}_cycles_per_object_low"] <= r[f"{m}_cycles_per_object"] <= r[f"{m}_cycles_per_object_high"]
            assert r[f"{m}_ns_per_object_low"] == pytest.approx(r[f"{m}_cycles_per_object_low"] / 4.0)
    base = rows["per_object"]
    assert base["hook_ratio"] == pytest.approx(1.0) and base["hook_verdict"] == "same"
    up = rows["upfront"]
    assert up["hook_ratio_min"] <= up["hook_ratio"] <= up["hook_ratio_max"]
    assert up["hook_ratio"] == pytest.approx(up["hook_cycles_per_object"] / base["hook_cycles_per_object"])
    assert up["hook_diff_low"] <= up["hook_cycles_per_object_diff"] <= up["hook_diff_high"]
    # the verdict agrees with the sign of the difference over the box
    for r in rows.values():
        for m in ("hook", "total"):
            v = r[f"{m}_verdict"]
            if v == "cheaper":
                assert r[f"{m}_diff_high"] < 0 and r[f"{m}_ratio_max"] < 1
            elif v == "dearer":
                assert r[f"{m}_diff_low"] > 0 and r[f"{m}_ratio_min"] > 1
            elif v == "depends":
                assert r[f"{m}_diff_low"] < 0 < r[f"{m}_diff_high"] and r[f"{m}_decided_by"]


def _toy_profile(**costs):
    return Profile(name="toy", description="", clock_ghz=1.0, estimated=True,
                   costs={k: C(*v, "test") for k, v in costs.items()})


def test_verdict_names_the_fewest_costs_that_flip_the_sign():
    prof = _toy_profile(x=(4, 5, 6), y=(0, 5, 10), z=(4, 5, 6))
    # central -5 + 2.5 = -2.5; y high adds 2.5 (only reaches 0), x low adds 1: both are needed
    assert verdict(np.array([-1.0, 0.5, 0.0]), prof) == ("depends", ["y", "x"])
    assert verdict(np.array([0.2, -1.0, 0.0]), prof) == ("depends", ["y"])  # y = 0 alone flips it
    assert verdict(np.array([0.0, -1.0, 0.0]), prof) == ("depends", ["y"])  # reaches 0 at y = 0
    assert verdict(np.array([-1.0, 0.0, 0.2]), prof) == ("cheaper", [])
    assert verdict(np.array([0.0, 0.0, 1.0]), prof) == ("dearer", [])
    assert verdict(np.zeros(3), prof) == ("same", [])


def test_sensitivity_sweeps_each_cost_with_the_others_central(small_result):
    rows = sensitivity(small_result, "batched", "hook")
    prof = engine.inputs.costs.get_profile(small_result.profile)
    assert [r["unit_cost"] for r in rows][:1] and len(rows) == len(prof.names)
    assert rows == sorted(rows, key=lambda r: -r["swing"])
    top = rows[0]
    a = strategy_forms(small_result, "batched").hook
    b = strategy_forms(small_result, "per_object").hook
    x = prof.vector("central")
    x[prof.names.index(top["unit_cost"])] = top["high"]
    assert top["ratio_at_high"] == pytest.approx(float(a @ x) / float(b @ x))
    with pytest.raises(BulksimError):
        sensitivity(small_result, "batched_v1")


def test_run_prints_ranges_verdicts_and_sensitivity(capsys):
    from engine import cli

    assert cli.main(["run", "--scenario", "single", "--calls", "300", "--quiet", "--sensitivity"]) == 0
    out = capsys.readouterr().out
    # at bulk 1 batched does exactly per_object's work; batched_v1 two more slab lookups
    assert "batched     hook          +0.00 cycles/object [+0.00, +0.00], ratio 1.000 [1.000, 1.000]: " \
           "the same under every cost" in out
    line = next(x for x in out.splitlines() if x.lstrip().startswith("batched_v1  hook"))
    assert line.endswith("dearer under every cost in the ranges")
    assert "batched_v1 / per_object, hook cycles" in out and "virt_to_slab" in out
    assert cli.main(["run", "--calls", "10", "--sensitivity", "both"]) == 2


def test_sensitivity_text_prints_no_header_over_no_rows():
    """A ratio no unit cost moves (none's hook: always 0; batched at bulk 1: the same
    work as per_object) gets its sentence, not a table header with nothing under it."""
    from engine.results.ranges import sensitivity_text

    res = engine.simulate("single", "per_object,batched,none", calls=200)
    lines = sensitivity_text(res, "hook").splitlines()
    header = [i for i, x in enumerate(lines) if x.lstrip().startswith("unit cost")]
    still = [i for i, x in enumerate(lines) if x.endswith("no unit cost moves the ratio")]
    assert len(still) == 2  # batched and none
    assert all(i + 1 not in header for i in still)
    assert len(header) == 0
    moved = sensitivity_text(engine.simulate("default", "per_object,batched", calls=200), "hook")
    assert sum(x.lstrip().startswith("unit cost") for x in moved.splitlines()) == 1
    assert "central ratio" in moved
