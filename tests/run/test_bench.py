"""bulksim bench: runs, reports every strategy, and finds the reference model."""

from __future__ import annotations

from pathlib import Path

from engine import cli
from engine.inputs.scenario import Scenario
from engine.model.events import EV, PH_SLAB_FREE
from engine.run.bench import (
    _chain_kernel,
    clock_ghz,
    format_text,
    load_reference,
    measure,
    reference_ns_per_object,
    reference_params,
    warmup_calls,
)


def test_measure_reports_each_strategy_and_the_reference_speedup():
    res = measure(Scenario(calls=400), "per_object,batched", repeat=2, ref_calls=30, workers=2)
    assert [r["strategy"] for r in res["rows"]] == ["per_object", "batched"]
    assert res["reference_found"] and load_reference() is not None
    for r in res["rows"]:
        assert r["ns_min"] <= r["ns_per_object"] <= r["ns_max"]
        assert r["speedup_vs_reference"] > 1.0
    sc = res["scaling"]
    assert sc["workers"] == 2 and sc["repeats"] == 2 and sc["speedup"] > 0
    assert abs(sc["speedup"] - sc["serial_s"] / sc["parallel_s"]) < 1e-12
    assert "replicas of batched in threads (medians of 2)" in format_text(res)
    for r in res["rows"]:  # cycles = ns x GHz, the figure that compares across machines
        assert abs(r["cycles_per_object"] - r["ns_per_object"] * res["clock_ghz"]) < 1e-9
    assert f"~{res['clock_ghz']:.2f} GHz" in format_text(res)
    # the CPU the kernels were compiled for, so figures from two machines can be told apart
    from engine.model import jit as _jit

    assert res["kernel_target"] == _jit.kernel_target()
    assert f"kernels compiled for {res['kernel_target']}" in format_text(res)


def test_clock_estimate_is_a_plausible_frequency():
    ghz = clock_ghz(steps=2_000_000, repeat=3)
    assert 0.2 < ghz < 10.0  # any machine this runs on; a broken chain (optimised away) gives ~1000
    assert _chain_kernel() is _chain_kernel()  # one dispatcher per process, not one per bench run


def test_cli_bench_prints_table(capsys):
    assert cli.main(["bench", "--calls", "300", "--repeat", "1", "--ref-calls", "20",
                     "--workers", "1", "--strategies", "batched"]) == 0
    out = capsys.readouterr().out
    assert "Mobj/s" in out and "batched" in out and "x" in out
    assert cli.main(["bench", "--repeat", "0"]) == 2


