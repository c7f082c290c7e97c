"""``bulksim report RESULTS --out DIR``: a static HTML page of plots with captions.

RESULTS is a sweep folder (``bulksim sweep``) or a summary file (``bulksim run
--out``, with its ``.runs`` sidecar if written).  Plots are plain SVG written by this
module (no plotting library needed); each has its data next to it as CSV, so what
a plot shows can be checked and re-plotted.
"""

from __future__ import annotations

import csv
import html
import math
from collections import defaultdict
from pathlib import Path

import pyarrow as pa

from ..errors import BulksimError

COLORS = {"per_object": "#1f77b4", "batched_v1": "#ff7f0e", "batched": "#2ca02c", "upfront": "#d62728"}
W, H, PAD = 640, 320, 56
PADR = 120  # room for the legend on the right


def _load(path: Path) -> tuple[pa.Table, list[str], pa.Table | None]:
    from ..run.sweep import MANIFEST, read_sweep

    if path.is_dir():
        if not (path / MANIFEST).exists():
            raise BulksimError(f"{path}: not a sweep folder (no {MANIFEST})")
        t = read_sweep(path)
        params = [c for c in t.column_names if c.startswith("param_")]
        return t, params, None
    if not path.exists():
        raise BulksimError(f"{path}: no such file")
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    from .tables import sidecar_path

    try:
        read = pq.read_table if path.suffix == ".parquet" else feather.read_table
        t = read(path)
        runs_path = sidecar_path(path, "runs")
        runs = read(runs_path) if runs_path.exists() else None
    except (pa.ArrowException, OSError) as e:
        raise BulksimError(f"{path}: cannot read it ({str(e).splitlines()[0]})") from None
    if "strategy" not in t.column_names or "total_cycles_per_object" not in t.column_names:
        raise BulksimError(f"{path}: not a bulksim summary table")
    _check_summary_types(t, path)
    return t, [], runs


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
            textual = pa.types.is_string(want) or pa.types.is_large_string(want)
            numeric = pa.types.is_integer(got) or pa.types.is_floating(got)
            if textual:
                bad = not (pa.types.is_string(got) or pa.types.is_large_string(got))
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

    results, out = Path(results), Path(out)
    _load(results)  # bad input before anything is created
    if out.exists() and not out.is_dir():
        raise BadInputError(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise BulksimError(f"{out}: exists and is not empty (use --force to replace the report)")
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
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, old / "report")
        os.replace(tmp, out)
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


def _umask() -> int:
    from .tables import _umask as umask

    return umask()


def _metric_value(r: dict, metric: str) -> float:
    """Per-object value of a summary row's metric (locks and run length are derived)."""
    if metric == "stock_locks":
        return r["stock_locks"] / max(r["objects"], 1)
    if metric == "runs":
        return r["objects"] / max(r["runs"], 1)
    return r[metric]


