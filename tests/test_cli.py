"""The command line: each command end to end, and bad input as one line + exit 2."""

from __future__ import annotations

import re
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from engine import cli


def test_run_prints_four_strategy_table(capsys):
    assert cli.main(["run", "--calls", "300", "--quiet"]) == 0
    out = capsys.readouterr().out
    # the strategies in blocks of columns that fit 100 characters, each headed "metric"
    heads = [line.split()[1:] for line in out.splitlines() if line.startswith("metric")]
    assert sum(heads, []) == ["per_object", "batched_v1", "batched", "upfront", "none"]
    assert "hook cycles / object" in out and "%)" in out
    assert "free hook, objects per free call" in out
    # with none in the run: one line per other strategy, the cost of accounting
    cost = [ln for ln in out[out.index("Cost of accounting"):].splitlines() if ln.startswith("  ")][:4]
    assert [line.split()[0] for line in cost] == ["per_object", "batched_v1", "batched", "upfront"]
    # "5.63x ±0.06 none [3.12, 11.95]": the factor, its simulation error, its range (none of
    # them at 300 calls: too few batches for an estimate, "5.63x none [...]")
    assert all(float(line.split()[1]) > 0 and re.search(r"x( ±[0-9.]+)? none \[", line) for line in cost)


def test_run_names_the_free_hook_and_the_cost_of_accounting(capsys):
    assert cli.main(["run", "--calls", "300", "--quiet", "--strategies", "per_object,none",
                     "--set", "free_bulk=8", "--set", "free_hook=batched"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("free hook, objects per free call"))
    assert row.split()[-4:] == ["batched,", "8", "-,", "8"]  # none runs no free hook
    assert "Cost of accounting" in out
    assert cli.main(["run", "--calls", "300", "--quiet", "--strategies", "per_object"]) == 0
    assert "Cost of accounting" not in capsys.readouterr().out  # nothing to subtract


def test_run_says_how_the_strategies_ran(tmp_path, capsys):
    """-v says whether one pass ran every strategy (and why not); the table records it;
    --passes separate gives the identical table."""
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert cli.main(["run", "--calls", "300", "--quiet", "-v", "--out", str(a)]) == 0
    assert "bulksim: one pass for 5 strategies (fused)" in capsys.readouterr().err
    assert cli.main(["run", "--calls", "300", "--quiet", "--passes", "separate", "--out", str(b)]) == 0
    assert capsys.readouterr().err == ""
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.schema.metadata[b"passes"] == b"one pass for 5 strategies (fused)"
    assert tb.schema.metadata[b"passes"].startswith(b"one pass per strategy (separate: asked for")
    assert ta.drop(["sim_seconds"]).equals(tb.drop(["sim_seconds"]))
    assert cli.main(["run", "--scenario", "tight_limit", "--calls", "50", "--quiet", "-v"]) == 0
    assert "separate: a memory limit is set" in capsys.readouterr().err
    assert cli.main(["run", "--scenario", "tight_limit", "--calls", "50", "--passes", "fused"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot share one pass" in err


def test_run_writes_parquet_with_provenance(tmp_path, capsys):
    out = tmp_path / "res.parquet"
    rc = cli.main(["run", "--scenario", "io_uring", "--calls", "200", "--seed", "7", "--quiet",
                   "--set", "get_many=true", "--strategies", "per_object,batched", "--out", str(out)])
    assert rc == 0
    t = pq.read_table(out)
    assert t.column("strategy").to_pylist() == ["per_object", "batched"]
    meta = t.schema.metadata
    assert meta[b"seed"] == b"7" and b'"get_many": true' in meta[b"scenario"]
    assert t.schema.field("hook_cycles").metadata[b"unit"] == b"cycles"
    # refuses to overwrite without --force
    assert cli.main(["run", "--calls", "10", "--quiet", "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert cli.main(["run", "--calls", "10", "--quiet", "--out", str(out), "--force"]) == 0


def test_scenarios_and_profiles_commands(capsys):
    assert cli.main(["scenarios"]) == 0
    listing = capsys.readouterr().out
    for name in ("default", "io_uring", "numa_mixed", "many_cgroups", "tight_limit", "single"):
        assert name in listing
    assert cli.main(["scenarios", "--show", "tight_limit"]) == 0
    shown = capsys.readouterr().out
    assert "memcg_max_pages = " in shown and "remote_free_prob = " in shown
    assert cli.main(["profiles", "--show", "preempt-rt"]) == 0
    prof = capsys.readouterr().out
    assert "ESTIMATED" in prof and "no isolated measurement found" in prof and "P10" not in prof


@pytest.mark.parametrize("argv, words", [
    (["run", "--calls", "ten"], "calls"),
    (["run", "--scenario", "defualt"], "did you mean 'default'"),
    (["run", "--set", "bulk_sise=4"], "did you mean 'bulk_size'"),
    (["run", "--set", "remote_prob=1.5"], "probability"),
    (["run", "--set", "remote_prob=nan"], "finite"),
    (["run", "--bulk-size", "0"], "bulk_size"),
    (["run", "--object-size", "0"], "object_size"),
    (["run", "--nodes", "0"], "nodes"),
    (["run", "--cpus", "2000"], "cpus"),
    (["run", "--profile", "zen"], "unknown cost profile"),
    (["run", "--strategies", "batched,foo"], "unknown strategy"),
    (["run", "--out", "x.txt"], ".parquet"),
    (["run", "--seed", "-3"], "seed"),
    (["run", "--trace", "/nonexistent/t.csv"], "no such file"),
    (["run", "--bogus"], "unrecognized"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(argv, words, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert words in err


def test_console_script_runs_as_module():
    proc = subprocess.run([sys.executable, "-m", "engine", "run", "--calls", "100",
                           "--scenario", "single"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "per_object" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "engine", "run", "--set", "cpus=0"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_first_compile_notice_only_while_the_kernel_cache_is_empty(tmp_path, monkeypatch):
    from engine.cli import first_compile_notice

    monkeypatch.setenv("BULKSIM_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    notice = first_compile_notice()
    assert notice is not None and "first run only" in notice and "20-60 s" in notice
    from engine.model.jit import cache_dir

    d = tmp_path / cache_dir().rsplit("/", 1)[-1] / "some_module"
    d.mkdir(parents=True)
    (d / "kernel.nbi").write_bytes(b"")
    assert first_compile_notice() is not None  # an index without code is not a cache
    (d / "kernel-1.py311.nbc").write_bytes(b"")
    assert first_compile_notice() is None
    # the folder Numba really uses decides: an inherited NUMBA_CACHE_DIR (a parent process's
    # choice) that is empty means a compile, whatever bulksim's own folder holds
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert first_compile_notice() is not None


def test_sensitivity_of_a_run_with_nothing_to_rank(tmp_path, capsys):
    """0 calls: per_object costs nothing; a sentence and exit 0, the file written whole
    (it used to print the table, fail with exit 2 and leave the file)."""
    from engine import cli

    out = tmp_path / "z0.parquet"
    assert cli.main(["run", "--quiet", "--calls", "0", "--sensitivity", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "no ratio to rank" in text and f"wrote {out}" in text
    import pyarrow.parquet as pq

    assert set(pq.read_table(out).column("calls").to_pylist()) == {0}


@pytest.mark.parametrize("orig, argv0, want", [
    (["python", "-m", "engine", "run"], "/x/engine/__main__.py", True),
    (["python", "-P", "-m", "engine", "run"], "/x/engine/__main__.py", True),
    (["python", "-W", "ignore", "-X", "dev", "-m", "engine"], "/x/engine/__main__.py", True),
    (["python", "-m", "pytest", "-m", "engine"], "/x/pytest/__main__.py", False),
    (["python", "script.py", "-m", "engine"], "script.py", False),
    (["python", "-c", "import engine", "-m", "engine"], "-c", False),
    (["/usr/bin/python3", "/v/bin/bulksim", "run"], "/v/bin/bulksim", True),
])
def test_started_as_command_reads_past_interpreter_options(monkeypatch, orig, argv0, want):
    """The early signal handlers are installed only for the command itself, also when
    the interpreter got options before ``-m engine`` (the docs tests run ``python -P -m
    engine``)."""
    import engine

    monkeypatch.setattr(sys, "orig_argv", orig)
    monkeypatch.setattr(sys, "argv", [argv0])
    assert engine._started_as_command() is want
