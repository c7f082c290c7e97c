"""The scripts in tools/ follow bulksim's command-line contract: every argument checked
before any work, one line and exit 2 on bad input, a prompt stop on Ctrl-C, and no
traceback on a full (``> /dev/full``) or closed (``| true``) standard output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from . import ROOT, load_tool

PY = sys.executable


def _one_line(err):
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("tool, argv, words", [
    ("free_hook_savings", ["--scenarios", "default,nosuch", "--calls", "200000"], "unknown scenario 'nosuch'"),
    ("free_hook_savings", ["--free-bulk", "8,0", "--calls", "200000"], "free_bulk must be in"),
    ("free_hook_savings", ["--bogus"], "unrecognized arguments"),
    ("pass_cost", ["--bogus"], "unrecognized arguments"),
    ("pass_cost", ["--strategy", "nosuch"], "unknown strategy"),
    ("pass_cost", ["--copies", "2,2"], "at least two different"),
    ("profile_kernel", ["--calls", "x"], "invalid int value"),
    ("profile_kernel", ["--top", "0"], "--top must be at least 1"),
    ("branch_sim", ["--calls", "0"], "--calls must be >= 1"),
    ("branch_sim", ["--by", "x"], "invalid choice"),
])
def test_bad_arguments_fail_before_any_work(tool, argv, words):
    t = time.perf_counter()
    done = subprocess.run([PY, str(ROOT / "tools" / f"{tool}.py"), *argv], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    _one_line(done.stderr)
    assert words in done.stderr and done.stdout == ""  # nothing printed: no result came first
    assert time.perf_counter() - t < 30  # checked up front, not after a simulation


SMALL = {"free_hook_savings": ["--scenarios", "default", "--free-bulk", "8", "--calls", "300"],
         "pass_cost": ["--calls", "2000", "--rounds", "1"]}


@pytest.mark.parametrize("tool", list(SMALL))
def test_full_and_closed_stdout(tool):
    script = [PY, str(ROOT / "tools" / f"{tool}.py"), *SMALL[tool]]
    with open("/dev/full", "w") as full:
        done = subprocess.run(script, stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 2 and "No space left" in done.stderr, done.stderr
    _one_line(done.stderr)
    proc = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # `| true`
    err = proc.stderr.read()
    proc.stderr.close()
    proc.wait(timeout=300)
    assert proc.returncode == 141, err
    _one_line(err)


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_pass_cost_stops_promptly_on_a_signal(sig, status):
    """A timed pass of 3,000,000 calls took 33-47 s without a chance to stop; it now
    runs in chunks, so the signal acts within a fraction of a second."""
    proc = subprocess.Popen([PY, str(ROOT / "tools" / "pass_cost.py"), "--calls", "3000000", "--rounds", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(6.0)  # start-up, the kernels loaded, inside the first timed pass
        assert proc.poll() is None
        t = time.perf_counter()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        took = time.perf_counter() - t
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == status, err
    _one_line(err)
    assert took < 3.0, took


def test_pass_cost_chunks_time_the_same_work():
    """Chunked or not, a pass does the same calls: the kernel's counters agree."""
    import numpy as np

    from engine.inputs.scenario import Scenario
    from engine.model import state as st

    tool = load_tool("pass_cost")
    scn = Scenario.from_preset("default", calls=3000)
    old = tool.CHUNK_OBJECTS
    try:
        got = []
        for chunk in (10**9, 160):
            tool.CHUNK_OBJECTS = chunk
            seen = {}
            real = st.make_fused

            def spy(*a, **k):
                seen["state"] = real(*a, **k)
                return seen["state"]
            st.make_fused = spy
            try:
                assert tool.pass_ns_per_object(scn, "batched", 2) > 0
            finally:
                st.make_fused = real
            _, A, X = seen["state"]
            got.append([np.array(st.strategy_state(A, X, i).counters, copy=True) for i in range(2)])
    finally:
        tool.CHUNK_OBJECTS = old
    for a, b in zip(*got):
        assert (a == b).all()
    assert os.path.exists(ROOT / "tools" / "pass_cost.py")
