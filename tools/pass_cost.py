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


def pass_ns_per_object(scn, strategy: str, k: int, seed: int = 0) -> float:
    from engine.model import state as st
    from engine.model.events import N_EVENTS
    from engine.model.kernel import PER_CALL_FIXED, run_calls

    Ps, A, X = st.make_fused(scn, [strategy] * k, seed)
    KA, KX = st.kernel_view(A), st.stack_view(X)
    none = np.zeros((0, k, PER_CALL_FIXED + N_EVENTS), np.int64)
    t0 = time.perf_counter()
    err = run_calls(Ps[0], KA, KX, np.int64(0), np.int64(scn.calls), none)
    elapsed = time.perf_counter() - t0
    if err:
        raise SystemExit(f"the pass stopped with error {err} (a limit? see engine.run.simulate.fusable)")
    return elapsed / (scn.calls * scn.bulk_size) * 1e9


def main(argv=None) -> int:
    from engine.inputs.scenario import Scenario

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="default")
    ap.add_argument("--strategy", default="batched")
    ap.add_argument("--calls", type=int, default=300_000)
    ap.add_argument("--copies", default="1,2,4", help="values of K")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    scn = Scenario.from_preset(args.scenario).replace(calls=args.calls)
    ks = [int(x) for x in args.copies.split(",")]
    pass_ns_per_object(scn.replace(calls=10), args.strategy, 1)  # compile or load
    times: dict[int, list[float]] = {k: [] for k in ks}
    for r in range(args.rounds):
        for k in (ks if r % 2 == 0 else ks[::-1]):
            times[k].append(pass_ns_per_object(scn, args.strategy, k))
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
