"""From measured phase times to a host cost profile (``bulksim calibrate``, docs/calibrate.md).

1. ``bulksim measure`` (``engine.measure``) times each workload on the running kernel
   per phase: the post-alloc hook, the free hook, slab allocation, slab free, in ns
   per object with an interval.  Times the measured clock, that is cycles per object.
2. The model simulates the scenario matching each workload
   (``Measurement.scenario``) and counts every event of those phases; the cost model
   turns the counts into predicted cycles per object as a function of the unit costs
   (``engine.inputs.costs.coefficients``: linear).
3. ``engine.calibrate.fit`` fits the unit costs to the measured rows inside the
   published ranges.  The unit costs the data pin get the fitted value with a
   low/high from the fit's uncertainty; the others keep the published values.
4. Leave one workload out: fit on the others, predict its phases.
"""

from __future__ import annotations

import datetime as _dt
import math
import socket
from dataclasses import dataclass, field

import numpy as np

from ..errors import BadInputError, BulksimError
from ..inputs.costs import PROFILES, Cost, Profile, coefficients, get_profile, phase_entries
from ..model.events import EVENTS, PH_FREE_HOOK, PH_HOOK, PH_SLAB_ALLOC, PH_SLAB_FREE
from . import fit as fitmod

# bulksim measure's phase names -> the model's phase rows
PHASE_INDEX = {"post_alloc_hook": PH_HOOK, "free_hook": PH_FREE_HOOK,
               "slab_alloc": PH_SLAB_ALLOC, "slab_free": PH_SLAB_FREE}
# a measured interval is a 95% one: sd = (high - low) / (2 * 1.96)
Z95 = 1.96
# The model's own error per row, a fraction of the measured value, added in quadrature
# to the measurement's sd: the counts are exact but a phase also does work no unit cost
# prices (branches, loads around the counted events).  10%: the spread of the published
# figures the central values come from is larger; a smaller floor lets one row decide.
MODEL_RELATIVE_SD = 0.10
# a row whose fitted value is more than this many sds from the measurement is a misfit:
# the model cannot reach it inside the box (work the model does not simulate)
MISFIT_SDS = 3.0
STRATEGY = "per_object"  # the running kernel's hook: mainline, one charge per object


@dataclass
class Row:
    workload: str
    phase: str
    measured_ns: float
    sd_ns: float
    samples: int


@dataclass
class Design:
    """The data of a fit: measured rows and, per row, the model's cycles per object
    as a linear form over the base profile's unit costs."""

    rows: list[Row]
    A: np.ndarray               # [rows, unit costs]: predicted cycles/object = A @ x
    base: Profile               # the published profile: prior, box, kept values
    clock_ghz: float            # the measured clock: ns * clock = cycles
    scenarios: dict = field(default_factory=dict)  # workload -> (Scenario, strategy)

    @property
    def y(self) -> np.ndarray:
        return np.array([r.measured_ns for r in self.rows]) * self.clock_ghz

    @property
    def s(self) -> np.ndarray:
        ns = np.array([max(math.hypot(r.sd_ns, MODEL_RELATIVE_SD * r.measured_ns), 1e-3) for r in self.rows])
        return ns * self.clock_ghz

    def model(self, rows=None) -> fitmod.PhaseModel:
        """Predicted cycles per object of the rows as a function of the unit costs: the
        linear sum of today's profiles, or, for a profile with issue costs (the overlap
        model), the larger of the chain (fitted) and the issue cost (kept)."""
        A = self.A if rows is None else self.A[rows]
        issue = issue_vector(self.base)
        if issue is None:
            return fitmod.LinearModel(A)
        return fitmod.MaxModel(A, A @ issue)

    def workloads(self) -> list[str]:
        return list(dict.fromkeys(r.workload for r in self.rows))


def issue_vector(profile: Profile):
    """The central issue costs of an overlap-model profile in ``names`` order, or None
    for a profile without any (the linear sum model)."""
    issue = getattr(profile, "issue", None)
    if not issue:
        return None
    return np.array([issue[n].central if n in issue else 0.0 for n in profile.names], dtype=np.float64)


