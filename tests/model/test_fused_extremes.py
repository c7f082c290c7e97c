"""One pass for every strategy at the edges of the scenario space the preset and
corner-case tests (test_fused.py) do not reach: many nodes on few CPUs, free calls
larger than the live set, every object KFENCE or without obj_exts, forced charges
under a limit with every trylock failing, tiny and page-sized objects.  Found by
fuzzing fused against separate passes (no difference in ~13,000 random scenarios);
these keep the extremes pinned."""

from __future__ import annotations

import pytest

from engine.inputs.scenario import Scenario
from engine.model.events import EVENTS
from engine.run.simulate import fusable

from .test_fused import _assert_fused_equals_separate

EXTREMES = {
    "64_nodes_1_cpu": dict(cpus=1, nodes=64, memcgs=5, remote_free_prob=1.0, free_bulk=7,
                           free_hook="batched"),
    "free_call_bigger_than_live": dict(live_objects=10, free_bulk=400, bulk_size=16,
                                       bulk_dist="uniform", free_hook="batched"),
    "all_kfence_uniform": dict(kfence_prob=1.0, bulk_size=200, bulk_dist="uniform", free_bulk=16),
    "no_exts_ever": dict(exts_at_creation=0.0, exts_fail_prob=1.0, free_hook="batched", free_bulk=8),
    "forced_limit_irq": dict(memcg_max_pages=10, gfp_high=True, irq_reentry_prob=1.0, depth=3,
                             ancestor_max_pages=30, memcgs=3, gfp_allow_block=False,
                             free_hook="batched", free_bulk=2),
    "tiny_objects_no_live": dict(object_size=1, live_objects=0, bulk_size=64, free_bulk=3,
                                 sheaf_capacity=1, barn_max_full=0),
    "page_objects_one_per_sheaf": dict(object_size=8192, objs_per_slab=2, cpus=3, nodes=2,
                                       cgroup_switch_prob=1.0, memcgs=12, get_many=True,
                                       free_bulk=5, free_hook="batched", reclaimable=True),
}


@pytest.mark.parametrize("kernel", ["", "mm-2026"])
@pytest.mark.parametrize("case", list(EXTREMES))
def test_fused_equals_separate_at_the_extremes(case, kernel):
    scn = Scenario(name=case, calls=150, **{"live_objects": 256, **EXTREMES[case], "kernel": kernel})
    assert fusable(scn)[0]
    fused = _assert_fused_equals_separate(scn, 7, f"{case}@{kernel or 'own'}", detail=True)
    total = fused["batched"].counters.sum(axis=0)
    assert total[EVENTS.index("frees")] > 0  # the free side ran
    if case == "forced_limit_irq":  # the limit was reached and every charge forced over it
        assert total[EVENTS.index("forced_charges")] > 0 and total[EVENTS.index("charge_failures")] == 0
