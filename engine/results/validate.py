"""``bulksim validate``: published end-to-end measurements next to the model's predictions.

Each row is a measurement someone published (mailing-list posting or commit message,
cited), the scenario that reproduces its setup as far as the post describes it, and
the ratio the model predicts there: its value at central unit costs and its range over
the box of unit costs (``engine.results.ranges``: exact, or a proven bound where the
overlap model's max forms change regime inside the box).  A row is "inside" when the
measurement falls in that range.

**Training and test.**  Rows come in source families (an author's series, a
benchmark).  A row whose measurement set a price (``Row.informs``: the in-situ lock
prices of docs/costs.md) is a *training* row: shown, never scored.  Every other row is
a *test* row, predicted leave-one-family-out: with the profile rebuilt without the
in-situ evidence of the row's own family (``Profile.without``), on the profile its
hardware implies (``Row.profile``).  Nothing is tuned to a test row.

Rows from elsewhere (``bulksim measure`` files) are plain ``Row`` values: build them
with ``Row(...)`` and pass them to ``validate(rows=...)`` or ``predict``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BulksimError
from ..inputs.costs import DEFAULT_PROFILE, Profile, coefficients, get_profile, phase_entries
from ..inputs.scenario import Scenario
from ..model.events import EVENTS, PH_FREE_HOOK, PH_HOOK, PH_SLAB_ALLOC, PH_SLAB_FREE
from .ranges import Box, central, ratio_range

# Which phases a measured time covers.
PARTS = {
    "total": (PH_HOOK, PH_FREE_HOOK, PH_SLAB_ALLOC, PH_SLAB_FREE),  # alloc + free, accounted
    "slab": (PH_SLAB_ALLOC, PH_SLAB_FREE),                          # alloc + free, unaccounted
    "alloc": (PH_HOOK, PH_SLAB_ALLOC),                              # allocation only, accounted
    "slab_alloc": (PH_SLAB_ALLOC,),                                 # allocation only, unaccounted
}

# A single-CPU micro-benchmark: one task in one non-root cgroup, nothing remote.
_MICRO = dict(cpus=1, nodes=1, memcgs=1, cgroup_switch_prob=0.0, remote_free_prob=0.0, kfence_prob=0.0)
_LOOP = dict(_MICRO, bulk_size=1, live_objects=0)           # alloc + free of one object, looped
_ALLOC_ONLY = dict(_MICRO, bulk_size=1, live_objects=1 << 20)  # every object kept until the end


@dataclass(frozen=True)
class Side:
    """One side of a ratio: a strategy's phases (``PARTS``) on a generation, priced with a
    lock kind ("" = the strategy's own generation, the generation's own lock)."""

    strategy: str
    part: str
    kernel: str = ""
    stock_lock: str = ""


@dataclass(frozen=True)
class Row:
    """One published measurement.  ``profile`` is the profile the measurement's hardware
    implies; ``informs`` names the unit costs the measurement itself set (a training
    row); ``family`` groups the rows of one source for leave-one-family-out."""

    key: str
    source: str
    setup: str
    compared: str
    measured: float
    scenario: dict
    num: Side
    den: Side
    note: str = ""
    tags: tuple = field(default=())
    family: str = ""
    profile: str = DEFAULT_PROFILE
    hardware: str = "not stated (the default profile)"
    informs: tuple = ()

    def __post_init__(self):
        for name in ("num", "den"):  # (strategy, part) tuples are accepted too
            v = getattr(self, name)
            if not isinstance(v, Side):
                object.__setattr__(self, name, Side(*v))
        if not self.family:
            object.__setattr__(self, "family", self.key)
        for side in (self.num, self.den):
            if side.part not in PARTS:
                raise BulksimError(f"validate row {self.key}: part must be one of {', '.join(PARTS)}, "
                                   f"got {side.part!r}")

    @property
    def role(self) -> str:
        return "train" if self.informs else "test"


LONG_V1 = ("W. Long, '[PATCH 0/5] mm/memcg: Reduce kmemcache memory accounting overhead', 9 Apr 2021, "
           "<20210409231842.8840-1-longman@redhat.com>")
LONG_V3 = ("W. Long, '[PATCH v3 0/5] mm/memcg: Reduce kmemcache memory accounting overhead', 13 Apr 2021, "
           "<20210414012027.5352-1-longman@redhat.com> (the same runs in his reply to R. Gushchin, "
           "<51ea6b09-b7ee-36e9-a500-b7141bd3a42b@redhat.com>)")
LONG_V4 = ("W. Long, '[PATCH v4 0/5] mm/memcg: Reduce kmemcache memory accounting overhead', 18 Apr 2021, "
           "<20210419000032.5432-1-longman@redhat.com>")
LONG_V6 = ("W. Long, '[PATCH v6 0/4] mm/memcg: Reduce kmemcache memory accounting overhead', 6 May 2021, "
           "<20210506150007.16288-1-longman@redhat.com> (the form merged for v5.14)")
LONG_SETUP = ("kernel module at init: 100M x kmem_cache_alloc + kmem_cache_free of a {size} object, one "
              "CPU, CascadeLake server, turbo {turbo}; accounted (SLAB_ACCOUNT, a non-root memcg) over "
              "accounting disabled{extra}")
CASCADE = "CascadeLake (Skylake-SP cores): intel-skylake"
SIEWIOR = "S. A. Siewior, 5 Jan 2022, <YdX+INO9gQje6d0S@linutronix.de> (v5.16-rc 'staging memcg' tree)"
SIEWIOR_SETUP = ("100M x kfree(kmalloc(128, GFP_ATOMIC | __GFP_ACCOUNT)) in task context, median of 5, "
                 "{preempt}; NO-OPT (local_irq_save at the obj-stock sites) over OPT (preempt_disable)")
GUSHCHIN = ("R. Gushchin, '[PATCH v5 0/7] mm: improve performance of accounted kernel memory "
            "allocations', 19 Oct 2023, <20231019225346.1822282-1-roman.gushchin@linux.dev> (merged v6.7)")
GUSHCHIN_SETUP = ("1M x kmalloc(64, GFP_KERNEL_ACCOUNT), only the allocation loop timed (frees outside "
                  "it), minimum of 100 runs; CPU not stated")
BABKA = ("V. Babka, 'memcg: combine slab obj stock charging and accounting', 15 Mar 2025, "
         "<20250315174930.1769599-9-shakeel.butt@linux.dev> (in S. Butt's '[PATCH 0/9] memcg: cleanup "
         "per-cpu stock'); upstream bc730030f956")
BABKA_SETUP = "kfree(kmalloc()) loop, 10M iterations, with / without __GFP_ACCOUNT (size and CPU not stated)"
ZHU = ("H. Zhu, 'mm/memcontrol: batch memcg charging in __memcg_slab_post_alloc_hook', 16 Mar 2026, "
       "<20260316084839.1342163-1-hui.zhu@linux.dev> (same figures in v3 "
       "<20260331091707.226786-1-hui.zhu@linux.dev>)")
ZHU_SETUP = ("kmem_cache_alloc_bulk() on a SLAB_ACCOUNT cache, bulk {n}, iters=100000 (size, CPU, free "
             "timing not stated)")
MIZUMA = ("M. Mizuma, 'Re: [PATCH v3 0/5] mm/memcg: Reduce kmemcache memory accounting overhead', 15 Apr "
          "2021, <20210415032642.gfaevezaxoj4od3d@gabell>")

_V59 = Side("upfront", "total", "v5.9")
_V514P = Side("upfront", "total", "v5.14", "preempt")
_V514I = Side("upfront", "total", "v5.14", "irqsave")
_SLAB = Side("none", "slab")
_LOCKS = ("irqsave", "preempt", "trylock")


def _long(key, src, size, turbo, measured, num, compared, note="", extra="", scenario=None):
    return Row(key, src, LONG_SETUP.format(size=size, turbo=turbo, extra=extra), compared, measured,
               scenario or dict(_LOOP, object_size=int(size.split()[0]) * (1024 if "KiB" in size else 1)),
               num, _SLAB, note=note, family="long-2021", profile="intel-skylake", hardware=CASCADE)


ROWS: list[Row] = [
    # -- W. Long's series, v1 to v6 (one module, one machine) -----------------------------
    _long("long-2021-v1-before", LONG_V1, "64 B", "on", 6.798 / 1.758, _V59,
          "accounted / unaccounted time, v5.12-rc without the series (v5.9 hooks)"),
    _long("long-2021", LONG_V1, "64 B", "on", 4.254 / 1.758, _V514P,
          "accounted / unaccounted time, with the series (patch 5: preempt_disable in task context)",
          note="the posted series also merged the free side's uncharge and statistics update "
               "(obj_cgroup_uncharge_mod_state): one preempt site and one call fewer per free than v5.14"),
    _long("long-2021-v3-none", LONG_V3, "64 B", "off", 10.800 / 2.848, _V59,
          "accounted / unaccounted time, v5.12-rc without the series (v5.9 hooks)"),
    _long("long-2021-v3-p15", LONG_V3, "64 B", "off", 6.801 / 2.848, _V514P,
          "accounted / unaccounted time, patches 1-5 (preempt_disable in task context)",
          note="as long-2021: the posted free side took one site fewer than v5.14"),
    _long("long-2021-v4-none", LONG_V4, "32 B", "off", 10.570 / 2.848, _V59,
          "accounted / unaccounted time, without the series (v5.9 hooks)"),
    _long("long-2021-v4-p15", LONG_V4, "32 B", "off", 7.192 / 2.848, _V514P,
          "accounted / unaccounted time, patches 1-5 (the v5.14 design, preempt_disable)"),
    _long("long-2021-v4-4k-none", LONG_V4, "4 KiB", "off", 20.612 / 2.890, _V59,
          "accounted / unaccounted time, 4 KiB objects, without the series (v5.9 hooks)",
          extra=" (2.890 s)"),
    _long("long-2021-v4-4k-p15", LONG_V4, "4 KiB", "off", 13.576 / 2.890, _V514P,
          "accounted / unaccounted time, 4 KiB objects, patches 1-5", extra=" (2.890 s)"),
    _long("long-2021-v6-none", LONG_V6, "32 B", "off", 11.634 / 3.130, _V59,
          "accounted / unaccounted time, batches of 4 (4 kmalloc, 4 kfree), linux-next-20210419 (v5.9 hooks)",
          scenario=dict(_MICRO, bulk_size=1, live_objects=4, object_size=32)),
    _long("long-2021-v6-p13", LONG_V6, "32 B", "off", 9.708 / 3.130, _V514I,
          "accounted / unaccounted time, batches of 4, patches 1-3 (statistics in the stock, irq-save)",
          scenario=dict(_MICRO, bulk_size=1, live_objects=4, object_size=32)),
    _long("long-2021-v6-p14", LONG_V6, "32 B", "off", 8.062 / 3.130, _V514P,
          "accounted / unaccounted time, batches of 4, patches 1-4 (v5.14 as merged: preempt_disable)",
          scenario=dict(_MICRO, bulk_size=1, live_objects=4, object_size=32)),
    # -- M. Mizuma, an independent run of Long's v3 ------------------------------------------
    Row("mizuma-2021", MIZUMA,
        "1.4M x kmem_cache_alloc + kmem_cache_free on KMEM_CACHE(dummy, SLAB_ACCOUNT), v5.12-rc7, "
        "Fedora 33 based config; CPU not stated; object size not stated (the model: 64 B)",
        "time with Long's v3 patches 1-5 / v5.12-rc7 vanilla, both accounted", 85 / 110,
        dict(_LOOP, object_size=64), _V514P, _V59, family="mizuma-2021"),
    # -- S. A. Siewior: the lock kind on the same code (training: sets the in-situ lock prices)
    Row("siewior-2022-snb-none", SIEWIOR, SIEWIOR_SETUP.format(preempt="Sandy Bridge, PREEMPT_NONE"),
        "NO-OPT / OPT time (v5.14 hooks: irq-save / preempt_disable at the 4 sites)",
        9_051_200_652 / 8_519_295_176, dict(_LOOP, object_size=128), _V514I, _V514P,
        family="siewior-2022", profile="intel-skylake", hardware="Sandy Bridge: intel-skylake",
        informs=_LOCKS),
    Row("siewior-2022-snb-preempt", SIEWIOR, SIEWIOR_SETUP.format(preempt="Sandy Bridge, CONFIG_PREEMPT"),
        "NO-OPT / OPT time (v5.14 hooks: irq-save / preempt_disable at the 4 sites)",
        11_198_189_843 / 10_627_431_395, dict(_LOOP, object_size=128), _V514I, _V514P,
        family="siewior-2022", profile="intel-skylake", hardware="Sandy Bridge: intel-skylake",
        informs=_LOCKS),
    Row("siewior-2022-zen2-none", SIEWIOR, SIEWIOR_SETUP.format(preempt="Zen 2, PREEMPT_NONE"),
        "NO-OPT / OPT time (v5.14 hooks: irq-save / preempt_disable at the 4 sites)",
        8_751_307_383 / 8_126_735_313, dict(_LOOP, object_size=128), _V514I, _V514P,
        family="siewior-2022", profile="amd-zen2", hardware="Zen 2: amd-zen2", informs=_LOCKS),
    Row("siewior-2022-zen2-preempt", SIEWIOR, SIEWIOR_SETUP.format(preempt="Zen 2, CONFIG_PREEMPT"),
        "NO-OPT / OPT time (v5.14 hooks: irq-save / preempt_disable at the 4 sites)",
        10_045_105_425 / 9_822_927_142, dict(_LOOP, object_size=128), _V514I, _V514P,
        family="siewior-2022", profile="amd-zen2", hardware="Zen 2: amd-zen2", informs=_LOCKS),
    # -- R. Gushchin: the v6.7 hooks against the ones before ----------------------------------
    Row("gushchin-2023-before", GUSHCHIN, GUSHCHIN_SETUP,
        "accounted (user cgroup, before the series: v6.6-rc) / kmem-disabled allocation time",
        84_548 / 29_764, dict(_ALLOC_ONLY, object_size=64),
        Side("upfront", "alloc", "v5.14", "irqsave"), Side("none", "slab_alloc"), family="gushchin-2023",
        note="v5.19-v6.6 ran the v5.14 code with local_lock_irqsave at the obj-stock sites"),
    Row("gushchin-2023", GUSHCHIN, GUSHCHIN_SETUP,
        "accounted (user cgroup, patched: v6.7 hooks) / kmem-disabled allocation time",
        59_078 / 29_764, dict(_ALLOC_ONLY, object_size=64),
        Side("upfront", "alloc"), Side("none", "slab_alloc"), family="gushchin-2023"),
    Row("gushchin-2023-gain", GUSHCHIN, GUSHCHIN_SETUP,
        "accounted allocation time after / before the series", 59_078 / 84_548,
        dict(_ALLOC_ONLY, object_size=64),
        Side("upfront", "alloc"), Side("upfront", "alloc", "v5.14", "irqsave"), family="gushchin-2023"),
    # -- V. Babka (S. Butt's series): the combined charge and account --------------------------
    Row("babka-2025-before", BABKA, BABKA_SETUP,
        "accounted / unaccounted cycles, before the patch (v6.10-v6.15 hooks: upfront, 4 irq-save sites)",
        783_689_984 / 581_390_144, dict(_LOOP, object_size=64), Side("upfront", "total"), _SLAB,
        family="babka-2025"),
    Row("babka-2025-after", BABKA, BABKA_SETUP,
        "accounted / unaccounted cycles, after the patch (per_object, localtry_lock_irqsave: "
        "2 irq-save sites)",
        658_723_808 / 581_390_144, dict(_LOOP, object_size=64),
        Side("per_object", "total", "mainline-2026", "irqsave"), _SLAB, family="babka-2025"),
    Row("babka-2025-gain", BABKA, BABKA_SETUP,
        "accounted cycles after / before the patch (per_object with irq-save / upfront)",
        658_723_808 / 783_689_984, dict(_LOOP, object_size=64),
        Side("per_object", "total", "mainline-2026", "irqsave"), Side("upfront", "total"),
        family="babka-2025"),
    # -- H. Zhu: the first batching patch -------------------------------------------------------
    Row("zhu-2026-bulk32", ZHU, ZHU_SETUP.format(n=32),
        "ns/object after / before the batching patch (batched_v1 / per_object)", 174 / 215,
        dict(_MICRO, bulk_size=32, object_size=256, live_objects=0),
        Side("batched_v1", "total"), Side("per_object", "total"), family="zhu-2026"),
    Row("zhu-2026-bulk1", ZHU, ZHU_SETUP.format(n=1),
        "ns/object after / before the batching patch (batched_v1 / per_object)", 335 / 344,
        dict(_MICRO, bulk_size=1, object_size=256, live_objects=0),
        Side("batched_v1", "total"), Side("per_object", "total"), family="zhu-2026"),
]


def _form(result, side: Side, prof: Profile) -> np.ndarray:
    run = result.runs[side.strategy]
    co = coefficients(prof, side.strategy, run.counters, depth=result.scenario.depth,
                      entries=phase_entries(run.counters), kernel=run.kernel, stock_lock=side.stock_lock)
    objects = max(int(run.counters[:, EVENTS.index("objects")].sum()), 1)
    return co[list(PARTS[side.part])].sum(axis=0) / objects


def _scenario(row: Row, calls: int) -> Scenario:
    scn = Scenario(name=f"validate-{row.key}", **row.scenario).replace(calls=calls)
    if row.scenario.get("live_objects", 0) > 1000:  # allocation-only: nothing freed during the run
        scn = scn.replace(live_objects=min(max(calls * scn.bulk_size, 1), 50_000_000))
    return scn


def _simulate(row: Row, calls: int, seed: int, memo: dict | None) -> dict:
    """The runs of the row's two sides: one simulation per generation asked for."""
    from ..run.simulate import simulate

    scn = _scenario(row, calls)
    out = {}
    by_kernel: dict[str, set] = {}
    for side in (row.num, row.den):
        by_kernel.setdefault(side.kernel, set()).add(side.strategy)
    for kernel, strategies in by_kernel.items():
        s = scn.replace(kernel=kernel)
        key = (s.to_json(), tuple(sorted(strategies)), seed)
        if memo is not None and key in memo:
            res = memo[key]
        else:
            res = simulate(s, strategies=sorted(strategies), profile=DEFAULT_PROFILE, seed=seed)
            if memo is not None:
                memo[key] = res
        out[kernel] = res
    return out


