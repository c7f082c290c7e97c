"""Any integer type a user can pass from Python (numpy's included) is accepted where an
integer is; booleans and floats (even 4.0) are not."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import Scenario
from engine.checks import as_int, need_int
from engine.errors import BadTypeError

INTS = [4, np.int64(4), np.int32(4), np.int8(4), np.uint16(4), np.uint64(4), np.intp(4)]
NOT_INTS = [True, np.bool_(True), 4.0, np.float64(4.0), "4", None, np.array([4])]


@pytest.mark.parametrize("v", INTS, ids=repr)
def test_integers_of_every_kind(v):
    assert as_int(v) == 4 and type(as_int(v)) is int
    assert need_int(v, "x", 1, 8) == 4
    s = Scenario(cpus=v)
    assert s.cpus == 4 and type(s.cpus) is int
    assert Scenario.from_preset("default").replace(nodes=v).nodes == 4
    assert '"cpus": 4' in s.to_json()


@pytest.mark.parametrize("v", NOT_INTS, ids=repr)
def test_what_is_not_an_integer(v):
    assert as_int(v) is None
    with pytest.raises(BadTypeError):
        Scenario(cpus=v)


def test_numpy_numbers_through_simulate_and_sweep(tmp_path):
    from engine.run.sweep import read_sweep, run_sweep

    s = Scenario(calls=np.int64(200), remote_prob=np.float32(0.25), gfp_high=np.bool_(False))
    assert type(s.remote_prob) is float and type(s.gfp_high) is bool
    a = engine.simulate(s, strategies="per_object", seed=np.int64(3), calls=np.int32(200))
    b = engine.simulate(Scenario(calls=200, remote_prob=0.25), strategies="per_object", seed=3, calls=200)
    assert a.summary.column("objects") == b.summary.column("objects")
    rep = run_sweep(Scenario(calls=50), {"bulk_size": [np.int64(2), np.uint8(3)]}, [np.int64(0)], tmp_path / "s",
                    workers=np.int64(1), max_memory=np.int64(10**9))
    assert rep.computed == 2
    assert sorted(set(read_sweep(tmp_path / "s").column("param_bulk_size").to_pylist())) == [2, 3]


def test_seeds_as_numpy_values_and_arrays():
    from engine.checks import need_seeds

    assert need_seeds([np.int64(1), np.uint8(2)]) == [1, 2]
    assert need_seeds(np.arange(3)) == [0, 1, 2]
    for bad in (np.array([1.0]), np.array([True]), [np.bool_(True)]):
        with pytest.raises(BadTypeError):
            need_seeds(bad)
