"""The Python API's contract (docs/errors.md): every bad argument raises one of the
documented ``engine.errors`` types, which are also the built-in types a Python user
would catch; no trace, parameter or argument reaches a kernel out of range."""

from __future__ import annotations

import numpy as np
import pytest

from engine import errors
from engine.inputs import trace as trace_mod
from engine.inputs.scenario import Scenario
from engine.inputs.trace import Trace, from_calls
from engine.model import state as st_mod
from engine.run import budget
from engine.run.simulate import run_strategy, simulate

from .conftest import assert_same_state, run_reference

SMALL = Scenario(cpus=1, nodes=1, memcgs=1, calls=20, live_objects=64)


def test_hierarchy_subclasses_the_builtin_types():
    assert issubclass(errors.BadInputError, ValueError)
    assert issubclass(errors.BadTypeError, TypeError) and issubclass(errors.BadTypeError, ValueError)
    assert issubclass(errors.ResourceError, errors.BadInputError)
    assert issubclass(errors.OutputError, OSError)
    assert issubclass(errors.InvariantError, RuntimeError)
    for cls in (errors.BadInputError, errors.BadTypeError, errors.ResourceError, errors.OutputError,
                errors.InvariantError):
        assert issubclass(cls, errors.BulksimError)
        assert str(cls("one line")) == "one line"


# -- arguments: (call, expected type) ---------------------------------------------------

_SWEEP_OUT = []


def _sweep(**kw):
    import tempfile
    from pathlib import Path

    from engine.run.sweep import run_sweep

    folder = Path(tempfile.mkdtemp(prefix="bulksim-api-"))
    _SWEEP_OUT.append(folder)
    args = {"base": SMALL, "grid": {"bulk_size": [1, 2]}, "seeds": [0], "out": folder / "s", **kw}
    return run_sweep(args.pop("base"), args.pop("grid"), args.pop("seeds"), args.pop("out"), **args)


def _T3_TABLE():
    import pyarrow as pa

    return pa.table({"call": [0, 0], "slab": [0, 1], "node": [0, 0], "has_exts": [1, 1]})


def _T3():
    return from_calls([[(0, 0, True), (1, 0, True)]] * 3, SMALL)


