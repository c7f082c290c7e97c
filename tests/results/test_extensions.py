"""One rule for table file names, shared by every writer and reader: the extension, in
any letter case, says the format (``engine.results.tables.table_format``)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from engine import cli
from engine.results import tables


@pytest.mark.parametrize("name, fmt", [("a.parquet", "parquet"), ("a.PARQUET", "parquet"), ("a.Parquet", "parquet"),
                                       ("a.arrow", "arrow"), ("a.ARROW", "arrow"), ("a.feather", "arrow"),
                                       ("a.FeAtHeR", "arrow"), ("a.csv", None), ("a", None), ("a.parquet.tmp", None)])
def test_table_format(name, fmt):
    assert tables.table_format(name) == fmt


@pytest.mark.parametrize("suffix", [".PARQUET", ".Arrow", ".FEATHER"])
def test_every_reader_reads_what_every_writer_wrote(tmp_path, capsys, suffix):
    out = tmp_path / f"X{suffix}"
    assert cli.main(["run", "--calls", "300", "--quiet", "--detail", "runs", "--out", str(out)]) == 0
    assert (tmp_path / f"X.runs{suffix}").exists() and (tmp_path / f"X.units{suffix}").exists()
    t = tables.read_table_file(out)
    assert t.num_rows == 5
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    assert "run-length" in (tmp_path / "rep" / "index.html").read_text().lower()  # the sidecar was found
    assert cli.main(["compare", str(out), str(out)]) == 0
    assert cli.main(["compare", str(out), "-o", "parquet", "--out", str(tmp_path / f"c{suffix}")]) == 0
    assert tables.read_table_file(tmp_path / f"c{suffix}").num_rows == 4
    capsys.readouterr()


def test_writers_refuse_other_names(tmp_path, capsys):
    with pytest.raises(Exception, match="must end in"):
        tables.write_table(pa.table({"a": [1]}), tmp_path / "a.csv")
    assert cli.main(["run", "--calls", "300", "--quiet", "--out", str(tmp_path / "a.parq")]) == 2
    assert list(tmp_path.iterdir()) == []
