"""``bulksim compare``: strategies or result tables side by side, like veristat -C.

One file: each strategy (B) against a baseline strategy (A, ``per_object``), matched
on scenario, profile, seed and any sweep parameter column.  Two files: the same
strategy in A and B, matched on strategy, scenario, seed and the parameter columns
both have (not on profile); rows on one side only are left out.  DIFF cells read
``+12 (+3.45%)``: B - A and 100 * (B - A) / |A|, and as in veristat A = 0 gives
+0.00% when B = 0 and +/-100.00% otherwise.  Filter and sort names are key columns or
metrics with an optional ``_a``/``_b``/``_diff``/``_pct`` suffix (none: B).  The
histogram buckets percentages as printed (2 decimals) into half-open ``[lo, hi)``
ranges, so 0 counts in ``0 .. 5 %``.  docs/tables.md has the full syntax.
"""

from __future__ import annotations

import bisect
import csv
import difflib
import io
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import BulksimError

Num = int | float
DEFAULT_METRICS = ("hook_cycles_per_object", "total_cycles_per_object", "stock_locks", "stat_flushes")
VARIANTS = ("a", "b", "diff", "pct")
FORMATS = ("table", "csv", "md", "parquet", "json")
JSON_SCHEMA = "bulksim.compare/1"  # docs/tables.md, "JSON output"
IDENTITY = ("scenario", "strategy", "profile", "seed")
IGNORED = ("point", "kernel")  # a sweep point's hash covers the profile; a strategy's kernel describes it
# text results of the range columns (engine.results.ranges): results, not keys
IGNORED += ("hook_verdict", "hook_decided_by", "total_verdict", "total_decided_by")
# and of the simulation-error columns (engine.results.error)
IGNORED += ("se_short", "precision_stop")
# scenario parameters the summary table carries: keys, never metrics
PARAMETERS = ("free_bulk",)
# Shown but not joined on by a two-file compare, like the kernel: the same strategies
# under the per-object and the batched free hook compare row by row.
# The overrides (the parameters changed from the preset) likewise: a run of default
# against one of default with nodes=4 compares row by row, and the column says so.
SHOWN = ("free_hook", "overrides")
EDGES = (-50, -40, -30, -20, -15, -10, -5, 0, 5, 10, 15, 20, 30, 40, 50)  # then steps of 50
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}
_FILTER_RE = re.compile(r"^\s*(!?)\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$")


@dataclass
class Row:
    """One compared pair: the key values and each metric's value in A and in B."""

    key: dict[str, Any]
    a: dict[str, Num | None]
    b: dict[str, Num | None]
    # seed-aggregated rows (``aggregate_seeds``): how many seeds, and per metric the
    # standard deviation of B - A across them
    seeds: int = 1
    spread: dict[str, float | None] = field(default_factory=dict)

    def value(self, metric: str, variant: str) -> Num | None:
        """The value of ``metric`` for ``variant`` (one of VARIANTS); None if missing."""
        a, b = self.a.get(metric), self.b.get(metric)
        if variant in ("a", "b"):
            return a if variant == "a" else b
        return None if a is None or b is None else b - a if variant == "diff" else pct(a, b)


@dataclass
class Comparison:
    """Compared rows with the names of their key columns and of the metrics they carry."""

    keys: list[str]
    metrics: list[str]
    rows: list[Row]
    numeric_keys: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # how the two inputs' setups differ
    within: bool = False  # one file: B and A ran on the same stream (paired errors)
    base: str = "per_object"


def pct(a: Num, b: Num) -> float:
    """Percent difference 100 * (b - a) / |a|; veristat's +/-100 (or 0) when ``a`` is 0."""
    if a == 0:
        return 0.0 if b == 0 else math.copysign(100.0, b - a)
    return 100.0 * (b - a) / abs(a)


def load_table(path: str | Path) -> pa.Table:
    """Read a ``.parquet``/``.arrow``/``.feather`` file or a hive-partitioned Parquet folder.

    Raises
    ------
    BulksimError
        Missing path, unknown extension or a file pyarrow cannot read.
    """
    import pyarrow.dataset as ds

    p = Path(path)
    if not p.exists():
        from ..checks import why_missing

        raise BulksimError(f"{p}: {why_missing(p, 'no such file or folder')}")
    suffix = p.suffix.lower()
    if not p.is_dir() and suffix not in (".parquet", ".arrow", ".feather"):
        raise BulksimError(f"{p}: expected a .parquet, .arrow or .feather file or a Parquet folder")
    try:
        if p.is_dir():
            from ..run.sweep import MANIFEST, read_sweep

            if (p / MANIFEST).exists():  # every part verified: none dropped silently
                table = read_sweep(p)
            else:
                table = ds.dataset(p, format="parquet", partitioning="hive").to_table()
            check_input(table, str(p))
            return table
        from .tables import read_table_file

        table = read_table_file(p)  # a FIFO or a device named .parquet is refused, not read
    except BulksimError:
        raise
    except (OSError, ValueError, pa.ArrowException) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise BulksimError(f"{p}: cannot read ({first})") from None
    check_input(table, str(p))
    return table


def _is_text(t: pa.DataType) -> bool:
    return (pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_dictionary(t) and (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)))


