"""Counter-based random numbers (splitmix64), identical in kernels and in Python.

A draw is a pure function of ``(seed, stream, index)``; nothing depends on the order
of draws, so results are the same whatever the chunk size.  See docs/model.md §1
for the streams and their indices.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .jit import jit

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


# -- exact remainder by a run-constant divisor without a division --------------------
# A 64-bit ``div`` takes tens of cycles and sits on the free path's critical path (the
# freeing CPU's index).  For a divisor fixed for the whole run, Granlund & Montgomery
# (PLDI 1994, fig. 4.1) give the exact quotient of any 64-bit numerator from one
# multiply-high, a subtraction, an add and two shifts; the remainder follows.


def divisor_magic(d: int) -> tuple[int, int]:
    """``(m, shifts)`` for ``mod_by_magic`` by ``d`` (1 <= d < 2**63): the multiplier
    as an int64 bit pattern, and ``sh1 | sh2 << 8``."""
    if not 1 <= d < 2**63:
        raise ValueError(f"divisor must be in [1, 2**63), got {d}")
    ell = (d - 1).bit_length()  # ceil(log2(d))
    m = (2**64 * (2**ell - d)) // d + 1  # < 2**64 for every d >= 1
    sh1, sh2 = min(ell, 1), max(ell - 1, 0)
    return (m - 2**64 if m >= 2**63 else m), sh1 | sh2 << 8


@intrinsic
def _mulhi_u64(typingctx, a, b):
    """High 64 bits of the 128-bit product of two uint64 (one ``mul`` on x86-64)."""
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        prod = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(prod, ir.Constant(wide, 64)), ir.IntType(64))

    return sig, codegen


@jit(inline="always")
def mod_by_magic(x, d, m, shifts):
    """``x % d`` for uint64 ``x`` and ``(m, shifts) = divisor_magic(d)``, exactly."""
    t1 = _mulhi_u64(np.uint64(m), x)
    q = (t1 + ((x - t1) >> np.uint64(shifts & 255))) >> np.uint64(shifts >> 8)
    return x - q * np.uint64(d)


@jit
def draw_below_magic(seed, stream, index, n, m, shifts):
    """``draw_below(seed, stream, index, n)`` for ``(m, shifts) = divisor_magic(n)``."""
    return np.int64(mod_by_magic(draw_u64(seed, stream, index), n, m, shifts))
