"""Export airspeed velocity results (``results/``) as one tidy Arrow table.

asv keeps one JSON file per (machine, commit, environment) with a column-oriented
layout that is not documented for users; this module flattens it into one row per
(machine, commit, environment, benchmark, parameter combination).  The schema is in
docs/performance-history.md.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pyarrow as pa

from ..errors import BadInputError, BulksimError

HISTORY_SCHEMA_VERSION = "1"

_COLUMNS = [
    ("machine", pa.dictionary(pa.int16(), pa.string()), "", "asv machine name"),
    ("commit", pa.string(), "", "full commit hash of the project"),
    ("date", pa.timestamp("ms", tz="UTC"), "", "commit date"),
    ("environment", pa.dictionary(pa.int16(), pa.string()), "", "asv environment name"),
    ("python", pa.dictionary(pa.int16(), pa.string()), "", "Python version of the environment"),
    ("benchmark", pa.dictionary(pa.int32(), pa.string()), "", "benchmark name (module.Class.method)"),
    ("benchmark_type", pa.dictionary(pa.int8(), pa.string()), "", "time, peakmemory, track (asv's benchmark types)"),
    ("params", pa.map_(pa.string(), pa.string()), "", "parameter name -> value"),
    ("params_json", pa.string(), "", "the same parameters as a JSON object, for easy grouping"),
    ("value", pa.float64(), "see unit", "result (median for timings); null if failed or skipped"),
    ("unit", pa.dictionary(pa.int8(), pa.string()), "", "unit of value, ci_*, q_* and samples"),
    ("ci_99_low", pa.float64(), "see unit", "lower end of asv's 99% confidence interval"),
    ("ci_99_high", pa.float64(), "see unit", "upper end of asv's 99% confidence interval"),
    ("q_25", pa.float64(), "see unit", "first quartile of the samples"),
    ("q_75", pa.float64(), "see unit", "third quartile of the samples"),
    ("number", pa.int64(), "", "calls per sample"),
    ("repeat", pa.int64(), "", "samples taken"),
    ("samples", pa.list_(pa.float64()), "see unit", "raw samples, when asv kept them"),
    ("benchmark_version", pa.string(), "", "hash of the benchmark code"),
    ("started_at", pa.timestamp("ms", tz="UTC"), "", "when the benchmark started"),
    ("duration_s", pa.float64(), "s", "wall time the benchmark took"),
]


def history_schema() -> pa.Schema:
    fields = [pa.field(n, t, metadata={"unit": u, "description": d}) for n, t, u, d in _COLUMNS]
    return pa.schema(fields, metadata={"schema_version": HISTORY_SCHEMA_VERSION,
                                       "source": "asv results (api_version 2)"})


# Bounds on foreign input: a hand-made result file cannot exhaust memory or the stack.
MAX_FILE_BYTES = 64 << 20  # one asv JSON file
MAX_PARAM_CHARS = 1000  # one parameter value's repr
MAX_PARAMS = 16  # parameters of one benchmark
MAX_COMBOS = 100_000  # parameter combinations of one benchmark
MAX_ROWS = 2_000_000  # rows of the whole history


def _param(text):
    """asv stores parameter values as Python reprs ("'default'", "16"); unquote them."""
    import ast

    if not isinstance(text, str):
        return str(text)
    if len(text) > MAX_PARAM_CHARS:
        raise ValueError(f"a parameter value of {len(text):,} characters (at most {MAX_PARAM_CHARS:,})")
    try:
        return str(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return str(text)


def _ts(ms):
    if ms is None:
        return None
    if isinstance(ms, bool) or not isinstance(ms, (int, float)):  # "date": true is not 1 ms
        raise ValueError(f"timestamp {json.dumps(ms)[:40]} is not a number of milliseconds")
    try:
        return dt.datetime.fromtimestamp(ms / 1000.0, tz=dt.timezone.utc)
    except (OSError, OverflowError, ValueError):  # "date": 1e20 -> EOVERFLOW
        raise ValueError(f"timestamp {str(ms)[:40]} out of range") from None


def _load(path: Path) -> dict:
    """A JSON file of the results folder: a regular file (not a device or FIFO, also
    through a symlink) of at most MAX_FILE_BYTES, parsed without exhausting the stack."""
    import os
    import stat

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise BadInputError(f"{path}: not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise BadInputError(f"{path}: {st.st_size:,} bytes, more than an asv result file "
                                f"({MAX_FILE_BYTES:,} at most)")
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise BadInputError(f"{path}: more than {MAX_FILE_BYTES:,} bytes")
        return json.loads(data)
    except (OSError, ValueError, RecursionError, MemoryError) as e:
        if isinstance(e, BulksimError):
            raise
        if isinstance(e, RecursionError):
            why = "nested too deeply"
        elif isinstance(e, MemoryError):
            why = "too large"
        else:
            why = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise BadInputError(f"{path}: not a readable asv result file ({why})") from None


def read_results(results_dir: str | Path) -> list[dict]:
    """Every result of every machine under ``results_dir`` as a list of row dicts."""
    root = Path(results_dir)
    if not root.is_dir():
        raise BulksimError(f"{root}: no such folder (an asv results_dir)")
    bench_path = root / "benchmarks.json"
    if not bench_path.exists():
        raise BulksimError(f"{root}: no benchmarks.json; is this an asv results folder?")
    benchmarks = _load(bench_path)
    if not isinstance(benchmarks, dict):
        raise BadInputError(f"{bench_path}: not an asv benchmarks.json (expected a JSON object)")
    bad = next((k for k, v in benchmarks.items() if k != "version" and not isinstance(v, dict)), None)
    if bad is not None:  # its type and unit would be lost from every row, silently
        raise BadInputError(f"{bench_path}: entry {str(bad)[:80]!r} is not an object (asv describes each "
                            "benchmark by one)")
    rows: list[dict] = []
    for machine_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(machine_dir.glob("*.json")):
            if path.name == "machine.json":
                continue
            d = _load(path)
            if not isinstance(d, dict) or d.get("version") != 2 or "result_columns" not in d:
                raise BadInputError(f"{path}: unsupported asv result format (need version 2)")
            rows.extend(_checked_rows(path, d, machine_dir.name, benchmarks))
            if len(rows) > MAX_ROWS:
                raise BadInputError(f"{root}: more than {MAX_ROWS:,} results; export fewer machines")
    return rows


_MALFORMED = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError,
              RecursionError, MemoryError, pa.ArrowException)


def _checked_rows(path: Path, d: dict, machine: str, benchmarks: dict) -> list[dict]:
    """``_rows_of`` with every row checked against the schema: a foreign or damaged
    result file is bad input (one line), not a traceback."""
    from .tables import table_from_rows

    try:
        rows = _rows_of(d, machine, {k: v for k, v in benchmarks.items() if isinstance(v, dict)})
        table_from_rows(rows, history_schema())
    except _MALFORMED as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise BadInputError(f"{path}: malformed asv result file ({first})") from None
    return rows


_PER_COMBO = ("stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number",
              "stats_repeat", "samples")


def _number(v, what: str):
    """A measured value: a number or null; a boolean (``[true]``) or text is malformed."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{what} is {json.dumps(v)[:40]}, not a number")
    return float(v)