def check_input(table: pa.Table, label: str) -> None:
    """Refuse, in one line, a table compare cannot read as a result table: a column
    that is not flat (a list, a struct, a map: no key and no metric), a column of the
    summary schema with another kind of type (a text ``seed``, a list ``stock_locks``),
    or a metric that is infinite (bulksim writes finite numbers or null)."""
    import pyarrow.compute as pc

    from ..errors import BadInputError
    from .tables import SCHEMA_VERSION, summary_schema

    # A bulksim table names its schema; a newer one's columns may mean something else
    # (a foreign table without the key is read by its columns alone).
    meta = table.schema.metadata or {}
    if b"schema_version" in meta and b"table" not in meta:  # a measurement names its table
        ver = meta[b"schema_version"].decode("utf-8", "replace")
        if not (ver.isdigit() and ver.isascii()) or int(ver) > int(SCHEMA_VERSION):
            raise BadInputError(f"{label}: summary schema {ver[:20]!r}, written by another bulksim; this one "
                                f"reads schema {SCHEMA_VERSION} and older")
    known = summary_schema()
    for f in table.schema:
        t = f.type
        if pa.types.is_nested(t) or pa.types.is_dictionary(t) and pa.types.is_nested(t.value_type):
            raise BadInputError(f"{label}: column {f.name!r} is {t}, not a number, text or boolean; "
                                "not a bulksim result table")
        if f.name in known.names:
            want = known.field(f.name).type
            ok = (pa.types.is_null(t)  # every value missing (e.g. a short run's error columns)
                  or (pa.types.is_boolean(t) if pa.types.is_boolean(want)
                      else _is_text(t) if pa.types.is_dictionary(want) or pa.types.is_string(want)
                      else _is_num(t) and not pa.types.is_boolean(t)))
            if not ok:
                kind = ("a boolean" if pa.types.is_boolean(want) else
                        "text" if _is_text(known.field(f.name).type) or pa.types.is_dictionary(want) else "a number")
                raise BadInputError(f"{label}: column {f.name!r} is {t}, where bulksim writes {kind}")
        if pa.types.is_floating(t) and f.name not in IDENTITY:
            bad = pc.is_inf(table.column(f.name))
            if pc.any(bad).as_py():
                row = pc.index(bad, True).as_py()
                raise BadInputError(f"{label}: column {f.name!r} is infinite in row {row}; "
                                    "a result is a finite number or null")
    if "strategy" in table.column_names and table.column("strategy").null_count:
        raise BadInputError(f"{label}: a row without a strategy")
    # The text columns are the row labels of the printed table: a newline in one splits
    # a row, an escape sequence rewrites the terminal, an empty strategy is a row
    # without a strategy.  bulksim writes none of these (report refuses them too).
    for f in table.schema:
        if _is_text(f.type):
            for v in table.column(f.name).cast(pa.string()).unique().to_pylist():
                if v is not None and not v.isprintable():
                    what = "not a strategy name" if f.name == "strategy" else "which is not printable"
                    raise BadInputError(f"{label}: column {f.name!r} holds {v[:40]!r}, {what}: "
                                        "not a bulksim summary table")
    if "strategy" in table.column_names and _is_text(table.schema.field("strategy").type):
        if any(not str(v).strip() for v in table.column("strategy").cast(pa.string()).unique().to_pylist()):
            raise BadInputError(f"{label}: a row whose strategy is empty")


