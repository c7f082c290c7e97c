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


def test_v5_generations_and_the_lock_kind():
    """v5.9 and v5.14 run upfront; the lock kind changes no count, only the price; a kind
    a generation never had is one clear error."""
    import engine
    from engine import cli
    from engine.errors import BadInputError
    from engine.model.events import EV, PH_HOOK

    base = dict(cpus=1, nodes=1, memcgs=1, bulk_size=4, live_objects=0, calls=300)
    from engine.inputs.scenario import Scenario

    runs = {}
    for kernel, lock in (("v5.9", ""), ("v5.14", ""), ("v5.14", "irqsave"), ("v6.12", "")):
        scn = Scenario(name="g", kernel=kernel, stock_lock=lock, **base)
        res = engine.simulate(scn, strategies="upfront,none", seed=1)
        runs[(kernel, lock)] = res
        assert res.runs["upfront"].kernel == kernel
    c = {k: r.runs["upfront"].counters for k, r in runs.items()}
    assert (c[("v5.14", "")] == c[("v5.14", "irqsave")]).all()
    calls = 300
    # the pre/post hook reference: two more objcg ops a call than v6.12
    d = c[("v5.14", "")][PH_HOOK, EV["objcg_ref_ops"]] - c[("v6.12", "")][PH_HOOK, EV["objcg_ref_ops"]]
    assert d == 2 * calls
    # v5.9: every object's statistics flushed at once, each with its own irq-save
    objects = 4 * calls
    assert c[("v5.9", "")][PH_HOOK, EV["stat_flushes"]] == objects
    assert c[("v5.9", "")][PH_HOOK, EV["stat_updates"]] == 0
    assert c[("v5.9", "")][PH_HOOK, EV["irq_saves"]] >= objects
    assert c[("v6.12", "")][:, EV["irq_saves"]].sum() == 0
    # priced: v5.14's own preempt lock is cheaper than its irq-save at central prices
    t = {k: r.summary.to_pylist() for k, r in runs.items()}
    up = {k: next(x for x in v if x["strategy"] == "upfront") for k, v in t.items()}
    assert up[("v5.14", "")]["hook_cycles"] < up[("v5.14", "irqsave")]["hook_cycles"]
    with pytest.raises(BadInputError, match="stock_lock=preempt does not exist on kernel v6.12"):
        engine.simulate(Scenario(name="g", kernel="v6.12", stock_lock="preempt", **base),
                        strategies="upfront")
    with pytest.raises(BadInputError, match="stock_lock must be"):
        Scenario(name="g", stock_lock="spin", **base)
    assert cli.main(["run", "--calls", "10", "--strategies", "upfront", "--set", "stock_lock=preempt"]) == 2
