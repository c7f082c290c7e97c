"""The fit of a host's unit costs: bounded, regularised least squares (a MAP estimate).

The data are rows ``r`` = (workload, phase): a measured time per object ``y_r`` in
cycles (ns x the measured clock) with a standard deviation ``s_r``, and the model's
prediction ``f_r(x)`` for the same workload at unit costs ``x``.  The model enters only
through :class:`PhaseModel`: ``predict(x)`` and ``jacobian(x)``.  The cost model of
today is linear (``engine.inputs.costs.coefficients``: ``f(x) = A x``,
:class:`LinearModel`); a nonlinear one (the overlap model, ``max(chain, issue)``,
:class:`MaxModel`) plugs in with its own ``predict``/``jacobian`` and is fitted by
Gauss-Newton steps from several starts (the central values and both ends of the box).

The fit minimises, inside the published box ``low <= x <= high``::

    sum_r ((y_r - f_r(x)) / s_r)^2  +  sum_i ((x_i - central_i) / p_i)^2

The second term is a Gaussian prior centred on the published central value with
``p_i = (high_i - low_i) / 2``; the box truncates it.  The objective is the negative
log-posterior, so the solution is the maximum a posteriori estimate; for a linear model
it is a convex quadratic over a box, solved exactly (:func:`box_qp`, an active-set
method).  Unit costs with ``low == high`` are fixed.

Uncertainty: the posterior covariance ``(J' W J + P)^-1`` (``W = diag(1/s^2)``,
``P = diag(1/p^2)``) at the solution.  The caller puts the model's own error into
``s`` (``engine.calibrate.core``: a relative floor per row).  With
``scale_covariance`` the data part is also scaled by the reduced chi-square when that
exceeds 1; calibrate does not: one row the model cannot reach inside the box (work it
does not simulate) would otherwise unpin every cost, and such rows are reported as
misfits instead.  A unit cost is *pinned* by the data when its posterior standard
deviation is at most ``PINNED`` (half) of its prior one, or when the data hold it at a
bound of the box (its own optimum lies more than ``SIGMA_LOW_HIGH`` sds beyond; the
host wants more, or less, than the published range allows); the others keep their published
low/central/high (:func:`fit_profile`), and the pinned ones are refitted with the others
held at their published central values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import BulksimError

PINNED = 0.5  # posterior sd / prior sd at most this: the data pin the unit cost
SIGMA_LOW_HIGH = 2.0  # a fitted cost's low/high: central -/+ this many posterior sds, inside the box


class PhaseModel:
    """Predicted cycles per object of each data row as a function of the unit costs."""

    linear = False

    def predict(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def jacobian(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class LinearModel(PhaseModel):
    """``f(x) = A x``: today's cost model (``engine.inputs.costs.coefficients`` rows)."""

    linear = True

    def __init__(self, A: np.ndarray):
        self.A = np.asarray(A, dtype=np.float64)
        if self.A.ndim != 2:
            raise BulksimError("LinearModel needs a [rows, unit costs] matrix")

    def predict(self, x):
        return self.A @ np.asarray(x, dtype=np.float64)

    def jacobian(self, x):
        return self.A

    def subset(self, rows) -> "LinearModel":
        return LinearModel(self.A[rows])


class MaxModel(PhaseModel):
    """``f(x) = max(A x, floor)``: the overlap model with fixed issue costs (a phase
    costs the larger of its dependent chain ``A x``, the unit costs fitted, and its
    issue cost ``floor = A . issue``).  Where the floor binds, the row does not depend
    on ``x`` (its Jacobian row is 0)."""

    linear = False

    def __init__(self, A: np.ndarray, floor: np.ndarray):
        self.A = np.asarray(A, dtype=np.float64)
        self.floor = np.asarray(floor, dtype=np.float64)

    def predict(self, x):
        return np.maximum(self.A @ np.asarray(x, dtype=np.float64), self.floor)

    def jacobian(self, x):
        chain = self.A @ np.asarray(x, dtype=np.float64)
        return np.where((chain >= self.floor)[:, None], self.A, 0.0)

    def subset(self, rows) -> "MaxModel":
        return MaxModel(self.A[rows], self.floor[rows])


