"""The invariants of docs/model.md §10, checked on a run's final state.

A violation is a bug in the engine: :func:`check` raises :class:`InvariantError`
naming the invariant, and nothing is written.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvariantError
from ..inputs.scenario import Scenario
from .constants import NR_MEMCG_STOCK, PAGE_SIZE


def _live(state: dict) -> tuple[np.ndarray, np.ndarray]:
    return state["live_node"], state["live_objcg"]


def check(scn: Scenario, strategy: str, state: dict) -> None:
    """Raise InvariantError if the final ``state`` (see driver.dump_state) is inconsistent."""
    ofs = scn.ofs
    m_n, nodes = scn.memcgs, scn.nodes
    live_node, live_objcg = _live(state)
    usage = state["pc_usage"]

    def fail(name: str, detail: str) -> None:
        raise InvariantError(f"invariant '{name}' violated for strategy {strategy}: {detail}")

    for key in ("pc_usage", "stock_nr_bytes", "oslot_bytes", "mstock_pages", "objcg_refs", "nr_charged_bytes",
                "pagecache", "counters", "run_hist"):
        if np.any(np.asarray(state[key]) < 0):
            fail("no counter negative", f"{key} has a negative entry")

    objcg_memcg = np.asarray(state["objcg_memcg"])
    n_objcgs = objcg_memcg.shape[0]
    charged = np.zeros(n_objcgs, dtype=np.int64)
    held = live_objcg >= 0
    np.add.at(charged, live_objcg[held], 1)

    # What each CPU's obj stock holds: the one cached objcg, or the mm-2026 slots.
    stock_bytes = np.zeros(n_objcgs, dtype=np.int64)
    refs = charged.copy()
    for cpu, objcg in enumerate(state["stock_objcg"]):
        if objcg >= 0:
            stock_bytes[objcg] += state["stock_nr_bytes"][cpu]
            refs[objcg] += 1
        elif state["stock_nr_bytes"][cpu] != 0:
            fail("bytes", f"CPU {cpu}'s obj stock holds bytes but no objcg")
        for objcg_i, nb in zip(state["oslot_objcg"][cpu], state["oslot_bytes"][cpu]):
            if objcg_i >= 0:
                stock_bytes[objcg_i] += nb
                refs[objcg_i] += 1
            elif nb != 0:
                fail("bytes", f"CPU {cpu}'s obj stock slot holds bytes but no objcg")
    mstock = np.zeros(m_n, dtype=np.int64)
    ms_memcg, ms_pages = state["mstock_memcg"], state["mstock_pages"]
    for cpu in range(ms_memcg.shape[0]):
        for i in range(NR_MEMCG_STOCK):
            if ms_memcg[cpu, i] >= 0:
                mstock[ms_memcg[cpu, i]] += ms_pages[cpu, i]

    # Bytes and pages: what the leaf counter holds is what objects, stocks and
    # remainders of its objcgs account for.
    byte_total = ofs * charged + stock_bytes + state["nr_charged_bytes"]
    slab_pages = usage[:m_n] - state["pagecache"]
    memcg_pages = np.zeros(m_n, dtype=np.int64)
    for o in range(n_objcgs):
        if byte_total[o] % PAGE_SIZE:
            fail("bytes", f"objcg {o}: objects + obj stocks + nr_charged_bytes = {byte_total[o]} "
                          "bytes is not a whole number of pages")
        memcg_pages[objcg_memcg[o]] += byte_total[o] // PAGE_SIZE
    for m in range(m_n):
        expect = memcg_pages[m] + mstock[m]
        if slab_pages[m] != expect:
            fail("pages", f"memcg {m}: page counter holds {slab_pages[m]} slab pages, objects, "
                          f"stocks and remainders account for {expect}")
    for level in range(1, scn.depth + 1):  # the ancestors, then the root (level depth)
        c = m_n + level - 1
        if usage[c] != usage[:m_n].sum():
            fail("hierarchy", f"ancestor level {level} usage {usage[c]} != sum of leaves {usage[:m_n].sum()}")
    if state["forced"] == 0:
        pc_max = state["pc_max"]
        over = np.nonzero(usage > pc_max)[0]
        if over.size:
            fail("usage <= max", f"page counter {over[0]} at {usage[over[0]]} over max {pc_max[over[0]]}")

    bad = np.nonzero(refs != state["objcg_refs"])[0]
    if bad.size:
        o = bad[0]
        fail("references", f"objcg {o} has {state['objcg_refs'][o]} references, "
                           f"{refs[o]} objects and stocks hold it")

    stat = _stat_total(state, lambda cpu: fail(
        "statistics", f"CPU {cpu} holds statistics without objcg or pgdat"))
    expect = np.zeros((m_n, nodes), dtype=np.int64)
    np.add.at(expect, (objcg_memcg[live_objcg[held]], live_node[held]), ofs)
    if not np.array_equal(stat, expect):
        m, n = np.argwhere(stat != expect)[0]
        fail("statistics", f"memcg {m} node {n}: statistics {stat[m, n]} bytes, "
                           f"live objects {expect[m, n]} bytes")


def _acc_objcg(state: dict, cpu: int) -> int:
    """The objcg CPU ``cpu``'s statistics accumulators belong to (-1: none)."""
    index = state["stock_index"][cpu]
    if index >= 0:
        return int(state["oslot_objcg"][cpu][index])
    return int(state["stock_objcg"][cpu])


