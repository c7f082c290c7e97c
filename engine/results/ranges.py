"""Ranges of cycles and of ratios between strategies over the box of unit costs.

A figure is a *max form* (engine.inputs.costs, the overlap model): for a coefficient
vector ``a`` it is ``F(a) = max(a . x, a . y)``, the longer of the dependent chain
(``x``: chain prices) and the issue time (``y``: issue prices), with ``x`` and ``y``
each anywhere in its own box ``low <= . <= high``.  Because ``x`` and ``y`` vary
independently:

- **a figure's range is exact**: ``min F = max(min a.x, min a.y)`` (take the ``x`` that
  minimises ``a.x`` and the ``y`` that minimises ``a.y`` at once), ``max F = max(max
  a.x, max a.y)``; each linear range is exact coordinate by coordinate.
- a **difference** ``F(a) - F(b)`` and a **ratio** ``F(a) / F(b)`` are exact when each
  of the two forms is in one regime over the whole box (chain-bound: ``min a.x >= max
  a.y``, or issue-bound): then each is linear in ``(x, y)`` and the linear tools below
  apply (a linear-fractional ratio over a box takes its extremes at vertices: Dinkelbach's
  method, or the quotient of independent ranges when the two forms use different
  vectors).  Otherwise they are **proven bounds**: for positive ``p, q, r, s``,
  ``min(p - r, q - s) <= max(p, q) - max(r, s) <= max(p - r, q - s)`` and ``min(p/r, q/s)
  <= max(p, q) / max(r, s) <= max(p/r, q/s)``, intersected with the quotient of the two
  figures' own ranges.  The tests check both against brute force.

Dinkelbach's method for ``(a . x) / (b . x)``: at the current ratio ``t``, the vertex
that maximises ``(a - t b) . x`` takes ``high`` where ``a_i - t b_i > 0`` and ``low``
where it is negative; its ratio is at least ``t``, and equal only at the optimum.  The
ratio strictly increases from vertex to vertex, so the loop ends after finitely many
steps (in practice two or three).

A verdict of a strategy against ``per_object`` is the sign of the difference over the
whole box: "cheaper" or "dearer" when its (exact or bounding) range keeps one sign,
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


# -- max forms: F(a) = max(a . x, a . y), x in the chain box, y in the issue box ----------

@dataclass(frozen=True)
class Box:
    """The chain box ``xl <= x <= xh`` and the issue box ``yl <= y <= yh``, with the
    central values ``xm``, ``ym`` and the unit-cost names (one coordinate order)."""

    xl: np.ndarray
    xm: np.ndarray
    xh: np.ndarray
    yl: np.ndarray
    ym: np.ndarray
    yh: np.ndarray
    names: tuple = ()

    @classmethod
    def of(cls, prof: Profile) -> "Box":
        return cls(prof.vector("low"), prof.vector("central"), prof.vector("high"),
                   prof.issue_vector("low"), prof.issue_vector("central"), prof.issue_vector("high"),
                   tuple(prof.names))


def fval(a, x, y) -> float:
    """``max(a . x, a . y)``."""
    a = np.asarray(a, dtype=np.float64)
    return max(float(a @ x), float(a @ y))


def central(a, box: Box) -> float:
    return fval(a, box.xm, box.ym)


def _regime(a, box: Box) -> str:
    """"chain" if ``a.x >= a.y`` on the whole box, "issue" if ``a.y >= a.x``, else "mixed"."""
    cx, cy = linear_range(a, box.xl, box.xh), linear_range(a, box.yl, box.yh)
    if cx[0] >= cy[1]:
        return "chain"
    if cy[0] >= cx[1]:
        return "issue"
    return "mixed"


def form_range(a, box: Box) -> tuple[float, float]:
    """Exact min and max of ``max(a . x, a . y)`` over the box."""
    cx, cy = linear_range(a, box.xl, box.xh), linear_range(a, box.yl, box.yh)
    return max(cx[0], cy[0]), max(cx[1], cy[1])


def _side(box: Box, which: str):
    return (box.xl, box.xh) if which == "chain" else (box.yl, box.yh)


def diff_range(a, b, box: Box) -> tuple[float, float, bool]:
    """Range of ``F(a) - F(b)`` over the box: ``(low, high, exact)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ra, rb = _regime(a, box), _regime(b, box)
    if ra != "mixed" and rb != "mixed":
        if ra == rb:
            return (*linear_range(a - b, *_side(box, ra)), True)
        la, lb = linear_range(a, *_side(box, ra)), linear_range(b, *_side(box, rb))
        return la[0] - lb[1], la[1] - lb[0], True  # independent vectors
    fa, fb = form_range(a, box), form_range(b, box)
    dx, dy = linear_range(a - b, box.xl, box.xh), linear_range(a - b, box.yl, box.yh)
    lo = max(min(dx[0], dy[0]), fa[0] - fb[1])
    hi = min(max(dx[1], dy[1]), fa[1] - fb[0])
    return lo, hi, False


