"""``bulksim compare``: within one result, across two results, filters, sorting, formats,
the summary histogram and bad input, on tables written by the real engine."""

from __future__ import annotations

import csv
import io
import operator
import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import engine
from engine import cli
from engine.errors import BulksimError
from engine.results.compare import (
    Row,
    bucket,
    compare_tables,
    compare_within,
    format_diff,
    load_table,
    pct,
    run_compare,
    summary_lines,
)
from engine.results.tables import write_table

SCN = engine.Scenario(calls=300)
STRATS = "per_object,batched_v1,batched,upfront"  # the mechanics below; none: test_none_...
OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
       ">": operator.gt, ">=": operator.ge}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("compare")
    out = {}
    for name, profile, seed, suffix in [("intel", "intel-skylake", 1, "parquet"),
                                        ("amd", "amd-zen2", 1, "arrow"),
                                        ("other_seed", "intel-skylake", 2, "feather")]:
        res = engine.simulate(SCN, profile=profile, seed=seed, strategies=STRATS)
        out[name] = write_table(res.summary, d / f"{name}.{suffix}")
    return out


def test_none_and_the_free_hook_in_compare(tmp_path):
    """none compares with per_object like any strategy; two files that differ only in
    the free hook pair each strategy (the free hook is shown, not joined on)."""
    scn = SCN.replace(free_bulk=8)
    per = write_table(engine.simulate(scn, strategies="per_object,none").summary, tmp_path / "p.parquet")
    bat = write_table(engine.simulate(scn.replace(free_hook="batched"), strategies="per_object,none").summary,
                      tmp_path / "b.parquet")
    comp = compare_within(load_table(per))
    assert [r.key["strategy"] for r in comp.rows] == ["none"]
    assert comp.rows[0].value("hook_cycles_per_object", "b") == 0
    assert comp.rows[0].value("total_cycles_per_object", "diff") < 0
    two = compare_tables(load_table(per), load_table(bat))
    assert [(r.key["strategy"], r.key["free_hook"], r.key["free_bulk"]) for r in two.rows] == [
        ("per_object", "per_object -> batched", 8), ("none", "per_object -> batched", 8)]
    po = two.rows[0]
    assert po.value("stock_locks", "diff") < 0  # the batched free hook takes fewer locks
    assert two.rows[1].value("total_cycles_per_object", "diff") == 0  # none has no free hook work
    assert "free_bulk" not in two.metrics


def rows_of(path) -> dict[str, dict]:
    return {r["strategy"]: r for r in load_table(path).to_pylist()}


def parse_text(out: str) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """Header, rows (column -> cell) and the lines under the table, using the dash line's spans."""
    lines = [ln for ln in out.splitlines() if not ln.startswith(("A: ", "B: "))]  # the sources
    end = next((i for i, ln in enumerate(lines) if ln.startswith("Rows compared")), len(lines))
    spans = [m.span() for m in re.finditer(r"-+", lines[1])]
    head = [lines[0][a:b].strip() for a, b in spans]
    rows = [dict(zip(head, (ln[a:b].strip() for a, b in spans))) for ln in lines[2:end]]
    return head, rows, lines[end:]


def diff_text(a, b) -> str:
    return f"{b - a:+d} ({100.0 * (b - a) / a:+.2f}%)"


def test_within_file_diffs_are_b_minus_a(files):
    t = rows_of(files["intel"])
    comp = compare_within(load_table(files["intel"]))
    assert [r.key["strategy"] for r in comp.rows] == ["batched_v1", "batched", "upfront"]
    row = next(r for r in comp.rows if r.key["strategy"] == "batched")
    a, b = t["per_object"], t["batched"]
    for m in ("hook_cycles_per_object", "total_cycles_per_object", "stock_locks", "stat_flushes"):
        assert row.value(m, "a") == a[m] and row.value(m, "b") == b[m]
        assert row.value(m, "diff") == pytest.approx(b[m] - a[m])
        assert row.value(m, "pct") == pytest.approx(100.0 * (b[m] - a[m]) / a[m])
    # the table's own *_pct column (relative to per_object) agrees
    assert row.value("total_cycles_per_object", "pct") == pytest.approx(b["total_cycles_per_object_pct"])
    head, rows, _ = parse_text(run_compare([str(files["intel"])]))
    assert head[:7] == ["scenario", "strategy", "profile", "seed", "free_hook", "free_bulk", "kernel"]
    assert head[7:10] == ["hook_cycles_per_object (A)", "hook_cycles_per_object (B)",
                         "hook_cycles_per_object (DIFF)"]
    shown = next(r for r in rows if r["strategy"] == "batched")
    assert shown["kernel"] == "mainline-2026"  # shown, never a join key
    assert next(r for r in rows if r["strategy"] == "upfront")["kernel"] == "mainline-2026 -> v6.12"
    assert shown["stock_locks (A)"] == str(a["stock_locks"])
    assert shown["stock_locks (DIFF)"] == diff_text(a["stock_locks"], b["stock_locks"])
    d = b["total_cycles_per_object"] - a["total_cycles_per_object"]
    got = re.fullmatch(r"([+-][\d.]+) \(([+-][\d.]+)%\)", shown["total_cycles_per_object (DIFF)"])
    assert float(got.group(1)) == pytest.approx(d, abs=0.005)
    assert got.group(2) == f"{100 * d / a['total_cycles_per_object']:+.2f}"