def box_qp(Q: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray, x0: np.ndarray,
           *, max_iter: int = 10_000) -> np.ndarray:
    """The exact minimum of ``0.5 x'Qx - c'x`` over ``lo <= x <= hi`` for a symmetric
    positive definite ``Q``: a primal active-set method.  From a feasible point, solve
    on the free coordinates with the others at their bounds; step towards that solution
    until a bound is hit (that coordinate joins the bound set), or, at the free
    solution, release the bound coordinate whose gradient points most into the box;
    stop when none does (the KKT conditions hold).  Each step lowers the objective, so
    no set repeats: it ends in finitely many steps."""
    Q, c, lo, hi = (np.asarray(v, dtype=np.float64) for v in (Q, c, lo, hi))
    x = np.clip(np.asarray(x0, dtype=np.float64), lo, hi)
    n = len(x)
    bound = (lo == hi) | (x <= lo) | (x >= hi)
    span = np.maximum(hi - lo, 1e-300)
    for _ in range(max_iter):
        F = np.flatnonzero(~bound)
        target = x.copy()
        if len(F):
            B = np.flatnonzero(bound)
            rhs = c[F] - Q[np.ix_(F, B)] @ x[B]
            target[F] = np.linalg.solve(Q[np.ix_(F, F)], rhs)
        dx = target - x
        # the largest step in [0, 1] that stays inside the box
        with np.errstate(divide="ignore", invalid="ignore"):
            lim = np.where(dx > 0, (hi - x) / dx, np.where(dx < 0, (lo - x) / dx, np.inf))
        lim[bound] = np.inf
        k = int(np.argmin(lim)) if n else 0
        if n and lim[k] < 1.0:
            x = x + max(lim[k], 0.0) * dx
            x[k] = hi[k] if dx[k] > 0 else lo[k]
            bound[k] = True
            # coordinates that reached a bound on the way join it too
            hit = ~bound & ((x <= lo + 1e-15 * span) | (x >= hi - 1e-15 * span))
            x[hit] = np.where(x[hit] - lo[hit] < hi[hit] - x[hit], lo[hit], hi[hit])
            bound |= hit
            continue
        x = np.clip(target, lo, hi)
        g = Q @ x - c
        # a coordinate at its low bound with g < 0 (or at its high one with g > 0) can improve
        want = bound & (lo < hi) & (((x <= lo) & (g < 0)) | ((x >= hi) & (g > 0)))
        if not want.any():
            return x
        j = int(np.argmax(np.where(want, np.abs(g) * span, -np.inf)))
        bound[j] = False
    raise BulksimError("box_qp: the active-set method did not converge")  # pragma: no cover


@dataclass
class FitResult:
    x: np.ndarray               # the MAP unit costs
    sd: np.ndarray              # posterior standard deviation of each (0 where fixed)
    prior_sd: np.ndarray        # p_i (0 where fixed)
    pinned: np.ndarray          # bool: the data pin this unit cost
    predicted: np.ndarray       # f(x) per row, cycles per object
    residuals: np.ndarray       # y - f(x)
    chi2: float                 # sum ((y - f) / s)^2
    dof: float                  # rows - effective number of fitted parameters
    scale: float                # the factor the data covariance was scaled by (>= 1)
    iterations: int = 1
    at_bound: np.ndarray | None = None  # +1 / -1: held at the box's high / low end by the data
    notes: list = field(default_factory=list)


