"""Engine throughput, memory and compile time."""

import os
import subprocess
import sys
import tempfile

from ._common import engine_or_skip

STRATEGIES = ["per_object", "batched_v1", "batched", "upfront"]
MILLION_OBJECTS_CALLS = 62_500  # default scenario, bulk 16: one million objects


class TimeSimulate:
    """Host time to simulate one million objects (bigger is worse)."""

    params = [STRATEGIES, ["default", "numa_mixed"]]
    param_names = ["strategy", "scenario"]  # hook strategy; preset (bulk 16 in both)
    number = 1
    repeat = (3, 7, 60.0)
    warmup_time = 0.0
    timeout = 600

    def setup(self, strategy, scenario):
        engine = engine_or_skip()
        from engine.run.simulate import run_strategy

        self.scn = engine.Scenario.from_preset(scenario, calls=MILLION_OBJECTS_CALLS)
        self.run = run_strategy
        # Warm the JIT (or load it from the cache) on the same types and layout.
        run_strategy(self.scn, strategy, 0, calls=50)

    def time_million_objects(self, strategy, scenario):
        self.run(self.scn, strategy, 0, check=False)


class TimeAllStrategies:
    """Host time to simulate one million objects through every strategy, as ``bulksim
    run`` does by default: one pass over the allocator for all four (``fused``) against
    one pass each (``separate``); both give identical results (tests/model/test_fused.py)."""

    params = [["fused", "separate"], ["default", "io_uring"]]
    param_names = ["passes", "scenario"]  # one pass for all, or one per strategy; preset
    objects = 1_000_000
    number = 1
    repeat = (3, 7, 60.0)
    warmup_time = 0.0
    timeout = 600

    def setup(self, passes, scenario):
        engine = engine_or_skip()
        try:
            from engine.run.simulate import run_strategies
        except ImportError:  # a commit before the fused kernel
            raise NotImplementedError("no fused kernel at this commit") from None
        scn = engine.Scenario.from_preset(scenario)
        self.scn = scn.replace(calls=self.objects // scn.bulk_size)
        self.run = run_strategies
        run_strategies(self.scn, STRATEGIES, 0, calls=50)

    def time_million_objects_all_strategies(self, passes, scenario):
        if passes == "fused":
            self.run(self.scn, STRATEGIES, 0, check=False)
        else:
            for name in STRATEGIES:
                self.run(self.scn, [name], 0, check=False)


class PeakMemory:
    """Peak RSS of a long run: state is fixed-size, so it must not grow with calls."""

    params = [[100_000, 1_000_000]]
    param_names = ["calls"]  # default scenario, batched strategy
    timeout = 600

    def setup(self, calls):
        engine = engine_or_skip()
        from engine.run.simulate import run_strategy

        self.scn = engine.Scenario.from_preset("default", calls=calls)
        self.run = run_strategy
        run_strategy(self.scn, "batched", 0, calls=50)

    def peakmem_run(self, calls):
        self.run(self.scn, "batched", 0, check=False)


_COMPILE_SNIPPET = (
    "import time; t = time.perf_counter(); import engine; "
    "engine.simulate('default', calls=10, strategies='all'); "
    "print(time.perf_counter() - t)"
)


def _fresh_interpreter_seconds(cache_dir):
    env = dict(os.environ, BULKSIM_CACHE_DIR=cache_dir)
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env, capture_output=True,
                         text=True, timeout=1200, check=True)
    return float(out.stdout.strip().splitlines()[-1])


class CompileTime:
    """Start-up of a fresh interpreter: import + first simulation of all strategies."""

    timeout = 1500

    def setup(self):
        engine_or_skip()

    def track_cold_cache_seconds(self):
        with tempfile.TemporaryDirectory() as d:
            return _fresh_interpreter_seconds(d)

    track_cold_cache_seconds.unit = "seconds"

    def track_warm_cache_seconds(self):
        with tempfile.TemporaryDirectory() as d:
            _fresh_interpreter_seconds(d)  # fill the cache
            return min(_fresh_interpreter_seconds(d) for _ in range(3))

    track_warm_cache_seconds.unit = "seconds"


class TimeToPrecision:
    """Host time to a +-0.1% hook ratio of batched against per_object (``simulate(
    precision=0.001)``: runs until the 95% interval is that narrow, checked at fixed call
    counts) against the fixed run of one million calls it replaces; both timed in the
    same benchmark run, as a pair of parameters (``bulksim bench --precision`` does the
    same A/B interleaved)."""

    params = [["precision", "fixed"], ["default", "io_uring"]]
    param_names = ["run", "scenario"]  # to +-0.1% or 1 M calls; preset
    precision = 0.001
    fixed_calls = 1_000_000
    number = 1
    repeat = (3, 7, 60.0)
    warmup_time = 0.0
    timeout = 600

    def setup(self, run, scenario):
        engine = engine_or_skip()
        import inspect

        if "precision" not in inspect.signature(engine.simulate).parameters:
            raise NotImplementedError("no precision-controlled runs at this commit")
        self.engine = engine
        self.scn = engine.Scenario.from_preset(scenario)
        engine.simulate(self.scn, strategies="per_object,batched", calls=50)

    def _run(self, run):
        if run == "precision":
            return self.engine.simulate(self.scn, strategies="per_object,batched", precision=self.precision)
        return self.engine.simulate(self.scn, strategies="per_object,batched", calls=self.fixed_calls)

    def time_to_hook_ratio(self, run, scenario):
        self._run(run)

    def track_calls(self, run, scenario):
        return self._run(run).scenario.calls

    track_calls.unit = "calls"
