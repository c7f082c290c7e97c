"""The comparison table ``bulksim run`` prints: strategies side by side, per object,
with each strategy's difference from mainline ``per_object``."""

from __future__ import annotations

import json
import math
import textwrap

WIDTH = 100  # the table wraps its strategy columns into blocks of at most this many characters

# (column, label, scale): scale "call" divides by calls, "object" by objects, None = as is
ROWS = [
    ("hook_cycles_per_object", "hook cycles / object", None),
    ("total_cycles_per_object", "end-to-end cycles / object", None),
    ("free_hook_cycles", "free-hook cycles / object", "object"),
    ("slab_cycles", "slab alloc+free cycles / object", "object"),
    ("hook_ns_per_object", "hook ns / object", None),
    ("total_ns_per_object", "end-to-end ns / object", None),
    ("runs", "charge runs / call", "call"),
    ("pgdat_runs", "same-node runs in p[] / call", "call"),
    ("hook_stock_locks", "hook stock locks / object", "object"),
    ("stock_locks", "all stock locks / object", "object"),
    ("stock_lock_failures", "trylock failures / object", "object"),
    ("consume_hits", "obj-stock consume hits / object", "object"),
    ("consume_misses", "obj-stock consume misses / object", "object"),
    ("refills", "obj-stock refills / object", "object"),
    ("drains", "obj-stock drains / object", "object"),
    ("stat_updates", "stat updates / object", "object"),
    ("hook_stat_flushes", "hook stat flushes / object", "object"),
    ("stat_flushes", "all stat flushes / object", "object"),
    ("virt_to_slab", "virt_to_slab / object", "object"),
    ("obj_to_index", "obj_to_index / object", "object"),
    ("objcg_ref_ops", "objcg ref ops / object", "object"),
    ("page_counter_charges", "page-counter charges / object", "object"),
    ("page_counter_uncharges", "page-counter uncharges / object", "object"),
    ("memcg_stock_hits", "memcg-stock hits / object", "object"),
    ("memcg_stock_misses", "memcg-stock misses / object", "object"),
    ("nr_charged_atomics", "nr_charged_bytes atomics / object", "object"),
    ("line_transfers_local", "cache-line transfers, same node / object", "object"),
    ("line_transfers_remote", "cache-line transfers, other node / object", "object"),
    ("obj_exts_failures", "obj_exts failures", None),
    ("charge_failures", "charge failures", None),
    ("hook_failures", "failed calls", None),
    ("sheaf_hits", "objects from sheaves / object", "object"),
    ("slab_refill_objects", "objects from slabs / object", "object"),
    ("remote_objects", "remote-node objects / object", "object"),
]


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if abs(v) >= 1000 or v == int(v):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}"


def _pct(v: float, base: float) -> str:
    if base == 0:
        return "" if v == 0 else "(new)"
    p = 100.0 * (v - base) / base
    return f"({p:+.1f}%)" if abs(p) >= 0.05 else "(=)"


NEAR_ZERO = 0.05  # per_object values below this print an absolute difference, not a percentage


def _delta(v: float, base: float) -> str:
    """The difference from per_object: a percentage, or ``(+0.015)`` where the base is near zero
    and a percentage would exaggerate (0.002 -> 0.017 is "+750%")."""
    if abs(base) < NEAR_ZERO:
        d = v - base
        return "(=)" if abs(d) < 5e-4 else f"({d:+.3f})"
    return _pct(v, base)


# each row's standard-error columns of its difference from per_object (engine.results.error,
# from the paired batches): the percentage's, and the absolute difference's per object
PCT_SE = {"hook_cycles_per_object": "hook_cycles_per_object_pct_se",
          "total_cycles_per_object": "total_cycles_per_object_pct_se",
          "hook_ns_per_object": "hook_cycles_per_object_pct_se",
          "total_ns_per_object": "total_cycles_per_object_pct_se",
          "free_hook_cycles": "free_hook_cycles_per_object_pct_se",
          "slab_cycles": "slab_cycles_per_object_pct_se"}
DIFF_SE = {"hook_cycles_per_object": "hook_cycles_per_object_diff_se",
           "total_cycles_per_object": "total_cycles_per_object_diff_se",
           "free_hook_cycles": "free_hook_cycles_per_object_diff_se",
           "slab_cycles": "slab_cycles_per_object_diff_se"}
for _col, _label, _scale in ROWS:
    if _scale is not None and _col not in PCT_SE:  # event rows: EVENT_per_object_*_se
        PCT_SE[_col], DIFF_SE[_col] = f"{_col}_per_object_pct_se", f"{_col}_per_object_diff_se"


RATIO_OF = {"hook_cycles_per_object": "hook", "hook_ns_per_object": "hook",
            "total_cycles_per_object": "total", "total_ns_per_object": "total"}


def _with_pm(delta: str, r: dict, col: str, per_call: bool = False) -> str:
    """``(-28.5%)`` -> ``(-28.5±0.1%)``, ``(+0.034)`` -> ``(+0.034±0.002)``: the 95%
    half-width of the simulation error of the difference from per_object (paired
    batches).  ``per_call``: the row is per call, the error column per object."""
    t = r.get("se_t95")
    if t is None or delta in ("(=)", "(new)", ""):
        return delta
    if delta.endswith("%)"):
        se = r.get(PCT_SE.get(col, ""))
        if se is None:
            return delta
        hw = t * se
        # hook and end-to-end: the ratio's own half-width (which adds the start-up bias), so
        # the table's ± and the ratio's ± printed under it are the same interval
        m = RATIO_OF.get(col)
        if m is not None and r.get(f"{m}_ratio_halfwidth") is not None:
            hw = 100.0 * r[f"{m}_ratio_halfwidth"]
        return delta[:-2] + (f"±{hw:.1f}%)" if hw >= 0.05 else "±<0.1%)" if hw > 0 else "±0%)")
    se = r.get(DIFF_SE.get(col, ""))
    if se is None:
        return delta
    hw = t * se * (r["objects"] / max(r["calls"], 1) if per_call else 1.0)
    return delta[:-1] + (f"±{hw:.3f})" if hw >= 5e-4 else "±<0.001)" if hw > 0 else "±0)")


