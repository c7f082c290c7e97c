"""Property-based tests: random scenarios and random p[] traces keep every invariant
and match the reference model exactly."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.inputs.scenario import Scenario
from engine.inputs.trace import from_calls
from engine.model.state import STRATEGIES
from engine.run.simulate import run_strategy

from ..conftest import assert_same_state, run_reference

PROFILE = settings(max_examples=80, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow])

prob = st.sampled_from([0.0, 0.05, 0.3, 1.0])


@st.composite
def scenarios(draw):
    cpus = draw(st.integers(1, 4))
    memcgs, pagecache = draw(st.integers(1, 9)), draw(st.sampled_from([0, 2]))
    ancestor_max = draw(st.sampled_from([0, 0, 10, 40]))
    if ancestor_max and pagecache * memcgs > ancestor_max:
        # a valid start holds every leaf's page cache below the ancestors' limit: keep
        # the limit tight, just above it
        ancestor_max = pagecache * memcgs + draw(st.integers(0, 4))
    return Scenario(
        calls=draw(st.integers(1, 120)),
        cpus=cpus,
        nodes=draw(st.integers(1, min(cpus, 3))),
        memcgs=memcgs,
        depth=draw(st.integers(1, 3)),
        memcg_max_pages=draw(st.sampled_from([0, 0, 3, 8, 20])),
        ancestor_max_pages=ancestor_max,
        pagecache_pages=pagecache,
        reclaim_retries=draw(st.integers(0, 2)),
        object_size=draw(st.sampled_from([8, 100, 256, 700, 1024, 4096, 8192])),
        bulk_size=draw(st.integers(1, 40)),
        bulk_dist=draw(st.sampled_from(["fixed", "uniform"])),
        cgroup_switch_prob=draw(prob),
        gfp_nofail=draw(st.booleans()),
        gfp_allow_spin=draw(st.booleans()),
        remote_prob=draw(prob),
        kfence_prob=draw(prob),
        exts_at_creation=draw(st.sampled_from([1.0, 0.5, 0.0])),
        exts_fail_prob=draw(prob),
        live_objects=draw(st.integers(0, 150)),
        remote_free_prob=draw(prob),
        irq_reentry_prob=draw(prob),
        get_many=draw(st.booleans()),
        barn_max_full=draw(st.integers(0, 3)),
        reclaimable=draw(st.booleans()),
    )


@PROFILE
@given(scn=scenarios(), strategy=st.sampled_from(STRATEGIES), seed=st.integers(0, 2**40))
def test_random_scenarios_match_reference(scn, strategy, seed):
    run = run_strategy(scn, strategy, seed)  # invariants checked inside
    assert_same_state(run.state, run_reference(scn, strategy, seed), f"{scn}/{strategy}/{seed}")


obj = st.tuples(st.integers(0, 15), st.booleans())


@PROFILE
@given(calls=st.lists(st.lists(obj, min_size=1, max_size=30), min_size=1, max_size=25),
       strategy=st.sampled_from(STRATEGIES), exts_fail=prob, cap=st.sampled_from([1, 3, 1000]),
       seed=st.integers(0, 1000))
def test_random_traces_match_reference(calls, strategy, exts_fail, cap, seed):
    scn = Scenario(cpus=2, nodes=2, memcgs=2, live_objects=40, exts_fail_prob=exts_fail,
                   run_cap_bytes=cap * 264, remote_free_prob=0.3, calls=len(calls))
    # a slab lives on one node: node = slab % 2
    rows = [[(s, s % 2, e) for s, e in objs] for objs in calls]
    run = run_strategy(scn, strategy, seed, trace=from_calls(rows, scn))
    ref_trace = [{"cpu": None, "memcg": None, "objects": objs} for objs in rows]
    assert_same_state(run.state, run_reference(scn, strategy, seed, ref_trace), strategy)
