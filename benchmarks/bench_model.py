"""Model outputs tracked over commits: a change to the model shows up as a step.

All values are per simulated object and phrased so that bigger is worse.
"""

from ._common import engine_or_skip

STRATEGIES = ["per_object", "batched_v1", "batched", "upfront", "none"]
PRESETS = ["default", "io_uring", "numa_mixed", "many_cgroups", "tight_limit", "single"]
CALLS = 20_000


class _RowTracks:
    """The track_ methods over ``setup_cache``'s rows keyed by (scenario, column key):
    asv skips this class itself (leading underscore) and finds the methods on the
    benchmark classes that inherit them."""

    def _get(self, out, scenario, key, column, per_object=True):
        row = out.get((scenario, key))
        if row is None or column not in row:
            raise NotImplementedError(f"{column} for {scenario}/{key} not available")
        value = row[column]
        return value / max(row["objects"], 1) if per_object else value

    def track_hook_cycles_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "hook_cycles_per_object", per_object=False)

    track_hook_cycles_per_object.unit = "cycles/object"

    def track_total_cycles_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "total_cycles_per_object", per_object=False)

    track_total_cycles_per_object.unit = "cycles/object"

    def track_stock_locks_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "stock_locks")

    track_stock_locks_per_object.unit = "locks/object"

    def track_stat_flushes_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "stat_flushes")

    track_stat_flushes_per_object.unit = "flushes/object"


class ModelOutputs(_RowTracks):
    params = [PRESETS, STRATEGIES]
    param_names = ["scenario", "strategy"]  # preset; hook strategy
    timeout = 900

    def setup_cache(self):
        engine = engine_or_skip()
        out = {}
        for scenario in PRESETS:
            if scenario not in engine.PRESETS:
                continue
            table = engine.simulate(scenario, calls=CALLS, seed=0).summary
            for row in table.to_pylist():
                out[(scenario, row["strategy"])] = row
        return out


# Strategy x kernel generation pairs beyond each strategy's own (ModelOutputs runs
# those), on the presets where the generations differ (docs/model.md §5a).
GEN_PRESETS = ["default", "io_uring", "numa_spread", "switch_storm", "kib_runs"]
GEN_PAIRS = ["per_object@mainline-2026", "batched@mainline-2026", "upfront@v6.12",
             "per_object@mm-2026", "batched_v1@mm-2026", "batched@mm-2026"]


class GenerationOutputs(_RowTracks):
    params = [GEN_PRESETS, GEN_PAIRS]
    param_names = ["scenario", "strategy@kernel"]
    timeout = 900

    def setup_cache(self):
        engine = engine_or_skip()
        from engine.inputs.scenario import Scenario

        if "kernel" not in {f for f in Scenario.__dataclass_fields__}:
            raise NotImplementedError("no kernel generations at this commit")
        out = {}
        for scenario in GEN_PRESETS:
            if scenario not in engine.PRESETS:
                continue
            for pair in GEN_PAIRS:
                strategy, kernel = pair.split("@")
                scn = Scenario.from_preset(scenario, kernel=kernel)
                row = engine.simulate(scn, strategies=strategy, calls=CALLS, seed=0).summary.to_pylist()[0]
                out[(scenario, pair)] = row
        return out

    def track_drains_per_object(self, out, scenario, pair):
        return self._get(out, scenario, pair, "drains")

    track_drains_per_object.unit = "drains/object"


# The free side (docs/model.md §7a): each post-alloc strategy with bulk frees of 8 and 32
# under either free hook, and none (no accounting) as the baseline of the cost of
# accounting, on the presets of issue 19.
FREE_PRESETS = ["default", "io_uring"]
FREE_KEYS = [f"{s}/{h}/{b}" for b in (8, 32) for h in ("per_object", "batched")
             for s in ("per_object", "batched", "upfront")] + ["none/per_object/8", "none/per_object/32"]


class FreeOutputs(_RowTracks):
    params = [FREE_PRESETS, FREE_KEYS]
    param_names = ["scenario", "strategy/free_hook/free_bulk"]
    timeout = 900

    def setup_cache(self):
        engine = engine_or_skip()
        from engine.inputs.scenario import Scenario

        if "free_hook" not in {f for f in Scenario.__dataclass_fields__}:
            raise NotImplementedError("no free hooks at this commit")
        out = {}
        for scenario in FREE_PRESETS:
            for key in FREE_KEYS:
                strategy, hook, bulk = key.split("/")
                scn = Scenario.from_preset(scenario, free_hook=hook, free_bulk=int(bulk))
                row = engine.simulate(scn, strategies=strategy, calls=CALLS, seed=0).summary.to_pylist()[0]
                out[(scenario, key)] = row
        return out

    def track_free_hook_cycles_per_object(self, out, scenario, key):
        return self._get(out, scenario, key, "free_hook_cycles_per_object", per_object=False)

    track_free_hook_cycles_per_object.unit = "cycles/object"
