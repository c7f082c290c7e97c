"""SIGINT and SIGTERM at any moment of a command's life end with the documented status
(130, 143) and one line, and the files are all old or all new, never a mix.

Two ways in: real signals sent to a ``python -m engine`` child at delays spread over
the whole command (start-up, simulation, the writes, the last print), and signals sent
to this process at chosen points inside ``main`` (inside a temporary write, inside the
commit's renames, at the first and the last print)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from engine import cli
from engine.results import tables

ENV = dict(os.environ, PYTHONUNBUFFERED="1")
RUN = [sys.executable, "-m", "engine", "run", "--calls", "3000", "--quiet", "--detail", "calls,runs"]
SIDE = ("", ".calls", ".runs", ".units")


def _files(tmp_path, stem="r"):
    return [tmp_path / f"{stem}{s}.parquet" for s in SIDE]


def _seed_of(path):
    meta = pq.read_schema(path).metadata or {}
    if b"seed" in meta:
        return meta[b"seed"].decode()
    rows = pq.read_table(path).to_pylist()  # the units table keeps provenance as rows
    return next(r["description"].split("=", 1)[1] for r in rows if r["description"].startswith("seed="))


def _interpreter_start() -> float:
    """Twice the time a bare interpreter takes to start and exit: before that a signal
    meets Python's default handling, not bulksim's (engine/__init__.py installs its
    handlers as its first statements; docs/errors.md says so), so no delay is shorter."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
    return 2 * (time.perf_counter() - t)


def _signal_at(argv, delay, sig):
    """Start ``argv``, send ``sig`` after ``delay`` s (at the earliest once the
    interpreter is up: ``_interpreter_start``; unless it ended before); returns
    (sent, returncode, stderr)."""
    delay = max(delay, _interpreter_start())
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        time.sleep(delay)
        sent = proc.poll() is None
        if sent:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return sent, proc.returncode, err


def _clean(err):
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert len(err.strip().splitlines()) <= 1, err


def _timed(argv):
    t = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - t


def test_run_force_at_many_moments_is_old_or_new(tmp_path):
    """``run --out --detail calls,runs --force`` over an earlier run's four files."""
    files = _files(tmp_path)
    old = RUN + ["--seed", "1", "--out", str(files[0])]
    new = RUN + ["--seed", "2", "--out", str(files[0]), "--force"]
    total = _timed(old) + 0.1
    seen = set()
    for k in range(12):
        subprocess.run(old + ["--force"], capture_output=True, env=ENV, check=True, timeout=300)
        sig = signal.SIGINT if k % 3 else signal.SIGTERM
        sent, rc, err = _signal_at(new, total * (k + 0.5) / 12, sig)
        _clean(err)
        seeds = {_seed_of(f) for f in files}
        assert len(seeds) == 1, (k, seeds)  # never a mix of the two runs
        (seed,) = seeds
        if not sent:
            assert rc == 0 and seed == "2"
            seen.add("finished")
            continue
        assert rc in (0, 130 if sig == signal.SIGINT else 143), (k, rc, err)
        if rc == 0:  # it had finished; the signal came too late to be seen
            assert seed == "2"
        elif "nothing was written" in err:
            assert seed == "1", err
            seen.add("old")
        else:
            assert seed == "2" and "written in full" in err or "as it finished" in err, err
            seen.add("new")
        assert not list(tmp_path.glob(".*.tmp"))
    assert "old" in seen  # the delays reached the simulation, at least


