"""Third adversarial pass over the command line and the Python API (docs/errors.md):
each test reproduces one finding through the real CLI or API and asserts the one-line
error or the correct result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None, timeout=120):
    """``bulksim ARGS`` in a child process: (exit status, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "engine", *map(str, args)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def one_line_error(rc, err, *needles):
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulksim: error:"), err
    for n in needles:
        assert n in lines[0], err


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    rc, out, err = cli("run", "--calls", 2000, "--strategies", "per_object,batched", "--out", d / "r.parquet")
    assert rc == 0, err
    return d / "r.parquet"


# -- a folder or a FIFO named like a table file ---------------------------------------

def test_validate_measured_refuses_a_folder(tmp_path, summary):
    """pyarrow reads a folder named x.parquet as a dataset of every Parquet file below it:
    validate --measured read a folder as if it were one measurement."""
    d = tmp_path / "m.parquet"
    d.mkdir()
    (d / "part.parquet").write_bytes(summary.read_bytes())
    rc, out, err = cli("validate", "--measured", d)
    one_line_error(rc, err, "is a folder, not a table file")


@pytest.mark.parametrize("cmd", [["validate", "--measured", "{f}"], ["compare", "{f}", "{r}"],
                                 ["report", "{f}", "--out", "{o}"]])
def test_a_fifo_named_parquet_is_refused_not_read(tmp_path, summary, cmd):
    """A FIFO named .parquet: refused in one line, never opened (which blocks until a writer comes)."""
    f = tmp_path / "f.parquet"
    os.mkfifo(f)
    rc, out, err = cli(*[a.format(f=f, r=summary, o=tmp_path / "rep") for a in cmd], timeout=60)
    one_line_error(rc, err, "not a regular file")
    assert not (tmp_path / "rep").exists()


# -- a parameter given twice: one of them won silently ------------------------------

@pytest.mark.parametrize("args, needle", [
    (["run", "--calls", "1000", "--set", "calls=5"], "--calls is given too"),
    (["run", "--set", "bulk-size=4", "--bulk-size", "8", "--calls", "1000"], "--bulk-size is given too"),
    (["run", "--set", "calls=5", "--set", "calls=7"], "--set calls given twice"),
    (["run", "--precision", "0.05", "--set", "calls=5000"], "a --precision run chooses its calls"),
    (["sweep", "--set", "bulk_size=8", "--grid", "bulk_size=1,2", "--calls", "1000", "--out", "{tmp}/sw"],
     "--grid bulk_size sweeps it too"),
    (["sweep", "--calls", "1000", "--grid", "calls=1000,2000", "--out", "{tmp}/sw"], "give the calls in one"),
    (["sweep", "--precision", "0.05", "--grid", "calls=1000,2000", "--out", "{tmp}/sw"],
     "calls cannot be in its grid"),
    (["bench", "--set", "calls=5"], "bench times --calls calls"),
])
def test_a_parameter_given_twice_is_refused(tmp_path, args, needle):
    rc, out, err = cli(*[a.format(tmp=tmp_path) for a in args], "--strategies", "per_object,batched")
    one_line_error(rc, err, needle)
    assert out == "" and not (tmp_path / "sw").exists()


def test_with_settings_refuses_a_key_twice_and_run_sweep_a_precision_grid_of_calls(tmp_path):
    from engine.errors import BadInputError
    from engine.inputs.scenario import Scenario
    from engine.run.sweep import run_sweep

    with pytest.raises(BadInputError, match="given twice"):
        Scenario.from_preset("default").with_settings(["calls=5", "calls=7"])
    with pytest.raises(BadInputError, match="calls cannot be in its grid"):
        run_sweep(Scenario.from_preset("default", calls=1000), {"calls": [1000, 2000]}, [0],
                  tmp_path / "sw", precision=0.05, strategies="per_object,batched", workers=1)
    assert not (tmp_path / "sw").exists()


# -- a description that rewrites the terminal ---------------------------------------

def test_an_unprintable_description_is_refused():
    """--set description=... was printed raw under the scenario line: an escape sequence
    reached the terminal (ESC[2J clears it), a newline was folded into the line."""
    rc, out, err = cli("run", "--calls", 1000, "--set", "description=\x1b[2Jcleared", "--strategies",
                       "per_object,batched")
    one_line_error(rc, err, "description must be one line of printable text", "\\x1b")
    assert out == ""
    from engine.errors import BadInputError
    from engine.inputs.scenario import Scenario

    with pytest.raises(BadInputError, match="description must be one line"):
        Scenario.from_preset("default", description="two\nlines")
    assert Scenario.from_preset("default", description="my own words").describe() == "my own words"


# -- a closed or full standard error ------------------------------------------------

def _child(args, stderr=None, close_stderr=False):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "engine", *map(str, args)], env=env, stdout=subprocess.PIPE,
                          stderr=stderr, text=True, timeout=120,
                          preexec_fn=(lambda: os.close(2)) if close_stderr else None)


