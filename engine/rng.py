"""Counter-based random numbers (splitmix64), identical in kernels and in Python.

A draw is a pure function of ``(seed, stream, index)``; nothing depends on the order
of draws, so results are the same whatever the chunk size.  See docs/model.md §1
for the streams and their indices.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

# Stream ids (docs/model.md §1).
S_CPU, S_SWITCH, S_MEMCG, S_SIZE, S_KFENCE, S_KFENCE_POS, S_REMOTE = 1, 2, 3, 4, 5, 6, 7
S_EXTS_CREATE, S_EXTS_FAIL, S_FREE_CPU, S_FREE_OTHER, S_EVICT, S_IRQ = 8, 9, 10, 11, 12, 13

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@jit
def mix64(z):
    """splitmix64 finaliser on a ``uint64``."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@jit
def draw_u64(seed, stream, index):
    """Uniform ``uint64`` keyed by (seed, stream, index); all arguments int64 >= 0."""
    h = mix64(np.uint64(seed) + _GOLDEN * np.uint64(stream + 1))
    return mix64(h + _GOLDEN * np.uint64(index + 1))


@jit
def draw_u53(seed, stream, index):
    """The 53 bits the model's ``draw_u01`` (docs/model.md §1) scales to [0, 1), as an
    int64 in [0, 2**53)."""
    return np.int64(draw_u64(seed, stream, index) >> np.uint64(11))


def threshold(p: float) -> int:
    """The integer ``T`` with ``draw_u53(...) < T`` exactly when ``draw_u01(...) < p``.

    ``draw_u01 = u * 2**-53`` for the integer ``u = draw_u53``; scaling by a power of
    two is exact in binary floating point, so ``u * 2**-53 < p`` iff ``u < p * 2**53``
    iff ``u < ceil(p * 2**53)``.  The kernels compare integers (no int-to-float
    conversion and multiply on the hot path) and decide exactly as the reference.
    """
    return int(math.ceil(float(p) * 2.0**53))


@jit
def chance(seed, stream, index, t):
    """``draw_u01(seed, stream, index) < p`` for ``t = threshold(p)``."""
    return draw_u53(seed, stream, index) < t


@jit
def draw_below(seed, stream, index, n):
    """Uniform int64 in [0, n) (modulo reduction; n is tiny, the bias is < 2**-50)."""
    return np.int64(draw_u64(seed, stream, index) % np.uint64(n))
