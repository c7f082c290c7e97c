"""Model outputs tracked over commits: a change to the model shows up as a step.

All values are per simulated object and phrased so that bigger is worse.
"""

from ._common import engine_or_skip

STRATEGIES = ["per_object", "batched_v1", "batched", "upfront"]
PRESETS = ["default", "io_uring", "numa_mixed", "many_cgroups", "tight_limit", "single"]
CALLS = 20_000


class ModelOutputs:
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

    def _get(self, out, scenario, strategy, column, per_object=True):
        row = out.get((scenario, strategy))
        if row is None or column not in row:
            raise NotImplementedError(f"{column} for {scenario}/{strategy} not available")
        value = row[column]
        return value / max(row["objects"], 1) if per_object else value

    def track_hook_cycles_per_object(self, out, scenario, strategy):
        return self._get(out, scenario, strategy, "hook_cycles_per_object", per_object=False)

    track_hook_cycles_per_object.unit = "cycles/object"

    def track_total_cycles_per_object(self, out, scenario, strategy):
        return self._get(out, scenario, strategy, "total_cycles_per_object", per_object=False)

    track_total_cycles_per_object.unit = "cycles/object"

    def track_stock_locks_per_object(self, out, scenario, strategy):
        return self._get(out, scenario, strategy, "stock_locks")

    track_stock_locks_per_object.unit = "locks/object"

    def track_stat_flushes_per_object(self, out, scenario, strategy):
        return self._get(out, scenario, strategy, "stat_flushes")

    track_stat_flushes_per_object.unit = "flushes/object"
