"""--create-cgroups ROOT, against a temporary folder laid out like a cgroup file system
(v1 memory hierarchy and v2): the cgroups are created, processes join them by writing
cgroup.procs, and every created cgroup is removed again, also after an error.  Never
against the machine's cgroups."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import cli
from engine.calibrate import cgroups
from engine.errors import BadInputError, BulksimError


def _layout(root: Path, version: int) -> Path:
    root.mkdir()
    (root / "cgroup.procs").write_text("")
    if version == 2:
        (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
        (root / "cgroup.subtree_control").write_text("memory pids\n")
    else:
        (root / "tasks").write_text("")
        (root / "memory.usage_in_bytes").write_text("0\n")
    return root


@pytest.fixture
def kernel(monkeypatch):
    """mkdir/rmdir as a cgroup file system does them: a new cgroup comes with its
    interface files, and rmdir removes them with it (refused while it has members)."""
    def mkdir(p):
        os.mkdir(p)
        Path(p, "cgroup.procs").write_text("")
        Path(p, "memory.current").write_text("0\n")

    def rmdir(p):
        procs = Path(p, "cgroup.procs")
        # a process that has exited is no member any more
        if procs.exists() and [q for q in procs.read_text().split() if os.path.exists(f"/proc/{q}")]:
            raise OSError(16, "Device or resource busy")
        for f in Path(p).iterdir():
            f.unlink()
        os.rmdir(p)

    monkeypatch.setattr(cgroups, "_mkdir", mkdir)
    monkeypatch.setattr(cgroups, "_rmdir", rmdir)


@pytest.mark.parametrize("version", [1, 2])
def test_cgroups_are_created_joined_and_removed(tmp_path, kernel, version):
    root = cgroups.check_root(_layout(tmp_path / "cg", version))
    with cgroups.CgroupSet(root, 3, tag="t") as cg:
        assert cg.version == version
        assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [
            "bulksim-calibrate-t-0", "bulksim-calibrate-t-1", "bulksim-calibrate-t-2"]
        # a child process joins cgroup 1 before it runs (subprocess preexec_fn)
        child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                               preexec_fn=cg.preexec(1), capture_output=True, text=True, check=True)
        assert cg.members(1) == [int(child.stdout)]
        assert cg.members(0) == [] and root.joinpath("cgroup.procs").read_text() == ""
    assert sorted(p.name for p in root.iterdir()) == sorted(
        ["cgroup.procs"] + (["cgroup.controllers", "cgroup.subtree_control"] if version == 2
                            else ["tasks", "memory.usage_in_bytes"]))


def test_cgroups_are_removed_after_an_error_and_a_busy_one_is_named(tmp_path, kernel, capsys):
    root = _layout(tmp_path / "cg", 2)
    with pytest.raises(RuntimeError):
        with cgroups.CgroupSet(root, 2, tag="e"):
            raise RuntimeError("a workload failed")
    assert not [p for p in root.iterdir() if p.is_dir()]
    cg = cgroups.CgroupSet(root, 2, tag="b").__enter__()
    cg.procs_file(0).write_text(f"{os.getpid()}\n")  # still has a live member: rmdir refuses
    problems = cg.remove()
    assert len(problems) == 1 and "bulksim-calibrate-b-0" in problems[0]
    assert "could not remove cgroup" in capsys.readouterr().err
    assert [p.name for p in root.iterdir() if p.is_dir()] == ["bulksim-calibrate-b-0"]


def test_an_existing_cgroup_is_not_taken_over(tmp_path, kernel):
    root = _layout(tmp_path / "cg", 2)
    (root / "bulksim-calibrate-x-1").mkdir()
    with pytest.raises(BulksimError, match="exists already"):
        with cgroups.CgroupSet(root, 3, tag="x"):
            pass
    # the one it created before the clash is gone, the one it found is left alone
    assert [p.name for p in root.iterdir() if p.is_dir()] == ["bulksim-calibrate-x-1"]


def test_a_plain_folder_is_no_cgroup_file_system(tmp_path):
    root = _layout(tmp_path / "cg", 2)  # but mkdir here does not add cgroup.procs
    with pytest.raises(BulksimError, match="not a cgroup file system"):
        with cgroups.CgroupSet(root, 2, tag="p"):
            pass
    assert not [p for p in root.iterdir() if p.is_dir()]


@pytest.mark.parametrize("setup, message", [
    ("missing", "no such folder"),
    ("plain", "not a cgroup folder"),
    ("neither", "neither cgroup v2"),
    ("no-memory", "memory controller is not enabled"),
    ("v1-other", "not of the memory hierarchy"),
])
def test_check_root_refuses(tmp_path, setup, message, capsys):
    root = tmp_path / "cg"
    if setup != "missing":
        root.mkdir()
    if setup in ("neither", "no-memory", "v1-other"):
        (root / "cgroup.procs").write_text("")
    if setup == "no-memory":
        (root / "cgroup.controllers").write_text("memory\n")
        (root / "cgroup.subtree_control").write_text("pids\n")
    if setup == "v1-other":
        (root / "tasks").write_text("")
    with pytest.raises(BadInputError, match=message):
        cgroups.check_root(root)
    # the command refuses it before measuring anything, in one line
    out = tmp_path / "p.json"
    assert cli.main(["calibrate", "--create-cgroups", str(root), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not out.exists()


def test_without_the_flag_no_cgroup_is_touched():
    from engine.calibrate import cli as ccli
    import argparse

    p = argparse.ArgumentParser()
    ccli.setup_arguments(p.add_subparsers())
    assert p.parse_args(["calibrate"]).create_cgroups is None


class _Recording(cgroups.CgroupSet):
    """A CgroupSet that notes each cgroup's members just before it is removed."""

    seen: dict = {}

    def remove(self):
        for k, p in enumerate(self.paths):
            _Recording.seen[p.name] = self.members(k)
        return super().remove()


