"""tools/free_hook_savings.py: the batched free hook's savings with exact ranges."""

from __future__ import annotations

from . import load_tool


def _tool():
    return load_tool("free_hook_savings")


def test_savings_are_a_difference_inside_its_range(capsys):
    tool = _tool()
    got = tool.savings("default", 8, 3000, "intel-skylake")
    assert set(got) == {"per_object", "batched_v1", "batched", "upfront"}
    for name, (central, low, high) in got.items():
        assert low <= central <= high, name
        assert central > 0, name  # one lock, refill and statistics update per run, not per object
    # at free_bulk=1 every run is one object: the two free hooks are the same model
    for central, low, high in tool.savings("io_uring", 1, 1000, "intel-skylake").values():
        assert central == low == high == 0.0
    assert tool.main(["--scenarios", "io_uring", "--free-bulk", "8", "--calls", "500"]) == 0
    assert "io_uring free_bulk=8: the batched free hook saves" in capsys.readouterr().out


def test_bad_arguments_are_one_line_and_exit_2(capsys):
    tool = _tool()
    for argv, words in [(["--calls", "0"], "--calls must be in"), (["--calls", "x"], "take integers"),
                        (["--free-bulk", "0", "--calls", "10"], "free_bulk must be in"),
                        (["--free-bulk", "1,y"], "take integers"),
                        (["--scenarios", "nope", "--calls", "10"], "unknown scenario"),
                        (["--profile", "nope", "--calls", "10"], "unknown cost profile")]:
        assert tool.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and words in err, (argv, err)
