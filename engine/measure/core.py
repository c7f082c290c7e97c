"""``engine.measure.measure``: run the workloads, attribute the samples, put the model beside."""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field

import pyarrow as pa

from ..errors import BadInputError
from . import attribute, env, model, run
from .symbols import symbol_set
from .workloads import PHASES, WORKLOADS

MAX_SECONDS = 60.0
MAX_REPEATS = 50
MAX_OBJECTS = 10**9
DEFAULT_WORKLOADS = ("io_uring_nop", "open_close", "eventfd_dentry")


@dataclass
class Measurement:
    table: pa.Table
    provenance: dict
    scenarios: dict = field(default_factory=dict)  # workload -> engine.simulate overrides

    def scenario(self, workload: str) -> dict:
        """engine.simulate scenario overrides matching ``workload`` (as measured)."""
        if workload not in self.scenarios:
            raise BadInputError(f"measurement has no workload {workload!r}; it has "
                                f"{', '.join(self.scenarios) or 'none'}")
        return dict(self.scenarios[workload])

    @property
    def workloads(self) -> list[str]:
        return list(self.scenarios)


def parse_workloads(spec) -> list:
    if spec is None:
        names = list(DEFAULT_WORKLOADS)
    elif isinstance(spec, str):
        names = [x.strip() for x in spec.split(",") if x.strip()]
    else:
        names = list(spec)
    if not names:
        raise BadInputError("measure: no workload named; known: " + ", ".join(WORKLOADS))
    out = []
    for n in names:
        if n not in WORKLOADS:
            raise BadInputError(f"measure: unknown workload {n!r}; known: {', '.join(WORKLOADS)}")
        if WORKLOADS[n] not in out:
            out.append(WORKLOADS[n])
    return out


