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
    Box,
    brute_force_points,
    diff_range,
    form_range,
    fval,
    linear_range,
    ratio_range,
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
    base = np.array([10.0, 10.0, 10.0])  # a positive baseline: both forms stay linear (no issue prices)

    def v(d):
        return verdict(base + np.array(d), base, prof)

    # central -5 + 2.5 = -2.5; y high adds 2.5 (only reaches 0), x low adds 1: both are needed
    assert v([-1.0, 0.5, 0.0]) == ("depends", ["y", "x"])
    assert v([0.2, -1.0, 0.0]) == ("depends", ["y"])  # y = 0 alone flips it
    assert v([0.0, -1.0, 0.0]) == ("depends", ["y"])  # reaches 0 at y = 0
    assert v([-1.0, 0.0, 0.2]) == ("cheaper", [])
    assert v([0.0, 0.0, 1.0]) == ("dearer", [])
    assert v([0.0, 0.0, 0.0]) == ("same", [])


def test_verdict_names_issue_prices_when_the_issue_time_decides():
    prof = Profile(name="toy", description="", clock_ghz=1.0, estimated=True,
                   costs={"u": C(1, 1, 1, "t"), "v": C(1, 1, 1, "t")},
                   issue={"u": C(0, 5, 10, "t"), "v": C(1, 1, 1, "t")})
    # issue-bound: a pays 2u of issue, b 1u + 4v; a - b = u - 4 at central u = 5: +1
    assert verdict(np.array([2.0, 0.0]), np.array([1.0, 4.0]), prof) == ("depends", ["u:issue"])


def test_sensitivity_sweeps_each_cost_with_the_others_central(small_result):
    rows = sensitivity(small_result, "batched", "hook")
    prof = engine.inputs.costs.get_profile(small_result.profile)
    issue = [n for n in prof.names if prof.issue_vector("high")[prof.names.index(n)] > 0]
    assert [r["unit_cost"] for r in rows][:1] and len(rows) == len(prof.names) + len(issue)
    assert rows == sorted(rows, key=lambda r: -r["swing"])
    a = strategy_forms(small_result, "batched").hook
    b = strategy_forms(small_result, "per_object").hook
    for top in rows[:3]:
        x, y = prof.vector("central"), prof.issue_vector("central")
        name = top["unit_cost"]
        if name.endswith(":issue"):
            y[prof.names.index(name[: -len(":issue")])] = top["high"]
        else:
            x[prof.names.index(name)] = top["high"]
        want = max(a @ x, a @ y) / max(b @ x, b @ y)
        assert top["ratio_at_high"] == pytest.approx(float(want))
    with pytest.raises(BulksimError):
        sensitivity(small_result, "batched_v1")


def test_run_prints_ranges_verdicts_and_sensitivity(capsys):
    from engine import cli

    assert cli.main(["run", "--scenario", "single", "--calls", "300", "--quiet", "--sensitivity"]) == 0
    out = capsys.readouterr().out
    # at bulk 1 batched does exactly per_object's work; batched_v1 two more slab lookups
    assert ("  batched     hook          +0.00 cycles/object [+0.00, +0.00]\n" + " " * 26
            + "ratio 1.000 [1.000, 1.000]: the same under every cost") in out
    lines = out.splitlines()
    k = next(i for i, x in enumerate(lines) if x.lstrip().startswith("batched_v1  hook"))
    # two more slab lookups: never cheaper, and free when the hook is chain-bound (its
    # issue slots idle): the difference's range starts at 0
    assert "cycles/object [+0.00, +" in lines[k] and ": depends on " in lines[k + 1]
    # every line of the section fits the console's 100 columns
    section = out[out.index("Against per_object"):out.index("Sensitivity")]
    assert max(len(x) for x in section.splitlines()) <= 100
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


