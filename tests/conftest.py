"""Shared helpers for the tests."""

from __future__ import annotations

import numpy as np

from engine.inputs.scenario import Scenario
from engine.run.bench import reference_params as ref_params

from .reference import simulate_reference

# Small versions of every preset (1-4 CPUs, 1-3 nodes) and corner cases of the model.
SMALL = dict(calls=250, live_objects=256)




def run_reference(scn: Scenario, strategy: str, seed: int, trace=None) -> dict:
    return simulate_reference(ref_params(scn), strategy, seed, scn.calls, trace)


def assert_same_state(engine_state: dict, ref_state: dict, label: str) -> None:
    """Every counter and every piece of final state must be equal."""
    from engine.model.events import EVENTS, PHASES

    for key, want in ref_state.items():
        got = engine_state[key]
        want = np.asarray(want)
        if key == "counters":
            diff = np.argwhere(np.asarray(got) != want)
            if diff.size:
                msgs = [f"{PHASES[p]}.{EVENTS[e]}: engine {got[p, e]} reference {want[p, e]}"
                        for p, e in diff[:12]]
                raise AssertionError(f"{label}: counters differ:\n  " + "\n  ".join(msgs))
            continue
        if not np.array_equal(np.asarray(got), want):
            raise AssertionError(f"{label}: {key} differs\n engine    {got}\n reference {want}")
