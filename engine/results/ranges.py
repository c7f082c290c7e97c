"""Exact ranges of cycles and of ratios between strategies over the box of unit costs.

Cycles are linear in the unit costs (``engine.inputs.costs.coefficients``): a figure is
``a . x`` for a coefficient vector ``a`` and unit costs ``x`` in the box
``low <= x <= high``.  Its range is exact coordinate by coordinate.  A ratio of two
strategies is ``(a . x) / (b . x)``, a linear-fractional function: over a box it is
quasi-linear, so its extremes are at vertices, and Dinkelbach's method finds them
without enumerating the 2^n vertices: at the current ratio ``t``, the vertex that
maximises ``(a - t b) . x`` takes ``high`` where ``a_i - t b_i > 0`` and ``low`` where it
is negative; its ratio is at least ``t``, and equal only at the optimum.  The ratio
strictly increases from vertex to vertex, so the loop ends after finitely many steps
(in practice two or three).

A verdict of a strategy against ``per_object`` is the sign of the difference
``(a - b) . x`` over the whole box: "cheaper" or "dearer" when it keeps one sign,
otherwise "depends on" the unit costs whose ranges are needed to change the sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BulksimError
from ..inputs.costs import Profile, coefficients, get_profile, phase_entries
from ..model.events import EVENTS, PH_HOOK

BASE = "per_object"


def _check_box(lo: np.ndarray, hi: np.ndarray) -> None:
    if lo.shape != hi.shape or np.any(lo > hi):
        raise BulksimError("a unit-cost box needs low <= high in every coordinate")


def linear_range(c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """Exact min and max of ``c . x`` over ``lo <= x <= hi``."""
    c, lo, hi = (np.asarray(v, dtype=np.float64) for v in (c, lo, hi))
    _check_box(lo, hi)
    return float(np.minimum(c * lo, c * hi).sum()), float(np.maximum(c * lo, c * hi).sum())


def _max_ratio(a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               start: np.ndarray) -> tuple[float, np.ndarray]:
    x = start
    t = float(a @ x) / float(b @ x)
    for _ in range(4 * len(a) + 8):
        g = a - t * b
        nxt = np.where(g > 0, hi, lo)  # ties either way: always a vertex
        t_new = float(a @ nxt) / float(b @ nxt)
        if not t_new > t:  # no strictly better vertex: t is the maximum, attained at nxt
            return max(t, t_new), nxt
        x, t = nxt, t_new
    raise BulksimError("ratio maximisation did not converge")  # pragma: no cover - finite by theory


def ratio_extremes(a, b, lo, hi, start=None) -> tuple[float, np.ndarray, float, np.ndarray]:
    """Exact ``(min, argmin vertex, max, argmax vertex)`` of ``(a . x) / (b . x)`` over the
    box ``lo <= x <= hi``.  ``b . x`` must be positive on the whole box."""
    a, b, lo, hi = (np.asarray(v, dtype=np.float64) for v in (a, b, lo, hi))
    _check_box(lo, hi)
    if a.shape != lo.shape or b.shape != lo.shape:
        raise BulksimError("ratio_extremes: a, b, low and high must have one length")
    bmin, _ = linear_range(b, lo, hi)
    if not bmin > 0:
        raise BulksimError("ratio_extremes: the denominator is not positive on the whole box")
    x0 = (lo + hi) / 2 if start is None else np.asarray(start, dtype=np.float64)
    tmax, xmax = _max_ratio(a, b, lo, hi, x0)
    tmin_neg, xmin = _max_ratio(-a, b, lo, hi, x0)
    return -tmin_neg, xmin, tmax, xmax


def ratio_extremes_brute(a, b, lo, hi) -> tuple[float, float]:
    """The same by enumerating every vertex (for tests; 2^n)."""
    import itertools

    a, b, lo, hi = (np.asarray(v, dtype=np.float64) for v in (a, b, lo, hi))
    vals = [float(a @ x) / float(b @ x)
            for x in (np.where(np.array(bits), hi, lo) for bits in itertools.product((0, 1), repeat=len(a)))]
    return min(vals), max(vals)


@dataclass
class Forms:
    """One strategy's per-object linear forms over a profile's unit costs."""

    hook: np.ndarray
    total: np.ndarray


def strategy_forms(result, name: str, profile: Profile | None = None) -> Forms:
    prof = profile or get_profile(result.profile)
    run = result.runs[name]
    co = coefficients(prof, name, run.counters, depth=result.scenario.depth,
                      entries=phase_entries(run.counters))
    objects = max(int(run.counters[:, EVENTS.index("objects")].sum()), 1)
    return Forms(co[PH_HOOK] / objects, co.sum(axis=0) / objects)


def verdict(d: np.ndarray, prof: Profile) -> tuple[str, list[str]]:
    """Sign of ``d . x`` over the box: ("cheaper"|"dearer"|"same"|"depends", deciding costs).

    For "depends", the deciding unit costs are the fewest whose moves from central
    towards one end change the sign of the central difference (largest swing first)."""
    lo, mid, hi = prof.vector("low"), prof.vector("central"), prof.vector("high")
    dmin, dmax = linear_range(d, lo, hi)
    if dmax < 0:
        return "cheaper", []
    if dmin > 0:
        return "dearer", []
    if dmin == 0 == dmax:
        return "same", []
    d0 = float(d @ mid)
    if d0 < 0:  # moves that increase the difference
        swing = np.maximum(d * (hi - mid), d * (lo - mid))
    else:
        swing = -np.minimum(d * (hi - mid), d * (lo - mid))
    order = np.argsort(-swing, kind="stable")
    names, acc = [], abs(d0)
    for i in order:
        if swing[i] <= 0:
            break
        names.append(prof.names[i])
        acc -= swing[i]
        if acc < 0:
            break
    return "depends", names


def verdict_text(v: str, names: list[str]) -> str:
    if v == "depends":
        return "depends on " + ", ".join(names)
    return {"cheaper": "cheaper under every cost in the ranges",
            "dearer": "dearer under every cost in the ranges",
            "same": "the same under every cost"}[v]


RANGE_METRICS = ("hook_cycles_per_object", "total_cycles_per_object")


def range_fields():
    """The summary table's range columns (``engine.results.tables.summary_schema``)."""
    import pyarrow as pa

    def f(name, typ, unit, doc):
        return pa.field(name, typ, metadata={"unit": unit, "description": doc})

    out = []
    for m, what in (("hook", "post-alloc hook"), ("total", "end to end")):
        out += [
            f(f"{m}_cycles_per_object_low", pa.float64(), "cycles/object",
              f"{what}: every unit cost at its low value (the exact minimum)"),
            f(f"{m}_cycles_per_object_high", pa.float64(), "cycles/object",
              f"{what}: every unit cost at its high value (the exact maximum)"),
            f(f"{m}_ns_per_object_low", pa.float64(), "ns/object", f"{what}: low, at the profile's clock"),
            f(f"{m}_ns_per_object_high", pa.float64(), "ns/object", f"{what}: high, at the profile's clock"),
            f(f"{m}_ratio", pa.float64(), "", f"{what}: cycles / per_object's, central unit costs"),
            f(f"{m}_ratio_min", pa.float64(), "",
              f"{what}: exact minimum of the ratio to per_object over the box of unit costs"),
            f(f"{m}_ratio_max", pa.float64(), "", f"{what}: exact maximum of that ratio"),
            f(f"{m}_diff_low", pa.float64(), "cycles/object",
              f"{what}: exact minimum of (strategy - per_object) over the box"),
            f(f"{m}_diff_high", pa.float64(), "cycles/object", f"{what}: exact maximum of that difference"),
            f(f"{m}_verdict", pa.string(), "",
              f"{what} against per_object: cheaper, dearer, same, or depends (null without per_object)"),
            f(f"{m}_decided_by", pa.string(), "",
              "for 'depends': the unit costs whose ranges decide it, comma-separated"),
        ]
    return out