def _is_num(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def metric_columns(table: pa.Table) -> list[str]:
    """The numeric result columns of the summary schema that ``table`` has, in its order."""
    from .tables import summary_schema

    known = {f.name for f in summary_schema()} - set(IDENTITY) - set(PARAMETERS)
    return [f.name for f in table.schema if f.name in known and _is_num(f.type)]


def _key_columns(table: pa.Table, metrics: Sequence[str]) -> list[str]:
    rest = [c for c in table.column_names if c not in metrics and c not in IGNORED]
    return [c for c in IDENTITY if c in rest] + [c for c in rest if c not in IDENTITY]


def _records(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
            for r in table.to_pylist()]


def _index(recs: list[dict], keys: Sequence[str], label: str) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for r in recs:
        k = tuple(r.get(c) for c in keys)
        if k in out:
            shown = ", ".join(f"{c}={v}" for c, v in zip(keys, k))
            raise BulksimError(f"{label}: more than one row with {shown}")
        out[k] = r
    return out


def compare_within(table: pa.Table, base: str = "per_object", label: str = "input") -> Comparison:
    """Compare every strategy (B) of ``table`` against strategy ``base`` (A).

    One row per non-base strategy and point (scenario, profile, seed, parameters) that
    has a base row; ``label`` names the input in error messages.
    """
    if "strategy" not in table.column_names:
        raise BulksimError(f"{label}: no 'strategy' column")
    metrics = metric_columns(table)
    keys = _key_columns(table, metrics)
    group = [c for c in keys if c != "strategy"]
    recs = _records(table)
    strategies = [str(s) for s in dict.fromkeys(r["strategy"] for r in recs)]
    if base not in strategies:
        raise BulksimError(f"{label}: no rows of base strategy {base!r}{_hint(base, strategies)}; "
                           f"strategies: {', '.join(strategies)}")
    bases = _index([r for r in recs if r["strategy"] == base], group, label)
    _index(recs, keys, label)  # refuses duplicate rows
    by_group: dict[tuple, list[Row]] = {}  # each group's rows together, in table order
    for r in recs:
        g = tuple(r.get(c) for c in group)
        if r["strategy"] != base and g in bases:
            by_group.setdefault(g, []).append(
                Row({c: r[c] for c in keys} | _kernel_key(bases[g], r), {m: bases[g][m] for m in metrics},
                    {m: r[m] for m in metrics}))
    rows = [row for grp in by_group.values() for row in grp]
    if not rows:
        raise BulksimError(f"{label}: no rows to compare with strategy {base!r}")
    keys = keys + (["kernel"] if "kernel" in table.column_names else [])
    keys = _without_blank_overrides(keys, rows)
    return Comparison(keys, metrics, rows, {k for k in keys if _is_num(table.schema.field(k).type)},
                      within=True, base=base)


def _without_blank_overrides(keys: list[str], rows: list[Row]) -> list[str]:
    """``keys`` without ``overrides`` when no compared row has any (presets as they are):
    a column of blanks says nothing; where a row has overrides the column stays."""
    if "overrides" in keys and all(str(r.key.get("overrides") or "-") == "-" for r in rows):
        for r in rows:
            r.key.pop("overrides", None)
        return [k for k in keys if k != "overrides"]
    return keys


def _kernel_key(a: dict, b: dict, col: str = "kernel") -> dict:
    """The kernel generation(s) a row compares, shown (and filterable) but never a join
    key, so that one strategy on two generations, or upfront (v6.12) against per_object,
    can be compared: ``mm-2026``, or ``mainline-2026 -> mm-2026`` where A and B differ.
    ``col = "free_hook"``: the same for the free hook of two files."""
    if col not in a or col not in b:
        return {}
    ka, kb = (str(x[col]) or ("-" if col == "overrides" else "") for x in (a, b))
    return {col: ka if ka == kb else f"{ka} -> {kb}"}


def compare_tables(table_a: pa.Table, table_b: pa.Table, label_a: str = "A",
                   label_b: str = "B") -> Comparison:
    """Compare each row of ``table_a`` (A) with the row of ``table_b`` (B) of the same key.

    The key is every non-metric column both tables have except ``profile`` (and ``point``);
    it must include strategy, scenario and seed.  Rows on one side only are left out.

    Raises
    ------
    BulksimError
        Key columns missing, duplicate keys, or no row in common.
    """
    ma, mb = metric_columns(table_a), metric_columns(table_b)
    metrics = [m for m in ma if m in mb]
    # A column that says what ran (the kernel, the free side, a swept parameter) in one
    # file only is a difference between the setups, never a key silently dropped: it is
    # shown on every row (``N/A -> 8``) and named under the table.
    one_sided = [c for c in _setup_columns(table_a, table_b)
                 if (c in table_a.column_names) != (c in table_b.column_names)]
    keys = [c for c in _key_columns(table_a, ma)
            if c != "profile" and c in table_b.column_names and c not in mb and c not in SHOWN]
    missing = [c for c in ("strategy", "scenario", "seed") if c not in keys]
    if missing:
        raise BulksimError(f"{label_a}, {label_b}: key column(s) {', '.join(missing)} not in both files")
    index_b = _index(_records(table_b), keys, label_b)
    rows = []
    for r in _index(_records(table_a), keys, label_a).values():
        other = index_b.get(tuple(r[c] for c in keys))
        if other is not None:
            shown: dict = _kernel_key(r, other)
            for col in SHOWN:
                shown |= _kernel_key(r, other, col)
            shown |= {c: _one_sided(r, other, c) for c in one_sided}
            rows.append(Row({c: r[c] for c in keys} | shown,
                            {m: r[m] for m in metrics}, {m: other[m] for m in metrics}))
    if not rows:
        differ = []
        for c in keys:
            va = sorted({_key_text(v) for v in table_a.column(c).to_pylist()})
            vb = sorted({_key_text(v) for v in table_b.column(c).to_pylist()})
            if not set(va) & set(vb):
                differ.append(f"{c}: A {', '.join(va[:3])}, B {', '.join(vb[:3])}")
        why = f"; they differ in {'; '.join(differ)}" if differ else ""
        raise BulksimError(f"{label_a} and {label_b} have no rows in common (joined on {', '.join(keys)})"
                           f"{why}")
    for col in ("kernel",) + SHOWN:
        if col in table_a.column_names and col in table_b.column_names:
            keys = keys + [col]
    keys = _without_blank_overrides(keys, rows)
    notes = []
    for c in one_sided:
        side, other_label, t = ("A", "B", table_b) if c not in table_a.column_names else ("B", "A", table_a)
        values = sorted({_key_text(v) for v in t.column(c).to_pylist()})
        notes.append(f"Setups differ: {side} has no {c!r} column ({other_label}: {', '.join(values[:5])}"
                     f"{', ...' if len(values) > 5 else ''}); its rows were matched without it")
    notes += _scenario_differences(table_a, table_b)
    return Comparison(keys + one_sided, metrics, rows,
                      {k for k in keys if _is_num(table_a.schema.field(k).type)}, notes)


def _scenario_differences(table_a: pa.Table, table_b: pa.Table) -> list[str]:
    """The scenario parameters (provenance ``scenario``) the two inputs ran with that
    differ, beyond name and description: two runs called alike need not be one setup."""
    import json

    def scenario(t):
        raw = (t.schema.metadata or {}).get(b"scenario")
        try:
            d = json.loads(raw.decode()) if raw else None
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        return d if isinstance(d, dict) else None

    a, b = scenario(table_a), scenario(table_b)
    if a is None or b is None:
        return []
    differ = [k for k in sorted(set(a) | set(b)) if k not in ("name", "description") and a.get(k) != b.get(k)]
    if not differ:
        return []
    shown = "; ".join(f"{k}: A {str(a.get(k, 'N/A'))[:40]}, B {str(b.get(k, 'N/A'))[:40]}" for k in differ[:6])
    more = f" (and {len(differ) - 6} more)" if len(differ) > 6 else ""
    return [f"Setups differ in scenario parameters: {shown}{more}"]


def _setup_columns(table_a: pa.Table, table_b: pa.Table) -> list[str]:
    """The columns that describe what ran, of either table, in order: the kernel, the
    free side, the swept parameters."""
    names = list(dict.fromkeys(table_a.column_names + table_b.column_names))
    return [c for c in ("kernel",) + SHOWN + PARAMETERS if c in names] + \
        [c for c in names if c.startswith("param_")]


def _one_sided(a: dict, b: dict, col: str) -> str:
    """A setup column in one row only: ``N/A -> 8`` (A lacks it) or ``8 -> N/A``."""
    return f"{_key_text(a.get(col))} -> {_key_text(b.get(col))}"


def _hint(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown(what: str, name: str, choices: Sequence[str]) -> BulksimError:
    return BulksimError(f"unknown {what} {name!r}{_hint(name, choices)}")


def resolve_field(comp: Comparison, name: str) -> tuple[str, str | None]:
    """Map a filter/sort name to ``(key column, None)`` or ``(metric, variant)``."""
    stem, _, suffix = name.rpartition("_")
    if suffix in VARIANTS and stem in comp.metrics:
        return stem, suffix
    if name in comp.metrics:
        return name, "b"
    if name in comp.keys:
        return name, None
    names = comp.keys + comp.metrics + [f"{m}_{v}" for m in comp.metrics for v in VARIANTS]
    raise _unknown("column", name, names)


def check_metrics(comp: Comparison, names: Sequence[str]) -> list[str]:
    """Validate the metrics to emit; a did-you-mean error for an unknown one."""
    if not names:
        raise BulksimError("no metric to emit")
    for n in names:
        if n in comp.keys:
            raise BulksimError(f"{n!r} is a key column, not a metric")
        if n not in comp.metrics:
            raise _unknown("metric", n, comp.metrics)
    return list(names)


def _get(row: Row, fld: tuple[str, str | None]) -> Any:
    name, variant = fld
    return row.key.get(name) if variant is None else row.value(name, variant)


@dataclass(frozen=True)
class Filter:
    """One parsed ``[!]NAME OP VALUE`` expression."""

    text: str
    field: tuple[str, str | None]
    op: str
    value: Any
    negate: bool

    def __call__(self, row: Row) -> bool:
        v = _get(row, self.field)
        if v is None:  # N/A matches no filter, negated or not
            return False
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            v = _key_text(v)
        return OPS[self.op](v, self.value) != self.negate


def parse_filter(comp: Comparison, text: str) -> Filter:
    """Parse ``[!]NAME OP VALUE`` with OP one of ``= != < <= > >=``."""
    m = _FILTER_RE.match(text)
    if not m or not m.group(4):
        raise BulksimError(f"bad filter {text!r}: expected [!]NAME OP VALUE with OP one of "
                           f"{' '.join(OPS)}, e.g. 'total_cycles_per_object_pct<-5'")
    neg, name, op, raw = m.groups()
    fld = resolve_field(comp, name)
    value: Any = raw
    if fld[1] is not None or name in comp.numeric_keys:
        try:
            # one trailing '%' (..._pct<-5%), as --fail-above reads it: '5%%' is not a number
            value = float((raw[:-1] if raw.endswith("%") else raw).replace("_", ""))
        except ValueError:
            raise BulksimError(f"bad filter {text!r}: {name} is numeric, got {raw!r}") from None
        if math.isnan(value):  # every comparison with NaN is false: a filter that keeps no row
            raise BulksimError(f"bad filter {text!r}: NaN compares false with every value; give a number")
    return Filter(text, fld, op, value, bool(neg))


def filter_rows(rows: Sequence[Row], filters: Sequence[Filter]) -> list[Row]:
    """The rows that pass every filter (filters are AND-ed)."""
    return [r for r in rows if all(f(r) for f in filters)]


def sort_rows(comp: Comparison, rows: Sequence[Row], spec: str) -> list[Row]:
    """Sort by comma-separated ``[^]NAME`` items ('^': descending); N/A always last."""
    out = list(rows)
    for item in reversed([s.strip() for s in spec.split(",") if s.strip()]):
        desc = item.startswith("^")
        fld = resolve_field(comp, item.lstrip("^"))
        have = [r for r in out if _get(r, fld) is not None]
        have.sort(key=lambda r: _get(r, fld), reverse=desc)
        out = have + [r for r in out if _get(r, fld) is None]
    return out


def format_number(v: Num | None) -> str:
    """Integers as is, other numbers with at most 2 decimals; None as N/A."""
    if v is None:
        return "N/A"
    if isinstance(v, int):
        return str(v)
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def format_diff(a: Num | None, b: Num | None) -> str:
    """veristat's DIFF cell: ``+12 (+3.45%)``."""
    if a is None or b is None:
        return "N/A"
    d = b - a
    mag = format_number(abs(d))
    p = round(pct(a, b), 2)
    return f"{'-' if d < 0 and mag != '0' else '+'}{mag} ({p + 0.0:+.2f}%)"


def _key_text(v: Any) -> str:
    # an empty text cell (a preset's overrides beside overridden points) shows as "-": a
    # blank would shift every later column for a reader splitting the table on spaces
    return "N/A" if v is None else str(v).lower() if isinstance(v, bool) else str(v) or "-"


def _cells(comp: Comparison, row: Row, metrics: Sequence[str]) -> list[str]:
    out = [_key_text(row.key[k]) for k in comp.keys]
    for m in metrics:
        diff = format_diff(row.a[m], row.b[m])
        hw = diff_halfwidth(comp, row, m)
        if hw is not None and diff != "N/A":
            diff += f" ±{format_number(hw)}"
        if row.seeds > 1 and row.spread.get(m) is not None:
            diff += f" sd {format_number(row.spread[m])}"
        out += [format_number(row.a[m]), format_number(row.b[m]), diff]
    return out + [SIG_MARK[significant(comp, row, metrics[0])]]


# The marker of the last column: the first metric's difference is larger than its
# simulation error (95%), within it, or no error is known for it.
SIG_MARK = {True: "*", False: "", None: "?"}
SIG_HEAD = "SIG"


def _t(d: dict) -> float | None:
    t = d.get("se_t95")
    return None if t is None else float(t)


def _se(d: dict, metric: str) -> float | None:
    """The standard error of ``metric`` in a summary row ``d`` (engine.results.error
    columns), or None when the row does not carry one."""
    def g(k):
        v = d.get(k)
        return None if v is None else float(v)
    if f"{metric}_se" in d:
        return g(f"{metric}_se")
    if metric in ("hook_cycles", "total_cycles", "free_hook_cycles", "slab_cycles"):
        se, n = g(f"{metric}_per_object_se"), g("objects")
        return None if se is None or n is None else se * n
    if f"{metric}_per_object_se" in d:  # an event count: its rate's error times the objects
        se, n = g(f"{metric}_per_object_se"), g("objects")
        return None if se is None or n is None else se * n
    return None


def _paired_se(b: dict, metric: str) -> float | None:
    """The paired standard error of ``metric``'s difference from per_object in the same
    run (``*_diff_se`` columns, per object; counts and cycle sums scale by the objects,
    which are the same for both on one stream), or None where the row has none."""
    def g(k):
        v = b.get(k)
        return None if v is None else float(v)
    if metric.endswith("_cycles_per_object"):
        return g(f"{metric}_diff_se")
    n = g("objects")
    se = g(f"{metric}_per_object_diff_se")  # cycle sums (hook_cycles, ...) and event counts
    return None if se is None or n is None else se * n


def diff_halfwidth(comp: Comparison, row: Row, metric: str) -> float | None:
    """The 95% half-width of B - A from the simulation error, or None if unknown.

    One file against per_object: the paired error of the same run (``*_diff_se``,
    ``*_ratio_se``) where the summary has it.  Otherwise A and B are taken as independent
    (exact for different seeds or scenarios, conservative for the same stream):
    ``sqrt(hw_A^2 + hw_B^2)``.  Seed-aggregated rows: the mean's half-width from the
    spread of B - A across the seeds (Student t with seeds - 1 degrees of freedom)."""
    if row.seeds > 1:
        sd = row.spread.get(metric)
        if sd is None:
            return None
        from .error import t_quantile

        return t_quantile(0.975, row.seeds - 1) * sd / math.sqrt(row.seeds)
    a, b = row.a, row.b
    ta, tb = _t(a), _t(b)
    if comp.within and comp.base == "per_object" and tb is not None:
        se = _paired_se(b, metric)
        if se is not None:
            return tb * se
    sa, sb = _se(a, metric), _se(b, metric)
    if sa is None or sb is None or ta is None or tb is None:
        return None
    return math.hypot(ta * sa, tb * sb)


def significant(comp: Comparison, row: Row, metric: str) -> bool | None:
    """Whether ``metric``'s B - A is larger than its simulation error (None: unknown)."""
    hw = diff_halfwidth(comp, row, metric)
    d = row.value(metric, "diff")
    if hw is None or d is None:
        return None
    return abs(d) > hw


def significance_lines(comp: Comparison, rows: Sequence[Row], metric: str) -> list[str]:
    """The count under the table: rows whose difference exceeds the simulation error."""
    flags = [significant(comp, r, metric) for r in rows]
    known = [f for f in flags if f is not None]
    if not known:
        return [f"{metric}: no simulation error in the input (SIG ?): an older result file"]
    how = ("seed-aggregated: from the spread across seeds" if any(r.seeds > 1 for r in rows) else
           "paired, one run" if comp.within and comp.base == "per_object" else "A and B independent")
    line = (f"Differences larger than the simulation error (95%, {how}): {sum(known)} of {len(known)} "
            f"rows (SIG *)")
    return [line] + ([f"  without an error estimate: {len(flags) - len(known)} rows (SIG ?)"]
                     if len(known) < len(flags) else [])


def render_rows(comp: Comparison, rows: Sequence[Row], metrics: Sequence[str], fmt: str = "table") -> str:
    """The comparison as an aligned text table, CSV or a GitHub markdown table."""
    head = list(comp.keys) + [f"{m} ({s})" for m in metrics for s in ("A", "B", "DIFF")] + [SIG_HEAD]
    body = [_cells(comp, r, metrics) for r in rows]
    left = [k not in comp.numeric_keys for k in comp.keys] + [False] * (3 * len(metrics)) + [True]
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([head] + body)
        return buf.getvalue().rstrip("\n")
    if fmt == "md":
        def md(cells: list[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
        sep = "| " + " | ".join("---" if lf else "---:" for lf in left) + " |"
        return "\n".join([md(head), sep] + [md(c) for c in body])
    if fmt != "table":
        raise _unknown("output format", fmt, FORMATS)
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if lf else c.rjust(w) for c, w, lf in zip(cells, widths, left)).rstrip()
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(c) for c in body])


def bucket(p: float) -> tuple[int, int]:
    """The half-open histogram bucket ``[lo, hi)`` of percent ``p``."""
    if p < EDGES[0]:
        lo = EDGES[0] - 50 * math.ceil((EDGES[0] - p) / 50)
        return lo, lo + 50
    if p >= EDGES[-1]:
        lo = EDGES[-1] + 50 * math.floor((p - EDGES[-1]) / 50)
        return lo, lo + 50
    i = bisect.bisect_right(EDGES, p) - 1
    return EDGES[i], EDGES[i + 1]


NONE = "none"  # the strategy without accounting: its -100% would fill the histogram


def summary_lines(rows: Sequence[Row], metric: str) -> list[str]:
    """``Rows compared``, min/max percent difference of ``metric`` and its histogram;
    rows of strategy ``none`` (B or A) are left out of min, max and the histogram."""
    kept = [r for r in rows if str(r.key.get("strategy", "")).split(" -> ")[-1] != NONE]
    # a ratio of finite values can still overflow (1e300 / 1e-300): left out of the histogram
    ps = [round(p, 2) for r in kept if (p := r.value(metric, "pct")) is not None and math.isfinite(p)]
    out = [f"Rows compared: {len(rows)}"]
    if len(kept) < len(rows):
        out.append(f"Rows of strategy none (no accounting) left out of the histogram: {len(rows) - len(kept)}")
    if not ps:
        return out + [f"{metric} diff min: N/A", f"{metric} diff max: N/A"]
    out += [f"{metric} diff min: {min(ps) + 0.0:.2f}%", f"{metric} diff max: {max(ps) + 0.0:.2f}%"]
    counts: dict[tuple[int, int], int] = {}
    for p in ps:
        counts[bucket(p)] = counts.get(bucket(p), 0) + 1
    return out + [f"{lo} .. {hi} %: {n}" for (lo, hi), n in sorted(counts.items())]


def param_keys(comp: Comparison) -> list[str]:
    """The sweep's grid parameters among the key columns (``param_*``)."""
    return [k for k in comp.keys if k.startswith("param_")]


def sort_by_grid(comp: Comparison, rows: Sequence[Row]) -> list[Row]:
    """A sweep's rows in the order of its grid parameters (then strategy, seed)."""
    order = param_keys(comp) + [k for k in ("strategy", "seed") if k in comp.keys]
    if not param_keys(comp):
        return list(rows)

    def key(r: Row):
        return tuple((0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool)
                     else (1, 0, _key_text(v)) for v in (r.key.get(k) for k in order))
    return sorted(rows, key=key)


def aggregate_seeds(comp: Comparison, rows: Sequence[Row]) -> tuple[Comparison, list[Row]]:
    """Rows that differ only in ``seed`` become one: the mean of A, of B, and the
    standard deviation of B - A across the seeds (``Row.spread``).  The ``seed`` key
    then reads ``mean of N``.  Unchanged when no two rows share their other keys."""
    if "seed" not in comp.keys:
        return comp, list(rows)
    rest = [k for k in comp.keys if k != "seed"]
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        groups.setdefault(tuple(_key_text(r.key.get(k)) for k in rest), []).append(r)
    if all(len(g) == 1 for g in groups.values()):
        return comp, list(rows)
    out = []
    for g in groups.values():
        key = dict(g[0].key)
        key["seed"] = f"mean of {len(g)}"
        a, b, spread = {}, {}, {}
        for m in comp.metrics:
            va = [r.a.get(m) for r in g]
            vb = [r.b.get(m) for r in g]
            if any(v is None for v in va + vb):
                a[m] = b[m] = spread[m] = None
                continue
            a[m] = sum(va) / len(g)
            b[m] = sum(vb) / len(g)
            d = [y - x for x, y in zip(va, vb)]
            mean = sum(d) / len(d)
            spread[m] = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1)) if len(d) > 1 else None
        out.append(Row(key, a, b, len(g), spread))
    numeric = set(comp.numeric_keys) - {"seed"}
    return Comparison(comp.keys, comp.metrics, out, numeric, notes=comp.notes, within=comp.within,
                      base=comp.base), out


