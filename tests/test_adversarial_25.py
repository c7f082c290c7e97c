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


def _start(args, cwd, ignore_hup=False):
    import os
    import signal

    def pre():
        # as nohup starts it, or as a terminal does (whatever the test runner inherited:
        # under nohup the runner itself ignores SIGHUP, and children inherit that)
        signal.signal(signal.SIGHUP, signal.SIG_IGN if ignore_hup else signal.SIG_DFL)
    return subprocess.Popen([*BULKSIM, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=pre,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _wait_running(p, seconds):
    import time

    time.sleep(seconds)
    assert p.poll() is None, "finished before the signal: raise --calls"


def test_sighup_is_handled_like_sigterm(tmp_path):
    """A closed terminal (SIGHUP) killed bulksim with the default action: a temporary
    ``.r.calls.parquet.*.tmp`` was left beside the result (3 of 18 random moments of
    ``run --detail calls,runs --force``) and a hangup between the renames could leave
    old and new sidecars mixed.  Now: 129, one line, the same commit rule."""
    import os
    import signal

    for delay in (0.4, 1.5):  # during the imports (numba), and while the kernels run
        p = _start(["run", "--calls", 3_000_000, "--out", "r.parquet", "--detail", "runs"], tmp_path)
        _wait_running(p, delay)
        p.send_signal(signal.SIGHUP)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 129, (delay, err)
        assert err.strip().splitlines() == ["bulksim: hung up (SIGHUP); nothing was written"], err
        assert os.listdir(tmp_path) == []


def test_sighup_ignored_by_nohup_stays_ignored(tmp_path):
    """Under nohup (SIGHUP ignored at start) bulksim must not start catching it."""
    import signal

    p = _start(["run", "--calls", 300_000, "--out", "r.parquet"], tmp_path, ignore_hup=True)
    _wait_running(p, 1.0)
    p.send_signal(signal.SIGHUP)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert (tmp_path / "r.parquet").is_file()


def test_sighup_inside_the_commit_is_held(tmp_path):
    """A SIGHUP between the renames of one result waits until all are done (in a child
    process: without the fix the hangup kills whatever process it lands in)."""
    import os

    script = """
import os, signal, sys
from engine.cli import main
from engine.results import tables
real, calls = os.replace, []
def replace(a, b):
    real(a, b)
    calls.append(b)
    if len(calls) == 1:
        signal.raise_signal(signal.SIGHUP)
tables.os.replace = replace
rc = main(["run", "--calls", "300", "--out", "r.parquet", "--detail", "calls,runs"])
print(rc, len(calls))
"""
    import signal

    p = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
                       preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    assert p.returncode == 0 and p.stdout.split()[-2:] == ["129", "4"], (p.returncode, p.stdout, p.stderr)
    assert "hung up (SIGHUP); r." in p.stderr and "written in full before it" in p.stderr
    assert sorted(os.listdir(tmp_path)) == [
        "r.calls.parquet", "r.parquet", "r.runs.parquet", "r.units.parquet"]


def test_float_parameter_given_as_an_integer_is_one_scenario(tmp_path):
    """``Scenario(remote_prob=1)`` (or ``np.int64(1)``) kept the int: equal to
    ``remote_prob=1.0`` but with another provenance (compare said the setups differ)
    and another sweep point key; a Python sweep over ``[0, 1]`` wrote an int64
    ``param_remote_prob`` and the same sweep from the command line then recomputed
    every point ("holds rows of a point that is not in this sweep")."""
    import numpy as np
    import pyarrow.parquet as pq

    from engine import Scenario
    from engine.run.sweep import run_sweep

    for one in (1, np.int64(1), np.uint8(1)):
        s = Scenario(remote_prob=one)
        assert type(s.remote_prob) is float
        assert s.to_json() == Scenario(remote_prob=1.0).to_json()
    base = Scenario.from_preset("default").replace(calls=200)
    run_sweep(base, {"remote_prob": [0, np.int8(1)]}, [0], tmp_path / "s",
              strategies=["per_object", "batched"])
    assert pq.read_schema(tmp_path / "s" / "summary.parquet").field("param_remote_prob").type == pa.float64()
    p = bulksim("sweep", "--calls", 200, "--grid", "remote_prob=0,1", "--strategies", "per_object,batched",
                "--out", "s", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr == "" and "2 already done, 0 computed" in p.stdout
    with pytest.raises(ValueError, match="twice"):
        run_sweep(base, {"remote_prob": [0, 0.0]}, [0], tmp_path / "t")


@pytest.mark.parametrize("target", ["full", "closed"])
def test_stdout_line_names_only_files_really_written(result, target):
    """``bulksim scenarios | true`` said "files were written before any output" (and
    ``> /dev/full`` "any result files were written first") for commands that write
    none; a run --out names the files it did write."""
    import os

    def go(*args):
        if target == "full":
            with open("/dev/full", "w") as full:
                return subprocess.run([*BULKSIM, *map(str, args)], cwd=result, stdout=full,
                                      stderr=subprocess.PIPE, text=True,
                                      env={**os.environ, "PYTHONPATH": str(ROOT)})
        r, w = os.pipe()
        os.close(r)  # a reader that is gone: the first write is EPIPE
        try:
            return subprocess.run([*BULKSIM, *map(str, args)], cwd=result, stdout=w,
                                  stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
        finally:
            os.close(w)
    rc = 2 if target == "full" else 141
    for args in (["scenarios"], ["compare", "r.parquet"]):
        p = go(*args)
        assert p.returncode == rc, p.stderr
        assert len(p.stderr.splitlines()) == 1 and "written" not in p.stderr, p.stderr
    p = go("run", "--calls", 200, "--out", "w.parquet", "--force")
    assert p.returncode == rc, p.stderr
    assert p.stderr.strip().endswith("w.units.parquet, w.parquet were written in full before it"), p.stderr


def test_report_force_refuses_a_symlinked_report_folder(result):
    """``report --out LINK --force`` (LINK -> a report folder) swapped a new folder in
    place of the link and left the old report where the link pointed: the link was
    lost and the report it named was never replaced.  Refused, as ``sweep --force``
    refuses a symlinked sweep folder; a dangling link too."""
    import os

    p = bulksim("report", "r.parquet", "--out", "repA", cwd=result)
    assert p.returncode == 0, p.stderr
    before = sorted(os.listdir(result / "repA"))
    os.symlink("repA", result / "lnrep")
    os.symlink("nowhere", result / "dangling")
    for link in ("lnrep", "dangling"):
        p = bulksim("report", "r.parquet", "--out", link, "--force", cwd=result)
        assert p.returncode == 2 and "symbolic link" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
        assert (result / link).is_symlink()
    assert sorted(os.listdir(result / "repA")) == before
    assert not [f for f in os.listdir(result) if f.startswith(".")]