def measured_rows(table) -> list[Row]:
    """The rows of a ``Measurement.table`` (pyarrow, or a list of dicts) a fit can use:
    a known phase, samples, a finite positive time.  Phases without samples (not
    captured) are left out."""
    rows = table.to_pylist() if hasattr(table, "to_pylist") else list(table)
    out = []
    for r in rows:
        ph = r.get("phase")
        if ph not in PHASE_INDEX:
            raise BadInputError(f"measurement row with unknown phase {ph!r} (known: {', '.join(PHASE_INDEX)})")
        ns, lo, hi = (r.get(k) for k in ("ns_per_object", "ns_per_object_low", "ns_per_object_high"))
        samples = int(r.get("samples") or 0)
        if samples <= 0 or ns is None or not math.isfinite(ns) or ns <= 0:
            continue
        lo = ns if lo is None or not math.isfinite(lo) else lo
        hi = ns if hi is None or not math.isfinite(hi) else hi
        out.append(Row(str(r["workload"]), ph, float(ns), max(float(hi) - float(lo), 0.0) / (2 * Z95), samples))
    return out


def scenario_for(overrides: dict, *, name: str = "calibrate", strategy: str | None = None):
    """(Scenario, strategy) from ``Measurement.scenario(workload)``: scenario fields
    (``engine.measure``: cpus, nodes, memcgs, bulk and object size, live set, ...), on
    a preset if it names one under ``scenario``; the strategy is the one the running
    kernel's hook corresponds to (``Measurement.provenance['strategy']``)."""
    from ..inputs.scenario import Scenario

    d = dict(overrides)
    strategy = d.pop("strategy", None) or strategy or STRATEGY
    preset = d.pop("scenario", None) or d.pop("preset", None)
    if preset is None:
        return Scenario(name=name, **d), strategy
    scn = preset if isinstance(preset, Scenario) else Scenario.from_preset(preset)
    return (scn.replace(**d) if d else scn), strategy


def model_forms(scn, strategy: str, base: Profile, *, calls: int, seed: int) -> np.ndarray:
    """Per phase, the model's cycles per object as a linear form: ``[4, unit costs]``."""
    from ..run.simulate import simulate

    from ..results.ranges import run_pricing

    res = simulate(scn, strategies=[strategy], profile=_builtin_name(base), seed=seed, calls=calls)
    run = res.runs[strategy]
    co = coefficients(base, strategy, run.counters, depth=scn.depth, entries=phase_entries(run.counters),
                      **run_pricing(res, strategy))
    objects = max(int(run.counters[:, EVENTS.index("objects")].sum()), 1)
    return co / objects


def _builtin_name(p: Profile) -> str:
    return p.name if p.name in PROFILES else "intel-skylake"  # pricing is redone here, on ``p``


def build_design(rows: list[Row], scenarios: dict, base: Profile, clock_ghz: float, *,
                 calls: int = 20_000, seed: int = 0) -> Design:
    """Simulate every workload's scenario and line its phase forms up with the rows."""
    if not rows:
        raise BulksimError("calibrate: no measured phase has samples; nothing to fit")
    if not (isinstance(clock_ghz, (int, float)) and 0.1 <= clock_ghz <= 20):
        raise BulksimError(f"calibrate: the measured clock {clock_ghz!r} GHz is not usable")
    forms = {}
    for w in dict.fromkeys(r.workload for r in rows):
        if w not in scenarios:
            raise BulksimError(f"calibrate: no scenario for workload {w!r}")
        scn, strategy = scenarios[w]
        forms[w] = model_forms(scn, strategy, base, calls=calls, seed=seed)
    A = np.array([forms[r.workload][PHASE_INDEX[r.phase]] for r in rows])
    return Design(rows, A, base, float(clock_ghz), scenarios)


