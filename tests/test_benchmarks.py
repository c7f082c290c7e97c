"""The asv suite itself: `asv check` imports every benchmark and validates it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_asv_check_passes():
    asv = shutil.which("asv", path=os.path.dirname(sys.executable)) or shutil.which("asv")
    if asv is None:
        pytest.fail("asv is not installed; 'pip install -e .[test]' installs it")
    proc = subprocess.run([asv, "check", "-E", f"existing:{sys.executable}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout


def test_every_benchmark_has_params_documented_and_units_on_tracks():
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import bench_engine, bench_model
    finally:
        sys.path.remove(str(ROOT))
    for mod in (bench_engine, bench_model):
        for obj in vars(mod).values():
            if isinstance(obj, type) and hasattr(obj, "params"):
                assert len(obj.param_names) == len(obj.params), obj
            for name in dir(obj) if isinstance(obj, type) else []:
                if name.startswith("track_"):
                    assert getattr(getattr(obj, name), "unit", None), f"{obj.__name__}.{name} has no unit"


def test_all_strategies_benchmark_runs_both_ways():
    """The asv benchmark of one pass for all strategies against one pass each, run
    for real on a small slice (asv runs it on a million objects)."""
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.bench_engine import TimeAllStrategies
    finally:
        sys.path.remove(str(ROOT))
    bench = TimeAllStrategies()
    bench.objects = 4000
    for passes in ("fused", "separate"):
        for scenario in ("default", "io_uring"):
            bench.setup(passes, scenario)
            assert bench.scn.calls * bench.scn.bulk_size == 4000
            bench.time_million_objects_all_strategies(passes, scenario)


def test_time_to_precision_benchmark_runs_both_ways():
    """The asv A/B of a precision-controlled run against the fixed run, for real on a
    loose target and a short fixed run (asv runs +-0.1% against 1 M calls)."""
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.bench_engine import TimeToPrecision
    finally:
        sys.path.remove(str(ROOT))
    bench = TimeToPrecision()
    bench.precision, bench.fixed_calls = 0.005, 20_000
    for run in ("precision", "fixed"):
        bench.setup(run, "default")
        bench.time_to_hook_ratio(run, "default")
    assert bench.track_calls("fixed", "default") == 20_000
    assert 16_384 <= bench.track_calls("precision", "default") < 1_000_000


def test_bench_precision_measures_both_and_reports_medians(capsys):
    from engine import cli

    assert cli.main(["bench", "--precision", "0.005", "--scenario", "default,io_uring", "--calls", "30000",
                     "--repeat", "2", "--strategies", "per_object,batched"]) == 0
    out = capsys.readouterr().out
    assert "time to a ±0.005 hook ratio" in out and "medians of 2 interleaved rounds" in out
    rows = [ln for ln in out.splitlines() if ln.startswith(("default", "io_uring"))]
    assert len(rows) == 2 and all(ln.rstrip().endswith("x") for ln in rows)
