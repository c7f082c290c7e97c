"""``bulksim report RESULTS --out DIR``: a static HTML page of plots with captions.

RESULTS is a sweep folder (``bulksim sweep``) or a summary file (``bulksim run
--out``, with its ``.runs`` sidecar if written).  The plots are SVG drawn by
matplotlib (the ``report`` extra: ``pip install '.[report]'``; its SVG backend needs no
display and no network): it places nice ticks, draws colour bars and log axes, and
marks each strategy with its own marker and line style so coinciding lines stay
visible, all of which the hand-drawn SVG this replaces did not.  Each plot has its
data next to it as CSV, and the page states where the data came from (profile,
calls, seeds, commit).
"""

from __future__ import annotations

import csv
import html
import json
from collections import defaultdict
from pathlib import Path

import pyarrow as pa

from ..errors import BulksimError

COLORS = {"per_object": "#1f77b4", "batched_v1": "#ff7f0e", "batched": "#2ca02c", "upfront": "#d62728",
          "none": "#7f7f7f"}
# marker, line style, marker size: drawn in this order, so later (smaller) marks stay
# visible on top of earlier ones where two strategies give the same value
STYLES = {"per_object": ("o", "-", 9), "batched_v1": ("s", "--", 7), "batched": ("^", "-.", 6),
          "upfront": ("D", ":", 5), "none": ("v", ":", 5)}


def _load(path: Path, *, warn: bool = True) -> tuple[pa.Table, list[str], pa.Table | None]:
    from ..run.sweep import MANIFEST, read_sweep

    if path.is_dir():
        if not (path / MANIFEST).exists():
            raise BulksimError(f"{path}: not a sweep folder (no {MANIFEST})")
        t = read_sweep(path)
        from .compare import check_input

        check_input(t, str(path))  # finite metrics, flat columns: what the plots rely on
        params = [c for c in t.column_names if c.startswith("param_")]
        return t, params, None
    if not path.exists():
        from ..checks import why_missing

        raise BulksimError(f"{path}: {why_missing(path)}")
    from .tables import sidecar_path

    try:
        from .tables import read_table_file as read

        t = read(path)
        runs_path = sidecar_path(path, "runs")
        runs = read(runs_path) if runs_path.exists() else None
    except (pa.ArrowException, OSError) as e:
        raise BulksimError(f"{path}: cannot read it ({str(e).splitlines()[0]})") from None
    if "strategy" not in t.column_names or "total_cycles_per_object" not in t.column_names:
        raise BulksimError(f"{path}: not a bulksim summary table")
    _check_summary_types(t, path)
    from .compare import check_input

    check_input(t, str(path))  # no nested column, no infinite metric (a foreign table)
    _check_rows(t, path)
    why = None if runs is None else _runs_problem(runs)
    if runs is not None and why is None and not _same_run(t, runs):
        why = "belongs to another run than " + str(path) + " (its scenario, seed or profile differ)"
    if why is not None:
        import sys

        runs = None
        if warn:
            print(f"bulksim: warning: {runs_path} {why}; the run-length chart is left out", file=sys.stderr)
    # a sweep's summary.parquet read as a file: its points are drawn as a sweep's
    params = [c for c in t.column_names if c.startswith("param_")]
    return t, params, None if params else runs


def _runs_problem(runs: pa.Table) -> str | None:
    """Why a run-length sidecar cannot be drawn (not the table ``run --detail runs``
    writes: text strategy, integer run_length and runs, no missing value), or None."""
    from .compare import _is_text

    for name, ok in (("strategy", _is_text), ("run_length", pa.types.is_integer), ("runs", pa.types.is_integer)):
        if name not in runs.column_names:
            return f"has no {name!r} column"
        if not ok(runs.schema.field(name).type) or runs.column(name).null_count:
            return f"has a column {name!r} of type {runs.schema.field(name).type} or with missing values"
    return None


def _same_run(summary: pa.Table, detail: pa.Table) -> bool:
    """Whether a detail sidecar's identity columns (docs/tables.md) name the summary's run:
    a sidecar left from an earlier run of the same --out must not be drawn as this one.
    An empty sidecar (a run of 0 calls, or of ``none`` alone: no charges, no runs) has
    no identity columns to read: its provenance decides."""
    if detail.num_rows == 0:
        return _same_provenance(summary, detail)
    for col in ("scenario", "seed", "profile"):
        if col not in detail.column_names or col not in summary.column_names:
            return False
        a = set(summary.column(col).cast(pa.string()).to_pylist())
        b = set(detail.column(col).cast(pa.string()).to_pylist())
        if a != b:
            return False
    meta = {k: v for k, v in (summary.schema.metadata or {}).items()}
    other = {k: v for k, v in (detail.schema.metadata or {}).items()}
    return meta.get(b"scenario") == other.get(b"scenario")  # same calls and parameters


