"""Building the workload driver and running it under ``perf record``.

The driver is ``driver.c`` of this package, compiled once with the system's C compiler
into ``~/.cache/bulksim/measure/`` (named after a hash of its source).  perf records
only the process it starts (``perf record ... -- driver``), never the whole machine.
perf and the driver run in a process group of their own, so an interrupt stops both
(SIGINT, then SIGKILL after a grace period) and the temporary folder with perf.data is
removed in every case.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BulksimError
from .env import MeasureEnvError

PERIOD_NS = 50_000  # cpu-clock sample period: one sample per 50 us of the driver's CPU time
DRIVER_SOURCE = Path(__file__).with_name("driver.c")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bulksim" / "measure"


def driver_path(cc_path: str | None = None) -> Path:
    """The compiled driver, built if needed (atomically: a half-built binary is never used)."""
    return build_c(DRIVER_SOURCE, "driver", cc_path, who="measure",
                   what="the workload driver (engine/measure/driver.c, once)",
                   build_hint="; it needs the C library and Linux UAPI headers (Debian: "
                              "apt-get install libc6-dev linux-libc-dev)")


COMMON_HEADER = Path(__file__).resolve().parent / "driver_common.h"  # included by every driver


def build_c(source: Path, stem: str, cc_path: str | None = None, *, who: str, what: str,
            build_hint: str = "") -> Path:
    """A C source of the package compiled once into the measure cache, named after the
    source's hash (built into a temporary file and renamed: never half-built); builds of
    earlier sources of the same ``stem`` are removed.  ``who: what`` names it in errors."""
    digest = hashlib.sha256(source.read_bytes() + COMMON_HEADER.read_bytes()).hexdigest()[:16]
    target = cache_dir() / f"{stem}-{digest}"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    cc = cc_path or shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise MeasureEnvError(f"{who}: no C compiler (cc, gcc or clang) to build {what}; "
                              "install one (Debian: apt-get install gcc)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", dir=target.parent)
    os.close(fd)
    try:
        r = subprocess.run([cc, "-O2", "-fno-omit-frame-pointer", f"-I{COMMON_HEADER.parent}", "-o", tmp,
                            str(source)],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            first = (r.stderr.strip().splitlines() or ["?"])[0]
            raise MeasureEnvError(f"{who}: {cc} could not build {what} ({first}){build_hint}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    for old in target.parent.glob(f"{stem}-*"):  # builds of earlier sources of this driver
        if old != target:
            old.unlink(missing_ok=True)
    return target
    cc = cc_path or shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise MeasureEnvError("measure: no C compiler (cc, gcc or clang) to build the workload driver "
                              "(engine/measure/driver.c, once); install one (Debian: apt-get install gcc)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".driver.", dir=target.parent)
    os.close(fd)
    try:
        r = subprocess.run([cc, "-O2", "-fno-omit-frame-pointer", "-o", tmp, str(DRIVER_SOURCE)],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            first = (r.stderr.strip().splitlines() or ["?"])[0]
            raise MeasureEnvError(f"measure: {cc} could not build the workload driver ({first}); "
                                  "it needs the C library and Linux UAPI headers (Debian: "
                                  "apt-get install libc6-dev linux-libc-dev)")
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    for old in target.parent.glob("driver-*"):  # builds of earlier driver sources
        if old != target:
            old.unlink(missing_ok=True)
    return target


def _stop_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop the process group of ``proc`` (perf and the driver it started: ours only)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, grace)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _run_group(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:  # KeyboardInterrupt, SIGTERM (cli.Terminated), a timeout
        _stop_group(proc)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def measure_clock(driver: Path, ms: int = 5) -> float:
    """GHz of the CPU this runs on: the best of 21 timings (in CPU time) of a dependent add chain."""
    r = _run_group([str(driver), "clock", str(ms)], timeout=60)
    if r.returncode != 0 or not r.stdout.startswith("ghz="):
        raise BulksimError(f"measure: the clock calibration failed ({(r.stderr or r.stdout).strip()[:200]})")
    return float(r.stdout.split("=", 1)[1])


@dataclass
class Recorded:
    objects: int
    calls: int
    iterations: int
    seconds: float
    cpu: int
    script: str  # perf script output: period, then one "addr symbol" line per frame


def parse_counts(text: str, err: str = "") -> dict[str, float]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("objects="):
            return {k: float(v) for k, v in (x.split("=", 1) for x in line.split())}
    said = " ".join((err or text).split())[:200]
    raise BulksimError(f"measure: the workload driver failed ({said or 'no output'})")


def record(perf: str, driver: Path, workload: str, *, seconds: float, max_objects: int, cpu: int = -1,
           period_ns: int = PERIOD_NS) -> Recorded:
    """One repeat: perf record of the driver running ``workload``, then perf script."""
    return record_command(perf, [str(driver), workload, repr(float(seconds)), str(int(max_objects)), str(cpu)],
                          who="measure", what=workload, seconds=seconds, period_ns=period_ns)


def record_command(perf: str, command: list[str], *, who: str, what: str, seconds: float,
                   period_ns: int) -> Recorded:
    """``perf record`` of ``command`` (it and the children it forks, nothing else), then
    ``perf script``; the driver's own tally of what it did is read from its output."""
    with tempfile.TemporaryDirectory(prefix=f"bulksim-{who}-") as tmp:
        data = os.path.join(tmp, "perf.data")
        argv = [perf, "record", "-q", "--no-buildid-cache", "-e", "cpu-clock", "-c", str(period_ns), "-g",
                "-o", data, "--", *command]
        r = _run_group(argv, timeout=seconds * 4 + 120)
        if r.returncode != 0:
            msg = " ".join((r.stderr or "").split())[:240] or f"exit status {r.returncode}"
            raise BulksimError(f"{who}: perf record of {what} failed: {msg}")
        counts = parse_counts(r.stdout, r.stderr)
        s = _run_group([perf, "script", "-i", data, "-F", "period,ip,sym"], timeout=600)
        if s.returncode != 0:
            msg = " ".join((s.stderr or "").split())[:240]
            raise BulksimError(f"{who}: perf script failed: {msg}")
        return Recorded(objects=int(counts["objects"]), calls=int(counts["calls"]),
                        iterations=int(counts["iterations"]), seconds=counts["seconds"],
                        cpu=int(counts["cpu"]), script=s.stdout)