def add_range_columns(result, rows: list[dict]) -> None:
    """Fill the range columns of ``summary_rows``' rows in place."""
    prof = get_profile(result.profile)
    lo, hi = prof.vector("low"), prof.vector("high")
    mid = prof.vector("central")
    forms = {r["strategy"]: strategy_forms(result, r["strategy"], prof) for r in rows}
    base = forms.get(BASE)
    for r in rows:
        fs = forms[r["strategy"]]
        for m, a in (("hook", fs.hook), ("total", fs.total)):
            lo_v, hi_v = linear_range(a, lo, hi)
            r[f"{m}_cycles_per_object_low"] = lo_v
            r[f"{m}_cycles_per_object_high"] = hi_v
            r[f"{m}_ns_per_object_low"] = lo_v / prof.clock_ghz
            r[f"{m}_ns_per_object_high"] = hi_v / prof.clock_ghz
            keys = ("ratio", "ratio_min", "ratio_max", "diff_low", "diff_high", "verdict", "decided_by")
            for k in keys:
                r[f"{m}_{k}"] = None
            if base is None:
                continue
            b = base.hook if m == "hook" else base.total
            d = a - b
            r[f"{m}_diff_low"], r[f"{m}_diff_high"] = linear_range(d, lo, hi)
            v, names = verdict(d, prof)
            r[f"{m}_verdict"] = v
            r[f"{m}_decided_by"] = ",".join(names) if names else None
            if linear_range(b, lo, hi)[0] > 0:
                rmin, _, rmax, _ = ratio_extremes(a, b, lo, hi, start=mid)
                r[f"{m}_ratio"] = float(a @ mid) / float(b @ mid)
                # cycles are >= 0 over the box, so is the ratio: no -0.0 (none's hook is 0)
                r[f"{m}_ratio_min"], r[f"{m}_ratio_max"] = max(rmin, 0.0) + 0.0, rmax + 0.0