def _same_provenance(summary: pa.Table, detail: pa.Table) -> bool:
    """Whether two tables' provenance names the same run: scenario (calls and every
    parameter), seed and cost profile, all present."""
    meta = summary.schema.metadata or {}
    other = detail.schema.metadata or {}
    return all(meta.get(k) is not None and meta.get(k) == other.get(k)
               for k in (b"scenario", b"seed", b"cost_profile"))


def _check_rows(t: pa.Table, path: Path) -> None:
    """A summary with no rows, or with a row missing its strategy or total, has nothing
    to plot: bad input, refused before anything is written."""
    from ..errors import BadInputError

    if t.num_rows == 0:
        raise BadInputError(f"{path}: the table has no rows; nothing to report")
    for col in ("strategy", "total_cycles_per_object"):
        if t.column(col).null_count:
            raise BadInputError(f"{path}: column {col!r} has missing values: not a bulksim summary table")
    for v in t.column("strategy").cast(pa.string()).unique().to_pylist():
        if not v.isprintable() or not v.strip():
            raise BadInputError(f"{path}: column 'strategy' holds {v[:40]!r}, not a strategy name: "
                                "not a bulksim summary table")


def _check_summary_types(t: pa.Table, path: Path) -> None:
    """A table whose columns have a summary's names but not its types is foreign:
    bad input, not a traceback from the plotting code."""
    from ..errors import BadInputError
    from .tables import summary_schema

    schema = summary_schema()
    for name in t.column_names:
        if name in schema.names and name not in ("scenario", "strategy", "profile"):
            want, got = schema.field(name).type, t.schema.field(name).type
            if pa.types.is_dictionary(got):
                got = got.value_type
            if pa.types.is_dictionary(want):
                want = want.value_type
            if pa.types.is_null(got):  # all values missing (a generic writer's type for it),
                continue               # e.g. the error columns of a run too short to estimate them
            textual = pa.types.is_string(want) or pa.types.is_large_string(want)
            numeric = pa.types.is_integer(got) or pa.types.is_floating(got)
            if textual:
                bad = not (pa.types.is_string(got) or pa.types.is_large_string(got))
            elif pa.types.is_boolean(want):
                bad = not pa.types.is_boolean(got)
            else:
                bad = not numeric or (pa.types.is_integer(want) and not pa.types.is_integer(got))
            if bad:
                raise BadInputError(f"{path}: column {name!r} is {got}, not {want}: "
                                    "not a bulksim summary table")
    if not (pa.types.is_string(t.schema.field("strategy").type)
            or pa.types.is_dictionary(t.schema.field("strategy").type)):
        raise BadInputError(f"{path}: column 'strategy' is not text: not a bulksim summary table")


