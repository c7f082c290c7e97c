"""The driver: determinism, chunking, compiled signatures, the public API."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.errors import BulksimError
from engine.inputs.scenario import Scenario
from engine.model import state as st_mod
from engine.model.events import E_LINE_XFER_REMOTE, EV, PH_HOOK
from engine.model.state import STRATEGIES
from engine.run.simulate import run_strategy, simulate

SMALL = Scenario(calls=600, live_objects=300, kfence_prob=0.05, exts_at_creation=0.7,
                 exts_fail_prob=0.2, irq_reentry_prob=0.02, bulk_dist="uniform", bulk_size=24)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_chunk_size_does_not_change_results(strategy):
    whole = run_strategy(SMALL, strategy, 5)
    pieces = run_strategy(SMALL, strategy, 5, chunk_calls=7)
    for key, value in whole.state.items():
        assert np.array_equal(np.asarray(value), np.asarray(pieces.state[key])), key


def test_same_seed_same_summary_and_other_seed_differs():
    a = simulate(SMALL, seed=9).summary.drop_columns(["sim_seconds"])
    b = simulate(SMALL, seed=9, chunk_calls=100).summary.drop_columns(["sim_seconds"])
    c = simulate(SMALL, seed=10).summary.drop_columns(["sim_seconds"])
    assert a.equals(b)
    assert not a.equals(c)


def test_every_kernel_compiled_one_signature():
    from engine.inputs.trace import from_calls
    from engine.model import kernel

    simulate(SMALL, seed=1)
    simulate(SMALL, seed=2, calls=50, detail=True)
    simulate(SMALL, trace=from_calls([[(0, 0, True), (1, 1, False)]] * 3, SMALL))
    assert len(kernel.run_calls.signatures) == 1, kernel.run_calls.signatures


def test_batched_takes_fewer_hook_locks_than_per_object_on_default():
    res = simulate("default", calls=3000, strategies="per_object,batched")
    per = res.runs["per_object"].counters[PH_HOOK]
    bat = res.runs["batched"].counters[PH_HOOK]
    assert bat[EV["stock_locks"]] < per[EV["stock_locks"]] / 4
    assert bat[EV["virt_to_slab"]] > per[EV["virt_to_slab"]]


def test_summary_has_the_contract_columns():
    table = engine.simulate("single", calls=200, seed=3).summary
    need = ("scenario strategy profile seed calls objects runs stock_locks stock_lock_failures "
            "consume_hits consume_misses refills drains stat_flushes page_counter_charges "
            "virt_to_slab objcg_ref_ops obj_exts_failures charge_failures hook_failures hook_cycles "
            "total_cycles hook_cycles_per_object total_cycles_per_object").split()
    need = [n.replace("obj_exts_failures", "obj_exts_failures") for n in need]
    missing = [n for n in need if n not in table.column_names]
    assert not missing
    assert table.column("strategy").to_pylist() == list(STRATEGIES)
    pct = table.column("hook_cycles_per_object_pct").to_pylist()
    assert pct[0] == 0.0


@pytest.mark.parametrize("bad", [dict(strategies="per_objet"), dict(profile="skylake"),
                                 dict(seed=-1), dict(calls=-5), dict(scenario="nope")])
def test_bad_arguments_raise_bulksim_error(bad):
    kwargs = dict(scenario="default", calls=10)
    kwargs.update(bad)
    with pytest.raises(BulksimError):
        simulate(**kwargs)


def test_presets_all_run_and_tight_limit_fails_calls():
    for name in engine.PRESETS:
        res = simulate(name, calls=1500, seed=4)
        assert res.summary.num_rows == len(STRATEGIES)
        if name == "tight_limit":
            fails = res.summary.column("hook_failures").to_pylist()
            assert max(fails) > 0


def test_kernel_view_records_name_the_columns_and_write_through():
    P, S = st_mod.make(Scenario.from_preset("default", calls=10), "batched", 0)
    # Distinct values everywhere, so a field at the wrong offset reads the wrong column.
    S = S._replace(**{name: np.arange(getattr(S, name).size, dtype=np.int64).reshape(getattr(S, name).shape)
                      for name in st_mod.RECORDS})
    K = st_mod.kernel_view(S)
    for name in st_mod.FLAT_TABLES:
        view, table = getattr(K, name), getattr(S, name)
        assert view.ndim == 1 and view.nbytes == table.nbytes, name
        assert table.size == 0 or np.shares_memory(view, table), name
    for name, columns in st_mod.RECORD_COLUMNS.items():
        table, view = getattr(S, name), getattr(K, name)
        assert view.shape == (table.shape[0],), name
        for field, col in columns.items():
            width = view.dtype.fields[field][0].shape[0] if view.dtype.fields[field][0].shape else 1
            got = view[field].reshape(table.shape[0], width)
            assert np.array_equal(got, table[:, col:col + width]), (name, field)
    K.cpu["bytes"][2] = 12345
    assert S.cpu[2, st_mod.CPU_BYTES] == 12345
    K.ms["pages"][1, 3] = 77
    assert S.ms[1, st_mod.NR_MEMCG_STOCK + 3] == 77
    K.counters["line_transfers"][1, 1] = 5
    assert S.counters[1, E_LINE_XFER_REMOTE] == 5
    # A table that is not one C-contiguous block would flatten to a copy (or a strided
    # view, another compiled signature): refuse it.
    with pytest.raises(ValueError, match="C-contiguous"):
        st_mod.kernel_view(S._replace(cpu=np.zeros((8, 2 * st_mod.N_CPU_COLS), dtype=np.int64)[:, ::2]))
