"""The measurement table: Arrow schema with units, console / Markdown / JSON text,
``--out`` (atomic, with the units sidecar) and reading a file back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa

from ..errors import BadInputError
from ..results.tables import _dict_str, _field

SCHEMA_VERSION = "measure-1"

_COLS = [
    ("workload", "str", "", "workload (engine.measure.WORKLOADS)"),
    ("phase", "str", "", "post_alloc_hook, free_hook, slab_alloc or slab_free (docs/measure.md)"),
    ("captured", "bool", "", "false: this phase runs outside the recorded process (see not_captured)"),
    ("cache", "str", "", "slab cache of the workload's object"),
    ("object_size", "int", "bytes", "object size of the cache (/proc/slabinfo objsize)"),
    ("bulk_size", "int", "objects", "objects per slab allocation call"),
    ("live_objects", "int", "objects", "objects live at once (the model's live set)"),
    ("objects", "int", "objects", "objects the workload allocated, all repeats"),
    ("calls", "int", "calls", "slab allocation calls of those objects, all repeats"),
    ("repeats", "int", "", "perf recordings of the workload"),
    ("samples", "int", "samples", "cpu-clock samples attributed to this phase, all repeats"),
    ("samples_total", "int", "samples", "all samples of the workload's recordings"),
    ("ns_per_object", "float", "ns/object", "measured time of the phase per object"),
    ("ns_per_object_low", "float", "ns/object", "2.5th percentile of the batch bootstrap"),
    ("ns_per_object_high", "float", "ns/object", "97.5th percentile of the batch bootstrap"),
    ("cycles_per_object", "float", "cycles/object", "ns_per_object at the measured clock"),
    ("hook_share", "float", "", "workload: (post-alloc + free hook) / (hooks + slab), captured phases"),
    ("hook_share_low", "float", "", "2.5th percentile"),
    ("hook_share_high", "float", "", "97.5th percentile"),
    ("accounted_ratio", "float", "", "workload: (slab + hooks) / slab, captured phases"),
    ("accounted_ratio_low", "float", "", "2.5th percentile"),
    ("accounted_ratio_high", "float", "", "97.5th percentile"),
    ("model_kernel", "str", "", "kernel generation of the model's prediction (docs/model.md §5a)"),
    ("model_strategy", "str", "", "hook strategy of the model's prediction"),
    ("model_cycles_per_object", "float", "cycles/object", "model, central unit costs"),
    ("model_cycles_low", "float", "cycles/object", "model, exact minimum over the unit-cost box"),
    ("model_cycles_high", "float", "cycles/object", "model, exact maximum over the unit-cost box"),
    ("model_ns_per_object", "float", "ns/object", "model cycles at the measured clock"),
    ("model_ns_low", "float", "ns/object", "model minimum at the measured clock"),
    ("model_ns_high", "float", "ns/object", "model maximum at the measured clock"),
    ("ratio", "float", "", "measured / model (central)"),
    ("ratio_low", "float", "", "measured / model maximum"),
    ("ratio_high", "float", "", "measured / model minimum"),
    ("model_hook_share", "float", "", "model's hook share over the captured phases (central)"),
    ("model_hook_share_low", "float", "", "exact minimum over the unit-cost box"),
    ("model_hook_share_high", "float", "", "exact maximum over the unit-cost box"),
    ("model_accounted_ratio", "float", "", "model's (slab + hooks) / slab over the captured phases"),
    ("model_accounted_ratio_low", "float", "", "exact minimum"),
    ("model_accounted_ratio_high", "float", "", "exact maximum"),
    ("not_captured", "str", "", "why a phase is not captured (empty when it is)"),
    ("top_functions", "str", "", "where the phase's time goes: the 5 functions with the most self time "
                                 "(sample leaves) and their share of the phase"),
]
_TYPES = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}


def schema(prov: dict | None = None) -> pa.Schema:
    fields = [_dict_str(n, d) if t == "str" else _field(n, _TYPES[t], u, d) for n, t, u, d in _COLS]
    meta = {"schema_version": SCHEMA_VERSION, "table": "measurement"}
    if prov:
        meta.update({k: str(v) for k, v in prov.items()})
        meta["provenance"] = json.dumps(prov, sort_keys=True)
    return pa.schema(fields, metadata=meta)


def build_table(rows: list[dict], prov: dict) -> pa.Table:
    sch = schema(prov)
    cols = {}
    for f in sch:
        vals = [r[f.name] for r in rows]
        if pa.types.is_dictionary(f.type):
            cols[f.name] = pa.array(vals, pa.string()).dictionary_encode()
        else:
            cols[f.name] = pa.array(vals, f.type)
    return pa.table(cols, schema=sch)


def _f(v, nd=1):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{nd}f}"


def _iv(v, lo, hi, nd=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "not captured"
    return f"{_f(v, nd)} [{_f(lo, nd)}, {_f(hi, nd)}]"


def _lines(m, fmt: str, top: bool = False) -> list[str]:
    t = m.table.to_pylist()
    p = m.provenance
    head = ["workload", "phase", "samples", "ns/object [95% CI]", "model cycles/object [range]",
            "model ns/object [range]", "measured/model [range]"]
    body = []
    for r in t:
        body.append([r["workload"], r["phase"], str(r["samples"]),
                     _iv(r["ns_per_object"], r["ns_per_object_low"], r["ns_per_object_high"]),
                     _iv(r["model_cycles_per_object"], r["model_cycles_low"], r["model_cycles_high"]),
                     _iv(r["model_ns_per_object"], r["model_ns_low"], r["model_ns_high"]),
                     _iv(r["ratio"], r["ratio_low"], r["ratio_high"], 2) if r["captured"] else "-"])
    intro = [f"kernel {p['kernel']} ({p['preempt']}; memcg {p['memcg']}); {p['cpu']} at "
             f"{float(p['clock_ghz']):.2f} GHz (measured); perf {p['perf_version']}",
             f"model: {p['strategy']} on {p['generation']}, profile {p['profile']}, {p['model_calls']} calls "
             f"per workload; {p['generation_note']}"]
    per_wl = []
    seen = []
    for r in t:
        if r["workload"] in seen:
            continue
        seen.append(r["workload"])
        per_wl.append(f"{r['workload']}: {r['objects']} objects in {r['calls']} calls (bulk {r['bulk_size']}, "
                      f"{r['cache']} {r['object_size']} B), recordings: {r['repeats']}, samples: {r['samples_total']}; "
                      f"hook share {_iv(r['hook_share'], r['hook_share_low'], r['hook_share_high'], 3)} "
                      f"(model {_iv(r['model_hook_share'], r['model_hook_share_low'], r['model_hook_share_high'], 3)}); "
                      f"accounted/unaccounted {_iv(r['accounted_ratio'], r['accounted_ratio_low'], r['accounted_ratio_high'], 2)} "
                      f"(model {_iv(r['model_accounted_ratio'], r['model_accounted_ratio_low'], r['model_accounted_ratio_high'], 2)})")
        nc = next((x["not_captured"] for x in t if x["workload"] == r["workload"] and x["not_captured"]), "")
        if nc:
            per_wl.append(f"  not captured: {nc}")
        if top:
            for x in t:
                if x["workload"] == r["workload"] and x["top_functions"]:
                    per_wl.append(f"  {x['phase']}: {x['top_functions']}")
    if fmt == "md":
        out = intro[:1] + [""] + ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(b) + " |" for b in body]
        return out + [""] + ["- " + x.strip() for x in per_wl] + ["", intro[1]]
    w = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    out = intro + [""] + ["  ".join(c.ljust(w[i]) for i, c in enumerate(head)).rstrip(),
                          "  ".join("-" * x for x in w)]
    out += ["  ".join(c.ljust(w[i]) for i, c in enumerate(b)).rstrip() for b in body]
    return out + [""] + per_wl


def _clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def measurement_text(m, fmt: str = "table", *, top: bool = False) -> str:
    if fmt == "json":
        from ..results.jsonout import clean

        # clean: every non-finite float (an inf ratio as much as a NaN "not measured") is
        # null, so allow_nan=False never fails half-way and the document is always valid JSON
        return json.dumps(clean({"schema": "bulksim.measure/1", "provenance": m.provenance,
                                 "scenarios": m.scenarios, "rows": m.table.to_pylist()}),
                          indent=1, sort_keys=True, allow_nan=False, default=str)
    if fmt not in ("table", "md"):
        raise BadInputError(f"measure: output format must be table, md or json, got {fmt!r}")
    return "\n".join(_lines(m, fmt, top))


def write_measurement(m, path, *, force: bool = False) -> list[Path]:
    """``path`` and its units sidecar (``NAME.units.parquet``), all or nothing: one commit
    (engine.results.tables.write_tables), also on a signal and with ``force``."""
    from ..results.tables import check_output_path, sidecar_path, units_table, write_tables

    units = sidecar_path(path, "units")
    for q in (path, units):
        check_output_path(q, force=force)
    return write_tables([(units_table({"measurement": m.table}), units), (m.table, path)], force=force)


def read_measurement(path):
    """A measurement written by ``bulksim measure --out`` (or ``write_measurement``)."""
    from ..results.tables import read_table_file
    from .core import Measurement

    p = Path(path)
    try:
        table = read_table_file(p)
    except (OSError, pa.ArrowException) as e:
        raise BadInputError(f"{p}: cannot read it as a table ({str(e).splitlines()[0][:160]})") from None
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    if meta.get("table") != "measurement" or "provenance" not in meta:
        raise BadInputError(f"{p}: not a measurement of 'bulksim measure --out' (no measurement provenance)")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise BadInputError(f"{p}: measurement schema {meta.get('schema_version')!r}, this bulksim reads "
                            f"{SCHEMA_VERSION!r}")
    missing = [n for n, *_ in _COLS if n not in table.column_names]
    if missing:
        raise BadInputError(f"{p}: measurement lacks column(s) {', '.join(missing[:5])}")
    _check_measurement_types(table, p)
    try:
        prov = json.loads(meta["provenance"])
        scen = json.loads(prov.get("scenarios", "{}")) if isinstance(prov, dict) else None
    except (ValueError, TypeError, RecursionError):
        prov = scen = None
    if not isinstance(prov, dict) or not isinstance(scen, dict):
        raise BadInputError(f"{p}: the measurement's provenance is not readable JSON objects")
    clock = prov.get("clock_ghz")  # bulksim measure records it as text ("3.0828")
    try:
        ghz = float(clock) if isinstance(clock, (str, int, float)) and not isinstance(clock, bool) else math.nan
    except ValueError:
        ghz = math.nan
    if not 0.1 <= ghz <= 20:
        raise BadInputError(f"{p}: the measurement's provenance has no clock in 0.1..20 GHz "
                            f"(clock_ghz {str(clock)[:40]!r})")
    _check_measurement_values(table, p)
    return Measurement(table, prov, scen)


# The model's value and its exact minimum and maximum over the unit-cost box: central
# inside [low, high] by construction (a measured bootstrap interval need not hold its
# point estimate, so only its order is checked).
_RANGES = [("model_cycles_low", "model_cycles_per_object", "model_cycles_high"),
           ("model_ns_low", "model_ns_per_object", "model_ns_high"),
           ("model_hook_share_low", "model_hook_share", "model_hook_share_high"),
           ("model_accounted_ratio_low", "model_accounted_ratio", "model_accounted_ratio_high"),
           ("ns_per_object_low", None, "ns_per_object_high"),
           ("hook_share_low", None, "hook_share_high"),
           ("accounted_ratio_low", None, "accounted_ratio_high")]


def _check_measurement_values(table: pa.Table, p: Path) -> None:
    """Values bulksim measure can write: every float finite or NaN ("not measured"),
    none negative (times, shares and ratios), and each range in order; a foreign file
    with an infinite, negative or reversed value would otherwise print as a row that is
    'inside' or 'NO' for no reason."""
    rows = table.select([n for n, kind, *_ in _COLS if kind == "float"]).to_pylist()
    for i, r in enumerate(rows):
        for name, v in r.items():
            if math.isinf(v) or v < 0:
                raise BadInputError(f"{p}: measurement column {name!r} row {i} is {v!r}, where bulksim "
                                    "measure writes a finite non-negative number or NaN")
        for lo, mid, hi in _RANGES:
            vals = [r[lo]] + ([r[mid]] if mid else []) + [r[hi]]
            if not any(math.isnan(v) for v in vals) and vals != sorted(vals):
                names = ' <= '.join(x for x in (lo, mid, hi) if x)
                raise BadInputError(f"{p}: measurement row {i} breaks {names} "
                                    f"({', '.join(f'{v:g}' for v in vals)})")


def _check_measurement_types(table: pa.Table, p: Path) -> None:
    """Each column of the kind the rows rely on (validate --measured reads them as
    numbers, text, flags), and no null where the writer writes a value (NaN, not null,
    is its "not measured")."""
    for name, kind, *_ in _COLS:
        t = table.schema.field(name).type
        if pa.types.is_dictionary(t):
            t = t.value_type
        ok = {"str": pa.types.is_string(t) or pa.types.is_large_string(t), "bool": pa.types.is_boolean(t),
              "int": pa.types.is_integer(t), "float": pa.types.is_floating(t)}[kind]
        if not ok:
            raise BadInputError(f"{p}: measurement column {name!r} is {t}, where bulksim measure writes {kind}")
        if table.column(name).null_count:
            raise BadInputError(f"{p}: measurement column {name!r} has missing values")
