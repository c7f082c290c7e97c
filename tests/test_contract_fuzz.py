"""Random argument vectors against the contract (docs/errors.md):

* the CLI exits 0 with a valid file, or 2 with one line on stderr and no file; never
  a signal, a traceback, another status, or counters that differ from the
  pure-Python reference model;
* the Python API returns a result or raises an ``engine.errors.BulksimError``.

Bounded (few examples, at most 30 calls, a memory budget) and derandomized, so the
suite stays fast and repeatable.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import cli, errors
from engine.inputs.scenario import Scenario
from engine.model.events import EVENTS
from engine.run.simulate import simulate

from .conftest import run_reference

_TYPES = {f.name: f.type for f in fields(Scenario) if f.name not in ("description", "trace")}
_EXTREME_INTS = ["0", "1", "2", "64", "1024", "4096", "65536", "70000", "-1", str(2**31), str(2**63),
                 "9" * 30, "0x10", "1_000", "abc", "1.5", ""]


def _mostly(valid, invalid):
    """``valid`` three times in four: most vectors get past validation and run."""
    return st.one_of(valid, valid, valid, invalid)


def _value(kind: str):
    if kind in ("int", int):
        return _mostly(st.integers(2, 16).map(str), st.sampled_from(_EXTREME_INTS))
    if kind in ("float", float):
        return _mostly(st.floats(0.0, 1.0).map(repr),
                       st.sampled_from(["nan", "inf", "-inf", "1e309", "x", "-0.5", "1.5"]))
    if kind in ("bool", bool):
        return _mostly(st.sampled_from(["true", "false", "1", "0", "yes"]), st.sampled_from(["maybe", ""]))
    return st.sampled_from(["fixed", "uniform", "fixed", "uniform", "normal", "ok-name", "../up", "a/b"])


_SETTING = st.sampled_from(sorted(_TYPES)).flatmap(
    lambda k: _value(_TYPES[k]).map(lambda v: f"{k}={v}"))

ARGV = st.fixed_dictionaries({
    "calls": _mostly(st.integers(0, 30).map(str), st.sampled_from(["-1", "1.5", "9" * 25, "x"])),
    "sets": st.lists(_SETTING, max_size=4),
    "strategies": _mostly(st.sampled_from(["all", "batched", "per_object,upfront", "batched_v1"]),
                          st.sampled_from(["nope", ","])),
    "seed": _mostly(st.integers(0, 2**63 - 1).map(str), st.sampled_from(["-1", str(2**63), "s"])),
    "extra": st.lists(st.sampled_from([["--chunk-calls", "1"], ["--chunk-calls", "7"],
                                       ["--check-every", "3"], ["--detail", "runs"],
                                       ["--detail", "calls"], ["--scenario", "tight_limit"],
                                       ["--scenario", "many_cgroups"], ["--force"],
                                       ["--chunk-calls", "0"], ["--detail", "nope"],
                                       ["--scenario", "nope"], ["--max-memory", "1K"]]), max_size=2),
})


def _reference_counters(argv: list[str], names: list[str]) -> dict[str, np.ndarray]:
    args = cli.make_parser().parse_args(argv)
    scn = cli.build_scenario(args)
    seed = int(args.seed.replace("_", ""), 0)
    return {n: np.asarray(run_reference(scn, n, seed)["counters"]).sum(axis=0) for n in names}


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ARGV)
def test_cli_contract(capsys, a):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.parquet"
        argv = ["run", "--quiet", "--max-memory", "256M", "--calls", a["calls"], "--seed", a["seed"],
                "--strategies", a["strategies"], "--out", str(out)]
        for s in a["sets"]:
            argv += ["--set", s]
        for e in a["extra"]:
            argv += e
        capsys.readouterr()
        rc = cli.main(argv)
        err = capsys.readouterr().err
        assert rc in (0, 2), (argv, rc, err)
        event(f"exit {rc}")
        if rc == 2:
            assert len(err.strip().splitlines()) == 1 and err.startswith("bulksim: error: "), err
            assert list(Path(tmp).iterdir()) == [], argv
            return
        t = pq.read_table(out)
        names = [str(s) for s in t.column("strategy").to_pylist()]
        assert t.num_rows == len(names) >= 1
        if int(t.column("objects")[0].as_py()) <= 2000:
            event("compared with the reference model")
            want = _reference_counters(argv, names)
            for k, n in enumerate(names):
                got = [t.column(ev)[k].as_py() for ev in EVENTS]
                assert got == [int(x) for x in want[n]], (argv, n)


API_KW = st.fixed_dictionaries({}, optional={
    "calls": st.one_of(st.integers(-2, 30), st.floats(allow_nan=True), st.sampled_from([True, "5", None, 2**70])),
    "seed": st.one_of(st.integers(-2, 2**64), st.sampled_from([1.0, "0", None, True])),
    "strategies": st.sampled_from(["all", "batched", ["upfront"], [], 5, "x", None, ("batched", "batched")]),
    "profile": st.sampled_from(["intel-skylake", "nope", 3, None]),
    "chunk_calls": st.one_of(st.integers(-1, 5), st.sampled_from([1.5, "2", 2**80])),
    "check_every": st.one_of(st.integers(-1, 5), st.sampled_from([0.5, "1"])),
    "detail": st.sampled_from([True, False, 1, "yes"]),
    "max_memory": st.sampled_from([None, 1, 2**30, -5, "1G", 1.5]),
})
SCENARIO_KW = st.dictionaries(
    st.sampled_from(["cpus", "nodes", "memcgs", "bulk_size", "object_size", "live_objects",
                     "reclaim_retries", "kfence_prob", "gfp_nofail", "name", "objs_per_slab"]),
    st.one_of(st.integers(-1, 70000), st.floats(allow_nan=True), st.booleans(), st.text(max_size=5),
              st.sampled_from([2**64, None, [1]])), max_size=3)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(SCENARIO_KW, API_KW)
def test_api_contract(scn_kw, kw):
    try:
        scn = Scenario(**{"calls": 20, "live_objects": 200, **scn_kw})
        res = simulate(scn, **kw)
    except errors.BulksimError as e:
        assert isinstance(e, (ValueError, TypeError, OSError, RuntimeError))
        assert "\n" not in str(e)
        return
    calls = kw.get("calls")
    expect = scn.calls if calls is None else calls
    for run in res.runs.values():
        assert int(run.counters.sum(axis=0)[EVENTS.index("calls")]) == expect
        assert not math.isnan(run.elapsed_s)
