"""``bulksim validate``: published end-to-end measurements next to the model's predictions.

Each row is a measurement someone published (mailing-list posting or commit message,
cited), the scenario that reproduces its setup as far as the post describes it, and
the ratio the model predicts there: its value at central unit costs and its exact
range over the box of unit costs (``engine.results.ranges``).  A row is "inside" when
the measurement falls in that range.  The unit costs were **not** tuned to these rows
(docs/costs.md): this table is where the model is judged, not fitted.  Rows that fall
outside stay, with what would explain them (docs/validation.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BulksimError
from ..inputs.costs import coefficients, get_profile, phase_entries
from ..inputs.scenario import Scenario
from ..model.events import EVENTS, PH_FREE_HOOK, PH_HOOK, PH_SLAB_ALLOC, PH_SLAB_FREE
from .ranges import ratio_extremes

# Which phases a measured time covers.
PARTS = {
    "total": (PH_HOOK, PH_FREE_HOOK, PH_SLAB_ALLOC, PH_SLAB_FREE),  # alloc + free, accounted
    "slab": (PH_SLAB_ALLOC, PH_SLAB_FREE),                          # alloc + free, unaccounted
    "alloc": (PH_HOOK, PH_SLAB_ALLOC),                              # allocation only, accounted
    "slab_alloc": (PH_SLAB_ALLOC,),                                 # allocation only, unaccounted
}

# A single-CPU micro-benchmark: one task in one non-root cgroup, nothing remote.
_MICRO = dict(cpus=1, nodes=1, memcgs=1, cgroup_switch_prob=0.0, remote_free_prob=0.0, kfence_prob=0.0)


@dataclass(frozen=True)
class Row:
    key: str
    source: str
    setup: str
    compared: str
    measured: float
    scenario: dict
    num: tuple[str, str]    # (strategy, part) of the numerator
    den: tuple[str, str]    # (strategy, part) of the denominator
    note: str = ""
    tags: tuple = field(default=())


ROWS: list[Row] = [
    Row("babka-2025-before",
        "V. Babka, 'memcg: combine slab obj stock charging and accounting', 15 Mar 2025, "
        "<20250315174930.1769599-9-shakeel.butt@linux.dev>; upstream bc730030f956",
        "kfree(kmalloc()) loop, 10M iterations, with / without __GFP_ACCOUNT (size and CPU not stated)",
        "accounted / unaccounted cycles, before the patch (v6.10-v6.15 hook: upfront)",
        783_689_984 / 581_390_144,
        dict(_MICRO, bulk_size=1, object_size=64, live_objects=0),
        ("upfront", "total"), ("upfront", "slab")),
    Row("babka-2025-after",
        "same posting",
        "same loop",
        "accounted / unaccounted cycles, after the patch (per_object: one lock per object)",
        658_723_808 / 581_390_144,
        dict(_MICRO, bulk_size=1, object_size=64, live_objects=0),
        ("per_object", "total"), ("per_object", "slab")),
    Row("babka-2025-gain",
        "same posting",
        "same loop",
        "accounted cycles after / before the patch (per_object / upfront)",
        658_723_808 / 783_689_984,
        dict(_MICRO, bulk_size=1, object_size=64, live_objects=0),
        ("per_object", "total"), ("upfront", "total")),
    Row("zhu-2026-bulk32",
        "H. Zhu, 'mm/memcontrol: batch memcg charging in __memcg_slab_post_alloc_hook', 16 Mar 2026, "
        "<20260316084839.1342163-1-hui.zhu@linux.dev> (v3 <20260331091707.226786-1-hui.zhu@linux.dev>)",
        "kmem_cache_alloc_bulk() on a SLAB_ACCOUNT cache, bulk 32, iters=100000 (size, CPU, free timing "
        "not stated)",
        "ns/object after / before the batching patch (batched_v1 / per_object)",
        174 / 215,
        dict(_MICRO, bulk_size=32, object_size=256, live_objects=0),
        ("batched_v1", "total"), ("per_object", "total")),
    Row("zhu-2026-bulk1",
        "same posting",
        "same benchmark, bulk 1",
        "ns/object after / before the batching patch (batched_v1 / per_object)",
        335 / 344,
        dict(_MICRO, bulk_size=1, object_size=256, live_objects=0),
        ("batched_v1", "total"), ("per_object", "total")),
    Row("gushchin-2023",
        "R. Gushchin, '[PATCH v5 0/7] mm: improve performance of accounted kernel memory allocations', "
        "19 Oct 2023, <20231019225346.1822282-1-roman.gushchin@linux.dev> (merged v6.7)",
        "1M x kmalloc(64, GFP_KERNEL_ACCOUNT), allocation loop timed, frees outside it, min of 100 runs",
        "accounted (user cgroup, patched) / kmem-disabled allocation time",
        59_078 / 29_764,
        dict(_MICRO, bulk_size=1, object_size=64, live_objects=1 << 20),
        ("upfront", "alloc"), ("upfront", "slab_alloc")),
    Row("long-2021",
        "W. Long, '[PATCH 0/5] mm/memcg: Reduce kmemcache memory accounting overhead', 9 Apr 2021, "
        "<20210409231842.8840-1-longman@redhat.com>",
        "kernel module: 100M x kmem_cache_alloc + kmem_cache_free of a 64-byte object, one CPU",
        "accounted (with the series) / unaccounted time",
        4.254 / 1.758,
        dict(_MICRO, bulk_size=1, object_size=64, live_objects=0),
        ("upfront", "total"), ("upfront", "slab")),
]


def _form(result, strategy: str, part: str) -> np.ndarray:
    prof = get_profile(result.profile)
    run = result.runs[strategy]
    co = coefficients(prof, strategy, run.counters, depth=result.scenario.depth,
                      entries=phase_entries(run.counters))
    objects = max(int(run.counters[:, EVENTS.index("objects")].sum()), 1)
    return co[list(PARTS[part])].sum(axis=0) / objects


def predict(row: Row, *, calls: int, seed: int = 0, profile: str = "intel-skylake") -> dict:
    """The model's ratio for ``row``: central value and exact range over the unit-cost box."""
    from ..run.simulate import simulate

    scn = Scenario(name=f"validate-{row.key}", **row.scenario).replace(calls=calls)
    if row.scenario.get("live_objects", 0) > 1000:  # allocation-only: nothing freed during the run
        scn = scn.replace(live_objects=min(max(calls * scn.bulk_size, 1), 50_000_000))
    strategies = sorted({row.num[0], row.den[0]})
    res = simulate(scn, strategies=strategies, profile=profile, seed=seed)
    prof = get_profile(profile)
    a, b = _form(res, *row.num), _form(res, *row.den)
    mid = prof.vector("central")
    lo, _, hi, _ = ratio_extremes(a, b, prof.vector("low"), prof.vector("high"), start=mid)
    central = float(a @ mid) / float(b @ mid)
    return {"key": row.key, "source": row.source, "setup": row.setup, "compared": row.compared,
            "measured": row.measured, "predicted": central, "low": lo, "high": hi,
            "inside": bool(lo <= row.measured <= hi), "profile": profile,
            "sim_halfwidth": sim_halfwidth(res, row)}