@dataclass
class Calibration:
    design: Design
    result: fitmod.FitResult
    low: np.ndarray
    high: np.ndarray
    loo: list[dict]
    profile: Profile | None = None
    document: dict | None = None

    def residual_rows(self) -> list[dict]:
        d, r = self.design, self.result
        published = d.model().predict(d.base.vector("central"))
        out = []
        for i, row in enumerate(d.rows):
            fitted = r.predicted[i] / d.clock_ghz
            out.append({"workload": row.workload, "phase": row.phase, "measured_ns": row.measured_ns,
                        "measured_sd_ns": row.sd_ns, "fitted_ns": float(fitted),
                        "published_ns": float(published[i] / d.clock_ghz),
                        "relative": float((fitted - row.measured_ns) / row.measured_ns),
                        "sds": float(r.residuals[i] / d.s[i]),
                        "misfit": bool(abs(r.residuals[i]) > MISFIT_SDS * d.s[i])})
        return out


def run_fit(design: Design) -> fitmod.FitResult:
    b = design.base
    return fitmod.fit_pinned(design.model(), design.y, design.s, b.vector("low"), b.vector("central"),
                             b.vector("high"))


def leave_one_out(design: Design) -> list[dict]:
    """Fit on every workload but one, predict each phase of the one left out (and
    their sum, ``phase = total``): ns per object and relative error."""
    b = design.base
    lo, mid, hi = b.vector("low"), b.vector("central"), b.vector("high")
    out = []
    works = design.workloads()
    if len(works) < 2:
        return out
    y, s = design.y, design.s
    for w in works:
        train = np.array([r.workload != w for r in design.rows])
        test = np.flatnonzero(~train)
        res = fitmod.fit_pinned(design.model(np.flatnonzero(train)), y[train], s[train], lo, mid, hi)
        x = np.where(res.pinned, res.x, mid)
        pred = design.model(test).predict(x) / design.clock_ghz
        pub = design.model(test).predict(mid) / design.clock_ghz
        meas = np.array([design.rows[i].measured_ns for i in test])
        for k, i in enumerate(test):
            out.append({"workload": w, "phase": design.rows[i].phase, "measured_ns": float(meas[k]),
                        "predicted_ns": float(pred[k]), "published_ns": float(pub[k]),
                        "relative": float((pred[k] - meas[k]) / meas[k]),
                        "published_relative": float((pub[k] - meas[k]) / meas[k])})
        tm, tp, tb = float(meas.sum()), float(pred.sum()), float(pub.sum())
        out.append({"workload": w, "phase": "total", "measured_ns": tm, "predicted_ns": tp,
                    "published_ns": tb, "relative": (tp - tm) / tm, "published_relative": (tb - tm) / tm})
    return out


