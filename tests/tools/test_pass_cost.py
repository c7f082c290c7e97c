"""tools/pass_cost.py: the split of a pass into the allocator's and each strategy's share."""

from __future__ import annotations

import numpy as np

from . import load_tool


def _tool():
    return load_tool("pass_cost")


def test_pass_cost_fits_shared_and_per_strategy_shares(capsys):
    assert _tool().main(["--calls", "3000", "--rounds", "2", "--copies", "1,2,3"]) == 0
    out = capsys.readouterr().out
    assert "K=1:" in out and "K=3:" in out
    line = next(x for x in out.splitlines() if x.startswith("fit:"))
    shared = float(line.split("shared ")[1].split()[0])
    per = float(line.split("per strategy ")[1].split()[0])
    assert per > 0  # every copy of the strategy runs its hooks: more copies, more time
    assert "4 strategies: one pass" in out
    assert shared + per > 0


def test_copies_of_one_strategy_are_identical_to_it_alone():
    """The tool's premise: K copies of a strategy in one pass each get exactly the
    strategy's own run (so their time is K strategies' hook work)."""
    from engine.inputs.scenario import Scenario
    from engine.model import state as st
    from engine.model.events import N_EVENTS
    from engine.model.kernel import PER_CALL_FIXED, run_calls

    scn = Scenario.from_preset("default", calls=400, live_objects=300)
    outs = []
    for k in (1, 3):
        Ps, A, X = st.make_fused(scn, ["per_object"] * k, 5)
        run_calls(Ps[0], st.kernel_view(A), st.stack_view(X), 0, scn.calls,
                  np.zeros((0, k, PER_CALL_FIXED + N_EVENTS), np.int64))
        outs.append([st.strategy_state(A, X, i) for i in range(k)])
    one = outs[0][0]
    for copy in outs[1]:
        for name in ("counters", "cpu", "memcg", "pc", "stat", "misc", "live"):
            assert np.array_equal(getattr(copy, name), getattr(one, name)), name
        assert np.array_equal(copy.slab[:, 1], one.slab[:, 1])  # obj_exts bits, per copy





def test_bad_arguments_are_one_line_and_exit_2(capsys):
    tool = _tool()
    for argv, words in [(["--calls", "0"], "--calls must be in"), (["--rounds", "-1"], "--rounds must be in"),
                        (["--copies", "1,x"], "integers separated by commas"),
                        (["--copies", "2,2"], "two different values"),
                        (["--calls", "nan"], "expected an integer"),
                        (["--scenario", "nope"], "unknown scenario"),
                        (["--strategy", "nope"], "unknown strategy"),
                        (["--scenario", "tight_limit"], "cannot share a pass")]:
        assert tool.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and words in err, (argv, err)
