"""The report's uncertainty plots: ratio bands over the unit-cost box and sensitivity
tornadoes (``bulksim report``).  Drawn with matplotlib like the rest of the report, each
with its data as CSV next to it (``emit`` of ``engine.results.report.build_report``)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..inputs.costs import coefficients, get_profile
from ..model.events import EVENTS
from .ranges import BASE


def band_plot(series: dict[str, list[tuple[float, float, float, float]]], xlabel: str, ylabel: str) -> str:
    """Lines of (x, central) with a shaded band (x, low, high) per series; a dashed line at 1."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    from .report import COLORS, STYLES, _order, _plt, _svg

    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    xs = sorted({p[0] for s in series.values() for p in s})
    for name in _order(series):
        pts = sorted(series[name])
        marker, ls, size = STYLES.get(name, ("x", "-", 6))
        c = COLORS.get(name, "#555")
        x = [q[0] for q in pts]
        ax.fill_between(x, [q[2] for q in pts], [q[3] for q in pts], color=c, alpha=0.18, linewidth=0)
        ax.plot(x, [q[1] for q in pts], color=c, marker=marker, linestyle=ls, markersize=size,
                markerfacecolor="none" if size >= 7 else None, linewidth=1.6,
                label=f"{name} (band: low..high unit costs)")
    ax.axhline(1.0, color="#666", linestyle=(0, (4, 3)), linewidth=1)
    if xs[0] > 0 and xs[-1] / xs[0] >= 16:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xticks(xs)
        xlabel += " (log scale)"
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=all(float(x).is_integer() for x in xs)))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def tornado_plot(rows: list[dict], central: float, xlabel: str) -> str:
    """Horizontal bars from the ratio at a unit cost's low value to that at its high value."""
    from matplotlib.patches import Patch

    from .report import _plt, _svg

    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.38 * max(len(rows), 1)))
    for j, r in enumerate(rows):
        a, b = sorted((r["ratio_at_low"], r["ratio_at_high"]))
        rising = r["ratio_at_high"] >= r["ratio_at_low"]
        ax.barh(j, max(b - a, 1e-9), left=a, height=0.7, color="#1f77b4" if rising else "#d62728", alpha=0.8)
    ax.set_yticks(range(len(rows)), [r["unit_cost"] for r in rows])
    ax.invert_yaxis()  # the largest swing on top
    ax.axvline(central, color="black", linewidth=1.2)
    ax.axvline(1.0, color="#666", linestyle=(0, (4, 3)), linewidth=1)
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(handles=[Patch(color="#1f77b4", alpha=0.8, label="ratio rises with the cost"),
                       Patch(color="#d62728", alpha=0.8, label="ratio falls with the cost")],
              loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


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
    from .ranges import Box, central, fval, swept_ratios

    prof = get_profile(str(rows[0]["profile"]))
    meta = table.schema.metadata or {}
    want = meta.get(b"cost_profile_digest")
    if want is not None:
        from ..errors import BadInputError
        from ..inputs.profile_file import digest

        if digest(prof).encode() != want:
            raise BadInputError(f"profile file {rows[0]['profile']}: its unit costs are not those {results} "
                                "was priced with (the file changed since); restore it or rerun")
    box = Box.of(prof)
    forms = {}
    for s in (strategy, BASE):
        mine = [r for r in rows if r["strategy"] == s]
        co = np.zeros(len(prof.names))
        objects = 0
        for r in mine:
            counts = np.array([[float(r.get(e) or 0) for e in EVENTS]])
            co += coefficients(prof, s, counts, depth=_depth(results, table, r), entries=[r["calls"]],
                               kernel=str(r.get("kernel") or ""))[0]
            objects += r["objects"]
        forms[s] = co / max(objects, 1)
    a, b = forms[strategy], forms[BASE]
    if not (fval(b, box.xl, box.yl) > 0 and central(a, box) > 0):  # no rows of one of them here
        return 0.0, []
    return central(a, box) / central(b, box), [d for d in swept_ratios(a, b, box, prof.names)
                                                if d["swing"] > 0][:top]


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
    # one chart per value of the first numeric parameter and of every non-numeric one (a
    # kernel generation, a GFP flag): counts are pooled over seeds and the other numeric
    # parameters only, never across generations or flags
    by = [p for p in params if p not in numeric] + numeric[:1]
    groups = sorted({tuple(r[p] for p in by) for r in rows}, key=str)[:4] if by else [()]
    for s in (["batched"] if "batched" in others else others[:1]):
        for g in groups:
            sel = [r for r in rows if all(r[p] == v for p, v in zip(by, g))]
            r0, top = pooled_sensitivity(results, table, sel, s)
            if not top:
                continue
            named = [(p.removeprefix("param_"), v if v != "" else "own") for p, v in zip(by, g)]
            tag = "".join(f"_{k}_{v}" for k, v in named)
            where = (" at " + ", ".join(f"{k} = {v}" for k, v in named)) if named else ""
            emit(f"sensitivity_{s}{tag}", tornado_plot(top, r0, f"end-to-end {s} / {BASE}"),
                 ["unit_cost", "ratio_at_low", "ratio_at_high", "swing"],
                 [(d["unit_cost"], d["ratio_at_low"], d["ratio_at_high"], d["swing"]) for d in top],
                 f"Sensitivity of the end-to-end ratio {s} / {BASE}{where} (counts pooled over the rows): each "
                 f"unit cost swept from its low to its high value with the others central; blue bars rise "
                 f"with the cost, red fall. Solid line: central ratio {r0:.3f}; dashed: 1.")