def predict(row: Row, *, calls: int, seed: int = 0, profile: str | None = None, lofo: bool = True,
            memo: dict | None = None) -> dict:
    """The model's ratio for ``row``: central value and range over the unit-cost box, on
    ``profile`` (default: the one the row's hardware implies); a test row is priced
    without its own family's in-situ evidence (``lofo``)."""
    name = profile or row.profile
    prof = get_profile(name)
    if lofo and row.role == "test":
        prof = prof.without(row.family)
    runs = _simulate(row, calls, seed, memo)
    a = _form(runs[row.num.kernel], row.num, prof)
    b = _form(runs[row.den.kernel], row.den, prof)
    box = Box.of(prof)
    lo, hi, exact = ratio_range(a, b, box)
    c = central(a, box) / central(b, box)
    return {"key": row.key, "family": row.family, "role": row.role, "source": row.source,
            "setup": row.setup, "compared": row.compared, "measured": row.measured, "predicted": c,
            "low": lo, "high": hi, "exact": exact, "inside": bool(lo <= row.measured <= hi),
            "profile": name, "hardware": row.hardware, "note": row.note,
            "sim_halfwidth": sim_halfwidth(runs, row, prof)}


def sim_halfwidth(runs: dict, row: Row, prof: Profile) -> float | None:
    """The 95% half-width of the predicted (central) ratio from the simulation error: batch
    means on the paired batches of the two sides (the same calls of the same seed;
    ``engine.results.error``), each part's phases priced per batch as the summary prices
    them; None when the run is too short for an estimate."""
    import math

    from .error import MIN_ESTIMATE_BATCHES, estimate

    sides = []
    for side in (row.num, row.den):
        s = estimate(runs[side.kernel], prof)
        if s.n < MIN_ESTIMATE_BATCHES:
            return None
        sides.append((s, s.batches[side.strategy]["cycles"][:, list(PARTS[side.part])].sum(axis=1)))
    (s, y), (s2, x) = sides
    if y.shape != x.shape:
        return None
    hw = s.halfwidth(y, x)
    return hw if math.isfinite(hw) else None