def sources(paths: Sequence[str], base: str | None) -> tuple[str, str]:
    """What A and B are, in words: two files, or one file's base strategy and the others."""
    if len(paths) == 2:
        return str(paths[0]), str(paths[1])
    b = base or "per_object"
    return f"{paths[0]} (strategy {b})", f"{paths[0]} (each other strategy)"


def _pct_or_none(a: Num | None, b: Num | None) -> float | None:
    if a is None or b is None or a == 0:
        return None  # undefined against zero: a number would only mislead
    return pct(a, b)


def comparison_table(comp: Comparison, rows: Sequence[Row], metrics: Sequence[str],
                     source_a: str, source_b: str) -> pa.Table:
    """The comparison as a table of numbers, full precision, for csv and Parquet output.

    Key columns keep their types; each metric M gives ``M_a``, ``M_b``, ``M_diff`` (B - A)
    and ``M_pct`` (100 (B - A) / |A|, null when A is 0), all float64; ``a_source`` and
    ``b_source`` name A and B on every row (and in the schema metadata).
    """
    cols: dict[str, pa.Array] = {}
    for k in comp.keys:
        cols[k] = pa.array([r.key[k] for r in rows])
    for m in metrics:
        def f(v):
            return None if v is None else float(v)
        cols[f"{m}_a"] = pa.array([f(r.a.get(m)) for r in rows], pa.float64())
        cols[f"{m}_b"] = pa.array([f(r.b.get(m)) for r in rows], pa.float64())
        cols[f"{m}_diff"] = pa.array([f(r.value(m, "diff")) for r in rows], pa.float64())
        cols[f"{m}_pct"] = pa.array([_pct_or_none(r.a.get(m), r.b.get(m)) for r in rows], pa.float64())
        cols[f"{m}_diff_halfwidth"] = pa.array([diff_halfwidth(comp, r, m) for r in rows], pa.float64())
        cols[f"{m}_significant"] = pa.array([significant(comp, r, m) for r in rows], pa.bool_())
        if any(r.seeds > 1 for r in rows):
            cols[f"{m}_diff_sd"] = pa.array([r.spread.get(m) for r in rows], pa.float64())
    if any(r.seeds > 1 for r in rows):
        cols["seeds"] = pa.array([r.seeds for r in rows], pa.int64())
    cols["a_source"] = pa.array([source_a] * len(rows), pa.string())
    cols["b_source"] = pa.array([source_b] * len(rows), pa.string())
    table = pa.table(cols)
    return table.replace_schema_metadata({"a_source": source_a, "b_source": source_b,
                                          "source": "bulksim compare"})


