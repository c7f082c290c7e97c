"""Kernel generations (docs/model.md §5a) and the limit path (§5b): which strategy
runs where, that each new path is really taken, and where the generations differ."""

from __future__ import annotations

import pytest

from engine.errors import BulksimError
from engine.inputs.scenario import Scenario
from engine.model.events import EV, N_EVENTS
from engine.model.state import GENERATIONS, STRATEGY_GENERATIONS
from engine.run.simulate import run_strategy, simulate

from ..conftest import SMALL, assert_same_state, run_reference
from .test_reference_model import CORNER_CASES, PAIRS


def _total(run):
    return run.counters.reshape(-1, N_EVENTS).sum(axis=0)


def test_each_strategy_runs_on_its_own_generation_by_default():
    res = simulate(Scenario(**SMALL), calls=50)
    assert {n: r.kernel for n, r in res.runs.items()} == {
        "per_object": "mainline-2026", "batched_v1": "mainline-2026", "batched": "mainline-2026",
        "upfront": "v6.12", "none": "mainline-2026"}
    assert res.summary.column("kernel").to_pylist() == ["mainline-2026"] * 3 + ["v6.12", "mainline-2026"]


@pytest.mark.parametrize("kernel", GENERATIONS)
def test_all_strategies_on_one_generation_is_one_clear_error(kernel):
    scn = Scenario(**SMALL, kernel=kernel)
    missing = [s for s, gens in STRATEGY_GENERATIONS.items() if kernel not in gens]
    with pytest.raises(BulksimError, match=f"strategy {missing[0]} does not exist on kernel {kernel}"):
        simulate(scn, strategies="all", calls=10)


def test_unknown_generation_is_rejected():
    with pytest.raises(BulksimError, match="kernel must be one of"):
        Scenario(kernel="v5.4")


@pytest.mark.parametrize(("case", "event", "pairs"), [
    ("oom_small_charges", "memcg_ooms", "all"),
    ("ancestor_limit_async_drain", "drain_works", "all"),
    ("gfp_high_limit", "forced_charges", "all"),
    ("kib_runs_no_frees", "stat_guard_flushes", "mm"),
    ("kib_runs_no_frees", "obj_stock_u16_releases", "mm"),
])
def test_new_paths_are_taken(case, event, pairs):
    """Each new event fires in the corner case made for it (and the reference agrees,
    test_reference_model); the 16-bit guards only exist on mm-2026."""
    for strategy, kernel in PAIRS:
        scn = Scenario(name=case, **{**SMALL, **CORNER_CASES[case], "kernel": kernel})
        got = int(_total(run_strategy(scn, strategy, seed=3))[EV[event]])
        if strategy == "none":
            assert got == 0, (case, event, kernel)  # no accounting: no memcg path at all
        elif pairs == "all" or kernel == "mm-2026":
            if event == "stat_guard_flushes" and strategy in ("per_object", "upfront"):
                assert got == 0, (strategy, kernel)  # one object never passes 32767 bytes
            elif event == "obj_stock_u16_releases" and strategy == "per_object":
                continue  # per object refills stay far below the byte guard
            else:
                assert got > 0, (case, event, strategy, kernel)
        else:
            assert got == 0, (case, event, strategy, kernel)


def test_no_block_fails_without_reclaim():
    scn = Scenario(name="no_block", **{**SMALL, **CORNER_CASES["no_block_limit"]})
    tot = _total(run_strategy(scn, "per_object", seed=3))
    assert tot[EV["charge_failures"]] > 0 and tot[EV["reclaims"]] == 0
    # may spin but not block: still batches 64 pages, so the same failure
    scn2 = scn.replace(gfp_allow_block=True)
    assert _total(run_strategy(scn2, "per_object", seed=3))[EV["reclaims"]] > 0


@pytest.mark.parametrize("strategy", ["per_object", "batched"])
def test_multi_slot_obj_stock_stops_per_node_thrash(strategy):
    """One memcg on both nodes: mainline-2026's single slot drains on every switch
    between the memcg's two objcgs; mm-2026 keeps both in its slots."""
    scn = Scenario(name="numa_spread", **{**SMALL, **CORNER_CASES["numa_spread_one_memcg"]})
    main = _total(run_strategy(scn.replace(kernel="mainline-2026"), strategy, seed=3))
    mm = _total(run_strategy(scn.replace(kernel="mm-2026"), strategy, seed=3))
    assert mm[EV["drains"]] * 5 < main[EV["drains"]]


def test_pending_drain_matches_reference_on_a_remote_cpu():
    """An ancestor limit drains other CPUs' stocks by work items; the state at the end
    (including work still pending) equals the reference model's."""
    scn = Scenario(name="async", **{**SMALL, **CORNER_CASES["ancestor_limit_async_drain"],
                                   "calls": 37})
    for strategy, kernel in PAIRS:
        run = run_strategy(scn.replace(kernel=kernel), strategy, seed=9)
        assert_same_state(run.state, run_reference(scn.replace(kernel=kernel), strategy, 9),
                          f"async/{strategy}@{kernel}")
