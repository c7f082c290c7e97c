"""``bulksim measure``: the command line of engine.measure (registered in engine/cli.py)."""

from __future__ import annotations

import sys

from ..errors import BulksimError


def setup_arguments(sub) -> None:
    p = sub.add_parser("measure", help="measure the running kernel's memcg hooks with perf, beside the model",
                       description="Run workloads that allocate and free accounted slab objects on the "
                                   "running kernel, sample them with perf (cpu-clock, call graphs, only the "
                                   "workload's own process), attribute the samples to the post-alloc hook, "
                                   "the free hook, slab allocation and slab free, and print ns per object "
                                   "with bootstrap intervals beside the model's prediction for the "
                                   "matching scenario (docs/measure.md). Needs root and perf.")
    p.add_argument("--workloads", default=None, metavar="W1,W2",
                   help="io_uring_nop, open_close, eventfd_dentry (default: all three)")
    p.add_argument("--seconds", default="1", help="length of one recording (default 1 s; at most 60)")
    p.add_argument("--repeats", default="3", help="recordings per workload (default 3)")
    p.add_argument("--max-objects", default=None, metavar="N",
                   help="also stop a recording after N objects (rounded up to a whole iteration)")
    p.add_argument("--cpu", default="-1", help="CPU to pin the workload to (default: where it starts)")
    p.add_argument("--profile", default=None, help="cost profile of the model's column (default intel-skylake)")
    p.add_argument("--model-calls", default="20000", help="calls of each model run (default 20,000)")
    p.add_argument("--unaccounted", action="store_true",
                   help="in the root memory cgroup: measure the unaccounted path (model: 'none')")
    p.add_argument("-o", "--output", default="table", metavar="table|md|json", help="output format")
    p.add_argument("--out", default=None, help="also write the table (.parquet, .arrow, .feather) and "
                                               "its units sidecar")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--top", action="store_true",
                   help="also print, per phase, the 5 functions with the most self time (the table always has them)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _num(text: str, what: str, kind=float):
    try:
        return kind(str(text).replace("_", ""))
    except ValueError:
        raise BulksimError(f"measure: {what}: expected {'an integer' if kind is int else 'a number'}, "
                           f"got {text!r}") from None


def run(args, out=None) -> int:
    from .core import measure
    from .output import measurement_text, write_measurement

    out = out or sys.stdout
    if args.output not in ("table", "md", "json"):
        raise BulksimError(f"measure: output format must be table, md or json, got {args.output!r}")
    if args.out:
        from ..results.tables import check_output_path, sidecar_path

        for q in (args.out, sidecar_path(args.out, "units")):
            check_output_path(q, force=args.force)
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    m = measure(args.workloads, seconds=_num(args.seconds, "--seconds"), repeats=_num(args.repeats, "--repeats", int),
                progress=progress,
                max_objects=None if args.max_objects is None else _num(args.max_objects, "--max-objects", int),
                unaccounted=args.unaccounted, profile=args.profile,
                model_calls=_num(args.model_calls, "--model-calls", int), cpu=_num(args.cpu, "--cpu", int))
    text = measurement_text(m, args.output, top=args.top)
    wrote = write_measurement(m, args.out, force=args.force) if args.out else []
    print(text, file=out)
    for q in wrote[::-1]:
        print(f"wrote {q}", file=sys.stderr if args.output == "json" else out)
    return 0


def add_validate_arguments(v) -> None:
    """``bulksim validate --measured FILE`` (engine/measure/validate_rows.py)."""
    from .validate_rows import add_arguments

    add_arguments(v)


def validate_rows(args) -> list[dict]:
    """The rows of ``validate --measured FILE``; none without it."""
    if getattr(args, "measured", None) is None:
        return []
    from ..checks import need_path
    from .validate_rows import measured_rows

    need_path(args.measured, "--measured")
    rows = measured_rows(args.measured)
    # the model's column of a measurement was priced when it was measured (measure
    # --profile): validate --profile cannot re-price it, and must not show it as if it had
    want = getattr(args, "profile", None)
    other = sorted({r["profile"] for r in rows} - {want}) if want is not None else []
    if other:
        raise BulksimError(f"--measured {args.measured}: its model column is priced with {', '.join(other)} "
                           f"(bulksim measure --profile), not --profile {want}; measure with --profile {want}, "
                           "or drop --profile")
    return rows
