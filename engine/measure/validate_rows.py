"""``bulksim validate --measured FILE``: a measurement of ``bulksim measure --out`` as rows of
validate's table (measured value, the model's central value and exact range, inside or not).

Kept here, apart from engine/results/validate.py, so that validate only gains two lines."""

from __future__ import annotations

import math

from .output import read_measurement


def add_arguments(v) -> None:
    v.add_argument("--measured", default=None, metavar="FILE",
                   help="also show the rows of a 'bulksim measure --out' file (measured on a running kernel)")


def measured_rows(path) -> list[dict]:
    m = read_measurement(path)
    p = m.provenance
    src = (f"bulksim measure on {p.get('kernel')} ({p.get('cpu')}, {float(p.get('clock_ghz', 'nan')):.2f} GHz), "
           f"{p.get('date')}, commit {p.get('commit')}")
    rows, seen = [], set()
    for r in m.table.to_pylist():
        setup = f"{r['workload']}: {r['cache']} {r['object_size']} B, bulk {r['bulk_size']}, {r['objects']} objects"
        model = f"{r['model_strategy']} on {r['model_kernel']}"
        if r["captured"] and not math.isnan(r["ns_per_object"]):
            rows.append(_row(f"measured-{r['workload']}-{r['phase']}", src, setup,
                             f"{r['phase']} ns/object ({model}, at the measured clock)",
                             r["ns_per_object"], r["model_ns_per_object"], r["model_ns_low"], r["model_ns_high"], p))
        if r["workload"] in seen:
            continue
        seen.add(r["workload"])
        for key, what in (("hook_share", "hook share of the captured phases"),
                          ("accounted_ratio", "accounted / unaccounted (slab + hooks over slab)")):
            if not math.isnan(r[key]) and not math.isnan(r[f"model_{key}"]):
                rows.append(_row(f"measured-{r['workload']}-{key}", src, setup, f"{what} ({model})", r[key],
                                 r[f"model_{key}"], r[f"model_{key}_low"], r[f"model_{key}_high"], p))
    return rows


def _row(key, source, setup, compared, measured, predicted, low, high, prov) -> dict:
    return {"key": key, "source": source, "setup": setup, "compared": compared, "measured": float(measured),
            "predicted": float(predicted), "low": float(low), "high": float(high),
            "inside": bool(low <= measured <= high), "profile": prov.get("profile", "")}