def test_a_closed_stderr_keeps_stdout_clean_and_the_exit_status():
    """2>&-: Python sets sys.stderr to None and print(file=None) writes to stdout, so the
    error line (and any note) went into standard output, and the exit status was 1."""
    p = _child(["run", "--calls", "-5"], close_stderr=True)
    assert (p.returncode, p.stdout) == (2, "")
    p = _child(["run", "--calls", 1000, "-o", "json", "--nodes", 8, "--cpus", 2, "--strategies",
                "per_object,batched"], close_stderr=True)
    assert p.returncode == 0
    import json

    assert json.loads(p.stdout)["schema"] == "bulksim.run/1"  # no note line before it


def test_a_full_stderr_keeps_the_exit_status():
    with open("/dev/full", "w") as full:
        p = _child(["run", "--calls", "-5"], stderr=full)
    assert (p.returncode, p.stdout) == (2, "")


# -- an output that is an input -----------------------------------------------------

def test_compare_out_cannot_replace_its_input(tmp_path, summary):
    """compare A -o parquet --out A --force replaced the table it compared (by any name:
    the path, a symlink, a hard link; or a file inside an input sweep folder)."""
    a = tmp_path / "a.parquet"
    a.write_bytes(summary.read_bytes())
    before = a.read_bytes()
    (tmp_path / "link.parquet").symlink_to(a)
    os.link(a, tmp_path / "hard.parquet")
    for out in (a, tmp_path / "link.parquet", tmp_path / "hard.parquet"):
        rc, o, err = cli("compare", a, "-o", "parquet", "--out", out, "--force")
        one_line_error(rc, err, "is the input")
    assert a.read_bytes() == before


def test_compare_csv_with_out_is_refused_not_ignored(tmp_path, summary):
    rc, out, err = cli("compare", summary, "-o", "csv", "--out", tmp_path / "o.parquet")
    one_line_error(rc, err, "--out applies to -o parquet only")
    assert out == "" and not (tmp_path / "o.parquet").exists()


