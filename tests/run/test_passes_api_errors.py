"""The one-pass API's own entry points (``run_strategies``, ``fusable``, ``passes=``)
raise the documented exception types for arguments of the wrong type (docs/errors.md),
never a bare TypeError or AttributeError, and never read a string letter by letter."""

from __future__ import annotations

import pytest

import engine
from engine.errors import BadInputError, BadTypeError
from engine.inputs.scenario import Scenario
from engine.run.simulate import fusable, run_strategies

SCN = Scenario(name="t", calls=20, live_objects=64)


@pytest.mark.parametrize("strategies", ["per_object", "per_object,batched", None, 3,
                                        {"per_object": 1}, b"none"])
def test_run_strategies_needs_a_list_of_names(strategies):
    with pytest.raises(BadTypeError, match="strategies must be a list of strategy names"):
        run_strategies(SCN, strategies, 0)


def test_run_strategies_still_runs_lists_and_tuples():
    a = run_strategies(SCN, ["per_object", "none"], 1)
    b = run_strategies(SCN, ("per_object", "none"), 1)
    assert list(a) == list(b) == ["per_object", "none"]
    assert (a["per_object"].counters == b["per_object"].counters).all()
    with pytest.raises(BadInputError, match="distinct strategies"):
        run_strategies(SCN, ["none", "none"], 0)


@pytest.mark.parametrize("scn", ["default", None, {"cpus": 2}])
def test_fusable_needs_a_scenario(scn):
    with pytest.raises(BadTypeError, match="scenario must be an engine Scenario"):
        fusable(scn)


def test_fusable_answers_for_a_scenario():
    assert fusable(SCN) == (True, "")
    ok, why = fusable(Scenario.from_preset("tight_limit"))
    assert not ok and "memory limit" in why
    assert fusable(Scenario.from_preset("tight_limit", gfp_nofail=True))[0]


@pytest.mark.parametrize("passes", [None, 1, ["fused"], b"fused"])
def test_passes_of_the_wrong_type_is_a_type_error(passes):
    with pytest.raises(BadTypeError, match="passes must be one of auto, fused, separate"):
        engine.simulate(SCN, "per_object,none", passes=passes)


def test_an_unknown_passes_value_is_a_bad_value():
    with pytest.raises(BadInputError, match="passes must be one of") as e:
        engine.simulate(SCN, "per_object,none", passes="FUSED")
    assert not isinstance(e.value, BadTypeError)


def test_bench_without_reference_slices_does_not_blame_the_checkout():
    """--ref-calls 0 (the documented way to time the passes alone) skips the reference
    model: the text says so instead of "not found: run from a source checkout"."""
    from engine.run.bench import format_text, measure

    res = measure(Scenario(name="b", calls=300, live_objects=64), "per_object,none", repeat=1,
                  ref_calls=0, workers=1)
    text = format_text(res)
    assert "reference model not timed: --ref-calls 0" in text
    assert "not found" not in text