@st.composite
def max_boxes(draw):
    """Two coefficient vectors and a chain box and an issue box over up to 5 coordinates
    (every vertex of the joint box: up to 1024)."""
    n = draw(st.integers(1, 5))

    def vec(lo=0.0, hi=100.0):
        return np.array(draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n)))

    a, b = vec(), vec()
    b[draw(st.integers(0, n - 1))] += 1.0
    xl, yl = vec(0.01, 50.0), vec(0.0, 50.0)
    xh, yh = xl + vec(0.0, 50.0), yl + vec(0.0, 50.0)
    return a, b, Box(xl, (xl + xh) / 2, xh, yl, (yl + yh) / 2, yh, tuple(f"c{i}" for i in range(n)))


@settings(max_examples=200, deadline=None)
@given(max_boxes(), st.integers(0, 2**31))
def test_max_form_ranges_against_brute_force(box, seed):
    """Figure ranges are exact; differences and ratios contain every point of the box,
    and equal the brute-force extremes over the vertices where they say they are exact."""
    a, b, bx = box
    pts = brute_force_points(bx, np.random.default_rng(seed), 200)
    fa = [fval(a, x, y) for x, y in pts]
    fb = [fval(b, x, y) for x, y in pts]
    nv = 2 ** (2 * len(a))  # the vertices come first
    lo, hi = form_range(a, bx)
    assert min(fa) >= lo - 1e-9 and max(fa) <= hi + 1e-9
    assert min(fa[:nv]) == pytest.approx(lo, abs=1e-9) and max(fa[:nv]) == pytest.approx(hi, abs=1e-9)
    d = [p - q for p, q in zip(fa, fb)]
    dlo, dhi, exact = diff_range(a, b, bx)
    assert min(d) >= dlo - 1e-9 and max(d) <= dhi + 1e-9
    if exact:
        assert min(d[:nv]) == pytest.approx(dlo, abs=1e-9) and max(d[:nv]) == pytest.approx(dhi, abs=1e-9)
    r = [p / q for p, q in zip(fa, fb)]
    rlo, rhi, exact = ratio_range(a, b, bx)
    assert min(r) >= rlo * (1 - 1e-12) - 1e-12 and max(r) <= rhi * (1 + 1e-12) + 1e-12
    if exact:
        assert min(r[:nv]) == pytest.approx(rlo, rel=1e-9) and max(r[:nv]) == pytest.approx(rhi, rel=1e-9)


def test_max_form_ranges_on_a_real_run_contain_random_points(small_result):
    """The hook and end-to-end forms of a real run (48 unit costs, chain and issue):
    random points of the box stay inside the reported ranges."""
    prof = engine.inputs.costs.get_profile(small_result.profile)
    bx = Box.of(prof)
    rng = np.random.default_rng(7)
    pts = brute_force_points(bx, rng, 3000)
    for m in ("hook", "total"):
        a = getattr(strategy_forms(small_result, "batched"), m)
        b = getattr(strategy_forms(small_result, "per_object"), m)
        rlo, rhi, _ = ratio_range(a, b, bx)
        dlo, dhi, _ = diff_range(a, b, bx)
        for x, y in pts:
            assert rlo - 1e-12 <= fval(a, x, y) / fval(b, x, y) <= rhi + 1e-12
            assert dlo - 1e-9 <= fval(a, x, y) - fval(b, x, y) <= dhi + 1e-9


def test_pure_regimes_are_exact_and_the_sum_model_is_the_old_one():
    """Without issue prices every form is chain-bound: the ranges are the linear ones."""
    a, b = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 1.0])
    lo, hi = np.array([1.0, 2.0, 3.0]), np.array([2.0, 5.0, 4.0])
    z = np.zeros(3)
    bx = Box(lo, (lo + hi) / 2, hi, z, z, z)
    tmin, _, tmax, _ = ratio_extremes(a, b, lo, hi)
    assert ratio_range(a, b, bx) == (pytest.approx(tmin), pytest.approx(tmax), True)
    assert diff_range(a, b, bx)[:2] == linear_range(a - b, lo, hi) and diff_range(a, b, bx)[2]
    with pytest.raises(BulksimError, match="denominator"):
        ratio_range(a, np.zeros(3), bx)
