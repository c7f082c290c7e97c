"""bulksim: what does memcg accounting of kmem_cache_alloc_bulk() cost, and when?

A simulator of the Linux slab allocator's bulk path and the memcg post-alloc hook
strategies.  Start with :func:`simulate`.
"""

from .model.jit import configure_cache as _configure_cache

_configure_cache()  # before anything imports numba

from .errors import BulksimError, InvariantError  # noqa: E402
from .inputs.scenario import PRESETS, Scenario  # noqa: E402
from .model.state import STRATEGIES  # noqa: E402
from .run.simulate import Result, simulate  # noqa: E402

__version__ = "0.1.0"

__all__ = ["simulate", "Result", "Scenario", "PRESETS", "STRATEGIES", "BulksimError",
           "InvariantError", "__version__"]
