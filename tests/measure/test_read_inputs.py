"""``validate --measured FILE`` reads a file this process did not write: a measurement
whose columns have other types, missing values or unreadable provenance is refused in
one line (exit 2), never a traceback inside the rows."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import cli
from engine.measure import output


def _valid(tmp_path):
    row = {}
    for name, kind, *_ in output._COLS:
        row[name] = {"str": "x", "bool": False, "int": 1, "float": float("nan")}[kind]
    row.update(workload="open_close", phase="post_alloc_hook")
    prov = {"kernel": "6.18", "cpu": "test", "clock_ghz": "2.0", "date": "today", "commit": "abc",
            "profile": "intel-skylake", "scenarios": json.dumps({"open_close": {"bulk_size": 1}})}
    table = output.build_table([row], prov)
    path = tmp_path / "m.parquet"
    pq.write_table(table, path)
    return path, table


def test_a_valid_measurement_is_read(tmp_path, capsys):
    path, _ = _valid(tmp_path)
    assert cli.main(["validate", "--calls", "1000", "--rows", "long-2021", "--measured", str(path)]) == 0


def _put(t, col, arr):
    return t.set_column(t.schema.get_field_index(col), col, arr)


@pytest.mark.parametrize("case", ["text number", "list column", "null number", "bool as int", "bad provenance",
                                  "provenance not an object"])
def test_foreign_measurements_are_one_line(tmp_path, capsys, case):
    path, t = _valid(tmp_path)
    if case == "text number":
        t = _put(t, "ns_per_object", pa.array(["12"]))
    elif case == "list column":
        t = _put(t, "samples", pa.array([[1]]))
    elif case == "null number":
        t = _put(t, "ns_per_object", pa.array([None], pa.float64()))
    elif case == "bool as int":
        t = _put(t, "objects", pa.array([True]))
    else:
        meta = dict(t.schema.metadata)
        meta[b"provenance"] = b"{not json" if case == "bad provenance" else b"[1, 2]"
        t = t.replace_schema_metadata(meta)
    pq.write_table(t, path)
    assert cli.main(["validate", "--calls", "1000", "--rows", "long-2021", "--measured", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and str(path) in err, err