def validate(*, calls: int = 20_000, seed: int = 0, profile: str | None = None,
             only: list[str] | None = None, rows: list[Row] | None = None) -> list[dict]:
    """Predict every row (``rows`` default: ``ROWS``; ``only``: these keys)."""
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
        raise BulksimError(f"validate: calls must be >= 1, got {calls}")
    table = ROWS if rows is None else list(rows)
    keys = [r.key for r in table]
    for k in only or []:
        if k not in keys:
            raise BulksimError(f"validate: unknown row {k!r}; rows: {', '.join(keys)}")
    memo: dict = {}
    return [predict(r, calls=calls, seed=seed, profile=profile, memo=memo)
            for r in table if not only or r.key in only]


MEASURED_FAMILY = "bulksim-measure"  # rows of ``validate --measured`` (engine/measure/validate_rows.py)


def _role(r: dict) -> str:
    return r.get("role", "test")


def scores(rows: list[dict]) -> dict:
    """Test rows inside, overall and per profile: ``{"test": (inside, n), "train": (...),
    "profiles": {name: (inside, n)}}``.  A result without a role (a row built elsewhere,
    e.g. ``validate --measured``) is a test row."""
    test = [r for r in rows if _role(r) == "test"]
    train = [r for r in rows if _role(r) == "train"]
    per: dict[str, list] = {}
    for r in test:
        per.setdefault(r["profile"], []).append(r["inside"])
    return {"test": (sum(r["inside"] for r in test), len(test)),
            "train": (sum(r["inside"] for r in train), len(train)),
            "profiles": {k: (sum(v), len(v)) for k, v in sorted(per.items())}}