def _mean_by(rows, keys, value):
    acc = defaultdict(list)
    for r in rows:
        acc[tuple(r[k] for k in keys)].append(value(r))
    return {k: sum(v) / len(v) for k, v in acc.items()}


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def _axes(svg, xs, ys, xlabel, ylabel, xlog):
    x0, x1 = min(xs), max(xs)
    y0, y1 = 0.0, max(ys) * 1.1 if max(ys) > 0 else 1.0
    if xlog:
        fx = lambda x: math.log2(x)  # noqa: E731
    else:
        fx = lambda x: x  # noqa: E731
    a, b = fx(x0), fx(x1)
    sx = lambda x: PAD + (fx(x) - a) / ((b - a) or 1) * (W - PAD - PADR)  # noqa: E731
    sy = lambda y: H - PAD - (y - y0) / ((y1 - y0) or 1) * (H - 2 * PAD)  # noqa: E731
    svg.append(f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PADR}" y2="{H - PAD}" stroke="black"/>')
    svg.append(f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="black"/>')
    for x in sorted(set(xs)):
        svg.append(f'<text x="{sx(x):.1f}" y="{H - PAD + 16}" font-size="11" text-anchor="middle">{_fmt(x)}</text>')
    for k in range(5):
        y = y0 + (y1 - y0) * k / 4
        svg.append(f'<text x="{PAD - 6}" y="{sy(y) + 4:.1f}" font-size="11" text-anchor="end">{_fmt(y)}</text>')
    svg.append(f'<text x="{W / 2}" y="{H - 12}" font-size="12" text-anchor="middle">{html.escape(xlabel)}</text>')
    svg.append(f'<text x="14" y="{H / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 14 {H / 2})">{html.escape(ylabel)}</text>')
    return sx, sy


def line_plot(series: dict[str, list[tuple[float, float]]], xlabel: str, ylabel: str) -> str:
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    xlog = min(xs) > 0 and max(xs) / min(xs) >= 16
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">',
           '<rect width="100%" height="100%" fill="white"/>']
    sx, sy = _axes(svg, xs, ys, xlabel + (" (log scale)" if xlog else ""), ylabel, xlog)
    for k, (name, pts) in enumerate(series.items()):
        color = COLORS.get(name, "#555")
        pts = sorted(pts)
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        svg.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        for x, y in pts:
            svg.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{color}"/>')
        svg.append(f'<text x="{W - PADR + 12}" y="{PAD + 14 * k}" font-size="11" fill="{color}">{name}</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def bar_plot(bars: dict[str, list[tuple[float, float]]], xlabel: str, ylabel: str) -> str:
    return line_plot(bars, xlabel, ylabel).replace('<polyline fill="none"', '<polyline fill="none" stroke-dasharray="4 2"')


def heatmap(cells: dict[tuple, float], xs: list, ys: list, xlabel: str, ylabel: str) -> str:
    cw, ch = (W - 2 * PAD) / len(xs), (H - 2 * PAD) / len(ys)
    lo, hi = min(cells.values()), max(cells.values())
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">',
           '<rect width="100%" height="100%" fill="white"/>']
    for i, x in enumerate(xs):
        svg.append(f'<text x="{PAD + (i + 0.5) * cw:.1f}" y="{H - PAD + 16}" font-size="11" '
                   f'text-anchor="middle">{_fmt(x)}</text>')
        for j, y in enumerate(ys):
            v = cells.get((x, y))
            if v is None:
                continue
            t = (v - lo) / ((hi - lo) or 1)
            color = f"rgb({int(40 + 215 * t)},{int(160 - 60 * t)},{int(255 - 215 * t)})"
            ypos = H - PAD - (j + 1) * ch
            svg.append(f'<rect x="{PAD + i * cw:.1f}" y="{ypos:.1f}" width="{cw:.1f}" height="{ch:.1f}" '
                       f'fill="{color}" stroke="white"/>')
            svg.append(f'<text x="{PAD + (i + 0.5) * cw:.1f}" y="{ypos + ch / 2 + 4:.1f}" font-size="11" '
                       f'text-anchor="middle">{v:.3f}</text>')
    for j, y in enumerate(ys):
        svg.append(f'<text x="{PAD - 6}" y="{H - PAD - (j + 0.5) * ch + 4:.1f}" font-size="11" '
                   f'text-anchor="end">{_fmt(y)}</text>')
    svg.append(f'<text x="{W / 2}" y="{H - 12}" font-size="12" text-anchor="middle">{html.escape(xlabel)}</text>')
    svg.append(f'<text x="14" y="{H / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 14 {H / 2})">{html.escape(ylabel)}</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def build_report(results: str | Path, out: str | Path, *, force: bool = False) -> Path:
    """Write ``out/index.html`` with SVG plots and their CSV data; returns the page's path."""
    results, out = Path(results), Path(out)
    table, params, runs = _load(results)
    if out.exists() and any(out.iterdir()) and not force:
        raise BulksimError(f"{out}: exists and is not empty (use --force to replace the report)")
    out.mkdir(parents=True, exist_ok=True)
    rows = table.to_pylist()
    for r in rows:
        r["strategy"] = str(r["strategy"])
    figures = []

    def emit(name, svg, header, data, caption):
        (out / f"{name}.svg").write_text(svg)
        with open(out / f"{name}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(data)
        figures.append((name, caption))

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
            means = _mean_by(rows, ["strategy", x], lambda r, m=metric: _metric_value(r, m))
            series = defaultdict(list)
            for (s, xv), v in sorted(means.items()):
                series[s].append((xv, v))
            rest = ", ".join(p.removeprefix("param_") for p in params if p != x)
            avg = f" averaged over seeds{' and ' + rest if rest else ''}"
            emit(f"{metric}_vs_{label}", line_plot(series, label, ylabel), ["strategy", label, ylabel],
                 [(s, xv, v) for (s, xv), v in sorted(means.items())],
                 f"{what} per strategy against {label}{avg}.")
        if len(numeric) >= 2 and {"per_object", "batched"} <= {r["strategy"] for r in rows}:
            y = numeric[1]
            means = _mean_by(rows, ["strategy", x, y], lambda r: r["total_cycles_per_object"])
            cells = {(xv, yv): means[("batched", xv, yv)] / means[("per_object", xv, yv)]
                     for (s, xv, yv) in means if s == "batched" and ("per_object", xv, yv) in means}
            xs = sorted({k[0] for k in cells})
            ys = sorted({k[1] for k in cells})
            ly = y.removeprefix("param_")
            emit(f"ratio_{label}_{ly}", heatmap(cells, xs, ys, label, ly), [label, ly, "ratio"],
                 [(a, b, v) for (a, b), v in sorted(cells.items())],
                 f"End-to-end cycles per object of batched divided by per_object, over {label} and "
                 f"{ly} (below 1: batching is cheaper).")
    from .range_plots import range_figures

    range_figures(results, table, rows, params, numeric, emit)
    if runs is not None and runs.num_rows:
        series = defaultdict(list)
        for r in runs.to_pylist():
            series[str(r["strategy"])].append((r["run_length"], r["runs"]))
        emit("run_lengths", bar_plot(series, "run length (objects per charge)", "charges"),
             ["strategy", "run_length", "runs"],
             [(s, a, b) for s, pts in series.items() for a, b in sorted(pts)],
             "Run-length distribution: how many charges covered how many objects, per strategy.")
    if not figures:
        by = {r["strategy"]: r["total_cycles_per_object"] for r in rows}
        single = {s: [(1.0, v)] for s, v in by.items()}
        emit("total_cycles", line_plot(single, "(single scenario)", "end-to-end cycles / object"),
             ["strategy", "total_cycles_per_object"], sorted(by.items()),
             "End-to-end cycles per object per strategy.")
    body = [f"<h1>bulksim report: {html.escape(str(results))}</h1>",
            f"<p>{len(rows)} rows; strategies: {', '.join(sorted({r['strategy'] for r in rows}))}.</p>"]
    for name, caption in figures:
        body.append(f'<figure><img src="{name}.svg" alt="{html.escape(caption)}">'
                    f'<figcaption>{html.escape(caption)} <a href="{name}.csv">data</a></figcaption></figure>')
    page = out / "index.html"
    page.write_text("<!doctype html><html><head><meta charset='utf-8'><title>bulksim report</title>"
                    "<style>body{font-family:sans-serif;max-width:720px;margin:2em auto}"
                    "figure{margin:2em 0}figcaption{font-size:90%}</style></head><body>"
                    + "\n".join(body) + "</body></html>")
    return page