def _check_row(name: str, cols: list, values, n_combos: int, rec: dict) -> None:
    """asv's layout (asv/results.py, format version 2): one row per benchmark, its
    values in the order of ``result_columns``; asv drops trailing nulls, so a row may
    be shorter, but never so short that ``result`` or ``params`` is missing, and never
    longer.  ``result`` and each per-combination statistic hold one value per
    parameter combination."""
    if not isinstance(values, list):
        raise ValueError(f"{name}: a result row that is not a list")
    if len(values) > len(cols):
        raise ValueError(f"{name}: {len(values)} values in a row of {len(cols)} result_columns")
    for need in ("result", "params"):
        if need not in cols or cols.index(need) >= len(values):
            raise ValueError(f"{name}: a short row without {need!r}")
    result = rec.get("result")
    if result is not None:
        if not isinstance(result, list) or len(result) != n_combos:
            got = len(result) if isinstance(result, list) else "a single"
            raise ValueError(f"{name}: {got} result value(s) for {n_combos} parameter combination(s)")
        for k, v in enumerate(result):
            _number(v, f"{name}: result {k}")
    for key in _PER_COMBO:
        v = rec.get(key)
        if v is None:
            continue
        if not isinstance(v, list) or len(v) != n_combos:
            raise ValueError(f"{name}: {key} does not hold one value per parameter combination")
        for k, x in enumerate(v):
            if key == "samples":
                if x is not None and not isinstance(x, list):
                    raise ValueError(f"{name}: samples {k} is not a list")
                for y in x or []:
                    _number(y, f"{name}: a sample of {k}")
            elif key in ("stats_number", "stats_repeat"):
                if x is not None and (isinstance(x, bool) or not isinstance(x, int)):
                    raise ValueError(f"{name}: {key} {k} is {json.dumps(x)[:40]}, not an integer")
            else:
                _number(x, f"{name}: {key} {k}")
    for key in ("started_at", "duration"):
        _number(rec.get(key), f"{name}: {key}")


