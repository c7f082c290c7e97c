"""Sweep points on a Dask distributed cluster (``bulksim sweep --scheduler``).

Optional: needs ``pip install bulksim[dask]``.  Each point is one task running
``engine.run.points.compute_point`` (or ``run_point``), pickled by reference from the
installed package, so every worker must have the same bulksim installed.  Workers
warm their on-disk kernel cache once before the points are submitted.  Dask retries
the tasks of a worker that dies on another worker; a point is written only when its
task completes, atomically, so nothing is lost or duplicated.  If the scheduler goes
away, the sweep stops with a clear message; completed points are on disk and a rerun
resumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import BulksimError

# Worker processes run one task at a time and the kernels are single-threaded:
# keep numba, BLAS and OpenMP from starting threads of their own.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _warm() -> str:
    """Load (or compile once per machine) the kernels on a worker."""
    import os

    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    import engine

    engine.simulate("default", calls=5)
    return os.environ.get("NUMBA_CACHE_DIR", "")


def check_scheduler(scheduler) -> None:
    """Refuse a ``--scheduler`` value before anything is created: its type, Dask being
    installed, ``local:N`` with N >= 1, or an address with a host and a port."""
    from ..errors import BadInputError, BadTypeError

    if not isinstance(scheduler, str):
        raise BadTypeError(f"scheduler must be an address or 'local:N', got {type(scheduler).__name__}")
    if not scheduler.strip():
        raise BadInputError("--scheduler: empty address")
    try:
        import distributed  # noqa: F401
        from distributed.comm import get_address_host_port
    except ImportError:
        raise BulksimError("--scheduler needs Dask: pip install 'bulksim[dask]'") from None
    if scheduler.startswith("local:"):
        n = scheduler.split(":", 1)[1]
        if not n.isdigit() or not 1 <= int(n) <= 1024:
            raise BadInputError(f"--scheduler local:N needs N in 1..1024, got {scheduler[:60]!r}")
        return
    try:
        get_address_host_port(scheduler)
    except (ValueError, TypeError) as e:
        raise BadInputError(f"--scheduler: {scheduler[:60]!r} is not a Dask scheduler address "
                            f"(HOST:PORT or tcp://HOST:PORT; {e})") from None


def _client(scheduler: str):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BulksimError("--scheduler needs Dask: pip install 'bulksim[dask]'") from None
    if scheduler.startswith("local:"):
        try:
            n = int(scheduler.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise BulksimError(f"--scheduler local:N needs N >= 1, got {scheduler!r}")
        # dashboard on a free port (":0"): None still binds the default 8787 and fails
        # (a warning, an error under pytest) when another cluster on the machine has it
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":0", env=WORKER_ENV)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except (OSError, TimeoutError, ValueError) as e:
        raise BulksimError(f"cannot reach the Dask scheduler at {scheduler} ({e})") from None


def run_points(scheduler: str, points, strategies, profile, out: Path, base, grid_types,
               gather: bool, done: Callable[[list[Path]], None]) -> None:
    """Run ``points`` on the cluster; call ``done(paths)`` as each one is written."""
    from distributed import as_completed

    from .points import compute_point, run_point, write_point

    client, cluster = _client(scheduler)
    try:
        client.run(_warm)
        if gather:
            futures = [client.submit(compute_point, p, strategies, profile, base, grid_types,
                                     key=f"bulksim-point-{p.key}", pure=False, retries=2)
                       for p in points]
        else:
            futures = [client.submit(run_point, p, strategies, profile, out.resolve(), base, grid_types,
                                     key=f"bulksim-point-{p.key}", pure=False, retries=2)
                       for p in points]
        try:
            for fut in as_completed(futures):
                res = fut.result()
                done(write_point(out, res) if gather else res)
        except (OSError, TimeoutError) as e:
            raise BulksimError(f"lost the Dask scheduler at {scheduler} ({type(e).__name__}); completed "
                               "points are kept, run the same command to resume") from None
        except Exception as e:
            if type(e).__name__ in ("CommClosedError", "CancelledError", "FutureCancelledError"):
                raise BulksimError(f"lost the Dask scheduler at {scheduler} ({type(e).__name__}); "
                                   "completed points are kept, run the same command to resume") from None
            raise
    finally:
        try:
            client.close(timeout=5)
        except Exception:  # noqa: BLE001 - closing a client whose scheduler is gone
            pass
        if cluster is not None:
            cluster.close()