def test_the_switch_workload_runs_its_processes_in_the_cgroups_for_real(tmp_path, kernel):
    """perf-sampled open/close in 2 processes taking turns on one CPU, each joined to its
    own (test layout) cgroup; the rows and the scenario bulksim calibrate fits."""
    root = cgroups.check_root(_layout(tmp_path / "cg", 1))
    _Recording.seen = {}
    m = cgroups.measure_in_cgroups(root, 2, seconds=0.3, repeats=2,
                                   cgroup_set=lambda: _Recording(root, 2, tag="s"))
    # each cgroup got the pid of one child of each repeat, and all are gone again
    assert sorted(_Recording.seen) == ["bulksim-calibrate-s-0", "bulksim-calibrate-s-1"]
    assert all(len(v) == 2 and all(p != os.getpid() for p in v) for v in _Recording.seen.values())
    assert not [p for p in root.iterdir() if p.is_dir()]
    rows = {r["phase"]: r for r in m.table}
    assert set(rows) == {"post_alloc_hook", "free_hook", "slab_alloc", "slab_free"}
    assert rows["post_alloc_hook"]["samples"] > 0 and rows["post_alloc_hook"]["objects"] > 1000
    assert rows["post_alloc_hook"]["ns_per_object_low"] <= rows["post_alloc_hook"]["ns_per_object"] \
        <= rows["post_alloc_hook"]["ns_per_object_high"]
    sc = m.scenario("open_close@2cgroups")
    assert sc["memcgs"] == 2 and sc["cgroup_switch_prob"] == 1.0 and sc["cpus"] == 1 and sc["bulk_size"] == 1


def test_calibrate_create_cgroups_fits_the_switch_rows_too(tmp_path, kernel, capsys):
    import json

    root = _layout(tmp_path / "cg", 2)
    out = tmp_path / "p.json"
    assert cli.main(["calibrate", "--create-cgroups", str(root), "--cgroups", "3", "--workloads", "open_close",
                     "--seconds", "0.2", "--repeats", "1", "--calls", "2000", "--out", str(out), "--quiet",
                     "--no-question"]) == 0
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    works = {r["workload"] for r in doc["fit"]["residuals"]}
    assert works == {"open_close", "open_close@3cgroups"}
    assert {r["workload"] for r in doc["fit"]["leave_one_out"]} == works
    sim = json.loads(doc["provenance"]["simulation"])["scenario_by_workload"]["open_close@3cgroups"]
    assert sim["memcgs"] == 3 and sim["cgroup_switch_prob"] == 1.0
    assert json.loads(doc["provenance"]["measure_settings"])["cgroups"] == {"root": str(root), "count": 3}
    assert "open_close@3cgroups" in text
    assert not [p for p in root.iterdir() if p.is_dir()]
