"""The report's uncertainty plots: ratio bands over the unit-cost box and sensitivity
tornadoes (``bulksim report``).  Plain SVG, like the rest of the report, each with its
data as CSV next to it (``emit`` of ``engine.results.report.build_report``)."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..inputs.costs import coefficients, get_profile
from ..model.events import EVENTS
from .ranges import BASE

W, H, PAD, PADR, PADL = 640, 320, 56, 120, 150
COLORS = {"batched_v1": "#ff7f0e", "batched": "#2ca02c", "upfront": "#d62728"}


def band_plot(series: dict[str, list[tuple[float, float, float, float]]], xlabel: str, ylabel: str) -> str:
    """Lines of (x, central) with a shaded band (x, low, high) per series; a dashed line at 1."""
    pts = [p for s in series.values() for p in s]
    xs = sorted({p[0] for p in pts})
    y0 = min(0.0, min(p[2] for p in pts))
    y1 = max(1.05, max(p[3] for p in pts) * 1.05)
    xlog = xs[0] > 0 and xs[-1] / xs[0] >= 16
    fx = (lambda x: np.log2(x)) if xlog else (lambda x: x)
    a, b = fx(xs[0]), fx(xs[-1])
    sx = lambda x: PAD + (fx(x) - a) / ((b - a) or 1) * (W - PAD - PADR)  # noqa: E731
    sy = lambda y: H - PAD - (y - y0) / ((y1 - y0) or 1) * (H - 2 * PAD)  # noqa: E731
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PADR}" y2="{H - PAD}" stroke="black"/>',
           f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="black"/>',
           f'<line x1="{PAD}" y1="{sy(1):.1f}" x2="{W - PADR}" y2="{sy(1):.1f}" stroke="#888" '
           'stroke-dasharray="4 3"/>']
    for x in xs:
        svg.append(f'<text x="{sx(x):.1f}" y="{H - PAD + 16}" font-size="11" text-anchor="middle">{x:g}</text>')
    for k in range(5):
        y = y0 + (y1 - y0) * k / 4
        svg.append(f'<text x="{PAD - 6}" y="{sy(y) + 4:.1f}" font-size="11" text-anchor="end">{y:.2f}</text>')
    for k, (name, s) in enumerate(series.items()):
        c = COLORS.get(name, "#555")
        s = sorted(s)
        poly = [f"{sx(x):.1f},{sy(hi):.1f}" for x, _, _, hi in s] + \
               [f"{sx(x):.1f},{sy(lo):.1f}" for x, _, lo, _ in reversed(s)]
        svg.append(f'<polygon points="{" ".join(poly)}" fill="{c}" fill-opacity="0.18" stroke="none"/>')
        svg.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" '
                   f'points="{" ".join(f"{sx(x):.1f},{sy(m):.1f}" for x, m, _, _ in s)}"/>')
        svg.append(f'<text x="{W - PADR + 12}" y="{PAD + 14 * k}" font-size="11" fill="{c}">{name}</text>')
    svg.append(f'<text x="{W / 2}" y="{H - 12}" font-size="12" text-anchor="middle">'
               f'{html.escape(xlabel + (" (log scale)" if xlog else ""))}</text>')
    svg.append(f'<text x="14" y="{H / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 14 {H / 2})">{html.escape(ylabel)}</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def tornado_plot(rows: list[dict], central: float, xlabel: str) -> str:
    """Horizontal bars from the ratio at a unit cost's low value to that at its high value."""
    lo = min([central, 1.0] + [min(r["ratio_at_low"], r["ratio_at_high"]) for r in rows])
    hi = max([central, 1.0] + [max(r["ratio_at_low"], r["ratio_at_high"]) for r in rows])
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    sx = lambda v: PADL + (v - lo) / (hi - lo) * (W - PADL - 20)  # noqa: E731
    bh = (H - 2 * PAD) / max(len(rows), 1)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">',
           '<rect width="100%" height="100%" fill="white"/>']
    for j, r in enumerate(rows):
        y = PAD + j * bh
        a, b = sorted((r["ratio_at_low"], r["ratio_at_high"]))
        color = "#1f77b4" if r["ratio_at_high"] >= r["ratio_at_low"] else "#d62728"
        svg.append(f'<rect x="{sx(a):.1f}" y="{y + 2:.1f}" width="{max(sx(b) - sx(a), 1):.1f}" '
                   f'height="{bh - 4:.1f}" fill="{color}" fill-opacity="0.7"/>')
        svg.append(f'<text x="{PADL - 6}" y="{y + bh / 2 + 4:.1f}" font-size="11" text-anchor="end">'
                   f'{html.escape(r["unit_cost"])}</text>')
    for v, dash in ((central, ""), (1.0, ' stroke-dasharray="4 3"')):
        svg.append(f'<line x1="{sx(v):.1f}" y1="{PAD - 6}" x2="{sx(v):.1f}" y2="{H - PAD + 4}" '
                   f'stroke="black"{dash}/>')
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        svg.append(f'<text x="{sx(v):.1f}" y="{H - PAD + 18}" font-size="11" text-anchor="middle">{v:.3f}</text>')
    svg.append(f'<text x="{(PADL + W) / 2}" y="{H - 12}" font-size="12" text-anchor="middle">'
               f'{html.escape(xlabel)}</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def _depth(results: Path, table, row: dict) -> int:
    if row.get("param_depth") is not None:
        return int(row["param_depth"])
    from ..errors import BadInputError

    meta = table.schema.metadata or {}
    try:
        if b"scenario" in meta:
            return int(json.loads(meta[b"scenario"])["depth"])
        if results.is_dir():
            from ..run.sweep import MANIFEST

            return int(json.loads((results / MANIFEST).read_text())["base"]["depth"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        pass
    # foreign input, not a fault of the output folder
    raise BadInputError(f"{results}: records no scenario (schema metadata 'scenario' with its depth): "
                        "not a bulksim summary table")


def pooled_sensitivity(results: Path, table, rows: list[dict], strategy: str, top: int = 8):
    """End-to-end ratio ``strategy / per_object`` of the rows' pooled counts, each unit
    cost swept over its range with the others central (the summary holds counts over
    all phases, so this is the end-to-end ratio)."""
    prof = get_profile(str(rows[0]["profile"]))
    lo, mid, hi = prof.vector("low"), prof.vector("central"), prof.vector("high")
    forms = {}
    for s in (strategy, BASE):
        mine = [r for r in rows if r["strategy"] == s]
        co = np.zeros(len(prof.names))
        objects = 0
        for r in mine:
            counts = np.array([[float(r[e]) for e in EVENTS]])
            co += coefficients(prof, s, counts, depth=_depth(results, table, r), entries=[r["calls"]])[0]
            objects += r["objects"]
        forms[s] = co / max(objects, 1)
    a, b = forms[strategy], forms[BASE]
    if not (float(b @ lo) > 0 and float(a @ mid) > 0):  # no rows of one of them here
        return 0.0, []
    r0 = float(a @ mid) / float(b @ mid)
    out = []
    for i, name in enumerate(prof.names):
        v = []
        for end in (lo[i], hi[i]):
            x = mid.copy()
            x[i] = end
            v.append(float(a @ x) / float(b @ x))
        out.append({"unit_cost": name, "ratio_at_low": v[0], "ratio_at_high": v[1], "swing": abs(v[1] - v[0])})
    out.sort(key=lambda d: -d["swing"])
    return r0, [d for d in out if d["swing"] > 0][:top]


def range_figures(results: Path, table, rows: list[dict], params: list[str], numeric: list[str], emit) -> None:
    """Add the band and tornado figures to a report (nothing if the rows lack ranges)."""
    if "total_ratio_min" not in table.column_names or not any(r["strategy"] == BASE for r in rows):
        return
    no_counts = any(e not in table.column_names for e in EVENTS)  # a summary of another event set
    others = [s for s in dict.fromkeys(r["strategy"] for r in rows) if s != BASE]
    if numeric:
        x = numeric[0]
        label = x.removeprefix("param_")
        for m, what in (("total", "End-to-end"), ("hook", "Post-alloc hook")):
            acc = defaultdict(list)
            for r in rows:
                if r["strategy"] != BASE and r[f"{m}_ratio"] is not None:
                    acc[(r["strategy"], r[x])].append((r[f"{m}_ratio"], r[f"{m}_ratio_min"], r[f"{m}_ratio_max"]))
            series = defaultdict(list)
            for (s, xv), vals in sorted(acc.items()):
                series[s].append((xv,) + tuple(float(np.mean(c)) for c in zip(*vals)))
            if series:
                emit(f"{m}_ratio_band_vs_{label}", band_plot(series, label, f"{m} cycles / per_object's"),
                     ["strategy", label, "ratio", "ratio_min", "ratio_max"],
                     [(s,) + p for s, pts in series.items() for p in pts],
                     f"{what} cycles per object divided by per_object's against {label}: the line at central "
                     f"unit costs, the band the exact minimum and maximum over the box of unit costs "
                     f"(means over seeds and other parameters). Below the dashed line at 1: cheaper.")
    if no_counts:  # the bands need only the range columns; the tornadoes need every count
        return
    groups = sorted({r[numeric[0]] for r in rows})[:4] if numeric else [None]
    for s in (["batched"] if "batched" in others else others[:1]):
        for g in groups:
            sel = [r for r in rows if g is None or r[numeric[0]] == g]
            r0, top = pooled_sensitivity(results, table, sel, s)
            if not top:
                continue
            tag = "" if g is None else f"_{numeric[0].removeprefix('param_')}_{g}"
            where = "" if g is None else f" at {numeric[0].removeprefix('param_')} = {g}"
            emit(f"sensitivity_{s}{tag}", tornado_plot(top, r0, f"end-to-end {s} / {BASE}"),
                 ["unit_cost", "ratio_at_low", "ratio_at_high", "swing"],
                 [(d["unit_cost"], d["ratio_at_low"], d["ratio_at_high"], d["swing"]) for d in top],
                 f"Sensitivity of the end-to-end ratio {s} / {BASE}{where} (counts pooled over the rows): each "
                 f"unit cost swept from its low to its high value with the others central; blue bars rise "
                 f"with the cost, red fall. Solid line: central ratio {r0:.3f}; dashed: 1.")