def ratio_range(a, b, box: Box) -> tuple[float, float, bool]:
    """Range of ``F(a) / F(b)`` over the box: ``(low, high, exact)``.  ``F(b)`` must be
    positive on the whole box."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    fa, fb = form_range(a, box), form_range(b, box)
    if not fb[0] > 0:
        raise BulksimError("ratio_range: the denominator is not positive on the whole box")
    ra, rb = _regime(a, box), _regime(b, box)
    if ra != "mixed" and rb != "mixed":
        if ra == rb:
            lo_v, hi_v = _side(box, ra)
            mid = box.xm if ra == "chain" else box.ym
            if linear_range(b, lo_v, hi_v)[0] > 0:
                tmin, _, tmax, _ = ratio_extremes(a, b, lo_v, hi_v, start=mid)
                return tmin, tmax, True
        else:
            la, lb = linear_range(a, *_side(box, ra)), linear_range(b, *_side(box, rb))
            if lb[0] > 0:
                return la[0] / lb[1], la[1] / lb[0], True
    lo, hi = fa[0] / fb[1], fa[1] / fb[0]  # the quotient of the two ranges always bounds it
    parts = []
    for lo_v, hi_v, mid in ((box.xl, box.xh, box.xm), (box.yl, box.yh, box.ym)):
        if linear_range(b, lo_v, hi_v)[0] > 0:
            tmin, _, tmax, _ = ratio_extremes(a, b, lo_v, hi_v, start=mid)
            parts.append((tmin, tmax))
        else:
            parts = None
            break
    if parts:
        lo = max(lo, min(p[0] for p in parts))
        hi = min(hi, max(p[1] for p in parts))
    return lo, hi, False


def brute_force_points(box: Box, rng: np.random.Generator, n: int):
    """Points of the box for tests: every vertex of a small box, then ``n`` random points
    (each coordinate a vertex or uniform in its range)."""
    import itertools

    k = len(box.xl)
    pts = []
    if 2 * k <= 12:
        for bits in itertools.product((0, 1), repeat=2 * k):
            bx, by = np.array(bits[:k]), np.array(bits[k:])
            pts.append((np.where(bx, box.xh, box.xl), np.where(by, box.yh, box.yl)))
    for _ in range(n):
        ux, uy = rng.random(k), rng.random(k)
        vx, vy = rng.random(k) < 0.5, rng.random(k) < 0.5
        ux = np.where(vx, np.round(ux), ux)
        uy = np.where(vy, np.round(uy), uy)
        pts.append((box.xl + ux * (box.xh - box.xl), box.yl + uy * (box.yh - box.yl)))
    return pts


@dataclass
class Forms:
    """One strategy's per-object coefficient vectors over a profile's unit costs: the
    post-alloc hook's (a region of its own) and the end-to-end one (one region)."""

    hook: np.ndarray
    total: np.ndarray


def run_pricing(result, name: str) -> dict:
    """The keywords that price strategy ``name`` of ``result`` on its generation and lock kind."""
    run = result.runs[name]
    return {"kernel": getattr(run, "kernel", "") or "",
            "stock_lock": getattr(result.scenario, "stock_lock", "") or ""}


def strategy_forms(result, name: str, profile: Profile | None = None) -> Forms:
    prof = profile or get_profile(result.profile)
    run = result.runs[name]
    co = coefficients(prof, name, run.counters, depth=result.scenario.depth,
                      entries=phase_entries(run.counters), **run_pricing(result, name))
    objects = max(int(run.counters[:, EVENTS.index("objects")].sum()), 1)
    return Forms(co[PH_HOOK] / objects, co.sum(axis=0) / objects)