def sim_halfwidth(result, row: Row) -> float | None:
    """The 95% half-width of the predicted (central) ratio from the simulation error:
    batch means on the paired batches of the two parts (``engine.results.error``)."""
    import math

    from .error import MIN_ESTIMATE_BATCHES, estimate

    s = estimate(result)
    if s.n < MIN_ESTIMATE_BATCHES:
        return None

    def part(strategy, name):
        c = s.batches[strategy]["cycles"]
        return c[:, list(PARTS[name])].sum(axis=1)

    hw = s.halfwidth(part(*row.num), part(*row.den))
    return hw if math.isfinite(hw) else None


def validate(*, calls: int = 20_000, seed: int = 0, profile: str = "intel-skylake",
             only: list[str] | None = None) -> list[dict]:
    if calls < 1:
        raise BulksimError(f"validate: calls must be >= 1, got {calls}")
    keys = [r.key for r in ROWS]
    for k in only or []:
        if k not in keys:
            raise BulksimError(f"validate: unknown row {k!r}; rows: {', '.join(keys)}")
    return [predict(r, calls=calls, seed=seed, profile=profile) for r in ROWS if not only or r.key in only]


def validation_text(rows: list[dict], fmt: str = "table") -> str:
    if fmt not in ("table", "md"):
        raise BulksimError(f"validate: output format must be table or md, got {fmt!r}")
    head = ["row", "compared", "measured", "model", "model range", "inside"]
    body = [[r["key"], r["compared"], f"{r['measured']:.3f}",
             f"{r['predicted']:.3f}" + (f" ±{r['sim_halfwidth']:.3f}" if r.get("sim_halfwidth") is not None else ""),
             f"{r['low']:.3f} .. {r['high']:.3f}", "yes" if r["inside"] else "NO"] for r in rows]
    if fmt == "md":
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in body]
    else:
        w = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
        out = ["  ".join(c.ljust(w[i]) for i, c in enumerate(head)), "  ".join("-" * x for x in w)]
        out += ["  ".join(c.ljust(w[i]) for i, c in enumerate(line)) for line in body]
    n_in = sum(r["inside"] for r in rows)
    out.append("")
    out.append("model ±: 95% interval of the simulation error of the central value (batch means); the "
               "model range is over the unit costs.")
    out.append(f"{n_in} of {len(rows)} measurements inside the model's range (profile {rows[0]['profile']}"
               f"; sources and setups: docs/validation.md)." if rows else "(no rows)")
    return "\n".join(out)