def score_text(sc: dict) -> str:
    n_in, n = sc["test"]
    if not n:
        return "no test rows"
    per = "; ".join(f"{k} {a} of {b}" for k, (a, b) in sc["profiles"].items())
    return f"{n_in} of {n} test rows inside ({100 * n_in / n:.0f}%; {per})"


def validation_text(rows: list[dict], fmt: str = "table") -> str:
    if fmt not in ("table", "md"):
        raise BulksimError(f"validate: output format must be table or md, got {fmt!r}")
    head = ["row", "family", "role", "profile", "compared", "measured", "model", "model range", "inside"]
    body = [[r["key"], r.get("family", MEASURED_FAMILY), _role(r), r["profile"], r["compared"],
             f"{r['measured']:.3f}",
             f"{r['predicted']:.3f}" + (f" ±{r['sim_halfwidth']:.3f}" if r.get("sim_halfwidth") is not None else ""),
             f"{r['low']:.3f} .. {r['high']:.3f}" + ("" if r.get("exact", True) else " (bound)"),
             "yes" if r["inside"] else "NO"] for r in rows]
    if fmt == "md":
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in body]
    else:
        w = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
        out = ["  ".join(c.ljust(w[i]) for i, c in enumerate(head)), "  ".join("-" * x for x in w)]
        out += ["  ".join(c.ljust(w[i]) for i, c in enumerate(line)) for line in body]
    out.append("")
    if not rows:
        out.append("(no rows)")
        return "\n".join(out)
    sc = scores(rows)
    t_in, t_n = sc["train"]
    out.append(f"Test (leave-one-family-out, each row on the profile its hardware implies unless --profile): "
               f"{score_text(sc)}.")
    if t_n:
        out.append(f"Training rows (their measurements set the in-situ lock prices; not scored): "
                   f"{t_in} of {t_n} inside.")
    out.append("model ±: 95% interval of the simulation error of the central value (batch means).")
    out.append("Sources, setups and mappings: docs/validation.md.")
    return "\n".join(out)