def verdict(a: np.ndarray, b: np.ndarray, prof: Profile) -> tuple[str, list[str]]:
    """Sign of ``F(a) - F(b)`` over the box: ("cheaper"|"dearer"|"same"|"depends", deciding costs).

    For "depends", the deciding unit costs are the fewest whose moves from central
    towards one end change the sign of the central difference (largest swing first),
    in the regime (chain or issue) that binds at central; an issue price is named
    ``name:issue``."""
    box = Box.of(prof)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    dmin, dmax, _ = diff_range(a, b, box)
    if dmax < 0:
        return "cheaper", []
    if dmin > 0:
        return "dearer", []
    if dmin == 0 == dmax:
        return "same", []
    d0 = central(a, box) - central(b, box)
    # the swing of each chain and each issue price, the others central
    names, swings = [], []
    for which, (lo, mid, hi) in (("chain", (box.xl, box.xm, box.xh)), ("issue", (box.yl, box.ym, box.yh))):
        for i, n in enumerate(box.names):
            if lo[i] == hi[i]:
                continue
            vals = []
            for end in (lo[i], hi[i]):
                v = mid.copy()
                v[i] = end
                x, y = (v, box.ym) if which == "chain" else (box.xm, v)
                vals.append(fval(a, x, y) - fval(b, x, y))
            sw = max(vals) - d0 if d0 < 0 else d0 - min(vals)
            names.append(n if which == "chain" else f"{n}:issue")
            swings.append(sw)
    order = np.argsort(-np.array(swings), kind="stable") if swings else []
    out, acc = [], abs(d0)
    for i in order:
        if swings[i] <= 0:
            break
        out.append(names[i])
        acc -= swings[i]
        if acc < 0:
            break
    return "depends", out


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
              f"{what}: minimum of the ratio to per_object over the box of unit costs (exact, or a "
              "proven lower bound where a max form changes regime: docs/costs.md)"),
            f(f"{m}_ratio_max", pa.float64(), "", f"{what}: maximum of that ratio (exact or a proven bound)"),
            f(f"{m}_diff_low", pa.float64(), "cycles/object",
              f"{what}: minimum of (strategy - per_object) over the box (exact or a proven bound)"),
            f(f"{m}_diff_high", pa.float64(), "cycles/object",
              f"{what}: maximum of that difference (exact or a proven bound)"),
            f(f"{m}_verdict", pa.string(), "",
              f"{what} against per_object: cheaper, dearer, same, or depends (null without per_object or "
              "without an object allocated)"),
            f(f"{m}_decided_by", pa.string(), "",
              "for 'depends': the unit costs whose ranges decide it, comma-separated"),
        ]
    return out


def add_range_columns(result, rows: list[dict]) -> None:
    """Fill the range columns of ``summary_rows``' rows in place."""
    prof = get_profile(result.profile)
    box = Box.of(prof)
    forms = {r["strategy"]: strategy_forms(result, r["strategy"], prof) for r in rows}
    base = forms.get(BASE)
    base_row = next((r for r in rows if r["strategy"] == BASE), None)
    for r in rows:
        fs = forms[r["strategy"]]
        # no object allocated (calls=0): no per-object cost, so no difference and no verdict
        # ("the same under every cost" would be a finding from nothing)
        empty = r["objects"] == 0 or (base_row is not None and base_row["objects"] == 0)
        for m, a in (("hook", fs.hook), ("total", fs.total)):
            lo_v, hi_v = form_range(a, box)
            r[f"{m}_cycles_per_object_low"] = lo_v
            r[f"{m}_cycles_per_object_high"] = hi_v
            r[f"{m}_ns_per_object_low"] = lo_v / prof.clock_ghz
            r[f"{m}_ns_per_object_high"] = hi_v / prof.clock_ghz
            keys = ("ratio", "ratio_min", "ratio_max", "diff_low", "diff_high", "verdict", "decided_by")
            for k in keys:
                r[f"{m}_{k}"] = None
            if base is None or empty:
                continue
            b = base.hook if m == "hook" else base.total
            r[f"{m}_diff_low"], r[f"{m}_diff_high"], _ = diff_range(a, b, box)
            v, names = verdict(a, b, prof)
            r[f"{m}_verdict"] = v
            r[f"{m}_decided_by"] = ",".join(names) if names else None
            if form_range(b, box)[0] > 0:
                rmin, rmax, _ = ratio_range(a, b, box)
                r[f"{m}_ratio"] = central(a, box) / central(b, box)
                # cycles are >= 0 over the box, so is the ratio: no -0.0 (none's hook is 0)
                r[f"{m}_ratio_min"], r[f"{m}_ratio_max"] = max(rmin, 0.0) + 0.0, rmax + 0.0


