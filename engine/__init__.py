"""bulksim: what does memcg accounting of kmem_cache_alloc_bulk() cost, and when?

A simulator of the Linux slab allocator's bulk path and the memcg post-alloc hook
strategies.  Start with :func:`simulate`.

The names below are loaded on first use, so that ``bulksim`` installs its signal
handlers before the heavy imports (numba, pyarrow): a Ctrl-C at start-up is exit 130
with one line, not a traceback from inside an import.
"""

import os as _os
import sys as _sys

# Started as the command (``bulksim ...`` or ``python -m engine``), a SIGINT or SIGTERM
# during the imports below (numba: a quarter of a second) is recorded, and ``cli.main``
# ends with 130/143 and nothing written, instead of a traceback from inside an import
# (or, in a background job, where SIGINT starts ignored, the signal being lost).
_EARLY_SIGNALS: list[int] = []


def _record_early_signal(signum, frame):
    _EARLY_SIGNALS.append(signum)


def _started_as_command() -> bool:
    """``bulksim ...``, or ``python [interpreter options] -m engine ...``."""
    if _os.path.basename(_sys.argv[0] if _sys.argv else "") == "bulksim":
        return True
    argv = list(getattr(_sys, "orig_argv", None) or [])[1:]
    while argv:
        a = argv.pop(0)
        if a == "-m":
            return argv[:1] == ["engine"]
        if a in ("-W", "-X"):  # interpreter options with a separate argument
            argv = argv[1:]
        elif not a.startswith("-") or a == "-c" or a == "-":
            return False  # a script, -c code or stdin: not the command
    return False


if _started_as_command():
    import signal as _signal
    import threading as _threading

    if _threading.current_thread() is _threading.main_thread():
        _signal.signal(_signal.SIGINT, _record_early_signal)
        _signal.signal(_signal.SIGTERM, _record_early_signal)
        if _signal.getsignal(_signal.SIGHUP) != _signal.SIG_IGN:  # nohup: stays ignored
            _signal.signal(_signal.SIGHUP, _record_early_signal)

from .model.jit import configure_cache as _configure_cache  # noqa: E402

_configure_cache()  # before anything imports numba

__version__ = "0.1.0"

__all__ = ["simulate", "Result", "Scenario", "PRESETS", "STRATEGIES", "BulksimError",
           "InvariantError", "__version__"]

_LAZY = {"simulate": "run.simulate", "Result": "run.simulate", "Scenario": "inputs.scenario",
         "PRESETS": "inputs.scenario", "STRATEGIES": "model.state", "BulksimError": "errors",
         "InvariantError": "errors"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