def render_numeric(table: pa.Table, fmt: str, out: str | None, force: bool = False) -> str:
    """csv text of ``table``, or write it to ``out`` (Parquet/Arrow) and say so."""
    if fmt == "csv":
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
        return buf.getvalue().decode().rstrip("\n")
    if not out:
        raise BulksimError("-o parquet needs --out FILE.parquet")
    from .tables import write_table

    path = write_table(table, out, force=force)
    return f"wrote {table.num_rows} rows to {path}"


def run_compare(paths: Sequence[str], *, base: str | None = None, emit: str | None = None,
                sort: Sequence[str] = (), filters: Sequence[str] = (), fmt: str = "table",
                out: str | None = None, force: bool = False, per_seed: bool = False) -> str:
    """:func:`compare_checked` without a threshold: the text to print."""
    return compare_checked(paths, base=base, emit=emit, sort=sort, filters=filters, fmt=fmt,
                           out=out, force=force, per_seed=per_seed)[0]


def above_threshold(rows: Sequence[Row], metric: str, limit: float) -> list[tuple[Row, float]]:
    """The rows whose ``metric`` grew from A to B by more than ``limit`` percent (every
    metric of the summary is bigger-is-worse), worst first.  A = 0 with B > 0 counts as
    +100% (veristat's rule, :func:`pct`)."""
    out = [(r, p) for r in rows if (p := r.value(metric, "pct")) is not None and p > limit]
    return sorted(out, key=lambda rp: -rp[1])