def test_base_option_swaps_the_baseline(files):
    t = rows_of(files["intel"])
    _, rows, _ = parse_text(run_compare([str(files["intel"])], base="batched", emit="stock_locks"))
    assert [r["strategy"] for r in rows] == ["per_object", "batched_v1", "upfront"]
    po = rows[0]
    assert po["stock_locks (A)"] == str(t["batched"]["stock_locks"])
    assert po["stock_locks (DIFF)"] == diff_text(t["batched"]["stock_locks"], t["per_object"]["stock_locks"])


def test_two_files_same_counts_different_cycles(files):
    a, b = rows_of(files["intel"]), rows_of(files["amd"])
    out = run_compare([str(files["intel"]), str(files["amd"])])
    head, rows, _ = parse_text(out)
    assert "profile" not in head and head[:3] == ["scenario", "strategy", "seed"]
    assert [r["strategy"] for r in rows] == ["per_object", "batched_v1", "batched", "upfront"]
    for r in rows:
        assert r["stock_locks (DIFF)"] == "+0 (+0.00%)"
        assert r["stat_flushes (DIFF)"] == "+0 (+0.00%)"
    comp = compare_tables(load_table(files["intel"]), load_table(files["amd"]))
    for r in comp.rows:
        s = r.key["strategy"]
        want = b[s]["total_cycles_per_object"] - a[s]["total_cycles_per_object"]
        assert r.value("total_cycles_per_object", "diff") == pytest.approx(want)
    assert any(r.value("total_cycles_per_object", "diff") != 0 for r in comp.rows)


def test_emit_chooses_the_metric_columns(files):
    head, _, tail = parse_text(run_compare([str(files["intel"])], emit="stat_flushes, objects"))
    assert head == ["scenario", "strategy", "profile", "seed", "free_hook", "free_bulk", "kernel", "stat_flushes (A)", "stat_flushes (B)",
                    "stat_flushes (DIFF)", "objects (A)", "objects (B)", "objects (DIFF)", "SIG"]
    assert tail[1].startswith("stat_flushes diff min: ")


@pytest.mark.parametrize("spec, desc", [("total_cycles_per_object_pct", False),
                                        ("^total_cycles_per_object_pct", True)])
def test_sort_by_percent_difference(files, spec, desc):
    t = rows_of(files["intel"])
    _, rows, _ = parse_text(run_compare([str(files["intel"])], sort=[spec]))
    base = t["per_object"]["total_cycles_per_object"]
    want = sorted((s for s in t if s != "per_object"),
                  key=lambda s: (t[s]["total_cycles_per_object"] - base) / base, reverse=desc)
    assert [r["strategy"] for r in rows] == want
    assert want[0] == ("upfront" if desc else min(want, key=lambda s: t[s]["total_cycles_per_object"]))


def test_sort_by_value_key_and_several_items(files):
    t = rows_of(files["intel"])
    _, rows, _ = parse_text(run_compare([str(files["intel"])], sort=["^stock_locks_b"]))
    got = [int(r["stock_locks (B)"]) for r in rows]
    assert got == sorted((t[s]["stock_locks"] for s in t if s != "per_object"), reverse=True)
    _, rows, _ = parse_text(run_compare([str(files["intel"])], sort=["strategy"]))
    assert [r["strategy"] for r in rows] == ["batched", "batched_v1", "upfront"]
    # batched and batched_v1 tie on stock_locks; the second item breaks the tie
    assert t["batched"]["stock_locks"] == t["batched_v1"]["stock_locks"] != t["upfront"]["stock_locks"]
    _, rows, _ = parse_text(run_compare([str(files["intel"])], sort=["stock_locks_diff", "strategy"]))
    assert [r["strategy"] for r in rows] == ["batched", "batched_v1", "upfront"]
    # the first item is the primary key
    _, rows, _ = parse_text(run_compare([str(files["intel"])], sort=["stat_flushes_diff,^strategy"]))
    assert [r["strategy"] for r in rows] == ["batched_v1", "batched", "upfront"]