def sensitivity(result, strategy: str, metric: str = "hook", base: str = BASE) -> list[dict]:
    """Each unit cost swept over its range with the others central: the ratio
    ``strategy / base`` of ``metric`` ("hook" or "total") at its low and high value,
    sorted by how far it moves the ratio (largest first)."""
    if metric not in ("hook", "total"):
        raise BulksimError(f"sensitivity metric must be hook or total, got {metric!r}")
    for s in (strategy, base):
        if s not in result.runs:
            raise BulksimError(f"sensitivity needs strategy {s!r} in the result")
    prof = get_profile(result.profile)
    lo, mid, hi = prof.vector("low"), prof.vector("central"), prof.vector("high")
    fa, fb = strategy_forms(result, strategy, prof), strategy_forms(result, base, prof)
    a, b = (fa.hook, fb.hook) if metric == "hook" else (fa.total, fb.total)
    if not float(b @ mid) > 0:
        raise NothingToRank(f"{base} costs nothing in this result (no {metric} cycles), so there is "
                            "no ratio to rank")
    r0 = float(a @ mid) / float(b @ mid)
    out = []
    for i, name in enumerate(prof.names):
        vals = []
        for end in (lo[i], hi[i]):
            x = mid.copy()
            x[i] = end
            vals.append(float(a @ x) / float(b @ x))
        out.append({"unit_cost": name, "low": float(lo[i]), "central": float(mid[i]), "high": float(hi[i]),
                    "ratio_at_low": vals[0], "ratio_at_high": vals[1], "ratio_central": r0,
                    "swing": abs(vals[1] - vals[0])})
    out.sort(key=lambda d: -d["swing"])
    return out


class NothingToRank(BulksimError):
    """The baseline costs nothing (e.g. a run of 0 calls): no ratio exists to rank."""


def _ratio_pm(result, strategy: str, metric: str) -> str:
    """`` ±h``: the 95% half-width of ``strategy / per_object`` from the simulation error."""
    from .error import MIN_ESTIMATE_BATCHES, estimate

    err = estimate(result)
    if err.n < MIN_ESTIMATE_BATCHES:
        return ""
    hw = err.halfwidth(err.cycles(strategy, metric), err.cycles(BASE, metric))
    return f" ±{hw:.4f}" if hw == hw else ""


def sensitivity_text(result, metric: str = "hook", top: int = 10) -> str:
    """The sensitivity table of every strategy against per_object (``bulksim run --sensitivity``)."""
    lines = []
    for s in result.runs:
        if s == BASE or BASE not in result.runs:
            continue
        try:
            rows = [r for r in sensitivity(result, s, metric) if r["swing"] > 0][:top]
        except NothingToRank as e:
            lines += [f"{s} / {BASE}, {metric} cycles: {e}", ""]
            continue
        lines.append(f"{s} / {BASE}, {metric} cycles: central ratio {rows[0]['ratio_central']:.3f}"
                     + _ratio_pm(result, s, metric)
                     if rows else f"{s} / {BASE}, {metric} cycles: no unit cost moves the ratio")
        if rows:  # no header over an empty table
            lines.append(f"  {'unit cost':22s} {'low':>7s} {'high':>7s}  {'ratio@low':>9s} "
                         f"{'ratio@high':>10s} {'swing':>7s}")
        for r in rows:
            lines.append(f"  {r['unit_cost']:22s} {r['low']:7.1f} {r['high']:7.1f}  {r['ratio_at_low']:9.3f} "
                         f"{r['ratio_at_high']:10.3f} {r['swing']:7.3f}")
        lines.append("")
    if not lines:
        return "(sensitivity needs per_object and another strategy)"
    lines.append("Each unit cost swept over its range with every other at its central value.")
    return "\n".join(lines)