def test_cli_bench_takes_scenario_settings(capsys):
    assert cli.main(["bench", "--calls", "300", "--repeat", "1", "--ref-calls", "0", "--workers", "1",
                     "--strategies", "per_object", "--set", "cpus=1", "--set", "memcgs=1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("scenario default, cpus=1, memcgs=1, 300 calls per run")
    assert cli.main(["bench", "--set", "cpus=0", "--calls", "10"]) == 2
    assert "cpus must be in 1..1024" in capsys.readouterr().err


def test_reference_is_timed_in_steady_state_after_the_live_set_fills():
    assert warmup_calls(Scenario()) == 4096 // 16
    assert warmup_calls(Scenario(bulk_dist="uniform", bulk_size=16, live_objects=100)) == 12  # mean 8.5
    scn = Scenario(live_objects=64, bulk_size=8)
    ref = load_reference()
    ns, warm = reference_ns_per_object(ref, scn, "batched", 0, 5, repeat=3)
    assert warm == 8 and len(ns) == 3 and min(ns) > 0
    # The warm-up frees nothing; each timed call then frees as many objects as it takes.
    sim = ref.Sim(reference_params(scn), "batched", 0, None)
    for c in range(warm):
        sim.run_call(c, None)
    assert sim.counters[PH_SLAB_FREE][EV["frees"]] == 0
    for c in range(warm, warm + 5):
        sim.run_call(c, None)
    assert sim.counters[PH_SLAB_FREE][EV["frees"]] == 5 * 8
    res = measure(Scenario(calls=200, live_objects=64), "batched", repeat=1, ref_calls=5, workers=1)
    assert res["rows"][0]["ref_warmup_calls"] == 4
    assert "reference model: median of 1 slices of 5 calls, timed after the 4 that fill its live set" \
        in format_text(res)


def test_strategies_are_timed_round_robin(monkeypatch):
    """Repeats alternate between strategies (a, b, a, b, ...), so a slow phase of the
    machine does not fall on one strategy's runs only; the warm-up runs come first."""
    import engine.run.bench as bench

    order = []
    real = bench.run_strategy

    def spy(scn, name, seed, **kw):
        order.append((name, kw.get("calls")))
        return real(scn, name, seed, **kw)

    monkeypatch.setattr(bench, "run_strategy", spy)
    res = measure(Scenario(calls=200), "per_object,upfront", repeat=3, ref_calls=0, workers=1)
    assert order == [("per_object", 10), ("upfront", 10)] + [("per_object", None), ("upfront", None)] * 3
    assert [r["strategy"] for r in res["rows"]] == ["per_object", "upfront"]
    assert all(r["objects_per_run"] == 200 * 16 for r in res["rows"])


def test_reference_found_from_the_checkout_when_installed_elsewhere(tmp_path, monkeypatch):
    """Installed as a regular package (``pip install .``), the reference model is then
    found through the working folder (the checkout or a folder below it), not __file__,
    and only in a checkout whose engine/ holds the running sources."""
    import shutil

    import engine.checkout as checkout
    import engine.run.bench as bench

    root = Path(bench.__file__).resolve().parents[2]
    installed = tmp_path / "site-packages" / "engine"
    shutil.copytree(root / "engine", installed, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(checkout, "_PKG", installed)
    checkout.find_checkout.cache_clear()
    assert bench.reference_path(root / "docs") == root / "tests" / "reference.py"
    assert bench.reference_path(root) == root / "tests" / "reference.py"
    assert bench.reference_path(tmp_path) is None  # elsewhere: not found, no guess
    (installed / "model" / "kernel.py").write_text("# another version\n")  # a stale install
    checkout.find_checkout.cache_clear()
    assert bench.reference_path(root) is None
    checkout.find_checkout.cache_clear()


def test_measure_compares_one_pass_for_all_with_one_pass_each():
    res = measure(Scenario(calls=600), "per_object,batched,upfront", repeat=2, ref_calls=0, workers=1)
    w = res["whole"]
    assert w["fused"] and w["strategies"] == 3 and w["repeats"] == 2
    assert w["object_strategies"] == sum(r["objects_per_run"] for r in res["rows"]) == 3 * 600 * 16
    assert w["fused_min"] <= w["fused_s"] <= w["fused_max"]
    assert w["separate_min"] <= w["separate_s"] <= w["separate_max"]
    assert abs(w["speedup"] - w["separate_s"] / w["fused_s"]) < 1e-12
    assert abs(w["fused_rate"] - w["object_strategies"] / w["fused_s"]) < 1e-6
    text = format_text(res)
    assert "all 3 strategies, medians of 2 interleaved rounds: one pass for all" in text
    assert f"{w['speedup']:.2f}x" in text
    # where one pass is not exact, bench says so and times one pass each only
    lim = measure(Scenario.from_preset("tight_limit", calls=200), "per_object,batched", repeat=1,
                  ref_calls=0, workers=1)
    assert not lim["whole"]["fused"] and "limit" in lim["whole"]["why_not"]
    assert "not run in one pass: a memory limit is set" in format_text(lim)
    # one strategy: nothing to compare
    assert measure(Scenario(calls=50), "batched", repeat=1, ref_calls=0, workers=1)["whole"] is None


def test_bench_refuses_a_trace_it_would_ignore(tmp_path, capsys):
    from engine import cli

    trace = tmp_path / "t.csv"
    trace.write_text("call,cpu,memcg,node\n0,0,0,0\n")
    for argv in (["bench", "--set", f"trace={trace}", "--calls", "10", "--repeat", "1"],
                 ["bench", "--set", "trace=nosuch.csv", "--calls", "10", "--repeat", "1"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert "not a trace replay" in err and len(err.strip().splitlines()) == 1
