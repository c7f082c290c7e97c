"""tools/branch_sim.py: reading callgrind's per-instruction output (the valgrind run
itself takes minutes; its use and figures are in docs/performance.md; its bad-input
test is with the other profiler's, in test_profile_tool.py)."""

from __future__ import annotations

from . import load_tool

bs = load_tool("branch_sim")

# A callgrind file as --dump-instr=yes --branch-sim=yes writes it: absolute, relative
# and repeated positions, and a call whose inclusive cost line must not count.
SAMPLE = """\
version: 1
positions: instr line
events: Ir Bc Bcm Bi Bim
ob=???
fn=0x7f0000001000
0x7f0000001000 0 3 1 0
+4 * 2 1 1
+8 +2 1
calls=1 0x7f0000001100
* * 500 40 30
-4 -2 1 1 1
fn=0x7f0000000f00
0x7f0000000ff0 0 9 9 9
0x7f0000002000 0 7 7 7
"""


def test_costs_per_instruction_in_the_kernel_range():
    lo, hi = 0x7F0000001000, 0x7F0000002000
    events, costs = bs.parse_callgrind(SAMPLE.splitlines(), lo, hi)
    assert events == ["Ir", "Bc", "Bcm", "Bi", "Bim"]
    # +0x0: 3 instructions, one branch; +0x4: 2, one branch, mispredicted; +0xc:
    # one instruction, then the call from there (its 500 is the callee's, not
    # counted); "-4" is relative to that line: +0x8.  Lines outside [lo, hi) are
    # not counted.
    assert costs == {0x0: [3, 1, 0, 0, 0], 0x4: [2, 1, 1, 0, 0], 0xC: [1, 0, 0, 0, 0],
                     0x8: [1, 1, 1, 0, 0]}


def test_lines_ranked_by_mispredictions_or_instructions():
    events, costs = bs.parse_callgrind(SAMPLE.splitlines(), 0x7F0000001000, 0x7F0000002000)
    # offsets 0x0 and 0x4 are one source line, 0x8 and 0xC another
    per_line = bs.per_source_line(events, costs, lambda off: ("k", 1 if off < 8 else 2))
    assert dict(per_line) == {("k", 1): [5, 2, 1], ("k", 2): [2, 1, 1]}
    per_line[("k", 2)][2] = 3
    assert [k for k, _ in bs.top_lines(per_line, "mispredicts", 2)] == [("k", 2), ("k", 1)]
    assert [k for k, _ in bs.top_lines(per_line, "instructions", 2)] == [("k", 1), ("k", 2)]
    assert len(bs.top_lines(per_line, "instructions", 1)) == 1
