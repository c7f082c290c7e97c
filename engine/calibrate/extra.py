"""Workloads calibrate adds to ``bulksim measure``'s, for unit costs those cannot pin.

``msg_4k``: System V messages of 4000 bytes (``msg.c``): one 4 KB accounted object per
message (kmalloc-cg-4k), so the obj stock runs dry on nearly every allocation and the
hooks charge and uncharge pages: the page-charge costs (``consume_misses``,
``charge_pages_work``, the memcg stock, the page counters) that 192- and 256-byte objects
reach only once every ~20 objects.  Allocated and freed in the task itself, so all four
phases are captured.  Sampled with ``perf record -e cpu-clock -g`` of the driver only and
attributed by ``engine.measure.attribute`` with this workload's call sites, like the
measure workloads (docs/measure.md); the matching scenario is one CPU, one memcg, bulk 1,
object size 4096, nothing live.

Also the helpers ``engine.calibrate.cgroups`` uses for its switch workload: building a C
driver of this package and recording it.
"""

from __future__ import annotations

from pathlib import Path


MSG_SOURCE = Path(__file__).with_name("msg.c")
MSG_NAME = "msg_4k"
EXTRA_WORKLOADS = (MSG_NAME,)


def msg_workload():
    from ..measure.workloads import Workload

    return Workload(
        name=MSG_NAME,
        description="msgsnd() + msgrcv() of 4000 bytes on a private System V message queue",
        cache="kmalloc-cg-4k", object_size=4096, bulk_size=1, live_objects=0,
        # ipc/msgutil.c load_msg -> alloc_msg (inlined, no symbol on 6.18) -> kmalloc(48 + 4000,
        # GFP_KERNEL_ACCOUNT), which 6.18 compiles to __kmalloc_node_noprof (sampled here:
        # __memcg_slab_post_alloc_hook <- __kmalloc_node_noprof <- load_msg); ipc/msg.c
        # do_msgrcv -> free_msg -> kfree
        alloc_sites=frozenset({(e, c) for e in ("__kmalloc_node_noprof", "__kmalloc_noprof")
                               for c in ("load_msg", "alloc_msg")}),
        free_sites=frozenset({("kfree", "free_msg")}),
        reason="a 4 KB accounted object: page charges on nearly every allocation")


def build_driver(source: Path, stem: str, cc: str | None = None) -> Path:
    """A C source of this package compiled once into the measure cache (measure's
    ``build_c``: named after the source's hash, never half-built)."""
    from ..measure.run import build_c

    return build_c(source, stem, cc, who="calibrate", what=f"engine/calibrate/{source.name}")


def record_driver(perf: str, driver: Path, args: list[str], *, what: str, seconds: float, period_ns: int):
    """One repeat: ``perf record`` of ``driver ARGS`` (it and the children it forks,
    nothing else), then ``perf script``; an ``engine.measure.run.Recorded``."""
    from ..measure.run import record_command

    return record_command(perf, [str(driver), *args], who="calibrate", what=what, seconds=seconds,
                          period_ns=period_ns)


class ExtraMeasurement:
    """Rows of calibrate's own workloads, shaped as ``engine.measure.Measurement``'s
    (``table``, ``scenario(workload)``, ``provenance``)."""

    def __init__(self, rows, scenarios, provenance):
        self.table, self.scenarios, self.provenance = rows, scenarios, provenance

    def scenario(self, workload):
        return dict(self.scenarios[workload])


def rows_of(name: str, w, parts, objects: int, calls: int) -> list[dict]:
    from ..measure import attribute
    from ..measure.workloads import PHASES

    est = attribute.estimates(attribute.Batches.concat(parts), w.phases_captured)
    rows = []
    for j, ph in enumerate(PHASES):
        m = est["per_object"][j]
        rows.append(dict(workload=name, phase=ph, objects=objects, calls=calls,
                         samples=int(est["samples"][j]), ns_per_object=float(m.value),
                         ns_per_object_low=float(m.low), ns_per_object_high=float(m.high)))
    return rows


def measure_msg(*, seconds: float = 1.0, repeats: int = 3, progress=None, cpu: int = -1,
                period_ns: int | None = None) -> ExtraMeasurement:
    """The ``msg_4k`` workload, ``repeats`` recordings of ``seconds``."""
    from ..measure import attribute, env, model
    from ..measure import run as mrun
    from ..measure.symbols import symbol_set

    w = msg_workload()
    e = env.check_environment([w])
    sset = symbol_set(e.release)
    driver = build_driver(MSG_SOURCE, "msg")
    period = period_ns or mrun.PERIOD_NS
    say = progress or (lambda line: None)
    parts, objects, calls = [], 0, 0
    for r in range(repeats):
        say(f"calibrate: {MSG_NAME}, repeat {r + 1} of {repeats} ({seconds:g} s)")
        rec = record_driver(e.perf, driver, [repr(float(seconds)), str(10**9), str(cpu)], what=MSG_NAME,
                            seconds=seconds, period_ns=period)
        phase, per = attribute.classify(attribute.parse_script(rec.script), w, sset, filter_sites=True)
        parts.append(attribute.batches(phase, per, rec.objects))
        objects += rec.objects
        calls += rec.calls
    size = env.slab_object_size(w.cache) or w.object_size
    over = model.scenario_overrides(w, object_size=size, nodes=env.numa_nodes())
    return ExtraMeasurement(rows_of(MSG_NAME, w, parts, objects, calls), {MSG_NAME: over}, {})