def compare_checked(paths: Sequence[str], *, base: str | None = None, emit: str | None = None,
                    sort: Sequence[str] = (), filters: Sequence[str] = (), fmt: str = "table",
                    out: str | None = None, force: bool = False,
                    fail_above: float | None = None,
                    per_seed: bool = False) -> tuple[str, str | None]:
    """Load, compare, filter, sort and render: the whole of ``bulksim compare``.

    Parameters
    ----------
    paths : one file (strategies against ``base``) or two (A and B).
    base : the baseline strategy with one file (default ``per_object``).
    emit : comma-separated metrics (default DEFAULT_METRICS); the first one is summarised.
    sort : ``[^]NAME`` items, the first the primary key (see :func:`sort_rows`).
    filters : ``[!]NAME OP VALUE`` expressions, all of which must hold.
    fmt : ``table``, ``csv``, ``md`` or ``parquet``; csv and Parquet are numbers at full
        precision (see :func:`comparison_table`), with no summary; Parquet needs ``out``.
    out, force : the file ``parquet`` writes, and whether it may replace one.
    fail_above : a percentage: the rows whose first metric grew by more are failures
        (``bulksim compare --fail-above``, for CI).
    per_seed : keep one row per seed; by default rows that differ only in their seed
        (a sweep of several seeds) are aggregated (:func:`aggregate_seeds`).

    Returns
    -------
    The text to print, and None or the one line that says which rows failed the threshold.
    """
    if fail_above is not None and (isinstance(fail_above, bool) or not isinstance(fail_above, (int, float))
                                   or not math.isfinite(fail_above)):
        raise BulksimError(f"--fail-above takes a percentage, got {fail_above!r}")
    if len(paths) not in (1, 2):
        raise BulksimError(f"expected one or two files, got {len(paths)}")
    if out and fmt != "parquet":  # csv printed its text and dropped --out silently
        raise BulksimError("--out applies to -o parquet only")
    if out:
        from .tables import check_not_an_input, check_output_path

        check_output_path(out, force=force)  # before the inputs are read
        check_not_an_input(out, paths)
    if len(paths) == 1:
        comp = compare_within(load_table(paths[0]), base or "per_object", str(paths[0]))
    elif base is not None:
        raise BulksimError("--base applies to one FILE only (two files compare the same strategy)")
    else:
        comp = compare_tables(load_table(paths[0]), load_table(paths[1]), str(paths[0]), str(paths[1]))
    names = [m.strip() for m in emit.split(",") if m.strip()] if emit is not None else list(DEFAULT_METRICS)
    metrics = check_metrics(comp, names)
    rows = filter_rows(comp.rows, [parse_filter(comp, f) for f in filters])
    if not per_seed:
        comp, rows = aggregate_seeds(comp, rows)
    rows = sort_rows(comp, rows, ",".join(sort)) if sort else sort_by_grid(comp, rows)
    if fmt not in FORMATS:
        raise _unknown("output format", fmt, FORMATS)
    source_a, source_b = sources(paths, base)
    failed = None if fail_above is None else above_threshold(rows, metrics[0], float(fail_above))
    verdict = None
    if fail_above is not None and not rows:
        # a CI gate over no row would pass on nothing: it fails, and says why
        verdict = ("no row was compared (the filters match none, or the files share no rows), "
                   f"so nothing was checked against {float(fail_above):+g}%")
    if failed:
        worst, p = failed[0]
        label = " ".join(str(worst.key[k]) for k in comp.keys if worst.key.get(k) not in (None, ""))
        verdict = (f"{len(failed)} of {len(rows)} row(s) above {float(fail_above):+g}% in {metrics[0]} "
                   f"(worst: {label}: {p:+.2f}%)")
    if fmt in ("csv", "parquet"):
        return render_numeric(comparison_table(comp, rows, metrics, source_a, source_b), fmt, out, force), verdict
    if fmt == "json":
        from .jsonout import dumps

        table = comparison_table(comp, rows, metrics, source_a, source_b)
        doc = {"schema": JSON_SCHEMA, "a_source": source_a, "b_source": source_b,
               "keys": comp.keys, "metrics": list(metrics),
               "rows": [{k: v for k, v in r.items() if k not in ("a_source", "b_source")}
                        for r in table.to_pylist()],
               "fail_above": fail_above, "failed_rows": len(failed or []), "failure": verdict}
        return dumps(doc), verdict
    text = render_rows(comp, rows, metrics, fmt)
    summary = "\n".join(summary_lines(rows, metrics[0]) + significance_lines(comp, rows, metrics[0]) + comp.notes
                        + range_lines(comp, rows, metrics, within=len(paths) == 1)
                        + ["", f"A: {source_a}", f"B: {source_b}"])
    return (f"{text}\n{summary}" if fmt == "table" else f"{text}\n\n```\n{summary}\n```"), verdict