ARGS = {
    "calls float": (lambda: simulate(calls=1.7), errors.BadTypeError),
    "calls bool": (lambda: simulate(calls=True), errors.BadTypeError),
    "calls str": (lambda: simulate(calls="20"), errors.BadTypeError),
    "calls negative": (lambda: simulate(calls=-1), errors.BadInputError),
    "calls huge": (lambda: simulate(calls=10**30), errors.BadInputError),
    "seed float": (lambda: simulate(SMALL, seed=1.5), errors.BadTypeError),
    "seed huge": (lambda: simulate(SMALL, seed=2**63), errors.BadInputError),
    "scenario int": (lambda: simulate(3), errors.BadTypeError),
    "scenario list": (lambda: simulate(["default"]), errors.BadTypeError),
    "scenario unknown": (lambda: simulate("nope"), errors.BadInputError),
    "strategies int": (lambda: simulate(SMALL, strategies=5), errors.BadTypeError),
    "strategies of ints": (lambda: simulate(SMALL, strategies=[1, 2]), errors.BadTypeError),
    "strategies unknown": (lambda: simulate(SMALL, strategies="fast"), errors.BadInputError),
    "profile int": (lambda: simulate(SMALL, profile=3), errors.BadTypeError),
    "profile unknown": (lambda: simulate(SMALL, profile="nope"), errors.BadInputError),
    "chunk zero": (lambda: simulate(SMALL, chunk_calls=0), errors.BadInputError),
    "chunk float": (lambda: simulate(SMALL, chunk_calls=2.5), errors.BadTypeError),
    "check_every str": (lambda: simulate(SMALL, check_every="3"), errors.BadTypeError),
    "detail int": (lambda: simulate(SMALL, detail=1), errors.BadTypeError),
    "trace str": (lambda: simulate(SMALL, trace="x.csv"), errors.BadTypeError),
    "max_memory str": (lambda: simulate(SMALL, max_memory="4G"), errors.BadTypeError),
    "max_memory zero": (lambda: simulate(SMALL, max_memory=0), errors.BadInputError),
    "max_memory small": (lambda: simulate(SMALL, max_memory=1000), errors.ResourceError),
    "run_strategy scenario": (lambda: run_strategy("default", "batched", 0), errors.BadTypeError),
    "run_strategy strategy": (lambda: run_strategy(SMALL, "nope", 0), errors.BadInputError),
    "run_strategy calls": (lambda: run_strategy(SMALL, "batched", 0, calls=2.0), errors.BadTypeError),
    "Scenario float int": (lambda: Scenario(cpus=2.0), errors.BadTypeError),
    "Scenario str int": (lambda: Scenario(cpus="2"), errors.BadTypeError),
    "Scenario prob str": (lambda: Scenario(kfence_prob="0.1"), errors.BadTypeError),
    "Scenario bool int": (lambda: Scenario(gfp_nofail=1), errors.BadTypeError),
    "Scenario name int": (lambda: Scenario(name=5), errors.BadTypeError),
    "Scenario name path": (lambda: Scenario(name="../x"), errors.BadInputError),
    "Scenario huge": (lambda: Scenario(memcg_max_pages=2**70), errors.BadInputError),
    "Scenario retries": (lambda: Scenario(reclaim_retries=10**6), errors.BadInputError),
    "from_preset int": (lambda: Scenario.from_preset(5), errors.BadTypeError),
    # a calls value with a trace: validated, and never silently replaced by the trace's count
    "run_strategy calls str + trace": (lambda: run_strategy(SMALL, "batched", 0, calls="x", trace=_T3()),
                                       errors.BadTypeError),
    "run_strategy calls float + trace": (lambda: run_strategy(SMALL, "batched", 0, calls=1.7, trace=_T3()),
                                         errors.BadTypeError),
    "run_strategy calls negative + trace": (lambda: run_strategy(SMALL, "batched", 0, calls=-5, trace=_T3()),
                                            errors.BadInputError),
    "run_strategy calls huge + trace": (lambda: run_strategy(SMALL, "batched", 0, calls=10**30, trace=_T3()),
                                        errors.BadInputError),
    "run_strategy calls differ from trace": (lambda: run_strategy(SMALL, "batched", 0, calls=1, trace=_T3()),
                                             errors.BadInputError),
    "simulate calls differ from trace": (lambda: simulate(SMALL, "batched", calls=1, trace=_T3()),
                                         errors.BadInputError),
    "run_strategy progress int": (lambda: run_strategy(SMALL, "batched", 0, progress=5), errors.BadTypeError),
    # Scenario constructors
    "Scenario prob 10**400": (lambda: Scenario(remote_prob=10**400), errors.BadInputError),
    "Scenario prob int 2": (lambda: Scenario(remote_prob=2), errors.BadInputError),
    "with_settings None": (lambda: Scenario().with_settings(None), errors.BadTypeError),
    "with_settings [1]": (lambda: Scenario().with_settings([1]), errors.BadTypeError),
    "with_settings str": (lambda: Scenario().with_settings("cpus=2"), errors.BadTypeError),
    "from_preset name path": (lambda: Scenario.from_preset("default", name="../x"), errors.BadInputError),
    # trace loaders
    "load None": (lambda: trace_mod.load(None, SMALL), errors.BadTypeError),
    "load 5": (lambda: trace_mod.load(5, SMALL), errors.BadTypeError),
    "load empty path": (lambda: trace_mod.load("", SMALL), errors.BadInputError),
    "load name too long": (lambda: trace_mod.load("d" * 300 + ".csv", SMALL), errors.BadInputError),
    "sweep out name too long": (lambda: _sweep(out="e" * 300), errors.BadInputError),
    "load scn None": (lambda: trace_mod.load("x.csv", None), errors.BadTypeError),
    "load scn unknown preset": (lambda: trace_mod.load("x.csv", "nope"), errors.BadInputError),
    "from_table None": (lambda: trace_mod.from_table(None, SMALL), errors.BadTypeError),
    "from_table dict": (lambda: trace_mod.from_table({"call": [0]}, SMALL), errors.BadTypeError),
    "from_table scn None": (lambda: trace_mod.from_table(_T3_TABLE(), None), errors.BadTypeError),
    "from_calls scn None": (lambda: from_calls([[(0, 0, True)]], None), errors.BadTypeError),
    "from_calls 2**70": (lambda: from_calls([[(2**70, 0, 1)]], SMALL), errors.BadInputError),
    "from_calls cpus dict": (lambda: from_calls([[(0, 0, True)]], SMALL, cpus={}), errors.BadTypeError),
    "from_calls calls None": (lambda: from_calls(None, SMALL), errors.BadTypeError),
    # run_sweep: every argument before anything is created (see the test below)
    "sweep seeds None": (lambda: _sweep(seeds=None), errors.BadTypeError),
    "sweep seeds int": (lambda: _sweep(seeds=3), errors.BadTypeError),
    "sweep seeds str": (lambda: _sweep(seeds="3"), errors.BadTypeError),
    "sweep seeds float": (lambda: _sweep(seeds=[1.5]), errors.BadTypeError),
    "sweep seeds bool": (lambda: _sweep(seeds=[True]), errors.BadTypeError),
    "sweep seeds negative": (lambda: _sweep(seeds=[-1]), errors.BadInputError),
    "sweep seeds twice": (lambda: _sweep(seeds=[1, 1]), errors.BadInputError),
    "sweep seeds empty": (lambda: _sweep(seeds=[]), errors.BadInputError),
    "sweep out None": (lambda: _sweep(out=None), errors.BadTypeError),
    "sweep out int": (lambda: _sweep(out=5), errors.BadTypeError),
    "sweep out empty": (lambda: _sweep(out=""), errors.BadInputError),
    "sweep base None": (lambda: _sweep(base=None), errors.BadTypeError),
    "sweep base unknown": (lambda: _sweep(base="nope"), errors.BadInputError),
    "sweep profile None": (lambda: _sweep(profile=None), errors.BadTypeError),
    "sweep grid None key": (lambda: _sweep(grid={None: [1]}), errors.BadTypeError),
    "sweep grid not dict": (lambda: _sweep(grid=[("bulk_size", [1])]), errors.BadTypeError),
    "sweep grid str values": (lambda: _sweep(grid={"bulk_size": "12"}), errors.BadTypeError),
    "sweep grid twice": (lambda: _sweep(grid={"bulk_size": [1, 1]}), errors.BadInputError),
    "sweep grid unknown key": (lambda: _sweep(grid={"bulksize": [1]}), errors.BadInputError),
    "sweep force int": (lambda: _sweep(force=1), errors.BadTypeError),
    "sweep scheduler int": (lambda: _sweep(scheduler=5), errors.BadTypeError),
    "from_calls junk": (lambda: from_calls([[("a", 0, True)]], SMALL), errors.BadTypeError),
    "from_calls short cpus": (lambda: from_calls([[(0, 0, True)]] * 2, SMALL, cpus=[0]), errors.BadTypeError),
}


