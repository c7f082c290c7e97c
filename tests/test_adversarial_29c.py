"""Third adversarial pass over the command line and the Python API (docs/errors.md):
each test reproduces one finding through the real CLI or API and asserts the one-line
error or the correct result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None, timeout=120):
    """``bulksim ARGS`` in a child process: (exit status, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "engine", *map(str, args)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def one_line_error(rc, err, *needles):
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulksim: error:"), err
    for n in needles:
        assert n in lines[0], err


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    rc, out, err = cli("run", "--calls", 2000, "--strategies", "per_object,batched", "--out", d / "r.parquet")
    assert rc == 0, err
    return d / "r.parquet"


# -- a folder or a FIFO named like a table file ---------------------------------------

def test_validate_measured_refuses_a_folder(tmp_path, summary):
    """pyarrow reads a folder named x.parquet as a dataset of every Parquet file below it:
    validate --measured read a folder as if it were one measurement."""
    d = tmp_path / "m.parquet"
    d.mkdir()
    (d / "part.parquet").write_bytes(summary.read_bytes())
    rc, out, err = cli("validate", "--measured", d)
    one_line_error(rc, err, "is a folder, not a table file")


@pytest.mark.parametrize("cmd", [["validate", "--measured", "{f}"], ["compare", "{f}", "{r}"],
                                 ["report", "{f}", "--out", "{o}"]])
def test_a_fifo_named_parquet_is_refused_not_read(tmp_path, summary, cmd):
    """A FIFO named .parquet: refused in one line, never opened (which blocks until a writer comes)."""
    f = tmp_path / "f.parquet"
    os.mkfifo(f)
    rc, out, err = cli(*[a.format(f=f, r=summary, o=tmp_path / "rep") for a in cmd], timeout=60)
    one_line_error(rc, err, "not a regular file")
    assert not (tmp_path / "rep").exists()