def error_note(table) -> str:
    """The line under the table that says what ± is and where it comes from."""
    rows = table.to_pylist()
    if not rows or rows[0].get("se_batches") is None:
        return "± : no estimate of the simulation error (too few calls for batch means)."
    r = rows[0]
    line = (f"± = 95% interval of the simulation (Monte-Carlo) error: batch means over {r['se_batches']} "
            f"batches of {r['se_batch_calls']:,} calls")
    if r.get("se_short"):
        line += " (shorter than the model's memory: ± may be optimistic, run longer)"
    if r.get("precision_target") is not None:
        got = r.get("precision_reached")  # None: the cap came before a first estimate
        reached = (f"reached ±{got:.4f}" if got is not None
                   else "no estimate reached (too few calls for batch means)")
        line += (f"; run to ±{r['precision_target']:g} on the ratios: {reached}"
                 f" ({'target met' if r['precision_stop'] == 'reached' else 'stopped at the call cap'})")
    return line + "."


def header_lines(table, width: int = WIDTH) -> list[str]:
    """What ran, first: the preset, every parameter changed from it (the ``overrides``
    column), the description true of those values (the provenance's), profile and seed."""
    first = table.slice(0, 1).to_pylist()[0]
    over = first.get("overrides") or ""
    lines = textwrap.wrap(f"scenario {first['scenario']}"
                          + (f", changed from the preset: {over.replace(',', ', ')}" if over else ""),
                          width, subsequent_indent="  ")
    meta = table.schema.metadata or {}
    try:
        desc = json.loads(meta.get(b"scenario", b"{}")).get("description", "")
    except (ValueError, AttributeError):
        desc = ""
    if over and " (preset " in desc:  # the changes are on the line above
        desc = desc.rsplit(" (preset ", 1)[0]
    if desc:
        lines += textwrap.wrap(desc, width, initial_indent="  ", subsequent_indent="  ")
    lines.append(f"profile {first['profile']}, seed {first['seed']}: {first['calls']:,} calls, "
                 f"{first['objects']:,} objects")
    return lines


def comparison_text(table, width: int = WIDTH) -> str:
    """Render a summary table (``pyarrow.Table``) as aligned text, at most ``width``
    characters wide: where the strategies do not fit side by side, they are printed in
    blocks of columns, each with the metric names, one block under the other."""
    rows = table.to_pylist()
    if not rows:
        return "(no strategies)"
    names = [r["strategy"] for r in rows]
    base = next((r for r in rows if r["strategy"] == "per_object"), None)
    out = [["metric"] + names]
    if all("kernel" in r for r in rows):
        out.append(["kernel generation"] + [str(r["kernel"]) for r in rows])
    if all("free_hook" in r for r in rows):
        out.append(["free hook, objects per free call"]
                   + [f"{'-' if r['strategy'] == 'none' else r['free_hook']}, {r['free_bulk']}"
                      for r in rows])  # none runs no free hook
    for col, label, scale in ROWS:
        line = [label]
        vals = []
        for r in rows:
            v = float(r[col])
            if scale == "call":
                v /= max(r["calls"], 1)
            elif scale == "object":
                v /= max(r["objects"], 1)
            vals.append(v)
        if all(v == 0 for v in vals) and col not in ("hook_failures",):
            continue
        for r, v in zip(rows, vals):
            cell = _fmt(v)
            if base is not None and r is not base:
                b = float(base[col])
                if scale == "call":
                    b /= max(base["calls"], 1)
                elif scale == "object":
                    b /= max(base["objects"], 1)
                cell += " " + _with_pm(_delta(v, b), r, col, per_call=scale == "call")
            line.append(cell)
        out.append(line)
    widths = [max(len(row[i]) for row in out) for i in range(len(out[0]))]
    blocks, cur = [], []
    for i in range(1, len(widths)):  # strategy columns into blocks that fit next to the metric names
        if cur and widths[0] + sum(widths[j] + 2 for j in cur + [i]) > width:
            blocks.append(cur)
            cur = []
        cur.append(i)
    blocks.append(cur)
    text = header_lines(table, width) + [""]
    for n, block in enumerate(blocks):
        if n:
            text.append("")
        cols = [0] + block
        for k, row in enumerate(out):
            text.append("  ".join(row[i].ljust(widths[0]) if i == 0 else row[i].rjust(widths[i])
                                  for i in cols).rstrip())
            if k == 0:
                text.append("  ".join("-" * widths[i] for i in cols))
    if len(blocks) > 1:
        text.append(f"(the strategies in {len(blocks)} blocks of columns, to fit {width} characters)")
    if base is not None:
        text.append("")
        text.append("(+x%) = difference from per_object, the mainline hook; lower is cheaper.")
        text.append(f"(+x) without % = absolute difference, where per_object's value is below {NEAR_ZERO}.")
    text += textwrap.wrap("Hook, free-hook and slab cycles are each priced alone; end to end is one region "
                          "in which the hooks overlap the allocator, at most their sum (docs/costs.md).", width)
    text += textwrap.wrap(error_note(table), width)
    return "\n".join(text)
