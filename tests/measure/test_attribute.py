"""Phase attribution of perf samples: hand-made call chains with known answers."""

import numpy as np

from engine.measure import WORKLOADS, attribute
from engine.measure.model import generation
from engine.measure.symbols import symbol_set

SSET = symbol_set("6.18.0")


def chain(period, *frames):
    lines = [f"     {period} "] + [f"\tffffffff{0x81000000 + a:08x} {s}" for a, s in frames]
    return "\n".join(lines)


# leaf first, as perf script prints it
HOOK = chain(1000, (1, "__account_obj_stock"), (2, "obj_cgroup_charge_account"),
             (3, "__memcg_slab_post_alloc_hook"), (4, "kmem_cache_alloc_noprof"), (5, "alloc_empty_file"),
             (6, "path_openat"))
SLAB = chain(2000, (7, "___slab_alloc"), (4, "kmem_cache_alloc_noprof"), (5, "alloc_empty_file"))
FHOOK = chain(500, (8, "refill_obj_stock"), (9, "__memcg_slab_free_hook"), (10, "kmem_cache_free"),
              (11, "__x64_sys_close"))
FSLAB = chain(700, (10, "kmem_cache_free"), (11, "__x64_sys_close"))
# the LSM blob of the file: same entry point and caller function, another call site, no hook
BLOB = chain(900, (10, "kmem_cache_free"), (12, "__x64_sys_close"))
OTHER = chain(300, (13, "getname_flags"), (14, "kmem_cache_alloc_noprof"), (15, "getname_flags.part.0"))
# a slab entry point nested inside the hook (obj_exts vector) stays in the hook
NESTED = chain(400, (16, "__kmalloc_noprof"), (17, "alloc_slab_obj_exts"), (3, "__memcg_slab_post_alloc_hook"),
               (4, "kmem_cache_alloc_noprof"), (5, "alloc_empty_file"))
USER = "     100 \n\t    7f0000001000 [unknown]"


def test_phases_by_call_chain_and_call_site():
    text = "\n\n".join([HOOK, SLAB, FHOOK, FSLAB, BLOB, OTHER, NESTED, USER]) + "\n"
    samples = attribute.parse_script(text)
    assert [p for p, _ in samples] == [1000, 2000, 500, 700, 900, 300, 400, 100]
    phase, per = attribute.classify(samples, WORKLOADS["open_close"], SSET)
    ph = attribute.PH
    assert phase.tolist() == [ph["post_alloc_hook"], ph["slab_alloc"], ph["free_hook"], ph["slab_free"],
                              -1, -1, ph["post_alloc_hook"], -1]
    # without the call-site filter the blob's free counts as slab free
    phase2, _ = attribute.classify(samples, WORKLOADS["open_close"], SSET, filter_sites=False)
    assert phase2[4] == ph["slab_free"]
    # the io_uring workload has none of these sites
    phase3, _ = attribute.classify(samples, WORKLOADS["io_uring_nop"], SSET)
    assert (phase3 == -1).all()


def test_estimates_point_and_interval():
    # 2 repeats x 10 batches: post hook 1/4 of the time, slab alloc 1/4, rest elsewhere
    rng = np.random.default_rng(1)
    parts = []
    for objects in (1000, 3000):
        phase = rng.choice([0, 2, -1, -1], size=4000)
        per = np.full(4000, 50_000.0)
        parts.append(attribute.batches(phase, per, objects))
    b = attribute.Batches.concat(parts)
    est = attribute.estimates(b, ("post_alloc_hook", "slab_alloc"))
    total_ns = 8000 * 50_000.0
    hook = est["per_object"][0]
    assert abs(hook.value - total_ns / 4 / 4000) / hook.value < 0.05
    assert hook.low <= hook.value <= hook.high
    assert np.isnan(est["per_object"][1].value)  # free hook not captured
    assert 0.4 < est["hook_share"].value < 0.6
    assert est["hook_share"].low < est["hook_share"].value < est["hook_share"].high
    assert abs(est["accounted_ratio"].value - 1 / (1 - est["hook_share"].value)) < 1e-9
    # same input, same interval (fixed seed)
    again = attribute.estimates(b, ("post_alloc_hook", "slab_alloc"))
    assert again["per_object"][0] == hook


def test_release_to_generation():
    assert generation("6.18.44-fc")[:2] == ("mainline-2026", "per_object")
    assert "matches none" in generation("6.18.1")[2]
    assert generation("6.12.9")[:2] == ("v6.12", "upfront")
    assert "matches none" in generation("6.6.1")[2]
    assert generation("6.18", unaccounted=True)[1] == "none"
    assert symbol_set("6.9.1").alloc_entries != symbol_set("6.10").alloc_entries


def test_interval_spans_the_spread_of_repeats():
    """Two repeats that disagree (hook 10% vs 40% of the time): the two-level bootstrap's
    interval covers most of the gap; resampling batches alone gives an interval less than half as wide."""
    rng = np.random.default_rng(2)
    parts = []
    for frac in (0.1, 0.4):
        phase = np.where(rng.random(20000) < frac, 0, -1)
        parts.append(attribute.batches(phase, np.full(20000, 1000.0), 10000))
    b = attribute.Batches.concat(parts)
    est = attribute.estimates(b, ("post_alloc_hook", "slab_alloc"))["per_object"][0]
    flat = attribute.Batches(b.phase_ns, b.total_ns, b.objects, b.samples)  # no repeat ids
    one = attribute.estimates(flat, ("post_alloc_hook", "slab_alloc"))["per_object"][0]
    assert est.low < 2000 * 0.15 and est.high > 2000 * 0.35  # ns per object: 200 .. 800
    assert (est.high - est.low) > 2 * (one.high - one.low)  # here 608 against 258 ns


def test_where_the_time_of_a_phase_goes():
    samples = attribute.parse_script("\n\n".join([HOOK, SLAB, NESTED, OTHER]) + "\n")
    phase, _ = attribute.classify(samples, WORKLOADS["open_close"], SSET)
    into = {}
    attribute.leaf_time(samples, phase, into)
    assert into == {0: {"__account_obj_stock": 1000, "__kmalloc_noprof": 400}, 2: {"___slab_alloc": 2000}}
    assert attribute.top_text(into[0]) == "__account_obj_stock 71%, __kmalloc_noprof 29%"
    assert attribute.top_text({}) == ""
