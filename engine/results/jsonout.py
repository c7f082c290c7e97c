"""``-o json`` of every command that has ``-o``: one JSON document on standard output.

Each document is an object whose ``schema`` names its layout and version
(``bulksim.run/1``, ``bulksim.validate/1``, ``bulksim.bench/1``, ``bulksim.compare/1``);
docs/tables.md ("JSON output") describes every field.  Numbers are JSON numbers at full
precision; a value that is not finite (nan, inf) or missing is ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any


def clean(value: Any) -> Any:
    """``value`` with every non-finite float as None and tuples as lists (valid JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def dumps(doc: dict) -> str:
    return json.dumps(clean(doc), indent=1, default=str, allow_nan=False)


def run_document(result, table, files: list[str]) -> dict:
    """``bulksim run -o json``: the scenario as it ran, and every summary column per strategy."""
    scn = result.scenario
    return {"schema": "bulksim.run/1", "scenario": scn.name, "overrides": scn.overrides_text(),
            "label": scn.label, "description": scn.describe(),
            "parameters": {k: v for k, v in scn.to_dict().items() if k not in ("name", "description")},
            "profile": result.profile, "seed": result.seed, "passes": result.passes,
            "strategies": table.to_pylist(), "files": files}


def validate_document(rows: list[dict]) -> dict:
    return {"schema": "bulksim.validate/1", "rows": rows,
            "inside": sum(bool(r["inside"]) for r in rows), "total": len(rows)}


def bench_document(res: dict, warnings: list[str]) -> dict:
    return {"schema": "bulksim.bench/1", **res, "warnings": warnings}
