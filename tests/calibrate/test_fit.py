"""The fit of bulksim calibrate on plain data: the box QP against brute force, the MAP
fit recovers what the data pin, keeps what they cannot, and the nonlinear path agrees
with the linear one."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.calibrate import core, fit as fm
from engine.errors import BulksimError


def _brute_box_qp(Q, c, lo, hi):
    """Every assignment of each coordinate to low, high or free: the feasible stationary
    point of least objective (the exact minimum of a convex QP over a box)."""
    best = None
    for st in itertools.product((0, 1, 2), repeat=len(c)):
        st = np.array(st)
        F, B = np.flatnonzero(st == 2), np.flatnonzero(st != 2)
        z = np.where(st == 0, lo, hi).astype(float)
        if len(F):
            z[F] = np.linalg.solve(Q[np.ix_(F, F)], c[F] - Q[np.ix_(F, B)] @ z[B])
        if np.all(z >= lo - 1e-12) and np.all(z <= hi + 1e-12):
            v = 0.5 * z @ Q @ z - c @ z
            if best is None or v < best:
                best = v
    return best


def test_box_qp_is_the_exact_minimum():
    rng = np.random.default_rng(7)
    for _ in range(150):
        n = int(rng.integers(1, 6))
        M = rng.normal(size=(n + 1, n))
        Q = M.T @ M + 1e-3 * np.eye(n)
        c = rng.normal(size=n) * 3
        lo, hi = -rng.random(n), rng.random(n)
        lo[rng.random(n) < 0.2] = 0.0
        hi[lo == 0.0] = 0.0  # some fixed coordinates
        x = fm.box_qp(Q, c, lo, hi, np.zeros(n))
        assert np.all(x >= lo) and np.all(x <= hi)
        assert 0.5 * x @ Q @ x - c @ x == pytest.approx(_brute_box_qp(Q, c, lo, hi), rel=1e-9, abs=1e-9)


# Three "workloads" of two phases over four unit costs: a per-call cost (0), a
# per-object cost (1), a cost only one phase has (2) and one with no event at all (3).
A = np.array([
    [1.0 / 8, 1.0, 0.0, 0.0],   # bulk 8, phase a
    [0.0, 0.0, 2.0, 0.0],       # bulk 8, phase b
    [1.0, 1.0, 0.0, 0.0],       # bulk 1, phase a
    [0.0, 0.0, 2.0, 0.0],       # bulk 1, phase b
    [1.0 / 32, 1.0, 0.0, 0.0],  # bulk 32, phase a
    [0.0, 0.0, 2.1, 0.0],       # bulk 32, phase b
])
LO, MID, HI = np.array([10.0, 2, 1, 5]), np.array([30.0, 6, 4, 10]), np.array([60.0, 12, 9, 20])


def test_fit_recovers_what_the_data_pin_and_keeps_the_rest():
    truth = np.array([45.0, 3.0, 7.5, 17.0])
    y = A @ truth
    res = fm.fit_pinned(fm.LinearModel(A), y, 0.01 * y, LO, MID, HI)
    assert list(res.pinned) == [True, True, True, False]
    assert res.x[:3] == pytest.approx(truth[:3], rel=2e-3)
    assert res.x[3] == MID[3]  # no event: the published value
    assert np.all(res.sd[:3] > 0) and np.all(res.sd[:3] < 0.5 * (HI - LO)[:3] / 2)
    assert np.abs(res.residuals / y).max() < 0.01


def test_collinear_costs_are_not_pinned_and_a_cost_the_box_stops_is_pinned_at_its_bound():
    # costs 0 and 1 only ever appear together, in the same proportion, with equal ranges:
    # the data fix their sum, not either one
    Ac = np.array([[1.0, 1.0, 0.0, 0.0], [2.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    lo, mid, hi = np.array([2.0, 2, 1, 5]), np.array([6.0, 6, 4, 10]), np.array([12.0, 12, 9, 20])
    y = np.array([14.0, 28.0, 100.0])  # the third wants far more than cost 2's box allows
    res = fm.fit(fm.LinearModel(Ac), y, 0.01 * y, lo, mid, hi)
    assert np.all(res.x >= lo) and np.all(res.x <= hi)
    assert res.x[0] + res.x[1] == pytest.approx(14.0, rel=1e-3) and res.x[0] == pytest.approx(res.x[1])
    assert not res.pinned[0] and not res.pinned[1] and not res.pinned[3]
    assert res.x[2] == hi[2] and res.pinned[2] and list(res.at_bound) == [0, 0, 1, 0]
    scaled = fm.fit(fm.LinearModel(Ac), y, 0.01 * y, lo, mid, hi, scale_covariance=True)
    assert scaled.scale > 1 and scaled.sd[0] >= res.sd[0]  # residuals far beyond the error: scaled


def test_fixed_costs_stay_put_and_bad_data_is_refused():
    y = A @ np.array([45.0, 3.0, 7.5, 17.0])
    res = fm.fit(fm.LinearModel(A), y, 0.01 * y, LO, MID, HI, fixed=[False, True, False, False])
    assert res.x[1] == MID[1] and res.sd[1] == 0
    with pytest.raises(BulksimError):
        fm.fit(fm.LinearModel(A), y, np.zeros_like(y), LO, MID, HI)
    with pytest.raises(BulksimError):
        fm.fit(fm.LinearModel(A), np.full_like(y, np.nan), 0.01 * y + 1, LO, MID, HI)


class _Overlap(fm.PhaseModel):
    """A smooth nonlinear model: f(x) = A x + k (A x)^2 (for the Gauss-Newton path)."""

    def __init__(self, A, k):
        self.A, self.k = A, k

    def predict(self, x):
        u = self.A @ x
        return u + self.k * u * u

    def jacobian(self, x):
        u = self.A @ x
        return (1 + 2 * self.k * u)[:, None] * self.A


def test_nonlinear_model_is_fitted_by_gauss_newton():
    truth = np.array([45.0, 3.0, 7.5, 17.0])
    m = _Overlap(A, 0.002)
    y = m.predict(truth)
    res = fm.fit_pinned(m, y, 0.005 * y, LO, MID, HI)
    assert res.iterations > 1
    assert res.x[:3] == pytest.approx(truth[:3], rel=5e-3)
    # with k = 0 it is the linear fit exactly
    lin = fm.fit(fm.LinearModel(A), A @ truth, 0.01 * (A @ truth), LO, MID, HI)
    nl = fm.fit(_Overlap(A, 0.0), A @ truth, 0.01 * (A @ truth), LO, MID, HI)
    assert nl.x == pytest.approx(lin.x, rel=1e-6)


def test_the_overlap_model_max_of_chain_and_issue_is_fitted_where_the_chain_binds():
    truth = np.array([45.0, 3.0, 7.5, 17.0])
    floor = np.array([0.0, 40.0, 0.0, 0.0, 0.0, 0.0])  # row 1's issue cost exceeds its chain (15)
    m = fm.MaxModel(A, floor)
    y = m.predict(truth)
    assert y[1] == 40.0 and np.all(m.jacobian(truth)[1] == 0) and np.all(m.jacobian(truth)[3] == A[3])
    res = fm.fit_pinned(m, y, 0.01 * np.maximum(y, 1), LO, MID, HI)
    assert res.x[:3] == pytest.approx(truth[:3], rel=5e-3)
    assert np.abs(res.residuals).max() < 0.01 * y.max()
    # with no floor binding it is the linear fit
    lin = fm.fit(fm.LinearModel(A), A @ truth, 0.01 * (A @ truth), LO, MID, HI)
    mx = fm.fit(fm.MaxModel(A, np.zeros(len(A))), A @ truth, 0.01 * (A @ truth), LO, MID, HI)
    assert mx.x == pytest.approx(lin.x, rel=1e-6)


def test_a_flat_region_of_the_overlap_model_does_not_trap_the_fit():
    # at the central values the issue floor (40) binds row 0 (chain 30 + 6 = 36): no
    # gradient there; the measurement (60) needs the chain, which only the descent from
    # the box's high end finds
    Am = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0]])
    m = fm.MaxModel(Am, np.array([40.0, 0.0]))
    y = np.array([60.0, 8.0])
    res = fm.fit(m, y, 0.01 * y, LO, MID, HI)
    assert res.predicted[0] == pytest.approx(60.0, rel=0.02)
    assert res.x[0] + res.x[1] == pytest.approx(res.predicted[0])


def test_measured_rows_keep_captured_phases_and_turn_intervals_into_sds():
    table = [
        {"workload": "w", "phase": "post_alloc_hook", "objects": 10, "calls": 2, "samples": 40,
         "ns_per_object": 20.0, "ns_per_object_low": 18.04, "ns_per_object_high": 21.96},
        {"workload": "w", "phase": "free_hook", "objects": 10, "calls": 2, "samples": 0,
         "ns_per_object": 0.0, "ns_per_object_low": 0.0, "ns_per_object_high": 0.0},
    ]
    rows = core.measured_rows(table)
    assert [(r.workload, r.phase) for r in rows] == [("w", "post_alloc_hook")]
    assert rows[0].sd_ns == pytest.approx(1.0)
    with pytest.raises(BulksimError, match="unknown phase"):
        core.measured_rows([dict(table[0], phase="hook")])
