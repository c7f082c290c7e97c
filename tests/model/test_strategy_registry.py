"""A strategy registered in the engine must be covered by the reference model, the
kernel == reference tests, the count tests and the cost code (docs/new-strategy.md).

Registering one in ``engine.model.state.STRATEGIES`` without these fails here, by
name, before any longer test runs."""

from __future__ import annotations

import inspect

import pytest

from engine.inputs.scenario import PRESETS
from engine.model.state import FREE_HOOKS, STRATEGIES, STRATEGY_GENERATIONS

from .. import reference
from . import test_count_table, test_reference_model


def test_reference_model_knows_every_strategy_and_free_hook():
    assert tuple(reference.STRATEGIES) == tuple(STRATEGIES), \
        "engine STRATEGIES and tests/reference.py STRATEGIES differ (same names, same order)"
    assert {s: tuple(g) for s, g in reference.EXISTS_ON.items()} == \
        {s: tuple(g) for s, g in STRATEGY_GENERATIONS.items()}, \
        "tests/reference.py EXISTS_ON must list each strategy's generations as STRATEGY_GENERATIONS does"
    assert tuple(reference.FREE_HOOKS) == tuple(FREE_HOOKS)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_reference_model_has_the_hook(strategy):
    hook = getattr(reference.Sim, "hook_" + strategy, None)
    assert callable(hook), f"tests/reference.py Sim has no hook_{strategy}"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_kernel_equals_reference_on_every_generation_preset_and_corner_case(strategy):
    """The parametrisations of test_reference_model cover every generation of the
    strategy, every preset, every corner case and every free mode."""
    pairs = set(test_reference_model.PAIRS)
    for gen in STRATEGY_GENERATIONS[strategy]:
        assert (strategy, gen) in pairs, f"test_reference_model.PAIRS lacks {strategy}@{gen}"
    for test, name, values in ((test_reference_model.test_presets_match_reference, "preset", PRESETS),
                               (test_reference_model.test_corner_cases_match_reference, "case",
                                test_reference_model.CORNER_CASES)):
        marks = {m.args[0]: list(m.args[1]) for m in test.pytestmark if m.name == "parametrize"}
        assert marks.get(name) == list(values), f"{test.__name__} must run every {name}"
        assert marks.get(("strategy", "kernel")) == test_reference_model.PAIRS
        assert marks.get(("free_bulk", "free_hook")) == test_reference_model.FREE_MODES
    modes = set(test_reference_model.FREE_MODES)
    assert {h for _, h in modes} == set(FREE_HOOKS) and {b for b, _ in modes} >= {1, 8, 32}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_has_count_tests(strategy):
    """Every strategy has hand-derived counts: in the count table's STRATS, or a test
    of test_count_table.py named in COUNT_TESTS."""
    if strategy in test_count_table.STRATS:
        return
    name = test_count_table.COUNT_TESTS.get(strategy)
    assert name is not None, f"no count test for {strategy}: add it to test_count_table.STRATS " \
                             "or name its test in test_count_table.COUNT_TESTS"
    fn = getattr(test_count_table, name, None)
    assert fn is not None and inspect.isfunction(fn), f"test_count_table.{name} does not exist"