def test_report_force_at_many_moments_is_old_or_new(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    subprocess.run(RUN[:6] + ["--out", str(a)], check=True, capture_output=True, env=ENV, timeout=300)
    subprocess.run(RUN[:6] + ["--strategies", "per_object,batched", "--out", str(b)], check=True,
                   capture_output=True, env=ENV, timeout=300)
    rep = tmp_path / "rep"
    base = [sys.executable, "-m", "engine", "report", "--force", "--out", str(rep)]
    total = _timed(base + [str(a)]) + 0.1
    pytest.importorskip("matplotlib")
    for k in range(8):
        subprocess.run(base + [str(a)], check=True, capture_output=True, env=ENV, timeout=300)
        want_old = (rep / "index.html").read_text()
        sent, rc, err = _signal_at(base + [str(b)], total * (k + 0.5) / 8, signal.SIGINT)
        _clean(err)
        page = (rep / "index.html").read_text()  # a report is always there, whole
        assert rc in (0, 130), (rc, err)
        if rc == 130 and "nothing was written" in err:
            assert page == want_old
        assert "b.parquet" in page or page == want_old
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_sweep_force_at_many_moments_is_old_or_new(tmp_path):
    from engine.run.sweep import read_sweep

    out = tmp_path / "s"
    base = [sys.executable, "-m", "engine", "sweep", "--quiet", "--calls", "300", "--workers", "1",
            "--out", str(out)]
    old, new = base + ["--grid", "bulk_size=1,2"], base + ["--grid", "bulk_size=4,8,16", "--force"]
    total = _timed(new) + 0.1
    for k in range(8):
        subprocess.run(old + ["--force"], check=True, capture_output=True, env=ENV, timeout=300)
        sig = signal.SIGINT if k % 2 else signal.SIGTERM
        sent, rc, err = _signal_at(new, total * (k + 0.5) / 8, sig)
        _clean(err)
        sizes = sorted(set(read_sweep(out).column("param_bulk_size").to_pylist()))
        grid = json.loads((out / "_sweep.json").read_text())["grid"]["bulk_size"]
        assert sizes == grid and sizes in ([1, 2], [4, 8, 16]), (k, sizes, grid)
        if sent and rc != 0:
            assert rc == (130 if sig == signal.SIGINT else 143), err
            if sizes == [1, 2]:
                assert "kept as it was" in err or "nothing" in err, err
        assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no build folder left


# -- in-process: a signal at chosen moments inside main --------------------------------

def _kill_self(sig=signal.SIGINT):
    os.kill(os.getpid(), sig)


@pytest.mark.parametrize("moment", ["first temporary", "second temporary", "inside the renames", "first print",
                                    "last print", "final flush"])
def test_a_signal_at_each_moment_of_run_out(tmp_path, capsys, monkeypatch, moment):
    files = _files(tmp_path)
    argv = ["run", "--calls", "300", "--quiet", "--detail", "calls,runs", "--out", str(files[0])]
    assert cli.main(argv + ["--seed", "1"]) == 0
    capsys.readouterr()
    state = {"n": 0}
    if moment in ("first temporary", "second temporary"):  # right after it is made, before it is recorded
        real = tables._write_temporary

        def hook(t, p):
            state["n"] += 1
            out = real(t, p)
            if state["n"] == (1 if moment == "first temporary" else 2):
                _kill_self()
            return out
        monkeypatch.setattr(tables, "_write_temporary", hook)
    elif moment == "inside the renames":  # held: delivered once all four are renamed
        real = os.replace

        def hook(a, b):
            real(a, b)
            if str(b).endswith(".calls.parquet"):
                _kill_self(signal.SIGTERM)
        monkeypatch.setattr(tables.os, "replace", hook)
    elif moment in ("first print", "last print"):
        real_print = print
        import builtins

        def hook(*a, **k):
            text = " ".join(map(str, a))
            real_print(*a, **k)
            if (moment == "first print" and "per_object" in text) or \
                    (moment == "last print" and text.startswith("\nwrote")):
                _kill_self()
        monkeypatch.setattr(builtins, "print", hook)
    else:
        real_flush = cli._GuardedStdout.flush

        def hook(self):
            real_flush(self)
            _kill_self()
        monkeypatch.setattr(cli._GuardedStdout, "flush", hook)
    rc = cli.main(argv + ["--seed", "2", "--force"])
    monkeypatch.undo()
    err = capsys.readouterr().err
    _clean(err)
    seeds = {_seed_of(f) for f in files}
    if moment.endswith("temporary"):
        assert rc == 130 and "nothing was written" in err and seeds == {"1"}
    elif moment == "inside the renames":
        assert rc == 143 and "written in full" in err and seeds == {"2"}
        assert all(str(f) in err for f in files)
    else:
        assert rc == 130 and seeds == {"2"}
        assert "written in full" in err or "as it finished" in err, err
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_signal_during_startup_is_recorded_not_a_traceback(tmp_path):
    """The imports before ``main`` (numba: a quarter of a second) take a signal too."""
    import engine

    engine._EARLY_SIGNALS.append(signal.SIGINT)
    out = tmp_path / "r.parquet"
    assert cli.main(["run", "--calls", "300", "--quiet", "--out", str(out)]) == 130
    assert not out.exists() and engine._EARLY_SIGNALS == []
    proc = subprocess.Popen([sys.executable, "-m", "engine", "scenarios"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    time.sleep(0.08)  # inside the imports
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    _clean(err)
    assert proc.returncode in (0, 130), err


def test_main_leaves_the_callers_handlers(capsys):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert cli.main(["scenarios"]) == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_signal_inside_a_finaliser_is_not_lost(tmp_path, capsys):
    """A signal whose handler runs inside a ``__del__`` (llvmlite's objects are collected
    at any moment) raises where Python swallows it ("Exception ignored"); the command
    still stops with 130."""
    import gc

    class Victim:
        def __del__(self):
            _kill_self()
            for _ in range(1000):  # the handler runs here, inside the finaliser
                pass

    real = cli.cmd_scenarios

    def scenarios(args, out=None):
        Victim()
        gc.collect()
        time.sleep(1.0)  # the signal, delivered again, ends the sleep
        return real(args, out)

    cli.COMMANDS["scenarios"] = scenarios
    try:
        rc = cli.main(["scenarios"])
    finally:
        cli.COMMANDS["scenarios"] = real
    err = capsys.readouterr().err
    assert rc == 130 and "Exception ignored" not in err and "Traceback" not in err, err


@pytest.mark.parametrize("command", ["history", "compare", "report"])
def test_a_signal_inside_the_commit_of_every_writer(tmp_path, capsys, monkeypatch, command):
    """history, compare -o parquet and report commit their output with the signals
    held too: a signal during the renames is acted on after them, and the line names
    the output as complete."""
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "asv_results"
    res = tmp_path / "r.parquet"
    assert cli.main(["run", "--calls", "300", "--quiet", "--out", str(res)]) == 0
    out = {"history": tmp_path / "h.parquet", "compare": tmp_path / "c.parquet", "report": tmp_path / "rep"}[command]
    argv = {"history": ["history", str(fixture), "--out", str(out)],
            "compare": ["compare", str(res), "-o", "parquet", "--out", str(out)],
            "report": ["report", str(res), "--out", str(out)]}[command]
    if command == "report":
        pytest.importorskip("matplotlib")
    real = os.replace

    def hook(a, b):
        real(a, b)
        if Path(b) == out:
            _kill_self()
    monkeypatch.setattr(os, "replace", hook)  # the one os module: tables' and report's
    capsys.readouterr()
    rc = cli.main(argv)
    monkeypatch.undo()
    err = capsys.readouterr().err
    _clean(err)
    assert rc == 130 and f"{out} was written in full" in err, err
    assert out.exists()


def test_help_and_version_end_under_the_contract(capsys):
    """argparse's own exits (--help, --version) return their status through main, so the
    process still ends by entry() (no interpreter clean-up for a late signal to hit)."""
    assert cli.main(["--version"]) == 0
    assert "bulksim" in capsys.readouterr().out
    assert cli.main(["run", "--help"]) == 0
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "engine", "--help"], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=ENV, timeout=120)
    assert done.returncode == 2 and "No space left" in done.stderr
    _clean(done.stderr)