@pytest.mark.parametrize("op", list(OPS))
def test_filter_operators_on_metrics(files, op):
    t = rows_of(files["intel"])
    limit = t["batched"]["stock_locks"]
    want = [s for s in ("batched_v1", "batched", "upfront") if OPS[op](t[s]["stock_locks"], limit)]
    _, rows, tail = parse_text(run_compare([str(files["intel"])], filters=[f"stock_locks_b{op}{limit}"]))
    assert [r["strategy"] for r in rows] == want
    assert tail[0] == f"Rows compared: {len(want)}"
    # '!' negates the same expression
    _, rows, _ = parse_text(run_compare([str(files["intel"])], filters=[f"!stock_locks_b {op} {limit}"]))
    assert [r["strategy"] for r in rows] == [s for s in ("batched_v1", "batched", "upfront")
                                             if s not in want]


def test_filters_on_keys_percent_and_combined(files):
    def run(*f: str) -> list[str]:
        return [r["strategy"] for r in parse_text(run_compare([str(files["intel"])], filters=list(f)))[1]]

    assert run("strategy=batched") == ["batched"]
    assert run("!strategy=batched") == ["batched_v1", "upfront"]
    assert run("strategy!=batched") == ["batched_v1", "upfront"]
    t = rows_of(files["intel"])
    base = t["per_object"]["total_cycles_per_object"]
    pct = {k: 100 * (t[k]["total_cycles_per_object"] - base) / base
           for k in ("batched_v1", "batched", "upfront")}
    cheap = [k for k in ("batched_v1", "batched") if pct[k] < -1]
    assert cheap, pct  # the filters below need rows on both sides
    assert run("total_cycles_per_object_pct<-1") == cheap
    assert run("total_cycles_per_object_pct>=0%") == [k for k, v in pct.items() if v >= 0]
    assert run("total_cycles_per_object_pct<-1", "!strategy=batched_v1") == [
        k for k in cheap if k != "batched_v1"]
    assert run("seed=1") == ["batched_v1", "batched", "upfront"]
    assert run("seed>1") == []
    assert run("stat_flushes_diff=0") == ["upfront"]
    assert run("stock_locks<2000") == ["batched_v1", "batched"]  # no suffix: the B value
    assert run("stock_locks_a<2000") == []


def test_csv_is_numbers_at_full_precision_with_sources(files):
    text = run_compare([str(files["intel"])], fmt="csv")
    got = list(csv.DictReader(io.StringIO(text)))
    t = rows_of(files["intel"])
    base = t["per_object"]
    assert list(got[0])[:11] == ["scenario", "strategy", "profile", "seed", "free_hook", "free_bulk", "kernel", "hook_cycles_per_object_a",
                                "hook_cycles_per_object_b", "hook_cycles_per_object_diff",
                                "hook_cycles_per_object_pct"]
    assert len(got) == 3 and "Rows compared" not in text
    for row in got:
        b = t[row["strategy"]]
        m = "hook_cycles_per_object"
        assert float(row[f"{m}_a"]) == base[m]  # exact: no rounding to 2 decimals
        assert float(row[f"{m}_b"]) == b[m]
        assert float(row[f"{m}_diff"]) == b[m] - base[m]
        assert float(row[f"{m}_pct"]) == 100.0 * (b[m] - base[m]) / abs(base[m])
        assert row["a_source"] == f"{files['intel']} (strategy per_object)"
        assert row["b_source"] == f"{files['intel']} (each other strategy)"


