"""Kernel-side faults, interruptions and determinism across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.inputs.scenario import Scenario
from engine.inputs.trace import from_calls
from engine.model.events import EV, PH_HOOK
from engine.model.state import STRATEGIES
from engine.run.simulate import run_strategy, simulate

from ..conftest import SMALL, assert_same_state, run_reference


def _hook(run, name):
    return int(run.counters[PH_HOOK, EV[name]])


# -- faults, each checked against the reference model and the invariants ----------

FAULTS = {
    "limit_hits_failure_path": dict(memcg_max_pages=6, memcgs=2, cpus=2, nodes=1, reclaim_retries=1),
    "forced_charges": dict(memcg_max_pages=6, memcgs=2, cpus=2, nodes=1, gfp_nofail=True),
    "reclaim_frees_pagecache": dict(memcg_max_pages=30, pagecache_pages=25, reclaim_pages=3,
                                    memcgs=1, cpus=2, nodes=1),
    "exts_fail_everywhere": dict(exts_at_creation=0.0, exts_fail_prob=1.0),
    "exts_fail_sometimes": dict(exts_at_creation=0.3, exts_fail_prob=0.5),
    "every_trylock_fails": dict(irq_reentry_prob=1.0),
    "some_trylocks_fail": dict(irq_reentry_prob=0.3, cpus=3, nodes=3),
}
EXPECT = {
    "limit_hits_failure_path": ("hook_failures", "charge_failures"),
    "forced_charges": ("forced_charges",),
    "reclaim_frees_pagecache": ("reclaims",),
    "exts_fail_everywhere": ("obj_exts_failures",),
    "exts_fail_sometimes": ("obj_exts_failures", "obj_exts_skipped"),
    "every_trylock_fails": ("stock_lock_failures",),
    "some_trylocks_fail": ("stock_lock_failures",),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_is_injected_matches_reference_and_keeps_invariants(fault, strategy):
    scn = Scenario(name=fault, **{**SMALL, **FAULTS[fault]})
    run = run_strategy(scn, strategy, 21)  # checks the invariants
    total = run.counters.sum(axis=0)
    for event in EXPECT[fault]:
        if strategy == "none":
            # no accounting: no memcg fault can happen, the hook does nothing at all
            assert total[EV[event]] == 0 and not run.counters[PH_HOOK].any()
            continue
        if strategy == "upfront" and event == "stock_lock_failures":
            assert total[EV[event]] == 0  # the irq-save lock of that generation cannot fail
            continue
        assert total[EV[event]] > 0, f"{event} never happened"
    assert_same_state(run.state, run_reference(scn, strategy, 21), f"{fault}/{strategy}")
    if fault == "exts_fail_everywhere":
        # nothing is charged to objects (upfront's up-front pages sit in the stocks)
        assert _hook(run, "assigns") == 0 and run.state["stat"].sum() == 0
        assert (run.state["live_objcg"] == -1).all()
    if fault == "reclaim_frees_pagecache" and strategy != "none":  # none never charges
        assert run.state["pagecache"].sum() < 25


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_failed_call_leaves_nothing_charged_or_referenced(strategy):
    # One CPU, one cgroup limited to 1 page: the first call of 40 objects of 264 bytes
    # cannot be charged in full; the hook fails part-way (or up front).
    scn = Scenario(cpus=1, nodes=1, memcgs=1, depth=2, memcg_max_pages=1, reclaim_retries=0,
                   cgroup_switch_prob=0.0, live_objects=100)
    trace = from_calls([[(k // 8, 0, True) for k in range(40)]], scn)
    run = run_strategy(scn, strategy, 0, trace=trace)
    st = run.state
    if strategy == "none":  # nothing is charged, so nothing fails: all 40 objects live
        assert _hook(run, "hook_failures") == 0 and len(st["live_objcg"]) == 40
        assert (st["live_objcg"] == -1).all() and st["pc_usage"][0] == 0
        return
    assert _hook(run, "hook_failures") == 1
    assert len(st["live_objcg"]) == 0
    refs_from_stocks = np.bincount(st["stock_objcg"][st["stock_objcg"] >= 0], minlength=1)
    assert np.array_equal(st["objcg_refs"], refs_from_stocks)
    assert st["stat"].sum() + st["stock_acc_u"].sum() == 0
    held = st["stock_nr_bytes"].sum() + st["nr_charged_bytes"].sum() + 4096 * st["mstock_pages"].sum()
    assert st["pc_usage"][0] * 4096 == held


# -- interruptions ------------------------------------------------------------------

@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_a_long_run_leaves_no_file(tmp_path, sig, code):
    out = tmp_path / "result.parquet"
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "run", "--calls", "200000000", "--quiet", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4.0)  # past start-up (kernels load from the cache), inside the simulation
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, err
    assert len(err.strip().splitlines()) == 1 and "nothing was written" in err
    assert list(tmp_path.iterdir()) == []


# -- determinism --------------------------------------------------------------------

def test_repeated_processes_write_identical_data(tmp_path):
    paths = []
    for k, chunk in enumerate(("65536", "333")):
        out = tmp_path / f"r{k}.parquet"
        env = dict(os.environ, PYTHONHASHSEED=str(k))
        proc = subprocess.run(
            [sys.executable, "-m", "engine", "run", "--scenario", "numa_mixed", "--calls", "3000",
             "--seed", "99", "--quiet", "--chunk-calls", chunk, "--out", str(out)],
            capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        paths.append(out)
    a, b = (pq.read_table(p).drop_columns(["sim_seconds"]) for p in paths)
    assert a.column_names == b.column_names
    for name in a.column_names:
        ca, cb = a.column(name).combine_chunks(), b.column(name).combine_chunks()
        if hasattr(ca, "indices"):
            ca, cb = ca.dictionary_decode(), cb.dictionary_decode()
        assert [bytes(x) for x in ca.buffers() if x] == [bytes(x) for x in cb.buffers() if x], name


def test_periodic_invariant_checks_run(monkeypatch):
    from engine.model import invariants

    calls = []
    real = invariants.check
    monkeypatch.setattr(invariants, "check", lambda *a: calls.append(1) or real(*a))
    simulate(Scenario(calls=1000), strategies="batched", check_every=150)
    assert len(calls) == 1000 // 150 + 1  # six periodic checks and the final one
