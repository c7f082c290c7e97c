"""What the batched memcg free hook would save (issue 19), with exact ranges.

For each scenario and free bulk size, runs every strategy twice on the identical
stream (``free_hook=per_object`` and ``free_hook=batched``) and prints, per strategy,
the end-to-end cycles per object the batched free hook saves: central value and the
range over the profile's box of unit costs (both runs priced with the same unit costs;
exact, or a proven bound where an end-to-end max form changes regime:
engine.results.ranges).  The cost of
accounting itself (each strategy minus ``none``) is what ``bulksim run`` prints under
its table.

    python tools/free_hook_savings.py --scenarios default,io_uring --free-bulk 8,32
"""

from __future__ import annotations

import argparse


def savings(scenario: str, free_bulk: int, calls: int, profile: str, seed: int = 0) -> dict:
    from engine import Scenario, simulate
    from engine.inputs.costs import get_profile
    from engine.results.ranges import Box, central, diff_range, strategy_forms

    prof = get_profile(profile)
    box = Box.of(prof)
    base = Scenario.from_preset(scenario).replace(free_bulk=free_bulk)
    res = {h: simulate(base.replace(free_hook=h), calls=calls, seed=seed, profile=profile)
           for h in ("per_object", "batched")}
    out = {}
    for name in res["per_object"].runs:
        if name == "none":
            continue
        a = strategy_forms(res["per_object"], name, prof).total
        b = strategy_forms(res["batched"], name, prof).total
        # end to end is one max form each (docs/costs.md): the difference's range is
        # exact where both stay in one regime, a proven bound otherwise
        low, high, _ = diff_range(a, b, box)
        out[name] = (central(a, box) - central(b, box), low, high)
    return out


def main(argv=None) -> int:
    """The command-line contract of ``bulksim`` (engine.cli.guarded): every argument
    (each scenario, free bulk size, the profile) checked before the first simulation,
    one line and exit 2 on bad input, 130/143 on a signal, no traceback on a full or
    closed standard output."""
    from engine.cli import guarded, tool_parser

    def body():
        ap = tool_parser("free_hook_savings", __doc__.splitlines()[0])
        ap.add_argument("--scenarios", default="default,io_uring")
        ap.add_argument("--free-bulk", default="8,32")
        ap.add_argument("--calls", default="1000000")
        ap.add_argument("--profile", default="intel-skylake")
        return _run(ap.parse_args(argv))

    return guarded(body, "free_hook_savings")


def _run(args) -> int:
    from engine import Scenario
    from engine.checks import need_int
    from engine.errors import BadInputError
    from engine.inputs.costs import get_profile

    try:
        calls = int(args.calls.replace("_", ""), 0)
        bulks = [int(x.replace("_", ""), 0) for x in args.free_bulk.split(",")]
    except ValueError:
        raise BadInputError("--calls and --free-bulk take integers (--free-bulk: separated by "
                            f"commas), got {args.calls[:40]!r} and {args.free_bulk[:40]!r}") from None
    need_int(calls, "--calls", 1, 10**9)
    get_profile(args.profile)
    scenarios = [s.strip() for s in args.scenarios.split(",")]
    for scenario in scenarios:  # every point is a valid scenario before the first is simulated
        for b in bulks:
            for h in ("per_object", "batched"):
                Scenario.from_preset(scenario).replace(free_bulk=b, free_hook=h, calls=calls)
    for scenario in scenarios:
        for b in bulks:
            cells = [f"{name} {c:.1f} [{lo:.1f}, {hi:.1f}]"
                     for name, (c, lo, hi) in savings(scenario, b, calls, args.profile).items()]
            print(f"{scenario} free_bulk={b}: the batched free hook saves (end-to-end cycles/object, "
                  f"central [range]): " + "; ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