def range_lines(comp: Comparison, rows: Sequence[Row], metrics: Sequence[str], *, within: bool) -> list[str]:
    """Ranges over the unit-cost box of the cycle metrics shown, when A and B both carry
    them (``*_low``/``*_high`` columns, docs/costs.md): ``central [low, high]`` for A and B,
    and with one file B's exact ratio range to per_object and its verdict."""
    out: list[str] = []
    for m in metrics:
        if not m.endswith("_cycles_per_object") or f"{m}_low" not in comp.metrics:
            continue
        kind = m.split("_", 1)[0]
        need = (m, f"{m}_low", f"{m}_high")
        shown = [r for r in rows if all(d.get(k) is not None for d in (r.a, r.b) for k in need)]
        if not shown:
            continue
        out += ["", f"{m} over the unit-cost ranges, central [low, high]:"]
        for r in shown:
            label = " ".join(str(r.key[k]) for k in comp.keys if k in ("strategy", "scenario", "profile") or
                             k not in IDENTITY)
            a, b = (f"{d[m]:.1f} [{d[m + '_low']:.1f}, {d[m + '_high']:.1f}]" for d in (r.a, r.b))
            line = f"  {label}: A {a}  B {b}"
            if within and r.b.get(f"{kind}_ratio_min") is not None:
                line += (f"  B/per_object {r.b[kind + '_ratio']:.3f} "
                         f"[{r.b[kind + '_ratio_min']:.3f}, {r.b[kind + '_ratio_max']:.3f}]")
            elif not within:
                lo_a, hi_a, lo_b, hi_b = (r.a[m + "_low"], r.a[m + "_high"], r.b[m + "_low"], r.b[m + "_high"])
                line += ("  (B's range below A's)" if hi_b < lo_a else "  (B's range above A's)" if lo_b > hi_a
                         else "  (ranges overlap)")
            out.append(line)
    return out
