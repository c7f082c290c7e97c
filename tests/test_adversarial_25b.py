"""Adversarial cases of issue 25 (second pass): foreign inputs that used to end in a
traceback or a silently absurd result instead of one line and exit 2."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import BadInputError
from engine.inputs.costs import DEFAULT_PROFILE, PROFILES
from engine.inputs.profile_file import document, load

ROOT = Path(__file__).resolve().parents[1]


def _good() -> dict:
    d = document(PROFILES[DEFAULT_PROFILE])
    d["name"] = "adv"
    return d


def _write(tmp_path: Path, name: str, doc) -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def _variants():
    first = next(iter(_good()["costs"]))
    out = {}
    d = _good(); d["version"] = True; out["version-true"] = (d, "version")
    d = _good(); d["version"] = 1.0; out["version-float"] = (d, "version")
    out["bigint-clock"] = (json.dumps(_good()).replace(
        f'"clock_ghz": {_good()["clock_ghz"]!r}', '"clock_ghz": 1' + "0" * 400), "finite number")
    d = _good(); d["costs"][first] = {"low": 0, "central": 1, "high": 10 ** 400, "source": "s"}
    out["bigint-cost"] = (d, "finite number")
    d = _good(); d["costs"][first] = {"low": 0, "central": 1e300, "high": 1e308, "source": "s"}
    out["huge-cost"] = (d, "beyond")
    out["deep"] = ("[" * 200_000 + "]" * 200_000, "nested too deeply")
    d = _good(); d["name"] = "a\nb\x1b[31m"; out["control-name"] = (d, "printable")
    return out


@pytest.mark.parametrize("case", sorted(_variants()))
def test_foreign_profile_is_one_bad_input(tmp_path, case):
    doc, words = _variants()[case]
    p = _write(tmp_path, f"{case}.json", doc)
    with pytest.raises(BadInputError, match=words):
        load(p)


def test_good_profile_still_loads(tmp_path):
    prof = load(_write(tmp_path, "good.json", _good()))
    assert prof.name == "adv" and prof.costs.keys() == PROFILES[DEFAULT_PROFILE].costs.keys()


@pytest.mark.parametrize("case", ["bigint-clock", "deep"])
def test_foreign_profile_cli_one_line(tmp_path, case):
    doc, words = _variants()[case]
    p = _write(tmp_path, f"{case}.json", doc)
    r = subprocess.run([sys.executable, "-m", "engine", "profiles", "--show", str(p)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulksim: error:") and words in lines[0], r.stderr
    assert "Traceback" not in r.stderr


# --- validate --measured FILE: a foreign measurement -------------------------------------

def _measurement(tmp_path: Path, name: str, prov: dict, **values) -> Path:
    from engine.measure.core import Measurement
    from engine.measure.output import _COLS, build_table, write_measurement

    row = {n: {"str": "x", "bool": True, "int": 1, "float": 1.0}[kind] for n, kind, *_ in _COLS}
    row.update(workload="open_close", phase="post_alloc_hook", not_captured="", top_functions="")
    row.update(values)
    t = build_table([row], prov)
    path = tmp_path / f"{name}.parquet"
    write_measurement(Measurement(t, prov, {}), path)
    return path


_PROV = {"kernel": "k", "cpu": "c", "clock_ghz": "3.08", "date": "d", "commit": "c",
         "profile": "intel-skylake", "scenarios": "{}"}

_MEASURED = {
    "clock-list": ({**_PROV, "clock_ghz": [1]}, {}, "clock"),  # was a TypeError traceback
    "clock-text": ({**_PROV, "clock_ghz": "abc"}, {}, "clock"),  # was a ValueError traceback
    "clock-nan": ({**_PROV, "clock_ghz": float("nan")}, {}, "clock"),  # printed 'nan GHz'
    "clock-missing": ({k: v for k, v in _PROV.items() if k != "clock_ghz"}, {}, "clock"),
    "inf-measured": (_PROV, {"ns_per_object": float("inf")}, "ns_per_object"),
    "negative": (_PROV, {"ns_per_object": -3.0}, "ns_per_object"),
    "reversed-model-range": (_PROV, {"model_ns_low": 5.0, "model_ns_high": 1.0}, "model_ns_low"),
    "reversed-measured-ci": (_PROV, {"ns_per_object_low": 2.0, "ns_per_object_high": 0.5}, "ns_per_object_low"),
}


@pytest.mark.parametrize("case", sorted(_MEASURED))
def test_foreign_measurement_refused(tmp_path, case):
    from engine.measure.validate_rows import measured_rows

    prov, values, words = _MEASURED[case]
    path = _measurement(tmp_path, case, prov, **values)
    with pytest.raises(BadInputError, match=words):
        measured_rows(path)


def test_measurement_of_the_writers_shape_reads(tmp_path):
    from engine.measure.validate_rows import measured_rows

    # NaN is "not measured" and a bootstrap interval need not hold its point estimate
    rows = measured_rows(_measurement(tmp_path, "ok", _PROV, ns_per_object_low=1.5, ns_per_object_high=2.0,
                                      hook_share=float("nan")))
    assert [r["key"] for r in rows] == ["measured-open_close-post_alloc_hook",
                                        "measured-open_close-accounted_ratio"]
    assert "3.08 GHz" in rows[0]["source"]


def test_foreign_measurement_cli_one_line(tmp_path):
    path = _measurement(tmp_path, "clock", {**_PROV, "clock_ghz": [1]})
    r = subprocess.run([sys.executable, "-m", "engine", "validate", "--calls", "1000", "--measured", str(path)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulksim: error:") and "clock" in lines[0], r.stderr


def test_measure_json_is_valid_with_infinite_values(tmp_path):
    """measurement_text -o json turned only NaN into null: an inf (a ratio over a zero
    model minimum, a foreign file) raised ValueError under allow_nan=False."""
    from engine.measure.core import Measurement
    from engine.measure.output import _COLS, build_table, measurement_text

    row = {n: {"str": "x", "bool": True, "int": 1, "float": 1.0}[kind] for n, kind, *_ in _COLS}
    row.update(ratio_high=float("inf"), hook_share=float("nan"))
    prov = {**_PROV, "note": float("-inf")}
    doc = json.loads(measurement_text(Measurement(build_table([row], prov), prov, {}), "json"))
    assert doc["schema"] == "bulksim.measure/1"
    assert doc["rows"][0]["ratio_high"] is None and doc["rows"][0]["hook_share"] is None
    assert doc["rows"][0]["ratio"] == 1.0 and doc["provenance"]["note"] is None


def test_precision_run_capped_before_a_first_estimate_prints():
    """--precision with a --max-calls below the first estimate left precision_reached
    null, and the note under the table formatted None with :.4f: a TypeError traceback
    after the run, for any target (0.5 as much as 1e-300)."""
    r = subprocess.run([sys.executable, "-m", "engine", "run", "--precision", "0.5", "--max-calls", "3000",
                        "--strategies", "per_object,batched"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "no estimate reached" in r.stdout.replace("\n", " ") and "stopped at the call cap" in r.stdout.replace("\n", " ")


def test_fail_above_negative_threshold_is_printed_with_one_sign(tmp_path):
    """--fail-above -5 (a CI gate for 'must improve by 5%') read 'above +-5%'."""
    for name, size in (("a", "16"), ("b", "4")):
        subprocess.run([sys.executable, "-m", "engine", "run", "--calls", "1000", "--bulk-size", size,
                        "--strategies", "per_object,batched", "--out", str(tmp_path / f"{name}.parquet")],
                       check=True, capture_output=True, cwd=ROOT, timeout=600)
    r = subprocess.run([sys.executable, "-m", "engine", "compare", str(tmp_path / "a.parquet"),
                        str(tmp_path / "b.parquet"), "--fail-above", "-5"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 1, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert "above -5% in hook_cycles_per_object" in line and "+-" not in line, line


@pytest.mark.parametrize("date", [True, "2020-01-01"])
def test_history_refuses_a_date_that_is_not_milliseconds(tmp_path, date):
    """A result file's "date": true was read as 1 ms after the epoch (1970-01-01) and
    written as that commit's date, silently."""
    import shutil

    src = ROOT / "results" / "bulksim-2core"
    one = sorted(src.glob("*-virtualenv-*.json"))[0]
    (tmp_path / "r" / "m").mkdir(parents=True)
    shutil.copy(ROOT / "results" / "benchmarks.json", tmp_path / "r")
    shutil.copy(src / "machine.json", tmp_path / "r" / "m")
    doc = json.loads(one.read_text())
    doc["date"] = date
    (tmp_path / "r" / "m" / one.name).write_text(json.dumps(doc))
    out = tmp_path / "h.parquet"
    r = subprocess.run([sys.executable, "-m", "engine", "history", str(tmp_path / "r"), "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "timestamp" in lines[0] and "milliseconds" in lines[0], r.stderr
    assert not out.exists()
    doc["date"] = 1795657530000  # the same file with asv's own kind of date reads
    (tmp_path / "r" / "m" / one.name).write_text(json.dumps(doc))
    r = subprocess.run([sys.executable, "-m", "engine", "history", str(tmp_path / "r"), "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0 and out.exists(), r.stderr


def test_profile_output_dangling_link_needs_force_and_umask(tmp_path):
    """check_output used Path.exists(), which is False for a dangling symbolic link, so
    calibrate --out LINK.json measured and then replaced the link without --force; and
    the profile was written 0600 (mkstemp) where every table follows the umask."""
    import os
    import stat

    from engine.inputs.profile_file import check_output, write

    link = tmp_path / "p.json"
    link.symlink_to(tmp_path / "nowhere" / "x.json")
    with pytest.raises(BadInputError, match="exists"):
        check_output(link)
    old = os.umask(0o022)
    try:
        out = write(_good(), tmp_path / "q.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert load(out).name == "adv"


def test_report_refuses_a_profile_file_edited_since_the_run(tmp_path):
    """A table records only the profile's name (a path); report prices the counts again
    for its sensitivity figures with the file as it is now, so a file edited after the
    run gave figures of other costs than the table's columns, silently."""
    prof = tmp_path / "p.json"
    prof.write_text(json.dumps(_good()))
    table = tmp_path / "r.parquet"
    subprocess.run([sys.executable, "-m", "engine", "run", "--calls", "1000", "--profile", str(prof),
                    "--strategies", "per_object,batched", "--out", str(table)],
                   check=True, capture_output=True, cwd=ROOT, timeout=600)
    doc = _good()
    first = next(iter(doc["costs"]))
    doc["costs"][first]["source"] = "edited words only"  # not a price: still the same costs
    prof.write_text(json.dumps(doc))
    ok = subprocess.run([sys.executable, "-m", "engine", "report", str(table), "--out", str(tmp_path / "a")],
                        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert ok.returncode == 0, ok.stderr
    doc["costs"][first]["high"] = doc["costs"][first]["high"] + 1.0
    prof.write_text(json.dumps(doc))
    bad = subprocess.run([sys.executable, "-m", "engine", "report", str(table), "--out", str(tmp_path / "b")],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert bad.returncode == 2, bad.stderr
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "changed since" in lines[0], bad.stderr
    assert not (tmp_path / "b").exists()


def test_sweep_resume_refuses_a_profile_file_edited_since(tmp_path):
    """The sweep manifest recorded the profile's path only: a sweep interrupted, its
    profile file edited, and the command rerun kept the finished points (old costs) and
    priced the rest with the new ones, one dataset of two profiles, silently.  A whole
    sweep rerun the same way shows it: before, '2 already done'."""
    prof = tmp_path / "p.json"
    prof.write_text(json.dumps(_good()))
    cmd = [sys.executable, "-m", "engine", "sweep", "--calls", "1000", "--grid", "bulk_size=1,2",
           "--strategies", "per_object,batched", "--profile", str(prof), "--out", str(tmp_path / "s")]
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, timeout=600)
    before = (tmp_path / "s" / "summary.parquet").read_bytes()
    doc = _good()
    first = next(iter(doc["costs"]))
    doc["costs"][first]["central"] = doc["costs"][first]["high"]
    prof.write_text(json.dumps(doc))
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 2, r.stderr
    assert "different sweep" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert (tmp_path / "s" / "summary.parquet").read_bytes() == before
    prof.write_text(json.dumps(_good()))  # the same costs again: resumes (nothing to do)
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0 and "2 already done" in r.stderr + r.stdout, r.stderr


def test_profiles_show_prints_foreign_text_on_its_own_lines(tmp_path):
    """profiles --show printed a profile file's provenance values raw: a newline forged a
    'bulksim: error:' line and an escape sequence reached the terminal.  A unit cost's
    source (printed in the cost table) of that kind is refused, as the name is."""
    from engine.inputs.profile_file import show_lines

    doc = _good()
    doc["provenance"] = {"host": "a\nbulksim: error: fake\x1b[2J"}
    p = _write(tmp_path, "prov.json", doc)
    lines = show_lines(str(p))
    assert all(ln.isprintable() for ln in lines)
    assert any("host: a\\nbulksim: error: fake\\x1b[2J" in ln for ln in lines), lines
    doc = _good()
    first = next(iter(doc["costs"]))
    doc["costs"][first]["source"] = "x\ny"
    with pytest.raises(BadInputError, match="source must be printable"):
        load(_write(tmp_path, "src.json", doc))
