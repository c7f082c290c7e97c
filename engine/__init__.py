"""bulksim: what does memcg accounting of kmem_cache_alloc_bulk() cost, and when?

A simulator of the Linux slab allocator's bulk path and the memcg post-alloc hook
strategies.  Start with :func:`simulate`.

The names below are loaded on first use, so that ``bulksim`` installs its signal
handlers before the heavy imports (numba, pyarrow): a Ctrl-C at start-up is exit 130
with one line, not a traceback from inside an import.
"""

from .model.jit import configure_cache as _configure_cache

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
