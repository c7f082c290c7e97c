"""What a user and a script see (issue 26): runs named after what ran, output for scripts
and CI (-o json, compare --fail-above), argument errors and a closed pipe, progress off a
terminal, parameters with units, help with defaults, the console's width, --version."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine import cli
from engine.inputs.scenario import PARAM_DOCS, Scenario

ROOT = Path(__file__).resolve().parents[1]
CUSTOM = ["--object-size", "64", "--nodes", "4", "--cpus", "16", "--memcgs", "200",
          "--set", "cgroup_switch_prob=0.3"]


def _bulksim(*args, **kw):
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True,
                          timeout=600, cwd=kw.pop("cwd", None), **kw)


# -- 1. a run's name and description say what ran -------------------------------------


def test_overrides_are_derived_from_the_values_not_the_options():
    scn = Scenario.from_preset("default").with_settings(["cgroup_switch_prob=0.3"]).replace(
        object_size=64, nodes=4, cpus=16, memcgs=200, calls=500)
    assert scn.overrides_text() == "cpus=16,nodes=4,memcgs=200,object_size=64,cgroup_switch_prob=0.3"
    assert scn.label == "default+cpus=16,nodes=4,memcgs=200,object_size=64,cgroup_switch_prob=0.3"
    # the preset's own value is no override; calls is its own column
    assert Scenario.from_preset("io_uring", cpus=2, calls=7).label == "io_uring"
    desc = scn.describe()
    assert "16 CPUs on 4 nodes" in desc and "200 cgroups" in desc and "64-byte" in desc
    assert "4 CPUs on 2 nodes" not in desc  # not the preset's text about values that did not run
    assert Scenario.from_preset("default").describe() == Scenario.from_preset("default").description
    # a name that is no preset: differences from the defaults
    assert Scenario(name="mine", cpus=2).label == "mine+cpus=2"


def test_run_names_its_overrides_in_header_columns_provenance_and_json(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    assert cli.main(["run", "--calls", "300", "--quiet", "--detail", "runs", "--out", str(out), *CUSTOM]) == 0
    text = capsys.readouterr().out
    head = text.split("\n\n", 1)[0]
    for word in ("scenario default, changed from the preset:", "cpus=16", "nodes=4", "memcgs=200",
                 "object_size=64", "cgroup_switch_prob=0.3", "16 CPUs on 4 nodes"):
        assert word in head, (word, head)
    assert "4 CPUs on 2 nodes" not in text
    t = pq.read_table(out)
    assert set(t.column("overrides").to_pylist()) == {"cpus=16,nodes=4,memcgs=200,object_size=64,"
                                                     "cgroup_switch_prob=0.3"}
    meta = t.schema.metadata
    assert meta[b"scenario_label"].decode().startswith("default+cpus=16,nodes=4")
    prov = json.loads(meta[b"scenario"])
    assert "16 CPUs on 4 nodes" in prov["description"]
    Scenario(**prov)  # the provenance still rebuilds the scenario
    runs = pq.read_table(tmp_path / "r.runs.parquet")
    assert set(runs.column("overrides").to_pylist()) == set(t.column("overrides").to_pylist())
    units = pq.read_table(tmp_path / "r.units.parquet").to_pylist()
    assert any(u["column"] == "overrides" and "differ from the preset" in u["description"] for u in units)
    # the preset as it is: an empty overrides column, the preset's description
    assert cli.main(["run", "--calls", "200", "--quiet", "--strategies", "per_object", "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["overrides"] == "" and doc["label"] == "default"
    assert doc["description"] == Scenario.from_preset("default").description


def test_sweep_manifest_and_parts_name_what_ran(tmp_path, capsys):
    out = tmp_path / "sw"
    assert cli.main(["sweep", "--calls", "100", "--grid", "bulk_size=2,4", "--set", "nodes=1",
                     "--strategies", "per_object", "--workers", "1", "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    base = json.loads((out / "_sweep.json").read_text())["base"]
    assert base["nodes"] == 1 and "on 1 node" in base["description"], base["description"]
    assert "4 CPUs on 2 nodes" not in base["description"]
    from engine.run.sweep import read_sweep

    t = read_sweep(out)
    assert sorted(set(t.column("overrides").to_pylist())) == ["nodes=1,bulk_size=2", "nodes=1,bulk_size=4"]


def test_compare_shows_what_differs_between_two_runs_of_one_preset(tmp_path, capsys):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert cli.main(["run", "--calls", "300", "--quiet", "--strategies", "per_object,batched",
                     "--out", str(a)]) == 0
    assert cli.main(["run", "--calls", "300", "--quiet", "--strategies", "per_object,batched", "--nodes", "1",
                     "--out", str(b)]) == 0
    capsys.readouterr()
    assert cli.main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "overrides" in out.splitlines()[0] and "- -> nodes=1" in out
    assert cli.main(["compare", str(a)]) == 0  # no overrides anywhere: no column of blanks
    assert "overrides" not in capsys.readouterr().out.splitlines()[0]


def test_report_names_the_overrides_and_leads_with_the_costs_and_their_ranges(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    res = tmp_path / "r.parquet"
    assert cli.main(["run", "--calls", "300", "--quiet", "--detail", "runs", "--out", str(res), *CUSTOM]) == 0
    assert cli.main(["report", str(res), "--out", str(tmp_path / "rep")]) == 0
    capsys.readouterr()
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "cpus=16" in page and "memcgs=200" in page and "16 CPUs on 4 nodes" in page
    answer = page.index("The answer: what each strategy costs")
    assert answer < page.index("<figure") < page.index("Why: the events") < page.index("What decides it")
    table = page[answer:page.index("</table>", answer)]
    row = pq.read_table(res).to_pylist()[1]  # batched_v1: its range as the CLI prints it
    assert f"{row['total_cycles_per_object']:.1f} [{row['total_cycles_per_object_low']:.1f}, " \
           f"{row['total_cycles_per_object_high']:.1f}]" in table
    assert f"{row['total_ratio']:.3f} [{row['total_ratio_min']:.3f}, {row['total_ratio_max']:.3f}]" in table
    # every chart has a heading
    assert page.count("<figure>") == page.count("<figure><h3>") and page.count("<figure>") >= 3


# -- 6. output for scripts and CI ------------------------------------------------------


def test_run_validate_bench_json(capsys):
    assert cli.main(["run", "--calls", "200", "--quiet", "--strategies", "per_object,batched",
                     "-o", "json"] + CUSTOM[:2]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "bulksim.run/1" and doc["label"] == "default+object_size=64"
    assert [s["strategy"] for s in doc["strategies"]] == ["per_object", "batched"]
    assert doc["strategies"][1]["total_ratio_min"] <= doc["strategies"][1]["total_ratio"] \
        <= doc["strategies"][1]["total_ratio_max"]
    assert doc["parameters"]["object_size"] == 64 and doc["files"] == []
    assert cli.main(["validate", "--calls", "300", "--rows", "zhu-2026-bulk1", "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "bulksim.validate/1" and doc["total"] == 1
    assert doc["rows"][0]["low"] <= doc["rows"][0]["predicted"] <= doc["rows"][0]["high"]
    assert cli.main(["bench", "--calls", "200", "--repeat", "1", "--ref-calls", "0", "--workers", "1",
                     "--strategies", "batched", "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "bulksim.bench/1" and doc["rows"][0]["strategy"] == "batched"
    assert doc["rows"][0]["ns_per_object"] > 0 and isinstance(doc["warnings"], list)


def test_compare_json_and_fail_above_for_ci(tmp_path, capsys):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert cli.main(["run", "--calls", "400", "--quiet", "--out", str(a)]) == 0
    assert cli.main(["run", "--calls", "400", "--quiet", "--set", "cgroup_switch_prob=0.5", "--out", str(b)]) == 0
    capsys.readouterr()
    assert cli.main(["compare", str(a), str(b), "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    grew = max(r["hook_cycles_per_object_pct"] for r in doc["rows"] if r["hook_cycles_per_object_pct"] is not None)
    assert doc["schema"] == "bulksim.compare/1" and grew > 1
    # above the largest growth: passes; below it: exit 1 with one line naming the worst row
    assert cli.main(["compare", str(a), str(b), "--fail-above", f"{grew + 1:.2f}"]) == 0
    assert capsys.readouterr().err == ""
    assert cli.main(["compare", str(a), str(b), "--fail-above", f"{grew - 0.5:.2f}%"]) == 1
    cap = capsys.readouterr()
    assert "Rows compared" in cap.out  # the table is printed all the same
    err = cap.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bulksim: compare: ") and f"+{grew:.2f}%" in err[0]
    assert cli.main(["compare", str(a), str(b), "--fail-above", "1", "-o", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["failed_rows"] >= 1
    assert cli.main(["compare", str(a), str(b), "--fail-above", "lots"]) == 2
    assert "--fail-above takes a percentage" in capsys.readouterr().err
    assert cli.main(["compare", str(a), str(b), "--fail-above", "5%%"]) == 2
    assert "--fail-above takes a percentage" in capsys.readouterr().err
    # a gate whose filter matches no row fails instead of passing on nothing
    assert cli.main(["compare", str(a), str(b), "-f", "strategy == nosuch", "--fail-above", "1000"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no row was compared" in err[0], err
    assert cli.main(["compare", str(a), str(b), "-f", "strategy == nosuch", "-o", "json"]) == 0


@pytest.mark.parametrize("argv, words", [
    (["run", "--format", "json"], "run: unrecognized arguments: --format json ('bulksim run --help'"),
    (["compare"], "compare: the following arguments are required: FILE"),
    (["run", "-o", "xml"], "run: argument -o/--output: invalid choice"),
    (["report"], "report: the following arguments are required"),
])
def test_argument_errors_say_bulksim_once(argv, words, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("bulksim: error: ")
    assert "bulksim: error: bulksim" not in err and err.count("bulksim:") == 1
    assert words in err, err


def test_a_closed_pipe_says_which_files_were_written(tmp_path):
    """A reader that is gone before the table is printed (``| head -1`` on a long output;
    ``| true`` always): the message says what was written, or that nothing was."""
    cmd = [sys.executable, "-m", "engine", "run", "--calls", "300", "--quiet"]
    gone = subprocess.run(f"{' '.join(cmd)} | true; echo ${{PIPESTATUS[0]}}", shell=True,
                          capture_output=True, text=True, timeout=600, executable="/bin/bash")
    assert "files were written" not in gone.stderr
    assert "this command wrote no file" in gone.stderr, gone.stderr
    assert gone.stdout.strip() == "141" and len(gone.stderr.strip().splitlines()) == 1
    out = tmp_path / "r.parquet"
    gone = subprocess.run(f"{' '.join(cmd)} --out {out} | true", shell=True, capture_output=True,
                          text=True, timeout=600, executable="/bin/bash")
    assert "were written in full before it" in gone.stderr and out.exists(), gone.stderr
    assert f"{out}" in gone.stderr and f"{tmp_path / 'r.units.parquet'}" in gone.stderr


# -- 7. progress off a terminal --------------------------------------------------------


def test_heartbeat_prints_a_line_now_and_then_with_the_latest_progress():
    from engine.progress import Heartbeat

    buf = io.StringIO()
    with Heartbeat("compiling", interval=0.05, stream=buf) as hb:
        time.sleep(0.18)
        hb.progress("5 strategies", 250, 1000)
        time.sleep(0.15)
    lines = buf.getvalue().splitlines()
    assert len(lines) >= 4 and lines[0].startswith("bulksim: compiling (")
    assert any("5 strategies: 250/1,000 calls (25%), ETA" in ln for ln in lines[2:])
    quiet = io.StringIO()
    with Heartbeat("x", interval=0.01, stream=quiet, enabled=False):
        time.sleep(0.05)
    assert quiet.getvalue() == ""


def test_run_off_a_terminal_prints_the_compile_start_line_and_reports_progress(monkeypatch, capsys):
    monkeypatch.setattr(cli, "first_compile_notice", lambda: "bulksim: compiling (test)")
    seen = []
    real = cli._progress

    def spy(args, what):
        beat, bar = real(args, what)
        seen.append((what, beat.enabled, bar))
        orig = beat.progress
        beat.progress = lambda *a: (seen.append(a), orig(*a))[1]
        return beat, bar

    monkeypatch.setattr(cli, "_progress", spy)
    assert cli.main(["run", "--calls", "300", "--strategies", "per_object"]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "bulksim: compiling (test)"  # captured stderr is no terminal
    assert seen[0] == ("compiling the simulation kernels", True, False)
    assert any(len(s) == 3 and s[1] == s[2] == 300 for s in seen[1:])  # the kernel's progress reached it
    assert cli.main(["run", "--calls", "300", "--strategies", "per_object", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_compile_estimate_is_a_range():
    assert "20-60 s" in cli.COMPILE_TIME and "minutes" in cli.COMPILE_TIME
    readme = (ROOT / "README.md").read_text()
    assert "20-60 s" in readme and "about 25 s on one core" not in readme


# -- 8. parameters, help, constraints, width, bench noise, version ---------------------


def test_scenarios_show_gives_unit_and_meaning_of_every_parameter(capsys):
    assert cli.main(["scenarios", "--show", "many_cgroups"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("#")]
    names = [ln.split(" = ")[0] for ln in lines]
    assert set(names) == set(PARAM_DOCS) - {"name", "description"}
    for ln in lines:
        assert "  # [" in ln and ln.split("] ", 1)[1].strip(), ln
    switch = next(ln for ln in lines if ln.startswith("cgroup_switch_prob"))
    assert "= 0.3 " in switch and "every third call" in switch and "probability per call" in switch


def test_run_help_shows_defaults(capsys):
    assert cli.main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    text = text[text.index("options:"):]  # not the usage line
    for opt in ("--calls", "--nodes", "--object-size", "--remote-prob"):
        part = text[text.index(opt + " "):][:400]
        assert "(default: the preset's;" in part, part
    assert "(default: 0.976562 in 'default')" in text or "0.976562" in text
    assert "random seed (default: 0)" in text and "(default: default)" in text
    assert cli.main(["compare", "--help"]) == 0
    assert "(default: table)" in " ".join(capsys.readouterr().out.split())


def test_more_nodes_than_cpus_is_allowed_and_said(capsys):
    assert cli.main(["run", "--calls", "300", "--strategies", "per_object", "--nodes", "8"]) == 0
    err = capsys.readouterr().err
    assert "8 nodes on 4 CPUs: node(s) 1, 3, 5, 7 have no CPU (memory-only)" in err
    model = (ROOT / "docs" / "model.md").read_text()
    assert "requires `nodes <= cpus`" not in model and "memory-only" in model
    assert cli.main(["run", "--calls", "300", "--strategies", "per_object", "--nodes", "2"]) == 0
    assert "memory-only" not in capsys.readouterr().err


def test_console_table_fits_100_columns(capsys):
    assert cli.main(["run", "--calls", "300", "--quiet", *CUSTOM]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\nAgainst per_object")[0]
    assert max(len(ln) for ln in table.splitlines()) <= 100
    assert "(the strategies in 2 blocks of columns, to fit 100 characters)" in table
    from engine.results.console import comparison_text
    from engine.run.simulate import simulate

    t = simulate("default", strategies="per_object,batched", calls=200).summary
    assert "blocks of columns" not in comparison_text(t)  # two strategies fit side by side


def test_bench_warns_when_the_timings_spread_more_than_ten_percent():
    from engine.run.bench import format_text, noise_warnings

    rows = [{"strategy": s, "ns_per_object": 20.0, "ns_min": lo, "ns_max": hi} for s, lo, hi in
            (("per_object", 19.5, 20.5), ("batched", 18.0, 22.4))]
    res = {"rows": rows, "repeats": 5}
    warns = noise_warnings(res)
    assert len(warns) == 1 and "batched's timings spread 22%" in warns[0] and "more than 10%" in warns[0]
    full = {"scenario": "default", "settings": {}, "calls": 10, "warmup_s": 0.1, "clock_ghz": 3.0,
            "kernel_target": "x", "repeats": 5, "ref_calls": 0, "reference_found": False, "whole": None,
            "scaling": None, "rows": [dict(r, objects_per_second=5e7, cycles_per_object=60.0,
                                           ref_ns_per_object=None, speedup_vs_reference=None)
                                      for r in rows]}
    assert warns[0] in format_text(full)


def test_version_names_the_commit():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    proc = _bulksim("--version", cwd=str(ROOT))
    assert proc.returncode == 0 and proc.stdout.startswith("bulksim ")
    assert f"commit {head[:12]}" in proc.stdout, proc.stdout


# -- 4. README examples after `make run` ------------------------------------------------


def test_readme_python_example_runs_without_pandas():
    """`make run` installs numba, numpy and pyarrow only: the example must not need pandas."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```python\n", 1)[1].split("```", 1)[0].replace("100_000", "500")
    code = ("import sys, importlib.abc\n"
            "class NoPandas(importlib.abc.MetaPathFinder):  # as after make run: no pandas\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name.split('.')[0] == 'pandas':\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
            "sys.meta_path.insert(0, NoPandas())\n" + block
            + "\ntry:\n    import pandas\nexcept ImportError:\n    print('no pandas')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "hook_cycles_per_object" in proc.stdout and "per_object" in proc.stdout
    assert proc.stdout.rstrip().endswith("no pandas")  # the check itself blocked pandas
