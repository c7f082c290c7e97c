"""Sweeps on Dask distributed: a real LocalCluster with 2 worker processes."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from engine.errors import BulksimError
from engine.inputs.scenario import Scenario
from engine.model.state import STRATEGIES
from engine.run.sweep import read_sweep, run_sweep

distributed = pytest.importorskip("distributed")

BASE = Scenario(name="default", calls=3000)
GRID = {"bulk_size": [1, 2, 4, 8, 16], "nodes": [1, 2]}


def _sorted(t: pa.Table) -> pa.Table:
    t = t.drop_columns(["sim_seconds"])
    t = t.cast(pa.schema([f.with_type(pa.string()) if pa.types.is_dictionary(f.type) else f
                          for f in t.schema]))
    return t.sort_by([("point", "ascending"), ("strategy", "ascending")]).replace_schema_metadata(None)


@pytest.fixture(scope="module")
def local_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "s"
    run_sweep(BASE, GRID, [0, 1], out, workers=1)
    return _sorted(read_sweep(out))


@pytest.fixture
def cluster():
    from distributed import LocalCluster

    from engine.run.cluster import WORKER_ENV

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                     env=WORKER_ENV)
    yield c
    c.close()


@pytest.mark.parametrize("gather", [False, True])
def test_local_cluster_matches_local_sweep(tmp_path, local_result, gather):
    rep = run_sweep(BASE, GRID, [0, 1], tmp_path / "s", scheduler="local:2", gather=gather)
    assert rep.computed == 20
    assert _sorted(read_sweep(tmp_path / "s")).equals(local_result)


def test_killed_worker_loses_and_duplicates_nothing(tmp_path, local_result, cluster):
    out = tmp_path / "s"
    box = {}

    def sweep():
        try:
            box["rep"] = run_sweep(BASE, GRID, [0, 1], out, scheduler=cluster.scheduler_address)
        except BaseException as e:  # noqa: BLE001 - reported below
            box["err"] = e

    th = threading.Thread(target=sweep)
    th.start()
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob(".parts/point-*.arrow"))) < 8:
        time.sleep(0.05)
    nanny = next(iter(cluster.workers.values()))
    nanny.process.process.kill()  # the worker process dies mid-sweep
    th.join(300)
    assert "err" not in box, box.get("err")
    assert not (out / ".parts").exists()  # every point consolidated, each once (read_sweep verifies)
    assert read_sweep(out).num_rows == 20 * len(STRATEGIES)
    assert _sorted(read_sweep(out)).equals(local_result)


def test_resume_on_the_cluster(tmp_path, local_result):
    out = tmp_path / "s"
    run_sweep(BASE, GRID, [0, 1], out, workers=2)
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(out / "summary.parquet")
    gone = sorted(set(t.column("point").to_pylist()))[::7]
    pq.write_table(t.filter(pc.invert(pc.is_in(t.column("point"), pa.array(gone)))), out / "summary.parquet")
    rep = run_sweep(BASE, GRID, [0, 1], out, scheduler="local:2")
    assert 0 < rep.computed < 20 and rep.done_before + rep.computed == 20
    assert _sorted(read_sweep(out)).equals(local_result)


def test_scheduler_going_away_stops_clearly_and_a_rerun_resumes(tmp_path, local_result, cluster):
    out = tmp_path / "s"
    big = {"bulk_size": list(range(1, 41)), "nodes": [1, 2]}
    box = {}

    def sweep():
        try:
            run_sweep(BASE.replace(calls=20000), big, [0], out, scheduler=cluster.scheduler_address)
        except BulksimError as e:
            box["err"] = e

    th = threading.Thread(target=sweep)
    th.start()
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob(".parts/point-*.arrow"))) < 8:
        time.sleep(0.05)
    cluster.close()
    th.join(120)
    assert not th.is_alive()
    assert "lost the Dask scheduler" in str(box.get("err")), box
    kept = len(list(out.glob(".parts/point-*.arrow")))
    assert 8 <= kept < 80
    rep = run_sweep(BASE.replace(calls=20000), big, [0], out, workers=2)
    assert rep.done_before >= 1 and rep.done_before + rep.computed == 80


def test_unreachable_scheduler_is_one_clear_error(tmp_path):
    with pytest.raises(BulksimError, match="cannot reach the Dask scheduler"):
        run_sweep(BASE, {"bulk_size": [1]}, [0], tmp_path / "s", scheduler="tcp://127.0.0.1:9")
    assert not (tmp_path / "s").exists()  # nothing computed: the folder it created is gone


def test_missing_dask_is_refused_before_the_folder(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(BulksimError, match="needs Dask"):
        run_sweep(BASE, {"bulk_size": [1]}, [0], tmp_path / "s", scheduler="local:1")
    assert not (tmp_path / "s").exists()