def fit(model: PhaseModel, y, s, lo, mid, hi, *, fixed=None, max_iter: int = 50,
        scale_covariance: bool = False) -> FitResult:
    """The MAP fit of the module docstring; ``fixed`` (bool per unit cost) holds those
    at ``mid``.  Linear models are solved in one step; others by Gauss-Newton steps
    (each the box QP of the linearised problem, halved until the objective drops)."""
    y, s, lo, mid, hi = (np.asarray(v, dtype=np.float64) for v in (y, s, lo, mid, hi))
    if np.any(~np.isfinite(y)) or np.any(~(s > 0)):
        raise BulksimError("fit: every measured row needs a finite value and a positive sd")
    n = len(mid)
    fx = np.zeros(n, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool).copy()
    fx |= hi <= lo
    p = np.where(fx, 0.0, (hi - lo) / 2)
    w = 1.0 / s**2
    free = ~fx
    lo_f, hi_f = np.where(free, lo, mid), np.where(free, hi, mid)
    prior_prec = np.where(free, 1.0 / np.where(p > 0, p, 1.0) ** 2, 1.0)

    def objective(x):
        r = (y - model.predict(x)) / s
        return float(r @ r + (((x - mid) / np.where(p > 0, p, 1.0)) ** 2 * free).sum())

    def descend(x):
        it = 0
        for it in range(1, max_iter + 1):
            J = model.jacobian(x)
            r0 = y - model.predict(x)
            # linearised: f(x + dx) ~ f(x) + J dx;  minimise over z = x + dx
            Q = J.T @ (w[:, None] * J) + np.diag(prior_prec)
            c = J.T @ (w * (r0 + J @ x)) + prior_prec * mid
            # fixed coordinates: their rows/columns do not matter, they are clamped to mid
            z = box_qp(Q, c, lo_f, hi_f, x)
            if model.linear:
                return z, it
            f_old, step = objective(x), 1.0
            while step > 1e-6:
                cand = x + step * (z - x)
                if objective(cand) <= f_old:
                    break
                step /= 2
            else:
                break
            moved = float(np.max(np.abs(cand - x)))
            x = cand
            if moved <= 1e-9 * max(1.0, float(np.max(np.abs(x)))):
                break
        return x, it

    if model.linear:
        x, it = descend(mid.copy())
    else:
        # A model that is not smooth (max of chain and issue) has flat regions: where the
        # issue price binds, the chain prices do not move a row, and a descent from the
        # central values may never reach the regime where they do.  So descend from the
        # central values and from both ends of the box, and keep the best.
        best = None
        for start in (mid, hi_f, lo_f):
            cand, k = descend(np.array(start, dtype=np.float64))
            val = objective(cand)
            if best is None or val < best[0] - 1e-12 * max(1.0, abs(best[0])):
                best = (val, cand, k)
        _, x, it = best
    pred = model.predict(x)
    res = y - pred
    chi2 = float(((res / s) ** 2).sum())
    J = model.jacobian(x)
    H_data = J.T @ (w[:, None] * J)
    idx = np.flatnonzero(free)
    sd = np.zeros(n)
    scale, dof = 1.0, float(len(y))
    if len(idx):
        Hd = H_data[np.ix_(idx, idx)]
        P = np.diag(prior_prec[idx])
        cov = np.linalg.inv(Hd + P)
        eff = float(np.trace(cov @ Hd))  # effective number of parameters the data fix
        dof = len(y) - eff
        if scale_covariance and dof > 0.5 and chi2 / dof > 1:
            scale = chi2 / dof
            cov = np.linalg.inv(Hd / scale + P)
        sd[idx] = np.sqrt(np.maximum(np.diag(cov), 0.0))
    has_data = np.abs(J).sum(axis=0) > 0
    # A cost held at a bound of the box by the data: the posterior's own optimum for it
    # (the others as they are) lies more than SIGMA_LOW_HIGH posterior sds beyond that
    # bound.  The data pin it there (the box is what stops it), so it counts as pinned.
    g = -J.T @ (w * res) + prior_prec * (x - mid) * free  # the gradient of half the objective
    hdiag = np.diag(H_data) + prior_prec
    beyond = -g / np.where(hdiag > 0, hdiag, 1.0)  # the Newton step of each coordinate alone
    at_bound = np.zeros(n, dtype=np.int8)
    push = free & has_data & (sd > 0)
    at_bound[push & (x >= hi) & (beyond > SIGMA_LOW_HIGH * sd)] = 1
    at_bound[push & (x <= lo) & (-beyond > SIGMA_LOW_HIGH * sd)] = -1
    pinned = free & has_data & ((sd <= PINNED * p) | (at_bound != 0))
    return FitResult(x=x, sd=sd, prior_sd=p, pinned=pinned, predicted=pred, residuals=res,
                     chi2=chi2, dof=dof, scale=scale, iterations=it, at_bound=at_bound)


def fit_pinned(model: PhaseModel, y, s, lo, mid, hi) -> FitResult:
    """Fit everything, keep the pinned unit costs, refit those with every other unit
    cost held at its published central value (what a host profile stores)."""
    first = fit(model, y, s, lo, mid, hi)
    second = fit(model, y, s, lo, mid, hi, fixed=~first.pinned)
    second.pinned = first.pinned & ~(np.asarray(hi) <= np.asarray(lo))
    # the marginal uncertainty is the first pass's: it includes what the costs held at
    # their published values could move (the second pass's sd would leave that out)
    second.sd = np.where(second.pinned, np.maximum(first.sd, second.sd), 0.0)
    second.prior_sd = first.prior_sd
    # at a bound in the refit (with the others at their published values), or in the first pass
    ab = np.where(second.at_bound != 0, second.at_bound, first.at_bound)
    second.at_bound = np.where(second.pinned & (((ab > 0) & (second.x >= hi)) | ((ab < 0) & (second.x <= lo))),
                               ab, 0).astype(np.int8)
    second.notes.append(f"first pass pinned {int(first.pinned.sum())} unit costs")
    return second


def low_high(res: FitResult, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """A fitted cost's low and high: ``x -/+ SIGMA_LOW_HIGH * sd``, inside the published box."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    return (np.clip(res.x - SIGMA_LOW_HIGH * res.sd, lo, hi),
            np.clip(res.x + SIGMA_LOW_HIGH * res.sd, lo, hi))
