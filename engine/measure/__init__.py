"""``bulksim measure``: the running kernel's memcg hook cost beside the model's (docs/measure.md).

Python API (stable names)::

    from engine.measure import WORKLOADS, measure, read_measurement
    m = measure(["open_close"], seconds=0.5, repeats=3)
    m.table            # pyarrow.Table, one row per (workload, phase)
    m.scenario("open_close")   # engine.simulate scenario overrides for that workload
    m.provenance       # kernel, cpu, clock_ghz, perf_version, preempt, memcg, date, commit, ...
"""

from .core import Measurement, measure, parse_workloads
from .env import MeasureEnvError
from .output import measurement_text, read_measurement, write_measurement
from .workloads import PHASES, WORKLOADS, Workload

__all__ = ["WORKLOADS", "Workload", "PHASES", "measure", "Measurement", "read_measurement",
           "write_measurement", "measurement_text", "parse_workloads", "MeasureEnvError"]