def _check_number(value, what: str, lo: float, hi: float, integer: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise BadInputError(f"measure: {what} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not (lo <= value <= hi) or (isinstance(value, float) and math.isnan(value)):
        raise BadInputError(f"measure: {what} must be in {lo:g}..{hi:g}, got {value!r}")
    return value


def measure(workloads=None, *, seconds: float = 1.0, repeats: int = 3, progress=None,
            max_objects: int | None = None, unaccounted: bool = False, profile: str | None = None,
            model_calls: int = model.MODEL_CALLS, cpu: int = -1, period_ns: int = run.PERIOD_NS) -> "Measurement":
    """Measure ``workloads`` (names; default: all three) on the running kernel, ``repeats``
    runs of at most ``seconds`` (and ``max_objects`` objects) each, and put the model's
    prediction for the matching scenario beside every phase.

    ``progress``: None, or a callable taking one line of text per step."""
    from ..inputs.costs import DEFAULT_PROFILE, get_profile
    from ..results.tables import git_commit

    wls = parse_workloads(workloads)
    _check_number(seconds, "seconds", 0.01, MAX_SECONDS)
    _check_number(repeats, "repeats", 1, MAX_REPEATS, integer=True)
    limit = MAX_OBJECTS if max_objects is None else _check_number(max_objects, "max_objects", 1, MAX_OBJECTS, True)
    _check_number(model_calls, "model_calls", 1, 10_000_000, integer=True)
    _check_number(cpu, "cpu", -1, 1 << 20, integer=True)
    _check_number(period_ns, "period_ns", 10_000, 10_000_000, integer=True)
    import os

    allowed = sorted(os.sched_getaffinity(0))
    if cpu != -1 and cpu not in allowed:
        raise BadInputError(f"measure: cpu {cpu} is not one this process may run on "
                            f"({', '.join(map(str, allowed))}); -1: where the workload starts")
    profile = DEFAULT_PROFILE if profile is None else profile
    get_profile(profile)
    say = progress or (lambda line: None)

    e = env.check_environment(wls, unaccounted=unaccounted)
    driver = run.driver_path()
    sset = symbol_set(e.release)
    gen, strategy, statement = model.generation(e.release, unaccounted)
    nodes = env.numa_nodes()
    clocks = [run.measure_clock(driver)]
    parts: dict[str, list] = {w.name: [] for w in wls}
    counts: dict[str, list] = {w.name: [] for w in wls}
    totals = {w.name: 0 for w in wls}
    leaves: dict[str, dict] = {w.name: {} for w in wls}
    for r in range(repeats):  # interleaved: a slow spell of the machine hits every workload
        for w in wls:
            say(f"measure: {w.name}, repeat {r + 1} of {repeats} ({seconds:g} s)")
            rec = run.record(e.perf, driver, w.name, seconds=seconds, max_objects=limit, cpu=cpu,
                             period_ns=period_ns)
            samples = attribute.parse_script(rec.script)
            phase, per = attribute.classify(samples, w, sset, filter_sites=not unaccounted)
            parts[w.name].append(attribute.batches(phase, per, rec.objects))
            totals[w.name] += len(samples)
            attribute.leaf_time(samples, phase, leaves[w.name])
            counts[w.name].append(rec)
    clocks.append(run.measure_clock(driver))
    clock = max(clocks)

    commit, dirty = git_commit()
    prov = {
        "kernel": e.release,
        "kernel_version": (env._read(f"{env.PROC}/sys/kernel/version") or "").strip(),
        "cpu": env.cpu_model(),
        "clock_ghz": f"{clock:.4f}",
        "clock_method": "best of 21 timings, in thread CPU time, of a dependent register add chain (1 cycle/add), "
                        f"before and after the runs: {', '.join(f'{c:.3f}' for c in clocks)} GHz",
        "perf_version": env.perf_version(e.perf),
        "perf_command": f"perf record -e cpu-clock -c {period_ns} -g -- <driver> WORKLOAD",
        "period_ns": str(period_ns),
        "preempt": env.preempt_model(),
        "memcg": f"{e.memcg.version} {e.memcg.path}",
        "memcg_root": str(e.memcg.is_root).lower(),
        "kmem_accounting": "off (root memcg)" if e.memcg.is_root else "on",
        "config": json.dumps(env.config_facts(), sort_keys=True),
        "nodes": str(nodes),
        "symbols": sset.releases + ": " + sset.note,
        "generation": gen,
        "strategy": strategy,
        "generation_note": statement,
        "profile": profile,
        "model_calls": str(model_calls),
        "seconds": f"{seconds:g}",
        "repeats": str(repeats),
        "unaccounted": str(unaccounted).lower(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit + ("-dirty" if dirty else ""),
    }
    rows, scenarios, caches = [], {}, {}
    for w in wls:
        size = env.slab_object_size(w.cache) or w.object_size
        attrs = env.slab_attrs(w.cache)
        caches[w.cache] = attrs
        over = model.scenario_overrides(w, object_size=size, nodes=nodes, objs_per_slab=attrs.get("objs_per_slab", 0))
        scenarios[w.name] = over
        say(f"measure: model for {w.name} ({gen}, {strategy})")
        pred = model.predict(over, strategy, profile=profile, calls=model_calls, name=f"measure-{w.name}")
        mder = model.derived(pred, w.phases_captured)
        est = attribute.estimates(attribute.Batches.concat(parts[w.name]), w.phases_captured)
        objects = sum(c.objects for c in counts[w.name])
        calls = sum(c.calls for c in counts[w.name])
        for j, ph in enumerate(PHASES):
            m = est["per_object"][j]
            cyc, clo, chi = pred["phases"][ph]
            mns, mlo, mhi = cyc / clock, clo / clock, chi / clock
            captured = ph in w.phases_captured
            rows.append(dict(
                workload=w.name, phase=ph, captured=captured, cache=w.cache, object_size=size,
                bulk_size=w.bulk_size, live_objects=w.live_objects, objects=objects, calls=calls,
                repeats=repeats, samples=int(est["samples"][j]),
                samples_total=totals[w.name],
                ns_per_object=m.value, ns_per_object_low=m.low, ns_per_object_high=m.high,
                cycles_per_object=m.value * clock,
                hook_share=est["hook_share"].value, hook_share_low=est["hook_share"].low,
                hook_share_high=est["hook_share"].high,
                accounted_ratio=est["accounted_ratio"].value, accounted_ratio_low=est["accounted_ratio"].low,
                accounted_ratio_high=est["accounted_ratio"].high,
                model_kernel=pred["kernel"], model_strategy=strategy,
                model_cycles_per_object=cyc, model_cycles_low=clo, model_cycles_high=chi,
                model_ns_per_object=mns, model_ns_low=mlo, model_ns_high=mhi,
                ratio=(m.value / mns) if captured and mns > 0 else math.nan,
                ratio_low=(m.value / mhi) if captured and mhi > 0 else math.nan,
                ratio_high=(m.value / mlo) if captured and mlo > 0 else math.nan,
                model_hook_share=mder["hook_share"][0], model_hook_share_low=mder["hook_share"][1],
                model_hook_share_high=mder["hook_share"][2],
                model_accounted_ratio=mder["accounted_ratio"][0],
                model_accounted_ratio_low=mder["accounted_ratio"][1],
                model_accounted_ratio_high=mder["accounted_ratio"][2],
                not_captured="" if captured else w.not_captured,
                top_functions=attribute.top_text(leaves[w.name].get(j, {})),
            ))
    from .output import build_table

    prov["scenarios"] = json.dumps(scenarios, sort_keys=True)
    prov["caches"] = json.dumps(caches, sort_keys=True)  # /sys/kernel/slab facts per cache
    return Measurement(build_table(rows, prov), prov, scenarios)