def test_parquet_output_and_sources_in_every_format(files, tmp_path):
    import pyarrow.parquet as pq

    a, b = str(files["intel"]), str(files["amd"])
    out = tmp_path / "cmp.parquet"
    msg = run_compare([a, b], fmt="parquet", out=str(out), emit="stock_locks")
    assert msg.startswith("wrote ")
    table = pq.read_table(out)
    assert table.schema.field("stock_locks_a").type == pa.float64()
    assert table.schema.metadata[b"a_source"].decode() == a
    assert set(table.column("b_source").to_pylist()) == {b}
    with pytest.raises(BulksimError, match="exists already"):
        run_compare([a, b], fmt="parquet", out=str(out))
    with pytest.raises(BulksimError, match="needs --out"):
        run_compare([a, b], fmt="parquet")
    for fmt in ("table", "md"):
        text = run_compare([a, b], fmt=fmt)
        assert f"A: {a}" in text and f"B: {b}" in text


def test_markdown_table(files):
    text = run_compare([str(files["intel"])], fmt="md", emit="stock_locks")
    lines = text.splitlines()
    assert lines[0] == ("| scenario | strategy | profile | seed | free_hook | free_bulk | kernel | stock_locks (A) "
                        "| stock_locks (B) | stock_locks (DIFF) | SIG |")
    assert lines[1] == "| --- | --- | --- | ---: | --- | ---: | --- | ---: | ---: | ---: | --- |"
    assert all(ln.startswith("| ") and ln.endswith(" |") for ln in lines[:5])
    assert lines[5] == "" and lines[6] == "```" and lines[7] == "Rows compared: 3" and lines[-1] == "```"


def test_summary_and_histogram_with_known_percentages(files, tmp_path):
    table = load_table(files["intel"])
    factors = {"per_object": 0.5, "batched_v1": 0.95, "batched": 1.0, "upfront": 1.3}
    col = table.column("hook_cycles_per_object").to_pylist()
    strategies = table.column("strategy").to_pylist()
    scaled = pa.array([v * factors[s] for v, s in zip(col, strategies)], pa.float64())
    i = table.schema.get_field_index("hook_cycles_per_object")
    other = table.set_column(i, table.schema.field(i), scaled)
    pq.write_table(other, tmp_path / "scaled.parquet")
    out = run_compare([str(files["intel"]), str(tmp_path / "scaled.parquet")], emit="hook_cycles_per_object")
    _, rows, tail = parse_text(out)
    assert [r["strategy"] for r in rows] == list(factors)
    assert [re.search(r"\((.*)\)", r["hook_cycles_per_object (DIFF)"]).group(1) for r in rows] == \
        ["-50.00%", "-5.00%", "+0.00%", "+30.00%"]
    # the simulation error: these 200-call files are too short for an estimate
    assert tail[7].startswith("hook_cycles_per_object: no simulation error in the input")
    assert tail[8:10] == ["", "hook_cycles_per_object over the unit-cost ranges, central [low, high]:"]
    # four range lines, then a blank line before the A:/B: sources (parse_text drops those)
    assert len(tail) == 10 + 4 + 1 and tail[-1] == ""
    assert all("ranges overlap" in t or "range" in t for t in tail[10:-1])
    assert out.splitlines()[-2:] == [f"A: {files['intel']}", f"B: {tmp_path / 'scaled.parquet'}"]
    assert tail[:7] == ["Rows compared: 4",
                    "hook_cycles_per_object diff min: -50.00%",
                    "hook_cycles_per_object diff max: 30.00%",
                    "-50 .. -40 %: 1",
                    "-5 .. 0 %: 1",
                    "0 .. 5 %: 1",
                    "30 .. 40 %: 1"]
    # only non-empty buckets; stock_locks is unchanged: everything in 0 .. 5 %
    comp = compare_tables(load_table(files["intel"]), other)
    assert summary_lines(comp.rows, "stock_locks")[3:] == ["0 .. 5 %: 4"]
    assert summary_lines([], "stock_locks") == ["Rows compared: 0", "stock_locks diff min: N/A",
                                                "stock_locks diff max: N/A"]


def test_bucket_edges_and_zero_baseline():
    assert bucket(0.0) == (0, 5) and bucket(-0.01) == (-5, 0) and bucket(-5.0) == (-5, 0)
    assert bucket(4.99) == (0, 5) and bucket(5.0) == (5, 10) and bucket(17.0) == (15, 20)
    assert bucket(20.0) == (20, 30) and bucket(49.99) == (40, 50) and bucket(-50.0) == (-50, -40)
    assert bucket(-50.01) == (-100, -50) and bucket(-100.0) == (-100, -50)
    assert bucket(50.0) == (50, 100) and bucket(120.0) == (100, 150)
    assert pct(0, 0) == 0.0 and pct(0, 7) == 100.0 and pct(0, -7) == -100.0
    assert pct(-4, -2) == 50.0  # relative to |A|: the sign is the sign of B - A
    assert format_diff(0, 7) == "+7 (+100.00%)" and format_diff(5, 5) == "+0 (+0.00%)"
    assert format_diff(52.0, 46.8) == "-5.2 (-10.00%)" and format_diff(1.0, 1.001) == "+0 (+0.10%)"
    assert format_diff(None, 3) == "N/A"