def sensitivity(result, strategy: str, metric: str = "hook", base: str = BASE) -> list[dict]:
    """Each unit cost (chain price, and issue price as ``name:issue``) swept over its
    range with the others central: the ratio ``strategy / base`` of ``metric`` ("hook"
    or "total") at its low and high value, sorted by how far it moves the ratio
    (largest first)."""
    if metric not in ("hook", "total"):
        raise BulksimError(f"sensitivity metric must be hook or total, got {metric!r}")
    for s in (strategy, base):
        if s not in result.runs:
            raise BulksimError(f"sensitivity needs strategy {s!r} in the result")
    prof = get_profile(result.profile)
    box = Box.of(prof)
    fa, fb = strategy_forms(result, strategy, prof), strategy_forms(result, base, prof)
    a, b = (fa.hook, fb.hook) if metric == "hook" else (fa.total, fb.total)
    if not central(b, box) > 0:
        raise NothingToRank(f"{base} costs nothing in this result (no {metric} cycles), so there is "
                            "no ratio to rank")
    return swept_ratios(a, b, box, prof.names)


def swept_ratios(a, b, box: Box, names) -> list[dict]:
    """The ratio of forms ``a / b`` with each unit cost (chain price, and issue price as
    ``name:issue``) at its low and at its high value, the others central; largest swing
    first.  ``central(b, box)`` must be > 0; a ratio whose denominator is 0 is NaN."""
    r0 = central(a, box) / central(b, box)
    out = []
    for which, (lo, mid, hi) in (("chain", (box.xl, box.xm, box.xh)), ("issue", (box.yl, box.ym, box.yh))):
        for i, name in enumerate(names):
            vals = []
            for end in (lo[i], hi[i]):
                v = mid.copy()
                v[i] = end
                x, y = (v, box.ym) if which == "chain" else (box.xm, v)
                fbv = fval(b, x, y)
                vals.append(fval(a, x, y) / fbv if fbv > 0 else float("nan"))
            if which == "issue" and lo[i] == hi[i] == 0:
                continue
            out.append({"unit_cost": name if which == "chain" else f"{name}:issue",
                        "low": float(lo[i]), "central": float(mid[i]), "high": float(hi[i]),
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


def sensitivity_data(result, metric: str = "hook") -> dict:
    """Every strategy against per_object: ``sensitivity``'s rows, or why there are none
    (``bulksim run --sensitivity``; as data, its ``-o json`` section)."""
    out = {"metric": metric, "base": BASE, "strategies": {}}
    for s in result.runs:
        if s == BASE or BASE not in result.runs:
            continue
        try:
            out["strategies"][s] = {"rows": sensitivity(result, s, metric)}
        except NothingToRank as e:
            out["strategies"][s] = {"rows": [], "why": str(e)}
    return out


def sensitivity_text(result, metric: str = "hook", top: int = 10) -> str:
    """The sensitivity table of every strategy against per_object (``bulksim run --sensitivity``)."""
    lines = []
    for s, d in sensitivity_data(result, metric)["strategies"].items():
        if "why" in d:
            lines += [f"{s} / {BASE}, {metric} cycles: {d['why']}", ""]
            continue
        rows = [r for r in d["rows"] if r["swing"] > 0][:top]
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
    lines.append("Each unit cost swept over its range with every other at its central value "
                 "(NAME: its chain price, NAME:issue: its issue price; docs/costs.md).")
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
    import textwrap

    out = textwrap.wrap("Against per_object over the box of unit costs (low..high of every chain and "
                        "issue price, 'bulksim profiles --show'; ranges exact or proven bounds, "
                        "docs/costs.md); ± = 95% interval of the simulation error at the central "
                        "costs. Each difference, then its ratio and verdict:", WIDTH)
    pad = " " * 26  # under the difference, after the strategy and metric names
    for r in rows:
        if r["strategy"] == BASE:
            continue
        if r["hook_verdict"] is None:  # add_range_columns: no object in it or in per_object
            out.append(f"  {r['strategy']:11s} no object allocated in {r['calls']:,} calls: no per-object cost "
                       "to compare")
            continue
        for m, label in (("hook", "hook"), ("total", "end-to-end")):
            d = r[f"{m}_cycles_per_object_diff"]
            ratio = r[f"{m}_ratio"]
            # + 0.0: a ratio of 0 (none's hook) found as -0.0 prints 0.000, not -0.000
            rr = (f"ratio {ratio + 0.0:.3f}{_hw(r, f'{m}_ratio_halfwidth')} [{max(r[f'{m}_ratio_min'], 0.0) + 0.0:.3f}, "
                  f"{r[f'{m}_ratio_max'] + 0.0:.3f}]" if ratio is not None else "ratio -")
            names = r[f"{m}_decided_by"].split(",") if r[f"{m}_decided_by"] else []
            out.append(f"  {r['strategy']:11s} {label:10s} {d:+8.2f}{_pm(r, f'{m}_cycles_per_object_diff_se', 2)} cycles/object "
                       f"[{r[f'{m}_diff_low']:+.2f}, {r[f'{m}_diff_high']:+.2f}]")
            out += textwrap.wrap(f"{rr}: {verdict_text(r[f'{m}_verdict'], names)}", WIDTH,
                                 initial_indent=pad, subsequent_indent=pad + "  ", break_on_hyphens=False)
    return "\n".join(out)


WIDTH = 100  # the console's width (engine.results.console.WIDTH)


NO_ACCOUNTING = "none"  # the strategy without memcg accounting (engine.model.state.STRATEGIES)


def accounting_cost_text(result) -> str:
    """Per strategy, the cost of memcg accounting: its end-to-end cycles per object minus
    those of ``none`` (the same object stream without accounting), the difference's
    range over the box of unit costs, and the ratio to ``none`` with its range.  Empty
    unless the run has ``none`` and another strategy."""
    if NO_ACCOUNTING not in result.runs or len(result.runs) < 2:
        return ""
    prof = get_profile(result.profile)
    box = Box.of(prof)
    base = strategy_forms(result, NO_ACCOUNTING, prof).total
    from .error import estimate, pm, ratio_se, t95

    err = estimate(result, prof)
    t = t95(err.n)
    import textwrap

    out = textwrap.wrap("Cost of accounting, end-to-end: each strategy minus none (no memcg accounting), "
                        "over the box of unit costs (± = 95% simulation error at the central costs):", WIDTH)

    def allocated(s: str) -> int:
        return int(result.runs[s].counters[:, EVENTS.index("objects")].sum())

    for name in result.runs:
        if name == NO_ACCOUNTING:
            continue
        if not allocated(name) or not allocated(NO_ACCOUNTING):
            out.append(f"  {name:11s} no object allocated: no per-object cost of accounting")
            continue
        a = strategy_forms(result, name, prof).total
        dlo, dhi, _ = diff_range(a, base, box)
        d0 = central(a, box) - central(base, box)
        yd = err.cycles(name, "total") - err.cycles(NO_ACCOUNTING, "total")
        e_d = " " + pm(ratio_se(yd, err.objects(name)), t, 2) if err.n >= 8 else ""
        line = f"  {name:11s} {d0:+8.2f}{e_d} cycles/object [{dlo:+.2f}, {dhi:+.2f}]"
        if form_range(base, box)[0] > 0:
            rmin, rmax, _ = ratio_range(a, base, box)
            e_r = (" " + pm(ratio_se(err.cycles(name, "total"), err.cycles(NO_ACCOUNTING, "total")), t, 2)
                   if err.n >= 8 else "")
            line += f", {central(a, box) / central(base, box):.2f}x{e_r} none [{rmin:.2f}, {rmax:.2f}]"
        out.append(line)
    return "\n".join(out)
