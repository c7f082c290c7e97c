"""``bulksim calibrate``: measure this host, fit its unit costs, write a profile file.

Registered in ``engine/cli.py`` by :func:`setup_arguments`; :func:`run` is the plain
function the tests call.  docs/calibrate.md describes it.
"""

from __future__ import annotations

import sys

from ..errors import BadInputError, BulksimError

DEFAULT_OUT = "host-profile.json"


def setup_arguments(sub) -> None:
    p = sub.add_parser(
        "calibrate", help="fit this host's unit costs from 'bulksim measure' and write a profile file",
        description="Run the measure workloads on the running kernel, simulate the matching scenarios, "
                    "fit the unit costs the measurements pin inside their published ranges and write a "
                    "cost profile file for --profile FILE (docs/calibrate.md).")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"profile file to write (.json; default {DEFAULT_OUT})")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--workloads", default=None, metavar="W1,W2",
                   help="measure workloads to run (default: all of 'bulksim measure')")
    p.add_argument("--seconds", default=None, help="seconds per workload and repeat (default 1.0)")
    p.add_argument("--repeats", default=None, help="repeats per workload (default 3)")
    p.add_argument("--measurement", default=None, metavar="FILE",
                   help="fit a measurement file of 'bulksim measure --out' instead of measuring now")
    p.add_argument("--base", default=None, metavar="PROFILE",
                   help="published profile that gives the ranges, the prior and the values kept "
                        "(default: amd-zen2 on an AMD CPU, else intel-skylake)")
    p.add_argument("--calls", default="20000", help="calls per simulated scenario (default 20,000)")
    p.add_argument("--seed", default="0", help="seed of the simulations (default 0)")
    p.add_argument("--name", default=None, help="profile name (default host-HOSTNAME)")
    p.add_argument("--create-cgroups", default=None, metavar="ROOT",
                   help="ALSO create --cgroups memory cgroups under ROOT (a cgroup v1 memory or v2 "
                        "folder you own) to force stock switches; removed afterwards. Never by default")
    p.add_argument("--cgroups", default=None, metavar="N", help="cgroups for --create-cgroups (default 4)")
    p.add_argument("--no-question", action="store_true",
                   help="skip the closing comparison of batched_v1 and batched against per_object on "
                        "default and io_uring under the published and the host profile")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _int(text, what, lo, hi) -> int:
    try:
        v = int(str(text).replace("_", ""), 0)
    except ValueError:
        raise BadInputError(f"{what}: expected an integer, got {str(text)[:40]!r}") from None
    if not lo <= v <= hi:
        raise BadInputError(f"{what} must be in {lo}..{hi}, got {v}")
    return v


def _float(text, what, lo, hi) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        raise BadInputError(f"{what}: expected a number, got {str(text)[:40]!r}") from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise BadInputError(f"{what} must be in {lo}..{hi}, got {text}")
    return v


def run(args, out=None) -> int:
    out = out or sys.stdout
    from ..inputs import profile_file
    from . import core

    # every argument, and the output path, before anything is measured
    path = profile_file.check_output(args.out, force=args.force)
    # options of a measurement that would do nothing: never accepted and ignored
    if args.measurement is not None:
        for flag, v in (("--seconds", args.seconds), ("--repeats", args.repeats), ("--workloads", args.workloads)):
            if v is not None:
                raise BadInputError(f"{flag} says how to measure; --measurement FILE fits a measurement "
                                    "already made (drop one of them)")
    if args.cgroups is not None and args.create_cgroups is None:
        raise BadInputError("--cgroups is the count of --create-cgroups: give --create-cgroups too")
    seconds = _float(args.seconds or "1.0", "--seconds", 0.05, 600)
    repeats = _int(args.repeats or "3", "--repeats", 1, 100)
    calls = _int(args.calls, "--calls", 100, 10_000_000)
    seed = _int(args.seed, "--seed", 0, 2**63 - 1)
    ncg = _int(args.cgroups or "4", "--cgroups", 2, 64)
    if args.name is not None and not args.name.strip():
        raise BadInputError("--name must not be empty")
    if args.name is not None:  # the rule load() applies to the file: checked before measuring
        profile_file.check_name(args.name, "--name")
    if args.base is not None:
        core.base_profile(args.base)  # a known, measured (not estimated) profile
    workloads = None
    if args.workloads is not None:
        workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
        if not workloads:
            raise BadInputError("--workloads: no workload named")
    if args.measurement is not None and args.create_cgroups is not None:
        raise BadInputError("--create-cgroups measures; it cannot be combined with --measurement FILE")
    cgroups = None
    if args.create_cgroups is not None:
        from .cgroups import check_root

        cgroups = check_root(args.create_cgroups)
    progress = None if args.quiet else (lambda text: print(f"bulksim: {text}", file=sys.stderr, flush=True))
    cal = core.calibrate(workloads=workloads, seconds=seconds, repeats=repeats, calls=calls, seed=seed,
                         base=args.base, name=args.name, measurement_file=args.measurement,
                         cgroup_root=cgroups, cgroups=ncg, progress=progress)
    profile_file.write(cal.document, path, force=args.force)
    print(core.calibration_text(cal), file=out)
    if not args.no_question:
        rows = core.question_rows({cal.design.base.name: cal.design.base.name, "host": str(path)},
                                  calls=calls, seed=seed)
        print("\nThe batched hooks on this host (bulksim run --profile FILE gives the full table):\n"
              + core.question_text(rows), file=out)
    print(f"\nwrote {path} (use it as --profile {path}; 'bulksim profiles --show {path}' lists it)", file=out)
    return 0


__all__ = ["setup_arguments", "run", "BulksimError"]