def test_missing_values_print_na_match_no_filter_and_sort_last(files, tmp_path):
    table = load_table(files["intel"])
    i = table.schema.get_field_index("total_cycles_per_object")
    vals = table.column(i).to_pylist()
    vals[2] = None  # batched
    holed = tmp_path / "holed.arrow"
    write_table(table.set_column(i, table.schema.field(i), pa.array(vals, pa.float64())), holed)
    f = [str(holed)]
    _, rows, tail = parse_text(run_compare(f, emit="total_cycles_per_object"))
    batched = next(r for r in rows if r["strategy"] == "batched")
    assert batched["total_cycles_per_object (B)"] == "N/A"
    assert batched["total_cycles_per_object (DIFF)"] == "N/A"
    hist = [x for x in (tail[3:tail.index("")] if "" in tail else tail[3:])  # the range lines follow a blank line
            if " %: " in x]  # not the simulation-error line
    assert tail[0] == "Rows compared: 3" and sum(int(x.rsplit(": ", 1)[1]) for x in hist) == 2
    for flt in ("total_cycles_per_object_pct<1000", "!total_cycles_per_object_pct<1000"):
        assert "batched" not in [r["strategy"] for r in parse_text(run_compare(f, filters=[flt]))[1]]
    for spec in ("total_cycles_per_object_diff", "^total_cycles_per_object_diff"):
        assert parse_text(run_compare(f, sort=[spec]))[1][-1]["strategy"] == "batched"
    # a difference that rounds to zero counts as zero, with no minus sign
    tiny = [Row({}, {"m": 1000.0}, {"m": 999.99999})]
    assert summary_lines(tiny, "m") == ["Rows compared: 1", "m diff min: 0.00%", "m diff max: 0.00%",
                                        "0 .. 5 %: 1"]


def _sweep_like(folder, profile):
    """A hive-partitioned dataset laid out like ``bulksim sweep``: scenario=/strategy=/point-*.parquet."""
    for bs in (4, 8):
        summary = engine.simulate(SCN.replace(calls=200, bulk_size=bs), profile=profile, seed=3,
                                  strategies=STRATS).summary
        summary = summary.append_column("param_bulk_size", pa.array([bs] * summary.num_rows, pa.int64()))
        summary = summary.append_column("point", pa.array([f"{profile}-{bs}"] * summary.num_rows))
        for s in summary.column("strategy").to_pylist():
            row = summary.filter(pc.equal(summary.column("strategy").cast(pa.string()), s))
            part = folder / f"scenario={SCN.name}" / f"strategy={s}"
            part.mkdir(parents=True, exist_ok=True)
            pq.write_table(row.drop_columns(["scenario", "strategy"]), part / f"point-{bs}.parquet")
    return folder


def test_hive_folder_inputs(tmp_path):
    intel = _sweep_like(tmp_path / "intel", "intel-skylake")
    amd = _sweep_like(tmp_path / "amd", "amd-zen2")
    head, rows, tail = parse_text(run_compare([str(intel)], emit="stock_locks", sort=["param_bulk_size"]))
    # a sweep point's swept values are overrides of its preset: the column says so
    assert head[:8] == ["scenario", "strategy", "profile", "seed", "overrides", "free_hook", "free_bulk",
                        "param_bulk_size"]
    assert "point" not in head
    assert [r["param_bulk_size"] for r in rows] == ["4"] * 3 + ["8"] * 3
    assert tail[0] == "Rows compared: 6"
    _, rows, _ = parse_text(run_compare([str(intel)], filters=["param_bulk_size>4", "strategy=batched"]))
    assert [(r["strategy"], r["param_bulk_size"]) for r in rows] == [("batched", "8")]
    # across folders the profile and the point hash differ: rows still join on strategy, seed, parameters
    _, rows, tail = parse_text(run_compare([str(intel), str(amd)], emit="stock_locks,hook_cycles"))
    assert len(rows) == 8 and tail[0] == "Rows compared: 8"
    assert {r["stock_locks (DIFF)"] for r in rows} == {"+0 (+0.00%)"}
    assert any(r["hook_cycles (DIFF)"] != "+0 (+0.00%)" for r in rows)


