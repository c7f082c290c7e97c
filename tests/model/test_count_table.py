"""docs/model.md §6's per-run count table, reproduced exactly on hand-made ``p[]`` arrays.

Every ``p[]`` here comes through the trace path (docs/model.md section 8), so the
SLUB model is bypassed and each test chooses the node (pgdat), slab and obj_exts state
of every object.  Expected counts are derived in this file from docs/model.md §6 and
docs/model.md sections 5-6, never copied from an engine run:

* runs are found from the node pattern by :func:`runs_of`, independently of the engine;
* the statistics accumulator is followed by :func:`follow_accumulator`, a direct
  transcription of model.md's ``account`` rule, to predict flushes and final state.

"Hit" case: a warm-up call (one object on node 0, its own slab) charges one page,
which leaves ``4096 - ofs`` bytes in CPU 0's obj stock, the stock caching objcg 0 and
node 0 with ``ofs`` bytes in the accumulator.  A call of at most ``4096 - ofs`` bytes
then hits on every consume.  Counters are cumulative, so the call's own hook counts
are (warm-up + call) minus (warm-up only).

"Miss" case: fresh state, ``object_size = 4000`` (``ofs = 4008``).  A charge of ``L``
objects misses, charges ``ceil(4008 L / 4096) = L`` pages (for ``L <= 46``) and refills
``4096 - (4008 L mod 4096) = 88 L`` bytes, so the stock never holds more than
``88 * (objects so far)`` bytes; with at most 45 objects per call that is below one
object (4008 bytes) and every consume misses.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from engine.inputs.scenario import PAGE_SIZE, Scenario
from engine.inputs.trace import from_calls
from engine.model.events import EV, EVENTS, PH_HOOK, PH_SLAB_ALLOC, RUN_HIST_BUCKETS
from engine.model.state import STRATEGY_GENERATIONS
from engine.run.simulate import run_strategy

SEED = 0
WARM_SLAB = 999  # the warm-up object's own slab (node 0, obj_exts present)
WARM_CALL = [(WARM_SLAB, 0, True)]


# --------------------------------------------------------------------------------------
# helpers


def make_scn(nodes: int = 2, object_size: int = 256, **kw) -> Scenario:
    """One memcg of depth 1, nothing random: no cgroup switches, no frees (live set
    large), no IRQ re-entry.  ``cpus = nodes`` because the engine requires
    ``nodes <= cpus``; every call is pinned to CPU 0 (node 0) and memcg 0."""
    base = dict(cpus=nodes, nodes=nodes, memcgs=1, depth=1, object_size=object_size,
                live_objects=1000, cgroup_switch_prob=0.0, remote_free_prob=0.0)
    base.update(kw)
    return Scenario(**base)


def objects(pattern, exts=None, slabs=None):
    """Trace rows for a node pattern: one slab per object unless ``slabs`` is given."""
    out = []
    for j, node in enumerate(pattern):
        slab = slabs[j] if slabs is not None else j
        has = True if exts is None else exts[j]
        out.append((slab, node, has))
    return out


def _run(scn, strategy, calls):
    tr = from_calls(calls, scn, cpus=[0] * len(calls), memcgs=[0] * len(calls))
    return run_strategy(scn, strategy, SEED, trace=tr)


_BASELINE: dict = {}


def measure(scn, strategy, call, warm=True):
    """Hook counters, run-length histogram and slab_alloc counters of ``call`` alone,
    plus the final run (for its state).  ``warm``: after the warm-up call."""
    if not warm:
        run = _run(scn, strategy, [call])
        return run.counters[PH_HOOK].copy(), run.run_hist.copy(), run.counters[PH_SLAB_ALLOC].copy(), run
    key = (scn, strategy)
    if key not in _BASELINE:
        _BASELINE[key] = _run(scn, strategy, [WARM_CALL])
    base = _BASELINE[key]
    run = _run(scn, strategy, [WARM_CALL, call])
    return (run.counters[PH_HOOK] - base.counters[PH_HOOK], run.run_hist - base.run_hist,
            run.counters[PH_SLAB_ALLOC] - base.counters[PH_SLAB_ALLOC], run)


def runs_of(pattern):
    """Maximal same-node stretches: ``[(start, length, broke)]``; ``broke`` is 1 when
    the stretch ended before the end of ``p[]`` (the scan looked at one more object)."""
    out = []
    i, n = 0, len(pattern)
    while i < n:
        j = i + 1
        while j < n and pattern[j] == pattern[i]:
            j += 1
        out.append((i, j - i, 1 if j < n else 0))
        i = j
    return out


def follow_accumulator(accounts, pgdat, acc, guard=False):
    """model.md section 5, ``account`` on a stock that caches the objcg, for a list of
    ``(nbytes, node)``.  Returns (flushes, flushed bytes per node, final pgdat, acc).
    ``guard``: mm-2026's 16-bit accumulator (§5a): an update that would pass 32767
    is flushed directly together with the accumulator."""
    flushes = 0
    flushed = Counter()
    for nbytes, node in accounts:
        if pgdat != node:
            if acc != 0:
                flushed[pgdat] += acc
                flushes += 1
                acc = 0
            pgdat = node
        if guard and abs(nbytes + acc) > 32767:
            flushed[node] += nbytes + acc
            flushes += 1
            acc = 0
        elif acc == 0:
            acc = nbytes
        else:
            acc += nbytes
            if abs(acc) > PAGE_SIZE:
                flushed[node] += acc
                flushes += 1
                acc = 0
    return flushes, flushed, pgdat, acc


def hist_of(lengths):
    h = np.zeros(RUN_HIST_BUCKETS, dtype=np.int64)
    for length in lengths:
        h[min(length, RUN_HIST_BUCKETS) - 1] += 1
    return h


def check_counts(got, want: dict, label: str):
    bad = [f"{name}: engine {int(got[EV[name]])}, expected {value}"
           for name, value in want.items() if int(got[EV[name]]) != value]
    assert not bad, f"{label}:\n  " + "\n  ".join(bad)


def check_stats(run, nodes, flushed, pgdat, acc, label):
    """Final statistics: flushed per node (the warm-up flushes nothing), what is left
    in the accumulator and the node it belongs to."""
    want = np.array([flushed.get(k, 0) for k in range(nodes)], dtype=np.int64)
    st = run.state
    assert np.array_equal(st["stat"][0], want), f"{label}: stat {st['stat'][0]} != {want}"
    assert int(st["stock_acc_u"][0]) == acc, f"{label}: acc {st['stock_acc_u'][0]} != {acc}"
    assert int(st["stock_acc_r"][0]) == 0, label
    assert int(st["stock_pgdat"][0]) == pgdat, f"{label}: pgdat {st['stock_pgdat'][0]} != {pgdat}"


def expected_table(strategy, pattern, ofs, hit, get_many=False, kernel=""):
    """docs/model.md §6's table summed over the runs of one call, plus the events that
    follow from it in model.md section 6.  ``hit``: every consume hits (warm stock);
    else every consume misses on a fresh stock (the first refill adopts the objcg:
    one extra reference operation)."""
    n = len(pattern)
    runs = runs_of(pattern)
    R = len(runs)
    adopt = 0 if hit else 1
    want = dict(obj_to_index=n, assigns=n, obj_exts_allocs=0, obj_exts_failures=0, obj_exts_skipped=0,
                drains=0, stock_lock_failures=0, hook_failures=0)
    if strategy == "per_object":
        want.update(runs=n, virt_to_slab=n, stat_updates=n, objcg_ref_ops=n + adopt,
                    stock_locks=n if hit else 2 * n,
                    consume_hits=n if hit else 0, consume_misses=0 if hit else n,
                    refills=0 if hit else n)
        accounts = [(ofs, node) for node in pattern]
        lengths = [1] * n
    elif strategy in ("batched_v1", "batched"):
        if strategy == "batched_v1":
            v2s = sum(2 * L + broke for _, L, broke in runs)
        else:
            v2s = sum(2 * L - 1 + broke for _, L, broke in runs)
        refs = R if get_many else n
        want.update(runs=R, virt_to_slab=v2s, stat_updates=R, objcg_ref_ops=refs + adopt,
                    stock_locks=R if hit else 2 * R,
                    consume_hits=R if hit else 0, consume_misses=0 if hit else R,
                    refills=0 if hit else R)
        accounts = [(L * ofs, pattern[s]) for s, L, _ in runs]
        lengths = [L for _, L, _ in runs]
    else:  # upfront: one charge of n*ofs, then per object a locked statistics update
        rest = (n * ofs) % PAGE_SIZE
        # upfront runs on v6.12, whose memcg stock shares stock_lock: a miss also
        # locks in consume_stock() and in refill_stock() of the batch's surplus.
        # v5.x: consume_stock() and refill_stock() take their own irq-save (irq_saves),
        # and the pre/post hooks take and drop one objcg reference per call.
        v5 = kernel in ("v5.9", "v5.14")
        charge_locks = 1 if hit else (2 if rest else 1) + (0 if v5 else 2)
        want.update(runs=1, virt_to_slab=n, stat_updates=n, objcg_ref_ops=n + adopt + (2 if v5 else 0),
                    stock_locks=charge_locks + n,
                    consume_hits=1 if hit else 0, consume_misses=0 if hit else 1,
                    refills=0 if hit or not rest else 1)
        if kernel == "v5.9":
            # no statistics in the stock: mod_memcg_lruvec_state per object, its own
            # irq-save each, no stock lock for it
            want.update(stat_updates=0, stock_locks=charge_locks)
        accounts = [(ofs, node) for node in pattern]
        lengths = [n]
    return want, accounts, lengths


STRATS = ("per_object", "batched_v1", "batched", "upfront")
# The random-pattern tables also run on every other generation a strategy exists on.
PAIRS = [(s, k) for s in STRATS for k in STRATEGY_GENERATIONS[s]]
PAIR_IDS = [f"{s}@{k}" for s, k in PAIRS]


def check_call(scn, strategy, pattern, hit, label, slabs=None):
    call = objects(pattern, slabs=slabs)
    got, hist, alloc, run = measure(scn, strategy, call, warm=hit)
    want, accounts, lengths = expected_table(strategy, pattern, scn.ofs, hit, scn.get_many, scn.kernel)
    start = (0, scn.ofs) if hit else (-1, 0)
    flushes, flushed, pgdat, acc = follow_accumulator(accounts, *start, guard=scn.kernel == "mm-2026")
    if scn.kernel == "v5.9" and strategy == "upfront":
        # every update flushed at once (the warm-up's too), no accumulator, no stock node
        flushes, pgdat, acc = len(accounts), -1, 0
        flushed = {}
        for nbytes, node in accounts + ([(scn.ofs, 0)] if hit else []):
            flushed[node] = flushed.get(node, 0) + nbytes
        want["irq_saves"] = len(accounts) + (0 if hit else 2)  # + consume_stock, refill_stock
    want["stat_flushes"] = flushes
    check_counts(got, want, label)
    assert np.array_equal(hist, hist_of(lengths)), f"{label}: run_hist {hist} != {hist_of(lengths)}"
    assert int(alloc[EV["pgdat_runs"]]) == len(runs_of(pattern)), label
    # hit: the accumulator starts with the warm-up's ofs bytes on node 0 (flushed later
    # like the call's own bytes); miss: it starts empty with no pgdat.
    check_stats(run, scn.nodes, flushed, pgdat, acc, label)
    # every object of the call holds the objcg
    assert list(run.state["live_objcg"][-len(pattern):]) == [0] * len(pattern), label
    return got, run


# --------------------------------------------------------------------------------------
# (1) docs/model.md §6's worked example

WORKED = [0, 0, 0, 1, 1, 0]


def test_runs_of_the_worked_example():
    # docs/model.md §6: [0 0 0] broke on index 3, [1 1] broke on index 5, [0] reached the end.
    assert runs_of(WORKED) == [(0, 3, 1), (3, 2, 1), (5, 1, 0)]


@pytest.mark.parametrize("strategy,v2s,locks,updates", [
    ("per_object", 6, 6, 6),
    ("batched_v1", 14, 3, 3),   # (2*3+1) + (2*2+1) + (2*1+0)
    ("batched", 11, 3, 3),      # (2*3-1+1) + (2*2-1+1) + (2*1-1+0)
    ("upfront", 6, 7, 6),       # one upfront charge (hit: 1 lock) + 1 lock per object
])
def test_worked_example(strategy, v2s, locks, updates):
    scn = make_scn()
    got, hist, _, run = measure(scn, strategy, objects(WORKED))
    check_counts(got, dict(virt_to_slab=v2s, stock_locks=locks, stat_updates=updates,
                           consume_misses=0, stat_flushes=2, objcg_ref_ops=6, obj_to_index=6),
                 strategy)
    # 2 flushes, one at each pgdat switch, and 264 bytes left for node 0: the warm-up's
    # 264 + the first run's 3*264 were flushed to node 0, 2*264 to node 1.
    st = run.state
    assert int(st["stock_pgdat"][0]) == 0
    assert int(st["stock_acc_u"][0]) == 264
    assert list(st["stat"][0]) == [4 * 264, 2 * 264]
    want_hist = {"per_object": {0: 6}, "upfront": {5: 1}}.get(strategy, {2: 1, 1: 1, 0: 1})
    assert {k: int(v) for k, v in enumerate(hist) if v} == want_hist


def test_worked_example_statistics_do_not_depend_on_the_strategy():
    scn = make_scn()
    finals = []
    for strategy in STRATS:
        run = measure(scn, strategy, objects(WORKED))[3]
        finals.append((list(run.state["stat"][0]), int(run.state["stock_acc_u"][0]),
                       int(run.state["stock_pgdat"][0])))
    assert all(f == finals[0] for f in finals), finals


# --------------------------------------------------------------------------------------
# (2) the table's row formulas on random node patterns, hit case


def _patterns(rng, count, max_len, nodes):
    """Node patterns with runs of varied length, plus fixed edge cases."""
    out = [[0], [nodes - 1], [0] * max_len, [k % 2 for k in range(max_len)],
           [1] * (max_len - 1) + [0]]
    for _ in range(count):
        n = rng.randint(1, max_len)
        stay = rng.choice((0.0, 0.5, 0.8, 0.95))
        p = [rng.randrange(nodes)]
        for _ in range(n - 1):
            p.append(p[-1] if rng.random() < stay else rng.randrange(nodes))
        out.append(p)
    return out


HIT_PATTERNS_SMALL_OFS = _patterns(random.Random(20260501), 40, 64, 3)  # ofs 16: <= 1024 B
HIT_PATTERNS_264 = _patterns(random.Random(7), 25, 14, 2)  # 14 * 264 = 3696 <= 3832


@pytest.mark.parametrize(("strategy", "kernel"), PAIRS, ids=PAIR_IDS)
def test_table_rows_hit_random_patterns_small_objects(strategy, kernel):
    scn = make_scn(nodes=3, object_size=8, kernel=kernel)
    assert scn.ofs == 16 and 64 * scn.ofs <= PAGE_SIZE - scn.ofs
    for k, p in enumerate(HIT_PATTERNS_SMALL_OFS):
        check_call(scn, strategy, p, True, f"{strategy} pattern {k} {p}")


@pytest.mark.parametrize(("strategy", "kernel"), PAIRS, ids=PAIR_IDS)
def test_table_rows_hit_random_patterns_264(strategy, kernel):
    scn = make_scn(nodes=2, object_size=256, kernel=kernel)
    assert 14 * scn.ofs <= PAGE_SIZE - scn.ofs
    for k, p in enumerate(HIT_PATTERNS_264):
        check_call(scn, strategy, p, True, f"{strategy} pattern {k} {p}")


def test_get_many_takes_one_reference_per_run():
    scn = make_scn(nodes=3, object_size=8, get_many=True)
    for k, p in enumerate(HIT_PATTERNS_SMALL_OFS):
        got, _ = check_call(scn, "batched", p, True, f"get_many pattern {k} {p}")
        assert int(got[EV["objcg_ref_ops"]]) == len(runs_of(p))


def test_same_slab_objects_count_like_distinct_slabs():
    """The counts depend on nodes only: objects sharing a slab change nothing."""
    scn = make_scn(nodes=2, object_size=256)
    p = [0, 0, 0, 1, 1, 0, 0]
    slabs = [3, 3, 4, 7, 7, 3, 4]
    for strategy in STRATS:
        check_call(scn, strategy, p, True, f"{strategy} shared slabs", slabs=slabs)


# --------------------------------------------------------------------------------------
# (3) miss case: every consume misses


MISS_PATTERNS = _patterns(random.Random(99), 25, 45, 2)


@pytest.mark.parametrize(("strategy", "kernel"), PAIRS, ids=PAIR_IDS)
def test_table_rows_miss_random_patterns(strategy, kernel):
    # on mm-2026 a run of 9 or more objects (9 * 4008 > 32767) passes the 16-bit guard
    scn = make_scn(nodes=2, object_size=4000, kernel=kernel)
    assert scn.ofs == 4008 and 88 * 45 < scn.ofs  # the stock never holds one object
    for k, p in enumerate(MISS_PATTERNS):
        check_call(scn, strategy, p, False, f"{strategy} miss pattern {k} {p}")


@pytest.mark.parametrize("strategy,locks,misses,hits", [
    # per_object: object 0 misses (2 locks) and leaves 4096-264 = 3832 bytes; the other
    # five (5*264 = 1320 bytes) hit.
    ("per_object", 2 + 5, 1, 5),
    # [0 0 0] = 792 bytes misses (2 locks), leaves 4096-792 = 3304; [1 1] and [0] hit.
    ("batched_v1", 2 + 1 + 1, 1, 2),
    ("batched", 2 + 1 + 1, 1, 2),
    # 6*264 = 1584 bytes: miss, charge a page, lock again to refill 2512; 6 stat updates.
    # v6.12: + consume_stock() and refill_stock() under the same stock_lock.
    ("upfront", 2 + 2 + 6, 1, 0),
])
def test_worked_example_on_a_fresh_stock(strategy, locks, misses, hits):
    scn = make_scn()
    got, _, _, run = measure(scn, strategy, objects(WORKED), warm=False)
    check_counts(got, dict(stock_locks=locks, consume_misses=misses, consume_hits=hits,
                           refills=1, objcg_ref_ops=6 + 1, drains=0), strategy)
    # The stock starts with no pgdat, so only the two switches inside the call flush.
    check_counts(got, dict(stat_flushes=2), strategy)
    assert list(run.state["stat"][0]) == [3 * 264, 2 * 264]
    assert int(run.state["stock_acc_u"][0]) == 264


# --------------------------------------------------------------------------------------
# (4) obj_exts allocation failing in the middle of a scan


def _exts_case(n, f):
    """All on node 0, one slab per object; object ``f``'s slab has no obj_exts."""
    exts = [j != f for j in range(n)]
    return objects([0] * n, exts=exts)


