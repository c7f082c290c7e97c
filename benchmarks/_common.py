"""Helpers shared by the benchmark modules.

Benchmarks run against every commit of the project's history, including commits
that predate an API; ``require`` turns a missing API into NotImplementedError,
which asv records as "skipped" rather than as a failure.
"""

import os
import tempfile


def require(module, *names):
    for name in names:
        if not hasattr(module, name):
            raise NotImplementedError(f"{module.__name__}.{name} does not exist at this commit")


def engine_or_skip():
    try:
        import engine
        from engine.run import simulate as driver
    except ImportError as e:  # commits before the engine existed
        raise NotImplementedError(str(e))
    require(driver, "run_strategy", "simulate")
    return engine


# asv runs each benchmark in a fresh process; keep the compiled kernels of the
# commit under test in one place per environment so only the first process compiles.
os.environ.setdefault("BULKSIM_CACHE_DIR", os.path.join(tempfile.gettempdir(), "bulksim-asv-cache"))
