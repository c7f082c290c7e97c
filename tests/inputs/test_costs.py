"""The pricing of counted events (docs/costs.md): each repriced unit cost and the
work it prices, pinned on hand-made counter rows."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import BulksimError
from engine.inputs.costs import PROFILES, coefficients, get_profile, phase_cycles, phase_entries
from engine.model.events import EV, N_EVENTS, PH_FREE_HOOK, PH_HOOK, PH_SLAB_ALLOC

SKL = get_profile("intel-skylake")


def _row(**counts):
    r = np.zeros((1, N_EVENTS))
    for k, v in counts.items():
        r[0, EV[k]] = v
    return r


def _co(strategy="per_object", depth=2, entries=None, **counts):
    c = coefficients(SKL, strategy, _row(**counts), depth=depth, entries=entries)[0]
    return {n: c[i] for i, n in enumerate(SKL.names) if c[i]}


def test_every_unit_cost_has_an_ordered_range_and_a_source():
    for prof in PROFILES.values():
        assert prof.names == list(get_profile("intel-skylake").names)  # one coordinate order
        for name, lo, mid, hi, src in prof.rows():
            assert 0 <= lo <= mid <= hi and src.strip(), (prof.name, name)


def test_stock_lock_on_non_rt_has_no_atomic_and_no_irq_off():
    # local_lock_internal.h __local_trylock: preempt_disable + read/write of ->acquired
    t = SKL.costs["trylock"]
    # in situ a preempt pair hides behind the allocator; back to back (Siewior's loop,
    # 5.08 ns at 4 GHz, + 3 plain ops) is only the high end
    assert t.low <= t.central < 5 and 5 <= t.high <= 24
    assert t.central < SKL.costs["irqsave"].central < SKL.costs["irqsave"].high
    assert t.high < SKL.costs["nr_charged_atomics"].central + 6  # not an atomic plus irq-off
    assert _co(stock_locks=5) == {"trylock": 5}
    assert _co("upfront", stock_locks=5) == {"irqsave": 5}
    assert _co(stock_lock_failures=2) == {"trylock": 2}  # preempt off/on and the read
    # the memcg stock takes its own lock and scans its 7 slots
    assert _co(memcg_stock_hits=1) == {"memcg_stock_hits": 1, "trylock": 1, "memcg_stock_scan": 1}
    assert PROFILES["preempt-rt"].costs["trylock"].low >= 40


def test_lock_kind_and_v5_irq_saves_are_priced_by_generation():
    def co(strategy, kernel, stock_lock="", **counts):
        c = coefficients(SKL, strategy, _row(**counts), depth=2, kernel=kernel, stock_lock=stock_lock)[0]
        return {n: c[i] for i, n in enumerate(SKL.names) if c[i]}

    # v5.14: preempt_disable in task context (its own), or the same code with irq-save
    assert co("upfront", "v5.14", stock_locks=3) == {"preempt": 3}
    assert co("upfront", "v5.14", "irqsave", stock_locks=3) == {"irqsave": 3}
    assert co("upfront", "v5.9", stock_locks=3, irq_saves=2) == {"irqsave": 5}
    # the memcg stock's own irq-save is irq_saves on v5.x whatever the obj stock's kind
    assert co("upfront", "v5.14", irq_saves=2, memcg_stock_hits=2) == {"irqsave": 2, "memcg_stock_hits": 2}
    # v5.x statistics: no per-level walk
    assert co("upfront", "v5.9", stat_flushes=2) == {"stat_flushes": 2}
    with pytest.raises(BulksimError, match="stock_lock=preempt does not exist on kernel v6.12"):
        co("upfront", "v6.12", "preempt", stock_locks=1)


def test_in_situ_evidence_can_be_left_out_by_family():
    fams = SKL.families
    assert fams, "the lock prices rest on in-situ evidence"
    fam = sorted(fams)[0]
    out = SKL.without(fam)
    assert fam not in out.families and out.names == SKL.names
    changed = [n for n in SKL.names if out.costs[n] != SKL.costs[n]]
    assert changed and all(fam in SKL.costs[n].families for n in changed)
    for n in changed:  # rebuilt from the back-to-back base alone: the high end no tighter
        assert out.costs[n].high >= SKL.costs[n].high and out.costs[n].low <= SKL.costs[n].low
        assert out.costs[n].evidence == () and "left out" in out.costs[n].source
    # a back-to-back figure is only ever the high end of an in-situ range
    irq = SKL.costs["irqsave"]
    assert irq.high <= irq.base.high and irq.central < irq.base.central
    assert SKL.without("no-such-family") is SKL


def test_issue_prices_are_instructions_over_the_width():
    for prof in PROFILES.values():
        assert set(prof.issue) <= set(prof.names)
        for name, lo, mid, hi, src in prof.issue_rows():
            assert 0 <= lo <= mid <= hi and "instructions" in src, (prof.name, name)
    t = SKL.issue["trylock"]
    assert t.central == pytest.approx(7 / 4)


def test_statistics_flush_is_per_cpu_work_plus_a_walk_to_the_root():
    # mod_objcg_mlstate -> __mod_memcg_lruvec_state -> memcg_rstat_updated (depth + 1 levels)
    assert _co(stat_flushes=3, depth=2) == {"stat_flushes": 3, "stat_flush_level": 9}
    assert _co(stat_flushes=1, depth=5) == {"stat_flushes": 1, "stat_flush_level": 6}
    assert SKL.costs["stat_flush_level"].central < SKL.costs["line_transfers_local"].low / 4


def test_page_charge_work_is_priced_on_each_consume_miss_and_uncharge():
    # obj_cgroup_charge_pages: css_tryget + css_put, mod_memcg_state(MEMCG_KMEM) with its walk
    assert _co(consume_misses=1, depth=2) == {
        "consume_misses": 1, "charge_pages_work": 1, "objcg_ref_ops": 2, "stat_flushes": 1,
        "stat_flush_level": 3}
    # try_charge_memcg: one memcg-stock miss, a successful walk (3 levels here), a restock:
    # the restock's memory.high loop runs up to and including the root (depth + 1 levels)
    co = _co(memcg_stock_misses=1, page_counter_charges=2, memcg_stock_refills=1, depth=2)
    assert co["high_check_level"] == 3 and "charge_pages_work" not in co
    # a failed walk (failcnt) is no restock; refills alone are no uncharges any more:
    # obj_cgroup_uncharge_pages calls and drains with whole pages are counted
    co = _co(memcg_stock_misses=2, page_counter_failcnt=1, memcg_stock_refills=3, depth=1)
    assert co["high_check_level"] == 2 and "charge_pages_work" not in co
    co = _co(objcg_uncharge_pages=2, drain_uncharge_pages=1, depth=1)
    assert co["charge_pages_work"] == 3 and co["objcg_ref_ops"] == 6 and co["stat_flushes"] == 3
    assert co["stat_flush_level"] == 6
    for name in ("objcg_uncharge_pages", "drain_uncharge_pages"):
        for prof in PROFILES.values():
            assert prof.costs[name].central == 0 and "coefficients()" in prof.costs[name].source


def test_hook_entry_is_priced_once_per_call_in_the_hook_phase():
    counters = np.zeros((4, N_EVENTS))
    counters[PH_SLAB_ALLOC, EV["calls"]] = 10
    counters[PH_SLAB_ALLOC, EV["objects"]] = 80
    e = phase_entries(counters)
    assert e[PH_HOOK] == 10 and e.sum() == 10
    cyc = phase_cycles(SKL, "batched", counters, depth=2)
    # each phase is a region: the longer of its chain and its issue time
    he = max(SKL.costs["hook_entry"].central, SKL.issue["hook_entry"].central)
    assert cyc[PH_HOOK] == pytest.approx(10 * he)
    calls = max(SKL.costs["calls"].central, SKL.issue["calls"].central)
    assert cyc[PH_SLAB_ALLOC] == pytest.approx(10 * calls)
    assert cyc[PH_FREE_HOOK] == 0
    per_call = phase_cycles(SKL, "batched", np.zeros((3, N_EVENTS)), depth=2, per_call=True)
    assert list(per_call) == [pytest.approx(he)] * 3
    assert phase_cycles(SKL, "batched", counters, depth=2, which="high")[PH_HOOK] == pytest.approx(
        10 * max(SKL.costs["hook_entry"].high, SKL.issue["hook_entry"].high))


def test_end_to_end_is_one_region_at_most_the_sum_of_the_phases():
    from engine.inputs.costs import total_cycles

    counters = np.zeros((4, N_EVENTS))
    counters[PH_SLAB_ALLOC, EV["calls"]] = 10
    counters[PH_SLAB_ALLOC, EV["sheaf_hits"]] = 10
    counters[PH_HOOK, EV["stat_updates"]] = 10  # off the chain: issue only
    counters[PH_HOOK, EV["virt_to_slab"]] = 10
    tot = total_cycles(SKL, "per_object", counters, depth=2)
    phases = phase_cycles(SKL, "per_object", counters, depth=2)
    assert tot <= phases.sum() + 1e-9
    chain = 10 * sum(SKL.costs[n].central for n in ("calls", "sheaf_hits", "hook_entry"))
    assert tot == pytest.approx(chain)  # the hook's issue slots hide behind the allocator's chain


def test_bad_pricing_input_is_refused():
    with pytest.raises(BulksimError):
        coefficients(SKL, "batched", np.zeros((2, 3)), depth=2)
    with pytest.raises(BulksimError):
        SKL.vector("middle")