@pytest.mark.parametrize("name", list(ARGS))
def test_bad_argument_raises_a_documented_type(name):
    import shutil

    call, cls = ARGS[name]
    _SWEEP_OUT.clear()
    try:
        with pytest.raises(cls) as info:
            call()
        assert "\n" not in str(info.value)
        for folder in _SWEEP_OUT:  # a refused sweep creates nothing, not even its manifest
            assert list(folder.iterdir()) == []
    finally:
        for folder in _SWEEP_OUT:
            shutil.rmtree(folder, ignore_errors=True)


def test_from_preset_can_rename():
    assert Scenario.from_preset("io_uring", name="x").name == "x"
    renamed = Scenario.from_preset("io_uring", name="x")
    assert renamed.replace(name="io_uring") == Scenario.from_preset("io_uring")


# -- traces replayed on a scenario that cannot hold them (used to crash the kernel) ------

BIG = Scenario(cpus=8, nodes=4, memcgs=8, calls=20, live_objects=64)


def _big_trace():
    return from_calls([[(0, 3, True), (1, 2, True), (2, 3, False)]] * 6, BIG,
                      cpus=[7] * 6, memcgs=[7] * 6)


def _hand(**over):
    t = from_calls([[(0, 0, True), (1, 0, True)]] * 3, SMALL)
    return Trace(**{**t.__dict__, **over})


TRACES = {
    "more nodes": (lambda: _big_trace(), Scenario(cpus=8, nodes=1, memcgs=8, calls=20, live_objects=64)),
    "more cpus": (lambda: _big_trace(), Scenario(cpus=2, nodes=4, memcgs=8, calls=20, live_objects=64)),
    "more cgroups": (lambda: _big_trace(), Scenario(cpus=8, nodes=4, memcgs=2, calls=20, live_objects=64)),
    "offsets past the end": (lambda: _hand(offsets=np.array([0, 2, 4, 99], np.int64)), SMALL),
    "offsets not from 0": (lambda: _hand(offsets=np.array([1, 2, 4, 6], np.int64)), SMALL),
    "empty call": (lambda: _hand(offsets=np.array([0, 0, 4, 6], np.int64)), SMALL),
    "slab id past the table": (lambda: _hand(slab=np.array([0, 1, 0, 1, 0, 9], np.int64)), SMALL),
    "negative slab": (lambda: _hand(slab=np.array([0, 1, 0, 1, 0, -1], np.int64)), SMALL),
    "node of another slab": (lambda: _hand(slab_node=np.array([0, 3], np.int64)), SMALL),
    "cpu out of range": (lambda: _hand(cpu=np.array([0, 5, 0], np.int64)), SMALL),
    "memcg out of range": (lambda: _hand(memcg=np.array([-1, -1, 1], np.int64)), SMALL),
    "cpu too short": (lambda: _hand(cpu=np.array([0], np.int64)), SMALL),
    "int32 arrays": (lambda: _hand(slab=np.array([0, 1, 0, 1, 0, 1], np.int32)), SMALL),
    "exts not 0/1": (lambda: _hand(slab_exts=np.array([0, 7], np.int64)), SMALL),
    "a list": (lambda: _hand(node=[0, 0, 0, 0, 0, 0]), SMALL),
}