def _rows_of(d: dict, machine: str, benchmarks: dict) -> list[dict]:
    cols = d["result_columns"]
    if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
        raise ValueError("result_columns is not a list of names")
    if not isinstance(d["results"], dict):
        raise ValueError("results is not an object")
    out = []
    for name, values in d["results"].items():
        if not isinstance(values, list):
            raise ValueError(f"{name}: a result row that is not a list")
        rec = dict(zip(cols, values))
        meta = benchmarks.get(name, {})
        param_names = meta.get("param_names", [])
        params = rec.get("params") or []
        if not isinstance(params, list) or not all(isinstance(p, list) for p in params):
            raise ValueError(f"{name}: params is not a list of lists")
        if len(params) > MAX_PARAMS:
            raise ValueError(f"{name}: {len(params)} parameters (at most {MAX_PARAMS})")
        n_combos = 1
        for p in params:
            n_combos *= len(p)
            if n_combos > MAX_COMBOS:
                raise ValueError(f"{name}: more than {MAX_COMBOS:,} parameter combinations")
        combos = list(itertools.product(*params)) if params else [()]
        for p in params:  # each value's bound first (its own message)
            for v in p:
                _param(v)
        _check_row(name, cols, values, len(combos), rec)
        result = rec.get("result")
        if result is None:  # the whole benchmark failed or was skipped
            result = [None] * len(combos)

        def at(key, k, rec=rec):
            v = rec.get(key)
            return v[k] if isinstance(v, list) and k < len(v) else None

        for k, combo in enumerate(combos):
            names = param_names if len(param_names) == len(combo) else [f"p{i}" for i in range(len(combo))]
            pmap = [(n, _param(v)) for n, v in zip(names, combo)]
            value = result[k] if k < len(result) else None
            out.append({
                "machine": machine,
                "commit": d.get("commit_hash"),
                "date": _ts(d.get("date")),
                "environment": d.get("env_name"),
                "python": d.get("python"),
                "benchmark": name,
                "benchmark_type": meta.get("type"),
                "params": pmap,
                "params_json": json.dumps(dict(pmap), sort_keys=True),
                "value": _number(value, name),
                "unit": meta.get("unit"),
                "ci_99_low": at("stats_ci_99_a", k),
                "ci_99_high": at("stats_ci_99_b", k),
                "q_25": at("stats_q_25", k),
                "q_75": at("stats_q_75", k),
                "number": at("stats_number", k),
                "repeat": at("stats_repeat", k),
                "samples": at("samples", k),
                "benchmark_version": rec.get("version"),
                "started_at": _ts(rec.get("started_at")),
                "duration_s": rec.get("duration"),
            })
    return out


def history_table(results_dir: str | Path) -> pa.Table:
    from .tables import table_from_rows

    return table_from_rows(read_results(results_dir), history_schema())