def strict_failures(rows: list[dict]) -> list[str]:
    """The test rows outside their range (``bulksim validate --strict`` fails on any)."""
    return [r["key"] for r in rows if _role(r) == "test" and not r["inside"]]


# -- the one line ``bulksim run`` prints: cached on disk, keyed by the sources' hash --------

SUMMARY_CALLS = 2000  # calls per row for the cached summary (docs/validation.md)
_SOURCES = ("engine/inputs/costs.py", "engine/inputs/scenario.py", "engine/results/validate.py",
            "engine/results/ranges.py")


def summary_key() -> str:
    """Hash of every source the summary depends on: the kernels and the pricing."""
    from ..model.jit import source_hash

    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256(source_hash().encode())
    for rel in _SOURCES:
        h.update(rel.encode())
        h.update((root / rel).read_bytes())
    return h.hexdigest()[:16]


def summary_path() -> Path:
    from ..model.jit import cache_dir

    return Path(cache_dir()).parent / f"validation-{summary_key()}.json"


def cached_summary(compute: bool = True) -> dict | None:
    """The test score of ``ROWS`` at ``SUMMARY_CALLS`` calls a row, seed 0: read from the
    cache, or computed once and written there (atomically; an unwritable cache is
    skipped).  ``compute=False``: None on a miss."""
    path = summary_path()
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    if not compute:
        return None
    sc = scores(validate(calls=SUMMARY_CALLS))
    data = {"calls": SUMMARY_CALLS, "test": list(sc["test"]), "train": list(sc["train"]),
            "profiles": {k: list(v) for k, v in sc["profiles"].items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass
    return data


def trust_line() -> str:
    """One line for ``bulksim run``: how the model fared on the published test rows."""
    try:
        d = cached_summary()
    except BulksimError as e:  # the run itself stands; say why the check is missing
        return f"Model check: not available ({e}); see bulksim validate"
    sc = {"test": tuple(d["test"]), "profiles": {k: tuple(v) for k, v in d["profiles"].items()}}
    n_in, n = sc["test"]
    per = "; ".join(f"{k} {a} of {b}" for k, (a, b) in sc["profiles"].items())
    return (f"Model check: {n_in} of {n} published test measurements fall inside the model's range "
            f"({per}; held out by source family, {d['calls']} calls a row): see bulksim validate")