@pytest.mark.parametrize("name", list(TRACES))
def test_trace_that_does_not_fit_is_refused_before_the_kernel(name):
    make, scn = TRACES[name]
    trace = make()
    with pytest.raises(errors.BadInputError):
        simulate(scn, strategies="batched", trace=trace)
    with pytest.raises(errors.BadInputError):
        run_strategy(scn, "per_object", 0, trace=trace)


def test_calls_equal_to_the_trace_count_is_accepted():
    run = run_strategy(SMALL, "batched", 0, calls=3, trace=_T3())
    assert int(run.counters.sum(axis=0)[1]) == 6  # objects: every call of the trace
    assert simulate(SMALL, "batched", calls=3, trace=_T3()).summary.column("calls").to_pylist() == [3]


def test_trace_built_for_a_larger_machine_runs_on_it():
    run = run_strategy(BIG, "batched", 0, trace=_big_trace())
    assert int(run.counters.sum(axis=0)[1]) == 18  # objects


# -- derived values: the smallest objects used to overflow the handle's index field -------

@pytest.mark.parametrize("size", [1, 2, 5, 7])
def test_smallest_objects_match_the_reference(size):
    scn = Scenario(object_size=size, calls=60, live_objects=2000, bulk_size=64, cpus=2, nodes=2)
    assert scn.resolved_objs_per_slab <= 1 << st_mod.OBJ_SHIFT
    for strategy in ("per_object", "batched"):
        run = run_strategy(scn, strategy, 5)
        assert_same_state(run.state, run_reference(scn, strategy, 5), f"{size}/{strategy}")


# -- memory: estimated before allocation, and a short run does not pay for a huge live set --

def test_estimate_covers_the_allocated_state():
    for scn in (Scenario(calls=1000), Scenario(cpus=64, nodes=8, memcgs=64, calls=3000, live_objects=20000),
                Scenario(object_size=8192, bulk_size=256, calls=500)):
        _, S = st_mod.make(scn.replace(live_objects=budget.effective_live_objects(scn, scn.calls,
                                                                                   scn.bulk_size)),
                           "batched", 0)
        allocated = sum(a.nbytes for a in S)
        estimate = sum(budget.state_bytes(scn, scn.calls).values())
        assert allocated <= estimate <= 4 * allocated + (1 << 20)


def test_a_short_run_does_not_allocate_the_whole_live_set():
    scn = Scenario(live_objects=50_000_000, calls=20)
    assert sum(budget.state_bytes(scn, 20).values()) < 64 << 20
    small = simulate(scn, strategies="batched")
    ref = simulate(scn.replace(live_objects=400), strategies="batched")  # 20 x 16 objects < 400
    assert np.array_equal(small.runs["batched"].counters, ref.runs["batched"].counters)


def test_memory_error_names_the_parameter_to_lower():
    scn = Scenario(cpus=1024, nodes=64, barn_max_full=1024, sheaf_capacity=1024, calls=20)
    with pytest.raises(errors.ResourceError, match="barn_max_full"):
        simulate(scn, max_memory=1 << 30)


# -- work per kernel invocation is bounded whatever the parameters --------------------

@pytest.mark.parametrize("over", [
    {"bulk_size": 65536},
    {"bulk_size": 65536, "nodes": 64, "cpus": 64, "remote_prob": 1.0},
    {"memcg_max_pages": 1, "reclaim_retries": 1024, "depth": 16, "cpus": 1024, "bulk_size": 4096},
    {"memcg_max_pages": 1, "gfp_nofail": True, "reclaim_retries": 1024, "depth": 16, "bulk_size": 2048},
])
def test_one_kernel_chunk_is_short(over):
    import time

    scn = Scenario(live_objects=100, **over)
    chunk = budget.chunk_calls_for(scn, scn.bulk_size, 1 << 16)
    assert chunk < 1 << 16
    run_strategy(scn, "per_object", 0, calls=1)  # compiled and warm
    t = time.perf_counter()
    run_strategy(scn, "per_object", 0, calls=chunk)
    assert time.perf_counter() - t < 1.5  # generous: a shared 2-core machine


def test_chunking_by_work_does_not_change_results():
    scn = Scenario(bulk_size=4096, calls=40, live_objects=5000, memcg_max_pages=300, reclaim_retries=3)
    a = run_strategy(scn, "batched", 3, chunk_calls=1 << 16)
    b = run_strategy(scn, "batched", 3, chunk_calls=1)
    assert np.array_equal(a.counters, b.counters)