def test_real_sweep_folder(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert cli.main(["sweep", "--calls", "150", "--grid", "bulk_size=2,6", "--workers", "1", "--quiet",
                     "--out", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["compare", str(out), "-e", "stock_locks", "-f", "strategy=upfront"]) == 0
    _, rows, tail = parse_text(capsys.readouterr().out)
    assert sorted(r["param_bulk_size"] for r in rows) == ["2", "6"]
    assert tail[0] == "Rows compared: 2"


def test_cli_prints_the_table(files, capsys):
    assert cli.main(["compare", str(files["intel"]), "-e", "stock_locks", "-s", "^stock_locks_pct",
                     "-f", "!strategy=batched_v1", "-o", "table"]) == 0
    out = capsys.readouterr().out
    _, rows, tail = parse_text(out)
    assert [r["strategy"] for r in rows] == ["upfront", "batched"]
    assert tail[0] == "Rows compared: 2"


@pytest.mark.parametrize("extra, words", [
    (["-e", "stock_lock"], "did you mean 'stock_locks'"),
    (["-e", "strategy"], "key column"),
    (["-f", "stratgy=batched"], "did you mean 'strategy'"),
    (["-f", "strategy~batched"], "bad filter"),
    (["-f", "stock_locks_pct<"], "bad filter"),
    (["-f", "stock_locks_pct<lots"], "numeric"),
    (["-s", "^total_cycles_per_objekt_pct"], "did you mean 'total_cycles_per_object_pct'"),
    (["--base", "batchd"], "did you mean 'batched'"),
    (["-o", "html"], "unknown output format"),
])
def test_bad_options_are_one_line_and_exit_2(files, capsys, extra, words):
    assert cli.main(["compare", str(files["intel"]), *extra]) == 2
    cap = capsys.readouterr()
    assert len(cap.err.strip().splitlines()) == 1, cap.err
    assert cap.err.startswith("bulksim: error: ") and words in cap.err
    assert cap.out == ""


def test_bad_files_are_one_line_and_exit_2(files, tmp_path, capsys):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    (tmp_path / "x.csv").write_text("a,b\n")
    cases = [([str(junk)], "cannot read"),
             ([str(tmp_path / "missing.parquet")], "no such file"),
             ([str(tmp_path / "x.csv")], "expected a .parquet"),
             ([str(files["intel"]), str(files["other_seed"])], "no rows in common"),
             ([str(files["intel"]), str(files["amd"]), "--base", "batched"], "one FILE only"),
             ([str(files["intel"])] * 3, "one or two files")]
    for argv, words in cases:
        assert cli.main(["compare", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and words in err, (argv, err)
    table = load_table(files["intel"])
    no_base = table.filter(pc.not_equal(table.column("strategy").cast(pa.string()), "per_object"))
    with pytest.raises(BulksimError, match="no rows of base strategy 'per_object'"):
        compare_within(no_base)
    with pytest.raises(BulksimError, match="more than one row with scenario=custom, strategy=upfront"):
        compare_within(pa.concat_tables([table, table.slice(3, 1)]))
    only_base = table.filter(pc.equal(table.column("strategy").cast(pa.string()), "per_object"))
    with pytest.raises(BulksimError, match="no rows to compare"):
        compare_within(only_base)


def test_two_files_on_two_kernel_generations_are_compared_and_named(tmp_path):
    """The same strategies on mainline-2026 (A) and mm-2026 (B): joined without the
    kernel, which each row shows and a filter can select."""
    for name, kernel in (("a", ""), ("b", "mm-2026")):
        res = engine.simulate(SCN.replace(kernel=kernel), strategies="per_object,batched", seed=1)
        write_table(res.summary, tmp_path / f"{name}.parquet")
    comp = compare_tables(load_table(tmp_path / "a.parquet"), load_table(tmp_path / "b.parquet"))
    assert [r.key["kernel"] for r in comp.rows] == ["mainline-2026 -> mm-2026"] * 2
    out = run_compare([str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")],
                      filters=["kernel = mainline-2026 -> mm-2026", "strategy = batched"])
    _, rows, _ = parse_text(out)
    assert [r["strategy"] for r in rows] == ["batched"]
