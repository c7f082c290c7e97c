"""Adversarial cases for issue 25 (no silent wrong result at the edges), written
without reading the other tests: each one is a way in that the first fix missed."""
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
BULKSIM = [sys.executable, "-m", "engine"]


def bulksim(*args, cwd, **kw):
    return subprocess.run([*BULKSIM, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)}, **kw)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("r")
    p = bulksim("run", "--calls", 500, "--out", "r.parquet", "--detail", "runs", cwd=d)
    assert p.returncode == 0, p.stderr
    return d


def _with_strategy(src: Path, dst: Path, names):
    t = pq.read_table(src)
    i = t.schema.get_field_index("strategy")
    arr = pa.array(names).dictionary_encode()
    t = t.set_column(i, pa.field("strategy", arr.type), arr).replace_schema_metadata(t.schema.metadata)
    pq.write_table(t, dst)


@pytest.mark.parametrize("bad", ["a\nb", "\x1b[31mred", "", "   "])
def test_compare_and_report_refuse_unprintable_or_empty_strategy(result, bad):
    """A newline in a strategy split compare's printed row in two, an escape sequence
    went to the terminal as is, and an empty strategy was a row without a strategy
    that compare and report both printed/drew without a word."""
    names = pq.read_table(result / "r.parquet").column("strategy").to_pylist()
    names[1] = bad
    f = result / "bad.parquet"
    _with_strategy(result / "r.parquet", f, names)
    for args in (["compare", f], ["compare", "r.parquet", f], ["report", f, "--out", "rep"]):
        p = bulksim(*args, cwd=result)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert p.stdout == ""
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("bulksim: error:"), p.stderr
        assert "\x1b" not in p.stderr
    assert not (result / "rep").exists()