def _live_memcg(state: dict) -> np.ndarray:
    objcg = state["live_objcg"]
    return np.where(objcg >= 0, np.asarray(state["objcg_memcg"])[np.maximum(objcg, 0)], -1)


# Strategies that do no memcg accounting (engine.model.state.STRATEGIES).
UNACCOUNTED = ("none",)


def check_across(scn: Scenario, states: dict[str, dict], failures: dict[str, int]) -> None:
    """Same seed, no failed calls: every strategy ends with the same objects charged
    and the same per-node statistics."""
    if len(states) < 2 or any(failures.values()):
        return
    # ``none`` (no accounting) charges nothing and keeps no statistics: of these
    # invariants only "same objects live" applies to it (the same object stream, the
    # same frees: the same live objects on the same nodes); it holds no objcg, so the
    # memcg and statistics comparisons would fail by construction.
    accounted = {n: st for n, st in states.items() if n not in UNACCOUNTED}
    ref_name = next(iter(states))
    ref = states[ref_name]
    for name, st in states.items():
        if not np.array_equal(st["live_node"], ref["live_node"]):
            raise InvariantError(f"invariant 'same objects live' violated: {name} and "
                                 f"{ref_name} end with different live objects")
    if not accounted:
        return
    ref_name = next(iter(accounted))
    ref = accounted[ref_name]
    for name, st in accounted.items():
        if not (np.array_equal(_live_memcg(st), _live_memcg(ref))
                and np.array_equal(st["live_node"], ref["live_node"])):
            raise InvariantError(f"invariant 'same objects charged' violated: {name} and "
                                 f"{ref_name} charged different objects")
        if not np.array_equal(_stat_total(st), _stat_total(ref)):
            raise InvariantError(f"invariant 'same statistics' violated: {name} and {ref_name} "
                                 "end with different per-node statistics")


def _stat_total(st: dict, bad=None) -> np.ndarray:
    """Flushed statistics plus what the stocks' accumulators hold, per memcg and node."""
    stat = st["stat"].copy()
    acc = st["stock_acc_r"] + st["stock_acc_u"]
    for cpu in range(acc.shape[0]):
        if acc[cpu]:
            objcg, pg = _acc_objcg(st, cpu), st["stock_pgdat"][cpu]
            if objcg < 0 or pg < 0:
                if bad is not None:
                    bad(cpu)
                continue
            stat[st["objcg_memcg"][objcg], pg] += acc[cpu]
    return stat
