"""--profile FILE: a profile file works wherever a built-in profile name does (run,
sweep, compare, report, validate, profiles --show), and a bad file is one line and exit 2."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from engine import cli
from engine.errors import BadInputError
from engine.inputs import profile_file
from engine.inputs.costs import PROFILES, Cost, Profile, get_profile


def _host_profile(tmp_path, name="host-test", trylock=(1.0, 2.0, 3.0), clock=2.5, force=False):
    base = PROFILES["intel-skylake"]
    costs = dict(base.costs)
    costs["trylock"] = Cost(*trylock, "fitted on host test (a test file)")
    prof = Profile(name=name, description="a test host", clock_ghz=clock, estimated=False, costs=costs)
    path = tmp_path / f"{name}.json"
    profile_file.write(profile_file.document(prof, provenance={"kernel": "6.18-test", "cpu": "test CPU"},
                                             fit={"method": "test", "rows": 3, "fitted": ["trylock"]}), path,
                       force=force)
    return path


def test_a_file_round_trips_and_prices_like_the_profile_it_holds(tmp_path):
    path = _host_profile(tmp_path)
    p = get_profile(str(path))
    base = PROFILES["intel-skylake"]
    assert p.name == "host-test" and p.clock_ghz == 2.5 and p.names == base.names
    assert p.costs["trylock"] == Cost(1.0, 2.0, 3.0, "fitted on host test (a test file)")
    assert p.costs["calls"] == base.costs["calls"]
    assert get_profile(str(path)) is p  # cached while the file is unchanged
    _host_profile(tmp_path, trylock=(1.0, 2.5, 3.0), force=True)
    assert get_profile(str(path)).costs["trylock"].central == 2.5  # a rewritten file is read again


def test_run_with_a_profile_file_gives_its_ranges_and_verdicts(tmp_path, capsys):
    path = _host_profile(tmp_path)
    out = tmp_path / "r.parquet"
    assert cli.main(["run", "--calls", "400", "--quiet", "--strategies", "per_object,batched",
                     "--profile", str(path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Against per_object" in text and "batched" in text
    t = pq.read_table(out)
    assert set(t.column("profile").to_pylist()) == {str(path)}
    assert cli.main(["run", "--calls", "400", "--quiet", "--strategies", "per_object,batched",
                     "--out", str(tmp_path / "s.parquet")]) == 0
    capsys.readouterr()
    s = pq.read_table(tmp_path / "s.parquet")
    # the file's trylock (2 cycles, not 14) and clock (2.5 GHz) price the same counts
    row = {r["strategy"]: r for r in t.to_pylist()}["per_object"]
    srow = {r["strategy"]: r for r in s.to_pylist()}["per_object"]
    assert row["stock_locks"] == srow["stock_locks"] and row["objects"] == srow["objects"]
    assert row["hook_cycles_per_object"] < srow["hook_cycles_per_object"]
    assert row["hook_ns_per_object"] == pytest.approx(row["hook_cycles_per_object"] / 2.5)
    # compare and report read the tables that name the file
    assert cli.main(["compare", str(out), str(tmp_path / "s.parquet")]) == 0
    assert "per_object" in capsys.readouterr().out
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    assert "host-test" in (tmp_path / "rep" / "index.html").read_text() or \
        str(path) in (tmp_path / "rep" / "index.html").read_text()


def test_sweep_validate_and_profiles_show_take_a_file(tmp_path, capsys):
    path = _host_profile(tmp_path)
    assert cli.main(["sweep", "--grid", "bulk_size=1,8", "--calls", "300", "--quiet", "--workers", "1",
                     "--strategies", "per_object,batched", "--profile", str(path),
                     "--out", str(tmp_path / "sw")]) == 0
    capsys.readouterr()
    from engine.run.sweep import read_sweep

    t = read_sweep(tmp_path / "sw")  # 2 points x 2 strategies, every row priced by the file
    assert t.num_rows == 4 and set(t.column("profile").to_pylist()) == {str(path)}
    assert cli.main(["validate", "--calls", "300", "--profile", str(path), "--rows", "zhu-2026-bulk32"]) == 0
    assert "zhu-2026-bulk32" in capsys.readouterr().out
    assert cli.main(["profiles", "--show", str(path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("host-test: a test host; clock 2.5 GHz")
    assert "fitted on host test" in text and "kernel: 6.18-test" in text and "fitted: trylock" in text


@pytest.mark.parametrize("content, message", [
    (None, "cannot read it"),
    (b"\xff\xfe", "not UTF-8"),
    (b"{", "not valid JSON"),
    (b"[]", "not a bulksim profile"),
    (b'{"format": "bulksim-profile", "version": 99}', "version 99"),
    ("costs-missing", "lacks unit cost(s)"),
    ("bad-order", "needs 0 <= low <= central <= high"),
    ("nan", "must be a finite number"),
    ("no-source", "needs a source"),
    ("extra", "unknown unit cost"),
])
def test_a_bad_profile_file_is_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    good = profile_file.document(PROFILES["intel-skylake"])
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        doc = json.loads(json.dumps(good))
        if content == "costs-missing":
            del doc["costs"]["trylock"]
        elif content == "bad-order":
            doc["costs"]["trylock"]["low"] = 50
        elif content == "nan":
            doc["costs"]["trylock"]["high"] = "x"
        elif content == "no-source":
            doc["costs"]["trylock"]["source"] = ""
        elif content == "extra":
            doc["costs"]["made_up"] = dict(doc["costs"]["trylock"])
        path.write_text(json.dumps(doc))
    for argv in (["run", "--calls", "300", "--quiet", "--profile", str(path)],
                 ["profiles", "--show", str(path)],
                 ["validate", "--calls", "300", "--profile", str(path)],
                 ["sweep", "--grid", "bulk_size=1", "--calls", "300", "--profile", str(path),
                  "--out", str(tmp_path / "sw")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("bulksim: error: profile file") and message in err, err
    assert not (tmp_path / "sw").exists()
    with pytest.raises(BadInputError):
        get_profile(str(path))


def test_a_name_that_is_neither_built_in_nor_a_file_is_still_unknown(capsys):
    assert cli.main(["run", "--calls", "300", "--quiet", "--profile", "intel-skylak"]) == 2
    assert "did you mean 'intel-skylake'" in capsys.readouterr().err


def test_write_refuses_and_leaves_nothing(tmp_path):
    path = _host_profile(tmp_path)
    with pytest.raises(BadInputError, match="exists"):
        profile_file.write(profile_file.document(PROFILES["amd-zen2"]), path)
    with pytest.raises(BadInputError, match="must end in .json"):
        profile_file.write(profile_file.document(PROFILES["amd-zen2"]), tmp_path / "p.txt")
    with pytest.raises(BadInputError, match="does not exist"):
        profile_file.write(profile_file.document(PROFILES["amd-zen2"]), tmp_path / "no" / "p.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["host-test.json"]


def test_a_profile_with_issue_prices_round_trips_and_prices_as_the_built_in(tmp_path):
    """The overlap model's issue prices and width travel in the file: the built-in
    profile written out and read back prices a run exactly as the built-in does."""
    import numpy as np

    from engine.inputs.costs import region_cycles

    base = PROFILES["intel-skylake"]
    assert base.issue  # the built-in profiles have issue prices
    path = tmp_path / "copy.json"
    doc = profile_file.document(base)
    doc["name"] = "copy"
    profile_file.write(doc, path)
    p = get_profile(str(path))
    assert p.width == base.width and list(p.issue) == list(base.issue)
    assert all((p.issue[n].low, p.issue[n].central, p.issue[n].high) ==
               (base.issue[n].low, base.issue[n].central, base.issue[n].high) for n in base.issue)
    co = np.random.default_rng(3).random((5, len(base.names)))
    for which in ("low", "central", "high"):
        assert np.array_equal(region_cycles(p, co, which), region_cycles(base, co, which))
    bad = json.loads(path.read_text())
    bad["issue"]["made_up"] = bad["issue"]["trylock"]
    path.write_text(json.dumps(bad))
    with pytest.raises(BadInputError, match="unknown unit cost"):
        get_profile(str(path))
