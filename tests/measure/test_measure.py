"""bulksim measure, for real: short perf recordings of the three workloads on this kernel.

These need what the command needs (root, perf, a non-root memory cgroup; see
test_environment.py for each missing piece); elsewhere they are skipped with the reason."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import engine
from engine.cli import main
from engine.measure import PHASES, WORKLOADS, env, measure, read_measurement


def _need_machine():
    try:
        env.check_environment(list(WORKLOADS.values()))
    except env.MeasureEnvError as e:
        pytest.skip(f"not a measuring machine: {e}")


@pytest.fixture(scope="module")
def m():
    _need_machine()
    return measure(None, seconds=0.5, repeats=2, model_calls=2000)


def rows(m, workload):
    return {r["phase"]: r for r in m.table.to_pylist() if r["workload"] == workload}


def test_every_captured_phase_has_samples(m):
    assert set(m.table.column("workload").to_pylist()) == set(WORKLOADS)
    for name, w in WORKLOADS.items():
        rs = rows(m, name)
        assert set(rs) == set(PHASES)
        for ph, r in rs.items():
            if ph in w.phases_captured:
                assert r["captured"] and r["samples"] > 0, (name, ph)
                assert 0 < r["ns_per_object_low"] <= r["ns_per_object"] <= r["ns_per_object_high"], (name, ph)
                assert r["not_captured"] == ""
                assert r["top_functions"].count("%") >= 1, (name, ph)
            else:
                assert not r["captured"] and r["samples"] == 0 and math.isnan(r["ns_per_object"])
                assert "io_ring_exit_work" in r["not_captured"]
        r = next(iter(rs.values()))
        assert sum(x["samples"] for x in rs.values()) < r["samples_total"]


def test_hook_share_strictly_between_0_and_1(m):
    for name in WORKLOADS:
        r = rows(m, name)["post_alloc_hook"]
        assert 0 < r["hook_share_low"] <= r["hook_share"] <= r["hook_share_high"] < 1, name
        assert r["accounted_ratio"] == pytest.approx(1 / (1 - r["hook_share"]))


def test_objects_and_calls_are_what_the_workload_did(m):
    for name, w in WORKLOADS.items():
        r = rows(m, name)["slab_alloc"]
        assert r["objects"] > 0 and r["objects"] == r["calls"] * w.bulk_size
    assert rows(m, "io_uring_nop")["slab_alloc"]["objects"] % 256 == 0  # whole rings of 256 NOPs


def test_bounded_count_is_exact():
    """A count bound stops each recording at that many objects: 2048 NOPs = 8 rings = 256
    bulk calls of 8; 3000 open/close = 3000 files; the clock bound is not reached."""
    _need_machine()
    mm = measure(["io_uring_nop", "open_close"], seconds=30, repeats=1, max_objects=2048, model_calls=1000)
    ru, ro = rows(mm, "io_uring_nop")["slab_alloc"], rows(mm, "open_close")["slab_alloc"]
    assert (ru["objects"], ru["calls"]) == (2048, 256)
    assert (ro["objects"], ro["calls"]) == (2048, 2048)


def test_driver_failure_is_one_error():
    from engine.errors import BulksimError
    from engine.measure import run

    e = env.check_environment([WORKLOADS["open_close"]])
    with pytest.raises(BulksimError, match="unknown workload nope"):
        run.record(e.perf, run.driver_path(), "nope", seconds=0.1, max_objects=10)


def test_model_column_is_the_matching_scenario(m):
    from engine.inputs.costs import get_profile
    from engine.measure.model import predict

    p = m.provenance
    assert p["generation"] == "mainline-2026" and p["strategy"] == "per_object"  # 6.16-6.18
    for name, w in WORKLOADS.items():
        scn = m.scenario(name)
        assert scn["bulk_size"] == w.bulk_size and scn["live_objects"] == w.live_objects
        assert scn["cpus"] == 1 and scn["memcgs"] == 1 and scn["nodes"] == env.numa_nodes()
        assert scn["object_size"] == (env.slab_object_size(w.cache) or w.object_size)
        assert scn.get("objs_per_slab", 0) == env.slab_attrs(w.cache).get("objs_per_slab", 0)
        pred = predict(scn, "per_object", calls=2000, name=f"measure-{name}")
        clock = float(p["clock_ghz"])
        for ph, r in rows(m, name).items():
            cyc, lo, hi = pred["phases"][ph]
            assert r["model_cycles_per_object"] == cyc and (r["model_cycles_low"], r["model_cycles_high"]) == (lo, hi)
            assert r["model_ns_per_object"] == pytest.approx(cyc / clock)
            assert r["model_kernel"] == "mainline-2026"
            if r["captured"]:
                assert r["ratio"] == pytest.approx(r["ns_per_object"] / r["model_ns_per_object"])
        # and the scenario is one engine.simulate accepts as is
        res = engine.simulate(engine.Scenario(**scn), strategies="per_object", calls=100)
        assert res.runs["per_object"].kernel == "mainline-2026"
    get_profile(p["profile"])


def test_provenance(m):
    p = m.provenance
    for key in ("kernel", "cpu", "clock_ghz", "perf_version", "preempt", "memcg", "date", "commit"):
        assert p[key], key
    assert p["kernel"] == os.uname().release
    assert 0.5 < float(p["clock_ghz"]) < 8
    assert p["memcg"].startswith(("v1 ", "v2 ")) and p["memcg_root"] == "false"
    caches = json.loads(p["caches"])
    assert set(caches) == {w.cache for w in WORKLOADS.values()}
    if os.path.exists("/sys/kernel/slab/filp/sheaf_capacity"):  # 6.18: these caches have no sheaves
        assert caches["filp"]["sheaf_capacity"] == 0


def test_cli_out_json_md_and_validate(tmp_path, capsys):
    _need_machine()
    out = tmp_path / "m.parquet"
    argv = ["measure", "--workloads", "open_close", "--seconds", "0.3", "--repeats", "1", "--quiet",
            "--model-calls", "1000"]
    assert main([*argv, "--out", str(out), "-o", "json"]) == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert {r["phase"] for r in doc["rows"]} == set(PHASES) and doc["provenance"]["kernel"]
    units = tmp_path / "m.units.parquet"
    assert out.exists() and units.exists() and "wrote" in cap.err
    back = read_measurement(out)
    # NaN-aware: a ratio over a model range whose low end is 0 is NaN, and NaN != NaN
    assert back.table.to_pandas().equals(pq.read_table(out).to_pandas())
    assert back.scenario("open_close")["bulk_size"] == 1
    assert back.provenance["kernel"] == doc["provenance"]["kernel"]
    ut = pq.read_table(units).to_pylist()
    assert {"table": "measurement", "column": "ns_per_object", "type": "double", "unit": "ns/object"} \
        .items() <= next(r for r in ut if r["column"] == "ns_per_object").items()
    # an existing file is refused before anything runs
    assert main([*argv, "--out", str(out)]) == 2
    assert "exists already" in capsys.readouterr().err
    # markdown
    assert main([*argv, "-o", "md"]) == 0
    md = capsys.readouterr().out
    assert "| open_close | post_alloc_hook |" in md
    assert main([*argv, "--top"]) == 0
    assert "  slab_free: " in capsys.readouterr().out
    # validate reads the file as rows of its own
    assert main(["validate", "--calls", "1000", "--rows", "zhu-2026-bulk32", "--measured", str(out)]) == 0
    text = capsys.readouterr().out
    assert "measured-open_close-post_alloc_hook" in text and "measured-open_close-hook_share" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("measured-open_close-post_alloc_hook"))
    assert row.split()[1:3] == ["bulksim-measure", "test"]  # its own family, a test row
    assert main(["validate", "--calls", "1000", "--measured", str(tmp_path / "nope.parquet")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("sig,rc,said", [(signal.SIGINT, 130, "interrupted; nothing was written"),
                                         (signal.SIGTERM, 143, "terminated (SIGTERM); nothing was written")])
def test_interrupt_cleans_up(tmp_path, sig, rc, said):
    """SIGINT or SIGTERM mid-recording: exit 130 or 143, no output file, no temporary folder,
    no process left."""
    _need_machine()
    cache = tmp_path / "cache"
    envv = dict(os.environ, TMPDIR=str(tmp_path), XDG_CACHE_HOME=str(cache))
    out = tmp_path / "m.parquet"
    p = subprocess.Popen([sys.executable, "-m", "engine", "measure", "--workloads", "open_close",
                          "--seconds", "30", "--repeats", "1", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=envv,
                         cwd=Path(__file__).resolve().parents[2])
    # wait until the recording runs (the temporary folder exists), then interrupt
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob("bulksim-measure-*")):
        time.sleep(0.2)
    assert list(tmp_path.glob("bulksim-measure-*")), p.communicate()[1] if p.poll() is not None else "no start"
    time.sleep(1.0)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == rc, err
    assert said in err
    assert not out.exists() and not (tmp_path / "m.units.parquet").exists()
    assert not list(tmp_path.glob("bulksim-measure-*"))
    drivers = [str(d) for d in cache.rglob("driver-*")]
    assert drivers
    left = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if any(d in cmd for d in drivers):
                left.append(pid)
    assert not left