# Derivations (n objects on node 0, object f fails; hit case):
# batched_v1, 0 < f: run [0, f) scans and breaks on f (2f+1), marks it, skips it; run
#   [f+1, n) reaches the end (2(n-f-1)).  f == 0: the outer find fails (1), then run
#   [1, n) (2(n-1)).  exts allocated and failed once.
# batched, 0 < f: run [0, f) breaks on f (2f-1+1); the next outer iteration finds f
#   again (1) and fails again; run [f+1, n) (2(n-f-1)-1) if non-empty.  Twice.
EXTS_CASES = [
    # n, f, v1 (v2s, runs, lengths), batched (v2s, runs, lengths)
    (6, 3, (7 + 4, [3, 2]), (6 + 1 + 3, [3, 2])),
    (6, 0, (1 + 10, [5]), (1 + 9, [5])),
    (6, 5, (11, [5]), (10 + 1, [5])),
    (2, 1, (3, [1]), (2 + 1, [1])),
]


@pytest.mark.parametrize("n,f,v1,bat", EXTS_CASES)
def test_exts_failure_mid_scan(n, f, v1, bat):
    scn = make_scn(exts_fail_prob=1.0)
    call = _exts_case(n, f)
    mid = 0 < f  # a scan meets the failed object (batched: and then the outer loop again)
    want = {
        "batched_v1": dict(virt_to_slab=v1[0], runs=len(v1[1]), stock_locks=len(v1[1]),
                           obj_exts_allocs=1, obj_exts_failures=1, obj_exts_skipped=1, assigns=n - 1),
        "batched": dict(virt_to_slab=bat[0], runs=len(bat[1]), stock_locks=len(bat[1]),
                        obj_exts_allocs=2 if mid else 1, obj_exts_failures=2 if mid else 1,
                        obj_exts_skipped=1, assigns=n - 1),
        "per_object": dict(virt_to_slab=n, runs=n - 1, stock_locks=n - 1, obj_exts_allocs=1,
                           obj_exts_failures=1, obj_exts_skipped=1, assigns=n - 1),
        # upfront: 1 lock for the charge, 1 to give the failed object's bytes back
        # (refill), 1 per assigned object for its statistics update.
        "upfront": dict(virt_to_slab=n, runs=1, stock_locks=1 + 1 + (n - 1), refills=1,
                        obj_exts_allocs=1, obj_exts_failures=1, obj_exts_skipped=1, assigns=n - 1,
                        stat_updates=n - 1),
    }
    hists = {"batched_v1": hist_of(v1[1]), "batched": hist_of(bat[1]),
             "per_object": hist_of([1] * (n - 1)), "upfront": hist_of([n])}
    charged = [0 if j != f else -1 for j in range(n)]
    finals = []
    for strategy in STRATS:
        got, hist, _, run = measure(scn, strategy, call)
        check_counts(got, dict(want[strategy], consume_misses=0, hook_failures=0), strategy)
        assert np.array_equal(hist, hists[strategy]), strategy
        # the same objects are charged: all but the failed one
        assert list(run.state["live_objcg"][-n:]) == charged, strategy
        st = run.state
        per_node = st["stat"][0].copy()
        per_node[int(st["stock_pgdat"][0])] += st["stock_acc_u"][0]
        finals.append(list(per_node))
    # statistics: ofs x (warm-up + n-1 charged objects), all on node 0, for everyone
    assert all(f_ == [scn.ofs * n, 0] for f_ in finals), finals


