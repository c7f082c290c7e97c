"""bulksim: what does memcg accounting of kmem_cache_alloc_bulk() cost, and when?

A simulator of the Linux slab allocator's bulk path and the memcg post-alloc hook
strategies.  Start with :func:`simulate`.
"""

from ._jit import configure_cache as _configure_cache

_configure_cache()  # before anything imports numba

from .driver import Result, simulate  # noqa: E402
from .errors import BulksimError, InvariantError  # noqa: E402
from .scenario import PRESETS, Scenario  # noqa: E402
from .state import STRATEGIES  # noqa: E402

__version__ = "0.1.0"

__all__ = ["simulate", "Result", "Scenario", "PRESETS", "STRATEGIES", "BulksimError",
           "InvariantError", "__version__"]
