"""I/O faults and state: a full disk, a file size limit, a closed stdout, the umask,
sweep resume over damaged parts, stale report files, runs that must stop on a signal.

Each fault: one line on stderr, a non-zero exit, nothing half-written (docs/errors.md)."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import cli, errors
from engine.inputs.scenario import Scenario
from engine.model.state import STRATEGIES
from engine.results import tables
from engine.run.sweep import read_sweep, run_sweep

RUN = ["run", "--quiet", "--calls", "20"]


def _bulksim(args, **kw):
    if "stdout" in kw:
        return subprocess.run([sys.executable, "-m", "engine", *args], stderr=subprocess.PIPE, text=True,
                              timeout=300, check=False, **kw)
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True,
                          timeout=300, check=False, **kw)


def _one_line(err: str) -> None:
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def _limit_fsize(limit):
    def pre():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


@pytest.mark.parametrize("extra", [[], ["--detail", "calls,runs"], ["--detail", "runs"]])
def test_file_size_limit_efbig(tmp_path, extra):
    out = tmp_path / "r.parquet"
    proc = _bulksim(RUN + ["--out", str(out), *extra], preexec_fn=_limit_fsize(8192))
    assert proc.returncode == 2, proc.stderr
    _one_line(proc.stderr)
    assert "File too large" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_file_size_limit_history(tmp_path):
    from pathlib import Path

    asv = Path(__file__).parent / "fixtures" / "asv_results"
    proc = _bulksim(["history", str(asv), "--out", str(tmp_path / "h.parquet")],
                    preexec_fn=_limit_fsize(2048))
    assert proc.returncode == 2, proc.stderr
    _one_line(proc.stderr)
    assert list(tmp_path.iterdir()) == []


def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("writer", ["parquet", "feather"])
def test_full_disk_enospc(tmp_path, capsys, monkeypatch, writer):
    from pyarrow import feather

    if writer == "parquet":
        monkeypatch.setattr(pq, "write_table", _enospc)
    else:
        monkeypatch.setattr(feather, "write_feather", _enospc)
    out = tmp_path / ("r.parquet" if writer == "parquet" else "r.arrow")
    assert cli.main(RUN + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    _one_line(err)
    assert "No space left on device" in err and "nothing was written" in err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(errors.OutputError):
        tables.write_table(pa.table({"a": [1]}), out)


def test_full_disk_during_a_sweep_and_a_report(tmp_path, capsys, monkeypatch):
    base = Scenario(calls=20)
    run_sweep(base, {"bulk_size": [1, 2]}, [0], tmp_path / "s", workers=1)
    assert cli.main(["report", str(tmp_path / "s"), "--out", str(tmp_path / "rep")]) == 0
    page = (tmp_path / "rep" / "index.html").read_text()
    capsys.readouterr()
    from pyarrow import feather

    monkeypatch.setattr(pq, "write_table", _enospc)
    monkeypatch.setattr(feather, "write_feather", _enospc)
    assert cli.main(["sweep", "--quiet", "--grid", "bulk_size=3", "--calls", "20", "--workers", "1",
                     "--out", str(tmp_path / "s2")]) == 2
    err = capsys.readouterr().err
    _one_line(err)
    assert "No space left" in err
    assert not (tmp_path / "s2").exists()  # no empty tree left behind
    (tmp_path / "s3").mkdir()  # a folder the user made stays as it was: empty
    assert cli.main(["sweep", "--quiet", "--grid", "bulk_size=3", "--calls", "20", "--workers", "1",
                     "--out", str(tmp_path / "s3")]) == 2
    _one_line(capsys.readouterr().err)
    assert list((tmp_path / "s3").iterdir()) == []
    (tmp_path / "s3").rmdir()
    monkeypatch.undo()

    from pathlib import Path

    real = Path.write_text
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: _enospc() if self.suffix == ".svg"
                        else real(self, *a, **k))
    assert cli.main(["report", str(tmp_path / "s"), "--out", str(tmp_path / "rep"), "--force"]) == 2
    _one_line(capsys.readouterr().err)
    assert (tmp_path / "rep" / "index.html").read_text() == page  # the old report is kept whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("argv", [["scenarios"], ["profiles", "-v"], RUN, RUN + ["--out", "{tmp}/r.parquet"],
                                  ["compare", "{tmp}/r.parquet"]])
def test_full_stdout_is_one_line(tmp_path, argv):
    if argv[0] == "compare":
        assert cli.main(RUN + ["--out", str(tmp_path / "r.parquet")]) == 0
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with open("/dev/full", "w") as full:
        res = _bulksim(argv, stdout=full)
    assert res.returncode == 2, res.stderr
    _one_line(res.stderr)
    assert "standard output" in res.stderr and "No space left" in res.stderr
    if "--out" in argv:  # the result file was written before the table was printed
        assert pq.read_table(tmp_path / "r.parquet").num_rows >= 3


def test_closed_stdout_keeps_the_file(tmp_path):
    out = tmp_path / "r.parquet"
    proc = subprocess.Popen([sys.executable, "-m", "engine", *RUN, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # like `| head -0`: the first write gets EPIPE
    with proc.stderr:
        err = proc.stderr.read()
    proc.wait(timeout=300)
    assert proc.returncode == 141, err
    _one_line(err)
    assert pq.read_table(out).num_rows == len(STRATEGIES)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_results_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        p = tables.write_table(pa.table({"a": [1]}), tmp_path / "t.parquet")
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == mode


# -- sweeps: resume verifies what it finds ------------------------------------------

def _parts(out):
    return sorted(out.glob(".parts/point-*.arrow"))


def _staged_sweep(out, base, grid, monkeypatch):
    """A sweep stopped after computing every point but before merging them: all staged."""
    from engine.run import sweep as sweep_mod

    with monkeypatch.context() as m:
        m.setattr(sweep_mod, "_consolidate", lambda *a, **k: None)
        run_sweep(base, grid, [0], out, workers=1)
    return _parts(out)


def _sweep_rows(out):
    return read_sweep(out).drop_columns(["sim_seconds"]).sort_by("point")  # stable: strategy order


@pytest.mark.parametrize("damage", ["truncate", "foreign", "other_point", "empty", "two_rows",
                                    "other_strategies", "other_scenario", "no_stamp"])
def test_resume_recomputes_a_bad_part(tmp_path, capsys, monkeypatch, damage):
    from pyarrow import feather

    base, grid = Scenario(calls=30), {"bulk_size": [1, 2]}
    out = tmp_path / "s"
    parts = _staged_sweep(out, base, grid, monkeypatch)
    assert len(parts) == 2 and not (out / "summary.parquet").exists()
    want = _sweep_rows(out)
    victim, other = parts
    t = feather.read_table(victim)
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:200])
    elif damage == "foreign":
        feather.write_feather(pa.table({"a": [1]}), victim)
    elif damage == "other_point":
        victim.write_bytes(other.read_bytes())
    elif damage == "empty":
        victim.write_bytes(b"")
    elif damage == "other_strategies":  # one strategy's row missing
        feather.write_feather(t.slice(1), victim)
    elif damage == "other_scenario":  # the right rows, but stamped as another scenario's
        meta = dict(t.schema.metadata)
        stamp = json.loads(meta[b"sweep_part"])
        meta[b"sweep_part"] = json.dumps({**stamp, "scenario": "other"}).encode()
        feather.write_feather(t.replace_schema_metadata(meta), victim)
    elif damage == "no_stamp":
        meta = {k: v for k, v in t.schema.metadata.items() if k != b"sweep_part"}
        feather.write_feather(t.replace_schema_metadata(meta), victim)
    else:
        feather.write_feather(pa.concat_tables([t, t]), victim)
    with pytest.raises(errors.BadInputError):
        read_sweep(out)  # never dropped or doubled silently
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep")]) == 2
    assert cli.main(["compare", str(out)]) == 2
    capsys.readouterr()
    rep = run_sweep(base, grid, [0], out, workers=1)
    assert rep.computed == 1 and rep.done_before == 1
    assert "recomputing" in capsys.readouterr().err
    got = _sweep_rows(out)
    assert got.num_rows == want.num_rows and got.column("objects") == want.column("objects")
    assert sorted(p.name for p in out.iterdir()) == ["_sweep.json", "_units.parquet", "summary.parquet"]


@pytest.mark.parametrize("damage", ["foreign_point", "doubled_point", "not_parquet"])
def test_a_damaged_dataset_is_refused_then_repaired(tmp_path, capsys, damage):
    """The merged summary.parquet is verified too: rows of a point not in the sweep, a
    point twice, an unreadable file; refused by readers, repaired by a rerun."""
    import pyarrow.compute as pc

    base, grid = Scenario(calls=30), {"bulk_size": [1, 2]}
    out = tmp_path / "s"
    run_sweep(base, grid, [0], out, workers=1)
    want = _sweep_rows(out)
    data = out / "summary.parquet"
    t = pq.read_table(data)
    one = t.filter(pc.equal(t.column("point"), t.column("point")[0]))
    if damage == "foreign_point":
        i = t.schema.get_field_index("point")
        pq.write_table(pa.concat_tables([t, one.set_column(i, "point", pa.array(["f" * 16] * one.num_rows))]),
                       data)
    elif damage == "doubled_point":
        pq.write_table(pa.concat_tables([t, one]), data)
    else:
        data.write_bytes(b"PAR1 not really")
    with pytest.raises(errors.BadInputError):
        read_sweep(out)
    assert cli.main(["compare", str(out)]) == 2
    _one_line(capsys.readouterr().err)
    rep = run_sweep(base, grid, [0], out, workers=1)
    assert rep.done_before + rep.computed == 2
    assert "recomputing" in capsys.readouterr().err
    got = _sweep_rows(out)
    assert got.num_rows == want.num_rows and got.column("objects") == want.column("objects")


def test_resume_removes_temporaries_of_a_killed_sweep(tmp_path, capsys, monkeypatch):
    base, grid = Scenario(calls=20), {"bulk_size": [1, 2]}
    out = tmp_path / "s"
    victim = _staged_sweep(out, base, grid, monkeypatch)[0]
    # what write_table leaves when SIGKILL hits between mkstemp and the rename
    stale = victim.parent / f".{victim.name}.k3j9x2.tmp"
    stale.write_bytes(victim.read_bytes()[:100])
    victim.unlink()
    # and the folders of a --force sweep killed before its swap
    build = tmp_path / ".s.new-abc123"
    build.mkdir()
    (build / "_sweep.json").write_text("{}")
    rep = run_sweep(base, grid, [0], out, workers=1)
    assert rep.computed == 1 and not stale.exists() and not build.exists()
    assert not list(out.rglob("*.tmp"))
    read_sweep(out)


@pytest.mark.parametrize("bad", [["--grid", "bulk_size=1,0"],
                                 ["--grid", "kernel=v6.12"],  # per_object does not exist there
                                 ["--grid", "gfp_high=true", "--set", "kernel=mm-2026",
                                  "--strategies", "upfront"]])
def test_failed_grid_leaves_no_folder_and_the_rerun_works(tmp_path, capsys, bad):
    out = tmp_path / "s"
    args = ["sweep", "--quiet", "--calls", "20", "--out", str(out)]
    assert cli.main(args + bad) == 2
    assert not out.exists()
    assert cli.main(args + ["--grid", "bulk_size=1,2"]) == 0


def test_scenario_name_cannot_leave_out(tmp_path, capsys):
    out = tmp_path / "a" / "s"
    out.parent.mkdir()
    for name in ("..", "../../x", "a/b", ".x", "x\\y"):
        assert cli.main(["sweep", "--quiet", "--calls", "20", "--grid", "bulk_size=1",
                         "--set", f"name={name}", "--out", str(out)]) == 2
    assert list(tmp_path.rglob("*")) == [tmp_path / "a"]


def test_report_force_leaves_no_stale_plots(tmp_path, capsys):
    run_sweep(Scenario(calls=20), {"bulk_size": [1, 2], "nodes": [1, 2]}, [0], tmp_path / "s", workers=1)
    rep = tmp_path / "rep"
    assert cli.main(["report", str(tmp_path / "s"), "--out", str(rep)]) == 0
    assert len(list(rep.glob("*.svg"))) > 2
    assert cli.main(RUN + ["--out", str(tmp_path / "one.parquet")]) == 0
    assert cli.main(["report", str(tmp_path / "one.parquet"), "--out", str(rep), "--force"]) == 0
    fresh = tmp_path / "fresh"
    assert cli.main(["report", str(tmp_path / "one.parquet"), "--out", str(fresh)]) == 0
    # exactly what a fresh report of the single file holds: none of the sweep's plots
    assert sorted(p.name for p in rep.iterdir()) == sorted(p.name for p in fresh.iterdir())
    assert not any("heatmap" in p.name or "bulk_size" in p.name for p in rep.iterdir())


@pytest.mark.parametrize("target", ["", "scenario=default", ".."])
def test_report_force_never_deletes_its_input(tmp_path, capsys, target):
    out = tmp_path / "s"
    run_sweep(Scenario(calls=20, name="default"), {"bulk_size": [1, 2]}, [0], out, workers=1)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert cli.main(["report", str(out), "--out", str(out / target), "--force"]) == 2
    _one_line(capsys.readouterr().err)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    read_sweep(out)


def test_manifest_of_a_failed_sweep_is_not_written(tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    assert cli.main(["sweep", "--quiet", "--calls", "20", "--grid", "bulk_size=1", "--workers", "0",
                     "--out", str(out)]) == 2
    assert list(out.iterdir()) == []  # no manifest, no partition folder


# -- runs stop on a signal within a couple of seconds at any valid parameter -----------

@pytest.mark.parametrize("sets", [
    ["bulk_size=65536"],
    ["memcg_max_pages=1", "reclaim_retries=1024", "depth=16", "gfp_nofail=1", "bulk_size=2048"],
])
def test_signal_stops_a_heavy_run_quickly(tmp_path, sets):
    out = tmp_path / "r.parquet"
    argv = [sys.executable, "-m", "engine", "run", "--quiet", "--calls", "1000000000",
            "--strategies", "per_object", "--out", str(out)]
    for s in sets:
        argv += ["--set", s, "--set", "live_objects=1000"] if s == sets[0] else ["--set", s]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4.0)
        assert proc.poll() is None, proc.communicate()
        t = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        took = time.perf_counter() - t
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, err
    assert took < 3.0, took
    assert list(tmp_path.iterdir()) == []


def test_signal_stops_a_sweep_of_heavy_points_quickly(tmp_path):
    out = tmp_path / "s"
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "sweep", "--quiet", "--grid", "bulk_size=1000,2000",
         "--calls", "3000000", "--strategies", "per_object", "--workers", "2", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4.0)
        assert proc.poll() is None, proc.communicate()
        t = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        took = time.perf_counter() - t
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, err
    assert took < 3.0, took  # the worker threads stop after their current kernel chunk
    assert _parts(out) == []


def test_signal_is_handled_while_the_state_is_initialised(monkeypatch):
    """Initialising a state of gigabytes is seconds inside numpy, where the main thread
    cannot run a signal handler; it runs in a helper thread while the main thread waits
    in short steps (SIGTERM took 8.5 s at cpus=1024, nodes=64, barn_max_full=1024)."""
    import hashlib
    import threading

    from engine.model import state as st_mod

    real = st_mod.make_fused

    def slow_make(*args):  # one long C call that releases the GIL, like numpy's fills
        hashlib.pbkdf2_hmac("sha256", b"x", b"salt", 8_000_000)
        return real(*args)

    t0 = time.perf_counter()
    hashlib.pbkdf2_hmac("sha256", b"x", b"salt", 8_000_000)
    slow = time.perf_counter() - t0
    monkeypatch.setattr(st_mod, "make_fused", slow_make)

    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop()

    old = signal.signal(signal.SIGUSR1, handler)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1))
    try:
        timer.start()
        t0 = time.perf_counter()
        with pytest.raises(Stop):
            from engine.run.simulate import run_strategy

            run_strategy(Scenario(calls=10), "batched", 0)
        took = time.perf_counter() - t0
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, old)
    assert took < 0.2 + min(0.5, slow / 2), (took, slow)


def test_full_disk_at_the_merge_keeps_the_points_for_the_rerun(tmp_path, capsys, monkeypatch):
    """ENOSPC when the staged points are merged into summary.parquet: one line, exit 2,
    the computed points kept; the rerun computes nothing and merges them."""
    out = tmp_path / "s"
    argv = ["sweep", "--quiet", "--grid", "bulk_size=1,2", "--calls", "20", "--workers", "1", "--out", str(out)]
    monkeypatch.setattr(pq, "write_table", _enospc)  # the staged points are Arrow IPC, the merge Parquet
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    _one_line(err)
    assert "No space left" in err
    assert len(_parts(out)) == 2 and not (out / "summary.parquet").exists()
    assert not list(out.rglob("*.tmp"))
    monkeypatch.undo()
    assert cli.main(argv) == 0
    assert "2 already done, 0 computed" in capsys.readouterr().out
    assert read_sweep(out).num_rows == 2 * 5 and _parts(out) == []
