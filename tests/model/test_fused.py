"""One pass for every strategy (engine/model/kernel.py): the fused run must give each
strategy exactly what its own pass gives -- every counter, the run-length histogram,
the per-call detail and the whole final state -- on every preset, corner case and
kernel generation where the engine fuses; and the engine must not fuse where a
hook can fail."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import BadInputError, BadTypeError, InvariantError
from engine.inputs.scenario import PRESETS, Scenario
from engine.model.events import EVENTS
from engine.model.state import STRATEGIES, STRATEGY_GENERATIONS
from engine.run.simulate import choose_passes, fusable, run_strategies, run_strategy, simulate

from ..conftest import SMALL, assert_same_state, run_reference
from .test_reference_model import CORNER_CASES, FREE_IDS, FREE_MODES, _shrink


def _names(kernel: str) -> list[str]:
    return [s for s in STRATEGIES if not kernel or kernel in STRATEGY_GENERATIONS[s]]


def _assert_fused_equals_separate(scn: Scenario, seed: int, label: str, detail: bool = False,
                                  trace=None) -> dict:
    names = _names(scn.kernel)
    fused = run_strategies(scn, names, seed, detail=detail, trace=trace)
    assert list(fused) == names
    for name in names:
        alone = run_strategy(scn, name, seed, detail=detail, trace=trace)
        got = fused[name]
        assert np.array_equal(got.counters, alone.counters), f"{label}/{name}: counters"
        assert np.array_equal(got.run_hist, alone.run_hist), f"{label}/{name}: run_hist"
        assert got.state.keys() == alone.state.keys()
        assert_same_state(got.state, alone.state, f"{label}/{name} fused vs alone")
        if detail:
            assert np.array_equal(got.per_call, alone.per_call), f"{label}/{name}: per-call"
    return fused


def _fusable_cases():
    for preset in PRESETS:
        scn = _shrink(preset)
        if fusable(scn)[0]:
            yield preset, scn
    for case, changes in CORNER_CASES.items():
        scn = Scenario(name=case, **{**SMALL, **changes})
        if fusable(scn)[0]:
            yield case, scn


CASES = dict(_fusable_cases())


@pytest.mark.parametrize(("free_bulk", "free_hook"), FREE_MODES, ids=FREE_IDS)
@pytest.mark.parametrize("kernel", ["", "mainline-2026", "mm-2026"])
@pytest.mark.parametrize("case", list(CASES))
def test_fused_pass_equals_separate_passes(case, kernel, free_bulk, free_hook):
    scn = CASES[case].replace(kernel=kernel, free_bulk=free_bulk, free_hook=free_hook)
    _assert_fused_equals_separate(scn, 7, f"{case}@{kernel or 'own'}/{free_bulk}/{free_hook}")


def test_enough_cases_are_fused():
    # Most presets and corner cases have no limit (or force their charges), so they fuse.
    assert len(CASES) >= 15
    assert {"default", "io_uring", "nofail_limit", "gfp_high_limit", "irq_reentry"} <= set(CASES)


def test_fused_pass_equals_the_reference_model():
    """Directly against tests/reference.py too, on a case that exercises obj_exts
    failures (each strategy keeps its own obj_exts bit of a shared slab) and KFENCE."""
    for free in (dict(), dict(free_bulk=8, free_hook="batched")):
        scn = Scenario(name="fused_ref", **{**SMALL, **CORNER_CASES["kfence_and_exts_failures"], **free})
        runs = run_strategies(scn, list(STRATEGIES), 3)
        for name, run in runs.items():
            assert_same_state(run.state, run_reference(scn, name, 3), f"fused/{name}/{free}")


def test_fused_per_call_detail_equals_separate():
    scn = Scenario.from_preset("io_uring", calls=300, live_objects=400)
    _assert_fused_equals_separate(scn, 2, "io_uring detail", detail=True)
    _assert_fused_equals_separate(scn.replace(free_bulk=32, free_hook="batched"), 2,
                                  "io_uring detail, batched frees", detail=True)


def test_fused_trace_replay_equals_separate():
    from engine.inputs.trace import from_calls

    scn = Scenario(**{**SMALL, "cpus": 2, "nodes": 2, "memcgs": 3})
    calls = [[(sl, sl % 2, sl % 3 != 0) for sl in ((c * 7 + j) % 40 for j in range(1 + c % 9))]
             for c in range(120)]
    trace = from_calls(calls, scn, cpus=[c % 2 for c in range(120)],
                       memcgs=[c % 3 for c in range(120)])
    _assert_fused_equals_separate(scn.replace(calls=trace.n_calls), 0, "trace", trace=trace)


def test_fused_chunking_and_invariant_checks_change_nothing():
    scn = _shrink("numa_mixed")
    whole = run_strategies(scn, list(STRATEGIES), 4)
    cut = run_strategies(scn, list(STRATEGIES), 4, chunk_calls=7, check_every=50)
    for name in STRATEGIES:
        assert_same_state(cut[name].state, whole[name].state, f"chunked/{name}")


# -- when the engine fuses ---------------------------------------------------------

def test_limits_that_can_fail_a_charge_are_run_separately():
    scn = _shrink("tight_limit")
    ok, why = fusable(scn)
    assert not ok and "limit" in why
    groups, how = choose_passes(scn, list(STRATEGIES))
    assert groups == [[s] for s in STRATEGIES]
    assert "separate" in how and "limit" in how
    res = simulate(scn)
    assert res.passes == how
    # hooks did fail here: one pass would have been wrong
    assert max(int(r.counters.sum(axis=0)[EVENTS.index("hook_failures")]) for r in res.runs.values()) > 0
    with pytest.raises(BadInputError, match="cannot share one pass"):
        simulate(scn, passes="fused")
    # one strategy alone is its own pass, exact under any limit
    assert simulate(scn, strategies="batched", passes="fused").passes == "one pass (one strategy)"


def test_forced_charges_under_a_limit_fuse():
    for changes in (dict(gfp_nofail=True), dict(gfp_high=True)):
        scn = _shrink("tight_limit").replace(**changes)
        assert fusable(scn) == (True, "")
        assert "fused" in simulate(scn, strategies="per_object,batched").passes


def test_a_hook_failing_in_a_fused_pass_is_never_a_silent_result():
    """If a charge fails in a pass of several strategies (the driver never builds one
    where it can), the kernel stops and the engine raises instead of going on."""
    scn = _shrink("tight_limit")
    with pytest.raises(InvariantError, match="cannot share a pass"):
        run_strategies(scn, list(STRATEGIES), 11)


def test_passes_argument_and_provenance():
    scn = Scenario.from_preset("default", calls=50, live_objects=64)
    a = simulate(scn, passes="fused")
    b = simulate(scn, passes="separate")
    assert "fused" in a.passes and "separate: asked for" in b.passes
    assert a.summary.drop(["sim_seconds"]).equals(b.summary.drop(["sim_seconds"]))
    assert a.summary.schema.metadata[b"passes"] == a.passes.encode()
    assert "one strategy" in simulate(scn, strategies="batched").passes
    with pytest.raises(BadInputError, match="passes must be"):
        simulate(scn, passes="both")
    with pytest.raises(BadTypeError, match="passes must be"):
        simulate(scn, passes=True)
