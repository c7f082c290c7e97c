"""How a pass's time splits into the allocator's share and each strategy's share.

Runs ``K`` copies of one strategy in one pass (K = 1, 2, 4 by default, interleaved
over rounds) and fits ns/object = shared + K x per_strategy by least squares on the
medians.  Copies of one strategy do exactly the work of K different strategies of
the same cost, so the fit says how far one pass for all strategies can go: with
``s`` the shared and ``h`` the per-strategy share, one pass for N strategies takes
``s + N h`` against ``N (s + h)`` for one pass each (docs/performance.md, "One pass
for every strategy").

    python tools/pass_cost.py --scenario default --strategy batched --calls 300000
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


CHUNK_OBJECTS = 200_000  # objects per kernel invocation: a signal acts between two


def pass_ns_per_object(scn, strategy: str, k: int, seed: int = 0) -> float:
    """ns per object of one pass of ``k`` copies of ``strategy``, timed over the kernel
    invocations only (in chunks of about CHUNK_OBJECTS objects, so Ctrl-C acts within a
    fraction of a second; the chunking costs nothing measurable next to a chunk)."""
    from engine.model import state as st
    from engine.model.events import N_EVENTS
    from engine.model.kernel import PER_CALL_FIXED, run_calls

    Ps, A, X = st.make_fused(scn, [strategy] * k, seed)
    KA, KX = st.kernel_view(A), st.stack_view(X)
    none = np.zeros((0, k, PER_CALL_FIXED + N_EVENTS), np.int64)
    step = max(1, CHUNK_OBJECTS // max(1, k * scn.bulk_size))
    elapsed = 0.0
    for c0 in range(0, scn.calls, step):
        c1 = min(scn.calls, c0 + step)
        t0 = time.perf_counter()
        err = run_calls(Ps[0], KA, KX, np.int64(c0), np.int64(c1), none)
        elapsed += time.perf_counter() - t0
        if err:
            from engine.errors import BadInputError

            raise BadInputError(f"the pass stopped with error {err}: copies of a strategy share a pass "
                                "only where no hook can fail (engine.run.simulate.fusable)")
    return elapsed / (scn.calls * scn.bulk_size) * 1e9


def _ints(text: str, what: str, lo: int, hi: int) -> list[int]:
    from engine.checks import need_int
    from engine.errors import BadInputError

    try:
        values = [int(x, 0) for x in text.split(",")]
    except ValueError:
        raise BadInputError(f"{what}: expected an integer or integers separated by commas, got {text[:40]!r}") from None
    return [need_int(v, what, lo, hi) for v in values]


def main(argv=None) -> int:
    """The command-line contract of ``bulksim`` (engine.cli.guarded): arguments checked
    before any work, one line and exit 2 on bad input, 130/143 on a signal, no
    traceback on a full or closed standard output."""
    from engine.cli import guarded, tool_parser

    def body():
        ap = tool_parser("pass_cost", __doc__.splitlines()[0])
        ap.add_argument("--scenario", default="default")
        ap.add_argument("--strategy", default="batched")
        ap.add_argument("--calls", default="300000")
        ap.add_argument("--copies", default="1,2,4", help="values of K (at least two)")
        ap.add_argument("--rounds", default="5")
        return _run(ap.parse_args(argv))

    return guarded(body, "pass_cost")


def _run(args) -> int:
    from engine.errors import BadInputError
    from engine.inputs.scenario import Scenario
    from engine.run.simulate import fusable, parse_strategies

    (calls,) = _ints(args.calls, "--calls", 1, 10**8)
    (rounds,) = _ints(args.rounds, "--rounds", 1, 1000)
    ks = _ints(args.copies, "--copies", 1, 16)
    if len(set(ks)) < 2:
        raise BadInputError(f"--copies: a fit needs at least two different values of K, got {args.copies!r}")
    (strategy,) = parse_strategies([args.strategy])
    scn = Scenario.from_preset(args.scenario).replace(calls=calls)
    ok, why = fusable(scn)
    if not ok:
        raise BadInputError(f"scenario {scn.name!r}: copies of a strategy cannot share a pass: {why}")
    pass_ns_per_object(scn.replace(calls=10), strategy, 1)  # compile or load
    times: dict[int, list[float]] = {k: [] for k in ks}
    for r in range(rounds):
        for k in (ks if r % 2 == 0 else ks[::-1]):
            times[k].append(pass_ns_per_object(scn, strategy, k))
    med = {k: statistics.median(v) for k, v in times.items()}
    per, shared = np.polyfit(ks, [med[k] for k in ks], 1)
    for k in ks:
        print(f"K={k}: {med[k]:.2f} ns/object (min {min(times[k]):.2f}, max {max(times[k]):.2f})")
    print(f"fit: shared {shared:.2f} ns/object, per strategy {per:.2f} ns/object")
    for n in (4, 5):
        print(f"{n} strategies: one pass {shared + n * per:.1f} ns/object, one pass each "
              f"{n * (shared + per):.1f}: {n * (shared + per) / (shared + n * per):.2f}x")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
