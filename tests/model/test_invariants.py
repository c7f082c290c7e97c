"""The invariants of docs/model.md §10 catch a broken state, and the CLI says so."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from engine import cli
from engine.errors import InvariantError
from engine.inputs.scenario import Scenario
from engine.model import invariants
from engine.run import simulate as driver
from engine.run.simulate import run_strategy

SCN = Scenario(calls=300, live_objects=200, memcgs=3)


@pytest.fixture(scope="module")
def good():
    return run_strategy(SCN, "batched", 2).state


def _broken(state, key, fn):
    s = copy.deepcopy(state)
    fn(s[key])
    return s


@pytest.mark.parametrize("key, fn, name", [
    ("objcg_refs", lambda a: a.__setitem__(0, a[0] + 1), "references"),
    ("stat", lambda a: a.__setitem__((0, 0), a[0, 0] + 8), "statistics"),
    ("nr_charged_bytes", lambda a: a.__setitem__(1, a[1] + 4096), "pages"),
    ("stock_nr_bytes", lambda a: a.__setitem__(0, a[0] + 3), "bytes"),
    ("pc_usage", lambda a: a.__setitem__(-1, a[-1] + 1), "hierarchy"),
    ("mstock_pages", lambda a: a.__setitem__((0, 0), -1), "no counter negative"),
])
def test_each_invariant_catches_its_violation(good, key, fn, name):
    invariants.check(SCN, "batched", good)  # the real state is consistent
    with pytest.raises(InvariantError, match=name):
        invariants.check(SCN, "batched", _broken(good, key, fn))


def test_cli_exits_non_zero_naming_the_invariant(monkeypatch, capsys, tmp_path):
    real = driver.dump_state

    def corrupt(P, S):
        state = real(P, S)
        state["objcg_refs"] = state["objcg_refs"] + np.int64(1)
        return state

    monkeypatch.setattr(driver, "dump_state", corrupt)
    out = tmp_path / "r.parquet"
    rc = cli.main(["run", "--calls", "50", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 3
    assert "invariant 'references' violated" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_strategies_charge_the_same_objects_and_statistics():
    from engine.run.simulate import simulate

    res = simulate(SCN.replace(exts_at_creation=0.5, exts_fail_prob=0.3), seed=8)
    states = {n: r.state for n, r in res.runs.items()}
    invariants.check_across(SCN, states, {n: 0 for n in states})
    s = copy.deepcopy(states)
    s["batched"]["live_objcg"][0] = -1 if s["batched"]["live_objcg"][0] >= 0 else 0
    with pytest.raises(InvariantError, match="same objects charged"):
        invariants.check_across(SCN, s, {n: 0 for n in s})
