"""bulksim history refuses malformed asv results (one line, exit 2, no file) and keeps
reading what asv itself writes (rows without their trailing nulls)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine import cli

FIXTURE = Path(__file__).parent.parent / "fixtures" / "asv_results"
PARAM = "bench_engine.TimeSimulate.time_million_objects"  # 4 x 2 parameter combinations
PLAIN = "bench_engine.CompileTime.track_cold_cache_seconds"  # no parameters


def _copy(tmp_path, edit):
    asv = tmp_path / "asv"
    shutil.copytree(FIXTURE, asv)
    path = next((asv / "bulksim-2core").glob("155*.json"))
    d = json.loads(path.read_text())
    edit(d)
    path.write_text(json.dumps(d))
    return asv


def _set(name, col, value):
    def edit(d):
        i = d["result_columns"].index(col)
        row = d["results"][name]
        row.extend([None] * (i + 1 - len(row)))
        row[i] = value(row[i]) if callable(value) else value
    return edit


MALFORMED = {
    "more values than combinations": (_set(PARAM, "result", lambda r: r + [1.0]), "9 result value(s) for 8"),
    "fewer values than combinations": (_set(PARAM, "result", lambda r: r[:-1]), "7 result value(s) for 8"),
    "a boolean as a value": (_set(PLAIN, "result", [True]), "true, not a number"),
    "text as a value": (_set(PLAIN, "result", ["1.5"]), "not a number"),
    "a single value, not a list": (_set(PLAIN, "result", 1.5), "a single result value"),
    "a short row without params": (lambda d: d["results"].__setitem__(PLAIN, [[1.0]]), "short row"),
    "a row longer than result_columns": (lambda d: d["results"][PLAIN].extend([None] * 20), "values in a row"),
    "a statistic per combination short": (_set(PARAM, "stats_q_25", [0.1]), "one value per parameter"),
    "a boolean repeat count": (_set(PLAIN, "stats_repeat", [True]), "not an integer"),
    "a boolean sample": (_set(PLAIN, "samples", [[True, 1.0]]), "not a number"),
    "a text duration": (_set(PLAIN, "duration", "12"), "not a number"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_results_are_refused(tmp_path, capsys, case):
    edit, words = MALFORMED[case]
    asv = _copy(tmp_path, edit)
    out = tmp_path / "h.parquet"
    assert cli.main(["history", str(asv), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert words in err and "155" in err, err
    assert not out.exists()


def test_rows_without_trailing_nulls_are_asvs_own_and_read(tmp_path, capsys):
    """asv drops a row's trailing nulls; such a row reads as nulls, and every value of
    a parameterised benchmark lands on its own combination."""
    def edit(d):
        d["results"][PLAIN] = d["results"][PLAIN][:2]  # result and params only
    asv = _copy(tmp_path, edit)
    assert cli.main(["history", str(asv), "--out", str(tmp_path / "h.parquet")]) == 0
    rows = pq.read_table(tmp_path / "h.parquet").to_pylist()
    plain = [r for r in rows if r["benchmark"] == PLAIN]
    assert len(plain) == 1 and plain[0]["value"] is not None and plain[0]["duration_s"] is None
    param = [r for r in rows if r["benchmark"] == PARAM]
    assert len(param) == 8 and len({r["params_json"] for r in param}) == 8


def test_a_benchmarks_json_entry_that_is_not_an_object_is_refused(tmp_path, capsys):
    asv = tmp_path / "asv"
    shutil.copytree(FIXTURE, asv)
    b = json.loads((asv / "benchmarks.json").read_text())
    b[PARAM] = [1, 2]
    (asv / "benchmarks.json").write_text(json.dumps(b))
    assert cli.main(["history", str(asv), "--out", str(tmp_path / "h.parquet")]) == 2
    err = capsys.readouterr().err
    assert "is not an object" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "h.parquet").exists()