def write_report(results: str | Path, out: str | Path, *, force: bool = False) -> Path:
    """``build_report`` into a fresh folder next to ``out``, then swapped in: a
    replaced report keeps no stale plots, and a failed one (a full disk) leaves the
    old report, or nothing, in place.  Returns ``out/index.html``."""
    import os
    import shutil
    import tempfile

    from ..errors import BadInputError, OutputError

    from ..checks import need_printable_output

    need_printable_output(out)  # 'wrote OUT/index.html' is one line
    results, out = Path(results), Path(out)
    _load(results, warn=False)  # bad input before anything is created
    if out.is_symlink():  # the swap would replace the link, and leave the old report where it points
        raise BadInputError(f"{out}: is a symbolic link; give the report folder itself")
    if out.exists() and not out.is_dir():
        raise BadInputError(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise BulksimError(f"{out}: exists and is not empty (use --force to replace the report)")
    check_replaceable(results, out)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise BadInputError(f"{out}: folder {parent} does not exist")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    except OSError as e:
        raise OutputError(f"{out}: cannot write there ({e.strerror or e})") from None
    old = None
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        build_report(results, tmp, force=True)
        from .tables import signals_held

        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
        with signals_held():  # both renames or neither: old report or new, never none
            if old is not None:
                os.replace(out, old / "report")
            os.replace(tmp, out)
            from .tables import committed

            committed(out)
    except OSError as e:
        if old is not None and not out.exists():
            os.replace(old / "report", out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{out}: cannot write the report ({e.strerror or e}); nothing was changed") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out / "index.html"


REPORT_MARKER = ".bulksim-report"  # written into every report folder: --force may replace it


def check_replaceable(results: Path, out: Path) -> None:
    """Refuse an ``out`` that ``--force`` must not replace: the input itself or a folder
    holding it, or a non-empty folder that is not a bulksim report (no ``REPORT_MARKER``)."""
    from ..errors import BadInputError

    try:
        res, dst = results.resolve(), out.resolve()
    except (OSError, RuntimeError) as e:
        raise BadInputError(f"{out}: cannot resolve the path ({e})") from None
    if res == dst or dst in res.parents:
        raise BadInputError(f"{out}: holds the input {results}; a report never replaces its input")
    if results.is_dir() and res in dst.parents:
        raise BadInputError(f"{out}: is inside the sweep folder {results}; write the report elsewhere")
    if out.is_dir() and any(out.iterdir()) and not (out / REPORT_MARKER).is_file():
        raise BadInputError(f"{out}: is not a bulksim report folder (no {REPORT_MARKER}); "
                            "--force replaces only a report")


def _umask() -> int:
    from .tables import _umask as umask

    return umask()


def _plt():
    try:
        import matplotlib
    except ImportError:
        raise BulksimError("bulksim report draws with matplotlib, which is not installed: "
                           "pip install '.[report]' (from the checkout)") from None
    matplotlib.use("svg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 10, "svg.hashsalt": "bulksim"})
    return plt


def _svg(fig) -> str:
    import io

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _plt().close(fig)
    return buf.getvalue()


def _spans_decades(values) -> bool:
    pos = [v for v in values if v > 0]
    return len(pos) == len(values) and len(pos) > 1 and max(pos) / min(pos) >= 30


def _mean_by(rows, keys, value):
    acc = defaultdict(list)
    for r in rows:
        acc[tuple(r[k] for k in keys)].append(value(r))
    return {k: sum(v) / len(v) for k, v in acc.items()}


def _metric_value(r: dict, metric: str) -> float:
    """Per-object value of a summary row's metric (locks and run length are derived)."""
    if metric == "stock_locks":
        return r["stock_locks"] / max(r["objects"], 1)
    if metric == "runs":
        return r["objects"] / max(r["runs"], 1)
    return r[metric]


# the simulation-error column of each plotted metric (engine.results.error), per object
SE_OF = {"total_cycles_per_object": "total_cycles_per_object_se",
         "hook_cycles_per_object": "hook_cycles_per_object_se",
         "stock_locks": "stock_locks_per_object_se"}


def _halfwidth_of_seeds(vals: list[float], rows: list[dict], metric: str) -> float | None:
    """The 95% half-width of the mean of ``vals`` (one per seed): from their spread with
    two seeds or more, else from the one run's simulation error (``*_se`` columns)."""
    import math

    from .error import t95, t_quantile

    if len(vals) >= 2:
        m = sum(vals) / len(vals)
        sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))
        return t_quantile(0.975, len(vals) - 1) * sd / math.sqrt(len(vals))
    r = rows[0]
    se, b = r.get(SE_OF.get(metric, "")), r.get("se_batches")
    return None if se is None or b is None else t95(b) * se


def cell_stats(rows: list[dict], keys: list[str], cells: list[str], metric: str) -> dict[tuple, dict]:
    """Per value of ``keys`` (strategy, x): the mean over the grid dimensions ``cells`` and
    the seeds, its 95% half-width, and the range over ``cells`` (each cell a mean over its
    seeds), so a chart that averages a dimension away still shows how much it varies."""
    import math

    by = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by[tuple(r[k] for k in keys)][tuple(r[c] for c in cells)].append(r)
    out = {}
    for k, groups in by.items():
        means, hws = [], []
        seeds = 0
        for grp in groups.values():
            vals = [_metric_value(r, metric) for r in grp]
            means.append(sum(vals) / len(vals))
            hws.append(_halfwidth_of_seeds(vals, grp, metric))
            seeds = max(seeds, len(grp))
        n = len(means)
        hw = None if any(h is None for h in hws) else math.sqrt(sum(h * h for h in hws)) / n
        out[k] = {"mean": sum(means) / n, "halfwidth": hw, "lo": min(means), "hi": max(means),
                  "cells": n, "seeds": seeds}
    return out


def _left_out(rows, drawn) -> str:
    """The caption's note on strategies without a point (no charges: no run length)."""
    left = _order({r["strategy"] for r in rows} - {r["strategy"] for r in drawn})
    return f" Not drawn (no charges, so no run length): {', '.join(left)}." if left else ""


def _order(names):
    known = [s for s in STYLES if s in names]
    return known + sorted(n for n in names if n not in STYLES)


def line_plot(series: dict[str, list[tuple[float, float]]], xlabel: str, ylabel: str,
              *, ylog: bool | None = None, errors: dict[str, list[tuple]] | None = None) -> str:
    """One line per strategy; log2 x when x spans 16x or more, log y when y spans decades.
    ``errors[name]``: per point ``(x, halfwidth, lo, hi)``: error bars of the 95%
    half-width (seeds and simulation error) and a band from lo to hi (the range over the
    grid dimensions the line averages away)."""
    plt = _plt()
    from matplotlib.ticker import LogLocator, MaxNLocator, ScalarFormatter

    fig, ax = plt.subplots(figsize=(7, 3.6))
    xs = sorted({x for pts in series.values() for x, _ in pts})
    ys = [y for pts in series.values() for _, y in pts]
    for name in _order(series):
        marker, ls, size = STYLES.get(name, ("x", "-", 6))
        pts = sorted(series[name])
        colour = COLORS.get(name, "#555")
        ax.plot([x for x, _ in pts], [y for _, y in pts], label=name, color=colour,
                marker=marker, linestyle=ls, markersize=size, markerfacecolor="none" if size >= 7 else None,
                linewidth=1.6)
        err = sorted((errors or {}).get(name, []))
        if err:
            if any(hi > lo for _, _, lo, hi in err):
                ax.fill_between([e[0] for e in err], [e[2] for e in err], [e[3] for e in err], color=colour,
                                alpha=0.12, linewidth=0)
                ys += [e[2] for e in err] + [e[3] for e in err]
            have = [(x, y, e[1]) for (x, y), e in zip(pts, err) if e[1] is not None]
            if have:
                ax.errorbar([x for x, _, _ in have], [y for _, y, _ in have], yerr=[h for _, _, h in have],
                            fmt="none", ecolor=colour, elinewidth=1.2, capsize=3)
    if min(xs) > 0 and max(xs) / min(xs) >= 16:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xticks(xs)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=all(float(x).is_integer() for x in xs)))
    if ylog if ylog is not None else _spans_decades(ys):
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10))
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ylabel += " (log scale)"
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(title="strategy", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def heatmap(cells: dict[tuple, float], xs: list, ys: list, xlabel: str, ylabel: str,
            colour_label: str = "batched / per_object, end-to-end cycles per object",
            halfwidths: dict[tuple, float | None] | None = None) -> str:
    """Cells coloured on a scale centred at 1 (equal cost), with a labelled colour bar;
    ``halfwidths`` adds each cell's 95% half-width under its value."""
    plt = _plt()
    import numpy as np
    from matplotlib.colors import TwoSlopeNorm

    grid = np.full((len(ys), len(xs)), np.nan)
    for (x, y), v in cells.items():
        grid[ys.index(y), xs.index(x)] = v
    lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
    d = max(1.0 - lo, hi - 1.0, 0.01)  # symmetric about 1, so equal distances look equal
    norm = TwoSlopeNorm(vcenter=1.0, vmin=1.0 - d, vmax=1.0 + d)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    im = ax.imshow(grid, cmap="RdBu_r", norm=norm, origin="lower", aspect="auto")
    ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.set_yticks(range(len(ys)), [str(y) for y in ys])
    for j in range(len(ys)):
        for i in range(len(xs)):
            if not np.isnan(grid[j, i]):
                dark = abs(grid[j, i] - 1.0) > 0.6 * d
                hw = (halfwidths or {}).get((xs[i], ys[j]))
                label = f"{grid[j, i]:.3f}" + (f"\n±{hw:.3f}" if hw is not None else "")
                ax.text(i, j, label, ha="center", va="center", fontsize=9 if hw is None else 8,
                        color="white" if dark else "black")
    bar = fig.colorbar(im, ax=ax)
    bar.set_label(colour_label + "\n(below 1: batched is cheaper)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _svg(fig)


def ratio_cells(rows: list[dict], x: str, y: str, others: list[str]):
    """batched / per_object end-to-end per (x, y): the mean over seeds and ``others``, its
    95% half-width, and the range of the ratio over ``others``."""
    import math

    from .error import t_quantile

    per = defaultdict(dict)  # (x, y, other values, seed) -> strategy -> row
    for r in rows:
        per[(r[x], r[y], tuple(r[o] for o in others), r.get("seed"))][r["strategy"]] = r
    by = defaultdict(lambda: defaultdict(list))
    for (xv, yv, ov, _), d in per.items():
        if "batched" in d and "per_object" in d and d["per_object"]["total_cycles_per_object"]:
            b = d["batched"]
            by[(xv, yv)][ov].append((b["total_cycles_per_object"] / d["per_object"]["total_cycles_per_object"],
                                     b.get("total_ratio_halfwidth")))
    cells, hws, spread = {}, {}, {}
    for k, groups in by.items():
        means, h = [], []
        for vals in groups.values():
            rs = [v for v, _ in vals]
            m = sum(rs) / len(rs)
            means.append(m)
            if len(rs) >= 2:
                sd = math.sqrt(sum((v - m) ** 2 for v in rs) / (len(rs) - 1))
                h.append(t_quantile(0.975, len(rs) - 1) * sd / math.sqrt(len(rs)))
            else:
                h.append(vals[0][1])
        cells[k] = sum(means) / len(means)
        hws[k] = None if any(v is None for v in h) else math.sqrt(sum(v * v for v in h)) / len(h)
        spread[k] = max(means) - min(means)
    return cells, hws, spread


def grouped_bars(means: dict[tuple, float], points: list[str], ylabel: str,
                 whiskers: dict[tuple, tuple[float, float]] | None = None) -> str:
    """Bars of ``means[(strategy, point)]``: one group per point, one bar per strategy."""
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    strategies = _order({s for s, _ in means})
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / max(len(strategies), 1)
    for i, s in enumerate(strategies):
        xs = [j + (i - (len(strategies) - 1) / 2) * width for j in range(len(points))]
        ax.bar(xs, [means.get((s, pt), float("nan")) for pt in points], width=width * 0.95,
               color=COLORS.get(s, "#555"), label=s)
        if whiskers:
            w = [whiskers.get((s, pt)) for pt in points]
            keep = [(xx, means[(s, pt)], ww) for xx, pt, ww in zip(xs, points, w) if ww is not None]
            if keep:
                ax.errorbar([k[0] for k in keep], [k[1] for k in keep],
                            yerr=[[k[1] - k[2][0] for k in keep], [k[2][1] - k[1] for k in keep]],
                            fmt="none", ecolor="black", elinewidth=1, capsize=2)
    ax.set_xticks(range(len(points)), points, rotation=15 if len(points) > 3 else 0)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(title="strategy", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def run_length_plot(series: dict[str, list[tuple[float, float]]]) -> str:
    """Charges per run length on log-log axes: the distribution spans decades both ways."""
    plt = _plt()

    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name in _order(series):
        marker, ls, size = STYLES.get(name, ("x", "-", 6))
        pts = sorted(series[name])
        ax.plot([x for x, _ in pts], [y for _, y in pts], label=name, color=COLORS.get(name, "#555"),
                marker=marker, linestyle=ls, markersize=size, markerfacecolor="none" if size >= 7 else None)
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("run length: objects per charge (log scale)")
    ax.set_ylabel("charges (log scale)")
    ax.grid(True, alpha=0.3, which="major")
    ax.legend(title="strategy", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def cost_bars(rows: list[dict]) -> str:
    """Per strategy: the post-alloc hook, the free hook and everything else, cycles per object."""
    plt = _plt()
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    names = _order([r["strategy"] for r in rows])
    by = {r["strategy"]: r for r in rows}
    parts = [("post-alloc hook", lambda r: r["hook_cycles"]), ("free hook", lambda r: r["free_hook_cycles"]),
             ("slab allocator", lambda r: r["slab_cycles"])]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    left = np.zeros(len(names))
    for (label, get), colour in zip(parts, ("#4c72b0", "#dd8452", "#8c8c8c")):
        vals = np.array([get(by[n]) / max(by[n]["objects"], 1) for n in names])
        ax.barh(names, vals, left=left, label=label, color=colour)
        left += vals
    # Each phase is priced alone; end to end is one region where the hooks overlap the
    # allocator (docs/costs.md), so the total is at most the bar: a mark and its number,
    # with its 95% interval from the simulation error.
    from .error import t95

    for k, n in enumerate(names):
        tot = by[n]["total_cycles_per_object"]
        se, b = by[n].get("total_cycles_per_object_se"), by[n].get("se_batches")
        hw = t95(b) * se if se is not None and b is not None else None
        ax.plot([tot, tot], [k - 0.42, k + 0.42], color="black", linewidth=2)
        if hw:
            ax.errorbar([tot], [k], xerr=[hw], fmt="none", ecolor="black", elinewidth=1, capsize=3)
        ax.text(float(left[k]), k, f" {tot:.1f}" + (f" ±{hw:.2f}" if hw is not None else ""),
                va="center", fontsize=9)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_xlim(0, max(float(max(left)) * 1.2, 1.0))  # a run of 0 calls costs 0: still a scale
    ax.set_xlabel("cycles / object: phases each priced alone; black mark and number: end to end "
                  "(overlapped)", fontsize=8)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False, fontsize=9)
    return _svg(fig)


def figure_title(name: str, caption: str) -> str:
    """A figure's heading: the caption's first clause (every figure has a title)."""
    head = caption.split(": ", 1)[0].split(". ", 1)[0].rstrip(".")
    return head if len(head) <= 90 else head[:87] + "..."


def _rng(r: dict, m: str) -> str:
    lo, hi = r.get(f"{m}_low"), r.get(f"{m}_high")
    mid = r.get(m)
    if mid is None:
        return "-"
    return f"{mid:.1f} [{lo:.1f}, {hi:.1f}]" if lo is not None and hi is not None else f"{mid:.1f}"


def answer_table(rows: list[dict]) -> str:
    """Cycles per object of each strategy with its exact range over the unit costs, and
    against per_object the ratio's exact range and the verdict, as ``bulksim run`` prints."""
    base = next((r for r in rows if r["strategy"] == "per_object"), None)
    none = next((r for r in rows if r["strategy"] == "none"), None)
    head = ["strategy", "kernel", "end-to-end cycles/object, central [low, high]",
            "hook cycles/object [low, high]", "end-to-end vs per_object: ratio [min, max]", "verdict"]
    if none is not None:
        head.append("minus none (central)")
    out = ["<table class='answer'><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for r in sorted(rows, key=lambda r: _order([x["strategy"] for x in rows]).index(r["strategy"])):
        ratio = "-"
        verdict = ""
        if base is not None and r is not base and r.get("total_ratio") is not None:
            ratio = f"{r['total_ratio']:.3f} [{r['total_ratio_min']:.3f}, {r['total_ratio_max']:.3f}]"
            v = r.get("total_verdict") or ""
            verdict = f"{v} ({r['total_decided_by'].replace(',', ', ')})" if v == "depends" and r.get("total_decided_by") else v
        elif r is base:
            ratio, verdict = "1 (the base)", "mainline"
        cells = [r["strategy"], str(r.get("kernel", "")), _rng(r, "total_cycles_per_object"),
                 _rng(r, "hook_cycles_per_object"), ratio, verdict]
        if none is not None:
            empty = r.get("objects") == 0 or none.get("objects") == 0  # no per-object cost of accounting
            cells.append("-" if r is none or empty
                         else f"{r['total_cycles_per_object'] - none['total_cycles_per_object']:+.1f}")
        out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    out.append("</table><p class='note'>Ranges: every unit cost from its low to its high value "
               "(<code>bulksim profiles --show</code>); the ratio's range is exact over that box, not "
               "the quotient of the ranges. Verdict: cheaper or dearer under every cost in the ranges, "
               "or 'depends' on the unit costs named.</p>")
    return "".join(out)


def events_table(rows: list[dict]) -> str:
    """The counted events per object (or per call) of each strategy, as the console shows them."""
    from .console import ROWS, _fmt

    order = sorted(rows, key=lambda r: _order([x["strategy"] for x in rows]).index(r["strategy"]))
    out = ["<table class='why'><tr><th>event</th>"
           + "".join(f"<th>{html.escape(r['strategy'])}</th>" for r in order) + "</tr>"]
    for col, label, scale in ROWS:
        if "cycles" in col or "_ns_" in col or col not in order[0]:
            continue
        vals = [float(r[col]) / (max(r["calls"], 1) if scale == "call" else max(r["objects"], 1) if scale == "object"
                                 else 1) for r in order]
        if all(v == 0 for v in vals):
            continue
        out.append(f"<tr><td>{html.escape(label)}</td>" + "".join(f"<td>{_fmt(v)}</td>" for v in vals) + "</tr>")
    return "".join(out) + "</table>"


def provenance(table: pa.Table, rows: list[dict]) -> list[tuple[str, str]]:
    """What the page's data are: profile, calls, seeds, scenario, commit."""
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}

    def distinct(col):
        vals = sorted({str(r[col]) for r in rows if r.get(col) is not None}, key=lambda v: (len(v), v))
        return ", ".join(vals) if vals else "not recorded"

    commit = meta.get("git_commit")
    if commit and meta.get("git_dirty") == "true":
        commit += " (with uncommitted changes)"
    scenario = distinct("scenario")
    # a sweep's swept values are overrides too, but they have their own columns and axes
    swept = {c.removeprefix("param_") for c in table.column_names if c.startswith("param_")}
    fixed = {", ".join(i for i in str(r.get("overrides") or "").split(",") if i and i.split("=")[0] not in swept)
             for r in rows}
    fixed.discard("")
    if fixed:
        scenario += "; changed from the preset: " + "; ".join(sorted(fixed))
    if swept:
        scenario += "; swept: " + ", ".join(sorted(swept))
    out = [("cost profile", distinct("profile")), ("scenario", scenario)]
    try:
        desc = json.loads(meta.get("scenario", "{}")).get("description", "")
    except (ValueError, AttributeError):
        desc = ""
    if desc:
        # a sweep's description is its base's: the swept values are on the axes, not in it
        out.append(("base scenario, before the swept values" if swept else "what ran", desc))
    return out + [("calls per run", distinct("calls")), ("seeds", distinct("seed")),
                  ("commit", commit or "not recorded in the table")]


def build_report(results: str | Path, out: str | Path, *, force: bool = False) -> Path:
    """Write ``out/index.html`` with SVG plots and their CSV data; returns the page's path."""
    results, out = Path(results), Path(out)
    _plt()  # refuse before writing anything when matplotlib is missing
    table, params, runs = _load(results)
    if out.exists() and any(out.iterdir()) and not force:
        raise BulksimError(f"{out}: exists and is not empty (use --force to replace the report)")
    out.mkdir(parents=True, exist_ok=True)
    rows = table.to_pylist()
    for r in rows:
        r["strategy"] = str(r["strategy"])
    figures = []

    def emit(name, svg, header, data, caption, title=None):
        (out / f"{name}.svg").write_text(svg)
        with open(out / f"{name}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(data)
        figures.append((name, caption, title or figure_title(name, caption)))

    numeric = [p for p in params if all(isinstance(r[p], (int, float)) and not isinstance(r[p], bool) for r in rows)]
    if numeric:
        x = numeric[0]
        label = x.removeprefix("param_")
        for metric, ylabel, what in [
            ("total_cycles_per_object", "end-to-end cycles / object", "End-to-end cost"),
            ("hook_cycles_per_object", "hook cycles / object", "Post-alloc hook cost"),
            ("stock_locks", "stock locks / object", "Obj-stock lock round trips"),
            ("runs", "objects per charge", "Mean run length (objects per charge)"),
        ]:
            # a row without charges (none, or nothing simulated) has no run length:
            # objects / 0 charges is no point of the run-length line
            src = [r for r in rows if metric != "runs" or r["runs"] > 0]
            if not src:
                continue
            others = [p for p in params if p != x]
            stats = cell_stats(src, ["strategy", x], others, metric)
            series, errors = defaultdict(list), defaultdict(list)
            for (s, xv), st in sorted(stats.items()):
                series[s].append((xv, st["mean"]))
                errors[s].append((xv, st["halfwidth"], st["lo"], st["hi"]))
            rest = ", ".join(p.removeprefix("param_") for p in others)
            avg = f" averaged over seeds{' and ' + rest if rest else ''}"
            seeds = max(st["seeds"] for st in stats.values())
            bars = (f" Error bars: 95% interval of each point ({'from the spread over ' + str(seeds) + ' seeds' if seeds > 1 else 'the simulation error of the run'}"
                    + (", combined over the averaged points" if rest else "") + ").")
            band = f" Band: the range over {rest} (each a mean over seeds)." if rest else ""
            if not any(st["halfwidth"] is not None for st in stats.values()):
                bars = " (No error estimate in the data: runs too short, or an older file.)"
            emit(f"{metric}_vs_{label}", line_plot(series, label, ylabel, errors=errors),
                 ["strategy", label, ylabel, "halfwidth_95", f"min_over_{'_'.join(o.removeprefix('param_') for o in others) or 'none'}",
                  "max", "seeds"],
                 [(s, xv, st["mean"], st["halfwidth"], st["lo"], st["hi"], st["seeds"])
                  for (s, xv), st in sorted(stats.items())],
                 f"{what} per strategy against {label}{avg}." + bars + band + _left_out(rows, src))
        if len(numeric) >= 2 and {"per_object", "batched"} <= {r["strategy"] for r in rows}:
            y = numeric[1]
            # a point where per_object costs nothing (--calls 0) has no ratio: left out (ratio_cells)
            cells, hws, spread = ratio_cells(rows, x, y, [p for p in params if p not in (x, y)])
            xs = sorted({k[0] for k in cells})
            ys = sorted({k[1] for k in cells})
            ly = y.removeprefix("param_")
            rest = [p.removeprefix("param_") for p in params if p not in (x, y)]
            if cells:
                note = (f" Averaged over {', '.join(rest)}: the cells' ratios range over them by up to "
                        f"{max(spread.values()):.3f}." if rest else "")
                emit(f"ratio_{label}_{ly}", heatmap(cells, xs, ys, label, ly, halfwidths=hws),
                     [label, ly, "ratio", "halfwidth_95", "range_over_" + ("_".join(rest) or "none")],
                     [(a, b, v, hws.get((a, b)), spread.get((a, b))) for (a, b), v in sorted(cells.items())],
                     f"End-to-end cycles per object of batched divided by per_object, over {label} and "
                     f"{ly} (below 1: batching is cheaper); under each value its 95% interval (from the "
                     f"seeds' spread, or with one seed the run's simulation error).{note}")
    text = [p for p in params if p not in numeric]
    if text:
        # a parameter without an axis (a kernel generation, a GFP flag): one group of bars
        # per value combination, means over seeds and the numeric parameters
        keyf = (lambda r: " ".join(f"{p.removeprefix('param_')}={r[p] if r[p] != '' else 'own'}"
                                   for p in text))
        stats = cell_stats([dict(r, _point=keyf(r)) for r in rows], ["strategy", "_point"], numeric,
                           "total_cycles_per_object")
        means = {k: st["mean"] for k, st in stats.items()}
        # whiskers: the range over the numeric parameters averaged away, else the 95% interval
        whiskers = {k: ((st["lo"], st["hi"]) if st["cells"] > 1 else
                        (st["mean"] - st["halfwidth"], st["mean"] + st["halfwidth"])
                        if st["halfwidth"] is not None else None) for k, st in stats.items()}
        points = sorted({k[1] for k in means})
        emit("total_cycles_by_" + "_".join(p.removeprefix("param_") for p in text),
             grouped_bars(means, points, "end-to-end cycles / object", whiskers),
             ["strategy", "point", "total_cycles_per_object", "halfwidth_95", "min", "max"],
             [(s, pt, st["mean"], st["halfwidth"], st["lo"], st["hi"]) for (s, pt), st in sorted(stats.items())],
             "End-to-end cycles per object per strategy at each value of "
             + ", ".join(p.removeprefix("param_") for p in text)
             + " (means over seeds" + (" and " + ", ".join(n.removeprefix("param_") for n in numeric)
                                      if numeric else "") + "; 'own': each strategy's own generation). "
             + ("Whiskers: the range over " + ", ".join(n.removeprefix("param_") for n in numeric) + "."
                if numeric else "Whiskers: 95% interval (seeds' spread, or the simulation error)."))
    from .range_plots import range_figures

    range_figures(results, table, rows, params, numeric, emit)
    if runs is not None and runs.num_rows:
        series = defaultdict(list)
        for r in runs.to_pylist():
            series[str(r["strategy"])].append((r["run_length"], r["runs"]))
        emit("run_lengths", run_length_plot(series),
             ["strategy", "run_length", "runs"],
             [(s, a, b) for s, pts in series.items() for a, b in sorted(pts)],
             "Run-length distribution: how many charges covered how many objects, per strategy "
             "(log-log: lengths and counts span decades).")
    if not params:
        rows_one = [r for r in rows if r.get("seed") == rows[0].get("seed")]
        emit("cost_per_strategy", cost_bars(rows_one),
             ["strategy", "hook_cycles_per_object", "free_hook_cycles_per_object", "slab_cycles_per_object",
              "total_cycles_per_object"],
             [(r["strategy"], r["hook_cycles"] / max(r["objects"], 1), r["free_hook_cycles"] / max(r["objects"], 1),
               r["slab_cycles"] / max(r["objects"], 1), r["total_cycles_per_object"]) for r in rows_one],
             "Cycles per object of each strategy, split into the post-alloc hook, the free hook and "
             "the slab allocator, each priced alone; the black mark is the end-to-end cost, one "
             "region in which the hooks overlap the allocator's own chain (docs/costs.md; seed "
             + str(rows_one[0].get("seed")) + "); the whisker and ± on it: its 95% interval from "
             "the simulation error.",
             title="Where each strategy's cycles go")
    body = [f"<h1>bulksim report: {html.escape(str(results))}</h1>",
            f"<p>{len(rows)} rows; strategies: {', '.join(_order({r['strategy'] for r in rows}))}.</p>",
            "<table class='prov'>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                                            for k, v in provenance(table, rows)) + "</table>"]

    def figure(name, caption, title):
        return (f'<figure><h3>{html.escape(title)}</h3><img src="{name}.svg" alt="{html.escape(caption)}">'
                f'<figcaption>{html.escape(caption)} <a href="{name}.csv">data</a></figcaption></figure>')

    if not params:
        # one result: the answer first (what each strategy costs, with the ranges the CLI
        # prints), then why (the events), then what decides it (the unit costs)
        first = [f for f in figures if f[0] == "cost_per_strategy"]
        why = [f for f in figures if f[0] == "run_lengths"]
        rest = [f for f in figures if f not in first and f not in why]
        body += ["<h2>The answer: what each strategy costs</h2>", answer_table(rows_one)]
        body += [figure(*f) for f in first]
        body += ["<h2>Why: the events behind the costs</h2>", events_table(rows_one)]
        body += [figure(*f) for f in why]
        if rest:
            body += ["<h2>What decides it: the unit costs</h2>"] + [figure(*f) for f in rest]
    else:
        body += [figure(*f) for f in figures]
    (out / REPORT_MARKER).write_text("a bulksim report: 'bulksim report --force' may replace this folder\n")
    page = out / "index.html"
    page.write_text("<!doctype html><html><head><meta charset='utf-8'><title>bulksim report</title>"
                    "<style>body{font-family:sans-serif;max-width:760px;margin:2em auto}"
                    "table.answer,table.why{border-collapse:collapse;font-size:90%;margin:1em 0}"
                    "table.answer td,table.answer th,table.why td,table.why th{padding:2px 8px;"
                    "border-bottom:1px solid #ddd;text-align:right}"
                    "table.answer td:first-child,table.why td:first-child{text-align:left}"
                    "h3{font-size:100%;margin:0 0 .3em}"
                    "figure{margin:2em 0}figcaption{font-size:90%}img{max-width:100%}"
                    ".prov th{text-align:left;padding-right:1em;font-weight:normal;color:#555}</style></head><body>"
                    + "\n".join(body) + "</body></html>")
    return page