def test_exts_allocated_on_demand_is_counted_once():
    """With exts_fail_prob 0 the hook allocates the missing vector and carries on: the
    slab keeps it, so no strategy allocates it twice and no run breaks."""
    scn = make_scn(exts_fail_prob=0.0)
    call = _exts_case(6, 3)
    for strategy in STRATS:
        got = measure(scn, strategy, call)[0]
        v2s = {"per_object": 6, "batched_v1": 12, "batched": 11, "upfront": 6}[strategy]
        check_counts(got, dict(obj_exts_allocs=1, obj_exts_failures=0, obj_exts_skipped=0, assigns=6,
                               virt_to_slab=v2s), strategy)


# --------------------------------------------------------------------------------------
# (5) batched_v1's cap quirk


def test_cap_quirk_single_node():
    scn = make_scn(run_cap_bytes=3 * 264)  # cap = 3 objects
    p = [0] * 8
    # batched_v1: cap = min(3, 8) compared with the absolute j: run [0,3) (ended by the
    # cap, no extra find), then every later run has length 1: 1 + 5 runs.
    got, hist, _, _ = measure(scn, "batched_v1", objects(p))
    check_counts(got, dict(runs=6, virt_to_slab=2 * 3 + 5 * 2, stock_locks=6, stat_updates=6,
                           objcg_ref_ops=8), "batched_v1")
    assert np.array_equal(hist, hist_of([3, 1, 1, 1, 1, 1]))
    # batched: end = min(i + 3, 8): runs [0,3) [3,6) [6,8), none broke.
    got, hist, _, _ = measure(scn, "batched", objects(p))
    check_counts(got, dict(runs=3, virt_to_slab=5 + 5 + 3, stock_locks=3, stat_updates=3,
                           objcg_ref_ops=8), "batched")
    assert np.array_equal(hist, hist_of([3, 3, 2]))
    # per_object and upfront ignore the cap.
    check_counts(measure(scn, "per_object", objects(p))[0], dict(runs=8, stock_locks=8), "po")
    got, hist, _, _ = measure(scn, "upfront", objects(p))
    check_counts(got, dict(runs=1, stock_locks=9), "upfront")
    assert np.array_equal(hist, hist_of([8]))