def test_run_out_cannot_replace_the_trace_it_replays(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = tmp_path / "t.parquet"
    n = 320
    pq.write_table(pa.table({"call": [i // 16 for i in range(n)], "slab": [i // 4 for i in range(n)],
                             "node": [(i // 4) % 2 for i in range(n)], "has_exts": [True] * n}), t)
    before = t.read_bytes()
    rc, out, err = cli("run", "--trace", t, "--out", t, "--force", "--strategies", "per_object,batched")
    one_line_error(rc, err, "is the input")
    assert t.read_bytes() == before


# -- options that a command took and ignored ----------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["bench", "--max-calls", "100", "--calls", "1000"], "--max-calls is the cap of a --precision run"),
    (["bench", "--precision", "0.5", "--calls", "1000", "-o", "json"], "prints its table only"),
    (["bench", "--precision", "0.5", "--calls", "1000", "--workers", "1"], "--workers belongs to the speed"),
    (["bench", "--precision", "0.5", "--calls", "1000", "--ref-calls", "0"], "--ref-calls belongs to the speed"),
    (["bench", "--precision", "0.5", "--calls", "1000", "--scenario", ","], "an empty preset name"),
    (["bench", "--precision", "0.5", "--calls", "1000", "--scenario", "default,default"], "a preset given twice"),
    (["run", "--precision-on", "ratios", "--calls", "1000"], "--precision-on says what a --precision run"),
    (["sweep", "--precision-on", "ratios", "--calls", "1000", "--grid", "bulk_size=1,2", "--out", "{tmp}/sw"],
     "--precision-on says what a --precision run"),
])
def test_an_option_the_command_would_ignore_is_refused(tmp_path, args, needle):
    """bench --max-calls without --precision, bench --precision -o json (printed text),
    --workers/--ref-calls (unused), --scenario ',' (an empty table, exit 0), --precision-on
    without --precision: all were accepted and ignored."""
    rc, out, err = cli(*[a.format(tmp=tmp_path) for a in args], "--strategies", "per_object,batched")
    one_line_error(rc, err, needle)
    assert out == "" and not (tmp_path / "sw").exists()


def test_measure_precision_refuses_no_scenario():
    from engine.errors import BulksimError
    from engine.run.bench import measure_precision

    with pytest.raises(BulksimError, match="at least one scenario"):
        measure_precision([], "per_object,batched", precision=0.5, fixed_calls=1000, repeat=1)


# -- calibrate wrote a profile that bulksim refuses to load --------------------------

def test_calibrate_name_is_checked_before_measuring(tmp_path):
    """calibrate --name $'a\\nb' measured for seconds, then wrote a profile file whose name
    profiles --show and --profile refuse ('"name" must be printable text')."""
    out = tmp_path / "p.json"
    rc, o, err = cli("calibrate", "--name", "a\nb", "--out", out, "--quiet", "--no-question", timeout=30)
    one_line_error(rc, err, "must be printable text")
    assert not out.exists()


def test_profile_write_refuses_a_document_load_would_refuse(tmp_path):
    import json

    from engine.errors import BadInputError
    from engine.inputs import profile_file

    good = tmp_path / "good.json"
    p = profile_file.write(_calibrated_document(), good)
    assert profile_file.load(p).name == "host-test"
    doc = json.loads(good.read_text())
    doc["name"] = "two\nlines"
    with pytest.raises(BadInputError, match="not written"):
        profile_file.write(doc, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


def _calibrated_document() -> dict:
    """A valid profile document: a built-in profile's costs in the file format."""
    from engine.inputs.costs import get_profile
    from engine.inputs.profile_file import FORMAT, VERSION

    prof = get_profile("intel-skylake")
    doc = {"format": FORMAT, "version": VERSION, "name": "host-test", "description": "test",
           "clock_ghz": prof.clock_ghz, "estimated": False,
           "costs": {n: {"low": c.low, "central": c.central, "high": c.high, "source": "test"}
                     for n, c in prof.costs.items()}}
    if getattr(prof, "issue", None):
        doc["issue"] = {n: {"low": c.low, "central": c.central, "high": c.high, "source": "test"}
                        for n, c in prof.issue.items()}
        doc["width"] = prof.width
    return doc


# -- a summary of another schema version ----------------------------------------------

@pytest.mark.parametrize("version", [b"99", b"x6"])
def test_a_summary_of_a_newer_schema_is_refused(tmp_path, summary, version):
    """compare and report read a summary whose schema_version says a newer bulksim wrote
    it (its columns may mean something else) as if it were this one's."""
    import pyarrow.parquet as pq

    t = pq.read_table(summary)
    meta = dict(t.schema.metadata)
    meta[b"schema_version"] = version
    f = tmp_path / "v.parquet"
    pq.write_table(t.replace_schema_metadata(meta), f)
    for args in (["compare", f], ["report", f, "--out", tmp_path / "rep"]):
        rc, out, err = cli(*args)
        one_line_error(rc, err, "written by another bulksim")
    assert not (tmp_path / "rep").exists()
    meta[b"schema_version"] = b"5"  # an older one only lacks columns: read
    pq.write_table(t.replace_schema_metadata(meta), f)
    assert cli("compare", f)[0] == 0


# -- sweep: an empty seed item dropped, --gather ignored ------------------------------

@pytest.mark.parametrize("extra, needle", [
    (["--seeds", "1,,2"], "an empty item"),
    (["--seeds", "3,"], "an empty item"),
    (["--gather"], "applies to a Dask --scheduler only"),
    (["--scheduler", "local:1"], "with a Dask --scheduler the cluster's workers run the points"),
])
def test_sweep_refuses_what_it_dropped_or_ignored(tmp_path, extra, needle):
    """--seeds 1,,2 ran seeds 1 and 2 (the empty item dropped; --grid refuses it),
    --gather without --scheduler was accepted and did nothing, and so was --workers (given
    here as 1) with a --scheduler, whose own workers run the points."""
    rc, out, err = cli("sweep", "--calls", 1000, "--grid", "bulk_size=1,2", "--strategies", "per_object,batched",
                       "--workers", 1, "--out", tmp_path / "sw", *extra)
    one_line_error(rc, err, needle)
    assert not (tmp_path / "sw").exists()


def test_validate_says_what_model_plus_minus_is_once():
    """The legend 'model ±: ...' was printed twice under validate's table (a merge left two)."""
    rc, out, err = cli("validate", "--calls", 1000, "--rows", "long-2021")
    assert rc == 0, err
    assert out.count("model ±: 95% interval") == 1


def test_compare_filter_against_nan_is_refused(summary):
    """-f 'hook_cycles_per_object > nan' kept no row (NaN compares false) and exited 0
    with an empty table, as if no row were above it."""
    for f in ("hook_cycles_per_object > nan", "!hook_cycles_per_object_pct <= NaN"):
        rc, out, err = cli("compare", summary, "-f", f)
        one_line_error(rc, err, "NaN compares false")
    # '-5%%' was read as -5 (every '%' stripped); --fail-above refuses it, so does -f now
    rc, out, err = cli("compare", summary, "-f", "hook_cycles_per_object_pct < -5%%")
    one_line_error(rc, err, "is numeric, got '-5%%'")
    assert cli("compare", summary, "-f", "hook_cycles_per_object_pct < -5%")[0] == 0


# -- a verdict from no data ---------------------------------------------------------

def test_no_object_allocated_gives_no_verdict():
    """run --calls 0 printed 'batched hook +0.00 cycles/object [+0.00, +0.00], ratio -:
    the same under every cost' and a cost of accounting of +0.00: findings from nothing."""
    import engine

    res = engine.simulate("default", strategies="per_object,batched,none", calls=0, seed=0)
    rows = res.summary.to_pylist()
    assert [r["hook_verdict"] for r in rows] == [None, None, None]
    assert [r["total_diff_low"] for r in rows] == [None, None, None]
    rc, out, err = cli("run", "--calls", 0, "--quiet", "--strategies", "per_object,batched,none")
    assert rc == 0, err
    assert "the same under every cost" not in out and "+0.00 cycles/object" not in out
    assert out.count("no object allocated") == 4  # batched and none; per_object and batched minus none
    ok = engine.simulate("default", strategies="per_object,batched", calls=1000, seed=0).summary.to_pylist()
    assert ok[1]["hook_verdict"] in ("cheaper", "dearer", "depends")


# -- validate --profile silently not applied to the measured rows ---------------------

def _measurement_file(path, profile="intel-skylake"):
    """A measurement in the format bulksim measure --out writes (its own build_table and
    writer), with one captured phase of one workload; the values are made up."""
    import json

    from engine.measure.core import Measurement
    from engine.measure.output import _COLS, build_table, write_measurement

    row = {}
    for name, kind, *_ in _COLS:
        row[name] = {"int": 8, "float": 1.0, "bool": True, "str": ""}[kind]
    row.update(workload="io_uring_nop", phase="post_alloc_hook", cache="io_kiocb", model_strategy="per_object",
               model_kernel="mainline-2026")
    prov = {"profile": profile, "kernel": "test", "cpu": "test", "clock_ghz": "3.0", "date": "2026-01-01",
            "commit": "0" * 40, "scenarios": json.dumps({"io_uring_nop": {"bulk_size": 8}})}
    write_measurement(Measurement(build_table([row], prov), prov, {"io_uring_nop": {"bulk_size": 8}}), path)
    return path


def test_validate_profile_is_not_silently_skipped_for_measured_rows(tmp_path):
    """validate --profile amd-zen2 --measured M showed M's rows still priced with the
    profile M was measured with (intel-skylake): --profile applied to some rows only."""
    m = _measurement_file(tmp_path / "m.parquet")
    rc, out, err = cli("validate", "--measured", m, "--calls", 1000, "--rows", "long-2021")
    assert rc == 0, err
    assert "measured-io_uring_nop-post_alloc_hook" in out
    rc, out, err = cli("validate", "--measured", m, "--calls", 1000, "--rows", "long-2021",
                       "--profile", "amd-zen2")
    one_line_error(rc, err, "priced with intel-skylake", "not --profile amd-zen2")
    rc, out, err = cli("validate", "--measured", m, "--calls", 1000, "--rows", "long-2021",
                       "--profile", "intel-skylake")
    assert rc == 0, err


def test_run_json_keeps_the_sensitivity():
    """run -o json --sensitivity printed the JSON document without the ranking: the
    option was accepted and dropped (main fixed it too, in its own format; this checks
    the JSON against the printed table)."""
    import json

    rc, out, err = cli("run", "--calls", 2000, "--quiet", "-o", "json", "--sensitivity", "total",
                       "--strategies", "per_object,batched")
    assert rc == 0, err
    s = json.loads(out)["sensitivity"]
    assert (s["metric"], s["base"], list(s["strategies"])) == ("total", "per_object", ["batched"])
    rows = [r for r in s["strategies"]["batched"]["rows"] if r["swing"] > 0]
    assert rows and rows == sorted(rows, key=lambda r: -r["swing"])
    rc, text, err = cli("run", "--calls", 2000, "--quiet", "--sensitivity", "total", "--strategies",
                        "per_object,batched")
    first = text.split("Sensitivity of the ratio to each unit cost:")[1].splitlines()[3].split()
    assert first[0] == rows[0]["unit_cost"] and float(first[-1]) == round(rows[0]["swing"], 3)
    rc, out, err = cli("run", "--calls", 2000, "--quiet", "-o", "json", "--strategies", "per_object,batched")
    assert "sensitivity" not in json.loads(out)


# -- calls silently replaced by a trace's count ---------------------------------------

def _trace(path, calls=20):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 16 * calls
    pq.write_table(pa.table({"call": [i // 16 for i in range(n)], "slab": [i // 4 for i in range(n)],
                             "node": [(i // 4) % 2 for i in range(n)], "has_exts": [True] * n}), path)
    return path


@pytest.mark.parametrize("args, needle", [
    (["run", "--trace", "{t}", "--set", "calls=50"], "the trace has 20 calls, got calls=50"),
    (["sweep", "--set", "trace={t}", "--calls", "5000", "--grid", "cpus=2,4", "--out", "{tmp}/sw"],
     "the trace has 20 calls, got calls=5,000"),
    (["sweep", "--set", "trace={t}", "--grid", "calls=20,40", "--out", "{tmp}/sw"], "calls cannot be in its grid"),
])
def test_calls_beside_a_trace_must_be_its_count(tmp_path, args, needle):
    """A trace is replayed whole: run --trace T --set calls=50 ran T's 20 calls (only
    --calls was checked), a sweep of T ignored --calls 5000, and --grid calls=20,40 gave a
    point labelled calls=40 computed from 20 calls."""
    t = _trace(tmp_path / "t.parquet")
    rc, out, err = cli(*[a.format(t=t, tmp=tmp_path) for a in args], "--strategies", "per_object,batched",
                       "--workers" if args[0] == "sweep" else "--quiet", *(["1"] if args[0] == "sweep" else []))
    one_line_error(rc, err, needle)
    assert not (tmp_path / "sw").exists()
    rc, out, err = cli("run", "--trace", t, "--set", "calls=20", "--quiet", "--strategies", "per_object")
    assert rc == 0 and "20 calls" in out, err


def test_report_of_no_object_shows_no_cost_of_accounting(tmp_path):
    """report of a run of 0 calls put +0.0 in its 'minus none' column: a cost of
    accounting from no object."""
    r = tmp_path / "r.parquet"
    assert cli("run", "--calls", 0, "--quiet", "--strategies", "per_object,batched,none", "--out", r)[0] == 0
    rc, out, err = cli("report", r, "--out", tmp_path / "rep")
    assert rc == 0, err
    page = (tmp_path / "rep" / "index.html").read_text()
    answer = page[page.index("<table class='answer'>"):].split("</table>")[0]
    assert "+0.0</td>" not in answer and "minus none" in answer


# -- values printed to 6 digits ---------------------------------------------------------

def test_scenarios_show_values_read_back_as_the_preset():
    """scenarios --show printed remote_prob = 0.976562 (6 digits of 0.9765625) under 'set any
    of these with --set': copied, it made another scenario ('changed from the preset:
    remote_prob=0.976562'); and the overrides label, a compare join key, rounded too, so
    remote_free_prob=0.12345671 and 0.12345679 were one setup."""
    from engine.inputs.scenario import PRESETS, Scenario

    for name in PRESETS:
        rc, out, err = cli("scenarios", "--show", name)
        assert rc == 0, err
        sets = [ln.split("#")[0].replace(" ", "") for ln in out.splitlines() if not ln.startswith("#")]
        sets = [s for s in sets if not s.endswith("=")]
        again = Scenario.from_preset(name).with_settings(sets)
        assert again.overrides_text() == "", (name, again.overrides_text())
    a = Scenario.from_preset("default", remote_free_prob=0.12345671)
    b = Scenario.from_preset("default", remote_free_prob=0.12345679)
    assert a.overrides_text() != b.overrides_text()
    assert a.overrides_text() == "remote_free_prob=0.12345671"
    assert Scenario.from_preset("default", cgroup_switch_prob=0.3).overrides_text() == "cgroup_switch_prob=0.3"
    assert Scenario.from_preset("default", kfence_prob=1).overrides_text() == "kfence_prob=1"


def test_scenarios_show_names_every_kernel_generation_it_accepts():
    """scenarios --show listed kernel values v6.12, mainline-2026 or mm-2026, while
    kernel=v5.9 and v5.14 are accepted (and refused values are told all five)."""
    from engine.model.state import GENERATIONS

    rc, out, err = cli("scenarios", "--show", "default")
    line = next(ln for ln in out.splitlines() if ln.startswith("kernel "))
    for g in GENERATIONS:
        assert g in line, (g, line)


@pytest.mark.parametrize("extra, needle", [
    (["--measurement", "{m}", "--seconds", "5"], "--seconds says how to measure"),
    (["--measurement", "{m}", "--repeats", "7"], "--repeats says how to measure"),
    (["--measurement", "{m}", "--workloads", "open_close"], "--workloads says how to measure"),
    (["--cgroups", "8"], "--cgroups is the count of --create-cgroups"),
])
def test_calibrate_refuses_measuring_options_it_would_ignore(tmp_path, extra, needle):
    """calibrate --measurement FILE --seconds 5 --repeats 7 fitted FILE and ignored both
    (and --workloads); --cgroups without --create-cgroups did nothing."""
    m = _measurement_file(tmp_path / "m.parquet")
    out = tmp_path / "p.json"
    rc, o, err = cli("calibrate", *[a.format(m=m) for a in extra], "--out", out, "--quiet", "--no-question",
                     timeout=30)
    one_line_error(rc, err, needle)
    assert not out.exists()


def test_an_output_ending_in_a_slash_is_not_written_as_a_file(tmp_path):
    """run --out x.parquet/ (a folder meant) wrote a file x.parquet: Path() drops the slash."""
    out = str(tmp_path / "x.parquet") + "/"
    rc, o, err = cli("run", "--calls", 100, "--quiet", "--strategies", "per_object", "--out", out)
    one_line_error(rc, err, "ends in '/', a folder")
    assert not (tmp_path / "x.parquet").exists()


def test_no_command_is_one_line_on_stderr():
    """'bulksim' alone exited 2 (bad input) with the whole help on stdout and nothing on stderr."""
    rc, out, err = cli()
    one_line_error(rc, err, "a command is needed", "run", "sweep")
    assert out == ""
    rc, out, err = cli("--help")
    assert rc == 0 and "COMMAND" in out


@pytest.mark.parametrize("cmd", [
    ["run", "--calls", "100", "--quiet", "--strategies", "per_object", "--out", "{o}.parquet"],
    ["compare", "{s}", "-o", "parquet", "--out", "{o}.parquet"],
    ["report", "{s}", "--out", "{o}"],
    ["sweep", "--calls", "100", "--grid", "bulk_size=1", "--strategies", "per_object", "--out", "{o}"],
    ["calibrate", "--measurement", "{m}", "--no-question", "--quiet", "--out", "{o}.json"],
])
def test_an_output_name_with_a_newline_is_refused(tmp_path, summary, cmd):
    """--out $'a\\nb.parquet' was written, and 'wrote a<newline>b.parquet' split the line
    that names it (a script reading 'wrote PATH' got two wrong paths)."""
    o = str(tmp_path / "a\nb")
    m = _measurement_file(tmp_path / "m.parquet")
    rc, out, err = cli(*[a.format(o=o, s=summary, m=m) for a in cmd])
    one_line_error(rc, err, "an output name with a control character")
    assert [p.name for p in tmp_path.iterdir() if "\n" in p.name] == []