def calibrate_design(design: Design, *, provenance: dict | None = None, name: str | None = None) -> Calibration:
    """The fit, the host profile and its document, and the leave-one-out table."""
    from ..inputs.profile_file import document

    res = run_fit(design)
    lo, hi = fitmod.low_high(res, design.base.vector("low"), design.base.vector("high"))
    cal = Calibration(design, res, lo, hi, leave_one_out(design))
    prov = dict(provenance or {})
    host = prov.get("host") or socket.gethostname()
    date = prov.setdefault("date", _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    where = f"{host}, {prov.get('cpu', 'unknown CPU')}, kernel {prov.get('kernel', 'unknown')}, {date[:10]}"
    costs = {}
    for i, (n, c) in enumerate(design.base.costs.items()):
        if res.pinned[i]:
            edge = {1: ", held at the published high: the host data want more",
                    -1: ", held at the published low: the host data want less"}.get(int(res.at_bound[i]), "")
            costs[n] = Cost(float(lo[i]), float(min(max(res.x[i], lo[i]), hi[i])), float(hi[i]),
                            f"fitted on host {where}: {res.x[i]:.2f} +- {res.sd[i]:.2f} cycles (MAP, "
                            f"{len(design.rows)} measured rows, bulksim calibrate{edge}); published "
                            f"{design.base.name} {c.low:g}/{c.central:g}/{c.high:g}: {c.source}")
        else:
            why = "no counted event in the measured phases" if not np.any(design.A[:, i]) else \
                "not pinned by the host data (collinear with other costs or too little signal)"
            costs[n] = Cost(c.low, c.central, c.high, f"published ({design.base.name}; {why}): {c.source}")
    pname = name or f"host-{host}"
    issue = getattr(design.base, "issue", None)  # the overlap model's issue costs: kept as published
    prof = Profile(name=pname, description=f"calibrated on {where} at {design.clock_ghz:.3f} GHz "
                   f"(bulksim calibrate; prior and box: {design.base.name})", clock_ghz=design.clock_ghz,
                   estimated=False, costs=costs,
                   **({"issue": dict(issue), "width": design.base.width} if issue else {}))
    names = design.base.names
    fit_doc = {
        "method": "MAP: bounded least squares with a Gaussian prior on the published central value "
                  "(sd = (high-low)/2), inside the published box; linear cost model "
                  "(engine.inputs.costs.coefficients); docs/calibrate.md",
        "rows": len(design.rows),
        "fitted": [n for i, n in enumerate(names) if res.pinned[i]],
        "kept": [n for i, n in enumerate(names) if not res.pinned[i]],
        "chi2": res.chi2, "dof": res.dof, "chi2_per_dof": res.chi2 / res.dof if res.dof > 0 else None,
        "covariance_scale": res.scale,
        "rms_relative_residual": float(np.sqrt(np.mean([r["relative"] ** 2 for r in cal.residual_rows()]))),
        "at_bound": {n: ("high" if res.at_bound[i] > 0 else "low") for i, n in enumerate(names) if res.at_bound[i]},
        "misfits": [f"{x['workload']}/{x['phase']}" for x in cal.residual_rows() if x["misfit"]],
        "posterior": {n: {"map": float(res.x[i]), "sd": float(res.sd[i]), "prior_sd": float(res.prior_sd[i])}
                      for i, n in enumerate(names) if res.pinned[i]},
        "residuals": cal.residual_rows(),
        "leave_one_out": cal.loo,
    }
    prov.setdefault("host", host)
    prov["clock_ghz"] = design.clock_ghz
    prov["base_profile"] = design.base.name
    cal.profile = prof
    cal.document = document(prof, provenance=prov, fit=fit_doc)
    return cal


def base_profile(name: str | None, cpu: str = "") -> Profile:
    """The published profile a fit starts from: ``name``, else by CPU vendor."""
    if name is None:
        name = "amd-zen2" if "amd" in cpu.lower() else "intel-skylake"
    prof = get_profile(name)
    if prof.estimated:
        raise BadInputError(f"calibrate: base profile {name!r} is an estimate; start from a measured one")
    return prof


def _measure_module():
    try:
        from .. import measure
    except ImportError as e:  # pragma: no cover - engine.measure ships with bulksim
        raise BulksimError(f"calibrate needs 'bulksim measure' (engine.measure): {e}") from None
    return measure


def calibrate(*, workloads=None, seconds: float = 1.0, repeats: int = 3, calls: int = 20_000, seed: int = 0,
              base: str | None = None, name: str | None = None, measurement_file=None,
              cgroup_root=None, cgroups: int = 4, progress=None) -> Calibration:
    """Measure (or read a measurement file), simulate, fit: a :class:`Calibration`
    whose ``document`` is the profile file's content."""
    from ..results.tables import git_commit
    from .. import __version__

    if name is not None:  # before seconds of measuring: the profile file's own rule
        from ..inputs.profile_file import check_name

        check_name(name, "name")
    M = _measure_module()
    settings = {"seconds": seconds, "repeats": repeats}
    if measurement_file is not None:
        m = M.read_measurement(measurement_file)
        settings = {"measurement_file": str(measurement_file)}
    from .extra import EXTRA_WORKLOADS, MSG_NAME, measure_msg

    extra = []
    if measurement_file is None:
        mine = list(M.WORKLOADS) if workloads is None else [w for w in workloads if w in M.WORKLOADS]
        extra = list(EXTRA_WORKLOADS) if workloads is None else [w for w in workloads if w in EXTRA_WORKLOADS]
        if workloads is not None:
            unknown = [w for w in workloads if w not in M.WORKLOADS and w not in EXTRA_WORKLOADS]
            if unknown:
                raise BadInputError(f"unknown workload(s) {', '.join(unknown)}; known: "
                                    f"{', '.join([*M.WORKLOADS, *EXTRA_WORKLOADS])}")
            if not mine:
                raise BadInputError("--workloads needs at least one workload of bulksim measure "
                                    f"({', '.join(M.WORKLOADS)}): the clock and provenance come from it")
        m = M.measure(mine, seconds=seconds, repeats=repeats, progress=progress)
    measurements = {None: m}
    if MSG_NAME in extra:
        measurements[MSG_NAME] = measure_msg(seconds=seconds, repeats=repeats, progress=progress)
    if cgroup_root is not None:
        from .cgroups import measure_in_cgroups

        mc = measure_in_cgroups(cgroup_root, cgroups, seconds=seconds, repeats=repeats, progress=progress)
        measurements["cgroups"] = mc
        settings["cgroups"] = {"root": str(cgroup_root), "count": cgroups}
    rows = []
    scenarios = {}
    for mm in measurements.values():
        strategy = (getattr(mm, "provenance", None) or {}).get("strategy") or m.provenance.get("strategy")
        for r in measured_rows(mm.table):
            rows.append(r)
            if r.workload not in scenarios:
                scenarios[r.workload] = scenario_for(mm.scenario(r.workload), name=_scenario_name(r.workload),
                                                     strategy=strategy)
    prov = {k: (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
            for k, v in dict(getattr(m, "provenance", {}) or {}).items()}
    clock = prov.get("clock_ghz")
    try:
        clock = float(clock)
    except (TypeError, ValueError):
        raise BulksimError(f"calibrate: the measurement has no usable clock (clock_ghz = {clock!r})") from None
    basep = base_profile(base, str(prov.get("cpu", "")))
    if progress:
        progress(f"simulating {len(scenarios)} matching scenario(s), {calls} calls each")
    design = build_design(rows, scenarios, basep, clock, calls=calls, seed=seed)
    commit, dirty = git_commit()
    prov.update({"bulksim_version": __version__, "git_commit": commit, "git_dirty": dirty,
                 "measure_settings": json_text(settings),
                 "simulation": json_text({"calls": calls, "seed": seed, "strategy_by_workload":
                                          {w: s for w, (_, s) in scenarios.items()},
                                          "scenario_by_workload":
                                          {w: scn.to_dict() for w, (scn, _) in scenarios.items()}})})
    return calibrate_design(design, provenance=prov, name=name)


def _scenario_name(workload: str) -> str:
    """A scenario name for a workload (scenario names allow letters, digits and _.+-)."""
    import re

    return ("calibrate-" + re.sub(r"[^A-Za-z0-9_.+-]", "-", workload))[:100]


def json_text(v) -> str:
    import json

    return json.dumps(v, sort_keys=True, default=str)


def calibration_text(cal: Calibration) -> str:
    """What ``bulksim calibrate`` prints: the fitted unit costs, the residuals, the
    leave-one-out predictions."""
    d, r = cal.design, cal.result
    b = d.base
    lines = [f"Fit of {len(d.rows)} measured rows ({len(d.workloads())} workloads) at {d.clock_ghz:.3f} GHz; "
             f"prior and box: {b.name}; chi2 {r.chi2:.1f} on {r.dof:.1f} dof",
             "", f"  {'unit cost':22s} {'published low/central/high':>28s}   {'host low/central/high':>24s}"]
    for i, n in enumerate(b.names):
        if not r.pinned[i]:
            continue
        c = b.costs[n]
        host = cal.profile.costs[n]
        edge = {1: ", held at the published high", -1: ", held at the published low"}.get(int(r.at_bound[i]), "")
        lines.append(f"  {n:22s} {c.low:8.1f} {c.central:8.1f} {c.high:8.1f}   "
                     f"{host.low:7.1f} {host.central:7.1f} {host.high:7.1f}  (sd {r.sd[i]:.2f}{edge})")
    kept = [n for i, n in enumerate(b.names) if not r.pinned[i] and np.any(d.A[:, i])]
    lines.append(f"  kept at the published values (in the measured phases, not pinned): "
                 f"{', '.join(kept) if kept else '-'}")
    lines += ["", "Residuals (ns/object):",
              f"  {'workload':24s} {'phase':16s} {'measured':>9s} {'+-sd':>6s} {'host':>8s} {'published':>9s} "
              f"{'host err':>8s}"]
    for x in cal.residual_rows():
        lines.append(f"  {x['workload']:24s} {x['phase']:16s} {x['measured_ns']:9.2f} {x['measured_sd_ns']:6.2f} "
                     f"{x['fitted_ns']:8.2f} {x['published_ns']:9.2f} {x['relative']:+8.1%}"
                     + (f"  misfit ({x['sds']:+.1f} sd): the model cannot reach it inside the box"
                        if x["misfit"] else ""))
    if cal.loo:
        lines += ["", "Leave one workload out: fitted on the others, predicted (ns/object):",
                  f"  {'left out':24s} {'phase':16s} {'measured':>9s} {'predicted':>9s} {'error':>7s} "
                  f"{'published':>9s} {'error':>7s}"]
        for x in cal.loo:
            lines.append(f"  {x['workload']:24s} {x['phase']:16s} {x['measured_ns']:9.2f} {x['predicted_ns']:9.2f} "
                         f"{x['relative']:+7.1%} {x['published_ns']:9.2f} {x['published_relative']:+7.1%}")
    else:
        lines += ["", "Leave one workload out: needs at least two workloads."]
    return "\n".join(lines)


QUESTION_SCENARIOS = ("default", "io_uring")
QUESTION_STRATEGIES = ("per_object", "batched_v1", "batched")


def question_rows(profiles: dict, *, scenarios=QUESTION_SCENARIOS, strategies=QUESTION_STRATEGIES,
                  calls: int = 20_000, seed: int = 0) -> list[dict]:
    """The users' question, per scenario, strategy, metric and profile: the difference
    to per_object in cycles and ns per object (central and its range over the profile's
    box), the ratio with its range and the verdict, as ``bulksim run`` prints them (the
    summary table's columns).  ``profiles``: label -> profile name or file."""
    from ..results.ranges import verdict_text
    from ..run.simulate import simulate

    out = []
    for sc in scenarios:
        for label, prof in profiles.items():
            res = simulate(sc, strategies=list(strategies), profile=prof, seed=seed, calls=calls)
            clock = get_profile(prof).clock_ghz
            for r in res.summary.to_pylist():
                if r["strategy"] == "per_object":
                    continue
                for m, metric in (("hook", "hook"), ("total", "end-to-end")):
                    names = r[f"{m}_decided_by"].split(",") if r[f"{m}_decided_by"] else []
                    d = r[f"{m}_cycles_per_object_diff"]
                    out.append({"scenario": sc, "strategy": r["strategy"], "metric": metric, "profile": label,
                                "clock_ghz": clock, "diff_cycles": d, "diff_low": r[f"{m}_diff_low"],
                                "diff_high": r[f"{m}_diff_high"], "diff_ns": d / clock,
                                "ratio": r[f"{m}_ratio"], "ratio_min": r[f"{m}_ratio_min"],
                                "ratio_max": r[f"{m}_ratio_max"],
                                "verdict": verdict_text(r[f"{m}_verdict"], names)})
    return out


def question_text(rows: list[dict]) -> str:
    lines = ["Against per_object (cycles/object, central [exact range over the profile's box]; "
             "ns at the profile's clock):"]
    for r in rows:
        lines.append(f"  {r['scenario']:9s} {r['strategy']:10s} {r['metric']:10s} {r['profile']:14.14s} "
                     f"{r['diff_cycles']:+7.2f} [{r['diff_low']:+7.2f}, {r['diff_high']:+7.2f}] "
                     f"{r['diff_ns']:+6.2f} ns, ratio {r['ratio']:.3f} [{r['ratio_min']:.3f}, "
                     f"{r['ratio_max']:.3f}]: {r['verdict']}")
    return "\n".join(lines)
