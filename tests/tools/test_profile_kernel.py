"""tools/profile_kernel.py: the sample-to-source attribution (the perf run itself
needs Linux perf and a one-minute debug compile; its use is in docs/performance.md)."""

from __future__ import annotations

import pytest

from . import ROOT, load_tool

pk = load_tool("profile_kernel")


def test_samples_map_to_the_line_whose_code_holds_them():
    addr = 0x7F0000001000
    starts = [0x0, 0x10, 0x30, 0x80]
    where = [("kernel.py", 100), ("slub.py", 245), ("memcg.py", 0), ("hooks.py", 58)]
    ips = [addr + 0x5, addr + 0x10, addr + 0x2F, addr + 0x30, addr + 0x81, addr + 0x81,
           addr - 1, addr + 0x80 + 4096]  # last two: outside the kernel
    hits = pk.attribute(ips, addr, starts, where)
    assert hits == {("kernel.py", 100): 1, ("slub.py", 245): 2, ("memcg.py", 0): 1, ("hooks.py", 58): 2}


def test_lines_are_named_by_their_enclosing_function(tmp_path):
    (tmp_path / "m.py").write_text("X = 1\n\n\ndef f(a):\n    b = a\n    return b\n\n\ndef g():\n    pass\n")
    cache = {}
    assert pk.function_of("m.py", 5, cache, tmp_path) == "m.f"
    assert pk.function_of("m.py", 10, cache, tmp_path) == "m.g"
    assert pk.function_of("m.py", 1, cache, tmp_path) == "m.<other>"
    assert pk.function_of("gone.py", 3, cache, tmp_path) == "gone.<other>"
    # the real kernel modules resolve too
    assert pk.function_of("slub.py", _line_of("def slab_free_object") + 3, {}) == "slub.slab_free_object"


def test_lines_are_labelled_with_their_source(tmp_path):
    (tmp_path / "m.py").write_text("X = 1\n    y = X + 1  \n")
    src = {}
    assert pk.line_label(("m.py", 2), src, tmp_path) == "m:2 y = X + 1"
    assert pk.line_label(("m.py", 0), src, tmp_path) == "m:0 "  # no line: module only
    assert pk.line_label(("gone.py", 4), src, tmp_path) == "gone:4 "
    assert pk.line_at(0x2F, [0x0, 0x10, 0x30], [("a.py", 1), ("b.py", 2), ("c.py", 3)]) == ("b.py", 2)


def _line_of(text: str) -> int:
    lines = (ROOT / "engine" / "model" / "slub.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(text))


@pytest.mark.parametrize("tool", ["profile_kernel.py", "branch_sim.py"])
def test_bad_strategy_is_one_line_and_exit_2(tool):
    """Both kernel profilers check their input before the minute-long compile."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "tools" / tool), "--strategy", "bogus"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and "unknown strategy 'bogus'" in err[0], out.stderr