def test_cap_quirk_mixed_nodes():
    scn = make_scn(run_cap_bytes=3 * 264)
    p = [0, 0, 1, 1, 1, 1, 0, 0]
    # batched_v1: i=0: j=1 same, j=2 other node -> run of 2, broke (2*2+1).  From i=2 on,
    # j = i+1 >= 3 = cap at once: six runs of 1, no scan (2 each).
    got, hist, _, _ = measure(scn, "batched_v1", objects(p))
    check_counts(got, dict(runs=7, virt_to_slab=5 + 6 * 2, stock_locks=7), "batched_v1")
    assert np.array_equal(hist, hist_of([2] + [1] * 6))
    # batched: i=0 end 3: breaks on j=2 (2*2-1+1); i=2 end 5: run [2,5) by cap (2*3-1);
    # i=5 end 8: breaks on j=6 (2*1-1+1); i=6 end 8: run [6,8) reaches the end (2*2-1).
    got, hist, _, _ = measure(scn, "batched", objects(p))
    check_counts(got, dict(runs=4, virt_to_slab=4 + 5 + 2 + 3, stock_locks=4), "batched")
    assert np.array_equal(hist, hist_of([2, 3, 1, 2]))


@pytest.mark.parametrize("cap", [1, 2, 3, 7, 16])
def test_cap_quirk_long_single_node_calls(cap):
    """n objects on one node, n > cap.  batched_v1: one run of cap, then n - cap runs of
    1 (every object found twice: 2n).  batched: floor(n/cap) runs of cap plus the
    remainder (2L - 1 each: 2n - runs)."""
    scn = make_scn(nodes=1, object_size=8, run_cap_bytes=cap * 16)
    rng = random.Random(cap)
    for n in sorted({cap + 1, 64, rng.randint(cap + 1, 64)}):
        p = [0] * n
        got, hist, _, _ = measure(scn, "batched_v1", objects(p))
        check_counts(got, dict(runs=1 + n - cap, virt_to_slab=2 * n, consume_misses=0),
                     f"v1 cap {cap} n {n}")
        assert np.array_equal(hist, hist_of([cap] + [1] * (n - cap))), (cap, n)
        lengths = [cap] * (n // cap) + ([n % cap] if n % cap else [])
        got, hist, _, _ = measure(scn, "batched", objects(p))
        check_counts(got, dict(runs=len(lengths), virt_to_slab=2 * n - len(lengths)),
                     f"batched cap {cap} n {n}")
        assert np.array_equal(hist, hist_of(lengths)), (cap, n)


# --------------------------------------------------------------------------------------
# (6) a KFENCE-style split: a node-0 object on its own slab inside a node-1 stretch


def test_kfence_style_split_makes_three_runs():
    scn = make_scn()
    p = [1, 1, 0, 1, 1]
    slabs = [5, 5, 6, 5, 5]  # slab 6: the lone node-0 object
    assert runs_of(p) == [(0, 2, 1), (2, 1, 1), (3, 2, 0)]
    want = {
        "per_object": dict(runs=5, virt_to_slab=5, stock_locks=5),
        "batched_v1": dict(runs=3, virt_to_slab=(2 * 2 + 1) + (2 * 1 + 1) + 2 * 2, stock_locks=3),
        "batched": dict(runs=3, virt_to_slab=(2 * 2 - 1 + 1) + (2 * 1 - 1 + 1) + (2 * 2 - 1),
                        stock_locks=3),
        "upfront": dict(runs=1, virt_to_slab=5, stock_locks=1 + 5),
    }
    for strategy in STRATS:
        got, hist, alloc, run = measure(scn, strategy, objects(p, slabs=slabs))
        # warm-up left node 0 in the stock: each of the three runs switches pgdat.
        check_counts(got, dict(want[strategy], stat_flushes=3, consume_misses=0), strategy)
        assert int(alloc[EV["pgdat_runs"]]) == 3
        assert list(run.state["stat"][0]) == [2 * 264, 2 * 264], strategy
        assert int(run.state["stock_pgdat"][0]) == 1 and int(run.state["stock_acc_u"][0]) == 2 * 264
        if strategy in ("batched_v1", "batched"):
            assert np.array_equal(hist, hist_of([2, 1, 2])), strategy


# --------------------------------------------------------------------------------------
# (7) upfront: one run of length size per call


@pytest.mark.parametrize("n", [1, 5, 63, 64, 70])
def test_upfront_hit(n):
    scn = make_scn(nodes=2, object_size=8)
    p = [(j // 4) % 2 for j in range(n)]
    got, hist, _, _ = measure(scn, "upfront", objects(p))
    check_counts(got, dict(runs=1, virt_to_slab=n, stock_locks=1 + n, consume_hits=1,
                           consume_misses=0, stat_updates=n, objcg_ref_ops=n, refills=0), "upfront")
    assert np.array_equal(hist, hist_of([n]))  # 70 lands in the "64 or more" bucket
    assert int(hist[RUN_HIST_BUCKETS - 1]) == (1 if n >= 64 else 0)


def test_upfront_miss_with_and_without_a_sub_page_rest():
    # 6 * 264 = 1584 bytes: rest non-zero -> lock to charge, lock to refill 2512 bytes
    # (this refill adopts the objcg), then 6 locked statistics updates.
    scn = make_scn()
    got = measure(scn, "upfront", objects([0] * 6), warm=False)[0]
    # v6.12: consume_stock() and refill_stock() of the 63-page surplus lock too (+2).
    check_counts(got, dict(stock_locks=2 + 2 + 6, consume_misses=1, refills=1, objcg_ref_ops=6 + 1,
                           stat_updates=6, page_counter_charges=1 + 1), "rest")  # leaf, root
    # 16 * 256 = 4096 bytes: exactly one page, no rest, no refill; the first statistics
    # update adopts the objcg instead.
    scn = make_scn(object_size=248)
    got = measure(scn, "upfront", objects([0] * 16), warm=False)[0]
    check_counts(got, dict(stock_locks=1 + 2 + 16, consume_misses=1, refills=0, objcg_ref_ops=16 + 1,
                           stat_updates=16, page_counter_charges=1 + 1), "no rest")


def test_check_helpers_can_fail():
    """The helpers used above really compare: a wrong expectation is reported."""
    scn = make_scn()
    got = measure(scn, "batched", objects(WORKED))[0]
    with pytest.raises(AssertionError):
        check_counts(got, dict(virt_to_slab=12), "deliberately wrong")
    with pytest.raises(AssertionError):
        check_counts(got, dict(stock_locks=6), "deliberately wrong")
    assert set(EVENTS) >= {"virt_to_slab", "stock_locks", "stat_updates", "objcg_ref_ops"}


# --------------------------------------------------------------------------------------
# shared lines: a statistics flush writes only per-CPU counters (issue 17, item 1)


@pytest.mark.parametrize("strategy,kernel", [("batched", "mainline-2026"), ("batched", "mm-2026"),
                                             ("upfront", "v6.12")])
def test_statistics_flushes_transfer_no_line(strategy, kernel):
    """Two CPUs of one node take turns with memcg 0.  With alternating nodes every
    call flushes its statistics; with one node only the last call's stay in the
    accumulator.  ``mod_objcg_mlstate`` writes this CPU's counters only, so both
    traces count the same line transfers (page counters, ``nr_charged_bytes``) and
    the memcg's statistics line is never owned."""
    scn = make_scn(nodes=2, cpus=2, object_size=8, kernel=kernel)
    cpus = [0, 1, 0, 1, 0, 1]

    def run_of(pattern):
        calls = [objects(pattern, slabs=[10 * k + j for j in range(len(pattern))]) for k in range(len(cpus))]
        tr = from_calls(calls, scn, cpus=cpus, memcgs=[0] * len(calls))
        return run_strategy(scn, strategy, SEED, trace=tr)

    flat, mixed = run_of([0, 0, 0, 0]), run_of([0, 1, 0, 1])
    tot = lambda r, name: int(r.counters[:, EV[name]].sum())  # noqa: E731
    assert tot(mixed, "stat_flushes") > tot(flat, "stat_flushes") + len(cpus)
    for name in ("line_transfers_local", "line_transfers_remote"):
        assert tot(mixed, name) == tot(flat, name), name
    assert (mixed.state["line_owner_stat"] == -1).all()


# --------------------------------------------------------------------------------------
# the root page counter (issue 17, item 3): mm/page_counter.c walks to the root


@pytest.mark.parametrize("strategy,kernel", [("batched", "mainline-2026"), ("per_object", "mm-2026"),
                                             ("upfront", "v6.12")])
@pytest.mark.parametrize("depth", [1, 3])
def test_a_page_charge_reaches_the_root_counter(strategy, kernel, depth):
    """A fresh stock's first object charges one page at each of ``depth`` levels and
    at the root's counter (unlimited even with an ancestor max; its usage is the sum
    of the leaves'), from two memcgs on two CPUs: the root's line changes hands."""
    scn = make_scn(nodes=1, cpus=2, memcgs=2, depth=depth, object_size=8, kernel=kernel,
                   pagecache_pages=5, ancestor_max_pages=1000)
    tr = from_calls([[(0, 0, True)], [(1, 0, True)]], scn, cpus=[0, 1], memcgs=[0, 1])
    run = run_strategy(scn, strategy, SEED, trace=tr)
    tot = lambda name: int(run.counters[:, EV[name]].sum())  # noqa: E731
    assert tot("page_counter_charges") == 2 * (depth + 1)
    usage, pc_max = run.state["pc_usage"], run.state["pc_max"]
    assert len(usage) == 2 + depth  # two leaves, depth - 1 ancestors, the root
    # try_charge_memcg charges a 64-page batch (MEMCG_CHARGE_BATCH) over the page cache.
    assert int(usage[-1]) == int(usage[:2].sum()) == 2 * (5 + 64)
    assert int(pc_max[-1]) > 2**40 and (depth == 1 or int(pc_max[2]) == 1000)
    # Each CPU wrote each of its path's lines once: only the shared ones (the
    # ancestors and the root) change hands, on one node.
    assert tot("line_transfers_local") == depth and tot("line_transfers_remote") == 0


# --------------------------------------------------------------------------------------
# whole-page uncharges as their own events (issue 17, items 4 and 5)


@pytest.mark.parametrize("strategy,kernel", [("batched", "mainline-2026"), ("batched", "mm-2026"),
                                             ("upfront", "v6.12")])
def test_whole_page_uncharges_are_counted(strategy, kernel):
    """One live object at most, so each allocation frees the one before.
    (a) 2048-byte objects: three take two pages and leave 2048 bytes; freeing two
    of them brings the stock to 6144 > 4096 bytes, so one obj_cgroup_uncharge_pages.
    (b) 1024-byte objects, memcg 0 then 1, 1: memcg 0's page leaves 3072 bytes, its
    object's free makes 4096 (not above a page: kept); memcg 1 takes the one-objcg
    stock, and that drain releases the whole page (mm-2026 keeps both in slots)."""
    scn = make_scn(nodes=1, cpus=2, memcgs=2, object_size=2040, kernel=kernel, live_objects=1)
    calls = [objects([0, 0, 0], slabs=[0, 1, 2]), objects([0], slabs=[3]), objects([0], slabs=[4])]
    run = run_strategy(scn, strategy, SEED, trace=from_calls(calls, scn, cpus=[0] * 3, memcgs=[0, 0, 1]))
    c = run.counters.sum(0)
    assert int(c[EV["objcg_uncharge_pages"]]) == 1 and int(c[EV["drain_uncharge_pages"]]) == 0

    scn = make_scn(nodes=1, cpus=2, memcgs=2, object_size=1016, kernel=kernel, live_objects=1)
    calls = [objects([0], slabs=[k]) for k in range(3)]
    run = run_strategy(scn, strategy, SEED, trace=from_calls(calls, scn, cpus=[0] * 3, memcgs=[0, 1, 1]))
    c = run.counters.sum(0)
    assert int(c[EV["drain_uncharge_pages"]]) == (0 if kernel == "mm-2026" else 1)
    assert int(c[EV["drain_uncharge_pages"]]) <= int(c[EV["drains"]])


# --------------------------------------------------------------------------------------
# The free side (docs/model.md §7a): per-run counts of the batched free hook on hand-made
# free calls.  ``live_objects = 0``: every object is freed right after its call, in
# kmem_cache_free_bulk() calls of ``free_bulk`` objects (whole calls only), on CPU 0
# (remote_free_prob = 0).  Expected counts per free call, from model.md §7a:
#   per object: per charged object obj_to_index, stock_locks, refills, stat_updates and
#               objcg_ref_ops 1 each, free_runs 0;
#   batched:    obj_to_index 1 per charged object; per run (consecutive charged objects
#               with the same objcg and node; uncharged objects neither join nor end one)
#               free_runs, stock_locks, refills, stat_updates, objcg_ref_ops 1 each
#               (``runs`` stays the post-alloc hook's: 0 in the free-hook phase).

FREE_EVENTS = ("obj_to_index", "stock_locks", "refills", "stat_updates", "objcg_ref_ops", "free_runs")


def free_counts(hook, charged, runs):
    """The free-hook counts of calls freeing ``charged`` charged objects in ``runs`` runs."""
    if hook == "per_object":
        return dict(obj_to_index=charged, stock_locks=charged, refills=charged, stat_updates=charged,
                    objcg_ref_ops=charged, free_runs=0, runs=0)
    return dict(obj_to_index=charged, stock_locks=runs, refills=runs, stat_updates=runs,
                objcg_ref_ops=runs, free_runs=runs, runs=0)


def free_run(calls, memcgs, free_bulk, hook, strategy="per_object", **kw):
    """Replay ``calls`` (node patterns or trace rows) on CPU 0 with the given memcg per
    call; returns the run (its free-hook counters are the free calls' alone: nothing
    else counts in that phase when the stock is never drained by an adoption)."""
    base = dict(cpus=2, nodes=2, memcgs=2, depth=1, live_objects=0, cgroup_switch_prob=0.0,
                remote_free_prob=0.0, free_bulk=free_bulk, free_hook=hook)
    base.update(kw)
    scn = Scenario(**base)
    rows = [c if c and isinstance(c[0], tuple) else objects(c, slabs=[100 * k + j for j in range(len(c))])
            for k, c in enumerate(calls)]
    tr = from_calls(rows, scn, cpus=[0] * len(rows), memcgs=memcgs)
    return run_strategy(scn, strategy, SEED, trace=tr)


FREE_HOOK = 1  # PHASES index of free_hook


@pytest.mark.parametrize("hook", ["per_object", "batched"])
def test_free_runs_split_by_node(hook):
    """One call of 8 objects, nodes 0,0,0,1,1,1,1,1, freed in one call of 8: runs 3 + 5,
    so the batched hook takes 2 stock locks, 2 uncharges, 2 statistics updates, 2 puts."""
    run = free_run([[0, 0, 0, 1, 1, 1, 1, 1]], [0], 8, hook)
    check_counts(run.counters[FREE_HOOK], free_counts(hook, 8, 2), f"3+5 {hook}")
    assert int(run.counters[3, EV["frees"]]) == 8
    assert len(run.state["live_objcg"]) == 0
    # statistics: -3 ofs on node 0 and -5 ofs on node 1 (batched), one object at a time
    # per object; either way the run ends with nothing accounted
    st = run.state
    assert st["stat"].sum() + st["stock_acc_u"].sum() == 0


@pytest.mark.parametrize("hook", ["per_object", "batched"])
def test_free_runs_split_by_objcg(hook):
    """Two calls of 4 on node 0, memcg 0 then memcg 1, freed together in one call of 8
    (the first 4 wait for a whole call): runs 4 + 4 by objcg."""
    run = free_run([[0] * 4, [0] * 4], [0, 1], 8, hook)
    want = free_counts(hook, 8, 2)
    # The second call's hook left the one-slot obj stock on memcg 1's objcg, so the
    # free switches it twice (to memcg 0's objcg, then back), per object and batched
    # alike: each switch drains the stock (a put of the old objcg) and takes a
    # reference on the new one (__refill_obj_stock -> drain_obj_stock, obj_cgroup_get).
    want["objcg_ref_ops"] += 2 * 2
    check_counts(run.counters[FREE_HOOK], want, f"4+4 objcg {hook}")
    assert int(run.counters[FREE_HOOK, EV["drains"]]) == 2


@pytest.mark.parametrize("hook", ["per_object", "batched"])
def test_uncharged_object_neither_joins_nor_ends_a_run(hook):
    """Five objects on node 0; the middle one's slab has no obj_exts and their
    allocation fails, so it holds no objcg: the batched hook makes one run of 4."""
    rows = [(1, 0, True), (2, 0, True), (3, 0, False), (4, 0, True), (5, 0, True)]
    run = free_run([rows], [0], 5, hook, exts_fail_prob=1.0)
    assert int(run.counters[PH_HOOK, EV["obj_exts_skipped"]]) == 1
    check_counts(run.counters[FREE_HOOK], free_counts(hook, 4, 1), f"skip {hook}")
    assert int(run.counters[3, EV["frees"]]) == 5


@pytest.mark.parametrize("hook", ["per_object", "batched"])
def test_only_whole_free_calls(hook):
    """free_bulk 3 after a call of 8 (nodes 0,0,0,1,1,1,1,1): two calls of 3 are freed
    (objects 0-2 on node 0, then 3-5 on node 1: one run each), two objects stay live."""
    run = free_run([[0, 0, 0, 1, 1, 1, 1, 1]], [0], 3, hook)
    check_counts(run.counters[FREE_HOOK], free_counts(hook, 6, 2), f"3+3 {hook}")
    assert int(run.counters[3, EV["frees"]]) == 6
    assert list(run.state["live_node"]) == [1, 1]


def test_run_crosses_calls_only_within_one_free_call():
    """Two calls of 4 objects on node 0 of the same memcg, free_bulk 4: two free calls,
    so two runs of 4 even though all 8 share objcg and node; free_bulk 8: one run."""
    four = free_run([[0] * 4, [0] * 4], [0, 0], 4, "batched")
    eight = free_run([[0] * 4, [0] * 4], [0, 0], 8, "batched")
    check_counts(four.counters[FREE_HOOK], free_counts("batched", 8, 2), "4|4")
    check_counts(eight.counters[FREE_HOOK], free_counts("batched", 8, 1), "8")


@pytest.mark.parametrize("kernel", STRATEGY_GENERATIONS["none"])
def test_none_has_no_free_hook_work(kernel):
    """Strategy none: the same allocations and frees, no hook work at all: no lookups,
    no obj_exts, no charge, no objcg on any object, nothing in either hook phase."""
    run = free_run([[0, 0, 0, 1, 1, 1, 1, 1]], [0], 8, "batched", strategy="none", kernel=kernel)
    assert not run.counters[FREE_HOOK].any() and not run.counters[PH_HOOK].any()
    assert int(run.counters[3, EV["frees"]]) == 8
    assert int(run.counters[PH_SLAB_ALLOC, EV["objects"]]) == 8
    kept = free_run([[0, 0, 1]], [0], 8, "per_object", strategy="none", kernel=kernel)
    assert list(kept.state["live_objcg"]) == [-1, -1, -1]  # under a whole free call: kept
    assert kept.state["pc_usage"].sum() == 0 and kept.state["objcg_refs"].sum() == 0


# Strategies whose counts are pinned by a test of their own rather than by the table
# above (tests/model/test_strategy_registry.py checks every strategy has one).
COUNT_TESTS = {"none": "test_none_has_no_free_hook_work"}
