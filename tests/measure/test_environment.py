"""Bad environments: each missing piece is one line saying what and how, exit status 2.

A fake /proc and /sys laid out like the real ones (engine.measure.env.PROC/SYS point at
them); perf and the C compiler are taken away through PATH."""

import os
import shutil
from pathlib import Path

import pytest

from engine.cli import main
from engine.measure import env, run

GOOD_KALLSYMS = """ffffffff816e3a00 T __memcg_slab_post_alloc_hook
ffffffff816e3d90 T __memcg_slab_free_hook
ffffffff8167dbc0 T kmem_cache_alloc_bulk_noprof
"""


def fake_root(tmp: Path, **change) -> tuple[Path, Path]:
    files = {
        "proc/self/cgroup": "4:memory:/process_api/abc\n3:cpuset:/\n0::/\n",
        "proc/kallsyms": GOOD_KALLSYMS,
        "proc/cmdline": "console=ttyS0 quiet\n",
        "proc/sys/kernel/kptr_restrict": "0\n",
        "proc/sys/kernel/osrelease": "6.18.44-test\n",
        "proc/sys/kernel/version": "#1 SMP PREEMPT_DYNAMIC\n",
        "proc/sys/kernel/io_uring_disabled": "0\n",
        "proc/cpuinfo": "model name\t: Test CPU\n",
        "sys/fs/cgroup/cgroup.controllers": "cpu io\n",
    }
    files.update(change)
    for rel, text in files.items():
        if text is None:
            continue
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (tmp / "sys/devices/system/node/node0").mkdir(parents=True, exist_ok=True)
    return tmp / "proc", tmp / "sys"


@pytest.fixture
def perf_path(tmp_path):
    """A PATH with perf (a stand-in: nothing runs it before the checks fail) and no compiler."""
    d = tmp_path / "bin"
    d.mkdir()
    (d / "perf").write_text("#!/bin/sh\nexit 1\n")
    (d / "perf").chmod(0o755)
    return str(d)


def run_cli(monkeypatch, capsys, tmp_path, path, argv=(), euid=0, **change):
    proc, sys_ = fake_root(tmp_path / "root", **change)
    monkeypatch.setattr(env, "PROC", str(proc))
    monkeypatch.setattr(env, "SYS", str(sys_))
    monkeypatch.setenv("PATH", path)
    monkeypatch.setattr(env.os, "geteuid", lambda: euid)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no cached driver
    monkeypatch.delenv("CC", raising=False)
    out = tmp_path / "m.parquet"
    rc = main(["measure", "--seconds", "0.1", "--repeats", "1", "--quiet", "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("bulksim: error: measure: "), err
    assert not out.exists() and not (tmp_path / "m.units.parquet").exists()
    return err


def test_no_perf(monkeypatch, capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    err = run_cli(monkeypatch, capsys, tmp_path, str(empty))
    assert "perf is not installed" in err and "linux-perf" in err


def test_not_root(monkeypatch, capsys, tmp_path, perf_path):
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, euid=1000)
    assert "needs root" in err


def test_kptr_restrict_hides_symbols(monkeypatch, capsys, tmp_path, perf_path):
    hidden = GOOD_KALLSYMS.replace("ffffffff816e3a00", "0000000000000000").replace(
        "ffffffff816e3d90", "0000000000000000").replace("ffffffff8167dbc0", "0000000000000000")
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, **{"proc/kallsyms": hidden,
                                                               "proc/sys/kernel/kptr_restrict": "1\n"})
    assert "kptr_restrict=1" in err and "sysctl kernel.kptr_restrict=0" in err
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, **{"proc/sys/kernel/kptr_restrict": "2\n"})
    assert "kptr_restrict=2" in err


def test_kernel_without_memcg_hooks(monkeypatch, capsys, tmp_path, perf_path):
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path,
                  **{"proc/kallsyms": "ffffffff8167dbc0 T kmem_cache_alloc_bulk_noprof\n"})
    assert "__memcg_slab_free_hook, __memcg_slab_post_alloc_hook" in err and "CONFIG_MEMCG" in err


def test_io_uring_disabled(monkeypatch, capsys, tmp_path, perf_path):
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, **{"proc/sys/kernel/io_uring_disabled": "2\n"})
    assert "io_uring is disabled" in err and "--workloads open_close,eventfd_dentry" in err
    # without the io_uring workload the check passes and the next missing piece is named
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, argv=["--workloads", "open_close"],
                  **{"proc/sys/kernel/io_uring_disabled": "2\n"})
    assert "no C compiler" in err


def test_no_memcg(monkeypatch, capsys, tmp_path, perf_path):
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, **{"proc/self/cgroup": "3:cpuset:/\n0::/user\n"})
    assert "no memory cgroup" in err
    # cgroup v2 with the memory controller is found
    proc, sys_ = fake_root(tmp_path / "v2", **{"proc/self/cgroup": "0::/user.slice\n",
                                                "sys/fs/cgroup/cgroup.controllers": "cpu memory io\n"})
    m = env.memcg_of_self(str(proc), str(sys_))
    assert (m.version, m.path, m.is_root) == ("v2", "/user.slice", False)


def test_root_memcg(monkeypatch, capsys, tmp_path, perf_path):
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, **{"proc/self/cgroup": "4:memory:/\n"})
    assert "root memory cgroup" in err and "not accounted" in err and "--unaccounted" in err
    # asked for: the unaccounted path passes this check (and stops at the missing compiler)
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, argv=["--unaccounted"],
                  **{"proc/self/cgroup": "4:memory:/\n"})
    assert "no C compiler" in err


def test_unaccounted_outside_the_root_memcg(monkeypatch, capsys, tmp_path, perf_path):
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, argv=["--unaccounted"])
    assert "--unaccounted is for the root memory cgroup" in err and "/process_api/abc" in err


def test_nokmem(monkeypatch, capsys, tmp_path, perf_path):
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path, **{"proc/cmdline": "quiet cgroup.memory=nokmem\n"})
    assert "cgroup.memory=nokmem" in err


def test_no_compiler(monkeypatch, capsys, tmp_path, perf_path):
    err = run_cli(monkeypatch, capsys, tmp_path, perf_path)
    assert "no C compiler" in err and "apt-get install gcc" in err


def test_bad_arguments(monkeypatch, capsys, tmp_path, perf_path):
    for argv, text in ((["--workloads", "nope"], "unknown workload 'nope'"),
                       (["--seconds", "0"], "seconds must be in"),
                       (["--repeats", "x"], "--repeats: expected an integer"),
                       (["-o", "csv"], "table, md or json"),
                       (["--cpu", "4096"], "cpu 4096 is not one this process may run on")):
        rc = main(["measure", "--quiet", *argv])
        err = capsys.readouterr().err
        assert rc == 2 and text in err and len(err.strip().splitlines()) == 1, err


def test_real_environment_passes():
    """This machine (root, perf, memcg v1, a non-root memcg) passes every check."""
    try:
        e = env.check_environment([w for w in __import__("engine.measure", fromlist=["W"]).WORKLOADS.values()])
    except env.MeasureEnvError as exc:
        pytest.skip(f"not a measuring machine: {exc}")
    assert e.perf and not e.memcg.is_root and e.symbols["__memcg_slab_post_alloc_hook"] > 0
    assert shutil.which("perf") == e.perf or os.path.samefile(shutil.which("perf"), e.perf)
    assert run.driver_path().is_file()
