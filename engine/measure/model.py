"""The model's side of a measurement: the generation nearest to the running kernel and
its prediction, per phase, for the scenario that matches a workload.

Release -> generation (docs/model.md §5a; docs/measure.md):

=============  ===============  ===========================================================
release        generation       how the running kernel's hook compares
=============  ===============  ===========================================================
< 6.10         v6.12 (upfront)  matches none: before v6.10 the hook charged and accounted
                                each object in two separate obj-stock round trips
6.10 - 6.15    v6.12 (upfront)  the same hook: charge size * obj_full_size up front, then a
                                locked statistics update per object
6.16 - 6.18    mainline-2026    matches none exactly: the per-object hook of bc730030f956
               (per_object)     (v6.16) is the model's per_object, but the obj stock is the
                                one-objcg-per-memcg stock of v6.16-v6.18, before the 2026
                                obj-stock cleanup and the per-node objcgs of 01b9da291c49
                                (on one node the per-node objcgs change nothing)
> 6.18         mainline-2026    not checked: newer kernels may be mainline-2026 or later
=============  ===============  ===========================================================
"""

from __future__ import annotations

import numpy as np

from ..inputs.costs import DEFAULT_PROFILE, coefficients, get_profile, phase_entries
from ..model.events import EVENTS, PH_FREE_HOOK, PH_HOOK, PH_SLAB_ALLOC, PH_SLAB_FREE
from ..results.ranges import Box, central, form_range, ratio_range
from .symbols import release_tuple
from .workloads import PHASES

MODEL_CALLS = 20_000
PHASE_INDEX = {"post_alloc_hook": PH_HOOK, "free_hook": PH_FREE_HOOK, "slab_alloc": PH_SLAB_ALLOC,
               "slab_free": PH_SLAB_FREE}


def generation(release: str, unaccounted: bool = False) -> tuple[str, str, str]:
    """(generation, strategy, statement) for a kernel release."""
    v = release_tuple(release)
    if unaccounted:
        return "mainline-2026", "none", "unaccounted path (root memcg): the model's 'none' strategy"
    if v < (6, 10):
        return "v6.12", "upfront", (f"{release}: matches none of the generations (before v6.10 the "
                                    "hook charged and accounted each object separately); nearest v6.12")
    if v < (6, 16):
        return "v6.12", "upfront", f"{release}: the v6.10-v6.15 hook, the model's v6.12 generation"
    if v <= (6, 18):
        return "mainline-2026", "per_object", (
            f"{release}: matches none exactly; its hook is the per-object hook of bc730030f956 "
            "(v6.16), the model's per_object, on the v6.16-v6.18 obj stock (one objcg per memcg, "
            "before the 2026 obj-stock cleanup and the per-node objcgs of 01b9da291c49); nearest "
            "mainline-2026")
    return "mainline-2026", "per_object", f"{release}: newer than 6.18, not checked; assumed mainline-2026"


def scenario_overrides(workload, *, object_size: int, nodes: int, objs_per_slab: int = 0) -> dict:
    """engine.simulate scenario fields matching a workload: one pinned task (cpus=1) in one
    non-root memcg that does not change, the machine's nodes, nothing remote, and the
    cache's objects per slab when the kernel says (/sys/kernel/slab; 0: the model's own)."""
    out = dict(cpus=1, nodes=nodes, memcgs=1, cgroup_switch_prob=0.0, remote_free_prob=0.0,
               kfence_prob=0.0, bulk_size=workload.bulk_size, object_size=int(object_size),
               live_objects=workload.live_objects, free_bulk=1)
    if 4 <= objs_per_slab <= 1024:  # the model's bounds (engine/inputs/scenario.py)
        out["objs_per_slab"] = int(objs_per_slab)
    return out


def predict(overrides: dict, strategy: str, *, profile: str = DEFAULT_PROFILE, calls: int = MODEL_CALLS,
            seed: int = 0, name: str = "measure") -> dict:
    """Per phase: cycles per object at central unit costs and its exact range (max(chain, issue)); the hook
    share and accounted/unaccounted ratio (over ``phases``) with their ranges."""
    from ..inputs.scenario import Scenario
    from ..run.simulate import simulate

    scn = Scenario(name=name, **overrides).replace(calls=calls)
    res = simulate(scn, strategies=[strategy], profile=profile, seed=seed)
    prof = get_profile(profile)
    run = res.runs[strategy]
    co = coefficients(prof, strategy, run.counters, depth=scn.depth, entries=phase_entries(run.counters),
                      kernel=run.kernel)
    objects = max(int(run.counters[:, EVENTS.index("objects")].sum()), 1)
    box = Box.of(prof)  # each phase a region: max(chain, issue) (docs/costs.md)
    out = {"kernel": run.kernel, "strategy": strategy, "profile": profile, "calls": calls, "seed": seed,
           "objects": objects, "phases": {}, "forms": {}}
    for ph in PHASES:
        c = co[PHASE_INDEX[ph]] / objects
        a, b = form_range(c, box)
        out["phases"][ph] = (central(c, box), a, b)
        out["forms"][ph] = c
    return out


def derived(pred: dict, phases: tuple[str, ...]) -> dict:
    """Hook share and accounted/unaccounted over ``phases``, central with ranges (exact or proven bounds)."""
    prof = get_profile(pred["profile"])
    box = Box.of(prof)
    zero = np.zeros(len(prof.names))
    f = pred["forms"]
    hooks = sum((f[p] for p in phases if p in ("post_alloc_hook", "free_hook")), zero)
    slab = sum((f[p] for p in phases if p in ("slab_alloc", "slab_free")), zero)
    out = {}
    # the captured phases as one region each side (max forms): exact or proven bounds
    for key, num, den in (("hook_share", hooks, hooks + slab), ("accounted_ratio", hooks + slab, slab)):
        if not form_range(den, box)[0] > 0:
            out[key] = (float("nan"),) * 3
            continue
        a, b, _ = ratio_range(num, den, box)
        out[key] = (central(num, box) / central(den, box), a, b)
    return out
