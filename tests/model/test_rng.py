"""The kernels decide ``draw_u01(...) < p`` with an integer comparison
(``rng.chance`` against ``rng.threshold(p)``); it must agree with the float
comparison of the reference model on every draw, including the edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import rng
from tests import reference


def _u53(seed, stream, index):
    return reference.draw_u64(seed, stream, index) >> 11


@settings(max_examples=300, deadline=None)
@given(p=st.floats(0.0, 1.0), seed=st.integers(0, 2**40), stream=st.integers(1, 13),
       index=st.integers(0, 2**40))
def test_integer_threshold_decides_like_the_float_comparison(p, seed, stream, index):
    t = rng.threshold(p)
    assert rng.chance(seed, stream, index, t) == (reference.draw_u01(seed, stream, index) < p)


def test_threshold_edges_against_the_exact_boundary():
    # p = 0 never, p = 1 always; a draw exactly at p is not below it.
    assert rng.threshold(0.0) == 0 and rng.threshold(1.0) == 2**53
    for seed, stream, index in [(0, 1, 0), (7, 10, 123456), (2**33, 13, 99)]:
        u = _u53(seed, stream, index)
        at = u * 2.0**-53  # exactly this draw's value
        assert not rng.chance(seed, stream, index, rng.threshold(at))
        assert reference.draw_u01(seed, stream, index) == at
        above = math.nextafter(at, 2.0)
        assert rng.chance(seed, stream, index, rng.threshold(above))
        assert reference.draw_u01(seed, stream, index) < above
    tiny = 5e-324  # smallest positive float: only a zero draw is below it
    assert rng.threshold(tiny) == 1


def test_compiled_chance_matches_python():
    t = rng.threshold(0.1)
    got = [bool(rng.chance(3, rng.S_FREE_CPU, i, t)) for i in range(2000)]
    want = [reference.draw_u01(3, rng.S_FREE_CPU, i) < 0.1 for i in range(2000)]
    assert got == want and 120 < sum(got) < 280


def test_draw_below_equals_the_modulo_for_every_n():
    # powers of two take a mask, the others a division: both must be u % n
    for n in (1, 2, 3, 4, 7, 8, 63, 64, 1000, 1024, 4096):
        for i in range(0, 5000, 7):
            assert rng.draw_below(11, rng.S_CPU, i, n) == reference.draw_u64(11, rng.S_CPU, i) % n


@settings(max_examples=400, deadline=None)
@given(x=st.integers(0, 2**64 - 1),
       d=st.one_of(st.integers(1, 70), st.integers(1, 2**63 - 1),
                   st.integers(1, 62).map(lambda k: 2**k), st.integers(1, 62).map(lambda k: 2**k + 1),
                   st.integers(2, 62).map(lambda k: 2**k - 1)))
def test_remainder_by_magic_is_exact(x, d):
    m, shifts = rng.divisor_magic(d)
    assert int(rng.mod_by_magic(np.uint64(x), np.int64(d), np.int64(m), np.int64(shifts))) == x % d


def test_remainder_by_magic_at_the_extremes_and_bad_divisors():
    for d in (1, 2, 3, 7, 2**32 - 1, 2**32 + 1, 2**62 + 1, 2**63 - 1):
        m, shifts = rng.divisor_magic(d)
        for x in (0, 1, d - 1, d, d + 1, 2**63, 2**64 - 2, 2**64 - 1):
            x %= 2**64
            assert int(rng.mod_by_magic(np.uint64(x), np.int64(d), np.int64(m), np.int64(shifts))) == x % d
    for bad in (0, -3, 2**63):
        with pytest.raises(ValueError, match="divisor"):
            rng.divisor_magic(bad)


def test_draw_below_magic_equals_draw_below():
    for n in (1, 2, 3, 4, 7, 64, 1023):
        m, shifts = rng.divisor_magic(n)
        for index in range(0, 5000, 7):
            assert rng.draw_below_magic(3, rng.S_CPU, index, n, m, shifts) == \
                rng.draw_below(3, rng.S_CPU, index, n) == reference.draw_u64(3, rng.S_CPU, index) % n