def _pm(r: dict, col: str, digits: int) -> str:
    """`` ±h``: the 95% half-width of the simulation error of column ``col`` (its ``_se``
    column times ``se_t95``; engine.results.error), or '' without an estimate."""
    from .error import pm

    text = pm(r.get(col), r.get("se_t95"), digits)
    return f" {text}" if text else ""


def _hw(r: dict, col: str) -> str:
    """`` ±h`` for a half-width column, or '' without one."""
    v = r.get(col)
    return f" ±{v:.4f}" if v is not None else ""


def ranges_text(table) -> str:
    """Per strategy against per_object: central difference, its range, the ratio's exact
    range and the verdict (printed under the ``bulksim run`` table)."""
    rows = table.to_pylist()
    if "hook_verdict" not in table.column_names or not any(r["strategy"] == BASE for r in rows):
        return ""
    out = ["Against per_object over the box of unit costs (low..high of every cost, "
           "'bulksim profiles --show');", "± = 95% interval of the simulation error at the central costs:"]
    for r in rows:
        if r["strategy"] == BASE:
            continue
        for m, label in (("hook", "hook"), ("total", "end-to-end")):
            d = r[f"{m}_cycles_per_object_diff"]
            ratio = r[f"{m}_ratio"]
            # + 0.0: a ratio of 0 (none's hook) found as -0.0 prints 0.000, not -0.000
            rr = (f"ratio {ratio + 0.0:.3f}{_hw(r, f'{m}_ratio_halfwidth')} [{max(r[f'{m}_ratio_min'], 0.0) + 0.0:.3f}, "
                  f"{r[f'{m}_ratio_max'] + 0.0:.3f}]" if ratio is not None else "ratio -")
            names = r[f"{m}_decided_by"].split(",") if r[f"{m}_decided_by"] else []
            out.append(f"  {r['strategy']:11s} {label:10s} {d:+8.2f}{_pm(r, f'{m}_cycles_per_object_diff_se', 2)} cycles/object "
                       f"[{r[f'{m}_diff_low']:+.2f}, {r[f'{m}_diff_high']:+.2f}], {rr}: "
                       f"{verdict_text(r[f'{m}_verdict'], names)}")
    return "\n".join(out)


NO_ACCOUNTING = "none"  # the strategy without memcg accounting (engine.model.state.STRATEGIES)


def accounting_cost_text(result) -> str:
    """Per strategy, the cost of memcg accounting: its end-to-end cycles per object minus
    those of ``none`` (the same object stream without accounting), the difference's
    exact range over the box of unit costs, and the ratio to ``none`` with its exact
    range.  Empty unless the run has ``none`` and another strategy."""
    if NO_ACCOUNTING not in result.runs or len(result.runs) < 2:
        return ""
    prof = get_profile(result.profile)
    lo, mid, hi = prof.vector("low"), prof.vector("central"), prof.vector("high")
    base = strategy_forms(result, NO_ACCOUNTING, prof).total
    from .error import estimate, pm, ratio_se, t95

    err = estimate(result, prof)
    t = t95(err.n)
    out = ["Cost of accounting, end-to-end: each strategy minus none (no memcg accounting), over the "
           "box of unit costs (± = 95% simulation error at the central costs):"]
    for name in result.runs:
        if name == NO_ACCOUNTING:
            continue
        a = strategy_forms(result, name, prof).total
        d = a - base
        dlo, dhi = linear_range(d, lo, hi)
        yd = err.cycles(name, "total") - err.cycles(NO_ACCOUNTING, "total")
        e_d = " " + pm(ratio_se(yd, err.objects(name)), t, 2) if err.n >= 8 else ""
        line = f"  {name:11s} {float(d @ mid):+8.2f}{e_d} cycles/object [{dlo:+.2f}, {dhi:+.2f}]"
        if linear_range(base, lo, hi)[0] > 0:
            rmin, _, rmax, _ = ratio_extremes(a, base, lo, hi, start=mid)
            e_r = (" " + pm(ratio_se(err.cycles(name, "total"), err.cycles(NO_ACCOUNTING, "total")), t, 2)
                   if err.n >= 8 else "")
            line += f", {float(a @ mid) / float(base @ mid):.2f}x{e_r} none [{rmin:.2f}, {rmax:.2f}]"
        out.append(line)
    return "\n".join(out)
